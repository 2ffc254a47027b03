"""The loss network of the texture loss, from one of three sources, frozen.

- ``imagenet``: torchvision's VGG-19 ImageNet weights, read from the torch hub cache
  (never downloaded; a clear error names the file when it is absent). The paper's network.
- ``texture``: VGG-19's topology with batch norm at a reduced width, trained by the book
  as a texture classifier (DeepTEN head, :func:`helpers.texture.classifier.train_classifier`)
  on the preset's texture data (procedural textures at embedded, DTD-10 at benchmark).
- ``random``: the same topology with seeded random (Kaiming) filters and per-layer
  normalisation: the batch-norm statistics are estimated on probe texture images, so every
  channel has zero mean and unit variance before its ReLU (random-filter Gram losses
  synthesise textures: Ustyuzhaninov et al. 2016; He, Wang & Hopcroft 2016).

Every network takes images in [0, 1] and normalises them with ImageNet statistics (the
released TSRN code does not; the paper's VGG expects it). Layers are VGG's names
(:func:`helpers.models.vgg.vgg19_layer_names`).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import torch
import torchvision.models as tvm
from torch import nn

from ..data.textures import TextureData, preset_data
from ..models.taps import tap
from ..models.vgg import VGG19Features, vgg19_layer_names
from ..runtime import derive_seed, resolve_device
from ..texture.classifier import train_classifier

__all__ = [
    "PAPER_LAYERS",
    "SOURCES",
    "LossNetwork",
    "imagenet_vgg19_path",
    "loss_network",
    "texture_data",
]

#: The paper's layers (Sec. 5): conv2_2, conv3_4, conv4_4, conv5_2, taken after their ReLU
#: as the released code does (its indices 8, 17, 26 are relu2_2, relu3_4, relu4_4; its 35
#: is relu5_4, where the paper says conv5_2: we follow the paper).
PAPER_LAYERS: tuple[str, ...] = ("relu2_2", "relu3_4", "relu4_4", "relu5_2")
SOURCES: tuple[str, ...] = ("imagenet", "texture", "random")
_MEAN = (0.485, 0.456, 0.406)
_STD = (0.229, 0.224, 0.225)


class LossNetwork(nn.Module):
    """A frozen VGG-19 trunk: ``features(x, layers)`` -> ``{layer: (N, C, h, w)}`` for
    images ``x`` (N, 3, H, W) in [0, 1]. Parameters never require gradients and the
    network stays in eval mode (``train()`` is a no-op), so a loss on its features trains
    only the network that made ``x``. ``source`` and ``seed`` say where it came from."""

    def __init__(self, trunk: VGG19Features, source: str, seed: int | None) -> None:
        super().__init__()
        self.trunk = trunk.eval()
        self.source, self.seed = source, seed
        self.register_buffer("mean", torch.tensor(_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_STD).view(1, 3, 1, 1), persistent=False)
        for p in self.parameters():
            p.requires_grad_(False)

    def train(self, mode: bool = True) -> LossNetwork:  # noqa: ARG002 - frozen by design
        return super().train(False)

    @property
    def layers(self) -> list[str]:
        return vgg19_layer_names(self.trunk.bn, self.trunk.blocks)

    def check(self, layers: tuple[str, ...] | list[str]) -> list[str]:
        """``layers`` as a list; ``ValueError`` listing the valid names for an unknown one."""
        bad = [n for n in layers if n not in self.layers]
        if bad or not layers:
            raise ValueError(
                f"unknown loss-network layer(s) {bad or '(none given)'}; valid: {self.layers}"
            )
        return list(layers)

    def features(self, x: torch.Tensor, layers: tuple[str, ...] | list[str]) -> dict[str, Any]:
        layers = self.check(layers)
        z = (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
        return tap(self.trunk.features, z, layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.trunk((x - self.mean.to(x.dtype)) / self.std.to(x.dtype))


@functools.lru_cache(maxsize=4)
def texture_data(preset: str, seed: int = 0) -> tuple[TextureData, TextureData]:
    """The preset's texture (train, test) data (:func:`helpers.data.textures.preset_data`),
    built once per process (procedural generation takes seconds per class)."""
    return preset_data(preset, seed=seed)


def imagenet_vgg19_path() -> Path:
    """Where torchvision keeps its VGG-19 ImageNet file (it may not exist)."""
    name = Path(tvm.VGG19_Weights.IMAGENET1K_V1.url).name
    return Path(torch.hub.get_dir()) / "checkpoints" / name


def _imagenet() -> VGG19Features:
    path = imagenet_vgg19_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"loss network 'imagenet' needs torchvision's VGG-19 weights at {path}; this "
            'book never downloads. On a machine with internet run `python -c "import '
            "torchvision; torchvision.models.vgg19(weights='IMAGENET1K_V1')\"` and copy "
            f"{path.name} to {path.parent}, or choose loss_network='texture' or 'random'"
        )
    trunk = VGG19Features(64, bn=False, blocks=5)
    trunk.load_torchvision(torch.load(path, map_location="cpu", weights_only=True))
    return trunk


def _probe_images(data: TextureData, n: int, size: int, seed: int) -> torch.Tensor:
    """``n`` random ``size`` px crops of the texture images, float (n, 3, size, size)."""
    gen = torch.Generator().manual_seed(derive_seed(seed, "probe"))
    out = []
    for i in torch.randint(len(data), (n,), generator=gen).tolist():
        img = data[i][0]
        h, w = img.shape[-2:]
        s = min(size, h, w)
        y = int(torch.randint(h - s + 1, (1,), generator=gen))
        x = int(torch.randint(w - s + 1, (1,), generator=gen))
        crop = img[:, y : y + s, x : x + s].float() / 255.0
        out.append(nn.functional.interpolate(crop[None], size=size, mode="bilinear")[0])
    return torch.stack(out)


def _random(width: int, seed: int, probe: torch.Tensor) -> VGG19Features:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(derive_seed(seed, "random_vgg"))
        trunk = VGG19Features(width, bn=True, blocks=5)
        for m in trunk.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
    # Per-layer normalisation: batch norm with statistics of the probe set (cumulative
    # average over the probe batches), identity affine.
    for m in trunk.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None
    trunk.train()
    mean = torch.tensor(_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        for batch in probe.split(16):
            trunk((batch - mean) / std)
    return trunk.eval()


def loss_network(
    source: str,
    preset: str,
    config: dict[str, Any],
    seed: int = 0,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> LossNetwork:
    """The frozen loss network of ``source`` (:data:`SOURCES`) for a preset.

    ``config``: the preset's ``texture_loss.lossnet`` entry: ``width`` (block-1 channels
    of the texture/random trunk) and ``classifier`` (the texture classifier's training
    config, backbone ``vgg19_bn``). ``seed`` picks the texture classifier's training run
    or the random filters, so two seeds give two independent networks (one to train with,
    one to judge with). Raises ``ValueError`` for an unknown source and
    ``FileNotFoundError`` for ``imagenet`` without its weights file.
    """
    if source not in SOURCES:
        raise ValueError(f"unknown loss-network source {source!r}; valid: {list(SOURCES)}")
    dev = resolve_device(device)
    if source == "imagenet":
        return LossNetwork(_imagenet(), source, None).to(dev)
    train, _ = texture_data(preset, seed)
    if source == "random":
        probe = _probe_images(train, config.get("probe", 64), config.get("probe_size", 64), seed)
        return LossNetwork(_random(config["width"], seed, probe), source, seed).to(dev)
    clf = {**config["classifier"], "backbone": "vgg19_bn", "stages": 5, "width": config["width"]}
    model, _ = train_classifier(train, train.classes, clf, device=dev, seed=seed, progress=progress)
    return LossNetwork(model.trunk, source, seed).to(dev)
