"""Hard cases by the LAM paper's rule: sub-images that several SR networks all find hard.

Gu & Dong (CVPR 2021, Sec. 4.1) cut test images into 256x256 sub-images, super-resolve
them (x4) with several networks, and keep those with a low mean PSNR across networks and
a high variance between networks: patches where networks struggle *and* disagree, which
is where attribution differences are informative. They then remove near-duplicates by
hand; here a candidate that overlaps an already chosen one by more than a quarter of its
area is dropped (:data:`MAX_OVERLAP`) and a preset may cap the cases per source image
(``max_per_image``), so that one photo cannot supply every case (:func:`pick_distinct`).

The paper's own 150 hard cases are not published; the ``full`` preset reads them from a
local folder (:data:`LOCAL_ENV`) and stops with a message naming it when it is absent or
holds fewer images than asked for (:func:`local_hard_cases`), never with fewer cases.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn
from tqdm.auto import tqdm

from .. import presets
from ..data import SRPair, keys, load_images, load_sr_set
from ..data.patches import grid_patches
from ..data.resize import bicubic_down_uint8
from ..metrics.quality import psnr
from ..models.evaluate import super_resolve
from ..networks.resolve import resolve_many

#: Largest share of a candidate's area that may overlap a chosen case of the same image.
MAX_OVERLAP = 0.25
#: The dataset name (and so ``$HELPERS_LOCAL_LAM_HARD150``) of the paper's 150 hard cases.
LOCAL_SET = "lam_hard150"
LOCAL_ENV = f"HELPERS_LOCAL_{LOCAL_SET.upper()}"


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


def overlap_share(a: HardCase, b: HardCase) -> float:
    """The share of ``a``'s area that ``b`` covers (0 for different source images)."""
    if a.source != b.source:
        return 0.0
    (ya, xa), (yb, xb) = a.yx, b.yx
    ha, wa = a.hr.shape[-2:]
    hb, wb = b.hr.shape[-2:]
    dy = max(0, min(ya + ha, yb + hb) - max(ya, yb))
    dx = max(0, min(xa + wa, xb + wb) - max(xa, xb))
    return dy * dx / (ha * wa)


def pick_distinct(
    candidates: Sequence[HardCase],
    order: Sequence[int],
    n: int,
    max_overlap: float = MAX_OVERLAP,
    max_per_image: int | None = None,
) -> list[HardCase]:
    """The first ``n`` candidates in ``order`` (hardest first) that overlap no chosen one
    by more than ``max_overlap`` of their area (:func:`overlap_share`, either way round)
    and whose source image has fewer than ``max_per_image`` chosen cases (None: no cap).
    Returns fewer than ``n`` when the rules leave fewer; the caller says so."""
    chosen: list[HardCase] = []
    per_image: dict[str, int] = {}
    for k in order:
        c = candidates[k]
        if max_per_image is not None and per_image.get(c.source, 0) >= max_per_image:
            continue
        if any(max(overlap_share(c, o), overlap_share(o, c)) > max_overlap for o in chosen):
            continue
        chosen.append(c)
        per_image[c.source] = per_image.get(c.source, 0) + 1
        if len(chosen) == n:
            break
    return chosen


def n_sources(cases: Sequence[HardCase]) -> int:
    """How many distinct source images the cases come from."""
    return len({c.source for c in cases})


def local_hard_cases(n: int, scale: int = 4, env: str = LOCAL_ENV) -> list[SRPair]:
    """The first ``n`` images of the local folder ``$<env>`` (the paper's 150 hard cases,
    256 px HR crops; LR made with MATLAB bicubic) as pairs.

    Raises:
        FileNotFoundError: ``$<env>`` unset or not a folder, or it holds fewer than ``n``
            images; the message names the variable, the folder and what to do.
    """
    folder = os.environ.get(env)
    what = (
        f"the paper's {n} hard cases (Gu & Dong 2021, Sec. 4.1: 256x256 crops of DIV2K-valid "
        f"and Urban100; not published), read from a local folder: set ${env} to a folder of "
        "those HR images"
    )
    if not folder:
        raise FileNotFoundError(
            f"this preset attributes {what}; ${env} is not set. The {len(keys('lam_hard/'))} "
            "LAM-demo crops of the manifest are the benchmark preset's; pass n_hard to use "
            "fewer local images"
        )
    if not Path(folder).expanduser().is_dir():
        raise FileNotFoundError(f"this preset attributes {what}; ${env}={folder} is not a folder")
    pairs = load_sr_set(LOCAL_SET, scale, folder=folder)
    if len(pairs) < n:
        raise FileNotFoundError(
            f"this preset attributes {what}; ${env}={folder} holds only {len(pairs)} "
            f"image(s). Add the missing ones or pass n_hard={len(pairs)} explicitly"
        )
    return pairs[:n]


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
    max_overlap: float = MAX_OVERLAP,
    max_per_image: int | None = None,
) -> list[HardCase]:
    """Score every candidate with every model and keep the ``n`` hardest that are distinct.

    Score = rank of low mean PSNR + rank of high PSNR variance across ``models`` (equal
    weight; the paper states both criteria but no formula). Needs >= 2 models. Hardest
    first, a candidate is kept unless it overlaps a kept one by more than ``max_overlap``
    or its image already gave ``max_per_image`` cases (:func:`pick_distinct`); a
    ``UserWarning`` says so when fewer than ``n`` are left.
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
    chosen = pick_distinct(candidates, hardness_order(table), n, max_overlap, max_per_image)
    if len(chosen) < n:
        warnings.warn(
            f"hard cases: only {len(chosen)} of the {n} asked for are left once candidates "
            f"overlapping a chosen one by more than {max_overlap:g} and beyond "
            f"{max_per_image} per image are dropped",
            UserWarning,
            stacklevel=2,
        )
    return chosen


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
    low mean PSNR, high variance across ``nets``, no near-duplicates, at most the preset's
    ``max_per_image`` per image) over the embedded test images cut into 256 px sub-images
    with stride 128 (``smoke``: the first image only, 128 px tiles, stride 128).
    ``benchmark``: the LAM authors' published crops (``lam_hard``), the first ``n``.
    ``full``: the paper's 150 from the local folder ``$HELPERS_LOCAL_LAM_HARD150``
    (:func:`local_hard_cases`: an error naming it when absent). ``nets`` is not used
    outside the rule.

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
        # each demo crop is its own file: the source the per-image cap and count read
        return [HardCase(p.name, p.name, (0, 0), p.hr, p.lr, {}) for p in pairs]
    if spec["source"] == "local":
        pairs = local_hard_cases(n, scale)
        return [HardCase(p.name, p.name, (0, 0), p.hr, p.lr, {}) for p in pairs]
    test = load_images("embedded_test")
    if spec["first_image_only"]:
        test = test[:1]
    candidates = candidate_subimages(test, spec["size"], spec["stride"], scale)
    n = min(n, len(candidates))
    return select_hard_cases(
        candidates,
        dict(nets),
        n,
        scale,
        device,
        progress,
        max_overlap=spec.get("max_overlap", MAX_OVERLAP),
        max_per_image=spec.get("max_per_image"),
    )


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
    if missing:
        have |= resolve_many(missing, scale, preset, seed=seed, device=device, progress=progress)
    selectors = {z: have[z] for z in presets.ZOO}
    return lam_hard_cases(preset, selectors, scale, device, n=n, progress=progress)
