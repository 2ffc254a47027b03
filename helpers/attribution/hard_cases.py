"""Hard cases by the LAM paper's rule: sub-images that several SR networks all find hard.

Gu & Dong (CVPR 2021, Sec. 4.1) cut test images into 256x256 sub-images, super-resolve
them (x4) with several networks, and keep those with a low mean PSNR across networks and
a high variance between networks: patches where networks struggle *and* disagree, which
is where attribution differences are informative.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn
from tqdm.auto import tqdm

from .. import presets
from ..data import load_images, load_sr_set
from ..data.patches import grid_patches
from ..data.resize import bicubic_down_uint8
from ..metrics.quality import psnr
from ..models.evaluate import super_resolve
from ..networks.resolve import resolve_many


@dataclass
class HardCase:
    """One sub-image: ``hr`` (1,3,S,S) and ``lr`` (1,3,S/s,S/s) in [0,1], where it came
    from (``source``, top-left ``(y, x)`` in HR px) and the per-network Y-PSNR (dB)."""

    name: str
    source: str
    yx: tuple[int, int]
    hr: torch.Tensor
    lr: torch.Tensor
    psnr: dict[str, float]

    @property
    def mean_psnr(self) -> float:
        return sum(self.psnr.values()) / len(self.psnr)


def candidate_subimages(
    images: list[tuple[str, torch.Tensor]], size: int = 256, stride: int = 128, scale: int = 4
) -> list[HardCase]:
    """All ``size`` x ``size`` grid sub-images (HR, with their 8-bit MATLAB-bicubic LR).

    ``images``: ``(name, (1,3,H,W) in [0,1])``. Images smaller than ``size`` on a side
    hold no sub-image: they are skipped with one ``UserWarning`` naming them (the rule
    ranks sub-images, so the others still give hard cases); ``ValueError`` naming every
    image and its size when none is large enough.
    """
    if size % scale:
        raise ValueError(f"size ({size}) must be a multiple of scale ({scale})")
    small = [
        f"{name} ({img.shape[-2]}x{img.shape[-1]})"
        for name, img in images
        if min(img.shape[-2:]) < size
    ]
    if small and len(small) == len(images):
        raise ValueError(
            f"no image is at least {size} px on both sides, so there is no {size} px "
            f"sub-image to rank: {small[:10]}; use larger images or a smaller size"
        )
    if small:
        warnings.warn(
            f"hard cases: skipped {len(small)} image(s) smaller than the {size} px "
            f"sub-image: {small[:10]}",
            UserWarning,
            stacklevel=2,
        )
    out = []
    for name, img in images:
        if min(img.shape[-2:]) < size:
            continue
        patches, coords = grid_patches(img, size, stride)
        lrs = bicubic_down_uint8(patches, scale)
        for p, lr, (y, x) in zip(patches, lrs, coords.tolist(), strict=True):
            out.append(HardCase(f"{name}@{y},{x}", name, (y, x), p[None], lr[None], {}))
    if not out:
        raise ValueError("no images to cut hard-case candidates from")
    return out


def select_hard_cases(
    candidates: list[HardCase],
    models: dict[str, nn.Module],
    n: int,
    scale: int = 4,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> list[HardCase]:
    """Score every candidate with every model and keep the ``n`` hardest.

    Score = rank of low mean PSNR + rank of high PSNR variance across ``models`` (equal
    weight; the paper states both criteria but no formula). Needs >= 2 models.
    """
    if len(models) < 2:
        raise ValueError("the hard-case rule compares networks: pass at least 2 models")
    if not 1 <= n <= len(candidates):
        raise ValueError(f"n must be in [1, {len(candidates)}], got {n}")
    lr = torch.cat([c.lr for c in candidates])
    hr = torch.cat([c.hr for c in candidates])
    table = torch.zeros(len(models), len(candidates), dtype=torch.float64)
    for i, (name, model) in enumerate(tqdm(models.items(), "hard cases", disable=not progress)):
        sr = torch.cat(
            [
                super_resolve(model, lr[j : j + 8], device, label=_batch_label(candidates, j))
                for j in range(0, len(lr), 8)
            ]
        )
        # A perfect reconstruction has infinite PSNR; cap it so ranks stay defined.
        table[i] = psnr(sr, hr, shave=scale, y_channel=True).clamp(max=100.0)
        for c, v in zip(candidates, table[i].tolist(), strict=True):
            c.psnr[name] = v
    return [candidates[k] for k in hardness_order(table)[:n]]


def _batch_label(candidates: list[HardCase], j: int) -> str:
    """Which candidates the batch of 8 starting at ``j`` holds, for error messages."""
    last = candidates[min(j + 8, len(candidates)) - 1].name
    return f"hard-case candidates {candidates[j].name} .. {last}"


def hardness_order(table: torch.Tensor) -> list[int]:
    """Candidate indices, hardest first, from a (models, candidates) PSNR table (dB).

    Score = rank of the mean (ascending) + rank of the variance (descending); ties keep
    the candidates' order.
    """
    if table.ndim != 2 or table.shape[0] < 2:
        raise ValueError(f"need a (models >= 2, candidates) table, got {tuple(table.shape)}")
    mean, var = table.mean(0), table.var(0)
    score = mean.argsort(stable=True).argsort() + (-var).argsort(stable=True).argsort()
    return score.argsort(stable=True).tolist()


def lam_hard_cases(
    preset: str,
    nets: Mapping[str, nn.Module],
    scale: int = 4,
    device: str | torch.device | None = None,
    n: int | None = None,
    progress: bool = True,
) -> list[HardCase]:
    """The hard patches the LAM and DI chapters analyse, chosen once, the same way.

    ``embedded`` (and ``smoke``): the paper's rule (:func:`select_hard_cases`:
    low mean PSNR, high variance across ``nets``) over the embedded test images cut into
    256 px sub-images with stride 128 (``smoke``: the first image only, 128 px tiles,
    stride 128). ``benchmark``/``full``: the LAM authors' published crops (``lam_hard``),
    the first ``n``; ``nets`` is not used there.

    Args:
        preset: one of :data:`helpers.presets.PRESETS` (where the cases come from:
            ``hard_cases`` in :data:`helpers.presets.TABLE`).
        nets: name -> model used to score the candidates; pass the zoo's models
            (:data:`helpers.presets.ZOO`) so both chapters pick the same patches. >= 2 models.
        scale: SR factor; hard cases are HR sub-images with their bicubic LR.
        device: where to run the networks.
        n: how many (default: the preset's ``n_hard``).
        progress: tqdm bar.

    Returns:
        :class:`HardCase` list, hardest first (``benchmark``: file
        order); ``hr`` (1, 3, S, S) and ``lr`` (1, 3, S/scale, S/scale) in [0, 1].
    """
    n = presets.get("n_hard", preset) if n is None else n
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int (number of hard cases), got {n!r}")
    spec = presets.get("hard_cases", preset)
    if spec["source"] == "lam_hard":
        pairs = load_sr_set("lam_hard", scale)[:n]
        return [HardCase(p.name, "lam_hard", (0, 0), p.hr, p.lr, {}) for p in pairs]
    test = load_images("embedded_test")
    if spec["first_image_only"]:
        test = test[:1]
    candidates = candidate_subimages(test, spec["size"], spec["stride"], scale)
    n = min(n, len(candidates))
    return select_hard_cases(candidates, dict(nets), n, scale, device, progress)


def shared_hard_cases(
    preset: str,
    scale: int = 4,
    n: int | None = None,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = True,
    resolved: Mapping[str, nn.Module] | None = None,
) -> list[HardCase]:
    """The hard cases the LAM and DI chapters both attribute, whatever networks they study.

    Where the preset picks them by the paper's rule (``hard_cases`` in
    :data:`helpers.presets.TABLE`: ``smoke``, ``embedded``) the book's zoo
    (:data:`helpers.presets.ZOO`, trained once and cached) scores the candidates, so a
    reader's own ``models`` list (even a single network) gets the same patches as the
    book's; elsewhere the LAM authors' crops are used and no network is needed. See
    :func:`lam_hard_cases` for ``n`` and the returned cases. ``resolved``: networks the
    chapter already has (name -> :class:`~helpers.models.SRModel`); those of origin
    ``"zoo"`` are used as they are instead of being loaded again.
    """
    if presets.get("hard_cases", preset)["source"] != "rule":
        return lam_hard_cases(preset, {}, scale, device, n=n, progress=progress)
    have = {k: m for k, m in (resolved or {}).items() if getattr(m, "origin", None) == "zoo"}
    missing = [z for z in presets.ZOO if z not in have]
    more = (
        resolve_many(missing, scale, preset, seed=seed, device=device, progress=progress)
        if missing
        else {}
    )
    selectors = {z: have[z] if z in have else more[z] for z in presets.ZOO}
    return lam_hard_cases(preset, selectors, scale, device, n=n, progress=progress)
