"""One run at a time per folder: an advisory lock file holding who runs there.

Two runners in one build folder (or writing one results or HTML folder) would delete or
overwrite each other's chapters. :class:`FolderLock` takes ``<folder>/.lock`` with
``fcntl.flock``: the kernel releases it when the holder exits, however it exits (SIGKILL
included), so a lock is never stuck; the file also records the holder's pid, host, start
time and command, for the message a second runner gets. A file still naming a process
that is gone (it died holding the lock) is taken over with a warning.

The file is emptied, not deleted, on release: deleting it would let a third runner lock a
new file while a second still holds the old one.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import sys
import warnings
from pathlib import Path
from typing import Any

from .errors import BookError

LOCK_NAME = ".lock"


def _alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        pass
    return True


class FolderLock:
    """Hold ``<folder>/.lock`` for the duration of a ``with`` block (creates ``folder``).

    Raises :class:`BookError` (exit 2) when another live process holds it, naming the
    holder and the way out (wait, or give this run its own ``--build-dir``).
    """

    def __init__(self, folder: str | Path, what: str = "build folder") -> None:
        self.folder = Path(folder)
        self.what = what
        self.path = self.folder / LOCK_NAME
        self._fd: int | None = None

    def holder(self) -> dict[str, Any] | None:
        """What the lock file says about its holder (None when empty or unreadable)."""
        try:
            info = json.loads(self.path.read_text())  # an emptied file does not decode
        except (OSError, json.JSONDecodeError):
            return None
        return info if isinstance(info, dict) else None

    def acquire(self) -> None:
        """Take the lock or raise :class:`BookError` naming the process that holds it."""
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            info = self.holder() or {}
            raise BookError(
                f"the {self.what} {self.folder} is in use by another run (pid "
                f"{info.get('pid', '?')} on {info.get('host', '?')}, started "
                f"{info.get('started_utc', '?')}: {info.get('command', '?')}); wait for it "
                "to finish, or give this run its own --build-dir (and --results-dir/--html-dir)"
            ) from None
        stale = self.holder()
        if stale and stale.get("pid") != os.getpid():
            same_host = stale.get("host") == socket.gethostname()
            state = "is no longer running" if same_host and not _alive(stale["pid"]) else "let go"
            warnings.warn(
                f"taking over the lock of {self.folder}: its holder (pid {stale.get('pid')}, "
                f"started {stale.get('started_utc')}) {state} without releasing it; what it "
                "left half-done there is redone by this run",
                stacklevel=2,
            )
        info = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "command": " ".join(sys.argv),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(info) + "\n").encode(), 0)
        os.fsync(fd)
        self._fd = fd

    def release(self) -> None:
        """Empty the file and let go of the lock (a no-op when not held)."""
        if self._fd is None:
            return
        try:
            os.ftruncate(self._fd, 0)
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
