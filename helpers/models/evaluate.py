"""Running SR models over image sets and scoring them (Y-PSNR/SSIM, the SR convention).

The convention of the SR literature (EDSR/BasicSR), stated once: SR output is clamped to
[0, 1] and rounded to 8-bit levels, both images are converted to BT.601 Y (16-235), and
``scale`` pixels are shaved from every border before PSNR/SSIM.

A network that returns NaN or inf is an error (``FloatingPointError`` naming the model and
the image), never a NaN score or an inf silently clamped to white.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..data import SRPair
from ..metrics.quality import SSIM_WINDOW, psnr, ssim
from ..runtime import resolve_device


def quantize(x: torch.Tensor) -> torch.Tensor:
    """Clamp to [0, 1] and round to the 256 levels of an 8-bit image (same shape)."""
    return (x.clamp(0, 1) * 255.0).round() / 255.0


def _model_name(model: nn.Module) -> str:
    """A model's name for messages: its ``name`` attribute, else its class name."""
    return getattr(model, "name", None) or type(model).__name__


@torch.inference_mode()
def super_resolve(
    model: nn.Module,
    lr: torch.Tensor,
    device: str | torch.device | None = None,
    label: str | None = None,
) -> torch.Tensor:
    """SR of ``lr`` (N,3,h,w) in [0,1] -> (N,3,s*h,s*w) in [0,1], 8-bit quantized, on CPU.

    Raises ``FloatingPointError`` naming the model (and ``label``, what ``lr`` is, e.g. the
    image's name) when the output holds NaN or inf: quantizing would keep NaN and turn inf
    into plausible-looking 0 or 1.
    """
    device = resolve_device(device)
    model = model.to(device).eval()
    out = model(lr.to(device))
    finite = torch.isfinite(out)
    if not bool(finite.all()):
        bad = int((~finite).sum())
        raise FloatingPointError(
            f"model {_model_name(model)!r} returned NaN or inf for "
            f"{label or 'its input'} ({bad} of {out.numel()} output values): the network is "
            "broken (diverged training, damaged weights or an unstable layer); check its "
            "weights, or run it on this input layer by layer to find where it overflows"
        )
    return quantize(out).cpu()


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

    Raises:
        ValueError: no pairs, or an HR image with a side under ``2 * scale + 11`` px (SSIM's
            11 px window after the shave), naming the image, before any SR is run.
        FloatingPointError: the model returned NaN or inf, naming the model and image.
    """
    if not pairs:
        raise ValueError("no images to evaluate")
    for p in pairs:
        need = 2 * p.scale + SSIM_WINDOW
        if min(p.hr.shape[-2:]) < need:
            raise ValueError(
                f"image {p.name!r} is {p.hr.shape[-2]}x{p.hr.shape[-1]} px, too small to score "
                f"at scale {p.scale}: PSNR/SSIM shave {p.scale} px from each border and SSIM "
                f"needs {SSIM_WINDOW} px left, so each side needs >= {need} px; drop the image"
            )
    per_image, t = {}, 0.0
    for p in tqdm(pairs, desc=desc, disable=not progress, leave=False):
        t0 = time.perf_counter()
        sr = super_resolve(model, p.lr, device, label=f"image {p.name!r}")
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
