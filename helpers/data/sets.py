"""Image sets as HR/LR pairs and plain image lists, by name or from a local folder.

Image sets come back as :class:`SRPair` lists with HR cropped to a multiple of the scale
and LR either read (MATLAB-made, where a set ships it) or made with the MATLAB-compatible
:func:`helpers.data.resize.imresize`. Any set can be pointed at a local folder of HR images
with ``folder=`` or ``$HELPERS_LOCAL_<NAME>`` (e.g. ``HELPERS_LOCAL_DIV2K_VALID``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import torch

from ..io import load_image
from .download import fetch, keys, manifest
from .resize import hr_lr_pair, modcrop

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")

#: Datasets with LR made by MATLAB and shipped beside the HR.
_SHIPPED_LR = {"set5", "set14"}
SR_SETS = ("embedded_train", "embedded_test", "set5", "set14", "lam_hard")


@dataclass
class SRPair:
    """One test image: ``hr`` (1,3,H,W) and ``lr`` (1,3,H/s,W/s), float in [0,1], RGB."""

    name: str
    hr: torch.Tensor
    lr: torch.Tensor
    scale: int


def _local_folder(name: str, folder: str | Path | None) -> Path | None:
    env = os.environ.get(f"HELPERS_LOCAL_{name.upper()}")
    chosen = folder or env
    if chosen is None:
        return None
    path = Path(chosen).expanduser()
    if not path.is_dir():
        raise FileNotFoundError(f"local folder for dataset {name!r} does not exist: {path}")
    return path


def _hr_paths(name: str) -> list[tuple[str, Path]]:
    if name.startswith("embedded_"):
        split = name.removeprefix("embedded_")
        ks = [f"embedded/{split}/{f}" for f in manifest()["datasets"]["embedded"][split]]
    elif name in _SHIPPED_LR:
        ks = keys(f"{name}/HR/")
    elif name == "lam_hard":
        ks = keys("lam_hard/")
    else:
        raise AssertionError(name)
    return [(Path(k).stem, fetch(k)) for k in ks]


def _items(name: str, folder: str | Path | None) -> tuple[list[tuple[str, Path]], bool]:
    """``(stem, path)`` of the HR images of ``name``, and whether they came from a folder."""
    local = _local_folder(name, folder)
    if local is not None:
        items = [(p.stem, p) for p in sorted(local.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
        if not items:
            raise FileNotFoundError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {local}")
        return items, True
    if name in SR_SETS:
        return _hr_paths(name), False
    raise ValueError(
        f"unknown dataset {name!r}; valid: {list(SR_SETS)}, or any name with folder=... or "
        f"$HELPERS_LOCAL_<NAME> (full-scale sets: {list(manifest()['full_scale'])})"
    )


def load_sr_set(
    name: str,
    scale: int,
    folder: str | Path | None = None,
    limit: int | None = None,
    crop: int | None = None,
) -> list[SRPair]:
    """Load an SR test set as HR/LR pairs at ``scale`` (2, 3 or 4).

    ``name`` is one of :data:`SR_SETS` or, with ``folder`` (or ``$HELPERS_LOCAL_<NAME>``),
    any name for a folder of HR images. Set5/Set14 use their MATLAB-made LR; other sets get
    LR from :func:`helpers.data.resize.hr_lr_pair` (MATLAB-compatible, rounded to 8 bit).
    ``limit`` keeps the first images only and ``crop`` cuts a centred ``crop`` x ``crop``
    HR window (a multiple of ``scale``) with its LR, for quick runs.
    """

    if scale not in (2, 3, 4):
        raise ValueError(f"scale must be 2, 3 or 4, got {scale!r}")
    items, local = _items(name, folder)
    pairs = []
    for stem, path in items[:limit]:
        if not local and name in _SHIPPED_LR:
            hr = modcrop(load_image(path), scale)
            lr = load_image(fetch(f"{name}/LR_bicubic/X{scale}/{stem}x{scale}.png"))
        else:
            hr, lr = hr_lr_pair(load_image(path), scale)
        if lr.shape[-2] * scale != hr.shape[-2] or lr.shape[-1] * scale != hr.shape[-1]:
            raise ValueError(f"{name}/{stem}: LR {tuple(lr.shape)} is not HR/{scale}")
        if crop is not None:
            hr, lr = _center_crop(hr, lr, crop, scale)
        pairs.append(SRPair(stem, hr, lr, scale))
    return pairs


def _center_crop(
    hr: torch.Tensor, lr: torch.Tensor, crop: int, scale: int
) -> tuple[torch.Tensor, torch.Tensor]:
    if crop % scale or crop <= 0:
        raise ValueError(f"crop ({crop}) must be a positive multiple of scale ({scale})")
    q = crop // scale
    h, w = lr.shape[-2:]
    if q > min(h, w):
        raise ValueError(f"crop ({crop} px) is larger than the image ({h * scale}x{w * scale})")
    y, x = (h - q) // 2, (w - q) // 2
    return (
        hr[..., y * scale : (y + q) * scale, x * scale : (x + q) * scale],
        lr[..., y : y + q, x : x + q],
    )


def load_images(name: str, folder: str | Path | None = None) -> list[tuple[str, torch.Tensor]]:
    """HR images only, as ``(name, (1,3,H,W) in [0,1])`` (no cropping)."""
    items, _ = _items(name, folder)
    return [(stem, load_image(p)) for stem, p in items]


def dtd10(split: str) -> list[tuple[Path, str]]:
    """DTD-10 from the manifest: ``(image path, class name)`` for the official split 1.

    ``split`` is ``"train"`` (DTD's train+val of split 1) or ``"test"``; the lists are
    filtered to the ten classes the manifest carries.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    classes = sorted({k.split("/")[2] for k in keys("dtd10/images/")})
    lines = fetch(f"dtd10/splits/{split}1.txt").read_text().split()
    chosen = [ln for ln in lines if ln.split("/")[0] in classes]
    return [(fetch(f"dtd10/images/{ln}"), ln.split("/")[0]) for ln in sorted(chosen)]
