"""Shared test set-up: data locations, the project kernel, and one smoke execution of the book.

Environment, set at import so every kernel a test starts inherits it:

- ``HELPERS_DATA_MIRROR``: ``<repo>/../shared/data`` when that folder exists and the variable
  is unset (the offline mirror on the build machines).
- ``HELPERS_DATA_DIR``: ``<repo>/.cache/data`` unless set, so downloads and trained models are
  cached across test sessions (and CI runs reuse them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
BOOK = REPO / "book"


def _toc_notebooks() -> list[str]:
    """The notebook chapters of book/_toc.yml, in book order (a new chapter joins every
    per-chapter test: parameters, schema)."""
    from helpers.book import chapters

    files = chapters.toc_files(chapters.read_toc(BOOK))
    return [f for f in files if (BOOK / f"{f}.ipynb").is_file()]


NOTEBOOK_CHAPTERS: list[str] = _toc_notebooks()
FIXTURES = Path(__file__).resolve().parent / "fixtures"
KERNEL = os.environ.get("SR_BOOK_KERNEL", "sr-book")

_mirror = REPO.parent / "shared" / "data"
if not os.environ.get("HELPERS_DATA_MIRROR") and _mirror.is_dir():
    os.environ["HELPERS_DATA_MIRROR"] = str(_mirror)
os.environ.setdefault("HELPERS_DATA_DIR", str(REPO / ".cache" / "data"))


def make_tiny_book(root: Path, chapters: tuple[str, ...] = ("tiny_chapter",)) -> Path:
    """A book in ``root/src`` with the real config, intro and static files, whose chapters
    are copies of ``tests/fixtures/tiny_chapter.ipynb`` under the given names."""
    import shutil

    src = root / "src"
    src.mkdir()
    for name in ("_config.yml", "intro.md"):
        shutil.copy(BOOK / name, src / name)
    shutil.copytree(BOOK / "_static", src / "_static")
    for name in chapters:
        shutil.copy(FIXTURES / "tiny_chapter.ipynb", src / f"{name}.ipynb")
    entries = "".join(f"  - file: {name}\n" for name in chapters)
    (src / "_toc.yml").write_text(f"format: jb-book\nroot: intro\nchapters:\n{entries}")
    return src


@pytest.fixture(scope="session")
def sr_kernel() -> str:
    """The project's kernel name; registered into this venv when it is missing."""
    from jupyter_client.kernelspec import KernelSpecManager

    if KERNEL in KernelSpecManager().find_kernel_specs():
        return KERNEL
    if sys.prefix == sys.base_prefix:
        pytest.fail(
            f"Jupyter kernel {KERNEL!r} is not registered and this Python is not a virtual "
            f"environment; run `make test`, or: python -m ipykernel install --user --name {KERNEL}"
        )
    subprocess.run(
        [sys.executable, "-m", "ipykernel", "install", "--sys-prefix", "--name", KERNEL],
        check=True,
        capture_output=True,
    )
    return KERNEL


class SmokeBook:
    """The real book executed once per test session at ``preset="smoke"``.

    ``execute(chapter)`` runs one chapter with papermill through the runner (cached, a
    failure is re-raised for every caller); ``html()`` executes what is left and builds the
    HTML once.
    """

    def __init__(self, build_dir: Path, kernel: str) -> None:
        from helpers.book import Book, kernel_environment

        self.book = Book(BOOK, build_dir, html_dir=build_dir / "html")
        self.kernel = kernel
        self.plan = self.book.plan(preset="smoke", kernel=kernel)
        self.environment = kernel_environment(kernel)
        self._done: dict[str, dict[str, Any] | BaseException] = {}
        self._html: Path | BaseException | None = None

    @property
    def chapters(self) -> list[str]:
        """Names of the notebook chapters in the toc, in order."""
        return [c.name for c in self.plan.executed]

    def execute(self, name: str) -> dict[str, Any]:
        """Execute chapter ``name`` at smoke (once) and return its run record."""
        if name not in self._done:
            chapter = next(c for c in self.plan.executed if c.name == name)
            try:
                self._done[name] = self.book.execute(
                    chapter,
                    self.plan.parameters[name],
                    kernel=self.kernel,
                    environment=self.environment,
                )
            except Exception as exc:  # remembered, so the build test reports it too
                self._done[name] = exc
        outcome = self._done[name]
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def html(self) -> Path:
        """Execute every chapter (reusing earlier runs) and build the HTML; the index path."""
        if self._html is None:
            try:
                for name in self.chapters:
                    self.execute(name)
                self._html = self.book.build_html()
            except Exception as exc:
                self._html = exc
        if isinstance(self._html, BaseException):
            raise self._html
        return self._html


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory: pytest.TempPathFactory, sr_kernel: str) -> SmokeBook:
    """One smoke-preset execution of the real book, shared by the notebook and build tests."""
    return SmokeBook(tmp_path_factory.mktemp("smoke-book"), sr_kernel)


@pytest.fixture(scope="module")
def one_thread():
    """Run a test module with one torch thread (restored after): small tensors run fastest
    single-threaded, and on a shared 2-core machine more threads only spin against other jobs.
    Use with ``pytestmark = pytest.mark.usefixtures("one_thread")``."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
