"""Write the book's page "What bad input gets" from the tests that try each bad input.

Every test of a bad input or a fault carries ``@pytest.mark.bad_input(fault, outcome)``
(registered in ``pyproject.toml``); this script reads those marks from ``tests/*.py``
(statically, with :mod:`ast`: nothing is imported or run) and writes one table row per
distinct fault, naming the tests that show it::

    python scripts/bad_input_page.py          # rewrites book/bad_input.md
    python scripts/bad_input_page.py --check  # exit 1 when the page is out of date

``tests/test_bad_input_page.py`` runs the check, so the page cannot drift from the tests.
"""

from __future__ import annotations

import argparse
import ast
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "book" / "bad_input.md"

HEADER = """\
# What bad input gets

A reader who runs a chapter on their own model, data or machine will give it something it
did not expect. Each row below is one such input or fault, what the book does with it, and
the test that shows it (`make test` runs them all, in CI too). The rule throughout: a
clear, early error that says what was wrong and how to fix it, or a documented conversion
with a warning, and nothing lost or half-written.

This page is generated from the tests' `@pytest.mark.bad_input(fault, outcome)` marks by
`python scripts/bad_input_page.py`; a test fails when it is out of date.
"""


@dataclass(frozen=True)
class Row:
    """One bad input: what the user gives or meets, what happens, the tests showing it."""

    fault: str
    outcome: str
    tests: tuple[str, ...]


def _marks(node: ast.AST) -> list[tuple[str, str]]:
    """The ``(fault, outcome)`` of every ``pytest.mark.bad_input(...)`` call inside ``node``."""
    found = []
    for call in ast.walk(node):
        if not isinstance(call, ast.Call):
            continue
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr == "bad_input":
            args = [a.value for a in call.args if isinstance(a, ast.Constant)]
            if len(args) != 2 or not all(isinstance(a, str) for a in args):
                raise SystemExit(
                    f"bad_input mark at line {call.lineno} needs two string literals "
                    "(fault, outcome)"
                )
            found.append((args[0], args[1]))
    return found


def collect(tests_dir: Path = REPO / "tests") -> list[Row]:
    """Rows in the order the tests appear (file by file), one per distinct fault."""
    rows: dict[tuple[str, str], list[str]] = {}
    for path in sorted(tests_dir.glob("test_*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef | ast.ClassDef):
                # walking each decorator also finds marks given per case, as
                # pytest.param(..., marks=pytest.mark.bad_input(...)) in a parametrize
                marks = [m for d in node.decorator_list for m in _marks(d)]
                for mark in dict.fromkeys(marks):
                    rows.setdefault(mark, []).append(f"{path.relative_to(REPO)}::{node.name}")
    return [Row(f, o, tuple(t)) for (f, o), t in rows.items()]


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(rows: list[Row]) -> str:
    """The page: header, a count, one table."""
    lines = [HEADER, f"{len(rows)} inputs and faults, each tried by a test.", ""]
    lines += ["| Input or fault | What happens | Test |", "|---|---|---|"]
    for r in rows:
        tests = "<br>".join(f"`{t}`" for t in r.tests)
        lines.append(f"| {_cell(r.fault)} | {_cell(r.outcome)} | {tests} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the page is out of date")
    args = ap.parse_args(argv)
    text = render(collect())
    if args.check:
        if not PAGE.is_file() or PAGE.read_text() != text:
            print(f"{PAGE} is out of date: run python scripts/bad_input_page.py", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(text)
    print(f"wrote {PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
