"""The LAM paths and their quadrature: Gaussian kernels, blur, path points, rules, pruning.

LAM (Gu & Dong, CVPR 2021) integrates input gradients along a path ``gamma(alpha)`` from
a baseline ``I'`` (``alpha = 0``) to the LR image ``I`` (``alpha = 1``). This module builds
the path and the rule that discretises the integral; :mod:`.maps` runs the network on it.

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
  nodes on [0, 1] with the analytic ``dgamma/dalpha``; ``"arclength"``: the trapezoid's
  secant weights on nodes that split the path into ``m - 1`` pieces of equal length
  (L1 norm of ``gamma(alpha_j+1) - gamma(alpha_j)``, found on a fine grid of path points,
  no network evaluation). On a straight line it is the trapezoid; on the blur path,
  whose motion is crowded into the first ~80% of alpha (the kernel is nearly a delta
  after that), it spends no evaluation where the path does not move and halves the map
  error of the uniform trapezoid at equal nodes (``benchmarks/lam_rules.json``). Every
  secant rule telescopes: its weights sum to ``gamma(1) - gamma(0)`` exactly. On the
  straight-line path ``"right"`` and ``"gauss_legendre"`` are exactly captum's ``riemann_right`` and
  ``gausslegendre``; captum 0.9's ``riemann_trapezoid`` uses steps ``1/m`` with nodes
  ``j/(m-1)`` (weights summing to ``(m-1)/m``), so ours equals it times ``m/(m-1)``.
- Paths: ``"blur"`` (LAM), ``"linear"`` (straight line from a black image: plain
  integrated gradients), ``"linear_blur"`` (straight line from the blurred baseline).
- Pruning (``mode="fast"``): the nodes whose weights hold < ``FAST_PRUNE_TOL`` (0.1%) of
  the path's total increment are skipped (for the blur path the last ~25% of steps,
  where the kernel is already nearly a delta; nothing for straight lines).

The path is built in torch on the device (no numpy in the loop), batched over alpha.
Images are (1, 3, h, w) float in [0, 1]; kernel widths are in LR px.

May import: the base modules only (torch, numpy).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch
import torch.nn.functional as F

#: The reference code's guard that makes a zero-width Gaussian the identity kernel.
KERNEL_EPS = 1e-5
#: LAM demo defaults.
DEFAULT_SIGMA = 1.2
DEFAULT_KERNEL_SIZE = 9
#: ``mode="fast"`` skips path nodes whose weights hold at most this share of the L1 mass.
FAST_PRUNE_TOL = 1e-3

PathName = Literal["blur", "linear", "linear_blur"]
RuleName = Literal["right", "trapezoid", "gauss_legendre", "arclength"]

PATHS = ("blur", "linear", "linear_blur")
RULES = ("right", "trapezoid", "gauss_legendre", "arclength")
#: Path points per node used to measure the path's length for ``"arclength"`` (at least
#: ``ARC_GRID_MIN``): the nodes' placement, not the integral, depends on it, since the
#: secant weights telescope whatever the nodes.
ARC_GRID_PER_NODE, ARC_GRID_MIN = 8, 256


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

    Not built from :func:`helpers.data.degradations.gaussian_kernel1d`, the project's one
    1-D Gaussian: the LAM reference kernel is the radial 2-D ``exp(-(x^2 + y^2) / (2
    t^2))`` normalised over the square, and the outer product of two normalised 1-D
    kernels differs from it in the last bits (up to 3e-16 at s = 0.3), which would
    change every LAM map; it also needs a batch of widths and the analytic derivative
    in ``s`` for the Gauss-Legendre tangents.
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


def _per_point(
    fn: Callable[[int, int], torch.Tensor],
    n: int,
    chunk: int,
    reduce: Callable[..., torch.Tensor] = torch.sum,
) -> torch.Tensor:
    """``reduce`` (sum or mean) of ``|fn(s0, s1)|`` over each of ``n`` path points' pixels,
    ``chunk`` points at a time (``fn`` gives points ``s0:s1`` as (s1 - s0, 3, h, w)) and
    without gradients: (n,) float64 on the CPU."""
    with torch.no_grad():
        return torch.cat(
            [
                reduce(fn(s0, min(s0 + chunk, n)).abs(), dim=(1, 2, 3)).double().cpu()
                for s0 in range(0, n, chunk)
            ]
        )


def _prune(quad: _Quadrature, path: _Path, tol: float, chunk: int) -> torch.Tensor:
    """Indices of the nodes to evaluate, dropping the lightest ones whose weights
    together hold at most ``tol`` of the total L1 mass ``sum_j |W_j|``.

    The blur path moves very little once the kernel is nearly a delta (width below
    ~0.3 px: off-centre taps ``exp(-1 / (2 s^2)) < 4e-3``), so for sigma = 1.2 its last
    ~25% of nodes carry < 1e-3 of the increments; skipping them changes the map by about
    that fraction. Straight-line paths have equal weights and lose nothing.
    """
    mass = _per_point(
        lambda s0, s1: quad.weights(path, torch.arange(s0, s1)), quad.nodes.numel(), chunk
    )
    order = torch.argsort(mass)
    dropped = torch.cumsum(mass[order], 0) <= tol * mass.sum()
    return torch.sort(order[~dropped]).values


def _quadrature(rule: str, m: int, path: _Path | None = None, chunk: int = 64) -> _Quadrature:
    """The nodes and weights of ``rule`` at ``m`` gradient evaluations (``"arclength"``
    needs the ``path``; ``chunk`` path points are built at a time to measure it)."""
    if rule == "right":
        k = torch.arange(1, m + 1, dtype=torch.float64)
        return _Quadrature(k / m, (k - 1) / m, k / m, torch.ones(m, dtype=torch.float64))
    if rule in ("trapezoid", "arclength"):
        if rule == "trapezoid":
            a = torch.arange(m, dtype=torch.float64) / (m - 1)
        else:
            if path is None:
                raise ValueError("rule 'arclength' needs the path to place its nodes")
            a = arclength_nodes(path, m, chunk)
        j = torch.arange(m)
        lo, hi = a[(j - 1).clamp(min=0)], a[(j + 1).clamp(max=m - 1)]
        return _Quadrature(a, lo, hi, torch.full((m,), 0.5, dtype=torch.float64))
    x, w = np.polynomial.legendre.leggauss(m)
    nodes = torch.from_numpy(0.5 * (x + 1.0))
    return _Quadrature(nodes, None, None, torch.from_numpy(0.5 * w))


def arclength_nodes(path: _Path, m: int, chunk: int = 64) -> torch.Tensor:
    """``m`` nodes ``0 = a_0 < ... < a_m-1 = 1`` splitting ``path`` into equal lengths.

    The length is the L1 norm of the path's increments, summed over a uniform grid of
    ``max(ARC_GRID_MIN, ARC_GRID_PER_NODE * m)`` pieces; the cumulative length is
    inverted by linear interpolation. Returns (m,) float64, strictly increasing (a path
    that does not move, e.g. a flat image's blur path, gets the uniform nodes).
    """
    n = max(ARC_GRID_MIN, ARC_GRID_PER_NODE * m)
    grid = torch.arange(n + 1, dtype=torch.float64) / n
    inc = _per_point(lambda s0, s1: path.secants(grid[s0:s1], grid[s0 + 1 : s1 + 1]), n, chunk)
    total = float(inc.sum())
    uniform = torch.arange(m, dtype=torch.float64) / (m - 1)
    # float32 rounding alone moves a flat image's path by ~1e-7 of its mass per piece;
    # far below this bound there is no length to equalise
    if not total > 1e-5 * n * float(path.image.abs().sum()):
        return uniform
    # a floor keeps the cumulative length strictly increasing, so nodes never coincide
    inc = inc + total * 1e-9
    cum = torch.cat([torch.zeros(1, dtype=torch.float64), torch.cumsum(inc, 0)])
    nodes = torch.from_numpy(np.interp((uniform * cum[-1]).numpy(), cum.numpy(), grid.numpy()))
    nodes[0], nodes[-1] = 0.0, 1.0
    return nodes


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
