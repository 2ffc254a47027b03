"""The data manifest and the verified fetcher (pooch, offline mirror).

Every file the book reads is a key of ``data_manifest.yaml`` (e.g. ``"set5/HR/baby.png"``,
``"weights/pan_x4"``). :func:`fetch` returns a local path whose sha256 has been checked:

- ``https://raw.githubusercontent.com/X`` is served from ``$HELPERS_DATA_MIRROR/mirror/X``
  when the mirror variable is set (or from the network otherwise), through pooch, which
  writes to a temporary file, verifies the hash and renames atomically into the cache
  (``$HELPERS_DATA_DIR``, default ``~/.cache/sr-book``);
- ``package://<pkg>/<path>`` names a file shipped inside an installed package (the
  scikit-image and matplotlib sample images), verified in place.

"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import shutil
from pathlib import Path
from typing import Any

import pooch
import yaml

from ..runtime import MIRROR_ENV, data_dir, mirror_root

# pooch logs every copy at INFO; the book shows its own progress instead.
pooch.get_logger().setLevel("WARNING")

MANIFEST_PATH = Path(__file__).resolve().parents[2] / "data_manifest.yaml"
RAW_PREFIX = "https://raw.githubusercontent.com/"


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
