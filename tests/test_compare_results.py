"""Tests of scripts/compare_results.py (the refactor's no-number-changed check)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import compare_results as cr  # noqa: E402


def test_equal_within_tolerance_and_differences_named():
    a = {"di": {"edsr": 0.7123456}, "cases": ["x", "y"], "ok": True}
    assert cr.compare(a, {"di": {"edsr": 0.71234565}, "cases": ["x", "y"], "ok": True}, 1e-6) == []
    diffs = cr.compare(a, {"di": {"edsr": 0.7124}, "cases": ["x"], "ok": False, "new": 1}, 1e-6)
    assert "/di/edsr: 0.7123456 != 0.7124" in diffs
    assert "/cases: length 2 != 1" in diffs and "/new: only in after" in diffs
    assert "/ok: True != False" in diffs


def test_timing_keys_do_not_fail_but_numbers_do(tmp_path, capsys):
    before, after = tmp_path / "b", tmp_path / "a"
    before.mkdir(), after.mkdir()
    (before / "lam.json").write_text(json.dumps({"seconds_per_map": {"m": 1.0}, "di": 1.0}))
    (after / "lam.json").write_text(json.dumps({"seconds_per_map": {"m": 9.0}, "di": 1.0}))
    assert cr.main([str(before), str(after)]) == 0
    assert "1 timing value(s) differ" in capsys.readouterr().out
    (after / "lam.json").write_text(json.dumps({"seconds_per_map": {"m": 9.0}, "di": 1.1}))
    assert cr.main([str(before), str(after)]) == 1


def test_network_names_ending_in_s_are_not_timings():
    # edsr_s is a zoo network: its DI is a number that must agree, not a wall-clock time
    assert not cr._is_timing("/di/edsr_s/mean")
    assert not cr._is_timing("/completeness_error/rcan_s")
    assert cr._is_timing("/zoo_train_s") and cr._is_timing("/resize_2040x1356_x4_s")
    assert cr._is_timing("/networks/edsr/train_seconds")
