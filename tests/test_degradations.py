"""Degradations against SciPy / Pillow / OpenCV and noise statistics."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
import scipy.ndimage as ndi
import skimage.data
import torch
from PIL import Image

from helpers.data.degradations import (
    DEGRADATIONS,
    bicubic_down,
    degrade,
    gaussian_blur,
    gaussian_noise,
    jpeg,
    make_generator,
    uniform_levels,
)
from helpers.data.resize import bicubic_down_uint8, imresize

pytestmark = pytest.mark.usefixtures("one_thread")


def _photo(size: int = 96) -> torch.Tensor:
    arr = skimage.data.astronaut()[100 : 100 + size, 150 : 150 + size]
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)[None].double() / 255.0


@pytest.mark.parametrize("sigma", [0.6, 1.5, 3.0])
def test_blur_matches_scipy(sigma):
    x = torch.rand(2, 3, 40, 33, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    ours = gaussian_blur(x, sigma).numpy()
    radius = int(4 * sigma + 0.5)
    for n in range(2):
        for c in range(3):
            # torch "reflect" (d c b | a b c d) is SciPy's "mirror".
            ref = ndi.gaussian_filter(
                x[n, c].numpy(), sigma, mode="mirror", truncate=radius / sigma
            )
            np.testing.assert_allclose(ours[n, c], ref, atol=1e-12)


def test_blur_per_image_sigma_and_kernel_size():
    x = torch.rand(3, 1, 32, 32, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    sig = torch.tensor([0.0, 1.0, 2.5])
    ours = gaussian_blur(x, sig, kernel_size=9).numpy()
    np.testing.assert_allclose(ours[0], x[0].numpy(), atol=1e-15)  # sigma 0: identity
    for n in (1, 2):
        ref = ndi.gaussian_filter(
            x[n, 0].numpy(), float(sig[n]), mode="mirror", truncate=4 / float(sig[n])
        )
        np.testing.assert_allclose(ours[n, 0], ref, atol=1e-12)


def test_blur_bad_input():
    x = torch.rand(1, 3, 8, 8)
    with pytest.raises(ValueError, match="smaller than the image"):
        gaussian_blur(x, 3.0)
    with pytest.raises(ValueError, match="odd"):
        gaussian_blur(x, 1.0, kernel_size=4)
    with pytest.raises(ValueError, match="sigma must lie"):
        gaussian_blur(x, -1.0)
    with pytest.raises(ValueError, match="one value per image"):
        gaussian_blur(x, [1.0, 2.0])


def test_noise_statistics_and_clamping():
    x = torch.full((2, 3, 128, 128), 0.5, dtype=torch.float64)
    y = gaussian_noise(x, [10.0, 30.0], seed=0)
    d = (y - x) * 255.0
    m = d[0].numel()
    for i, s in enumerate((10.0, 30.0)):
        # std of a sample of m normals: relative standard error ~ 1 / sqrt(2m) ~ 0.3 %.
        assert abs(d[i].std().item() / s - 1) < 0.02
        assert abs(d[i].mean().item()) < 4 * s / m**0.5
    z = gaussian_noise(torch.zeros(1, 1, 64, 64), 50.0, seed=1)
    assert z.min() == 0 and z.max() <= 1
    q = gaussian_noise(x, 5.0, seed=2, quantize=True)
    assert torch.equal(q * 255, (q * 255).round())


def test_noise_is_reproducible():
    x = torch.rand(2, 3, 16, 16)
    a, b = gaussian_noise(x, 25, seed=7), gaussian_noise(x, 25, seed=7)
    assert torch.equal(a, b)
    assert not torch.equal(a, gaussian_noise(x, 25, seed=8))
    g1, g2 = make_generator(3), make_generator(3)
    first, second = gaussian_noise(x, 25, seed=g1), gaussian_noise(x, 25, seed=g1)
    assert not torch.equal(first, second)  # a generator is a stream
    assert torch.equal(first, gaussian_noise(x, 25, seed=g2))
    assert torch.equal(uniform_levels(4, 1, 2, seed=5), uniform_levels(4, 1, 2, seed=5))
    with pytest.raises(ValueError, match="seed"):
        gaussian_noise(x, 25, seed=-1)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_noise_same_on_cuda():
    x = torch.rand(1, 3, 16, 16)
    torch.testing.assert_close(
        gaussian_noise(x.cuda(), 25, seed=4).cpu(), gaussian_noise(x, 25, seed=4)
    )


def _pil_jpeg(arr: np.ndarray, q: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, format="JPEG", quality=q)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def test_jpeg_matches_pil_and_is_close_to_opencv():
    x = _photo().float()
    arr = (x[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    for q in (10, 50, 90):
        ours = (jpeg(x, q)[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
        np.testing.assert_array_equal(ours, _pil_jpeg(arr, q))
        # OpenCV is a separate libjpeg build/caller: same standard, near-identical output.
        ok, enc = cv2.imencode(".jpg", arr[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, q])
        cv = cv2.imdecode(enc, cv2.IMREAD_COLOR)[..., ::-1].astype(np.float64)
        assert ok and np.abs(cv - ours).mean() < 1.0


def test_jpeg_quality_orders_error_and_grey_batch():
    x = _photo().float()
    errs = [(jpeg(x, q) - x).abs().mean().item() for q in (5, 30, 95)]
    assert errs[0] > errs[1] > errs[2] > 0
    grey = x.mean(dim=1, keepdim=True).repeat(2, 1, 1, 1)
    out = jpeg(grey, [20, 80])
    assert out.shape == grey.shape
    assert (out[0] - grey[0]).abs().mean() > (out[1] - grey[1]).abs().mean()
    with pytest.raises(ValueError, match="quality"):
        jpeg(x, 0)
    with pytest.raises(ValueError, match="channels"):
        jpeg(torch.rand(1, 2, 8, 8), 50)


def test_bicubic_down_and_dispatch():
    x = _photo(97).float()
    lr = bicubic_down(x, 4)
    assert lr.shape == (1, 3, 24, 24)
    assert torch.equal(lr, imresize(x[..., :96, :96], scale=0.25).clamp(0, 1))
    assert torch.equal(bicubic_down(x, 4, quantize=True), bicubic_down_uint8(x, 4))
    for kind in DEGRADATIONS:
        out = degrade(x, kind, seed=0)
        assert out.min() >= 0 and out.max() <= 1
    assert torch.equal(degrade(x, "clean"), x)
    assert torch.equal(degrade(x, "noise", 10, seed=1), gaussian_noise(x, 10, seed=1))
    assert torch.equal(degrade(x, "jpeg", 40.4), jpeg(x, 40))
    with pytest.raises(ValueError, match="valid: clean, bicubic, blur, noise, jpeg"):
        degrade(x, "rain")
