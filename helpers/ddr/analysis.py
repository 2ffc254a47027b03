"""One network's degradation semantics, end to end: features after each block, CHI by
degradation and by content (with nulls and intervals at the deepest block), probes, and
the training curve of CHI against PSNR."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from scipy import stats
from torch import nn
from tqdm.auto import tqdm

from ..data.resize import imresize
from ..metrics import psnr
from ..models.evaluate import super_resolve
from . import measures, taps
from .inputs import DegradedSet
from .networks import Variants

__all__ = [
    "NetworkSemantics",
    "analyse",
    "analyse_classifier",
    "classifier_layers",
    "clean_psnr",
    "snapshot_curve",
    "training_curve",
]


@dataclass
class NetworkSemantics:
    """What :func:`analyse` measured on one network.

    ``layers``: the tapped layers, shallow to deep; ``by_block``: CHI by degradation and
    by content per layer (point values on PCA scores); ``probe_by_block``: held-out-content
    probe accuracy per layer; ``deepest``: the CHI test of the last layer; ``probe``: its
    probe with a permutation p; ``features``: the last layer's features (for figures).
    """

    name: str
    layers: list[str]
    by_block: dict[str, list[float]]
    probe_by_block: list[float]
    deepest: measures.ChiTest
    probe: dict[str, float]
    features: np.ndarray = field(repr=False)

    def to_dict(self) -> dict:
        """The results-file entry (the issue's keys)."""
        return {
            "layers": self.layers,
            "chi_degradation": self.deepest.chi_degradation,
            "chi_content": self.deepest.chi_content,
            "p_null": self.deepest.p_degradation,
            "chi_test": self.deepest.to_dict(),
            "probe_accuracy": self.probe["accuracy"],
            "probe": self.probe,
            "by_block": [
                {"layer": n, "chi_degradation": d, "chi_content": c, "probe_accuracy": a}
                for n, d, c, a in zip(
                    self.layers,
                    self.by_block["degradation"],
                    self.by_block["content"],
                    self.probe_by_block,
                    strict=True,
                )  # fmt: skip
            ],
        }


def analyse(
    name: str,
    model: nn.Module,
    data: DegradedSet,
    layers: Sequence[str] | None = None,
    pool: int = 4,
    n_perm: int = 200,
    n_boot: int = 200,
    probe_perm: int = 100,
    seed: int = 0,
    run=None,
    run_name: str = "forward",
    progress: bool = True,
) -> NetworkSemantics:
    """Measure ``model``'s features on ``data`` (see :class:`NetworkSemantics`).

    ``layers``: default :func:`helpers.ddr.taps.block_names` (the residual-block chain).
    Labels: degradation *type* (:data:`helpers.ddr.inputs.KINDS`, strengths pooled) and
    content. ``run``: what to call on a batch (e.g. a classifier's ``embed``), named by
    ``run_name`` in the features' cache key (:func:`helpers.ddr.taps.cached_features`).
    ``progress``: tqdm bars for the features' batches and the per-block measures (a
    transformer's features take minutes on a CPU).
    """
    layers = list(layers) if layers is not None else taps.block_names(model)
    feats = taps.cached_features(
        model, data.lr, layers, pool, run=run, run_name=run_name,
        progress=progress and f"{name}: features",
    )  # fmt: skip
    by = {"degradation": [], "content": []}
    probe_acc = []
    for n in tqdm(layers, f"{name}: CHI per block", leave=False, disable=not progress):
        z = measures.reduce(feats[n])
        by["degradation"].append(measures.chi(z, data.kind))
        by["content"].append(measures.chi(z, data.content))
        probe_acc.append(measures.probe(z, data.kind, data.content, seed=seed)["accuracy"])
    last = feats[layers[-1]]
    deepest = measures.chi_test(last, data.kind, data.content, n_perm, n_boot, seed)
    # z: the deepest layer's PCA scores, from the loop's last pass
    pr = measures.probe(z, data.kind, data.content, n_perm=probe_perm, seed=seed)
    return NetworkSemantics(name, layers, by, probe_acc, deepest, pr, last)


def clean_psnr(model: nn.Module, data: DegradedSet) -> float:
    """Mean Y-PSNR (dB, shave = scale, 8-bit output) of ``model`` on the clean inputs."""
    clean = data.kind == "clean"
    lr = data.lr[torch.from_numpy(clean)]
    hr = data.hr[torch.from_numpy(data.content[clean])]
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    sr = super_resolve(model, lr, device=device)
    return float(psnr(sr, hr, shave=data.scale).mean())


def training_curve(
    models: Sequence[tuple[int, nn.Module]], data: DegradedSet, layer: str, pool: int = 4
) -> dict[str, list]:
    """CHI by degradation at ``layer`` and clean PSNR for each ``(step, network)``, and
    their Pearson correlation over the steps: ``{"steps", "chi", "psnr", "r", "p"}``
    (``r``, ``p`` None with fewer than three steps or a constant series)."""
    out: dict[str, list] = {"steps": [], "chi": [], "psnr": []}
    for step, net in models:
        f = taps.features(net, data.lr, [layer], pool=pool)[layer]
        out["steps"].append(int(step))
        out["chi"].append(measures.chi(measures.reduce(f), data.kind))
        out["psnr"].append(clean_psnr(net, data))
    ok = len(out["chi"]) >= 3 and np.ptp(out["chi"]) > 0 and np.ptp(out["psnr"]) > 0
    fit = stats.pearsonr(out["chi"], out["psnr"]) if ok else None
    out["r"] = float(fit.statistic) if fit else None
    out["p"] = float(fit.pvalue) if fit else None
    return out


def classifier_layers(classifier: nn.Module) -> list[str]:
    """A DeepTEN's stages, shallow to deep: its trunk's residual stages, then the 1x1
    reduction that feeds the encoding (the texture representation)."""
    stages = getattr(getattr(classifier, "trunk", None), "stages", None)
    if stages is None:
        raise ValueError(f"{type(classifier).__name__} is not a DeepTEN (no trunk stages)")
    return [f"trunk.layer{i + 1}" for i in range(stages)] + ["reduce"]


def analyse_classifier(
    classifier: nn.Module, data: DegradedSet, pool: int = 4, **kwargs
) -> NetworkSemantics:
    """:func:`analyse` for the texture classifier: it sees each LR input bicubically
    up-sampled to the HR size (the degraded image at the scale it was trained on)."""

    def run(x: torch.Tensor) -> torch.Tensor:
        return classifier(imresize(x, scale=float(data.scale)).clamp(0, 1))

    layers = classifier_layers(classifier)
    name = f"classifier on bicubic x{data.scale}"
    return analyse("classifier", classifier, data, layers, pool, run=run, run_name=name, **kwargs)


def snapshot_curve(
    variants: Variants, name: str, data: DegradedSet, layer: str, pool: int = 4
) -> dict[str, list]:
    """:func:`training_curve` over variant ``name``'s saved training snapshots."""
    nets = [
        (st, variants.snapshot_model(name, i)) for i, (st, _) in enumerate(variants.snapshots[name])
    ]
    return training_curve(nets, data, layer, pool)
