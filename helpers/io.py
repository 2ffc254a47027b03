"""File input/output: atomic writes and image loading as [0, 1] NCHW tensors."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Write ``path`` atomically: ``write(tmp)`` fills a temp file that is then renamed.

    A crash mid-write leaves the old file (or none), never a truncated one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        write(tmp_path)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
    return path


def write_json(path: str | Path, obj: Any) -> Path:
    """Atomically write ``obj`` as pretty, key-sorted JSON (stable across reruns)."""
    text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"
    return atomic_write(path, lambda p: p.write_text(text))


def save_torch(path: str | Path, obj: Any) -> Path:
    """Atomically ``torch.save`` plain tensors/dicts (loadable with ``weights_only=True``)."""
    return atomic_write(path, lambda p: torch.save(obj, p))


def load_image(path: str | Path) -> torch.Tensor:
    """Read an image file as a float tensor, shape (1, 3, H, W), range [0, 1], RGB.

    Grey images are repeated to three channels; alpha is dropped.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    with Image.open(path) as im:
        arr = np.array(im.convert("RGB"), dtype=np.uint8)
    return uint8_to_tensor(arr)


def uint8_to_tensor(arr: np.ndarray) -> torch.Tensor:
    """HxW or HxWxC uint8 array -> (1, 3, H, W) float32 tensor in [0, 1]."""
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.shape[2] == 4:
        arr = arr[..., :3]
    if arr.dtype != np.uint8:
        raise TypeError(f"expected uint8 array, got {arr.dtype}")
    return torch.from_numpy(np.ascontiguousarray(arr)).permute(2, 0, 1)[None].float() / 255.0


def tensor_to_uint8(x: torch.Tensor) -> np.ndarray:
    """(1, 3, H, W) or (3, H, W) tensor in [0, 1] -> HxWx3 uint8 (rounded, clipped)."""
    if x.ndim == 4:
        if x.shape[0] != 1:
            raise ValueError(f"expected a single image, got batch of {x.shape[0]}")
        x = x[0]
    return (x.detach().clamp(0, 1) * 255.0).round().byte().permute(1, 2, 0).cpu().numpy()


def save_image(path: str | Path, x: torch.Tensor) -> Path:
    """Atomically save a [0, 1] image tensor as PNG."""
    arr = tensor_to_uint8(x)
    return atomic_write(path, lambda p: Image.fromarray(arr).save(p, format="PNG"))
