"""A keyed, verified on-disk cache of local attribution maps.

A map of a large network is expensive on a CPU (GRL-tiny: ~4 minutes for one 64x64 LR
window at 50 steps) and two chapters (LAM, DI vs PSNR) attribute the same networks on the
same hard cases. :func:`cached_lam` computes a map once and serves it to every later call
whose inputs are the same: the key hashes everything the map depends on, so a changed
weight, image, window, setting or attribution/model source file is a miss, never a stale
hit. Files are written atomically and checked on load (stored key, fields); an unreadable
or mismatched file is recomputed and replaced.

Layout: ``<cache>/lam/<key>.pt`` with ``<cache>`` = ``$HELPERS_DATA_DIR`` (see
:func:`helpers.runtime.data_dir`) unless ``cache_dir`` is given.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..io import save_torch
from ..runtime import data_dir, resolve_device
from . import maps as attribution

#: Arguments of :func:`helpers.attribution.lam` that change the result only by float
#: rounding (batch; device in ``"exact"`` mode) or not at all (progress): not in the key.
_NOT_IN_KEY = ("batch", "progress", "device")


def _source_hash() -> str:
    """Hash of the sources a map depends on: the attribution code and the model modules."""
    root = Path(__file__).resolve().parents[1]
    files = [root / "attribution" / "maps.py", *sorted((root / "models").glob("*.py"))]
    h = hashlib.sha256()
    for f in files:
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _tensor_digest(h: Any, t: torch.Tensor) -> None:
    t = t.detach().to("cpu").contiguous()
    h.update(f"{t.dtype}{tuple(t.shape)}".encode())
    h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")


def model_digest(model: nn.Module) -> str:
    """Hex digest of a model's identity: its module tree (``repr``: classes and layer
    settings), every parameter and buffer (name, dtype, shape, bytes), and the wrapper
    attributes LAM reads (``scale``, ``receptive_field``, ``pad_multiple``)."""
    h = hashlib.sha256(repr(model).encode())
    for attr in ("scale", "receptive_field", "pad_multiple"):
        h.update(f"{attr}={getattr(model, attr, None)!r}".encode())
    for name, t in model.state_dict().items():
        h.update(name.encode())
        _tensor_digest(h, t)
    return h.hexdigest()


def lam_key(model: nn.Module, image: torch.Tensor, window: Any, **kwargs: Any) -> str:
    """The cache key of ``attribution.lam(model, image, window, **kwargs)`` (hex, 24 chars).

    Covers the model (:func:`model_digest`), the image bytes, the window, every keyword that
    changes the map (defaults filled in, so ``steps=50`` and no ``steps`` share a key), the
    device type for the modes whose precision depends on it, and the source of the
    attribution and model code. ``batch``, ``progress`` and (in ``"exact"`` mode) the
    device change the map only by float rounding and are left out.
    """
    params = inspect.signature(attribution.lam).parameters
    unknown = set(kwargs) - set(params)
    if unknown:
        raise TypeError(f"unknown argument(s) for attribution.lam: {sorted(unknown)}")
    settings = {
        k: kwargs.get(k, p.default)
        for k, p in params.items()
        if p.default is not inspect.Parameter.empty and k not in _NOT_IN_KEY
    }
    if settings.get("mode", "exact") != "exact":  # bf16 body on some devices only
        settings["device_type"] = resolve_device(kwargs.get("device")).type
    h = hashlib.sha256(model_digest(model).encode())
    _tensor_digest(h, torch.as_tensor(image))
    h.update(json.dumps({"window": list(window), **settings}, sort_keys=True, default=str).encode())
    h.update(_source_hash().encode())
    h.update(torch.__version__.encode())
    return h.hexdigest()[:24]


def cache_path(key: str, cache_dir: str | Path | None = None) -> Path:
    """Where the map with ``key`` lives: ``<cache>/lam/<key>.pt``."""
    root = Path(cache_dir) if cache_dir is not None else data_dir()
    return root / "lam" / f"{key}.pt"


def _load(path: Path, key: str) -> attribution.LAMResult | None:
    """The stored map if ``path`` holds a readable one for ``key``, else ``None`` (warned)."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(blob, dict) or blob.get("key") != key:
            raise ValueError("stored key does not match")
        fields = blob["result"]
        fields["window"] = tuple(fields["window"])
        if fields["crop_box"] is not None:
            fields["crop_box"] = tuple(fields["crop_box"])
        return dataclasses.replace(attribution.LAMResult(**fields), cached=True)
    except Exception as err:  # any damage means: recompute, never trust
        warnings.warn(f"LAM cache file {path} unusable ({err}); recomputing", stacklevel=3)
        return None


def cached_lam(
    model: nn.Module,
    image: torch.Tensor,
    window: Any,
    cache_dir: str | Path | None = None,
    **kwargs: Any,
) -> attribution.LAMResult:
    """:func:`helpers.attribution.lam`, computed once per key and then read from disk.

    Args:
        model, image, window, **kwargs: as for :func:`helpers.attribution.lam`.
        cache_dir: cache root (default ``$HELPERS_DATA_DIR``); maps go to ``<root>/lam``.

    Returns:
        The :class:`~helpers.attribution.LAMResult`; ``cached=True`` when it was read
        from the cache (its ``seconds`` then is the original computing time).

    Raises:
        TypeError: an argument ``attribution.lam`` does not take.
        ValueError: whatever ``attribution.lam`` raises for bad input (nothing is cached).
    """
    key = lam_key(model, image, window, **kwargs)
    path = cache_path(key, cache_dir)
    if path.is_file():
        hit = _load(path, key)
        if hit is not None:
            return hit
    result = attribution.lam(model, image, window, **kwargs)
    save_torch(path, {"key": key, "result": dataclasses.asdict(result)})
    return result
