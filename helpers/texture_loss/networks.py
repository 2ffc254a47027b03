"""TSRN trained as the paper does, through the one training loop: an MSE phase, then a
texture phase from those weights with the texture loss alone (or a variant of it).

- :class:`TextureLoss`: the loop's loss function (``(sr, hr, lr, model) -> scalar``) for
  the kinds ``mse``, ``gram`` (TSRN-G, Eq. 1), ``guided`` (TSRN-S, Eq. 4: the training
  images carry their segment masks as guide channels, ``hr[:, 3:]``) and ``feature`` (the
  perceptual loss of the Fig. 4 ablation).
- :data:`VARIANTS` and :func:`train_variants`: every network of one seed, each cached by
  its config (with the loss network's weights digest in ``loss_params``) and resumable.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import cache
from ..models import weights_digest
from ..train import TrainConfig, TrainResult, train
from .gram import feature_loss, gram_loss
from .lossnet import PAPER_LAYERS, LossNetwork

__all__ = ["KINDS", "VARIANTS", "TextureLoss", "Variant", "ablation_variants", "train_variants"]

KINDS: tuple[str, ...] = ("mse", "gram", "guided", "feature")


class TextureLoss:
    """The training loss of one kind on ``layers`` of a frozen ``net``.

    ``hr`` may carry guide channels after RGB (segment masks, (B, K, H, W)); only
    ``guided`` reads them, every kind compares ``sr`` with ``hr[:, :3]``. The HR features
    are computed without gradients; the SR features keep them, so the gradient reaches the
    SR network only (the loss network's parameters never require it).
    """

    def __init__(
        self, kind: str, net: LossNetwork | None = None, layers: Sequence[str] = PAPER_LAYERS
    ) -> None:
        if kind not in KINDS:
            raise ValueError(f"unknown texture-loss kind {kind!r}; valid: {list(KINDS)}")
        if kind != "mse" and net is None:
            raise ValueError(f"loss kind {kind!r} needs a loss network")
        self.kind, self.net = kind, net
        self.layers = list(layers) if net is None else net.check(list(layers))

    def __call__(
        self, sr: torch.Tensor, hr: torch.Tensor, lr: torch.Tensor, model: nn.Module
    ) -> torch.Tensor:
        rgb = hr[:, :3]
        if self.kind == "mse":
            return F.mse_loss(sr, rgb)
        if self.kind == "guided" and hr.shape[1] <= 3:
            raise ValueError(
                "the guided loss needs segment masks as guide channels after RGB "
                "(helpers.texture_loss.composites.with_guides)"
            )
        f_sr = self.net.features(sr, self.layers)
        with torch.no_grad():
            f_hr = self.net.features(rgb, self.layers)
        if self.kind == "feature":
            return feature_loss(f_sr, f_hr)
        return gram_loss(f_sr, f_hr, masks=hr[:, 3:] if self.kind == "guided" else None)


@dataclass(frozen=True)
class Variant:
    """A texture-phase network: the loss ``kind`` on ``layers`` of the loss network of
    ``source`` (``"train"``: the chapter's loss network; ``"random"``: the random one)."""

    kind: str
    source: str = "train"
    layers: tuple[str, ...] = PAPER_LAYERS


#: The networks every seed trains after its MSE phase (name -> variant).
VARIANTS: dict[str, Variant] = {
    "TSRN-G": Variant("gram"),
    "TSRN-S": Variant("guided"),
    "feature loss": Variant("feature"),
    "TSRN-G, random net": Variant("gram", "random"),
}


def ablation_variants(layers: Sequence[str] = PAPER_LAYERS) -> dict[str, Variant]:
    """The Fig. 4 ablation: feature (F) and Gram (G) loss on each single layer."""
    return {
        f"{tag} {layer}": Variant(kind, "train", (layer,))
        for layer in layers
        for tag, kind in (("F", "feature"), ("G", "gram"))
    }


def _config(spec: Mapping[str, Any], data: str, seed: int, **over: Any) -> TrainConfig:
    base: dict[str, Any] = {
        "model": "tsrn",
        "scale": spec["scale"],
        "steps": spec["mse_steps"],
        "model_kwargs": {"n_feats": spec["n_feats"], "n_blocks": spec["n_blocks"]},
        "data": data,
        "patch": spec["lr_patch"] * spec["scale"],
        "batch": spec["batch"],
        "lr": spec["lr"],
        "loss": "tsrn_mse",
        "seed": seed,
    }
    return TrainConfig(**{**base, **over})


def train_variants(
    spec: Mapping[str, Any],
    images: list[torch.Tensor],
    nets: Mapping[str, LossNetwork],
    seed: int,
    variants: Mapping[str, Variant] = VARIANTS,
    device: str | torch.device | None = None,
    progress: bool = True,
    cache_dir: str | Path | None = None,
) -> dict[str, TrainResult]:
    """The MSE network of ``seed`` and every texture-phase network of ``variants``.

    Args:
        spec: the preset's ``texture_loss`` entry (sizes, steps, learning rates).
        images: HR training composites (1, 3 + K, S, S) with their masks as guide channels
            (:func:`~helpers.texture_loss.composites.with_guides`); their digest names
            the data in every config, so other images are another cache entry.
        nets: loss networks by source name (``"train"``, ``"random"``).
        seed: initialisation and batch order; the texture phase starts from this seed's
            MSE weights and draws the same batches, so variants of a seed pair.
        cache_dir: the checkpoints' folder (default: the training cache).

    Returns:
        ``{"MSE": result, name: result, ...}`` in eval mode.
    """
    data = "texture_composites:" + cache.tensor_digest(*images)[:16]
    run = functools.partial(
        train, images=images, device=device, progress=progress, cache_dir=cache_dir
    )
    mse = run(_config(spec, data, seed), TextureLoss("mse"), desc=f"TSRN MSE phase, seed {seed}")
    out = {"MSE": mse}
    start = mse.model
    init = weights_digest(start)
    for name, v in variants.items():
        if v.source not in nets:
            raise ValueError(f"variant {name!r} needs loss network {v.source!r}; have {list(nets)}")
        net = nets[v.source]
        cfg = _config(
            spec,
            data,
            seed,
            steps=spec["tex_steps"],
            lr=spec["tex_lr"],
            init=init,
            loss=f"tsrn_{v.kind}",
            loss_params={"layers": list(v.layers), "lossnet": weights_digest(net)},
        )
        out[name] = run(
            cfg, TextureLoss(v.kind, net, v.layers), desc=f"{name}, seed {seed}", init_weights=start
        )
    return out
