"""Texture analysis (helpers.texture.profiles, .consistency, .patchset) against independent
references: scipy's Jensen-Shannon distance and statistics, scikit-learn's confusion matrix
and ROC AUC, brute-force loops and a hand-written bootstrap; plus the bad-input errors.
``_fake_set`` (random labels, no images) is shared with the other texture test files."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from scipy.spatial.distance import jensenshannon
from sklearn.metrics import confusion_matrix, roc_auc_score

from helpers.texture import consistency as K
from helpers.texture import patchset as S
from helpers.texture import profiles as F

pytestmark = pytest.mark.usefixtures("one_thread")

CLASSES = ("banded", "chequered", "dotted", "striped")


def _fake_set(n: int = 300, seed: int = 0, models: tuple[str, ...] = ("bicubic", "net")):
    """A PatchSet with random labels/probabilities (no images) for the pure analyses."""
    rng = np.random.default_rng(seed)
    c = len(CLASSES)
    ps = S.PatchSet(
        dataset="fake",
        scale=4,
        size=16,
        seed=seed,
        spec={},
        classes=CLASSES,
        classifier_key="k",
        key="fake",
        coords=np.c_[rng.integers(0, 3, n), rng.integers(0, 20, (n, 2)) * 4],
        image_names=["a", "b", "c"],
        entropy={"sobel": rng.uniform(2, 9, n), "magid2022": rng.uniform(2, 9, n)},
        embedding=rng.normal(size=(n, 8)).astype(np.float32),
    )
    for v in ("hr", *models):
        p = rng.dirichlet(np.ones(c) * 0.5, n).astype(np.float32)
        if v != "hr":  # correlate with HR so that agreement is neither 0 nor 1
            p = 0.5 * p + 0.5 * ps.probs["hr"]
            ps.psnr[v] = rng.normal(28, 3, n)
        ps.probs[v] = p
        ps.labels[v] = p.argmax(1)
    return ps


# --------------------------------------------------------------------------- profiles
def test_js_distance_matches_scipy() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        p, q = rng.dirichlet(np.ones(7), 2)
        p[rng.integers(0, 7)] = 0  # zeros in the support
        for base in (2.0, np.e):
            assert F.js_distance(p, q, base) == pytest.approx(jensenshannon(p, q, base=base))
    assert F.js_distance([1, 0], [0, 1]) == pytest.approx(1.0)
    assert F.js_distance([3, 1], [6, 2]) == pytest.approx(0.0, abs=1e-7)  # normalised
    with pytest.raises(ValueError, match="equal length"):
        F.js_distance([1, 0], [1, 0, 0])


def test_semantic_profile_and_distances() -> None:
    names = ["dotted", "banded", "dotted", "striped", "dotted"]
    prof = F.semantic_profile(names, CLASSES)
    ref = Counter(names)
    assert list(prof.index) == list(CLASSES)
    for c in CLASSES:
        assert prof[c] == pytest.approx(ref[c] / len(names))
    ps = _fake_set()
    prof_ps = F.semantic_profile(ps)
    counts = np.bincount(ps.labels["hr"], minlength=len(CLASSES)) / len(ps)
    np.testing.assert_allclose(prof_ps.to_numpy(), counts)
    d = F.profile_distances({"a": prof, "b": prof_ps, "c": prof})
    assert d.loc["a", "c"] == 0 and d.loc["a", "b"] == d.loc["b", "a"]
    assert d.loc["a", "b"] == pytest.approx(jensenshannon(prof, prof_ps, base=2))
    with pytest.raises(ValueError, match="not in classes"):
        F.semantic_profile(["woven"], CLASSES)


# --------------------------------------------------------------------------- bootstrap
def test_bootstrap_equals_hand_loop_and_scipy() -> None:
    rng = np.random.default_rng(3)
    x = (rng.random(150) < 0.4).astype(float)
    lo, hi = K.bootstrap_ci(x, n_boot=500, seed=7, chunk=1000)  # several chunks
    hand = np.random.default_rng(7)
    means = [x[hand.integers(0, len(x), len(x))].mean() for _ in range(500)]
    assert (lo, hi) == pytest.approx(tuple(np.quantile(means, [0.025, 0.975])))
    ref = stats.bootstrap(
        (x,), np.mean, n_resamples=4000, method="percentile", random_state=0
    ).confidence_interval
    assert lo == pytest.approx(ref.low, abs=0.025) and hi == pytest.approx(ref.high, abs=0.025)
    assert lo <= x.mean() <= hi


# --------------------------------------------------------------------------- agreement
def test_agreement_against_loops() -> None:
    ps = _fake_set()
    a = K.agreement(ps, "net", n_boot=300, seed=0)
    hr, sr = ps.labels["hr"], ps.labels["net"]
    top1 = np.mean([h == s for h, s in zip(hr, sr, strict=True)])
    top3 = np.mean([s in np.argsort(-ps.probs["hr"][i])[:3] for i, s in enumerate(sr)])
    soft = np.mean([ps.probs["net"][i, h] for i, h in enumerate(hr)])
    chance = sum(np.mean(hr == c) * np.mean(sr == c) for c in range(len(CLASSES)))
    assert a["top1"] == pytest.approx(top1)
    assert a["top3"] == pytest.approx(top3)
    assert a["soft"] == pytest.approx(soft, rel=1e-6)
    assert a["chance"] == pytest.approx(chance)
    assert a["ci95"][0] <= a["top1"] <= a["ci95"][1]
    tab = K.agreement_table({"fake": ps}, n_boot=100)
    assert list(tab.model) == ["bicubic", "net"]
    d = K.agreement_difference(ps, "net", "net")
    assert d["diff"] == 0 and not d["significant"]


def test_flip_matrix_matches_sklearn() -> None:
    ps = _fake_set()
    counts = K.flip_matrix(ps, "net", normalize=False)
    ref = confusion_matrix(ps.labels["hr"], ps.labels["net"], labels=range(len(CLASSES)))
    present = ref.sum(1) > 0
    np.testing.assert_array_equal(counts.to_numpy(), ref[present])
    norm = K.flip_matrix(ps, "net")
    ref_n = confusion_matrix(
        ps.labels["hr"], ps.labels["net"], labels=range(len(CLASSES)), normalize="true"
    )
    np.testing.assert_allclose(norm.to_numpy(), ref_n[present])
    flips = K.top_flips(ps, "net", k=3)
    off = ref.copy()
    np.fill_diagonal(off, 0)
    assert flips["count"].iloc[0] == off.max()
    assert (flips.hr != flips.sr).all()
    i, j = CLASSES.index(flips.hr.iloc[0]), CLASSES.index(flips.sr.iloc[0])
    assert flips.share_of_hr.iloc[0] == pytest.approx(ref[i, j] / ref[i].sum())


def test_select_examples_rule() -> None:
    ps = _fake_set()
    ex = K.select_examples(ps, "net", n=3, max_overlap=1.0)  # no overlap filter
    i = np.arange(len(ps))
    hr = ps.labels["hr"]
    drop = ps.probs["hr"][i, hr] - ps.probs["net"][i, hr]
    flipped = ps.labels["net"] != hr
    want_f = sorted(i[flipped], key=lambda r: -drop[r])[:3]
    want_k = sorted(i[~flipped], key=lambda r: drop[r])[:3]
    assert list(ex[ex.kind == "flipped"].row) == want_f
    assert list(ex[ex.kind == "kept"].row) == want_k
    assert (ex[ex.kind == "flipped"].hr_label != ex[ex.kind == "flipped"].sr_label).all()


def test_consistency_vs_psnr_auc_is_roc_auc() -> None:
    ps = _fake_set()
    res = K.consistency_vs_psnr(ps)
    kept = ps.labels["net"] == ps.labels["hr"]
    gain = ps.psnr["net"] - ps.psnr["bicubic"]
    assert res.loc["net", "auc"] == pytest.approx(roc_auc_score(kept, gain))
    assert res.loc["net", "r_pb"] == pytest.approx(stats.pearsonr(kept.astype(float), gain)[0])
    assert res.loc["net", "gain_kept"] == pytest.approx(gain[kept].mean())


def test_per_label_psnr_and_top_bottom() -> None:
    ps = _fake_set()
    tab = F.per_label_psnr(ps)
    for lab in tab.index:
        m = ps.label_names("hr") == lab
        assert tab.at[lab, "net"] == pytest.approx(ps.psnr["net"][m].mean())
        assert tab.at[lab, "n"] == m.sum()
    tb = F.top_bottom_labels(tab, "net", k=5)  # 4 labels: split in halves
    assert len(tb) == 4 and (tb.group == "top").sum() == 2
    np.testing.assert_allclose(tb.gap, tb.psnr - tb.reference)
    assert tb.psnr.iloc[0] == tab["net"].max()


# --------------------------------------------------------------------------- complexity
def test_contrast_pair_brute_force() -> None:
    rng = np.random.default_rng(5)
    for n in (2, 3, 17, 64):
        x, y = rng.normal(size=n), rng.normal(size=n)
        i, j = F.contrast_pair(x, y, 0.3)
        assert abs(x[i] - x[j]) <= 0.3 and y[i] >= y[j]
        best = max(abs(y[a] - y[b]) for a in range(n) for b in range(n) if abs(x[a] - x[b]) <= 0.3)
        assert y[i] - y[j] == pytest.approx(best)


def test_select_high_and_fit() -> None:
    e = np.linspace(2, 10, 100)
    p = 40 - 2 * e + np.sin(e)
    ratio = F.complexity_ratio(e, p)
    mask, rule = F.select_high(ratio, min_count=5)
    assert rule["kind"] == "threshold" and mask.tolist() == (ratio >= 0.4).tolist()
    mask, rule = F.select_high(ratio * 0.1, min_count=5)  # 0.4 keeps nothing: quantile
    assert rule["kind"] == "quantile" and rule["paper_rule_share"] == 0
    assert mask.mean() == pytest.approx(0.2, abs=0.011)
    fit = F.entropy_psnr_fit(e, p)
    slope, icpt = np.polyfit(e, p, 1)
    assert fit["slope"] == pytest.approx(slope) and fit["intercept"] == pytest.approx(icpt)
    assert fit["pearson_r"] == pytest.approx(stats.pearsonr(e, p)[0])


def test_clusters_and_projection() -> None:
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0, 0.1, (20, 5)), rng.normal(3, 0.1, (20, 5))]
    cl = F.kmeans_clusters(x, 2)
    assert len(set(cl[:20])) == 1 and len(set(cl[20:])) == 1 and cl[0] != cl[-1]
    summ = F.cluster_summary(cl, ["a"] * 15 + ["b"] * 25)
    assert summ["size"].sum() == 40 and set(summ.top_label) == {"a", "b"}
    assert F.project_2d(x, "pca").shape == (40, 2)
    with pytest.raises(ValueError, match="k must be"):
        F.kmeans_clusters(x, 41)


# --------------------------------------------------------------------------- tables
def test_agreement_differences_and_rank_correlation() -> None:
    sets = {"a": _fake_set(seed=1, models=("bicubic", "net", "net2")), "b": _fake_set(seed=2)}
    diffs = K.agreement_differences(sets, n_boot=100, seed=0)
    assert list(zip(diffs.dataset, diffs.model, strict=True)) == [
        ("a", "net"),
        ("a", "net2"),
        ("b", "net"),
    ]
    one = K.agreement_difference(sets["a"], "net2", "bicubic", n_boot=100, seed=0)
    row = diffs.iloc[1]
    assert row.diff_pts == pytest.approx(100 * one["diff"])
    assert [row.ci_lo, row.ci_hi] == pytest.approx([100 * v for v in one["ci95"]])
    assert row.significant == one["significant"]
    table = pd.DataFrame(
        {
            "dataset": ["x"] * 5 + ["y"] * 3,
            "model": ["bicubic", "m1", "m2", "m3", "m4", "bicubic", "m1", "m2"],
            "top1": [0.1, 0.2, 0.4, 0.3, 0.5, 0.1, 0.2, 0.3],
            "mean_psnr": [25, 26, 28, 27, 29, 25, 26, 27],
        }
    )
    rank = K.psnr_rank_correlation(table)
    assert list(rank.dataset) == ["x"]  # y has two SR models only
    assert rank.models.iloc[0] == 4 and rank.spearman_rho.iloc[0] == pytest.approx(1.0)
    ref = stats.spearmanr([26, 28, 27, 29], [0.2, 0.4, 0.3, 0.5])
    assert rank.p.iloc[0] == pytest.approx(ref.pvalue)


def test_concat_patchsets_pools_rows() -> None:
    a, b = _fake_set(50, seed=1), _fake_set(30, seed=2, models=("bicubic",))
    a._pairs, b._pairs = [], []  # no images behind the fake sets
    pooled = S.concat_patchsets([a, b])
    assert len(pooled) == 80 and pooled.models == ["bicubic"]  # "net" is not in b
    np.testing.assert_array_equal(pooled.labels["hr"], np.r_[a.labels["hr"], b.labels["hr"]])
    np.testing.assert_array_equal(pooled.coords[50:, 0], b.coords[:, 0] + len(a.image_names))
    assert pooled.image_names[0] == "fake/a" and pooled.spec == {"pooled": ["fake", "fake"]}
    assert pooled.key != a.key and pooled.key == S.concat_patchsets([a, b]).key
    with pytest.raises(ValueError, match="nothing to pool"):
        S.concat_patchsets([])


def test_patch_psnr_is_capped() -> None:
    x = np.random.default_rng(0).random((2, 3, 16, 16)).astype(np.float32)
    t = torch.from_numpy(x)
    same = S.patch_psnr(t, t, 4)
    assert same.tolist() == [S.PSNR_CAP, S.PSNR_CAP]
    noisy = S.patch_psnr((t + 0.05).clamp(0, 1), t, 4)
    assert (noisy < S.PSNR_CAP).all() and noisy.dtype == np.float64


def test_consistent_labels() -> None:
    bars = pd.DataFrame(
        {
            "dataset": ["s", "s", "s", "s", "u", "u", "u", "u"],
            "model": "m",
            "group": ["top", "top", "bottom", "bottom"] * 2,
            "label": ["a", "b", "c", "d", "a", "e", "c", "b"],
        }
    )
    assert F.consistent_labels(bars) == {"bottom": ["c"], "top": ["a"]}
    assert F.consistent_labels(bars[bars.dataset == "s"]) == {
        "bottom": ["c", "d"],
        "top": ["a", "b"],
    }
