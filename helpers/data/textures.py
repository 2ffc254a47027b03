"""Texture image datasets: DTD (folders + split lists, DTD-10 from the manifest, DTD-47
through torchvision) and procedural textures, under one interface, :class:`TextureData`.

The texture classifier (:mod:`helpers.texture.classifier`) trains and tests on these; each
preset's data is :func:`preset_data` (``texture_data`` in :data:`helpers.presets.TABLE`).

- :class:`TextureData`: labelled images from tensors or files; items are uint8 (3, H, W)
  RGB with an int label; :meth:`TextureData.image` gives float (1, 3, H, W) in [0, 1].
- :func:`dtd_split_items`: parse a DTD split list against an image folder.
- :func:`train_transform` / :func:`eval_transform`: the classifier's augmentation (random
  crop, flips, RandAugment) and its centre crop, uint8 (3, H, W) -> float (3, c, c) in
  [0, 1], from a classifier config (:data:`helpers.texture.deepten.DEFAULT_CONFIG` keys).
- :func:`preset_data`: ``(train, test)`` for a preset.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import Dataset
from torchvision.datasets import DTD
from torchvision.transforms import v2
from tqdm.auto import tqdm

from .. import presets
from ..io import load_image
from .procedural import LABELS_EMBEDDED, make_dataset
from .sets import dtd10

__all__ = ["TextureData", "dtd_split_items", "eval_transform", "preset_data", "train_transform"]


def _to_uint8_chw(img: torch.Tensor) -> torch.Tensor:
    """(3, H, W) or (1, 3, H, W), float [0, 1] or uint8 -> uint8 (3, H, W)."""
    if img.ndim == 4:
        if img.shape[0] != 1:
            raise ValueError(f"expected one image, got a batch of {img.shape[0]}")
        img = img[0]
    if img.ndim != 3 or img.shape[0] != 3:
        raise ValueError(f"expected an RGB image (3, H, W), got {tuple(img.shape)}")
    if img.dtype == torch.uint8:
        return img.contiguous()
    if not img.is_floating_point():
        raise TypeError(f"images must be float in [0, 1] or uint8, got {img.dtype}")
    if not torch.isfinite(img).all() or img.min() < -1e-4 or img.max() > 1 + 1e-4:
        raise ValueError("float images must be finite and in [0, 1]")
    return (img.clamp(0, 1) * 255.0).round().to(torch.uint8)


def _resize_short(img: torch.Tensor, short: int | None) -> torch.Tensor:
    """Resize uint8 (3, H, W) so its shorter side is ``short`` (antialiased); None keeps."""
    if short is None or min(img.shape[-2:]) == short:
        return img
    return v2.functional.resize(img, [short], antialias=True)


class TextureData(Dataset):
    """Labelled texture images from tensors or files, one interface for every preset.

    Args:
        images: a float [0, 1] or uint8 tensor (N, 3, H, W); a list of (3, H, W) /
            (1, 3, H, W) tensors of any sizes; or a list of image file paths.
        labels: (N,) class indices or class names.
        classes: the label names, in index order (unique).
        load_size: resize the shorter side of every image to this at load (antialiased
            bicubic); ``None`` keeps native sizes.
        lazy: for file paths, read (and resize) each image when it is used instead of
            all at once (for DTD-47 with DataLoader workers).
        name: a human-readable name (shown in errors and progress bars).

    Items are ``(uint8 tensor (3, H, W), label int)``. Images are stored as uint8 (4x
    less memory than float; photos are 8-bit anyway).
    """

    def __init__(
        self,
        images: torch.Tensor | Sequence[torch.Tensor] | Sequence[str | Path],
        labels: Sequence[int] | Sequence[str] | torch.Tensor,
        classes: Sequence[str],
        load_size: int | None = None,
        lazy: bool = False,
        name: str = "texture data",
    ) -> None:
        self.classes: tuple[str, ...] = tuple(classes)
        if not self.classes or len(set(self.classes)) != len(self.classes):
            raise ValueError(f"classes must be non-empty and unique, got {self.classes}")
        self.name, self.load_size = name, load_size
        n = len(images)
        labels = labels.tolist() if isinstance(labels, torch.Tensor) else list(labels)
        if len(labels) != n:
            raise ValueError(f"{name}: {n} images but {len(labels)} labels")
        if n == 0:
            raise ValueError(f"{name}: no images")
        idx = []
        for lab in labels:
            if isinstance(lab, str):
                if lab not in self.classes:
                    raise ValueError(f"{name}: label {lab!r} is not in classes {self.classes}")
                idx.append(self.classes.index(lab))
            else:
                if not 0 <= int(lab) < len(self.classes):
                    raise ValueError(
                        f"{name}: label index {lab} outside 0..{len(self.classes) - 1}"
                    )
                idx.append(int(lab))
        self.labels = torch.tensor(idx, dtype=torch.long)
        self.paths: list[Path] | None = None
        self._images: list[torch.Tensor | None]
        if isinstance(images, torch.Tensor) or isinstance(images[0], torch.Tensor):
            self._images = [_resize_short(_to_uint8_chw(im), load_size) for im in images]
        else:
            self.paths = [Path(p) for p in images]
            missing = [str(p) for p in self.paths if not p.is_file()]
            if missing:
                raise FileNotFoundError(
                    f"{name}: {len(missing)} image files missing, e.g. {missing[:3]}"
                )
            self._images = [None] * n
            if not lazy:
                for i in tqdm(range(n), desc=f"loading {name}", leave=False):
                    self._images[i] = self._read(i)

    def _read(self, i: int) -> torch.Tensor:
        assert self.paths is not None
        return _resize_short(_to_uint8_chw(load_image(self.paths[i])), self.load_size)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        img = self._images[i]
        if img is None:
            img = self._read(i)
        return img, int(self.labels[i])

    def image(self, i: int) -> torch.Tensor:
        """Image ``i`` as float (1, 3, H, W) in [0, 1]."""
        return self[i][0][None].float() / 255.0

    def sizes(self) -> list[tuple[int, int]]:
        """(H, W) of every image (reads lazily loaded files' headers via full load)."""
        return [tuple(self[i][0].shape[-2:]) for i in range(len(self))]  # type: ignore[misc]

    def identity(self) -> str:
        """A content hash keying checkpoints: pixels (tensors) or names+sizes (files)."""
        h = hashlib.sha256()
        h.update(json.dumps([self.classes, self.labels.tolist(), self.load_size]).encode())
        if self.paths is not None:
            for p in self.paths:
                h.update(f"{p.parent.name}/{p.name}:{p.stat().st_size}".encode())
        else:
            for im in self._images:
                assert im is not None
                h.update(str(tuple(im.shape)).encode())
                h.update(im.numpy().tobytes())
        return h.hexdigest()[:20]

    def subset(self, indices: Sequence[int]) -> TextureData:
        """A view on some items (same classes)."""
        sub = TextureData.__new__(TextureData)
        sub.classes, sub.name, sub.load_size = self.classes, self.name, self.load_size
        ind = list(indices)
        sub.labels = self.labels[ind]
        sub._images = [self._images[i] for i in ind]
        sub.paths = None if self.paths is None else [self.paths[i] for i in ind]
        return sub

    # ---- constructors
    @classmethod
    def procedural(
        cls,
        labels: Sequence[str] | None = None,
        n_per_class: int = 100,
        size: int = 96,
        seed: int = 0,
        split: str = "train",
    ) -> TextureData:
        """Procedural textures (:mod:`helpers.data.procedural`), class-major, uint8."""
        labels = tuple(LABELS_EMBEDDED if labels is None else labels)
        imgs: list[torch.Tensor] = []
        for lab in tqdm(labels, desc=f"generating {split} textures", leave=False):
            x, _ = make_dataset([lab], n_per_class, size, seed, split)
            imgs.extend((x * 255.0).round().to(torch.uint8))
        idx = torch.arange(len(labels)).repeat_interleave(n_per_class)
        return cls(imgs, idx, labels, name=f"procedural-{split}")

    @classmethod
    def from_split_file(
        cls,
        images_root: str | Path,
        split_file: str | Path,
        classes: Sequence[str] | None = None,
        load_size: int | None = None,
        lazy: bool = False,
    ) -> TextureData:
        """DTD-style folders ``images_root/<class>/<file>`` listed by a split file.

        See :func:`dtd_split_items`; classes default to the folders present that the
        split file mentions (so a partial mirror such as DTD-10 works).
        """
        paths, labels, classes = dtd_split_items(images_root, split_file, classes)
        return cls(
            paths, labels, classes, load_size=load_size, lazy=lazy, name=Path(split_file).stem
        )

    @classmethod
    def dtd47(
        cls,
        root: str | Path,
        split: str = "trainval",
        partition: int = 1,
        load_size: int | None = None,
        lazy: bool = True,
    ) -> TextureData:
        """Full DTD (47 classes) through ``torchvision.datasets.DTD(root, download=False)``.

        ``split``: ``"train"``, ``"val"``, ``"test"`` or ``"trainval"`` (the paper trains
        on train+val). Raises a clear error when DTD is not under ``root``.
        """
        parts = ["train", "val"] if split == "trainval" else [split]
        if any(p not in ("train", "val", "test") for p in parts):
            raise ValueError(f"split must be train|val|test|trainval, got {split!r}")
        paths: list[Path] = []
        labels: list[int] = []
        classes: list[str] = []
        for p in parts:
            try:
                ds = DTD(str(root), split=p, partition=partition, download=False)
            except RuntimeError as e:
                raise FileNotFoundError(
                    f"DTD-47 not found under {root} (torchvision expects {root}/dtd/dtd/"
                    "images and labels/); download it from "
                    "https://www.robots.ox.ac.uk/~vgg/data/dtd/ or use the benchmark preset "
                    f"(DTD-10). torchvision said: {e}"
                ) from e
            classes = list(ds.classes)
            paths += [Path(f) for f in ds._image_files]
            labels += list(ds._labels)
        return cls(paths, labels, classes, load_size=load_size, lazy=lazy, name=f"DTD-47 {split}")


def dtd_split_items(
    images_root: str | Path, split_file: str | Path, classes: Sequence[str] | None = None
) -> tuple[list[Path], list[int], tuple[str, ...]]:
    """Parse a DTD split list (lines ``<class>/<class>_NNNN.jpg``) against an image folder.

    Args:
        images_root: folder holding ``<class>/<file>`` (DTD's ``images/``).
        split_file: e.g. DTD's ``labels/train1.txt``; lines of classes absent from
            ``images_root`` are skipped (partial mirrors), as are blank lines.
        classes: restrict to these (must all be present); default: every class folder
            that the split file mentions, sorted.

    Returns:
        ``(paths, label_idx, classes)``.
    """
    root, split_file = Path(images_root), Path(split_file)
    if not root.is_dir():
        raise FileNotFoundError(f"image folder not found: {root}")
    if not split_file.is_file():
        raise FileNotFoundError(f"split list not found: {split_file}")
    lines = [ln.strip() for ln in split_file.read_text().splitlines() if ln.strip()]
    present = {d.name for d in root.iterdir() if d.is_dir()}
    mentioned = sorted({ln.split("/")[0] for ln in lines} & present)
    if classes is None:
        classes = mentioned
    else:
        absent = [c for c in classes if c not in present]
        if absent:
            raise ValueError(f"classes {absent} have no folder under {root}")
    classes = tuple(classes)
    if not classes:
        raise ValueError(f"no class of {split_file} has a folder under {root}")
    items = [ln for ln in lines if ln.split("/")[0] in classes]
    paths = [root / ln for ln in items]
    labels = [classes.index(ln.split("/")[0]) for ln in items]
    return paths, labels, classes


# --------------------------------------------------------------------------- transforms
def train_transform(cfg: dict[str, Any]) -> v2.Transform:
    """The training augmentation of a classifier config: a random ``crop`` (reflect-padded
    when the image is smaller), flips (``flips``), RandAugment (``randaugment`` = [N, M]);
    uint8 (3, H, W) -> float32 (3, crop, crop) in [0, 1]. Draws from torch's global RNG."""
    t: list[v2.Transform] = [v2.RandomCrop(cfg["crop"], pad_if_needed=True, padding_mode="reflect")]
    if cfg["flips"]:
        t += [v2.RandomHorizontalFlip(), v2.RandomVerticalFlip()]
    n_ops, mag = cfg["randaugment"]
    if n_ops > 0:
        t.append(v2.RandAugment(num_ops=n_ops, magnitude=mag))
    t.append(v2.ToDtype(torch.float32, scale=True))
    return v2.Compose(t)


def eval_transform(cfg: dict[str, Any]) -> v2.Transform:
    """The evaluation crop of a classifier config: a centre crop of ``eval_crop`` (default
    ``crop``) px, upscaling smaller images first; uint8 (3, H, W) -> float (3, c, c) in
    [0, 1]. Deterministic."""
    crop = cfg["eval_crop"] or cfg["crop"]

    def f(img: torch.Tensor) -> torch.Tensor:
        if min(img.shape[-2:]) < crop:  # upscale small images rather than zero-pad
            img = v2.functional.resize(img, [crop], antialias=True)
        return v2.functional.center_crop(img, [crop, crop]).float() / 255.0

    return f


def preset_data(
    preset: str,
    root: str | Path | None = None,
    seed: int = 0,
    load_size: int | None = None,
) -> tuple[TextureData, TextureData]:
    """``(train, test)`` :class:`TextureData` for a preset (``texture_data`` in
    :data:`helpers.presets.TABLE`).

    - ``smoke``/``embedded``: procedural textures; test drawn from independent seeds.
    - ``benchmark``: DTD-10, official split 1 (train+val vs test). ``root`` is a folder
      holding ``images/<class>/`` and ``splits/{train1,test1}.txt`` (or DTD's
      ``labels/``); by default the offline mirror (``$HELPERS_DATA_MIRROR``).
    - ``full``: DTD-47 through torchvision under ``root``.

    ``load_size`` defaults to the preset's ``texture_classifier`` config.
    """
    spec = presets.get("texture_data", preset)
    if load_size is None:
        load_size = presets.get("texture_classifier", preset).get("load_size")
    if spec["source"] == "procedural":
        labels = LABELS_EMBEDDED if spec["labels"] == "all" else tuple(spec["labels"])
        train = TextureData.procedural(labels, spec["n_train"], spec["size"], seed, "train")
        test = TextureData.procedural(labels, spec["n_test"], spec["size"], seed, "test")
        return train, test
    if spec["source"] == "dtd10":
        if root is None:
            # The manifest's fetcher (verified copies, offline mirror aware).
            items = {s: dtd10(s) for s in ("train", "test")}
            classes = tuple(sorted({c for _, c in items["train"]}))
            train, test = (
                TextureData(
                    [p for p, _ in items[s]],
                    [c for _, c in items[s]],
                    classes,
                    load_size=load_size,
                    name=f"DTD-10 {s}",
                )
                for s in ("train", "test")
            )
            return train, test
        else:
            images = Path(root) / "images"
            splits = Path(root) / "splits"
            if not splits.is_dir():
                splits = Path(root) / "labels"
        train = TextureData.from_split_file(images, splits / "train1.txt", load_size=load_size)
        test = TextureData.from_split_file(
            images, splits / "test1.txt", classes=train.classes, load_size=load_size
        )
        return train, test
    if root is None:
        raise FileNotFoundError("full preset needs DTD-47: pass root= (torchvision DTD layout)")
    train = TextureData.dtd47(root, "trainval", load_size=load_size)
    test = TextureData.dtd47(root, "test", load_size=load_size)
    return train, test
