"""Check the released SR models against their published Set5/Set14 Y-PSNR.

Loads PAN, IMDN, CARN-M (this package's modules, strict key match) and GRL-tiny (through
spandrel) from the offline mirror, super-resolves the MATLAB-made LR of Set5 and Set14 at
x2/x3/x4, rounds SR to 8-bit levels, and measures PSNR on BT.601 Y
(``16 + 65.481 R + 128.553 G + 24.966 B``) with ``scale`` border pixels shaved, HR cropped
to ``scale x`` LR: the EDSR/BasicSR convention the papers report.

``--variants`` adds the protocol variants used to explain gaps: SR truncated instead of
rounded to 8 bit (``CARN``'s sample script saves with ``.byte()``), Y rounded to integer
levels (``IMDN``'s test script), and SR left in float.

Usage::

    python scripts/check_released.py                       # all models, Set5+Set14, x2-x4
    python scripts/check_released.py --models pan imdn --datasets Set5 --scales 4
    python scripts/check_released.py --variants --out results/check_released.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from helpers.io import load_image  # noqa: E402
from helpers.models import build, load_released  # noqa: E402
from helpers.runtime import resolve_device  # noqa: E402

PAN_ROOT = "zhaohengyuan1/PAN/4d045d18592c5771cd3990da88f292812774e538"
#: Weight files under ``<mirror root>/mirror/``.
WEIGHTS = {
    ("pan", 2): f"{PAN_ROOT}/experiments/pretrained_models/PANx2_DF2K.pth",
    ("pan", 3): f"{PAN_ROOT}/experiments/pretrained_models/PANx3_DF2K.pth",
    ("pan", 4): f"{PAN_ROOT}/experiments/pretrained_models/PANx4_DF2K.pth",
    **{
        (
            "imdn",
            s,
        ): f"Zheng222/IMDN/8f158e6a5ac9db6e5857d9159fd4a6c4214da574/checkpoints/IMDN_x{s}.pth"
        for s in (2, 3, 4)
    },
    **{
        (
            "carn_m",
            s,
        ): "nmhkahn/CARN-pytorch/40d3514f81cccd680d846cd5ab07af35f2c8e0e2/checkpoint/carn_m.pth"
        for s in (2, 3, 4)
    },
    ("grl_tiny", 4): "wenjuan7275/LAM_Demo/f3a86e09160417b2d84a9ac2ca64af18ed6396a2/"
    "ModelZoo/models/gnll_final_tiny_w32_s64.ckpt",
}

#: Published Y-PSNR (dB): PAN (ECCV-W 2020, Table 4), IMDN (ACM MM 2019, Table 3), CARN-M
#: (ECCV 2018, Table 1), bicubic (as tabulated in those papers). GRL-tiny: ~32.5 on Set5
#: x4 (the figure this project was given; Set14 not recorded here).
PUBLISHED: dict[str, dict[str, dict[int, float]]] = {
    "pan": {"Set5": {2: 38.00, 3: 34.40, 4: 32.13}, "Set14": {2: 33.59, 3: 30.36, 4: 28.61}},
    "imdn": {"Set5": {2: 38.00, 3: 34.36, 4: 32.21}, "Set14": {2: 33.63, 3: 30.32, 4: 28.58}},
    "carn_m": {"Set5": {2: 37.53, 3: 33.99, 4: 31.92}, "Set14": {2: 33.26, 3: 30.08, 4: 28.42}},
    "grl_tiny": {"Set5": {4: 32.5}, "Set14": {}},
    "bicubic": {"Set5": {2: 33.66, 3: 30.39, 4: 28.42}, "Set14": {2: 30.24, 3: 27.55, 4: 26.00}},
}
SCALES = {
    "pan": (2, 3, 4),
    "imdn": (2, 3, 4),
    "carn_m": (2, 3, 4),
    "grl_tiny": (4,),
    "bicubic": (2, 3, 4),
}


def mirror_root() -> Path:
    """``$HELPERS_DATA_MIRROR`` or ``../shared/data`` beside the repository."""
    env = os.environ.get("HELPERS_DATA_MIRROR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


def y_levels(x: torch.Tensor) -> torch.Tensor:
    """BT.601 Y in grey levels (16..235) of RGB (N, 3, H, W) in [0, 1], float64."""
    w = torch.tensor([65.481, 128.553, 24.966], dtype=torch.float64, device=x.device)
    return 16.0 + torch.einsum("nchw,c->nhw", x.double(), w)


def y_psnr(
    sr: torch.Tensor, hr: torch.Tensor, shave: int, sr_levels: str = "round", round_y: bool = False
) -> float:
    """Y-PSNR (dB, peak 255) of SR against HR, ``shave`` border pixels removed.

    ``sr_levels``: ``"round"`` (8-bit as saved PNGs), ``"trunc"`` (``.byte()`` after
    ``*255``), or ``"float"`` (no quantization). ``round_y`` rounds Y to integers.
    """
    sr = sr.double().clamp(0, 1) * 255.0
    if sr_levels == "round":
        sr = sr.round()
    elif sr_levels == "trunc":
        sr = sr.floor()
    sr = sr / 255.0
    a, b = y_levels(sr), y_levels(hr)
    if round_y:
        a, b = a.round(), b.round()
    a = a[..., shave:-shave, shave:-shave]
    b = b[..., shave:-shave, shave:-shave]
    mse = (a - b).pow(2).mean()
    return float(10.0 * torch.log10(255.0**2 / mse))


def main_psnr(sr: torch.Tensor, hr: torch.Tensor, scale: int) -> float:
    """The book's metric (:func:`helpers.metrics.psnr`, SR rounded to 8 bit, Y, shave =
    scale); the local :func:`y_psnr` where that module is missing."""
    try:
        from helpers.metrics import psnr
    except ImportError:
        return y_psnr(sr, hr, scale)
    return float(psnr(sr, hr, shave=scale, y_channel=True, quantize=True)[0])


def dataset_pairs(
    root: Path, dataset: str, scale: int
) -> list[tuple[str, torch.Tensor, torch.Tensor]]:
    """``(name, hr, lr)`` with HR cropped to ``scale x`` LR (MATLAB's modcrop)."""
    base = root / "mirror" / PAN_ROOT / "datasets" / dataset
    pairs = []
    for hr_path in sorted((base / "HR").glob("*.png")):
        lr = load_image(base / "LR_bicubic" / f"X{scale}" / f"{hr_path.stem}x{scale}.png")
        hr = load_image(hr_path)
        h, w = lr.shape[-2] * scale, lr.shape[-1] * scale
        if hr.shape[-2] < h or hr.shape[-1] < w:
            raise ValueError(f"{hr_path}: HR {tuple(hr.shape)} smaller than {scale} x LR")
        pairs.append((hr_path.stem, hr[..., :h, :w], lr))
    if not pairs:
        raise FileNotFoundError(f"no HR images under {base / 'HR'}")
    return pairs


def load(name: str, scale: int, root: Path, device: torch.device) -> torch.nn.Module:
    if name == "bicubic":
        from helpers.models import wrap

        return wrap(build("bicubic", scale), device=device)
    return load_released(name, scale, path=root / "mirror" / WEIGHTS[(name, scale)], device=device)


def main(argv: list[str] | None = None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--models", nargs="+", default=["pan", "imdn", "carn_m", "grl_tiny", "bicubic"])
    ap.add_argument("--datasets", nargs="+", default=["Set5", "Set14"])
    ap.add_argument("--scales", nargs="+", type=int, default=[2, 3, 4])
    ap.add_argument("--device", default=None, help="default: cuda when available, else cpu")
    ap.add_argument("--variants", action="store_true", help="also report protocol variants")
    ap.add_argument("--per-image", action="store_true", help="print every image's PSNR")
    ap.add_argument("--out", default=None, help="write the results as JSON here")
    args = ap.parse_args(argv)

    root = mirror_root()
    if not (root / "mirror").is_dir():
        sys.exit(f"mirror not found at {root}; set HELPERS_DATA_MIRROR to the mirror root")
    device = resolve_device(args.device)
    results: dict = {
        "device": str(device),
        "protocol": "Y (BT.601), shave=scale, SR rounded "
        "to uint8, HR cropped to scale x LR, MATLAB bicubic LR",
        "rows": [],
    }
    header = (
        f"{'model':9s} {'set':6s} {'x':>2s} {'ours':>7s} {'paper':>7s} {'diff':>6s} {'sec':>6s}"
    )
    if args.variants:
        header += f" {'trunc':>7s} {'roundY':>7s} {'float':>7s}"
    print(header)
    for name in args.models:
        for scale in args.scales:
            if scale not in SCALES[name]:
                continue
            model = load(name, scale, root, device)
            for dataset in args.datasets:
                t0 = time.perf_counter()
                per_image: dict[str, dict[str, float]] = {}
                for stem, hr, lr in dataset_pairs(root, dataset, scale):
                    with torch.inference_mode():
                        sr = model(lr.to(device)).cpu()
                    hr = hr.to(sr.dtype)
                    per_image[stem] = {"round": main_psnr(sr, hr, scale)}
                    if args.variants:
                        per_image[stem]["trunc"] = y_psnr(sr, hr, scale, "trunc")
                        per_image[stem]["roundY"] = y_psnr(sr, hr, scale, round_y=True)
                        per_image[stem]["float"] = y_psnr(sr, hr, scale, "float")
                    if args.per_image:
                        print(f"    {stem:12s} {per_image[stem]['round']:.3f}")
                secs = time.perf_counter() - t0
                mean = {
                    k: sum(v[k] for v in per_image.values()) / len(per_image)
                    for k in next(iter(per_image.values()))
                }
                paper = PUBLISHED.get(name, {}).get(dataset, {}).get(scale)
                row = {
                    "model": name,
                    "dataset": dataset,
                    "scale": scale,
                    "psnr_y": round(mean["round"], 4),
                    "published": paper,
                    "seconds": round(secs, 1),
                    "per_image": {k: round(v["round"], 4) for k, v in per_image.items()},
                }
                if args.variants:
                    row["variants"] = {k: round(v, 4) for k, v in mean.items() if k != "round"}
                results["rows"].append(row)
                diff = f"{mean['round'] - paper:+.3f}" if paper is not None else "   n/a"
                line = (
                    f"{name:9s} {dataset:6s} {scale:2d} {mean['round']:7.3f} "
                    f"{paper if paper is not None else float('nan'):7.2f} {diff:>6s} {secs:6.1f}"
                )
                if args.variants:
                    line += f" {mean['trunc']:7.3f} {mean['roundY']:7.3f} {mean['float']:7.3f}"
                print(line, flush=True)
    if args.out:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
        print(f"wrote {out}")
    return results


if __name__ == "__main__":
    main()
