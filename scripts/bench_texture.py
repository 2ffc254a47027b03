"""Benchmark the texture classifier per preset: accuracy, confusion, timings, throughput.

Usage::

    python scripts/bench_texture.py                       # embedded and benchmark
    python scripts/bench_texture.py --presets smoke --threads 1 --json out.json

For each preset it builds the preset's data (:func:`helpers.data.textures.preset_data`), trains
(or reuses the cached) classifier, and prints the test accuracy, the confusion matrix, the
most frequent confusions, the training time and the labelling throughput on 128x128
patches. With ``--sim2real`` it also applies the embedded (procedural) classifier to the
real DTD-10 test images of the classes both sets share, as a measure of the domain gap.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

from helpers import presets
from helpers.data.textures import eval_transform, preset_data
from helpers.runtime import resolve_device
from helpers.texture.classifier import evaluate, train_classifier
from helpers.texture.deepten import DeepTEN
from helpers.texture.patches import label_patches


def _print_confusion(conf: np.ndarray, classes: list[str], top: int = 8) -> list[dict]:
    short = [c[:6] for c in classes]
    print("confusion (rows: true, columns: predicted)")
    print(" " * 14 + " ".join(f"{s:>6}" for s in short))
    for name, row in zip(classes, conf, strict=True):
        print(f"{name:>13} " + " ".join(f"{v:6d}" for v in row))
    off = conf.copy()
    np.fill_diagonal(off, 0)
    order = np.argsort(off, axis=None)[::-1][:top]
    flips = []
    for flat in order:
        i, j = divmod(int(flat), len(classes))
        if off[i, j] == 0:
            break
        share = off[i, j] / conf[i].sum()
        flips.append({"true": classes[i], "pred": classes[j], "count": int(off[i, j])})
        print(f"  {classes[i]} -> {classes[j]}: {off[i, j]} ({share:.0%} of {classes[i]})")
    return flips


def _throughput(model: DeepTEN, device: torch.device, n: int = 256, batch: int = 64) -> float:
    patches = torch.rand(n, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    label_patches(model, patches[:batch], batch=batch, device=device, progress=False)  # warm
    t0 = time.perf_counter()
    label_patches(model, patches, batch=batch, device=device, progress=False)
    return n / (time.perf_counter() - t0)


def run_preset(preset: str, args: argparse.Namespace) -> tuple[dict, DeepTEN]:
    device = resolve_device(args.device)
    print(f"\n=== preset {preset} on {device} ({torch.get_num_threads()} CPU threads) ===")
    t0 = time.perf_counter()
    train, test = preset_data(preset, root=args.dtd_root, seed=args.seed)
    t_data = time.perf_counter() - t0
    print(
        f"data: {len(train)} train / {len(test)} test images, {len(train.classes)} classes "
        f"({t_data:.1f} s to build)"
    )
    model, hist = train_classifier(
        train, train.classes, preset, cache_dir=args.cache_dir, device=device, seed=args.seed
    )
    reused = hist["steps_run"] == 0
    steps = presets.get("texture_classifier", preset)["steps"]
    print(
        f"training: {hist['train_seconds']:.0f} s for {steps} steps"
        + (" (cached checkpoint reused)" if reused else "")
    )
    t0 = time.perf_counter()
    res = evaluate(model, test, device=device)
    t_eval = time.perf_counter() - t0
    train_res = evaluate(model, train, device=device)
    print(
        f"test accuracy {res['accuracy']:.3f} (chance {1 / len(test.classes):.3f}); "
        f"train accuracy (centre crops) {train_res['accuracy']:.3f}"
    )
    print(
        "per-class test recall: " + ", ".join(f"{k} {v:.2f}" for k, v in res["per_class"].items())
    )
    flips = _print_confusion(res["confusion"], list(test.classes))
    tput = _throughput(model, device)
    print(f"labelling throughput: {tput:.0f} patches/s (128x128, batch 64)")
    return {
        "preset": preset,
        "classes": list(test.classes),
        "n_train": len(train),
        "n_test": len(test),
        "test_accuracy": res["accuracy"],
        "train_accuracy": train_res["accuracy"],
        "per_class": res["per_class"],
        "confusion": res["confusion"].tolist(),
        "top_confusions": flips,
        "train_seconds": hist["train_seconds"],
        "steps": presets.get("texture_classifier", preset)["steps"],
        "data_seconds": t_data,
        "eval_seconds": t_eval,
        "labelling_patches_per_s": tput,
        "checkpoint": hist["checkpoint"],
        "threads": torch.get_num_threads(),
        "device": str(device),
    }, model


def sim2real(model: DeepTEN, args: argparse.Namespace) -> dict:
    """Procedural-trained classifier on real DTD-10 test images of the shared classes."""
    _, test = preset_data("benchmark", root=args.dtd_root, seed=args.seed)
    shared = [c for c in test.classes if c in model.classes]
    keep = [i for i in range(len(test)) if test.classes[int(test.labels[i])] in shared]
    patches = torch.stack([eval_transform(model.config)(test[i][0]) for i in keep])
    out = label_patches(model, patches, device=resolve_device(args.device), progress=False)
    true = np.array([model.classes.index(test.classes[int(test.labels[i])]) for i in keep])
    cols = [model.classes.index(c) for c in shared]
    top1_all = float((out["label_idx"] == true).mean())
    restricted = np.array(cols)[out["prob"][:, cols].argmax(1)]
    top1_shared = float((restricted == true).mean())
    print(
        f"\n=== sim-to-real: embedded classifier on {len(keep)} real DTD-10 test images of "
        f"{len(shared)} shared classes ==="
    )
    print(
        f"top-1 over all {len(model.classes)} classes: {top1_all:.3f}; "
        f"restricted to the {len(shared)} shared classes: {top1_shared:.3f} "
        f"(chance {1 / len(shared):.3f})"
    )
    return {"shared": shared, "n": len(keep), "top1_all": top1_all, "top1_shared": top1_shared}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--presets", nargs="+", default=["embedded", "benchmark"], choices=list(presets.PRESETS)
    )
    ap.add_argument("--device", default=None)
    ap.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: default)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache-dir", default=None, help="checkpoint folder (default data_dir())")
    ap.add_argument("--dtd-root", default=None, help="DTD-10/47 folder (default: manifest)")
    ap.add_argument("--sim2real", action="store_true")
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    results: dict = {}
    models = {}
    for p in args.presets:
        results[p], models[p] = run_preset(p, args)
    if args.sim2real and "embedded" in models:
        results["sim2real"] = sim2real(models["embedded"], args)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
