"""The book: the papermill runner that executes chapters and builds the HTML.

- ``errors``: :class:`BookError` and its kinds, each with the CLI's exit code.
- ``chapters``: the table of contents, :class:`Chapter`, :class:`Parameter` and the
  chapters' ``parameters`` cells; toc edits for the build copy.
- ``plan``: validation before any kernel starts: presets, ``--only``, ``-p``/``-y`` values
  (:func:`parse_value`, :func:`parse_yaml`), the kernel; :func:`make_plan` and :class:`Plan`.
- ``environment``: the git commit and the kernel's versions, for the run records.
- ``builtwith``: the page "How this book was built" (tables, :func:`flatten`) and the favicon.
- ``lock``: :class:`FolderLock`, one run at a time per build, results or HTML folder.
- ``output``: the kernel's output to a log and its progress to the terminal, progress bars
  stripped from the executed copy.
- ``runner``: :class:`Book` (execution with papermill, the HTML build) and the CLI
  (``python -m helpers.book``: :func:`run`, :func:`main`).
- ``parallel``: ``--executor dask``: independent chapters at once on a Dask cluster, each
  after the chapters whose cached networks it reuses (:data:`~helpers.book.parallel.AFTER`).

Imports run one way: ``chapters`` and ``lock`` use ``errors`` (``output`` nothing);
``plan`` and ``builtwith`` use ``chapters``; ``parallel`` uses ``plan``, ``environment``
and ``errors``; ``runner`` uses them all.
May import: ``helpers.presets``, ``helpers.parameters``, ``helpers.files`` and
``helpers.sweep`` only (chapters run in kernels; the runner stays light: no torch).
"""

from .builtwith import BUILT_WITH, built_with_page, flatten, write_favicon_ico
from .chapters import (
    RUNNER_PARAMETERS,
    Chapter,
    Parameter,
    load_chapters,
    parameters_cell,
    read_toc,
    toc_files,
)
from .environment import REPO_ROOT, git_commit, kernel_environment
from .errors import BookError, ChapterFailed, HtmlBuildFailed, IncompleteBuild
from .lock import FolderLock
from .plan import (
    DEFAULT_KERNEL,
    Plan,
    check_kernel,
    make_plan,
    parse_value,
    parse_yaml,
)
from .runner import Book, main, run

__all__ = [
    "BUILT_WITH",
    "DEFAULT_KERNEL",
    "REPO_ROOT",
    "RUNNER_PARAMETERS",
    "Book",
    "BookError",
    "Chapter",
    "ChapterFailed",
    "FolderLock",
    "HtmlBuildFailed",
    "IncompleteBuild",
    "Parameter",
    "Plan",
    "built_with_page",
    "check_kernel",
    "flatten",
    "git_commit",
    "kernel_environment",
    "load_chapters",
    "main",
    "make_plan",
    "parameters_cell",
    "parse_value",
    "parse_yaml",
    "read_toc",
    "run",
    "toc_files",
    "write_favicon_ico",
]
