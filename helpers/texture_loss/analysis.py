"""The texture-loss chapter's steps as functions: its data, its networks (trained per
seed), the scores of every output, and the tables the chapter shows and writes.

The chapter calls these in order; each returns plain tensors, dicts and DataFrames.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn

from ..data.resize import hr_lr_pair
from ..data.textures import TextureData
from ..models import build
from ..runtime import derive_seed
from .composites import Composites, check_masks, make_composites, with_guides
from .evaluate import classifier_correct, deepten_features, score_outputs, super_resolve_all
from .lossnet import LossNetwork, texture_data

__all__ = [
    "ChapterData",
    "chapter_data",
    "classify_outputs",
    "findings",
    "mean_sd_table",
    "score_seed",
]


@dataclass
class ChapterData:
    """Training composites (with masks as guide channels), test composites and their LR,
    and single-texture test images with labels (for the texture classifier)."""

    train_images: list[torch.Tensor]
    test: Composites
    test_hr: torch.Tensor
    test_lr: torch.Tensor
    classify_hr: torch.Tensor
    classify_lr: torch.Tensor
    classify_labels: torch.Tensor
    classes: tuple[str, ...]


def _per_class(
    data: TextureData, n: int, size: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to ``n`` images per class, centre-cropped to ``size`` (smaller ones skipped)."""
    gen = torch.Generator().manual_seed(derive_seed(seed, "classify"))
    imgs, labs = [], []
    labels = data.labels.tolist()
    for c in range(len(data.classes)):
        idx = [i for i, lab in enumerate(labels) if lab == c]
        idx = [idx[i] for i in torch.randperm(len(idx), generator=gen)[:n].tolist()]
        for i in idx:
            x = data[i][0].float() / 255.0
            h, w = x.shape[-2:]
            if min(h, w) < size:
                continue
            y0, x0 = (h - size) // 2, (w - size) // 2
            imgs.append(x[:, y0 : y0 + size, x0 : x0 + size])
            labs.append(c)
    return torch.stack(imgs), torch.tensor(labs)


def chapter_data(spec: Mapping[str, Any], preset: str, seed: int = 0) -> ChapterData:
    """Composites for training (from the texture train split) and testing (test split),
    and the classification set, as the preset's ``texture_loss`` entry sizes them."""
    train, test = texture_data(preset, seed)
    size, scale = spec["composite_size"], spec["scale"]
    tr = make_composites(train, spec["n_train"], size, spec["segments"], seed)
    te = make_composites(test, spec["n_test"], size, spec["segments"], seed + 1)
    check_masks(tr.images, tr.masks)
    check_masks(te.images, te.masks)
    test_hr, test_lr = hr_lr_pair(te.images, scale)
    chr_, clab = _per_class(test, spec["classify_per_class"], size, seed)
    chr_, clr = hr_lr_pair(chr_, scale)
    return ChapterData(with_guides(tr), te, test_hr, test_lr, chr_, clr, clab, tuple(test.classes))


def score_seed(
    nets: Mapping[str, nn.Module],
    data: ChapterData,
    judge: LossNetwork,
    scale: int,
    classifier: nn.Module | None = None,
) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, torch.Tensor]]:
    """Scores (:func:`~helpers.texture_loss.evaluate.score_outputs`) of bicubic, every
    network of ``nets`` and HR on the test composites, under ``judge`` and, when given,
    the texture ``classifier``'s trunk as a second judge (``gram:deepten``); returns
    ``(scores, outputs)``."""
    models = {"bicubic": build("bicubic", scale), **nets}
    outputs = super_resolve_all(models, data.test_lr, data.test_hr)
    others = {"deepten": deepten_features(classifier)} if classifier is not None else None
    return score_outputs(outputs, judge, data.test.masks, scale, others=others), outputs


def classify_outputs(
    nets: Mapping[str, nn.Module], data: ChapterData, classifier: nn.Module, scale: int, crop: int
) -> dict[str, np.ndarray]:
    """Per single-texture test image, 1/0 whether the texture classifier names its class,
    for bicubic, every network and HR."""
    models = {"bicubic": build("bicubic", scale), **nets}
    outputs = super_resolve_all(models, data.classify_lr, data.classify_hr)
    return {
        k: classifier_correct(classifier, v, data.classify_labels, crop) for k, v in outputs.items()
    }


def mean_sd_table(
    per_seed: Sequence[Mapping[str, Mapping[str, np.ndarray]]], metrics: Sequence[str]
) -> pd.DataFrame:
    """Rows: outputs; columns: ``metric`` means over images, then mean and sd over seeds
    as columns ``<metric>`` and ``<metric> (sd over seeds)`` (0 with one seed or an
    infinite mean, e.g. HR's PSNR)."""
    names = list(per_seed[0])
    rows = []
    for n in names:
        row: dict[str, Any] = {"output": n}
        for m in metrics:
            vals = np.array([float(np.mean(s[n][m])) for s in per_seed if n in s])
            row[m] = float(vals.mean())
            # HR's PSNR is inf (identical images): no spread to report
            spread = len(vals) > 1 and bool(np.isfinite(vals).all())
            row[f"{m} (sd over seeds)"] = float(vals.std(ddof=1)) if spread else 0.0
        rows.append(row)
    return pd.DataFrame(rows).set_index("output")


def findings(table: pd.DataFrame) -> list[str]:
    """What the perception-distortion table says, as sentences computed from it (the
    direction of every comparison is read from the numbers, never assumed). ``table``:
    :func:`mean_sd_table` rows ``MSE``, ``TSRN-G``, ``feature loss``,
    ``TSRN-G, random net`` with ``psnr``, ``gram``, ``hf_ratio``."""

    def cmp(a: float, b: float, more: str, less: str) -> str:
        return more if a > b else less

    m, g = table.loc["MSE"], table.loc["TSRN-G"]
    f, r = table.loc["feature loss"], table.loc["TSRN-G, random net"]
    out = [
        f"TSRN-G is {abs(g.psnr - m.psnr):.2f} dB {cmp(g.psnr, m.psnr, 'above', 'below')} the "
        f"MSE network in PSNR, with {g.hf_ratio / m.hf_ratio:.1f}x its high-frequency energy "
        f"({g.hf_ratio:.2f} of HR's against {m.hf_ratio:.2f}); under the judge its Gram "
        f"distance to HR is {g.gram / m.gram:.2f}x the MSE network's "
        f"({cmp(g.gram, m.gram, 'farther from', 'closer to')} HR's texture statistics).",
        f"The feature loss keeps {f.hf_ratio:.2f} of HR's high-frequency energy against the "
        f"Gram loss's {g.hf_ratio:.2f}, at {f.psnr - g.psnr:+.2f} dB, and its Gram distance is "
        f"{f.gram / g.gram:.2f}x TSRN-G's.",
        f"With random filters the Gram loss gives {r.hf_ratio:.2f} of HR's high-frequency "
        f"energy ({r.hf_ratio / g.hf_ratio:.2f}x the trained network's), a judge Gram distance "
        f"{r.gram / m.gram:.2f}x the MSE network's, and {r.psnr - m.psnr:+.2f} dB.",
    ]
    if "gram:deepten" in table.columns:
        ratio = g["gram:deepten"] / m["gram:deepten"]
        out.insert(
            1,
            f"Under the DeepTEN classifier's trunk (another architecture) TSRN-G's Gram "
            f"distance is {ratio:.2f}x the MSE network's "
            f"({cmp(ratio, 1.0, 'farther from', 'closer to')} HR).",
        )
    return out
