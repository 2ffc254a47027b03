"""Tests of the DI-vs-PSNR family and analysis (helpers.family): the family per preset, the
zoo recipe, failure handling, the regression against independent computations, the
receptive-field check and the hard cases shared with the LAM chapter."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from _mirror import needs_mirror
from scipy import stats

from helpers import presets
from helpers.attribution import di as di_analysis
from helpers.attribution import hard_cases, tables
from helpers.models import build
from helpers.models.receptive_field import receptive_field_check
from helpers.networks import family as fam
from helpers.networks import zoo
from helpers.train import TrainResult, config_key

# Small tensors: one torch thread is fastest and does not spin against other jobs.
pytestmark = pytest.mark.usefixtures("one_thread")


def test_names_round_trip_and_bad_names_are_rejected():
    for preset in presets.PRESETS:
        for m in fam.family(preset):
            assert fam.parse_member(m.name) == m
    assert fam.parse_member("fsrcnn_d32_m4_s16").size == {"d": 32, "s": 16, "m": 4}
    assert fam.parse_member("edsr_f16_b4").size == {"n_feats": 16, "n_blocks": 4}
    for bad in ("edsr_16_4", "rcan_f16_b4", "fsrcnn_d32", ""):
        with pytest.raises(ValueError, match="not a family member"):
            fam.parse_member(bad)
    with pytest.raises(ValueError, match="positive int"):
        fam.FamilyMember("edsr", 0, 4)
    with pytest.raises(ValueError, match="fsrcnn' or 'edsr"):
        fam.FamilyMember("rcan", 16, 4)


def test_family_sizes_per_preset():
    emb = fam.family("embedded")
    assert len(emb) >= 10 and len({m.name for m in emb}) == len(emb)
    assert {m.arch for m in emb} == {"fsrcnn", "edsr"}
    full = fam.family("full")
    assert sum(m.arch == "fsrcnn" for m in full) == 15 and sum(m.arch == "edsr" for m in full) == 15
    # the paper's ranges: FSRCNN width [16, 128], depth [2, 16]; EDSR width [32, 256], [10, 24]
    f = [m for m in full if m.arch == "fsrcnn"]
    e = [m for m in full if m.arch == "edsr"]
    assert (min(m.width for m in f), max(m.width for m in f)) == (16, 128)
    assert (min(m.depth for m in f), max(m.depth for m in f)) == (2, 16)
    assert (min(m.width for m in e), max(m.width for m in e)) == (32, 256)
    assert (min(m.depth for m in e), max(m.depth for m in e)) == (10, 24)
    with pytest.raises(ValueError, match="unknown preset"):
        fam.family("huge")


@pytest.mark.parametrize("preset", presets.PRESETS)
def test_members_train_with_the_zoo_recipe(preset):
    budget = presets.get("train_budget", preset)
    for m in fam.family(preset):
        cfg = fam.member_config(m, 4, preset, seed=3)
        factor = presets.get("train_step_factor", preset).get(m.arch, 1)
        assert (cfg.steps, cfg.batch, cfg.data) == (
            budget["steps"] * factor,
            budget["batch"],
            budget["data"],
        )
        assert cfg.patch == budget["lr_patch"] * 4 and cfg.seed == 3
        assert cfg.model == m.arch and cfg.model_kwargs == m.size
        build(cfg.model, 4, **cfg.model_kwargs)  # every size is a valid architecture


def test_zoo_twins_share_the_zoo_checkpoint():
    twins = {m.name: fam.zoo_twin(m) for m in fam.family("embedded")}
    assert twins["fsrcnn_d32_m4"] == "fsrcnn" and twins["edsr_f16_b4"] == "edsr_s"
    assert twins["edsr_f32_b4"] is None
    for name, twin in twins.items():
        if twin is not None:
            for preset in ("smoke", "embedded"):
                ours = fam.member_config(fam.parse_member(name), 4, preset)
                theirs = zoo.zoo_config(twin, 4, preset)
                assert ours == theirs and config_key(ours) == config_key(theirs)


def _fake_train(fail: dict[str, Exception]):
    """A stand-in for helpers.train.train: fails for the named members, else 'trains'."""

    def train_fn(cfg, device=None, progress=True, desc=""):
        name = desc.split(" ")[0]
        if name in fail:
            raise fail[name]
        model = build(cfg.model, cfg.scale, **cfg.model_kwargs).eval()
        return TrainResult(model, cfg, "k", None, 1.5, [0.1, 0.05], False)

    return train_fn


def test_failed_member_is_skipped_visibly_or_raises():
    members = fam.family("smoke")
    bad = members[1].name
    err = FloatingPointError("fsrcnn x4: loss became nan at step 3")
    with pytest.warns(RuntimeWarning, match=f"{bad} failed to train"):
        run = fam.train_family(
            members, 4, "smoke", on_failure="skip", progress=False, train_fn=_fake_train({bad: err})
        )
    assert bad not in run.models and "nan at step 3" in run.skipped[bad]
    assert set(run.models) == {m.name for m in members} - {bad}
    rows = {r["name"]: r for r in run.table()}
    assert rows[bad]["status"].startswith("skipped: FloatingPointError")
    assert rows[members[0].name]["status"] == "ok" and rows[members[0].name]["train_seconds"] == 1.5
    with pytest.raises(FloatingPointError, match=f"family member {bad} failed.*nan at step 3"):
        fam.train_family(members, 4, "smoke", progress=False, train_fn=_fake_train({bad: err}))


def test_empty_duplicate_and_all_failed_families_are_errors():
    with pytest.raises(ValueError, match="empty"):
        fam.train_family([], 4, "smoke")
    m = fam.FamilyMember("edsr", 8, 1)
    with pytest.raises(ValueError, match="more than once"):
        fam.train_family([m, m], 4, "smoke")
    with pytest.raises(ValueError, match="on_failure"):
        fam.train_family([m], 4, "smoke", on_failure="ignore")
    fail = {m.name: RuntimeError("out of memory")}
    with pytest.raises(ValueError, match="every family member failed"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        fam.train_family([m], 4, "smoke", on_failure="skip", train_fn=_fake_train(fail))


def _data(n=12, seed=0):
    rng = np.random.default_rng(seed)
    di = {f"net{i}": float(d) for i, d in enumerate(10 ** rng.uniform(-0.3, 1.3, n))}
    psnr = {k: 20 + 1.2 * math.log10(v) + rng.normal(0, 0.2) for k, v in di.items()}
    return di, psnr


def test_fit_matches_scipy_and_numpy():
    di, psnr = _data()
    fit = di_analysis.fit_log_di(di, psnr)
    x = np.log10(list(di.values()))
    y = np.array([psnr[k] for k in di])
    lr = stats.linregress(x, y)
    assert fit.slope == pytest.approx(lr.slope) and fit.intercept == pytest.approx(lr.intercept)
    assert fit.pearson_r == pytest.approx(lr.rvalue) and fit.pearson_p == pytest.approx(lr.pvalue)
    sr = stats.spearmanr(x, y)
    assert (fit.spearman_rho, fit.spearman_p) == pytest.approx((sr.statistic, sr.pvalue))
    assert fit.n == 12 and fit.summary()["pearson"]["r"] == fit.pearson_r
    # the log base does not change the correlations
    nat = stats.pearsonr(np.log(list(di.values())), y).statistic
    assert fit.pearson_r == pytest.approx(nat)


def test_confidence_band_equals_the_ols_covariance_formula():
    di, psnr = _data(n=9, seed=1)
    fit = di_analysis.fit_log_di(di, psnr)
    x0 = np.linspace(-0.5, 1.5, 7)
    lo, hi = fit.band(x0, level=0.9)
    X = np.column_stack([np.ones(fit.n), fit.log_di])
    beta, res, *_ = np.linalg.lstsq(X, fit.psnr, rcond=None)
    s2 = res[0] / (fit.n - 2)
    X0 = np.column_stack([np.ones_like(x0), x0])
    se = np.sqrt(s2 * np.einsum("ij,jk,ik->i", X0, np.linalg.inv(X.T @ X), X0))
    t = stats.t.ppf(0.95, fit.n - 2)
    np.testing.assert_allclose(lo, X0 @ beta - t * se, rtol=1e-10)
    np.testing.assert_allclose(hi, X0 @ beta + t * se, rtol=1e-10)


def test_fit_rejects_bad_input():
    di, psnr = _data(n=5)
    two = dict(list(di.items())[:2])
    with pytest.raises(ValueError, match="at least 3 networks, got 2"):
        di_analysis.fit_log_di(two, {k: psnr[k] for k in two})
    with pytest.raises(ValueError, match="only in di"):
        di_analysis.fit_log_di(di, dict(list(psnr.items())[:4]))
    with pytest.raises(ValueError, match=r"DI <= 0 for \['net0'\]"):
        di_analysis.fit_log_di({**di, "net0": 0.0}, psnr)
    with pytest.raises(ValueError, match="non-finite"):
        di_analysis.fit_log_di(di, {**psnr, "net1": math.nan})
    with pytest.raises(ValueError, match="all DI"):
        di_analysis.fit_log_di(dict.fromkeys(di, 2.0), psnr)


def test_sweeps_and_trends():
    emb = di_analysis.sweeps(fam.family("embedded"))
    assert set(emb) == {
        ("fsrcnn", "width"),
        ("fsrcnn", "depth"),
        ("edsr", "width"),
        ("edsr", "depth"),
    }
    assert [m.depth for m in emb[("edsr", "depth")][0]] == [2, 4, 8, 16]
    assert {m.width for m in emb[("edsr", "depth")][0]} == {16}
    full = di_analysis.sweeps(fam.family("full"))
    assert len(full[("fsrcnn", "width")]) == 3 and len(full[("edsr", "depth")]) == 5
    assert di_analysis.trend([1, 2, 3], [0.1, 0.5, 0.7]) == 1.0
    assert di_analysis.trend([1, 2, 3], [3, 2, 1]) == -1.0
    assert math.isnan(di_analysis.trend([1, 2], [1, 2])) and math.isnan(
        di_analysis.trend([1, 2, 3], [1, 1, 1])
    )


def test_architecture_and_family_plan():
    assert tables.architecture("edsr_f16_b4", "family") == "edsr"
    assert tables.architecture("rcan_s", "zoo") == "rcan"
    assert tables.architecture("imdn", "released") == "imdn"
    members = fam.family("smoke")
    plan = tables.family_plan(members, 4, "smoke")
    assert [r["name"] for r in plan] == [m.name for m in members]
    cfg = fam.member_config(members[0], 4, "smoke")
    assert plan[0]["steps"] == cfg.steps and plan[0]["lr"] == cfg.lr
    assert {r["zoo twin"] for r in plan} <= {"", *zoo.MEMBERS}


def test_score_networks_and_fit_table():
    from helpers import data, published

    torch.manual_seed(0)
    hr = torch.rand(2, 3, 32, 32)
    pairs = [data.SRPair(f"p{i}", hr[i : i + 1], hr[i : i + 1, :, ::4, ::4], 4) for i in range(2)]
    nets = {"fsrcnn": build("fsrcnn", 4, d=8, s=4, m=1).eval()}
    scores, bicubic = tables.score_networks(nets, pairs, pairs[:1], 4, "cpu")
    assert set(scores) == {"fsrcnn"} and set(bicubic) == {"psnr", "ssim", "psnr_test", "ssim_test"}
    assert all(math.isfinite(v) for v in scores["fsrcnn"].values())
    di = {f"net{i}": 1.0 + i for i in range(5)}
    fit = di_analysis.fit_log_di(di, {k: 20 + v for k, v in di.items()})
    t = tables.fit_table({"ours": fit, "none": None}, published.LAM_REGRESSION)
    assert list(t.columns) == ["ours", "none", "paper"] and t.loc["networks", "ours"] == 5
    assert t["none"].isna().all() and t.loc["Pearson r", "paper"] == "> 0.8"


def test_network_table_di_by_case_and_results(tmp_path):
    from types import SimpleNamespace

    from helpers import data
    from helpers.attribution.cache import cached_lam_maps
    from helpers.models import SRModel

    torch.manual_seed(0)
    hr = torch.rand(2, 3, 64, 64)
    cases = [
        SimpleNamespace(name=f"c{i}", hr=hr[i : i + 1], lr=hr[i : i + 1, :, ::4, ::4])
        for i in range(2)
    ]
    nets = {
        "fsrcnn_d8_m1": SRModel(build("fsrcnn", 4, d=8, s=4, m=1), origin="family", device="cpu"),
        "edsr_s": SRModel(build("edsr", 4, n_feats=8, n_blocks=1), origin="zoo", device="cpu"),
    }
    pairs = [data.SRPair(c.name, c.hr, c.lr, 4) for c in cases]
    scores, _ = tables.score_networks(nets, pairs, pairs, 4, "cpu")
    maps = cached_lam_maps(nets, cases, 4, 8, cache_dir=tmp_path, progress=False, steps=2)
    by_case = tables.di_by_case(maps)
    assert list(by_case.index) == list(nets) and list(by_case.columns) == ["c0", "c1"]
    r = maps[("edsr_s", "c1")]
    got = by_case.loc["edsr_s", "c1"]
    # The LAM demo's DI (the one compared with Table 1), and its distance from the formula's.
    assert math.isnan(got) if r.degenerate else got == di_analysis.map_di(r, "lam_demo")
    t = tables.network_table(nets, scores, maps, 4, "mini", "cpu")
    assert list(t.index) == list(nets) and t.loc["edsr_s", "kind"] == "zoo"
    assert t.loc["edsr_s", "receptive_field"] == "13x13" and t.loc["edsr_s", "check"] == "ok"
    assert t.loc["fsrcnn_d8_m1", "psnr_mini"] == scores["fsrcnn_d8_m1"]["psnr_test"]
    diffs = [abs(di_analysis.map_di(m) - m.di) for (n, _), m in maps.items() if n == "edsr_s"]
    assert t.loc["edsr_s", "DI_formula_diff"] == pytest.approx(max(diffs))
    out = tables.network_results(
        t, {"fsrcnn_d8_m1": "fsrcnn", "edsr_s": "edsr"}, scores, {"edsr_s": 1.26}, "mini"
    )
    assert out["edsr_s"]["receptive_field"] == 13 and out["edsr_s"]["train_seconds"] == 1.3
    assert out["fsrcnn_d8_m1"]["train_seconds"] is None and out["fsrcnn_d8_m1"]["arch"] == "fsrcnn"
    assert out["edsr_s"]["psnr"] == round(scores["edsr_s"]["psnr"], 4)


def test_lpips_scores_skip_cleanly_without_lpips():
    try:
        import lpips  # noqa: F401
    except ImportError:
        lp, why = tables.lpips_scores({}, [], "cpu")
        assert lp is None and "ModuleNotFoundError" in why
    else:
        pytest.skip("lpips is installed (its weights may need the network)")


def test_table1_rows_put_each_network_beside_the_paper():
    rows = tables.table1_rows(
        ["edsr_s", "grl_tiny"],
        {"edsr_s": "edsr", "grl_tiny": "grl_tiny"},
        {"edsr_s": "41x41", "grl_tiny": "global"},
        {"edsr_s": 21.2345, "grl_tiny": 22.0},
        {"edsr_s": 1.23456, "grl_tiny": 9.0},
    )
    assert rows[0]["paper model"] == "EDSR" and rows[0]["paper recpt. field"] == "75x75"
    assert rows[0]["PSNR"] == 21.23 and rows[0]["DI"] == 1.235
    assert rows[1]["paper model"] == "" and rows[1]["paper DI"] == ""
    assert rows[1]["remark"].startswith("Global")


def test_content_table_ranks_cases_and_correlates():
    from types import SimpleNamespace

    torch.manual_seed(0)
    stripes = torch.sin(torch.arange(64.0) / 2.0).repeat(64, 1).expand(1, 3, 64, 64) * 0.5 + 0.5
    cases = [
        SimpleNamespace(name=f"c{i}", hr=(stripes if i == 2 else torch.rand(1, 3, 64, 64)))
        for i in range(4)
    ]
    for c in cases:
        c.lr = c.hr[..., ::4, ::4]
    mean_di = {"c0": 0.5, "c1": 0.2, "c2": 3.0, "c3": 1.0}
    t = di_analysis.content_table(cases, mean_di, 4, 16, 2.0)
    assert list(t.index) == ["c1", "c0", "c3", "c2"] and list(t["rank"]) == [1, 2, 3, 4]
    assert t.loc["c2", "periodicity"] == t.periodicity.max()  # the stripes repeat
    corr = di_analysis.content_correlations(t)
    assert set(corr) == {"periodicity", "coherence", "window_edges"}
    r = stats.spearmanr(t.periodicity, t.mean_DI)
    assert corr["periodicity"] == {"rho": float(r.statistic), "p": float(r.pvalue)}
    few = di_analysis.content_correlations(t.iloc[:2])
    assert math.isnan(few["coherence"]["rho"])
    ranking = di_analysis.content_ranking(t)
    assert [r["case"] for r in ranking] == ["c1", "c0", "c3", "c2"] and ranking[0]["rank"] == 1
    assert ranking[3]["periodicity"] == round(float(t.loc["c2", "periodicity"]), 4)


def test_receptive_field_check_agrees_and_catches_a_wrong_claim():
    torch.manual_seed(0)
    edsr = build("edsr", 4, n_feats=8, n_blocks=1)
    r = receptive_field_check(edsr, 4, device="cpu")
    assert r["agree"] and r["empirical"] == edsr.receptive_field and r["label"] == "13x13"
    rcan = build("rcan", 4, n_groups=1, n_blocks=1, n_feats=8, reduction=4)
    g = receptive_field_check(rcan, 4, device="cpu")
    assert g == {"analytic": None, "empirical": None, "agree": True, "label": "global"}
    liar = build("fsrcnn", 4, d=8, s=4, m=1)
    liar.receptive_field = 5  # claims less than its 9x9 transposed conv reaches
    bad = receptive_field_check(liar, 4, device="cpu")
    assert not bad["agree"] and bad["empirical"] > 5
    local = build("edsr", 4, n_feats=8, n_blocks=1)
    local.receptive_field = None  # claims global, but its 13x13 field fits in 32 px
    wrong = receptive_field_check(local, 4, device="cpu")
    assert not wrong["agree"] and wrong["label"] == "global" and 13 <= wrong["empirical"] < 32


def test_smoke_hard_cases_follow_the_lam_rule():
    pytest.importorskip("helpers.data")
    from helpers import data

    torch.manual_seed(0)
    nets = {"bicubic": build("bicubic", 4), "fsrcnn": build("fsrcnn", 4, d=8, s=4, m=1).eval()}
    cases = hard_cases.lam_hard_cases("smoke", nets, 4, device="cpu", progress=False)
    assert len(cases) == presets.get("n_hard", "smoke") == 1
    assert cases[0].hr.shape == (1, 3, 128, 128) and cases[0].lr.shape == (1, 3, 32, 32)
    # the same as the LAM chapter's inline selection
    first = data.load_images("embedded_test")[:1]
    cands = hard_cases.candidate_subimages(first, 128, 128, 4)
    ref = hard_cases.select_hard_cases(cands, nets, 1, 4, "cpu", progress=False)
    assert [c.name for c in cases] == [c.name for c in ref]
    with pytest.raises(ValueError, match="n must be a positive int"):
        hard_cases.lam_hard_cases("smoke", nets, 4, n=0)


@needs_mirror
def test_benchmark_hard_cases_are_the_published_crops():
    from helpers import data

    cases = hard_cases.lam_hard_cases("benchmark", {}, 4, n=2)  # no networks needed
    ref = data.load_sr_set("lam_hard", 4)[:2]
    assert [c.name for c in cases] == [p.name for p in ref]
    assert all(torch.equal(c.lr, p.lr) for c, p in zip(cases, ref, strict=True))


def test_paper_counterpart_maps_architectures_and_sized_members():
    from helpers import published

    assert published.lam_counterpart("edsr") == "EDSR"
    assert published.lam_counterpart("edsr_s") == "EDSR"
    assert published.lam_counterpart("NLSN_s") == "RNAN"
    assert published.lam_counterpart("carn_m") == "CARN"
    assert published.lam_counterpart("srresnet_s") == ""  # not in the paper's Table 1
    # Every counterpart is a row of the paper's Table 1 (no typo can drop a row silently).
    assert set(published.LAM_COUNTERPART.values()) <= set(published.LAM_TABLE1)


def test_zoo_twins_share_the_config_and_fsrcnn_gets_its_step_factor():
    twin = fam.FamilyMember("edsr", 16, 4)
    assert fam.zoo_twin(twin) == "edsr_s"
    assert fam.member_config(twin, 4, "embedded") == zoo.zoo_config("edsr_s", 4, "embedded")
    fs = zoo.zoo_config("fsrcnn", 4, "embedded")
    assert fs.steps == 4 * presets.get("train_budget", "embedded")["steps"]
    assert (
        zoo.zoo_config("fsrcnn", 4, "smoke").steps == presets.get("train_budget", "smoke")["steps"]
    )
