"""What a chapter's kernel prints: progress to the terminal and a log, never to the page.

While papermill executes a chapter, every stdout/stderr message of the kernel goes to
``<build>/logs/<chapter>.log`` and its progress bars (tqdm writes them to stderr) to a
callback that shows the latest one on the runner's terminal (:class:`KernelStream`). Once
the chapter succeeded, :func:`strip_progress` removes those bars from the executed
notebook, with tqdm's "IProgress not found" warning (no widgets in a static book), so the
published page shows results, not progress.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Callable, Iterator
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


#: Cells folded in the published page (``hide-input``): papermill's injected parameters.
FOLD_TAGS = ("injected-parameters",)


def tidy_executed(path: str | Path) -> list[list]:
    """Make an executed notebook a reader's page, in place, and return its code cells'
    times: progress bars and tqdm's widget warning removed (:func:`strip_progress`),
    papermill's injected-parameters cell folded (``hide-input``, as the chapters tag their
    setup cells), and ``[[cell index, seconds, first line], ...]`` from papermill's
    per-cell metadata (index 0-based in the executed copy; seconds rounded to 0.01)."""
    strip_progress(path)
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    folded, times = False, []
    for i, cell in enumerate(nb.cells):
        tags = cell.metadata.setdefault("tags", [])
        if any(t in tags for t in FOLD_TAGS) and "hide-input" not in tags:
            tags.append("hide-input")
            folded = True
        if not tags:
            del cell.metadata["tags"]
        seconds = cell.metadata.get("papermill", {}).get("duration")
        if cell.cell_type == "code" and seconds is not None:
            first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
            times.append([i, round(float(seconds), 2), first[:60]])
    if folded:
        nbformat.write(nb, path)
    return times


class _CellProgress(logging.Filter):
    """Papermill's "Executing Cell k" records -> ``on_cell(k)`` (1-based, every cell,
    markdown too). It drops papermill's INFO records (turned on only to see these) and its
    copies of the kernel's output (stderr is logged as WARNING; the log file has it), so
    nothing of the kernel reaches the terminal or a logging handler a user configured.

    It also drops papermill's "Passed unknown parameter" for annotations it cannot parse:
    its cell inspection reads only simple annotations (``int``, ``list[str]``), not
    ``int | None`` or ``Literal[...]``; the runner has checked every name and value itself
    (:mod:`helpers.book.plan`), so the warning would only mislead."""

    _START = re.compile(r"^Executing Cell (\d+)")

    def __init__(self, on_cell: Callable[[int], None]) -> None:
        super().__init__()
        self.on_cell = on_cell

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if m := self._START.match(message):
            self.on_cell(int(m.group(1)))
        return (
            record.levelno > logging.INFO
            and record.funcName != "log_output_message"
            and not message.startswith("Passed unknown parameter")
        )


@contextlib.contextmanager
def cell_progress(on_cell: Callable[[int], None]) -> Iterator[None]:
    """While papermill runs with ``log_output=True``: ``on_cell(k)`` as cell k starts, and
    nothing else of papermill's log shows but its real warnings (:class:`_CellProgress`)."""
    logger = logging.getLogger("papermill")
    level, flt = logger.level, _CellProgress(on_cell)
    logger.setLevel(logging.INFO)
    logger.addFilter(flt)
    try:
        yield
    finally:
        logger.removeFilter(flt)
        logger.setLevel(level)
