"""The one training loop every chapter uses, with config-keyed, resumable checkpoints.

A :class:`TrainConfig` names everything that determines the trained weights (data, model,
loss, steps, seed, ...). Its hash, together with a digest of the source of the modules that
define the model, the data pipeline and this loop, keys the checkpoint file
(:mod:`helpers.cache`): a second call with the same config loads the finished weights
instead of training; an interrupted run resumes from its last atomic checkpoint (model,
optimiser, scheduler and sampler RNG), so the resumed run ends with the same weights as an
uninterrupted one. An evaluation callback (:func:`train`'s ``callback``) sees the model
every ``callback_every`` steps, for learning curves.
"""

from __future__ import annotations

import functools
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from . import cache, sweep
from .data import load_images
from .data.resize import hr_lr_pair, modcrop
from .models import build, unwrap, weights_digest
from .runtime import resolve_device

#: A loss takes ``(sr, hr, lr, model)`` and returns a scalar tensor. A loss with state of
#: its own (an adversarial loss's discriminator and optimiser) also has ``state_dict()`` and
#: ``load_state_dict(state)``: :func:`train` checkpoints that state with the model's, so a
#: resumed run ends where an uninterrupted one does.
LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, nn.Module], torch.Tensor]
#: An evaluation callback takes ``(step, model)``: ``step`` updates done, model in eval mode.
Callback = Callable[[int, nn.Module], None]


def step_loss(
    loss_fn: LossFn, model: nn.Module, lr: torch.Tensor, hr: torch.Tensor
) -> torch.Tensor:
    """One step's loss, ``loss_fn(model(lr), hr, lr, model)``. A loss that differentiates
    the SR output with respect to the LR input says so with a method
    ``needs_input_grad(model, lr) -> bool``; the forward then records the input's graph
    (``lr`` becomes a leaf that requires grad), so that loss takes its input gradient from
    this forward instead of running one of its own. Any other loss sees the plain forward."""
    wants = getattr(loss_fn, "needs_input_grad", None)
    if wants is not None and wants(model, lr):
        lr = lr.detach().requires_grad_(True)
    return loss_fn(model(lr), hr, lr, model)


_BUILTIN_LOSSES: dict[str, LossFn] = {
    "l1": lambda sr, hr, lr, m: F.l1_loss(sr, hr),
    "l2": lambda sr, hr, lr, m: F.mse_loss(sr, hr),
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that determines a trained SR model.

    ``patch`` is the HR patch side in pixels (a multiple of ``scale``); ``lr`` the Adam
    learning rate, halved at 50% and 75% of ``steps`` (the EDSR schedule, compressed);
    ``loss`` a built-in name (``"l1"``, ``"l2"``) or the name of a custom ``loss_fn``
    passed to :func:`train`, with its settings in ``loss_params`` (part of the key).
    ``init``: the :func:`helpers.models.weights_digest` of the weights training starts
    from (fine-tuning, e.g. SRGAN's adversarial phase after its L1 phase; pass them as
    :func:`train`'s ``init_weights``); ``None`` starts from the seeded initialisation.
    """

    model: str
    scale: int
    steps: int
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    data: str = "embedded_train"
    patch: int = 96
    batch: int = 16
    lr: float = 2e-4
    loss: str = "l1"
    loss_params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0
    grad_clip: float | None = None
    init: str | None = None

    def __post_init__(self) -> None:
        if self.steps < 0:
            raise ValueError(f"steps must be >= 0, got {self.steps}")
        if self.patch % self.scale:
            raise ValueError(f"patch ({self.patch}) must be a multiple of scale ({self.scale})")
        if self.batch < 1:
            raise ValueError(f"batch must be >= 1, got {self.batch}")

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        if d["init"] is None:  # keeps the keys of every config that does not fine-tune
            del d["init"]
        return d


def _source_hash() -> str:
    """Digest of the sources whose changes would change trained weights: the loop, the
    training data path and the architectures (not evaluation, receptive fields, loaders
    or verdicts, whose edits would otherwise retrain every cached network)."""
    return cache.code_digest(
        "train.py",
        "data/resize.py",
        "data/sets.py",
        "data/download.py",
        "models/arch.py",
        "models/registry.py",
        "models/wrapper.py",
    )


def config_key(config: TrainConfig) -> str:
    """A stable hex key of the config and of the code version of the training path."""
    return cache.key("train", config.to_dict(), _source_hash(), length=20)


class PatchSampler:
    """Aligned random HR/LR patch pairs from whole images, sampled on the fly.

    LR images are made once per image (:func:`helpers.data.resize.hr_lr_pair`; or
    ``degrade(hr)``; or given as ``lr_images``, each exactly HR/scale), so a step only
    gathers crops: ``sample(batch)`` -> ``(lr (B,3,p/s,p/s), hr (B,3,p,p))``,
    with random flips and transposes (the EDSR augmentation), all from one generator.

    An HR image may carry guide channels after its RGB ones, e.g. (1, 3 + K, H, W) with K
    segment masks for a semantically guided loss: they are cropped, flipped and transposed
    with the pixels, so the loss finds them in ``hr[:, 3:]``; the LR is made from the RGB.
    """

    def __init__(
        self,
        hr_images: list[torch.Tensor],
        scale: int,
        patch: int,
        seed: int,
        degrade: Callable[[torch.Tensor], torch.Tensor] | None = None,
        lr_images: list[torch.Tensor] | None = None,
    ) -> None:

        if patch % scale:
            raise ValueError(f"patch ({patch}) must be a multiple of scale ({scale})")
        self.scale, self.patch = scale, patch
        self.hr = [modcrop(im, scale) for im in hr_images]
        small = [im for im in self.hr if min(im.shape[-2:]) < patch]
        if small:
            raise ValueError(
                f"{len(small)} training image(s) are smaller than the patch ({patch} px, "
                f"smallest side {min(min(s.shape[-2:]) for s in small)}); use a smaller patch"
            )
        if lr_images is not None:
            if degrade is not None:
                raise ValueError("give lr_images or degrade, not both")
            self.lr = list(lr_images)
            bad = [
                i
                for i, (lo, hi) in enumerate(zip(self.lr, self.hr, strict=True))
                if tuple(lo.shape[-2:]) != (hi.shape[-2] // scale, hi.shape[-1] // scale)
            ]
            if bad:
                raise ValueError(f"lr_images {bad} are not their HR image's size / {scale}")
        else:
            rgb = [im[:, :3] for im in self.hr]  # extra channels are guides, not pixels
            self.lr = [degrade(im) if degrade else hr_lr_pair(im, scale)[1] for im in rgb]
        # Sample images in proportion to their area, so every pixel is equally likely.
        areas = torch.tensor([float(im.shape[-2] * im.shape[-1]) for im in self.hr])
        self.weights = areas / areas.sum()
        self.gen = torch.Generator().manual_seed(seed)

    def sample(self, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
        s, p = self.scale, self.patch
        q = p // s
        idx = torch.multinomial(self.weights, batch, replacement=True, generator=self.gen)
        u = torch.rand(batch, 5, generator=self.gen)
        lrs, hrs = [], []
        for i, b in enumerate(idx.tolist()):
            lr_img, hr_img = self.lr[b], self.hr[b]
            y = int(u[i, 0] * (lr_img.shape[-2] - q + 1))
            x = int(u[i, 1] * (lr_img.shape[-1] - q + 1))
            lrs.append(lr_img[0, :, y : y + q, x : x + q])
            hrs.append(hr_img[0, :, y * s : y * s + p, x * s : x * s + p])
        lr, hr = torch.stack(lrs), torch.stack(hrs)
        flip_h, flip_v, transpose = (u[:, 2] < 0.5), (u[:, 3] < 0.5), (u[:, 4] < 0.5)
        for mask, op in (
            (flip_h, lambda t: t.flip(-1)),
            (flip_v, lambda t: t.flip(-2)),
            (transpose, lambda t: t.transpose(-1, -2)),
        ):
            lr[mask], hr[mask] = op(lr[mask]), op(hr[mask])
        return lr, hr

    def state(self) -> torch.Tensor:
        return self.gen.get_state()

    def set_state(self, state: torch.Tensor) -> None:
        self.gen.set_state(state)


@dataclass
class TrainResult:
    """A trained model and how it got there (``seconds``: training wall time, summed
    over resumed runs; ``history``: per-step loss; ``cached``: loaded, not trained)."""

    model: nn.Module
    config: TrainConfig
    key: str
    path: Path
    seconds: float
    history: list[float]
    cached: bool


def checkpoint_path(config: TrainConfig, cache_dir: str | Path | None = None) -> Path:
    """Where the checkpoint for ``config`` lives (``<cache>/train/<model>-x<s>-<key>.pt``;
    ``cache_dir`` replaces ``<cache>/train``)."""
    return cache.entry_path(
        "train" if cache_dir is None else "",
        config_key(config),
        root=cache_dir,
        prefix=f"{config.model}-x{config.scale}-",
    )


@functools.lru_cache(maxsize=8)
def _training_pairs(data: str, scale: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """HR images of dataset ``data`` (cropped to the scale) and their 8-bit bicubic LR.

    Cached per process: a chapter training a dozen models prepares the images once.
    """
    pairs = [hr_lr_pair(im, scale) for _, im in load_images(data)]
    return [hr for hr, _ in pairs], [lr for _, lr in pairs]


def train(
    config: TrainConfig,
    loss_fn: LossFn | None = None,
    images: list[torch.Tensor] | None = None,
    cache_dir: str | Path | None = None,
    device: str | torch.device | None = None,
    ckpt_every: int = 200,
    progress: bool = True,
    desc: str | None = None,
    callback: Callback | None = None,
    callback_every: int | None = None,
    init_weights: nn.Module | None = None,
) -> TrainResult:
    """Train (or load, or resume) the model ``config`` describes; returns it in eval mode.

    ``images``: HR training images (1,3,H,W) in [0,1]; by default the images of
    ``config.data``. Passing images that differ from ``config.data`` is the caller's
    responsibility: name them in ``config.data`` so the cache key differs.
    A loss that becomes NaN/inf raises ``FloatingPointError`` naming the step.

    ``callback(step, model)`` runs before the update of every step that is a multiple of
    ``callback_every`` (``step`` = updates done so far, so 0 is the untrained model) and
    once after the last step, with the model in eval mode (restored to train mode after)
    and no gradient; it must not draw from torch's global RNG. It only runs while
    training: a finished checkpoint loaded from the cache calls nothing, and a resumed run
    calls it from the resumed step on, so a caller that records a curve caches the curve
    itself (keyed by the same config) and retrains from scratch when it is missing.

    ``init_weights``: the network to start from when ``config.init`` is set (its weights
    digest must equal ``config.init``; same architecture as ``config.model``).
    """
    if callback is not None and (
        not isinstance(callback_every, int)
        or isinstance(callback_every, bool)
        or callback_every < 1
    ):
        raise ValueError(
            f"callback_every must be a positive int with a callback, got {callback_every!r}"
        )
    device = resolve_device(device)
    if loss_fn is None:
        if config.loss not in _BUILTIN_LOSSES:
            raise ValueError(
                f"loss {config.loss!r} is not built in ({list(_BUILTIN_LOSSES)}); "
                "pass loss_fn= with a name for it in config.loss"
            )
        loss_fn = _BUILTIN_LOSSES[config.loss]
    key = config_key(config)
    path = checkpoint_path(config, cache_dir)

    if (config.init is None) != (init_weights is None):
        raise ValueError(
            "config.init and init_weights go together: set config.init to "
            "helpers.models.weights_digest(net) and pass the net as init_weights"
        )
    if init_weights is not None and weights_digest(init_weights) != config.init:
        raise ValueError(
            f"init_weights have digest {weights_digest(init_weights)[:12]}..., but config.init "
            f"is {config.init[:12]}...: the config does not describe these starting weights"
        )
    torch.manual_seed(config.seed)
    model = build(config.model, config.scale, **config.model_kwargs).to(device)
    if init_weights is not None:
        model.load_state_dict(unwrap(init_weights).state_dict())
    stateful = hasattr(loss_fn, "state_dict") and hasattr(loss_fn, "load_state_dict")
    state = cache.load(path, key, "training checkpoint")
    if state is not None and state["done"]:
        model.load_state_dict(state["model"])
        return TrainResult(
            model.eval(), config, key, path, state["seconds"], state["history"], True
        )

    opt = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.99))
    milestones = [max(1, int(config.steps * f)) for f in (0.5, 0.75)]
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones, gamma=0.5)
    if images is not None:
        sampler = PatchSampler(images, config.scale, config.patch, config.seed)
    else:
        hr, lr_imgs = _training_pairs(config.data, config.scale)
        sampler = PatchSampler(hr, config.scale, config.patch, config.seed, lr_images=lr_imgs)
    step, seconds, history = 0, 0.0, []
    if state is not None:  # resume an interrupted run
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        sampler.set_state(state["sampler"])
        torch.set_rng_state(state["torch_rng"])
        if stateful:
            loss_fn.load_state_dict(state["loss_state"])
        step, seconds, history = state["step"], state["seconds"], state["history"]

    def save(done: bool) -> None:
        cache.save(
            path,
            key,
            {
                "config": json.dumps(config.to_dict(), sort_keys=True),
                "done": done,
                "step": step,
                "seconds": seconds,
                "history": history,
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict(),
                "sampler": sampler.state(),
                "torch_rng": torch.get_rng_state(),
                **({"loss_state": loss_fn.state_dict()} if stateful else {}),
            },
        )

    def evaluate(at: int) -> None:
        model.eval()
        with torch.no_grad():
            callback(at, model)
        model.train()

    model.train()
    bar = tqdm(
        total=config.steps,
        initial=step,
        desc=desc or f"{config.model} x{config.scale}",
        disable=not progress,
        leave=False,
    )
    losses = torch.zeros(0, device=device)
    t0 = time.perf_counter()
    while step < config.steps:
        if callback is not None and step % callback_every == 0:
            evaluate(step)
        lr, hr = sampler.sample(config.batch)
        lr, hr = lr.to(device, non_blocking=True), hr.to(device, non_blocking=True)
        loss = step_loss(loss_fn, model, lr, hr)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if config.grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
        opt.step()
        sched.step()
        step += 1
        # Losses stay on the device; one sync per checkpoint instead of one per step.
        losses = torch.cat([losses, loss.detach().reshape(1)])
        if step % ckpt_every == 0 or step == config.steps:
            chunk = losses.cpu().tolist()
            losses = torch.zeros(0, device=device)
            bad = [i for i, v in enumerate(chunk) if not math.isfinite(v)]
            if bad:
                raise FloatingPointError(
                    f"{config.model} x{config.scale}: loss became {chunk[bad[0]]} at step "
                    f"{step - len(chunk) + bad[0] + 1}; lower lr ({config.lr}) or set grad_clip"
                )
            history.extend(chunk)
            seconds += time.perf_counter() - t0
            t0 = time.perf_counter()
            save(done=step == config.steps)
            bar.set_postfix(loss=f"{sum(chunk) / len(chunk):.4f}")
        bar.update(1)
    bar.close()
    if config.steps == 0:
        save(done=True)
    if callback is not None:
        evaluate(step)
    return TrainResult(model.eval(), config, key, path, seconds, history, False)


def _train_quietly(config: TrainConfig) -> str:
    """A sweep job: train ``config`` into the cache (or find it there); its key."""
    return train(config, progress=False).key


def prefetch(configs: list[TrainConfig], executor: str | None = None) -> None:
    """Train every config (no custom loss) on the sweep executor
    (:func:`helpers.sweep.prefetch`: on Dask, the workers fill the cache and the caller's
    own :func:`train` calls then load; locally nothing happens here and the caller's calls
    train in order). Workers train on their own default device."""
    sweep.prefetch(_train_quietly, configs, executor)
