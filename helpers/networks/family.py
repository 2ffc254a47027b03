"""A family of SR networks across widths and depths, for the DI-vs-PSNR analysis.

The LAM paper (Gu & Dong, CVPR 2021, Sec. 4.4) asks whether networks that use more input
pixels (a higher diffusion index, DI) super-resolve better. It trains FSRCNN at 15 sizes
(width 16-128, depth 2-16) and EDSR at 15 sizes (width 32-256, 10-24 residual blocks)
"with the same setting", adds 18 published networks, and regresses PSNR on log DI.

This module builds that family per preset (``family`` in :data:`helpers.presets.TABLE`)
and trains it with the zoo's recipe (same steps, batch, patch and data per preset), so
family members and zoo members are comparable and a member whose size equals a zoo
member's shares its cached checkpoint. The analysis on it (fit, sweeps) is
:mod:`helpers.attribution.di`.

Member names spell their size: ``fsrcnn_d32_m4`` (width ``d`` = 32 feature maps, ``m`` = 4
mapping layers; shrink ``s`` = 12 unless ``_s<s>`` follows) and ``edsr_f16_b4``
(``n_feats`` = 16, ``n_blocks`` = 4). Depth means ``m`` for FSRCNN and ``n_blocks`` for
EDSR, as in the paper's Fig. 7c.
"""

from __future__ import annotations

import math
import re
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import nn

from .. import presets
from ..train import TrainConfig, TrainResult, prefetch, train
from .zoo import MEMBERS, recipe_config

FSRCNN_SHRINK = 12  # FSRCNN's s, fixed across the family (the paper varies d and m)


@dataclass(frozen=True)
class FamilyMember:
    """One network of the family: registry ``arch`` at ``size`` (its build kwargs).

    ``width`` is FSRCNN's ``d`` or EDSR's ``n_feats``; ``depth`` FSRCNN's ``m`` or EDSR's
    ``n_blocks``.
    """

    arch: Literal["fsrcnn", "edsr"]
    width: int
    depth: int
    shrink: int = FSRCNN_SHRINK

    def __post_init__(self) -> None:
        if self.arch not in ("fsrcnn", "edsr"):
            raise ValueError(f"family arch must be 'fsrcnn' or 'edsr', got {self.arch!r}")
        for k in ("width", "depth", "shrink"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{k} must be a positive int, got {v!r}")

    @property
    def name(self) -> str:
        if self.arch == "fsrcnn":
            tail = "" if self.shrink == FSRCNN_SHRINK else f"_s{self.shrink}"
            return f"fsrcnn_d{self.width}_m{self.depth}{tail}"
        return f"edsr_f{self.width}_b{self.depth}"

    @property
    def size(self) -> dict[str, int]:
        """Keyword arguments for :func:`helpers.models.build`."""
        if self.arch == "fsrcnn":
            return {"d": self.width, "s": self.shrink, "m": self.depth}
        return {"n_feats": self.width, "n_blocks": self.depth}


_NAME = re.compile(r"^(?:fsrcnn_d(\d+)_m(\d+)(?:_s(\d+))?|edsr_f(\d+)_b(\d+))$")


def parse_member(name: str) -> FamilyMember:
    """The member a name spells: ``"fsrcnn_d32_m4"``, ``"fsrcnn_d32_m4_s16"``, ``"edsr_f16_b4"``."""
    m = _NAME.match(name) if isinstance(name, str) else None
    if m is None:
        raise ValueError(
            f"not a family member name: {name!r}; expected fsrcnn_d<width>_m<depth>[_s<shrink>] "
            "or edsr_f<width>_b<blocks>, e.g. 'fsrcnn_d32_m4', 'edsr_f16_b4'"
        )
    d, mm, s, f, b = m.groups()
    if d is not None:
        return FamilyMember("fsrcnn", int(d), int(mm), int(s) if s else FSRCNN_SHRINK)
    return FamilyMember("edsr", int(f), int(b))


def family(preset: str) -> list[FamilyMember]:
    """The family of ``preset`` (``family`` in :data:`helpers.presets.TABLE`)."""
    return [FamilyMember(arch, w, d) for arch, w, d in presets.get("family", preset)]


def member_config(member: FamilyMember, scale: int, preset: str, seed: int = 0) -> TrainConfig:
    """The training config of ``member``: the zoo's recipe for ``preset``.

    Built exactly as :func:`helpers.zoo.zoo_config` builds a zoo member's, so a member of
    the same architecture and size gets the same config (and checkpoint).
    """
    return recipe_config(member.arch, member.size, scale, preset, seed)


def zoo_twin(member: FamilyMember) -> str | None:
    """The zoo member with the same architecture and size as ``member``, if any."""
    for name, (arch, size) in MEMBERS.items():
        if arch == member.arch and dict(size) == member.size:
            return name
    return None


@dataclass
class FamilyRun:
    """What :func:`train_family` produced.

    ``models``: name -> trained module (eval mode) for every member that trained;
    ``results``: name -> :class:`~helpers.train.TrainResult` (``seconds`` = training wall
    time when it was trained, also for cached ones; ``cached`` = loaded this time);
    ``skipped``: name -> why it failed (only with ``on_failure="skip"``);
    ``wall_seconds``: time this call took (loading cached members is near 0).
    """

    models: dict[str, nn.Module]
    results: dict[str, TrainResult]
    skipped: dict[str, str] = field(default_factory=dict)
    wall_seconds: float = 0.0

    def table(self) -> list[dict[str, Any]]:
        """One row per member: name, params, training seconds, cached, final loss, status."""
        rows = []
        for name, r in self.results.items():
            tail = r.history[-50:]
            rows.append(
                {
                    "name": name,
                    "params": sum(p.numel() for p in r.model.parameters()),
                    "train_seconds": r.seconds,
                    "cached": r.cached,
                    "final_loss": sum(tail) / len(tail) if tail else math.nan,
                    "status": "ok",
                }
            )
        rows += [{"name": n, "status": f"skipped: {why}"} for n, why in self.skipped.items()]
        return rows


def train_family(
    members: Iterable[FamilyMember],
    scale: int,
    preset: str,
    seed: int = 0,
    device: str | torch.device | None = None,
    on_failure: Literal["raise", "skip"] = "raise",
    progress: bool = True,
    train_fn: Callable[..., TrainResult] = train,
) -> FamilyRun:
    """Train (or load from the cache) every member with the zoo recipe of ``preset``.

    Args:
        members: the family (e.g. :func:`family`); must not be empty or repeat a name.
        scale: SR factor (2, 3 or 4).
        preset: sets steps, batch, patch and data (:data:`helpers.zoo.BUDGETS`).
        seed: training seed (the same for every member).
        device: where to train (default CUDA when available, else CPU).
        on_failure: a member whose training fails (a NaN/inf loss raises
            ``FloatingPointError``; a RuntimeError, e.g. out of memory) either stops
            everything (``"raise"``: the same exception type, naming the member) or is
            left out with a
            ``RuntimeWarning`` and recorded in :attr:`FamilyRun.skipped` (``"skip"``).
        progress: tqdm bars per member.
        train_fn: the training function (:func:`helpers.train.train`; replaceable in tests).

    Returns:
        A :class:`FamilyRun`.

    Raises:
        ValueError: an empty family, duplicate names or a bad ``on_failure``; or, with
            ``"skip"``, when every member failed (nothing left to analyse).
    """
    members = list(members)
    if not members:
        raise ValueError("the family is empty: give at least one FamilyMember")
    names = [m.name for m in members]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"the family lists these members more than once: {dupes}")
    if on_failure not in ("raise", "skip"):
        raise ValueError(f"on_failure must be 'raise' or 'skip', got {on_failure!r}")
    t0 = time.perf_counter()
    run = FamilyRun({}, {})
    if train_fn is train:  # a sweep (on Dask when $HELPERS_EXECUTOR says so)
        prefetch([member_config(m, scale, preset, seed) for m in members])
    for m in members:
        cfg = member_config(m, scale, preset, seed)
        try:
            res = train_fn(cfg, device=device, progress=progress, desc=f"{m.name} x{scale}")
        except (FloatingPointError, RuntimeError) as err:
            if on_failure == "raise":
                # Same type (callers may catch FloatingPointError), with the member's name.
                raise type(err)(f"family member {m.name} failed to train: {err}") from err
            run.skipped[m.name] = f"{type(err).__name__}: {err}"
            warnings.warn(
                f"family member {m.name} failed to train and is left out: {err}",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        run.models[m.name] = res.model
        run.results[m.name] = res
    run.wall_seconds = time.perf_counter() - t0
    if not run.models:
        raise ValueError(f"every family member failed to train: {run.skipped}")
    return run
