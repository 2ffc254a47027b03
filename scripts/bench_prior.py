"""Benchmark: the attribution prior's self-similarity maps and its cost per training step.

1. NCC: :func:`helpers.prior.ssm.self_similarity_maps` on training batches (``--batch`` x
   ``--patch`` px LR patches from the embedded training photos, the thesis's 16 x 48 px,
   l = 5) against a loop of ``skimage.feature.match_template(pad_input=True)`` over the
   same patches: largest difference where the NCC is defined (skimage returns rounding
   noise on constant windows, ours 0), seconds (median of ``--reps``), speed-up, for the
   float64 reference and the float32 search the extraction module uses.
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
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers import presets  # noqa: E402
from helpers.io import write_json  # noqa: E402
from helpers.metrics.content import to_grey  # noqa: E402
from helpers.prior import runs, ssm, tables  # noqa: E402
from helpers.train import PatchSampler, _training_pairs  # noqa: E402


def bench_ncc(batch: int, patch: int, side: int, reps: int, n_batches: int) -> dict:
    from skimage.feature import match_template

    hr, lr_imgs = _training_pairs("embedded_train", 2)
    sampler = PatchSampler(hr, 2, 2 * patch, 0, lr_images=lr_imgs)
    rows = []
    for _ in range(n_batches):
        x = sampler.sample(batch)[0]
        grey = to_grey(x).numpy()
        ssm.self_similarity_maps(x, side)  # warm-up
        t = {}
        for dtype in (torch.float64, torch.float32):
            ts = []
            for _ in range(reps):
                t0 = time.perf_counter()
                maps, corners = ssm.self_similarity_maps(x, side, dtype)
                ts.append(time.perf_counter() - t0)
            t[str(dtype)] = (maps, statistics.median(ts))
        m64 = t["torch.float64"][0].numpy()
        ts, worst, flat = [], 0.0, 0.0
        for _ in range(max(1, reps // 2)):
            t0 = time.perf_counter()
            refs = [
                match_template(grey[b], grey[b, y : y + side, x0 : x0 + side], pad_input=True)
                for b in range(batch)
                for y, x0 in corners.tolist()
            ]
            ts.append(time.perf_counter() - t0)
        ref = np.stack(refs).reshape(m64.shape)
        defined = m64 != 0
        worst = float(np.abs(ref - m64)[defined].max())
        flat = float(np.abs(ref[~defined]).max(initial=0.0))
        sk = statistics.median(ts)
        rows.append(
            {
                "max_abs_diff_float64": worst,
                "max_abs_skimage_on_flat_windows": flat,
                "max_abs_diff_float32": float(np.abs(t["torch.float32"][0].numpy() - m64).max()),
                "seconds_float64": t["torch.float64"][1],
                "seconds_float32": t["torch.float32"][1],
                "seconds_skimage_loop": sk,
                "speedup_float64": sk / t["torch.float64"][1],
                "speedup_float32": sk / t["torch.float32"][1],
            }
        )
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
