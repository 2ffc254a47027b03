"""Benchmark: LAM with ``helpers.attribution.lam`` against a reference-style loop.

For each configuration (EDSR size x LR size) this times, in one run on this machine:

- ``reference``: ``scripts/lam_reference.py`` — the LAM demo's way (numpy/cv2 path, one
  step per forward/backward, weights requiring grad, every output kept);
- ``exact_nocrop``: ``lam(mode="exact", crop="none")`` (frozen, channels-last, batched);
- ``exact``: ``lam(mode="exact")`` (plus the receptive-field crop);
- ``fast``: ``lam(mode="fast")``: fewer, better-placed path nodes (the ``"arclength"``
  rule at :data:`helpers.attribution.FAST_STEPS` nodes instead of the right sum at
  ``--steps``), float32 (the JSON records ``precision``, ``rule`` and ``steps``);
- ``bf16``: ``lam(mode="bf16")``, bf16 body forced (emulated on AVX2-only CPUs: slow,
  but it measures the attribution error of the bf16 body), on ``--bf16-configs``;
- ``exact_fp64`` (opt-in): ``lam`` on a float64 copy of the model, a slow ground truth;
  every variant's error against it is reported too (``*_vs_fp64``), which separates
  float32 rounding of either implementation from real disagreement;
- ``converged`` (on ``--converged-configs``): the path integral itself, the arclength
  rule at ``--converged-nodes``; every variant's map error against it is reported
  (``l1_rel_err_vs_converged``): the reference's own discretisation error beside the
  fast mode's.

Wall and CPU seconds are both recorded: on a shared machine the wall time of a long run
swings with the other processes' load, while the process's own CPU time tracks its work
(ratios of both are reported, with the 1-minute load average after each variant).
Every variant runs in its own subprocess, so its peak memory (``ru_maxrss``) is its own;
``peak_extra_mib`` is that peak minus the process's resident size just before the call
(torch, the model and the image already loaded). The map of every variant is compared
with the reference's: ``max_rel_err = max|map - ref| / max|ref|`` and ``l2_rel_err``
(relative L2 norm), on the per-channel attribution (3, h, w).

Models are random-initialised (seed 0) EDSRs from ``helpers.models.build`` (configs
``edsr<blocks>x<feats>:<n>``) or released networks with their weights from the data
mirror (``imdn:<n>``, ``pan:<n>``, ``carn_m:<n>``, ``grl_tiny:<n>``); the LR image
is a crop of scikit-image's astronaut photo, MATLAB-bicubic downscaled x4; the window is
the central 16x16 SR patch; 50 steps, sigma 1.2, kernel 9 (the LAM demo's settings).

Usage::

    python scripts/bench_lam.py --out benchmarks/lam_speed.json
    python scripts/bench_lam.py --out /tmp/b.json --configs edsr8x32:64 --steps 10

``benchmarks/lam_speed.json`` (committed) is the run the LAM chapter renders; it records
the date, the machine and its load.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("reference", "exact_nocrop", "exact", "fast", "bf16", "exact_fp64", "converged")
DEFAULT_CONFIGS = "edsr8x32:64,edsr16x64:128,imdn:64,pan:64,grl_tiny:64"
RELEASED = ("imdn", "pan", "carn_m", "grl_tiny")
#: Reference-loop seconds measured on this machine earlier (issue 4), for context.
EARLIER_REFERENCE_S = {
    "edsr8x32:64": 3.2,
    "edsr8x32:128": 11.7,
    "edsr16x64:64": 10.5,
    "edsr16x64:128": 43.6,
}


def _rss_mib() -> float:
    """Current resident set size (MiB) from /proc (Linux)."""
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def astronaut_lr(n: int):
    """(1, 3, n, n): the central 4n px of scikit-image's astronaut, MATLAB-bicubic x1/4."""
    import numpy as np
    import torch
    from skimage import data

    from helpers.data.resize import imresize

    hr = np.asarray(data.astronaut(), dtype=np.float32)[:, :, :3] / 255.0  # 512 x 512
    hr = torch.from_numpy(hr).permute(2, 0, 1)[None]
    side = 4 * n
    if side > min(hr.shape[-2:]):
        raise ValueError(f"LR size {n} needs a {side}px HR crop; the photo is 512px")
    top = (hr.shape[-2] - side) // 2
    left = (hr.shape[-1] - side) // 2
    hr = hr[:, :, top : top + side, left : left + side]
    return imresize(hr.double(), scale=0.25).float().clamp(0, 1)


def _setup(config: str):
    """(model, LR image (1, 3, n, n), window) for ``edsr<blocks>x<feats>:<n>`` or
    ``<released>:<n>``."""
    import torch

    from helpers.attribution import center_window
    from helpers.models import build, load_released

    arch, n = config.split(":")
    n = int(n)
    torch.manual_seed(0)
    if arch in RELEASED:
        model = load_released(arch, 4, device="cpu").eval()
    else:
        blocks, feats = (int(v) for v in arch.removeprefix("edsr").split("x"))
        model = build("edsr", 4, n_feats=feats, n_blocks=blocks).eval()
    lr = astronaut_lr(n)
    return model, lr, center_window(lr, 4)


def run_variant(
    config: str, variant: str, steps: int, batch: int | None, out: str, converged_nodes: int
) -> None:
    """Child process: time one variant once, write its map and numbers to ``out``."""
    import warnings

    import numpy as np
    import torch

    sys.path.insert(0, str(ROOT / "scripts"))
    sys.path.insert(0, str(ROOT))
    from lam_reference import reference_lam

    from helpers.attribution import lam

    model, lr, window = _setup(config)
    # Untimed warm-up on a tiny input: library initialisation is no part of either method.
    with torch.no_grad():
        model(torch.rand(1, 3, 8, 8))
    rss0 = _rss_mib()
    info: dict[str, Any] = {}
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    if variant == "reference":
        res = reference_lam(model, lr, window, steps=steps)
        attribution = torch.from_numpy(np.asarray(res["attribution"]))
    else:
        mode = {"fast": "fast", "bf16": "bf16"}.get(variant, "exact")
        crop = "none" if variant == "exact_nocrop" else "auto"
        if variant == "exact_fp64":
            model = model.double()
        # fast picks its own rule and nodes; the converged map is the arclength rule's
        rule = "arclength" if variant == "converged" else None
        n = {"fast": None, "converged": converged_nodes}.get(variant, steps)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            res = lam(
                model,
                lr,
                window,
                steps=n,
                rule=rule,
                batch=batch,
                mode=mode,
                crop=crop,
                device="cpu",
            )
        attribution = res.attribution
        info = {
            "precision": res.precision,
            "pruned": res.pruned,
            "batch": res.batch,
            "crop_box": res.crop_box,
            "completeness_error": res.completeness_error,
            "rule": res.rule,
            "steps": res.steps,
        }
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - cpu0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB -> MiB on Linux
    torch.save(attribution, out + ".pt")
    info.update(
        seconds=seconds, cpu_seconds=cpu_seconds, peak_rss_mib=peak, peak_extra_mib=peak - rss0
    )
    Path(out + ".json").write_text(json.dumps(info))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", help="JSON file for the results table (required)")
    p.add_argument("--configs", default=DEFAULT_CONFIGS, help="comma list of edsrBxF:n")
    p.add_argument("--variants", default="reference,exact_nocrop,exact,fast,bf16")
    p.add_argument("--save-maps", help="folder to keep every variant's attribution (.pt)")
    p.add_argument(
        "--bf16-configs",
        default="edsr8x32:64,imdn:64",
        help="configs on which the forced-bf16 variant runs (slow where bf16 is emulated)",
    )
    p.add_argument(
        "--nocrop-configs",
        default="edsr8x32:64,edsr16x64:128",
        help="configs on which exact_nocrop runs (on a global network it is exact itself)",
    )
    p.add_argument(
        "--converged-configs",
        default="edsr16x64:128,imdn:64,pan:64",
        help="configs on which the converged path integral is computed (--converged-nodes)",
    )
    p.add_argument("--converged-nodes", type=int, default=256)
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--batch", type=int, default=None, help="default: lam's per-device default")
    p.add_argument("--child", nargs=2, metavar=("CONFIG", "VARIANT"), help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child:
        run_variant(
            args.child[0], args.child[1], args.steps, args.batch, args.child_out,
            args.converged_nodes,
        )  # fmt: skip
        return 0

    if not args.out:
        p.error("--out is required")

    import torch

    variants = [v for v in args.variants.split(",") if v]
    unknown = sorted(set(variants) - set(VARIANTS))
    if unknown or "reference" not in variants:
        p.error(f"variants must include 'reference' and come from {VARIANTS}; got {unknown}")
    bf16_configs = set(args.bf16_configs.split(","))
    converged_configs = set(args.converged_configs.split(","))
    nocrop_configs = set(args.nocrop_configs.split(","))
    if "converged" not in variants:
        variants.append("converged")
    table: list[dict[str, Any]] = []
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        for config in [c for c in args.configs.split(",") if c]:
            ref_map = None
            ref_s = ref_cpu = None
            maps: dict[str, Any] = {}
            first_row = len(table)
            for variant in variants:
                if variant == "bf16" and config not in bf16_configs:
                    continue
                if variant == "converged" and config not in converged_configs:
                    continue
                if variant == "exact_nocrop" and config not in nocrop_configs:
                    continue
                out = str(Path(tmp) / f"{config.replace(':', '_')}_{variant}")
                cmd = [
                    sys.executable,
                    __file__,
                    "--steps",
                    str(args.steps),
                    "--converged-nodes",
                    str(args.converged_nodes),
                    "--child",
                    config,
                    variant,
                    "--child-out",
                    out,
                ]
                if args.batch is not None:
                    cmd += ["--batch", str(args.batch)]
                subprocess.run(cmd, check=True, cwd=ROOT)
                row = json.loads(Path(out + ".json").read_text())
                attribution = torch.load(out + ".pt", weights_only=True)
                if args.save_maps:
                    Path(args.save_maps).mkdir(parents=True, exist_ok=True)
                    torch.save(attribution, Path(args.save_maps) / Path(out + ".pt").name)
                if variant == "reference":
                    ref_map, ref_s, ref_cpu = attribution, row["seconds"], row["cpu_seconds"]
                maps[variant] = attribution
                diff = attribution - ref_map
                row.update(
                    config=config,
                    variant=variant,
                    speedup_vs_reference=ref_s / row["seconds"],
                    cpu_speedup_vs_reference=ref_cpu / row["cpu_seconds"],
                    loadavg_1min=os.getloadavg()[0],
                    max_rel_err=float(diff.abs().max() / ref_map.abs().max()),
                    l2_rel_err=float(diff.norm() / ref_map.norm()),
                    earlier_reference_s=EARLIER_REFERENCE_S.get(config),
                )
                table.append(row)
                speedup = row["speedup_vs_reference"]
                print(
                    f"{config:15s} {variant:13s} {row['seconds']:7.2f} s  x{speedup:5.2f}"
                    f"  cpu {row['cpu_seconds']:7.2f} s  x{row['cpu_speedup_vs_reference']:5.2f}"
                    f"  peak +{row['peak_extra_mib']:7.1f} MiB  max_rel {row['max_rel_err']:.2e}"
                    f"  l2_rel {row['l2_rel_err']:.2e}",
                    flush=True,
                )
            if "converged" in maps:
                truth = maps["converged"].sum(dim=0).double()  # the map: channels summed
                for row in table[first_row:]:
                    d = maps[row["variant"]].sum(dim=0).double() - truth
                    row["l1_rel_err_vs_converged"] = float(d.abs().sum() / truth.abs().sum())
                    print(
                        f"{config:15s} {row['variant']:13s} vs converged: l1_rel "
                        f"{row['l1_rel_err_vs_converged']:.2e}"
                    )
            if "exact_fp64" in maps:
                truth = maps["exact_fp64"].double()
                for row in table[first_row:]:
                    d = maps[row["variant"]].double() - truth
                    row["max_rel_err_vs_fp64"] = float(d.abs().max() / truth.abs().max())
                    row["l2_rel_err_vs_fp64"] = float(d.norm() / truth.norm())
                    print(
                        f"{config:15s} {row['variant']:13s} vs fp64: max_rel "
                        f"{row['max_rel_err_vs_fp64']:.2e}  l2_rel {row['l2_rel_err_vs_fp64']:.2e}"
                    )
    result = {
        "date": datetime.date.today().isoformat(),
        "configs": [c for c in args.configs.split(",") if c],
        "steps": args.steps,
        "converged_nodes": args.converged_nodes,
        "sigma": 1.2,
        "kernel_size": 9,
        "window": "central 16x16 SR patch",
        "scale": 4,
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor(),
            "cpus": os.cpu_count(),
            "torch": torch.__version__,
            "torch_threads": torch.get_num_threads(),
            "cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "loadavg_start": load_start,
            "loadavg_end": os.getloadavg(),
        },
        "rows": table,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
