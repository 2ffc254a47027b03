"""Benchmark: LAM accuracy per network evaluation, for each quadrature rule of the path.

For each released network (trained weights from the mirror: no training needed) and each
LAM-demo hard crop, the converged path integral is the Gauss–Legendre map at
``--ref-nodes`` nodes (256 by default). Every rule of :data:`helpers.attribution.path.RULES`
(the paper's right Riemann sum, trapezoid, Gauss–Legendre) is then run at 4–100 nodes and
its map compared with the converged one:

- ``map_rel_l1`` = sum|map - ref| / sum|ref| (what a reader sees: the map);
- ``completeness_error`` as :class:`~helpers.attribution.LAMResult` reports it;
- ``evaluations`` = gradient evaluations of the network (the cost);
- ``seconds`` (wall, this machine, one run).

``fast_nodes`` per network is the fewest Gauss–Legendre nodes whose map error is below the
paper's own rule at 50 steps (the discretisation error the paper accepts).

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


def _rel_l1(a: torch.Tensor, ref: torch.Tensor) -> float:
    return float((a - ref).abs().sum() / ref.abs().sum().clamp_min(1e-12))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--models", nargs="+", default=["imdn", "pan", "carn_m"])
    ap.add_argument("--images", type=int, default=2, help="LAM-demo crops per network")
    ap.add_argument("--lr-size", type=int, default=64, help="LR crop side (px)")
    ap.add_argument("--nodes", type=int, nargs="+", default=[4, 6, 8, 12, 16, 25, 50, 100])
    ap.add_argument("--ref-nodes", type=int, default=256)
    ap.add_argument("--scale", type=int, default=4)
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    pairs = data.load_sr_set("lam_hard", args.scale)[: args.images]
    rows, fast = [], {}
    for name in args.models:
        model = load_released(name, args.scale)
        for pair in pairs:
            h, w = pair.lr.shape[-2:]
            top, left = (h - args.lr_size) // 2, (w - args.lr_size) // 2
            lr = pair.lr[..., top : top + args.lr_size, left : left + args.lr_size]
            window = center_window(lr, args.scale)
            t0 = time.perf_counter()
            ref = lam(model, lr, window, steps=args.ref_nodes, rule="gauss_legendre")
            ref_s = time.perf_counter() - t0
            for rule in RULES:
                # the paper's rule at its 50 steps is the error bar every rule is held to
                for m in sorted(set(args.nodes) | ({50} if rule == "right" else set())):
                    if rule == "trapezoid" and m < 2:
                        continue
                    t0 = time.perf_counter()
                    r = lam(model, lr, window, steps=m, rule=rule)
                    rows.append(
                        {
                            "model": name,
                            "image": pair.name,
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
                {"model": name, "image": pair.name, "rule": "reference", "nodes": args.ref_nodes,
                 "evaluations": args.ref_nodes, "map_rel_l1": 0.0,
                 "completeness_error": round(float(ref.completeness_error), 6),
                 "seconds": round(ref_s, 3)}
            )  # fmt: skip
        mine = [r for r in rows if r["model"] == name]
        paper = max(r["map_rel_l1"] for r in mine if r["rule"] == "right" and r["nodes"] == 50)
        ok = sorted(
            m
            for m in args.nodes
            if all(
                r["map_rel_l1"] < paper
                for r in mine
                if r["rule"] == "gauss_legendre" and r["nodes"] == m
            )
        )
        fast[name] = {"paper_right50_map_rel_l1": paper, "fast_nodes": ok[0] if ok else None}
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
                "images": [p.name for p in pairs],
                "window": "central 16x16 SR px",
            },
            "rows": rows,
            "fast": fast,
        },
    )
    print(json.dumps(fast, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
