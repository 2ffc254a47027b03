"""The zoo: small SR networks the book trains itself on CPU and shares across chapters.

Each member is a registry architecture at a size that trains in one to two minutes per
scale on two CPU cores at the ``embedded`` preset; :func:`zoo_model` trains it once (cached by
the full config, see :mod:`helpers.train`) and reloads it afterwards; :func:`run_rows`
describes the trained members, one table row each.

Why these members: FSRCNN (the plain shallow CNN of the LAM paper's Table 1), EDSR at two
sizes (the residual CNN whose width/depth the DI chapter sweeps), RCAN (channel attention,
global pooling) and a non-local network (global attention) so that the "global vs local"
contrast of the LAM paper exists in the zoo, and SRResNet (residual blocks with a global
skip). The members' names, in book order, are :data:`helpers.presets.ZOO`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import torch

from .. import presets
from ..models import param_count
from ..train import TrainConfig, TrainResult, prefetch, train

#: name -> (registry architecture, size keyword arguments)
MEMBERS: dict[str, tuple[str, dict[str, Any]]] = {
    "fsrcnn": ("fsrcnn", {"d": 32, "s": 12, "m": 4}),
    "edsr_s": ("edsr", {"n_feats": 16, "n_blocks": 4}),
    "edsr_m": ("edsr", {"n_feats": 32, "n_blocks": 8}),
    "rcan_s": ("rcan", {"n_groups": 2, "n_blocks": 3, "n_feats": 32}),
    "nlsn_s": ("nlsn", {"n_feats": 32, "n_blocks": 6}),
    "srresnet_s": ("srresnet", {"n_feats": 32, "n_blocks": 6, "global_residual": True}),
}


def recipe_config(
    arch: str, size: dict[str, Any], scale: int, preset: str, seed: int = 0
) -> TrainConfig:
    """The book's one training recipe for registry ``arch`` at ``size``, sized by ``preset``
    (:data:`helpers.presets.TABLE` ``train_budget`` and ``train_step_factor``); zoo members
    and the DI family share it, so a network of the same architecture and size gets the
    same config (and checkpoint)."""
    budget = presets.get("train_budget", preset)
    patch = budget.pop("lr_patch") * scale
    budget["steps"] *= presets.get("train_step_factor", preset).get(arch, 1)
    return TrainConfig(
        model=arch, scale=scale, model_kwargs=dict(size), seed=seed, patch=patch, **budget
    )


def zoo_config(name: str, scale: int, preset: str, seed: int = 0, **overrides: Any) -> TrainConfig:
    """The :class:`TrainConfig` of zoo member ``name`` at ``scale`` for ``preset``."""
    if name not in MEMBERS:
        raise ValueError(f"unknown zoo member {name!r}; valid: {list(MEMBERS)}")
    arch, size = MEMBERS[name]
    cfg = recipe_config(arch, size, scale, preset, seed)
    return replace(cfg, **overrides) if overrides else cfg


def zoo_model(
    name: str,
    scale: int,
    preset: str,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train (once) or load zoo member ``name``; see :func:`helpers.train.train`."""
    cfg = zoo_config(name, scale, preset, seed)
    return train(cfg, device=device, progress=progress, desc=f"{name} x{scale}")


def train_zoo(
    names: list[str],
    scales: list[int],
    preset: str,
    seed: int = 0,
    device: str | torch.device | None = None,
) -> dict[tuple[str, int], TrainResult]:
    """Every member at every scale, ``{(name, scale): TrainResult}`` in that order, trained
    once (cached) or loaded; the trainings are a sweep (:func:`helpers.train.prefetch`:
    in parallel on Dask when ``$HELPERS_EXECUTOR`` says so)."""
    jobs = [(n, s) for s in scales for n in names]
    prefetch([zoo_config(n, s, preset, seed) for n, s in jobs])
    return {(n, s): zoo_model(n, s, preset, seed=seed, device=device) for n, s in jobs}


def run_rows(runs: Mapping[tuple[str, int], TrainResult]) -> list[dict[str, Any]]:
    """One row per trained member of ``runs`` (``{(name, scale): TrainResult}``, as
    :func:`train_zoo` returns), in that order: ``model``, ``scale``, ``architecture`` (the
    registry name), ``params`` (parameter count), ``receptive_field`` (LR px, or
    ``"global"``), ``steps`` (optimiser steps of its config), ``train_s`` (training wall
    seconds, 1 decimal, summed over resumed runs) and ``cached`` (loaded, not trained)."""
    return [
        {
            "model": name,
            "scale": scale,
            "architecture": run.config.model,
            "params": param_count(run.model),
            "receptive_field": run.model.receptive_field or "global",
            "steps": run.config.steps,
            "train_s": round(run.seconds, 1),
            "cached": run.cached,
        }
        for (name, scale), run in runs.items()
    ]
