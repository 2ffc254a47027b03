"""Benchmark: the attribution prior's self-similarity maps and its cost per training step.

1. NCC: :func:`helpers.prior.report.ncc_check` (the chapter's own check) on training
   batches (``--batch`` x ``--patch`` px LR patches from the embedded training photos,
   the thesis's 16 x 48 px, l = 5): :func:`helpers.prior.ssm.self_similarity_maps` against
   a loop of ``skimage.feature.match_template(pad_input=True)`` over the same patches:
   largest difference where the NCC is defined (skimage returns rounding noise on
   constant windows, ours 0), seconds (median of ``--reps``), speed-up, for the float64
   reference and the float32 search the extraction module uses.
2. Overhead: seconds per training step (forward, loss, backward) and activation memory
   with and without the prior on the same batch and weights, for the chapter's local and
   global networks at ``--preset`` (:func:`helpers.prior.runs.overhead`).

Usage::

    OMP_NUM_THREADS=1 python scripts/bench_prior.py --out benchmarks/prior.json
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import presets  # noqa: E402
from helpers.io import write_json  # noqa: E402
from helpers.prior import report, runs, ssm, tables  # noqa: E402
from helpers.train import PatchSampler, _training_pairs  # noqa: E402


def bench_ncc(batch: int, patch: int, side: int, reps: int, n_batches: int) -> dict:
    hr, lr_imgs = _training_pairs("embedded_train", 2)
    sampler = PatchSampler(hr, 2, 2 * patch, 0, lr_images=lr_imgs)
    rows = [report.ncc_check(sampler.sample(batch)[0], side, reps) for _ in range(n_batches)]
    return {
        "batch": batch,
        "patch": patch,
        "side": side,
        "n_maps_per_batch": batch * (patch // side) ** 2,
        "per_batch": rows,
        "worst_diff_float64": max(r["max_abs_diff_float64"] for r in rows),
        "median_speedup_float64": statistics.median(r["speedup_float64"] for r in rows),
        "median_speedup_float32": statistics.median(r["speedup_float32"] for r in rows),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="benchmarks/prior.json")
    ap.add_argument("--preset", default="embedded")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--patch", type=int, default=48)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--batches", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    ncc = bench_ncc(args.batch, args.patch, ssm.DEFAULTS["side"], args.reps, args.batches)
    print(ncc["worst_diff_float64"], ncc["median_speedup_float64"], ncc["median_speedup_float32"])
    cfg = presets.get("prior", args.preset)
    o_cfg = {**cfg, "lr_patch": args.patch, "batch": args.batch}
    overhead = {n: runs.overhead(o_cfg, n, tables.PRIOR, reps=args.reps) for n in cfg["nets"]}
    for n, o in overhead.items():
        print(n, round(o["time_ratio"], 2), round(o["memory_ratio"], 2))
    write_json(
        Path(args.out),
        {
            "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": {
                "platform": platform.platform(),
                "threads": torch.get_num_threads(),
                "torch": torch.__version__,
            },  # fmt: skip
            "ncc": ncc,
            "overhead": {
                "preset_nets": cfg["nets"],
                "batch": args.batch,
                "patch": args.patch,
                "per_network": overhead,
            },  # fmt: skip
        },
    )


if __name__ == "__main__":
    main()
