"""File input/output: atomic writes and image loading as [0, 1] NCHW tensors."""

from __future__ import annotations

import errno
import glob
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .runtime import DATA_DIR_ENV

#: A temp file of :func:`atomic_write` untouched this long (seconds) belongs to a writer
#: that was killed (a live one writes to it continuously): the next write of the same
#: destination deletes it, so killed runs do not slowly fill the disk.
STALE_TEMP_SECONDS = 3600.0
#: Below this many free bytes, a failed write is blamed on a full disk: ``torch.save``
#: reports a full disk as an opaque ``RuntimeError`` without the ``ENOSPC`` errno.
_FULL_DISK_BYTES = 1 << 20


def _disk_full_error(path: Path, tmp: Path | None, exc: BaseException) -> OSError | None:
    """A clear ``OSError(ENOSPC)`` naming ``path`` when ``exc`` (a failed write of ``tmp``)
    came from a full disk or quota, else ``None``."""
    chain, err = [], exc
    while err is not None and len(chain) < 8:  # the errno may sit in a wrapped cause
        chain.append(err)
        err = err.__cause__ or err.__context__
    full = any(isinstance(e, OSError) and e.errno in (errno.ENOSPC, errno.EDQUOT) for e in chain)
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        free = None
    if not full and not (free is not None and free < _FULL_DISK_BYTES):
        return None
    try:
        written = tmp.stat().st_size if tmp is not None else 0
    except OSError:
        written = 0
    room = "free space unknown" if free is None else f"{_size(free)} free there"
    return OSError(
        errno.ENOSPC,
        f"disk full: could not write {path}; it needs more than the {_size(written)} "
        f"written before the disk ran out ({room}). Free some space on that disk, or (for "
        f"the cache) set {DATA_DIR_ENV} to a folder on a disk with room",
        str(path),
    )


def _size(n: float) -> str:
    """``n`` bytes for people: ``"512 bytes"``, ``"3.1 kB"``, ``"1.2 GB"``."""
    units = ("bytes", "kB", "MB", "GB", "TB")
    i = 0
    while n >= 1000 and i < len(units) - 1:
        n, i = n / 1000, i + 1
    return f"{n:.0f} bytes" if i == 0 else f"{n:.1f} {units[i]}"


def _sweep_stale_temps(path: Path) -> None:
    """Delete temp files of ``path`` that a killed :func:`atomic_write` left behind."""
    now = time.time()
    for tmp in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        try:
            if now - tmp.stat().st_mtime > STALE_TEMP_SECONDS:
                tmp.unlink()
        except OSError:  # another process swept it first, or it is not ours to delete
            pass


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Write ``path`` atomically: ``write(tmp)`` fills a temp file that is then renamed.

    A crash mid-write leaves the old file (or none), never a truncated one; a failed write
    leaves no temp file. Concurrent writers of one path each fill their own uniquely named
    temp file and the last rename wins, so a reader (who opens ``path`` once) sees one whole
    version, never a mix. A full disk raises ``OSError(ENOSPC)`` naming ``path``, the space
    involved and what to do.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_path: Path | None = None
    renamed = False
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        os.close(fd)
        tmp_path = Path(tmp)
        write(tmp_path)
        os.replace(tmp_path, path)
        renamed = True
    except Exception as exc:
        full = _disk_full_error(path, tmp_path, exc)  # before the temp file is deleted
        if full is not None:
            raise full from exc
        raise
    finally:
        # Only our own temp file, and only before the rename: afterwards its name is free
        # and may already be another writer's temp file.
        if tmp_path is not None and not renamed:
            tmp_path.unlink(missing_ok=True)
    _sweep_stale_temps(path)
    return path


def write_json(path: str | Path, obj: Any) -> Path:
    """Atomically write ``obj`` as pretty, key-sorted JSON (stable across reruns)."""
    text = json.dumps(obj, indent=2, sort_keys=True, allow_nan=False) + "\n"
    return atomic_write(path, lambda p: p.write_text(text))


def save_torch(path: str | Path, obj: Any) -> Path:
    """Atomically ``torch.save`` plain tensors/dicts (loadable with ``weights_only=True``)."""
    return atomic_write(path, lambda p: torch.save(obj, p))


def load_image(path: str | Path) -> torch.Tensor:
    """Read an image file as a float32 tensor, shape (1, 3, H, W), range [0, 1], RGB.

    8-bit images give ``value / 255`` exactly as Pillow's ``convert("RGB")`` decodes them.
    Other kinds are converted as follows, with a ``UserWarning`` naming the file wherever
    the result is more than the file's own pixels (no warning for plain RGB, grey and
    fully opaque alpha: nothing is lost or invented there):

    - grey (``L``, 1-bit ``1``): repeated to three channels;
    - alpha (``RGBA``, ``LA``, ``PA``, a ``tRNS`` colour key): dropped, not composited on a
      background (colours are kept as stored); warns when some pixel is not fully opaque;
    - palette (``P``): each index looked up in the file's palette (warns);
    - 16-bit grey (``I;16``): ``value / 65535``, repeated to three channels (warns;
      Pillow's own ``convert("RGB")`` would clip every value above 255 to white);
    - 16-bit RGB/RGBA PNG: ``value / 65535`` at full 16-bit precision (warns); other
      16-bit colour files (16-bit grey+alpha PNG, TIFF) are decoded by Pillow to 8 bits
      (the high byte, within one 8-bit level of ``value / 65535``; warns);
    - 32-bit integer (``I``) with values in 0..65535: read as 16-bit (warns);
    - ``CMYK``, ``YCbCr``, ``LAB``, ``HSV``: Pillow's ``convert("RGB")`` (warns);
    - a multi-frame file (GIF, TIFF pages): the first frame only (warns).

    16-bit results keep their precision (not rounded to 8-bit levels); an LR image made
    from one (:func:`helpers.data.resize.bicubic_down_uint8`) is 8-bit as always.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is corrupt, truncated or not an image Pillow reads, or holds
            32-bit float (``F``) or out-of-range ``I`` values, which have no defined [0, 1]
            range; the message names the file and what to do.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"image not found: {path}")
    im = None
    try:
        im = Image.open(path)
        rawmodes = [str(t.args) for t in im.tile]  # the file's bit depth; load() clears it
        im.load()
    except Exception as exc:  # Pillow reports damage as OSError, SyntaxError, zlib.error, ...
        if im is not None:
            im.close()
        if isinstance(exc, Image.DecompressionBombError):
            raise ValueError(
                f"image {path} is larger than Pillow's safety limit ({exc}); if you trust "
                "the file, raise PIL.Image.MAX_IMAGE_PIXELS before loading it"
            ) from exc
        raise ValueError(
            f"cannot read image {path}: {type(exc).__name__}: {exc}. The file is corrupt, "
            "truncated or not an image; open it in an image viewer, re-export it (e.g. as "
            "an 8-bit RGB PNG) or remove it from the folder"
        ) from exc
    with im:
        return _pil_to_tensor(im, path, rawmodes)


def _pil_to_tensor(im: Image.Image, path: Path, rawmodes: list[str]) -> torch.Tensor:
    """A loaded Pillow image -> (1, 3, H, W) float32 in [0, 1] (see :func:`load_image`)."""
    mode, notes = im.mode, []
    if getattr(im, "n_frames", 1) > 1:
        notes.append(f"only the first of its {im.n_frames} frames is read")
    if mode in ("F", "I") or mode.startswith("I;16"):
        v = np.asarray(im)
        if mode == "F" or v.min() < 0 or v.max() > 65535:
            raise ValueError(
                f"cannot read image {path}: its {mode!r} pixels ({v.dtype}, {v.min()}..{v.max()}) "
                "have no defined [0, 1] range; save it as an 8- or 16-bit PNG"
            )
        kind = "16-bit grey" if mode != "I" else "32-bit integer grey with values in 0..65535"
        _warn(path, [*notes, f"{kind}: value / 65535, repeated to three channels"])
        return _uint16_to_tensor(np.repeat(v.astype(np.uint16)[..., None], 3, axis=2))
    sixteen = any(";16" in r for r in rawmodes)
    if sixteen and im.format == "PNG" and mode in ("RGB", "RGBA"):
        low = _png_low_bytes(path)
        if low is not None:
            v = (np.asarray(im).astype(np.uint16) << 8) | low
            notes.append("16-bit colour: value / 65535")
            if mode == "RGBA" and v[..., 3].min() < 65535:
                notes.append("alpha dropped (not composited); some pixels are not opaque")
            _warn(path, notes)
            return _uint16_to_tensor(v[..., :3])
    if sixteen:
        notes.append("16-bit channels decoded to 8 bits by Pillow (the high byte)")
    if mode == "P" or mode == "PA":
        notes.append("palette indices looked up in the file's palette")
    elif mode not in ("RGB", "RGBA", "L", "LA", "1"):
        notes.append(f"converted from {mode} with Pillow's convert('RGB')")
    if "A" in im.getbands() or "transparency" in im.info:
        alpha = im.convert("RGBA").getchannel("A")
        if alpha.getextrema()[0] < 255:
            notes.append("alpha dropped (not composited); some pixels are not opaque")
    if notes:
        _warn(path, notes)
    with warnings.catch_warnings():
        # Pillow's advice to convert transparent palette images to RGBA: alpha is dropped
        # on purpose, and the warning above already says so.
        warnings.filterwarnings("ignore", "Palette images with Transparency", UserWarning)
        return uint8_to_tensor(np.array(im.convert("RGB"), dtype=np.uint8))


def _png_low_bytes(path: Path) -> np.ndarray | None:
    """Low bytes of a 16-bit RGB(A) PNG's samples, (H, W, C) uint16, or ``None`` where
    Pillow cannot give them.

    Pillow decodes 16-bit colour PNGs to 8 bits by keeping each big-endian sample's high
    byte. Decoding the same data again as little-endian (``";16L"``) keeps the other byte
    (PNG unfiltering does not depend on the byte order), so ``high << 8 | low`` is the
    sample exactly."""
    try:
        with Image.open(path) as again:
            again.tile = [t._replace(args=t.args.replace(";16B", ";16L")) for t in again.tile]
            return np.asarray(again).astype(np.uint16)
    except Exception:  # an unusual layout (e.g. a rawmode Pillow lacks): keep the 8 bits
        return None


def _uint16_to_tensor(v: np.ndarray) -> torch.Tensor:
    """HxWx3 uint16 -> (1, 3, H, W) float32 ``value / 65535`` (one float32 division, so it
    equals ``v.astype(np.float32) / np.float32(65535)``)."""
    t = torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
    return t.permute(2, 0, 1)[None] / 65535.0


def _warn(path: Path, notes: list[str]) -> None:
    warnings.warn(f"image {path}: " + "; ".join(notes), UserWarning, stacklevel=4)


def uint8_to_tensor(arr: np.ndarray) -> torch.Tensor:
    """HxW or HxWxC uint8 array (C = 1, 3 or 4) -> (1, 3, H, W) float32 ``arr / 255``.

    Grey (HxW or C = 1) is repeated to three channels; a fourth (alpha) channel is
    dropped, not composited.
    """
    if not isinstance(arr, np.ndarray) or arr.dtype != np.uint8:
        got = arr.dtype if isinstance(arr, np.ndarray) else type(arr).__name__
        raise TypeError(f"expected a uint8 numpy array, got {got}")
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.ndim != 3 or arr.shape[2] not in (1, 3, 4):
        raise ValueError(f"expected an HxW or HxWxC array with C in (1, 3, 4), got {arr.shape}")
    if arr.shape[2] == 1:
        arr = np.repeat(arr, 3, axis=2)
    arr = arr[..., :3]
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
