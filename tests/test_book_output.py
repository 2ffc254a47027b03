"""helpers.book.output: kernel progress reaches the terminal and never the published page."""

from __future__ import annotations

import io
import logging
from pathlib import Path

import nbformat

from helpers.book.output import (
    KernelStream,
    cell_progress,
    is_progress,
    strip_progress,
    tidy_executed,
)

_WARNING = (
    "/x/tqdm/auto.py:21: TqdmWarning: IProgress not found. Please update jupyter and "
    "ipywidgets.\n  from .autonotebook import tqdm as notebook_tqdm\n"
)


def test_progress_lines_are_recognised() -> None:
    assert is_progress("\rhard cases:  17%|█▋        | 1/6 [00:00<00:03,  1.53it/s]")
    assert is_progress("\r\n")  # a blank redraw
    assert is_progress("\rLAM: 3batch [00:02, 1.2batch/s]")  # no total
    assert not is_progress("UserWarning: the classifier saw one class\n")


def test_stream_logs_everything_and_reports_the_latest_bar() -> None:
    log, seen = io.StringIO(), []
    stream = KernelStream(log, seen.append, width=30)
    stream.write("preset=smoke\n")
    stream.write("\rtrain:  10%|█ | 1/10 [00:01<00:09]\rtrain:  20%|██ | 2/10 [00:02<00:08]")
    assert "preset=smoke" in log.getvalue() and "2/10" in log.getvalue()
    assert seen == ["train:  20%|██ | 2/10 [00:02<00:08]"[:30]]


def test_strip_progress_keeps_results_and_real_warnings(tmp_path: Path) -> None:
    cell = nbformat.v4.new_code_cell("run()")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stderr", text=_WARNING),
        nbformat.v4.new_output("stream", name="stderr", text="\rPSNR:  50%|█ | 1/2 [00:01]"),
        nbformat.v4.new_output("stream", name="stdout", text="PSNR 31.2 dB\n"),
        nbformat.v4.new_output("stream", name="stderr", text="UserWarning: kept\n"),
    ]
    path = tmp_path / "ch.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    assert strip_progress(path) == 2
    outs = nbformat.read(path, as_version=4).cells[0].outputs
    assert [o.text for o in outs] == ["PSNR 31.2 dB\n", "UserWarning: kept\n"]
    assert strip_progress(path) == 0  # nothing left to strip


def test_tidy_folds_the_injected_parameters_and_returns_cell_times(tmp_path: Path) -> None:
    injected = nbformat.v4.new_code_cell('preset = "smoke"')
    injected.metadata.tags = ["injected-parameters"]
    work = nbformat.v4.new_code_cell("\nx = train()  # the slow one")
    work.outputs = [nbformat.v4.new_output("stream", name="stderr", text="\rt: 9%|█ | 1/9 [00:01]")]
    for cell, seconds in ((injected, 0.004), (work, 12.3456)):
        cell.metadata.papermill = {"duration": seconds}
    text = nbformat.v4.new_markdown_cell("# A chapter")
    path = tmp_path / "ch.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[text, injected, work]), path)
    times = tidy_executed(path)
    assert times == [[1, 0.0, 'preset = "smoke"'], [2, 12.35, "x = train()  # the slow one"]]
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[1].metadata.tags == ["injected-parameters", "hide-input"]
    assert nb.cells[2].outputs == [] and "tags" not in nb.cells[2].metadata


def test_cell_progress_sees_cell_starts_and_swallows_kernel_output(caplog) -> None:
    seen: list[int] = []
    logger = logging.getLogger("papermill")
    before = logger.level

    def log_output_message(text: str) -> None:  # as papermill's clientwrap logs stderr
        logger.warning(text)

    with caplog.at_level(logging.DEBUG), cell_progress(seen.append):
        logger.info("Executing Cell 3---------------------------------------")
        log_output_message("\rtrain: 10%|█ | 1/10 [00:01]")
        logger.warning("a real papermill warning")
    assert seen == [3]
    assert [r.getMessage() for r in caplog.records] == ["a real papermill warning"]
    assert logger.level == before


def test_every_chapter_folds_its_setup_cell() -> None:
    from conftest import BOOK, NOTEBOOK_CHAPTERS

    for name in NOTEBOOK_CHAPTERS:
        cells = nbformat.read(BOOK / f"{name}.ipynb", as_version=4).cells
        tagged = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
        setup = next(c for c in cells[tagged + 1 :] if c.cell_type == "code")
        assert "import" in setup.source, name
        assert "hide-input" in setup.metadata.get("tags", []), f"{name}: setup cell not folded"
