"""The data manifest, the verified fetcher (pooch, offline mirror), and the image sets.

Every file the book reads is a key of ``data_manifest.yaml`` (e.g. ``"set5/HR/baby.png"``,
``"weights/pan_x4"``). :func:`fetch` returns a local path whose sha256 has been checked:

- ``https://raw.githubusercontent.com/X`` is served from ``$HELPERS_DATA_MIRROR/mirror/X``
  when the mirror variable is set (or from the network otherwise), through pooch, which
  writes to a temporary file, verifies the hash and renames atomically into the cache
  (``$HELPERS_DATA_DIR``, default ``~/.cache/sr-book``);
- ``package://<pkg>/<path>`` names a file shipped inside an installed package (the
  scikit-image and matplotlib sample images), verified in place.

Image sets come back as :class:`SRPair` lists with HR cropped to a multiple of the scale
and LR either read (MATLAB-made, where a set ships it) or made with the MATLAB-compatible
:func:`helpers.resize.imresize`. Any set can be pointed at a local folder of HR images
with ``folder=`` or ``$HELPERS_LOCAL_<NAME>`` (e.g. ``HELPERS_LOCAL_DIV2K_VALID``).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pooch
import torch
import yaml

from .io import load_image
from .runtime import MIRROR_ENV, data_dir, mirror_root

# pooch logs every copy at INFO; the book shows its own progress instead.
pooch.get_logger().setLevel("WARNING")

MANIFEST_PATH = Path(__file__).resolve().parents[1] / "data_manifest.yaml"
RAW_PREFIX = "https://raw.githubusercontent.com/"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")

#: Datasets with LR made by MATLAB and shipped beside the HR.
_SHIPPED_LR = {"set5", "set14"}
SR_SETS = ("embedded_train", "embedded_test", "set5", "set14", "lam_hard")


class DataUnavailableError(RuntimeError):
    """A manifest file could not be fetched (offline with no mirror, or not mirrored)."""


@functools.cache
def manifest() -> dict[str, Any]:
    """The parsed ``data_manifest.yaml`` (cached)."""
    with open(MANIFEST_PATH) as f:
        return yaml.safe_load(f)


def keys(prefix: str = "") -> list[str]:
    """Manifest file keys starting with ``prefix``, sorted."""
    return sorted(k for k in manifest()["files"] if k.startswith(prefix))


def _entry(key: str) -> dict[str, Any]:
    files = manifest()["files"]
    if key not in files:
        groups = sorted({k.split("/")[0] for k in files})
        raise KeyError(
            f"{key!r} is not in data_manifest.yaml; keys start with one of {groups} "
            f"(list them with helpers.data.keys(prefix))"
        )
    return files[key]


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _package_file(url: str) -> Path:
    pkg, _, rel = url.removeprefix("package://").partition("/")
    spec = importlib.util.find_spec(pkg)
    if spec is None or spec.origin is None:
        raise DataUnavailableError(f"{url}: package {pkg!r} is not installed")
    return Path(spec.origin).parent / rel


def _mirror_downloader(root: Path):
    """A pooch downloader copying ``raw.githubusercontent.com`` files from the mirror."""

    def download(url: str, output_file: str, _pooch: Any) -> None:
        src = root / "mirror" / url.removeprefix(RAW_PREFIX)
        if not src.is_file():
            raise DataUnavailableError(
                f"{url} is not in the mirror at {src}; the mirror ({MIRROR_ENV}={root}) "
                "lacks this file"
            )
        shutil.copyfile(src, output_file)

    return download


def fetch(key: str) -> Path:
    """Return a verified local path for manifest ``key`` (downloading or copying once).

    Raises ``KeyError`` for an unknown key, ``DataUnavailableError`` when offline without
    a mirror (naming the file, URL and ``$HELPERS_DATA_MIRROR``), and ``ValueError`` when
    the bytes do not match the manifest's sha256 (the bad copy is removed).
    """
    entry = _entry(key)
    url, want = entry["url"], entry["sha256"]
    if url.startswith("package://"):
        path = _package_file(url)
        if not path.is_file():
            raise DataUnavailableError(f"{key}: {path} is missing from the installed package")
        got = _sha256(path)
        if got != want:
            raise ValueError(
                f"{key}: {path} has sha256 {got}, manifest expects {want}; install the "
                "pinned versions from constraints.txt (the sample file changed upstream)"
            )
        return path
    root = mirror_root()
    downloader = _mirror_downloader(root) if root is not None else None
    cache = data_dir() / Path(key).parent
    try:
        return Path(
            pooch.retrieve(
                url,
                known_hash=f"sha256:{want}",
                fname=Path(key).name,
                path=cache,
                downloader=downloader,
                progressbar=False,
            )
        )
    except ValueError as err:  # pooch: hash mismatch; it has already removed the temp file
        raise ValueError(f"{key}: sha256 check failed for {url}: {err}") from err
    except DataUnavailableError:
        raise
    except Exception as err:  # network errors come in many types (requests, OSError, ...)
        raise DataUnavailableError(
            f"could not fetch {key!r} from {url} ({type(err).__name__}: {err}). Offline? Set "
            f"{MIRROR_ENV} to a mirror root laid out by upstream URL (on the build machines: "
            "../shared/data), or put the verified file in the cache at "
            f"{cache / Path(key).name}."
        ) from err


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
    LR from :func:`helpers.resize.bicubic_down_uint8` (MATLAB-compatible, rounded to 8 bit).
    ``limit`` keeps the first images only and ``crop`` cuts a centred ``crop`` x ``crop``
    HR window (a multiple of ``scale``) with its LR, for quick runs.
    """
    from .resize import bicubic_down_uint8, modcrop

    if scale not in (2, 3, 4):
        raise ValueError(f"scale must be 2, 3 or 4, got {scale!r}")
    items, local = _items(name, folder)
    pairs = []
    for stem, path in items[:limit]:
        hr = modcrop(load_image(path), scale)
        if not local and name in _SHIPPED_LR:
            lr = load_image(fetch(f"{name}/LR_bicubic/X{scale}/{stem}x{scale}.png"))
        else:
            lr = bicubic_down_uint8(hr, scale)
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
