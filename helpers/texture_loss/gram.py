"""Gram matrices, the texture loss (Gatys et al.; Gondal et al. Eq. 1 and 4), the feature
(perceptual) loss, and the Gram and feature distances used as metrics (Eq. 5).

Features are ``(N, C, H, W)`` maps of named layers (``{layer: tensor}``, as
:func:`helpers.models.taps.tap` returns them). Gram matrices are normalised by
``C * H * W`` (the released TSRN code's ``gram_matrix``), so their entries do not grow with
the patch; the loss of one layer is the mean squared difference of the two Gram matrices
(the released ``criterion``; Eq. 1's ``1 / (4 N^2 M^2)`` on the unnormalised Gram is this
times ``C^2 / 4``, a per-layer constant), summed over layers with weight 1.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

__all__ = [
    "feature_distance",
    "feature_loss",
    "gram",
    "gram_distance",
    "gram_loss",
    "guided_gram",
    "resize_masks",
]

Feats = Mapping[str, torch.Tensor]


def gram(f: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) -> (N, C, C): ``F F^T / (C H W)`` over the flattened positions. It is
    orderless: any permutation of the H*W positions gives the same matrix."""
    if f.ndim != 4:
        raise ValueError(f"gram needs (N, C, H, W) features, got {tuple(f.shape)}")
    n, c, h, w = f.shape
    flat = f.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def resize_masks(masks: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, K, H, W) segment masks in [0, 1] -> (N, K, h, w) at a layer's resolution, by
    area averaging (a pooled feature sees the fraction of its cell each segment covers)."""
    if masks.ndim != 4:
        raise ValueError(f"masks must be (N, K, H, W), got {tuple(masks.shape)}")
    if tuple(masks.shape[-2:]) == tuple(size):
        return masks
    return F.adaptive_avg_pool2d(masks, size)


def guided_gram(f: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Per-segment Gram matrices (guided Gram, Gatys et al. 2017; Gondal et al. Eq. 4).

    ``f`` (N, C, H, W); ``masks`` (N, K, H0, W0) with the image's segments, resized to
    (H, W) by :func:`resize_masks`. Segment k's matrix is ``(F m_k)(F m_k)^T / (C sum m_k)``:
    the features weighted by the mask, normalised by the segment's area, so one all-ones
    mask gives :func:`gram`. Returns (N, K, C, C). The paper masks the images and runs the
    loss network once per segment; masking the features (the cited guided-Gram method)
    needs one pass.
    """
    n, c, h, w = f.shape
    if masks.shape[0] != n:
        raise ValueError(f"masks are for {masks.shape[0]} images, features for {n}")
    m = resize_masks(masks.to(f.dtype), (h, w)).reshape(n, -1, h * w)
    flat = f.reshape(n, c, h * w)
    # Each position is weighted once by its segment share (sum_p m_p f_ip f_jp), so a cell
    # a boundary cuts counts by the fraction of it the segment covers.
    g = torch.einsum("nkp,ncp,ndp->nkcd", m, flat, flat)
    area = m.sum(-1).clamp_min(1e-8)  # (N, K)
    return g / (c * area)[..., None, None]


def _check_pair(a: Feats, b: Feats) -> None:
    if set(a) != set(b):
        raise ValueError(f"feature layers differ: {sorted(a)} vs {sorted(b)}")


def gram_loss(sr: Feats, hr: Feats, masks: torch.Tensor | None = None) -> torch.Tensor:
    """Texture loss: sum over layers of ``mean((G(sr) - G(hr))^2)`` (scalar). With
    ``masks`` (N, K, H, W) the per-segment (guided) Gram matrices are compared."""
    _check_pair(sr, hr)
    g = gram if masks is None else lambda f: guided_gram(f, masks)
    return sum(F.mse_loss(g(sr[name]), g(hr[name])) for name in sr)


def feature_loss(sr: Feats, hr: Feats) -> torch.Tensor:
    """Feature (perceptual) loss on the same layers: sum of per-layer mean squared feature
    differences (scalar). Unlike the Gram loss it compares positions one to one."""
    _check_pair(sr, hr)
    return sum(F.mse_loss(sr[name], hr[name]) for name in sr)


def gram_distance(a: Feats, b: Feats, masks: torch.Tensor | None = None) -> torch.Tensor:
    """Eq. 5 per image: ``sum_l (1 / C_l^2) sum_ij (G_ij - A_ij)^2`` -> (N,). With
    ``masks`` the per-segment Gram matrices are compared (mean over segments)."""
    _check_pair(a, b)
    if masks is None:
        return sum((gram(a[n]) - gram(b[n])).pow(2).mean((-2, -1)) for n in a)
    return sum(
        (guided_gram(a[n], masks) - guided_gram(b[n], masks)).pow(2).mean((-2, -1)).mean(1)
        for n in a
    )


def feature_distance(a: Feats, b: Feats) -> torch.Tensor:
    """The uncalibrated LPIPS distance ("Net-F" of the paper's Table 5) per image -> (N,):
    features unit-normalised along channels at every position, squared differences summed
    over channels, averaged over positions, summed over layers (all weights 1)."""
    _check_pair(a, b)
    return sum(
        (F.normalize(a[n], dim=1) - F.normalize(b[n], dim=1)).pow(2).sum(1).mean((-2, -1))
        for n in a
    )
