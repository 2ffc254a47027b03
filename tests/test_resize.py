"""MATLAB-compatible bicubic resize: real MATLAB LR files, a loop reference, closed forms."""

from __future__ import annotations

import math
import os
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers.data.resize import bicubic_down_uint8, imresize, match_report, modcrop
from helpers.io import load_image

pytestmark = pytest.mark.usefixtures("one_thread")


PAN_DATASETS = "mirror/zhaohengyuan1/PAN/4d045d18592c5771cd3990da88f292812774e538/datasets"


def _mirror_root() -> Path | None:
    env = os.environ.get("HELPERS_DATA_MIRROR")
    if env:
        return Path(env)
    default = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    return default.resolve() if default.is_dir() else None


def _datasets_dir() -> Path:
    root = _mirror_root()
    if root is None or not (root / PAN_DATASETS).is_dir():
        pytest.skip(
            "MATLAB-made Set5/Set14 LR not available: set HELPERS_DATA_MIRROR to the mirror "
            f"root holding {PAN_DATASETS} (default ../shared/data)"
        )
    return root / PAN_DATASETS


@lru_cache(maxsize=64)
def _load(path: str) -> torch.Tensor:
    return load_image(path)


# ---------------------------------------------------------------------------------------
# Independent reference: MATLAB's imresize.m written out one output pixel at a time.
# ---------------------------------------------------------------------------------------


def _cubic_ref(t: float) -> float:
    a = abs(t)
    if a <= 1:
        return 1.5 * a**3 - 2.5 * a**2 + 1
    if a <= 2:
        return -0.5 * a**3 + 2.5 * a**2 - 4 * a + 2
    return 0.0


def _mirror_ref(i: int, n: int) -> int:
    """1-based index reflected into 1..n as MATLAB's symmetric padding (edge repeated)."""
    while i < 1 or i > n:
        i = 1 - i if i < 1 else 2 * n + 1 - i
    return i


def _resize_1d_ref(v: np.ndarray, out_len: int, scale: float, antialias: bool) -> np.ndarray:
    n = len(v)
    shrink = scale < 1 and antialias
    width = 4.0 / scale if shrink else 4.0
    out = np.zeros(out_len)
    for x in range(1, out_len + 1):
        u = x / scale + 0.5 * (1 - 1 / scale)
        left = math.floor(u - width / 2)
        taps = range(left, left + math.ceil(width) + 2)
        w = [(scale * _cubic_ref(scale * (u - j)) if shrink else _cubic_ref(u - j)) for j in taps]
        s = sum(w)
        out[x - 1] = sum(wk / s * v[_mirror_ref(j, n) - 1] for wk, j in zip(w, taps, strict=True))
    return out


def _imresize_ref(img: np.ndarray, out_hw, scales, antialias=True, uint8=False) -> np.ndarray:
    """img (H, W); rows first, then columns; optional uint8 rounding after each pass."""

    def rnd(a):
        return np.clip(np.floor(a + 0.5), 0, 255) if uint8 else a

    tmp = np.stack(
        [_resize_1d_ref(img[:, j], out_hw[0], scales[0], antialias) for j in range(img.shape[1])],
        axis=1,
    )
    tmp = rnd(tmp)
    out = np.stack(
        [_resize_1d_ref(tmp[i], out_hw[1], scales[1], antialias) for i in range(tmp.shape[0])],
        axis=0,
    )
    return rnd(out)


@pytest.mark.parametrize("scale", [0.25, 1 / 3, 0.5, 0.7, 1.6, 2.0, 3.0])
def test_matches_loop_reference(scale):
    rng = np.random.default_rng(1)
    img = rng.random((2, 3, 13, 17))
    ours = imresize(torch.from_numpy(img), scale=scale).numpy()
    out_hw = (math.ceil(13 * scale - 1e-9), math.ceil(17 * scale - 1e-9))
    assert ours.shape == (2, 3, *out_hw)
    for n in range(2):
        for c in range(3):
            ref = _imresize_ref(img[n, c], out_hw, (scale, scale))
            np.testing.assert_allclose(ours[n, c], ref, atol=1e-12)


def test_size_argument_uses_per_axis_factors():
    rng = np.random.default_rng(2)
    img = rng.random((1, 1, 12, 20))
    ours = imresize(torch.from_numpy(img), size=(7, 31)).numpy()[0, 0]
    ref = _imresize_ref(img[0, 0], (7, 31), (7 / 12, 31 / 20))
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_no_antialias_matches_reference():
    rng = np.random.default_rng(3)
    img = rng.random((1, 1, 16, 16))
    ours = imresize(torch.from_numpy(img), scale=0.5, antialias=False).numpy()[0, 0]
    ref = _imresize_ref(img[0, 0], (8, 8), (0.5, 0.5), antialias=False)
    np.testing.assert_allclose(ours, ref, atol=1e-12)


def test_uint8_path_matches_reference_with_rounding():
    rng = np.random.default_rng(4)
    img = rng.integers(0, 256, (1, 3, 24, 18)).astype(np.float64)
    ours = bicubic_down_uint8(torch.from_numpy(img / 255.0), 3).numpy() * 255.0
    for c in range(3):
        ref = _imresize_ref(img[0, c], (8, 6), (1 / 3, 1 / 3), uint8=True)
        np.testing.assert_allclose(ours[0, c], ref, atol=1e-9)


# ---------------------------------------------------------------------------------------
# Closed forms
# ---------------------------------------------------------------------------------------


def test_constant_image_is_preserved():
    x = torch.full((2, 3, 10, 14), 0.37, dtype=torch.float64)
    for s in (0.25, 0.5, 2.0, 3.0):
        assert torch.allclose(imresize(x, scale=s), torch.full_like(imresize(x, scale=s), 0.37))


@pytest.mark.parametrize("scale", [2.0, 3.0, 4.0])
def test_upscale_reproduces_linear_ramp_at_matlab_coordinates(scale):
    # Keys' cubic reproduces linear functions; away from the borders the output must equal
    # the ramp at MATLAB's input coordinate u = x / s + (1 - 1 / s) / 2 (1-based).
    n = 20
    ramp = torch.arange(1, n + 1, dtype=torch.float64).view(1, 1, n, 1).expand(1, 1, n, n)
    out = imresize(ramp, scale=scale)[0, 0, :, 0].numpy()
    x = np.arange(1, len(out) + 1)
    u = x / scale + 0.5 * (1 - 1 / scale)
    inner = (u > 3) & (u < n - 2)
    np.testing.assert_allclose(out[inner], u[inner], atol=1e-12)
    assert len(out) == n * scale


def test_x4_downscale_reproduces_linear_ramp():
    # For 1/4 the widened kernel samples are symmetric about u, so linear ramps survive.
    n = 64
    ramp = torch.arange(1, n + 1, dtype=torch.float64).view(1, 1, 1, n).expand(1, 1, 8, n)
    out = imresize(ramp, scale=0.25)[0, 0, 0].numpy()
    u = np.arange(1, 17) * 4 - 1.5
    np.testing.assert_allclose(out[2:-2], u[2:-2], atol=1e-12)


def test_batch_equals_single_images_and_float32_close():
    rng = np.random.default_rng(5)
    x = torch.from_numpy(rng.random((3, 3, 30, 26)))
    both = imresize(x, scale=0.5)
    for i in range(3):
        assert torch.equal(both[i : i + 1], imresize(x[i : i + 1], scale=0.5))
    f32 = imresize(x.float(), scale=0.5)
    assert f32.dtype == torch.float32
    assert (f32.double() - both).abs().max() < 1e-5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    x = torch.rand(2, 3, 64, 48, dtype=torch.float64)
    cpu = imresize(x, scale=0.25)
    gpu = imresize(x.cuda(), scale=0.25)
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu)
    torch.testing.assert_close(bicubic_down_uint8(x.cuda(), 4).cpu(), bicubic_down_uint8(x, 4))


def test_modcrop_and_bad_input():
    x = torch.rand(1, 3, 10, 11)
    assert modcrop(x, 3).shape == (1, 3, 9, 9)
    with pytest.raises(ValueError, match="scale"):
        imresize(x, scale=-1.0)
    with pytest.raises(ValueError, match="exactly one"):
        imresize(x, scale=0.5, size=(5, 5))
    with pytest.raises(ValueError, match="exactly one"):
        imresize(x)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        imresize(x[0], scale=0.5)
    with pytest.raises(ValueError, match="size"):
        imresize(x, size=(0, 4))
    with pytest.raises(ValueError, match="scale"):
        bicubic_down_uint8(x, 0)
    with pytest.raises(ValueError, match="shapes differ"):
        match_report(x, x[..., :5])


def test_match_report_counts_levels():
    a = torch.zeros(1, 1, 2, 2)
    b = a.clone()
    b[0, 0, 0, 0] = 3 / 255
    rep = match_report(a, b)
    assert rep["share_equal"] == 0.75 and rep["max_diff_levels"] == 3 and rep["n_values"] == 4


# ---------------------------------------------------------------------------------------
# The real thing: LR images made by MATLAB (PAN's benchmark copies of Set5 and Set14).
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dataset", ["Set5", "Set14"])
@pytest.mark.parametrize("scale", [2, 3, 4])
def test_matches_matlab_lr_files(dataset, scale):
    root = _datasets_dir() / dataset
    hr_paths = sorted((root / "HR").glob("*.png"))
    assert hr_paths, f"no HR images under {root / 'HR'}"
    equal = total = worst = 0
    for hr_path in hr_paths:
        lr_path = root / "LR_bicubic" / f"X{scale}" / f"{hr_path.stem}x{scale}.png"
        ours = bicubic_down_uint8(_load(str(hr_path)), scale)
        ref = _load(str(lr_path))
        assert ours.shape == ref.shape, hr_path.name
        rep = match_report(ours, ref)
        equal += rep["share_equal"] * rep["n_values"]
        total += rep["n_values"]
        worst = max(worst, rep["max_diff_levels"])
    assert equal / total >= 0.999, f"{dataset} x{scale}: only {equal / total:.5f} equal"
    assert worst <= 1, f"{dataset} x{scale}: max diff {worst} levels"
