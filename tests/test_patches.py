"""Patch samplers: positions, contents, HR/LR alignment, errors."""

from __future__ import annotations

import pytest
import torch

from helpers.data.patches import crop_at, grid_patches, random_patches
from helpers.data.resize import bicubic_down_uint8

pytestmark = pytest.mark.usefixtures("one_thread")


def _img(h=40, w=52, c=3):
    return torch.rand(1, c, h, w, generator=torch.Generator().manual_seed(0))


def test_random_patches_content_bounds_and_seed():
    img = _img()
    p, xy = random_patches(img, 16, 50, seed=3)
    assert p.shape == (50, 3, 16, 16) and xy.shape == (50, 2) and xy.dtype == torch.int64
    assert (xy[:, 0] <= 40 - 16).all() and (xy[:, 1] <= 52 - 16).all() and (xy >= 0).all()
    for k in range(50):
        y, x = xy[k].tolist()
        assert torch.equal(p[k], img[0, :, y : y + 16, x : x + 16])
    p2, xy2 = random_patches(img[0], 16, 50, seed=3)  # (C, H, W) input too
    assert torch.equal(xy, xy2) and torch.equal(p, p2)
    _, xy3 = random_patches(img, 16, 50, seed=4)
    assert not torch.equal(xy, xy3)
    # every admissible corner can be drawn (both extremes appear in many draws)
    _, many = random_patches(img, 16, 4000, seed=0)
    assert many[:, 0].max() == 24 and many[:, 1].max() == 36 and many.min() == 0


def test_random_patches_align_and_crop_at_lr():
    hr = _img(48, 60)
    lr = bicubic_down_uint8(hr, 4)
    p_hr, xy = random_patches(hr, 16, 20, seed=1, align=4)
    assert (xy % 4 == 0).all()
    p_lr = crop_at(lr, xy, 16, scale=4)
    assert p_lr.shape == (20, 3, 4, 4)
    for k in range(20):
        y, x = (xy[k] // 4).tolist()
        assert torch.equal(p_lr[k], lr[0, :, y : y + 4, x : x + 4])
    assert torch.equal(crop_at(hr, xy, 16), p_hr)


def test_grid_patches_tiles_and_cover():
    img = _img(40, 52)
    p, xy = grid_patches(img, 16)
    assert xy.tolist() == [[y, x] for y in (0, 16) for x in (0, 16, 32)]
    # non-overlapping tiles equal an unfold of the image
    ref = img[:, :, :32, :48].unfold(2, 16, 16).unfold(3, 16, 16)  # (1, C, 2, 3, 16, 16)
    ref = ref.permute(0, 2, 3, 1, 4, 5).reshape(-1, 3, 16, 16)
    assert torch.equal(p, ref)
    p2, xy2 = grid_patches(img, 16, stride=8, cover=True)
    assert sorted(set(xy2[:, 0].tolist())) == [0, 8, 16, 24]
    assert sorted(set(xy2[:, 1].tolist())) == [0, 8, 16, 24, 32, 36]
    covered = torch.zeros(40, 52, dtype=torch.bool)
    for y, x in xy2.tolist():
        covered[y : y + 16, x : x + 16] = True
    assert covered.all()


def test_crop_at_batch_one_per_image():
    imgs = torch.rand(3, 1, 20, 20)
    xy = torch.tensor([[0, 0], [4, 8], [10, 2]])
    p = crop_at(imgs, xy, 6)
    for k in range(3):
        y, x = xy[k].tolist()
        assert torch.equal(p[k], imgs[k, :, y : y + 6, x : x + 6])


def test_errors_are_clear():
    img = _img(10, 12)
    with pytest.raises(ValueError, match="smaller than the patch size 16x16"):
        random_patches(img, 16, 3, seed=0)
    with pytest.raises(ValueError, match="smaller than the patch size"):
        grid_patches(img, 11)
    with pytest.raises(ValueError, match="multiples of scale=4"):
        crop_at(img, [[2, 0]], 8, scale=4)
    with pytest.raises(ValueError, match="outside"):
        crop_at(img, [[4, 0]], 8)
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        crop_at(img, [1, 2], 4)
    with pytest.raises(ValueError, match="batch"):
        crop_at(torch.rand(2, 3, 10, 10), [[0, 0], [1, 1], [2, 2]], 4)
    with pytest.raises(ValueError, match="one image"):
        random_patches(torch.rand(2, 3, 10, 10), 4, 2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_device_kept():
    img = _img()
    p, xy = random_patches(img.cuda(), 8, 5, seed=0)
    assert p.device.type == "cuda"
    assert torch.equal(p.cpu(), random_patches(img, 8, 5, seed=0)[0])
