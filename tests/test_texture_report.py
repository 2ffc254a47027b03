"""The texture-profiles chapter's text and results sections (helpers.texture.report) against
hand-written expected strings and dicts, and the table builders it calls in
helpers.texture.profiles against loops over the same patches."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from test_texture_analysis import _fake_set

from helpers.texture import nulls
from helpers.texture import profiles as F
from helpers.texture import report as R
from helpers.texture.complexity import ComplexitySet
from helpers.texture.high_vs_all import HighVsAll

CLF = SimpleNamespace(
    classes=("banded", "dotted", "striped", "woven"),
    data_source="procedural",
    n_train=40,
    n_test=8,
    train_seconds=90.0,
    test_accuracy=0.625,
)


def _bars() -> pd.DataFrame:
    """Two Fig. 9 panels, concatenated as the chapter does."""
    rows = [
        ("set5", "edsr", "banded", "top", 0.1),
        ("set5", "edsr", "dotted", "bottom", -0.3),
        ("set5", "edsr", "woven", "bottom", 0.7),
        ("set14", "edsr", "striped", "top", 0.49),
        ("set14", "edsr", "woven", "bottom", 0.5),
        ("set14", "edsr", "dotted", "bottom", 1.25),
    ]
    return pd.DataFrame(rows, columns=["dataset", "model", "label", "group", "gap"])


# --------------------------------------------------------------------------- printed text
def test_classifier_summary() -> None:
    text = R.classifier_summary(CLF, {"test_accuracy": 0.7, "classes": 47})
    assert text == (
        "4 classes (procedural), 40 training / 8 test images; trained in 1.5 min (cached "
        "after the first run); test accuracy 62.5% (chance 25.0%); paper: 70% on DTD-47 "
        "with a ResNet-50 DeepTEN"
    )


def test_fig3_summary() -> None:
    n = 5
    cs = ComplexitySet(
        dataset="div2k", scale=4, lr_patch=12, convention="released",
        coords=np.zeros((n, 3), np.int64), image_names=["a"], entropy={}, psnr=np.zeros(n),
        keep=np.ones(n, bool), labels=None,
    )  # fmt: skip
    kept = pd.DataFrame(
        {"entropy_sobel": [2.0, 3.0, 4.0, 2.2], "psnr_bicubic": [30.0, 25.0, 25.5, 36.0]}
    )
    fit = {"slope": -3.14159, "pearson_r": -0.876, "pearson_p": 0.000123, "spearman_rho": -0.8}
    info = {"fit": fit, "same_entropy": (3, 0), "same_psnr": (2, 1)}
    spread = {"bin_width": 0.5, "sd_within": 1.234, "ci": [1.0, 1.5], "sd_total": 4.5678}
    rule = {
        "div2k": {"count": 1, "n": 4, "share": 0.25},
        "set5": {"count": 0, "n": 3, "share": 0.0},
    }
    text = R.fig3_summary(cs, kept, "sobel", 5, info, spread, rule)
    assert text.splitlines() == [
        "5 patches of 12 LR px (48 HR px), 5 per image, released PSNR; kept (PSNR in [0, 60] "
        "dB): 4; entropy sobel: 2.00-4.00 bits (median 2.60)",
        "fit: -3.14 dB per bit, Pearson r = -0.88 (p = 1.2e-04), Spearman rho = -0.80",
        "same entropy (2.20 vs 2.00 bits): PSNR 36.0 vs 30.0 dB (ratio 1.20); same PSNR "
        "(25.5 vs 25.0 dB): entropy 4.00 vs 3.00 bits",
        "PSNR SD within 0.5-bit entropy bins: 1.23 dB (95% CI 1.00-1.50; all patches 4.57)",
        "the paper's entropy/PSNR >= 0.4 keeps: div2k 1 of 4 (25.0%); set5 0 of 3 (0.0%)",
    ]


def test_top_labels() -> None:
    profs = {
        "div2k": pd.Series({"banded": 0.15, "dotted": 0.5, "striped": 0.3, "woven": 0.05}),
        "set5": pd.Series({"banded": 0.7, "dotted": 0.2, "striped": 0.1, "woven": 0.0}),
    }
    assert R.top_labels(profs, 2) == (
        "          div2k: dotted 50%, striped 30%\n           set5: banded 70%, dotted 20%"
    )


def test_small_gaps_and_consistent_summary() -> None:
    bars = _bars()
    assert R.small_gaps(bars, 0.5, n_listed=2) == (
        "3 of 6 bars gain less than 0.5 dB over bicubic: banded (set5, edsr, +0.10), "
        "dotted (set5, edsr, -0.30)"
    )
    assert R.small_gaps(bars, 2.0).startswith("6 of 6 bars gain less than 2.0 dB")
    # woven and dotted are in both panels' bottom groups; no label tops both panels
    assert R.consistent_summary(bars, 2) == (
        "labels in the bottom five of every panel (2): ['dotted', 'woven']; "
        "in the top five of every panel: none"
    )


def test_rule_summary_threshold_and_fallback() -> None:
    rule = {
        "kind": "threshold", "cut": 0.4, "count": 60, "paper_rule_share": 0.3,
        "paper_rule_count": 60, "paper_threshold": 0.4, "min_count": 50,
    }  # fmt: skip
    assert R.rule_summary("training", rule) == (
        "training: entropy/PSNR >= 0.4 keeps 60 (30.0%); minimum 50 -> threshold rule, "
        "cut 0.400, high = 60"
    )
    rule.update(kind="quantile", cut=0.21234, count=20, paper_rule_count=3)
    assert R.rule_summary("set5", rule) == (
        "set5: entropy/PSNR >= 0.4 keeps 3 (30.0%); minimum 50 -> quantile rule, cut 0.212, "
        "high = 20 (FALLBACK: too few pass the paper's threshold)"
    )


def test_high_vs_all_summary() -> None:
    f7 = HighVsAll(
        curves=pd.DataFrame(), bicubic={"all": 24.123, "high": 21.987}, n_train={}, n_test={},
        seconds={"all": 12.4, "high": 11.6}, steps=8, config={"model_kwargs": {"n_feats": 8}},
    )  # fmt: skip
    assert R.high_vs_all_summary(f7) == (
        "EDSR {'n_feats': 8}, after 8 steps (bicubic: all 24.12, high 21.99 dB); training "
        "time per arm: all 12 s, high 12 s"
    )


# --------------------------------------------------------------------------- results
def test_rounded_and_spread_record() -> None:
    rec = {"a": 0.123456, "b": 3, "c": None, "d": [0.111111], "e": "x"}
    assert R.rounded(rec) == {"a": 0.1235, "b": 3, "c": None, "d": [0.111111], "e": "x"}
    assert R.rounded(rec, 2)["a"] == 0.12
    spread = {"sd_within": 1.234567, "ci": [1.000049, 1.500051], "n": 40, "bin_width": 0.5}
    assert R.spread_record(spread) == {
        "sd_within": 1.2346,
        "ci": [1.0, 1.5001],
        "n": 40,
        "bin_width": 0.5,
    }


def test_classifier_and_cluster_records() -> None:
    assert R.classifier_record(CLF, 0.7) == {
        "classes": ["banded", "dotted", "striped", "woven"],
        "test_accuracy": 0.625,
        "n_test": 8,
        "train_seconds": 90.0,
        "paper_test_accuracy": 0.7,
    }
    numbers = {"mixed_share": np.float64(0.66666), "max_top_share": 0.8, "spread_share": 0.5}
    rec = R.cluster_record(15, "umap", numbers)
    assert rec == {"k": 15, "projection": "umap", "mixed_share": 0.667, "max_top_share": 0.8}
    assert type(rec["mixed_share"]) is float


def test_per_label_and_gap_records() -> None:
    tab = pd.DataFrame(
        {"bicubic": [25.12345, 22.0], "net": [26.00049, 21.4], "n": [10, 12]},
        index=["banded", "dotted"],
    )
    assert R.per_label_record(tab, ["bicubic", "net"]) == {
        "bicubic": {"banded": 25.123, "dotted": 22.0},
        "net": {"banded": 26.0, "dotted": 21.4},
    }
    panels = {("set5", "net"): F.top_bottom_labels(tab, "net", k=1)}
    assert R.gap_record(panels) == {"set5/net": {"banded": 0.877, "dotted": -0.6}}


# --------------------------------------------------------------------------- table builders
def test_mean_psnr_table_and_fig9_panels() -> None:
    sets = {"a": _fake_set(50, seed=1), "b": _fake_set(60, seed=2)}
    tab = F.mean_psnr_table(sets, ["b", "a"])
    assert list(tab.columns) == ["b", "a"] and list(tab.index) == ["bicubic", "net"]
    for ds in ("a", "b"):
        for m in ("bicubic", "net"):
            assert tab.at[m, ds] == pytest.approx(np.mean(sets[ds].psnr[m]))
    per_label = {ds: F.per_label_psnr(ps) for ds, ps in sets.items()}
    panels = F.fig9_panels(per_label, ["net", "bicubic"], k=1)
    assert list(panels) == [("a", "net"), ("a", "bicubic"), ("b", "net"), ("b", "bicubic")]
    pd.testing.assert_frame_equal(
        panels[("b", "net")], F.top_bottom_labels(per_label["b"], "net", 1)
    )


def test_label_means_and_extreme_labels() -> None:
    df = pd.DataFrame(
        {
            "label": ["a", "a", "b", "c", "c", "c"],
            "psnr_bicubic": [20.0, 22.0, 40.0, 30.0, 31.0, 32.0],
            "entropy_sobel": [5.0, 7.0, 1.0, 3.0, 3.0, 3.0],
        }
    )
    by = F.label_means(df, "entropy_sobel", min_count=2)
    assert list(by.index) == ["c", "a"]  # b (1 patch) dropped; highest PSNR first
    assert by.loc["a"].tolist() == [21.0, 6.0, 2] and by.loc["c"].tolist() == [31.0, 3.0, 3]
    assert F.extreme_labels(list("abcdefg"), 3) == list("abcefg")
    assert F.extreme_labels(list("abcd"), 3) == list("abcd")
    assert F.extreme_labels(pd.Index(["x"]), 3) == ["x", "x"]
    assert F.extreme_labels([], 3) == []


def test_profile_nulls_and_label_concordance() -> None:
    sets = {"tr": _fake_set(80, seed=3), "te": _fake_set(70, seed=4)}
    got = F.profile_nulls(sets, "tr", ["te", "tr"], 4, n_draws=200, seed=1)
    assert list(got) == ["te", "tr"]
    assert got["te"] == nulls.js_null(
        sets["tr"].labels["hr"], sets["te"].labels["hr"], 4, n_draws=200, seed=1
    )
    assert got["tr"]["js"] == 0.0
    s = _fake_set(300, seed=5, models=("bicubic", "net", "other"))
    per_label = {"s": F.per_label_psnr(s)}
    w = F.label_concordance(per_label, ["net", "other"])
    gaps = per_label["s"][["net", "other"]].sub(per_label["s"]["bicubic"], axis=0)
    assert w == {"s": nulls.kendall_w(gaps)}
    # Kendall's W by hand: ranks of the labels within each model, W = 12 S / (m^2 (n^3 - n))
    ranks = gaps.rank().to_numpy()
    n, m = ranks.shape
    s_dev = ((ranks.sum(1) - m * (n + 1) / 2) ** 2).sum()
    assert w["s"]["w"] == pytest.approx(12 * s_dev / (m**2 * (n**3 - n)))
