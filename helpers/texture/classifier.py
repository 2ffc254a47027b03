"""Training, loading and evaluating the DeepTEN texture classifier, with keyed, resumable
checkpoints (:mod:`helpers.cache`).

- :func:`train_classifier`: trains (or loads, or resumes) a classifier on a
  :class:`~helpers.data.textures.TextureData`; per-sample seeded augmentation and
  step-indexed shuffling make a resumed run end with the weights of an uninterrupted one.
- :func:`config_key` / :func:`checkpoint_path`: the checkpoint's key (config, classes,
  seed, ImageNet file; the training data's identity; the training code's digest) and file.
- :func:`load_classifier`: a verified checkpoint -> :class:`~helpers.texture.deepten.DeepTEN`.
- :func:`evaluate`: test accuracy, confusion matrix and per-class recall.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from .. import cache
from ..data.textures import TextureData, eval_transform, train_transform
from ..runtime import data_dir, derive_seed, resolve_device
from .deepten import DeepTEN, build_classifier, check_classes, imagenet_weights_path, merge_config

__all__ = [
    "CODE_SOURCES",
    "cache_root",
    "checkpoint_path",
    "config_key",
    "evaluate",
    "load_classifier",
    "train_classifier",
]

#: The sources whose changes alter trained weights (model, data pipeline, loop); their
#: :func:`helpers.cache.code_digest` is part of the checkpoint key, so a changed one
#: retrains instead of reusing a stale checkpoint.
CODE_SOURCES: tuple[str, ...] = ("texture/deepten.py", "texture/classifier.py", "data/textures.py")


# --------------------------------------------------------------------------- batches
class _Augmented(Dataset):
    """Items ``(index, seed)`` -> (augmented float image, label); seeding per sample makes
    the stream identical for any number of workers and across resumes."""

    def __init__(self, data: TextureData, transform: Any) -> None:
        self.data, self.transform = data, transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, key: tuple[int, int]) -> tuple[torch.Tensor, int]:
        i, seed = key
        img, lab = self.data[i]
        torch.manual_seed(seed)  # torchvision v2 transforms draw from the global RNG
        return self.transform(img), lab


class _StepBatches:
    """Batch sampler: step s gets samples s*B .. s*B+B-1 of a seeded endless shuffle."""

    def __init__(self, n: int, batch: int, seed: int, start: int, stop: int) -> None:
        self.n, self.batch, self.seed, self.start, self.stop = n, batch, seed, start, stop
        self._perms: dict[int, torch.Tensor] = {}

    def _perm(self, epoch: int) -> torch.Tensor:
        if epoch not in self._perms:
            g = torch.Generator().manual_seed(derive_seed(self.seed, "epoch", epoch))
            self._perms = {epoch: torch.randperm(self.n, generator=g)}
        return self._perms[epoch]

    def __len__(self) -> int:
        return self.stop - self.start

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        for step in range(self.start, self.stop):
            out = []
            for j in range(self.batch):
                p = step * self.batch + j
                idx = int(self._perm(p // self.n)[p % self.n])
                out.append((idx, derive_seed(self.seed, "aug", p) % 2**63))
            yield out


# --------------------------------------------------------------------------- training
def cache_root(cache_dir: str | Path | None = None) -> Path:
    """The texture cache folder: ``cache_dir``, or ``$HELPERS_DATA_DIR/texture`` by default
    (checkpoints, the classifier index, labellings and the high-vs-all runs live here)."""
    return Path(cache_dir) if cache_dir is not None else data_dir() / "texture"


def config_key(
    data_train: TextureData, classes: Sequence[str], config: dict[str, Any] | str | None, seed: int
) -> str:
    """The checkpoint key (20 hex chars): :func:`helpers.cache.key` of kind
    ``"texture_classifier"`` over the config (less ``ckpt_every`` and ``num_workers``, which
    do not change the weights), the classes, the seed and the ImageNet file used; the
    training data's :meth:`~helpers.data.textures.TextureData.identity` as input; the
    digest of :data:`CODE_SOURCES` as code."""
    cfg = merge_config(config)
    pre = None
    if cfg["pretrained"] is not False and cfg["width"] == 64:
        p = imagenet_weights_path(cfg["backbone"])
        pre = p.name if p else None
    keyed = {k: v for k, v in cfg.items() if k not in ("ckpt_every", "num_workers")}
    return cache.key(
        "texture_classifier",
        {"config": keyed, "classes": list(classes), "seed": int(seed), "imagenet": pre},
        cache.code_digest(*CODE_SOURCES),
        [data_train.identity()],
        length=20,
    )


def checkpoint_path(
    data_train: TextureData,
    classes: Sequence[str],
    config: dict[str, Any] | str | None = None,
    cache_dir: str | Path | None = None,
    seed: int = 0,
) -> Path:
    """Where :func:`train_classifier` keeps this run's checkpoint:
    ``<cache_root(cache_dir)>/deepten-<config_key>.pt``."""
    key = config_key(data_train, classes, config, seed)
    return cache.entry_path("", key, root=cache_root(cache_dir), prefix="deepten-")


def _lr_at(step: int, cfg: dict[str, Any]) -> float:
    base, total, warm = cfg["lr"], cfg["steps"], cfg["warmup_steps"]
    if warm and step < warm:
        return base * (step + 1) / warm
    if cfg["schedule"] == "step":  # the paper: /10 every quarter (150 of 600 epochs)
        return base * 0.1 ** min(3, int(4 * step / total))
    if cfg["schedule"] == "cosine":
        t = (step - warm) / max(1, total - warm)
        return base * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))
    return base


def train_classifier(
    data_train: TextureData,
    classes: Sequence[str],
    config: dict[str, Any] | str | None = None,
    cache_dir: str | Path | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
    progress: bool = True,
    stop_after: int | None = None,
) -> tuple[DeepTEN, dict[str, Any]]:
    """Train (or load) a DeepTEN classifier, with a config-keyed, resumable checkpoint.

    The checkpoint ``<cache_dir>/deepten-<key>.pt`` (default cache:
    ``data_dir()/texture``) is keyed by the config, the class list, the training data's
    identity, the seed, the ImageNet file used and the training code (:func:`config_key`).
    It is written atomically (:func:`helpers.cache.save`) every ``ckpt_every`` steps and at
    the end; a finished one is reused (0 steps trained), an unfinished one is resumed,
    giving the same weights as an uninterrupted run (per-sample seeded augmentation,
    step-indexed shuffling). A damaged checkpoint, or one holding another key, warns and
    is trained again from scratch (:func:`helpers.cache.load`).

    Args:
        data_train: the training :class:`TextureData`; its classes must equal ``classes``.
        classes: label names in index order (stored in the checkpoint).
        config: a dict overriding :data:`~helpers.texture.deepten.DEFAULT_CONFIG`, or a
            preset name.
        device: where to train (default CUDA if available).
        seed: determines initialisation, shuffling and augmentation.
        progress: show a tqdm bar.
        stop_after: train at most this many steps in this call, leaving a resumable
            checkpoint (for time-boxed runs and tests).

    Raises:
        ValueError: ``classes`` differ from the data's, or the data's images cover fewer
            than 2 classes (nothing to tell apart).

    Returns:
        ``(model, history)``: the model in eval mode on ``device``; history with lists
        ``step``, ``loss``, ``train_acc``, ``lr`` (per logging interval), and
        ``steps_run`` (this call), ``resumed_from``, ``seconds`` (this call),
        ``train_seconds`` (all calls), ``checkpoint``, ``key``, ``done``.
    """
    call_t0 = time.perf_counter()
    cfg = merge_config(config)
    classes = tuple(classes)
    check_classes(classes, data_train.classes, "classes argument vs training data")
    present = sorted({classes[i] for i in data_train.labels.tolist()})
    if len(present) < 2:
        # One class makes the loss 0 from the first step and every prediction that class:
        # a "classifier" whose labels, agreement and chance level are all trivially 1.
        raise ValueError(
            f"{data_train.name}: a texture classifier needs images of at least 2 classes, "
            f"got {len(classes)} class(es) {list(classes)} with images of only {present}; "
            "add images of other classes"
        )
    dev = resolve_device(device)
    key = config_key(data_train, classes, cfg, seed)
    path = cache.entry_path("", key, root=cache_root(cache_dir), prefix="deepten-")
    total = cfg["steps"]

    with torch.random.fork_rng(devices=[]):  # keep the caller's global RNG untouched
        torch.manual_seed(derive_seed(seed, "init"))
        model = build_classifier(classes, cfg)
    model.to(dev)
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg["optimizer"] == "sgd":
        opt: torch.optim.Optimizer = torch.optim.SGD(
            params, lr=cfg["lr"], momentum=cfg["momentum"], weight_decay=cfg["weight_decay"]
        )
    else:
        opt = torch.optim.AdamW(params, lr=cfg["lr"], weight_decay=cfg["weight_decay"])

    history: dict[str, Any] = {
        "step": [],
        "loss": [],
        "train_acc": [],
        "lr": [],
        "train_seconds": 0.0,
    }
    start = 0
    ck = cache.load(path, key, "texture classifier checkpoint")
    if ck is not None:
        check_classes(classes, ck["classes"], f"checkpoint {path}")
        model.load_state_dict(ck["model"])
        history = ck["history"]
        start = int(ck["step"])
        if ck["done"]:
            model.eval()
            history.update(
                steps_run=0,
                resumed_from=start,
                checkpoint=str(path),
                key=key,
                done=True,
                seconds=time.perf_counter() - call_t0,
            )
            return model, history
        opt.load_state_dict(ck["optimizer"])
    stop = total if stop_after is None else min(total, start + int(stop_after))

    def save(step: int, done: bool) -> None:
        cache.save(
            path,
            key,
            {
                "classes": list(classes),
                "config": cfg,
                "step": step,
                "done": done,
                "model": model.state_dict(),
                "optimizer": opt.state_dict(),
                "history": history,
                "pretrained_file": model.pretrained_file,
            },
        )

    loader = DataLoader(
        _Augmented(data_train, train_transform(cfg)),
        batch_sampler=_StepBatches(len(data_train), cfg["batch"], seed, start, stop),
        num_workers=cfg["num_workers"],
        pin_memory=dev.type == "cuda",
    )
    log_every = max(1, min(50, total // 20))
    t0 = time.perf_counter()
    model.train()
    run_loss, run_correct, run_n = 0.0, 0, 0
    step = start
    bar = tqdm(
        total=total,
        initial=start,
        desc="training texture classifier",
        disable=not progress,
        leave=False,
    )
    with torch.random.fork_rng(devices=[]):
        for x, y in loader:
            x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
            lr = _lr_at(step, cfg)
            for grp in opt.param_groups:
                grp["lr"] = lr
            logits = model(x)
            loss = F.cross_entropy(logits, y, label_smoothing=cfg["label_smoothing"])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"training diverged at step {step} (loss {loss.item()}); lower lr"
                )
            run_loss += loss.item() * len(y)
            run_correct += int((logits.argmax(1) == y).sum())
            run_n += len(y)
            step += 1
            bar.update(1)
            if step % log_every == 0 or step == stop:
                history["step"].append(step)
                history["loss"].append(run_loss / run_n)
                history["train_acc"].append(run_correct / run_n)
                history["lr"].append(lr)
                bar.set_postfix(loss=f"{run_loss / run_n:.3f}", acc=f"{run_correct / run_n:.2f}")
                run_loss, run_correct, run_n = 0.0, 0, 0
            if step % cfg["ckpt_every"] == 0 and step < stop:
                history["train_seconds"] += time.perf_counter() - t0
                t0 = time.perf_counter()
                save(step, False)
    bar.close()
    history["train_seconds"] += time.perf_counter() - t0
    done = step >= total
    save(step, done)
    model.eval()
    history.update(
        steps_run=step - start,
        resumed_from=start,
        checkpoint=str(path),
        key=key,
        done=done,
        seconds=time.perf_counter() - call_t0,
    )
    return model, history


def load_classifier(
    path: str | Path,
    classes: Sequence[str] | None = None,
    device: str | torch.device | None = None,
    allow_unfinished: bool = False,
) -> DeepTEN:
    """Load a classifier checkpoint written by :func:`train_classifier`.

    ``classes``: the label list the caller expects; a different list (names or order)
    raises ``ValueError`` naming the differences, so labels are never silently
    misread. Unfinished checkpoints are refused unless ``allow_unfinished``. The file is
    verified against the key in its name (``deepten-<key>.pt``, :func:`helpers.cache.load`):
    a damaged file, or one holding another key, raises ``RuntimeError``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no classifier checkpoint at {path}")
    ck = cache.load(path, path.stem.split("-", 1)[-1], "texture classifier checkpoint")
    if ck is None:
        raise RuntimeError(
            f"checkpoint {path} is damaged or holds another key; rerun train_classifier"
        )
    if classes is not None:
        check_classes(classes, ck["classes"], f"expected by caller vs checkpoint {path}")
    if not ck["done"] and not allow_unfinished:
        raise RuntimeError(
            f"checkpoint {path} is unfinished (step {ck['step']} of {ck['config']['steps']}); "
            "rerun train_classifier to resume, or pass allow_unfinished=True"
        )
    model = DeepTEN(ck["classes"], ck["config"])
    model.load_state_dict(ck["model"])
    model.pretrained_file = ck.get("pretrained_file")
    return model.to(resolve_device(device)).eval()


# --------------------------------------------------------------------------- evaluation
@torch.inference_mode()
def evaluate(
    model: DeepTEN,
    data: TextureData,
    batch_size: int = 64,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Test accuracy and confusion matrix on ``data`` (centre crop ``eval_crop``).

    Returns:
        dict with ``accuracy`` (float), ``confusion`` ((C, C) int64 ndarray, rows = true
        class, columns = predicted), ``per_class`` ({label: recall}), ``classes``, ``n``,
        ``pred`` ((N,) int64 ndarray).
    """
    check_classes(model.classes, data.classes, "model vs evaluation data")
    dev = resolve_device(device)
    model.to(dev).eval()
    tf = eval_transform(model.config)
    preds: list[torch.Tensor] = []
    n = len(data)
    for s in tqdm(range(0, n, batch_size), desc="evaluating", disable=not progress, leave=False):
        x = torch.stack([tf(data[i][0]) for i in range(s, min(n, s + batch_size))])
        preds.append(model(x.to(dev)).argmax(1).cpu())
    pred = torch.cat(preds).numpy()
    true = data.labels.numpy()
    c = len(data.classes)
    conf = np.bincount(true * c + pred, minlength=c * c).reshape(c, c).astype(np.int64)
    rec = conf.diagonal() / np.maximum(conf.sum(1), 1)
    return {
        "accuracy": float((pred == true).mean()),
        "confusion": conf,
        "per_class": {k: float(r) for k, r in zip(data.classes, rec, strict=True)},
        "classes": list(data.classes),
        "n": n,
        "pred": pred,
    }
