"""Scoring SR outputs for the texture-loss chapter, never with the loss network that
trained them: distortion (PSNR, SSIM), the Gram and feature distances under a held-out
judge network, per-segment Gram distance and bleeding at segment boundaries, sharpness,
texture-classifier accuracy retained, and the same-texture retrieval proxy for Table 5.

All inputs are (N, 3, H, W) float in [0, 1]; per-image outputs are float64 numpy (N,).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..metrics import psnr, ssim
from ..models.evaluate import super_resolve
from ..models.taps import tap
from ..runtime import derive_seed
from .gram import feature_distance, gram_distance
from .lossnet import PAPER_LAYERS, LossNetwork

__all__ = [
    "bapps_2afc",
    "boundary_band",
    "classifier_correct",
    "deepten_features",
    "high_frequency_ratio",
    "retrieval_2afc",
    "score_outputs",
    "super_resolve_all",
]


def super_resolve_all(
    models: Mapping[str, nn.Module], lr: torch.Tensor, hr: torch.Tensor, batch: int = 16
) -> dict[str, torch.Tensor]:
    """``{"bicubic": ..., name: SR, ..., "HR": hr}``: every model's 8-bit SR of ``lr``
    (batched, on CPU) plus the references. ``models`` should include ``"bicubic"``."""
    out = {
        n: torch.cat([super_resolve(m, x, label=n) for x in lr.split(batch)])
        for n, m in models.items()
    }
    return out | {"HR": hr}


def high_frequency_ratio(sr: torch.Tensor, hr: torch.Tensor) -> np.ndarray:
    """Sharpness relative to HR per image: energy of the discrete Laplacian of the grey SR
    over that of the HR (1 = as much high-frequency content as HR; blur < 1)."""
    k = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]]).view(1, 1, 3, 3)

    def energy(x: torch.Tensor) -> torch.Tensor:
        g = x.double().mean(1, keepdim=True)
        return F.conv2d(g, k.double()).pow(2).mean((1, 2, 3))

    return (energy(sr) / energy(hr).clamp_min(1e-12)).numpy()


def boundary_band(masks: torch.Tensor, width: int) -> torch.Tensor:
    """(N, K, H, W) one-hot masks -> the same masks restricted to pixels within ``width``
    px of a segment boundary (where textures of two segments meet)."""
    k = 2 * width + 1
    grown = F.max_pool2d(masks, k, 1, width)
    shrunk = -F.max_pool2d(-masks, k, 1, width)
    band = ((grown - shrunk).sum(1, keepdim=True) > 0).to(masks.dtype)
    return masks * band


def deepten_features(classifier: nn.Module, stages: Sequence[str] | None = None):
    """A second judge of another architecture: ``x -> {stage: (N, C, h, w)}``, the ResNet
    trunk stages (``layer1``...) of the texture chapters' DeepTEN classifier, on inputs
    in [0, 1] normalised as it was trained. Default: every stage of its trunk."""
    trunk = classifier.trunk
    names = list(stages or [f"layer{i + 1}" for i in range(trunk.stages)])

    def features(x: torch.Tensor) -> dict[str, torch.Tensor]:
        z = (x - classifier.mean.to(x.dtype)) / classifier.std.to(x.dtype)
        return tap(trunk, z, names)

    return features


def score_outputs(
    outputs: Mapping[str, torch.Tensor],
    judge: LossNetwork,
    masks: torch.Tensor,
    scale: int,
    layers: Sequence[str] = PAPER_LAYERS,
    band: int = 4,
    others: Mapping[str, Callable[[torch.Tensor], Mapping[str, torch.Tensor]]] | None = None,
) -> dict[str, dict[str, np.ndarray]]:
    """Per image and output: ``psnr`` and ``ssim`` (Y, border ``scale`` shaved), ``gram``
    and ``feature`` distance to HR under ``judge``, ``segment_gram`` (per-segment Gram
    distance, the guided loss's own measure), ``bleed_gram`` (the same within ``band`` px
    of segment boundaries), ``hf_ratio`` (:func:`high_frequency_ratio`), and
    ``gram:<name>`` for ``judge`` (``gram:judge``) and every judge of ``others``
    (``x -> {layer: features}``, e.g. :func:`deepten_features`)."""
    hr = outputs["HR"]
    others = others or {}
    with torch.no_grad():
        f_hr = judge.features(hr, layers)
        ref = {k: j(hr) for k, j in others.items()}
        banded = boundary_band(masks, band)
        scores = {}
        for name, sr in outputs.items():
            f = judge.features(sr, layers)  # once: ``gram`` and ``gram:judge`` share it
            g = gram_distance(f, f_hr).double().numpy()
            scores[name] = {
                "psnr": psnr(sr, hr, shave=scale).numpy(),
                "ssim": ssim(sr, hr, shave=scale).numpy(),
                "gram": g,
                "feature": feature_distance(f, f_hr).double().numpy(),
                "segment_gram": gram_distance(f, f_hr, masks).double().numpy(),
                "bleed_gram": gram_distance(f, f_hr, banded).double().numpy(),
                "hf_ratio": high_frequency_ratio(sr, hr),
                "gram:judge": g.copy(),
            }
            for k, j in others.items():
                scores[name][f"gram:{k}"] = gram_distance(j(sr), ref[k]).double().numpy()
    return scores


def classifier_correct(
    classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor, crop: int
) -> np.ndarray:
    """1.0 where the texture classifier's top-1 class of the centre ``crop`` of an image
    equals ``labels`` (N,), else 0.0."""
    h, w = images.shape[-2:]
    c = min(crop, h, w)
    y, x = (h - c) // 2, (w - c) // 2
    with torch.no_grad():
        logits = torch.cat([classifier(b) for b in images[..., y : y + c, x : x + c].split(32)])
    return (logits.argmax(1).cpu() == labels.cpu()).double().numpy()


def retrieval_2afc(
    judge: LossNetwork,
    images: torch.Tensor,
    labels: torch.Tensor,
    n: int,
    size: int,
    seed: int = 0,
    layers: Sequence[str] = PAPER_LAYERS,
) -> dict[str, np.ndarray]:
    """The stated proxy for the paper's BAPPS 2AFC (Table 5), which needs human
    judgements this book does not have: ``n`` triplets (a query crop of an image, another
    crop of the same image, a crop of an image of another class); a distance answers
    right when the same texture is nearer. Returns per triplet 1.0/0.0 for ``gram`` and
    ``feature`` distance (ties count half). It tests texture identity, not the human
    perception of distortions the paper's test measures."""
    if len(set(labels.tolist())) < 2:
        raise ValueError("same-texture triplets need images of at least 2 classes")
    gen = torch.Generator().manual_seed(derive_seed(seed, "triplets", n, size))
    h, w = images.shape[-2:]
    if min(h, w) < size:
        raise ValueError(f"crops of {size} px need images at least that big, got {h}x{w}")

    def crop(i: int) -> torch.Tensor:
        y = int(torch.randint(h - size + 1, (1,), generator=gen))
        x = int(torch.randint(w - size + 1, (1,), generator=gen))
        return images[i, :, y : y + size, x : x + size]

    q, pos, neg = [], [], []
    lab = labels.tolist()
    for _ in range(n):
        i = int(torch.randint(len(images), (1,), generator=gen))
        others = [j for j in range(len(images)) if lab[j] != lab[i]]
        j = others[int(torch.randint(len(others), (1,), generator=gen))]
        q.append(crop(i)), pos.append(crop(i)), neg.append(crop(j))
    q, pos, neg = torch.stack(q), torch.stack(pos), torch.stack(neg)
    out = {}
    with torch.no_grad():
        fq, fp, fn = (judge.features(t, layers) for t in (q, pos, neg))
        for name, dist in (("gram", gram_distance), ("feature", feature_distance)):
            dp, dn = dist(fq, fp).double(), dist(fq, fn).double()
            out[name] = ((dp < dn).double() + 0.5 * (dp == dn).double()).numpy()
    return out


def bapps_2afc(
    judge: LossNetwork,
    root: str | Path,
    layers: Sequence[str] = PAPER_LAYERS,
    batch: int = 64,
    limit: int | None = None,
) -> tuple[dict[str, dict[str, float]], dict[str, np.ndarray]]:
    """The paper's Table 5 test on a local copy of BAPPS' 2AFC validation set.

    ``root`` holds BAPPS' layout (``<root>/<category>/{ref,p0,p1}/<name>.png`` and
    ``judge/<name>.npy``, the fraction of people who found ``p1`` nearer ``ref``), e.g.
    ``dataset/2afc/val`` of the LPIPS repository's download. The 2AFC score of a distance
    is LPIPS' ``score_2afc_dataset``: per triplet ``(1 - h)`` when it finds ``p0`` nearer,
    ``h`` when ``p1``, half when tied; averaged. Returns ``({category: {"gram", "feature",
    "n"}}`` (scores in %), ``{"gram", "feature": per-triplet scores of all categories}``);
    ``limit`` caps the triplets per category.
    """
    from PIL import Image  # lazy: only this test reads image files

    root = Path(root)
    cats = sorted(p for p in root.iterdir() if (p / "ref").is_dir()) if root.is_dir() else []
    if not cats:
        raise FileNotFoundError(
            f"no BAPPS 2AFC categories under {root} (expected <category>/ref, p0, p1, judge)"
        )

    def load(paths: list[Path]) -> torch.Tensor:
        arrs = [np.asarray(Image.open(p).convert("RGB"), np.float32) / 255.0 for p in paths]
        return torch.from_numpy(np.stack(arrs)).permute(0, 3, 1, 2)

    out: dict[str, dict[str, float]] = {}
    per: dict[str, list[np.ndarray]] = {"gram": [], "feature": []}
    for cat in cats:
        names = sorted(p.stem for p in (cat / "ref").glob("*.png"))[:limit]
        human = np.array([float(np.load(cat / "judge" / f"{n}.npy").reshape(-1)[0]) for n in names])
        d = {"gram": ([], []), "feature": ([], [])}
        for s in range(0, len(names), batch):
            chunk = names[s : s + batch]
            ref, p0, p1 = (load([cat / k / f"{n}.png" for n in chunk]) for k in ("ref", "p0", "p1"))
            with torch.no_grad():
                fr, f0, f1 = (judge.features(t, layers) for t in (ref, p0, p1))
                for name, dist in (("gram", gram_distance), ("feature", feature_distance)):
                    d[name][0].append(dist(fr, f0).double().numpy())
                    d[name][1].append(dist(fr, f1).double().numpy())
        row: dict[str, float] = {"n": float(len(names))}
        for name, (d0, d1) in d.items():
            d0, d1 = np.concatenate(d0), np.concatenate(d1)
            score = (d0 < d1) * (1 - human) + (d1 < d0) * human + (d0 == d1) * 0.5
            row[name] = 100.0 * float(score.mean())
            per[name].append(score)
        out[cat.name] = row
    return out, {k: np.concatenate(v) for k, v in per.items()}
