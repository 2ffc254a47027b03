"""The zoo: small SR networks the book trains itself on CPU and shares across chapters.

Each member is a registry architecture at a size that trains in one to two minutes per
scale on two CPU cores at the ``embedded`` preset; :func:`zoo_model` trains it once (cached by
the full config, see :mod:`helpers.train`) and reloads it afterwards.

Why these members: FSRCNN (the plain shallow CNN of the LAM paper's Table 1), EDSR at two
sizes (the residual CNN whose width/depth the DI chapter sweeps), RCAN (channel attention,
global pooling) and a non-local network (global attention) so that the "global vs local"
contrast of the LAM paper exists in the zoo, and SRResNet with and without its global
residual for the degradation chapter.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch

from ..train import TrainConfig, TrainResult, train

PRESETS = ("smoke", "embedded", "benchmark", "full")

#: name -> (registry architecture, size keyword arguments)
MEMBERS: dict[str, tuple[str, dict[str, Any]]] = {
    "fsrcnn": ("fsrcnn", {"d": 32, "s": 12, "m": 4}),
    "edsr_s": ("edsr", {"n_feats": 16, "n_blocks": 4}),
    "edsr_m": ("edsr", {"n_feats": 32, "n_blocks": 8}),
    "rcan_s": ("rcan", {"n_groups": 2, "n_blocks": 3, "n_feats": 32}),
    "nlsn_s": ("nlsn", {"n_feats": 32, "n_blocks": 6}),
    "srresnet_s": ("srresnet", {"n_feats": 32, "n_blocks": 6, "global_residual": True}),
}

#: Training budget per preset: the same recipe, fewer or more steps.
#: ``lr_patch`` is the LR patch side; the HR patch is ``lr_patch * scale``.
#: ``embedded``/``benchmark``: all six members at x4 in ~8 min on 2 idle CPU cores. Measured
#: on the embedded test images (x4, Y-PSNR; bicubic 28.68 dB): EDSR 4x16 gives 28.64 dB
#: after 1000 steps at lr 5e-4 but 28.96 dB at 1e-3, so a short schedule wants a larger step
#: size than EDSR's 2e-4 (which assumes 300k steps); at 300 steps every member but SRResNet
#: (global residual) was still below bicubic.
BUDGETS: dict[str, dict[str, Any]] = {
    "smoke": {"steps": 6, "batch": 4, "lr_patch": 12, "data": "embedded_train"},
    "embedded": {"steps": 1000, "batch": 12, "lr_patch": 16, "lr": 1e-3, "data": "embedded_train"},
    "benchmark": {"steps": 1000, "batch": 12, "lr_patch": 16, "lr": 1e-3, "data": "embedded_train"},
    # The papers' scale: DIV2K (point HELPERS_LOCAL_DIV2K_TRAIN at its HR folder).
    "full": {"steps": 300_000, "batch": 16, "lr_patch": 48, "data": "div2k_train"},
}

#: Step multiplier per architecture at the short presets. FSRCNN has no skip connection (its
#: deconvolution must learn the whole image from a near-zero init) and costs ~1/4 of EDSR 8x32
#: per step: at 1000 steps it is 2.9 dB below bicubic, at 4000 steps 0.6 dB, for about the
#: same wall time as EDSR 8x32 at 1000.
STEP_FACTOR: dict[str, dict[str, int]] = {
    "embedded": {"fsrcnn": 4},
    "benchmark": {"fsrcnn": 4},
}


def check_preset(preset: str) -> str:
    """Return ``preset`` or raise ``ValueError`` listing the valid presets."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; valid: {list(PRESETS)}")
    return preset


def recipe_config(
    arch: str, size: dict[str, Any], scale: int, preset: str, seed: int = 0
) -> TrainConfig:
    """The book's one training recipe for registry ``arch`` at ``size``, sized by ``preset``
    (:data:`BUDGETS`, :data:`STEP_FACTOR`); zoo members and the DI family share it, so a
    network of the same architecture and size gets the same config (and checkpoint)."""
    budget = dict(BUDGETS[check_preset(preset)])
    patch = budget.pop("lr_patch") * scale
    budget["steps"] *= STEP_FACTOR.get(preset, {}).get(arch, 1)
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
