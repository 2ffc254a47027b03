"""helpers.ddr: feature taps, degraded inputs, CHI with nulls, probes, the adversarial
fine-tune through the one training loop, and the four verdicts (both outcomes each)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import calinski_harabasz_score
from torch import nn

from helpers.data.degradations import gaussian_blur
from helpers.data.resize import hr_lr_pair
from helpers.ddr import inputs, measures, networks, taps, verdicts
from helpers.models import build, weights_digest
from helpers.train import TrainConfig, train


# ----------------------------------------------------------------------------- taps
def test_features_equal_a_manual_forward_and_pool(tmp_path):
    torch.manual_seed(0)
    net = build("srresnet", 2, n_feats=8, n_blocks=3)
    x = torch.rand(5, 3, 12, 12)
    got = taps.features(net, x, ["body.1", "conv_first"], pool=1, batch=2)
    with torch.no_grad():
        f0 = net.lrelu(net.conv_first(x))
        f1 = net.body[1](net.body[0](f0))
    np.testing.assert_allclose(got["body.1"], f1.mean((2, 3)).numpy(), rtol=1e-5, atol=1e-6)
    # conv_first is tapped before its LeakyReLU
    np.testing.assert_allclose(
        got["conv_first"], net.conv_first(x).mean((2, 3)).detach().numpy(), rtol=1e-5, atol=1e-6
    )
    tokens = torch.rand(2, 9, 5)
    assert torch.equal(taps.pool_features(tokens, 4), tokens.mean(1))
    tail_calls = []
    net.conv_last.register_forward_hook(lambda *a: tail_calls.append(1))
    taps.features(net, x, ["body.0"], batch=2)
    assert not tail_calls  # the pass stops once every tapped layer has run
    four = taps.features(net, x, ["body.1"], pool=4)["body.1"]
    root = tmp_path
    once = taps.cached_features(net, x, ["body.1"], pool=4, root=root)
    np.testing.assert_array_equal(once["body.1"], four)
    assert len(list(root.iterdir())) == 1
    again = taps.cached_features(net, x, ["body.1"], pool=4, root=root)
    np.testing.assert_array_equal(again["body.1"], four)
    with torch.no_grad():
        net.body[0].body[0].weight.add_(1e-3)  # other weights: another entry
    taps.cached_features(net, x, ["body.1"], pool=4, root=root)
    assert len(list(root.iterdir())) == 2
    assert four.shape == (5, 8 * 16)
    assert net.training  # restored


def test_feature_progress_shows_batches_and_changes_nothing(tmp_path, capsys):
    torch.manual_seed(0)
    net = build("srresnet", 2, n_feats=8, n_blocks=2)
    x = torch.rand(5, 3, 12, 12)
    quiet = taps.features(net, x, ["body.1"], pool=2, batch=2)
    capsys.readouterr()
    shown = taps.features(net, x, ["body.1"], pool=2, batch=2, progress="net: features")
    err = capsys.readouterr().err
    assert "net: features" in err and "/3 [" in err  # 5 images in batches of 2
    np.testing.assert_array_equal(shown["body.1"], quiet["body.1"])
    taps.cached_features(net, x, ["body.1"], pool=2, root=tmp_path, progress=True)
    taps.cached_features(net, x, ["body.1"], pool=2, root=tmp_path)  # same entry
    assert len(list(tmp_path.iterdir())) == 1


@pytest.mark.bad_input(
    "degradation semantics: a layer name the network does not have (or a layers entry for a "
    "network that is not measured)",
    "ValueError before any feature is computed, listing the network's valid layer names",
)
def test_unknown_layer_lists_valid_names():
    net = build("srresnet", 2, n_feats=8, n_blocks=2)
    with pytest.raises(ValueError, match=r"unknown layer.*body\.0"):
        taps.features(net, torch.rand(1, 3, 8, 8), ["body.9"])
    with pytest.raises(ValueError, match="pool"):
        taps.features(net, torch.rand(1, 3, 8, 8), ["body.0"], pool=0)
    nets = {"mine": net}
    assert taps.resolve_layers(nets, None) == {"mine": ["body.0", "body.1"]}
    assert taps.resolve_layers(nets, {"mine": ["conv_last"]}) == {"mine": ["conv_last"]}
    with pytest.raises(ValueError, match=r"mine: unknown layer.*\['nope'\].*conv_first"):
        taps.resolve_layers(nets, {"mine": ["nope"]})
    with pytest.raises(ValueError, match=r"network\(s\) \['yours'\].*\['mine'\]"):
        taps.resolve_layers(nets, {"yours": ["body.0"]})


def test_block_names_find_the_residual_chain():
    assert taps.block_names(build("srresnet", 4, n_feats=8, n_blocks=5)) == [
        f"body.{i}" for i in range(5)
    ]
    # EDSR's body ends with a plain conv, which is not a block
    assert taps.block_names(build("edsr", 2, n_feats=8, n_blocks=3)) == [
        "body.0",
        "body.1",
        "body.2",
    ]
    with pytest.raises(ValueError, match="no chain"):
        taps.block_names(nn.Sequential(nn.Conv2d(3, 3, 3), nn.ReLU()))


# --------------------------------------------------------------------------- inputs
@pytest.mark.bad_input(
    "degradation semantics: an unknown degradation or a strength out of its range",
    "ValueError naming the valid degradations, or the kind's allowed range",
)
def test_check_levels_rejects_unknown_kinds_and_out_of_range():
    with pytest.raises(ValueError, match="unknown degradation.*'haze'"):
        inputs.check_levels({"haze": [1.0]})
    with pytest.raises(ValueError, match=r"noise strengths \[80.0\].*\[1.0, 50.0\]"):
        inputs.check_levels({"noise": [80]})
    with pytest.raises(ValueError, match="at least one"):
        inputs.check_levels({})


def test_degraded_set_layout_and_pipeline():
    torch.manual_seed(0)
    hr = torch.rand(2, 3, 32, 32)
    d = inputs.degraded_set(hr, ["a", "b"], 4, {"blur": [2.0], "noise": [10], "jpeg": [30]})
    assert d.lr.shape == (8, 3, 8, 8)
    assert d.kind.tolist() == ["clean", "blur", "noise", "jpeg"] * 2
    assert d.content.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    clean = hr_lr_pair(hr, 4)[1]
    assert torch.equal(d.lr[0], clean[0])
    # blur acts on the HR, before the downscale
    assert torch.equal(d.lr[1], hr_lr_pair(gaussian_blur(hr, 2.0), 4)[1][0])
    # noise is seeded and 8-bit; JPEG changes the image
    again = inputs.degraded_set(hr, ["a", "b"], 4, {"blur": [2.0], "noise": [10], "jpeg": [30]})
    assert torch.equal(d.lr, again.lr)
    assert torch.equal(d.lr[2] * 255, (d.lr[2] * 255).round())
    assert not torch.equal(d.lr[3], d.lr[0])
    assert d.condition.tolist()[:2] == ["clean", "blur 2"]


# ------------------------------------------------------------------------- measures
def _clusters(n_content=8, kinds=4, deg_sep=5.0, con_sep=0.0, d=20, seed=0):
    rng = np.random.default_rng(seed)
    dc = rng.normal(size=(kinds, d)) * deg_sep
    cc = rng.normal(size=(n_content, d)) * con_sep
    rows, deg, con = [], [], []
    for c in range(n_content):
        for k in range(kinds):
            rows.append(dc[k] + cc[c] + rng.normal(size=d))
            deg.append(k)
            con.append(c)
    return np.array(rows), np.array(deg), np.array(con)


def test_chi_equals_sklearn_and_chi_many_equals_chi():
    x, deg, con = _clusters(deg_sep=1.0, con_sep=1.0)
    assert measures.chi(x, deg) == pytest.approx(calinski_harabasz_score(x, deg), rel=1e-12)
    rng = np.random.default_rng(1)
    perms = np.stack([rng.permutation(con) for _ in range(5)])
    many = measures.chi_many(x, perms)
    for row, v in zip(perms, many, strict=True):
        assert v == pytest.approx(measures.chi(x, row), rel=1e-9)


@pytest.mark.bad_input(
    "degradation semantics: CHI of inputs with fewer than two classes",
    "ValueError saying CHI needs two or more degradations / contents",
)
def test_chi_needs_two_classes():
    x, deg, _ = _clusters()
    with pytest.raises(ValueError, match="at least two classes"):
        measures.chi(x, np.zeros(len(x), int))


def test_chi_test_sides_with_the_structure_in_the_data():
    x, deg, con = _clusters(deg_sep=4.0, con_sep=0.2)
    t = measures.chi_test(x, deg, con, n_perm=99, n_boot=99)
    assert t.p_degradation == pytest.approx(0.01) and t.log_ratio_ci[0] > 0
    x, deg, con = _clusters(deg_sep=0.2, con_sep=4.0)
    t = measures.chi_test(x, deg, con, n_perm=99, n_boot=99)
    assert t.p_degradation > 0.05 and t.log_ratio_ci[1] < 0
    assert t.p_content == pytest.approx(0.01)


def test_paired_log_ratio_is_exactly_zero_for_one_network_and_positive_for_a_better_one():
    x, deg, con = _clusters(deg_sep=1.0, con_sep=1.0)
    a = measures.chi_test(x, deg, con, n_perm=9, n_boot=50, seed=3)
    same = measures.paired_log_ratio(a, measures.chi_test(x, deg, con, n_perm=9, n_boot=50, seed=3))
    assert same == {"log_ratio": 0.0, "ci": [0.0, 0.0]}
    x2, _, _ = _clusters(deg_sep=3.0, con_sep=1.0)
    b = measures.chi_test(x2, deg, con, n_perm=9, n_boot=50, seed=3)
    assert measures.paired_log_ratio(b, a)["ci"][0] > 0


def test_probe_beats_chance_only_when_there_is_signal():
    x, deg, con = _clusters(deg_sep=3.0, con_sep=1.0)
    good = measures.probe(x, deg, con, n_perm=19)
    assert good["accuracy"] > 0.9 and good["p"] == pytest.approx(0.05) and good["chance"] == 0.25
    rng = np.random.default_rng(0)
    bad = measures.probe(rng.normal(size=x.shape), deg, con, n_perm=19)
    assert bad["accuracy"] < 0.5 and bad["p"] > 0.05


def test_reduce_and_embed_shapes():
    x, _, _ = _clusters()
    assert measures.reduce(x, 5).shape == (32, 5)
    assert measures.embed_2d(x, "pca").shape == (32, 2)
    with pytest.raises(ValueError, match="method"):
        measures.embed_2d(x, "mds")


# ------------------------------------------------------------------------- networks
def _tiny_cfg(**kw):
    base = dict(
        model="srresnet",
        scale=2,
        steps=4,
        model_kwargs={"n_feats": 8, "n_blocks": 2},
        patch=16,
        batch=2,
        lr=1e-3,
        seed=0,
    )
    return TrainConfig(**{**base, **kw})


def _images():
    g = torch.Generator().manual_seed(0)
    return [torch.rand(1, 3, 32, 32, generator=g) for _ in range(2)]


def test_adversarial_loss_updates_only_the_discriminator_and_is_seeded():
    a = networks.AdversarialLoss(5e-3, 1e-3, 4, seed=1, device=torch.device("cpu"))
    b = networks.AdversarialLoss(5e-3, 1e-3, 4, seed=1, device=torch.device("cpu"))
    for pa, pb in zip(a.disc.parameters(), b.disc.parameters(), strict=True):
        assert torch.equal(pa, pb)
    rng = torch.get_rng_state()
    networks.AdversarialLoss(5e-3, 1e-3, 4, seed=2, device=torch.device("cpu"))
    assert torch.equal(rng, torch.get_rng_state())  # global RNG untouched
    gen = nn.Conv2d(3, 3, 3, padding=1)
    before = [p.detach().clone() for p in a.disc.parameters()]
    lr = torch.rand(2, 3, 16, 16)
    loss = a(gen(lr), torch.rand(2, 3, 16, 16), lr, gen)
    assert any(not torch.equal(p0, p) for p0, p in zip(before, a.disc.parameters(), strict=True))
    loss.backward()
    assert gen.weight.grad is not None
    assert all(p.grad is None or not p.grad.abs().sum() for p in a.disc.parameters())
    state = a.state_dict()
    b.load_state_dict(state)
    for pa, pb in zip(a.disc.parameters(), b.disc.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_fine_tune_needs_the_matching_start_and_starts_from_it(tmp_path):
    start = train(_tiny_cfg(), images=_images(), cache_dir=tmp_path, progress=False).model
    digest = weights_digest(start)
    with pytest.raises(ValueError, match="go together"):
        train(_tiny_cfg(init=digest), images=_images(), cache_dir=tmp_path, progress=False)
    other = build("srresnet", 2, n_feats=8, n_blocks=2)
    with pytest.raises(ValueError, match="does not describe"):
        train(
            _tiny_cfg(init=digest, steps=0),
            images=_images(),
            cache_dir=tmp_path,
            progress=False,
            init_weights=other,
        )
    zero = train(
        _tiny_cfg(init=digest, steps=0),
        images=_images(),
        cache_dir=tmp_path,
        progress=False,
        init_weights=start,
    )
    assert weights_digest(zero.model) == digest


class _Crash(Exception):
    pass


def test_a_resumed_adversarial_run_ends_where_an_uninterrupted_one_does(tmp_path):
    params = {"adv_weight": 0.1, "d_lr": 1e-3, "d_width": 4}
    cfg = _tiny_cfg(steps=6, loss="l1+gan", loss_params=params)

    def loss():
        return networks.AdversarialLoss(0.1, 1e-3, 4, seed=0, device=torch.device("cpu"))

    whole = train(
        cfg,
        loss_fn=loss(),
        images=_images(),
        cache_dir=tmp_path / "a",
        ckpt_every=3,
        progress=False,
    )
    crashing, calls = loss(), [0]

    def crash_at_5(*a):
        calls[0] += 1
        if calls[0] == 5:
            raise _Crash
        return crashing(*a)

    crash_at_5.state_dict, crash_at_5.load_state_dict = (
        crashing.state_dict,
        crashing.load_state_dict,
    )
    with pytest.raises(_Crash):
        train(
            cfg,
            loss_fn=crash_at_5,
            images=_images(),
            cache_dir=tmp_path / "b",
            ckpt_every=3,
            progress=False,
        )
    resumed = train(
        cfg,
        loss_fn=loss(),
        images=_images(),
        cache_dir=tmp_path / "b",
        ckpt_every=3,
        progress=False,
    )
    assert weights_digest(resumed.model) == weights_digest(whole.model)


# ------------------------------------------------------------------------- verdicts
def _test(ratio_ci, p=0.01, ratio=1.0):
    return {"log_ratio": ratio, "log_ratio_ci": ratio_ci, "p_degradation": p}


def test_degradation_not_content_both_outcomes():
    v = verdicts.degradation_not_content([_test([0.2, 1.0]), _test([0.1, 0.5])], _test([-2, -1]))
    assert v.holds
    v = verdicts.degradation_not_content([_test([0.2, 1.0]), _test([-0.1, 0.5])], _test([-2, -1]))
    assert v.outcome == "partly"
    v = verdicts.degradation_not_content([_test([0.2, 1.0], p=0.2)], _test([-1, 0.5]))
    assert v.outcome == "does not hold"


def test_released_networks_all_outcomes():
    good, bad = _test([0.5, 2.0], ratio=1.2), _test([-0.5, 0.2])
    assert verdicts.released_networks({"pan": good, "imdn": good}).holds
    assert verdicts.released_networks({"pan": good, "imdn": bad}).outcome == "partly"
    assert verdicts.released_networks({"pan": bad}).outcome == "does not hold"
    assert verdicts.released_networks({}).outcome == "not testable"


def test_two_factors_both_outcomes():
    up, flat, down = (
        {"log_ratio": 0.5, "ci": [0.1, 0.9]},
        {"log_ratio": 0.1, "ci": [-0.1, 0.3]},
        {"log_ratio": -0.5, "ci": [-0.9, -0.1]},
    )
    assert verdicts.two_factors([up, up], [up, up]).holds
    v = verdicts.two_factors([up, up], [up, flat])
    assert v.outcome == "partly" and v.numbers["adversarial"] == "no difference"
    v = verdicts.two_factors([down, down], [flat])
    assert v.outcome == "does not hold" and v.numbers["global_residual"] == "opposite"


def test_depth_and_training_both_outcomes():
    rising, falling = [1, 2, 3, 4, 5], [5, 4, 3, 2, 1]
    steps_chi = [1, 2, 3, 4, 5, 6]
    psnr = [20, 21, 22, 22.5, 23, 23.2]
    assert verdicts.depth_and_training([rising, rising], [(steps_chi, psnr)] * 2).holds
    v = verdicts.depth_and_training([rising, falling], [(steps_chi, psnr)])
    assert v.outcome == "partly"
    v = verdicts.depth_and_training([falling], [(steps_chi, psnr[::-1])])
    assert v.outcome == "does not hold"


def test_distortion_identification_both_outcomes():
    good = {"accuracy": 0.8, "chance": 0.29, "p": 0.01}
    weak = {"accuracy": 0.4, "chance": 0.29, "p": 0.02}
    null = {"accuracy": 0.3, "chance": 0.29, "p": 0.4}
    assert verdicts.distortion_identification([good, good]).holds
    assert verdicts.distortion_identification([good, weak]).outcome == "partly"
    assert verdicts.distortion_identification([good, null]).outcome == "does not hold"


# ------------------------------------------------------------- analysis and tables
@pytest.fixture(scope="module")
def tiny_set():
    torch.manual_seed(0)
    hr = torch.rand(4, 3, 32, 32)
    return inputs.degraded_set(hr, list("abcd"), 4, {"blur": [2.0], "noise": [20], "jpeg": [30]})


def test_contents_are_grid_tiles_and_textures():
    names, hr = inputs.contents({"embedded_test": 2}, 2, 64, limit=1)
    assert hr.shape == (4, 3, 64, 64) and names[2:] == ["texture:banded", "texture:blotchy"]
    from helpers.data import load_images

    stem, img = load_images("embedded_test")[0]
    y, x = map(int, names[0].split("@")[1].split(","))
    assert names[0].startswith(stem) and torch.equal(hr[0], img[0, :, y : y + 64, x : x + 64])


def test_analyse_measures_every_block_and_the_deepest_with_nulls(tiny_set):
    from helpers.ddr import analysis

    torch.manual_seed(0)
    net = build("srresnet", 4, n_feats=8, n_blocks=3)
    r = analysis.analyse("net", net, tiny_set, pool=1, n_perm=9, n_boot=9, probe_perm=4)
    assert r.layers == ["body.0", "body.1", "body.2"] and len(r.probe_by_block) == 3
    feats = taps.features(net, tiny_set.lr, ["body.2"], pool=1)["body.2"]
    z = measures.reduce(feats)
    assert r.by_block["degradation"][-1] == pytest.approx(measures.chi(z, tiny_set.kind))
    ref = measures.chi_test(feats, tiny_set.kind, tiny_set.content, 9, 9, 0)
    assert r.deepest.to_dict() == ref.to_dict()
    entry = r.to_dict()
    assert entry["chi_degradation"] == ref.chi_degradation and len(entry["by_block"]) == 3


def test_clean_psnr_and_training_curve_match_their_references(tiny_set):
    from scipy import stats

    from helpers.ddr import analysis
    from helpers.metrics import psnr
    from helpers.models.evaluate import super_resolve

    bic = build("bicubic", 4)
    clean = tiny_set.kind == "clean"
    ref = psnr(super_resolve(bic, tiny_set.lr[torch.from_numpy(clean)]), tiny_set.hr, shave=4)
    assert analysis.clean_psnr(bic, tiny_set) == pytest.approx(float(ref.mean()), abs=1e-9)
    torch.manual_seed(0)
    nets = [(i, build("srresnet", 4, n_feats=8, n_blocks=2)) for i in range(3)]
    c = analysis.training_curve(nets, tiny_set, "body.1", pool=1)
    assert c["steps"] == [0, 1, 2]
    fit = stats.pearsonr(c["chi"], c["psnr"])
    assert c["r"] == pytest.approx(fit.statistic) and c["p"] == pytest.approx(fit.pvalue)
    assert analysis.training_curve(nets[:2], tiny_set, "body.1")["r"] is None


def test_tables_and_factor_pairs(tiny_set):
    from helpers.ddr import analysis, tables

    sem = {}
    for s in (0, 1):
        sem[s] = {}
        for i, name in enumerate(networks.VARIANTS):
            torch.manual_seed(10 * s + i)
            net = build("srresnet", 4, n_feats=8, n_blocks=2)
            sem[s][name] = analysis.analyse(
                name, net, tiny_set, pool=1, n_perm=9, n_boot=20, probe_perm=4
            )
    rows = {(f"seed {s}", n): r for s, d in sem.items() for n, r in d.items()}
    chi = tables.chi_table(rows)
    assert chi.shape == (8, 6) and chi.loc[("seed 1", "gr"), "CHI degradation"] == (
        sem[1]["gr"].deepest.chi_degradation
    )
    assert list(tables.probe_table(rows).columns) == ["accuracy", "chance", "p"]
    ft = tables.factor_table(sem)
    want = np.mean([sem[s]["no_gr_gan"].deepest.chi_content for s in (0, 1)])
    assert ft.loc[("without global residual", "L1 + GAN"), "CHI content"] == pytest.approx(want)
    pairs = tables.factor_pairs(sem)
    assert [p["pair"] for p in pairs["adversarial"]] == ["gr_gan / gr", "no_gr_gan / no_gr"] * 2
    first = pairs["global residual"][0]
    assert first == {
        **measures.paired_log_ratio(sem[0]["gr"].deepest, sem[0]["no_gr"].deepest),
        "seed": 0,
        "pair": "gr / no_gr",
    }


def test_classifier_layers_and_analysis():
    from helpers.ddr import analysis
    from helpers.texture.deepten import build_classifier

    torch.manual_seed(0)
    cfg = {"backbone": "resnet18", "stages": 2, "width": 8, "pretrained": False}
    clf = build_classifier(["a", "b"], {**cfg, "reduce_dim": 8, "codewords": 4})
    assert analysis.classifier_layers(clf) == ["trunk.layer1", "trunk.layer2", "reduce"]
    with pytest.raises(ValueError, match="not a DeepTEN"):
        analysis.classifier_layers(nn.Conv2d(3, 3, 1))
    hr = torch.rand(3, 3, 64, 64)
    d = inputs.degraded_set(hr, list("abc"), 2, {"noise": [20]})
    r = analysis.analyse_classifier(clf, d, pool=1, n_perm=4, n_boot=4, probe_perm=0)
    assert r.layers[-1] == "reduce" and r.features.shape == (6, 8)
