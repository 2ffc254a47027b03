"""Modules for released lightweight SR networks, with state-dict keys matching the files.

- :class:`PAN`: pixel-attention network (Zhao et al., ECCV-W 2020), files ``PANx{2,3,4}_DF2K.pth``.
- :class:`IMDN`: information multi-distillation network (Hui et al., ACM MM 2019), files
  ``IMDN_x{2,3,4}.pth`` (keys carry a ``module.`` prefix from DataParallel, stripped on load).
- :class:`CARNM`: CARN-M (Ahn et al., ECCV 2018), one multi-scale file ``carn_m.pth`` with
  x2/x3/x4 up-sampling branches; the branch is picked by ``scale``.

Written for this book from the papers and the shapes in the released files; the layer
names equal those of the authors' code so that ``load_state_dict(strict=True)`` accepts the
files unchanged. All map LR (N, 3, h, w) RGB in [0, 1] to SR (N, 3, s*h, s*w) on the same
scale: PAN and IMDN were trained on [0, 1] without mean shift; CARN-M subtracts the DIV2K
mean with a 1x1 "shifter" convolution whose (fixed) weights are in the file.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .arch import _SRBase, conv3
from .receptive_field import ConvOp, SpatialOp, UpOp

# ----------------------------------------------------------------------------------- PAN


class PixelAttention(nn.Module):
    """PA: a 1x1 conv and sigmoid give a per-pixel, per-channel gate on the input."""

    def __init__(self, nf: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(nf, nf, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(self.conv(x))


class PAConv(nn.Module):
    """Pixel-attention convolution: 3x3 conv gated by sigmoid(1x1 conv), then a 3x3 conv."""

    def __init__(self, nf: int) -> None:
        super().__init__()
        self.k2 = nn.Conv2d(nf, nf, 1)
        self.k3 = nn.Conv2d(nf, nf, 3, padding=1, bias=False)
        self.k4 = nn.Conv2d(nf, nf, 3, padding=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.k4(self.k3(x) * torch.sigmoid(self.k2(x)))


class SCPA(nn.Module):
    """Self-calibrated block with pixel attention: two half-width branches (plain 3x3, and
    PAConv) after 1x1 splits, joined by a 1x1 conv, plus the input. LeakyReLU(0.2)."""

    def __init__(self, nf: int) -> None:
        super().__init__()
        half = nf // 2
        self.conv1_a = nn.Conv2d(nf, half, 1, bias=False)
        self.conv1_b = nn.Conv2d(nf, half, 1, bias=False)
        self.k1 = nn.Sequential(nn.Conv2d(half, half, 3, padding=1, bias=False))
        self.PAConv = PAConv(half)
        self.conv3 = nn.Conv2d(nf, nf, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a = F.leaky_relu(self.k1(F.leaky_relu(self.conv1_a(x), 0.2)), 0.2)
        b = F.leaky_relu(self.PAConv(F.leaky_relu(self.conv1_b(x), 0.2)), 0.2)
        return x + self.conv3(torch.cat([a, b], dim=1))


class PAN(_SRBase):
    """PAN: 3x3 head, 16 SCPA blocks and a 3x3 conv with a long skip, then per x2 step (one
    x3 step) nearest up-sampling, 3x3 conv, pixel attention, 3x3 conv; a 3x3 output conv,
    plus the bilinearly up-sampled input. Input/output in [0, 1]."""

    def __init__(self, scale: int, nf: int = 40, unf: int = 24, nb: int = 16) -> None:
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"PAN supports scales 2, 3, 4, got {scale}")
        self.scale = scale
        self.conv_first = conv3(3, nf)
        self.SCPA_trunk = nn.Sequential(*[SCPA(nf) for _ in range(nb)])
        self.trunk_conv = conv3(nf, nf)
        self.upconv1 = conv3(nf, unf)
        self.att1 = PixelAttention(unf)
        self.HRconv1 = conv3(unf, unf)
        steps = [2, 2] if scale == 4 else [scale]
        if scale == 4:
            self.upconv2 = conv3(unf, unf)
            self.att2 = PixelAttention(unf)
            self.HRconv2 = conv3(unf, unf)
        self.conv_last = conv3(unf, 3)
        # Longest path: head, 2 3x3 per SCPA (the PAConv branch), trunk conv, then per
        # up-sampling step upconv and HRconv, then conv_last. The bilinear skip is inside.
        ops: list[SpatialOp] = [ConvOp(3), *[ConvOp(3)] * (2 * nb), ConvOp(3)]
        for r in steps:
            ops += [UpOp(r), ConvOp(3), ConvOp(3)]
        self._set_rf([*ops, ConvOp(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fea = self.conv_first(x)
        fea = fea + self.trunk_conv(self.SCPA_trunk(fea))
        stages = [(self.upconv1, self.att1, self.HRconv1)]
        if self.scale == 4:
            stages.append((self.upconv2, self.att2, self.HRconv2))
        step = 2 if self.scale == 4 else self.scale
        for upconv, att, hrconv in stages:
            fea = upconv(F.interpolate(fea, scale_factor=step, mode="nearest"))
            fea = F.leaky_relu(att(fea), 0.2)
            fea = F.leaky_relu(hrconv(fea), 0.2)
        out = self.conv_last(fea)
        return out + F.interpolate(x, scale_factor=self.scale, mode="bilinear", align_corners=False)


# ---------------------------------------------------------------------------------- IMDN


def _std_channels(x: torch.Tensor) -> torch.Tensor:
    """Per-channel standard deviation over H, W (population), shape (N, C, 1, 1)."""
    mean = x.mean(dim=(2, 3), keepdim=True)
    return (x - mean).pow(2).mean(dim=(2, 3), keepdim=True).pow(0.5)


class ContrastChannelAttention(nn.Module):
    """IMDN's contrast-aware channel attention: (std + mean) over the whole image, 1x1
    squeeze (reduction 16)/excite, sigmoid gate. Global receptive field."""

    def __init__(self, channels: int, reduction: int = 16) -> None:
        super().__init__()
        self.conv_du = nn.Sequential(
            nn.Conv2d(channels, channels // reduction, 1),
            nn.ReLU(True),
            nn.Conv2d(channels // reduction, channels, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = _std_channels(x) + x.mean(dim=(2, 3), keepdim=True)
        return x * self.conv_du(y)


class IMDModule(nn.Module):
    """Information multi-distillation block: three 3x3 convs each keep a quarter of their
    channels ("distilled") and pass the rest on; a fourth 3x3 conv, concatenation, CCA,
    1x1 fusion, plus the input. LeakyReLU(0.05)."""

    def __init__(self, channels: int, distillation_rate: float = 0.25) -> None:
        super().__init__()
        self.distilled = int(channels * distillation_rate)
        self.remaining = channels - self.distilled
        self.c1 = conv3(channels, channels)
        self.c2 = conv3(self.remaining, channels)
        self.c3 = conv3(self.remaining, channels)
        self.c4 = conv3(self.remaining, self.distilled)
        self.c5 = nn.Conv2d(channels, channels, 1)
        self.cca = ContrastChannelAttention(self.distilled * 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        split = (self.distilled, self.remaining)
        d1, r1 = torch.split(F.leaky_relu(self.c1(x), 0.05), split, dim=1)
        d2, r2 = torch.split(F.leaky_relu(self.c2(r1), 0.05), split, dim=1)
        d3, r3 = torch.split(F.leaky_relu(self.c3(r2), 0.05), split, dim=1)
        out = torch.cat([d1, d2, d3, self.c4(r3)], dim=1)
        return x + self.c5(self.cca(out))


class IMDN(_SRBase):
    """IMDN: 3x3 head, six IMD blocks whose outputs are concatenated and fused by a 1x1
    conv (LeakyReLU 0.05), a 3x3 conv with a long skip, and a 3x3 conv + pixel shuffle.
    Input/output in [0, 1]. Receptive field global (contrast channel attention)."""

    def __init__(self, scale: int, nf: int = 64, num_modules: int = 6) -> None:
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"IMDN supports scales 2, 3, 4, got {scale}")
        self.scale = scale
        self.num_modules = num_modules
        self.fea_conv = conv3(3, nf)
        for i in range(1, num_modules + 1):
            self.add_module(f"IMDB{i}", IMDModule(nf))
        self.c = nn.Sequential(nn.Conv2d(nf * num_modules, nf, 1), nn.LeakyReLU(0.05, True))
        self.LR_conv = conv3(nf, nf)
        self.upsampler = nn.Sequential(conv3(nf, 3 * scale * scale), nn.PixelShuffle(scale))
        self._set_rf(None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        fea = self.fea_conv(x)
        outs = []
        h = fea
        for i in range(1, self.num_modules + 1):
            h = getattr(self, f"IMDB{i}")(h)
            outs.append(h)
        h = self.LR_conv(self.c(torch.cat(outs, dim=1))) + fea
        return self.upsampler(h)


# -------------------------------------------------------------------------------- CARN-M


class _ConvReLU(nn.Module):
    """``body = [conv, ReLU]`` (CARN's BasicBlock; the key names need the ``body`` list)."""

    def __init__(self, c_in: int, c_out: int, kernel: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2), nn.ReLU(True)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class _EfficientResidual(nn.Module):
    """CARN-M's efficient residual block: grouped 3x3, ReLU, grouped 3x3, ReLU, 1x1, then
    ReLU(out + input)."""

    def __init__(self, nf: int, group: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(nf, nf, 3, padding=1, groups=group),
            nn.ReLU(True),
            nn.Conv2d(nf, nf, 3, padding=1, groups=group),
            nn.ReLU(True),
            nn.Conv2d(nf, nf, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.body(x) + x)


class _CascadingBlock(nn.Module):
    """CARN-M's cascading block: one *shared* efficient residual block ``b1`` applied three
    times, each output concatenated with all earlier ones and fused by a 1x1 conv+ReLU."""

    def __init__(self, nf: int, group: int) -> None:
        super().__init__()
        self.b1 = _EfficientResidual(nf, group)
        self.c1 = _ConvReLU(2 * nf, nf, 1)
        self.c2 = _ConvReLU(3 * nf, nf, 1)
        self.c3 = _ConvReLU(4 * nf, nf, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cat, out = x, x
        for fuse in (self.c1, self.c2, self.c3):
            cat = torch.cat([cat, self.b1(out)], dim=1)
            out = fuse(cat)
        return out


class _MeanShifter(nn.Module):
    """CARN's mean shift as a 1x1 conv named ``shifter`` (identity weight, +-mean bias);
    its values come from the file, so they are a (frozen) part of the state dict."""

    def __init__(self) -> None:
        super().__init__()
        self.shifter = nn.Conv2d(3, 3, 1)
        self.shifter.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shifter(x)


class _CARNUpsample(nn.Module):
    """Grouped 3x3 conv to r^2 n channels, ReLU, pixel shuffle by r; r = 2 twice for x4."""

    def __init__(self, nf: int, scale: int, group: int) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        for r in [2, 2] if scale == 4 else [scale]:
            layers += [
                nn.Conv2d(nf, r * r * nf, 3, padding=1, groups=group),
                nn.ReLU(True),
                nn.PixelShuffle(r),
            ]
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


class _MultiScaleUpsample(nn.Module):
    """The x2, x3 and x4 branches of the multi-scale CARN-M file (``up2``/``up3``/``up4``)."""

    def __init__(self, nf: int, group: int) -> None:
        super().__init__()
        self.up2 = _CARNUpsample(nf, 2, group)
        self.up3 = _CARNUpsample(nf, 3, group)
        self.up4 = _CARNUpsample(nf, 4, group)

    def forward(self, x: torch.Tensor, scale: int) -> torch.Tensor:
        return getattr(self, f"up{scale}")(x)


class CARNM(_SRBase):
    """CARN-M: mean shift, 3x3 entry conv, three cascading blocks with global cascading
    (1x1 fusions), the multi-scale up-sampler's branch for ``scale``, 3x3 exit conv, mean
    shift back. All three branches are kept so the multi-scale file loads strictly.
    Input/output in [0, 1]."""

    def __init__(self, scale: int, nf: int = 64, group: int = 4) -> None:
        super().__init__()
        if scale not in (2, 3, 4):
            raise ValueError(f"CARN-M supports scales 2, 3, 4, got {scale}")
        self.scale = scale
        self.sub_mean = _MeanShifter()
        self.add_mean = _MeanShifter()
        self.entry = nn.Conv2d(3, nf, 3, padding=1)
        self.b1 = _CascadingBlock(nf, group)
        self.b2 = _CascadingBlock(nf, group)
        self.b3 = _CascadingBlock(nf, group)
        self.c1 = _ConvReLU(2 * nf, nf, 1)
        self.c2 = _ConvReLU(3 * nf, nf, 1)
        self.c3 = _ConvReLU(4 * nf, nf, 1)
        self.upsample = _MultiScaleUpsample(nf, group)
        self.exit = nn.Conv2d(nf, 3, 3, padding=1)
        # entry; 3 cascading blocks x 3 uses of the residual block's two 3x3 convs;
        # up-sampling conv(s); exit conv.
        ops: list[SpatialOp] = [ConvOp(3), *[ConvOp(3)] * 18]
        for r in [2, 2] if scale == 4 else [scale]:
            ops += [ConvOp(3), UpOp(r)]
        self._set_rf([*ops, ConvOp(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.entry(self.sub_mean(x))
        cat, out = x, x
        for block, fuse in ((self.b1, self.c1), (self.b2, self.c2), (self.b3, self.c3)):
            cat = torch.cat([cat, block(out)], dim=1)
            out = fuse(cat)
        return self.add_mean(self.exit(self.upsample(out, self.scale)))
