"""Numbers in the chapters' prose come from the run, the papers' module or a benchmark JSON.

A number typed into a markdown cell goes stale the moment a run differs. The scan strips
what may carry digits and fails on any digit left in a chapter's markdown:

- ``{glue:...}`name``` roles (myst-nb ``glue``: the number comes from the run, or from
  ``helpers.published`` glued by a cell, labelled as the paper's in the sentence);
- inline code and math (a parameter value, a definition such as $\\sigma = 1.5$);
- references and names: Fig./Table/Eq./Sec. numbers, years, names with digits (Set5,
  DIV2K, DTD-47, VGG-19, BT.601, conv5_2, x4), bit depths, sizes (128×128, 256²), list
  enumerators.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from conftest import BOOK

_ALLOWED = [
    r"\{glue(?::\w+)?\}`[^`]*`",  # glued from the run
    r"`[^`]*`",  # code spans
    r"\$\$.*?\$\$",
    r"\$[^$\n]*\$",  # math
    r"\]\([^)]*\)",  # link targets
    r"(?:Fig(?:ure)?s?\.?|Tables?|Eqs?\.?|Sec(?:tion)?s?\.?|§|Appendix|[Cc]laims?)\s*"
    r"\d+(?:\.\d+)*[a-z]?(?:\s*(?:[-–,]|and)\s*\d+(?:\.\d+)*[a-z]?)*",
    r"\b(?:19|20)\d\d\b",  # years
    r"\b[A-Za-z]+[-_.]?\d+[A-Za-z\d_]*\b",  # names with digits (Set5, BT.601, VGG-19)
    r"\b\d+[-\s]bits?\b",  # a bit depth (8-bit PNG)
    r"\b\d+\s*[×x]\s*\d+(?:\s*[×x]\s*\d+)?\b",  # sizes
    r"\b\d+²",
    r"[×x]\d+\b",
    r"^\s*\d+\.\s",  # numbered list
    r"\(\d+\)",  # enumerators
    r"\b\d+(?:st|nd|rd|th)\b",
]
_STRIP = re.compile("|".join(f"(?:{a})" for a in _ALLOWED), re.M | re.S)
_DIGITS = re.compile(r"\d+(?:[.,]\d+)?")


def typed_numbers(markdown: str) -> list[str]:
    """The hand-typed numbers of a markdown text, each with its context."""
    stripped = _STRIP.sub(" ", markdown)
    return [
        stripped[max(0, m.start() - 40) : m.end() + 20].replace("\n", " ")
        for m in _DIGITS.finditer(stripped)
    ]


CHAPTERS = sorted(BOOK.glob("*.ipynb"))


@pytest.mark.parametrize("path", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_no_hand_typed_numbers_in_prose(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    found = [
        (i, n)
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "markdown"
        for n in typed_numbers(cell.source)
    ]
    assert not found, (
        f"{path.name}: numbers typed into markdown (glue them from the run with myst-nb "
        "glue, or from helpers.published labelled as the paper's):\n"
        + "\n".join(f"  cell {i}: ...{n}..." for i, n in found)
    )


def test_the_scan_finds_typed_numbers_and_passes_glued_ones() -> None:
    assert typed_numbers("PSNR rises by 0.3 dB") == ["PSNR rises by 0.3 dB"]
    (found,) = typed_numbers("about 20% of DIV2K, see Table 2")
    assert "20%" in found
    clean = (
        "PSNR rises by {glue:text}`gain:.2f` dB on Set14 at x4 (Table 1, Fig. 3c, 2021); "
        "`steps=50`, $\\sigma = 1.5$, 256×256 crops, DTD-47, conv5_2, the 2nd claim (1), "
        "8-bit PNGs, BT.601"
    )
    assert typed_numbers(clean) == []
