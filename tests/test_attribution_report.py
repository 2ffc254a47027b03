"""The DI chapter's prose numbers, printed summaries and results sections
(helpers.attribution.report) against hand-written expected values, helpers.published and
an independent scipy fit."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pandas as pd
import pytest
from scipy import stats

from helpers import published
from helpers.attribution import report as R
from helpers.attribution.di import fit_log_di
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
        Verdict("psnr_vs_di", "r > 0.8", True, "holds", text="PSNR rises with DI.", paper="P1"),
        Verdict("content", "rho < 0", False, "partly", text="Stripes: wide.", paper="P2"),
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
