"""Texture composites with exact segment masks: the ground truth for TSRN-S's guided Gram
loss and for measuring texture bleeding across segments.

A composite tiles K textures (2-4) of different classes into one image by K smooth random
regions; its masks (1, K, H, W) are one-hot and cover every pixel. At embedded the
textures are procedural (:mod:`helpers.data.procedural`), at benchmark DTD-10 photographs
(real images, segments exact because the composite is made from them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..data.textures import TextureData
from ..runtime import derive_seed

__all__ = ["Composites", "check_masks", "make_composites", "region_masks", "with_guides"]


def region_masks(k: int, size: int, gen: torch.Generator, cells: int = 3) -> torch.Tensor:
    """(1, k, size, size) one-hot masks of ``k`` smooth random regions: the argmax of
    ``k`` random fields on a ``cells`` x ``cells`` grid, bicubically up-sampled. Every
    region is non-empty (redrawn otherwise)."""
    if not 1 <= k <= 8:
        raise ValueError(f"a composite has 1-8 segments, got {k}")
    for _ in range(100):
        field = torch.rand(1, k, cells, cells, generator=gen)
        field = F.interpolate(field, size=(size, size), mode="bicubic", align_corners=False)
        idx = field.argmax(1)
        masks = F.one_hot(idx, k).permute(0, 3, 1, 2).float()
        if bool((masks.sum((-2, -1)) > 0.05 * size * size).all()):
            return masks
    raise RuntimeError(f"could not draw {k} regions of at least 5% each on {size} px")


def check_masks(image: torch.Tensor, masks: torch.Tensor) -> None:
    """``ValueError`` unless ``masks`` (N, K, H, W) match ``image`` (N, 3, H, W) in count
    and size, lie in [0, 1] and cover every pixel exactly once (sum over K = 1)."""
    if masks.ndim != 4 or image.ndim != 4:
        raise ValueError(
            f"image and masks must be (N, 3, H, W) and (N, K, H, W), got "
            f"{tuple(image.shape)} and {tuple(masks.shape)}"
        )
    if masks.shape[0] != image.shape[0] or masks.shape[-2:] != image.shape[-2:]:
        raise ValueError(
            f"masks {tuple(masks.shape)} do not match image {tuple(image.shape)}: one set of "
            "K masks per image, each the image's height and width"
        )
    if bool((masks < 0).any() or (masks > 1).any()):
        raise ValueError("masks must lie in [0, 1]")
    cover = masks.sum(1)
    if not torch.allclose(cover, torch.ones_like(cover), atol=1e-4):
        bad = float((cover - 1).abs().gt(1e-4).float().mean())
        raise ValueError(
            f"masks must cover every pixel exactly once (sum over segments = 1); "
            f"{bad:.1%} of pixels do not: add an 'other' segment for uncovered pixels"
        )


@dataclass(frozen=True)
class Composites:
    """``images`` (N, 3, S, S) in [0, 1]; ``masks`` (N, K, S, S), one-hot over the
    segments (K = the largest segment count of the set; an image with fewer segments has
    empty trailing masks); ``labels``: per image the classes of its used segments, in mask
    order."""

    images: torch.Tensor
    masks: torch.Tensor
    labels: list[list[str]]


def _crop(img: torch.Tensor, size: int, gen: torch.Generator) -> torch.Tensor:
    """A random ``size`` crop of (3, H, W) uint8/float -> float (3, size, size) in [0, 1];
    images smaller than ``size`` are up-sampled first (bicubic, clamped)."""
    x = img.float() / 255.0 if img.dtype == torch.uint8 else img.float()
    h, w = x.shape[-2:]
    if min(h, w) < size:
        f = size / min(h, w)
        x = F.interpolate(x[None], scale_factor=f, mode="bicubic", align_corners=False)[0]
        x = x.clamp(0, 1)
        h, w = x.shape[-2:]
    y0 = int(torch.randint(h - size + 1, (1,), generator=gen))
    x0 = int(torch.randint(w - size + 1, (1,), generator=gen))
    return x[:, y0 : y0 + size, x0 : x0 + size]


def make_composites(
    data: TextureData, n: int, size: int, k: int | Sequence[int] = (2, 3, 4), seed: int = 0
) -> Composites:
    """``n`` composites of ``size`` px from ``data`` (texture images with classes), each
    of K distinct classes, K drawn from ``k``; every composite carries ``max(k)`` masks
    (unused ones empty) so a set stacks. Seeded: the same call gives the same composites
    on every run and machine (torch's CPU generator)."""
    ks = [k] if isinstance(k, int) else list(k)
    if not ks or min(ks) < 2 or max(ks) > len(data.classes):
        raise ValueError(
            f"segments per composite must be in 2..{len(data.classes)} (classes of "
            f"{data.name}), got {ks}"
        )
    gen = torch.Generator().manual_seed(derive_seed(seed, "composites", n, size))
    by_class: dict[int, list[int]] = {}
    for i, lab in enumerate(data.labels.tolist()):
        by_class.setdefault(int(lab), []).append(i)
    present = sorted(by_class)
    if len(present) < max(ks):
        raise ValueError(f"{data.name} has images of {len(present)} classes; need {max(ks)}")
    top = max(ks)
    images, masks, labels = [], [], []
    for _ in range(n):
        kk = ks[int(torch.randint(len(ks), (1,), generator=gen))]
        chosen = [present[i] for i in torch.randperm(len(present), generator=gen)[:kk].tolist()]
        m = region_masks(kk, size, gen)
        tex = []
        for c in chosen:
            pool = by_class[c]
            tex.append(
                _crop(data[pool[int(torch.randint(len(pool), (1,), generator=gen))]][0], size, gen)
            )
        img = (torch.stack(tex) * m[0].unsqueeze(1)).sum(0, keepdim=True)
        pad = torch.zeros(1, top - kk, size, size)
        images.append(img)
        masks.append(torch.cat([m, pad], 1))
        labels.append([data.classes[c] for c in chosen])
    return Composites(torch.cat(images), torch.cat(masks), labels)


def with_guides(comp: Composites) -> list[torch.Tensor]:
    """Training images for :func:`helpers.train.train`: each composite as (1, 3 + K, S, S),
    its masks as guide channels after RGB (the loop crops them with the pixels)."""
    return [torch.cat([im, m], 0)[None] for im, m in zip(comp.images, comp.masks, strict=True)]
