"""DeepTEN, the texture classifier of Magid et al. (CVPR 2022, §3.1-3.2): its config and
its layers.

DeepTEN (Zhang et al., CVPR 2017): a ResNet backbone, a 1x1 reduction with BN and ReLU, a
*residual encoding layer* (K learnable codewords c_k with learnable smoothing factors s_k;
every feature r_i is softly assigned to the codewords, a_ik = softmax_k(-s_k ||x_i -
c_k||^2), and the residuals are aggregated orderlessly, E_k = sum_i a_ik (x_i - c_k)), L2
normalisation and a linear classifier. The flattened, normalised encoding (K x D values,
32 x 128 = 4096 in the paper) is the *texture embedding* used for UMAP and k-means.

- :data:`DEFAULT_CONFIG` / :func:`merge_config`: every key a classifier config may hold
  (model, data pipeline, optimisation), presets overlaid (``texture_classifier`` in
  :data:`helpers.presets.TABLE`).
- :class:`Encoding` (and :func:`encoding_naive`, its loop reference), :class:`DeepTEN`
  (images (B, 3, H, W) in [0, 1] -> logits; ``embed`` -> unit-norm embeddings).
- :func:`build_classifier` (ImageNet trunk weights only when cached, never downloaded),
  :func:`imagenet_weights_path`, :func:`check_classes`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
import torchvision.models as tvm
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck

from .. import presets
from ..models.vgg import VGG19Features

__all__ = [
    "DEFAULT_CONFIG",
    "DeepTEN",
    "Encoding",
    "build_classifier",
    "check_classes",
    "encoding_naive",
    "imagenet_weights_path",
    "merge_config",
]

# --------------------------------------------------------------------------- config
#: Every key a classifier config may hold, with its default (the paper's settings where
#: it gives them: SGD, lr 0.01 divided by 10 every quarter of training, momentum 0.9,
#: weight decay 1e-6, batch 64, 224 px crops, RandAugment N=1 M=1, flips).
DEFAULT_CONFIG: dict[str, Any] = {
    # model
    # resnet18 | resnet34 | resnet50 (the paper: resnet50) | vgg19_bn (VGG-19's conv trunk
    # with batch norm, never ImageNet-initialised: the texture-loss chapter's loss network)
    "backbone": "resnet18",
    "stages": 4,  # stages kept (ResNet 1-4, VGG 1-5); fewer = cheaper, smaller field
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


def merge_config(config: dict[str, Any] | str | None) -> dict[str, Any]:
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
    if cfg["backbone"] not in (*_BACKBONES, "vgg19_bn"):
        raise ValueError(
            f"backbone must be one of {[*_BACKBONES, 'vgg19_bn']}, got {cfg['backbone']!r}"
        )
    top = 5 if cfg["backbone"] == "vgg19_bn" else 4
    if cfg["stages"] not in range(1, top + 1):
        raise ValueError(f"stages must be 1-{top} for {cfg['backbone']}, got {cfg['stages']!r}")
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
    if backbone not in _WEIGHT_ENUMS:  # vgg19_bn: layer names of its own, trained here
        return None
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
        cfg = merge_config(config)
        self.classes: tuple[str, ...] = tuple(classes)
        self.config = cfg
        if cfg["backbone"] == "vgg19_bn":
            self.trunk: nn.Module = VGG19Features(cfg["width"], bn=True, blocks=cfg["stages"])
        else:
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
    cfg = merge_config(config)
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
                    else "torchvision's VGG-19-BN layout is not this trunk's"
                    if cfg["backbone"] == "vgg19_bn"
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


def check_classes(expected: Sequence[str], got: Sequence[str], what: str) -> None:
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
