"""Texture classifier (DeepTEN-style), its training/evaluation, and patch labelling.

The texture paper (Magid et al., CVPR 2022, §3.1-3.2) labels SR patches with a DeepTEN
classifier (Zhang et al., CVPR 2017) trained on DTD: a ResNet backbone, a 1x1 reduction
with BN and ReLU, a *residual encoding layer* (K learnable codewords c_k with learnable
smoothing factors s_k; every feature r_i is softly assigned to the codewords,
a_ik = softmax_k(-s_k ||x_i - c_k||^2), and the residuals are aggregated orderlessly,
E_k = sum_i a_ik (x_i - c_k)), L2 normalisation and a linear classifier. The flattened,
normalised encoding (K x D values, 32 x 128 = 4096 in the paper) is the *texture
embedding* used for UMAP and k-means.

Public API (all images are float tensors in [0, 1], NCHW, RGB):

- :class:`Encoding`, :class:`DeepTEN` (``model.embed(x)``, ``model.classes``).
- :class:`TextureData`: one data interface over tensors or image files (DTD folders and
  split lists, torchvision's DTD-47, procedural textures).
- :func:`train_classifier` (config-keyed, atomic, resumable checkpoints),
  :func:`load_classifier`, :func:`evaluate`.
- :func:`sample_patch_coords`, :func:`crop_patches`, :func:`label_patches`,
  :func:`label_images` (crops and labels image by image, for large datasets).
- :data:`PRESETS` (classifier configs) and :data:`DATA_PRESETS` /
  :func:`preset_data` (which data each preset trains and tests on).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torchvision.models.resnet import BasicBlock, Bottleneck
from torchvision.transforms import v2
from tqdm.auto import tqdm

from .. import presets
from ..io import load_image, save_torch
from ..runtime import data_dir, resolve_device

__all__ = [
    "DEFAULT_CONFIG",
    "Encoding",
    "encoding_naive",
    "DeepTEN",
    "TextureData",
    "build_classifier",
    "imagenet_weights_path",
    "config_key",
    "checkpoint_path",
    "train_classifier",
    "load_classifier",
    "evaluate",
    "sample_patch_coords",
    "crop_patches",
    "label_patches",
    "label_images",
    "CODE_VERSION",
    "dtd_split_items",
    "preset_data",
]

# --------------------------------------------------------------------------- config
#: Every key a classifier config may hold, with its default (the paper's settings where
#: it gives them: SGD, lr 0.01 divided by 10 every quarter of training, momentum 0.9,
#: weight decay 1e-6, batch 64, 224 px crops, RandAugment N=1 M=1, flips).
DEFAULT_CONFIG: dict[str, Any] = {
    # model
    "backbone": "resnet18",  # resnet18 | resnet34 | resnet50 (the paper: resnet50)
    "stages": 4,  # residual stages kept (1-4); fewer = cheaper, smaller receptive field
    "width": 64,  # channels of the first stage (64 = torchvision's ResNet)
    "pretrained": "auto",  # "auto": ImageNet weights iff in the torch hub cache; True; False
    "reduce_dim": 128,  # D: channels after the 1x1 reduction
    "codewords": 32,  # K: codewords of the encoding layer (embedding = K * D)
    # Initial value of a learnable factor on the logits (None: DeepTEN's plain linear
    # layer). Unit-norm embeddings give tiny logits at first; a scale lets short CPU
    # trainings converge (as in cosine-softmax classifiers). Embeddings are unchanged.
    "logit_scale": None,
    # data pipeline
    "crop": 224,  # training crop side (random crop), pixels
    "eval_crop": None,  # centre crop for evaluation (None: same as crop)
    "load_size": None,  # resize the shorter image side to this once, at load (None: keep)
    "randaugment": [1, 1],  # RandAugment num_ops, magnitude (the paper: N=1, M=1)
    "flips": True,  # random horizontal and vertical flips
    # optimisation
    "batch": 64,
    "steps": 1000,
    "optimizer": "sgd",  # sgd | adamw
    "lr": 0.01,
    "momentum": 0.9,
    "weight_decay": 1e-6,
    "schedule": "step",  # step (x0.1 at 25/50/75 %) | cosine | constant
    "warmup_steps": 0,
    "label_smoothing": 0.0,
    "ckpt_every": 200,  # steps between atomic checkpoints
    "num_workers": 0,  # DataLoader workers (augmentation is seeded per sample)
}


_BACKBONES: dict[str, tuple[type[nn.Module], list[int]]] = {
    "resnet18": (BasicBlock, [2, 2, 2, 2]),
    "resnet34": (BasicBlock, [3, 4, 6, 3]),
    "resnet50": (Bottleneck, [3, 4, 6, 3]),
}
_WEIGHT_ENUMS = {
    "resnet18": "ResNet18_Weights",
    "resnet34": "ResNet34_Weights",
    "resnet50": "ResNet50_Weights",
}
# ImageNet statistics: the paper normalises inputs with them; the model does it itself,
# so callers always pass [0, 1] images.
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


def _merge_config(config: dict[str, Any] | str | None) -> dict[str, Any]:
    """Defaults overlaid with ``config`` (a dict or a preset name); unknown keys are errors."""
    if config is None:
        config = {}
    if isinstance(config, str):
        config = presets.get("texture_classifier", config)
    unknown = set(config) - set(DEFAULT_CONFIG)
    if unknown:
        raise ValueError(
            f"unknown classifier config keys {sorted(unknown)}; valid: {sorted(DEFAULT_CONFIG)}"
        )
    cfg = {**DEFAULT_CONFIG, **config}
    if cfg["backbone"] not in _BACKBONES:
        raise ValueError(f"backbone must be one of {list(_BACKBONES)}, got {cfg['backbone']!r}")
    if cfg["stages"] not in (1, 2, 3, 4):
        raise ValueError(f"stages must be 1-4, got {cfg['stages']!r}")
    if cfg["pretrained"] not in ("auto", True, False):
        raise ValueError(f"pretrained must be 'auto', True or False, got {cfg['pretrained']!r}")
    for k in ("width", "reduce_dim", "codewords", "crop", "batch", "steps", "ckpt_every"):
        if isinstance(cfg[k], bool) or not isinstance(cfg[k], int) or cfg[k] < 1:
            raise ValueError(f"config[{k!r}] must be a positive int, got {cfg[k]!r}")
    if cfg["optimizer"] not in ("sgd", "adamw"):
        raise ValueError(f"optimizer must be 'sgd' or 'adamw', got {cfg['optimizer']!r}")
    if cfg["schedule"] not in ("step", "cosine", "constant"):
        raise ValueError(f"schedule must be step|cosine|constant, got {cfg['schedule']!r}")
    cfg["randaugment"] = [int(v) for v in cfg["randaugment"]]
    return cfg


# --------------------------------------------------------------------------- encoding
class Encoding(nn.Module):
    """DeepTEN's residual encoding layer (Zhang et al., 2017), vectorized.

    Input features x (B, D, H, W) are N = H*W descriptors x_i in R^D. With codewords
    c_k (K, D) and smoothing factors s_k (K,):

        r_ik = x_i - c_k,   a_ik = exp(-s_k ||r_ik||^2) / sum_j exp(-s_j ||r_ij||^2),
        E_k  = sum_i a_ik r_ik                      -> output (B, K, D).

    The sums are computed from matrix products (||x||^2 - 2 x.c + ||c||^2 and
    A^T X - (sum_i a_ik) c_k), so no (B, N, K, D) tensor is ever built. The smoothing
    factors are learnable and unconstrained, as in DeepTEN (initialised in (0, 1]).
    """

    def __init__(self, dim: int, codewords: int) -> None:
        super().__init__()
        self.dim, self.num_codes = dim, codewords
        self.codewords = nn.Parameter(torch.empty(codewords, dim))
        self.smoothing = nn.Parameter(torch.empty(codewords))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # DeepTEN's initialisation: codewords U(-1/sqrt(KD), 1/sqrt(KD)), scales in (0, 1].
        std = 1.0 / math.sqrt(self.num_codes * self.dim)
        nn.init.uniform_(self.codewords, -std, std)
        nn.init.uniform_(self.smoothing, 0.0, 1.0)

    def assignments(self, x: torch.Tensor) -> torch.Tensor:
        """Soft assignment weights a (B, N, K) of the N = H*W descriptors of x (B, D, H, W)."""
        X = self._descriptors(x)
        c = self.codewords
        d2 = (X * X).sum(-1, keepdim=True) - 2.0 * X @ c.t() + (c * c).sum(-1)
        # The expanded form can dip a hair below zero by cancellation.
        return torch.softmax(-self.smoothing * d2.clamp(min=0.0), dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (B, D, H, W) -> aggregated residuals E (B, K, D)."""
        X = self._descriptors(x)
        A = self.assignments(x)
        return A.transpose(1, 2) @ X - A.sum(1).unsqueeze(-1) * self.codewords

    def _descriptors(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != self.dim:
            raise ValueError(f"Encoding expects (B, {self.dim}, H, W), got {tuple(x.shape)}")
        return x.flatten(2).transpose(1, 2)  # (B, N, D)


def encoding_naive(
    x: torch.Tensor, codewords: torch.Tensor, smoothing: torch.Tensor
) -> torch.Tensor:
    """Reference residual encoding by explicit loops (for tests only; slow).

    x (B, D, H, W), codewords (K, D), smoothing (K,) -> E (B, K, D).
    """
    B, D = x.shape[:2]
    K = codewords.shape[0]
    X = x.reshape(B, D, -1)
    out = torch.zeros(B, K, D, dtype=x.dtype)
    for b in range(B):
        for i in range(X.shape[2]):
            xi = X[b, :, i]
            logits = torch.stack(
                [-smoothing[k] * ((xi - codewords[k]) ** 2).sum() for k in range(K)]
            )
            a = torch.softmax(logits, dim=0)
            for k in range(K):
                out[b, k] += a[k] * (xi - codewords[k])
    return out


# --------------------------------------------------------------------------- model
class _Trunk(nn.Module):
    """ResNet stem + ``stages`` residual stages, torchvision's layer names and blocks.

    Built here (not by slicing ``torchvision.models.resnet18()``) so the base width can be
    reduced for CPU presets; the state-dict keys equal torchvision's, so ImageNet weights
    load directly when ``width == 64``.
    """

    def __init__(self, backbone: str, stages: int, width: int) -> None:
        super().__init__()
        block, layers = _BACKBONES[backbone]
        self.conv1 = nn.Conv2d(3, width, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inplanes = width
        for i in range(stages):
            planes, stride = width * 2**i, (1 if i == 0 else 2)
            down = None
            if stride != 1 or inplanes != planes * block.expansion:
                down = nn.Sequential(
                    nn.Conv2d(inplanes, planes * block.expansion, 1, stride, bias=False),
                    nn.BatchNorm2d(planes * block.expansion),
                )
            blocks = [block(inplanes, planes, stride, down)]
            inplanes = planes * block.expansion
            blocks += [block(inplanes, planes) for _ in range(1, layers[i])]
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.stages = stages
        self.out_channels = inplanes

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for i in range(self.stages):
            x = getattr(self, f"layer{i + 1}")(x)
        return x


def imagenet_weights_path(backbone: str) -> Path | None:
    """The torchvision ImageNet checkpoint for ``backbone`` if it is in the torch hub cache.

    Looks in ``torch.hub.get_dir()/checkpoints`` for the file torchvision would download;
    never downloads. Returns ``None`` when absent.
    """
    import torchvision.models as tvm

    enum = getattr(tvm, _WEIGHT_ENUMS[backbone])
    cache = Path(torch.hub.get_dir()) / "checkpoints"
    for w in enum:
        p = cache / Path(w.url).name
        if p.is_file():
            return p
    return None


class DeepTEN(nn.Module):
    """DeepTEN texture classifier: ResNet trunk, 1x1 reduction + BN + ReLU, residual
    encoding, L2 normalisation, linear classifier.

    Takes images (B, 3, H, W) in [0, 1] of any size with H, W >= 32 (normalised with
    ImageNet statistics inside). ``forward`` -> logits (B, C); ``embed`` -> the texture
    embedding (B, K*D), unit L2 norm. ``classes`` is the tuple of label names.
    """

    def __init__(self, classes: Sequence[str], config: dict[str, Any] | None = None) -> None:
        super().__init__()
        cfg = _merge_config(config)
        self.classes: tuple[str, ...] = tuple(classes)
        self.config = cfg
        self.trunk = _Trunk(cfg["backbone"], cfg["stages"], cfg["width"])
        d, k = cfg["reduce_dim"], cfg["codewords"]
        self.reduce = nn.Sequential(
            nn.Conv2d(self.trunk.out_channels, d, 1), nn.BatchNorm2d(d), nn.ReLU(inplace=True)
        )
        self.encoding = Encoding(d, k)
        self.fc = nn.Linear(d * k, len(self.classes))
        ls = cfg["logit_scale"]
        self.logit_scale = None if ls is None else nn.Parameter(torch.tensor(math.log(ls)))
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        self.pretrained_file: str | None = None

    @property
    def embedding_dim(self) -> int:
        return self.encoding.dim * self.encoding.num_codes

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) in [0, 1] -> texture embedding (B, K*D), unit L2 norm."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected images (B, 3, H, W), got {tuple(x.shape)}")
        f = self.trunk((x - self.mean) / self.std)
        e = self.encoding(self.reduce(f))
        return F.normalize(e.flatten(1), dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Images (B, 3, H, W) in [0, 1] -> class logits (B, C)."""
        return self.logits(self.embed(x))

    def logits(self, embedding: torch.Tensor) -> torch.Tensor:
        """Texture embedding (B, K*D) -> class logits (B, C)."""
        out = self.fc(embedding)
        return out if self.logit_scale is None else out * self.logit_scale.exp()


def build_classifier(classes: Sequence[str], config: dict[str, Any] | str | None = None) -> DeepTEN:
    """A fresh :class:`DeepTEN`; ImageNet trunk weights per ``config['pretrained']``.

    ``"auto"`` uses them only when cached (and ``width == 64``), ``True`` requires them
    (clear error otherwise), ``False`` never. Weights load with ``weights_only=True``.
    """
    cfg = _merge_config(config)
    model = DeepTEN(classes, cfg)
    want = cfg["pretrained"]
    if want is False:
        return model
    path = imagenet_weights_path(cfg["backbone"]) if cfg["width"] == 64 else None
    if path is None:
        if want is True:
            raise FileNotFoundError(
                f"pretrained=True but no ImageNet {cfg['backbone']} weights are usable: "
                + (
                    f"width={cfg['width']} differs from torchvision's 64"
                    if cfg["width"] != 64
                    else f"none in {Path(torch.hub.get_dir()) / 'checkpoints'} (this code "
                    "never downloads; place torchvision's file there)"
                )
            )
        return model
    state = torch.load(path, map_location="cpu", weights_only=True)
    own = model.trunk.state_dict()
    sub = {k: v for k, v in state.items() if k in own}
    missing = set(own) - set(sub)
    if missing:
        raise RuntimeError(f"ImageNet checkpoint {path} lacks trunk keys {sorted(missing)[:5]}")
    model.trunk.load_state_dict(sub)
    model.pretrained_file = path.name
    return model


# --------------------------------------------------------------------------- data
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
        """Procedural textures (:mod:`helpers.procedural`), class-major, uint8."""
        from ..data import procedural

        labels = tuple(procedural.LABELS_EMBEDDED if labels is None else labels)
        imgs: list[torch.Tensor] = []
        for lab in tqdm(labels, desc=f"generating {split} textures", leave=False):
            x, _ = procedural.make_dataset([lab], n_per_class, size, seed, split)
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
        from torchvision.datasets import DTD

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
def _train_transform(cfg: dict[str, Any]) -> v2.Transform:
    t: list[v2.Transform] = [v2.RandomCrop(cfg["crop"], pad_if_needed=True, padding_mode="reflect")]
    if cfg["flips"]:
        t += [v2.RandomHorizontalFlip(), v2.RandomVerticalFlip()]
    n_ops, mag = cfg["randaugment"]
    if n_ops > 0:
        t.append(v2.RandAugment(num_ops=n_ops, magnitude=mag))
    t.append(v2.ToDtype(torch.float32, scale=True))
    return v2.Compose(t)


def _eval_transform(cfg: dict[str, Any]) -> v2.Transform:
    crop = cfg["eval_crop"] or cfg["crop"]

    def f(img: torch.Tensor) -> torch.Tensor:
        if min(img.shape[-2:]) < crop:  # upscale small images rather than zero-pad
            img = v2.functional.resize(img, [crop], antialias=True)
        return v2.functional.center_crop(img, [crop, crop]).float() / 255.0

    return f


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
            g = torch.Generator().manual_seed(_derive(self.seed, "epoch", epoch))
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
                out.append((idx, _derive(self.seed, "aug", p) % 2**63))
            yield out


def _derive(seed: int, *parts: Any) -> int:
    h = hashlib.sha256(repr((int(seed), *parts)).encode()).digest()
    return int.from_bytes(h[:8], "little") >> 1


# --------------------------------------------------------------------------- training
#: Bump when a change to this module alters trained weights (model, data pipeline, loop):
#: it is part of the checkpoint key, so old checkpoints are then retrained, not reused.
#: (A version number rather than a hash of this file, so that editing a docstring does not
#: throw away a classifier that took minutes to train.)
CODE_VERSION = 1


def config_key(
    data_train: TextureData, classes: Sequence[str], config: dict[str, Any] | str | None, seed: int
) -> str:
    """Checkpoint key: config, classes, data identity, seed, ImageNet file used, code."""
    cfg = _merge_config(config)
    pre = None
    if cfg["pretrained"] is not False and cfg["width"] == 64:
        p = imagenet_weights_path(cfg["backbone"])
        pre = p.name if p else None
    # Fields that do not change the weights stay out of the key.
    keyed = {k: v for k, v in cfg.items() if k not in ("ckpt_every", "num_workers")}
    blob = json.dumps(
        {
            "config": keyed,
            "classes": list(classes),
            "data": data_train.identity(),
            "seed": int(seed),
            "imagenet": pre,
            "code": CODE_VERSION,
        },
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


def checkpoint_path(
    data_train: TextureData,
    classes: Sequence[str],
    config: dict[str, Any] | str | None = None,
    cache_dir: str | Path | None = None,
    seed: int = 0,
) -> Path:
    """Where :func:`train_classifier` keeps this run's checkpoint."""
    root = Path(cache_dir) if cache_dir is not None else data_dir() / "texture"
    return root / f"deepten-{config_key(data_train, classes, config, seed)}.pt"


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


def _check_classes(expected: Sequence[str], got: Sequence[str], what: str) -> None:
    """Raise a ``ValueError`` naming the differences when two class lists differ."""
    if tuple(expected) != tuple(got):
        absent = [c for c in expected if c not in got]
        extra = [c for c in got if c not in expected]
        raise ValueError(
            f"class list mismatch ({what}): expected {len(expected)} classes "
            f"{tuple(expected)}, got {len(got)} {tuple(got)}"
            + (f"; expected but absent: {absent}" if absent else "")
            + (f"; present but not expected: {extra}" if extra else "")
            + ("; same names in a different order" if not absent and not extra else "")
        )


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
    identity, the seed, the ImageNet file used and this module's code. It is written
    atomically every ``ckpt_every`` steps and at the end; a finished one is reused
    (0 steps trained), an unfinished one is resumed, giving the same weights as an
    uninterrupted run (per-sample seeded augmentation, step-indexed shuffling).

    Args:
        data_train: the training :class:`TextureData`; its classes must equal ``classes``.
        classes: label names in index order (stored in the checkpoint).
        config: a dict overriding :data:`DEFAULT_CONFIG`, or a preset name.
        device: where to train (default CUDA if available).
        seed: determines initialisation, shuffling and augmentation.
        progress: show a tqdm bar.
        stop_after: train at most this many steps in this call, leaving a resumable
            checkpoint (for time-boxed runs and tests).

    Returns:
        ``(model, history)``: the model in eval mode on ``device``; history with lists
        ``step``, ``loss``, ``train_acc``, ``lr`` (per logging interval), and
        ``steps_run`` (this call), ``resumed_from``, ``seconds`` (this call),
        ``train_seconds`` (all calls), ``checkpoint``, ``key``, ``done``.
    """
    call_t0 = time.perf_counter()
    cfg = _merge_config(config)
    classes = tuple(classes)
    _check_classes(classes, data_train.classes, "classes argument vs training data")
    dev = resolve_device(device)
    path = checkpoint_path(data_train, classes, cfg, cache_dir, seed)
    key = path.stem.split("-", 1)[1]
    total = cfg["steps"]

    with torch.random.fork_rng(devices=[]):  # keep the caller's global RNG untouched
        torch.manual_seed(_derive(seed, "init"))
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
    if path.is_file():
        ck = torch.load(path, map_location="cpu", weights_only=True)
        if ck.get("key") != key:
            raise RuntimeError(f"checkpoint {path} has key {ck.get('key')!r}, expected {key!r}")
        _check_classes(classes, ck["classes"], f"checkpoint {path}")
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
        save_torch(
            path,
            {
                "key": key,
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
        _Augmented(data_train, _train_transform(cfg)),
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
    misread. Unfinished checkpoints are refused unless ``allow_unfinished``.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no classifier checkpoint at {path}")
    ck = torch.load(path, map_location="cpu", weights_only=True)
    if classes is not None:
        _check_classes(classes, ck["classes"], f"expected by caller vs checkpoint {path}")
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
    _check_classes(model.classes, data.classes, "model vs evaluation data")
    dev = resolve_device(device)
    model.to(dev).eval()
    tf = _eval_transform(model.config)
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


# --------------------------------------------------------------------------- patches
def sample_patch_coords(
    image_sizes: Sequence[tuple[int, int]],
    n_per_image: int = 50,
    size: int = 128,
    seed: int = 0,
    n_images: int | None = None,
    align: int = 1,
) -> np.ndarray:
    """Seeded uniform patch positions, the paper's sampling (50 patches of 128 px per image).

    Args:
        image_sizes: (H, W) of each image (e.g. HR images).
        n_per_image: patches per image (drawn with replacement).
        size: patch side in pixels.
        seed: non-negative int.
        n_images: use this many images (a seeded random subset, in order); ``None`` = all.
            More than available is an error.
        align: corners are multiples of this (pass the SR scale so LR crops line up).

    Returns:
        int64 array (n_images * n_per_image, 3): columns (image index, top y, left x),
        grouped by image in increasing image order. Use the same coordinates for HR,
        bicubic and SR versions (:func:`crop_patches`).
    """
    sizes = np.asarray(image_sizes, dtype=np.int64).reshape(-1, 2) if len(image_sizes) else None
    if sizes is None or len(sizes) == 0:
        raise ValueError("image_sizes is empty: no images to sample patches from")
    for name, val in (("n_per_image", n_per_image), ("size", size), ("align", align)):
        if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < 1:
            raise ValueError(f"{name} must be a positive int, got {val!r}")
    m = len(sizes)
    if n_images is not None and (n_images < 1 or n_images > m):
        raise ValueError(f"asked for patches from {n_images} images but the dataset has only {m}")
    small = np.flatnonzero((sizes < size).any(1))
    if len(small):
        i = int(small[0])
        raise ValueError(
            f"{len(small)} image(s) are smaller than the {size}x{size} patch, e.g. image {i} "
            f"of {sizes[i, 0]}x{sizes[i, 1]}; use a smaller patch size or drop those images"
        )
    rng = np.random.default_rng(seed)
    chosen = np.arange(m) if n_images is None else np.sort(rng.choice(m, n_images, replace=False))
    img = np.repeat(chosen, n_per_image)
    span = (sizes[img] - size) // align + 1  # positions per axis
    yx = (rng.random((len(img), 2)) * span).astype(np.int64) * align
    return np.concatenate([img[:, None], yx], axis=1)


def crop_patches(
    images: Sequence[torch.Tensor],
    coords: np.ndarray | torch.Tensor,
    size: int = 128,
    scale: int = 1,
) -> torch.Tensor:
    """Cut patches at ``coords`` (from :func:`sample_patch_coords`), keeping their order.

    ``images[i]`` is (1, 3, H, W) or (3, H, W); with ``scale > 1`` the images are the LR
    versions and the patches are the matching (size/scale)-pixel LR patches. Uses
    :func:`helpers.patches.crop_at` per image. Returns (N, 3, size/scale, size/scale).
    """
    from ..data.patches import crop_at

    c = torch.as_tensor(np.asarray(coords), dtype=torch.long)
    if c.ndim != 2 or c.shape[1] != 3:
        raise ValueError(f"coords must be (N, 3) as (image, y, x), got {tuple(c.shape)}")
    if len(c) and (c[:, 0].max() >= len(images) or c[:, 0].min() < 0):
        raise ValueError(f"coords refer to image {int(c[:, 0].max())} but only {len(images)} given")
    s = size // scale
    first = images[0] if len(images) else None
    dtype = first.dtype if first is not None else torch.float32
    out = torch.empty(
        (len(c), 3, s, s), dtype=dtype, device=first.device if first is not None else None
    )
    for i in torch.unique(c[:, 0]).tolist():
        rows = torch.nonzero(c[:, 0] == i).flatten()
        out[rows] = crop_at(images[i], c[rows, 1:], size, scale=scale)
    return out


@torch.inference_mode()
def label_patches(
    model: DeepTEN,
    patches: torch.Tensor,
    batch: int = 64,
    device: str | torch.device | None = None,
    progress: bool = True,
    classes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Texture label, class probabilities and embedding of every patch (batched).

    Args:
        model: a trained :class:`DeepTEN`.
        patches: (N, 3, h, w) float in [0, 1] (the paper: h = w = 128), any device.
        batch: patches per forward pass.
        device: where to run the model (default CUDA if available).
        classes: if given, must equal ``model.classes`` (guards against a classifier
            trained on another label set).

    Returns:
        dict with ``label_idx`` ((N,) int64), ``prob`` ((N, C) float32, rows sum to 1),
        ``embedding`` ((N, K*D) float32, unit L2 norm), all numpy, and ``classes``.
    """
    if classes is not None:
        _check_classes(classes, model.classes, "expected by caller vs classifier")
    if not isinstance(patches, torch.Tensor) or patches.ndim != 4 or patches.shape[1] != 3:
        shape = (
            tuple(patches.shape) if isinstance(patches, torch.Tensor) else type(patches).__name__
        )
        raise ValueError(f"patches must be a tensor (N, 3, H, W), got {shape}")
    if not patches.is_floating_point():
        raise TypeError(f"patches must be float in [0, 1], got {patches.dtype}")
    if len(patches) == 0:
        raise ValueError("no patches to label")
    if min(patches.shape[-2:]) < 32:
        raise ValueError(f"patches must be at least 32x32 pixels, got {tuple(patches.shape[-2:])}")
    if not torch.isfinite(patches).all() or patches.min() < -1e-3 or patches.max() > 1 + 1e-3:
        raise ValueError("patches must be finite and in [0, 1]")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive int, got {batch!r}")
    dev = resolve_device(device)
    model.to(dev).eval()
    probs, embs = [], []
    for s in tqdm(
        range(0, len(patches), batch), desc="labelling patches", disable=not progress, leave=False
    ):
        x = patches[s : s + batch].to(dev, torch.float32).clamp(0, 1)
        e = model.embed(x)
        probs.append(torch.softmax(model.logits(e), dim=1).float().cpu())
        embs.append(e.float().cpu())
    prob = torch.cat(probs).numpy()
    return {
        "label_idx": prob.argmax(1).astype(np.int64),
        "prob": prob,
        "embedding": torch.cat(embs).numpy(),
        "classes": list(model.classes),
    }


def label_images(
    model: DeepTEN,
    images: Sequence[torch.Tensor],
    coords: np.ndarray | torch.Tensor,
    size: int = 128,
    scale: int = 1,
    batch: int = 64,
    device: str | torch.device | None = None,
    progress: bool = True,
    classes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """:func:`label_patches` on patches cut at ``coords``, one image at a time.

    Memory holds one image's patches, not all N (50 patches x 800 DIV2K images of 128 px
    would be 7.9 GB as float). ``images`` may be any sequence, also a lazy one that
    computes image i on access (e.g. an SR output); each image is read once. ``coords``
    and ``scale`` as in :func:`crop_patches`. Returns the same dict as
    :func:`label_patches`, rows in the order of ``coords``.
    """
    from ..data.patches import crop_at

    c = torch.as_tensor(np.asarray(coords), dtype=torch.long)
    if c.ndim != 2 or c.shape[1] != 3 or len(c) == 0:
        raise ValueError(f"coords must be (N, 3) as (image, y, x), N >= 1, got {tuple(c.shape)}")
    if c[:, 0].max() >= len(images) or c[:, 0].min() < 0:
        raise ValueError(f"coords refer to image {int(c[:, 0].max())} but only {len(images)} given")
    label = np.empty(len(c), dtype=np.int64)
    prob = emb = None
    for i in tqdm(
        torch.unique(c[:, 0]).tolist(), desc="labelling images", disable=not progress, leave=False
    ):
        rows = torch.nonzero(c[:, 0] == i).flatten()
        patches = crop_at(images[i], c[rows, 1:], size, scale=scale)
        out = label_patches(model, patches, batch, device, progress=False, classes=classes)
        if prob is None:
            prob = np.empty((len(c), out["prob"].shape[1]), dtype=np.float32)
            emb = np.empty((len(c), out["embedding"].shape[1]), dtype=np.float32)
        r = rows.numpy()
        label[r], prob[r], emb[r] = out["label_idx"], out["prob"], out["embedding"]
    return {"label_idx": label, "prob": prob, "embedding": emb, "classes": list(model.classes)}


# --------------------------------------------------------------------------- presets
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
        from ..data.procedural import LABELS_EMBEDDED

        labels = LABELS_EMBEDDED if spec["labels"] == "all" else tuple(spec["labels"])
        train = TextureData.procedural(labels, spec["n_train"], spec["size"], seed, "train")
        test = TextureData.procedural(labels, spec["n_test"], spec["size"], seed, "test")
        return train, test
    if spec["source"] == "dtd10":
        if root is None:
            # The manifest's fetcher (verified copies, offline mirror aware).
            from ..data import dtd10

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
