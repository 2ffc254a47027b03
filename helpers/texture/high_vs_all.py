"""Fig. 7 of Magid et al. (CVPR 2022, §4.1): the same network trained from scratch on all
training patches vs on the high-complexity ones only, with PSNR curves on all and on the
high test patches.

:func:`train_high_vs_all` trains each arm with :func:`helpers.train.train` (the book's one
loop, checkpoint keyed by its config) and records the curve with the loop's evaluation
callback; the curve is cached (:func:`helpers.cache.cached`) keyed by the training config,
the evaluation settings, the test patches and this code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from .. import cache
from ..models import build
from ..models.evaluate import quantize
from ..runtime import resolve_device
from ..train import TrainConfig, checkpoint_path, config_key, train
from .classifier import cache_root
from .patchset import patch_psnr

__all__ = ["HighVsAll", "train_high_vs_all"]

#: The sources a recorded curve depends on beyond the training config (evaluation, PSNR).
CURVE_SOURCES: tuple[str, ...] = (
    "texture/high_vs_all.py",
    "texture/patchset.py",
    "models/evaluate.py",
)


@dataclass
class HighVsAll:
    """Result of :func:`train_high_vs_all`.

    ``curves``: long DataFrame ``arm`` (all/high, the training patches), ``eval`` (all/high,
    the test patches), ``step``, ``psnr`` (mean Y-PSNR, dB); ``bicubic``: the bicubic PSNR
    of each test subset; ``n_train``/``n_test``: patches per arm / subset; ``seconds``:
    training wall time per arm; ``steps``; ``config``: the training recipe.
    """

    curves: pd.DataFrame
    bicubic: dict[str, float]
    n_train: dict[str, int]
    n_test: dict[str, int]
    seconds: dict[str, float]
    steps: int
    config: dict[str, Any]

    def final(self) -> pd.DataFrame:
        """PSNR after the last step: rows = training arm, columns = test subset."""
        last = self.curves[self.curves.step == self.steps]
        return last.pivot(index="arm", columns="eval", values="psnr")

    def record(
        self, rule: Mapping[str, Any], rule_test: Mapping[str, Any], test_set: str
    ) -> dict[str, Any]:
        """What a chapter stores of the experiment: the selection ``rule`` of the training
        and ``rule_test`` of the test patches (:func:`helpers.texture.profiles.select_high`),
        ``steps``, ``test_set``, ``final_psnr`` (arm -> subset -> dB, 3 decimals),
        ``bicubic`` (subset -> dB), ``n_train``, ``n_test`` and ``config``."""
        final = self.final()
        return {
            "rule": rule,
            "rule_test": rule_test,
            "steps": self.steps,
            "test_set": test_set,
            "final_psnr": {
                arm: {ev: round(final.loc[arm, ev], 3) for ev in final.columns}
                for arm in final.index
            },
            "bicubic": {k: round(v, 3) for k, v in self.bicubic.items()},
            "n_train": self.n_train,
            "n_test": self.n_test,
            "config": self.config,
        }


@torch.inference_mode()
def _mean_psnr(
    model: nn.Module,
    lr: torch.Tensor,
    hr: torch.Tensor,
    scale: int,
    device: torch.device,
    batch: int = 64,
) -> np.ndarray:
    """Y-PSNR (dB) of ``model``'s quantized SR of each LR patch (M, 3, p, p) against its
    HR patch (M, 3, p*scale, p*scale), batched on ``device``: (M,) float64."""
    out = []
    for s in range(0, len(lr), batch):
        sr = quantize(model(lr[s : s + batch].to(device))).cpu()
        out.append(patch_psnr(sr, hr[s : s + batch], scale))
    return np.concatenate(out)


def train_high_vs_all(
    train_hr: torch.Tensor,
    train_high: np.ndarray,
    test_hr: torch.Tensor,
    test_lr: torch.Tensor,
    test_high: np.ndarray,
    scale: int = 4,
    steps: int = 400,
    eval_every: int | None = None,
    model: str = "edsr",
    model_kwargs: Mapping[str, Any] | None = None,
    lr_patch: int = 16,
    batch: int = 16,
    lr: float = 5e-4,
    seed: int = 0,
    device: str | torch.device | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> HighVsAll:
    """Fig. 7: the same network trained from scratch on all training patches vs on the
    high-complexity ones only, with equal steps and batch; PSNR curves on all and on the
    high test patches.

    Training uses :func:`helpers.train.train` with the L1 loss on the HR patches as
    images, from which it samples ``lr_patch * scale`` px crops. The curve is recorded by
    its callback at steps 0, ``eval_every``, 2 ``eval_every``, ... and after the last
    step (mean Y-PSNR of the model, in eval mode, on all and on the high test patches),
    and cached beside the checkpoint (``<cache>/high_vs_all/curve-<arm>-<key>.json``). A
    missing curve retrains its arm from scratch (the callback only sees a fresh run).

    Args:
        train_hr: (N, 3, P, P) HR training patches in [0, 1]; ``train_high`` (N,) bool.
        test_hr: (M, 3, P, P), test_lr: (M, 3, P/scale, P/scale); ``test_high`` (M,) bool.
        steps: training steps per arm; eval_every: default steps // 5.
        model, model_kwargs: a registry architecture (default: EDSR, 16 features, 4 blocks).
        lr: Adam learning rate (halved at 50 % and 75 % of the steps, the EDSR schedule).
    """
    dev = resolve_device(device)
    train_high = np.asarray(train_high, bool)
    test_high = np.asarray(test_high, bool)
    if train_high.sum() == 0 or test_high.sum() == 0:
        raise ValueError("no high-complexity patches to train or test on")
    if len(train_high) != len(train_hr) or len(test_high) != len(test_hr):
        raise ValueError("masks and patches differ in length")
    eval_every = eval_every or max(1, steps // 5)
    kwargs = dict(model_kwargs or {"n_feats": 16, "n_blocks": 4})
    root = cache_root(cache_dir) / "high_vs_all"
    test_id = cache.tensor_digest(test_hr, test_lr, torch.from_numpy(test_high))
    code = cache.code_digest(*CURVE_SOURCES)
    subsets = {"all": np.ones(len(test_hr), bool), "high": test_high}
    bic = build("bicubic", scale)
    bicubic = {
        k: float(_mean_psnr(bic, test_lr[m], test_hr[m], scale, torch.device("cpu")).mean())
        for k, m in subsets.items()
    }
    rows, seconds, n_train = [], {}, {}
    for arm, mask in (("all", np.ones(len(train_hr), bool)), ("high", train_high)):
        imgs = train_hr[torch.as_tensor(mask)]
        cfg = TrainConfig(
            model=model,
            scale=scale,
            steps=steps,
            model_kwargs=kwargs,
            data=f"texture-patches-{arm}-{cache.tensor_digest(imgs)[:16]}",
            patch=lr_patch * scale,
            batch=batch,
            lr=lr,
            loss="l1",
            seed=seed,
        )
        curve_key = cache.key(
            "high_vs_all", {"eval_every": eval_every}, code, [config_key(cfg), test_id], length=20
        )
        curve_path = cache.entry_path(
            "", curve_key, root=root, prefix=f"curve-{arm}-", suffix=".json"
        )

        def compute(cfg: TrainConfig = cfg, imgs: torch.Tensor = imgs, arm: str = arm) -> dict:
            checkpoint_path(cfg, root).unlink(missing_ok=True)  # a curve needs a fresh run
            points: list[list[Any]] = []

            def record(step: int, net: nn.Module) -> None:
                p = _mean_psnr(net, test_lr, test_hr, scale, dev)  # all; subsets index it
                points.extend([step, k, float(p[m].mean())] for k, m in subsets.items())

            res = train(
                cfg,
                images=list(imgs[:, None]),
                cache_dir=root,
                device=dev,
                progress=progress,
                desc=f"EDSR on {arm} patches",
                callback=record,
                callback_every=eval_every,
            )
            return {"points": points, "seconds": res.seconds}

        rec, _ = cache.cached(curve_path, curve_key, compute, "high-vs-all curve")
        rows += [{"arm": arm, "eval": k, "step": s, "psnr": v} for s, k, v in rec["points"]]
        seconds[arm] = float(rec["seconds"])
        n_train[arm] = int(mask.sum())
    curves = pd.DataFrame(rows).drop_duplicates(["arm", "eval", "step"], keep="last")
    return HighVsAll(
        curves=curves.sort_values(["arm", "eval", "step"]).reset_index(drop=True),
        bicubic=bicubic,
        n_train=n_train,
        n_test={k: int(m.sum()) for k, m in subsets.items()},
        seconds=seconds,
        steps=steps,
        config={
            "model": model,
            "model_kwargs": kwargs,
            "lr_patch": lr_patch,
            "batch": batch,
            "lr": lr,
            "eval_every": eval_every,
        },
    )
