"""§1 of issue 13: the entropy of gradients and the Fig. 3 patches as the released notebook
of Magid et al. computes them ("Figure3-Entropy vs PSNR"), against a literal
re-implementation of its steps with torchvision and skimage.measure on real photos."""

from __future__ import annotations

import random

import numpy as np
import pytest
import skimage.data
import skimage.measure
import skimage.metrics
import torch
import torch.nn.functional as F
import torchvision.transforms as T

from helpers.data.resize import imresize
from helpers.metrics.quality import distinct_value_entropy, gradient_entropy
from helpers.texture import complexity as X
from helpers.texture import profiles as P


def _literal_entropy(hr_u8: np.ndarray) -> np.ndarray:
    """The released notebook's steps: (N, H, W, 3) uint8 patches -> float tensor 0-255 ->
    / 255 -> ToPILImage, Grayscale, ToTensor -> conv2d (Sobel-x as both kernels, pad 1) ->
    |gx| + |gy| -> skimage.measure.shannon_entropy of each float32 map."""
    t = torch.Tensor(hr_u8).permute(0, 3, 1, 2) / 255.0
    pre = T.Compose([T.ToPILImage(), T.Grayscale(num_output_channels=1), T.ToTensor()])
    grey = torch.stack([pre(i) for i in t])
    kx = torch.FloatTensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]])[None, None]
    ky = kx.clone()  # the notebook's kernel_y is the same list as kernel_x
    g = torch.abs(F.conv2d(grey, kx, padding=1)) + torch.abs(F.conv2d(grey, ky, padding=1))
    return np.array([skimage.measure.shannon_entropy(e) for e in g.numpy()])


def _photo_patches(name: str, n: int = 12, size: int = 192, seed: int = 0) -> np.ndarray:
    img = getattr(skimage.data, name)()
    rng = np.random.default_rng(seed)
    h, w = img.shape[:2]
    ys, xs = rng.integers(0, h - size, n), rng.integers(0, w - size, n)
    return np.stack([img[y : y + size, x : x + size] for y, x in zip(ys, xs, strict=True)])


@pytest.mark.parametrize("name", ["astronaut", "coffee", "chelsea", "rocket"])
def test_magid2022_is_the_released_pipeline(name: str) -> None:
    u8 = _photo_patches(name)
    ref = _literal_entropy(u8)
    x = torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255  # as helpers.io loads images
    ours = gradient_entropy(x, operator="magid2022").numpy()
    assert np.abs(ours - ref).max() < 1e-6
    # one patch at a time gives the same (no batch effect on the float32 map)
    assert abs(gradient_entropy(x[:1], operator="magid2022").item() - ref[0]) < 1e-6


def test_released_entropy_vs_integer_levels_on_a_192px_crop() -> None:
    crop = skimage.data.astronaut()[None, 100:292, 100:292]
    x = torch.from_numpy(crop).permute(0, 3, 1, 2).float() / 255
    released = gradient_entropy(x, operator="magid2022").item()
    levels = gradient_entropy(x, operator="magid2022_levels").item()
    assert abs(released - _literal_entropy(crop)[0]) < 1e-6
    # float32 rounding splits equal integer differences into distinct values: ~2 bits more
    assert released > levels + 1.5, (released, levels)
    with pytest.raises(ValueError, match="bins=None"):
        gradient_entropy(x, bins=16, operator="magid2022")


def test_distinct_value_entropy_is_skimage_shannon_entropy() -> None:
    rng = np.random.default_rng(0)
    rows = np.round(rng.normal(size=(5, 400)), 1).astype(np.float32)
    rows[0] = 0.0
    ours = distinct_value_entropy(torch.from_numpy(rows)).numpy()
    ref = [skimage.measure.shannon_entropy(r) for r in rows]
    np.testing.assert_allclose(ours, ref, atol=1e-12)
    with pytest.raises(ValueError):
        distinct_value_entropy(torch.zeros(3))


def test_released_coords_are_the_notebooks_draws() -> None:
    sizes = [(60, 80), (48, 48), (60, 80)]
    ours = X.released_coords(sizes, scale=4, lr_patch=48, n_per_image=7, seed=123)
    rows = []
    for i, (h, w) in enumerate(sizes):  # the notebook: random.seed(123) inside the loop
        random.seed(123)
        for _ in range(7):
            x = random.randint(0, h - 48)
            y = random.randint(0, w - 48)
            rows.append((i, x * 4, y * 4))
    assert ours.tolist() == [list(r) for r in rows]
    assert (ours[:7, 1:] == ours[14:, 1:]).all()  # same size, same positions
    with pytest.raises(ValueError, match="smaller"):
        X.released_coords([(40, 80)], 4)


def test_bicubic_psnr_conventions() -> None:
    u8 = _photo_patches("coffee", n=3)
    hr = torch.from_numpy(u8).permute(0, 3, 1, 2).float() / 255
    lr = torch.round(imresize(hr.double(), 0.25).clamp(0, 1) * 255).float() / 255
    ours = X.bicubic_psnr(lr, hr, 4, "released")
    up = imresize(torch.round(lr * 255), size=(192, 192)).clamp(0, 255).int().numpy()
    for i in range(3):
        ref = skimage.metrics.peak_signal_noise_ratio(
            u8[i].transpose(2, 0, 1).astype(np.float64), up[i].astype(np.float64), data_range=255
        )
        assert ours[i] == pytest.approx(ref, abs=1e-9)
    y = X.bicubic_psnr(lr, hr, 4, "y")
    assert np.isfinite(y).all() and not np.allclose(y, ours)
    assert X.bicubic_psnr(hr[:, :, ::4, ::4] * 0 + 0.5, hr * 0 + 0.5, 4)[0] == np.inf
    with pytest.raises(ValueError, match="convention"):
        X.bicubic_psnr(lr, hr, 4, "rgb")


def test_select_high_uses_the_quantile_only_below_the_minimum_count() -> None:
    ratio = np.r_[np.full(30, 0.5), np.full(70, 0.2)]
    mask, rule = P.select_high(ratio, min_count=30)
    assert rule["kind"] == "threshold" and rule["count"] == 30 and mask.sum() == 30
    assert rule["paper_rule_count"] == 30 and rule["paper_rule_share"] == pytest.approx(0.3)
    mask, rule = P.select_high(ratio, min_count=31)  # one short: the top 20% by quantile
    assert rule["kind"] == "quantile" and rule["min_count"] == 31 and rule["cut"] == 0.5


def test_complexity_set_on_real_images(tmp_path) -> None:
    cs = X.complexity_set(
        "embedded_train", 4, {"limit": 1, "crop": 256}, n_per_image=5, cache_dir=tmp_path
    )
    assert len(cs) == 5 and cs.size == 192 and cs.labels is None
    hr = cs.patches("hr")
    assert hr.shape == (5, 3, 192, 192) and cs.patches("lr").shape == (5, 3, 48, 48)
    np.testing.assert_allclose(cs.entropy["magid2022"], gradient_entropy(hr, operator="magid2022"))
    np.testing.assert_allclose(cs.psnr, X.bicubic_psnr(cs.patches("lr"), hr, 4))
    df = cs.frame()
    assert len(df) == cs.keep.sum() and {"entropy_magid2022", "psnr_bicubic"} <= set(df)
    again = X.complexity_set(
        "embedded_train", 4, {"limit": 1, "crop": 256}, n_per_image=5, cache_dir=tmp_path
    )
    assert (again.coords == cs.coords).all() and len(list(tmp_path.rglob("*.pt"))) == 1
    rule = X.paper_rule(cs)
    assert rule["n"] == len(df) and 0 <= rule["count"] <= rule["n"]
