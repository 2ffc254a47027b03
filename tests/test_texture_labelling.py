"""Texture labelling and its caches (helpers.texture.labelling, .patchset, .high_vs_all):
shared coordinates, cache hits, damaged entries (warn + recompute), keys by weights digest
however a network is wrapped, the preset classifier's index, and the high-vs-all curve
recorded by the training callback, checked against the in-loss evaluation it replaced."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from helpers import presets
from helpers.data import load_sr_set
from helpers.models import build, wrap
from helpers.texture import consistency as K
from helpers.texture import deepten as N
from helpers.texture import high_vs_all as H
from helpers.texture import labelling as L
from helpers.texture import patchset as S
from helpers.train import TrainConfig, train

pytestmark = pytest.mark.usefixtures("one_thread")

CLASSES = ("banded", "chequered", "dotted", "striped")


def _classifier(classes=CLASSES, key="untrained") -> L.TextureClassifier:
    torch.manual_seed(0)
    model = N.build_classifier(
        classes, {**presets.get("texture_classifier", "smoke"), "pretrained": False}
    ).eval()
    c = len(classes)
    return L.TextureClassifier(
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
    ps = L.label_dataset(clf, "embedded_test", 4, cache_dir=cache, **LABEL_ARGS)
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
    want = S.patch_psnr(
        bic[..., y : y + 64, x : x + 64], pairs[i].hr[..., y : y + 64, x : x + 64], 4
    )
    assert ps.psnr["bicubic"][r] == pytest.approx(want[0])
    df = ps.frame()
    assert len(df) == 10 and {"label", "psnr_bicubic", "kept_bicubic", "entropy"} <= set(df)
    again = L.label_dataset(clf, "embedded_test", 4, cache_dir=cache, **LABEL_ARGS)
    assert again.n_labelled == {"hr": 0, "bicubic": 0}
    np.testing.assert_array_equal(again.coords, ps.coords)
    np.testing.assert_array_equal(again.probs["bicubic"], ps.probs["bicubic"])


def test_bad_inputs(labelled) -> None:
    clf, ps, cache = labelled
    other = _classifier(("banded", "chequered", "dotted", "woven"))
    with pytest.raises(ValueError, match="class list mismatch"):
        L.label_models(ps, other, {"b": build("bicubic", 4)}, cache_dir=cache)
    with pytest.raises(ValueError, match="labelled by classifier"):
        L.label_models(ps, _classifier(key="another"), {"b": build("bicubic", 4)})
    with pytest.raises(ValueError, match="x2 network .* sampled at x4"):
        L.label_models(ps, clf, {"b2": build("bicubic", 2)}, cache_dir=cache)
    with pytest.raises(ValueError, match="has only 2"):
        L.label_dataset(clf, "embedded_test", 4, 64, 5, limit=2, crop=96, n_images=3)
    with pytest.raises(ValueError, match="larger than 2 image"):
        L.label_dataset(clf, "embedded_test", 4, 128, 5, limit=2, crop=96)
    with pytest.raises(KeyError, match="no labels for 'edsr'"):
        K.agreement(ps, "edsr")


def test_patchset_patches_are_the_labelled_ones(labelled) -> None:
    _, ps, _ = labelled
    rows = np.array([0, 3, 7])
    pairs = load_sr_set("embedded_test", 4, limit=2, crop=96)
    hr = ps.patches("hr", rows)
    for j, r in enumerate(rows):
        i, y, x = ps.coords[r]
        torch.testing.assert_close(hr[j], pairs[i].hr[0, :, y : y + 64, x : x + 64])
    assert ps.patches("lr", rows).shape == (3, 3, 16, 16)
    bic = ps.patches("bicubic", rows)
    np.testing.assert_allclose(S.patch_psnr(bic, hr, 4), ps.psnr["bicubic"][rows])
    with pytest.raises(ValueError, match="needs the SR model"):
        ps.patches("net", rows)
    assert S.load_pairs("embedded_test", 4, {"limit": 2, "crop": 96})[0].name == ps.image_names[0]


def test_label_sets_and_table(labelled) -> None:
    clf, ps, cache = labelled
    net = build("bicubic", 4)
    opts = {"limit": 2, "crop": 96}
    sets = L.label_sets(clf, {"embedded_test": opts}, 4, 64, 5, models={"up": net},
                        device="cpu", progress=False)  # fmt: skip
    got = sets["embedded_test"]
    assert got.models == ["bicubic", "up"] and got.key == ps.key
    np.testing.assert_array_equal(got.psnr["up"], got.psnr["bicubic"])  # the same network
    table = L.labelling_table(sets)
    assert (
        table.loc["embedded_test", "patches"] == 10 and table.loc["embedded_test", "versions"] == 3
    )
    assert list(table.columns) == ["images", "patches", "versions", "labelled now", "patches/s"]
    assert table["patches"].dtype.kind == "i" and table["patches/s"].dtype.kind == "f"


def test_damaged_labelling_warns_and_recomputes(tmp_path) -> None:
    clf = _classifier()
    ps = L.label_dataset(clf, "embedded_test", 4, cache_dir=tmp_path, **LABEL_ARGS)
    files = sorted((tmp_path / "patches").glob("*/*.pt"))
    assert [f.name.split("-")[0] for f in files] == ["bicubic", "hr.pt"]
    for f in files:
        f.write_bytes(b"not a torch file")
    with pytest.warns(UserWarning, match="unusable"):
        again = L.label_dataset(clf, "embedded_test", 4, cache_dir=tmp_path, **LABEL_ARGS)
    assert again.n_labelled == {"hr": 10, "bicubic": 10}
    for v in ("hr", "bicubic"):
        np.testing.assert_array_equal(again.probs[v], ps.probs[v])
    np.testing.assert_array_equal(again.psnr["bicubic"], ps.psnr["bicubic"])
    third = L.label_dataset(clf, "embedded_test", 4, cache_dir=tmp_path, **LABEL_ARGS)
    assert third.n_labelled == {"hr": 0, "bicubic": 0}


def test_labelling_is_keyed_by_the_weights_digest(labelled) -> None:
    clf, ps, cache = labelled
    torch.manual_seed(0)
    net = build("edsr", 4, n_feats=8, n_blocks=1).eval()
    L.label_models(ps, clf, {"net": net}, device="cpu", cache_dir=cache, progress=False)
    assert ps.n_labelled["net"] == len(ps)
    first = ps.probs["net"].copy()
    L.label_models(ps, clf, {"net": wrap(net, device="cpu")}, cache_dir=cache, progress=False)
    assert ps.n_labelled["net"] == 0  # the same tensors, wrapped: the same entry
    np.testing.assert_array_equal(ps.probs["net"], first)
    with torch.no_grad():
        next(net.parameters()).add_(1e-3)
    L.label_models(ps, clf, {"net": net}, device="cpu", cache_dir=cache, progress=False)
    assert ps.n_labelled["net"] == len(ps)  # changed weights: a new entry


def test_preset_classifier_is_indexed(tmp_path, monkeypatch) -> None:
    kw = dict(device="cpu", cache_dir=tmp_path, progress=False)
    clf = L.preset_classifier("smoke", **kw)
    (index,) = tmp_path.glob("index-*.json")
    assert clf.checkpoint.is_file() and clf.key in clf.checkpoint.name
    assert clf.confusion.sum() == clf.n_test and 0 <= clf.test_accuracy <= 1
    assert clf.classes == tuple(presets.get("texture_data", "smoke")["labels"])
    with monkeypatch.context() as m:  # a second call reads the index: no data, no training
        m.setattr(L, "preset_data", lambda *a, **k: pytest.fail("rebuilt the training data"))
        again = L.preset_classifier("smoke", **kw)
    assert again.key == clf.key and again.test_accuracy == clf.test_accuracy
    for a, b in zip(
        clf.model.state_dict().values(), again.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    index.write_text("{damaged")
    with pytest.warns(UserWarning, match="unusable"):
        third = L.preset_classifier("smoke", **kw)  # rebuilt; the checkpoint is reused
    assert third.key == clf.key and third.test_accuracy == clf.test_accuracy
    np.testing.assert_array_equal(third.confusion, clf.confusion)


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
    res = H.train_high_vs_all(hr, high, hr, lr, high, **kw)
    assert sorted(res.curves.step.unique()) == [0, 2, 4]
    assert set(res.curves.arm) == {"all", "high"} and set(res.curves["eval"]) == {"all", "high"}
    assert res.n_train == {"all": 8, "high": 3} and res.n_test == {"all": 8, "high": 3}
    assert res.final().shape == (2, 2)
    rec = res.record({"kind": "threshold"}, {"kind": "quantile"}, "t")
    assert list(rec) == ["rule", "rule_test", "steps", "test_set", "final_psnr", "bicubic",
                         "n_train", "n_test", "config"]  # fmt: skip
    assert rec["final_psnr"]["high"]["all"] == round(res.final().loc["high", "all"], 3)
    again = H.train_high_vs_all(hr, high, hr, lr, high, **kw)  # cached: same curve
    pd.testing.assert_frame_equal(again.curves, res.curves)
    with pytest.raises(ValueError, match="no high-complexity"):
        H.train_high_vs_all(hr, np.zeros(8, bool), hr, lr, high, **kw)


def test_high_vs_all_curve_equals_the_in_loss_evaluation(tmp_path) -> None:
    """The callback records the same steps and PSNRs as the former in-loss evaluation
    (before each k-th update, eval mode, then after the last step)."""
    g = torch.Generator().manual_seed(1)
    hr = torch.rand(6, 3, 32, 32, generator=g)
    lr = torch.nn.functional.avg_pool2d(hr, 4)
    high = np.array([1, 0, 1, 0, 0, 1], bool)
    steps, every = 5, 2
    kwargs = {"n_feats": 8, "n_blocks": 1}
    res = H.train_high_vs_all(
        hr, high, hr, lr, high, scale=4, steps=steps, eval_every=every, model_kwargs=kwargs,
        lr_patch=4, batch=2, device="cpu", cache_dir=tmp_path / "new", progress=False,
    )  # fmt: skip
    subsets = {"all": np.ones(6, bool), "high": high}
    points: list[list] = []
    calls = [0]

    def loss_fn(sr, hr_, lr_, net):  # the former recording, inside the loss
        if calls[0] % every == 0:
            net.eval()
            p = H._mean_psnr(net, lr, hr, 4, torch.device("cpu"))
            points.extend([calls[0], k, float(p[m].mean())] for k, m in subsets.items())
            net.train()
        calls[0] += 1
        return F.l1_loss(sr, hr_)

    cfg = TrainConfig(
        model="edsr", scale=4, steps=steps, model_kwargs=kwargs, data="old-hack", patch=16,
        batch=2, lr=5e-4, loss="l1+eval",
    )  # fmt: skip
    out = train(cfg, loss_fn=loss_fn, images=list(hr[:, None]), cache_dir=tmp_path / "old",
                device="cpu", progress=False)  # fmt: skip
    p = H._mean_psnr(out.model, lr, hr, 4, torch.device("cpu"))
    points.extend([steps, k, float(p[m].mean())] for k, m in subsets.items())
    want = pd.DataFrame(points, columns=["step", "eval", "psnr"]).sort_values(["eval", "step"])
    got = res.curves[res.curves.arm == "all"]
    assert got.step.tolist() == want.step.tolist() == [0, 2, 4, 5] * 2
    assert got.psnr.tolist() == want.psnr.tolist()  # bit-identical


def test_classifier_index_key_hashes_every_module_that_draws_procedural_textures(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A changed generator must miss the index (which maps a preset to its checkpoint);
    # the pixels come from data/patterns.py since the split of data/procedural.py.
    seen: list[tuple[str, ...]] = []
    real = L.cache.code_digest
    monkeypatch.setattr(L.cache, "code_digest", lambda *s: seen.append(s) or real(*s))
    L._classifier_index_key("embedded", 0, None)  # procedural data
    assert {"data/procedural.py", "data/patterns.py"} <= set(seen[-1])
    L._classifier_index_key("benchmark", 0, None)  # DTD files: no generator
    assert "data/patterns.py" not in seen[-1]
