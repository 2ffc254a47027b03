"""The LAM and DI chapters' prose numbers, printed summaries, tables and results sections
(helpers.attribution.report) against hand-written expected values, helpers.published and
an independent scipy fit."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest
import torch
from scipy import stats

from helpers import published
from helpers.attribution import report as R
from helpers.attribution.di import fit_log_di
from helpers.attribution.result import LAMResult
from helpers.networks.family import FamilyRun
from helpers.verdict import Verdict


def _maps() -> dict[tuple[str, str], SimpleNamespace]:
    """(network, case) -> the three fields of a LAMResult the summaries read."""

    def m(err: float, degenerate: bool, cached: bool) -> SimpleNamespace:
        return SimpleNamespace(completeness_error=err, degenerate=degenerate, cached=cached)

    return {
        ("edsr", "c1"): m(0.02, False, True),
        ("edsr", "c2"): m(0.50, True, False),  # degenerate: its error is not counted
        ("fsrcnn", "c1"): m(0.1086, False, True),
        ("fsrcnn", "c2"): m(0.01, True, False),
    }


def test_prose_numbers() -> None:
    got = R.prose_numbers({"fsrcnn": 4, "edsr": 2}, 16)
    assert got["step_factors"] == "fsrcnn 4x, edsr 2x"
    assert R.prose_numbers({}, 16)["step_factors"] == "none"
    assert got["window_size"] == 16 and got["p_max"] == 0.05
    assert (got["paper_n_networks"], got["paper_r_min"], got["paper_p_max"]) == (48, 0.8, 1e-12)
    assert got["paper_n_images"] == 150
    assert (got["paper_fsrcnn_n"], got["paper_edsr_n"]) == (15, 15)
    assert (got["paper_fsrcnn_width"], got["paper_fsrcnn_depth"]) == ("16–128", "2–16")
    assert (got["paper_edsr_width"], got["paper_edsr_depth"]) == ("32–256", "10–24")
    psnrs = sorted(r["psnr"] for r in published.LAM_TABLE1.values())
    assert got["paper_psnr_range"] == f"{psnrs[0]:.1f}–{psnrs[-1]:.1f}"
    expected = {"step_factors", "window_size", "p_max", "paper_n_networks", "paper_r_min",
                "paper_p_max", "paper_n_images", "paper_psnr_range"}  # fmt: skip
    expected |= {f"paper_{a}_{k}" for a in ("fsrcnn", "edsr") for k in ("n", "width", "depth")}
    assert set(got) == expected


def test_worst_completeness_and_lam_maps_summary() -> None:
    maps = _maps()
    assert R.worst_completeness(maps) == 0.1086
    assert R.worst_completeness({}) == 0.0
    assert R.lam_maps_summary(maps, 3.4) == (
        "degenerate windows (left out where flagged): ['c2']\n"
        "4 LAM maps (2 read from the map cache shared with the LAM chapter) in 3 s; "
        "worst completeness error 10.86%"
    )
    kept = {k: v for k, v in maps.items() if not v.degenerate}
    assert R.lam_maps_summary(kept, 0.2).startswith(
        "degenerate windows (left out where flagged): none\n2 LAM maps (2 read"
    )


def test_verdict_report_with_and_without_caveat() -> None:
    found = [
        Verdict("psnr_vs_di", "r > 0.8", outcome="holds", text="PSNR rises with DI.", paper="P1"),
        Verdict("content", "rho < 0", outcome="partly", text="Stripes: wide.", paper="P2"),
    ]
    rules = "\nRules:\npsnr_vs_di: r > 0.8; holds. Paper: P1\ncontent: rho < 0; partly. Paper: P2"
    assert R.verdict_report(found, [], 5, "set5") == (
        "PSNR rises with DI.\nStripes: wide.\n" + rules
    )
    assert R.verdict_report(found, ["a", "b"], 5, "set5") == (
        "PSNR rises with DI.\nStripes: wide.\n\nCaveat: 2 of 5 networks do not beat bicubic "
        "on set5 at this preset; their PSNR says more about how far training got than about "
        "the architecture.\n" + rules
    )


def test_verdict_report_adds_the_seed_line_of_claims_in_the_table() -> None:
    found = [
        Verdict("psnr_vs_di", "r > 0.8", outcome="holds", text="PSNR rises.", paper="P1"),
        Verdict("content", "rho < 0", outcome="partly", text="Stripes.", paper="P2"),
    ]
    row = {
        "benchmark": {"0": "holds", "1": "partly", "2": "holds"},
        "benchmark_modal": "holds",
        "seeds_agreeing": 2,
        "seeds_run": 3,
        "date": "2026-12-07",
    }
    text = R.verdict_report(found, [], 5, "set5", {"psnr_vs_di": row})
    assert "psnr_vs_di: r > 0.8; holds. Paper: P1\n    across seeds: 2 of 3" in text
    assert text.endswith("content: rho < 0; partly. Paper: P2")  # no row, no line


def test_fit_record_matches_scipy() -> None:
    di = {"a": 1.0, "b": 10.0, "c": 100.0, "d": 30.0}
    psnr = {"a": 25.0, "b": 26.5, "c": 27.0, "d": 26.0}
    rec = R.fit_record(fit_log_di(di, psnr))
    x = [math.log10(di[n]) for n in di]
    y = list(psnr.values())
    pr, sr = stats.pearsonr(x, y), stats.spearmanr(x, y)
    assert rec["pearson"] == {"r": pytest.approx(pr.statistic), "p": pytest.approx(pr.pvalue)}
    assert rec["spearman"] == {"rho": pytest.approx(sr.statistic), "p": pytest.approx(sr.pvalue)}
    assert rec["fit"]["n"] == 4
    assert rec["fit"]["slope_db_per_decade"] == pytest.approx(stats.linregress(x, y).slope)


def test_family_trends_and_content_records() -> None:
    run = FamilyRun({"m1": None, "m2": None}, {}, skipped={"m3": "NaN loss"}, wall_seconds=13.26)
    assert R.family_record(run, 2.04) == {
        "networks": 2,
        "total_seconds": 2.0,
        "wall_seconds_this_run": 13.3,
        "skipped": {"m3": "NaN loss"},
    }
    trends = {("fsrcnn", "width"): (0.5, float("nan")), ("edsr", "depth"): (-1.0, 1.0)}
    assert R.trends_record(trends) == {
        "fsrcnn_width": {"di": 0.5, "psnr": None},
        "edsr_depth": {"di": -1.0, "psnr": 1.0},
    }
    measures = pd.DataFrame(
        {"rank": [1, 2], "mean_DI": [3.123456, 7.0], "periodicity": [0.1, 0.2],
         "coherence": [0.3, 0.4], "window_edges": [0.5, 0.6]},
        index=["caseA", "caseB"],
    )  # fmt: skip
    nan = float("nan")
    corr = {"periodicity": {"rho": nan, "p": nan}, "coherence": {"rho": 0.5, "p": 0.2}}
    rec = R.content_record(corr, measures)
    assert rec["spearman"] == {
        "periodicity": {"rho": None, "p": None},
        "coherence": {"rho": 0.5, "p": 0.2},
    }
    assert rec["ranking"][0] == {
        "case": "caseA", "rank": 1.0, "mean_DI": 3.1235, "periodicity": 0.1, "coherence": 0.3,
        "window_edges": 0.5,
    }  # fmt: skip
    assert [r["case"] for r in rec["ranking"]] == ["caseA", "caseB"]


def _lam(pixels: str, degenerate: bool, err: float, seconds: float) -> LAMResult:
    """A 4x4 LAM map, ``"flat"`` (every pixel 1: DI 100) or ``"spike"`` (one pixel: DI
    100/16 = 6.25), whose detector changes by 5 (or 0.1: degenerate) of 10."""
    m = torch.ones(4, 4) if pixels == "flat" else torch.eye(16)[6].reshape(4, 4)
    curve = torch.zeros(2)
    return LAMResult(
        m.expand(3, 4, 4) / 3, m, 10.0, 9.9 if degenerate else 5.0, err, curve, curve, curve,
        curve, (0, 0, 4), 4, "blur", "right", 2, 1.2, 7, "exact", 2, None, seconds, "cpu",
    )  # fmt: skip


def _lam_maps() -> dict[tuple[str, str], LAMResult]:
    """edsr_s: both windows kept; rcan_s (global): both degenerate; srresnet_s: one each."""
    return {
        ("edsr_s", "c1"): _lam("flat", False, 0.02, 1.0),
        ("edsr_s", "c2"): _lam("spike", False, 0.03, 3.0),
        ("rcan_s", "c1"): _lam("flat", True, 0.5, 2.0),
        ("rcan_s", "c2"): _lam("spike", True, 0.7, 4.0),
        ("srresnet_s", "c1"): _lam("spike", True, 0.9, 1.0),
        ("srresnet_s", "c2"): _lam("flat", False, 0.01, 1.5),
        ("edsr_s", "unused"): _lam("spike", True, 0.9, 9.0),  # a case not asked for
    }


def test_lam_di_rows_by_hand() -> None:
    fields = {"edsr_s": 9, "rcan_s": None, "srresnet_s": 13}
    rows = R.lam_di_rows(_lam_maps(), ["c1", "c2"], fields)
    assert [r["model"] for r in rows] == list(fields)  # the order of `fields`
    edsr, rcan, srresnet = rows
    assert edsr["receptive_field"] == 9 and rcan["receptive_field"] == "global"
    assert edsr["DI_mean"] == pytest.approx((100 + 6.25) / 2, abs=1e-3)
    assert edsr["DI_std"] == pytest.approx(93.75 / math.sqrt(2), abs=1e-3)
    assert (edsr["n"], edsr["n_degenerate"], edsr["DI_from"]) == (2, 0, "kept windows")
    assert edsr["max_completeness_err_%"] == pytest.approx(3.0)
    assert edsr["s_per_map"] == pytest.approx(2.0)  # the unused case is not counted
    assert edsr["DI_formula_diff"] == pytest.approx(0.0, abs=1e-3)  # the 1e-7 only
    assert (edsr["paper_model"], edsr["paper_DI"]) == ("EDSR", published.LAM_TABLE1["EDSR"]["di"])
    # Every window degenerate: the DI over all of them, flagged; no std, no completeness.
    assert rcan["DI_mean"] == pytest.approx((100 + 6.25) / 2, abs=1e-3)
    assert (rcan["n"], rcan["n_degenerate"], rcan["DI_from"]) == (0, 2, "degenerate windows only")
    assert math.isnan(rcan["DI_std"]) and math.isnan(rcan["max_completeness_err_%"])
    assert rcan["paper_model"] == "RCAN"
    # One kept window: its DI only, std 0.
    assert (srresnet["DI_mean"], srresnet["DI_std"], srresnet["n"]) == (100.0, 0.0, 1)
    assert srresnet["max_completeness_err_%"] == pytest.approx(1.0)
    assert (srresnet["paper_model"], srresnet["paper_DI"]) == ("", None)  # not in Table 1


def test_lam_di_notes_and_record() -> None:
    maps = _lam_maps()
    rows = R.lam_di_rows(maps, ["c1", "c2"], {"edsr_s": 9, "rcan_s": None, "srresnet_s": 13})
    assert R.degenerate_cases(maps) == ["c1", "c2", "unused"]
    diff = max(r["DI_formula_diff"] for r in rows)
    assert R.lam_di_notes(maps, rows) == (
        "degenerate windows (left out where flagged): ['c1', 'c2', 'unused']\n"
        "DI from degenerate windows only (treat as noise): ['rcan_s']\n"
        "DI printed: the LAM demo's definition; the paper's formula without its 1e-7 differs "
        f"by at most {diff:.4f} DI on these 7 maps"
    )
    kept = R.lam_di_notes({("a", "c1"): maps[("edsr_s", "c1")]}, rows[:1]).splitlines()
    assert kept[0].endswith(": none") and len(kept) == 2  # no degenerate-only line
    rec = R.lam_di_record(maps, rows)
    assert list(rec) == ["degenerate_windows", "di_definition", "di_formula_max_diff", "di",
                         "completeness_error", "seconds_per_map"]  # fmt: skip
    assert rec["degenerate_windows"] == ["c1", "c2", "unused"]
    assert (rec["di_definition"], rec["di_formula_max_diff"]) == ("lam_demo", round(diff, 6))
    assert rec["di"]["edsr_s"] == {"mean": 53.1251, "std": 66.2912, "n": 2, "n_degenerate": 0}
    assert rec["di"]["rcan_s"] == {"mean": 53.1251, "std": None, "n": 0, "n_degenerate": 2}
    assert rec["completeness_error"] == {"edsr_s": 0.03, "rcan_s": None, "srresnet_s": 0.01}
    assert rec["seconds_per_map"] == {"edsr_s": 2.0, "rcan_s": 3.0, "srresnet_s": 1.25}


def test_lam_paths_record() -> None:
    rules = pd.DataFrame(
        {4: [1.234567, 2.0], 8: [0.5, 0.25]}, index=pd.Index(["right", "trapezoid"], name="rule")
    )
    flat, spike = _lam("flat", False, 0.0123456789, 1.0), _lam("spike", False, 0.5, 1.0)
    shares = {"blur_share": [0.612345, 0.7], "ig_share": [0.4], "p": 0.03}
    edges = Verdict("blur_path_edges", "r", outcome="holds", numbers=shares)
    rec = R.lam_paths_record(rules, {"blur (LAM)": flat, "IG": spike}, edges)
    assert rec["rules"] == {"right": {"4": 1.2346, "8": 0.5}, "trapezoid": {"4": 2.0, "8": 0.25}}
    assert rec["fig3"] == {
        "blur (LAM)": {"di": 100.0, "completeness_error": 0.012346},
        "IG": {"di": 6.2501, "completeness_error": 0.5},
    }
    assert rec["fig3_edge_share"] == {"blur": [0.6123, 0.7], "ig": [0.4], "p": 0.03}
