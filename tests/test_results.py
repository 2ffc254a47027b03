"""helpers.results: timings apart, no silent NaN, a schema per chapter, stable bytes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import NOTEBOOK_CHAPTERS

from helpers import results

CHAPTERS = NOTEBOOK_CHAPTERS


@pytest.mark.bad_input(
    "a NaN or infinite number in a chapter's results (e.g. a std over no kept maps)",
    "refused before anything is written, naming its key path; None is written only on purpose",
)
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.float32("nan")])
def test_nan_is_refused_with_its_path(tmp_path: Path, bad: float) -> None:
    with pytest.raises(ValueError, match=r"results value /di/edsr_s\[1\] is"):
        results.write_results(tmp_path, "ch", {"preset": "smoke", "di": {"edsr_s": [1.0, bad]}})
    assert not list(tmp_path.iterdir())
    assert results.or_none(float("nan")) is None and results.or_none(0.5) == 0.5


def test_timings_go_beside_the_results() -> None:
    values, timings = results.split_timings(
        {
            "preset": "smoke",
            "seconds": 3.0,
            "di": {"edsr_s": 1.0},
            "networks": {"edsr_m": {"train_seconds": 2.0, "params": 10}},
            "zoo_train_s": {"edsr_s_x4": 1.0},
        }
    )
    assert values == {
        "preset": "smoke",
        "di": {"edsr_s": 1.0},
        "networks": {"edsr_m": {"params": 10}},
    }
    assert timings == {
        "seconds": 3.0,
        "networks": {"edsr_m": {"train_seconds": 2.0}},
        "zoo_train_s": {"edsr_s_x4": 1.0},
    }


def test_rewrite_with_equal_values_is_byte_identical(tmp_path: Path) -> None:
    r1 = {"preset": "smoke", "b": 0.1 + 0.2, "a": [1, 2], "seconds": 1.0}
    r2 = {"a": (1, 2), "preset": "smoke", "b": 0.30000000000000004, "seconds": 9.0}
    one = results.write_results(tmp_path, "ch", r1).read_bytes()
    assert results.write_results(tmp_path, "ch", r2).read_bytes() == one
    assert results.read_timings(tmp_path, "ch") == {"preset": "smoke", "seconds": 9.0}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_chapter_has_a_schema(chapter: str) -> None:
    import jsonschema

    schema = results.schema(chapter)
    assert schema is not None, f"write helpers/schemas/{chapter}.schema.json"
    jsonschema.Draft202012Validator.check_schema(schema)
    assert "preset" in schema["required"] and schema["additionalProperties"] is False


@pytest.mark.bad_input(
    "a chapter that renames, drops or retypes a key of its results JSON",
    "write_results refuses it, naming each misfit and the chapter's schema file",
)
def test_schema_misfit_fails_loudly(tmp_path: Path) -> None:
    good = json.loads(json.dumps(_lam_example()))
    results.validate("lam", good)
    renamed = dict(good)
    renamed["diffusion"] = renamed.pop("di")
    with pytest.raises(ValueError, match=r"lam.schema.json.*\n.*'di' is a required property"):
        results.write_results(tmp_path, "lam", renamed)
    retyped = dict(good, steps="50")
    with pytest.raises(ValueError, match=r"/steps: '50' is not of type"):
        results.write_results(tmp_path, "lam", retyped)
    assert not (tmp_path / "lam.json").exists()


def _lam_example() -> dict:
    """Results the LAM chapter writes, in shape (values from a smoke run)."""
    return {
        "preset": "smoke",
        "steps": 8,
        "maps": {"mode": "exact", "rule": "right", "steps": 8},
        "sigma": 1.2,
        "window_size": 16,
        "cases": ["coffee_0_0"],
        "degenerate_windows": [],
        "di": {"edsr_s": {"mean": 1.2, "std": None, "n": 1, "n_degenerate": 0}},
        "completeness_error": {"edsr_s": 0.01},
        "rules": {
            "right": {"8": 0.1},
            "trapezoid": {"8": 0.05},
            "gauss_legendre": {"8": 0.01},
            "arclength": {"8": 0.02},
        },
        "fig3": {"blur": {"di": 1.0, "completeness_error": 0.01}},
        "case_sources": 1,
        "di_definition": "lam_demo",
        "di_formula_max_diff": 0.0015,
        "fig3_edge_share": {"blur": [0.37], "ig": [0.41], "p": 0.64},
        "verdicts": {"completeness": "holds"},
    }


@pytest.mark.parametrize(
    "resize_match",
    [
        {"set5": {"x4": {"max_diff_levels": 0, "n_values": 100, "share_equal": 1.0}}},
        {"skipped": "could not fetch 'set5/HR/baby.png' (offline, no mirror)"},
    ],
)
def test_models_and_data_online_and_offline_shapes_fit_its_schema(resize_match: dict) -> None:
    """Without the benchmark files (a fresh machine, no mirror) the resize check records
    why it was skipped: that shape is part of the schema, not a misfit."""
    scores = {"embedded_test": {"x4": {"bicubic": 28.7, "edsr_s": 28.9}}}
    values = {
        "preset": "smoke",
        "seed": 0,
        "psnr_y": scores,
        "ssim_y": scores,
        "published": {},
        "reproduces_published": {},
        "resize_match": resize_match,
        "zoo": {"edsr_s_x4": {"architecture": "edsr", "params": 10, "receptive_field": 9,
                              "steps": 6}},
    }  # fmt: skip
    results.validate("models_and_data", values)
    with pytest.raises(ValueError, match="resize_match"):
        results.validate("models_and_data", dict(values, resize_match={"skipped": 3}))


def test_outcomes_read_each_chapters_claims() -> None:
    assert results.outcomes("lam", {"verdicts": {"completeness": "holds"}}) == {
        "completeness": "holds"
    }
    di = {"observations": {"1_di_vs_psnr": "DOES NOT HOLD", "3_di_vs_scale": "PARTLY"}}
    assert results.outcomes("di_vs_psnr", di) == {
        "1_di_vs_psnr": "does not hold",
        "3_di_vs_scale": "partly",
    }
    tex = {"outcome": {"profiles": "holds"}, "verdict": {"profiles": "They differ."}}
    assert results.outcomes("texture_profiles", tex) == {"profiles": "holds"}
    md = {"reproduces_published": {"imdn": {"outcome": "holds", "max_abs_delta": 0.01}}}
    assert results.outcomes("models_and_data", md) == {"reproduces_published[imdn]": "holds"}
    with pytest.raises(KeyError, match="older version"):
        results.outcomes("semantic_consistency", {"verdict": {"claim1": "It holds."}})
    with pytest.raises(KeyError, match="one of"):
        results.outcomes("intro", {})


def test_seed_table_reads_the_committed_rows_of_one_chapter(tmp_path: Path) -> None:
    rows = results.seed_table("texture_profiles")
    committed = json.loads(results.SEED_TABLE.read_text())
    expected = {r["claim"] for r in committed["claims"] if r["chapter"] == "texture_profiles"}
    assert set(rows) == expected and "manifold" in rows
    assert all(r["date"] == committed["date"] for r in rows.values())
    table = {
        "date": "2026-01-02",
        "claims": [
            {"chapter": "lam", "claim": "a", "seeds_agreeing": 2},
            {"chapter": "di_vs_psnr", "claim": "b", "seeds_agreeing": 3},
        ],
    }
    path = tmp_path / "t.json"
    path.write_text(json.dumps(table))
    assert results.seed_table("lam", path) == {
        "a": {"chapter": "lam", "claim": "a", "seeds_agreeing": 2, "date": "2026-01-02"}
    }
    assert results.seed_table("semantic_consistency", path) == {}
    assert results.seed_table("lam", tmp_path / "missing.json") == {}
