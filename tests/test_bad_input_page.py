"""The page "What bad input gets" (book/bad_input.md) is generated from the tests' marks.

It must be current (regenerated text equal to the committed page), in the table of
contents, and hold at least 30 distinct inputs and faults, each naming tests that exist.
"""

from __future__ import annotations

import sys

from conftest import BOOK, REPO

sys.path.insert(0, str(REPO / "scripts"))
import bad_input_page  # noqa: E402

from helpers.book import chapters  # noqa: E402


def test_page_is_current_and_in_the_toc() -> None:
    rows = bad_input_page.collect()
    assert bad_input_page.PAGE.read_text() == bad_input_page.render(rows), (
        "book/bad_input.md is out of date: run python scripts/bad_input_page.py"
    )
    assert "bad_input" in chapters.toc_files(chapters.read_toc(BOOK))


def test_at_least_thirty_faults_each_with_a_real_test() -> None:
    rows = bad_input_page.collect()
    assert len({r.fault for r in rows}) == len(rows) >= 30
    for row in rows:
        for test in row.tests:
            path, name = test.split("::")
            assert f"def {name}(" in (REPO / path).read_text(), test


def test_marks_need_two_strings(tmp_path) -> None:
    import pytest

    (tmp_path / "test_x.py").write_text(
        "import pytest\n@pytest.mark.bad_input('only one')\ndef test_a():\n    pass\n"
    )
    with pytest.raises(SystemExit, match="needs two string literals"):
        bad_input_page.collect(tmp_path)
