"""File input/output: image loading as [0, 1] NCHW tensors, tensor and image writes; the
atomic writes of :mod:`helpers.files` (``atomic_write``, ``write_json``) are re-exported
here."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from .files import atomic_write
from .files import write_json as write_json  # re-exported: callers write JSON through io


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
