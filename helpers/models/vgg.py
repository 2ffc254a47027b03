"""VGG-19's convolutional trunk with named layers (``conv3_4``, ``relu5_2``, ``pool2``...).

The loss network of Gatys-style texture losses (:mod:`helpers.texture_loss`) and a trunk
for the texture classifier (:mod:`helpers.texture.deepten`, backbone ``"vgg19_bn"``).
Layer order is torchvision's ``vgg19().features`` (conv, ReLU per conv; max-pool per
block), so with ``bn=False`` and ``width=64`` torchvision's ImageNet weights load by
position (:meth:`VGG19Features.load_torchvision`). ``width`` scales every block's channels
(64, 128, 256, 512, 512 at 64) for CPU presets; ``bn`` adds batch norm after each conv
(torchvision's ``vgg19_bn`` order). ReLUs are not in place, so a tapped conv output is not
overwritten by the activation after it.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

#: (block, convolutions) of VGG-19.
VGG19_BLOCKS: tuple[tuple[int, int], ...] = ((1, 2), (2, 2), (3, 4), (4, 4), (5, 4))


def vgg19_layer_names(bn: bool = False, blocks: int = 5) -> list[str]:
    """The layer names of :class:`VGG19Features` in forward order."""
    names = []
    for b, n in VGG19_BLOCKS[:blocks]:
        for i in range(1, n + 1):
            names += [f"conv{b}_{i}", *([f"bn{b}_{i}"] if bn else []), f"relu{b}_{i}"]
        names.append(f"pool{b}")
    return names


class VGG19Features(nn.Module):
    """VGG-19's feature trunk: images (N, 3, H, W), already normalised as the caller's
    weights expect, -> the last block's pooled map (N, C, H / 2^blocks, W / 2^blocks).

    Args:
        width: channels of block 1 (block b has ``width * 2^(b-1)``, at most ``8 width``).
        bn: batch norm after every convolution.
        blocks: convolution blocks kept (1-5).
    """

    def __init__(self, width: int = 64, bn: bool = False, blocks: int = 5) -> None:
        super().__init__()
        if not 1 <= blocks <= 5:
            raise ValueError(f"VGG-19 has 5 blocks; blocks must be 1-5, got {blocks!r}")
        if isinstance(width, bool) or not isinstance(width, int) or width < 1:
            raise ValueError(f"width must be a positive int, got {width!r}")
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        c_in = 3
        for b, n in VGG19_BLOCKS[:blocks]:
            c = width * min(2 ** (b - 1), 8)
            for i in range(1, n + 1):
                layers[f"conv{b}_{i}"] = nn.Conv2d(c_in, c, 3, padding=1)
                if bn:
                    layers[f"bn{b}_{i}"] = nn.BatchNorm2d(c)
                layers[f"relu{b}_{i}"] = nn.ReLU()
                c_in = c
            layers[f"pool{b}"] = nn.MaxPool2d(2)
        self.features = nn.Sequential(layers)
        self.width, self.bn, self.blocks, self.out_channels = width, bool(bn), blocks, c_in

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)

    def load_torchvision(self, state: dict[str, torch.Tensor]) -> None:
        """Load torchvision's ``vgg19`` state dict (``features.<index>.weight``...): the
        module at each index here is torchvision's (``bn=False``, ``width=64`` only)."""
        if self.bn or self.width != 64:
            raise ValueError("torchvision's VGG-19 weights need bn=False and width=64")
        names = list(self.features._modules)
        own = {}
        for key, value in state.items():
            part = key.split(".")
            if part[0] == "features" and int(part[1]) < len(names):
                own[f"features.{names[int(part[1])]}.{part[2]}"] = value
        self.load_state_dict(own, strict=True)
