"""The book's pages: the table of contents, the chapters and their ``parameters`` cells.

Every page listed in ``book/_toc.yml`` resolves to a :class:`Chapter`; a notebook chapter
carries the assignments of its cell tagged ``parameters`` (:func:`parameters_cell`), which
must declare :data:`RUNNER_PARAMETERS`. :func:`_prune_toc` and :func:`_append_to_toc` edit a
toc for the build copy.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nbformat
import yaml

from .errors import BookError

#: Parameters every chapter declares and the runner sets itself.
RUNNER_PARAMETERS: tuple[str, ...] = ("preset", "results_dir", "seed")


@dataclass(frozen=True)
class Parameter:
    """One assignment in a chapter's ``parameters`` cell.

    ``annotation`` is the text of its annotation (``"int | None"``), or None when the
    assignment has none (the type of the default is then the contract).
    """

    name: str
    default: Any
    source: str
    literal: bool
    annotation: str | None = None


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
            targets, value, annotation = node.targets, node.value, None
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
            annotation = ast.get_source_segment(src, node.annotation)
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
            params[target.id] = Parameter(target.id, default, text, literal, annotation)
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
