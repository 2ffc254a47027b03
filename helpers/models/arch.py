"""Trainable SR architectures: FSRCNN, EDSR, RCAN, SRResNet, an NLSN-style non-local EDSR,
and the bicubic baseline.

Every module maps LR (N, 3, h, w) RGB in [0, 1] to SR (N, 3, scale*h, scale*w) meant to lie
in [0, 1] (not clamped, so training and attribution see true gradients; metrics clamp and
quantize). Range and mean conventions of the originals live inside each module: EDSR,
RCAN and the non-local net subtract the DIV2K mean as their papers do; FSRCNN and SRResNet
take [0, 1] directly. Each module carries ``scale`` (int), ``receptive_field`` (LR px, full
width, computed from its layers by :func:`analytic_receptive_field`; ``None`` = global)
and ``pad_multiple`` (1: any input size works).

Build them through :func:`helpers.models.build`, which validates names, scales and sizes.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..data import resize
from .receptive_field import (
    ConvOp,
    DeconvOp,
    SpatialOp,
    UpOp,
    analytic_reach,
    analytic_receptive_field,
)

#: DIV2K RGB mean on [0, 1], the mean EDSR/RCAN/NLSN subtract (rgb_range = 1).
DIV2K_MEAN = (0.4488, 0.4371, 0.4040)


def conv3(c_in: int, c_out: int) -> nn.Conv2d:
    """3x3 'same' convolution with bias."""
    return nn.Conv2d(c_in, c_out, 3, padding=1)


class MeanShift(nn.Module):
    """Subtract (``sign=-1``) or add (``sign=+1``) a fixed RGB mean; no parameters."""

    def __init__(self, mean: tuple[float, float, float] = DIV2K_MEAN, sign: int = -1) -> None:
        super().__init__()
        # Not persistent: the mean is a constant of the architecture, not a weight.
        self.register_buffer("shift", sign * torch.tensor(mean).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.shift.to(x.dtype)


def pixel_shuffle_upsampler(n_feats: int, scale: int) -> tuple[nn.Sequential, list[SpatialOp]]:
    """EDSR's up-sampler (conv 3x3 to ``r^2 n`` channels, pixel shuffle by ``r``; ``r`` = 2
    twice for x4, 3 once for x3) and its spatial ops for the receptive field."""
    layers: list[nn.Module] = []
    ops: list[SpatialOp] = []
    if scale & (scale - 1) == 0:  # power of two
        steps = [2] * int(math.log2(scale))
    elif scale == 3:
        steps = [3]
    else:
        raise ValueError(f"pixel-shuffle up-sampler supports 2^k and 3, got scale {scale}")
    for r in steps:
        layers += [conv3(n_feats, r * r * n_feats), nn.PixelShuffle(r)]
        ops += [ConvOp(3), UpOp(r)]
    return nn.Sequential(*layers), ops


class _SRBase(nn.Module):
    """Common attributes of every SR module of this package."""

    scale: int
    receptive_field: int | None
    receptive_reach: int | None = None
    pad_multiple: int = 1

    def _set_rf(self, ops: list[SpatialOp] | None) -> None:
        self.receptive_field = None if ops is None else analytic_receptive_field(ops, self.scale)
        # LR px an LR box's outputs see beyond the box (an exact crop margin)
        self.receptive_reach = None if ops is None else analytic_reach(ops, self.scale)


class _HeadBodyTail(_SRBase):
    """EDSR's layout, shared by EDSR, RCAN and NLSN: mean shift, 3x3 head, a body with a long
    skip (the body's last layer is a 3x3 conv), pixel-shuffle up-sampler and 3x3 tail.

    Module names follow the reference implementations (``head``, ``body``, ``tail``), so
    their state-dict keys match.
    """

    def _build(self, scale: int, n_feats: int, body: list[nn.Module]) -> list[SpatialOp]:
        """Set ``scale``, head, ``body`` (+ a final 3x3 conv) and tail; returns the
        up-sampler's spatial ops for the receptive field."""
        self.scale = scale
        self.sub_mean, self.add_mean = MeanShift(sign=-1), MeanShift(sign=+1)
        self.head = nn.Sequential(conv3(3, n_feats))
        self.body = nn.Sequential(*body, conv3(n_feats, n_feats))
        up, up_ops = pixel_shuffle_upsampler(n_feats, scale)
        self.tail = nn.Sequential(up, conv3(n_feats, 3))
        return up_ops

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.head(self.sub_mean(x))
        x = x + self.body(x)
        return self.add_mean(self.tail(x))


class FSRCNN(_SRBase):
    """FSRCNN (Dong et al., ECCV 2016) on RGB: feature extraction 5x5 (``d``), shrinking
    1x1 (``s``), ``m`` mapping 3x3 layers, expanding 1x1, and a 9x9 transposed convolution
    with stride ``scale``; PReLU after every layer but the last.

    Input (N, 3, h, w) in [0, 1]; output (N, 3, scale*h, scale*w).
    """

    def __init__(self, scale: int, d: int = 56, s: int = 12, m: int = 4) -> None:
        super().__init__()
        self.scale = scale
        layers: list[nn.Module] = [nn.Conv2d(3, d, 5, padding=2), nn.PReLU(d)]
        layers += [nn.Conv2d(d, s, 1), nn.PReLU(s)]
        for _ in range(m):
            layers += [nn.Conv2d(s, s, 3, padding=1), nn.PReLU(s)]
        layers += [nn.Conv2d(s, d, 1), nn.PReLU(d)]
        self.body = nn.Sequential(*layers)
        # output_padding makes the output exactly scale * input for every scale.
        self.deconv = nn.ConvTranspose2d(d, 3, 9, stride=scale, padding=4, output_padding=scale - 1)
        # The paper initialises the deconvolution with a small Gaussian (std 1e-3).
        nn.init.normal_(self.deconv.weight, std=1e-3)
        nn.init.zeros_(self.deconv.bias)
        self._set_rf([ConvOp(5), *[ConvOp(3)] * m, DeconvOp(9, scale, 4)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.deconv(self.body(x))


class ResBlock(nn.Module):
    """EDSR residual block: conv-ReLU-conv, scaled by ``res_scale``, plus the input.

    ``bn``: batch norm after each conv (SRResNet's original block, which EDSR removed; a
    regulariser ablation of the attribution-prior chapter). Without it the state-dict keys
    are EDSR's (``body.0``, ``body.2``).
    """

    def __init__(self, n_feats: int, res_scale: float = 1.0, bn: bool = False) -> None:
        super().__init__()
        if bn:
            layers = [conv3(n_feats, n_feats), nn.BatchNorm2d(n_feats), nn.ReLU(True)]
            layers += [conv3(n_feats, n_feats), nn.BatchNorm2d(n_feats)]
        else:
            layers = [conv3(n_feats, n_feats), nn.ReLU(True), conv3(n_feats, n_feats)]
        self.body = nn.Sequential(*layers)
        self.res_scale = res_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.res_scale * self.body(x)


class EDSR(_HeadBodyTail):
    """EDSR (Lim et al., CVPRW 2017): mean shift, head 3x3, ``n_blocks`` residual blocks
    of width ``n_feats`` and a 3x3 conv with a long skip, pixel-shuffle up-sampler, 3x3 tail.
    ``bn`` puts batch norm back into the blocks (:class:`ResBlock`).

    Input (N, 3, h, w) in [0, 1]; output (N, 3, scale*h, scale*w). Module names follow the
    reference implementation (``head``, ``body``, ``tail``).
    """

    def __init__(
        self,
        scale: int,
        n_feats: int = 64,
        n_blocks: int = 16,
        res_scale: float = 1.0,
        bn: bool = False,
    ) -> None:
        super().__init__()
        body = [ResBlock(n_feats, res_scale, bool(bn)) for _ in range(n_blocks)]
        up_ops = self._build(scale, n_feats, body)
        self._set_rf([ConvOp(3), *[ConvOp(3)] * (2 * n_blocks + 1), *up_ops, ConvOp(3)])


class ChannelAttention(nn.Module):
    """RCAN's channel attention: global average pool, 1x1 squeeze/excite, sigmoid gate.
    The global pool makes every output depend on the whole input (global field)."""

    def __init__(self, n_feats: int, reduction: int) -> None:
        super().__init__()
        self.conv_du = nn.Sequential(
            nn.Conv2d(n_feats, n_feats // reduction, 1),
            nn.ReLU(True),
            nn.Conv2d(n_feats // reduction, n_feats, 1),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.conv_du(x.mean(dim=(2, 3), keepdim=True))


class RCAB(nn.Module):
    """Residual channel-attention block: conv-ReLU-conv-CA plus the input."""

    def __init__(self, n_feats: int, reduction: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            conv3(n_feats, n_feats),
            nn.ReLU(True),
            conv3(n_feats, n_feats),
            ChannelAttention(n_feats, reduction),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResidualGroup(nn.Module):
    """``n_blocks`` RCABs and a 3x3 conv with a group-level skip."""

    def __init__(self, n_feats: int, n_blocks: int, reduction: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *[RCAB(n_feats, reduction) for _ in range(n_blocks)], conv3(n_feats, n_feats)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class RCAN(_HeadBodyTail):
    """RCAN (Zhang et al., ECCV 2018): residual-in-residual groups of channel-attention
    blocks. Input (N, 3, h, w) in [0, 1]; output (N, 3, scale*h, scale*w). Receptive field
    global (channel attention pools over the whole image)."""

    def __init__(
        self,
        scale: int,
        n_groups: int = 10,
        n_blocks: int = 20,
        n_feats: int = 64,
        reduction: int = 16,
    ) -> None:
        super().__init__()
        if n_feats // reduction < 1:
            raise ValueError(
                f"rcan: n_feats // reduction must be >= 1, got {n_feats} // {reduction}"
            )
        self._build(
            scale, n_feats, [ResidualGroup(n_feats, n_blocks, reduction) for _ in range(n_groups)]
        )
        self._set_rf(None)


class SRResNet(_SRBase):
    """SRResNet as in BasicSR's ``MSRResNet`` (SRGAN's generator without batch norm), the
    variant the degradation-representation work (Liu et al.) analyses.

    conv 3x3 + LeakyReLU(0.1), ``n_blocks`` residual blocks (conv-ReLU-conv + input),
    pixel-shuffle up-sampling with LeakyReLU, conv 3x3 + LeakyReLU, conv 3x3. With
    ``global_residual`` the bilinearly up-sampled input is added to the output, so the
    network learns only the residual; without it the network must produce the whole
    image ("SRResNet-woGR"). Input (N, 3, h, w) in [0, 1]; output (N, 3, s*h, s*w).
    """

    def __init__(
        self, scale: int, n_feats: int = 64, n_blocks: int = 16, global_residual: bool = True
    ) -> None:
        super().__init__()
        self.scale = scale
        self.global_residual = bool(global_residual)
        self.conv_first = conv3(3, n_feats)
        self.body = nn.Sequential(*[ResBlock(n_feats) for _ in range(n_blocks)])
        ups: list[nn.Module] = []
        ops: list[SpatialOp] = [ConvOp(3), *[ConvOp(3)] * (2 * n_blocks)]
        for r in [2, 2] if scale == 4 else [scale]:
            ups += [conv3(n_feats, r * r * n_feats), nn.PixelShuffle(r), nn.LeakyReLU(0.1, True)]
            ops += [ConvOp(3), UpOp(r)]
        self.upsample = nn.Sequential(*ups)
        self.conv_hr = conv3(n_feats, n_feats)
        self.conv_last = conv3(n_feats, 3)
        self.lrelu = nn.LeakyReLU(0.1, True)
        # The bilinear skip reads 2 LR taps per axis, inside the conv path's field.
        self._set_rf([*ops, ConvOp(3), ConvOp(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = self.lrelu(self.conv_first(x))
        out = self.upsample(self.body(feat))
        out = self.conv_last(self.lrelu(self.conv_hr(out)))
        if self.global_residual:
            out = out + F.interpolate(
                x, scale_factor=self.scale, mode="bilinear", align_corners=False
            )
        return out


class NonLocalAttention(nn.Module):
    """Dense non-local attention (embedded Gaussian, Wang et al. 2018), as used in NLSN's
    ablations: 1x1 query/key/value embeddings (PReLU, ``n_feats // reduction`` channels),
    softmax over all positions, 1x1 projection back, plus the input.

    Cost is quadratic in the number of LR pixels: at 64x64 LR the attention matrix has
    4096^2 entries (64 MB in float32), at 128x128 LR 1 GB per block (and its gradient).
    On CUDA ``scaled_dot_product_attention`` runs a fused kernel; on CPU the plain
    matmul/softmax is used (measured 3-4x faster here than PyTorch's CPU flash kernel)
    while the score matrix stays under :attr:`dense_limit_bytes`; above it (a whole test
    image: 256x256 LR would need 17 GB) the fused kernel, whose memory is linear in HW.
    """

    #: Largest score matrix (bytes) the CPU path materialises before switching kernels.
    dense_limit_bytes: int = 512 * 2**20

    def __init__(self, n_feats: int, reduction: int = 4) -> None:
        super().__init__()
        inner = max(1, n_feats // reduction)
        self.query = nn.Sequential(nn.Conv2d(n_feats, inner, 1), nn.PReLU())
        self.key = nn.Sequential(nn.Conv2d(n_feats, inner, 1), nn.PReLU())
        self.value = nn.Sequential(nn.Conv2d(n_feats, inner, 1), nn.PReLU())
        self.proj = nn.Conv2d(inner, n_feats, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape

        def tokens(t: torch.Tensor) -> torch.Tensor:  # (N, C', H, W) -> (N, 1, HW, C')
            return t.flatten(2).transpose(1, 2).unsqueeze(1).contiguous()

        q, k, v = tokens(self.query(x)), tokens(self.key(x)), tokens(self.value(x))
        score_bytes = n * (h * w) ** 2 * x.element_size()
        if x.is_cuda or score_bytes > self.dense_limit_bytes:
            # Fused kernel: never holds the (HW)^2 score matrix, so whole images fit.
            out = F.scaled_dot_product_attention(q, k, v)
        else:  # the same softmax(q k^T / sqrt(d)) v, written out: faster on CPU
            scores = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5
            out = scores.softmax(dim=-1) @ v
        out = out.squeeze(1).transpose(1, 2).reshape(n, -1, h, w)
        return x + self.proj(out)


class NLSN(_HeadBodyTail):
    """NLSN-style non-local network (Mei et al., CVPR 2021): an EDSR body with a
    non-local attention block before every ``nl_every`` residual blocks.

    Simplification, stated: the attention is dense (every position attends to every
    other), not NLSN's locality-sensitive-hashing sparse attention; both give a global
    receptive field, which is what the attribution chapters compare. Input (N, 3, h, w) in
    [0, 1]; output (N, 3, scale*h, scale*w).
    """

    def __init__(
        self,
        scale: int,
        n_feats: int = 256,
        n_blocks: int = 32,
        res_scale: float = 0.1,
        nl_every: int = 8,
        reduction: int = 4,
    ) -> None:
        super().__init__()
        body: list[nn.Module] = []
        for i in range(n_blocks):
            if i % nl_every == 0:
                body.append(NonLocalAttention(n_feats, reduction))
            body.append(ResBlock(n_feats, res_scale))
        self._build(scale, n_feats, body)
        self._set_rf(None)


class Bicubic(_SRBase):
    """The bicubic baseline as a model: MATLAB-compatible ``imresize`` (no parameters), so
    it goes through the same evaluation path as the networks.

    Input (N, 3, h, w) in [0, 1]; output (N, 3, scale*h, scale*w) (may overshoot [0, 1]
    slightly, as MATLAB's does on doubles). Receptive field 4: the cubic kernel has four
    taps per axis when up-sampling.
    """

    def __init__(self, scale: int) -> None:
        super().__init__()
        self.scale = scale
        self.receptive_field = 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (torch.is_grad_enabled() and x.requires_grad):
            return resize.imresize(x, scale=self.scale)
        # imresize gathers into preallocated buffers (fast, not differentiable); for input
        # gradients (attribution) apply the same MATLAB weights as dense per-axis matrices.
        h, w = x.shape[-2:]
        a_h = self._matrix(resize, h, x)
        a_w = self._matrix(resize, w, x)
        return torch.einsum("oh,nchw,pw->ncop", a_h, x, a_w)

    def _matrix(self, resize, n: int, x: torch.Tensor) -> torch.Tensor:
        """(scale*n, n) matrix of MATLAB's bicubic weights (mirrored taps summed)."""
        weights, index = resize.contributions(n, self.scale * n, float(self.scale), True)
        wt = torch.tensor(weights, dtype=x.dtype, device=x.device)
        idx = torch.tensor(index, dtype=torch.long, device=x.device)
        mat = torch.zeros(self.scale * n, n, dtype=x.dtype, device=x.device)
        return mat.scatter_add_(1, idx, wt)


class TSRN(_SRBase):
    """TSRN's generator (Gondal et al. 2018; their released ``Model_4x``): conv 3x3 + ReLU,
    ``n_blocks`` residual blocks (conv-ReLU-conv + input, no scaling, no batch norm), then
    per factor 2 a conv 3x3 to 4n channels + ReLU + pixel shuffle, a conv 3x3 + ReLU and a
    conv 3x3 to RGB; the bicubically up-sampled input is added (MATLAB bicubic,
    :class:`Bicubic`), so the network learns the residual only, as the paper's Sec. 4.

    Input (N, 3, h, w) in [0, 1]; output (N, 3, scale*h, scale*w). The released model
    applies ReLU after the first up-sampling conv but not after the second; here every
    up-sampling conv is followed by ReLU (the paper does not specify). Scales 2 and 4
    (and 8) only: the up-sampler is pixel shuffle by 2.
    """

    def __init__(self, scale: int, n_feats: int = 64, n_blocks: int = 10) -> None:
        super().__init__()
        if scale & (scale - 1):
            raise ValueError(
                f"TSRN up-samples by 2 per stage: scale must be 2, 4 or 8, got {scale}"
            )
        self.scale = scale
        self.conv_in = conv3(3, n_feats)
        self.body = nn.Sequential(*[ResBlock(n_feats) for _ in range(n_blocks)])
        ups: list[nn.Module] = []
        ops: list[SpatialOp] = [ConvOp(3), *[ConvOp(3)] * (2 * n_blocks)]
        for _ in range(int(math.log2(scale))):
            ups += [conv3(n_feats, 4 * n_feats), nn.ReLU(True), nn.PixelShuffle(2)]
            ops += [ConvOp(3), UpOp(2)]
        self.upsample = nn.Sequential(*ups)
        self.conv_hr = conv3(n_feats, n_feats)
        self.conv_out = conv3(n_feats, 3)
        self.skip = Bicubic(scale)
        # The bicubic skip reads 4 LR taps per axis, inside the conv path's field.
        self._set_rf([*ops, ConvOp(3), ConvOp(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feat = F.relu(self.conv_in(x))
        out = self.upsample(self.body(feat))
        out = self.conv_out(F.relu(self.conv_hr(out)))
        return out + self.skip(x)
