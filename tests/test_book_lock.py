"""One run per build folder (helpers.book.lock) and a build that checks it is complete.

A second runner on a held build folder is refused before it executes anything; a lock
whose holder was SIGKILLed is free (flock dies with its process) and is taken over with a
warning; the HTML build refuses a book whose executed chapters lost their results, and a
whole-book run that lacks a chapter of the toc.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import REPO, make_tiny_book

from helpers.book import Book, BookError, FolderLock, IncompleteBuild, runner
from helpers.book import plan as plan_module

_HOLD = textwrap.dedent(
    """
    import sys, time
    from helpers.book.lock import FolderLock
    lock = FolderLock(sys.argv[1])
    lock.acquire()
    print("held", flush=True)
    time.sleep(120)
    """
)


def _holder(folder: Path) -> subprocess.Popen[str]:
    """A process that takes the lock of ``folder`` and sleeps (killed by the test)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLD, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


@pytest.fixture
def two_chapter_book(tmp_path: Path) -> Path:
    """The real config and intro with two tiny chapters."""
    return make_tiny_book(tmp_path, ("tiny_chapter", "tiny_two"))


@pytest.mark.bad_input(
    "a second `python -m helpers.book` on a build folder another run is using",
    "exit 2 before anything runs, naming the holder's pid, start and command, and --build-dir",
)
def test_second_runner_refused(
    two_chapter_book: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    build = tmp_path / "build"
    holder = _holder(build)
    try:
        executed: list[object] = []
        monkeypatch.setattr(plan_module, "check_kernel", lambda kernel: None)
        monkeypatch.setattr(runner, "_execute_plan", lambda *a, **k: executed.append(a))
        args = ["--book", str(two_chapter_book), "--build-dir", str(build), "--no-html"]
        assert runner.run(args) == 2
        err = capsys.readouterr().err
        assert f"is in use by another run (pid {holder.pid}" in err and "--build-dir" in err
        assert not executed
        # its own build folder runs (the HTML folder is not taken with --no-html)
        assert runner.run([*args[:2], "--build-dir", str(tmp_path / "mine"), "--no-html"]) == 0
        assert len(executed) == 1
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.bad_input(
    "a build folder whose last run was killed (SIGKILL) while holding the lock",
    "the lock is free; the next run takes it over with a warning naming the dead pid",
)
def test_lock_of_killed_run_is_taken_over(tmp_path: Path) -> None:
    holder = _holder(tmp_path / "build")
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    lock = FolderLock(tmp_path / "build")
    assert lock.holder()["pid"] == holder.pid  # the dead run's record is still there
    with pytest.warns(UserWarning, match=f"pid {holder.pid}.*is no longer running"):
        lock.acquire()
    try:
        assert lock.holder()["pid"] == os.getpid()
        with pytest.raises(BookError, match=f"in use by another run \\(pid {os.getpid()}"):
            FolderLock(tmp_path / "build").acquire()  # a second holder, in this process
    finally:
        lock.release()
    assert lock.holder() is None  # released: emptied, not deleted
    FolderLock(tmp_path / "build").acquire()  # free again, no warning


def test_run_locks_each_folder_once_and_lets_go_when_one_is_taken(tmp_path: Path) -> None:
    build, results = tmp_path / "build", tmp_path / "results"
    book = Book(tmp_path / "src", build, results, html_dir=build / "html")  # HTML in build
    with book.locks():
        held = {p.parent.name: json.loads(p.read_text()) for p in tmp_path.glob("*/.lock")}
        assert sorted(held) == ["build", "results"]
        assert all(info["pid"] == os.getpid() for info in held.values())
    assert FolderLock(build).holder() is None and FolderLock(results).holder() is None
    holder = _holder(results)  # another run writes the same results folder
    try:
        with pytest.raises(BookError, match="the results folder .* is in use"), book.locks():
            pass
        with FolderLock(build):  # the build folder, taken first, was let go again
            pass
    finally:
        holder.kill()
        holder.wait()


def _fake_executed(book: Book, name: str) -> None:
    """Put an executed copy, a run record and results in place as a run would."""
    book.copy_dir.mkdir(parents=True, exist_ok=True)
    shutil.copy(book.book_dir / f"{name}.ipynb", book.copy_dir / f"{name}.ipynb")
    book.runs_dir.mkdir(parents=True, exist_ok=True)
    (book.runs_dir / f"{name}.json").write_text(json.dumps({"chapter": name}))
    book.results_dir.mkdir(parents=True, exist_ok=True)
    (book.results_dir / f"{name}.json").write_text(json.dumps({"preset": "smoke"}))


@pytest.mark.bad_input(
    "results of an executed chapter deleted from the build folder (by another run or by hand)",
    "the HTML build stops with exit 1 naming the chapter and the --only that reruns it",
)
def test_build_refuses_chapter_without_results(two_chapter_book: Path, tmp_path: Path) -> None:
    book = Book(two_chapter_book, tmp_path / "build", html_dir=tmp_path / "html")
    _fake_executed(book, "tiny_chapter")
    (book.results_dir / "tiny_chapter.json").unlink()
    with pytest.raises(IncompleteBuild, match="tiny_chapter.*--only tiny_chapter"):
        book.build_html()
    assert IncompleteBuild.exit_code == 1 and not (tmp_path / "html").exists()


@pytest.mark.bad_input(
    "a whole-book run whose build folder lacks a chapter of the table of contents at the end",
    "exit 1 naming the missing chapter instead of publishing a book without it",
)
def test_whole_book_build_requires_every_chapter(two_chapter_book: Path, tmp_path: Path) -> None:
    book = Book(two_chapter_book, tmp_path / "build", html_dir=tmp_path / "html")
    _fake_executed(book, "tiny_chapter")
    with pytest.raises(IncompleteBuild, match="lacks chapter\\(s\\) tiny_two"):
        book.build_html(require_all=True)
    assert not (tmp_path / "html").exists()
