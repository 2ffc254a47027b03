"""Tests of the image-content measures (helpers.content) against independent references:
scikit-image's structure tensor and eigenvalues, a brute-force Pearson correlation per
shift, and scipy.ndimage.label for the central lobe."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.ndimage as ndi
import torch
from skimage.feature import structure_tensor as sk_structure_tensor
from skimage.feature import structure_tensor_eigenvalues

from helpers.metrics import content

# Small tensors: one torch thread is fastest and does not spin against other jobs.
pytestmark = pytest.mark.usefixtures("one_thread")


def _stripes(n: int = 96, period: float = 9.0, angle: float = 0.3) -> np.ndarray:
    y, x = np.mgrid[:n, :n].astype(float)
    return 0.5 + 0.4 * np.sin(2 * np.pi * (x * math.cos(angle) + y * math.sin(angle)) / period)


def _grid(n: int = 96) -> np.ndarray:
    y, x = np.mgrid[:n, :n].astype(float)
    return 0.5 + 0.2 * np.sin(2 * np.pi * x / 8) + 0.2 * np.sin(2 * np.pi * y / 11)


def _noise(n: int = 96, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, n))


@pytest.mark.parametrize("sigma", [0.7, 1.5, 4.0])
def test_structure_tensor_equals_skimage(sigma):
    img = np.random.default_rng(1).random((23, 37))  # non-square, odd sizes
    ref = sk_structure_tensor(img, sigma=sigma, mode="reflect", order="rc")
    ours = content.structure_tensor(torch.from_numpy(img), sigma)
    for a, b in zip(ours, ref, strict=True):
        assert a.shape == (1, 23, 37)
        np.testing.assert_allclose(a[0].numpy(), b, rtol=1e-10, atol=1e-12)


def test_coherence_equals_energy_weighted_skimage_eigenvalues():
    for img in (_stripes(), _grid(), _noise()):
        a = sk_structure_tensor(img, sigma=3.0, mode="reflect", order="rc")
        l1, l2 = structure_tensor_eigenvalues(a)
        ref = (l1 - l2).sum() / (l1 + l2).sum()
        ours = content.orientation_coherence(torch.from_numpy(img), sigma=3.0)
        assert ours.shape == (1,)
        assert ours.item() == pytest.approx(ref, rel=1e-9)


def test_coherence_orders_stripes_grid_noise_and_handles_flat():
    imgs = torch.from_numpy(np.stack([_stripes(), _grid(), _noise()]))[:, None]
    c = content.orientation_coherence(imgs, sigma=4.0)  # a batch of grey images
    assert c[0] > 0.95 and c[2] < 0.3 and c[0] > c[1] > c[2]
    # rotating stripes by 90 degrees leaves the coherence unchanged
    rot = content.orientation_coherence(imgs[0].transpose(-1, -2), sigma=4.0)
    assert rot.item() == pytest.approx(c[0].item(), rel=1e-9)
    assert content.orientation_coherence(torch.full((32, 32), 0.5)).item() == 0.0


def test_rgb_is_converted_with_luma_weights():
    rgb = torch.rand(2, 3, 20, 24, generator=torch.Generator().manual_seed(0))
    grey = (rgb * torch.tensor(content.LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True)
    np.testing.assert_allclose(
        content.orientation_coherence(rgb, 2.0), content.orientation_coherence(grey, 2.0)
    )
    assert content.to_grey(rgb[0]).shape == (1, 20, 24)
    with pytest.raises(ValueError, match="C in"):
        content.to_grey(torch.rand(1, 2, 8, 8))
    with pytest.raises(ValueError, match="C in"):
        content.to_grey(torch.rand(5, 8, 8))  # a 3-D input is one image, not a batch
    with pytest.raises(ValueError, match="sigma"):
        content.structure_tensor(rgb, sigma=0)


def _brute_ncc(img: np.ndarray, lag: int) -> np.ndarray:
    h, w = img.shape
    out = np.zeros((2 * lag + 1, 2 * lag + 1))
    for dy in range(-lag, lag + 1):
        for dx in range(-lag, lag + 1):
            a = img[max(0, -dy) : h - max(0, dy), max(0, -dx) : w - max(0, dx)]
            b = img[max(0, dy) : h + min(0, dy), max(0, dx) : w + min(0, dx)]
            out[lag + dy, lag + dx] = np.corrcoef(a.ravel(), b.ravel())[0, 1]
    return out


def test_self_similarity_equals_pearson_per_shift():
    img = np.random.default_rng(2).random((11, 14)) + np.linspace(0, 1, 14)  # non-zero mean
    ours = content.self_similarity(torch.from_numpy(img), max_lag=5)
    assert ours.shape == (1, 11, 11)
    np.testing.assert_allclose(ours[0].numpy(), _brute_ncc(img, 5), atol=1e-10)
    assert ours[0, 5, 5].item() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="max_lag"):
        content.self_similarity(torch.from_numpy(img), max_lag=11)


def test_central_lobe_equals_scipy_label_of_the_centre_component():
    g = torch.Generator().manual_seed(3)
    fields = torch.randn(4, 31, 31, generator=g, dtype=torch.float64)
    fields = torch.from_numpy(ndi.gaussian_filter(fields.numpy(), (0, 1.5, 1.5)))
    fields[:, 15, 15] = 1.0  # the centre is in the lobe
    fields[3, 15, 15] = -1.0  # ... except here: no lobe at all
    ours = content.central_lobe(fields)
    assert not ours[3].any()
    for f, lobe in zip(fields.numpy(), ours.numpy(), strict=True):
        labels, _ = ndi.label(f > 0)  # one image at a time; default structure: 4-connectivity
        np.testing.assert_array_equal(lobe, (labels == labels[15, 15]) & (f[15, 15] > 0))


def test_periodicity_high_for_stripes_and_grids_low_for_noise_zero_for_ramp():
    ramp = np.tile(np.linspace(0, 1, 96), (96, 1))
    imgs = torch.from_numpy(np.stack([_stripes(), _grid(), _noise(), ramp]))[:, None]
    p = content.periodicity(imgs)
    assert p[0] > 0.9 and p[1] > 0.9
    assert p[2] < 0.15
    assert p[3] == 0.0  # the lobe of a ramp covers every shift: nothing repeats


def test_periodicity_finds_the_period_and_ignores_contrast():
    y, x = np.mgrid[:64, :64].astype(float)
    vertical = 0.5 + 0.3 * np.sign(np.sin(2 * np.pi * (x + 0.5) / 8))  # period 8 along x
    score, shift = content.periodicity(torch.from_numpy(vertical), return_shift=True)
    assert score.item() == pytest.approx(1.0, abs=1e-9)
    assert shift[0, 1].item() % 8 == 0 and shift[0, 1].item() != 0
    # NCC is invariant to gain and offset
    other = content.periodicity(torch.from_numpy(0.2 * _grid(64) + 0.3))
    assert other.item() == pytest.approx(content.periodicity(torch.from_numpy(_grid(64))).item())
