"""One calling convention for every SR model: :class:`SRModel`.

The wrapper puts a model in eval mode on a device, moves inputs there, pads inputs to the
size the model needs (``pad_multiple``/``min_size``, reflect padding at the bottom/right)
and crops the output back to exactly ``scale x`` the input, and checks that the model
really returned that size. It exposes ``scale``, ``receptive_field``, ``pad_multiple``,
``name``, ``origin`` and ``train_steps`` for the chapters (the LAM crop, the
receptive-field tables), and :attr:`SRModel.digest`, the :func:`weights_digest` cache keys
use.
"""

from __future__ import annotations

import hashlib
import json

import torch
import torch.nn.functional as F
from torch import nn

from .. import cache
from ..runtime import resolve_device


class SRModel(nn.Module):
    """Evaluation wrapper: LR (N, 3, h, w) in [0, 1] -> SR (N, 3, scale*h, scale*w).

    Args:
        model: a module mapping (N, 3, H, W) to (N, 3, scale*H, scale*W) for admissible H, W.
        scale: SR factor (default: ``model.scale``).
        name: a label (default: ``model.name`` or the class name in lower case).
        receptive_field: LR px, full width, ``None`` = global (default:
            ``model.receptive_field``; ``None`` when the model does not say).
        pad_multiple: H and W are padded up to a multiple of this (default:
            ``model.pad_multiple`` or 1).
        min_size: H and W are padded up to at least this (default: ``model.min_size`` or 1).
        device: where the model runs (default: CUDA when available, else CPU).
        clamp: clamp the output to [0, 1]. Off by default: clamping zeroes gradients of
            saturated pixels, which attribution must not lose; metrics clamp and quantize.
        pad_mode: ``"reflect"`` (falls back to ``"replicate"`` where the pad is wider than
            the image) or ``"replicate"``.
        origin: where the network came from, for tables and reports: ``"zoo"``,
            ``"family"``, ``"released"``, ``"file"``, ``"callable"`` (see
            :func:`helpers.networks.resolve.resolve`) or ``None`` (not said).
        train_steps: optimiser steps the book trained it for; ``None`` for networks
            trained elsewhere (released weights, a user's file or module).

    Parameters are not frozen; call :meth:`frozen` for attribution (no weight gradients).
    """

    def __init__(
        self,
        model: nn.Module,
        scale: int | None = None,
        name: str | None = None,
        receptive_field: int | None | str = "auto",
        pad_multiple: int | None = None,
        min_size: int | None = None,
        device: str | torch.device | None = None,
        clamp: bool = False,
        pad_mode: str = "reflect",
        origin: str | None = None,
        train_steps: int | None = None,
    ) -> None:
        super().__init__()
        if not isinstance(model, nn.Module):
            raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
        scale = scale if scale is not None else getattr(model, "scale", None)
        if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
            raise ValueError(
                f"scale must be a positive int (give scale= or set model.scale), got {scale!r}"
            )
        if pad_mode not in ("reflect", "replicate"):
            raise ValueError(f"pad_mode must be 'reflect' or 'replicate', got {pad_mode!r}")
        if train_steps is not None and (
            isinstance(train_steps, bool) or not isinstance(train_steps, int) or train_steps < 0
        ):
            raise ValueError(f"train_steps must be a non-negative int or None, got {train_steps!r}")
        self.model = model
        self.scale = scale
        self.name = name or getattr(model, "name", None) or type(model).__name__.lower()
        self.receptive_field = (
            getattr(model, "receptive_field", None)
            if receptive_field == "auto"
            else receptive_field
        )
        self.pad_multiple = int(pad_multiple or getattr(model, "pad_multiple", 1) or 1)
        self.min_size = int(min_size or getattr(model, "min_size", 1) or 1)
        self.clamp = clamp
        self.pad_mode = pad_mode
        self.origin = origin
        self.train_steps = train_steps
        self._digest: str | None = None
        # Parameter-free models (bicubic) still need to know their device.
        self.register_buffer("_anchor", torch.empty(0), persistent=False)
        self.to(resolve_device(device))
        self.eval()

    @property
    def device(self) -> torch.device:
        """The device the model runs on."""
        return self._anchor.device

    @property
    def digest(self) -> str:
        """:func:`weights_digest` of the wrapped network (hex sha256, 64 chars), computed on
        first access and kept: the book's models are frozen in eval mode, so weights
        changed in place afterwards are not seen."""
        if self._digest is None:
            self._digest = weights_digest(self)
        return self._digest

    def frozen(self, frozen: bool = True) -> SRModel:
        """Stop (or with ``frozen=False`` restart) gradients to the weights; returns self."""
        self.model.requires_grad_(not frozen)
        return self

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        m = self.pad_multiple
        ph = max(-(-h // m) * m, -(-self.min_size // m) * m) - h
        pw = max(-(-w // m) * m, -(-self.min_size // m) * m) - w
        if ph == 0 and pw == 0:
            return x
        mode = self.pad_mode if (ph < h and pw < w) else "replicate"
        return F.pad(x, (0, pw, 0, ph), mode=mode)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """SR of ``x``: (N, 3, h, w) float in [0, 1] -> (N, 3, scale*h, scale*w) on
        :attr:`device` (not clamped unless ``clamp=True``)."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"input must be a torch.Tensor, got {type(x).__name__}")
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"input must have shape (N, 3, h, w), got {tuple(x.shape)}")
        if not x.is_floating_point():
            raise TypeError(f"input must be a float tensor in [0, 1], got {x.dtype}")
        h, w = x.shape[-2:]
        x = x.to(self.device)
        xp = self._pad(x)
        y = self.model(xp)
        s = self.scale
        expect = (x.shape[0], 3, s * xp.shape[-2], s * xp.shape[-1])
        if not isinstance(y, torch.Tensor) or tuple(y.shape) != expect:
            got = tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__
            raise RuntimeError(
                f"model {self.name!r} returned {got} for input {tuple(xp.shape)}; expected "
                f"{expect} (scale {s} x input). Is scale={s} right for this model?"
            )
        y = y[..., : s * h, : s * w]
        return y.clamp(0, 1) if self.clamp else y

    def extra_repr(self) -> str:
        return (
            f"name={self.name!r}, scale={self.scale}, receptive_field={self.receptive_field}, "
            f"pad_multiple={self.pad_multiple}, origin={self.origin!r}"
        )


def unwrap(model: nn.Module) -> nn.Module:
    """The bare network inside ``model``: ``.model`` of an :class:`SRModel`, recursively
    (an SRModel of an SRModel unwraps twice); any other module is returned as is."""
    while isinstance(model, SRModel):
        model = model.model
    return model


def weights_digest(model: nn.Module) -> str:
    """A stable hex sha256 (64 chars) of a network's weights, the same however it is wrapped.

    ``model`` is unwrapped first (:func:`unwrap`: a raw module, an :class:`SRModel` and an
    SRModel of an SRModel of the same network give the same digest). Hashed, in this
    order: the bare network's class (module and qualified name) and its ``config`` when
    it has one (the registry's build settings: two networks can share every tensor and
    still compute different things, e.g. SRResNet with and without ``global_residual``);
    the SR scale (the first ``scale`` attribute along the wrapping chain, outermost
    first; ``None`` when none says); then every ``state_dict()`` entry in sorted key
    order: its name, dtype, shape and raw bytes (on the CPU, so the device does not
    matter). Non-persistent buffers are not part of it. One weight changed by 1e-6
    changes the digest.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    scale = None
    m: nn.Module = model
    while True:
        if scale is None:
            scale = getattr(m, "scale", None)
        if not isinstance(m, SRModel):
            break
        m = m.model
    cls = type(m)
    head = {
        "class": f"{cls.__module__}.{cls.__qualname__}",
        "config": getattr(m, "config", None),
        "scale": scale,
    }
    h = hashlib.sha256(json.dumps(head, sort_keys=True, default=str).encode())
    sd = m.state_dict()
    for name in sorted(sd):
        h.update(f"\0{name}\0".encode())
        cache.update_tensor(h, sd[name])
    return h.hexdigest()


def wrap(model: nn.Module, device: str | torch.device | None = None, **kwargs) -> SRModel:
    """Wrap ``model`` as an :class:`SRModel` (eval mode, on ``device``). An ``SRModel`` is
    returned as is (moved to ``device`` when one is given)."""
    if isinstance(model, SRModel):
        if kwargs:
            raise ValueError(
                f"{model.name!r} is already wrapped; options {sorted(kwargs)} "
                "apply only when wrapping a raw model"
            )
        return model if device is None else model.to(resolve_device(device))
    return SRModel(model, device=device, **kwargs)
