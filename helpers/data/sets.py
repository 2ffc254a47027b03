"""Image sets as HR/LR pairs and plain image lists, by name or from a local folder.

Image sets come back as :class:`SRPair` lists with HR cropped to a multiple of the scale
and LR either read (MATLAB-made, where a set ships it) or made with the MATLAB-compatible
:func:`helpers.data.resize.imresize`. Any set can be pointed at a local folder of HR images
with ``folder=`` or ``$HELPERS_LOCAL_<NAME>`` (e.g. ``HELPERS_LOCAL_DIV2K_VALID``).

A local folder is read flat (subfolders are not searched), in sorted file-name order:

- files ending in :data:`IMAGE_SUFFIXES` (any case) are the images, named by their stem;
  each is read by :func:`helpers.io.load_image` (grey, alpha, palette and 16-bit files are
  converted as it documents, with a warning naming the file; a corrupt one is an error
  naming it);
- hidden files (``.DS_Store``, ``._x.png``, ...) and ``Thumbs.db``/``desktop.ini`` are
  skipped silently: operating systems write them, users do not;
- any other file (``notes.txt``, ``x.webp``) is skipped with one warning naming them all;
- a folder with no image is an error naming it and the accepted suffixes, and two images
  with one stem (``a.png`` and ``a.jpg``) an error naming both (results are keyed by name).
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch

from ..io import load_image
from .download import fetch, keys, manifest
from .resize import hr_lr_pair, modcrop

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
#: Files operating systems leave in folders (besides hidden ones): skipped without a word.
_OS_CLUTTER = ("thumbs.db", "desktop.ini")

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
        return _folder_items(name, local), True
    if name in SR_SETS:
        return _hr_paths(name), False
    raise ValueError(
        f"unknown dataset {name!r}; valid: {list(SR_SETS)}, or any name with folder=... or "
        f"$HELPERS_LOCAL_<NAME> (full-scale sets: {list(manifest()['full_scale'])})"
    )


def _folder_items(name: str, local: Path) -> list[tuple[str, Path]]:
    """The images of a local folder as ``(stem, path)``, by the rules of the module docstring."""
    entries = sorted(local.iterdir())
    images = [p for p in entries if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    images = [p for p in images if not p.name.startswith(".")]
    others = [
        p.name
        for p in entries
        if p.is_file()
        and p not in images
        and not p.name.startswith(".")
        and p.name.lower() not in _OS_CLUTTER
    ]
    if not images:
        subdirs = [p.name + "/" for p in entries if p.is_dir() and not p.name.startswith(".")]
        found = (f"; it holds {len(others)} other file(s): {others[:5]}" if others else "") + (
            f"; subfolders {subdirs[:5]} are not searched" if subdirs else ""
        )
        raise FileNotFoundError(
            f"no images for dataset {name!r} in {local}: image files end in "
            f"{', '.join(IMAGE_SUFFIXES)}{found}. Point folder= (or $HELPERS_LOCAL_"
            f"{name.upper()}) at the folder that holds the HR images themselves"
        )
    if others:
        warnings.warn(
            f"dataset {name!r}: skipped {len(others)} file(s) in {local} that are not images "
            f"(suffixes {', '.join(IMAGE_SUFFIXES)}): {others[:10]}",
            UserWarning,
            stacklevel=4,
        )
    by_stem: dict[str, list[str]] = {}
    for p in images:
        by_stem.setdefault(p.stem, []).append(p.name)
    clashes = [files for files in by_stem.values() if len(files) > 1]
    if clashes:
        raise ValueError(
            f"dataset {name!r}: images in {local} share a name, {clashes[:3]}; results are "
            "keyed by the file stem, so rename or remove one of each"
        )
    return [(p.stem, p) for p in images]


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

    A local folder is read as the module docstring says. An image with a side under
    ``scale`` px (no LR pixel) or under ``crop`` raises ``ValueError`` naming it; scoring
    needs more (:func:`helpers.models.evaluate.evaluate_sr` says how much).
    """

    if scale not in (2, 3, 4):
        raise ValueError(f"scale must be 2, 3 or 4, got {scale!r}")
    items, local = _items(name, folder)
    pairs = []
    for stem, path in items[:limit]:
        img = load_image(path)
        h, w = img.shape[-2:]
        if min(h, w) < scale:
            raise ValueError(
                f"{name}/{stem} ({path}) is {h}x{w} px, smaller than one LR pixel at scale "
                f"{scale}: an HR image needs at least {scale} px on each side; remove it"
            )
        if not local and name in _SHIPPED_LR:
            hr = modcrop(img, scale)
            lr = load_image(fetch(f"{name}/LR_bicubic/X{scale}/{stem}x{scale}.png"))
        else:
            hr, lr = hr_lr_pair(img, scale)
        if lr.shape[-2] * scale != hr.shape[-2] or lr.shape[-1] * scale != hr.shape[-1]:
            raise ValueError(f"{name}/{stem}: LR {tuple(lr.shape)} is not HR/{scale}")
        if crop is not None:
            hr, lr = _center_crop(hr, lr, crop, scale, f"{name}/{stem}")
        pairs.append(SRPair(stem, hr, lr, scale))
    return pairs


def _center_crop(
    hr: torch.Tensor, lr: torch.Tensor, crop: int, scale: int, what: str = "the image"
) -> tuple[torch.Tensor, torch.Tensor]:
    if crop % scale or crop <= 0:
        raise ValueError(f"crop ({crop}) must be a positive multiple of scale ({scale})")
    q = crop // scale
    h, w = lr.shape[-2:]
    if q > min(h, w):
        raise ValueError(
            f"crop ({crop} px) is larger than {what} ({h * scale}x{w * scale} px after "
            f"cropping to a multiple of {scale}); use crop <= {min(h, w) * scale} or drop it"
        )
    y, x = (h - q) // 2, (w - q) // 2
    return (
        hr[..., y * scale : (y + q) * scale, x * scale : (x + q) * scale],
        lr[..., y : y + q, x : x + q],
    )


def load_images(name: str, folder: str | Path | None = None) -> list[tuple[str, torch.Tensor]]:
    """HR images only, as ``(name, (1,3,H,W) in [0,1])`` (no cropping; a local folder is
    read as the module docstring says)."""
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
