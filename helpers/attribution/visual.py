"""What the LAM paper draws from a map: the normalised map, the area of contribution (a
kernel density of the map, Fig. 1), its overlay on the LR image, Fig. 3's curves, and the
edge pixels of an LR image (:func:`edge_mask`, Fig. 3's "edges and textures").

Returns arrays and tensors only; the figures themselves are in :mod:`helpers.plots.lam`.

May import: :mod:`.result` (and the base modules, numpy, torch, matplotlib's colormaps).
"""

from __future__ import annotations

from typing import Literal

import matplotlib
import numpy as np
import torch

from .result import LAMResult, _as_map


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


def edge_mask(lr: torch.Tensor) -> np.ndarray:
    """The "edge and texture" pixels of an LR image: where its gradient magnitude (3x3
    Sobel ``|gx| + |gy|`` of the channel mean, replicate padding) is above its median.

    Args:
        lr: (1, C, H, W) or (C, H, W) in [0, 1].

    Returns:
        (H, W) bool array, True on the pixels above the median (about half of them).
    """
    img = lr[0] if lr.ndim == 4 else lr
    grey = img.detach().double().mean(dim=0)[None, None]
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=torch.float64)
    padded = torch.nn.functional.pad(grey, (1, 1, 1, 1), mode="replicate")
    gx = torch.nn.functional.conv2d(padded, kx.view(1, 1, 3, 3))
    gy = torch.nn.functional.conv2d(padded, kx.T.contiguous().view(1, 1, 3, 3))
    mag = (gx.abs() + gy.abs())[0, 0].numpy()
    return mag > np.median(mag)
