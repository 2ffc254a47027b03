"""The book: the papermill runner that executes chapters and builds the HTML.

- ``runner``: the table of contents, chapters' parameters cells, validation of ``-p``
  values, execution with papermill, the "How this book was built" page, the CLI
  (``python -m helpers.book``).

May import anything in ``helpers`` (it imports almost nothing: chapters run in kernels).
"""

from .runner import (
    BUILT_WITH,
    DEFAULT_KERNEL,
    PRESETS,
    RUNNER_PARAMETERS,
    Book,
    BookError,
    Chapter,
    ChapterFailed,
    HtmlBuildFailed,
    Parameter,
    load_chapters,
    main,
    make_plan,
    parameters_cell,
    parse_value,
    read_toc,
    run,
    toc_files,
)

__all__ = [
    "BUILT_WITH",
    "DEFAULT_KERNEL",
    "PRESETS",
    "RUNNER_PARAMETERS",
    "Book",
    "BookError",
    "Chapter",
    "ChapterFailed",
    "HtmlBuildFailed",
    "Parameter",
    "load_chapters",
    "main",
    "make_plan",
    "parameters_cell",
    "parse_value",
    "read_toc",
    "run",
    "toc_files",
]
