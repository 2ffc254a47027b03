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
- Progressive blur path (Eq. 2): ``gamma(alpha) = k(sigma (1 - alpha)) * I`` from the
  blurred baseline ``I' = k(sigma) * I``, with the reference code's kernel: a
  ``kernel_size`` square, ``exp(-r^2 / (2 (s + 1e-5)^2))`` normalised to sum 1 (so
  ``s = 0`` is the identity), applied with reflect-101 borders (OpenCV's default, which
  the reference's ``cv2.filter2D`` uses). Defaults ``sigma=1.2, kernel_size=9,
  steps=50, window size 16`` are those of the LAM demo.
- Rules (Eq. 3 and higher order), all with ``steps`` = number of gradient evaluations:
  ``"right"``: nodes ``alpha_k = k/m`` and weights ``gamma(alpha_k) - gamma(alpha_k-1)``
  (what the reference code computes; the paper's Eq. 3 writes the same sum with the
  difference in the other order); ``"trapezoid"``: nodes ``j/(m-1)``, weights
  ``(gamma(alpha_j+1) - gamma(alpha_j-1)) / 2``; ``"gauss_legendre"``: Gauss–Legendre
  nodes on [0, 1] with the analytic ``dgamma/dalpha``. On the straight-line path
  ``"right"`` and ``"gauss_legendre"`` are exactly captum's ``riemann_right`` and
  ``gausslegendre``; captum 0.9's ``riemann_trapezoid`` uses steps ``1/m`` with nodes
  ``j/(m-1)`` (weights summing to ``(m-1)/m``), so ours equals it times ``m/(m-1)``.
- Paths: ``"blur"`` (LAM), ``"linear"`` (straight line from a black image: plain
  integrated gradients), ``"linear_blur"`` (straight line from the blurred baseline).

Engineering (why it is fast and exact): parameters are frozen for the call (no weight
gradients), the model runs in eval mode and channels-last, ``batch`` path points go
through one forward and one backward, the path is built in torch on the device (no numpy
in the loop), and only the attribution sum and a few scalars per step are kept. With
``crop="auto"`` and a finite ``model.receptive_field`` the LR image is cropped to the
window's receptive field plus a margin; the window's output, and hence the map, is the
same as on the whole image (pixels outside get exactly zero), at a fraction of the cost.
The crop takes ``ceil(receptive_field / 2) + 2`` LR px on each side of the window's LR
footprint (the field of "same"-padded convs, pixel shuffles and centred transposed convs
is centred on the pixel up to sub-pixel phase), aligns to ``pad_multiple`` so a padding
wrapper pads the crop as it pads the image, and checks itself for free: the crop's inner
edges lie outside the field, so their gradient must be exactly 0, else a warning says
the declared field is too small. A model converted with ``.double()`` runs in float64:
a slow ground truth for checking float32 maps.

Modes (attribution error = relative L2 distance to the exact map; <= 1% by design):

- ``"exact"``: float32 throughout; agrees with the reference loop to float rounding.
- ``"bf16"``: the network *body* in bfloat16 autocast, the *output layers* and the
  detector in float32 (measured error 0.4-0.8% on EDSRs). "Output layers", found
  generically by one traced forward: every module whose output has the SR resolution
  (the largest spatial size any module outputs) and that has parameters of its own or
  no children (EDSR's last pixel shuffle, last conv and mean shift; FSRCNN's transposed
  conv; SRResNet's HR convs). Element-wise ops after them see float32 and stay float32.
  Without this, bfloat16's 8-bit mantissa quantises SR intensities to ~4e-3 and the
  detector's pixel differences to noise (errors up to 20%), so whole-network bf16 is not
  offered.
- ``"fast"``: skips the path nodes whose weights hold < ``FAST_PRUNE_TOL`` (0.1%) of
  the path's total increment (for the blur path the last ~25% of steps, where the
  kernel is already nearly a delta; nothing for straight lines), and uses the bf16 body
  where the device computes bf16 natively (CUDA with bf16; CPUs with AVX512-BF16 or
  AMX). On other devices, e.g. an AVX2-only CPU where oneDNN emulates bf16 10-30x
  *slower* than float32, the body stays float32 (with a warning).

Public API: :func:`lam`, :class:`LAMResult`, :func:`di_summary`, :func:`lam_maps`,
:func:`center_window`, :func:`gradient_detector`, :func:`gaussian_kernel`, :func:`blur`,
:func:`diffusion_index`, :func:`lam_visual`, :func:`area_of_contribution`, :func:`overlay_area`,
:func:`fig3_curves`.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..runtime import resolve_device

#: Smoothing of the gradient magnitude at zero, in output intensity units ([0, 1]).
DETECTOR_EPS = 1e-6
#: The reference code's guard that makes a zero-width Gaussian the identity kernel.
KERNEL_EPS = 1e-5
#: LAM demo defaults.
DEFAULT_SIGMA = 1.2
DEFAULT_KERNEL_SIZE = 9
DEFAULT_STEPS = 50
DEFAULT_WINDOW_SIZE = 16
#: Extra LR pixels around the receptive field when cropping (sub-pixel phase asymmetry).
CROP_MARGIN = 2
#: ``mode="fast"`` skips path nodes whose weights hold at most this share of the L1 mass.
FAST_PRUNE_TOL = 1e-3

PathName = Literal["blur", "linear", "linear_blur"]
RuleName = Literal["right", "trapezoid", "gauss_legendre"]
ModeName = Literal["exact", "fast", "bf16"]
Window = tuple[int, int, int]

_PATHS = ("blur", "linear", "linear_blur")
_RULES = ("right", "trapezoid", "gauss_legendre")
_MODES = ("exact", "fast", "bf16")


# --------------------------------------------------------------------------- the path


def gaussian_kernel(
    size: int, sigma: float | torch.Tensor, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """The LAM reference kernel(s): ``exp(-r^2 / (2 (sigma + 1e-5)^2))`` normalised to 1.

    Args:
        size: odd side length (pixels).
        sigma: width (pixels), >= 0; a scalar or a 1-D tensor of B widths.

    Returns:
        (size, size) for a scalar ``sigma``, else (B, size, size); on CPU in ``dtype``.
    """
    return _kernels(size, torch.as_tensor(sigma, dtype=torch.float64), derivative=False).to(dtype)


def _kernels(size: int, s: torch.Tensor, derivative: bool) -> torch.Tensor:
    """Kernels ``k_s`` or their derivatives ``dk_s/ds`` (float64) for widths ``s``.

    ``k = e / sum(e)`` with ``e = exp(-r^2 / (2 t^2))``, ``t = s + KERNEL_EPS``, so
    ``dk/ds = k (r^2 - sum(k r^2)) / t^3``.
    """
    scalar = s.ndim == 0
    s = s.reshape(-1, 1, 1).to(torch.float64)
    ax = torch.arange(size, dtype=torch.float64) - size // 2
    r2 = ax[:, None] ** 2 + ax[None, :] ** 2
    t = s + KERNEL_EPS
    e = torch.exp(-r2 / (2.0 * t * t))
    k = e / e.sum(dim=(1, 2), keepdim=True)
    if derivative:
        mean_r2 = (k * r2).sum(dim=(1, 2), keepdim=True)
        k = k * (r2 - mean_r2) / t**3
    return k[0] if scalar else k


def _conv_stack(src: torch.Tensor, kernels: torch.Tensor) -> torch.Tensor:
    """Filter one reflect-padded image with B kernels: (1, 3, H+2R, W+2R), (B, l, l) ->
    (B, 3, H, W), channels-last. The image's channels act as the conv batch, so one
    ``conv2d`` call serves all B kernels."""
    out = F.conv2d(src.transpose(0, 1), kernels.to(src.device, src.dtype).unsqueeze(1))
    return out.transpose(0, 1).contiguous(memory_format=torch.channels_last)


def blur(image: torch.Tensor, sigma: float, kernel_size: int = DEFAULT_KERNEL_SIZE) -> torch.Tensor:
    """``k(sigma) * image`` with the LAM kernel and reflect-101 borders.

    Args:
        image: (1, 3, h, w) float.
        sigma: kernel width (LR px), >= 0 (0 returns the image).
        kernel_size: odd side of the kernel, smaller than 2 min(h, w).

    Returns:
        (1, 3, h, w), same dtype and device.
    """
    _check_kernel_size(kernel_size, image.shape[-2:])
    r = kernel_size // 2
    src = F.pad(image, (r, r, r, r), mode="reflect")
    return _conv_stack(src, gaussian_kernel(kernel_size, float(sigma))[None]).contiguous()


class _Path:
    """A path on a region of the image: points, secants and tangents, batched over alpha.

    ``src`` is the region plus a ``kernel_size // 2`` halo of the reflect-padded full
    image, so filtering it without padding equals filtering the full image and cropping.
    """

    def __init__(self, name: str, src: torch.Tensor, sigma: float, kernel_size: int) -> None:
        self.name, self.sigma, self.l = name, float(sigma), kernel_size
        self.src = src
        r = kernel_size // 2
        self.image = src[:, :, r:-r, r:-r] if r else src
        if name == "linear":
            self.base = torch.zeros_like(self.image)
        elif name == "linear_blur":
            self.base = _conv_stack(src, gaussian_kernel(kernel_size, self.sigma)[None])
        if name != "blur":
            self.delta = (self.image - self.base).contiguous(memory_format=torch.channels_last)

    def _a(self, alphas: torch.Tensor) -> torch.Tensor:
        return alphas.to(self.image.device, self.image.dtype).view(-1, 1, 1, 1)

    def points(self, alphas: torch.Tensor) -> torch.Tensor:
        """gamma(alpha): (B,) float64 -> (B, 3, h, w)."""
        if self.name == "blur":
            return _conv_stack(self.src, _kernels(self.l, self.sigma * (1 - alphas), False))
        return (self.base + self._a(alphas) * self.delta).contiguous(
            memory_format=torch.channels_last
        )

    def secants(self, lo: torch.Tensor, hi: torch.Tensor) -> torch.Tensor:
        """gamma(hi) - gamma(lo), computed without cancellation: (B,), (B,) -> (B, 3, h, w).

        For the blur path the kernel difference is formed in float64 first, as the
        reference code does, so tiny late-path increments are not lost to rounding.
        """
        if self.name == "blur":
            k = _kernels(self.l, self.sigma * (1 - hi), False)
            k = k - _kernels(self.l, self.sigma * (1 - lo), False)
            return _conv_stack(self.src, k)
        return self._a(hi - lo) * self.delta

    def tangents(self, alphas: torch.Tensor) -> torch.Tensor:
        """dgamma/dalpha at alphas: (B,) -> (B, 3, h, w) (``-sigma dk/ds * I`` for blur)."""
        if self.name == "blur":
            dk = _kernels(self.l, self.sigma * (1 - alphas), True) * (-self.sigma)
            return _conv_stack(self.src, dk)
        return self.delta.expand(alphas.numel(), -1, -1, -1)


@dataclass(frozen=True)
class _Quadrature:
    """Nodes and weights: ``W_j = coef_j (gamma(hi_j) - gamma(lo_j))`` (secant rules) or
    ``W_j = weight_j dgamma/dalpha(node_j)`` (tangent rules); attribution = sum_j
    grad D(F(gamma(node_j))) * W_j."""

    nodes: torch.Tensor  # (n,) float64 in [0, 1], increasing
    lo: torch.Tensor | None
    hi: torch.Tensor | None
    coef: torch.Tensor  # (n,)

    def weights(self, path: _Path, idx: torch.Tensor) -> torch.Tensor:
        """W_j for the node indices ``idx`` (B,) -> (B, 3, h, w)."""
        c = self.coef[idx].to(path.image.device, path.image.dtype).view(-1, 1, 1, 1)
        if self.lo is not None and self.hi is not None:
            return c * path.secants(self.lo[idx], self.hi[idx])
        return c * path.tangents(self.nodes[idx])


def _prune(quad: _Quadrature, path: _Path, tol: float, chunk: int) -> torch.Tensor:
    """Indices of the nodes to evaluate, dropping the lightest ones whose weights
    together hold at most ``tol`` of the total L1 mass ``sum_j |W_j|``.

    The blur path moves very little once the kernel is nearly a delta (width below
    ~0.3 px: off-centre taps ``exp(-1 / (2 s^2)) < 4e-3``), so for sigma = 1.2 its last
    ~25% of nodes carry < 1e-3 of the increments; skipping them changes the map by about
    that fraction. Straight-line paths have equal weights and lose nothing.
    """
    n = quad.nodes.numel()
    mass = torch.empty(n, dtype=torch.float64)
    with torch.no_grad():
        for s0 in range(0, n, chunk):
            idx = torch.arange(s0, min(s0 + chunk, n))
            mass[idx] = quad.weights(path, idx).abs().sum(dim=(1, 2, 3)).double().cpu()
    order = torch.argsort(mass)
    dropped = torch.cumsum(mass[order], 0) <= tol * mass.sum()
    return torch.sort(order[~dropped]).values


def _quadrature(rule: str, m: int) -> _Quadrature:
    if rule == "right":
        k = torch.arange(1, m + 1, dtype=torch.float64)
        return _Quadrature(k / m, (k - 1) / m, k / m, torch.ones(m, dtype=torch.float64))
    if rule == "trapezoid":
        a = torch.arange(m, dtype=torch.float64) / (m - 1)
        j = torch.arange(m)
        lo, hi = a[(j - 1).clamp(min=0)], a[(j + 1).clamp(max=m - 1)]
        return _Quadrature(a, lo, hi, torch.full((m,), 0.5, dtype=torch.float64))
    x, w = np.polynomial.legendre.leggauss(m)
    nodes = torch.from_numpy(0.5 * (x + 1.0))
    return _Quadrature(nodes, None, None, torch.from_numpy(0.5 * w))


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


def _is_int(v: Any) -> bool:
    return isinstance(v, int | np.integer) and not isinstance(v, bool)


def _check_kernel_size(kernel_size: Any, hw: tuple[int, int] | torch.Size) -> None:
    h, w = int(hw[0]), int(hw[1])
    if not _is_int(kernel_size) or kernel_size < 1 or kernel_size % 2 == 0:
        raise ValueError(f"kernel_size must be an odd int >= 1, got {kernel_size!r}")
    if kernel_size // 2 >= min(h, w):
        raise ValueError(
            f"kernel_size must be in [1, {2 * min(h, w) - 1}] (odd) for a {h}x{w} LR image "
            f"(reflect padding needs kernel_size // 2 < min(h, w)), got {kernel_size}"
        )


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


# ------------------------------------------------------------------- model handling


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 convolutions natively (not emulated)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        try:
            return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
        except AttributeError:  # older torch: assume emulation (the safe, fast choice)
            return False
    return False


@contextmanager
def _prepared(model: nn.Module, device: torch.device) -> Iterator[None]:
    """Eval mode, frozen float parameters in channels-last on ``device``; restored after
    (the device move is not undone). Freezing skips every weight gradient; channels-last
    lets oneDNN/cuDNN use their fastest convolution layouts (2-5x on CPU)."""
    model.to(device)
    was_training = model.training
    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    formats = [
        p.dim() == 4
        and not p.is_contiguous()
        and p.is_contiguous(memory_format=torch.channels_last)
        for p in params
    ]
    try:
        model.eval()
        for p in params:
            p.requires_grad_(False)
            if p.dim() == 4:
                p.data = p.data.contiguous(memory_format=torch.channels_last)
        yield
    finally:
        for p, flag, was_cl in zip(params, flags, formats, strict=True):
            if p.dim() == 4 and not was_cl:
                p.data = p.data.contiguous()
            p.requires_grad_(flag)
        model.train(was_training)


def _output_layers(model: nn.Module, x: torch.Tensor) -> list[nn.Module]:
    """Modules that run at the SR resolution and own the computation there (they have
    parameters of their own or no children). Found by one float32 forward with hooks."""
    seen: list[tuple[nn.Module, int]] = []

    def hook(mod: nn.Module, _inp: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor) and out.ndim == 4:
            seen.append((mod, out.shape[-2] * out.shape[-1]))

    handles = [m.register_forward_hook(hook) for m in model.modules() if m is not model]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    if not seen:
        return []
    top = max(area for _, area in seen)
    chosen: list[nn.Module] = []
    for mod, area in seen:
        owns = any(True for _ in mod.parameters(recurse=False)) or not any(
            True for _ in mod.children()
        )
        if area == top and owns and all(mod is not c for c in chosen):
            chosen.append(mod)
    return chosen


@contextmanager
def _float32_islands(modules: list[nn.Module], device_type: str) -> Iterator[None]:
    """Run ``modules`` in float32 with autocast off (inputs cast up), inside an outer
    bfloat16 autocast. Implemented by shadowing each instance's ``forward``; restored
    after."""
    saved: list[tuple[nn.Module, Any]] = []

    def make(orig: Callable[..., Any]) -> Callable[..., Any]:
        def forward(*args: Any, **kwargs: Any) -> Any:
            args = tuple(
                a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a
                for a in args
            )
            with torch.autocast(device_type, enabled=False):
                return orig(*args, **kwargs)

        return forward

    try:
        for m in modules:
            saved.append((m, m.__dict__.get("forward")))
            m.forward = make(m.forward)
        yield
    finally:
        for m, prev in saved:
            if prev is None:
                del m.forward
            else:
                m.forward = prev


def default_batch(device: torch.device, work: float | None = None) -> int:
    """Path points per forward/backward.

    On accelerators 16 (fills the device). On a CPU it depends on the work per sample,
    ``work = parameters x LR pixels`` (a proxy for multiply-adds): tiny models are
    dominated by per-call overhead and want many points per call (5x faster at 16 than at
    1 for a 30k-parameter EDSR on 24x24), while big ones gain little beyond 4 on a few
    cores and their memory grows linearly: ``2^floor(log2(4e10 / work))`` in [1, 16]
    (EDSR-16x64 on an 83x83 crop: 4; EDSR-8x32 on 52x52: 16).
    """
    if device.type != "cpu":
        return 16
    if not work or work <= 0:
        return 16
    return int(min(16, max(1, 2 ** math.floor(math.log2(max(4e10 / work, 1.0))))))


def _resolve_precision(mode: str, device: torch.device) -> str:
    """Body precision for ``mode``: ``"bf16"`` or ``"fp32"``."""
    if mode == "bf16":
        return "bf16"
    if mode == "fast":
        if native_bf16(device):
            return "bf16"
        warnings.warn(
            f"mode='fast': this {device.type} has no native bfloat16 (emulated bf16 is "
            "10-30x slower than float32), so the body stays float32 and only the path "
            "pruning applies; mode='bf16' forces bf16",
            RuntimeWarning,
            stacklevel=3,
        )
    return "fp32"


# --------------------------------------------------------------------------- result


@dataclass
class LAMResult:
    """One local attribution map and what it was made of. Tensors are on the CPU.

    Attributes:
        attribution: (3, h, w) float32 (float64 for a float64 model), per-channel
            attribution on the LR grid; its sum approximates ``d_input - d_baseline``.
        map: (h, w), ``attribution`` summed over channels (what LAM visualises and
            feeds to the Gini/DI).
        d_input, d_baseline: ``D(F(I))`` and ``D(F(I'))`` (detector units: summed
            intensity differences, [0, 1] scale).
        completeness_error: ``|sum(map) - (d_input - d_baseline)| / |d_input -
            d_baseline|`` (``inf`` if the denominator is 0 and the sum is not).
        alphas: (n,) float64 in [0, 1]: 0, the rule's nodes, 1 (Fig. 3's x-axis).
        d_path: (n,) ``D(F(gamma(alpha)))`` (Fig. 3f).
        path_speed: (n,) mean ``|dgamma/dalpha|`` over the LR image's pixels and
            channels (Fig. 3g; intensity per unit alpha).
        cumulative: (n,) attribution summed over the nodes up to alpha (Fig. 3h);
            ``sum(map)`` at alpha = 1, 0 at alpha = 0 (for ``"trapezoid"``, whose first
            node is alpha = 0, that node's half-interval share).
        window, scale, path, rule, steps, sigma, kernel_size: the settings used.
        mode: the mode asked for (``"exact"``, ``"fast"``, ``"bf16"``).
        batch: path points per forward/backward.
        crop_box: (top, left, bottom, right) LR crop the network saw, or ``None``.
        seconds: wall time of the call.
        device: where it ran.
        precision: network body precision used, ``"fp32"`` or ``"bf16"``.
        pruned: path nodes skipped by ``mode="fast"`` (absent from the curves too).
        cached: loaded from the map cache (:mod:`helpers.lam_cache`); ``seconds`` is
            then the time the map took when it was computed.
    """

    attribution: torch.Tensor
    map: torch.Tensor
    d_input: float
    d_baseline: float
    completeness_error: float
    alphas: torch.Tensor
    d_path: torch.Tensor
    path_speed: torch.Tensor
    cumulative: torch.Tensor
    window: Window
    scale: int
    path: str
    rule: str
    steps: int
    sigma: float
    kernel_size: int
    mode: str
    batch: int
    crop_box: tuple[int, int, int, int] | None
    seconds: float
    device: str
    precision: str = "fp32"
    pruned: int = 0
    cached: bool = False

    #: :attr:`degenerate` threshold: |D(F(I)) - D(F(I'))| as a share of D(F(I)).
    DEGENERATE_SHARE: ClassVar[float] = 0.05

    @property
    def degenerate(self) -> bool:
        """True when the blur barely changes the detector, ``|D(F(I)) - D(F(I'))| <=
        DEGENERATE_SHARE * D(F(I))``: the window is (nearly) flat, so there is almost
        nothing to attribute. The relative completeness error then divides by a near-zero
        change (measured: 0.007 of 9.1 gives 3000% with 50 right-Riemann steps, where the
        absolute error is 0.19) and the map, hence its DI, is mostly noise; chapters list
        such windows and leave them out of DI and completeness statistics."""
        return abs(self.d_input - self.d_baseline) <= self.DEGENERATE_SHARE * abs(self.d_input)

    @property
    def total(self) -> float:
        """``sum(map)``: the attribution the map hands out."""
        return float(self.attribution.double().sum())

    @property
    def di(self) -> float:
        """Diffusion index ``(1 - Gini(|map|)) x 100`` (:func:`helpers.metrics.diffusion_index`)."""
        return diffusion_index(self)

    def summary(self) -> dict[str, Any]:
        """JSON-ready scalars: DI, completeness, detector values, settings, seconds."""
        return {
            "di": self.di,
            "completeness_error": self.completeness_error,
            "degenerate": self.degenerate,
            "d_input": self.d_input,
            "d_baseline": self.d_baseline,
            "attribution_sum": self.total,
            "window": list(self.window),
            "path": self.path,
            "rule": self.rule,
            "steps": self.steps,
            "sigma": self.sigma,
            "mode": self.mode,
            "precision": self.precision,
            "pruned": self.pruned,
            "crop_box": None if self.crop_box is None else list(self.crop_box),
            "seconds": self.seconds,
        }


# ------------------------------------------------------------------------------ lam


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
    steps: int = DEFAULT_STEPS,
    batch: int | None = None,
    path: PathName = "blur",
    rule: RuleName = "right",
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
        steps: gradient evaluations m >= 1 (>= 2 for ``"trapezoid"``).
        batch: path points per forward/backward (default :func:`default_batch`); the
            result does not depend on it beyond float rounding.
        path: ``"blur"`` (LAM), ``"linear"`` (black baseline: integrated gradients) or
            ``"linear_blur"`` (straight line from the blurred baseline).
        rule: ``"right"`` (the paper's Riemann sum), ``"trapezoid"``,
            ``"gauss_legendre"``; see the module docstring.
        mode: ``"exact"`` (float32), ``"bf16"`` (bf16 body, float32 output layers
            and detector, on any hardware), ``"fast"`` (prune negligible path nodes, and
            the bf16 body where the device has native bf16); see the module docstring.
        crop: ``"auto"`` crops the LR image to the window's receptive field (+ margin)
            when ``model.receptive_field`` is finite (same map, less compute);
            ``"none"`` always runs the whole image.
        device: where to run (default: CUDA when available, else CPU).
        kernel_size: odd side of the blur kernel (LR px).
        scale: SR factor (default ``model.scale``, else measured by one forward).
        progress: show a tqdm bar over batches.

    Returns:
        A :class:`LAMResult` (map on the LR grid, detector values, completeness, curves).

    Raises:
        ValueError: a bad window, sigma, steps, batch, kernel size or option, or a model
            whose output is not ``scale x`` its input; the message names the valid range.
    """
    t0 = time.perf_counter()
    if path not in _PATHS:
        raise ValueError(f"path must be one of {_PATHS}, got {path!r}")
    if rule not in _RULES:
        raise ValueError(f"rule must be one of {_RULES}, got {rule!r}")
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {_MODES}, got {mode!r}")
    if crop not in ("auto", "none"):
        raise ValueError(f"crop must be 'auto' or 'none', got {crop!r}")
    min_steps = 2 if rule == "trapezoid" else 1
    if not _is_int(steps) or steps < min_steps:
        raise ValueError(f"steps must be an int >= {min_steps} for rule {rule!r}, got {steps!r}")
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
    steps = int(steps)

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
        quad = _quadrature(rule, steps)
        precision = _resolve_precision(mode, dev)
        hw_crop = (bottom - top, right - left)
        if batch is None:
            n_params = sum(p.numel() for p in model.parameters())
            batch = default_batch(dev, float(n_params) * hw_crop[0] * hw_crop[1])
        batch = int(batch)

        islands: list[nn.Module] = []
        if precision == "bf16":
            islands = _output_layers(model, region.image)
        keep = (
            _prune(quad, region, FAST_PRUNE_TOL, max(batch, 8))
            if mode == "fast"
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
            # Endpoints: D(F(I')) and D(F(I)), reused when a node sits on 0 or 1.
            ends = torch.tensor([0.0, 1.0], dtype=torch.float64)
            with torch.no_grad():
                d_ends = detect(region.points(ends)).double().cpu()
            n = keep.numel()
            attr = torch.zeros(region.image.shape[1:], dtype=torch.float64, device=dev)
            d_nodes = torch.empty(n, dtype=torch.float64, device=dev)
            step_totals = torch.empty(n, dtype=torch.float64, device=dev)
            starts = range(0, n, batch)
            if progress:
                from tqdm.auto import tqdm

                starts = tqdm(starts, desc="LAM", unit="batch", leave=False)
            for s0 in starts:
                pos = slice(s0, min(s0 + batch, n))
                idx = keep[pos]
                xb = region.points(quad.nodes[idx]).requires_grad_(True)
                d = detect(xb)
                (g,) = torch.autograd.grad(d.sum(), xb)
                contrib = (g * quad.weights(region, idx)).double()
                attr += contrib.sum(dim=0)
                step_totals[pos] = contrib.sum(dim=(1, 2, 3))
                d_nodes[pos] = d.detach().double()

    # Curves on alpha in {0} U evaluated nodes U {1}.
    nodes = quad.nodes[keep]
    d_nodes, step_totals = d_nodes.cpu(), step_totals.cpu()
    cum_nodes = torch.cumsum(step_totals, 0)
    alphas, d_path, cumulative = [nodes], [d_nodes], [cum_nodes]
    if nodes[0] > 0:
        alphas.insert(0, ends[:1])
        d_path.insert(0, d_ends[:1])
        cumulative.insert(0, torch.zeros(1, dtype=torch.float64))
    if nodes[-1] < 1:
        alphas.append(ends[1:])
        d_path.append(d_ends[1:])
        cumulative.append(cum_nodes[-1:])
    alphas_t = torch.cat(alphas)
    speed = _path_speed(path, padded, sigma, kernel_size, alphas_t, batch)

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
        alphas=alphas_t,
        d_path=torch.cat(d_path),
        path_speed=speed,
        cumulative=torch.cat(cumulative),
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


def _check_crop_border(
    attribution: torch.Tensor, box: tuple[int, int, int, int], hw: tuple[int, int], rf: Any
) -> None:
    """Free self-check of the declared receptive field: pixels on a crop edge inside the
    image lie ``CROP_MARGIN`` px beyond the field, so their gradient is exactly 0 when
    the field is right. A non-zero value means the model reaches further than it says."""
    top, left, bottom, right = box
    a = attribution.abs().sum(dim=0)
    edges = []
    if top > 0:
        edges.append(a[top, left:right])
    if bottom < hw[0]:
        edges.append(a[bottom - 1, left:right])
    if left > 0:
        edges.append(a[top:bottom, left])
    if right < hw[1]:
        edges.append(a[top:bottom, right - 1])
    if any(bool((e != 0).any()) for e in edges):
        warnings.warn(
            f"the attribution reaches the edge of the receptive-field crop {box}: the model "
            f"depends on pixels further away than its receptive_field={rf} says, so this "
            "map may differ from the whole-image one; fix receptive_field or use crop='none'",
            RuntimeWarning,
            stacklevel=3,
        )


def _path_speed(
    path: str,
    padded: torch.Tensor,
    sigma: float,
    kernel_size: int,
    alphas: torch.Tensor,
    batch: int,
) -> torch.Tensor:
    """Mean |dgamma/dalpha| over the whole LR image (independent of any crop): (n,)."""
    full = _Path(path, padded, sigma, kernel_size)
    out = []
    with torch.no_grad():
        for s0 in range(0, alphas.numel(), max(batch, 8)):
            a = alphas[s0 : s0 + max(batch, 8)]
            out.append(full.tangents(a).abs().mean(dim=(1, 2, 3)).double().cpu())
    return torch.cat(out)


def di_summary(results: Iterable[LAMResult]) -> dict[str, Any]:
    """DI and completeness statistics of one network's maps, leaving out degenerate windows
    (:attr:`LAMResult.degenerate`).

    Returns:
        ``mean``, ``std`` (ddof 1; 0 for one map) of the DI and ``n`` over the kept maps
        (NaN and 0 when none is kept), ``n_degenerate``, ``max_completeness_error``
        (fraction) over the kept maps, and ``mean_all``: the mean DI over every map,
        degenerate ones included (for a caller that must have a value and says so).
    """
    results = list(results)
    if not results:
        raise ValueError("di_summary needs at least one LAMResult, got none")
    kept = [r for r in results if not r.degenerate]
    di = np.array([r.di for r in kept], dtype=float)
    nan = float("nan")
    return {
        "mean": float(di.mean()) if len(di) else nan,
        "std": float(di.std(ddof=1)) if len(di) > 1 else (0.0 if len(di) else nan),
        "n": len(kept),
        "n_degenerate": len(results) - len(kept),
        "max_completeness_error": max((r.completeness_error for r in kept), default=nan),
        "mean_all": float(np.mean([r.di for r in results])),
    }


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
    from tqdm.auto import tqdm

    return {name: lam(m, image, window, **kwargs) for name, m in tqdm(models.items(), "LAM")}


def center_window(image: torch.Tensor, scale: int, size: int = DEFAULT_WINDOW_SIZE) -> Window:
    """The ``size x size`` SR window at the centre of ``image`` (1, 3, h, w) upscaled by
    ``scale`` (the paper analyses the central 16x16 patch): ``(x, y, size)``."""
    h, w = image.shape[-2:]
    return ((scale * w - size) // 2, (scale * h - size) // 2, size)


# ----------------------------------------------------------------- maps and figures


def _as_map(x: LAMResult | torch.Tensor | np.ndarray) -> torch.Tensor:
    if isinstance(x, LAMResult):
        return x.map
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.ndim == 3:
        t = t.sum(dim=0)  # (3, H, W) attribution -> channel-summed map
    if t.ndim != 2:
        raise ValueError(f"expected a map (H, W), (3, H, W) or a LAMResult, got {tuple(t.shape)}")
    return t


def diffusion_index(x: LAMResult | torch.Tensor | np.ndarray) -> float:
    """DI = ``(1 - Gini(|map|)) x 100`` of a map (H, W), attribution (3, H, W; summed over
    channels first, as LAM does) or :class:`LAMResult`; delegates to
    :func:`helpers.metrics.diffusion_index`. Range (0, 100]; higher = more pixels used."""
    from ..metrics.quality import diffusion_index as _di

    return float(_di(_as_map(x)))


def lam_visual(x: LAMResult | torch.Tensor | np.ndarray) -> torch.Tensor:
    """The paper's visualisation (Sec. 4.1): the map normalised to [-1, 1] by its largest
    magnitude, then absolute: (H, W) float32 in [0, 1] (zeros for an all-zero map). The
    LAM demo shows it with the ``seismic`` colormap on [-1, 1]."""
    m = _as_map(x).float().abs()
    peak = m.max()
    return m / peak if peak > 0 else torch.zeros_like(m)


def area_of_contribution(
    x: LAMResult | torch.Tensor | np.ndarray,
    bandwidth: Literal["scott"] | float = "scott",
    threshold: float | None = None,
) -> torch.Tensor:
    """Area of contribution (Fig. 1, third row): a Gaussian kernel density estimate of
    pixel positions weighted by :func:`lam_visual`, peak-normalised.

    Same estimate as ``scipy.stats.gaussian_kde(positions, weights=...)`` evaluated on
    the pixel grid (the LAM demo's ``vis_saliency_kde``): kernel covariance = weighted
    position covariance x factor^2, Scott's factor ``n_eff^(-1/6)``; computed as one FFT
    convolution, so it is O(HW log HW) instead of O((HW)^2).

    Args:
        x: map (H, W), attribution (3, H, W) or :class:`LAMResult`.
        bandwidth: ``"scott"`` or a float factor multiplying the covariance's square root.
        threshold: if given in [0, 1], densities below it are set to 0 (a cut-out area).

    Returns:
        (H, W) float32 in [0, 1] (zeros for an all-zero map).
    """
    wmap = lam_visual(x).double()
    H, W = wmap.shape
    total = wmap.sum()
    if total <= 0:
        return torch.zeros(H, W, dtype=torch.float32)
    if threshold is not None and not 0 <= threshold <= 1:
        raise ValueError(f"threshold must be in [0, 1] or None, got {threshold!r}")
    wts = wmap / total
    ys, xs = torch.meshgrid(
        torch.arange(H, dtype=torch.float64), torch.arange(W, dtype=torch.float64), indexing="ij"
    )
    pos = torch.stack([xs.flatten(), ys.flatten()])  # (2, HW), x first as scipy's input
    wf = wts.flatten()
    mu = (pos * wf).sum(dim=1, keepdim=True)
    d = pos - mu
    v2 = float((wf * wf).sum())
    cov = (d * wf) @ d.T / max(1.0 - v2, 1e-12)  # numpy.cov(aweights=w), ddof=1
    if bandwidth == "scott":
        factor = (1.0 / v2) ** (-1.0 / 6.0)  # n_eff^(-1/(d+4)), d = 2
    elif isinstance(bandwidth, int | float) and not isinstance(bandwidth, bool) and bandwidth > 0:
        factor = float(bandwidth)
    else:
        raise ValueError(f"bandwidth must be 'scott' or a number > 0, got {bandwidth!r}")
    kcov = cov * factor**2
    # A single-pixel (or one-line) map has a singular covariance: keep it a near-delta.
    kcov = kcov + torch.eye(2, dtype=torch.float64) * 1e-6
    inv = torch.linalg.inv(kcov)
    oy, ox = torch.meshgrid(
        torch.arange(-(H - 1), H, dtype=torch.float64),
        torch.arange(-(W - 1), W, dtype=torch.float64),
        indexing="ij",
    )
    q = inv[0, 0] * ox * ox + 2 * inv[0, 1] * ox * oy + inv[1, 1] * oy * oy
    kern = torch.exp(-0.5 * q)  # normalisation cancels in the peak normalisation
    shape = (3 * H - 2, 3 * W - 2)
    z = torch.fft.irfft2(torch.fft.rfft2(wts, s=shape) * torch.fft.rfft2(kern, s=shape), s=shape)
    z = z[H - 1 : 2 * H - 1, W - 1 : 2 * W - 1].clamp(min=0)
    z = z / z.max()
    if threshold is not None:
        z = torch.where(z >= threshold, z, torch.zeros_like(z))
    return z.float()


def overlay_area(
    image: torch.Tensor, area: torch.Tensor, alpha: float = 0.6, cmap: str = "seismic"
) -> np.ndarray:
    """Blend an area of contribution over the LR image, as the LAM demo does.

    Args:
        image: LR image (1, 3, H, W) or (3, H, W) in [0, 1].
        area: (H, W) in [0, 1] from :func:`area_of_contribution`.
        alpha: weight of the heat map (the demo blends 0.6 map + 0.4 image).
        cmap: matplotlib colormap; the area maps onto its upper half ([0.5, 1]).

    Returns:
        H x W x 3 float array in [0, 1] for ``imshow``.
    """
    import matplotlib

    img = image[0] if image.ndim == 4 else image
    if img.shape[-2:] != area.shape:
        raise ValueError(f"image {tuple(img.shape)} and area {tuple(area.shape)} differ in size")
    heat = matplotlib.colormaps[cmap](0.5 + 0.5 * area.detach().cpu().numpy())[..., :3]
    base = img.detach().float().clamp(0, 1).permute(1, 2, 0).cpu().numpy()
    return np.clip(alpha * heat + (1 - alpha) * base, 0.0, 1.0)


def fig3_curves(result: LAMResult) -> dict[str, np.ndarray | float]:
    """The three curves of Fig. 3 (f-h) as arrays for plotting against ``alpha``.

    Returns:
        ``alpha`` (n,), ``detector`` D(F(gamma(alpha))) (n,), ``path_speed`` mean
        |dgamma/dalpha| (n,), ``cumulative`` attribution (n,), and ``target`` =
        D(F(I)) - D(F(I')) (the red line of Fig. 3h), ``completeness_error``.
    """
    return {
        "alpha": result.alphas.numpy(),
        "detector": result.d_path.numpy(),
        "path_speed": result.path_speed.numpy(),
        "cumulative": result.cumulative.numpy(),
        "target": result.d_input - result.d_baseline,
        "completeness_error": result.completeness_error,
    }
