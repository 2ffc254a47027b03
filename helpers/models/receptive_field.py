"""Receptive fields of SR networks: from the architecture, and measured by input gradients.

Both are in LR pixels and give the *full width* of the square LR region that one SR output
pixel depends on. Convention for "one output pixel": the SR pixels of one LR pixel's
``scale x scale`` block differ in how far they reach (a transposed convolution or an HR
convolution straddles LR pixels differently at each sub-pixel phase), so both functions
return the maximum over the ``scale**2`` phases. ``None`` means *global*: the output
depends on every input pixel (global pooling, channel attention, non-local attention).

- :func:`analytic_receptive_field` walks a list of spatial operations backwards (kernel
  sizes, dilations, up-sampling, transposed convolutions); each architecture in
  :mod:`helpers.models` declares that list, so the number is computed, not typed in.
- :func:`empirical_receptive_field` back-propagates from the central output pixels of a
  random input and measures the bounding box of the non-zero input gradient; tests check
  that both agree.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..runtime import resolve_device


@dataclass(frozen=True)
class ConvOp:
    """A stride-1 convolution with 'same' padding: odd ``kernel``, ``dilation`` >= 1."""

    kernel: int
    dilation: int = 1


@dataclass(frozen=True)
class UpOp:
    """Up-sampling by an integer ``factor`` where HR pixel ``o`` reads LR pixel ``o // factor``
    (nearest-neighbour interpolation and pixel shuffle both behave so)."""

    factor: int


@dataclass(frozen=True)
class DeconvOp:
    """``nn.ConvTranspose2d(kernel, stride, padding)`` (output ``o`` reads inputs ``i`` with
    ``0 <= o + padding - i * stride <= kernel - 1``)."""

    kernel: int
    stride: int
    padding: int


SpatialOp = ConvOp | UpOp | DeconvOp


def _phase_intervals(ops: Sequence[SpatialOp], scale: int) -> list[tuple[int, int]]:
    """Per output sub-pixel phase (per axis), the LR interval one output pixel depends on,
    as offsets (lo, hi) from that pixel's own LR position (its HR index // scale)."""
    total = 1
    for op in ops:
        if isinstance(op, ConvOp):
            if op.kernel < 1 or op.kernel % 2 == 0 or op.dilation < 1:
                raise ValueError(f"ConvOp needs an odd kernel and dilation >= 1, got {op}")
        elif isinstance(op, UpOp):
            total *= op.factor
        elif isinstance(op, DeconvOp):
            total *= op.stride
        else:
            raise TypeError(f"unknown spatial op {op!r}")
    if total != scale:
        raise ValueError(f"the ops up-sample by {total}, but scale is {scale}")
    # A centre far from 0 keeps every interval away from the image border.
    centre = 10_000
    out = []
    for phase in range(scale):
        lo = hi = centre * scale + phase
        for op in reversed(ops):
            if isinstance(op, ConvOp):
                reach = op.dilation * (op.kernel - 1) // 2
                lo, hi = lo - reach, hi + reach
            elif isinstance(op, UpOp):
                lo, hi = lo // op.factor, hi // op.factor
            else:
                lo = math.ceil((lo + op.padding - op.kernel + 1) / op.stride)
                hi = (hi + op.padding) // op.stride
        out.append((lo - centre, hi - centre))
    return out


def analytic_receptive_field(ops: Sequence[SpatialOp], scale: int) -> int:
    """Receptive field (LR px, full width) of a chain of spatial operations.

    Args:
        ops: the longest input-to-output path of the network, in forward order. Residual
            and dense skips reach less far than this path, so they do not widen it; 1x1
            convolutions and point-wise attention may be left out.
        scale: the SR factor; the product of all up-sampling factors must equal it.

    Returns:
        The maximum over the ``scale**2`` sub-pixel phases (per axis: ``scale`` phases) of
        the width of the LR interval one output pixel depends on.
    """
    return max(hi - lo + 1 for lo, hi in _phase_intervals(ops, scale))


def analytic_reach(ops: Sequence[SpatialOp], scale: int) -> int:
    """How far (LR px) beyond an LR box the outputs of that box's HR box can see: the
    largest offset, over phases and both sides, of an output pixel's LR interval from the
    pixel's own LR position. A crop with this margin around the box gives the box's
    outputs exactly (``ops`` as :func:`analytic_receptive_field`)."""
    return max(max(-lo, hi) for lo, hi in _phase_intervals(ops, scale))


def param_count(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters of ``model`` (all of them, or only those requiring grad)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _model_device(model: nn.Module) -> torch.device | None:
    t = next(itertools.chain(model.parameters(), model.buffers()), None)
    return None if t is None else t.device


def _support_widths(
    model: nn.Module, scale: int, size: int, device: torch.device, seed: int
) -> tuple[int, bool]:
    """Widest gradient support over the central block's phases, and whether any support
    touches the input border (then the model may reach further than ``size``)."""
    gen = torch.Generator().manual_seed(seed)
    lr = torch.rand(1, 3, size, size, generator=gen, dtype=torch.float32)
    # One copy of the input per sub-pixel phase: a single backward gives every phase.
    x = lr.repeat(scale * scale, 1, 1, 1).to(device).requires_grad_(True)
    out = model(x)
    expect = (scale * scale, 3, scale * size, scale * size)
    if tuple(out.shape) != expect:
        raise ValueError(
            f"model output has shape {tuple(out.shape)} for input {tuple(x.shape)}; "
            f"expected {expect} (scale x input)"
        )
    c = size // 2
    rows = torch.arange(scale, device=device).repeat_interleave(scale) + scale * c
    cols = torch.arange(scale, device=device).repeat(scale) + scale * c
    picked = out[torch.arange(scale * scale, device=device), :, rows, cols]
    (grad,) = torch.autograd.grad(picked.sum(), x)
    boxes = [_support_box(s) for s in grad.detach().abs().sum(dim=1) > 0]  # per phase
    return max(w for w, _ in boxes), any(t for _, t in boxes)


def _support_box(support: torch.Tensor) -> tuple[int, bool]:
    """The larger side of the bounding box of a (size, size) bool gradient support, and
    whether the box touches the input's border."""
    ys = torch.nonzero(support.any(dim=1)).flatten()
    xs = torch.nonzero(support.any(dim=0)).flatten()
    if ys.numel() == 0:
        raise ValueError("the central output pixels do not depend on the input at all")
    y0, y1, x0, x1 = (int(v) for v in (ys.min(), ys.max(), xs.min(), xs.max()))
    touches = min(y0, x0) == 0 or max(y1, x1) == support.shape[-1] - 1
    return max(y1 - y0 + 1, x1 - x0 + 1), touches


def empirical_receptive_field(
    model: nn.Module,
    scale: int,
    lr_size: int = 48,
    device: str | torch.device | None = None,
    max_lr_size: int = 160,
    seed: int = 0,
) -> int | None:
    """Measured receptive field: support of the input gradient of central output pixels.

    A random LR image (1, 3, ``lr_size``, ``lr_size``) in [0, 1] goes through ``model``
    (in eval mode; its mode is restored afterwards); the gradient of each of the
    ``scale**2`` SR pixels of the central LR pixel's block is taken with respect to the
    input, and the bounding box of its non-zero entries is measured. When a support
    touches the input border the model may reach further, so the input is doubled (up to
    ``max_lr_size``) and measured again.

    Args:
        model: maps (N, 3, h, w) in [0, 1] to (N, 3, scale*h, scale*w); raw or wrapped.
        scale: the SR factor.
        lr_size: first input side to try (LR pixels).
        device: where to run (default: the model's device, else :func:`resolve_device`).
        max_lr_size: largest input side tried before calling the field global.
        seed: seed of the random input (the result should not depend on it).

    Returns:
        The widest support over the phases (LR px, full width), or ``None`` when the
        support still reaches the border at ``max_lr_size`` (global, e.g. attention or
        pooling; or a finite field wider than ``max_lr_size``).
    """
    if not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive int, got {scale!r}")
    if lr_size < 3 or max_lr_size < lr_size:
        raise ValueError(f"need 3 <= lr_size <= max_lr_size, got {lr_size}, {max_lr_size}")
    dev = (
        torch.device(device)
        if device is not None
        else (_model_device(model) or resolve_device(None))
    )
    multiple = int(getattr(model, "pad_multiple", 1) or 1)
    was_training = model.training
    model.eval()
    try:
        size = lr_size
        while True:
            size = -(-size // multiple) * multiple  # no padding: it would mirror support
            widest, touches = _support_widths(model, scale, size, dev, seed)
            if not touches:
                return widest
            if size >= max_lr_size:
                return None
            size = min(2 * size, max_lr_size)
    finally:
        model.train(was_training)


def _global_probe(
    model: nn.Module, scale: int, size: int, device: str | torch.device | None
) -> int | None:
    """Support of the gradient of the central LR pixel's ``scale x scale`` SR block on one
    random (1, 3, size, size) input: ``None`` when it reaches the input's border (global),
    else its width (LR px). One forward and backward at batch 1, where
    :func:`helpers.models.empirical_receptive_field` runs ``scale**2`` copies at once
    (too much memory for big attention models on a CPU)."""
    dev = resolve_device(device)
    multiple = int(getattr(model, "pad_multiple", 1) or 1)
    size = -(-size // multiple) * multiple
    was_training = model.training
    model.eval()
    try:
        gen = torch.Generator().manual_seed(0)
        x = torch.rand(1, 3, size, size, generator=gen).to(dev).requires_grad_(True)
        out = model(x)
        c = scale * (size // 2)
        (grad,) = torch.autograd.grad(out[..., c : c + scale, c : c + scale].sum(), x)
    finally:
        model.train(was_training)
    width, touches = _support_box(grad.detach().abs().sum(dim=(0, 1)) > 0)
    return None if touches else width


def receptive_field_check(
    model: nn.Module, scale: int, device: str | torch.device | None = None
) -> dict[str, Any]:
    """The receptive field from the architecture, and the one input gradients show.

    ``analytic``: ``model.receptive_field`` (LR px, full width; ``None`` = global), which
    the registry computes from kernel sizes, dilations and up-sampling. ``empirical``:
    for a finite field, :func:`helpers.models.empirical_receptive_field` (widest support
    over the sub-pixel phases) on a random input wide enough that the field cannot reach
    its border (``analytic + 8`` px); for a global model, whether the gradient of the
    central output pixels reaches the border of a 32 px input (``None`` = it does: global;
    a model claimed global that shows a finite support is reported, not hidden).

    Returns:
        ``{"analytic", "empirical", "agree", "label"}``; ``label`` is ``"global"`` or
        ``"<rf>x<rf>"`` as in the paper's Table 1.
    """
    analytic = getattr(model, "receptive_field", None)
    if analytic is None:
        empirical = _global_probe(model, scale, 32, device)
    else:
        size = int(analytic) + 8
        empirical = empirical_receptive_field(
            model, scale, lr_size=size, max_lr_size=size, device=device
        )
    return {
        "analytic": analytic,
        "empirical": empirical,
        "agree": analytic == empirical,
        "label": "global" if analytic is None else f"{analytic}x{analytic}",
    }
