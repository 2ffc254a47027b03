"""Execute the book's chapters with papermill, then build the HTML with Jupyter Book.

One execution feeds both the HTML and the tests: every notebook chapter listed in
``book/_toc.yml`` is executed by papermill (project kernel ``sr-book``) into a build copy
of the book (``build/book/``), a page "How this book was built" is written beside the
executed copies, and Jupyter Book turns that copy into ``book/_build/html`` with
``execute_notebooks: off``.

Usage::

    python -m helpers.book --preset embedded                 # the whole book
    python -m helpers.book --preset smoke --only lam -p scale 4
    python -m helpers.book --only lam -y "models: [edsr_m, /path/to/my_x4.pth]"
    python -m helpers.book --list                            # chapters and their parameters
    python -m helpers.book --html-only                       # rebuild HTML from executed copies
    python -m helpers.book --executor dask --workers 2       # independent chapters in parallel

The presets (``smoke``, ``embedded``, ``benchmark``, ``full``) are those of
:mod:`helpers.presets` (README.md, "Presets"). Bad input (an unknown chapter, preset or
parameter name, bad ``-y`` YAML, a value of the wrong type, an unregistered kernel) is
reported before any kernel starts, with the valid choices (:mod:`helpers.book.plan`). A
failing chapter stops the run, names the chapter and the failing cell, and leaves no HTML
behind (a stale ``book/_build/html`` is removed, so nothing claims the run succeeded). Exit
codes: 0 success, 1 a chapter or the HTML build failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import yaml

from ..files import write_text
from ..presets import PRESETS
from . import parallel
from .builtwith import BUILT_WITH, _duration, _sha256, built_with_page, write_favicon_ico
from .chapters import Chapter, _append_to_toc, _prune_toc, load_chapters, read_toc
from .environment import REPO_ROOT, git_commit, kernel_environment
from .errors import BookError, ChapterFailed, HtmlBuildFailed, IncompleteBuild
from .lock import FolderLock
from .output import KernelStream, cell_progress, tidy_executed
from .plan import DEFAULT_KERNEL, Plan, make_plan

#: Never copied into the build copy (``results`` is where chapters run by hand write).
_SKIP_COPY = ("_build", ".ipynb_checkpoints", "__pycache__", ".jupyter_cache", "results")


@dataclass
class Book:
    """A source book and its build folders.

    ``book_dir`` holds ``_config.yml``, ``_toc.yml`` and the chapters; ``build_dir/book`` is
    the executed copy, ``build_dir/runs`` one JSON record per executed chapter,
    ``results_dir`` the chapters' results, and ``html_dir`` (``<book_dir>/_build/html``
    unless given) the published HTML.
    """

    book_dir: Path = REPO_ROOT / "book"
    build_dir: Path = REPO_ROOT / "build"
    results_dir: Path | None = None
    html_dir: Path | None = None

    def __post_init__(self) -> None:
        self.book_dir = Path(self.book_dir).resolve()
        self.build_dir = Path(self.build_dir).resolve()
        self.results_dir = Path(self.results_dir or self.build_dir / "results").resolve()
        self.html_dir = Path(self.html_dir or self.book_dir / "_build" / "html").resolve()

    @property
    def copy_dir(self) -> Path:
        """The build copy of the book that papermill writes into and Jupyter Book reads."""
        return self.build_dir / "book"

    @property
    def runs_dir(self) -> Path:
        """One ``<chapter>.json`` run record per successfully executed chapter."""
        return self.build_dir / "runs"

    def plan(self, **kwargs: Any) -> Plan:
        """:func:`make_plan` for this book (results go to ``self.results_dir``)."""
        return make_plan(self.book_dir, results_dir=self.results_dir, **kwargs)

    def sync_copy(self) -> None:
        """Copy everything but notebooks and build outputs from the source into the copy."""
        self.copy_dir.mkdir(parents=True, exist_ok=True)

        def ignore(folder: str, names: list[str]) -> set[str]:
            return {n for n in names if n in _SKIP_COPY or n.endswith(".ipynb")}

        shutil.copytree(self.book_dir, self.copy_dir, ignore=ignore, dirs_exist_ok=True)

    def execute(
        self,
        chapter: Chapter,
        parameters: dict[str, Any],
        *,
        kernel: str = DEFAULT_KERNEL,
        cell_timeout: int | None = None,
        environment: dict[str, Any] | None = None,
        commit: str | None = None,
        on_progress: Callable[[str], None] | None = None,
        sync: bool = True,
    ) -> dict[str, Any]:
        """Execute one chapter with papermill into the build copy; return its run record.

        The kernel's output goes to ``build_dir/logs/<chapter>.log``; its progress bars to
        ``on_progress`` (the latest bar, one line) and, once it succeeded, out of the
        executed copy (:mod:`helpers.book.output`).

        The kernel's working directory is the build copy, so paths relative to the book
        folder work. Raises :class:`ChapterFailed` naming the failing cell. ``sync=False``
        skips refreshing the build copy (chapters run in parallel: the runner did it once).
        """
        import papermill as pm
        from papermill.exceptions import PapermillExecutionError

        if sync:
            self.sync_copy()
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.results_dir.mkdir(parents=True, exist_ok=True)
        record_path = self.runs_dir / f"{chapter.name}.json"
        results_path = self.results_dir / f"{chapter.name}.json"
        output = self.copy_dir / f"{chapter.name}.ipynb"
        # papermill writes into a staging folder: the previous executed copy, run record
        # and results of this chapter stay until this run succeeds, and a failure puts them
        # back as they were (it removes only what this run wrote)
        staged = self.build_dir / ".running" / f"{chapter.name}.ipynb"
        staged.parent.mkdir(parents=True, exist_ok=True)
        staged.unlink(missing_ok=True)
        failed_dir = self.build_dir / "failed"
        (failed_dir / output.name).unlink(missing_ok=True)
        before = _Snapshot(results_path)
        log_path = self.build_dir / "logs" / f"{chapter.name}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)

        # results_dir relative to the kernel's working directory (the build copy), so the
        # published "injected-parameters" cell shows no machine-specific path
        injected = dict(parameters)
        if "results_dir" in injected:
            injected["results_dir"] = os.path.relpath(injected["results_dir"], self.copy_dir)
        # the terminal line: "cell k/n" and the kernel's latest progress bar
        cells = nbformat.read(chapter.path, as_version=4).cells
        n_cells = len(cells) + 1  # + papermill's injected-parameters cell
        shown = {"cell": 0, "line": ""}

        def show(**change: Any) -> None:
            shown.update(change)
            if on_progress is not None:
                line = f" {shown['line']}" if shown["line"] else ""
                on_progress(f"cell {shown['cell']}/{n_cells}{line}")

        started = dt.datetime.now(dt.UTC)
        t0 = time.perf_counter()
        try:
            with cell_progress(lambda k: show(cell=k, line="")), log_path.open("w") as log:
                stream = KernelStream(log, lambda line: show(line=line))
                pm.execute_notebook(
                    str(chapter.path),
                    str(staged),
                    parameters=injected,
                    kernel_name=kernel,
                    cwd=str(self.copy_dir),
                    progress_bar=False,
                    log_output=True,  # papermill logs "Executing Cell k": cell_progress
                    stdout_file=stream,
                    stderr_file=stream,
                    execution_timeout=cell_timeout,
                )
        except BaseException as exc:
            before.restore()
            kept = self._keep_failed(staged, failed_dir)
            if isinstance(exc, PapermillExecutionError):
                # papermill inserts one "injected-parameters" cell after the parameters cell
                index = exc.cell_index
                tagged = [
                    i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", [])
                ]
                if tagged and index > tagged[0]:
                    index -= 1
                count = " " if exc.exec_count is None else exc.exec_count  # as Jupyter shows it
                head = "\n".join(f"    {line}" for line in (exc.source or "").splitlines()[:6])
                raise ChapterFailed(
                    chapter.name,
                    f"chapter {chapter.name!r} failed in cell {index} of {chapter.path.name} "
                    f"(0-based; In [{count}]) with {exc.ename}: {exc.evalue}\n{head}\n"
                    f"the executed notebook with the traceback is at {kept}; the kernel's "
                    f"output is in {log_path}",
                    cell_index=index,
                    source=exc.source or "",
                    output=kept,
                ) from exc
            if isinstance(exc, Exception):  # dead kernel, cell timeout, unreadable notebook, ...
                raise ChapterFailed(
                    chapter.name,
                    f"chapter {chapter.name!r} failed: {type(exc).__name__}: {exc}\n"
                    f"the partly executed notebook is at {kept}; the kernel's output is in "
                    f"{log_path}",
                    output=kept,
                ) from exc
            raise  # KeyboardInterrupt
        if not before.changed():
            raise ChapterFailed(
                chapter.name,
                f"chapter {chapter.name!r} ran but wrote no {results_path}; every chapter "
                f"ends with helpers.results.write_results(results_dir, {chapter.name!r}, ...)",
                output=self._keep_failed(staged, failed_dir),
            )
        wall = time.perf_counter() - t0
        record = {
            "chapter": chapter.name,
            "title": chapter.title,
            "preset": parameters.get("preset"),
            "parameters": {k: v for k, v in parameters.items() if k != "results_dir"},
            "wall_s": round(wall, 2),
            "started_utc": started.isoformat(timespec="seconds"),
            "kernel": kernel,
            "commit": commit if commit is not None else git_commit(),
            "source_sha256": _sha256(chapter.path),
            "environment": environment or {},
            "cell_seconds": tidy_executed(staged),
        }
        os.replace(staged, output)
        write_text(record_path, json.dumps(record, indent=2, sort_keys=True) + "\n")
        return record

    @staticmethod
    def _keep_failed(output: Path, failed_dir: Path) -> Path | None:
        """Move a failed chapter's output out of the build copy, so no build shows it."""
        if not output.is_file():
            return None
        failed_dir.mkdir(parents=True, exist_ok=True)
        target = failed_dir / output.name
        os.replace(output, target)
        return target

    @contextlib.contextmanager
    def locks(self, *, html: bool = True) -> Iterator[None]:
        """Hold the locks of a run: the build folder, the results folder and (``html``) the
        folder the HTML is published into, each once; a second run on any of them is
        refused. Taken in that order, released in reverse."""
        folders = {self.build_dir: "build folder"}  # paths resolved: one lock per folder
        if not self.results_dir.is_relative_to(self.build_dir):
            folders.setdefault(self.results_dir, "results folder")
        if html:
            folders.setdefault(self.html_dir.parent, "HTML folder")
        with contextlib.ExitStack() as held:
            for folder, what in folders.items():
                held.enter_context(FolderLock(folder, what))
            yield

    def run_records(self) -> dict[str, dict[str, Any]]:
        """The run record of every chapter with an executed copy, by chapter name."""
        return {
            path.stem: json.loads(path.read_text())
            for path in sorted(self.runs_dir.glob("*.json"))  # none when there is no folder
            if (self.copy_dir / f"{path.stem}.ipynb").is_file()
        }

    def remove_html(self) -> bool:
        """Delete the published HTML (after a failure); True when there was some."""
        if self.html_dir.exists():
            shutil.rmtree(self.html_dir)
            return True
        return False

    def build_html(
        self,
        *,
        strict: bool = False,
        quiet: bool = True,
        require_all: bool = False,
        deferred: Mapping[str, str] | None = None,
    ) -> Path:
        """Build the HTML from the executed copies; return ``html_dir/index.html``.

        Every executed chapter must still have its results (else :class:`IncompleteBuild`:
        something deleted them). Chapters with no executed copy are left out of the toc
        (listed on the "How this book was built" page, and on stderr unless ``quiet``);
        with ``require_all`` (a run of the whole book) a missing chapter is an
        :class:`IncompleteBuild` instead, unless it is one of the run's ``deferred``
        chapters (:attr:`Plan.deferred`, left out on purpose). Jupyter Book writes to a
        temporary folder that replaces ``html_dir`` only when the build succeeded.
        """
        chapters = load_chapters(self.book_dir)
        self.sync_copy()
        records = self.run_records()
        missing = [c for c in chapters if c.is_notebook and c.name not in records]
        if not any(c.is_notebook for c in chapters if c.name in records) and missing:
            raise BookError(
                "no chapter has been executed yet; run `python -m helpers.book` without "
                "--html-only first"
            )
        lost = sorted(n for n in records if not (self.results_dir / f"{n}.json").is_file())
        if lost:
            raise IncompleteBuild(
                f"chapter(s) {', '.join(lost)} were executed but their results are gone from "
                f"{self.results_dir} (deleted by another run or by hand); rerun them with "
                + " ".join(f"--only {n}" for n in lost)
            )
        if missing:
            names = ", ".join(c.name for c in missing)
            unplanned = [c.name for c in missing if c.name not in (deferred or {})]
            if require_all and unplanned:
                raise IncompleteBuild(
                    f"the build lacks chapter(s) {', '.join(unplanned)} of the table of "
                    "contents, though the "
                    "whole book was executed; was the build folder changed by another run?"
                )
            if not quiet:
                print(
                    f"note: the HTML leaves out chapter(s) not executed in {self.build_dir}: "
                    f"{names}",
                    file=sys.stderr,
                )
        toc = _prune_toc(read_toc(self.book_dir), {c.name for c in missing})
        toc = _append_to_toc(toc, BUILT_WITH)
        (self.copy_dir / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
        page = built_with_page(chapters, records, self.results_dir, self.book_dir)
        (self.copy_dir / f"{BUILT_WITH}.md").write_text(page)

        self.html_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".html-build-", dir=self.html_dir.parent))
        log = self.build_dir / "jupyter-book.log"
        cmd = [sys.executable, "-c", "from jupyter_book.cli.main import main; main()", "build"]
        cmd += [str(self.copy_dir), "--path-output", str(staging), "--builder", "html"]
        if strict:
            cmd.append("-W")
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=self.copy_dir)
            log.write_text(proc.stdout + "\n" + proc.stderr)
            built = staging / "_build" / "html"
            if proc.returncode != 0 or not (built / "index.html").is_file():
                tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
                raise HtmlBuildFailed(
                    f"jupyter-book build failed (exit {proc.returncode}); log: {log}\n{tail}"
                )
            write_favicon_ico(built / "favicon.ico")
            warnings = [ln for ln in proc.stderr.splitlines() if "WARNING" in ln]
            if warnings and not quiet:
                print("\n".join(warnings), file=sys.stderr)
            old = None
            if self.html_dir.exists():
                old = self.html_dir.with_name(f".html-old-{os.getpid()}")
                os.replace(self.html_dir, old)
            os.replace(built, self.html_dir)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return self.html_dir / "index.html"


class _Snapshot:
    """A file as it was before a chapter ran: did the run write it, and undo that."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stat = path.stat() if path.is_file() else None
        self.data = path.read_bytes() if self.stat else None

    def changed(self) -> bool:
        """True when the file was written (replaced or created) since the snapshot."""
        if not self.path.is_file():
            return False
        now = self.path.stat()
        return self.stat is None or (now.st_ino, now.st_mtime_ns) != (
            self.stat.st_ino,
            self.stat.st_mtime_ns,
        )

    def restore(self) -> None:
        """Put the file back as it was (delete it when it did not exist)."""
        if not self.changed():
            return
        if self.data is None:
            self.path.unlink(missing_ok=True)
        else:
            write_text(self.path, self.data.decode())


# --------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m helpers.book",
        description="Execute the book's chapters with papermill and build the HTML.",
    )
    p.add_argument(
        "--preset",
        default="embedded",
        help=f"one of {', '.join(PRESETS)} (default: embedded)",
    )
    p.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="CHAPTER",
        help="execute only this chapter (repeatable); the HTML keeps earlier executed copies",
    )
    p.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="a chapter parameter, parsed like papermill's -p (repeatable)",
    )
    p.add_argument(
        "-y",
        "--yaml",
        action="append",
        default=[],
        metavar="TEXT",
        help="chapter parameters as a YAML mapping, like papermill's -y (repeatable), e.g. "
        '-y "models: [edsr_m, /path/to/my_x4.pth]"; a name may not also be given with -p',
    )
    p.add_argument("--seed", type=int, default=0, help="the seed parameter (default 0)")
    p.add_argument("--kernel", default=DEFAULT_KERNEL, help=f"kernel (default {DEFAULT_KERNEL})")
    p.add_argument("--book", type=Path, default=REPO_ROOT / "book", help="source book folder")
    p.add_argument("--build-dir", type=Path, default=REPO_ROOT / "build", help="build folder")
    p.add_argument("--results-dir", type=Path, default=None, help="default: BUILD_DIR/results")
    p.add_argument(
        "--html-dir", type=Path, default=None, help="default: BOOK/_build/html (replaced whole)"
    )
    p.add_argument("--cell-timeout", type=int, default=None, help="seconds per cell (no limit)")
    p.add_argument(
        "--executor",
        choices=("local", "dask"),
        default="local",
        help="local: chapters one after another (default); dask: independent chapters in "
        "parallel on a Dask cluster (helpers.book.parallel)",
    )
    p.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="with --executor dask: a running scheduler (tcp://host:8786); default: a "
        "LocalCluster on this machine",
    )
    p.add_argument(
        "--workers", type=int, default=None, help="with --executor dask: LocalCluster processes (2)"
    )
    p.add_argument("--strict", action="store_true", help="treat Sphinx warnings as errors")
    p.add_argument("--list", action="store_true", help="list chapters and parameters, then exit")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--no-html", action="store_true", help="execute only; build no HTML")
    mode.add_argument(
        "--html-only", action="store_true", help="build HTML from the executed copies only"
    )
    return p


def _list(book: Book) -> str:
    lines = []
    for chapter in load_chapters(book.book_dir):
        if not chapter.is_notebook:
            lines.append(f"{chapter.name}  (markdown page)  {chapter.title}")
            continue
        lines.append(f"{chapter.name}  {chapter.title}")
        for param in chapter.parameters.values():
            ann = f": {param.annotation}" if param.annotation else ""
            lines.append(f"    {param.name}{ann} = {param.source}")
    return "\n".join(lines)


def run(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit code (0 ok, 1 failure, 2 bad input)."""
    args = _parser().parse_args(argv)
    book = Book(args.book, args.build_dir, args.results_dir, args.html_dir)
    try:
        if args.list:
            print(_list(book))
            return 0
        if args.html_only:
            if args.only or args.parameter or args.yaml:
                raise BookError("--html-only executes nothing: drop --only, -p and -y")
            with book.locks(html=True):
                index = book.build_html(strict=args.strict, quiet=False)
            print(f"HTML: {index}")
            return 0
        if args.executor == "local" and (args.scheduler or args.workers is not None):
            raise BookError("--scheduler and --workers go with --executor dask")
        if args.workers is not None and args.workers < 1:
            raise BookError(f"--workers must be >= 1, got {args.workers}")
        plan = book.plan(
            preset=args.preset,
            only=args.only,
            params=[tuple(p) for p in args.parameter],
            yaml_params=args.yaml,
            seed=args.seed,
            kernel=args.kernel,
        )
        for name, why in plan.deferred.items():
            print(
                f"note: a {plan.preset} run of the whole book leaves out {name}: {why}. Run it "
                f"by itself with --only {name} (same --build-dir; the HTML then includes it).",
                file=sys.stderr,
            )
        with book.locks(html=not args.no_html):
            if args.executor == "dask":
                parallel.execute(
                    book,
                    plan,
                    cell_timeout=args.cell_timeout,
                    scheduler=args.scheduler,
                    workers=args.workers,
                )
            else:
                _execute_plan(book, plan, cell_timeout=args.cell_timeout)
            if args.no_html:
                print(f"executed copies: {book.copy_dir}; results: {book.results_dir}")
                return 0
            index = book.build_html(
                strict=args.strict,
                quiet=False,
                require_all=not args.only,
                deferred=plan.deferred,
            )
        print(f"HTML: {index}")
        return 0
    except KeyboardInterrupt:
        # --no-html builds no HTML, so the HTML there is not this run's to invalidate
        removed = not args.no_html and book.remove_html()
        print("interrupted" + (f"; removed the stale HTML at {book.html_dir}" if removed else ""))
        return 130
    except BookError as exc:
        # a failure (exit 1) invalidates the HTML, unless this run was not to build any
        removed = exc.exit_code == 1 and not args.no_html and book.remove_html()
        print(f"error: {exc}", file=sys.stderr)
        if removed:
            print(f"removed the stale HTML at {book.html_dir}", file=sys.stderr)
        return exc.exit_code


def _execute_plan(book: Book, plan: Plan, *, cell_timeout: int | None = None) -> None:
    """Execute the plan's chapters in order with a progress bar; stop at the first failure."""
    from tqdm.auto import tqdm

    if not plan.executed:
        return
    environment = kernel_environment(plan.kernel)
    commit = git_commit()
    bar = tqdm(plan.executed, desc=f"chapters ({plan.preset})", unit="chapter", file=sys.stderr)
    for chapter in bar:
        bar.set_postfix_str(chapter.name)
        record = book.execute(
            chapter,
            plan.parameters[chapter.name],
            kernel=plan.kernel,
            cell_timeout=cell_timeout,
            environment=environment,
            commit=commit,
            on_progress=lambda line, name=chapter.name: bar.set_postfix_str(f"{name}: {line}"),
        )
        bar.write(f"{chapter.name}: {_duration(record['wall_s'])}", file=sys.stderr)
    bar.close()


def main() -> None:
    """Entry point for ``python -m helpers.book``."""
    sys.exit(run())


if __name__ == "__main__":
    main()
