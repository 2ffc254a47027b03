"""Labelled patches of one SR set: :class:`PatchSet`, and the patch PSNR it stores.

A :class:`PatchSet` holds, for seeded HR patch coordinates of one SR set at one scale,
the texture label, class probabilities and embedding of every HR patch, its entropy of
gradients, and per version (``"bicubic"`` and each SR model) the label, probabilities
and Y-PSNR of the patch at the same coordinates. :meth:`PatchSet.frame` is a pandas table
with one row per patch; :meth:`PatchSet.patches` cuts the pixels again when a figure needs
them. :mod:`helpers.texture.labelling` makes them (cached); :func:`concat_patchsets` pools
several sets.

PSNR is on the BT.601 Y channel with ``scale`` border pixels shaved (the SR convention,
:mod:`helpers.models.evaluate`), capped at :data:`PSNR_CAP` dB.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import cache
from ..data import SRPair, load_sr_set
from ..metrics.quality import psnr
from ..models import build
from ..models.evaluate import super_resolve
from .patches import crop_patches

__all__ = ["PSNR_CAP", "PatchSet", "concat_patchsets", "load_pairs", "patch_psnr"]

#: Patch PSNR ceiling (dB): an exactly reproduced patch (MSE 0, e.g. a flat black corner of
#: the Hubble image) would give +inf and make every mean infinite.
PSNR_CAP = 60.0


@dataclass
class PatchSet:
    """Labelled patches of one SR set at one scale; all arrays share the row order.

    Attributes:
        dataset, scale, size, seed: what was sampled (``size`` = HR patch side, px).
        spec: ``limit``, ``crop``, ``n_per_image``, ``n_images`` used to load/sample.
        classes: the classifier's label names (index order).
        classifier_key: the classifier checkpoint's key.
        coords: (N, 3) int64 (image index, top y, left x) in HR pixels, multiples of scale.
        image_names: name of each image (index = ``coords[:, 0]``).
        entropy: {"sobel", "magid2022"} -> (N,) float64 entropy of gradients of the HR
            patch, bits (:func:`helpers.metrics.gradient_entropy` operators).
        embedding: (N, E) float32 unit-norm texture embeddings of the HR patches.
        labels: version -> (N,) int64 label index; versions are "hr", "bicubic" and SR
            model names.
        probs: version -> (N, C) float32 class probabilities (rows sum to 1).
        psnr: version (not "hr") -> (N,) float64 Y-PSNR (dB, shave = scale, capped at
            :data:`PSNR_CAP`) of the version's patch against the HR patch.
        seconds: version -> wall time of SR + labelling (s); ``n_labelled`` counts patches
            labelled in this process (0 when loaded from the cache).
    """

    dataset: str
    scale: int
    size: int
    seed: int
    spec: dict[str, Any]
    classes: tuple[str, ...]
    classifier_key: str
    key: str
    coords: np.ndarray
    image_names: list[str]
    entropy: dict[str, np.ndarray]
    embedding: np.ndarray
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    probs: dict[str, np.ndarray] = field(default_factory=dict)
    psnr: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    n_labelled: dict[str, int] = field(default_factory=dict)
    _pairs: list[SRPair] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.coords)

    @property
    def models(self) -> list[str]:
        """The SR versions (bicubic first), in the order they were added."""
        return [v for v in self.labels if v != "hr"]

    def label_names(self, version: str = "hr") -> np.ndarray:
        """(N,) label names of ``version``'s patches."""
        self._check_version(version)
        return np.asarray(self.classes, dtype=object)[self.labels[version]]

    def _check_version(self, version: str) -> None:
        if version not in self.labels:
            raise KeyError(
                f"{self.dataset}: no labels for {version!r}; labelled versions: "
                f"{list(self.labels)} (add SR models with label_models)"
            )

    def frame(self) -> pd.DataFrame:
        """One row per patch: ``image``, ``y``, ``x``, ``entropy`` (Sobel), ``entropy_magid``,
        ``label``/``prob`` (the HR patch's label and its probability), and per SR version
        ``v``: ``label_v``, ``prob_v`` (probability of its own label), ``psnr_v`` (dB),
        ``kept_v`` (label equals the HR label)."""
        idx = np.arange(len(self))
        hr = self.labels["hr"]
        cols: dict[str, Any] = {
            "image": np.asarray(self.image_names, dtype=object)[self.coords[:, 0]],
            "y": self.coords[:, 1],
            "x": self.coords[:, 2],
            "entropy": self.entropy["sobel"],
            "entropy_magid": self.entropy["magid2022"],
            "label": self.label_names("hr"),
            "prob": self.probs["hr"][idx, hr],
        }
        for v in self.models:
            cols[f"label_{v}"] = self.label_names(v)
            cols[f"prob_{v}"] = self.probs[v][idx, self.labels[v]]
            cols[f"psnr_{v}"] = self.psnr[v]
            cols[f"kept_{v}"] = self.labels[v] == hr
        return pd.DataFrame(cols)

    def pairs(self) -> list[SRPair]:
        """The (HR, LR) image pairs the patches were cut from (reloaded when needed)."""
        if self._pairs is None:
            self._pairs = load_pairs(self.dataset, self.scale, self.spec)
        return self._pairs

    def patches(
        self,
        version: str = "hr",
        rows: Sequence[int] | np.ndarray | None = None,
        model: nn.Module | None = None,
        device: str | torch.device | None = None,
    ) -> torch.Tensor:
        """Patches (n, 3, p, p) at ``rows`` (default all) of ``"hr"``, ``"lr"`` (p = size /
        scale) or an SR version (pass its ``model``; ``"bicubic"`` needs none)."""
        rows = np.arange(len(self)) if rows is None else np.asarray(rows, dtype=np.int64)
        c = self.coords[rows]
        pairs = self.pairs()
        if version == "hr":
            return crop_patches([p.hr for p in pairs], c, self.size)
        if version == "lr":
            return crop_patches([p.lr for p in pairs], c, self.size, self.scale)
        if version == "bicubic" and model is None:
            model = build("bicubic", self.scale)
        if model is None:
            raise ValueError(f"patches({version!r}) needs the SR model that made them")
        out = torch.empty(len(c), 3, self.size, self.size)
        for i in np.unique(c[:, 0]):
            r = np.flatnonzero(c[:, 0] == i)
            sr = super_resolve(model, pairs[i].lr, device)
            out[torch.as_tensor(r)] = crop_patches(
                [sr], np.c_[np.zeros(len(r), int), c[r, 1:]], self.size
            )
        return out


def load_pairs(dataset: str, scale: int, spec: Mapping[str, Any]) -> list[SRPair]:
    """The (HR, LR) pairs of SR set ``dataset`` at ``scale`` (``spec``'s ``limit`` and
    ``crop`` passed to :func:`helpers.data.load_sr_set`); ``ValueError`` when empty."""
    pairs = load_sr_set(dataset, scale, limit=spec.get("limit"), crop=spec.get("crop"))
    if not pairs:
        raise ValueError(f"dataset {dataset!r} has no images")
    return pairs


def patch_psnr(sr: torch.Tensor, hr: torch.Tensor, scale: int) -> np.ndarray:
    """Y-PSNR (dB) per patch, ``scale`` px shaved, capped at :data:`PSNR_CAP`.

    sr, hr: (N, 3, p, p) in [0, 1] -> (N,) float64.
    """
    return np.minimum(psnr(sr, hr, shave=scale, y_channel=True).cpu().numpy(), PSNR_CAP)


def concat_patchsets(sets: Sequence[PatchSet], name: str = "pooled") -> PatchSet:
    """Pool the patches of several sets (same classifier, scale, patch size) into one, for
    analyses over all test sets; keeps the versions every set has, in the first set's
    order. Image indices are renumbered; :meth:`PatchSet.patches` still works."""
    if not sets:
        raise ValueError("nothing to pool")
    first = sets[0]
    for ps in sets[1:]:
        if (ps.classifier_key, ps.scale, ps.size) != (
            first.classifier_key,
            first.scale,
            first.size,
        ):
            raise ValueError(
                f"cannot pool {ps.dataset} with {first.dataset}: classifier, scale or patch "
                "size differ"
            )
    versions = [v for v in first.labels if all(v in ps.labels for ps in sets)]
    offsets = np.cumsum([0] + [len(ps.image_names) for ps in sets[:-1]])
    coords = np.concatenate(
        [ps.coords + np.array([o, 0, 0]) for ps, o in zip(sets, offsets, strict=True)]
    )

    def cat(get: Callable[[PatchSet], np.ndarray]) -> np.ndarray:
        return np.concatenate([get(ps) for ps in sets])

    return PatchSet(
        dataset=name,
        scale=first.scale,
        size=first.size,
        seed=first.seed,
        spec={"pooled": [ps.dataset for ps in sets]},
        classes=first.classes,
        classifier_key=first.classifier_key,
        key=cache.key("texture_pooled", {}, inputs=[ps.key for ps in sets], length=20),
        coords=coords,
        image_names=[f"{ps.dataset}/{n}" for ps in sets for n in ps.image_names],
        entropy={k: cat(lambda ps, k=k: ps.entropy[k]) for k in first.entropy},
        embedding=cat(lambda ps: ps.embedding),
        labels={v: cat(lambda ps, v=v: ps.labels[v]) for v in versions},
        probs={v: cat(lambda ps, v=v: ps.probs[v]) for v in versions},
        psnr={v: cat(lambda ps, v=v: ps.psnr[v]) for v in versions if v != "hr"},
        seconds={v: sum(ps.seconds.get(v, 0.0) for ps in sets) for v in versions},
        n_labelled={v: sum(ps.n_labelled.get(v, 0) for ps in sets) for v in versions},
        _pairs=[p for ps in sets for p in ps.pairs()],
    )
