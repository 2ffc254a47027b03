"""The model registry: trainable architectures by name, and loaders for released weights.

- :func:`build` ``(name, scale, **size)`` -> a freshly initialised trainable module
  (:func:`available` lists the names, :func:`size_params` their size knobs and defaults).
- :func:`load_released` ``(name, scale)`` -> a released network with its published weights,
  wrapped as :class:`~helpers.models.wrapper.SRModel` (eval mode, on a device).
- :func:`load_spandrel` ``(path)`` -> any file spandrel recognises (RCAN, SwinIR, ESRGAN,
  GRL, ...), under the same calling convention.

Every weight file is read by :func:`~helpers.models.weights.safe_load_state_dict`
(``torch.load(weights_only=True)``); nothing unpickles code.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data import fetch
from .arch import EDSR, FSRCNN, NLSN, RCAN, TSRN, Bicubic, SRResNet
from .released import CARNM, IMDN, PAN
from .weights import WeightFileError, safe_load_state_dict, strip_prefix
from .wrapper import SRModel


@dataclass(frozen=True)
class ArchSpec:
    """A registry entry: the class, the scales it supports and what it is."""

    cls: Callable[..., nn.Module]
    scales: tuple[int, ...]
    summary: str
    defaults: dict[str, Any] = field(default_factory=dict)


def _defaults(cls: type) -> dict[str, Any]:
    """Size keyword arguments of ``cls.__init__`` (all but ``scale``) with their defaults."""
    params = inspect.signature(cls.__init__).parameters
    return {k: p.default for k, p in params.items() if k not in ("self", "scale")}


_ARCHS: dict[str, ArchSpec] = {
    "bicubic": ArchSpec(Bicubic, (2, 3, 4), "MATLAB-compatible bicubic baseline (no weights)"),
    "fsrcnn": ArchSpec(FSRCNN, (2, 3, 4), "FSRCNN: width d, shrink s, m mapping layers"),
    "edsr": ArchSpec(EDSR, (2, 3, 4), "EDSR: n_blocks residual blocks x n_feats"),
    "rcan": ArchSpec(RCAN, (2, 3, 4), "RCAN: n_groups x n_blocks channel-attention blocks"),
    "srresnet": ArchSpec(
        SRResNet, (2, 3, 4), "SRResNet (BasicSR MSRResNet), global_residual on/off"
    ),
    "nlsn": ArchSpec(NLSN, (2, 3, 4), "NLSN-style EDSR with dense non-local attention"),
    "tsrn": ArchSpec(TSRN, (2, 4), "TSRN generator: residual blocks, pixel shuffle, bicubic skip"),
}
_ARCHS = {k: ArchSpec(v.cls, v.scales, v.summary, _defaults(v.cls)) for k, v in _ARCHS.items()}

#: Released networks: valid scales and the ``helpers.data`` manifest key per scale.
RELEASED: dict[str, dict[int, str]] = {
    "pan": {s: f"weights/pan_x{s}" for s in (2, 3, 4)},
    "imdn": {s: f"weights/imdn_x{s}" for s in (2, 3, 4)},
    "carn_m": {s: "weights/carn_m" for s in (2, 3, 4)},
    "grl_tiny": {4: "weights/grl_tiny_x4"},
}


def available() -> list[str]:
    """Names :func:`build` accepts (trainable architectures and ``"bicubic"``)."""
    return sorted(_ARCHS)


def available_released() -> dict[str, list[int]]:
    """Released networks :func:`load_released` accepts, with their scales."""
    return {name: sorted(scales) for name, scales in RELEASED.items()}


def _check_known(
    name: object,
    table: Mapping[str, Any],
    kind: str,
    valid: object,
    other: Mapping[str, Any],
    other_hint: str,
) -> None:
    """Raise ValueError for a ``name`` not in ``table``, pointing to the other table when
    the name is there (``build`` vs ``load_released``)."""
    if isinstance(name, str) and name.lower() in table:
        return
    hint = f" ({name!r} is {other_hint})" if isinstance(name, str) and name.lower() in other else ""
    raise ValueError(f"unknown {kind} {name!r}{hint}; valid: {valid}")


def _spec(name: str) -> ArchSpec:
    _check_known(
        name, _ARCHS, "architecture", available(), RELEASED, "a released network: use load_released"
    )
    return _ARCHS[name.lower()]


def size_params(name: str) -> dict[str, Any]:
    """The size keyword arguments of architecture ``name`` with their defaults."""
    return dict(_spec(name).defaults)


def _check_scale(scale: Any, valid: tuple[int, ...] | list[int], what: str) -> int:
    if isinstance(scale, bool) or not isinstance(scale, int) or scale not in valid:
        raise ValueError(f"scale {scale!r} is not supported by {what}; valid: {sorted(valid)}")
    return scale


def _check_size(name: str, defaults: dict[str, Any], size: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(size) - set(defaults))
    if unknown:
        raise ValueError(
            f"{name}: unknown size argument(s) {unknown}; valid: {sorted(defaults)} "
            f"(defaults {defaults})"
        )
    resolved = {**defaults, **size}
    for k, v in size.items():
        default = defaults[k]
        if isinstance(default, bool):
            if not isinstance(v, bool):
                raise ValueError(f"{name}: {k} must be True or False, got {v!r}")
        elif isinstance(default, int):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}: {k} must be a positive int, got {v!r}")
        elif isinstance(default, float):
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0:
                raise ValueError(f"{name}: {k} must be a positive number, got {v!r}")
            resolved[k] = float(v)
    return resolved


def build(name: str, scale: int, **size: Any) -> nn.Module:
    """A freshly initialised SR network (train mode, CPU) of architecture ``name``.

    Args:
        name: one of :func:`available` (case-insensitive): ``"fsrcnn"`` (``d``, ``s``,
            ``m``), ``"edsr"`` (``n_feats``, ``n_blocks``, ``res_scale``), ``"rcan"``
            (``n_groups``, ``n_blocks``, ``n_feats``, ``reduction``), ``"srresnet"``
            (``n_feats``, ``n_blocks``, ``global_residual``), ``"nlsn"`` (``n_feats``,
            ``n_blocks``, ``res_scale``, ``nl_every``, ``reduction``), ``"bicubic"``.
        scale: 2, 3 or 4.
        **size: size knobs; omitted ones take the paper's defaults (:func:`size_params`).

    Returns:
        A module mapping (N, 3, h, w) in [0, 1] to (N, 3, scale*h, scale*w), with
        attributes ``name``, ``scale``, ``receptive_field`` (LR px, full width; ``None`` =
        global), ``pad_multiple`` and ``config`` (name, scale and every size knob, e.g.
        for cache keys).

    Raises:
        ValueError: unknown name, scale or size argument, or an invalid size value; the
            message lists the valid ones.
    """
    spec = _spec(name)
    key = name.lower()
    scale = _check_scale(scale, spec.scales, f"{key!r}")
    resolved = _check_size(key, spec.defaults, size)
    model = spec.cls(scale, **resolved)
    model.name = key
    model.config = {"name": key, "scale": scale, **resolved}
    return model


# ----------------------------------------------------------------------- released weights


def _resolve_path(name: str, scale: int, path: str | Path | None) -> Path:
    if path is not None:
        return Path(path)
    key = RELEASED[name][scale]
    return Path(fetch(key))


def _load_strict(model: nn.Module, sd: dict[str, torch.Tensor], path: Path, what: str) -> None:
    """``load_state_dict(strict=True)`` with an error that says which keys disagree."""
    own = model.state_dict()
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    shapes = [k for k in own.keys() & sd.keys() if own[k].shape != sd[k].shape]
    if missing or unexpected or shapes:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[:3]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[:3]})")
        if shapes:
            k = sorted(shapes)[0]
            parts.append(
                f"{len(shapes)} with other shapes (e.g. {k}: file "
                f"{tuple(sd[k].shape)} vs model {tuple(own[k].shape)})"
            )
        raise WeightFileError(
            f"{path} does not fit {what}: keys "
            + "; ".join(parts)
            + ". Is it the right file for this network and scale?"
        )
    model.load_state_dict(sd, strict=True)


class SpandrelNet(nn.Module):
    """A spandrel model under this package's convention: (N, 3, h, w) in [0, 1] ->
    (N, 3, s*h, s*w), unclamped (spandrel's own call clamps in place, which attribution
    must avoid). Attributes from the descriptor: ``scale``, ``pad_multiple``,
    ``min_size``, ``architecture`` (spandrel's name, e.g. ``"ESRGAN"``) and ``purpose``
    (``"SR"``); ``receptive_field`` is ``None`` (unknown, treated as global)."""

    def __init__(self, descriptor: Any) -> None:
        super().__init__()
        self.net = descriptor.model
        # spandrel calls some architectures with extra arguments; use its call function
        # when it has one (a private attribute, hence the fallback).
        self._call_fn = getattr(descriptor, "_call_fn", None)
        self.scale = int(descriptor.scale)
        req = descriptor.size_requirements
        self.pad_multiple = int(req.multiple_of or 1)
        self.min_size = int(req.minimum or 1)
        self.receptive_field = None
        self.architecture = str(descriptor.architecture.name)
        self.purpose = str(descriptor.purpose)
        self.name = self.architecture.lower()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self._call_fn is not None:
            return self._call_fn(self.net, x)
        return self.net(x)


def _spandrel_module(sd: dict[str, torch.Tensor], path: Path) -> SpandrelNet:
    """The spandrel network ``sd`` holds, refused unless it is RGB -> RGB super-resolution
    (scale > 1, any input shape). Raises :class:`WeightFileError` naming ``path``."""
    # spandrel (and its ~40 architectures) is imported only when a foreign file is
    # loaded: the book's own networks never need it, and importing it takes seconds.
    import spandrel

    try:
        desc = spandrel.ModelLoader().load_from_state_dict(spandrel.canonicalize_state_dict(sd))
    except spandrel.UnsupportedModelError as err:
        raise WeightFileError(
            f"{path}: spandrel does not recognise this architecture ({err}); supported "
            "include ESRGAN, SwinIR, RCAN, HAT, GRL, DAT and more (see spandrel's README)"
        ) from err
    if not isinstance(desc, spandrel.ImageModelDescriptor):
        raise WeightFileError(
            f"{path}: a {type(desc).__name__} ({desc.architecture.name}, purpose "
            f"{desc.purpose!r}) is not an image-to-image model; this package needs RGB "
            "super-resolution (LR image in, x2/x3/x4 image out)"
        )
    if desc.input_channels != 3 or desc.output_channels != 3:
        raise WeightFileError(
            f"{path}: {desc.architecture.name} maps {desc.input_channels} to "
            f"{desc.output_channels} channels; this package needs RGB to RGB"
        )
    if desc.purpose != "SR" or desc.scale < 2:
        raise WeightFileError(
            f"{path}: {desc.architecture.name} is a {desc.purpose!r} model (scale "
            f"x{desc.scale}), not super-resolution; this package needs an SR network "
            "(x2, x3, x4, ...)"
        )
    if desc.size_requirements.square:
        raise WeightFileError(
            f"{path}: {desc.architecture.name} needs square inputs; "
            "not supported by this package's wrapper"
        )
    return SpandrelNet(desc)


def load_spandrel(
    path: str | Path,
    device: str | torch.device | None = None,
    *,
    scale: int | None = None,
    name: str | None = None,
) -> SRModel:
    """Load any SR weight file spandrel recognises (RCAN, SwinIR, ESRGAN, GRL, ...).

    The file (``.pth``, ``.pt``, ``.ckpt`` or ``.safetensors``) is read with
    ``torch.load(weights_only=True)`` (or safetensors), the architecture and its scale
    detected by spandrel from the tensors, and the network wrapped as an :class:`SRModel`:
    (N, 3, h, w) in [0, 1] -> (N, 3, s*h, s*w), eval mode, on ``device``. Its
    ``receptive_field`` is ``None`` (not derived for foreign architectures;
    :func:`helpers.networks.resolve.resolve` measures it).

    Args:
        path: the weight file.
        device: default CUDA when available, else CPU.
        scale: the SR factor the caller needs; a file of another scale is refused
            (default: accept the file's).
        name: the model's label (default: spandrel's architecture name in lower case,
            e.g. ``"esrgan"``).

    Raises:
        FileNotFoundError: no file at ``path``.
        WeightFileError (ValueError): an unreadable or code-carrying file, an architecture
            spandrel does not know, a model that is not RGB super-resolution (a denoiser,
            a grey-scale or inpainting model), or a scale other than ``scale``.
    """
    path = Path(path).expanduser()
    sd = safe_load_state_dict(path, strip_prefixes=())
    net = _spandrel_module(sd, path)
    if scale is not None and net.scale != scale:
        raise WeightFileError(
            f"{path} holds an x{net.scale} {net.architecture} network (scale read from the "
            f"file), but x{scale} is asked for; run at scale={net.scale} or use an "
            f"x{scale} file"
        )
    if name is not None:
        net.name = name
    return SRModel(net, device=device)


def load_released(
    name: str,
    scale: int,
    path: str | Path | None = None,
    device: str | torch.device | None = None,
) -> SRModel:
    """A released SR network with its published weights, ready to evaluate.

    Args:
        name: ``"pan"``, ``"imdn"``, ``"carn_m"`` (scales 2, 3, 4) or ``"grl_tiny"`` (4).
        scale: the SR factor.
        path: the weight file; default: ``helpers.data.fetch("weights/<name>_x<scale>")``
            (``"weights/carn_m"`` for CARN-M's multi-scale file), sha256-verified.
        device: default CUDA when available, else CPU.

    Returns:
        :class:`SRModel` (eval mode, on ``device``): (N, 3, h, w) in [0, 1] ->
        (N, 3, scale*h, scale*w); ``.model`` is the bare network whose ``state_dict()``
        keys equal the file's (after stripping ``module.``).

    Raises:
        ValueError: unknown name or scale (listing the valid ones), or a file that does not
            fit the network (naming the disagreeing keys); see also
            :func:`~helpers.models.weights.safe_load_state_dict`.
    """
    _check_known(
        name,
        RELEASED,
        "released network",
        available_released(),
        _ARCHS,
        "a trainable architecture: use build",
    )
    key = name.lower()
    scale = _check_scale(scale, list(RELEASED[key]), f"released {key!r}")
    weight_path = _resolve_path(key, scale, path)
    sd = safe_load_state_dict(weight_path)
    net: nn.Module
    if key == "grl_tiny":
        net = _spandrel_module(sd, weight_path)
        if net.name != "grl" or net.scale != scale:
            raise WeightFileError(
                f"{weight_path}: spandrel found {net.name} x{net.scale}, expected GRL x{scale}"
            )
        net.name = key
    else:
        net = {"pan": PAN, "imdn": IMDN, "carn_m": CARNM}[key](scale)
        _load_strict(net, strip_prefix(sd, "module."), weight_path, f"{key} x{scale}")
        net.name = key
    return SRModel(net, device=device)
