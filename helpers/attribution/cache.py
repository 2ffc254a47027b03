"""A keyed, verified on-disk cache of local attribution maps, on :mod:`helpers.cache`.

A map of a large network is expensive on a CPU (GRL-tiny: ~4 minutes for one 64x64 LR
window at 50 steps) and two chapters (LAM, DI vs PSNR) attribute the same networks on the
same hard cases. :func:`cached_lam` computes a map once and serves it to every later call
whose inputs are the same: the key (:func:`lam_key`, built by :func:`helpers.cache.key`)
covers everything the map depends on, so a changed weight, image, window, setting or
attribution/model source file is a miss, never a stale hit. Files are written atomically
and verified on load (:func:`helpers.cache.load`: tensors only, stored key); an unreadable
or mismatched file is recomputed and replaced.

Layout: ``<cache>/lam/<key>.pt`` holding ``{"key", "result"}`` (``result`` =
``dataclasses.asdict`` of the :class:`~helpers.attribution.LAMResult`), with ``<cache>`` =
``$HELPERS_DATA_DIR`` (see :func:`helpers.runtime.data_dir`) unless ``cache_dir`` is given.
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from .. import cache
from ..models import weights_digest
from ..runtime import resolve_device
from .maps import center_window, lam, path_settings
from .result import LAMResult

#: The cache folder (and :func:`helpers.cache.key` kind) of LAM maps.
KIND = "lam"
#: Sources a map depends on (relative to ``helpers/``): the LAM code and the model modules.
CODE = (
    "attribution/path.py",
    "attribution/precision.py",
    "attribution/result.py",
    "attribution/maps.py",
    "models",
)
#: Arguments of :func:`helpers.attribution.lam` that change the result only by float
#: rounding (batch; device in ``"exact"`` mode) or not at all (progress): not in the key.
_NOT_IN_KEY = ("batch", "progress", "device")


def model_digest(model: nn.Module) -> str:
    """Hex sha256 of what LAM reads from a model: the stable weights digest
    (:func:`helpers.models.weights_digest`: class, config, scale and every tensor of the
    bare network, the same however it is wrapped), plus the class name of ``model``
    itself and the attributes LAM reads from it (``scale``, ``receptive_field``,
    ``pad_multiple``: the crop and the SR factor)."""
    head = {
        "weights": weights_digest(model),
        "class": type(model).__name__,
        **{a: getattr(model, a, None) for a in ("scale", "receptive_field", "pad_multiple")},
    }
    return cache.key("lam_model", head, length=64)


def lam_key(model: nn.Module, image: torch.Tensor, window: Any, **kwargs: Any) -> str:
    """The cache key of ``attribution.lam(model, image, window, **kwargs)`` (hex, 24 chars).

    Covers the model (:func:`model_digest`), the image bytes
    (:func:`helpers.cache.tensor_digest`), the window, every keyword that changes the map
    (defaults filled in, so ``steps=50`` and no ``steps`` share a key), the device type for
    the modes whose precision depends on it, the torch version, and the source of the
    attribution and model code (:data:`CODE`). ``batch``, ``progress`` and (in
    ``"exact"`` mode) the device change the map only by float rounding and are left out.

    Raises:
        TypeError: an argument :func:`helpers.attribution.lam` does not take.
    """
    params = inspect.signature(lam).parameters
    unknown = set(kwargs) - set(params)
    if unknown:
        raise TypeError(f"unknown argument(s) for attribution.lam: {sorted(unknown)}")
    settings = {
        k: kwargs.get(k, p.default)
        for k, p in params.items()
        if p.default is not inspect.Parameter.empty and k not in _NOT_IN_KEY
    }
    # the rule and steps a mode picks when given None are part of what was computed
    settings["rule"], settings["steps"] = path_settings(
        settings["mode"], settings["rule"], settings["steps"]
    )
    if settings["mode"] != "exact":  # bf16 body on some devices only
        settings["device_type"] = resolve_device(kwargs.get("device")).type
    config = {"window": list(window), "torch": torch.__version__, **settings}
    inputs = (model_digest(model), cache.tensor_digest(torch.as_tensor(image)))
    return cache.key(KIND, config, cache.code_digest(*CODE), inputs)


def cache_path(key: str, cache_dir: str | Path | None = None) -> Path:
    """Where the map with ``key`` lives: ``<cache>/lam/<key>.pt``."""
    return cache.entry_path(KIND, key, root=cache_dir)


def _load(path: Path, key: str) -> LAMResult | None:
    """The stored map if ``path`` holds a readable one for ``key``, else ``None`` (warned
    when the file exists but is damaged, foreign or not a map)."""
    try:
        # helpers.cache.load warns and returns None for an unreadable or foreign file; a
        # readable one whose fields are not a LAMResult's is caught here.
        blob = cache.load(path, key, what="LAM cache")
        if blob is None:
            return None
        fields = dict(blob["result"])
        fields["window"] = tuple(fields["window"])
        if fields["crop_box"] is not None:
            fields["crop_box"] = tuple(fields["crop_box"])
        return dataclasses.replace(LAMResult(**fields), cached=True)
    except Exception as err:  # any damage means: recompute, never trust
        warnings.warn(f"LAM cache file {path} unusable ({err!r}); recomputing", stacklevel=3)
        return None


def cached_lam(
    model: nn.Module,
    image: torch.Tensor,
    window: Any,
    cache_dir: str | Path | None = None,
    **kwargs: Any,
) -> LAMResult:
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
    hit = _load(path, key)
    if hit is not None:
        return hit
    result = lam(model, image, window, **kwargs)
    cache.save(path, key, {"result": dataclasses.asdict(result)})
    return result


def cached_lam_maps(
    nets: Mapping[str, nn.Module],
    cases: Sequence[Any],
    scale: int,
    window_size: int,
    cache_dir: str | Path | None = None,
    progress: bool = True,
    **kwargs: Any,
) -> dict[tuple[str, str], LAMResult]:
    """:func:`cached_lam` of every network on the central window of every hard case (what
    the LAM and DI chapters attribute, so that they share the maps).

    Args:
        nets: name -> model.
        cases: hard cases with ``.name`` and ``.lr`` (1, 3, h, w) in [0, 1].
        scale: SR factor (the window is centred on the ``scale x`` output).
        window_size: side of the window (SR px; :func:`helpers.attribution.center_window`).
        cache_dir: cache root (default ``$HELPERS_DATA_DIR``).
        progress: tqdm bars over the maps and, within a map, over its path nodes.
        **kwargs: for :func:`helpers.attribution.lam` (``sigma``, ``steps``, ...).

    Returns:
        ``(network, case name) -> LAMResult``, network by network in the given orders.

    Raises:
        FloatingPointError: a network's output or gradient is NaN or inf on a case, naming
            both (from :func:`helpers.attribution.lam`).
    """
    out = {}
    # One bar over the maps and lam()'s own over the path nodes: a big network's map takes
    # minutes on a CPU, and a bar per network would sit still for all of its cases.
    pairs = [(name, net, c) for name, net in nets.items() for c in cases]
    bar = tqdm(pairs, "LAM maps", disable=not progress)
    for name, net, c in bar:
        bar.set_postfix_str(f"{name} on {c.name}", refresh=False)
        window = center_window(c.lr, scale, window_size)
        try:
            out[(name, c.name)] = cached_lam(
                net, c.lr, window, cache_dir=cache_dir, progress=progress, **kwargs
            )
        except FloatingPointError as exc:  # lam() cannot know which case it was given
            raise FloatingPointError(f"network {name!r}, hard case {c.name!r}: {exc}") from exc
    return out
