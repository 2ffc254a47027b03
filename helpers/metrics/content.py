"""Image-content measures for the "DI vs image content" analysis (LAM paper, Fig. 8).

Gu & Dong observe that SR networks spread their attribution widely on images with
*regular stripes and grids* and narrowly on complex semantic content (people, animals).
To test that claim with numbers instead of by eye, a patch needs a score for "regular
stripes/grids". Two measures, each answering a different half of the phrase:

- :func:`orientation_coherence` (stripes): the structure tensor ``J = G_sigma * (grad I
  grad I^T)`` has eigenvalues ``l1 >= l2 >= 0``; ``(l1 - l2) / (l1 + l2)`` is 1 where all
  gradients in the neighbourhood share one orientation and 0 where they point every way.
  We report the energy-weighted patch average ``sum(l1 - l2) / sum(l1 + l2)``, so flat
  regions (no gradient) do not count. It is high for stripes and long straight edges,
  and low for grids (two orientations), fur and clutter. Derivatives and smoothing follow
  :func:`skimage.feature.structure_tensor` (Sobel derivatives, Gaussian window, symmetric
  borders), which the tests use as the reference.
- :func:`periodicity` (stripes *and* grids): the highest normalised cross-correlation
  (NCC, Pearson correlation of the overlapping parts) between the patch and a shifted copy
  of itself, over shifts outside the *central lobe* (the 4-connected region around zero
  shift where the NCC stays positive, i.e. up to the first zero crossing). A pattern that
  repeats under translation (stripes, grids, rows of windows) has a secondary peak near 1
  one period away; clutter, faces and noise do not. This is the self-similarity the paper
  credits for wide attribution ("similar-shaped windows around the target patch",
  Sec. 4.3). Shifts are limited to half the patch per axis, so every NCC uses at least a
  quarter of the patch; on i.i.d. noise the score is ~0.03 for a 256 px patch and ~0.08
  for a 64 px one (its floor).

Images are float tensors in [0, 1]: (H, W) or (1, H, W) grey, (3, H, W) RGB, or a batch
(N, C, H, W) with C = 1 or 3 (RGB is converted to grey with the BT.601 luma weights). All
work is vectorised torch in float64 on the input's device (the central lobe's connected
component: scipy.ndimage on the CPU); scores are (N,) CPU tensors.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from ..data.degradations import gaussian_kernel1d

#: BT.601 luma weights (grey = weighted sum of R, G, B in [0, 1]).
LUMA = (0.299, 0.587, 0.114)


def to_grey(image: torch.Tensor) -> torch.Tensor:
    """Grey image(s) (N, H, W) float64 from (H, W), (C, H, W) or (N, C, H, W), C in {1, 3}.

    A 3-D input is always one image (a batch of grey images is (N, 1, H, W)); RGB becomes
    BT.601 luma; intensities are kept as given ([0, 1] expected).
    """
    if not isinstance(image, torch.Tensor):
        raise TypeError(f"image must be a torch.Tensor, got {type(image).__name__}")
    x = image.detach().to(torch.float64)
    if x.ndim == 2:
        return x[None]
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[1] not in (1, 3):
        raise ValueError(
            f"expected (H, W), (C, H, W) or (N, C, H, W) with C in {{1, 3}}, got "
            f"{tuple(image.shape)}"
        )
    if x.shape[1] == 3:
        w = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(1, 3, 1, 1)
        x = (x * w).sum(dim=1, keepdim=True)
    if min(x.shape[-2:]) < 3:
        raise ValueError(f"image must be at least 3x3 px, got {tuple(x.shape[-2:])}")
    return x[:, 0]


def _symmetric_index(n: int, pad: int, device: torch.device) -> torch.Tensor:
    """Indices of a length-``n`` axis padded by ``pad`` with half-sample symmetry
    (``d c b a | a b c d | d c b a``: scipy.ndimage's ``mode="reflect"``), any ``pad``."""
    i = torch.arange(-pad, n + pad, device=device)
    period = 2 * n
    i = torch.remainder(i, period)
    return torch.where(i < n, i, period - 1 - i)


def _filter_sep(x: torch.Tensor, k_rows: torch.Tensor, k_cols: torch.Tensor) -> torch.Tensor:
    """Correlate (N, H, W) with the separable kernel ``k_rows[:, None] * k_cols[None, :]``
    (odd lengths), symmetric borders; returns (N, H, W)."""
    n, h, w = x.shape
    ry, rx = k_rows.numel() // 2, k_cols.numel() // 2
    x = x.index_select(1, _symmetric_index(h, ry, x.device))
    x = x.index_select(2, _symmetric_index(w, rx, x.device))
    x = F.conv2d(x[:, None], k_rows.view(1, 1, -1, 1).to(x))
    x = F.conv2d(x, k_cols.view(1, 1, 1, -1).to(x))
    return x[:, 0]


def structure_tensor(
    image: torch.Tensor, sigma: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Structure tensor elements ``(A_rr, A_rc, A_cc)``, each (N, H, W) float64.

    Sobel derivatives along rows (r) and columns (c), their products smoothed by a Gaussian
    of width ``sigma`` (px, truncated at 4 sigma), symmetric borders: the same numbers as
    ``skimage.feature.structure_tensor(grey, sigma, mode="reflect", order="rc")``.
    """
    if not (isinstance(sigma, int | float) and math.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a finite number > 0 (px), got {sigma!r}")
    g = to_grey(image)
    smooth = torch.tensor([1.0, 2.0, 1.0], dtype=torch.float64)
    diff = torch.tensor([-1.0, 0.0, 1.0], dtype=torch.float64)
    # scipy.ndimage.sobel correlates with [-1, 0, 1] along the axis and [1, 2, 1] across.
    d_r = _filter_sep(g, diff, smooth)
    d_c = _filter_sep(g, smooth, diff)
    # scipy.ndimage's Gaussian: truncated at radius int(4 sigma + 0.5), sums to 1.
    gauss = gaussian_kernel1d(float(sigma), int(4.0 * float(sigma) + 0.5))
    return tuple(_filter_sep(p, gauss, gauss) for p in (d_r * d_r, d_r * d_c, d_c * d_c))


def orientation_coherence(image: torch.Tensor, sigma: float = 8.0) -> torch.Tensor:
    """Energy-weighted orientation coherence ``sum(l1 - l2) / sum(l1 + l2)`` per image.

    Args:
        image: see :func:`to_grey`; [0, 1] intensities.
        sigma: integration scale of the structure tensor (px): gradients within about
            ``2 sigma`` must share an orientation to count as coherent.

    Returns:
        (N,) float64 in [0, 1] on the CPU: 1 for perfect straight stripes, ~0 for
        isotropic texture or noise; 0 for a flat image (no gradient energy).
    """
    a_rr, a_rc, a_cc = structure_tensor(image, sigma)
    trace = a_rr + a_cc  # l1 + l2
    gap = torch.sqrt((a_rr - a_cc) ** 2 + 4.0 * a_rc**2)  # l1 - l2
    energy = trace.sum(dim=(1, 2))
    out = gap.sum(dim=(1, 2)) / torch.where(energy > 0, energy, torch.ones_like(energy))
    return torch.where(energy > 0, out, torch.zeros_like(out)).clamp(0.0, 1.0).cpu()


def _xcorr(a: torch.Tensor, b: torch.Tensor, shape: tuple[int, int], lag: int) -> torch.Tensor:
    """``sum_t a(t) b(t + s)`` for every shift ``s`` in [-lag, lag]^2 (rows, cols), via
    zero-padded FFTs. a, b: (N, H, W) -> (N, 2 lag + 1, 2 lag + 1)."""
    fa = torch.fft.rfft2(a, s=shape)
    fb = torch.fft.rfft2(b, s=shape)
    c = torch.fft.irfft2(fa.conj() * fb, s=shape)
    c = torch.roll(c, shifts=(lag, lag), dims=(1, 2))
    return c[:, : 2 * lag + 1, : 2 * lag + 1]


def self_similarity(image: torch.Tensor, max_lag: int | None = None) -> torch.Tensor:
    """Normalised cross-correlation of each image with its own shifted copies.

    ``ncc[n, max_lag + dy, max_lag + dx]`` is the Pearson correlation between the pixels
    ``I(y, x)`` and ``I(y + dy, x + dx)`` over every position where both exist.

    Args:
        image: see :func:`to_grey`.
        max_lag: largest shift per axis (px); default half the smaller side, so every
            correlation uses at least a quarter of the image. Must be < min(H, W).

    Returns:
        (N, 2 max_lag + 1, 2 max_lag + 1) float64 in [-1, 1] on the input's device; 1 at
        zero shift (0 there and elsewhere where an overlap has no variance).
    """
    g = to_grey(image)
    _, h, w = g.shape
    lag = min(h, w) // 2 if max_lag is None else int(max_lag)
    if not 0 <= lag < min(h, w):
        raise ValueError(f"max_lag must be in [0, {min(h, w) - 1}] for a {h}x{w} image, got {lag}")
    # Centre the intensities first: the sums below then stay small and cancel less.
    g = g - g.mean(dim=(1, 2), keepdim=True)
    shape = (h + lag, w + lag)  # enough zero padding that shifts up to lag do not wrap
    ones = torch.ones_like(g[:1])
    n = _xcorr(ones, ones, shape, lag).round()  # overlap size per shift
    s_a = _xcorr(g, ones, shape, lag)  # sum of I(t) over the overlap
    s_b = _xcorr(ones, g, shape, lag)  # sum of I(t + s) over the overlap
    s_aa = _xcorr(g * g, ones, shape, lag)
    s_bb = _xcorr(ones, g * g, shape, lag)
    s_ab = _xcorr(g, g, shape, lag)
    cov = s_ab - s_a * s_b / n
    var_a = (s_aa - s_a**2 / n).clamp(min=0.0)
    var_b = (s_bb - s_b**2 / n).clamp(min=0.0)
    denom = torch.sqrt(var_a * var_b)
    # An overlap with (numerically) no variance has no defined correlation: report 0.
    tiny = 1e-12 * n * (g * g).mean(dim=(1, 2)).view(-1, 1, 1)
    ok = denom > tiny
    ncc = torch.where(ok, cov / torch.where(ok, denom, torch.ones_like(denom)), 0.0)
    return ncc.clamp(-1.0, 1.0)


def central_lobe(ncc: torch.Tensor) -> torch.Tensor:
    """The 4-connected region of ``ncc > 0`` that contains the centre (zero shift).

    ncc: (N, S, S) with the zero shift at the centre -> bool (N, S, S) on ``ncc``'s device,
    empty where the centre is not positive. ``scipy.ndimage.label`` on the CPU, with a
    structure that connects no two images of the batch.
    """
    mask = (ncc > 0).cpu().numpy()
    c = ncc.shape[-1] // 2
    cross = np.zeros((3, 3, 3), bool)
    cross[1] = ndimage.generate_binary_structure(2, 1)
    labels, _ = ndimage.label(mask, cross)
    centre = labels[:, c, c][:, None, None]
    return torch.from_numpy((labels == centre) & (centre > 0)).to(ncc.device)


def periodicity(
    image: torch.Tensor, max_lag: int | None = None, return_shift: bool = False
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Highest self-similarity outside the central lobe: how strongly the image repeats.

    Args:
        image: see :func:`to_grey`.
        max_lag: largest shift per axis (px), default half the smaller side.
        return_shift: also return the (dy, dx) shift of that peak (px) per image.

    Returns:
        (N,) float64 in [0, 1] on the CPU: ~1 for stripes and grids (one period away the
        image matches itself), small for clutter and noise, 0 when the central lobe covers
        every shift (e.g. a smooth ramp: nothing repeats). With ``return_shift``, also
        (N, 2) int64 shifts (0, 0 where the score is 0).
    """
    ncc = self_similarity(image, max_lag)
    outside = ~central_lobe(ncc)
    masked = torch.where(outside, ncc, torch.full_like(ncc, -math.inf)).flatten(1)
    best, idx = masked.max(dim=1)
    found = torch.isfinite(best) & (best > 0)
    score = torch.where(found, best, torch.zeros_like(best)).cpu()
    if not return_shift:
        return score
    lag = ncc.shape[-1] // 2
    side = ncc.shape[-1]
    shift = torch.stack([idx // side - lag, idx % side - lag], dim=1).cpu()
    shift = torch.where(found.cpu()[:, None], shift, torch.zeros_like(shift))
    return score, shift
