"""Texture analysis (profiles, agreement, flips, bootstrap, high-vs-all) against independent
references: scipy's Jensen-Shannon distance and statistics, scikit-learn's confusion matrix
and ROC AUC, brute-force loops and a hand-written bootstrap; plus the bad-input errors."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from scipy.spatial.distance import jensenshannon
from sklearn.metrics import confusion_matrix, roc_auc_score

from helpers import presets
from helpers.data import load_sr_set
from helpers.models import build
from helpers.texture import analysis as TA
from helpers.texture import classifier as T

pytestmark = pytest.mark.usefixtures("one_thread")

CLASSES = ("banded", "chequered", "dotted", "striped")


def _fake_set(n: int = 300, seed: int = 0, models: tuple[str, ...] = ("bicubic", "net")):
    """A PatchSet with random labels/probabilities (no images) for the pure analyses."""
    rng = np.random.default_rng(seed)
    c = len(CLASSES)
    ps = TA.PatchSet(
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
            assert TA.js_distance(p, q, base) == pytest.approx(jensenshannon(p, q, base=base))
    assert TA.js_distance([1, 0], [0, 1]) == pytest.approx(1.0)
    assert TA.js_distance([3, 1], [6, 2]) == pytest.approx(0.0, abs=1e-7)  # normalised
    with pytest.raises(ValueError, match="equal length"):
        TA.js_distance([1, 0], [1, 0, 0])


def test_semantic_profile_and_distances() -> None:
    names = ["dotted", "banded", "dotted", "striped", "dotted"]
    prof = TA.semantic_profile(names, CLASSES)
    ref = Counter(names)
    assert list(prof.index) == list(CLASSES)
    for c in CLASSES:
        assert prof[c] == pytest.approx(ref[c] / len(names))
    ps = _fake_set()
    prof_ps = TA.semantic_profile(ps)
    counts = np.bincount(ps.labels["hr"], minlength=len(CLASSES)) / len(ps)
    np.testing.assert_allclose(prof_ps.to_numpy(), counts)
    d = TA.profile_distances({"a": prof, "b": prof_ps, "c": prof})
    assert d.loc["a", "c"] == 0 and d.loc["a", "b"] == d.loc["b", "a"]
    assert d.loc["a", "b"] == pytest.approx(jensenshannon(prof, prof_ps, base=2))
    with pytest.raises(ValueError, match="not in classes"):
        TA.semantic_profile(["woven"], CLASSES)


# --------------------------------------------------------------------------- bootstrap
def test_bootstrap_equals_hand_loop_and_scipy() -> None:
    rng = np.random.default_rng(3)
    x = (rng.random(150) < 0.4).astype(float)
    lo, hi = TA.bootstrap_ci(x, n_boot=500, seed=7, chunk=1000)  # several chunks
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
    a = TA.agreement(ps, "net", n_boot=300, seed=0)
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
    tab = TA.agreement_table({"fake": ps}, n_boot=100)
    assert list(tab.model) == ["bicubic", "net"]
    d = TA.agreement_difference(ps, "net", "net")
    assert d["diff"] == 0 and not d["significant"]


def test_flip_matrix_matches_sklearn() -> None:
    ps = _fake_set()
    counts = TA.flip_matrix(ps, "net", normalize=False)
    ref = confusion_matrix(ps.labels["hr"], ps.labels["net"], labels=range(len(CLASSES)))
    present = ref.sum(1) > 0
    np.testing.assert_array_equal(counts.to_numpy(), ref[present])
    norm = TA.flip_matrix(ps, "net")
    ref_n = confusion_matrix(
        ps.labels["hr"], ps.labels["net"], labels=range(len(CLASSES)), normalize="true"
    )
    np.testing.assert_allclose(norm.to_numpy(), ref_n[present])
    flips = TA.top_flips(ps, "net", k=3)
    off = ref.copy()
    np.fill_diagonal(off, 0)
    assert flips["count"].iloc[0] == off.max()
    assert (flips.hr != flips.sr).all()
    i, j = CLASSES.index(flips.hr.iloc[0]), CLASSES.index(flips.sr.iloc[0])
    assert flips.share_of_hr.iloc[0] == pytest.approx(ref[i, j] / ref[i].sum())


def test_select_examples_rule() -> None:
    ps = _fake_set()
    ex = TA.select_examples(ps, "net", n=3, max_overlap=1.0)  # no overlap filter
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
    res = TA.consistency_vs_psnr(ps)
    kept = ps.labels["net"] == ps.labels["hr"]
    gain = ps.psnr["net"] - ps.psnr["bicubic"]
    assert res.loc["net", "auc"] == pytest.approx(roc_auc_score(kept, gain))
    assert res.loc["net", "r_pb"] == pytest.approx(stats.pearsonr(kept.astype(float), gain)[0])
    assert res.loc["net", "gain_kept"] == pytest.approx(gain[kept].mean())


def test_per_label_psnr_and_top_bottom() -> None:
    ps = _fake_set()
    tab = TA.per_label_psnr(ps)
    for lab in tab.index:
        m = ps.label_names("hr") == lab
        assert tab.at[lab, "net"] == pytest.approx(ps.psnr["net"][m].mean())
        assert tab.at[lab, "n"] == m.sum()
    tb = TA.top_bottom_labels(tab, "net", k=5)  # 4 labels: split in halves
    assert len(tb) == 4 and (tb.group == "top").sum() == 2
    np.testing.assert_allclose(tb.gap, tb.psnr - tb.reference)
    assert tb.psnr.iloc[0] == tab["net"].max()


# --------------------------------------------------------------------------- complexity
def test_contrast_pair_brute_force() -> None:
    rng = np.random.default_rng(5)
    for n in (2, 3, 17, 64):
        x, y = rng.normal(size=n), rng.normal(size=n)
        i, j = TA.contrast_pair(x, y, 0.3)
        assert abs(x[i] - x[j]) <= 0.3 and y[i] >= y[j]
        best = max(abs(y[a] - y[b]) for a in range(n) for b in range(n) if abs(x[a] - x[b]) <= 0.3)
        assert y[i] - y[j] == pytest.approx(best)


def test_select_high_and_fit() -> None:
    e = np.linspace(2, 10, 100)
    p = 40 - 2 * e + np.sin(e)
    ratio = TA.complexity_ratio(e, p)
    mask, rule = TA.select_high(ratio)
    assert rule["kind"] == "threshold" and mask.tolist() == (ratio >= 0.4).tolist()
    mask, rule = TA.select_high(ratio * 0.1)  # the paper's 0.4 keeps nothing: quantile
    assert rule["kind"] == "quantile" and rule["paper_rule_share"] == 0
    assert mask.mean() == pytest.approx(0.2, abs=0.011)
    fit = TA.entropy_psnr_fit(e, p)
    slope, icpt = np.polyfit(e, p, 1)
    assert fit["slope"] == pytest.approx(slope) and fit["intercept"] == pytest.approx(icpt)
    assert fit["pearson_r"] == pytest.approx(stats.pearsonr(e, p)[0])


def test_clusters_and_projection() -> None:
    rng = np.random.default_rng(0)
    x = np.r_[rng.normal(0, 0.1, (20, 5)), rng.normal(3, 0.1, (20, 5))]
    cl = TA.kmeans_clusters(x, 2)
    assert len(set(cl[:20])) == 1 and len(set(cl[20:])) == 1 and cl[0] != cl[-1]
    summ = TA.cluster_summary(cl, ["a"] * 15 + ["b"] * 25)
    assert summ["size"].sum() == 40 and set(summ.top_label) == {"a", "b"}
    assert TA.project_2d(x, "pca").shape == (40, 2)
    with pytest.raises(ValueError, match="k must be"):
        TA.kmeans_clusters(x, 41)


# --------------------------------------------------------------------------- labelling
def _classifier(classes=CLASSES, key="untrained") -> TA.TextureClassifier:
    torch.manual_seed(0)
    model = T.build_classifier(
        classes, {**presets.get("texture_classifier", "smoke"), "pretrained": False}
    ).eval()
    c = len(classes)
    return TA.TextureClassifier(
        model,
        "smoke",
        key,
        tuple(classes),
        0.0,
        np.zeros((c, c), np.int64),
        {},
        0,
        0,
        0.0,
        Path("x.pt"),
        "test",
    )


#: Small, fast labelling: 2 images cropped to 96 px, five 64 px patches each.
LABEL_ARGS = dict(size=64, n_per_image=5, limit=2, crop=96, device="cpu", progress=False)


@pytest.fixture(scope="module")
def labelled(tmp_path_factory):
    cache = tmp_path_factory.mktemp("ta-cache")
    clf = _classifier()
    ps = TA.label_dataset(clf, "embedded_test", 4, cache_dir=cache, **LABEL_ARGS)
    return clf, ps, cache


def test_label_dataset_shares_coordinates_and_caches(labelled) -> None:
    clf, ps, cache = labelled
    assert len(ps) == 10 and ps.models == ["bicubic"]
    assert (ps.coords[:, 1:] % 4 == 0).all()
    np.testing.assert_allclose(ps.probs["hr"].sum(1), 1, atol=1e-5)
    # The bicubic PSNR equals that of patches cut from the bicubic-upscaled whole image.
    pairs = load_sr_set("embedded_test", 4, limit=2, crop=96)
    r = 7
    i, y, x = ps.coords[r]
    bic = build("bicubic", 4)(pairs[i].lr).clamp(0, 1)
    bic = (bic * 255).round() / 255
    want = TA.patch_psnr(
        bic[..., y : y + 64, x : x + 64], pairs[i].hr[..., y : y + 64, x : x + 64], 4
    )
    assert ps.psnr["bicubic"][r] == pytest.approx(want[0])
    df = ps.frame()
    assert len(df) == 10 and {"label", "psnr_bicubic", "kept_bicubic", "entropy"} <= set(df)
    again = TA.label_dataset(clf, "embedded_test", 4, cache_dir=cache, **LABEL_ARGS)
    assert again.n_labelled == {"hr": 0, "bicubic": 0}
    np.testing.assert_array_equal(again.coords, ps.coords)
    np.testing.assert_array_equal(again.probs["bicubic"], ps.probs["bicubic"])


def test_bad_inputs(labelled) -> None:
    clf, ps, cache = labelled
    other = _classifier(("banded", "chequered", "dotted", "woven"))
    with pytest.raises(ValueError, match="class list mismatch"):
        TA.label_models(ps, other, {"b": build("bicubic", 4)}, cache_dir=cache)
    with pytest.raises(ValueError, match="labelled by classifier"):
        TA.label_models(ps, _classifier(key="another"), {"b": build("bicubic", 4)})
    with pytest.raises(ValueError, match="x2 network .* sampled at x4"):
        TA.label_models(ps, clf, {"b2": build("bicubic", 2)}, cache_dir=cache)
    with pytest.raises(ValueError, match="has only 2"):
        TA.label_dataset(clf, "embedded_test", 4, 64, 5, limit=2, crop=96, n_images=3)
    with pytest.raises(ValueError, match="larger than 2 image"):
        TA.label_dataset(clf, "embedded_test", 4, 128, 5, limit=2, crop=96)
    with pytest.raises(KeyError, match="no labels for 'edsr'"):
        TA.agreement(ps, "edsr")
    with pytest.raises(ValueError, match="unknown preset"):
        TA.patch_preset("huge")


def test_high_vs_all_curves_and_cache(tmp_path) -> None:
    g = torch.Generator().manual_seed(0)
    hr = torch.rand(8, 3, 32, 32, generator=g)
    lr = torch.nn.functional.avg_pool2d(hr, 4)
    high = np.array([1, 0, 1, 0, 0, 0, 1, 0], bool)
    kw = dict(
        scale=4,
        steps=4,
        eval_every=2,
        model_kwargs={"n_feats": 8, "n_blocks": 1},
        lr_patch=4,
        batch=2,
        device="cpu",
        cache_dir=tmp_path,
        progress=False,
    )
    res = TA.train_high_vs_all(hr, high, hr, lr, high, **kw)
    assert sorted(res.curves.step.unique()) == [0, 2, 4]
    assert set(res.curves.arm) == {"all", "high"} and set(res.curves["eval"]) == {"all", "high"}
    assert res.n_train == {"all": 8, "high": 3} and res.n_test == {"all": 8, "high": 3}
    assert res.final().shape == (2, 2)
    again = TA.train_high_vs_all(hr, high, hr, lr, high, **kw)  # cached: same curve
    pd.testing.assert_frame_equal(again.curves, res.curves)
    with pytest.raises(ValueError, match="no high-complexity"):
        TA.train_high_vs_all(hr, np.zeros(8, bool), hr, lr, high, **kw)


def test_plotted_matrices_are_the_row_shares() -> None:
    """The heatmaps show the row-normalised matrices, cell for cell."""
    from types import SimpleNamespace

    import matplotlib.pyplot as plt

    ps = _fake_set()
    panels = {"net keeps": "net", "bicubic keeps": "bicubic"}
    fig = TA.plot_flip_matrices(ps, panels)
    titled = {ax.get_title(): ax for ax in fig.axes if ax.get_title()}
    for title, model in panels.items():
        ax = titled[title]
        want = TA.flip_matrix(ps, model).to_numpy()
        np.testing.assert_allclose(ax.collections[0].get_array().reshape(want.shape), want)
    plt.close(fig)
    conf = np.array([[3, 1], [0, 4]])
    clf = SimpleNamespace(
        confusion=conf, classes=["a", "b"], preset="x", test_accuracy=0.875, n_test=8
    )
    fig = TA.plot_confusion(clf)
    got = fig.axes[0].collections[0].get_array().reshape(2, 2)
    np.testing.assert_allclose(got, conf / conf.sum(1, keepdims=True))
    plt.close(fig)
