"""The texture chapters' verdicts (helpers.texture.verdicts): for each claim, one
constructed case where it holds and one where it does not, with the sentence printed."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from helpers.texture import verdicts as V


def _fit(r: float, p: float) -> dict:
    return {"slope": -1.5, "intercept": 40.0, "pearson_r": r, "pearson_p": p}


def test_entropy_psnr() -> None:
    v = V.entropy_psnr(_fit(-0.62, 1e-9), 7.26)
    assert v.holds and v.outcome == "holds" and v.claim == "entropy_psnr"
    assert v.text == (
        "Fig. 3: PSNR falls with entropy (-1.50 dB/bit, r = -0.62); an inverse relation as in "
        "the paper; the most different pair of equal entropy differs by 7.3 dB."
    )
    assert "r < -0.3" in v.rule and v.numbers["pearson_r"] == -0.62 and v.paper
    assert not V.entropy_psnr(_fit(-0.62, 0.02), 1.0).holds  # not significant
    weak = V.entropy_psnr(_fit(-0.2, 1e-9), 1.0)
    assert not weak.holds and "does not show clearly" in weak.text


def test_entropy_spread() -> None:
    base = {"sd_within": 2.0, "sd_total": 4.0, "eta2": 0.75, "bin_width": 0.5, "n": 900}
    v = V.entropy_spread({**base, "ci": [1.6, 2.4]})
    assert v.holds and v.claim == "entropy_spread" and v.numbers["sd_within"] == 2.0
    assert v.text == (
        "Fig. 3: at equal entropy (bins of 0.5 bit) the bicubic PSNR still spreads by 2.00 dB "
        "(SD; 95% CI 1.60-2.40; entropy bins explain 75% of the PSNR variance) — entropy alone "
        "does not determine difficulty, as the paper says."
    )
    v = V.entropy_spread({**base, "sd_within": 0.5, "ci": [0.4, 0.6]})
    assert not v.holds and v.outcome == "does not hold" and "nearly determines" in v.text
    v = V.entropy_spread({**base, "sd_within": 1.0, "ci": [0.8, 1.2]})
    assert v.outcome == "inconclusive" and "straddles 1 dB" in v.text


def test_manifold_overlap() -> None:
    v = V.manifold_overlap(pd.Series([0.5, 0.6, 0.9, 0.7]), pd.Series([1, 2]))
    assert v.holds and v.numbers["mixed_share"] == 0.75
    assert v.text == (
        "Fig. 5-6: 75% of the clusters mix labels (top label under 80% of the cluster) and 50% "
        "of the labels spread over several clusters — the overlap the paper reports."
    )
    # two labels in every cluster, but one dominates: n_labels > 1 would have passed this
    v = V.manifold_overlap([0.95, 0.9, 0.85, 0.6], [1, 1])
    assert not v.holds and v.text.endswith("less overlap than the paper's.")
    assert "top-label share under 80%" in v.rule


def _null(js: float, p95: float) -> dict:
    return {"js": js, "p": 0.01 if js > p95 else 0.4, "null_p95": p95, "null_median": p95 / 2,
            "n_draws": 1000, "n_a": 500, "n_b": 200}  # fmt: skip


def test_profiles_differ() -> None:
    v = V.profiles_differ({"a": _null(0.30, 0.15), "b": _null(0.25, 0.14)}, "train")
    assert v.holds and v.numbers["apart"] == {"a": True, "b": True}
    assert v.text == (
        "Fig. 8: JS distance from train's profile vs the null's 95% point: a 0.30 vs 0.15, "
        "b 0.25 vs 0.14 — 2 of 2 apart; the profiles tell the datasets apart, the fingerprint "
        "the paper proposes."
    )
    # the case: noise alone gives JS 0.11-0.15, which '> 0.1' used to call apart
    v = V.profiles_differ({"a": _null(0.13, 0.15)}, "train")
    assert not v.holds and v.outcome == "does not hold" and "resampling" in v.text
    v = V.profiles_differ({"a": _null(0.3, 0.15), "b": _null(0.13, 0.15)}, "train")
    assert v.outcome == "partly"


def test_labels_consistently_hard() -> None:
    w = {"s": {"w": 0.8, "p": 0.001, "n_models": 4, "n_labels": 10}}
    v = V.labels_consistently_hard(w)
    assert v.holds and v.claim == "hard_labels"
    assert v.text == (
        "Fig. 9: rank agreement of the per-label gains across models (Kendall's W): s W = 0.80 "
        "(p = 0.001, 4 models, 10 labels) — the models agree on which labels are hard."
    )
    v = V.labels_consistently_hard({**w, "t": {"w": 0.1, "p": 0.6, "n_models": 4, "n_labels": 9}})
    assert not v.holds and v.outcome == "partly"
    v = V.labels_consistently_hard({"t": {"w": 0.1, "p": 0.6, "n_models": 4, "n_labels": 9}})
    assert v.outcome == "does not hold"
    v = V.labels_consistently_hard({"t": {"w": None, "p": None, "n_models": 2, "n_labels": 1}})
    assert v.outcome == "not testable" and "none testable" in v.text


def _gaps(values: list[float]) -> pd.DataFrame:
    n = len(values)
    return pd.DataFrame(
        {
            "dataset": ["s"] * n,
            "model": ["m"] * n,
            "group": ["top"] * (n // 2) + ["bottom"] * (n - n // 2),
            "label": [f"l{i}" for i in range(n)],
            "gap": values,
        }
    )


def test_per_label_margins() -> None:
    table = pd.DataFrame({"s": [28.0, 29.0]}, index=["bicubic", "m"])
    v = V.per_label_margins(_gaps([1.2, 0.3, 0.9, 1.5]), table, ["m"])
    assert v.holds and v.outcome == "holds" and v.numbers["n_small"] == 1
    assert v.text == (
        "Fig. 9: mean gain over bicubic +1.20 dB on the five worst labels and +0.75 dB on the "
        "five best; 1 of 4 label bars gain less than 0.5 dB — the small margins the paper "
        "warns about are present."
    )
    v = V.per_label_margins(_gaps([1.2, 0.8, 0.9, 1.5]), table, ["m"])
    assert not v.holds and v.outcome == "does not hold" and "no label shows" in v.text
    weak = pd.DataFrame({"s": [28.0, 28.1]}, index=["bicubic", "m"])
    v = V.per_label_margins(_gaps([0.1, 0.3, 0.2, 0.1]), weak, ["m"])
    assert not v.holds and v.outcome == "inconclusive" and "gain only +0.10 dB" in v.text
    worse = pd.DataFrame({"s": [28.0, 27.0]}, index=["bicubic", "m"])
    v = V.per_label_margins(_gaps([0.1, 0.3, 0.2, 0.1]), worse, ["m"])
    assert "worse than bicubic on average (-1.00 dB)" in v.text


def _final(d_all: float, d_high: float, base: float = 25.0) -> pd.DataFrame:
    return pd.DataFrame(
        {"all": [base, base + d_all], "high": [base - 2, base - 2 + d_high]},
        index=pd.Index(["all", "high"], name="arm"),
    )


def test_high_vs_all() -> None:
    v = V.high_vs_all(_final(0.3, 0.5), {"all": 24.0, "high": 22.0}, 1000)
    assert v.holds and v.numbers["diff_all"] == pytest.approx(0.3)
    assert v.text == (
        "Fig. 7: training on the high patches only changes the PSNR by +0.30 dB on all test "
        "patches and +0.50 dB on the high ones after 1000 steps — the paper's finding (high is "
        "better on both) holds here."
    )
    v = V.high_vs_all(_final(0.0, 0.5), {"all": 24.0}, 10)
    assert not v.holds and v.outcome == "partly"
    v = V.high_vs_all(_final(0.05, -0.05), {"all": 30.0}, 10)
    assert v.outcome == "no difference" and "(under 0.1 dB)" in v.text
    assert v.text.endswith(
        " Neither arm reaches bicubic (30.00 dB on all patches) in this short training."
    )
    v = V.high_vs_all(_final(-0.5, -0.3), {"all": 20.0}, 10)
    assert v.outcome == "does not hold" and "does not hold at this scale." in v.text


def _table(top1: list[float], half: float = 0.03, bicubic: float = 0.25) -> pd.DataFrame:
    rows = [{"dataset": "d", "model": "bicubic", "top1": bicubic}]
    rows += [{"dataset": "d", "model": f"m{i}", "top1": t} for i, t in enumerate(top1)]
    t = pd.DataFrame(rows)
    return t.assign(ci_lo=t.top1 - half, ci_hi=t.top1 + half)


def test_sr_changes_labels() -> None:
    v = V.sr_changes_labels(_table([0.4, 0.5, 0.9]))
    assert v.holds and v.numbers["inside_share"] == pytest.approx(2 / 3)
    assert v.text == (
        "Claim 1 (SR changes the label of roughly half the patches; paper: 46-69% changed): "
        "our SR models change 10%-60% (median 50%); 67% of the dataset x model cells are "
        "compatible with the paper's 31-54% kept — the claim holds here."
    )
    v = V.sr_changes_labels(_table([0.8, 0.9, 0.4]))
    assert not v.holds and "SR keeps more labels here" in v.text
    v = V.sr_changes_labels(_table([0.1, 0.2, 0.8]))
    assert not v.holds and v.text.endswith("the claim does not hold at this preset.")


def _diffs(diff: list[float], significant: list[bool]) -> pd.DataFrame:
    return pd.DataFrame(
        {"dataset": "d", "model": "m", "diff_pts": diff, "significant": significant}
    )


def test_bicubic_keeps_fewer() -> None:
    table = _table([0.4, 0.5, 0.6])
    v = V.bicubic_keeps_fewer(table, _diffs([15, 25, 35], [True, True, False]))
    assert v.holds and v.numbers["n_significant"] == 2
    assert v.text == (
        "Claim 2 (bicubic keeps even fewer; paper: 20-32% vs 31-54%): bicubic keeps 25% on d; "
        "it is below the SR model in 3 of 3 pairs (2 significantly, 0 significantly above) — "
        "the claim holds here."
    )
    v = V.bicubic_keeps_fewer(table, _diffs([15, 25, -35], [True, True, True]))
    assert not v.holds and v.outcome == "partly"
    v = V.bicubic_keeps_fewer(table, _diffs([-5, 2, -3], [False, False, True]))
    assert not v.holds and v.outcome == "does not hold"


def test_most_frequent_flips() -> None:
    flips = pd.DataFrame({"hr": ["a", "b", "c", "d"], "sr": ["b", "c", "a", "a"], "count": 1})
    v = V.most_frequent_flips("edsr", flips)
    assert v.outcome == "described" and not v.holds  # a description decides nothing
    assert v.text == (
        "Most frequent flips of the least consistent model (edsr): a -> b, b -> c, c -> a."
    )
    v = V.most_frequent_flips("edsr", flips.iloc[:0])
    assert v.outcome == "no flips" and v.text.endswith("(edsr): none.")


def test_consistency_psnr() -> None:
    cvp = pd.DataFrame({"auc": [0.6, 0.7, np.nan], "mwu_p": [0.01, 0.2, np.nan]})
    v = V.consistency_psnr(cvp)
    assert v.holds and v.numbers["auc_median"] == pytest.approx(0.65)
    assert v.text == (
        "Keeping the label goes with a larger PSNR gain in 2 of 2 models (AUC 0.60-0.70; 1 "
        "significant at 5%), so PSNR and semantic consistency are related but far from the "
        "same thing."
    )
    v = V.consistency_psnr(pd.DataFrame({"auc": [0.5, 0.52], "mwu_p": [0.5, 0.6]}))
    assert not v.holds and "largely independently" in v.text
    v = V.consistency_psnr(pd.DataFrame({"auc": [np.nan], "mwu_p": [np.nan]}))
    assert not v.holds and v.outcome == "not testable" and v.text.startswith("No model")


def test_report_lists_rule_outcome_and_paper() -> None:
    v = V.manifold_overlap([0.5, 0.5], [2])
    lines = v.report("- ").splitlines()
    assert lines[0] == f"- {v.text}" and lines[1].strip().startswith("rule:")
    assert "outcome: holds" in lines[2] and "k = 15" in lines[3]
