"""helpers.book.output: kernel progress reaches the terminal and never the published page."""

from __future__ import annotations

import io
from pathlib import Path

import nbformat

from helpers.book.output import KernelStream, is_progress, strip_progress

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
