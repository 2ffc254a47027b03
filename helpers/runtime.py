"""Run-time conventions shared by every module: device, seeds, and data locations."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

# DATA_DIR_ENV, the variable naming the download cache (a per-user default otherwise), is
# defined torch-free in helpers.files so the book's runner can name it too.
from .files import DATA_DIR_ENV

#: Environment variable naming an offline mirror root laid out by upstream URL.
MIRROR_ENV = "HELPERS_DATA_MIRROR"


def default_device() -> torch.device:
    """CUDA when available, else CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """Turn ``None``/``"auto"``/a string into a ``torch.device`` (``None`` -> default)."""
    if device is None or device == "auto":
        return default_device()
    return torch.device(device)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices) once per run, for repeatable numbers."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def derive_seed(seed: int, *parts: Any) -> int:
    """A 63-bit seed from ``seed`` and labels (split, class, step, ...): the same on every
    run and machine, so independent streams never share draws."""
    h = hashlib.sha256(repr((int(seed), *parts)).encode()).digest()
    return int.from_bytes(h[:8], "little") >> 1


def data_dir() -> Path:
    """The download/cache directory: ``$HELPERS_DATA_DIR`` or ``~/.cache/sr-book``."""
    env = os.environ.get(DATA_DIR_ENV)
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "sr-book"
    root.mkdir(parents=True, exist_ok=True)
    return root


def mirror_root() -> Path | None:
    """The offline mirror root from ``$HELPERS_DATA_MIRROR``, or ``None`` when unset."""
    env = os.environ.get(MIRROR_ENV)
    if not env:
        return None
    root = Path(env).expanduser()
    if not root.is_dir():
        raise FileNotFoundError(
            f"{MIRROR_ENV}={env!r} is not a directory; point it at the mirror root "
            "(the folder holding MIRROR.tsv) or unset it."
        )
    return root
