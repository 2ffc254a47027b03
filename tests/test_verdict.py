"""Tests of the shared Verdict shape and the outcome words most rules share."""

from __future__ import annotations

import dataclasses
import math

import pytest

from helpers.verdict import Verdict, agreement, by_interval, graded, seeds_line, tally


def test_report_lists_sentence_rule_outcome_paper():
    v = Verdict("c", "r > 0.8", "holds", {"r": 0.9}, "It holds.", "paper: r > 0.8")
    assert v.label == "HOLDS"
    assert v.report("- ").splitlines() == [
        "- It holds.",
        "    rule: r > 0.8",
        "    outcome: holds",
        "    paper: paper: r > 0.8",
    ]


def test_holds_is_read_from_the_outcome():
    assert Verdict("c", "rule", "holds").holds is True
    assert not Verdict("c", "rule", "partly").holds
    assert not Verdict("c", "rule", "does not hold (SR keeps more)").holds
    assert "holds" not in {f.name for f in dataclasses.fields(Verdict)}  # derived, not stored
    with pytest.raises(AttributeError):
        Verdict("c", "rule", "holds").holds = False


def test_graded_and_tally():
    assert graded(True) == graded(True, False) == "holds"  # holds wins without partly
    assert graded(False, True) == "partly" and graded(False) == "does not hold"
    assert tally([True, True]) == "holds" and tally(iter([True, False])) == "partly"
    assert tally([False, False]) == "does not hold"
    assert tally([]) == "does not hold"  # nothing shown is not "holds"


def test_by_interval_reads_each_interval_against_the_threshold():
    assert by_interval([(0.1, 0.5), (0.2, 0.3)]) == "holds"
    assert by_interval([(0.1, 0.5), (-0.3, -0.1)]) == "does not hold"
    assert by_interval([(0.1, 0.5), (-0.3, 0.1)]) == "inconclusive"
    assert by_interval([(0.1, 0.5), (-0.3, 0.1)], partly=True) == "partly"
    assert by_interval([(-0.3, -0.1)], partly=True) == "does not hold"
    assert by_interval([(0.0, 0.5)]) == "inconclusive"  # touching is not above
    assert by_interval([(1.6, 2.4)], 1.0) == "holds"
    assert by_interval([(0.4, 0.6)], 1.0) == "does not hold"
    assert by_interval([(0.8, 1.2)], 1.0) == "inconclusive"
    assert by_interval([(math.nan, math.nan)]) == "inconclusive"


def test_agreement_counts_the_modal_outcome_over_seeds():
    assert agreement(["holds", "HOLDS", "does not hold"]) == ("holds", 2)
    assert agreement(["partly", "holds", "holds"]) == ("holds", 2)
    assert agreement(["holds"] * 3) == ("holds", 3)
    # a qualified outcome is its own; a three-way split goes to the first seed's
    assert agreement(["does not hold (SR keeps more)", "does not hold", "partly"]) == (
        "does not hold (sr keeps more)",
        1,
    )
    with pytest.raises(ValueError, match="at least one seed"):
        agreement([])


def _row(outcomes: dict[str, str], modal: str, agreeing: int) -> dict:
    return {
        "benchmark": outcomes,
        "benchmark_modal": modal,
        "seeds_agreeing": agreeing,
        "seeds_run": len(outcomes),
        "date": "2026-12-07",
    }


def test_seeds_line_says_whether_the_outcome_is_a_finding():
    mixed = _row({"0": "holds", "1": "holds", "10": "does not hold"}, "holds", 2)
    line = seeds_line(mixed)
    assert line.startswith("across seeds: 2 of 3 benchmark seeds give 'holds'")
    assert "(holds / holds / does not hold)" in line  # seeds in numeric order, 10 last
    assert "changes with the seed: not a finding at benchmark" in line
    assert "2026-12-07" in line
    stable = seeds_line(_row({"0": "partly", "1": "partly"}, "partly", 2))
    assert "2 of 2" in stable and "stable over seeds" in stable and "not a finding" not in stable


def test_report_appends_the_seed_line_only_when_given():
    v = Verdict("c", "r > 0", outcome="holds", text="T.", paper="P.")
    row = _row({"0": "holds", "1": "holds", "2": "holds"}, "holds", 3)
    assert v.report("- ", seeds=row) == v.report("- ") + "\n    " + seeds_line(row, "holds")
    assert v.report(seeds=None) == v.report()


def test_seeds_line_says_when_this_run_differs_from_the_table():
    row = _row({"0": "holds", "1": "holds", "2": "holds"}, "holds", 3)
    assert "this run" not in seeds_line(row, "HOLDS")  # case aside, the same outcome
    line = seeds_line(row, "does not hold")
    assert line.endswith(
        "; this run gives 'does not hold': another preset, or training noise the seeds did "
        "not show (threads, CPU)"
    )
    v = Verdict("c", "r > 0", outcome="does not hold", text="T.", paper="P.")
    assert v.report(seeds=row).endswith(line)
