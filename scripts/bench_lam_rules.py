"""Benchmark: LAM accuracy per network evaluation, for each quadrature rule of the path.

For each network (released weights from the mirror, and zoo networks trained or loaded
from the cache by the book's resolver at ``--preset``) and each LAM-demo hard crop, the
converged path integral is the ``"arclength"`` map at ``--ref-nodes`` nodes (512 by
default); its own error is estimated against the same rule at half the nodes
(``ref_self_error``: the reference is converged when this is far below the errors
compared). Every rule of :data:`helpers.attribution.path.RULES` (the paper's right
Riemann sum, trapezoid, Gauss–Legendre, arclength) then runs at 4–100 nodes and its map
is compared with the converged one:

- ``map_rel_l1`` = sum|map - ref| / sum|ref| (what a reader sees: the map);
- ``completeness_error`` as :class:`~helpers.attribution.LAMResult` reports it;
- ``evaluations`` = gradient evaluations of the network (the cost);
- ``seconds`` (wall, this machine, one run).

``fast[<network>]`` holds the paper's own error (right sum, 50 steps) on each crop and
the fewest arclength nodes (of ``--check-nodes``, run on every crop) whose map error is
below it on every crop; ``fast_nodes`` is the largest of those over the networks:
:data:`helpers.attribution.FAST_STEPS` must equal it (a test checks).

Usage::

    python scripts/bench_lam_rules.py --out benchmarks/lam_rules.json
    python scripts/bench_lam_rules.py --out /tmp/r.json --models imdn --nodes 4 8 --ref-nodes 64
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import data  # noqa: E402
from helpers.attribution import lam  # noqa: E402
from helpers.attribution.maps import center_window  # noqa: E402
from helpers.attribution.path import RULES  # noqa: E402
from helpers.io import write_json  # noqa: E402
from helpers.models import load_released  # noqa: E402
from helpers.networks import resolve  # noqa: E402
from helpers.presets import RELEASED  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_lam import astronaut_lr  # noqa: E402


def _rel_l1(a: torch.Tensor, ref: torch.Tensor) -> float:
    return float((a - ref).abs().sum() / ref.abs().sum().clamp_min(1e-12))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--models", nargs="+", default=["imdn", "pan", "carn_m", "edsr_m", "rcan_s"])
    ap.add_argument("--preset", default="embedded", help="preset of the zoo networks")
    ap.add_argument("--images", type=int, default=2, help="LAM-demo crops per network")
    ap.add_argument("--no-astronaut", action="store_true", help="leave out the astronaut crop")
    ap.add_argument("--lr-size", type=int, default=64, help="LR crop side (px)")
    ap.add_argument("--nodes", type=int, nargs="+", default=[4, 8, 12, 16, 20, 25, 32, 50, 64, 100])
    ap.add_argument(
        "--check-nodes",
        type=int,
        nargs="+",
        default=[12, 16, 20, 25, 32, 50],
        help="arclength node counts run on every crop (the others: first crop only)",
    )
    ap.add_argument("--ref-nodes", type=int, default=512)
    ap.add_argument("--scale", type=int, default=4)
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    crops = []
    for pair in data.load_sr_set("lam_hard", args.scale)[: args.images]:
        h, w = pair.lr.shape[-2:]
        top, left = (h - args.lr_size) // 2, (w - args.lr_size) // 2
        crops.append(
            (pair.name, pair.lr[..., top : top + args.lr_size, left : left + args.lr_size])
        )
    if not args.no_astronaut:  # a portrait beside the LAM demo's urban scenes
        crops.append(("astronaut", astronaut_lr(args.lr_size)))
    rows, fast = [], {}
    for name in args.models:
        if name in RELEASED:
            model = load_released(name, args.scale)
        else:
            model = resolve.resolve(name, args.scale, args.preset, progress=False)
        for k, (image, lr) in enumerate(crops):
            window = center_window(lr, args.scale)
            t0 = time.perf_counter()
            ref = lam(model, lr, window, steps=args.ref_nodes, rule="arclength")
            ref_s = time.perf_counter() - t0
            half = lam(model, lr, window, steps=args.ref_nodes // 2, rule="arclength")
            self_err = _rel_l1(half.map, ref.map)
            print(f"{name} {image}: reference self-error {self_err:.5f}", file=sys.stderr)
            # every rule on the first crop; on the others the paper's rule at its 50 steps
            # (the error bar every rule is held to) and the arclength counts fast may pick
            plan = {rule: set(args.nodes) for rule in RULES} if k == 0 else {}
            plan.setdefault("right", set()).add(50)
            plan.setdefault("arclength", set()).update(args.check_nodes)
            for rule in RULES:
                for m in sorted(plan.get(rule, ())):
                    if rule in ("trapezoid", "arclength") and m < 2:
                        continue
                    t0 = time.perf_counter()
                    r = lam(model, lr, window, steps=m, rule=rule)
                    rows.append(
                        {
                            "model": name,
                            "image": image,
                            "rule": rule,
                            "nodes": m,
                            "evaluations": m,  # every rule: steps = gradient evaluations
                            "map_rel_l1": round(_rel_l1(r.map, ref.map), 6),
                            "completeness_error": round(float(r.completeness_error), 6),
                            "seconds": round(time.perf_counter() - t0, 3),
                        }
                    )
                    print(json.dumps(rows[-1]), file=sys.stderr)
            rows.append(
                {"model": name, "image": image, "rule": "reference", "nodes": args.ref_nodes,
                 "evaluations": args.ref_nodes, "map_rel_l1": 0.0,
                 "completeness_error": round(float(ref.completeness_error), 6),
                 "seconds": round(ref_s, 3), "ref_self_error": round(self_err, 6)}
            )  # fmt: skip
        err = {
            (r["image"], r["rule"], r["nodes"]): r["map_rel_l1"] for r in rows if r["model"] == name
        }
        paper = {image: err[(image, "right", 50)] for image, _ in crops}
        # fast: the fewest arclength nodes closer to the integral than the paper's rule on
        # every crop (each crop against its own 50-step right sum)
        ok = [
            m for m in sorted(args.check_nodes)
            if all(err[(image, "arclength", m)] < paper[image] for image, _ in crops)
        ]  # fmt: skip
        fast[name] = {
            "paper_right50_map_rel_l1": paper[crops[0][0]],
            "paper_right50_by_image": paper,
            "fast_nodes": ok[0] if ok else None,
        }
    needed = [f["fast_nodes"] for f in fast.values()]
    write_json(
        args.out,
        {
            "date": dt.date.today().isoformat(),
            "machine": {
                "platform": platform.platform(),
                "processor": platform.processor(),
                "cpus": os.cpu_count(),
                "torch": torch.__version__,
                "threads": torch.get_num_threads(),
            },
            "settings": {
                "lr_size": args.lr_size,
                "scale": args.scale,
                "ref_nodes": args.ref_nodes,
                "nodes": args.nodes,
                "images": [image for image, _ in crops],
                "check_nodes": args.check_nodes,
                "preset": args.preset,
                "reference": f"arclength, {args.ref_nodes} nodes",
                "window": "central 16x16 SR px",
            },
            "rows": rows,
            "fast": fast,
            # None when some network needs more than the largest node count tried
            "fast_nodes": None if None in needed else max(needed),
        },
    )
    print(json.dumps(fast, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
