"""Fig. 3, 4 and 7 patches as the released Fig. 3 notebook samples and scores them.

Magid et al.'s released notebook ("Figure3-Entropy vs PSNR"; settings in
:data:`helpers.published.MAGID_FIG3_CODE`) cuts, per image, 100 LR patches of 48 px and the
matching 192 px HR patches at positions drawn with Python's ``random.randint`` after
``random.seed(123)`` (reseeded for every image), upscales each LR *patch* with MATLAB-like
bicubic, clips and truncates it to integers, and scores it on RGB in 0-255 without a border
shave; patches with a PSNR outside [0, 60] dB (an exact reproduction gives MSE 0) are
dropped. The entropy of gradients is :func:`helpers.metrics.gradient_entropy`.

- :func:`released_coords`: the positions, step for step.
- :func:`bicubic_psnr`: bicubic PSNR of LR/HR patches, ``"released"`` or ``"y"`` (the
  SR convention: Y channel, ``scale`` px shaved).
- :func:`paper_rule`: how many patches the paper's entropy/PSNR >= 0.4 keeps.
- :func:`complexity_set` -> :class:`ComplexitySet`: the patches of one SR set with their
  entropies (every operator), PSNR, kept mask and (with a classifier) HR labels; cached.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from .. import cache
from ..data import SRPair
from ..data.resize import imresize
from ..metrics.quality import ENTROPY_OPERATORS, gradient_entropy, psnr
from ..published import MAGID_FIG3_CODE, MAGID_HIGH_RATIO
from .classifier import cache_root
from .patches import crop_patches, label_patches
from .patchset import load_pairs

__all__ = [
    "COMPLEXITY_SOURCES",
    "ComplexitySet",
    "bicubic_psnr",
    "complexity_set",
    "released_coords",
]

#: Sources whose changes alter a complexity set (part of its cache key).
COMPLEXITY_SOURCES: tuple[str, ...] = (
    "texture/complexity.py",
    "texture/patches.py",
    "metrics/quality.py",
    "data/resize.py",
)


def released_coords(
    lr_sizes: Sequence[tuple[int, int]],
    scale: int,
    lr_patch: int = MAGID_FIG3_CODE["lr_patch"],
    n_per_image: int = MAGID_FIG3_CODE["n_per_image"],
    seed: int = MAGID_FIG3_CODE["seed"],
) -> np.ndarray:
    """The released notebook's patch positions: for each image, ``random.seed(seed)`` then
    ``n_per_image`` times ``x = randint(0, H - p)``, ``y = randint(0, W - p)`` (rows, then
    columns; LR px). Returns int64 (N, 3): image index, top and left in HR px (x scale)."""
    rows = []
    for i, (h, w) in enumerate(lr_sizes):
        if min(h, w) < lr_patch:
            raise ValueError(f"image {i} is {h}x{w} LR px, smaller than the {lr_patch} px patch")
        rng = random.Random(seed)  # the notebook reseeds the global generator per image
        for _ in range(n_per_image):
            x = rng.randint(0, h - lr_patch)
            y = rng.randint(0, w - lr_patch)
            rows.append((i, x * scale, y * scale))
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


def bicubic_psnr(
    lr: torch.Tensor, hr: torch.Tensor, scale: int, convention: str = "released"
) -> np.ndarray:
    """Bicubic PSNR (dB) of each LR patch (N, 3, p, p) upscaled alone against its HR patch
    (N, 3, p s, p s), both in [0, 1] on 8-bit levels.

    ``"released"``: the notebook's ``calculate_bicubic_psnrs``: MATLAB-like bicubic of the
    0-255 patch (float32, :func:`helpers.data.resize.imresize`), ``clip(0, 255).int()``
    (truncation), PSNR over the RGB values in 0-255, no shave; MSE 0 gives ``inf``.
    ``"y"``: the same upscaling rounded to 8 bit, Y-PSNR with ``scale`` px shaved.
    """
    if convention not in ("released", "y"):
        raise ValueError(f"convention must be 'released' or 'y', got {convention!r}")
    lr_l = torch.round(lr.double().clamp(0, 1) * 255).float()
    hr_l = torch.round(hr.double().clamp(0, 1) * 255)
    up = imresize(lr_l, size=tuple(hr.shape[-2:]))
    if convention == "y":
        sr = torch.round(up.clamp(0, 255)).double() / 255
        return psnr(sr, hr_l / 255, shave=scale, y_channel=True).numpy()
    up = up.clamp(0, 255).int().double()
    mse = ((hr_l - up) / 255).pow(2).flatten(1).mean(1)
    with np.errstate(divide="ignore"):
        return -10 * np.log10(mse.numpy())


@dataclass
class ComplexitySet:
    """Fig. 3/4/7 patches of one SR set (rows share one order).

    ``coords`` (N, 3) int64 (image, top, left) in HR px; ``entropy``: operator -> (N,) bits
    (:data:`helpers.metrics.quality.ENTROPY_OPERATORS`); ``psnr``: (N,) bicubic PSNR, dB,
    in ``convention``; ``keep``: 0 <= PSNR <= ``psnr_max`` (the notebook's filter);
    ``labels``: (N,) HR label names, or None without a classifier.
    """

    dataset: str
    scale: int
    lr_patch: int
    convention: str
    coords: np.ndarray
    image_names: list[str]
    entropy: dict[str, np.ndarray]
    psnr: np.ndarray
    keep: np.ndarray
    labels: np.ndarray | None
    _pairs: list[SRPair] = field(repr=False, default_factory=list)

    def __len__(self) -> int:
        return len(self.coords)

    @property
    def size(self) -> int:
        """HR patch side (px)."""
        return self.lr_patch * self.scale

    def frame(self, kept: bool = True) -> pd.DataFrame:
        """One row per patch (only the kept ones by default): ``row`` (index in the set),
        ``image``, ``y``, ``x``, ``entropy_<operator>``, ``psnr_bicubic``, ``label``."""
        cols = {
            "row": np.arange(len(self)),
            "image": np.asarray(self.image_names, object)[self.coords[:, 0]],
            "y": self.coords[:, 1],
            "x": self.coords[:, 2],
            **{f"entropy_{k}": v for k, v in self.entropy.items()},
            "psnr_bicubic": self.psnr,
            "label": self.labels,
        }
        df = pd.DataFrame(cols)
        return df[self.keep].reset_index(drop=True) if kept else df

    def patches(self, version: str = "hr", rows: Sequence[int] | np.ndarray | None = None):
        """(n, 3, p, p) ``"hr"`` or ``"lr"`` patches at ``rows`` (indices into the set)."""
        rows = np.arange(len(self)) if rows is None else np.asarray(rows, np.int64)
        if version == "hr":
            return crop_patches([p.hr for p in self._pairs], self.coords[rows], self.size)
        if version == "lr":
            imgs = [p.lr for p in self._pairs]
            return crop_patches(imgs, self.coords[rows], self.size, self.scale)
        raise ValueError(f"version must be 'hr' or 'lr', got {version!r}")


def complexity_set(
    dataset: str,
    scale: int = 4,
    spec: dict | None = None,
    clf=None,
    lr_patch: int = MAGID_FIG3_CODE["lr_patch"],
    n_per_image: int = MAGID_FIG3_CODE["n_per_image"],
    seed: int = MAGID_FIG3_CODE["seed"],
    convention: str = "released",
    psnr_max: float = MAGID_FIG3_CODE["psnr_max"],
    device: str | torch.device | None = None,
    cache_dir: str | Path | None = None,
) -> ComplexitySet:
    """The released notebook's patches of SR set ``dataset`` (``spec``: its ``limit`` /
    ``crop``), their entropies, bicubic PSNR (``convention``, :func:`bicubic_psnr`) and,
    with ``clf`` (a :class:`helpers.texture.labelling.TextureClassifier`), the HR patches'
    labels; cached, keyed by settings, code, pixels and classifier."""
    spec = dict(spec or {})
    pairs = load_pairs(dataset, scale, spec)
    settings = {
        "dataset": dataset, "scale": scale, "spec": spec, "lr_patch": lr_patch,
        "n_per_image": n_per_image, "seed": seed, "convention": convention,
    }  # fmt: skip
    pixels = cache.tensor_digest(*[t for p in pairs for t in (p.hr, p.lr)])
    inputs = [pixels] + ([clf.key] if clf is not None else [])
    key = cache.key(
        "texture_complexity", settings, cache.code_digest(*COMPLEXITY_SOURCES), inputs, length=20
    )
    path = cache.entry_path(
        "complexity", key, root=cache_root(cache_dir), prefix=f"{dataset}-x{scale}-"
    )

    def compute() -> dict:
        coords = released_coords(
            [tuple(p.lr.shape[-2:]) for p in pairs], scale, lr_patch, n_per_image, seed
        )
        ent = {k: np.empty(len(coords)) for k in ENTROPY_OPERATORS}
        val = np.empty(len(coords))
        lab = np.empty(len(coords), np.int64)
        for i in np.unique(coords[:, 0]):
            r = np.flatnonzero(coords[:, 0] == i)
            c = np.c_[np.zeros(len(r), np.int64), coords[r, 1:]]
            hr = crop_patches([pairs[i].hr], c, lr_patch * scale)
            lr = crop_patches([pairs[i].lr], c, lr_patch * scale, scale)
            for k in ENTROPY_OPERATORS:
                ent[k][r] = gradient_entropy(hr, operator=k).numpy()
            val[r] = bicubic_psnr(lr, hr, scale, convention)
            if clf is not None:
                lab[r] = label_patches(clf.model, hr, device=device, progress=False)["label_idx"]
        out = {"coords": torch.from_numpy(coords), "psnr": torch.from_numpy(val)}
        out.update({f"entropy_{k}": torch.from_numpy(v) for k, v in ent.items()})
        if clf is not None:
            out["labels"] = torch.from_numpy(lab)
        return out

    rec, _ = cache.cached(path, key, compute, "texture complexity patches")
    p = rec["psnr"].numpy()
    labels = None
    if clf is not None:
        labels = np.asarray(clf.classes, dtype=object)[rec["labels"].numpy()]
    return ComplexitySet(
        dataset=dataset,
        scale=scale,
        lr_patch=lr_patch,
        convention=convention,
        coords=rec["coords"].numpy(),
        image_names=[q.name for q in pairs],
        entropy={k: rec[f"entropy_{k}"].numpy() for k in ENTROPY_OPERATORS},
        psnr=p,
        keep=(p >= 0) & (p <= psnr_max),
        labels=labels,
        _pairs=pairs,
    )


def paper_rule(cs: ComplexitySet, operator: str = "magid2022") -> dict[str, float | int]:
    """How many kept patches of ``cs`` the paper's rule entropy / bicubic PSNR >=
    :data:`helpers.published.MAGID_HIGH_RATIO` keeps: ``count``, ``share`` (of the kept
    patches), ``n`` (kept patches), ``n_sampled``, ``threshold``."""
    df = cs.frame()
    ratio = df[f"entropy_{operator}"] / df.psnr_bicubic
    count = int((ratio >= MAGID_HIGH_RATIO).sum())
    return {
        "count": count,
        "share": count / len(df) if len(df) else 0.0,
        "n": len(df),
        "n_sampled": len(cs),
        "threshold": MAGID_HIGH_RATIO,
    }
