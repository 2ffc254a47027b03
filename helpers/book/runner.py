"""Execute the book's chapters with papermill, then build the HTML with Jupyter Book.

One execution feeds both the HTML and the tests: every notebook chapter listed in
``book/_toc.yml`` is executed by papermill (project kernel ``sr-book``) into a build copy
of the book (``build/book/``), a page "How this book was built" is written beside the
executed copies, and Jupyter Book turns that copy into ``book/_build/html`` with
``execute_notebooks: off``.

Usage::

    python -m helpers.book --preset embedded                 # the whole book
    python -m helpers.book --preset smoke --only lam -p scale 4
    python -m helpers.book --list                            # chapters and their parameters
    python -m helpers.book --html-only                       # rebuild HTML from executed copies

Bad input (an unknown chapter, preset or ``-p`` name, a value of the wrong type, an
unregistered kernel) is reported before any kernel starts, with the valid choices. A failing
chapter stops the run, names the chapter and the failing cell, and leaves no HTML behind
(a stale ``book/_build/html`` is removed, so nothing claims the run succeeded). Exit codes:
0 success, 1 a chapter or the HTML build failed, 2 bad input.
"""

from __future__ import annotations

import argparse
import ast
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import yaml

from ..presets import PRESETS

#: Parameters every chapter declares and the runner sets itself.
RUNNER_PARAMETERS: tuple[str, ...] = ("preset", "results_dir", "seed")
#: The project's Jupyter kernel (registered by ``make book`` / ``make test``).
DEFAULT_KERNEL = "sr-book"
#: Name of the generated page listing how the book was built.
BUILT_WITH = "built_with"
#: Never copied into the build copy (``results`` is where chapters run by hand write).
_SKIP_COPY = ("_build", ".ipynb_checkpoints", "__pycache__", ".jupyter_cache", "results")

REPO_ROOT = Path(__file__).resolve().parents[2]


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


class HtmlBuildFailed(BookError):
    """Jupyter Book exited non-zero."""

    exit_code = 1


# --------------------------------------------------------------------------------------
# The table of contents and the chapters' parameters cells
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """One assignment in a chapter's ``parameters`` cell."""

    name: str
    default: Any
    source: str
    literal: bool


@dataclass
class Chapter:
    """A page of the book: a notebook (executed) or a markdown page (copied)."""

    name: str
    path: Path
    title: str = ""
    parameters: dict[str, Parameter] = field(default_factory=dict)

    @property
    def is_notebook(self) -> bool:
        """True for ``.ipynb`` chapters, the ones papermill executes."""
        return self.path.suffix == ".ipynb"


def toc_files(toc: dict[str, Any]) -> list[str]:
    """Every ``file`` of a Jupyter Book toc (``root`` first), in reading order."""
    files: list[str] = [str(toc["root"])] if "root" in toc else []

    def walk(entries: Iterable[dict[str, Any]]) -> None:
        for entry in entries or []:
            if "file" in entry:
                files.append(str(entry["file"]))
            for key in ("parts", "chapters", "sections"):
                walk(entry.get(key, []))

    for key in ("parts", "chapters", "sections"):
        walk(toc.get(key, []))
    return files


def _strip_suffix(name: str) -> str:
    for suffix in (".ipynb", ".md", ".rst"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def read_toc(book_dir: Path) -> dict[str, Any]:
    """Load ``<book_dir>/_toc.yml`` (a clear error when it is missing or empty)."""
    path = book_dir / "_toc.yml"
    if not path.is_file():
        raise BookError(f"no table of contents at {path}")
    toc = yaml.safe_load(path.read_text())
    if not isinstance(toc, dict) or "root" not in toc:
        raise BookError(f"{path} is not a Jupyter Book toc (it needs a 'root' entry)")
    return toc


def _title(path: Path) -> str:
    """The first level-1 heading of a markdown page or notebook (else the file stem)."""
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        texts = [c.source for c in nb.cells if c.cell_type == "markdown"]
    else:
        texts = [path.read_text()]
    for text in texts:
        for line in text.splitlines():
            if line.startswith("# "):
                return line[2:].strip()
    return path.stem


def parameters_cell(path: Path) -> dict[str, Parameter]:
    """Parse the cell tagged ``parameters`` of a notebook into its assignments.

    Defaults are evaluated with :func:`ast.literal_eval` where possible; other
    expressions are kept as source text (``literal=False``).
    """
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise BookError(
            f"{path.name} has no cell tagged 'parameters'; every chapter declares "
            f"{', '.join(RUNNER_PARAMETERS)} in one"
        )
    src = cells[0].source
    try:
        tree = ast.parse(src)
    except SyntaxError as exc:
        raise BookError(f"{path.name}: the parameters cell is not valid Python: {exc}") from exc
    params: dict[str, Parameter] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            text = ast.get_source_segment(src, value) or ""
            try:
                default, literal = ast.literal_eval(value), True
            except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
                default, literal = None, False
            params[target.id] = Parameter(target.id, default, text, literal)
    missing = [p for p in RUNNER_PARAMETERS if p not in params]
    if missing:
        raise BookError(
            f"{path.name}: the parameters cell must declare {', '.join(RUNNER_PARAMETERS)}; "
            f"missing: {', '.join(missing)}"
        )
    return params


def load_chapters(book_dir: Path) -> list[Chapter]:
    """Every page of the toc, resolved to a file, notebooks with their parameters."""
    toc = read_toc(book_dir)
    chapters: list[Chapter] = []
    for entry in toc_files(toc):
        stem = _strip_suffix(entry)
        candidates = [book_dir / entry] if entry != stem else []
        candidates += [book_dir / f"{stem}{s}" for s in (".ipynb", ".md", ".rst")]
        path = next((c for c in candidates if c.is_file()), None)
        if path is None:
            raise BookError(
                f"_toc.yml lists {entry!r} but no {stem}.ipynb or {stem}.md is in {book_dir}"
            )
        chapter = Chapter(name=Path(stem).name, path=path, title=_title(path))
        if chapter.is_notebook:
            chapter.parameters = parameters_cell(path)
        chapters.append(chapter)
    return chapters


# --------------------------------------------------------------------------------------
# Validation of the command line, before any kernel starts
# --------------------------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """Turn a ``-p`` value into Python like papermill's CLI does.

    ``True``/``False``/``None``, then int, then float; a value that looks like a Python
    list, tuple, dict or quoted string is read with :func:`ast.literal_eval`; anything else
    stays a string.
    """
    if text in ("True", "False", "None"):
        return {"True": True, "False": False, "None": None}[text]
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    if text[:1] in "[({'\"":
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError):
            pass
    return text


def _coerce(chapter: str, param: Parameter, raw: str, value: Any) -> Any:
    """Check ``value`` against the type of the declared default (None passes)."""
    default = param.default
    if not param.literal or default is None or value is None:
        return value
    if isinstance(default, str):
        return value if isinstance(value, str) else raw
    ok = True
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, list | tuple):
        ok = isinstance(value, list | tuple)
    elif isinstance(default, dict):
        ok = isinstance(value, dict)
    if not ok:
        raise BookError(
            f"-p {param.name} {raw}: chapter {chapter!r} declares "
            f"{param.name} = {param.source} ({type(default).__name__}); "
            f"got {type(value).__name__}"
        )
    return value


@dataclass
class Plan:
    """What a run will execute: chapters in order, each with its papermill parameters."""

    preset: str
    chapters: list[Chapter]
    executed: list[Chapter]
    parameters: dict[str, dict[str, Any]]
    kernel: str


def _valid_list(names: Iterable[str]) -> str:
    names = list(names)
    return ", ".join(names) if names else "(none)"


def check_kernel(kernel: str) -> None:
    """Fail with the registration command when ``kernel`` is not a known kernelspec."""
    from jupyter_client.kernelspec import KernelSpecManager

    specs = KernelSpecManager().find_kernel_specs()
    if kernel not in specs:
        raise BookError(
            f"Jupyter kernel {kernel!r} is not registered (available: "
            f"{_valid_list(sorted(specs))}). Register the project's kernel with\n"
            f"    {sys.executable} -m ipykernel install --sys-prefix --name {kernel}\n"
            "(`make book` and `make test` do this)."
        )


def make_plan(
    book_dir: Path,
    *,
    preset: str,
    only: Sequence[str] = (),
    params: Sequence[tuple[str, str]] = (),
    seed: int = 0,
    results_dir: Path,
    kernel: str = DEFAULT_KERNEL,
    check_kernel_exists: bool = True,
) -> Plan:
    """Validate everything the user asked for and return what to execute.

    Raises :class:`BookError` (listing the valid choices) for an unknown preset, chapter or
    parameter name, a value of the wrong type, or an unregistered kernel.
    """
    if preset not in PRESETS:
        raise BookError(f"unknown preset {preset!r}; valid presets: {_valid_list(PRESETS)}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise BookError(f"seed must be a non-negative integer, got {seed!r}")
    chapters = load_chapters(book_dir)
    notebooks = [c for c in chapters if c.is_notebook]
    by_name = {c.name: c for c in notebooks}
    if only:
        executed = []
        for name in only:
            key = Path(_strip_suffix(name)).name
            if key not in by_name:
                pages = [c.name for c in chapters if not c.is_notebook]
                extra = f" ({', '.join(pages)} are markdown pages, not executed)" if pages else ""
                raise BookError(
                    f"unknown chapter {name!r}; chapters in {book_dir / '_toc.yml'}: "
                    f"{_valid_list(by_name)}{extra}"
                )
            if by_name[key] not in executed:
                executed.append(by_name[key])
    else:
        executed = notebooks

    extras: dict[str, tuple[str, Any]] = {}
    for name, raw in params:
        if name == "preset":
            raise BookError("set the preset with --preset, not -p preset")
        if name == "results_dir":
            raise BookError("set the results directory with --results-dir, not -p results_dir")
        if name == "seed":
            raise BookError("set the seed with --seed, not -p seed")
        extras[name] = (raw, parse_value(raw))
    for name in extras:
        # With --only, every chosen chapter must declare the name; for the whole book, at
        # least one must (it is then passed to the chapters that declare it).
        declaring = [c for c in executed if name in c.parameters]
        if not declaring or (only and len(declaring) < len(executed)):
            lacking = [c for c in executed if name not in c.parameters]
            lines = [
                f"  {c.name}: {_valid_list(p for p in c.parameters if p not in RUNNER_PARAMETERS)}"
                for c in lacking
            ]
            raise BookError(
                f"unknown parameter {name!r} for chapter(s) {_valid_list(c.name for c in lacking)};"
                " parameters each chapter declares (besides "
                f"{', '.join(RUNNER_PARAMETERS)}):\n" + "\n".join(lines)
            )

    per_chapter: dict[str, dict[str, Any]] = {}
    for chapter in executed:
        values: dict[str, Any] = {
            "preset": preset,
            "results_dir": str(results_dir),
            "seed": seed,
        }
        for name, (raw, value) in extras.items():
            if name in chapter.parameters:
                values[name] = _coerce(chapter.name, chapter.parameters[name], raw, value)
        per_chapter[chapter.name] = values
    if check_kernel_exists and executed:
        check_kernel(kernel)
    return Plan(preset, chapters, executed, per_chapter, kernel)


# --------------------------------------------------------------------------------------
# Execution
# --------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def git_commit(repo: Path = REPO_ROOT) -> str:
    """``git rev-parse HEAD`` (``+dirty`` when the work tree differs), or ``unknown``."""

    def git(*args: str) -> str:
        cmd = ["git", "-C", str(repo), *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=30).stdout

    try:
        head, dirty = git("rev-parse", "HEAD").strip(), git("status", "--porcelain").strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


_ENV_PROBE = """
import json, platform, sys
out = {"python": platform.python_version(), "platform": platform.platform()}
for mod in ("torch", "torchvision", "numpy", "matplotlib", "papermill", "jupyter_book"):
    try:
        out[mod] = __import__(mod).__version__
    except Exception as exc:
        out[mod] = f"unavailable ({type(exc).__name__})"
try:
    import torch
    out["device"] = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
except Exception:
    pass
print(json.dumps(out))
"""


def kernel_environment(kernel: str) -> dict[str, Any]:
    """Versions seen by the kernel's own Python (python, torch, numpy, ...)."""
    from jupyter_client.kernelspec import KernelSpecManager

    try:
        python = KernelSpecManager().get_kernel_spec(kernel).argv[0]
        proc = subprocess.run(
            [python, "-c", _ENV_PROBE], capture_output=True, text=True, timeout=300, check=True
        )
        env = json.loads(proc.stdout.strip().splitlines()[-1])
    except Exception as exc:  # the page still builds; it says what went wrong
        env = {"error": f"{type(exc).__name__}: {exc}"}
    env["kernel"] = kernel
    return env


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
    ) -> dict[str, Any]:
        """Execute one chapter with papermill into the build copy; return its run record.

        The kernel's working directory is the build copy, so paths relative to the book
        folder work. Raises :class:`ChapterFailed` naming the failing cell.
        """
        import papermill as pm
        from papermill.exceptions import PapermillExecutionError

        self.sync_copy()
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.results_dir.mkdir(parents=True, exist_ok=True)
        record_path = self.runs_dir / f"{chapter.name}.json"
        record_path.unlink(missing_ok=True)
        results_path = self.results_dir / f"{chapter.name}.json"
        results_path.unlink(missing_ok=True)
        output = self.copy_dir / f"{chapter.name}.ipynb"
        failed_dir = self.build_dir / "failed"
        (failed_dir / output.name).unlink(missing_ok=True)

        # results_dir relative to the kernel's working directory (the build copy), so the
        # published "injected-parameters" cell shows no machine-specific path
        injected = dict(parameters)
        if "results_dir" in injected:
            injected["results_dir"] = os.path.relpath(injected["results_dir"], self.copy_dir)
        started = dt.datetime.now(dt.UTC)
        t0 = time.perf_counter()
        try:
            pm.execute_notebook(
                str(chapter.path),
                str(output),
                parameters=injected,
                kernel_name=kernel,
                cwd=str(self.copy_dir),
                progress_bar=False,
                log_output=False,
                execution_timeout=cell_timeout,
            )
        except PapermillExecutionError as exc:
            kept = self._keep_failed(output, failed_dir)
            # papermill inserts one "injected-parameters" cell after the parameters cell
            index = exc.cell_index
            nb = nbformat.read(chapter.path, as_version=4)
            tagged = [
                i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])
            ]
            if tagged and index > tagged[0]:
                index -= 1
            head = "\n".join(f"    {line}" for line in (exc.source or "").splitlines()[:6])
            raise ChapterFailed(
                chapter.name,
                f"chapter {chapter.name!r} failed in cell {index} of {chapter.path.name} "
                f"(0-based; In [{exec_count_str(exc.exec_count)}]) with "
                f"{exc.ename}: {exc.evalue}\n{head}\n"
                f"the executed notebook with the traceback is at {kept}",
                cell_index=index,
                source=exc.source or "",
                output=kept,
            ) from exc
        except KeyboardInterrupt:
            self._keep_failed(output, failed_dir)
            raise
        except Exception as exc:  # dead kernel, cell timeout, unreadable notebook, ...
            kept = self._keep_failed(output, failed_dir)
            raise ChapterFailed(
                chapter.name,
                f"chapter {chapter.name!r} failed: {type(exc).__name__}: {exc}\n"
                f"the partly executed notebook is at {kept}",
                output=kept,
            ) from exc
        wall = time.perf_counter() - t0
        if not results_path.is_file():
            kept = self._keep_failed(output, failed_dir)
            raise ChapterFailed(
                chapter.name,
                f"chapter {chapter.name!r} ran but wrote no {results_path}; every chapter ends "
                f"with helpers.results.write_results(results_dir, {chapter.name!r}, ...)",
                output=kept,
            )
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
        }
        record_path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
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

    def run_records(self) -> dict[str, dict[str, Any]]:
        """The run record of every chapter with an executed copy, by chapter name."""
        records = {}
        for path in sorted(self.runs_dir.glob("*.json")) if self.runs_dir.is_dir() else []:
            if (self.copy_dir / f"{path.stem}.ipynb").is_file():
                records[path.stem] = json.loads(path.read_text())
        return records

    def remove_html(self) -> bool:
        """Delete the published HTML (after a failure); True when there was some."""
        if self.html_dir.exists():
            shutil.rmtree(self.html_dir)
            return True
        return False

    def build_html(self, *, strict: bool = False, quiet: bool = True) -> Path:
        """Build the HTML from the executed copies; return ``html_dir/index.html``.

        Chapters with no executed copy are left out of the toc (and listed as such on the
        "How this book was built" page). Jupyter Book writes to a temporary folder that
        replaces ``html_dir`` only when the build succeeded.
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
        toc = _prune_toc(read_toc(self.book_dir), {c.name for c in missing})
        toc = _append_to_toc(toc, BUILT_WITH)
        (self.copy_dir / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
        page = built_with_page(chapters, records, self.results_dir, self.book_dir)
        (self.copy_dir / f"{BUILT_WITH}.md").write_text(page)

        self.html_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".html-build-", dir=self.html_dir.parent))
        log = self.build_dir / "jupyter-book.log"
        cmd = [
            sys.executable,
            "-c",
            "from jupyter_book.cli.main import main; main()",
            "build",
            str(self.copy_dir),
            "--path-output",
            str(staging),
            "--builder",
            "html",
        ]
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


def write_favicon_ico(path: Path) -> None:
    """Draw the book's icon (as in ``_static/favicon.svg``) into ``favicon.ico``.

    Browsers ask the site root for ``/favicon.ico`` on pages without an icon link (Jupyter
    Book's redirecting ``index.html``); serving one keeps the console free of 404s.
    """
    from PIL import Image, ImageDraw

    img = Image.new("RGBA", (32, 32), (0, 0, 0, 0))
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle((0, 0, 31, 31), radius=6, fill="#1f4e79")
    for box, colour in [
        ((4, 4, 15, 15), "#9cc3e6"),
        ((16, 16, 27, 27), "#9cc3e6"),
        ((16, 4, 21, 9), "#ffffff"),
        ((22, 10, 27, 15), "#ffffff"),
    ]:
        draw.rectangle(box, fill=colour)
    img.save(path, format="ICO", sizes=[(32, 32), (16, 16)])


def exec_count_str(count: int | None) -> str:
    """Papermill's execution count, or a blank as Jupyter shows it."""
    return " " if count is None else str(count)


def _prune_toc(toc: dict[str, Any], drop: set[str]) -> dict[str, Any]:
    """A copy of ``toc`` without the entries whose file stem is in ``drop``."""

    def prune(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        kept = []
        for entry in entries or []:
            if "file" in entry and Path(_strip_suffix(str(entry["file"]))).name in drop:
                continue
            entry = dict(entry)
            for key in ("parts", "chapters", "sections"):
                if key in entry:
                    entry[key] = prune(entry[key])
            if "caption" in entry and not entry.get("chapters") and "file" not in entry:
                continue  # a part left empty
            kept.append(entry)
        return kept

    out = dict(toc)
    for key in ("parts", "chapters", "sections"):
        if key in out:
            out[key] = prune(out[key])
    return out


def _append_to_toc(toc: dict[str, Any], name: str) -> dict[str, Any]:
    """Add ``name`` as the last chapter (as a part of its own in a toc with parts)."""
    out = dict(toc)
    if "parts" in out:
        out["parts"] = [
            *out["parts"],
            {"caption": "About this build", "chapters": [{"file": name}]},
        ]
    else:
        out["chapters"] = [*(out.get("chapters") or []), {"file": name}]
    return out


# --------------------------------------------------------------------------------------
# The "How this book was built" page
# --------------------------------------------------------------------------------------


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        text = f"{value:.6g}"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value)
    return text.replace("|", "\\|").replace("\n", " ")


def flatten(obj: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Dotted keys to scalars; short lists of scalars stay one value, long ones are counted."""
    if isinstance(obj, dict):
        rows: list[tuple[str, Any]] = []
        for key, value in obj.items():
            rows += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return rows
    if isinstance(obj, list):
        if len(obj) <= 8 and all(not isinstance(v, dict | list) for v in obj):
            return [(prefix, "[" + ", ".join(_fmt(v) for v in obj) + "]")]
        return [(prefix, f"[{len(obj)} items, see the JSON below]")]
    return [(prefix, obj)]


def _table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_fmt(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def built_with_page(
    chapters: Sequence[Chapter],
    records: dict[str, dict[str, Any]],
    results_dir: Path,
    book_dir: Path,
) -> str:
    """MyST markdown for the page "How this book was built"."""
    notebooks = [c for c in chapters if c.is_notebook]
    out = [
        "# How this book was built",
        "",
        "Every chapter below was executed top to bottom by "
        "[papermill](https://papermill.readthedocs.io) with the parameters shown, through "
        "`python -m helpers.book`, and this HTML was then built by Jupyter Book from the "
        "executed notebooks (no cell was re-run at build time). To reproduce one chapter:",
        "",
        "```bash",
        "papermill book/<chapter>.ipynb out.ipynb -k sr-book -p preset <preset> -p seed <seed>",
        "```",
        "",
        f"Page generated {dt.datetime.now(dt.UTC).isoformat(timespec='seconds')}.",
        "",
        "## Chapters",
        "",
    ]
    rows = []
    for chapter in notebooks:
        rec = records.get(chapter.name)
        if rec is None:
            rows.append([chapter.title, "not executed", "", "", "", ""])
            continue
        params = {k: v for k, v in rec["parameters"].items() if k != "preset"}
        stale = rec.get("source_sha256") != _sha256(chapter.path)
        commit = str(rec.get("commit", "unknown"))
        rows.append(
            [
                f"[{chapter.title}]({chapter.name}.ipynb)"
                + (" (source changed since)" if stale else ""),
                rec["preset"],
                ", ".join(f"{k}={v!r}" for k, v in params.items()),
                _duration(float(rec["wall_s"])),
                str(rec["started_utc"])[:16].replace("T", " "),
                commit[:10] + ("+dirty" if commit.endswith("+dirty") else ""),
            ]
        )
    header = ["chapter", "preset", "parameters", "wall time", "started (UTC)", "commit"]
    out += [_table(header, rows), ""]
    total = sum(float(r["wall_s"]) for r in records.values())
    out += [f"Total execution time: {_duration(total)}.", ""]
    missing = [c.title for c in notebooks if c.name not in records]
    if missing:
        out += [
            ":::{warning}",
            "Not executed, so left out of this build: " + ", ".join(missing) + ".",
            ":::",
            "",
        ]

    out += ["## Environment", ""]
    envs: dict[str, tuple[dict[str, Any], list[str]]] = {}
    for name, rec in records.items():
        env = dict(rec.get("environment") or {})
        env["commit"] = rec.get("commit", "unknown")
        key = json.dumps(env, sort_keys=True)
        envs.setdefault(key, (env, []))[1].append(name)
    for env, names in envs.values():
        if len(envs) > 1:
            out += [f"Used by: {', '.join(names)}", ""]
        out += [_table(["", "version"], sorted(env.items())), ""]

    out += [
        "## Results",
        "",
        f"Each chapter ends by writing its headline numbers to `<results_dir>/<chapter>.json` "
        f"(here `{results_dir.name}/`); they are collected below.",
        "",
    ]
    for chapter in notebooks:
        path = results_dir / f"{chapter.name}.json"
        if chapter.name not in records or not path.is_file():
            continue
        data = json.loads(path.read_text())
        out += [f"### {chapter.title}", "", f"`{path.name}`", ""]
        out += [_table(["key", "value"], flatten(data)), ""]
        out += [
            f":::{{dropdown}} Full JSON ({path.name})",
            "```json",
            json.dumps(data, indent=2, sort_keys=True),
            "```",
            ":::",
            "",
        ]
    return "\n".join(out)


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
    p.add_argument("--seed", type=int, default=0, help="the seed parameter (default 0)")
    p.add_argument("--kernel", default=DEFAULT_KERNEL, help=f"kernel (default {DEFAULT_KERNEL})")
    p.add_argument("--book", type=Path, default=REPO_ROOT / "book", help="source book folder")
    p.add_argument("--build-dir", type=Path, default=REPO_ROOT / "build", help="build folder")
    p.add_argument("--results-dir", type=Path, default=None, help="default: BUILD_DIR/results")
    p.add_argument(
        "--html-dir", type=Path, default=None, help="default: BOOK/_build/html (replaced whole)"
    )
    p.add_argument("--cell-timeout", type=int, default=None, help="seconds per cell (no limit)")
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
            lines.append(f"    {param.name} = {param.source}")
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
            if args.only or args.parameter:
                raise BookError("--html-only executes nothing: drop --only and -p")
            index = book.build_html(strict=args.strict, quiet=False)
            print(f"HTML: {index}")
            return 0
        plan = book.plan(
            preset=args.preset,
            only=args.only,
            params=[tuple(p) for p in args.parameter],
            seed=args.seed,
            kernel=args.kernel,
        )
        _execute_plan(book, plan, cell_timeout=args.cell_timeout)
        if args.no_html:
            print(f"executed copies: {book.copy_dir}; results: {book.results_dir}")
            return 0
        index = book.build_html(strict=args.strict, quiet=False)
        print(f"HTML: {index}")
        return 0
    except KeyboardInterrupt:
        # --no-html builds no HTML, so the HTML there is not this run's to invalidate
        removed = not args.no_html and book.remove_html()
        print("interrupted" + (f"; removed the stale HTML at {book.html_dir}" if removed else ""))
        return 130
    except BookError as exc:
        removed = False
        if exc.exit_code == 1 and not args.no_html:
            removed = book.remove_html()
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
        )
        bar.write(f"{chapter.name}: {_duration(record['wall_s'])}", file=sys.stderr)
    bar.close()


def main() -> None:
    """Entry point for ``python -m helpers.book``."""
    sys.exit(run())


if __name__ == "__main__":
    main()
