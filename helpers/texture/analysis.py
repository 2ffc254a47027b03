"""Texture-based error analysis of SR datasets and models (Magid et al., CVPR 2022, §4).

The two texture chapters (*Texture profiles*, *Semantic consistency*) share everything in
this module, and share its cached results on disk rather than through each other:

- :func:`preset_classifier`: the preset's DeepTEN classifier (:mod:`helpers.texture`),
  trained once, with its test accuracy and confusion matrix kept in a small index, so a
  second chapter loads it without regenerating the training data.
- :func:`label_dataset` / :func:`label_models`: seeded 128x128 HR patches of an SR set
  (the paper: 50 per image), their texture label, class probabilities, embedding and
  entropy of gradients, and for the *same coordinates* the bicubic and SR patches'
  labels, probabilities and Y-PSNR. Every labelling is cached atomically, keyed by the
  classifier checkpoint, the dataset's pixels, the patch settings and the SR model's
  weights. The result is a :class:`PatchSet` whose :meth:`PatchSet.frame` is a pandas
  table with one row per patch.
- Analyses: semantic profiles and Jensen-Shannon distances (Fig. 8), per-label PSNR with
  the gap over bicubic (Fig. 9), entropy vs PSNR (Fig. 3-4), high-complexity selection
  and the high-vs-all training experiment (Fig. 7), UMAP + k-means (Fig. 5-6), semantic
  agreement with bootstrap confidence intervals (Table 1), flip matrices, example
  selection by rule (Fig. 10), and consistency vs PSNR tests.
- Plots for each figure, in the book's style.

Conventions: images and patches are float tensors in [0, 1], NCHW, RGB; PSNR is on the
BT.601 Y channel with ``scale`` border pixels shaved (the SR convention, see
:mod:`helpers.evaluate`), capped at :data:`PSNR_CAP` dB for patches an SR output
reproduces exactly; entropy is :func:`helpers.metrics.gradient_entropy` in bits.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .. import presets
from ..data import SRPair, load_sr_set
from ..io import save_torch, write_json
from ..metrics.quality import gradient_entropy, psnr
from ..models.evaluate import quantize, super_resolve
from ..runtime import data_dir, resolve_device
from . import classifier as T

__all__ = [
    "ANALYSIS_VERSION",
    "PSNR_CAP",
    "PAPER_TABLE1",
    "PAPER_HIGH_RATIO",
    "patch_preset",
    "TextureClassifier",
    "preset_classifier",
    "sr_models",
    "model_fingerprint",
    "PatchSet",
    "label_dataset",
    "label_models",
    "concat_patchsets",
    "patch_psnr",
    "semantic_profile",
    "js_distance",
    "profile_distances",
    "per_label_psnr",
    "top_bottom_labels",
    "entropy_psnr_fit",
    "contrast_pair",
    "complexity_ratio",
    "select_high",
    "project_2d",
    "kmeans_clusters",
    "cluster_summary",
    "bootstrap_ci",
    "agreement",
    "agreement_table",
    "agreement_difference",
    "flip_matrix",
    "top_flips",
    "select_examples",
    "consistency_vs_psnr",
    "HighVsAll",
    "train_high_vs_all",
]

#: Bump when a change here alters cached labellings (it is part of every cache key).
ANALYSIS_VERSION = 1
#: Patch PSNR ceiling (dB): an exactly reproduced patch (MSE 0, e.g. a flat black corner of
#: the Hubble image) would give +inf and make every mean infinite.
PSNR_CAP = 60.0
#: The paper's "high complexity" rule: entropy of gradients / bicubic PSNR >= 0.4
#: (about 20% of DIV2K's training patches, §4.1 Discussion).
PAPER_HIGH_RATIO = 0.4
PAPER_HIGH_SHARE = 0.2

#: Magid et al., Table 1: % of SR patches with the HR patch's texture label (DTD-47
#: classifier, x4, 50 random 128x128 patches per image).
PAPER_TABLE1: dict[str, dict[str, float]] = {
    "Bicubic": {"Set14": 20.2, "B100": 26.1, "Urban100": 31.6, "Manga109": 31.9},
    "EDSR": {"Set14": 33.4, "B100": 30.9, "Urban100": 47.1, "Manga109": 52.4},
    "RCAN": {"Set14": 37.4, "B100": 32.9, "Urban100": 50.1, "Manga109": 53.2},
    "NLSN": {"Set14": 37.9, "B100": 34.4, "Urban100": 50.1, "Manga109": 54.2},
    "SAN": {"Set14": 35.1, "B100": 32.6, "Urban100": 48.6, "Manga109": 52.6},
}


def patch_preset(preset: str) -> dict[str, Any]:
    """The preset's patch sampling, datasets and models (``texture_patches`` in
    :data:`helpers.presets.TABLE`; ``ValueError`` naming the valid presets)."""
    return presets.get("texture_patches", preset)


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _cache_root(cache_dir: str | Path | None) -> Path:
    return Path(cache_dir) if cache_dir is not None else data_dir() / "texture"


def _load(path: Path) -> dict[str, Any] | None:
    """A cached dict, or ``None`` when absent or unreadable (then it is recomputed)."""
    if not path.is_file():
        return None
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # a damaged cache file is recomputed, never trusted
        return None


# --------------------------------------------------------------------------- classifier
@dataclass
class TextureClassifier:
    """A trained DeepTEN with what the chapters report about it.

    ``confusion`` is (C, C) int64, rows = true class, columns = predicted, on the preset's
    held-out test split; ``train_seconds`` is the training wall time (all runs summed).
    """

    model: T.DeepTEN
    preset: str
    key: str
    classes: tuple[str, ...]
    test_accuracy: float
    confusion: np.ndarray
    per_class: dict[str, float]
    n_train: int
    n_test: int
    train_seconds: float
    checkpoint: Path
    data_source: str

    @property
    def chance(self) -> float:
        """Accuracy of always guessing the most frequent test class."""
        return float(self.confusion.sum(1).max() / max(1, self.confusion.sum()))


def _classifier_index_key(preset: str, seed: int, root: str | Path | None) -> str:
    spec = presets.get("texture_data", preset)
    src = None
    if spec["source"] == "procedural":
        # The generated pixels depend on helpers/procedural.py; when it changes the data
        # are regenerated (the checkpoint key then decides whether to retrain).
        src = hashlib.sha256(
            (Path(__file__).parents[1] / "data" / "procedural.py").read_bytes()
        ).hexdigest()
    return _hash(
        {
            "preset": preset,
            "seed": seed,
            "config": presets.get("texture_classifier", preset),
            "data": spec,
            "code": T.CODE_VERSION,
            "procedural": src,
            "root": None if root is None else str(Path(root).resolve()),
            "analysis": ANALYSIS_VERSION,
        }
    )


def preset_classifier(
    preset: str,
    seed: int = 0,
    device: str | torch.device | None = None,
    root: str | Path | None = None,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> TextureClassifier:
    """The preset's texture classifier, trained once and evaluated once.

    Trains with :func:`helpers.texture.classifier.train_classifier` (config
    ``texture_classifier`` of :data:`helpers.presets.TABLE`, data
    :func:`~helpers.texture.classifier.preset_data`: procedural DTD classes at
    smoke/embedded, DTD-10 at benchmark, DTD-47 at full), evaluates it on the test split and writes a small index
    ``<cache>/index-<key>.json`` (checkpoint name, test accuracy, confusion), so a later
    call, e.g. from another chapter, loads the checkpoint without rebuilding the data.

    Args:
        preset: smoke | embedded | benchmark | full.
        seed: classifier seed (initialisation, data generation, augmentation).
        device: where to train/run (default CUDA if available).
        root: DTD folder for benchmark/full (default: the manifest / mirror).
        cache_dir: default ``data_dir()/texture`` (where train_classifier keeps checkpoints).
    """
    presets.check_preset(preset)
    cache = _cache_root(cache_dir)
    index = cache / f"index-{_classifier_index_key(preset, seed, root)}.json"
    info = json.loads(index.read_text()) if index.is_file() else None
    if info is not None and (cache / info["checkpoint"]).is_file():
        model = T.load_classifier(cache / info["checkpoint"], info["classes"], device)
    else:
        train, test = T.preset_data(preset, root=root, seed=seed)
        model, hist = T.train_classifier(
            train,
            train.classes,
            preset,
            cache_dir=cache,
            device=device,
            seed=seed,
            progress=progress,
        )
        ev = T.evaluate(model, test, device=device, progress=progress)
        info = {
            "checkpoint": Path(hist["checkpoint"]).name,
            "key": hist["key"],
            "classes": list(train.classes),
            "test_accuracy": ev["accuracy"],
            "confusion": ev["confusion"].tolist(),
            "per_class": ev["per_class"],
            "n_train": len(train),
            "n_test": len(test),
            "train_seconds": float(hist["train_seconds"]),
            "data_source": presets.get("texture_data", preset)["source"],
        }
        write_json(index, info)
    return TextureClassifier(
        model=model,
        preset=preset,
        key=info["key"],
        classes=tuple(info["classes"]),
        test_accuracy=float(info["test_accuracy"]),
        confusion=np.asarray(info["confusion"], dtype=np.int64),
        per_class=dict(info["per_class"]),
        n_train=int(info["n_train"]),
        n_test=int(info["n_test"]),
        train_seconds=float(info["train_seconds"]),
        checkpoint=cache / info["checkpoint"],
        data_source=info["data_source"],
    )


# --------------------------------------------------------------------------- SR models
def sr_models(
    names: Sequence[str],
    scale: int,
    preset: str,
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> dict[str, nn.Module]:
    """SR networks by name: zoo members (:data:`helpers.zoo.MEMBERS`, trained once and
    cached) and released ones (``carn_m``, ``imdn``, ``pan``, ``grl_tiny``), wrapped as
    :class:`helpers.models.SRModel` (eval mode, ``.scale``). ``"bicubic"`` is not needed:
    :func:`label_dataset` always adds it."""
    from ..models import RELEASED, load_released, wrap
    from ..networks import zoo

    out: dict[str, nn.Module] = {}
    for name in names:
        if name in zoo.MEMBERS:
            res = zoo.zoo_model(name, scale, preset, seed=seed, device=device, progress=progress)
            out[name] = wrap(res.model, device=device, name=name)
        elif name in RELEASED:
            out[name] = load_released(name, scale, device=device)
        else:
            raise ValueError(
                f"unknown SR model {name!r}; valid: zoo {list(zoo.MEMBERS)} or released "
                f"{list(RELEASED)}"
            )
    return out


def model_fingerprint(model: nn.Module) -> str:
    """A hash of a model's class, scale and weights (the cache key of its labelling)."""
    h = hashlib.sha256()
    inner = getattr(model, "model", model)
    h.update(f"{type(inner).__name__}:{getattr(model, 'scale', None)}".encode())
    for k, v in sorted(model.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:20]


# --------------------------------------------------------------------------- patch sets
@dataclass
class PatchSet:
    """Labelled patches of one SR set at one scale; all arrays share the row order.

    Attributes:
        dataset, scale, size, seed: what was sampled (``size`` = HR patch side, px).
        spec: ``limit``, ``crop``, ``n_per_image``, ``n_images`` used to load/sample.
        classes: the classifier's label names (index order).
        classifier_key: the classifier checkpoint's key.
        coords: (N, 3) int64 (image index, top y, left x) in HR pixels, multiples of scale.
        image_names: name of each image (index = ``coords[:, 0]``).
        entropy: {"sobel", "magid2022"} -> (N,) float64 entropy of gradients of the HR
            patch, bits (:func:`helpers.metrics.gradient_entropy` operators).
        embedding: (N, E) float32 unit-norm texture embeddings of the HR patches.
        labels: version -> (N,) int64 label index; versions are "hr", "bicubic" and SR
            model names.
        probs: version -> (N, C) float32 class probabilities (rows sum to 1).
        psnr: version (not "hr") -> (N,) float64 Y-PSNR (dB, shave = scale, capped at
            :data:`PSNR_CAP`) of the version's patch against the HR patch.
        seconds: version -> wall time of SR + labelling (s); ``n_labelled`` counts patches
            labelled in this process (0 when loaded from the cache).
    """

    dataset: str
    scale: int
    size: int
    seed: int
    spec: dict[str, Any]
    classes: tuple[str, ...]
    classifier_key: str
    key: str
    coords: np.ndarray
    image_names: list[str]
    entropy: dict[str, np.ndarray]
    embedding: np.ndarray
    labels: dict[str, np.ndarray] = field(default_factory=dict)
    probs: dict[str, np.ndarray] = field(default_factory=dict)
    psnr: dict[str, np.ndarray] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    n_labelled: dict[str, int] = field(default_factory=dict)
    _pairs: list[SRPair] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.coords)

    @property
    def models(self) -> list[str]:
        """The SR versions (bicubic first), in the order they were added."""
        return [v for v in self.labels if v != "hr"]

    def label_names(self, version: str = "hr") -> np.ndarray:
        """(N,) label names of ``version``'s patches."""
        self._check_version(version)
        return np.asarray(self.classes, dtype=object)[self.labels[version]]

    def _check_version(self, version: str) -> None:
        if version not in self.labels:
            raise KeyError(
                f"{self.dataset}: no labels for {version!r}; labelled versions: "
                f"{list(self.labels)} (add SR models with label_models)"
            )

    def frame(self) -> pd.DataFrame:
        """One row per patch: ``image``, ``y``, ``x``, ``entropy`` (Sobel), ``entropy_magid``,
        ``label``/``prob`` (the HR patch's label and its probability), and per SR version
        ``v``: ``label_v``, ``prob_v`` (probability of its own label), ``psnr_v`` (dB),
        ``kept_v`` (label equals the HR label)."""
        idx = np.arange(len(self))
        hr = self.labels["hr"]
        cols: dict[str, Any] = {
            "image": np.asarray(self.image_names, dtype=object)[self.coords[:, 0]],
            "y": self.coords[:, 1],
            "x": self.coords[:, 2],
            "entropy": self.entropy["sobel"],
            "entropy_magid": self.entropy["magid2022"],
            "label": self.label_names("hr"),
            "prob": self.probs["hr"][idx, hr],
        }
        for v in self.models:
            cols[f"label_{v}"] = self.label_names(v)
            cols[f"prob_{v}"] = self.probs[v][idx, self.labels[v]]
            cols[f"psnr_{v}"] = self.psnr[v]
            cols[f"kept_{v}"] = self.labels[v] == hr
        return pd.DataFrame(cols)

    def pairs(self) -> list[SRPair]:
        """The (HR, LR) image pairs the patches were cut from (reloaded when needed)."""
        if self._pairs is None:
            self._pairs = _load_pairs(self.dataset, self.scale, self.spec)
        return self._pairs

    def patches(
        self,
        version: str = "hr",
        rows: Sequence[int] | np.ndarray | None = None,
        model: nn.Module | None = None,
        device: str | torch.device | None = None,
    ) -> torch.Tensor:
        """Patches (n, 3, p, p) at ``rows`` (default all) of ``"hr"``, ``"lr"`` (p = size /
        scale) or an SR version (pass its ``model``; ``"bicubic"`` needs none)."""
        rows = np.arange(len(self)) if rows is None else np.asarray(rows, dtype=np.int64)
        c = self.coords[rows]
        pairs = self.pairs()
        if version == "hr":
            return T.crop_patches([p.hr for p in pairs], c, self.size)
        if version == "lr":
            return T.crop_patches([p.lr for p in pairs], c, self.size, self.scale)
        if version == "bicubic" and model is None:
            from ..models import build

            model = build("bicubic", self.scale)
        if model is None:
            raise ValueError(f"patches({version!r}) needs the SR model that made them")
        out = torch.empty(len(c), 3, self.size, self.size)
        for i in np.unique(c[:, 0]):
            r = np.flatnonzero(c[:, 0] == i)
            sr = super_resolve(model, pairs[i].lr, device)
            out[torch.as_tensor(r)] = T.crop_patches(
                [sr], np.c_[np.zeros(len(r), int), c[r, 1:]], self.size
            )
        return out


def _load_pairs(dataset: str, scale: int, spec: Mapping[str, Any]) -> list[SRPair]:
    pairs = load_sr_set(dataset, scale, limit=spec.get("limit"), crop=spec.get("crop"))
    if not pairs:
        raise ValueError(f"dataset {dataset!r} has no images")
    return pairs


def _pairs_identity(pairs: Sequence[SRPair]) -> str:
    """Hash of the HR and LR pixels (so a changed dataset never reuses a stale labelling)."""
    h = hashlib.sha256()
    for p in pairs:
        h.update(f"{p.name}:{tuple(p.hr.shape)}".encode())
        h.update(p.hr.numpy().tobytes())
        h.update(p.lr.numpy().tobytes())
    return h.hexdigest()[:20]


def patch_psnr(sr: torch.Tensor, hr: torch.Tensor, scale: int) -> np.ndarray:
    """Y-PSNR (dB) per patch, ``scale`` px shaved, capped at :data:`PSNR_CAP`.

    sr, hr: (N, 3, p, p) in [0, 1] -> (N,) float64.
    """
    return np.minimum(psnr(sr, hr, shave=scale, y_channel=True).cpu().numpy(), PSNR_CAP)


@torch.inference_mode()
def _label_version(
    clf: TextureClassifier,
    pairs: Sequence[SRPair],
    coords: np.ndarray,
    size: int,
    scale: int,
    model: nn.Module | None,
    device: torch.device,
    batch: int,
    desc: str,
    progress: bool,
) -> dict[str, np.ndarray]:
    """Label the patches at ``coords`` of the HR images (``model`` None) or of ``model``'s
    SR outputs (with PSNR against HR), image by image so memory holds one image."""
    n = len(coords)
    out: dict[str, np.ndarray] = {
        "label": np.empty(n, np.int64),
        "prob": np.empty((n, len(clf.classes)), np.float32),
    }
    if model is None:
        out["embedding"] = np.empty((n, clf.model.embedding_dim), np.float32)
        out["entropy_sobel"] = np.empty(n, np.float64)
        out["entropy_magid2022"] = np.empty(n, np.float64)
    else:
        out["psnr"] = np.empty(n, np.float64)
    images = np.unique(coords[:, 0])
    for i in tqdm(images, desc=desc, disable=not progress, leave=False):
        rows = np.flatnonzero(coords[:, 0] == i)
        yx = np.c_[np.zeros(len(rows), np.int64), coords[rows, 1:]]
        hr = T.crop_patches([pairs[i].hr], yx, size)
        if model is None:
            patches = hr
            out["entropy_sobel"][rows] = gradient_entropy(hr).numpy()
            out["entropy_magid2022"][rows] = gradient_entropy(hr, operator="magid2022").numpy()
        else:
            sr = super_resolve(model, pairs[i].lr, device)
            if sr.shape != pairs[i].hr.shape:
                raise ValueError(
                    f"{desc}: SR output {tuple(sr.shape)} does not match HR "
                    f"{tuple(pairs[i].hr.shape)} of image {pairs[i].name!r}"
                )
            patches = T.crop_patches([sr], yx, size)
            out["psnr"][rows] = patch_psnr(patches, hr, scale)
        lab = T.label_patches(clf.model, patches, batch, device, progress=False)
        out["label"][rows], out["prob"][rows] = lab["label_idx"], lab["prob"]
        if model is None:
            out["embedding"][rows] = lab["embedding"]
    return out


def label_dataset(
    clf: TextureClassifier,
    dataset: str,
    scale: int = 4,
    size: int = 128,
    n_per_image: int = 50,
    seed: int = 0,
    limit: int | None = None,
    crop: int | None = None,
    n_images: int | None = None,
    device: str | torch.device | None = None,
    batch: int = 64,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> PatchSet:
    """Sample and label the HR and bicubic patches of an SR set (cached).

    Samples ``n_per_image`` seeded ``size`` x ``size`` HR positions per image (corners on
    multiples of ``scale`` so LR crops align; :func:`helpers.texture.sample_patch_coords`),
    labels the HR patches (label, probabilities, embedding, entropy of gradients) and the
    same patches of the bicubic upscaling of the LR image (label, probabilities, PSNR).

    Args:
        clf: from :func:`preset_classifier`.
        dataset: an SR set name (:func:`helpers.data.load_sr_set`).
        scale: SR factor of the LR images (2, 3, 4).
        size: HR patch side in pixels (the paper: 128).
        n_per_image: patches per image (the paper: 50).
        limit, crop: passed to ``load_sr_set`` (first ``limit`` images, centred crops).
        n_images: label a seeded random subset of this many images (default all).
        cache_dir: default ``data_dir()/texture``; labellings go to ``<cache>/patches``.

    Raises:
        ValueError: ``n_images`` larger than the dataset, or a patch larger than an image
            (naming the dataset and image).
    """
    dev = resolve_device(device)
    spec = {"limit": limit, "crop": crop, "n_per_image": n_per_image, "n_images": n_images}
    pairs = _load_pairs(dataset, scale, spec)
    if n_images is not None and n_images > len(pairs):
        raise ValueError(
            f"asked for patches from {n_images} images but dataset {dataset!r} has only "
            f"{len(pairs)}" + (f" (limit={limit})" if limit is not None else "")
        )
    small = [p for p in pairs if min(p.hr.shape[-2:]) < size]
    if small:
        p = small[0]
        raise ValueError(
            f"patch size {size} px is larger than {len(small)} image(s) of dataset "
            f"{dataset!r}, e.g. {p.name!r} of {p.hr.shape[-2]}x{p.hr.shape[-1]} px; use "
            f"size <= {min(min(q.hr.shape[-2:]) for q in pairs)}"
            + (f" or a larger crop (crop={crop})" if crop is not None else "")
        )
    if size % scale:
        raise ValueError(f"patch size {size} must be a multiple of scale {scale}")
    key = _hash(
        {
            "classifier": clf.key,
            "dataset": dataset,
            "data": _pairs_identity(pairs),
            "scale": scale,
            "size": size,
            "seed": seed,
            "spec": spec,
            "v": ANALYSIS_VERSION,
        }
    )
    folder = _cache_root(cache_dir) / "patches" / f"{dataset}-x{scale}-{key}"
    cached = _load(folder / "hr.pt")
    if cached is None:
        coords = T.sample_patch_coords(
            [tuple(p.hr.shape[-2:]) for p in pairs], n_per_image, size, seed, n_images, scale
        )
        t0 = time.perf_counter()
        out = _label_version(
            clf, pairs, coords, size, scale, None, dev, batch, f"{dataset} HR", progress
        )
        cached = {
            "coords": torch.from_numpy(coords),
            "names": [p.name for p in pairs],
            "seconds": time.perf_counter() - t0,
            **{k: torch.from_numpy(v) for k, v in out.items()},
        }
        save_torch(folder / "hr.pt", cached)
        fresh = len(coords)
    else:
        fresh = 0
    ps = PatchSet(
        dataset=dataset,
        scale=scale,
        size=size,
        seed=seed,
        spec=spec,
        classes=clf.classes,
        classifier_key=clf.key,
        key=key,
        coords=cached["coords"].numpy(),
        image_names=list(cached["names"]),
        entropy={k: cached[f"entropy_{k}"].numpy() for k in ("sobel", "magid2022")},
        embedding=cached["embedding"].numpy(),
        labels={"hr": cached["label"].numpy()},
        probs={"hr": cached["prob"].numpy()},
        seconds={"hr": float(cached["seconds"])},
        n_labelled={"hr": fresh},
        _pairs=pairs,
    )
    from ..models import build

    label_models(
        ps,
        clf,
        {"bicubic": build("bicubic", scale)},
        device=dev,
        batch=batch,
        cache_dir=cache_dir,
        progress=progress,
    )
    return ps


def label_models(
    ps: PatchSet,
    clf: TextureClassifier,
    models: Mapping[str, nn.Module],
    device: str | torch.device | None = None,
    batch: int = 64,
    cache_dir: str | Path | None = None,
    progress: bool = True,
) -> PatchSet:
    """Super-resolve the set's LR images with each model and label the patches at the
    same coordinates (label, probabilities, Y-PSNR against HR); cached per model weights.

    Models run on whole LR images (global operations see the whole image, as in the
    paper), output quantized to 8 bit. Adds the versions to ``ps`` in place and returns it.

    Raises:
        ValueError: ``clf``'s classes differ from the classes the patches were labelled
            with; a model whose ``scale`` differs from the set's (or whose output is not
            ``scale`` x the LR); a version named ``"hr"``.
    """
    T._check_classes(ps.classes, clf.classes, f"patches of {ps.dataset} vs classifier")
    if clf.key != ps.classifier_key:
        raise ValueError(
            f"the patches of {ps.dataset} were labelled by classifier {ps.classifier_key}, "
            f"not {clf.key}; relabel them with label_dataset(clf, ...)"
        )
    dev = resolve_device(device)
    folder = _cache_root(cache_dir) / "patches" / f"{ps.dataset}-x{ps.scale}-{ps.key}"
    for name, model in models.items():
        if name == "hr" or not name.isidentifier():
            raise ValueError(f"model name must be a Python identifier other than 'hr': {name!r}")
        m_scale = getattr(model, "scale", None)
        if m_scale is not None and m_scale != ps.scale:
            raise ValueError(
                f"model {name!r} is a x{m_scale} network but the patches of {ps.dataset!r} "
                f"were sampled at x{ps.scale} (its LR is HR/{ps.scale}); load the model at "
                f"x{ps.scale} or label the dataset at scale={m_scale}"
            )
        path = folder / f"{name}-{model_fingerprint(model)}.pt"
        cached = _load(path)
        fresh = 0
        if cached is None:
            t0 = time.perf_counter()
            out = _label_version(
                clf,
                ps.pairs(),
                ps.coords,
                ps.size,
                ps.scale,
                model,
                dev,
                batch,
                f"{ps.dataset} {name}",
                progress,
            )
            cached = {k: torch.from_numpy(v) for k, v in out.items()}
            cached["seconds"] = time.perf_counter() - t0
            save_torch(path, cached)
            fresh = len(ps)
        ps.labels[name] = cached["label"].numpy()
        ps.probs[name] = cached["prob"].numpy()
        ps.psnr[name] = cached["psnr"].numpy()
        ps.seconds[name] = float(cached["seconds"])
        ps.n_labelled[name] = fresh
    return ps


def concat_patchsets(sets: Sequence[PatchSet], name: str = "pooled") -> PatchSet:
    """Pool the patches of several sets (same classifier, scale, patch size) into one, for
    analyses over all test sets; keeps the versions every set has, in the first set's
    order. Image indices are renumbered; :meth:`PatchSet.patches` still works."""
    if not sets:
        raise ValueError("nothing to pool")
    first = sets[0]
    for ps in sets[1:]:
        if (ps.classifier_key, ps.scale, ps.size) != (
            first.classifier_key,
            first.scale,
            first.size,
        ):
            raise ValueError(
                f"cannot pool {ps.dataset} with {first.dataset}: classifier, scale or patch "
                "size differ"
            )
    versions = [v for v in first.labels if all(v in ps.labels for ps in sets)]
    offsets = np.cumsum([0] + [len(ps.image_names) for ps in sets[:-1]])
    coords = np.concatenate(
        [ps.coords + np.array([o, 0, 0]) for ps, o in zip(sets, offsets, strict=True)]
    )

    def cat(get: Callable[[PatchSet], np.ndarray]) -> np.ndarray:
        return np.concatenate([get(ps) for ps in sets])

    return PatchSet(
        dataset=name,
        scale=first.scale,
        size=first.size,
        seed=first.seed,
        spec={"pooled": [ps.dataset for ps in sets]},
        classes=first.classes,
        classifier_key=first.classifier_key,
        key=_hash([ps.key for ps in sets]),
        coords=coords,
        image_names=[f"{ps.dataset}/{n}" for ps in sets for n in ps.image_names],
        entropy={k: cat(lambda ps, k=k: ps.entropy[k]) for k in first.entropy},
        embedding=cat(lambda ps: ps.embedding),
        labels={v: cat(lambda ps, v=v: ps.labels[v]) for v in versions},
        probs={v: cat(lambda ps, v=v: ps.probs[v]) for v in versions},
        psnr={v: cat(lambda ps, v=v: ps.psnr[v]) for v in versions if v != "hr"},
        seconds={v: sum(ps.seconds.get(v, 0.0) for ps in sets) for v in versions},
        n_labelled={v: sum(ps.n_labelled.get(v, 0) for ps in sets) for v in versions},
        _pairs=[p for ps in sets for p in ps.pairs()],
    )


# --------------------------------------------------------------------------- profiles
def semantic_profile(
    labels: PatchSet | Sequence[str] | np.ndarray, classes: Sequence[str] | None = None
) -> pd.Series:
    """Share of patches per label (Fig. 8): a Series over ``classes`` summing to 1.

    ``labels``: a :class:`PatchSet` (its HR labels and classes) or label names (then
    ``classes`` lists every label, so absent labels get share 0).
    """
    if isinstance(labels, PatchSet):
        classes, names = labels.classes, labels.label_names("hr")
    else:
        names = np.asarray(labels, dtype=object)
        if classes is None:
            classes = sorted(set(names.tolist()))
    if len(names) == 0:
        raise ValueError("no labels: a profile needs at least one patch")
    unknown = set(names.tolist()) - set(classes)
    if unknown:
        raise ValueError(f"labels {sorted(unknown)} are not in classes {list(classes)}")
    counts = pd.Series(names).value_counts().reindex(list(classes), fill_value=0)
    return (counts / counts.sum()).rename("share")


def js_distance(p: np.ndarray | pd.Series, q: np.ndarray | pd.Series, base: float = 2.0) -> float:
    """Jensen-Shannon distance sqrt(JSD(p || q)) between two distributions.

    JSD = (KL(p || m) + KL(q || m)) / 2 with m = (p + q) / 2; inputs are normalised to sum
    1. With ``base=2`` the distance lies in [0, 1] (1 = disjoint supports). Equals
    ``scipy.spatial.distance.jensenshannon(p, q, base)``.
    """
    a, b = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"p and q must be 1-d of equal length, got {a.shape} and {b.shape}")
    if (a < 0).any() or (b < 0).any() or a.sum() <= 0 or b.sum() <= 0:
        raise ValueError("p and q must be non-negative with a positive sum")
    a, b = a / a.sum(), b / b.sum()
    m = (a + b) / 2

    def kl(x: np.ndarray) -> float:
        nz = x > 0  # 0 log 0 = 0; m > 0 wherever x > 0
        return float(np.sum(x[nz] * np.log(x[nz] / m[nz])))

    jsd = max(0.0, (kl(a) + kl(b)) / 2) / math.log(base)
    return math.sqrt(jsd)


def profile_distances(profiles: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Pairwise Jensen-Shannon distances (base 2, in [0, 1]) between profiles."""
    names = list(profiles)
    d = np.zeros((len(names), len(names)))
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            b = names[j]
            if list(profiles[a].index) != list(profiles[b].index):
                raise ValueError(f"profiles {a!r} and {b!r} are over different labels")
            d[i, j] = d[j, i] = js_distance(profiles[a], profiles[b])
    return pd.DataFrame(d, index=names, columns=names)


# --------------------------------------------------------------------------- PSNR by label
def per_label_psnr(
    ps: PatchSet, versions: Sequence[str] | None = None, min_count: int = 1
) -> pd.DataFrame:
    """Mean patch PSNR (dB) per HR label (Fig. 9).

    Returns a DataFrame indexed by label (labels with at least ``min_count`` patches),
    one column per version (default: bicubic and every SR model) and ``n`` (patches).
    """
    versions = list(ps.models if versions is None else versions)
    for v in versions:
        if v not in ps.psnr:
            raise KeyError(f"{ps.dataset}: no PSNR for {v!r}; have {list(ps.psnr)}")
    df = pd.DataFrame({v: ps.psnr[v] for v in versions})
    df["label"] = ps.label_names("hr")
    g = df.groupby("label")
    out = g[versions].mean()
    out["n"] = g.size()
    return out[out["n"] >= min_count].sort_values(versions[0], ascending=False)


def top_bottom_labels(
    per_label: pd.DataFrame, model: str, k: int = 5, reference: str = "bicubic"
) -> pd.DataFrame:
    """The ``k`` labels with the highest and lowest mean PSNR of ``model`` and its gap over
    ``reference`` (dB), as in Fig. 9. Fewer labels than 2k: split them in halves (a
    single label is then both top and bottom).

    Returns columns ``label``, ``group`` (top/bottom), ``psnr``, ``reference``, ``gap``, ``n``.
    """
    s = per_label[model].sort_values(ascending=False)
    if len(s) == 0:
        raise ValueError(f"no labels with PSNR for {model!r}")
    # Fewer than 2k labels: halves (a single label is both the top and the bottom one).
    k = max(1, min(k, len(s) // 2))
    rows = []
    for group, labels in (("top", s.index[:k]), ("bottom", s.index[-k:])):
        for lab in labels:
            rows.append(
                {
                    "label": lab,
                    "group": group,
                    "psnr": per_label.at[lab, model],
                    "reference": per_label.at[lab, reference],
                    "gap": per_label.at[lab, model] - per_label.at[lab, reference],
                    "n": int(per_label.at[lab, "n"]),
                }
            )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- complexity
def entropy_psnr_fit(entropy: np.ndarray, psnr_db: np.ndarray) -> dict[str, float]:
    """Least-squares line PSNR = slope * entropy + intercept with Pearson and Spearman
    correlations and their p-values (Fig. 3)."""
    from scipy import stats

    x, y = np.asarray(entropy, float), np.asarray(psnr_db, float)
    lr = stats.linregress(x, y)
    sp = stats.spearmanr(x, y)
    return {
        "slope": float(lr.slope),
        "intercept": float(lr.intercept),
        "pearson_r": float(lr.rvalue),
        "pearson_p": float(lr.pvalue),
        "spearman_rho": float(sp.statistic),
        "spearman_p": float(sp.pvalue),
        "n": len(x),
    }


def contrast_pair(x: np.ndarray, y: np.ndarray, tol: float) -> tuple[int, int]:
    """Indices (i, j) with |x_i - x_j| <= tol that maximise |y_i - y_j| (i has the larger y).

    Fig. 3's "same entropy, very different PSNR" (and vice versa with x, y swapped). Exact,
    O(N log N): sort by x, then range max/min over each window with a sparse table.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2:
        raise ValueError("need at least two points")
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    n = len(xs)
    hi = np.searchsorted(xs, xs + tol, side="right")  # window [i, hi)
    # Sparse tables of argmax/argmin over power-of-two spans.
    amax, amin = [np.arange(n)], [np.arange(n)]
    span = 1
    while 2 * span <= n:
        a, b = amax[-1], amin[-1]
        m = n - 2 * span + 1
        left, right = a[:m], a[span : span + m]
        amax.append(np.where(ys[left] >= ys[right], left, right))
        left, right = b[:m], b[span : span + m]
        amin.append(np.where(ys[left] <= ys[right], left, right))
        span *= 2
    length = hi - np.arange(n)
    lev = np.floor(np.log2(length)).astype(int)
    sz = 1 << lev
    i0 = np.arange(n)
    j0 = hi - sz

    def query(table: list[np.ndarray], better: Callable) -> np.ndarray:
        out = np.empty(n, dtype=np.int64)
        for level in np.unique(lev):
            r = lev == level
            a, b = table[level][i0[r]], table[level][j0[r]]
            out[r] = np.where(better(ys[a], ys[b]), a, b)
        return out

    imax, imin = query(amax, np.greater_equal), query(amin, np.less_equal)
    best = int(np.argmax(ys[imax] - ys[imin]))
    return int(order[imax[best]]), int(order[imin[best]])


def complexity_ratio(entropy: np.ndarray, psnr_db: np.ndarray) -> np.ndarray:
    """The paper's complexity measure: entropy of gradients (bits) / bicubic PSNR (dB)."""
    return np.asarray(entropy, float) / np.asarray(psnr_db, float)


def select_high(
    ratio: np.ndarray,
    threshold: float = PAPER_HIGH_RATIO,
    share: float = PAPER_HIGH_SHARE,
    min_share: float = 0.05,
    max_share: float = 0.5,
    reference: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """High-complexity patches: ``ratio >= threshold`` (the paper's 0.4), unless that keeps
    less than ``min_share`` or more than ``max_share`` of ``reference`` (default ``ratio``);
    then the top ``share`` (the paper's 20%) of ``reference`` by quantile.

    Pass the training patches' ratios as ``reference`` to apply the same cut to test
    patches. Returns ``(mask over ratio, rule)``: rule has ``kind`` ("threshold" or
    "quantile"), the ``cut`` used, ``share`` of ``ratio`` selected and the paper rule's
    own share ``paper_rule_share`` on ``reference``.
    """
    r = np.asarray(ratio, float)
    ref = r if reference is None else np.asarray(reference, float)
    paper_share = float(np.mean(ref >= threshold))
    if min_share <= paper_share <= max_share:
        kind, cut = "threshold", float(threshold)
    else:
        kind, cut = "quantile", float(np.quantile(ref, 1.0 - share))
    mask = r >= cut
    return mask, {
        "kind": kind,
        "cut": cut,
        "share": float(mask.mean()) if len(mask) else 0.0,
        "paper_rule_share": paper_share,
        "paper_threshold": float(threshold),
    }


# --------------------------------------------------------------------------- embeddings
def project_2d(
    embedding: np.ndarray,
    method: str = "umap",
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
) -> np.ndarray:
    """2-d projection (N, 2) of embeddings (N, E): ``"umap"`` (umap-learn, seeded, as the
    paper) or ``"pca"`` (scikit-learn; no numba compile, for quick runs)."""
    x = np.asarray(embedding, np.float32)
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(x)
    if method != "umap":
        raise ValueError(f"method must be 'umap' or 'pca', got {method!r}")
    import warnings

    import umap

    with warnings.catch_warnings():  # "n_jobs overridden by random_state": intended
        warnings.simplefilter("ignore", UserWarning)
        reducer = umap.UMAP(
            n_neighbors=min(n_neighbors, len(x) - 1), min_dist=min_dist, random_state=seed
        )
        return reducer.fit_transform(x)


def kmeans_clusters(embedding: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """k-means cluster index (N,) of the embeddings (scikit-learn, 10 seeded restarts)."""
    from sklearn.cluster import KMeans

    if not 1 <= k <= len(embedding):
        raise ValueError(f"k must be in 1..{len(embedding)} (the number of patches), got {k}")
    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(embedding)


def cluster_summary(clusters: np.ndarray, labels: Sequence[str]) -> pd.DataFrame:
    """Per cluster: ``size``, ``top_label`` (most frequent), ``top_share``, ``n_labels``
    (distinct labels) and ``entropy_bits`` of its label distribution."""
    df = pd.DataFrame({"cluster": np.asarray(clusters), "label": np.asarray(labels, object)})
    rows = []
    for c, g in df.groupby("cluster"):
        vc = g["label"].value_counts()
        p = vc.to_numpy() / len(g)
        rows.append(
            {
                "cluster": int(c),
                "size": len(g),
                "top_label": vc.index[0],
                "top_share": float(p[0]),
                "n_labels": len(vc),
                "entropy_bits": float(-(p * np.log2(p)).sum()),
            }
        )
    return pd.DataFrame(rows).set_index("cluster")


# --------------------------------------------------------------------------- agreement
def bootstrap_ci(
    values: np.ndarray,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    chunk: int = 2**22,
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``values`` (N,) resampling patches.

    Replicate b draws ``N`` indices with replacement from ``np.random.default_rng(seed)``
    (all replicates in order, vectorized in chunks of ``chunk`` indices), so a loop of
    ``rng.integers(0, N, N)`` per replicate gives the same numbers.
    """
    v = np.asarray(values, np.float64)
    n = len(v)
    if n == 0:
        raise ValueError("bootstrap of an empty sample")
    rng = np.random.default_rng(seed)
    per = max(1, chunk // n)
    means = np.empty(n_boot)
    for s in range(0, n_boot, per):
        b = min(per, n_boot - s)
        means[s : s + b] = v[rng.integers(0, n, size=(b, n))].mean(axis=1)
    a = (1 - level) / 2
    lo, hi = np.quantile(means, [a, 1 - a])
    return float(lo), float(hi)


def _agreement_arrays(ps: PatchSet, model: str, k: int = 3) -> dict[str, np.ndarray]:
    ps._check_version(model)
    hr, sr = ps.labels["hr"], ps.labels[model]
    topk = np.argsort(-ps.probs["hr"], axis=1, kind="stable")[:, :k]
    return {
        "top1": (sr == hr).astype(np.float64),
        f"top{k}": (topk == sr[:, None]).any(axis=1).astype(np.float64),
        "soft": ps.probs[model][np.arange(len(ps)), hr].astype(np.float64),
    }


def agreement(
    ps: PatchSet, model: str, n_boot: int = 2000, seed: int = 0, k: int = 3
) -> dict[str, Any]:
    """Semantic consistency of ``model``'s patches with the HR patches (Table 1).

    Returns ``top1`` (share with the HR label), ``ci95`` ([lo, hi], percentile bootstrap
    over patches), ``top3`` (SR label among the HR patch's ``k`` most probable labels),
    ``soft`` (mean probability the SR patch gives the HR label), ``chance`` (top-1 share
    expected if SR labels were independent of HR labels with the same label frequencies),
    ``n``. Shares in [0, 1].
    """
    arr = _agreement_arrays(ps, model, k)
    c = len(ps.classes)
    p_hr = np.bincount(ps.labels["hr"], minlength=c) / len(ps)
    p_sr = np.bincount(ps.labels[model], minlength=c) / len(ps)
    return {
        "top1": float(arr["top1"].mean()),
        "ci95": list(bootstrap_ci(arr["top1"], n_boot, seed)),
        f"top{k}": float(arr[f"top{k}"].mean()),
        "soft": float(arr["soft"].mean()),
        "chance": float(p_hr @ p_sr),
        "n": len(ps),
    }


def agreement_table(
    patchsets: Mapping[str, PatchSet],
    models: Sequence[str] | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`agreement` for every dataset x model (default: each set's versions), long
    format: ``dataset``, ``model``, ``top1``, ``ci_lo``, ``ci_hi``, ``top3``, ``soft``,
    ``chance``, ``n``, ``mean_psnr`` (dB)."""
    rows = []
    for ds, ps in patchsets.items():
        for m in ps.models if models is None else models:
            a = agreement(ps, m, n_boot, seed)
            rows.append(
                {
                    "dataset": ds,
                    "model": m,
                    "top1": a["top1"],
                    "ci_lo": a["ci95"][0],
                    "ci_hi": a["ci95"][1],
                    "top3": a["top3"],
                    "soft": a["soft"],
                    "chance": a["chance"],
                    "n": a["n"],
                    "mean_psnr": float(ps.psnr[m].mean()),
                }
            )
    return pd.DataFrame(rows)


def agreement_difference(
    ps: PatchSet, a: str, b: str, n_boot: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """Paired top-1 difference ``agree(a) - agree(b)`` on the same patches with a paired
    bootstrap 95% CI (same resampled patches for both): ``diff``, ``ci95``,
    ``significant`` (CI excludes 0)."""
    d = _agreement_arrays(ps, a)["top1"] - _agreement_arrays(ps, b)["top1"]
    lo, hi = bootstrap_ci(d, n_boot, seed)
    return {"diff": float(d.mean()), "ci95": [lo, hi], "significant": bool(lo > 0 or hi < 0)}


def flip_matrix(ps: PatchSet, model: str, normalize: bool = True) -> pd.DataFrame:
    """HR label (rows, labels present in HR) -> ``model``'s label (columns, all classes):
    counts, or with ``normalize`` the share of each row (rows sum to 1)."""
    ps._check_version(model)
    c = len(ps.classes)
    m = np.bincount(ps.labels["hr"] * c + ps.labels[model], minlength=c * c).reshape(c, c)
    df = pd.DataFrame(m, index=list(ps.classes), columns=list(ps.classes))
    df = df[df.sum(axis=1) > 0]
    df.index.name, df.columns.name = "HR label", f"{model} label"
    return df.div(df.sum(axis=1), axis=0) if normalize else df


def top_flips(ps: PatchSet, model: str, k: int = 5) -> pd.DataFrame:
    """The ``k`` most frequent label changes HR -> ``model``: ``hr``, ``sr``, ``count``,
    ``share_of_hr`` (of the patches with that HR label), ``share_of_flips``."""
    counts = flip_matrix(ps, model, normalize=False)
    long = counts.stack().rename("count").reset_index()
    long.columns = ["hr", "sr", "count"]
    long["share_of_hr"] = long["count"] / long.groupby("hr")["count"].transform("sum")
    flips = long[(long.hr != long.sr) & (long["count"] > 0)].copy()
    flips["share_of_flips"] = flips["count"] / max(1, flips["count"].sum())
    return flips.sort_values(["count", "hr"], ascending=[False, True]).head(k)


def select_examples(
    ps: PatchSet, model: str, n: int = 3, max_overlap: float = 0.25
) -> pd.DataFrame:
    """Fig. 10 examples by rule: the drop of the HR label's probability from the HR patch
    to ``model``'s patch, ``drop = p_HR(l) - p_SR(l)`` with l the HR label.

    ``flipped``: the ``n`` flipped patches with the largest drop; ``kept``: the ``n`` kept
    patches with the smallest drop. Greedy, skipping a patch that overlaps an already
    chosen one of the same image by more than ``max_overlap`` of its area.
    Returns rows with ``kind``, ``row`` (patch index), ``image``, ``y``, ``x``,
    ``hr_label``, ``hr_prob``, ``sr_label``, ``sr_prob``, ``drop``.
    """
    ps._check_version(model)
    i = np.arange(len(ps))
    hr = ps.labels["hr"]
    drop = ps.probs["hr"][i, hr] - ps.probs[model][i, hr]
    kept = ps.labels[model] == hr
    out = []
    for kind, mask, order in (
        ("flipped", ~kept, np.argsort(-drop, kind="stable")),
        ("kept", kept, np.argsort(drop, kind="stable")),
    ):
        chosen: list[int] = []
        for r in order[mask[order]]:
            c = ps.coords[r]
            if any(_overlap(c, ps.coords[q], ps.size) > max_overlap for q in chosen):
                continue
            chosen.append(int(r))
            if len(chosen) == n:
                break
        for r in chosen:
            out.append(
                {
                    "kind": kind,
                    "row": r,
                    "image": ps.image_names[ps.coords[r, 0]],
                    "y": int(ps.coords[r, 1]),
                    "x": int(ps.coords[r, 2]),
                    "hr_label": ps.classes[hr[r]],
                    "hr_prob": float(ps.probs["hr"][r, hr[r]]),
                    "sr_label": ps.classes[ps.labels[model][r]],
                    "sr_prob": float(ps.probs[model][r, ps.labels[model][r]]),
                    "drop": float(drop[r]),
                }
            )
    cols = ["kind", "row", "image", "y", "x", "hr_label", "hr_prob", "sr_label", "sr_prob"]
    return pd.DataFrame(out, columns=[*cols, "drop"])


def _overlap(a: np.ndarray, b: np.ndarray, size: int) -> float:
    """Overlap area of two square patches of the same image, as a share of one patch."""
    if a[0] != b[0]:
        return 0.0
    dy = max(0, size - abs(int(a[1]) - int(b[1])))
    dx = max(0, size - abs(int(a[2]) - int(b[2])))
    return dy * dx / size**2


def consistency_vs_psnr(
    ps: PatchSet, models: Sequence[str] | None = None, reference: str = "bicubic"
) -> pd.DataFrame:
    """Does keeping the HR label go with a larger PSNR gain over ``reference``? Per model:

    ``gain_kept``/``gain_flipped``: mean gain (dB) of kept / flipped patches; ``auc``: the
    probability that a random kept patch has a larger gain than a random flipped one
    (Mann-Whitney U / (n_kept n_flipped), 0.5 = no relation); ``mwu_p``: two-sided
    Mann-Whitney p-value; ``r_pb``/``r_pb_p``: point-biserial correlation of kept with gain.
    """
    from scipy import stats

    rows = []
    for m in [v for v in (ps.models if models is None else models) if v != reference]:
        kept = ps.labels[m] == ps.labels["hr"]
        gain = ps.psnr[m] - ps.psnr[reference]
        row: dict[str, Any] = {
            "model": m,
            "n_kept": int(kept.sum()),
            "n_flipped": int((~kept).sum()),
            "gain_kept": float(gain[kept].mean()) if kept.any() else np.nan,
            "gain_flipped": float(gain[~kept].mean()) if (~kept).any() else np.nan,
        }
        if kept.any() and (~kept).any():
            u = stats.mannwhitneyu(gain[kept], gain[~kept], alternative="two-sided")
            pb = stats.pointbiserialr(kept.astype(float), gain)
            row.update(
                auc=float(u.statistic / (kept.sum() * (~kept).sum())),
                mwu_p=float(u.pvalue),
                r_pb=float(pb.statistic),
                r_pb_p=float(pb.pvalue),
            )
        else:
            row.update(auc=np.nan, mwu_p=np.nan, r_pb=np.nan, r_pb_p=np.nan)
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


# --------------------------------------------------------------------------- Fig. 7
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


@torch.inference_mode()
def _mean_psnr(
    model: nn.Module,
    lr: torch.Tensor,
    hr: torch.Tensor,
    scale: int,
    device: torch.device,
    batch: int = 64,
) -> np.ndarray:
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

    Training uses :func:`helpers.train.train` (the book's one loop, cached by config) on
    the HR patches as images, from which it samples ``lr_patch * scale`` px crops. The
    loop has no evaluation callback, so the curve is recorded from inside the loss
    function every ``eval_every`` steps (before that step's update; the model has no
    batch norm, so evaluating in train mode is the same); the loss name is part of the
    cache key, and the curve is cached beside the checkpoint.

    Args:
        train_hr: (N, 3, P, P) HR training patches in [0, 1]; ``train_high`` (N,) bool.
        test_hr: (M, 3, P, P), test_lr: (M, 3, P/scale, P/scale); ``test_high`` (M,) bool.
        steps: training steps per arm; eval_every: default steps // 5.
        model, model_kwargs: a registry architecture (default: EDSR, 16 features, 4 blocks).
        lr: Adam learning rate (halved at 50 % and 75 % of the steps, the EDSR schedule).
    """
    from ..train import TrainConfig, checkpoint_path, train

    dev = resolve_device(device)
    train_high = np.asarray(train_high, bool)
    test_high = np.asarray(test_high, bool)
    if train_high.sum() == 0 or test_high.sum() == 0:
        raise ValueError("no high-complexity patches to train or test on")
    if len(train_high) != len(train_hr) or len(test_high) != len(test_hr):
        raise ValueError("masks and patches differ in length")
    eval_every = eval_every or max(1, steps // 5)
    kwargs = dict(model_kwargs or {"n_feats": 16, "n_blocks": 4})
    root = _cache_root(cache_dir) / "high_vs_all"
    test_id = hashlib.sha256(test_hr.numpy().tobytes() + test_high.tobytes()).hexdigest()[:16]
    subsets = {"all": np.ones(len(test_hr), bool), "high": test_high}
    from ..models import build

    bic = build("bicubic", scale)
    bicubic = {
        k: float(_mean_psnr(bic, test_lr[m], test_hr[m], scale, torch.device("cpu")).mean())
        for k, m in subsets.items()
    }
    rows, seconds, n_train = [], {}, {}
    for arm, mask in (("all", np.ones(len(train_hr), bool)), ("high", train_high)):
        imgs = train_hr[torch.as_tensor(mask)]
        data_id = hashlib.sha256(imgs.numpy().tobytes()).hexdigest()[:16]
        cfg = TrainConfig(
            model=model,
            scale=scale,
            steps=steps,
            model_kwargs=kwargs,
            data=f"texture-patches-{arm}-{data_id}",
            patch=lr_patch * scale,
            batch=batch,
            lr=lr,
            loss="l1+eval",
            loss_params={"eval_every": eval_every, "test": test_id},
            seed=seed,
        )
        ckpt = checkpoint_path(cfg, root)
        curve_path = ckpt.with_suffix(".curve.json")
        if curve_path.is_file() and ckpt.is_file():
            rec = json.loads(curve_path.read_text())
        else:
            ckpt.unlink(missing_ok=True)  # a curve must come from one uninterrupted run
            rec = {"points": [], "seconds": 0.0}
            calls = [0]

            def loss_fn(sr, hr, lr_, net, _rec=rec, _calls=calls):
                if _calls[0] % eval_every == 0:  # _calls[0] updates done so far
                    net.eval()
                    p = _mean_psnr(net, test_lr, test_hr, scale, dev)  # all; subsets index it
                    for k, m in subsets.items():
                        _rec["points"].append([_calls[0], k, float(p[m].mean())])
                    net.train()
                _calls[0] += 1
                return F.l1_loss(sr, hr)

            res = train(
                cfg,
                loss_fn=loss_fn,
                images=list(imgs[:, None]),
                cache_dir=root,
                device=dev,
                progress=progress,
                desc=f"EDSR on {arm} patches",
            )
            p = _mean_psnr(res.model, test_lr, test_hr, scale, dev)
            for k, m in subsets.items():
                rec["points"].append([steps, k, float(p[m].mean())])
            rec["seconds"] = res.seconds
            write_json(curve_path, rec)
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


# --------------------------------------------------------------------------- plots
#: Patches for a figure: a tensor (N, 3, p, p) or a function of row indices -> (n, 3, p, p).
PatchFetcher = torch.Tensor | Callable[[np.ndarray], torch.Tensor]


def _fetch(patches: PatchFetcher, rows: np.ndarray) -> torch.Tensor:
    return patches[torch.as_tensor(rows)] if isinstance(patches, torch.Tensor) else patches(rows)


def _share_heatmap(
    m: pd.DataFrame, ax: plt.Axes, cmap: str, annot: bool, cbar_kws: dict[str, Any]
) -> None:
    """A square heatmap of shares in [0, 1] (row-normalised matrices), two-decimal labels."""
    import seaborn as sns

    sns.heatmap(
        m, ax=ax, cmap=cmap, vmin=0, vmax=1, square=True, cbar_kws=cbar_kws,
        annot=annot, fmt=".2f", annot_kws={"size": 7},
    )  # fmt: skip


def plot_confusion(clf: TextureClassifier, ax: plt.Axes | None = None) -> plt.Figure:
    """Row-normalised confusion matrix of the classifier's test split (recall on the
    diagonal)."""
    recall = clf.confusion / np.maximum(clf.confusion.sum(1, keepdims=True), 1)
    n = len(clf.classes)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.38 * n + 2.5, 0.34 * n + 1.8))
    shares = pd.DataFrame(recall, index=clf.classes, columns=clf.classes)
    _share_heatmap(shares, ax, "Blues", annot=n <= 12, cbar_kws={"shrink": 0.6})
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{clf.preset} classifier: test accuracy {clf.test_accuracy:.1%} (n={clf.n_test})")
    return ax.figure


def plot_entropy_psnr(
    entropy: np.ndarray,
    psnr_db: np.ndarray,
    patches: PatchFetcher,
    tol_entropy: float = 0.1,
    tol_psnr: float = 0.25,
    title: str = "",
) -> tuple[plt.Figure, dict[str, Any]]:
    """Fig. 3: entropy vs bicubic PSNR scatter with the least-squares line, one pair of
    patches of (nearly) equal entropy (within ``tol_entropy`` bits) and very different
    PSNR, and one pair of equal PSNR (within ``tol_psnr`` dB) and very different entropy.
    ``patches``: (N, 3, p, p) HR patches in the same order, or a function of row indices
    returning them (e.g. ``lambda rows: ps.patches("hr", rows)``).
    Returns the figure and the fit plus the two pairs' indices."""
    fit = entropy_psnr_fit(entropy, psnr_db)
    same_e = contrast_pair(entropy, psnr_db, tol_entropy)
    same_p = contrast_pair(psnr_db, entropy, tol_psnr)
    shown = _fetch(patches, np.array([*same_e, *same_p]))
    fig = plt.figure(figsize=(11, 4.2))
    gs = fig.add_gridspec(2, 4, width_ratios=[2.2, 2.2, 1, 1])
    ax = fig.add_subplot(gs[:, :2])
    ax.scatter(entropy, psnr_db, s=6, alpha=0.45, color="0.4", lw=0)
    xs = np.linspace(np.min(entropy), np.max(entropy), 50)
    ax.plot(
        xs,
        fit["slope"] * xs + fit["intercept"],
        color="C3",
        label=f"fit: {fit['slope']:.2f} dB/bit, r={fit['pearson_r']:.2f}",
    )
    for (i, j), col, lab in ((same_e, "C0", "same entropy"), (same_p, "C4", "same PSNR")):
        ax.plot([entropy[i], entropy[j]], [psnr_db[i], psnr_db[j]], "--", color=col, lw=1.2)
        ax.scatter(
            [entropy[i], entropy[j]], [psnr_db[i], psnr_db[j]], color=col, s=30, label=lab, zorder=3
        )
    ax.set_xlabel("entropy of gradients (bits)")
    ax.set_ylabel("bicubic PSNR (dB, Y)")
    ax.legend(fontsize=8)
    ax.set_title(title)
    for r, (pair, col) in enumerate(((same_e, "C0"), (same_p, "C4"))):
        for c, idx in enumerate(pair):
            a = fig.add_subplot(gs[r, 2 + c])
            a.imshow(shown[2 * r + c].permute(1, 2, 0).clamp(0, 1).numpy())
            a.set_title(f"H={entropy[idx]:.2f}, {psnr_db[idx]:.1f} dB", fontsize=8, color=col)
            a.axis("off")
    fig.tight_layout()
    return fig, {"fit": fit, "same_entropy": list(same_e), "same_psnr": list(same_p)}


def plot_label_scatter(
    df: pd.DataFrame,
    labels: Sequence[str],
    x: str = "entropy",
    y: str = "psnr_bicubic",
    ncols: int = 3,
) -> plt.Figure:
    """Fig. 4: the entropy/PSNR scatter once per label, its patches in black over the
    others in grey (``df`` from :meth:`PatchSet.frame`)."""
    n = len(labels)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.3 * ncols, 2.8 * nrows), squeeze=False, sharex=True, sharey=True
    )
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, lab in zip(axes.flat, labels, strict=False):
        m = df["label"] == lab
        ax.scatter(df.loc[~m, x], df.loc[~m, y], s=4, color="0.8", lw=0)
        ax.scatter(df.loc[m, x], df.loc[m, y], s=7, color="k", lw=0)
        ax.set_title(f"{lab} (n={int(m.sum())}, {df.loc[m, y].mean():.1f} dB)")
    for ax in axes[-1]:
        ax.set_xlabel("entropy (bits)")
    for ax in axes[:, 0]:
        ax.set_ylabel("bicubic PSNR (dB)")
    fig.tight_layout()
    return fig


def plot_embedding(
    xy: np.ndarray, labels: Sequence[str], clusters: np.ndarray, method: str = "UMAP"
) -> plt.Figure:
    """Fig. 5: the 2-d projection coloured by texture label (top) and by k-means cluster
    (bottom)."""
    import seaborn as sns

    labels = np.asarray(labels, object)
    fig, axes = plt.subplots(2, 1, figsize=(8, 9.5))
    order = sorted(set(labels.tolist()))
    pal = sns.color_palette("husl", len(order))
    for lab, col in zip(order, pal, strict=True):
        m = labels == lab
        axes[0].scatter(xy[m, 0], xy[m, 1], s=8, color=col, label=lab, lw=0)
    axes[0].legend(fontsize=7, ncol=2, bbox_to_anchor=(1.01, 1), loc="upper left", markerscale=2)
    axes[0].set_title(f"{method} of HR patch embeddings, coloured by texture label")
    k = int(clusters.max()) + 1
    pal = sns.color_palette("tab20" if k > 10 else "tab10", k)
    for c in range(k):
        m = clusters == c
        axes[1].scatter(xy[m, 0], xy[m, 1], s=8, color=pal[c], label=f"cluster {c}", lw=0)
    axes[1].legend(fontsize=7, ncol=2, bbox_to_anchor=(1.01, 1), loc="upper left", markerscale=2)
    axes[1].set_title(f"the same points coloured by k-means cluster (k={k})")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_cluster_samples(
    patches: PatchFetcher,
    clusters: np.ndarray,
    summary: pd.DataFrame,
    per_cluster: int = 6,
    seed: int = 0,
) -> plt.Figure:
    """Fig. 6: ``per_cluster`` random patches of each cluster with its top label
    (``patches`` as in :func:`plot_entropy_psnr`)."""
    rng = np.random.default_rng(seed)
    k = len(summary)
    picks = {}
    for c in summary.index:
        idx = np.flatnonzero(clusters == c)
        picks[c] = rng.choice(idx, min(per_cluster, len(idx)), replace=False)
    rows = np.concatenate(list(picks.values()))
    shown = dict(zip(rows.tolist(), _fetch(patches, rows), strict=True))
    fig, axes = plt.subplots(k, per_cluster, figsize=(1.3 * per_cluster, 1.35 * k), squeeze=False)
    for r, c in enumerate(summary.index):
        pick = picks[c]
        for j, ax in enumerate(axes[r]):
            ax.axis("off")
            if j < len(pick):
                ax.imshow(shown[int(pick[j])].permute(1, 2, 0).clamp(0, 1).numpy())
        s = summary.loc[c]
        axes[r, 0].text(
            -0.08,
            0.5,
            f"#{c} {s.top_label}\n{s.top_share:.0%} of {s['size']}",
            transform=axes[r, 0].transAxes,
            ha="right",
            va="center",
            fontsize=8,
        )
    fig.subplots_adjust(left=0.2, wspace=0.05, hspace=0.08)
    return fig


def plot_profiles(
    profiles: Mapping[str, pd.Series], distances: pd.DataFrame, min_share: float = 0.0
) -> plt.Figure:
    """Fig. 8: label shares per dataset (heat map, % of patches; labels as rows) beside the
    Jensen-Shannon distances between the datasets. Labels under ``min_share`` in every
    dataset are left out."""
    import seaborn as sns

    prof = pd.DataFrame(profiles) * 100  # rows: labels, columns: datasets
    prof = prof.loc[prof.max(axis=1) >= 100 * min_share]
    nd, nl = prof.shape[1], prof.shape[0]
    fig, axes = plt.subplots(
        1,
        2,
        figsize=(1.1 * nd + 1.2 * nd + 5.5, max(3.2, 0.3 * nl + 1.6)),
        gridspec_kw={"width_ratios": [nd + 1.5, nd]},
    )
    sns.heatmap(
        prof,
        ax=axes[0],
        cmap="viridis",
        annot=True,
        fmt=".0f",
        annot_kws={"size": 7},
        cbar_kws={"label": "% of patches", "shrink": 0.7},
    )
    axes[0].set_title("semantic profile (% of patches)")
    axes[0].tick_params(axis="x", labelrotation=30)
    axes[0].set_ylabel("")
    sns.heatmap(
        distances,
        ax=axes[1],
        cmap="magma_r",
        vmin=0,
        vmax=1,
        annot=True,
        fmt=".2f",
        square=True,
        cbar=False,
        annot_kws={"size": 8},
    )
    axes[1].set_title("Jensen-Shannon distance (base 2)")
    axes[1].tick_params(axis="x", labelrotation=30)
    axes[1].tick_params(axis="y", labelrotation=0)
    fig.tight_layout()
    return fig


def plot_per_label_psnr(
    tables: Mapping[tuple[str, str], pd.DataFrame], small_gap: float = 0.5, ncols: int = 3
) -> plt.Figure:
    """Fig. 9: one panel per (dataset, model): mean PSNR of the top and bottom labels
    (:func:`top_bottom_labels`), a red line between them, the gap over bicubic printed in
    white on each bar (bold red where below ``small_gap`` dB)."""
    n = len(tables)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.3 * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, ((ds, model), tb) in zip(axes.flat, tables.items(), strict=False):
        y = np.arange(len(tb))[::-1]
        cols = ["C0" if g == "top" else "C1" for g in tb["group"]]
        ax.barh(y, tb["psnr"], color=cols)
        ax.scatter(tb["reference"], y, marker="|", color="k", s=120, zorder=3, label="bicubic")
        lo = max(0.0, tb[["psnr", "reference"]].min().min() - 4)
        ax.set_xlim(lo, tb[["psnr", "reference"]].max().max() + 1)
        for yy, (_, r) in zip(y, tb.iterrows(), strict=True):
            small = abs(r.gap) < small_gap
            ax.text(
                lo + 0.3,
                yy,
                f"{r.gap:+.2f}",
                va="center",
                ha="left",
                fontsize=8,
                color="red" if small else "white",
                fontweight="bold" if small else "normal",
            )
        k = int((tb["group"] == "top").sum())
        ax.axhline(y[k - 1] - 0.5, color="red", lw=1.2)
        ax.set_yticks(y, [f"{r.label} ({r.n})" for r in tb.itertuples()], fontsize=8)
        ax.set_xlabel("mean PSNR (dB)")
        ax.set_title(f"{ds}: {model}")
    axes.flat[0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_flip_matrices(ps: PatchSet, panels: Mapping[str, str]) -> plt.Figure:
    """Row-normalised HR-label -> SR-label matrices (:func:`flip_matrix`; diagonal = kept)
    of ``ps``, one panel per ``{title: model}``; rows show the HR label's patch count.
    Side by side for up to 12 classes (shares annotated), stacked for more."""
    n, c = len(panels), len(ps.classes)
    counts = pd.Series(ps.label_names("hr")).value_counts()
    r = len(counts)
    wide = c > 12
    nrows, ncols = (n, 1) if wide else (1, n)
    w, h = 0.34 * c + 3.4, 0.34 * r + 2.0
    fig, axes = plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows), squeeze=False)
    for ax, (title, model) in zip(axes.flat, panels.items(), strict=True):
        m = flip_matrix(ps, model)
        m.index = [f"{lab} ({counts[lab]})" for lab in m.index]
        cbar = {"label": "share of the row", "shrink": 0.8}
        _share_heatmap(m, ax, "rocket_r", annot=not wide, cbar_kws=cbar)
        ax.set_ylabel("HR label (patches)")
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_examples(
    ps: PatchSet,
    examples: pd.DataFrame,
    model: str,
    sr_model: nn.Module,
    device: str | torch.device | None = None,
) -> plt.Figure:
    """Fig. 10: for each selected patch, the HR patch and ``model``'s SR patch with their
    labels and probabilities (green title: label kept, red: flipped)."""
    rows = examples["row"].to_numpy()
    if len(rows) == 0:
        fig, ax = plt.subplots(figsize=(4, 1))
        ax.text(0.5, 0.5, f"no examples: {model} has no such patches", ha="center")
        ax.axis("off")
        return fig
    hr = ps.patches("hr", rows)
    sr = ps.patches(model, rows, model=sr_model, device=device)
    n = len(examples)
    fig, axes = plt.subplots(2, n, figsize=(2.1 * n, 4.6), squeeze=False)
    for j, r in enumerate(examples.itertuples()):
        col = "green" if r.kind == "kept" else "red"
        for i, (img, lab, p, who) in enumerate(
            ((hr[j], r.hr_label, r.hr_prob, "HR"), (sr[j], r.sr_label, r.sr_prob, model))
        ):
            ax = axes[i, j]
            ax.imshow(img.permute(1, 2, 0).clamp(0, 1).numpy())
            ax.set_title(f"{who}: {lab}\np={p:.2f}", fontsize=8, color=col if i else "k")
            ax.axis("off")
        axes[1, j].text(
            0.5,
            -0.08,
            f"{r.kind}, drop {r.drop:+.2f}\n{r.image}",
            transform=axes[1, j].transAxes,
            ha="center",
            va="top",
            fontsize=7,
        )
    fig.tight_layout()
    return fig


def plot_high_vs_all(res: HighVsAll) -> plt.Figure:
    """Fig. 7: PSNR on all and on high test patches during training, per training arm."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
    for ax, ev in zip(axes, ("all", "high"), strict=True):
        for arm, col in (("high", "C0"), ("all", "C2")):
            c = res.curves[(res.curves.arm == arm) & (res.curves["eval"] == ev)]
            ax.plot(
                c.step,
                c.psnr,
                "o-",
                color=col,
                ms=3,
                label=f"trained on {arm} ({res.n_train[arm]} patches)",
            )
        ax.axhline(res.bicubic[ev], color="0.5", ls="--", lw=1, label="bicubic")
        ax.set_title(f"test: {ev} patches (n={res.n_test[ev]})")
        ax.set_xlabel("training step")
        ax.set_ylabel("PSNR (dB)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_agreement(
    table: pd.DataFrame,
    paper_sr: tuple[float, float] = (0.309, 0.542),
    paper_bicubic: tuple[float, float] = (0.202, 0.319),
) -> plt.Figure:
    """Table 1 as bars: top-1 agreement (with 95% bootstrap CI) per model, one panel per
    dataset, the paper's ranges shaded (SR models blue, bicubic grey) and the chance level
    dotted. ``table`` from :func:`agreement_table`."""
    ds = list(dict.fromkeys(table.dataset))
    fig, axes = plt.subplots(
        1, len(ds), figsize=(3.3 * len(ds) + 0.5, 3.6), squeeze=False, sharey=True
    )
    for ax, d in zip(axes[0], ds, strict=True):
        t = table[table.dataset == d].reset_index(drop=True)
        x = np.arange(len(t))
        ax.axhspan(*paper_sr, color="C0", alpha=0.12, lw=0, label="paper: SR models")
        ax.axhspan(*paper_bicubic, color="0.5", alpha=0.15, lw=0, label="paper: bicubic")
        cols = ["0.45" if m == "bicubic" else "C0" for m in t.model]
        ax.bar(x, t.top1, color=cols, width=0.7)
        ax.errorbar(
            x,
            t.top1,
            yerr=[t.top1 - t.ci_lo, t.ci_hi - t.top1],
            fmt="none",
            ecolor="k",
            capsize=3,
            lw=1,
        )
        ax.scatter(x, t.chance, marker="_", color="C3", s=150, zorder=3, label="chance")
        ax.set_xticks(x, t.model, rotation=60, ha="right", fontsize=8)
        ax.set_title(f"{d} (n={int(t.n.iloc[0])})")
        ax.set_ylim(0, 1)
    axes[0, 0].set_ylabel("share of SR patches keeping the HR label")
    axes[0, -1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def plot_consistency_psnr(
    ps: PatchSet, table: pd.DataFrame, reference: str = "bicubic"
) -> plt.Figure:
    """Left: per-patch PSNR gain over ``reference`` of kept vs flipped patches, per model
    (box plots); right: per (dataset, model), top-1 agreement vs mean PSNR."""
    import seaborn as sns

    models = [m for m in ps.models if m != reference]
    rows = []
    for m in models:
        kept = ps.labels[m] == ps.labels["hr"]
        gain = ps.psnr[m] - ps.psnr[reference]
        rows.append(
            pd.DataFrame({"model": m, "gain": gain, "label": np.where(kept, "kept", "flipped")})
        )
    df = pd.concat(rows)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [1.6, 1]})
    sns.boxplot(
        df,
        x="model",
        y="gain",
        hue="label",
        ax=axes[0],
        fliersize=1.5,
        hue_order=["kept", "flipped"],
        palette={"kept": "C2", "flipped": "C3"},
    )
    axes[0].axhline(0, color="k", lw=0.8)
    axes[0].set_ylabel(f"patch PSNR gain over {reference} (dB)")
    axes[0].tick_params(axis="x", labelrotation=45)
    axes[0].set_title(f"{ps.dataset}: {len(ps)} patches")
    for i, (d, t) in enumerate(table.groupby("dataset", sort=False)):
        axes[1].scatter(t.mean_psnr, t.top1, color=f"C{i}", label=d, s=25)
        for r in t.itertuples():
            axes[1].annotate(
                r.model,
                (r.mean_psnr, r.top1),
                fontsize=6,
                xytext=(2, 2),
                textcoords="offset points",
            )
    axes[1].set_xlabel("mean patch PSNR (dB)")
    axes[1].set_ylabel("top-1 agreement")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig
