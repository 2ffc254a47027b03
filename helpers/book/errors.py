"""The runner's errors: each carries the exit code ``python -m helpers.book`` returns."""

from __future__ import annotations

from pathlib import Path


class BookError(Exception):
    """A user-facing error: bad input, or a failed chapter or build (message says which)."""

    exit_code = 2


class ChapterFailed(BookError):
    """A chapter raised while executing (or finished without writing its results)."""

    exit_code = 1

    def __init__(
        self,
        chapter: str,
        message: str,
        *,
        cell_index: int | None = None,
        source: str = "",
        output: Path | None = None,
    ) -> None:
        self.chapter = chapter
        self.cell_index = cell_index
        self.source = source
        self.output = output
        super().__init__(message)

    def __reduce__(self):  # picklable, so a failure on a Dask worker reaches the runner
        return (ChapterFailed, (self.chapter, str(self)), self.__dict__)


class HtmlBuildFailed(BookError):
    """Jupyter Book exited non-zero."""

    exit_code = 1


class IncompleteBuild(BookError):
    """The build lacks a chapter of the toc, or a chapter's results (message names them)."""

    exit_code = 1
