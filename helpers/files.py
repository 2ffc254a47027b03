"""Files without torch: atomic writes of bytes, text and JSON, for the runner and helpers.

:func:`atomic_write` fills a temp file beside the destination and renames it over, so a
crash leaves the old file or none, never a truncated one; a full disk is a clear error.
:mod:`helpers.io` re-exports ``atomic_write`` and ``write_json`` next to its image and
tensor writers; the book's runner and :mod:`helpers.results` use them directly (no torch).
"""

from __future__ import annotations

import errno
import glob
import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: The environment variable naming the cache root (read by :mod:`helpers.runtime`).
DATA_DIR_ENV = "HELPERS_DATA_DIR"

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


def write_text(path: str | Path, text: str) -> Path:
    """Atomically write ``text`` to ``path``."""
    return atomic_write(path, lambda p: p.write_text(text))
