"""Benchmark: how the cost of a LAM map and of a training step grows with size.

1. LAM (``helpers.attribution.lam``, exact mode, ``--steps`` path points, x2) per LR size
   n x n, n in ``--sizes`` (a central crop of scikit-image's astronaut photo, MATLAB-
   bicubic x2 down; the window is the central 16 x 16 SR patch), for
   - ``local_crop``: an EDSR (finite receptive field) with the receptive-field crop: the
     forward sees only the window's field, so the cost stays flat in n;
   - ``local_nocrop``: the same EDSR on the whole image: cost grows with the area;
   - ``global``: an RCAN (channel attention pools the whole image: no crop is exact), so
     it grows with the area too.
   Seconds (wall and process CPU; the figure uses CPU seconds, which on a shared machine
   track the work rather than the other processes' load) and the peak extra memory
   (``ru_maxrss`` of a fresh subprocess minus its size just before the call).
2. Training: wall and CPU seconds per step (forward, L1, backward, Adam; median of
   ``--reps`` after a warm-up) of the zoo's EDSR-s at x2 for every batch in ``--batches``
   and LR patch in ``--patches``, with the pixels per step (batch x patch^2) beside them.

Networks are random-initialised (seed 0): time does not depend on the weights. Run with
one thread for figures comparable with the book's other benchmarks::

    OMP_NUM_THREADS=1 python scripts/bench_scaling.py --out benchmarks/scaling.json

The LAM chapter plots the committed JSON (``helpers.plots.lam.plot_scaling``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NETS = {
    "local": ("edsr", {"n_feats": 32, "n_blocks": 8}),
    "global": ("rcan", {"n_groups": 2, "n_blocks": 4, "n_feats": 32}),
}
VARIANTS = {"local_crop": ("local", "auto"), "local_nocrop": ("local", "none"),
            "global": ("global", "auto")}  # fmt: skip


def _rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _image(n: int):
    """LR (1, 3, n, n) from a 2n x 2n central crop of the astronaut photo."""
    import numpy as np
    import torch
    from skimage import data

    from helpers.data.resize import imresize

    hr = torch.from_numpy(np.asarray(data.astronaut(), dtype=np.float32) / 255.0)
    hr = hr.permute(2, 0, 1)[None]
    side = 2 * n
    if side > min(hr.shape[-2:]):
        raise ValueError(f"LR size {n} needs a {side} px HR crop; the photo is 512 px")
    top, left = (hr.shape[-2] - side) // 2, (hr.shape[-1] - side) // 2
    crop = hr[:, :, top : top + side, left : left + side]
    return imresize(crop.double(), scale=0.5).float().clamp(0, 1)


def child(variant: str, n: int, steps: int, out: str) -> None:
    """One map in this (fresh) process; its numbers to ``out``."""
    import torch

    from helpers.attribution import center_window, lam
    from helpers.models import build

    net, crop = VARIANTS[variant]
    arch, kwargs = NETS[net]
    torch.manual_seed(0)
    model = build(arch, 2, **kwargs).eval()
    lr = _image(n)
    with torch.no_grad():
        model(torch.rand(1, 3, 8, 8))  # library initialisation is no part of the map
    rss0 = _rss_mib()
    cpu0, t0 = time.process_time(), time.perf_counter()
    res = lam(model, lr, center_window(lr, 2), steps=steps, crop=crop, device="cpu")
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    Path(out).write_text(json.dumps({
        "seconds": seconds, "cpu_seconds": cpu, "peak_extra_mib": peak - rss0,
        "crop_box": res.crop_box, "receptive_field": model.receptive_field,
    }))  # fmt: skip


def lam_rows(sizes: list[int], steps: int) -> list[dict[str, Any]]:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            for variant in VARIANTS:
                out = str(Path(tmp) / f"{variant}_{n}.json")
                cmd = [sys.executable, __file__, "--child", variant, str(n), "--steps", str(steps)]
                subprocess.run(cmd + ["--child-out", out], check=True, cwd=ROOT)
                row = {"variant": variant, "lr_size": n, "steps": steps}
                row.update(json.loads(Path(out).read_text()))
                rows.append(row)
                print(
                    variant, n, round(row["seconds"], 2), "s", round(row["peak_extra_mib"]), "MiB"
                )
    return rows


def train_rows(batches: list[int], patches: list[int], reps: int) -> list[dict[str, Any]]:
    import torch
    import torch.nn.functional as F

    from helpers.models import build
    from helpers.networks.zoo import MEMBERS

    arch, kwargs = MEMBERS["edsr_s"]
    rows = []
    for patch in patches:
        for batch in batches:
            torch.manual_seed(0)
            model = build(arch, 2, **kwargs).train()
            opt = torch.optim.Adam(model.parameters(), lr=1e-4)
            lr = torch.rand(batch, 3, patch, patch)
            hr = torch.rand(batch, 3, 2 * patch, 2 * patch)

            times, cpu = [], []
            for i in range(reps + 1):  # the first is a warm-up
                t0, c0 = time.perf_counter(), time.process_time()
                opt.zero_grad(set_to_none=True)
                F.l1_loss(model(lr), hr).backward()
                opt.step()
                if i:
                    times.append(time.perf_counter() - t0)
                    cpu.append(time.process_time() - c0)
            s, c = statistics.median(times), statistics.median(cpu)
            rows.append({"batch": batch, "lr_patch": patch, "pixels": batch * patch * patch,
                         "s_per_step": s, "cpu_s_per_step": c})  # fmt: skip
            print("train", batch, patch, round(s, 4), "s/step", round(c, 4), "CPU s")
    return rows


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out")
    p.add_argument("--sizes", default="32,64,128,256")
    p.add_argument("--steps", type=int, default=50)
    p.add_argument("--batches", default="4,8,16")
    p.add_argument("--patches", default="24,48,96")
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--child", nargs=2, metavar=("VARIANT", "N"), help=argparse.SUPPRESS)
    p.add_argument("--child-out", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import torch

    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    if args.child:
        child(args.child[0], int(args.child[1]), args.steps, args.child_out)
        return 0
    if not args.out:
        p.error("--out is required")
    ints = lambda s: [int(v) for v in s.split(",") if v]  # noqa: E731
    result = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {
            "platform": platform.platform(),
            "threads": torch.get_num_threads(),
            "torch": torch.__version__,
            "load_before": os.getloadavg()[0],
        },  # fmt: skip
        "nets": {k: {"arch": a, "kwargs": kw} for k, (a, kw) in NETS.items()},
        "lam": lam_rows(ints(args.sizes), args.steps),
        "train": train_rows(ints(args.batches), ints(args.patches), args.reps),
    }
    from helpers.files import write_json

    write_json(Path(args.out), result)
    print("wrote", args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
