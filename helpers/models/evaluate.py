"""Running SR models over image sets and scoring them (Y-PSNR/SSIM, the SR convention).

The convention of the SR literature (EDSR/BasicSR), stated once: SR output is clamped to
[0, 1] and rounded to 8-bit levels, both images are converted to BT.601 Y (16-235), and
``scale`` pixels are shaved from every border before PSNR/SSIM.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..data import SRPair
from ..metrics.quality import psnr, ssim
from ..runtime import resolve_device


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Clamp to [0, 1] and round to the 256 levels of an 8-bit image (same shape)."""
    return (x.clamp(0, 1) * 255.0).round() / 255.0


@torch.inference_mode()
def super_resolve(
    model: nn.Module, lr: torch.Tensor, device: str | torch.device | None = None
) -> torch.Tensor:
    """SR of ``lr`` (N,3,h,w) in [0,1] -> (N,3,s*h,s*w) in [0,1], 8-bit quantized, on CPU."""
    device = resolve_device(device)
    model = model.to(device).eval()
    return quantize(model(lr.to(device))).cpu()


def evaluate_sr(
    model: nn.Module,
    pairs: list[SRPair],
    device: str | torch.device | None = None,
    progress: bool = True,
    desc: str = "evaluate",
) -> dict[str, Any]:
    """Y-PSNR (dB) and Y-SSIM of ``model`` on ``pairs`` with border shave = scale.

    Returns ``{"psnr_y": mean, "ssim_y": mean, "per_image": {name: {"psnr_y", "ssim_y"}},
    "seconds": total inference wall time}``.
    """
    if not pairs:
        raise ValueError("no images to evaluate")
    per_image, t = {}, 0.0
    for p in tqdm(pairs, desc=desc, disable=not progress, leave=False):
        t0 = time.perf_counter()
        sr = super_resolve(model, p.lr, device)
        t += time.perf_counter() - t0
        if sr.shape != p.hr.shape:
            raise ValueError(f"{p.name}: SR shape {tuple(sr.shape)} != HR {tuple(p.hr.shape)}")
        per_image[p.name] = {
            "psnr_y": float(psnr(sr, p.hr, shave=p.scale, y_channel=True)[0]),
            "ssim_y": float(ssim(sr, p.hr, shave=p.scale, y_channel=True)[0]),
        }
    return {
        "psnr_y": float(np.mean([v["psnr_y"] for v in per_image.values()])),
        "ssim_y": float(np.mean([v["ssim_y"] for v in per_image.values()])),
        "per_image": per_image,
        "seconds": t,
    }
