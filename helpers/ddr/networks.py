"""The chapter's four SRResNets: with and without the global residual (Fig. 3e), each
trained with L1 and then fine-tuned with L1 + an adversarial term (SRGAN's recipe: an
L1-pretrained generator, then the GAN phase), on clean bicubic LR only, through the one
training loop (:func:`helpers.train.train`, cached and resumable). The L1 runs keep
weight snapshots at evenly spaced steps (claim 3: the separation during training).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import cache
from ..models import build, weights_digest, wrap
from ..models.wrapper import SRModel
from ..runtime import data_dir
from ..train import TrainConfig, checkpoint_path, config_key, train

__all__ = ["VARIANTS", "AdversarialLoss", "PatchDiscriminator", "Variants", "train_variants"]

#: Variant name -> (global residual, adversarial phase), in the order of the 2x2 table.
VARIANTS: dict[str, tuple[bool, bool]] = {
    "gr": (True, False),
    "no_gr": (False, False),
    "gr_gan": (True, True),
    "no_gr_gan": (False, True),
}


class PatchDiscriminator(nn.Module):
    """A small PatchGAN discriminator: four 4x4 convolutions (stride 2, 2, 2, 1) with
    LeakyReLU(0.2), then a 3x3 conv to one logit per patch. (N, 3, H, W) in [0, 1] ->
    (N, 1, H/8 - 1, W/8 - 1) logits ("real" > 0)."""

    def __init__(self, width: int = 32) -> None:
        super().__init__()
        w = width
        layers: list[nn.Module] = []
        for c_in, c_out, stride in ((3, w, 2), (w, 2 * w, 2), (2 * w, 4 * w, 2), (4 * w, 4 * w, 1)):
            layers += [nn.Conv2d(c_in, c_out, 4, stride, 1), nn.LeakyReLU(0.2, True)]
        layers.append(nn.Conv2d(4 * w, 1, 3, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x * 2 - 1)


class AdversarialLoss:
    """L1 + ``weight`` x the non-saturating GAN loss of a jointly trained
    :class:`PatchDiscriminator` (binary cross-entropy on logits; Adam, ``d_lr``, betas
    (0.5, 0.999)). Each call first updates the discriminator on (HR = real, detached SR =
    fake), then returns the generator's loss. The discriminator is initialised from
    ``seed`` without touching torch's global RNG, and its state (weights, optimiser) is
    checkpointed by the training loop (``state_dict``/``load_state_dict``)."""

    def __init__(
        self, weight: float, d_lr: float, d_width: int, seed: int, device: torch.device
    ) -> None:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.disc = PatchDiscriminator(d_width).to(device)
        self.opt = torch.optim.Adam(self.disc.parameters(), lr=d_lr, betas=(0.5, 0.999))
        self.weight = weight

    def __call__(
        self, sr: torch.Tensor, hr: torch.Tensor, lr: torch.Tensor, model: nn.Module
    ) -> torch.Tensor:
        bce = F.binary_cross_entropy_with_logits
        real, fake = self.disc(hr), self.disc(sr.detach())
        loss_d = bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake))
        self.opt.zero_grad(set_to_none=True)
        loss_d.backward()
        self.opt.step()
        self.opt.zero_grad(set_to_none=True)
        self.disc.requires_grad_(False)  # the generator's step must not touch D
        g = self.disc(sr)
        self.disc.requires_grad_(True)
        return F.l1_loss(sr, hr) + self.weight * bce(g, torch.ones_like(g))

    def state_dict(self) -> dict[str, Any]:
        return {"disc": self.disc.state_dict(), "opt": self.opt.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.disc.load_state_dict(state["disc"])
        self.opt.load_state_dict(state["opt"])


@dataclass
class Variants:
    """The four trained networks (``models``: name -> SRModel), the L1 runs' snapshots
    (``snapshots``: name -> list of (step, state_dict)), training seconds per variant and
    the settings used."""

    models: dict[str, SRModel]
    snapshots: dict[str, list[tuple[int, dict[str, torch.Tensor]]]]
    seconds: dict[str, float]
    settings: dict[str, Any]

    def snapshot_model(self, name: str, i: int) -> SRModel:
        """Variant ``name``'s network with the weights of snapshot ``i``."""
        cfg = self.settings
        net = build("srresnet", cfg["scale"], **_kwargs(cfg, VARIANTS[name][0]))
        net.load_state_dict(self.snapshots[name][i][1])
        return wrap(
            net, device=self.models[name].device, name=f"{name}@{self.snapshots[name][i][0]}"
        )


def _kwargs(settings: dict[str, Any], gr: bool) -> dict[str, Any]:
    return {"n_feats": settings["n_feats"], "n_blocks": settings["n_blocks"], "global_residual": gr}


def _l1_with_snapshots(
    cfg: TrainConfig, every: int, root: Path, device: torch.device, progress: bool, desc: str
) -> tuple[nn.Module, list[tuple[int, dict]], float]:
    """Train ``cfg`` (L1), keeping a weight snapshot every ``every`` steps, both cached.

    The snapshots are a cache entry of their own keyed by the training's key; when they are
    missing the network is retrained from scratch (the callback only sees a fresh run).
    """
    snap_key = cache.key("ddr-snapshots", {"every": every}, "", [config_key(cfg)], length=20)
    path = cache.entry_path("", snap_key, root=root, prefix="snapshots-")
    hit = cache.load(path, snap_key, "training snapshots")
    if hit is None:
        checkpoint_path(cfg, root).unlink(missing_ok=True)
        snaps: list[tuple[int, dict]] = []

        def keep(step: int, net: nn.Module) -> None:
            if not snaps or snaps[-1][0] != step:
                snaps.append(
                    (step, {k: v.detach().cpu().clone() for k, v in net.state_dict().items()})
                )

        res = train(
            cfg,
            cache_dir=root,
            device=device,
            progress=progress,
            desc=desc,
            callback=keep,
            callback_every=every,
        )
        cache.save(
            path, snap_key, {"steps": [s for s, _ in snaps], "weights": [w for _, w in snaps]}
        )
        return res.model, snaps, res.seconds
    res = train(cfg, cache_dir=root, device=device, progress=progress, desc=desc)
    return res.model, list(zip(hit["steps"], hit["weights"], strict=True)), res.seconds


def train_variants(
    settings: dict[str, Any],
    seed: int = 0,
    device: torch.device | str | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> Variants:
    """Train (or load) the four variants of :data:`VARIANTS` for one seed.

    ``settings`` (the preset's ``ddr`` entry, :data:`helpers.presets.TABLE`): ``scale``,
    ``n_feats``, ``n_blocks``, ``steps`` (L1 phase), ``gan_steps``, ``lr``, ``gan_lr``,
    ``lr_patch``, ``batch``, ``data``, ``adv_weight``, ``d_lr``, ``d_width``,
    ``snapshots`` (how many, evenly spaced over the L1 phase).
    """
    s = settings
    root = Path(cache_dir) if cache_dir is not None else data_dir() / "ddr"
    dev = torch.device(device) if device is not None else None
    models: dict[str, SRModel] = {}
    snaps: dict[str, list] = {}
    seconds: dict[str, float] = {}
    every = max(1, s["steps"] // max(1, s["snapshots"]))
    base = dict(
        model="srresnet",
        scale=s["scale"],
        data=s["data"],
        patch=s["lr_patch"] * s["scale"],
        batch=s["batch"],
        seed=seed,
    )
    for name, (gr, gan) in VARIANTS.items():
        if not gan:
            cfg = TrainConfig(
                steps=s["steps"], model_kwargs=_kwargs(s, gr), lr=s["lr"], loss="l1", **base
            )
            net, snaps[name], seconds[name] = _l1_with_snapshots(
                cfg, every, root, dev, progress, f"SRResNet {name} (L1)"
            )
        else:
            start = models[name.removesuffix("_gan")]
            # The loss's own code is part of the key (train.py's digest does not cover it).
            params = {k: s[k] for k in ("adv_weight", "d_lr", "d_width")}
            params["code"] = cache.code_digest("ddr/networks.py")
            cfg = TrainConfig(
                steps=s["gan_steps"],
                model_kwargs=_kwargs(s, gr),
                lr=s["gan_lr"],
                loss="l1+gan",
                loss_params=params,
                init=weights_digest(start),
                **base,
            )
            loss = AdversarialLoss(s["adv_weight"], s["d_lr"], s["d_width"], seed, start.device)
            res = train(
                cfg,
                loss_fn=loss,
                cache_dir=root,
                device=dev,
                progress=progress,
                desc=f"SRResNet {name} (L1+GAN)",
                init_weights=start,
            )
            net, seconds[name] = res.model, res.seconds
        models[name] = wrap(net, device=dev, name=name)
    return Variants(models, snaps, seconds, dict(s))
