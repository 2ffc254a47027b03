"""Label stability of the texture classifier under small shifts of the patch.

A classifier whose label changes when the patch moves by a few pixels says little about
the texture of a photo, whatever its test accuracy (at ``embedded`` that accuracy is on
procedural textures; on photos nothing is validated). :func:`label_stability` measures
its agreement with itself: each HR patch against the same-size patch shifted by ``d`` px
in one seeded random direction (up, down, left or right, among those inside the image).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch
from scipy import stats

from ..data import SRPair
from .deepten import DeepTEN
from .patches import crop_patches, label_patches

__all__ = ["label_stability"]

_DIRECTIONS = np.array([[-1, 0], [1, 0], [0, -1], [0, 1]], dtype=np.int64)


def label_stability(
    model: DeepTEN,
    pairs: Sequence[SRPair],
    coords: np.ndarray,
    size: int,
    shifts: Sequence[int] = (2, 4, 8),
    max_patches: int | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> pd.DataFrame:
    """Share of patches whose label survives a shift of ``d`` px, per ``d`` in ``shifts``.

    ``coords`` (N, 3) (image, top, left) in HR px of ``size`` px patches of ``pairs``' HR
    images; at most ``max_patches`` of them (a seeded subset). Per patch and shift one
    direction is drawn among those that keep the patch inside the image (patches with
    none are skipped; ``share`` and the CI are None when none is left), so patches are
    independent trials: the 95% CI is Wilson's
    (``scipy.stats.binomtest``). Returns rows ``shift`` (px), ``n``, ``kept``, ``share``,
    ``ci_lo``, ``ci_hi``.
    """
    c = np.asarray(coords, np.int64)
    rng = np.random.default_rng(seed)
    if max_patches is not None and len(c) > max_patches:
        c = c[np.sort(rng.choice(len(c), max_patches, replace=False))]
    hr = [p.hr for p in pairs]
    base = label_patches(model, crop_patches(hr, c, size), device=device, progress=False)
    sizes = np.array([tuple(h.shape[-2:]) for h in hr])[c[:, 0]]
    rows = []
    for d in shifts:
        moved = c[:, None, 1:] + d * _DIRECTIONS[None]  # (N, 4, 2)
        inside = (moved >= 0).all(-1) & (moved + size <= sizes[:, None]).all(-1)
        ok = inside.any(1)
        # one random valid direction per patch
        score = rng.random(inside.shape) + inside
        pick = score.argmax(1)
        shifted = np.c_[c[:, 0], moved[np.arange(len(c)), pick]][ok]
        n = int(ok.sum())
        k = 0
        if n:
            lab = label_patches(
                model, crop_patches(hr, shifted, size), device=device, progress=False
            )
            k = int((lab["label_idx"] == base["label_idx"][ok]).sum())
        ci = stats.binomtest(k, n).proportion_ci(method="wilson") if n else None
        rows.append(
            {
                "shift": int(d),
                "n": n,
                "kept": k,
                "share": k / n if n else None,
                "ci_lo": float(ci.low) if ci else None,
                "ci_hi": float(ci.high) if ci else None,
            }
        )
    return pd.DataFrame(rows)
