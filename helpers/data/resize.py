"""MATLAB-compatible bicubic ``imresize`` in torch: batched, separable, on any device.

The SR literature makes its low-resolution (LR) images with MATLAB's
``imresize(hr, 1/scale, 'bicubic')`` on uint8 images. PIL's and torch's bicubic differ
from it (other kernel constant, no antialiasing, other edge handling), which shifts PSNR
by tenths of a dB. This module reproduces MATLAB's algorithm (``imresize.m``):

- cubic kernel with ``a = -0.5`` (Keys), support 4 input pixels;
- output pixel ``x`` (1-based) maps to input coordinate ``u = x / s + 0.5 * (1 - 1 / s)``;
- when shrinking (``s < 1``) with antialiasing, the kernel is stretched by ``1 / s``
  (``h(t) = s * cubic(s * t)``, width ``4 / s``);
- weights are normalised to sum to one per output pixel;
- out-of-range taps use symmetric (half-sample) mirroring, ``aux = [1..n, n..1]``;
- taps whose weight is zero for every output are dropped (only saves work);
- rows are resized first, then columns (MATLAB resizes the smaller scale first and
  keeps rows first on ties);
- with uint8 input, MATLAB's mex rounds (half away from zero) and saturates to uint8
  after *each* pass; :func:`bicubic_down_uint8` reproduces that.

The weights for one axis are a small ``(out, taps)`` table computed once in float64 with
NumPy (cached) and applied with one ``index_select`` + multiply-add per tap, so the cost
is ``O(out * taps)`` per line, vectorised over batch, channels and the other axis.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache

import numpy as np
import torch

__all__ = [
    "imresize",
    "modcrop",
    "bicubic_down_uint8",
    "hr_lr_pair",
    "match_report",
    "match_dataset",
    "contributions",
]


def _cubic(t: np.ndarray) -> np.ndarray:
    """MATLAB's cubic convolution kernel (Keys, a = -0.5), support [-2, 2]."""
    a = np.abs(t)
    a2 = a * a
    a3 = a2 * a
    return (1.5 * a3 - 2.5 * a2 + 1.0) * (a <= 1) + (-0.5 * a3 + 2.5 * a2 - 4.0 * a + 2.0) * (
        (a > 1) & (a <= 2)
    )


@lru_cache(maxsize=256)
def contributions(
    in_length: int, out_length: int, scale: float, antialias: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """Weights and 0-based input indices of MATLAB's ``contributions`` for one axis.

    Args:
        in_length: input length along the axis (pixels, >= 1).
        out_length: output length along the axis (pixels, >= 1).
        scale: output/input scale factor used in the coordinate mapping (> 0).
        antialias: stretch the kernel by ``1 / scale`` when ``scale < 1``.

    Returns:
        ``(weights, indices)``, both of shape ``(out_length, taps)``: float64 weights whose
        rows sum to one, and int64 indices into ``[0, in_length)`` after symmetric
        mirroring. Arrays are cached: treat them as read-only.
    """
    kernel_width = 4.0
    if scale < 1 and antialias:
        # Stretching the kernel makes it a low-pass filter at the output's Nyquist rate.
        def kernel(t: np.ndarray) -> np.ndarray:
            return scale * _cubic(scale * t)

        kernel_width = kernel_width / scale
    else:
        kernel = _cubic
    # MATLAB's formulas, 1-based output coordinates, evaluated in float64 as MATLAB does.
    x = np.arange(1, out_length + 1, dtype=np.float64)
    u = x / scale + 0.5 * (1.0 - 1.0 / scale)
    left = np.floor(u - kernel_width / 2.0)
    taps = int(math.ceil(kernel_width)) + 2
    ind = left[:, None] + np.arange(taps, dtype=np.float64)[None, :]
    weights = kernel(u[:, None] - ind)
    weights = weights / weights.sum(axis=1, keepdims=True)
    # Symmetric padding: the index sequence 1..n, n..1 repeated (MATLAB's `aux`).
    aux = np.concatenate([np.arange(in_length), np.arange(in_length)[::-1]])
    indices = aux[np.mod(ind.astype(np.int64) - 1, 2 * in_length)]
    keep = np.any(weights != 0, axis=0)
    weights = np.ascontiguousarray(weights[:, keep])
    indices = np.ascontiguousarray(indices[:, keep])
    weights.setflags(write=False)
    indices.setflags(write=False)
    return weights, indices


def _resize_axis(
    x: torch.Tensor,
    dim: int,
    out_length: int,
    scale: float,
    antialias: bool,
    round_uint8: bool,
    acc_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """Resize ``x`` along ``dim`` with MATLAB's weights (one pass of the separable resize).

    ``acc_dtype`` (default ``x.dtype``) is the dtype of the weights and the result; a
    float32 ``x`` holding integer levels can then be accumulated exactly in float64
    without first copying the whole image to float64.
    """
    acc_dtype = x.dtype if acc_dtype is None else acc_dtype
    if dim == x.ndim - 1:
        # Gathering whole rows (contiguous runs) is ~5x faster than gathering single
        # elements along the last axis, so resize columns as rows of the transpose.
        xt = x.transpose(-1, -2).contiguous()
        out = _resize_axis(xt, dim - 1, out_length, scale, antialias, round_uint8, acc_dtype)
        return out.transpose(-1, -2).contiguous()
    w_np, idx_np = contributions(x.shape[dim], out_length, float(scale), antialias)
    # torch.tensor copies: the cached NumPy tables are read-only and must stay intact.
    weights = torch.tensor(w_np, dtype=acc_dtype, device=x.device)
    index = torch.tensor(idx_np, dtype=torch.long, device=x.device)
    view = [1] * x.ndim
    view[dim] = out_length
    shape = list(x.shape)
    shape[dim] = out_length
    out = torch.zeros(shape, dtype=acc_dtype, device=x.device)
    buf = torch.empty(shape, dtype=x.dtype, device=x.device)
    # One gather + multiply-add per tap (taps <= 4 / scale + 2): vectorised over every
    # line, and memory stays at two output-sized buffers instead of out x taps.
    for p in range(weights.shape[1]):
        torch.index_select(x, dim, index[:, p], out=buf)
        out.addcmul_(buf, weights[:, p].reshape(view))
    if round_uint8:
        # MATLAB's mex writes uint8 output: round half away from zero, then saturate.
        out = out.add_(0.5).floor_().clamp_(0, 255)
    return out


def _output_size(in_size: tuple[int, int], scale: float) -> tuple[int, int]:
    # MATLAB: ceil(scale * size). Rounding to 1e-9 first guards against float noise
    # such as 255 * (1/3) = 84.99999999999999 (MATLAB's double gives 85 there too).
    return tuple(max(1, math.ceil(round(n * scale, 9))) for n in in_size)  # type: ignore[return-value]


def _check_image(x: torch.Tensor, name: str = "x") -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{name} must have shape (N, C, H, W), got {tuple(x.shape)}")
    if x.shape[-1] < 1 or x.shape[-2] < 1:
        raise ValueError(f"{name} must have H, W >= 1, got {tuple(x.shape)}")


def _resize(
    x: torch.Tensor,
    scale: float | None,
    size: tuple[int, int] | None,
    antialias: bool,
    round_uint8: bool,
    acc_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    _check_image(x)
    if (scale is None) == (size is None):
        raise ValueError("give exactly one of scale (a positive float) or size=(H, W)")
    in_h, in_w = x.shape[-2:]
    if scale is not None:
        if (
            isinstance(scale, bool)
            or not isinstance(scale, (int, float))
            or not math.isfinite(scale)
            or scale <= 0
        ):
            raise ValueError(f"scale must be a positive finite number, got {scale!r}")
        out_h, out_w = _output_size((in_h, in_w), float(scale))
        scale_h = scale_w = float(scale)
    else:
        if (
            not isinstance(size, (tuple, list))
            or len(size) != 2
            or not all(isinstance(s, int) and s >= 1 for s in size)
        ):
            raise ValueError(f"size must be (H, W) with positive ints, got {size!r}")
        out_h, out_w = int(size[0]), int(size[1])
        scale_h, scale_w = out_h / in_h, out_w / in_w
    # MATLAB resizes the axis with the smaller scale first (rows on ties); the order
    # matters only through rounding (uint8) and float error, but we keep it.
    passes = [(2, out_h, scale_h), (3, out_w, scale_w)]
    if scale_w < scale_h:
        passes.reverse()
    for dim, length, s in passes:
        if length == x.shape[dim] and s == 1.0:
            continue  # identity pass: MATLAB's weights are a delta here
        x = _resize_axis(x, dim, length, s, antialias, round_uint8, acc_dtype)
    return x


def imresize(
    x: torch.Tensor,
    scale: float | None = None,
    size: tuple[int, int] | None = None,
    antialias: bool = True,
) -> torch.Tensor:
    """MATLAB-compatible bicubic resize of a batch of images (``imresize(x, s, 'bicubic')``).

    Args:
        x: float tensor (N, C, H, W), any range (images: [0, 1]), any device. Computed in
            ``x.dtype`` (use float64 for bit-level MATLAB agreement).
        scale: output/input factor (> 0); output size is ``ceil(scale * (H, W))``.
        size: output (H_out, W_out) instead of ``scale``; each axis then uses its own
            factor ``H_out / H``, ``W_out / W`` like MATLAB.
        antialias: widen the kernel by ``1 / scale`` when shrinking (MATLAB's default).

    Returns:
        Float tensor (N, C, H_out, W_out) on ``x``'s device, same dtype. Not clamped:
        bicubic overshoots slightly outside the input range, as in MATLAB for doubles.
    """
    _check_image(x)
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating tensor, got {x.dtype}; divide uint8 by 255")
    return _resize(x, scale, size, antialias, round_uint8=False)


def modcrop(x: torch.Tensor, scale: int) -> torch.Tensor:
    """Crop the bottom/right of (..., H, W) so that H and W are multiples of ``scale``.

    This is the SR convention for HR images (MATLAB ``modcrop``: keep the top-left part).
    """
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive int, got {scale!r}")
    h, w = x.shape[-2:]
    if h < scale or w < scale:
        raise ValueError(f"image {h}x{w} is smaller than scale {scale}")
    return x[..., : h - h % scale, : w - w % scale]


def bicubic_down_uint8(hr: torch.Tensor, scale: int) -> torch.Tensor:
    """Make LR exactly as SR benchmarks do: modcrop, MATLAB bicubic 1/scale on uint8.

    The HR image is first quantised to uint8 levels, cropped to a multiple of ``scale``,
    then resized rows-then-columns in float64 with MATLAB's uint8 rounding after each
    pass (round half away from zero, saturate to [0, 255]).

    Args:
        hr: (N, C, H, W) float in [0, 1] (uint8 tensors on 0..255 are accepted too).
        scale: integer downscaling factor (>= 1), e.g. 2, 3, 4.

    Returns:
        (N, C, H // scale, W // scale) float tensor in [0, 1] on multiples of 1/255, on
        ``hr``'s device, dtype float32 (or ``hr.dtype`` when that is floating).
    """
    _check_image(hr, "hr")
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive int (2, 3, 4, ...), got {scale!r}")
    out_dtype = hr.dtype if hr.is_floating_point() else torch.float32
    work = torch.float32 if hr.device.type == "mps" else torch.float64  # no float64 on MPS
    # Integer levels are exact in float32, so the full-size image stays in its own
    # precision and only the (smaller) accumulators are float64.
    hr = modcrop(hr, scale)
    if hr.is_floating_point():
        levels = (hr.clamp(0, 1) * 255.0).add_(0.5).floor_()
    else:
        levels = hr.to(torch.float32)
    lr = _resize(levels, 1.0 / scale, None, antialias=True, round_uint8=True, acc_dtype=work)
    return (lr / 255.0).to(out_dtype)


def hr_lr_pair(hr: torch.Tensor, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The SR convention's training/test pair of an HR image: ``(modcrop(hr), LR)``.

    The one place the book makes LR from HR: HR (N, C, H, W) in [0, 1] cropped to a
    multiple of ``scale`` (top-left kept), and its MATLAB-bicubic LR rounded to 8 bit
    (:func:`bicubic_down_uint8`), (N, C, H // scale, W // scale) in [0, 1].
    """
    hr = modcrop(hr, scale)
    return hr, bicubic_down_uint8(hr, scale)


def match_report(ours: torch.Tensor, ref: torch.Tensor) -> dict[str, float | int]:
    """Compare two images on the 0..255 grid (both rounded to uint8 levels).

    Args:
        ours, ref: tensors of the same shape, float in [0, 1].

    Returns:
        ``{"share_equal": fraction of values equal after rounding (0..1),
        "max_diff_levels": largest absolute difference in grey levels (int),
        "n_values": number of values compared}``.
    """
    if ours.shape != ref.shape:
        raise ValueError(f"shapes differ: ours {tuple(ours.shape)} vs ref {tuple(ref.shape)}")
    a = torch.floor(ours.detach().double().clamp(0, 1) * 255.0 + 0.5)
    b = torch.floor(ref.detach().double().to(a.device).clamp(0, 1) * 255.0 + 0.5)
    diff = (a - b).abs()
    return {
        "share_equal": float((diff == 0).double().mean()),
        "max_diff_levels": int(diff.max()) if diff.numel() else 0,
        "n_values": int(diff.numel()),
    }


def match_dataset(
    pairs: Iterable[tuple[torch.Tensor, torch.Tensor]], scale: int
) -> dict[str, float | int]:
    """Pool :func:`match_report` over a dataset: our LR from each HR vs the reference LR.

    Args:
        pairs: ``(hr, lr_ref)`` tensors (1, C, H, W) in [0, 1]; ``lr_ref`` made by MATLAB.
        scale: the integer factor ``lr_ref`` was made with.

    Returns:
        ``{"share_equal", "max_diff_levels", "n_values", "n_images"}`` pooled over all
        pixels of all images (share weighted by image size).
    """
    equal = total = worst = count = 0
    for hr, ref in pairs:
        ours = bicubic_down_uint8(hr, scale)
        rep = match_report(ours, ref.to(ours.device))
        equal += round(rep["share_equal"] * rep["n_values"])
        total += rep["n_values"]
        worst = max(worst, rep["max_diff_levels"])
        count += 1
    if count == 0:
        raise ValueError("match_dataset got no (hr, lr) pairs")
    return {
        "share_equal": equal / total,
        "max_diff_levels": worst,
        "n_values": total,
        "n_images": count,
    }
