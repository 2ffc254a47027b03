"""Tests of scripts/verdict_seeds.py (issue 13's table: outcomes per preset and seed)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from helpers.book import builtwith

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import verdict_seeds as vs  # noqa: E402


def _write(folder: Path, chapter: str, values: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{chapter}.json").write_text(json.dumps(values))


def test_seeds_agreeing_counted_per_claim_across_folders(tmp_path, capsys):
    lam = {"completeness": "holds", "global_vs_local": "does not hold"}
    _write(tmp_path / "emb", "lam", {"preset": "embedded", "verdicts": lam})
    for s, gvl in enumerate(["holds", "holds", "does not hold"]):
        _write(
            tmp_path / f"b{s}",
            "lam",
            {"preset": "benchmark", "verdicts": {**lam, "global_vs_local": gvl}},
        )
        di = {"preset": "benchmark", "observations": {"1_di_vs_psnr": "PARTLY"}}
        _write(tmp_path / f"d{s}", "di_vs_psnr", di)  # another folder of the same run
    runs = ["--run", f"embedded:0:{tmp_path / 'emb'}"]
    for s in range(3):
        runs += [
            "--run",
            f"benchmark:{s}:{tmp_path / f'b{s}'}",
            "--run",
            f"benchmark:{s}:{tmp_path / f'd{s}'}",
        ]
    vs.main([*runs, "--out", str(tmp_path / "t.json")])
    rows = {r["claim"]: r for r in json.loads((tmp_path / "t.json").read_text())["claims"]}
    assert rows["global_vs_local"]["benchmark"] == {
        "0": "holds",
        "1": "holds",
        "2": "does not hold",
    }
    assert (
        rows["global_vs_local"]["benchmark_modal"],
        rows["global_vs_local"]["seeds_agreeing"],
    ) == ("holds", 2)
    assert rows["global_vs_local"]["embedded"] == "does not hold"
    assert rows["completeness"]["seeds_agreeing"] == 3 and rows["completeness"]["seeds_run"] == 3
    assert rows["1_di_vs_psnr"]["embedded"] is None and rows["1_di_vs_psnr"]["seeds_agreeing"] == 3
    assert rows["completeness"]["rule"].startswith("Rule:") and "5%" in rows["completeness"]["rule"]
    assert any("test_completeness" in t for t in rows["completeness"]["unit_tests"])
    assert "| lam | global_vs_local |" in capsys.readouterr().out
    page = "\n".join(builtwith._seed_agreement(tmp_path / "t.json"))
    assert "## Verdicts across seeds" in page and "benchmark, seed 2" in page
    row = "| lam | global_vs_local | `global_vs_local` | ratio of mean DI > 1.5 | does not hold |"
    assert row + " holds | holds | does not hold | 2 of 3 |" in page
    assert builtwith._seed_agreement(tmp_path / "absent.json") == []


def test_a_folder_of_another_preset_is_refused(tmp_path):
    _write(tmp_path, "lam", {"preset": "smoke", "verdicts": {}})
    with pytest.raises(SystemExit, match="preset 'smoke'"):
        vs.main(["--run", f"benchmark:0:{tmp_path}"])


def test_every_claimed_function_has_a_unit_test():
    tests = vs.tests_calling({fn.__name__ for fn, _ in vs.CLAIMS.values()})
    assert all(tests.values()), [n for n, t in tests.items() if not t]
