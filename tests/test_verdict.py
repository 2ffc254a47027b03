"""Tests of the shared Verdict shape."""

from __future__ import annotations

import pytest

from helpers.verdict import Verdict


def test_report_lists_sentence_rule_outcome_paper():
    v = Verdict("c", "r > 0.8", True, "holds", {"r": 0.9}, "It holds.", "paper: r > 0.8")
    assert v.label == "HOLDS"
    assert v.report("- ").splitlines() == [
        "- It holds.",
        "    rule: r > 0.8",
        "    outcome: holds",
        "    paper: paper: r > 0.8",
    ]


def test_holds_must_agree_with_the_outcome():
    with pytest.raises(ValueError, match="contradicts"):
        Verdict("c", "rule", True, "partly")
    with pytest.raises(ValueError, match="contradicts"):
        Verdict("c", "rule", False, "holds")
    assert not Verdict("c", "rule", False, "does not hold (SR keeps more)").holds
