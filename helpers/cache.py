"""One content-addressed cache for everything the book computes once and reuses.

Trained networks, the texture classifier, patch labellings and LAM maps all go through
here, with one key scheme and one file discipline:

- **key** (:func:`key`): a hash of the kind of entry, its full config (JSON, sorted keys,
  defaults filled in by the caller), a digest of the source code that computes it
  (:func:`code_digest`) and digests of its inputs (weights: :func:`tensor_digest` /
  :func:`helpers.models.weights_digest`; images: :func:`tensor_digest`). A changed
  setting, input or code is a new key, never a stale hit.
- **files** (:func:`entry_path`): ``<root>/<kind>/<prefix><key><suffix>`` with ``<root>`` =
  ``$HELPERS_DATA_DIR`` (:func:`helpers.runtime.data_dir`) unless given.
- **writes** are atomic (:func:`helpers.io.atomic_write`: a temp file renamed over), and
  every file stores its own key. So no lock is needed: processes computing one entry at
  once write whole files of the same content (the key fixes it) and the last rename wins;
  a reader opens one whole version; a killed writer leaves only its temp file, never a
  partial entry (tests/test_faults_cache.py).
- **loads** are verified (:func:`load`): tensors only (``weights_only=True``), the stored
  key must equal the expected one; a damaged or foreign file warns, is ignored and is
  recomputed by the caller (:func:`cached`), never trusted.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import torch

from .io import save_torch, write_json
from .runtime import data_dir

#: The package root; :func:`code_digest` names sources relative to it.
PACKAGE_ROOT = Path(__file__).resolve().parent


def code_digest(*sources: str) -> str:
    """Hex digest (16 chars) of source files of ``helpers``, named relative to the package
    (``"train.py"``, ``"models"`` = every ``.py`` in that folder, sorted).

    Raises ``FileNotFoundError`` for a name that is neither a file nor a folder, so a
    moved module cannot silently drop out of a key.
    """
    h = hashlib.sha256()
    for name in sources:
        path = PACKAGE_ROOT / name
        if path.is_dir():
            files = sorted(path.glob("*.py"))
        elif path.is_file():
            files = [path]
        else:
            raise FileNotFoundError(f"code_digest: no file or folder {name!r} in {PACKAGE_ROOT}")
        for f in files:
            h.update(str(f.relative_to(PACKAGE_ROOT)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def update_tensor(h: Any, t: torch.Tensor) -> None:
    """Feed one tensor (dtype, shape and raw bytes, on the CPU) into hashlib object ``h``."""
    t = t.detach().to("cpu").contiguous()
    h.update(f"{t.dtype}{tuple(t.shape)}".encode())
    # reshape(-1): a 0-dim tensor (e.g. BatchNorm's num_batches_tracked) cannot be viewed
    # as bytes directly.
    h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b"")


def tensor_digest(*tensors: torch.Tensor) -> str:
    """Hex sha256 of tensors' dtypes, shapes and bytes (the digest of an image or batch)."""
    h = hashlib.sha256()
    for t in tensors:
        update_tensor(h, torch.as_tensor(t))
    return h.hexdigest()


def key(
    kind: str,
    config: Mapping[str, Any],
    code: str = "",
    inputs: Iterable[str] = (),
    length: int = 24,
) -> str:
    """The cache key (hex, ``length`` chars) of an entry of ``kind``.

    Args:
        kind: what the entry is (``"train"``, ``"lam"``, ...); also its folder.
        config: every setting that changes the result, JSON-serialisable (``str`` is
            applied to anything else); key order does not matter.
        code: :func:`code_digest` of the sources that compute it.
        inputs: digests of the inputs (weights, images, datasets), in a fixed order.
    """
    blob = json.dumps(
        {"kind": kind, "config": config, "code": code, "inputs": list(inputs)},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:length]


def entry_path(
    kind: str,
    entry_key: str,
    root: str | Path | None = None,
    prefix: str = "",
    suffix: str = ".pt",
) -> Path:
    """Where the entry lives: ``<root>/<kind>/<prefix><key><suffix>`` (``root`` default
    ``$HELPERS_DATA_DIR``; pass the folder itself as ``root`` with ``kind=""``)."""
    base = Path(root) if root is not None else data_dir()
    return (base / kind if kind else base) / f"{prefix}{entry_key}{suffix}"


def save(path: str | Path, entry_key: str, payload: Mapping[str, Any]) -> Path:
    """Write ``{"key": entry_key, **payload}`` atomically (``torch.save``; ``.json`` files
    as JSON). Tensors, numbers, strings, lists and dicts only."""
    blob = {"key": entry_key, **payload}
    path = Path(path)
    if path.suffix == ".json":
        return write_json(path, blob)
    return save_torch(path, blob)


def load(path: str | Path, entry_key: str, what: str = "cache") -> dict[str, Any] | None:
    """The stored payload (with its ``"key"``) if ``path`` holds a readable entry for
    ``entry_key``; ``None`` when it is absent, and ``None`` with a warning when it is
    damaged (truncated, not a tensor file, code-carrying pickle) or holds another key."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        if path.suffix == ".json":
            blob = json.loads(path.read_text())
        else:
            blob = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(blob, dict) or blob.get("key") != entry_key:
            raise ValueError("stored key does not match")
    except Exception as err:  # noqa: BLE001 - torch's loader raises many types (IndexError,
        # KeyError, UnpicklingError, ...) on damaged bytes; any damage means: recompute
        warnings.warn(f"{what} file {path} unusable ({err}); recomputing", stacklevel=3)
        return None
    return blob


def cached(
    path: str | Path,
    entry_key: str,
    compute: Callable[[], Mapping[str, Any]],
    what: str = "cache",
) -> tuple[dict[str, Any], bool]:
    """``(payload, hit)``: the verified entry at ``path``, or ``compute()`` saved there.

    ``compute`` returns the payload (a mapping of tensors/plain values); it is called
    only on a miss or a damaged entry, and nothing is written when it raises.
    """
    hit = load(path, entry_key, what)
    if hit is not None:
        return hit, True
    payload = dict(compute())
    save(path, entry_key, payload)
    return {"key": entry_key, **payload}, False
