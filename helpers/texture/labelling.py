"""Labelling SR sets with the texture classifier, cached (:mod:`helpers.cache`).

- :func:`preset_classifier` -> :class:`TextureClassifier`: the preset's DeepTEN, trained
  once (:func:`helpers.texture.classifier.train_classifier`), with its test accuracy and
  confusion matrix in a small index, so a second chapter loads it without regenerating the
  training data.
- :func:`label_dataset`: seeded 128x128 HR patches of an SR set (the paper: 50 per image),
  their texture label, class probabilities, embedding and entropy of gradients, and for the
  *same coordinates* the bicubic patches' labels, probabilities and Y-PSNR.
- :func:`label_models`: the same for SR networks' outputs, one cached entry per network.
- :func:`label_sets`: both for several sets; :func:`labelling_table` what that took.

Every entry is keyed (:func:`helpers.cache.key`) by its settings, the digest of the code
that computes it (:data:`LABEL_SOURCES`) and its inputs: the classifier checkpoint's key,
the dataset's pixels and, per network, :func:`helpers.models.weights_digest`. A damaged or
foreign entry warns and is recomputed. Files: ``<cache>/index-<key>.json`` and
``<cache>/patches/<dataset>-x<scale>-<key>/{hr,<model>-<key>}.pt`` with ``<cache>`` =
:func:`helpers.texture.classifier.cache_root`.

Images and patches are float tensors in [0, 1], NCHW, RGB; entropy is
:func:`helpers.metrics.gradient_entropy` in bits; PSNR as in :mod:`helpers.texture.patchset`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from .. import cache, presets
from ..data import SRPair
from ..data.textures import preset_data
from ..metrics.quality import gradient_entropy
from ..models import build, weights_digest
from ..models.evaluate import super_resolve
from ..runtime import resolve_device
from .classifier import CODE_SOURCES, cache_root, evaluate, load_classifier, train_classifier
from .deepten import DeepTEN, check_classes
from .patches import crop_patches, label_patches, sample_patch_coords
from .patchset import PatchSet, load_pairs, patch_psnr

__all__ = [
    "LABEL_SOURCES",
    "TextureClassifier",
    "label_dataset",
    "label_models",
    "label_sets",
    "labelling_table",
    "preset_classifier",
]

#: The sources whose changes alter a labelling (sampling, cropping, labelling, entropy,
#: PSNR, super-resolving); their :func:`helpers.cache.code_digest` is part of every
#: labelling's key.
LABEL_SOURCES: tuple[str, ...] = (
    "texture/labelling.py",
    "texture/patches.py",
    "texture/patchset.py",
    "metrics/quality.py",
    "models/evaluate.py",
)


# --------------------------------------------------------------------------- classifier
@dataclass
class TextureClassifier:
    """A trained DeepTEN with what the chapters report about it.

    ``confusion`` is (C, C) int64, rows = true class, columns = predicted, on the preset's
    held-out test split; ``train_seconds`` is the training wall time (all runs summed).
    """

    model: DeepTEN
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
    """The index's key: preset, seed, classifier config, data spec and DTD root; the
    classifier's training code, and for procedural data its generator (a changed
    generator regenerates the data, and the checkpoint key then decides on retraining)."""
    spec = presets.get("texture_data", preset)
    # procedural.py samples, patterns.py draws each label's pixels: both make the data
    generator = ["data/procedural.py", "data/patterns.py"]
    sources = [*CODE_SOURCES, *(generator if spec["source"] == "procedural" else [])]
    return cache.key(
        "texture_index",
        {
            "preset": preset,
            "seed": seed,
            "config": presets.get("texture_classifier", preset),
            "data": spec,
            "root": None if root is None else str(Path(root).resolve()),
        },
        cache.code_digest(*sources),
        length=20,
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
    :func:`~helpers.data.textures.preset_data`: procedural DTD classes at smoke/embedded,
    DTD-10 at benchmark, DTD-47 at full), evaluates it on the test split and writes a small
    index ``<cache>/index-<key>.json`` (checkpoint name and key, test accuracy, confusion),
    so a later call, e.g. from another chapter, loads the checkpoint without rebuilding the
    data. A damaged index or checkpoint warns and is rebuilt.

    Args:
        preset: smoke | embedded | benchmark | full.
        seed: classifier seed (initialisation, data generation, augmentation).
        device: where to train/run (default CUDA if available).
        root: DTD folder for benchmark/full (default: the manifest / mirror).
        cache_dir: default ``data_dir()/texture`` (:func:`~helpers.texture.classifier.cache_root`).
    """
    presets.check_preset(preset)
    folder = cache_root(cache_dir)
    index_key = _classifier_index_key(preset, seed, root)
    index = cache.entry_path("", index_key, root=folder, prefix="index-", suffix=".json")
    info = cache.load(index, index_key, "texture classifier index")
    model = None
    if info is not None and (folder / info["checkpoint"]).is_file():
        try:
            model = load_classifier(folder / info["checkpoint"], info["classes"], device)
        except RuntimeError:  # damaged or unfinished (warned): train_classifier decides
            model = None
    if model is None:
        train, test = preset_data(preset, root=root, seed=seed)
        model, hist = train_classifier(
            train,
            train.classes,
            preset,
            cache_dir=folder,
            device=device,
            seed=seed,
            progress=progress,
        )
        ev = evaluate(model, test, device=device, progress=progress)
        info = {
            "checkpoint": Path(hist["checkpoint"]).name,
            "checkpoint_key": hist["key"],
            "classes": list(train.classes),
            "test_accuracy": ev["accuracy"],
            "confusion": ev["confusion"].tolist(),
            "per_class": ev["per_class"],
            "n_train": len(train),
            "n_test": len(test),
            "train_seconds": float(hist["train_seconds"]),
            "data_source": presets.get("texture_data", preset)["source"],
        }
        cache.save(index, index_key, info)
    return TextureClassifier(
        model=model,
        preset=preset,
        key=info["checkpoint_key"],
        classes=tuple(info["classes"]),
        test_accuracy=float(info["test_accuracy"]),
        confusion=np.asarray(info["confusion"], dtype=np.int64),
        per_class=dict(info["per_class"]),
        n_train=int(info["n_train"]),
        n_test=int(info["n_test"]),
        train_seconds=float(info["train_seconds"]),
        checkpoint=folder / info["checkpoint"],
        data_source=info["data_source"],
    )


# --------------------------------------------------------------------------- labelling
def _pairs_digest(pairs: Sequence[SRPair]) -> str:
    """Digest of the HR and LR pixels (a changed dataset never reuses a stale labelling)."""
    return cache.tensor_digest(*[t for p in pairs for t in (p.hr, p.lr)])


def _folder(root: Path, dataset: str, scale: int, key: str) -> Path:
    return cache.entry_path("patches", key, root=root, prefix=f"{dataset}-x{scale}-", suffix="")


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
        hr = crop_patches([pairs[i].hr], yx, size)
        if model is None:
            patches = hr
            out["entropy_sobel"][rows] = gradient_entropy(hr).numpy()
            out["entropy_magid2022"][rows] = gradient_entropy(hr, operator="magid2022").numpy()
        else:
            sr = super_resolve(model, pairs[i].lr, device, label=f"image {pairs[i].name!r}")
            if sr.shape != pairs[i].hr.shape:
                raise ValueError(
                    f"{desc}: SR output {tuple(sr.shape)} does not match HR "
                    f"{tuple(pairs[i].hr.shape)} of image {pairs[i].name!r}"
                )
            patches = crop_patches([sr], yx, size)
            out["psnr"][rows] = patch_psnr(patches, hr, scale)
        lab = label_patches(clf.model, patches, batch, device, progress=False)
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
    multiples of ``scale`` so LR crops align; :func:`helpers.texture.patches.sample_patch_coords`),
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
    pairs = load_pairs(dataset, scale, spec)
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
    key = cache.key(
        "texture_patches",
        {
            "dataset": dataset,
            "images": [p.name for p in pairs],
            "scale": scale,
            "size": size,
            "seed": seed,
            "spec": spec,
        },
        cache.code_digest(*LABEL_SOURCES),
        [clf.key, _pairs_digest(pairs)],
        length=20,
    )

    def compute() -> dict[str, object]:
        coords = sample_patch_coords(
            [tuple(p.hr.shape[-2:]) for p in pairs], n_per_image, size, seed, n_images, scale
        )
        t0 = time.perf_counter()
        out = _label_version(
            clf, pairs, coords, size, scale, None, dev, batch, f"{dataset} HR", progress
        )
        return {
            "coords": torch.from_numpy(coords),
            "names": [p.name for p in pairs],
            "seconds": time.perf_counter() - t0,
            **{k: torch.from_numpy(v) for k, v in out.items()},
        }

    folder = _folder(cache_root(cache_dir), dataset, scale, key)
    cached, hit = cache.cached(folder / "hr.pt", key, compute, "texture labelling")
    fresh = 0 if hit else len(cached["coords"])
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
    check_classes(ps.classes, clf.classes, f"patches of {ps.dataset} vs classifier")
    if clf.key != ps.classifier_key:
        raise ValueError(
            f"the patches of {ps.dataset} were labelled by classifier {ps.classifier_key}, "
            f"not {clf.key}; relabel them with label_dataset(clf, ...)"
        )
    dev = resolve_device(device)
    folder = _folder(cache_root(cache_dir), ps.dataset, ps.scale, ps.key)
    code = cache.code_digest(*LABEL_SOURCES)
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
        key = cache.key("texture_labels", {}, code, [ps.key, weights_digest(model)], length=20)
        path = cache.entry_path("", key, root=folder, prefix=f"{name}-")

        def compute(model: nn.Module = model, name: str = name) -> dict[str, object]:
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
            return {
                **{k: torch.from_numpy(v) for k, v in out.items()},
                "seconds": time.perf_counter() - t0,
            }

        cached, hit = cache.cached(path, key, compute, f"texture labelling ({name})")
        fresh = 0 if hit else len(ps)
        ps.labels[name] = cached["label"].numpy()
        ps.probs[name] = cached["prob"].numpy()
        ps.psnr[name] = cached["psnr"].numpy()
        ps.seconds[name] = float(cached["seconds"])
        ps.n_labelled[name] = fresh
    return ps


def label_sets(
    clf: TextureClassifier,
    datasets: Mapping[str, Mapping[str, object]],
    scale: int = 4,
    size: int = 128,
    n_per_image: int = 50,
    seed: int = 0,
    models: Mapping[str, nn.Module] | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> dict[str, PatchSet]:
    """:func:`label_dataset` for each SR set of ``datasets`` (name -> its ``limit``/``crop``
    options), then, when given, :func:`label_models` of ``models`` on it; in order.
    Returns ``{name: PatchSet}``."""
    sets = {}
    for ds, opts in datasets.items():
        ps = label_dataset(
            clf, ds, scale, size, n_per_image, seed=seed, device=device, progress=progress, **opts
        )
        if models:
            label_models(ps, clf, models, device=device, progress=progress)
        sets[ds] = ps
    return sets


def labelling_table(sets: Mapping[str, PatchSet]) -> pd.DataFrame:
    """Per set: ``images``, ``patches``, ``versions`` (HR, bicubic, SR models),
    ``labelled now`` (patches labelled in this process, all versions; 0 = all from the
    cache) and ``patches/s`` (all versions, at their labelling, whenever that was)."""
    rows = {
        ds: {
            "images": len(ps.image_names),
            "patches": len(ps),
            "versions": len(ps.labels),
            "labelled now": sum(ps.n_labelled.values()),
            "patches/s": len(ps.labels) * len(ps) / sum(ps.seconds.values()),
        }
        for ds, ps in sets.items()
    }
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("dataset")
