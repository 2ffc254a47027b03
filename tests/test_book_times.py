"""Tests of scripts/book_times.py (whole-book wall times against the preset's budget) and
their section on the "How this book was built" page."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from helpers import presets
from helpers.book import builtwith

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scripts"))
import book_times as bt  # noqa: E402


def _build(folder: Path, preset: str, walls: dict[str, float], seed: int = 0) -> Path:
    runs = folder / "runs"
    runs.mkdir(parents=True)
    for i, (name, wall) in enumerate(walls.items()):
        rec = {
            "chapter": name,
            "preset": preset,
            "parameters": {"preset": preset, "seed": seed},
            "wall_s": wall,
            "started_utc": f"2026-12-0{i + 1}T10:00:00+00:00",
            "commit": "2a676ee0123456789",
        }
        (runs / f"{name}.json").write_text(json.dumps(rec))
    return folder


def test_entry_sums_chapters_and_checks_the_budget(tmp_path: Path) -> None:
    walls = {"lam": 1800.0, "di_vs_psnr": 1200.0, "texture_profiles": 3000.0}
    e = bt.run_entry(_build(tmp_path / "b", "benchmark", walls), "cold")
    assert e["total_s"] == 6000.0 and e["total_is"] == "sum of chapters"
    assert e["budget_min"] == presets.get("book_budget_min", "benchmark")["cold"] == 120
    assert e["within_budget"] is True
    assert e["date"] == "2026-12-01" and e["commits"] == ["2a676ee01234"]
    assert "attribution_prior" in e["deferred"]
    over = bt.run_entry(tmp_path / "b", "cold", wall_s=7300.0)
    assert over["within_budget"] is False and over["total_is"] == "the command's wall time"
    assert bt.run_entry(tmp_path / "b", "warm")["within_budget"] is None  # no warm budget


def test_a_deferred_chapter_that_ran_is_not_listed_as_left_out(tmp_path: Path) -> None:
    b = _build(tmp_path / "b", "benchmark", {"lam": 10.0, "attribution_prior": 9000.0})
    assert bt.run_entry(b, "cold")["deferred"] == {}


def test_bad_builds_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no run records"):
        bt.run_entry(tmp_path, "cold")
    b = _build(tmp_path / "b", "embedded", {"lam": 10.0})
    (b / "runs" / "di.json").write_text(
        json.dumps(
            {
                "chapter": "di",
                "preset": "benchmark",
                "parameters": {"seed": 0},
                "wall_s": 1,
                "started_utc": "2026-12-01",
            }
        )
    )
    with pytest.raises(ValueError, match="mixes presets"):
        bt.run_entry(b, "cold")
    with pytest.raises(ValueError, match="state must be"):
        bt.run_entry(b, "lukewarm")
    assert bt.main(["--build-dir", str(tmp_path / "none"), "--state", "cold"]) == 2


def test_record_replaces_the_same_preset_and_state_and_page_renders_it(tmp_path: Path):
    out = tmp_path / "benchmarks" / "book_times.json"
    emb = _build(tmp_path / "e", "embedded", {"lam": 100.0, "di_vs_psnr": 50.0})
    ben = _build(tmp_path / "k", "benchmark", {"lam": 4000.0, "di_vs_psnr": 4000.0})
    assert bt.main(["--build-dir", str(ben), "--state", "cold", "--out", str(out)]) == 0
    bt.record(out, bt.run_entry(emb, "warm"))
    data = bt.record(out, bt.run_entry(emb, "warm", wall_s=700.0))
    assert [(r["preset"], r["state"]) for r in data["runs"]] == [
        ("embedded", "warm"),
        ("benchmark", "cold"),
    ]
    assert data["runs"][0]["within_budget"] is False  # 700 s > 10 min
    lines = "\n".join(builtwith._book_times(out))
    assert "## Whole-book wall times" in lines
    assert "| `benchmark` | cold | 133.3 min | 120.0 min | **no** | attribution_prior |" in lines
    assert "| `embedded` | warm | 11.7 min | 10.0 min | **no** | - |" in lines
    assert "Left out: attribution_prior, because" in lines
    assert builtwith._book_times(tmp_path / "missing.json") == []
    by_book = "\n".join(builtwith._book_times(out, ["lam", "di_vs_psnr"]))
    assert by_book.index("| lam |") < by_book.index("| di_vs_psnr |")
    assert lines.index("| di_vs_psnr |") < lines.index("| lam |")  # no order: by name
