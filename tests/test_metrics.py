"""Metrics against scikit-image / SciPy / Pillow and closed forms."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.ndimage as ndi
import scipy.stats
import skimage.data
import torch
from PIL import Image
from skimage.color import rgb2ycbcr
from skimage.measure import shannon_entropy
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from helpers.data.degradations import gaussian_blur, gaussian_noise, jpeg
from helpers.metrics import diffusion_index, gini, gradient_entropy, psnr, rgb_to_y, ssim

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def pair():
    """HR: three 64x72 photo crops; SR: the same with different distortions."""
    crops = [
        skimage.data.astronaut()[40:104, 200:272],
        skimage.data.coffee()[100:164, 300:372],
        skimage.data.chelsea()[50:114, 100:172],
    ]
    hr = torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).double() / 255.0
    sr = torch.cat(
        [
            gaussian_blur(hr[:1], 1.2),
            gaussian_noise(hr[1:2], 8.0, seed=0),
            jpeg(hr[2:].float(), 30).double(),
        ]
    )
    return sr, hr


def _np(x: torch.Tensor) -> np.ndarray:
    return x.permute(1, 2, 0).numpy()


def test_rgb_to_y_matches_skimage(pair):
    _, hr = pair
    ours = rgb_to_y(hr)
    for i in range(3):
        np.testing.assert_allclose(ours[i, 0].numpy(), rgb2ycbcr(_np(hr[i]))[..., 0], atol=1e-10)
    assert ours.shape == (3, 1, 64, 72)


@pytest.mark.parametrize("shave", [0, 4])
def test_psnr_matches_skimage(pair, shave):
    sr, hr = pair
    y_ours, rgb_ours = psnr(sr, hr, shave=shave), psnr(sr, hr, shave=shave, y_channel=False)
    assert y_ours.shape == (3,) and y_ours.dtype == torch.float64
    sl = slice(shave, -shave) if shave else slice(None)
    for i in range(3):
        ys, yh = rgb2ycbcr(_np(sr[i]))[sl, sl, 0], rgb2ycbcr(_np(hr[i]))[sl, sl, 0]
        assert abs(y_ours[i].item() - peak_signal_noise_ratio(yh, ys, data_range=255)) < 1e-4
        rs, rh = _np(sr[i])[sl, sl] * 255, _np(hr[i])[sl, sl] * 255
        assert abs(rgb_ours[i].item() - peak_signal_noise_ratio(rh, rs, data_range=255)) < 1e-4


@pytest.mark.parametrize("shave", [0, 3])
def test_ssim_matches_skimage(pair, shave):
    sr, hr = pair
    y_ours, rgb_ours = ssim(sr, hr, shave=shave), ssim(sr, hr, shave=shave, y_channel=False)
    sl = slice(shave, -shave) if shave else slice(None)
    opts = dict(gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)
    for i in range(3):
        ys, yh = rgb2ycbcr(_np(sr[i]))[sl, sl, 0], rgb2ycbcr(_np(hr[i]))[sl, sl, 0]
        assert abs(y_ours[i].item() - structural_similarity(yh, ys, **opts)) < 1e-4
        rs, rh = _np(sr[i])[sl, sl] * 255, _np(hr[i])[sl, sl] * 255
        ref = structural_similarity(rh, rs, channel_axis=2, **opts)
        assert abs(rgb_ours[i].item() - ref) < 1e-4
    assert 0.3 < y_ours.min() and y_ours.max() < 1


def test_psnr_ssim_identity_quantize_and_errors(pair):
    sr, hr = pair
    assert torch.isinf(psnr(hr, hr)).all()
    assert (ssim(hr, hr) - 1).abs().max() < 1e-12
    # quantize=True equals measuring the images rounded to 8 bits beforehand
    off = (sr + 0.3 / 255).clamp(0, 1)
    q = lambda t: torch.round(t * 255) / 255  # noqa: E731
    assert torch.allclose(psnr(off, hr, quantize=True), psnr(q(off), q(hr)), rtol=0, atol=1e-9)
    f32 = psnr(sr.float(), hr.float())
    assert (f32 - psnr(sr, hr)).abs().max() < 1e-3
    with pytest.raises(ValueError, match="shapes differ"):
        psnr(sr, hr[..., :10])
    with pytest.raises(ValueError, match="shave"):
        psnr(sr, hr, shave=40)
    with pytest.raises(ValueError, match="11x11"):
        ssim(sr[..., :12, :12], hr[..., :12, :12], shave=1)
    with pytest.raises(ValueError, match="RGB"):
        psnr(sr[:, :1], hr[:, :1])


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_metrics_on_cuda(pair):
    sr, hr = pair
    torch.testing.assert_close(psnr(sr.cuda(), hr.cuda(), 4).cpu(), psnr(sr, hr, 4))
    torch.testing.assert_close(ssim(sr.cuda(), hr.cuda(), 4).cpu(), ssim(sr, hr, 4))
    torch.testing.assert_close(gradient_entropy(hr.cuda()).cpu(), gradient_entropy(hr))


# ---------------------------------------------------------------------------------------
# Entropy of gradients
# ---------------------------------------------------------------------------------------


def _grad_ref(rgb_u8: np.ndarray, twice_x: bool = False) -> np.ndarray:
    """Pillow grey + SciPy Sobel (zero padding) -> |gx| + |gy| on 0..255 levels."""
    grey = np.asarray(Image.fromarray(rgb_u8).convert("L")).astype(np.float64)
    kx = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], dtype=np.float64)
    gx = ndi.correlate(grey, kx, mode="constant", cval=0.0)
    gy = ndi.correlate(grey, kx.T, mode="constant", cval=0.0)
    return 2 * np.abs(gx) if twice_x else np.abs(gx) + np.abs(gy)


def test_gradient_entropy_matches_independent_computation(pair):
    sr, hr = pair
    x = torch.cat([hr, sr])
    ours = gradient_entropy(x)
    ours_k = gradient_entropy(x, bins=64)
    ours_m = gradient_entropy(x, operator="magid2022_levels")  # magid2022: test_texture_entropy
    assert ours.shape == (6,)
    for i in range(6):
        u8 = (x[i].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        mag = _grad_ref(u8)
        # skimage's entropy over distinct values = unit bins on integer magnitudes
        assert abs(ours[i].item() - shannon_entropy(mag)) < 1e-9
        counts, _ = np.histogram(mag, bins=64, range=(0, 2040))
        assert abs(ours_k[i].item() - scipy.stats.entropy(counts, base=2)) < 1e-9
        assert abs(ours_m[i].item() - shannon_entropy(_grad_ref(u8, twice_x=True))) < 1e-9
    assert 3 < ours.min() and ours.max() < 11


def test_gradient_entropy_closed_forms():
    assert gradient_entropy(torch.zeros(2, 3, 16, 16)).abs().max() == 0
    # a vertical step edge between columns: interior magnitudes are 0 or 4*255 (two columns)
    # plus the zero-padded frame; check against the count formula directly.
    x = torch.zeros(1, 1, 32, 32)
    x[..., 16:] = 1.0
    mag = _grad_ref(np.repeat((x[0, 0].numpy() * 255).astype(np.uint8)[..., None], 3, axis=2))
    _, counts = np.unique(mag, return_counts=True)
    p = counts / counts.sum()
    assert abs(gradient_entropy(x).item() - float(-(p * np.log2(p)).sum())) < 1e-9
    with pytest.raises(ValueError, match="bins"):
        gradient_entropy(x, bins=1)
    with pytest.raises(ValueError, match="operator"):
        gradient_entropy(x, operator="prewitt")


# ---------------------------------------------------------------------------------------
# Gini and diffusion index
# ---------------------------------------------------------------------------------------


def _gini_quadratic(v: np.ndarray) -> float:
    v = np.abs(v.ravel()).astype(np.float64)
    return np.abs(v[:, None] - v[None, :]).sum() / (2 * len(v) ** 2 * v.mean())


def test_gini_equals_quadratic_definition():
    g = torch.Generator().manual_seed(0)
    maps = torch.randn(4, 20, 25, generator=g) ** 3  # heavy-tailed, signed
    ours = gini(maps)
    assert ours.shape == (4,)
    for i in range(4):
        assert abs(ours[i].item() - _gini_quadratic(maps[i].numpy())) < 1e-12
    # ndim=3 and extra batch dims
    m5 = torch.rand(2, 3, 2, 6, 7, generator=g)
    out = gini(m5, ndim=3)
    assert out.shape == (2, 3)
    assert abs(out[1, 2].item() - _gini_quadratic(m5[1, 2].numpy())) < 1e-12


def test_gini_closed_forms_and_di():
    n = 100
    assert gini(torch.full((10, 10), 3.0)).item() == pytest.approx(0.0, abs=1e-14)
    one_hot = torch.zeros(10, 10)
    one_hot[3, 7] = -5.0
    assert gini(one_hot).item() == pytest.approx(1 - 1 / n, abs=1e-14)
    assert gini(torch.zeros(4, 4)).item() == 0.0
    assert diffusion_index(one_hot).item() == pytest.approx(100 / n, abs=1e-12)
    assert diffusion_index(torch.ones(5, 5)).item() == pytest.approx(100.0)
    # scale invariance
    m = torch.rand(8, 8, dtype=torch.float64)
    assert gini(m * 7.0).item() == pytest.approx(gini(m).item(), abs=1e-12)
    with pytest.raises(ValueError, match="ndim"):
        gini(m, ndim=3)
