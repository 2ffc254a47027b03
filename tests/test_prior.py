"""helpers.prior: NCC maps against skimage, the extraction module, the prior's double
backprop (finite differences), the exact receptive-field crop, lambda = 0 bit for bit,
paired seeds, the statistics and the nine verdicts (both outcomes each)."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.data import load_images
from helpers.data.resize import hr_lr_pair
from helpers.models import build
from helpers.prior import loss as L
from helpers.prior import report, runs, ssm, stats, verdicts
from helpers.prior.ssm import Extraction
from helpers.train import TrainConfig, train

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def photo_lr() -> torch.Tensor:
    """A real LR image (the first embedded training photo at x2), 8-bit."""
    return hr_lr_pair(load_images("embedded_train")[0][1], 2)[1]


# ----------------------------------------------------------------------------- NCC
@pytest.mark.parametrize("side", [5, 4])
def test_ncc_equals_match_template_on_a_real_image(photo_lr, side):
    """report.ncc_check (the chapter's check, and scripts/bench_prior.py's) on a 48 px
    training-size patch: our maps equal skimage's match_template where the NCC is defined
    (on constant windows skimage returns rounding noise, ours 0)."""
    n = report.ncc_check(photo_lr[..., 40:88, 60:108], side, reps=1)
    assert n["n_maps"] == (48 // side) ** 2
    assert n["max_abs_diff_float64"] < 1e-8 and n["max_abs_diff_float32"] < 1e-3
    assert n["max_abs_skimage_on_flat_windows"] < 1e-4


def test_ncc_of_a_flat_window_is_zero_and_own_position_is_one():
    img = torch.zeros(1, 20, 20, dtype=torch.float64)
    img[0, 5:10, 5:10] = torch.rand(5, 5, generator=torch.Generator().manual_seed(0))
    maps = ssm.ncc_maps(img, img[:, None, 5:10, 5:10])
    assert maps[0, 0, 7, 7] == pytest.approx(1.0)
    assert float(maps[0, 0, 17:, 17:].abs().max()) == 0.0  # all-zero windows: 0, not NaN


@pytest.mark.bad_input(
    "attribution prior: a patch (template) larger than the image",
    "ValueError naming the patch side and the image size",
)
def test_patch_larger_than_image():
    with pytest.raises(ValueError, match="larger than the 8x8 image"):
        ssm.self_similarity_maps(torch.rand(1, 3, 8, 8), 9)
    with pytest.raises(ValueError, match="larger than"):
        ssm.ncc_maps(torch.rand(1, 8, 8), torch.rand(1, 1, 9, 3))
    with pytest.raises(ValueError, match="larger than"):
        ssm.extract(torch.rand(2, 3, 8, 8), side=9)


# ----------------------------------------------------------------------------- extraction
def _stripes(n: int = 2, size: int = 32, period: int = 8) -> torch.Tensor:
    y = torch.arange(size).float()
    row = 0.5 + 0.4 * torch.sin(2 * math.pi * y / period)
    img = row[None, :].expand(size, size) * (0.9 + 0.1 * row[:, None])
    return img.expand(n, 3, size, size).clone()


def test_extraction_finds_the_period_and_counts_flat_images():
    imgs = torch.cat([_stripes(1), torch.full((1, 3, 32, 32), 0.5)])
    ext = ssm.extract(imgs, n_ssr=2, scenario="global_similar")
    assert ext.valid.tolist() == [True, False] and ext.n_skipped == 1
    dx = (ext.ssr[0, :, 1] - ext.poi[0, 1]).abs()
    assert all(int(d) % 8 == 0 and int(d) > 0 for d in dx)  # a whole period away
    assert float(ext.w[0].min()) > 0.9 and ext.w.shape == (2, 2)
    masks = ext.masks(32, 32)
    assert masks.shape == (2, 3, 32, 32) and masks[0].sum((1, 2)).tolist() == [25.0] * 3
    local = ssm.extract(imgs, n_ssr=1, scenario="local_similar")
    d = (local.ssr[0, 0] - local.poi[0]).abs().max()
    assert ssm.DEFAULTS["suppress"] // 2 < d <= ssm.DEFAULTS["local_window"] // 2


@pytest.mark.parametrize("scenario", ["local_similar", "global_similar"])
def test_chunked_maxima_search_equals_the_whole_block_bit_for_bit(photo_lr, scenario):
    lr = torch.stack([photo_lr[0, :, y : y + 40, x : x + 40] for y, x in [(0, 0), (30, 50)]])
    maps, corners = ssm.self_similarity_maps(lr, 5, torch.float32)
    for n in (1, 3):
        region = ssm._regions(40, 40, 5, corners, {**ssm.DEFAULTS, "n_ssr": n}, scenario)
        whole = ssm._top_maxima_full(maps, region, n, 5)
        for chunk in (1, 4, 7):
            got = ssm.top_maxima(maps, region, n, 5, chunk)
            assert torch.equal(got[0], whole[0]) and torch.equal(got[1], whole[1])


def test_random_scenarios_use_their_own_generator_only():
    imgs = _stripes(3)
    torch.manual_seed(123)
    before = torch.get_rng_state()
    a = ssm.extract(imgs, torch.Generator().manual_seed(5), scenario="global_random", n_ssr=3)
    assert torch.equal(torch.get_rng_state(), before)  # global RNG untouched
    b = ssm.extract(imgs, torch.Generator().manual_seed(5), scenario="global_random", n_ssr=3)
    c = ssm.extract(imgs, torch.Generator().manual_seed(6), scenario="global_random", n_ssr=3)
    assert torch.equal(a.ssr, b.ssr) and not torch.equal(a.ssr, c.ssr)
    d = (a.ssr - a.poi[:, None]).abs().amax(-1)
    assert bool((d > ssm.DEFAULTS["exclude"] // 2).all())
    sim = ssm.extract(imgs, scenario="global_similar", n_ssr=3)
    assert torch.equal(a.poi, sim.poi)  # same PoI, only the regions are random


@pytest.mark.bad_input(
    "attribution prior: N_SSR < 1 or a scenario name not among the four",
    "ValueError naming the valid scenarios (or the bad N_SSR)",
)
def test_bad_nssr_and_scenario():
    with pytest.raises(ValueError, match="n_ssr must be an int >= 1"):
        ssm.extract(_stripes(1), n_ssr=0)
    with pytest.raises(ValueError, match=r"unknown scenario 'nearby'.*local_similar"):
        ssm.extract(_stripes(1), scenario="nearby")
    with pytest.raises(ValueError, match="n_ssr"):
        L.AttributionPrior(1e-4, n_ssr=0)
    with pytest.raises(ValueError, match="unknown scenario"):
        runs.build_run(_CFG, "local", {"lam": 1e-4, "scenario": "x"}, 0)


@pytest.mark.bad_input(
    "attribution prior: an image with no valid self-similarity map (flat, textureless)",
    "skipped and counted (the prior is 0 for it; the loss is plain L1 when no image qualifies)",
)
def test_image_without_ssm_is_skipped_and_counted():
    net = build("edsr", 2, n_feats=4, n_blocks=1)
    flat = torch.full((2, 3, 16, 16), 0.3)
    prior = L.AttributionPrior(1.0)
    sr = net(flat)
    out = prior(sr, torch.zeros_like(sr), flat, net)
    assert torch.equal(out, torch.nn.functional.l1_loss(sr, torch.zeros_like(sr)))
    assert prior.counts == {"images": 2, "skipped": 2}


# ----------------------------------------------------------------------------- the prior
def _tiny(dtype=torch.float64):
    torch.manual_seed(0)
    return build("edsr", 2, n_feats=4, n_blocks=1).to(dtype)


def test_crop_gives_exactly_the_whole_patch_gradient(photo_lr):
    net = build("edsr", 2, n_feats=8, n_blocks=1).double()
    lr = torch.cat([photo_lr[..., :40, :40], photo_lr[..., 50:90, 60:100]]).double()
    poi = torch.tensor([[0, 30], [17, 18]])
    margin = L.crop_margin(net)
    g_crop, off = L.poi_gradient(net, lr, poi, 5, margin)
    g_full, _ = L.poi_gradient(net, lr, poi, 5, None)
    assert g_crop.shape[-1] < 40
    full = torch.zeros_like(g_full)
    c = g_crop.shape[-1]
    for i, (y, x) in enumerate(off.tolist()):
        full[i, :, y : y + c, x : x + c] = g_crop[i]
    torch.testing.assert_close(full, g_full, rtol=1e-12, atol=1e-14)
    assert L.crop_margin(build("rcan", 2, n_groups=1, n_blocks=1, n_feats=4, reduction=2)) is None
    # the margin is tight: one px less changes the gradient of a PoI away from the border
    inner = torch.tensor([[17, 18], [17, 18]])
    g_full, _ = L.poi_gradient(net, lr, inner, 5, None)
    for m, equal in [(margin, True), (margin - 1, False)]:
        g, off = L.poi_gradient(net, lr, inner, 5, m)
        full = torch.zeros_like(g_full)
        for i, (y, x) in enumerate(off.tolist()):
            full[i, :, y : y + g.shape[-2], x : x + g.shape[-1]] = g[i]
        assert torch.allclose(full, g_full, rtol=1e-12, atol=1e-14) is equal, m


def test_reused_forward_gives_the_separate_forwards_gradient(photo_lr):
    """A global network (no crop) takes the input gradient from the loop's own forward
    (needs_input_grad, train.step_loss): the parameter gradient of L1 + lambda L_AP equals
    the one with a forward of its own, and a local network with a smaller crop does not
    ask for it."""
    from helpers.train import step_loss

    torch.manual_seed(0)
    net = build("rcan", 2, n_groups=1, n_blocks=1, n_feats=4, reduction=2).double()
    lr = torch.cat([photo_lr[..., :32, :32], photo_lr[..., 60:92, 60:92]]).double()
    hr = torch.nn.functional.interpolate(lr, scale_factor=2)
    prior = L.AttributionPrior(1e-1, scenario="global_similar")
    assert prior.needs_input_grad(net, lr) and not L.AttributionPrior(0.0).needs_input_grad(net, lr)
    grads = []
    for reuse in (True, False):
        prior.gen.manual_seed(0)
        net.zero_grad()
        if reuse:
            loss = step_loss(prior, net, lr, hr)
        else:
            loss = prior(net(lr), hr, lr, net)  # lr without grad: a forward of its own
        loss.backward()
        grads.append(torch.cat([p.grad.flatten() for p in net.parameters()]))
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-10, atol=1e-13)
    local = build("edsr", 2, n_feats=4, n_blocks=1)
    assert not prior.needs_input_grad(local, torch.zeros(1, 3, 48, 48))  # a crop is cheaper
    assert prior.needs_input_grad(local, torch.zeros(1, 3, 8, 8))  # the patch is the crop


def test_ratios_in_unit_interval_and_loss_definition(photo_lr):
    net = _tiny()
    lr = torch.cat([photo_lr[..., :32, :32], photo_lr[..., 60:92, 60:92]]).double()
    ext = ssm.extract(lr, n_ssr=3, scenario="local_similar")
    t = L.prior_terms(net, lr, ext)
    assert bool((t.s >= 0).all() and (t.s <= 1).all())
    n = t.n_ssr / (t.n_poi[:, None] + t.n_ssr)
    torch.testing.assert_close(t.s, n)
    torch.testing.assert_close(t.loss, ((t.s - t.w) ** 2).mean())
    const = L.prior_terms(net, lr, ext, w=0.5)
    assert bool((const.w == 0.5).all())


def test_prior_gradient_matches_central_finite_differences(photo_lr):
    """Double backprop is right: d L_AP / d theta by autograd (create_graph) equals central
    differences of L_AP itself, on a tiny float64 network."""
    net = _tiny()
    lr = photo_lr[..., 20:36, 30:46].double()
    ext = Extraction(
        poi=torch.tensor([[5, 5]]), ssr=torch.tensor([[[1, 9], [9, 2]]]),
        w=torch.tensor([[0.7, 0.4]]), valid=torch.tensor([True]),
        ssm=torch.zeros(1, 16, 16), side=4,
    )  # fmt: skip
    loss = L.prior_terms(net, lr, ext, crop=False).loss
    params = [p for p in net.parameters() if p.requires_grad]
    grads = torch.autograd.grad(loss, params, allow_unused=True)  # biases: no 2nd derivative
    grads = [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads, strict=True)]
    rng = torch.Generator().manual_seed(1)
    checked = 0
    for p, g in zip(params, grads, strict=True):
        for _ in range(3):
            i = int(torch.randint(p.numel(), (1,), generator=rng))
            old = p.data.view(-1)[i].item()
            h = 1e-6
            p.data.view(-1)[i] = old + h
            up = L.prior_terms(net, lr, ext, crop=False).loss.item()
            p.data.view(-1)[i] = old - h
            down = L.prior_terms(net, lr, ext, crop=False).loss.item()
            p.data.view(-1)[i] = old
            fd = (up - down) / (2 * h)
            assert fd == pytest.approx(g.reshape(-1)[i].item(), rel=1e-4, abs=1e-9)
            checked += 1
    assert checked >= 3 * len(params) and any(float(g.abs().max()) > 0 for g in grads)


@pytest.mark.bad_input(
    "attribution prior: lambda < 0 (or not a finite number), or w outside [0, 1]",
    "ValueError before any training",
)
def test_negative_lambda():
    with pytest.raises(ValueError, match="lambda must be >= 0"):
        L.AttributionPrior(-1e-4)
    with pytest.raises(ValueError, match="finite"):
        L.AttributionPrior(float("nan"))
    with pytest.raises(ValueError, match="w must be"):
        L.AttributionPrior(1e-4, w=1.5)
    with pytest.raises(ValueError, match="lambda must be >= 0"):
        runs.build_run(_CFG, "local", {"lam": -1.0}, 0)


def _images():
    g = torch.Generator().manual_seed(0)
    return [torch.rand(1, 3, 48, 48, generator=g) * 0.3 + _stripes(1, 48)[:, :, :, :] * 0.7
            for _ in range(3)]  # fmt: skip


def test_lambda_zero_trains_bit_for_bit_as_plain_l1(tmp_path):
    cfg = TrainConfig("edsr", 2, steps=3, model_kwargs={"n_feats": 4, "n_blocks": 1},
                      patch=32, batch=2, lr=1e-3, data="test_prior")  # fmt: skip
    plain = train(cfg, images=_images(), cache_dir=tmp_path / "a", progress=False)
    prior = L.AttributionPrior(0.0)
    cfg0 = TrainConfig(**{**cfg.to_dict(), "loss": prior.name, "loss_params": prior.params()})
    zero = train(cfg0, prior, _images(), cache_dir=tmp_path / "b", progress=False)
    for (k, a), (_, b) in zip(plain.model.state_dict().items(), zero.model.state_dict().items(),
                              strict=True):  # fmt: skip
        assert torch.equal(a, b), k
    assert plain.history == zero.history


def test_paired_seeds_share_init_and_batches_and_prior_resumes(tmp_path):
    seen: dict[str, list[torch.Tensor]] = {"l1": [], "prior": []}
    inits = {}

    class Spy:
        def __init__(self, tag, fn):
            self.tag, self.fn, self.name = tag, fn, fn.name

        def __call__(self, sr, hr, lr, model):
            if not seen[self.tag]:
                inits[self.tag] = {k: v.clone() for k, v in model.state_dict().items()}
            seen[self.tag].append(lr.clone())
            return self.fn(sr, hr, lr, model)

        def state_dict(self):
            return self.fn.state_dict()

        def load_state_dict(self, s):
            self.fn.load_state_dict(s)

    base = TrainConfig("edsr", 2, steps=3, model_kwargs={"n_feats": 4, "n_blocks": 1},
                       patch=32, batch=2, lr=1e-3, data="test_prior", seed=3)  # fmt: skip
    p0 = L.AttributionPrior(0.0)
    train(TrainConfig(**{**base.to_dict(), "loss": "ap0", "loss_params": {}}),
          Spy("l1", p0), _images(), cache_dir=tmp_path, progress=False)  # fmt: skip
    p1 = L.AttributionPrior(1e-2, scenario="global_random")
    cfg1 = TrainConfig(**{**base.to_dict(), "loss": p1.name, "loss_params": p1.params()})
    res = train(cfg1, Spy("prior", p1), _images(), cache_dir=tmp_path, progress=False)
    assert all(torch.equal(a, b) for a, b in zip(seen["l1"], seen["prior"], strict=True))
    assert all(torch.equal(inits["l1"][k], inits["prior"][k]) for k in inits["l1"])

    # resumable: a run interrupted after 2 steps (its checkpoint: model, optimiser, batch
    # order and the prior's generator) resumes to the same weights as the uninterrupted one
    class Stop(Exception):
        pass

    p2 = L.AttributionPrior(1e-2, scenario="global_random")
    calls = []

    class Interrupt(Spy):
        def __call__(self, sr, hr, lr, model):
            calls.append(1)
            if len(calls) == 3:
                raise Stop
            return self.fn(sr, hr, lr, model)

    with pytest.raises(Stop):
        train(cfg1, Interrupt("x", p2), _images(), cache_dir=tmp_path / "r", progress=False,
              ckpt_every=1)  # fmt: skip
    p3 = L.AttributionPrior(1e-2, scenario="global_random")
    resumed = train(cfg1, p3, _images(), cache_dir=tmp_path / "r", progress=False)
    assert not resumed.cached and len(resumed.history) == 3
    for k, v in res.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k


def test_weight_decay_loss_equals_adam_weight_decay():
    torch.manual_seed(0)
    a, b = build("edsr", 2, n_feats=4, n_blocks=1), build("edsr", 2, n_feats=4, n_blocks=1)
    b.load_state_dict(a.state_dict())
    oa = torch.optim.Adam(a.parameters(), lr=1e-2, weight_decay=1e-2)
    ob = torch.optim.Adam(b.parameters(), lr=1e-2)
    x, y = torch.rand(2, 3, 8, 8), torch.rand(2, 3, 16, 16)
    wd = L.WeightDecayL1(1e-2)
    for _ in range(3):
        oa.zero_grad(), ob.zero_grad()
        torch.nn.functional.l1_loss(a(x), y).backward()
        wd(b(x), y, x, b).backward()
        oa.step(), ob.step()
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pa, pb, rtol=1e-5, atol=1e-6)


_CFG = {"scale": 2, "steps": 2, "batch": 2, "lr_patch": 16, "lr": 1e-3, "data": "x",
        "nets": {"local": {"arch": "edsr", "kwargs": {"n_feats": 4, "n_blocks": 2}}}}  # fmt: skip


def test_build_run_variants():
    c0, f0 = runs.build_run(_CFG, "local", {}, 1)
    cz, fz = runs.build_run(_CFG, "local", {"lam": 0.0}, 1)
    assert c0 == cz and c0.loss == "l1" and f0 is None and fz is None and c0.seed == 1
    c1, f1 = runs.build_run(_CFG, "local", {"lam": 1e-4, "scenario": "global_random"}, 1)
    assert c1.loss == "attribution_prior" and c1.loss_params["scenario"] == "global_random"
    assert f1.seed == 1 and c1.model_kwargs == c0.model_kwargs
    cb, _ = runs.build_run(_CFG, "local", {"blocks": -1}, 1)
    assert cb.model_kwargs["n_blocks"] == 1 and cb.loss == "l1"
    cn, _ = runs.build_run(_CFG, "local", {"bn": True}, 1)
    assert cn.model_kwargs == {**c0.model_kwargs, "bn": True} and cn.loss == "l1"
    assert any(
        isinstance(m, torch.nn.BatchNorm2d) for m in build(cn.model, 2, **cn.model_kwargs).modules()
    )
    cw, fw = runs.build_run(_CFG, "local", {"weight_decay": 1e-4}, 1)
    assert cw.loss == "l1_weight_decay" and cw.loss_params == {"weight_decay": 1e-4}
    with pytest.raises(ValueError, match="unknown variant keys"):
        runs.build_run(_CFG, "local", {"lam": 1e-4, "colour": 1}, 1)


def test_overhead_and_sections_measure_something():
    cfg = {**_CFG, "data": "embedded_train", "lr_patch": 24}
    o = runs.overhead(cfg, "local", {"lam": 1e-4}, reps=1)
    assert o["time_ratio"] > 1 and o["memory_ratio"] > 1 and o["crop_margin"] is not None
    net = _tiny(torch.float32)
    sec = runs.norm_sections(net, _stripes(1, 64), poi=13, step=20, n=2)
    assert len(sec["norm_rel"]) == 3 and sec["norm_rel"][0] == pytest.approx(1.0)
    assert sec["norm_rel"] == sorted(sec["norm_rel"])  # nested sections: cumulative


# ----------------------------------------------------------------------------- statistics
def test_statistics():
    assert stats.paired_t([0.1, 0.12, 0.09]) < 0.01
    assert stats.paired_t([0.1]) is None
    assert stats.tost([0.001, -0.002, 0.0015, 0.0], 0.05) < 0.05
    assert stats.tost([0.2, 0.25, 0.22], 0.05) > 0.5
    assert stats.holm([0.01, 0.04, None, 0.03]) == [0.03, 0.06, None, 0.06]
    assert stats.wilcoxon([0.1, 0.2, 0.3]) == pytest.approx(0.25)
    w = stats.welch_t(28.24, 0.0439, 4, 28.26, 0.0342, 4)
    assert w["t"] == pytest.approx(0.72, abs=0.01) and w["p"] > 0.4  # the thesis's +0.02
    n = stats.seeds_needed(0.02, 0.04)
    assert 30 < n < 40  # (z_a + z_b)^2 (sd/effect)^2 ~ 31.4, plus the t correction
    ci = stats.bootstrap_ci([0.1, 0.2, 0.3, 0.15], 500)
    assert 0.1 <= ci[0] < ci[1] <= 0.3
    table = {
        "base": {0: {"s": {"a": 30.0, "b": 31.0}}, 1: {"s": {"a": 30.2, "b": 31.2}}},
        "v": {0: {"s": {"a": 30.1, "b": 31.1}}, 1: {"s": {"a": 30.3, "b": 31.3}}},
    }
    out = stats.compare(table, "base", 100)
    assert out["v"]["s"]["delta_vs_0"] == pytest.approx(0.1)
    assert out["v"]["s"]["p_paired"] == 0.0 and out["base"]["s"]["p_paired"] is None
    with pytest.raises(ValueError, match="lacks the baseline's seeds"):
        stats.compare({"base": table["base"], "v": {0: table["v"][0]}}, "base", 10)


# ----------------------------------------------------------------------------- verdicts
def _seeds(mean, spread=0.003, n=4):
    return {s: mean + spread * (s - (n - 1) / 2) for s in range(n)}


def _shift(d, by, jitter=0.001):
    return {s: v + by + jitter * (-1) ** s for s, v in d.items()}


def test_lambda_verdict_both_ways():
    base = _seeds(28.0)
    good = {0.0: base, 1e-4: _shift(base, 0.05), 1e-2: _shift(base, -0.3)}
    others = {"set5": {0.0: base, 1e-4: base, 1e-2: _shift(base, -0.2)}}
    assert verdicts.lambda_effect(good, others).outcome == "holds"
    flat = {0.0: base, 1e-4: _shift(base, 0.0, 0.02), 1e-2: _shift(base, 0.0, 0.02)}
    assert verdicts.lambda_effect(flat, {}).outcome == "does not hold"
    assert verdicts.lambda_effect({0.0: base}, {}).outcome == "not testable"
    one = {k: {0: v[0]} for k, v in good.items()}
    assert verdicts.lambda_effect(one, {}).outcome == "inconclusive"


def test_di_verdict_both_ways():
    di = {0.0: _seeds(1.0), 1e-2: _shift(_seeds(1.0), 1.0)}
    ps = {0.0: _seeds(30.0), 1e-2: _shift(_seeds(30.0), -0.2)}
    assert verdicts.di_not_psnr(di, ps).outcome == "holds"
    di_down = {0.0: _seeds(1.0), 1e-2: _shift(_seeds(1.0), -0.5)}
    assert verdicts.di_not_psnr(di_down, ps).outcome == "does not hold"  # DI and PSNR agree
    assert verdicts.di_not_psnr({0.0: _seeds(1.0)}, ps).outcome == "not testable"


def test_w_and_nssr_verdicts_both_ways():
    sim = _seeds(28.0)
    assert verdicts.w_sim({"sim": sim, "0.1": _shift(sim, -0.2)}).outcome == "holds"
    assert verdicts.w_sim({"sim": sim, "0.1": _shift(sim, 0.2)}).outcome == "does not hold"
    assert verdicts.w_sim({"sim": sim}).outcome == "not testable"
    assert verdicts.more_ssr({1: sim, 2: _shift(sim, -0.1)}).outcome == "holds"
    assert verdicts.more_ssr({1: sim, 5: _shift(sim, 0.2)}).outcome == "does not hold"
    assert verdicts.more_ssr({}).outcome == "not testable"


def test_random_verdict_both_ways():
    s = _seeds(28.0)
    same = {"local_similar": s, "local_random": _shift(s, 0.001)}
    assert verdicts.random_as_good(same).outcome == "holds"
    worse = {"global_similar": s, "global_random": _shift(s, -0.2)}
    assert verdicts.random_as_good(worse).outcome == "does not hold"
    assert verdicts.random_as_good({"local_similar": s}).outcome == "not testable"


def test_regulariser_verdict_both_ways():
    b = _seeds(28.0)
    ok = {"baseline": b, "prior": _shift(b, 0.05), "wd": _shift(b, -0.3)}
    assert verdicts.regularisers_no_gain(ok).outcome == "holds"
    bad = {"baseline": b, "prior": _shift(b, 0.05), "wd": _shift(b, 0.3)}
    assert verdicts.regularisers_no_gain(bad).outcome == "does not hold"
    assert verdicts.regularisers_no_gain({"baseline": b}).outcome == "not testable"


def test_ssr_poi_verdict_both_ways():
    b = {"ssr": _seeds(30.0), "poi": _seeds(31.0)}
    up = {k: _shift(v, 0.1) for k, v in b.items()}
    down = {k: _shift(v, -0.1) for k, v in b.items()}
    assert verdicts.ssr_poi_improve(b, up).outcome == "holds"
    assert verdicts.ssr_poi_improve(b, down).outcome == "does not hold"
    assert verdicts.ssr_poi_improve({}, {}).outcome == "not testable"


def test_concentrated_and_time_verdicts_both_ways():
    tight = [1.0, 1.5, 1.6, 1.62, 1.63]
    loose = [1.0, 1.2, 1.4, 2.5, 4.0]
    assert verdicts.concentrated({"baseline": tight, "prior": tight}).outcome == "holds"
    assert verdicts.concentrated({"baseline": loose, "prior": loose}).outcome == "does not hold"
    assert verdicts.concentrated({"baseline": tight, "prior": loose}).outcome == "partly"
    assert verdicts.time_doubles({"local": 1.9, "global": 2.2}).outcome == "holds"
    assert verdicts.time_doubles({"local": 3.1}).outcome == "does not hold (dearer)"
    assert verdicts.time_doubles({"local": 1.1}).outcome == "does not hold (cheaper)"
    assert verdicts.time_doubles({}).outcome == "not testable"


def test_prior_settings_and_code_are_in_the_cache_key():
    from helpers import cache

    p = L.AttributionPrior(1e-4, scenario="global_random", n_ssr=2).params()
    assert p["code"] == cache.code_digest("prior/loss.py", "prior/ssm.py")
    assert (p["lam"], p["scenario"], p["n_ssr"], p["w"]) == (1e-4, "global_random", 2, "sim")
    c1, _ = runs.build_run(_CFG, "local", {"lam": 1e-4}, 0)
    c2, _ = runs.build_run(_CFG, "local", {"lam": 1e-4, "n_ssr": 2}, 0)
    assert runs.config_key(c1) != runs.config_key(c2)
