"""Local attribution maps (LAM, Gu & Dong, CVPR 2021) and integrated gradients for SR nets.

LAM asks which LR pixels make the SR output show an edge or texture inside a small output
window. It integrates input gradients of a *detector* ``D`` along a path ``gamma(alpha)``
from a baseline ``I'`` (``alpha = 0``) to the LR image ``I`` (``alpha = 1``), Eq. (1):

    LAM_i = integral_0^1 dD(F(gamma(alpha)))/dgamma_i * dgamma_i/dalpha dalpha,

whose pixels sum to ``D(F(I)) - D(F(I'))`` (completeness). Conventions here:

- Images are float tensors, NCHW RGB in [0, 1]. The LR image is (1, 3, h, w); the map
  lives on the LR grid (LR pixels); windows are given in SR pixels.
- ``window = (x, y, size)``: top-left column ``x`` and row ``y`` of a ``size x size``
  square of the SR output, as in the LAM reference code.
- Gradient detector (Sec. 3.3): ``D = sum over channels and the window of
  |grad SR|``, with forward differences ``|grad|_ij = sqrt((o_ij - o_i+1,j)^2 +
  (o_ij - o_i,j+1)^2)`` as the reference code computes it. To be differentiable at zero
  we use ``sqrt(g^2 + eps^2) - eps`` with ``eps = 1e-6`` (output units, [0, 1] scale):
  this is below the rounding noise of a float32 network output (~1e-7 per value times a
  few), so it changes each term by less than ``eps`` and D by < ``3 size^2 eps`` (8e-4
  for a 16-px window), while its derivative ``g / sqrt(g^2 + eps^2)`` stays in (-1, 1)
  where the plain square root gives ``0 * inf = NaN``. No NaN is ever patched.
- The paths (blur, straight lines), their kernels and the integration rules are in
  :mod:`.path`; the precision modes (``"exact"``, ``"bf16"``, ``"fast"``) and how the
  network is prepared (frozen, channels-last, batched) in :mod:`.precision`.

Crop: with ``crop="auto"`` and a finite ``model.receptive_field`` the LR image is cropped
to the window's receptive field plus a margin; the window's output, and hence the map, is
the same as on the whole image (pixels outside get exactly zero), at a fraction of the
cost. The crop takes ``ceil(receptive_field / 2) + 2`` LR px on each side of the window's
LR footprint (the field of "same"-padded convs, pixel shuffles and centred transposed
convs is centred on the pixel up to sub-pixel phase), aligns to ``pad_multiple`` so a
padding wrapper pads the crop as it pads the image, and checks itself for free: the
crop's inner edges lie outside the field, so their gradient must be exactly 0, else a
warning says the declared field is too small. A model converted with ``.double()`` runs
in float64: a slow ground truth for checking float32 maps. Only the attribution sum and a
few scalars per step are kept.

Public API: :func:`lam`, :func:`lam_maps`, :func:`center_window`,
:func:`gradient_detector`, :func:`path_settings`.

May import: :mod:`.path`, :mod:`.precision`, :mod:`.result` (and the base modules).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Mapping
from contextlib import nullcontext
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from ..runtime import resolve_device
from .path import (
    DEFAULT_KERNEL_SIZE,
    DEFAULT_SIGMA,
    FAST_PRUNE_TOL,
    PATHS,
    RULES,
    PathName,
    RuleName,
    _check_kernel_size,
    _is_int,
    _Path,
    _per_point,
    _prune,
    _quadrature,
)
from .precision import (
    MODES,
    ModeName,
    _float32_islands,
    _output_layers,
    _prepared,
    _resolve_precision,
    default_batch,
    saved_bytes,
)
from .result import LAMResult, Window

#: Smoothing of the gradient magnitude at zero, in output intensity units ([0, 1]).
DETECTOR_EPS = 1e-6
#: LAM demo defaults (the kernel's are in :mod:`.path`).
DEFAULT_STEPS = 50
#: ``mode="fast"``'s rule and node count: the fewest ``"arclength"`` nodes whose map is
#: closer to the converged path integral than the paper's right sum at 50 steps, on
#: every network of ``benchmarks/lam_rules.json`` (its ``fast_nodes``; a test keeps the
#: two equal, so rerun ``scripts/bench_lam_rules.py`` before changing it).
FAST_RULE: RuleName = "arclength"
FAST_STEPS = 20
DEFAULT_WINDOW_SIZE = 16
#: Extra LR pixels around the receptive field when cropping (sub-pixel phase asymmetry).
CROP_MARGIN = 2


# ----------------------------------------------------------------------- the detector


def gradient_detector(sr: torch.Tensor, window: Window, eps: float = DETECTOR_EPS) -> torch.Tensor:
    """LAM's gradient detector on a batch of SR outputs.

    Args:
        sr: (B, 3, H, W) SR output, [0, 1] scale (computed in float32, or float64 for a
            float64 output, whatever the network's dtype).
        window: ``(x, y, size)`` in SR px: top-left column, row, side. Needs
            ``x + size <= W - 1`` and ``y + size <= H - 1`` (forward differences read one
            pixel past the window).
        eps: smoothing at zero (output units); see the module docstring.

    Returns:
        (B,): ``sum_{c, i, j in window} sqrt(dy^2 + dx^2 + eps^2) - eps``.
    """
    x, y, size = window
    t = sr[:, :, y : y + size + 1, x : x + size + 1]
    if t.dtype != torch.float64:
        t = t.float()
    dy = t[:, :, :-1, :-1] - t[:, :, 1:, :-1]
    dx = t[:, :, :-1, :-1] - t[:, :, :-1, 1:]
    mag = torch.sqrt(dy * dy + dx * dx + eps * eps) - eps
    return mag.sum(dim=(1, 2, 3))


# ------------------------------------------------------------------------ validation


def _check_window(window: Any, sr_hw: tuple[int, int]) -> Window:
    H, W = sr_hw
    if (
        not isinstance(window, tuple | list)
        or len(window) != 3
        or not all(_is_int(v) for v in window)
    ):
        raise ValueError(f"window must be (x, y, size) ints in SR pixels, got {window!r}")
    x, y, size = (int(v) for v in window)
    largest = min(H, W) - 1
    if not 1 <= size <= largest:
        raise ValueError(
            f"window size must be in [1, {largest}] for a {H}x{W} SR output (the detector "
            f"reads one pixel past the window), got {size}"
        )
    if not (0 <= x <= W - 1 - size and 0 <= y <= H - 1 - size):
        raise ValueError(
            f"window (x={x}, y={y}, size={size}) is outside the {H}x{W} SR output: need "
            f"0 <= x <= {W - 1 - size} and 0 <= y <= {H - 1 - size}"
        )
    return x, y, size


def _check_image(image: Any) -> torch.Tensor:
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"image must be a torch.Tensor, got {type(image).__name__}")
    if image.ndim == 3:
        image = image[None]
    if image.ndim != 4 or image.shape[0] != 1 or image.shape[1] != 3:
        raise ValueError(
            f"image must be one RGB LR image of shape (1, 3, h, w) or (3, h, w), "
            f"got {tuple(image.shape)}"
        )
    if not image.is_floating_point():
        raise TypeError(f"image must be a float tensor in [0, 1], got {image.dtype}")
    if not bool(torch.isfinite(image).all()):
        raise ValueError("image must be finite (values in [0, 1]); it holds NaN or inf")
    return image


def _check_output(out: Any, n: int, hw: tuple[int, int], scale: int) -> None:
    expect = (n, 3, scale * hw[0], scale * hw[1])
    if not isinstance(out, torch.Tensor) or tuple(out.shape) != expect:
        got = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
        raise ValueError(
            f"model output must be scale x input: for input {(n, 3, *hw)} and scale={scale} "
            f"expected {expect}, got {got}. Pass the model's true scale (valid: the integer "
            "s with output = s x input) or a model mapping (N, 3, h, w) -> (N, 3, s*h, s*w)"
        )


# ----------------------------------------------------------------------------- crop


def _crop_axis(
    n: int, a: int, size: int, scale: int, half: int, multiple: int, min_size: int
) -> tuple[int, int]:
    """LR interval [start, end) that holds every LR pixel the SR rows/cols [a, a + size]
    depend on, aligned so that a padding wrapper pads the crop as it pads the image."""
    lo, hi = a // scale, (a + size) // scale
    start, end = max(0, lo - half), min(n, hi + half + 1)
    start -= start % multiple  # padding (bottom/right) then matches the full image's
    if end < n:
        length = max(end - start, min_size)
        end = min(n, start + -(-length // multiple) * multiple)
    return start, end


def _crop_box(
    model: nn.Module, hw: tuple[int, int], window: Window, scale: int
) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) LR crop for a finite receptive field, else ``None``."""
    rf = getattr(model, "receptive_field", None)
    if rf is None or not _is_int(rf) or rf < 1:
        return None
    multiple = int(getattr(model, "pad_multiple", 1) or 1)
    min_size = int(getattr(model, "min_size", 1) or 1)
    half = -(-int(rf) // 2) + CROP_MARGIN
    x, y, size = window
    top, bottom = _crop_axis(hw[0], y, size, scale, half, multiple, min_size)
    left, right = _crop_axis(hw[1], x, size, scale, half, multiple, min_size)
    if (top, left, bottom, right) == (0, 0, hw[0], hw[1]):
        return None
    return top, left, bottom, right


# ------------------------------------------------------------------------------ lam


def _name(model: nn.Module) -> str:
    """A model's name for messages: its ``name`` attribute, else its class name."""
    return getattr(model, "name", None) or type(model).__name__


def _infer_scale(model: nn.Module, image: torch.Tensor) -> int:
    with torch.no_grad():
        out = model(image)
    if not isinstance(out, torch.Tensor) or out.ndim != 4:
        raise ValueError("model must return an SR tensor (N, 3, s*h, s*w); pass scale=")
    h, w = image.shape[-2:]
    sh, sw = out.shape[-2:]
    if sh % h or sw % w or sh // h != sw // w or sh // h < 1:
        raise ValueError(
            f"model output must be scale x input: input {h}x{w} gave {sh}x{sw}, which is no "
            "integer scale s >= 1 (pass scale=, or fix the model)"
        )
    return sh // h


def lam(
    model: nn.Module,
    image: torch.Tensor,
    window: Window,
    sigma: float = DEFAULT_SIGMA,
    steps: int | None = None,
    batch: int | None = None,
    path: PathName = "blur",
    rule: RuleName | None = None,
    mode: ModeName = "exact",
    crop: Literal["auto", "none"] = "auto",
    device: str | torch.device | None = None,
    kernel_size: int = DEFAULT_KERNEL_SIZE,
    scale: int | None = None,
    progress: bool = False,
) -> LAMResult:
    """Local attribution map of ``model`` for the SR window ``window`` of ``image``.

    Args:
        model: maps LR (N, 3, h, w) in [0, 1] to SR (N, 3, s*h, s*w); raw or an
            :class:`helpers.models.SRModel`. Its ``scale``, ``receptive_field`` (LR px,
            full width, ``None`` = global) and ``pad_multiple`` are read when present.
            It is moved to ``device``; mode and ``requires_grad`` are restored after.
        image: LR image (1, 3, h, w) or (3, h, w), float in [0, 1].
        window: ``(x, y, size)`` SR pixels: top-left column, row and side of the window
            the detector watches; ``0 <= x <= s*w - 1 - size`` (same for y).
        sigma: baseline blur width (LR px), > 0 (paths ``"blur"``, ``"linear_blur"``).
        steps: gradient evaluations m >= 1 (>= 2 for ``"trapezoid"``, ``"arclength"``);
            default :data:`DEFAULT_STEPS` (the paper's 50), :data:`FAST_STEPS` in
            ``"fast"`` mode.
        batch: path points per forward/backward (default :func:`default_batch`); the
            result does not depend on it beyond float rounding.
        path: ``"blur"`` (LAM), ``"linear"`` (black baseline: integrated gradients) or
            ``"linear_blur"`` (straight line from the blurred baseline).
        rule: ``"right"`` (the paper's Riemann sum, the default), ``"trapezoid"``,
            ``"gauss_legendre"``, ``"arclength"`` (trapezoid on nodes of equal path
            length; the default in ``"fast"`` mode); see :mod:`helpers.attribution.path`.
        mode: ``"exact"`` (float32), ``"bf16"`` (bf16 body, float32 output layers
            and detector, on any hardware; warns where bf16 is emulated), ``"fast"``
            (float32, fewer and better-placed nodes: ``rule`` and ``steps`` default to
            :data:`FAST_RULE` at :data:`FAST_STEPS`; negligible nodes pruned); see
            :mod:`helpers.attribution.precision`. Explicit ``rule``/``steps`` win.
        crop: ``"auto"`` crops the LR image to the window's receptive field (+ margin)
            when ``model.receptive_field`` is finite (same map, less compute);
            ``"none"`` always runs the whole image.
        device: where to run (default: CUDA when available, else CPU).
        kernel_size: odd side of the blur kernel (LR px).
        scale: SR factor (default ``model.scale``, else measured by one forward).
        progress: show a tqdm bar over the path nodes.

    Returns:
        A :class:`LAMResult` (map on the LR grid, detector values, completeness, curves).

    Raises:
        ValueError: a bad window, sigma, steps, batch, kernel size or option, or a model
            whose output is not ``scale x`` its input; the message names the valid range.
        FloatingPointError: the model's output or input gradient is NaN or inf on the
            path (a NaN map is never returned); the message names the model and window.

    A flat window (nothing to attribute) is not an error: its map is (near) zero and
    :attr:`LAMResult.degenerate` is True, which chapters use to leave it out of DI
    statistics.
    """
    t0 = time.perf_counter()
    if path not in PATHS:
        raise ValueError(f"path must be one of {PATHS}, got {path!r}")
    rule, steps = path_settings(mode, rule, steps)
    if crop not in ("auto", "none"):
        raise ValueError(f"crop must be 'auto' or 'none', got {crop!r}")
    if (
        isinstance(sigma, bool)
        or not isinstance(sigma, int | float)
        or not (math.isfinite(sigma) and sigma > 0)
    ):
        raise ValueError(f"sigma must be a finite number > 0 (LR px), got {sigma!r}")
    if batch is not None and (not _is_int(batch) or batch < 1):
        raise ValueError(f"batch must be an int >= 1 (or None for the default), got {batch!r}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    image = _check_image(image)
    h, w = image.shape[-2:]
    _check_kernel_size(kernel_size, (h, w))
    dev = resolve_device(device)
    # The model's parameter dtype sets the arithmetic: float32 normally, float64 for a
    # model converted with .double() (a slow ground truth for checking float32 results).
    dtype = next((p.dtype for p in model.parameters() if p.is_floating_point()), torch.float32)
    dtype = torch.float64 if dtype == torch.float64 else torch.float32
    if dtype == torch.float64 and mode != "exact":
        raise ValueError(f"mode must be 'exact' for a float64 model, got {mode!r}")
    image = image.detach().to(dev, dtype)

    with _prepared(model, dev):
        if scale is None:
            scale = getattr(model, "scale", None)
        if scale is None:
            scale = _infer_scale(model, image)
        if not _is_int(scale) or scale < 1:
            raise ValueError(f"scale must be an int >= 1 (SR factor), got {scale!r}")
        scale = int(scale)
        window = _check_window(window, (scale * h, scale * w))
        box = _crop_box(model, (h, w), window, scale) if crop == "auto" else None
        top, left, bottom, right = box if box is not None else (0, 0, h, w)
        x, y, size = window
        local_window = (x - scale * left, y - scale * top, size)

        r = kernel_size // 2
        padded = F.pad(image, (r, r, r, r), mode="reflect") if r else image
        region = _Path(
            path, padded[:, :, top : bottom + 2 * r, left : right + 2 * r], sigma, kernel_size
        )
        quad = _quadrature(rule, steps, region)
        precision = _resolve_precision(mode, dev)
        hw_crop = (bottom - top, right - left)

        islands: list[nn.Module] = []
        if precision == "bf16":
            islands = _output_layers(model, region.image)
        # Arclength nodes each carry an equal share of the path, so there is nothing to
        # prune; only uniform rules in fast mode pay for the pruning pass.
        keep = (
            _prune(quad, region, FAST_PRUNE_TOL, 16)
            if mode == "fast" and rule != "arclength"
            else torch.arange(quad.nodes.numel())
        )
        autocast = (
            (lambda: torch.autocast(dev.type, dtype=torch.bfloat16))
            if precision == "bf16"
            else nullcontext
        )

        def detect(xb: torch.Tensor) -> torch.Tensor:
            with autocast():
                out = model(xb)
            _check_output(out, xb.shape[0], hw_crop, scale)
            return gradient_detector(out, local_window)

        with _float32_islands(islands, dev.type), torch.enable_grad():
            n = keep.numel()
            attr = torch.zeros(region.image.shape[1:], dtype=torch.float64, device=dev)
            d_nodes = torch.empty(n, dtype=torch.float64, device=dev)
            step_totals = torch.empty(n, dtype=torch.float64, device=dev)
            bar = tqdm(total=n, desc="LAM", unit="node", leave=False, disable=not progress)
            s0 = 0
            while s0 < n:
                # With no batch given, the first node runs alone and the bytes autograd
                # keeps for its backward set the batch of the rest (default_batch).
                pos = slice(s0, min(s0 + (batch or 1), n))
                idx = keep[pos]
                xb = region.points(quad.nodes[idx]).requires_grad_(True)
                if batch is None:
                    with saved_bytes() as saved:
                        d = detect(xb)
                    batch = default_batch(dev, saved.total)
                else:
                    d = detect(xb)
                (g,) = torch.autograd.grad(d.sum(), xb)
                contrib = (g * quad.weights(region, idx)).double()
                attr += contrib.sum(dim=0)
                step_totals[pos] = contrib.sum(dim=(1, 2, 3))
                d_nodes[pos] = d.detach().double()
                bar.update(idx.numel())
                s0 = pos.stop
            bar.close()
            # Endpoints D(F(I')) and D(F(I)): taken from the nodes at 0 and 1 when the
            # rule evaluates them (trapezoid, arclength; right has 1), else one forward.
            nodes = quad.nodes[keep]
            ends = torch.tensor([0.0, 1.0], dtype=torch.float64)
            have = (float(nodes[0]) == 0.0, float(nodes[-1]) == 1.0)
            d_ends = d_nodes[[0, -1]].cpu()
            need = [j for j in (0, 1) if not have[j]]
            if need:
                with torch.no_grad():
                    d_ends[need] = detect(region.points(ends[need])).double().cpu()
        batch = int(batch)
    if not bool(torch.isfinite(d_ends).all()):
        raise FloatingPointError(
            f"LAM of model {_name(model)!r}: its output on the LR image or the blurred "
            f"baseline holds NaN or inf (detector values {d_ends.tolist()} in window "
            f"{window}); the network is broken for this input, fix it before attributing"
        )

    # One check after the loop (not per batch, which would sync the device every step).
    if not bool(torch.isfinite(attr).all() and torch.isfinite(d_nodes).all()):
        raise FloatingPointError(
            f"LAM of model {_name(model)!r}: NaN or inf along the path in window {window} (its "
            "output or its input gradient is not finite at some path point, e.g. a sqrt or "
            "division at 0 in the network); the map would be NaN, so none is returned"
        )
    # Curves on alpha in {0} U evaluated nodes U {1}, each end once (indexed, not sliced,
    # so the cached tensors hold no more than their values).
    cum_nodes = torch.cumsum(step_totals.cpu(), 0)
    curve = torch.arange(int(have[0]), nodes.numel() + 2 - int(have[1]))
    alphas = torch.cat([ends[:1], nodes, ends[1:]])[curve]
    d_path = torch.cat([d_ends[:1], d_nodes.cpu(), d_ends[1:]])[curve]
    cumulative = torch.cat([torch.zeros(1, dtype=torch.float64), cum_nodes, cum_nodes[-1:]])
    # Fig. 3g's path speed, mean |dgamma/dalpha| over the whole LR image (whatever the crop)
    full_path = _Path(path, padded, sigma, kernel_size)
    speed = _per_point(
        lambda s0, s1: full_path.tangents(alphas[s0:s1]), alphas.numel(), max(batch, 8), torch.mean
    )

    full = torch.zeros(3, h, w, dtype=dtype)
    full[:, top:bottom, left:right] = attr.to(dtype).cpu()
    if box is not None:
        _check_crop_border(full, box, (h, w), getattr(model, "receptive_field", None))
    d_in, d_base = float(d_ends[1]), float(d_ends[0])
    total, target = float(attr.sum()), d_in - d_base
    if target != 0:
        err = abs(total - target) / abs(target)
    else:
        err = 0.0 if total == 0 else math.inf
    return LAMResult(
        attribution=full,
        map=full.sum(dim=0),
        d_input=d_in,
        d_baseline=d_base,
        completeness_error=err,
        alphas=alphas,
        d_path=d_path,
        path_speed=speed,
        cumulative=cumulative[curve],
        window=window,
        scale=scale,
        path=path,
        rule=rule,
        steps=steps,
        sigma=float(sigma),
        kernel_size=kernel_size,
        mode=mode,
        batch=batch,
        crop_box=box,
        seconds=time.perf_counter() - t0,
        device=str(dev),
        precision=precision,
        pruned=quad.nodes.numel() - keep.numel(),
    )


def path_settings(mode: str, rule: str | None, steps: int | None) -> tuple[str, int]:
    """The ``(rule, steps)`` :func:`lam` uses for ``mode`` (``None`` = that mode's
    default: the paper's right sum at 50 steps, or :data:`FAST_RULE` at
    :data:`FAST_STEPS` for ``"fast"``), validated.

    Raises:
        ValueError: an unknown mode or rule, or too few steps for the rule.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if rule is None:
        rule = FAST_RULE if mode == "fast" else "right"
    if rule not in RULES:
        raise ValueError(f"rule must be one of {RULES}, got {rule!r}")
    if steps is None:
        steps = FAST_STEPS if mode == "fast" else DEFAULT_STEPS
    min_steps = 2 if rule in ("trapezoid", "arclength") else 1
    if not _is_int(steps) or steps < min_steps:
        raise ValueError(f"steps must be an int >= {min_steps} for rule {rule!r}, got {steps!r}")
    return rule, int(steps)


def _check_crop_border(
    attribution: torch.Tensor, box: tuple[int, int, int, int], hw: tuple[int, int], rf: Any
) -> None:
    """Free self-check of the declared receptive field: pixels on a crop edge inside the
    image lie ``CROP_MARGIN`` px beyond the field, so their gradient is exactly 0 when
    the field is right. A non-zero value means the model reaches further than it says."""
    top, left, bottom, right = box
    a = attribution.abs().sum(dim=0)
    edges = (
        (top > 0, a[top, left:right]),
        (bottom < hw[0], a[bottom - 1, left:right]),
        (left > 0, a[top:bottom, left]),
        (right < hw[1], a[top:bottom, right - 1]),
    )
    if any(inside and bool((e != 0).any()) for inside, e in edges):
        warnings.warn(
            f"the attribution reaches the edge of the receptive-field crop {box}: the model "
            f"depends on pixels further away than its receptive_field={rf} says, so this "
            "map may differ from the whole-image one; fix receptive_field or use crop='none'",
            RuntimeWarning,
            stacklevel=3,
        )


def lam_maps(
    models: Mapping[str, nn.Module], image: torch.Tensor, window: Window, **kwargs: Any
) -> dict[str, LAMResult]:
    """:func:`lam` for several models on the same image and window (Fig. 1 and 5).

    Args:
        models: name -> model.
        image, window, **kwargs: as for :func:`lam`.

    Returns:
        name -> :class:`LAMResult`, in the order of ``models``.
    """
    return {name: lam(m, image, window, **kwargs) for name, m in tqdm(models.items(), "LAM")}


def center_window(image: torch.Tensor, scale: int, size: int = DEFAULT_WINDOW_SIZE) -> Window:
    """The ``size x size`` SR window at the centre of ``image`` (1, 3, h, w) upscaled by
    ``scale`` (the paper analyses the central 16x16 patch): ``(x, y, size)``."""
    h, w = image.shape[-2:]
    return ((scale * w - size) // 2, (scale * h - size) // 2, size)
