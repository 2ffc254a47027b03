"""What a chapter's kernel prints: progress to the terminal and a log, never to the page.

While papermill executes a chapter, every stdout/stderr message of the kernel goes to
``<build>/logs/<chapter>.log`` and its progress bars (tqdm writes them to stderr) to a
callback that shows the latest one on the runner's terminal (:class:`KernelStream`). Once
the chapter succeeded, :func:`strip_progress` removes those bars from the executed
notebook, with tqdm's "IProgress not found" warning (no widgets in a static book), so the
published page shows results, not progress.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import IO

import nbformat

# "desc:  17%|█▋   | 1/6 [00:00<00:03, 1.53it/s]", and without a total "3batch [00:02, ...]"
_BAR = re.compile(r"(\d+%\|)|(\d+(?:/\d+)?[a-zA-Z/]*\s*\[\d+:\d+)")
_TQDM_WIDGET_WARNING = re.compile(
    r"^.*TqdmWarning: IProgress not found.*\n(?:\s+from \.autonotebook import .*\n)?", re.M
)


def is_progress(text: str) -> bool:
    """Whether a stderr message is (only) progress-bar output or blank redraws."""
    pieces = [p for p in re.split(r"[\r\n]", text) if p.strip()]
    return all(_BAR.search(p) for p in pieces)


class KernelStream:
    """A file-like sink for papermill's ``stdout_file``/``stderr_file``.

    Writes everything to ``log`` and, for progress bars, calls ``on_progress`` with the
    bar's latest state (one line, at most ``width`` characters).
    """

    def __init__(
        self, log: IO[str], on_progress: Callable[[str], None] | None = None, width: int = 70
    ) -> None:
        self.log = log
        self.on_progress = on_progress
        self.width = width

    def write(self, text: str) -> int:
        self.log.write(text)
        if self.on_progress is not None:
            latest = [p.strip() for p in re.split(r"[\r\n]", text) if _BAR.search(p)]
            if latest:
                self.on_progress(latest[-1][: self.width])
        return len(text)

    def flush(self) -> None:
        self.log.flush()


def strip_progress(path: str | Path) -> int:
    """Remove progress-bar stderr outputs (and tqdm's widget warning) from an executed
    notebook, in place; return how many outputs were removed or trimmed."""
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    changed = 0
    for cell in nb.cells:
        kept = []
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = out.get("text", "")
                cleaned = _TQDM_WIDGET_WARNING.sub("", text)
                if not cleaned.strip() or is_progress(cleaned):
                    changed += 1
                    continue
                if cleaned != text:
                    out["text"], changed = cleaned, changed + 1
            kept.append(out)
        if "outputs" in cell:
            cell["outputs"] = kept
    if changed:
        nbformat.write(nb, path)
    return changed
