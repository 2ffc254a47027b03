"""Every chapter of the toc executes at ``preset="smoke"``; chapters are stored clean.

A chapter runs with papermill on the project kernel (through ``helpers.book``, the same code
path the published book takes); an exception or failing ``assert`` in any cell fails the
test, with the chapter, cell and source head in the message. Each chapter must end by
writing ``<results_dir>/<chapter>.json`` with ``"preset": "smoke"``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from conftest import BOOK, SmokeBook

from helpers.book import Book, BookError, load_chapters, parameters_cell, read_toc, toc_files
from helpers.results import read_results, validate

try:
    CHAPTERS = [c.name for c in load_chapters(BOOK) if c.is_notebook]
    TOC_ERROR = None
except BookError as exc:  # reported by test_toc_resolves instead of a collection error
    CHAPTERS, TOC_ERROR = [], str(exc)

NOTEBOOKS = sorted(BOOK.glob("*.ipynb"))


def test_toc_resolves() -> None:
    """Every toc entry names a file in book/, and every notebook declares the runner's params."""
    assert TOC_ERROR is None, TOC_ERROR
    assert CHAPTERS, "the toc lists no notebook chapter"


def test_every_notebook_is_in_the_toc() -> None:
    """No stray notebooks in book/: each one is a chapter of the toc."""
    listed = {Path(f).stem for f in toc_files(read_toc(BOOK))}
    stray = [p.name for p in NOTEBOOKS if p.stem not in listed]
    assert not stray, f"notebooks in book/ missing from _toc.yml: {stray}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_stored_without_outputs(path: Path) -> None:
    """Chapters are committed clean (nbstripout): no outputs, no execution counts."""
    nb = nbformat.read(path, as_version=4)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count"))
    ]
    assert not dirty, (
        f"{path.name}: cells {dirty} have outputs or execution counts; "
        f"strip them with: nbstripout {path.relative_to(BOOK.parent)}"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_parameters_cell(path: Path) -> None:
    """A ``parameters`` cell with preset (default "embedded"), results_dir and seed."""
    params = parameters_cell(path)
    assert params["preset"].default == "embedded", (
        f"{path.name}: the default preset must be 'embedded', got {params['preset'].source}"
    )
    assert isinstance(params["seed"].default, int)


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_runs_at_smoke(smoke_book: SmokeBook, chapter: str) -> None:
    """The chapter executes top to bottom at preset="smoke" and writes its results JSON."""
    record = smoke_book.execute(chapter)
    results = read_results(smoke_book.book.results_dir, chapter)
    assert results["preset"] == "smoke"
    validate(chapter, results)  # its schema (write_results checked it too)
    executed = nbformat.read(smoke_book.book.copy_dir / f"{chapter}.ipynb", as_version=4)
    errors = [
        i
        for i, cell in enumerate(executed.cells)
        for out in cell.get("outputs", [])
        if out.get("output_type") == "error"
    ]
    assert not errors, f"error outputs in cells {errors}"
    assert record["wall_s"] > 0


@pytest.mark.slow
@pytest.mark.timeout(1200)
@pytest.mark.parametrize("chapter", ["models_and_data", "lam"])
def test_rerun_writes_byte_identical_results(
    smoke_book: SmokeBook, tmp_path: Path, chapter: str
) -> None:
    """A second run with equal parameters, in another build folder, writes the same bytes
    (the second reads networks and maps from the cache the first filled)."""
    smoke_book.execute(chapter)
    first = (smoke_book.book.results_dir / f"{chapter}.json").read_bytes()
    again = Book(BOOK, tmp_path / "build", html_dir=tmp_path / "html")
    plan = again.plan(preset="smoke", only=[chapter], kernel=smoke_book.kernel)
    again.execute(plan.executed[0], plan.parameters[chapter], kernel=smoke_book.kernel)
    assert (again.results_dir / f"{chapter}.json").read_bytes() == first
