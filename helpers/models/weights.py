"""Safe loading of weight files: tensors only, never code.

:func:`safe_load_state_dict` reads ``.pth``/``.pt``/``.ckpt`` files with
``torch.load(weights_only=True)`` (PyTorch's restricted unpickler: tensors, plain
containers and numbers; anything that would import or call code is refused) and
``.safetensors`` files with safetensors. It unwraps the usual containers
(``{"params": ...}``, ``{"state_dict": ...}``, ...), strips a ``module.`` prefix
(DataParallel) and insists on a flat ``{name: tensor}`` mapping. Every refusal is a
:class:`WeightFileError` (a ``ValueError``) naming the file, what is wrong with it and what
to do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

#: Containers that hold the state dict inside a checkpoint, tried in this order
#: (BasicSR stores ``params_ema`` beside ``params``; the EMA weights are the published ones).
WRAPPER_KEYS = ("params_ema", "params", "state_dict", "model_state_dict", "model", "net")


class WeightFileError(ValueError):
    """A weight file is missing, truncated, not a tensor checkpoint, or carries code."""


def _refusal_reason(err: BaseException) -> str:
    """The informative line of torch's weights-only error (which global/opcode it refused)."""
    text = str(err)
    for pattern in (
        r"unsupported GLOBAL [^\s]+(?: whose module [^\s]+ is blocked)?",
        r"Unsupported global: [^\n]+",
        r"Unsupported operand [^\n]+",
        r"WeightsUnpickler error: [^\n]+",
    ):
        m = re.search(pattern, text, flags=re.IGNORECASE)
        if m:
            return m.group(0).strip().rstrip(".")
    return text.strip().splitlines()[0] if text.strip() else type(err).__name__


def _torch_load(path: Path) -> Any:
    size = path.stat().st_size
    with open(path, "rb") as f:
        is_zip = f.read(4) == b"PK\x03\x04"  # torch.save's default (zip) format
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types; classify them for the user
        text = str(err)
        refused = "Weights only load failed" in text
        # A cut-off pickle can also surface as a weights-only error, so look for
        # truncation first; a zip archive that fails to open is truncated or damaged.
        truncated = isinstance(err, EOFError) or any(
            s in text for s in ("EOF", "truncated", "corrupt", "central directory")
        )
        if truncated or (is_zip and not refused):
            first = text.strip().splitlines()[0] if text.strip() else type(err).__name__
            raise WeightFileError(
                f"{path} is truncated or corrupt ({size} bytes; torch says: {first}). "
                "Delete it and fetch it again (helpers.data.fetch checks the sha256 from "
                "data_manifest.yaml)."
            ) from err
        if refused:
            raise WeightFileError(
                f"refused to load {path}: it is not a plain tensor checkpoint "
                f"({_refusal_reason(err)}). Loading it would need the full pickle machinery, "
                "which can run arbitrary code, so this package does not. If you trust the "
                "file, re-save its state dict in a trusted environment "
                "(torch.save(model.state_dict(), ...)) or as .safetensors and load that."
            ) from err
        raise WeightFileError(
            f"{path} is not a PyTorch weight file ({type(err).__name__}: {text[:200]}). "
            "Expected a state dict saved with torch.save, or a .safetensors file."
        ) from err


def _unwrap(obj: Any, path: Path) -> Mapping[str, Any]:
    """Find the state dict inside a checkpoint container."""
    if not isinstance(obj, Mapping):
        raise WeightFileError(
            f"{path} holds a {type(obj).__name__}, not a state dict; expected a mapping "
            "{parameter name: tensor} (as torch.save(model.state_dict(), path) writes)."
        )
    seen = 0
    while seen < 3 and not all(isinstance(v, torch.Tensor) for v in obj.values()):
        for key in WRAPPER_KEYS:
            inner = obj.get(key)
            if isinstance(inner, Mapping) and inner:
                obj = inner
                break
        else:
            break
        seen += 1
    return obj


def _check_tensors(sd: Mapping[str, Any], path: Path) -> dict[str, torch.Tensor]:
    if not sd:
        raise WeightFileError(f"{path} holds an empty state dict")
    bad = [
        (k, type(v).__name__)
        for k, v in sd.items()
        if not isinstance(k, str) or not isinstance(v, torch.Tensor)
    ]
    if bad:
        shown = ", ".join(f"{k!r}: {t}" for k, t in bad[:5])
        raise WeightFileError(
            f"{path} is not a tensor state dict: {len(bad)} of {len(sd)} entries are not "
            f"named tensors ({shown}{', ...' if len(bad) > 5 else ''}). Known containers "
            f"{list(WRAPPER_KEYS)} were looked into; save model.state_dict() instead."
        )
    return dict(sd)


def strip_prefix(sd: Mapping[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    """Remove ``prefix`` from every key when *all* keys carry it (else return a copy)."""
    if sd and all(k.startswith(prefix) for k in sd):
        return {k[len(prefix) :]: v for k, v in sd.items()}
    return dict(sd)


def safe_load_state_dict(
    path: str | Path, strip_prefixes: tuple[str, ...] = ("module.",)
) -> dict[str, torch.Tensor]:
    """Load a state dict of tensors from ``path`` without executing any code.

    Args:
        path: a ``.pth``/``.pt``/``.ckpt`` file written by ``torch.save`` (zip or legacy
            format), or a ``.safetensors`` file.
        strip_prefixes: prefixes removed when every key carries them (DataParallel's
            ``module.`` by default).

    Returns:
        ``{name: tensor}`` on the CPU.

    Raises:
        FileNotFoundError: no file at ``path``.
        WeightFileError (ValueError): truncated/corrupt file, a payload that is not a
            mapping of tensors, or a pickle that references code (refused, not executed).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"weight file not found: {path}")
    if path.stat().st_size == 0:
        raise WeightFileError(f"{path} is empty (0 bytes); delete it and fetch it again")
    if path.suffix.lower() == ".safetensors":
        # Only .safetensors files need it (the book's own weights are torch files).
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            obj: Any = load_file(str(path), device="cpu")
        except SafetensorError as err:
            raise WeightFileError(
                f"{path} is not a valid safetensors file ({err}); delete it and fetch it again"
            ) from err
    else:
        obj = _torch_load(path)
    sd = _check_tensors(_unwrap(obj, path), path)
    for prefix in strip_prefixes:
        sd = strip_prefix(sd, prefix)
    return sd
