"""How a network runs under LAM: frozen, channels-last, and the float32/bfloat16 modes.

Engineering (why it is fast and exact): parameters are frozen for the call (no weight
gradients), the model runs in eval mode and channels-last (:func:`_prepared`), and
``batch`` path points (:func:`default_batch`) go through one forward and one backward.

Modes (attribution error = relative L2 distance to the exact map; <= 1% by design):

- ``"exact"``: float32 throughout; agrees with the reference loop to float rounding.
- ``"bf16"``: the network *body* in bfloat16 autocast, the *output layers* and the
  detector in float32 (measured error 0.4-0.8% on EDSRs). "Output layers", found
  generically by one traced forward (:func:`_output_layers`): every module whose output
  has the SR resolution (the largest spatial size any module outputs) and that has
  parameters of its own or no children (EDSR's last pixel shuffle, last conv and mean
  shift; FSRCNN's transposed conv; SRResNet's HR convs). Element-wise ops after them see
  float32 and stay float32. Without this, bfloat16's 8-bit mantissa quantises SR
  intensities to ~4e-3 and the detector's pixel differences to noise (errors up to 20%),
  so whole-network bf16 is not offered.
- ``"fast"``: float32, with fewer, better-placed path nodes (the ``"arclength"`` rule at
  ``FAST_STEPS`` nodes, :mod:`.maps`) and negligible nodes skipped (:mod:`.path`). It does
  not use bf16: the bf16 body's error depends on the network (0.4-0.8% on EDSRs, but it
  doubled the map error of released IMDN and PAN against the converged integral in
  ``benchmarks/lam_speed.json``), and the node count is chosen in float32 to keep the
  fast map closer to the integral than the paper's 50-step map. Where the device computes
  bf16 natively (:func:`native_bf16`: CUDA with bf16; CPUs with AVX512-BF16 or AMX),
  ``mode="bf16"`` with ``rule="arclength"`` combines both; on other devices, e.g. an
  AVX2-only CPU where oneDNN emulates bf16 10-30x *slower* than float32, ``"bf16"`` warns.

May import: the base modules only (torch).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Literal

import torch
from torch import nn

ModeName = Literal["exact", "fast", "bf16"]

MODES = ("exact", "fast", "bf16")


def native_bf16(device: torch.device) -> bool:
    """Whether ``device`` computes bfloat16 convolutions natively (not emulated)."""
    if device.type == "cuda":
        return bool(torch.cuda.is_bf16_supported())
    if device.type == "cpu":
        try:
            return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
        except AttributeError:  # older torch: assume emulation (the safe, fast choice)
            return False
    return False


@contextmanager
def _prepared(model: nn.Module, device: torch.device) -> Iterator[None]:
    """Eval mode, frozen float parameters in channels-last on ``device``; restored after
    (the device move is not undone). Freezing skips every weight gradient; channels-last
    lets oneDNN/cuDNN use their fastest convolution layouts (2-5x on CPU)."""
    model.to(device)
    was_training = model.training
    params = list(model.parameters())
    flags = [p.requires_grad for p in params]
    formats = [
        p.dim() == 4
        and not p.is_contiguous()
        and p.is_contiguous(memory_format=torch.channels_last)
        for p in params
    ]
    try:
        model.eval()
        for p in params:
            p.requires_grad_(False)
            if p.dim() == 4:
                p.data = p.data.contiguous(memory_format=torch.channels_last)
        yield
    finally:
        for p, flag, was_cl in zip(params, flags, formats, strict=True):
            if p.dim() == 4 and not was_cl:
                p.data = p.data.contiguous()
            p.requires_grad_(flag)
        model.train(was_training)


def _output_layers(model: nn.Module, x: torch.Tensor) -> list[nn.Module]:
    """Modules that run at the SR resolution and own the computation there (they have
    parameters of their own or no children). Found by one float32 forward with hooks."""
    seen: list[tuple[nn.Module, int]] = []

    def hook(mod: nn.Module, _inp: Any, out: Any) -> None:
        if isinstance(out, torch.Tensor) and out.ndim == 4:
            seen.append((mod, out.shape[-2] * out.shape[-1]))

    handles = [m.register_forward_hook(hook) for m in model.modules() if m is not model]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    top = max((area for _, area in seen), default=0)
    chosen: list[nn.Module] = []
    for mod, area in seen:
        owns = any(True for _ in mod.parameters(recurse=False)) or not any(
            True for _ in mod.children()
        )
        if area == top and owns and all(mod is not c for c in chosen):
            chosen.append(mod)
    return chosen


@contextmanager
def _float32_islands(modules: list[nn.Module], device_type: str) -> Iterator[None]:
    """Run ``modules`` in float32 with autocast off (inputs cast up), inside an outer
    bfloat16 autocast. Implemented by shadowing each instance's ``forward``; restored
    after."""
    saved: list[tuple[nn.Module, Any]] = []

    def make(orig: Callable[..., Any]) -> Callable[..., Any]:
        def forward(*args: Any, **kwargs: Any) -> Any:
            args = tuple(
                a.float() if isinstance(a, torch.Tensor) and a.is_floating_point() else a
                for a in args
            )
            with torch.autocast(device_type, enabled=False):
                return orig(*args, **kwargs)

        return forward

    try:
        for m in modules:
            saved.append((m, m.__dict__.get("forward")))
            m.forward = make(m.forward)
        yield
    finally:
        for m, prev in saved:
            if prev is None:
                del m.forward
            else:
                m.forward = prev


#: Bytes autograd may keep for one CPU batch's backward: beyond it a larger batch only
#: spills the caches. Measured (one thread, 64^2 LR, s/map per path point at batch 1-16):
#: CARN-M (146 MiB per point) is 1.4x slower at 8-16 than at 2, GRL-tiny (1.8 GiB) 1.4x
#: slower at 4 than at 1, while EDSR-8x32 on a 52^2 crop (16 MiB) gains 5x from 1 to 16.
CPU_BATCH_BYTES = 512 * 2**20


class _Saved:
    total = 0


@contextmanager
def saved_bytes() -> Iterator[_Saved]:
    """Count the bytes autograd saves for the backward of what runs inside (``.total``)."""
    saved = _Saved()

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved.total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        yield saved


def default_batch(device: torch.device, saved: float | None = None) -> int:
    """Path points per forward/backward, from ``saved``: the bytes autograd keeps for the
    backward of one path point (:func:`saved_bytes`, measured on the first node).

    On accelerators 16 (fills the device). On a CPU the batch is the largest power of two
    in [1, 16] whose saved tensors fit :data:`CPU_BATCH_BYTES`: tiny models are dominated
    by per-call overhead and want many points per call, memory-hungry ones (attention,
    HR-resolution layers) run fastest one or two at a time (EDSR-16x64 on an 83^2 crop,
    124 MiB: 4; EDSR-8x32 on 52^2, 16 MiB: 16; GRL-tiny on 64^2, 1.8 GiB: 1). The saved
    bytes are a property of the model and the crop, so the choice (and the map's last
    bits) is the same on every run.
    """
    if device.type != "cpu" or not saved or saved <= 0:
        return 16
    return int(min(16, max(1, 2 ** math.floor(math.log2(max(CPU_BATCH_BYTES / saved, 1.0))))))


def _resolve_precision(mode: str, device: torch.device) -> str:
    """Body precision for ``mode``: ``"bf16"`` or ``"fp32"`` (``"bf16"`` warns where the
    device only emulates it)."""
    if mode != "bf16":
        return "fp32"
    if not native_bf16(device):
        warnings.warn(
            f"mode='bf16': this {device.type} has no native bfloat16 (emulated bf16 is "
            "10-30x slower than float32); the map is computed, slowly",
            RuntimeWarning,
            stacklevel=3,
        )
    return "bf16"
