"""helpers.texture_loss (and models.vgg/taps): Gram matrices against naive references,
orderlessness, guided Gram, the losses' gradients, the loss-network sources, composites,
TSRN's two phases through the training loop, the scores and the five verdicts (both
outcomes each)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision

from helpers import presets
from helpers.models import build, weights_digest
from helpers.models.taps import layer_names, tap
from helpers.models.vgg import VGG19Features, vgg19_layer_names
from helpers.texture_loss import composites, evaluate, gram, lossnet, networks, verdicts

torch.set_num_threads(1)


def _net(width: int = 4, seed: int = 0) -> lossnet.LossNetwork:
    torch.manual_seed(seed)
    return lossnet.LossNetwork(VGG19Features(width, bn=False), "random", seed)


# ----------------------------------------------------------------------------- gram
def test_gram_equals_a_naive_einsum_over_positions():
    f = torch.randn(2, 5, 6, 7, dtype=torch.float64)
    ref = torch.einsum("nihw,njhw->nij", f, f) / (5 * 6 * 7)
    torch.testing.assert_close(gram.gram(f), ref)
    # and a loop over channel pairs
    g = gram.gram(f)
    assert abs(float(g[1, 2, 3]) - float((f[1, 2] * f[1, 3]).sum()) / 210) < 1e-12


def test_gram_is_orderless_and_the_feature_loss_is_not():
    torch.manual_seed(0)
    f = torch.randn(1, 4, 8, 8)
    perm = torch.randperm(64)
    shuffled = f.flatten(2)[..., perm].reshape(f.shape)
    torch.testing.assert_close(gram.gram(shuffled), gram.gram(f), rtol=1e-5, atol=1e-6)
    assert float(gram.gram_loss({"a": shuffled}, {"a": f})) < 1e-10
    assert float(gram.feature_loss({"a": shuffled}, {"a": f})) > 0.5


def test_guided_gram_with_one_all_ones_mask_is_the_global_gram():
    f = torch.randn(3, 6, 5, 4)
    ones = torch.ones(3, 1, 20, 16)  # image resolution: resized to the layer's
    torch.testing.assert_close(gram.guided_gram(f, ones)[:, 0], gram.gram(f))


def test_guided_gram_of_a_segment_sees_only_that_segment():
    torch.manual_seed(0)
    f = torch.randn(1, 3, 4, 8)
    left = torch.zeros(1, 2, 4, 8)
    left[:, 0, :, :4], left[:, 1, :, 4:] = 1, 1
    g = gram.guided_gram(f, left)
    torch.testing.assert_close(g[:, 0], gram.gram(f[..., :4]))
    torch.testing.assert_close(g[:, 1], gram.gram(f[..., 4:]))


def test_gram_loss_is_zero_for_identical_inputs_and_positive_otherwise():
    net = _net()
    x = torch.rand(2, 3, 32, 32)
    fx = net.features(x, lossnet.PAPER_LAYERS)
    assert float(gram.gram_loss(fx, fx)) == 0.0
    fy = net.features(torch.rand(2, 3, 32, 32), lossnet.PAPER_LAYERS)
    assert float(gram.gram_loss(fx, fy)) > 0
    assert torch.equal(gram.gram_distance(fx, fx), torch.zeros(2))


def test_distances_follow_eq5_and_lpips_uncalibrated():
    a = {"l": torch.randn(2, 3, 4, 4, dtype=torch.float64)}
    b = {"l": torch.randn(2, 3, 4, 4, dtype=torch.float64)}
    ref = (gram.gram(a["l"]) - gram.gram(b["l"])).pow(2).sum((1, 2)) / 9
    torch.testing.assert_close(gram.gram_distance(a, b), ref)
    na, nb = F.normalize(a["l"], dim=1), F.normalize(b["l"], dim=1)
    torch.testing.assert_close(gram.feature_distance(a, b), (na - nb).pow(2).sum(1).mean((1, 2)))
    with pytest.raises(ValueError, match="layers differ"):
        gram.gram_distance(a, {"m": b["l"]})


# ----------------------------------------------------------------------------- vgg, taps
def test_vgg19_features_equal_torchvision_with_its_weights():
    torch.manual_seed(0)
    tv = torchvision.models.vgg19(weights=None).eval()
    ours = VGG19Features(64, bn=False)
    ours.load_torchvision(tv.state_dict())
    x = torch.rand(1, 3, 32, 32)
    torch.testing.assert_close(ours(x), tv.features(x))
    # relu3_4 is torchvision's index 17 (the released TSRN's layer "17")
    names = vgg19_layer_names()
    assert names.index("relu3_4") == 17 and names.index("relu5_4") == 35
    got = tap(ours.features, x, ["relu3_4"])["relu3_4"]
    torch.testing.assert_close(got, tv.features[:18](x))


def test_tap_keeps_gradients_and_stops_after_the_deepest_layer():
    net = build("srresnet", 2, n_feats=4, n_blocks=2)
    x = torch.rand(1, 3, 8, 8, requires_grad=True)
    out = tap(net, x, ["body.0"])
    out["body.0"].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert "conv_last" in layer_names(net)


@pytest.mark.bad_input(
    "texture-loss SR: a loss-network layer name VGG-19 does not have",
    "ValueError listing the valid layer names (conv1_1 ... pool5)",
)
def test_unknown_layer_lists_the_valid_names():
    net = _net()
    with pytest.raises(ValueError, match=r"unknown loss-network layer.*conv5_9.*relu3_4"):
        net.features(torch.rand(1, 3, 16, 16), ["conv5_9"])
    with pytest.raises(ValueError, match="valid names"):
        tap(build("edsr", 2, n_feats=4, n_blocks=1), torch.rand(1, 3, 8, 8), ["nope"])


# ----------------------------------------------------------------------------- sources
@pytest.mark.bad_input(
    "texture-loss SR: loss_network='imagenet' without torchvision's VGG-19 file",
    "FileNotFoundError naming the file, the folder and how to get it (or another source)",
)
def test_imagenet_source_without_weights_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r"vgg19-dcbb9e9d\.pth.*texture' or 'random"):
        lossnet.loss_network("imagenet", "smoke", presets.get("texture_loss", "smoke")["lossnet"])
    with pytest.raises(ValueError, match="unknown loss-network source"):
        lossnet.loss_network("vgg", "smoke", {})


def test_imagenet_source_loads_the_cached_file(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    torch.manual_seed(0)
    tv = torchvision.models.vgg19(weights=None)
    path = lossnet.imagenet_vgg19_path()
    path.parent.mkdir(parents=True)
    torch.save(tv.state_dict(), path)
    net = lossnet.loss_network("imagenet", "smoke", {})
    x = torch.rand(1, 3, 32, 32)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        torch.testing.assert_close(net(x), tv.features((x - mean) / std))


def test_random_source_is_seeded_frozen_and_normalised_per_layer():
    cfg = presets.get("texture_loss", "smoke")["lossnet"]
    a = lossnet.loss_network("random", "smoke", cfg, seed=0)
    b = lossnet.loss_network("random", "smoke", cfg, seed=0)
    c = lossnet.loss_network("random", "smoke", cfg, seed=1)
    assert weights_digest(a) == weights_digest(b) != weights_digest(c)
    assert not any(p.requires_grad for p in a.parameters())
    a.train()
    assert not a.training  # frozen: stays in eval mode
    # batch-norm statistics were estimated: not the initial zeros/ones
    bn = a.trunk.features.bn3_1
    assert float(bn.running_var.mean()) != 1.0 and float(bn.running_mean.abs().sum()) > 0


def test_texture_source_is_the_classifier_trunk():
    cfg = presets.get("texture_loss", "smoke")["lossnet"]
    net = lossnet.loss_network("texture", "smoke", cfg, seed=0, progress=False)
    assert net.trunk.bn and net.trunk.width == cfg["width"] and net.source == "texture"
    assert not any(p.requires_grad for p in net.parameters())


# ----------------------------------------------------------------------------- losses
def test_texture_losses_train_the_sr_network_only():
    torch.manual_seed(0)
    net = _net()
    sr_net = build("tsrn", 2, n_feats=4, n_blocks=1)
    lr, hr = torch.rand(2, 3, 16, 16), torch.rand(2, 3, 32, 32)
    masks = torch.zeros(2, 2, 32, 32)
    masks[:, 0, :16], masks[:, 1, 16:] = 1, 1
    for kind in ("gram", "guided", "feature", "mse"):
        loss_fn = networks.TextureLoss(kind, net)
        sr_net.zero_grad()
        loss = loss_fn(sr_net(lr), torch.cat([hr, masks], 1), lr, sr_net)
        loss.backward()
        assert all(p.grad is not None for p in sr_net.parameters()), kind
        assert all(p.grad is None for p in net.parameters()), kind


def test_guided_loss_without_masks_and_unknown_kind_are_refused():
    with pytest.raises(ValueError, match="segment masks"):
        networks.TextureLoss("guided", _net())(
            torch.rand(1, 3, 32, 32), torch.rand(1, 3, 32, 32), None, None
        )
    with pytest.raises(ValueError, match="unknown texture-loss kind"):
        networks.TextureLoss("style", _net())


# ----------------------------------------------------------------------------- composites
def test_composites_are_seeded_one_hot_and_cover_every_pixel():
    from helpers.data.textures import TextureData

    imgs = torch.randint(0, 255, (6, 3, 40, 40), dtype=torch.uint8)
    data = TextureData(imgs, [0, 0, 1, 1, 2, 2], ["a", "b", "c"])
    c1 = composites.make_composites(data, 4, 32, (2, 3), seed=0)
    c2 = composites.make_composites(data, 4, 32, (2, 3), seed=0)
    assert torch.equal(c1.images, c2.images) and c1.labels == c2.labels
    assert c1.masks.shape == (4, 3, 32, 32)
    composites.check_masks(c1.images, c1.masks)
    for m, labs in zip(c1.masks, c1.labels, strict=True):
        assert len(set(labs)) == len(labs)
        assert (m.sum((-2, -1)) > 0).sum() == len(labs)
    guided = composites.with_guides(c1)
    assert guided[0].shape == (1, 6, 32, 32)


@pytest.mark.bad_input(
    "texture-loss SR: segment masks whose count or size does not match the images, or that "
    "leave pixels uncovered",
    "ValueError saying which (one set of masks per image, image size, sum over segments = 1)",
)
def test_bad_masks_are_refused():
    img = torch.rand(2, 3, 8, 8)
    good = torch.zeros(2, 2, 8, 8)
    good[:, 0] = 1
    composites.check_masks(img, good)
    with pytest.raises(ValueError, match="do not match"):
        composites.check_masks(img, good[:1])
    with pytest.raises(ValueError, match="do not match"):
        composites.check_masks(img, good[..., :4])
    holes = good.clone()
    holes[:, 0, :2] = 0
    with pytest.raises(ValueError, match="cover every pixel"):
        composites.check_masks(img, holes)
    with pytest.raises(ValueError, match="2..1"):
        from helpers.data.textures import TextureData

        composites.make_composites(
            TextureData(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), [0, 0], ["a"]), 1, 8
        )


# ----------------------------------------------------------------------------- training
def test_both_phases_go_through_the_loop_cached_and_paired(tmp_path):
    spec = presets.get("texture_loss", "smoke")
    torch.manual_seed(0)
    comp = composites.Composites(torch.rand(3, 3, 48, 48), torch.ones(3, 1, 48, 48), [["a"]] * 3)
    images = composites.with_guides(comp)
    nets = {"train": _net(), "random": _net(seed=1)}
    variants = {"G": networks.Variant("gram"), "G random": networks.Variant("gram", "random")}
    first = networks.train_variants(
        spec, images, nets, 0, variants, progress=False, cache_dir=tmp_path
    )
    again = networks.train_variants(
        spec, images, nets, 0, variants, progress=False, cache_dir=tmp_path
    )
    assert not first["G"].cached and again["G"].cached
    assert first["G"].config.init == weights_digest(first["MSE"].model)
    assert weights_digest(again["G"].model) == weights_digest(first["G"].model)
    assert first["G"].key != first["G random"].key  # the loss network is in the key
    with pytest.raises(ValueError, match="needs loss network 'other'"):
        networks.train_variants(
            spec,
            images,
            nets,
            0,
            {"x": networks.Variant("gram", "other")},
            progress=False,
            cache_dir=tmp_path,
        )


# ----------------------------------------------------------------------------- scores
def test_high_frequency_ratio_is_one_for_hr_and_below_for_blur():
    torch.manual_seed(0)
    hr = torch.rand(2, 3, 32, 32)
    blur = F.avg_pool2d(hr, 3, 1, 1)
    np.testing.assert_allclose(evaluate.high_frequency_ratio(hr, hr), 1.0)
    assert (evaluate.high_frequency_ratio(blur, hr) < 0.5).all()


def test_boundary_band_keeps_only_pixels_near_a_boundary():
    m = torch.zeros(1, 2, 10, 10)
    m[:, 0, :, :5], m[:, 1, :, 5:] = 1, 1
    band = evaluate.boundary_band(m, 1)
    cols = band.sum(1)[0, 0].nonzero().flatten().tolist()
    assert cols == [4, 5]


def test_retrieval_2afc_prefers_the_gram_distance_for_shifted_textures():
    torch.manual_seed(0)
    # two "textures": stripes of two periods, each image one of them
    x = torch.arange(64).float()
    a = (torch.sin(x / 1.5)[None, :] * torch.ones(64, 1) + 1) / 2
    b = (torch.sin(x / 4.0)[:, None] * torch.ones(1, 64) + 1) / 2
    images = torch.stack([a.expand(3, -1, -1), b.expand(3, -1, -1)] * 3)
    labels = torch.tensor([0, 1] * 3)
    out = evaluate.retrieval_2afc(_net(8), images, labels, 40, 32, seed=0)
    assert out["gram"].mean() > 0.9
    with pytest.raises(ValueError, match="at least 2 classes"):
        evaluate.retrieval_2afc(_net(8), images, torch.zeros(6), 4, 32)


def test_classifier_correct_scores_a_centre_crop():
    class Fixed(torch.nn.Module):
        def forward(self, x):
            assert x.shape[-1] == 8
            return torch.stack([x.mean((1, 2, 3)), 1 - x.mean((1, 2, 3))], 1)

    imgs = torch.cat([torch.ones(2, 3, 12, 12), torch.zeros(2, 3, 12, 12)])
    got = evaluate.classifier_correct(Fixed(), imgs, torch.tensor([0, 1, 1, 0]), crop=8)
    assert got.tolist() == [1.0, 0.0, 1.0, 0.0]


# ----------------------------------------------------------------------------- verdicts
def _seed(rng, g_better: bool, psnr_lower: bool, n: int = 30) -> dict:
    base = rng.uniform(1.0, 2.0, n)
    return {
        "MSE": {"gram": base, "psnr": np.full(n, 25.0) + rng.normal(0, 0.01, n)},
        "TSRN-G": {
            "gram": base * (0.7 if g_better else 1.0) * rng.uniform(0.98, 1.02, n),
            "psnr": np.full(n, 24.0 if psnr_lower else 25.0) + rng.normal(0, 0.01, n),
        },
    }


def test_perceptual_at_lower_psnr_both_outcomes():
    rng = np.random.default_rng(0)
    assert verdicts.perceptual_at_lower_psnr([_seed(rng, True, True)] * 2, 300).holds
    v = verdicts.perceptual_at_lower_psnr([_seed(rng, False, True)] * 2, 300)
    assert v.outcome == "does not hold"  # lower PSNR alone is not the claim
    assert verdicts.perceptual_at_lower_psnr([_seed(rng, True, False)], 300).outcome == "partly"
    # two judges: better under one only -> partly; under both -> holds
    both, one = _seed(rng, True, True), _seed(rng, True, True)
    for d, other_better in ((both, True), (one, False)):
        for k in ("MSE", "TSRN-G"):
            d[k]["gram:judge"] = d[k]["gram"]
        d["MSE"]["gram:deepten"] = d["MSE"]["gram"]
        d["TSRN-G"]["gram:deepten"] = d["MSE"]["gram"] * (0.6 if other_better else 1.3)
    assert verdicts.perceptual_at_lower_psnr([both], 300).holds
    v = verdicts.perceptual_at_lower_psnr([one], 300)
    assert v.outcome == "partly" and set(v.numbers["gram_ratio"]) == {"judge", "deepten"}


def test_feature_loss_blurs_both_outcomes():
    rng = np.random.default_rng(1)
    hf = rng.uniform(0.5, 1.0, 40)
    blur = {"feature loss": {"hf_ratio": hf * 0.5}, "TSRN-G": {"hf_ratio": hf}}
    sharp = {
        "feature loss": {"hf_ratio": hf * rng.uniform(0.95, 1.05, 40)},
        "TSRN-G": {"hf_ratio": hf},
    }
    assert verdicts.feature_loss_blurs([blur, blur], 300).holds
    assert verdicts.feature_loss_blurs([sharp], 300).outcome == "does not hold"


def test_guided_keeps_segments_both_outcomes():
    rng = np.random.default_rng(2)
    d = rng.uniform(1, 2, 30)
    keep = {
        "TSRN-S": {"bleed_gram": d * 0.6, "segment_gram": d},
        "TSRN-G": {"bleed_gram": d, "segment_gram": d},
    }
    same = {
        "TSRN-S": {"bleed_gram": d * rng.uniform(0.9, 1.1, 30), "segment_gram": d},
        "TSRN-G": {"bleed_gram": d, "segment_gram": d},
    }
    assert verdicts.guided_keeps_segments([keep], 300).holds
    assert verdicts.guided_keeps_segments([same], 300).outcome == "does not hold"


def test_recognisability_both_outcomes():
    n = 60
    hr = np.ones(n)
    worse = np.r_[np.ones(20), np.zeros(40)]
    better = np.r_[np.ones(50), np.zeros(10)]
    up = {"bicubic": worse, "MSE": worse, "TSRN-G": better, "HR": hr}
    down = {"bicubic": worse, "MSE": better, "TSRN-G": worse, "HR": hr}
    assert verdicts.recognisability([up, up], 300).holds
    assert verdicts.recognisability([down], 300).outcome == "does not hold"
    tie = {"bicubic": worse, "MSE": worse, "TSRN-G": worse, "HR": hr}
    assert verdicts.recognisability([tie], 300).outcome == "inconclusive"


def test_gram_beats_features_both_outcomes():
    right, wrong = np.ones(50), np.r_[np.ones(20), np.zeros(30)]
    assert verdicts.gram_beats_features({"a": {"gram": right, "feature": wrong}}, 300).holds
    v = verdicts.gram_beats_features({"a": {"gram": wrong, "feature": right}}, 300)
    assert v.outcome == "does not hold"
    both = {"a": {"gram": right, "feature": wrong}, "b": {"gram": wrong, "feature": right}}
    assert verdicts.gram_beats_features(both, 300).outcome == "partly"


def test_findings_read_the_direction_from_the_numbers():
    import pandas as pd

    from helpers.texture_loss import analysis

    def table(g_psnr, g_gram):
        rows = {
            "MSE": (25.0, 2.0, 0.1),
            "TSRN-G": (g_psnr, g_gram, 0.3),
            "feature loss": (24.0, 1.5, 0.2),
            "TSRN-G, random net": (23.0, 2.5, 0.4),
        }
        return pd.DataFrame(rows, index=["psnr", "gram", "hf_ratio"]).T

    worse = analysis.findings(table(22.5, 3.0))
    assert "2.50 dB below" in worse[0] and "1.50x" in worse[0] and "farther from" in worse[0]
    better = analysis.findings(table(26.0, 1.0))
    assert "1.00 dB above" in better[0] and "closer to" in better[0]
    assert "3.0x its high-frequency energy" in better[0]
    two = table(22.5, 3.0)
    two["gram:deepten"] = [4.0, 2.0, 1.0, 1.0]
    assert "0.50x the MSE network's (closer to HR)" in analysis.findings(two)[1]


def _bapps(root, human: float, n: int = 3) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for cat in ("cnn", "traditional"):
        for k in ("ref", "p0", "p1", "judge"):
            (root / cat / k).mkdir(parents=True)
        for i in range(n):
            ref = rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)
            noisy = np.clip(ref.astype(int) + rng.integers(-80, 80, ref.shape), 0, 255).astype(
                np.uint8
            )
            Image.fromarray(ref).save(root / cat / "ref" / f"{i:06d}.png")
            Image.fromarray(ref).save(root / cat / "p0" / f"{i:06d}.png")
            Image.fromarray(noisy).save(root / cat / "p1" / f"{i:06d}.png")
            np.save(root / cat / "judge" / f"{i:06d}.npy", np.array([human]))


@pytest.mark.parametrize(("human", "expected"), [(0.0, 100.0), (1.0, 0.0), (0.25, 75.0)])
def test_bapps_2afc_scores_as_lpips_does(tmp_path, human, expected):
    # p0 is the reference itself: every distance finds it nearer, so the score is the
    # share of people who agree (1 - h), LPIPS' score_2afc_dataset.
    _bapps(tmp_path, human)
    table, per = evaluate.bapps_2afc(_net(8), tmp_path)
    assert set(table) == {"cnn", "traditional"} and table["cnn"]["n"] == 3
    for cat in table.values():
        assert cat["gram"] == pytest.approx(expected) and cat["feature"] == pytest.approx(expected)
    assert per["gram"].shape == (6,)


def test_bapps_2afc_without_the_data_says_what_it_expects(tmp_path):
    with pytest.raises(FileNotFoundError, match="no BAPPS 2AFC categories"):
        evaluate.bapps_2afc(_net(), tmp_path / "none")


def test_deepten_judge_is_the_classifier_trunk_on_normalised_inputs():
    from helpers.texture.deepten import build_classifier

    torch.manual_seed(0)
    clf = build_classifier(["a", "b"], {"stages": 2, "width": 8, "pretrained": False}).eval()
    x = torch.rand(2, 3, 32, 32)
    feats = evaluate.deepten_features(clf)(x)
    assert list(feats) == ["layer1", "layer2"]
    with torch.no_grad():
        z = (x - clf.mean) / clf.std
        t = clf.trunk
        ref = t.layer2(t.layer1(t.maxpool(t.relu(t.bn1(t.conv1(z))))))
    torch.testing.assert_close(feats["layer2"], ref)
