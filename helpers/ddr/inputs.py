"""The test inputs of the degradation-semantics chapter: the same contents under each
degradation (the paper's design: contents aligned across degradation types).

A *content* is an HR crop (a photo tile or a procedural texture); each becomes one clean
LR input (the book's one HR->LR pair, :func:`helpers.data.resize.hr_lr_pair`) and, per
degradation and strength, one degraded LR input: Gaussian blur of the HR *before* the
bicubic downscale, Gaussian noise and JPEG *after* it (on the 8-bit LR), all from
:mod:`helpers.data.degradations`, seeded.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..data import dtd10, load_images, procedural
from ..data.degradations import degrade, make_generator
from ..data.resize import hr_lr_pair
from ..io import load_image

__all__ = [
    "DEFAULT_LEVELS",
    "KINDS",
    "LEVEL_RANGES",
    "DegradedSet",
    "check_levels",
    "contents",
    "degraded_set",
]

#: Degradation types, in the order of every table and legend.
KINDS: tuple[str, ...] = ("clean", "blur", "noise", "jpeg")

#: Allowed strengths: blur sigma (HR px, before the x``scale`` downscale), noise sigma
#: (grey levels of 255, on the LR), JPEG quality (on the LR; lower = stronger).
LEVEL_RANGES: dict[str, tuple[float, float]] = {
    "blur": (0.5, 8.0),
    "noise": (1.0, 50.0),
    "jpeg": (5.0, 95.0),
}

#: Two strengths per type, mild then strong (a judgement: each visibly degrades a x4 LR
#: without erasing it; the paper's levels are not in the text available here).
DEFAULT_LEVELS: dict[str, tuple[float, ...]] = {
    "blur": (2.0, 4.0),
    "noise": (10.0, 20.0),
    "jpeg": (40.0, 20.0),
}


def check_levels(levels: Mapping[str, Sequence[float]]) -> dict[str, tuple[float, ...]]:
    """``levels`` as ``{kind: (strength, ...)}`` in :data:`KINDS` order, validated:
    unknown kinds and strengths outside :data:`LEVEL_RANGES` raise ``ValueError``."""
    unknown = sorted(set(levels) - set(LEVEL_RANGES))
    if unknown:
        raise ValueError(
            f"unknown degradation(s) {unknown}; valid: {sorted(LEVEL_RANGES)} "
            "('clean' is always included)"
        )
    out: dict[str, tuple[float, ...]] = {}
    for kind in KINDS[1:]:
        if kind not in levels:
            continue
        vals = tuple(float(v) for v in levels[kind])
        lo, hi = LEVEL_RANGES[kind]
        bad = [v for v in vals if not lo <= v <= hi]
        if bad or not vals:
            raise ValueError(
                f"{kind} strengths {list(vals)} must be one or more values in [{lo}, {hi}]"
            )
        out[kind] = vals
    if not out:
        raise ValueError("give at least one degradation besides 'clean'")
    return out


def _tiles(img: torch.Tensor, size: int, k: int) -> list[tuple[int, int]]:
    """``k`` of the non-overlapping ``size`` px grid tiles of ``img``, evenly spaced in
    reading order away from the first and last (deterministic; no hand-picked crops)."""
    h, w = img.shape[-2:]
    grid = [(y, x) for y in range(0, h - size + 1, size) for x in range(0, w - size + 1, size)]
    if len(grid) < k:
        raise ValueError(f"an image of {h}x{w} px has {len(grid)} tiles of {size} px, not {k}")
    idx = np.linspace(0, len(grid) - 1, k + 2)[1:-1].round().astype(int)
    return [grid[i] for i in idx]


def contents(
    photos: Mapping[str, int], n_textures: int, size: int, limit: int | None = None, seed: int = 0
) -> tuple[list[str], torch.Tensor]:
    """The chapter's contents: HR crops (N, 3, size, size) in [0, 1] and their names.

    Args:
        photos: image set (:func:`helpers.data.load_images` name) -> tiles per image;
            ``"dtd10_test"`` -> images per class of DTD-10's test split (centre crop each).
        n_textures: procedural textures, one per DTD label (the first ``n_textures`` of
            :data:`helpers.data.procedural.LABELS_EMBEDDED`).
        size: HR side in px.
        limit: images per photo set (None: all).
    """
    names, crops = [], []
    for set_name, k in photos.items():
        if set_name == "dtd10_test":
            taken: dict[str, int] = {}
            for path, label in dtd10("test"):
                if taken.get(label, 0) < k:
                    taken[label] = taken.get(label, 0) + 1
                    img = load_image(path)
                    y, x = (img.shape[-2] - size) // 2, (img.shape[-1] - size) // 2
                    names.append(f"dtd:{path.stem}")
                    crops.append(img[0, :, y : y + size, x : x + size])
            continue
        for stem, img in load_images(set_name)[:limit]:
            for y, x in _tiles(img, size, k):
                names.append(f"{stem}@{y},{x}")
                crops.append(img[0, :, y : y + size, x : x + size])
    labels = procedural.LABELS_EMBEDDED[:n_textures]
    for i, label in enumerate(labels):
        names.append(f"texture:{label}")
        crops.append(procedural.generate(label, 1, size, seed=seed + i, split="test")[0])
    if len(crops) < 2:
        raise ValueError("need at least two contents (photos and/or textures)")
    return names, torch.stack(crops)


@dataclass(frozen=True)
class DegradedSet:
    """LR inputs (N, 3, h, w) in [0, 1] with their labels.

    ``content`` (N,) int indexes ``content_names``; ``kind`` (N,) str in :data:`KINDS`;
    ``level`` (N,) float (0 for clean); ``hr`` (C, 3, s*h, s*w) the clean HR of each
    content (for PSNR of the clean inputs).
    """

    lr: torch.Tensor
    content: np.ndarray
    kind: np.ndarray
    level: np.ndarray
    content_names: list[str]
    hr: torch.Tensor
    scale: int

    @property
    def condition(self) -> np.ndarray:
        """(N,) str: ``kind`` with its strength (``"blur 2"``, ``"clean"``)."""
        pairs = zip(self.kind, self.level, strict=True)
        return np.array([k if k == "clean" else f"{k} {v:g}" for k, v in pairs])

    def subset(self, mask: np.ndarray) -> DegradedSet:
        """The inputs where ``mask`` (N,) bool is true (contents and HR unchanged)."""
        m = np.asarray(mask, bool)
        return DegradedSet(
            self.lr[torch.from_numpy(m)], self.content[m], self.kind[m], self.level[m],
            self.content_names, self.hr, self.scale,
        )  # fmt: skip


def degraded_set(
    hr: torch.Tensor,
    names: Sequence[str],
    scale: int,
    levels: Mapping[str, Sequence[float]] = DEFAULT_LEVELS,
    seed: int = 0,
) -> DegradedSet:
    """Every content clean and under every degradation and strength (content-major).

    Args:
        hr: (C, 3, H, W) HR contents in [0, 1], H and W multiples of ``scale``.
        names: C content names.
        levels: ``{kind: strengths}`` (:func:`check_levels`).
        seed: the noise draws (one generator for the whole set).
    """
    levels = check_levels(levels)
    if hr.ndim != 4 or len(names) != len(hr):
        raise ValueError(f"hr must be (C, 3, H, W) with C = len(names) = {len(names)}")
    hr, clean = hr_lr_pair(hr, scale)
    gen = make_generator(seed)
    blocks: list[tuple[str, float, torch.Tensor]] = [("clean", 0.0, clean)]
    for kind, vals in levels.items():
        for v in vals:
            if kind == "blur":
                x = hr_lr_pair(degrade(hr, "blur", v), scale)[1]
            elif kind == "noise":
                x = (degrade(clean, "noise", v, seed=gen) * 255).round() / 255
            else:
                x = degrade(clean, "jpeg", v)
            blocks.append((kind, v, x))
    c = len(names)
    lr = torch.stack([b[2] for b in blocks], 1).flatten(0, 1)  # content-major
    return DegradedSet(
        lr=lr.contiguous(),
        content=np.repeat(np.arange(c), len(blocks)),
        kind=np.tile(np.array([b[0] for b in blocks]), c),
        level=np.tile(np.array([b[1] for b in blocks]), c),
        content_names=list(names),
        hr=hr,
        scale=scale,
    )
