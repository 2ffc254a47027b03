"""Texture classifier (helpers.texture.deepten, .classifier), its data (helpers.data.textures)
and patch labelling (helpers.texture.patches): encoding layer, training cache/resume,
damaged checkpoints, evaluation, labelling, errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from helpers import presets
from helpers.data import textures as D
from helpers.texture import classifier as C
from helpers.texture import deepten as N
from helpers.texture import patches as P

SMOKE_STEPS = 60  # enough for the 3-class smoke task to clear chance reliably


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    """Tiny models gain nothing from torch's thread pool, and on shared cores it made
    these tests ~10x slower; restore the setting afterwards."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def smoke_data() -> tuple[D.TextureData, D.TextureData]:
    return D.preset_data("smoke", seed=0)


@pytest.fixture(scope="module")
def trained(tmp_path_factory, smoke_data):
    cache = tmp_path_factory.mktemp("texture-cache")
    train, _ = smoke_data
    cfg = {**presets.get("texture_classifier", "smoke"), "steps": SMOKE_STEPS}
    model, hist = C.train_classifier(
        train, train.classes, cfg, cache_dir=cache, device="cpu", seed=0, progress=False
    )
    return model, hist, cache, cfg


def _tiny_cfg(**kw) -> dict:
    return {
        **presets.get("texture_classifier", "smoke"),
        "steps": 6,
        "ckpt_every": 3,
        "batch": 4,
        "crop": 32,
        **kw,
    }


# --------------------------------------------------------------------------- encoding
def test_encoding_matches_naive_loop() -> None:
    torch.manual_seed(0)
    enc = N.Encoding(dim=6, codewords=5)
    with torch.no_grad():
        enc.smoothing.uniform_(0.2, 2.0)
        enc.codewords.normal_()
    x = torch.randn(2, 6, 3, 4)
    fast = enc(x)
    slow = N.encoding_naive(x, enc.codewords.detach(), enc.smoothing.detach())
    assert fast.shape == (2, 5, 6)
    torch.testing.assert_close(fast, slow, rtol=1e-4, atol=1e-4)
    a = enc.assignments(x)
    torch.testing.assert_close(a.sum(-1), torch.ones(2, 12))


def test_encoding_gradients_flow() -> None:
    enc = N.Encoding(4, 3)
    x = torch.randn(2, 4, 2, 2, requires_grad=True)
    enc(x).square().sum().backward()
    assert x.grad is not None and enc.codewords.grad is not None
    assert enc.smoothing.grad is not None and torch.isfinite(enc.smoothing.grad).all()


def test_embedding_is_l2_normalised() -> None:
    model = N.build_classifier(["a", "b"], "smoke").eval()
    with torch.no_grad():
        e = model.embed(torch.rand(3, 3, 64, 80))
        logits = model(torch.rand(3, 3, 64, 64))
    cfg = presets.get("texture_classifier", "smoke")
    assert e.shape == (3, cfg["reduce_dim"] * cfg["codewords"]) == (3, model.embedding_dim)
    torch.testing.assert_close(e.norm(dim=1), torch.ones(3))
    assert logits.shape == (3, 2)


def test_truncated_narrow_backbone_has_torchvision_keys() -> None:
    full = N.build_classifier(["a"], {"pretrained": False})
    import torchvision

    ref = torchvision.models.resnet18().state_dict()
    trunk = full.trunk.state_dict()
    assert set(trunk) == {k for k in ref if not k.startswith("fc.")}
    small = N.build_classifier(["a"], {"stages": 2, "width": 16, "pretrained": False})
    assert not any(k.startswith("layer3") for k in small.trunk.state_dict())
    assert small.trunk.out_channels == 32


def test_pretrained_never_downloads(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path))
    assert N.imagenet_weights_path("resnet18") is None
    with pytest.raises(FileNotFoundError, match="never downloads"):
        N.build_classifier(["a"], {"pretrained": True})
    assert N.build_classifier(["a"], {"pretrained": "auto"}).pretrained_file is None


# --------------------------------------------------------------------------- training
def test_tiny_training_beats_chance(trained, smoke_data) -> None:
    model, hist, _, _ = trained
    _, test = smoke_data
    assert hist["steps_run"] == SMOKE_STEPS and hist["done"]
    res = C.evaluate(model, test)
    c = len(test.classes)
    assert res["confusion"].shape == (c, c)
    assert res["confusion"].sum() == len(test)
    assert np.isclose(np.trace(res["confusion"]) / len(test), res["accuracy"])
    assert res["accuracy"] > 1 / c + 0.1, res


def test_checkpoint_reused(trained, smoke_data) -> None:
    model, hist, cache, cfg = trained
    train, _ = smoke_data
    again, hist2 = C.train_classifier(
        train, train.classes, cfg, cache_dir=cache, device="cpu", seed=0, progress=False
    )
    assert hist2["steps_run"] == 0 and hist2["checkpoint"] == hist["checkpoint"]
    for a, b in zip(model.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    # A different seed is a different key, hence a different file.
    p0 = C.checkpoint_path(train, train.classes, cfg, cache, seed=0)
    p1 = C.checkpoint_path(train, train.classes, cfg, cache, seed=1)
    assert p0 != p1 and str(p0) == hist["checkpoint"]


def test_resume_equals_uninterrupted(tmp_path, smoke_data) -> None:
    train = smoke_data[0].subset(range(0, 72, 6))
    cfg = _tiny_cfg()
    kw = dict(device="cpu", seed=3, progress=False)
    _, h1 = C.train_classifier(
        train, train.classes, cfg, cache_dir=tmp_path / "a", stop_after=3, **kw
    )
    assert h1["steps_run"] == 3 and not h1["done"]
    with pytest.raises(RuntimeError, match="unfinished"):
        C.load_classifier(h1["checkpoint"])
    resumed, h2 = C.train_classifier(train, train.classes, cfg, cache_dir=tmp_path / "a", **kw)
    assert h2["resumed_from"] == 3 and h2["steps_run"] == 3 and h2["done"]
    straight, _ = C.train_classifier(train, train.classes, cfg, cache_dir=tmp_path / "b", **kw)
    for (k, a), b in zip(resumed.state_dict().items(), straight.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6, msg=k)


def test_damaged_checkpoint_warns_and_retrains(tmp_path, smoke_data) -> None:
    train = smoke_data[0].subset(range(0, 72, 6))
    cfg = _tiny_cfg()
    kw = dict(cache_dir=tmp_path, device="cpu", seed=1, progress=False)
    first, h1 = C.train_classifier(train, train.classes, cfg, **kw)
    path = Path(h1["checkpoint"])
    assert path == C.checkpoint_path(train, train.classes, cfg, tmp_path, seed=1)
    assert path.name == f"deepten-{C.config_key(train, train.classes, cfg, 1)}.pt"
    path.write_bytes(path.read_bytes()[:100])  # truncated
    with pytest.raises(RuntimeError, match="damaged"), pytest.warns(UserWarning, match="unusable"):
        C.load_classifier(path)
    with pytest.warns(UserWarning, match="unusable"):
        again, h2 = C.train_classifier(train, train.classes, cfg, **kw)
    assert h2["steps_run"] == cfg["steps"] and h2["resumed_from"] == 0
    for a, b in zip(first.state_dict().values(), again.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    C.load_classifier(path)  # rewritten, verified


def test_cache_root_and_key(tmp_path, monkeypatch, smoke_data) -> None:
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path))
    assert C.cache_root() == tmp_path / "texture"
    assert C.cache_root(tmp_path / "x") == tmp_path / "x"
    train = smoke_data[0]
    cfg = _tiny_cfg()
    key = C.config_key(train, train.classes, cfg, 0)
    assert len(key) == 20 and key == C.config_key(train, train.classes, cfg, 0)
    # ckpt_every and num_workers do not change the weights, hence not the key
    assert key == C.config_key(train, train.classes, {**cfg, "ckpt_every": 1}, 0)
    assert key != C.config_key(train, train.classes, {**cfg, "lr": 1e-2}, 0)
    assert key != C.config_key(train.subset(range(10)), train.classes, cfg, 0)
    assert (
        C.checkpoint_path(train, train.classes, cfg) == tmp_path / "texture" / f"deepten-{key}.pt"
    )


def test_transforms() -> None:
    cfg = N.merge_config({"crop": 32, "eval_crop": 24})
    img = torch.randint(0, 256, (3, 40, 50), dtype=torch.uint8)
    torch.manual_seed(0)
    a = D.train_transform(cfg)(img)
    torch.manual_seed(0)
    b = D.train_transform(cfg)(img)
    assert a.shape == (3, 32, 32) and a.dtype == torch.float32 and torch.equal(a, b)
    assert 0 <= a.min() and a.max() <= 1
    c = D.eval_transform(cfg)(img)
    assert c.shape == (3, 24, 24)
    torch.testing.assert_close(c, img[:, 8:32, 13:37].float() / 255)  # the centre crop
    small = torch.randint(0, 256, (3, 12, 16), dtype=torch.uint8)
    assert D.eval_transform(cfg)(small).shape == (3, 24, 24)  # upscaled, not padded
    padded = D.train_transform(cfg)(img[:, :20, :24])  # reflect-padded to the crop
    assert padded.shape == (3, 32, 32)


def test_class_list_mismatch_errors(trained, smoke_data) -> None:
    model, hist, _, cfg = trained
    train, test = smoke_data
    classes = list(train.classes)
    loaded = C.load_classifier(hist["checkpoint"], classes=classes)
    assert loaded.classes == tuple(classes)
    with pytest.raises(ValueError, match="class list mismatch.*different order"):
        C.load_classifier(hist["checkpoint"], classes=classes[::-1])
    with pytest.raises(ValueError, match="absent: \\['dotted'\\].*not expected: \\['striped'\\]"):
        C.load_classifier(hist["checkpoint"], classes=classes[:2] + ["dotted"])
    with pytest.raises(ValueError, match="class list mismatch"):
        C.train_classifier(train, classes[::-1], cfg, progress=False)
    with pytest.raises(ValueError, match="class list mismatch"):
        P.label_patches(model, torch.rand(1, 3, 64, 64), classes=["a", "b", "c"], progress=False)
    other = D.TextureData(torch.rand(2, 3, 64, 64), [0, 1], ["x", "y"])
    with pytest.raises(ValueError, match="class list mismatch"):
        C.evaluate(model, other)


# --------------------------------------------------------------------------- labelling
def test_label_patches_shapes_and_determinism(trained) -> None:
    model = trained[0]
    patches = torch.rand(5, 3, 128, 128, generator=torch.Generator().manual_seed(0))
    out = P.label_patches(model, patches, batch=2, device="cpu", progress=False)
    c, d = len(model.classes), model.embedding_dim
    assert out["label_idx"].shape == (5,) and out["label_idx"].dtype == np.int64
    assert out["prob"].shape == (5, c) and out["embedding"].shape == (5, d)
    np.testing.assert_allclose(out["prob"].sum(1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(out["label_idx"], out["prob"].argmax(1))
    np.testing.assert_allclose(np.linalg.norm(out["embedding"], axis=1), 1.0, rtol=1e-5)
    again = P.label_patches(model, patches, batch=5, device="cpu", progress=False)
    np.testing.assert_array_equal(out["label_idx"], again["label_idx"])
    np.testing.assert_allclose(out["prob"], again["prob"], rtol=1e-4, atol=1e-6)
    assert out["classes"] == list(model.classes)


@pytest.mark.parametrize(
    "patches, err, match",
    [
        (torch.zeros(2, 1, 64, 64), ValueError, "\\(N, 3, H, W\\)"),
        (torch.zeros(2, 3, 64, 64, dtype=torch.uint8), TypeError, "float"),
        (torch.full((2, 3, 64, 64), 2.0), ValueError, "\\[0, 1\\]"),
        (torch.zeros(0, 3, 64, 64), ValueError, "no patches"),
        (torch.zeros(2, 3, 16, 16), ValueError, "at least 32"),
    ],
)
def test_label_patches_bad_input(trained, patches, err, match) -> None:
    with pytest.raises(err, match=match):
        P.label_patches(trained[0], patches, progress=False)


# --------------------------------------------------------------------------- patches
def test_sample_patch_coords() -> None:
    sizes = [(200, 300), (128, 128), (150, 400)]
    c = P.sample_patch_coords(sizes, n_per_image=50, size=128, seed=1)
    assert c.shape == (150, 3) and c.dtype == np.int64
    assert (np.bincount(c[:, 0]) == 50).all()
    h = np.array(sizes)[c[:, 0]]
    assert (c[:, 1:] >= 0).all() and (c[:, 1:] + 128 <= h).all()
    assert (c[c[:, 0] == 1, 1:] == 0).all()  # an image exactly the patch size
    np.testing.assert_array_equal(c, P.sample_patch_coords(sizes, 50, 128, seed=1))
    assert not np.array_equal(c, P.sample_patch_coords(sizes, 50, 128, seed=2))
    a = P.sample_patch_coords(sizes, 10, 128, seed=0, n_images=2, align=4)
    assert len(np.unique(a[:, 0])) == 2 and (a[:, 1:] % 4 == 0).all()


def test_sample_patch_coords_bad_input() -> None:
    with pytest.raises(ValueError, match="smaller than the 128x128 patch.*image 1 of 100x300"):
        P.sample_patch_coords([(200, 200), (100, 300)], 5, 128)
    with pytest.raises(ValueError, match="asked for patches from 5 images.*only 2"):
        P.sample_patch_coords([(200, 200), (300, 300)], 5, 128, n_images=5)
    with pytest.raises(ValueError, match="empty"):
        P.sample_patch_coords([], 5, 128)
    with pytest.raises(ValueError, match="n_per_image"):
        P.sample_patch_coords([(200, 200)], 0, 128)


def test_crop_patches_shares_coordinates_across_scales() -> None:
    g = torch.Generator().manual_seed(0)
    hr = [torch.rand(1, 3, 64, 96, generator=g), torch.rand(1, 3, 80, 80, generator=g)]
    lr = [torch.nn.functional.avg_pool2d(x, 2) for x in hr]
    c = P.sample_patch_coords([x.shape[-2:] for x in hr], 3, 32, seed=0, align=2)
    p_hr = P.crop_patches(hr, c, 32)
    p_lr = P.crop_patches(lr, c, 32, scale=2)
    assert p_hr.shape == (6, 3, 32, 32) and p_lr.shape == (6, 3, 16, 16)
    i, y, x = c[4]
    torch.testing.assert_close(p_hr[4], hr[i][0, :, y : y + 32, x : x + 32])
    torch.testing.assert_close(p_lr, torch.nn.functional.avg_pool2d(p_hr, 2))
    with pytest.raises(ValueError, match="only 2 given"):
        P.crop_patches(hr, np.array([[2, 0, 0]]), 32)


# --------------------------------------------------------------------------- data
def test_texture_data_from_split_file(tmp_path: Path) -> None:
    root = tmp_path / "images"
    rng = np.random.default_rng(0)
    for cls in ("banded", "dotted"):
        (root / cls).mkdir(parents=True)
        for k in (1, 2, 3):
            arr = rng.integers(0, 255, (40 + k, 50, 3), dtype=np.uint8)
            Image.fromarray(arr).save(root / cls / f"{cls}_{k:04d}.jpg")
    split = tmp_path / "train1.txt"
    lines = [
        "banded/banded_0001.jpg",
        "zigzagged/zigzagged_0001.jpg",
        "dotted/dotted_0002.jpg",
        "dotted/dotted_0003.jpg",
        "",
    ]
    split.write_text("\n".join(lines))
    data = D.TextureData.from_split_file(root, split, load_size=32)
    assert data.classes == ("banded", "dotted")  # zigzagged has no folder: skipped
    assert data.labels.tolist() == [0, 1, 1]
    img, lab = data[0]
    assert img.dtype == torch.uint8 and min(img.shape[-2:]) == 32 and lab == 0
    lazy = D.TextureData.from_split_file(root, split, load_size=32, lazy=True)
    assert torch.equal(lazy[2][0], data[2][0]) and lazy.identity() == data.identity()
    with pytest.raises(ValueError, match="no folder"):
        D.TextureData.from_split_file(root, split, classes=["banded", "grid"])


def test_texture_data_bad_input() -> None:
    with pytest.raises(ValueError, match="2 images but 3 labels"):
        D.TextureData(torch.rand(2, 3, 8, 8), [0, 1, 1], ["a", "b"])
    with pytest.raises(ValueError, match="not in classes"):
        D.TextureData(torch.rand(1, 3, 8, 8), ["c"], ["a", "b"])
    with pytest.raises(ValueError, match="\\[0, 1\\]"):
        D.TextureData(torch.full((1, 3, 8, 8), 3.0), [0], ["a"])
    with pytest.raises(FileNotFoundError, match="missing"):
        D.TextureData(["/nonexistent/x.jpg"], [0], ["a"])
    with pytest.raises(ValueError, match="unknown classifier config keys"):
        N.build_classifier(["a"], {"widht": 8})
    with pytest.raises(ValueError, match="unknown preset"):
        D.preset_data("huge")


def test_dtd47_absent_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="DTD-47 not found"):
        D.TextureData.dtd47(tmp_path)


def test_presets_are_valid_configs() -> None:
    assert (
        set(presets.TABLE["texture_classifier"])
        == set(presets.TABLE["texture_data"])
        == {"smoke", "embedded", "benchmark", "full"}
    )
    for name in presets.TABLE["texture_classifier"]:
        N.merge_config(name)  # raises on a bad key or value
    assert (
        presets.get("texture_classifier", "full")["reduce_dim"]
        * presets.get("texture_classifier", "full")["codewords"]
        == 4096
    )


def test_procedural_data_and_split_items(tmp_path: Path) -> None:
    data = D.TextureData.procedural(["striped", "dotted"], n_per_class=3, size=32, seed=0)
    assert data.classes == ("striped", "dotted") and data.labels.tolist() == [0, 0, 0, 1, 1, 1]
    assert data[0][0].shape == (3, 32, 32) and data[0][0].dtype == torch.uint8
    assert data.image(0).shape == (1, 3, 32, 32) and data.image(0).max() <= 1
    again = D.TextureData.procedural(["striped", "dotted"], n_per_class=3, size=32, seed=0)
    assert again.identity() == data.identity()
    test = D.TextureData.procedural(["striped", "dotted"], 3, 32, seed=0, split="test")
    assert test.identity() != data.identity()
    root = tmp_path / "images"
    for cls in ("grid", "banded"):
        (root / cls).mkdir(parents=True)
    split = tmp_path / "split.txt"
    split.write_text("grid/grid_0001.jpg\nbanded/banded_0002.jpg\nwoven/woven_0001.jpg\n")
    paths, labels, classes = D.dtd_split_items(root, split)
    assert classes == ("banded", "grid") and labels == [1, 0]
    assert paths == [root / "grid/grid_0001.jpg", root / "banded/banded_0002.jpg"]
    with pytest.raises(FileNotFoundError, match="split list"):
        D.dtd_split_items(root, tmp_path / "none.txt")


def test_check_classes() -> None:
    N.check_classes(["a", "b"], ("a", "b"), "same")
    with pytest.raises(ValueError, match="different order"):
        N.check_classes(["a", "b"], ["b", "a"], "swapped")
    with pytest.raises(ValueError, match="expected but absent: \\['b'\\]"):
        N.check_classes(["a", "b"], ["a", "c"], "other")
