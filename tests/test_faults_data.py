"""Bad data in a user's image folder, and numeric faults: each gives a clear error naming
what is wrong, or a documented conversion with a warning naming the file.

Images are made with PIL/NumPy (and a minimal PNG writer for 16-bit layouts PIL cannot
write) in ``tmp_path``; the networks are tiny modules defined here. Each test of a bad
input carries ``@pytest.mark.bad_input(fault, outcome)``: a row of the book's page "What
bad input gets".
"""

from __future__ import annotations

import struct
import warnings
import zlib
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from helpers import io
from helpers.attribution import hard_cases, lam
from helpers.attribution.cache import cached_lam_maps
from helpers.data import SRPair, load_images, load_sr_set
from helpers.data.textures import TextureData
from helpers.metrics import psnr, ssim
from helpers.models.evaluate import evaluate_sr
from helpers.texture import classifier as texture_classifier
from helpers.texture import labelling, profiles

pytestmark = pytest.mark.usefixtures("one_thread")


# ------------------------------------------------------------------------------ helpers


def _rgb(h: int = 20, w: int = 24, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def _save(path: Path, arr: np.ndarray) -> Path:
    Image.fromarray(arr).save(path)
    return path


def _png16(path: Path, arr: np.ndarray, color_type: int) -> Path:
    """A 16-bit PNG (filter 0, no interlace) of ``arr`` (H, W[, C]) uint16: colour type 0
    grey, 2 RGB, 4 grey+alpha, 6 RGBA. PIL cannot write 16-bit colour, so write it here."""
    h, w = arr.shape[:2]
    rows = b"".join(b"\x00" + arr[y].astype(">u2").tobytes() for y in range(h))

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 16, color_type, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )
    return path


def _hwc(x: torch.Tensor) -> np.ndarray:
    return x[0].permute(1, 2, 0).numpy()


def _quiet_load(path: Path) -> torch.Tensor:
    """``load_image`` asserting it warns about nothing."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return io.load_image(path)


# ------------------------------------------------------------- valid input is unchanged


def test_rgb_png_loads_bit_identically_to_the_old_path(tmp_path: Path) -> None:
    arr = _rgb()
    path = _save(tmp_path / "rgb.png", arr)
    x = _quiet_load(path)
    with Image.open(path) as im:
        ref = np.array(im.convert("RGB")) / 255  # the old path, in float64
        old = torch.from_numpy(np.array(im.convert("RGB"), np.uint8)).permute(2, 0, 1)
    # Bit-identical to the old code (uint8 -> float32 tensor / 255) ...
    assert x.dtype == torch.float32 and x.shape == (1, 3, 20, 24)
    assert torch.equal(x, old[None].float() / 255.0)
    # ... which is the float64 reference rounded once to float32.
    assert np.array_equal(_hwc(x), ref.astype(np.float32))
    assert np.abs(_hwc(x) - ref).max() < 1e-7


# --------------------------------------------------------------------- modes and depths


@pytest.mark.bad_input(
    "an 8-bit grey PNG in a local image folder",
    "repeated to three RGB channels, without a warning: nothing is lost",
)
def test_grey_png_is_repeated_silently(tmp_path: Path) -> None:
    grey = _rgb()[..., 0]
    x = _quiet_load(_save(tmp_path / "g.png", grey))
    for c in range(3):
        assert np.array_equal(_hwc(x)[..., c], (grey / 255).astype(np.float32))


@pytest.mark.bad_input(
    "an RGBA PNG whose alpha is fully opaque",
    "alpha dropped without a warning; the colours load exactly as an RGB file's",
)
def test_opaque_rgba_loads_as_rgb_silently(tmp_path: Path) -> None:
    rgb = _rgb()
    rgba = np.concatenate([rgb, np.full((*rgb.shape[:2], 1), 255, np.uint8)], axis=2)
    x = _quiet_load(_save(tmp_path / "o.png", rgba))
    assert torch.equal(x, _quiet_load(_save(tmp_path / "rgb.png", rgb)))


@pytest.mark.bad_input(
    "an RGBA PNG with transparent pixels",
    "alpha dropped, colours kept as stored (not composited), with a warning naming the file",
)
def test_transparent_rgba_drops_alpha_with_a_warning(tmp_path: Path) -> None:
    rgb = _rgb()
    alpha = np.full((*rgb.shape[:2], 1), 255, np.uint8)
    alpha[:5] = 0
    path = _save(tmp_path / "see_through.png", np.concatenate([rgb, alpha], axis=2))
    with pytest.warns(UserWarning, match=r"see_through\.png.*alpha dropped.*not opaque"):
        x = io.load_image(path)
    assert np.array_equal(_hwc(x), (rgb / 255).astype(np.float32))


@pytest.mark.bad_input(
    "a 16-bit grey PNG in a local image folder",
    "scaled to [0, 1] by 65535 and repeated to RGB, with a warning naming the file",
)
def test_16bit_grey_is_scaled_by_65535(tmp_path: Path) -> None:
    v = np.random.default_rng(1).integers(0, 65536, (9, 11), dtype=np.uint16)
    v[0, :3] = [0, 300, 65535]  # Pillow's convert("RGB") made 300 white: 255/255
    path = tmp_path / "deep.png"
    Image.fromarray(v).save(path)
    with Image.open(path) as im:
        assert im.mode == "I;16"
    with pytest.warns(UserWarning, match=r"deep\.png: 16-bit grey: value / 65535"):
        x = io.load_image(path)
    ref = v.astype(np.float64) / 65535
    for c in range(3):
        assert np.array_equal(_hwc(x)[..., c], v.astype(np.float32) / np.float32(65535))
        assert np.abs(_hwc(x)[..., c] - ref).max() < 1e-7
    assert x[0, 0, 0, 1] == pytest.approx(300 / 65535)


@pytest.mark.bad_input(
    "a 16-bit RGB PNG in a local image folder",
    "scaled to [0, 1] by 65535 at full 16-bit precision, with a warning naming the file",
)
def test_16bit_rgb_keeps_16_bit_precision(tmp_path: Path) -> None:
    v = np.random.default_rng(2).integers(0, 65536, (13, 17, 3), dtype=np.uint16)
    v[:4] = np.linspace(0, 65535, 17, dtype=np.uint16)[None, :, None]  # smooth: PNG filters
    path = tmp_path / "rgb16.png"
    assert cv2.imwrite(str(path), v[..., ::-1])  # OpenCV writes BGR, with adaptive filters
    with Image.open(path) as im:  # what Pillow itself gives: 8 bits, the high byte
        assert im.mode == "RGB" and np.array_equal(np.array(im), (v >> 8).astype(np.uint8))
    with pytest.warns(UserWarning, match=r"rgb16\.png: 16-bit colour: value / 65535"):
        x = io.load_image(path)
    assert np.array_equal(_hwc(x), v.astype(np.float32) / np.float32(65535))
    # The RGBA layout too; its alpha (not opaque here) is dropped.
    a = np.concatenate([v, v[..., :1]], axis=2)
    assert cv2.imwrite(str(tmp_path / "rgba16.png"), a[..., [2, 1, 0, 3]])
    with pytest.warns(UserWarning, match="16-bit colour: value / 65535; alpha dropped"):
        y = io.load_image(tmp_path / "rgba16.png")
    assert torch.equal(x, y)


@pytest.mark.bad_input(
    "a 16-bit grey-with-alpha PNG",
    "read at 8-bit precision (Pillow keeps the high byte), alpha dropped, with a warning "
    "naming the file",
)
def test_16bit_grey_alpha_is_read_at_8_bits(tmp_path: Path) -> None:
    v = np.random.default_rng(3).integers(0, 65536, (6, 7, 2), dtype=np.uint16)
    path = _png16(tmp_path / "la16.png", v, color_type=4)
    with pytest.warns(UserWarning, match=r"la16\.png: 16-bit channels decoded to 8 bits"):
        x = io.load_image(path)
    want = (v[..., 0] >> 8).astype(np.float32) / np.float32(255)
    assert all(np.array_equal(_hwc(x)[..., c], want) for c in range(3))
    assert np.abs(_hwc(x)[..., 0] - v[..., 0] / 65535).max() <= 1 / 255


@pytest.mark.bad_input(
    "a palette (indexed-colour) PNG",
    "colours looked up in its palette, with a warning naming the file",
)
def test_palette_png_is_looked_up(tmp_path: Path) -> None:
    rgb = _rgb()
    pal = Image.fromarray(rgb).quantize(colors=16)
    pal.save(tmp_path / "pal.png")
    with pytest.warns(UserWarning, match=r"pal\.png: palette indices looked up"):
        x = io.load_image(tmp_path / "pal.png")
    assert np.array_equal(_hwc(x), (np.array(pal.convert("RGB")) / 255).astype(np.float32))


@pytest.mark.bad_input(
    "a multi-page TIFF in a local image folder",
    "the first page is read, with a warning naming the file",
)
def test_multipage_tiff_reads_the_first_page(tmp_path: Path) -> None:
    a, b = _rgb(seed=1), _rgb(seed=2)
    Image.fromarray(a).save(
        tmp_path / "pages.tif", save_all=True, append_images=[Image.fromarray(b)]
    )
    with pytest.warns(UserWarning, match=r"pages\.tif: only the first of its 2 frames"):
        x = io.load_image(tmp_path / "pages.tif")
    assert np.array_equal(_hwc(x), (a / 255).astype(np.float32))


@pytest.mark.bad_input(
    "a CMYK JPEG",
    "converted with Pillow's CMYK-to-RGB conversion, with a warning naming the file",
)
def test_cmyk_jpeg_is_converted_with_a_warning(tmp_path: Path) -> None:
    Image.fromarray(_rgb()).convert("CMYK").save(tmp_path / "print.jpg")
    with pytest.warns(UserWarning, match=r"print\.jpg: converted from CMYK"):
        x = io.load_image(tmp_path / "print.jpg")
    assert x.shape == (1, 3, 20, 24) and 0 <= float(x.min()) <= float(x.max()) <= 1


@pytest.mark.bad_input(
    "a 32-bit float TIFF",
    "refused with a ValueError naming the file: float pixels have no defined [0, 1] range",
)
def test_float_tiff_is_refused(tmp_path: Path) -> None:
    Image.fromarray(np.full((5, 5), 3.5, np.float32)).save(tmp_path / "hdr.tif")
    with pytest.raises(ValueError, match=r"hdr\.tif.*'F' pixels.*no defined \[0, 1\] range"):
        io.load_image(tmp_path / "hdr.tif")


# -------------------------------------------------------------------- damaged files


@pytest.mark.bad_input(
    "a .png file that holds garbage bytes",
    "ValueError naming the file and saying to re-export or remove it",
)
def test_garbage_png_names_the_file(tmp_path: Path) -> None:
    _save(tmp_path / "a.png", _rgb())
    (tmp_path / "b.png").write_bytes(b"this is not a PNG" * 20)
    with pytest.raises(ValueError, match=r"cannot read image .*b\.png.*re-export it"):
        load_sr_set("mine", 2, folder=tmp_path)


@pytest.mark.bad_input(
    "a truncated PNG (a download cut short)",
    "ValueError naming the file: it is corrupt or truncated",
)
def test_truncated_png_names_the_file(tmp_path: Path) -> None:
    data = (_save(tmp_path / "whole.png", _rgb(64, 64))).read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cannot read image .*cut\.png.*truncated"):
        load_images("mine", folder=tmp_path)


# ---------------------------------------------------------------------- the folder


@pytest.mark.bad_input(
    "an empty local image folder",
    "FileNotFoundError naming the folder and the accepted image suffixes",
)
def test_empty_folder_names_folder_and_suffixes(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no images for dataset 'mine' in .*\.png, \.jpg"):
        load_sr_set("mine", 4, folder=tmp_path)


@pytest.mark.bad_input(
    "a local folder with no image files, only other files and subfolders",
    "FileNotFoundError naming the folder, the files found and that subfolders are not searched",
)
def test_folder_without_images_says_what_it_found(tmp_path: Path) -> None:
    (tmp_path / "README.txt").write_text("my images")
    (tmp_path / "HR").mkdir()
    _save(tmp_path / "HR" / "0001.png", _rgb())
    with pytest.raises(FileNotFoundError, match=r"README\.txt.*subfolders \['HR/'\] are not"):
        load_images("mine", folder=tmp_path)


@pytest.mark.bad_input(
    "a non-image file (notes.txt) among the images of a local folder",
    "skipped, with one warning naming it",
)
def test_non_image_file_is_skipped_with_a_warning(tmp_path: Path) -> None:
    _save(tmp_path / "a.png", _rgb())
    (tmp_path / "notes.txt").write_text("shot on a phone")
    with pytest.warns(UserWarning, match=r"skipped 1 file.*not images.*\['notes\.txt'\]"):
        images = load_images("mine", folder=tmp_path)
    assert [n for n, _ in images] == ["a"]


@pytest.mark.bad_input(
    "operating-system files (.DS_Store, ._a.png, Thumbs.db) in a local image folder",
    "skipped silently",
)
def test_os_clutter_is_skipped_silently(tmp_path: Path) -> None:
    _save(tmp_path / "a.png", _rgb())
    (tmp_path / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
    (tmp_path / "._a.png").write_bytes(b"\x00\x05\x16\x07 AppleDouble")  # a resource fork
    (tmp_path / "Thumbs.db").write_bytes(b"\xd0\xcf\x11\xe0")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        pairs = load_sr_set("mine", 4, folder=tmp_path)
    assert [p.name for p in pairs] == ["a"]


@pytest.mark.bad_input(
    "two images with one name in a local folder (a.png and a.jpg)",
    "ValueError naming both files: results are keyed by the name",
)
def test_two_images_with_one_stem_are_refused(tmp_path: Path) -> None:
    _save(tmp_path / "a.png", _rgb())
    _save(tmp_path / "a.jpg", _rgb())
    with pytest.raises(ValueError, match=r"share a name, \[\['a\.jpg', 'a\.png'\]\]"):
        load_sr_set("mine", 4, folder=tmp_path)


# ---------------------------------------------------------------------- small images


@pytest.mark.bad_input(
    "an image smaller than the SR scale (3x3 px at x4)",
    "ValueError naming the image and the minimum size",
)
def test_image_smaller_than_the_scale_is_named(tmp_path: Path) -> None:
    _save(tmp_path / "big.png", _rgb())
    _save(tmp_path / "speck.png", _rgb(3, 3))
    with pytest.raises(ValueError, match=r"mine/speck .* is 3x3 px.*at least 4 px"):
        load_sr_set("mine", 4, folder=tmp_path)


@pytest.mark.bad_input(
    "a crop= larger than an image of the set",
    "ValueError naming the image and the largest crop that fits",
)
def test_crop_larger_than_an_image_is_named(tmp_path: Path) -> None:
    _save(tmp_path / "a.png", _rgb(40, 40))
    _save(tmp_path / "b.png", _rgb(18, 30))
    with pytest.raises(ValueError, match=r"larger than mine/b \(16x28 px.*crop <= 16"):
        load_sr_set("mine", 4, folder=tmp_path, crop=32)


@pytest.mark.bad_input(
    "an image too small to score (a side under 2 x scale + 11 px)",
    "ValueError naming the image and the minimum side, before any network runs",
)
def test_image_too_small_to_score_is_named() -> None:
    ran = []

    class Spy(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ran.append(1)
            return F.interpolate(x, scale_factor=2)

    ok = SRPair("fine", torch.rand(1, 3, 16, 16), torch.rand(1, 3, 8, 8), 2)
    tiny = SRPair("thumb", torch.rand(1, 3, 14, 16), torch.rand(1, 3, 7, 8), 2)
    with pytest.raises(ValueError, match=r"'thumb' is 14x16 px.*each side needs >= 15 px"):
        evaluate_sr(Spy(), [ok, tiny], progress=False)
    assert ran == []


@pytest.mark.bad_input(
    "an image smaller than the hard-case sub-image size",
    "skipped with a warning naming it; a ValueError naming every image when none is large enough",
)
def test_hard_case_candidates_skip_small_images_by_name() -> None:
    big, small = torch.rand(1, 3, 64, 64), torch.rand(1, 3, 40, 80)
    with pytest.warns(UserWarning, match=r"skipped 1 image.*48 px.*\['wide \(40x80\)'\]"):
        cands = hard_cases.candidate_subimages([("big", big), ("wide", small)], 48, 16, 4)
    assert {c.source for c in cands} == {"big"}
    with pytest.raises(ValueError, match=r"no image is at least 48 px.*'wide \(40x80\)'"):
        hard_cases.candidate_subimages([("wide", small)], 48, 16, 4)


@pytest.mark.bad_input(
    "an image smaller than the texture chapter's patch size",
    "ValueError naming the image, its size and the largest patch that fits",
)
def test_texture_patch_larger_than_an_image_is_named(tmp_path: Path, monkeypatch) -> None:
    _save(tmp_path / "large.png", _rgb(96, 96))
    _save(tmp_path / "small.png", _rgb(48, 60))
    monkeypatch.setenv("HELPERS_LOCAL_MINE", str(tmp_path))
    with pytest.raises(ValueError, match=r"'small' of 48x60 px; use size <= 48"):
        labelling.label_dataset(object(), "mine", 4, size=64, n_per_image=2)


# -------------------------------------------------------------------- numeric faults


class _Upsample(nn.Module):
    """Nearest x2 plus ``offset``: NaN or inf stand for a user's broken network."""

    scale = 2

    def __init__(self, offset: float, name: str) -> None:
        super().__init__()
        self.offset, self.name = offset, name

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2) + self.offset


def _pair(name: str = "photo") -> SRPair:
    hr = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    return SRPair(name, hr, F.avg_pool2d(hr, 2), 2)


@pytest.mark.bad_input(
    "a network that outputs NaN",
    "evaluation raises FloatingPointError naming the model and the image, not a NaN PSNR",
)
def test_nan_output_is_named_in_evaluation() -> None:
    with pytest.raises(FloatingPointError, match=r"model 'mynet' .* for image 'photo' \(3072 of"):
        evaluate_sr(_Upsample(float("nan"), "mynet"), [_pair("photo")], progress=False)


@pytest.mark.bad_input(
    "a network that outputs inf",
    "evaluation raises FloatingPointError naming the model and the image, instead of "
    "scoring the output clamped to white",
)
def test_inf_output_is_named_in_evaluation() -> None:
    with pytest.raises(FloatingPointError, match=r"'overflow' returned NaN or inf.*'photo'"):
        evaluate_sr(_Upsample(float("inf"), "overflow"), [_pair()], progress=False)


@pytest.mark.bad_input(
    "NaN or inf in an image given to PSNR or SSIM",
    "ValueError naming the argument and the image in the batch, not a NaN score",
)
def test_psnr_and_ssim_refuse_non_finite_images() -> None:
    hr = torch.rand(3, 3, 24, 24)
    sr = hr.clone()
    sr[1, 0, 5, 5] = float("nan")
    with pytest.raises(ValueError, match=r"sr holds NaN or inf in image\(s\) \[1\] of the batch"):
        psnr(sr, hr, shave=2)
    hr2 = hr.clone()
    hr2[2, 1, 0, 0] = float("-inf")
    with pytest.raises(ValueError, match=r"hr holds NaN or inf in image\(s\) \[2\]"):
        ssim(hr, hr2, shave=2)
    assert torch.isfinite(psnr(hr * 0.9, hr)).all()  # finite input: unchanged behaviour


def _lr(n: int = 12) -> torch.Tensor:
    return torch.rand(1, 3, n, n, generator=torch.Generator().manual_seed(1))


@pytest.mark.bad_input(
    "a network that outputs NaN, given to LAM",
    "FloatingPointError naming the model and the window; no NaN map is returned",
)
def test_lam_of_a_nan_network_is_an_error(tmp_path: Path) -> None:
    net = _Upsample(float("nan"), "broken")
    with pytest.raises(FloatingPointError, match=r"LAM of model 'broken'.*window \(4, 4, 8\)"):
        lam(net, _lr(), (4, 4, 8), steps=2, device="cpu")
    case = SimpleNamespace(name="case1", lr=_lr())
    with pytest.raises(FloatingPointError, match=r"network 'b', hard case 'case1': LAM of"):
        cached_lam_maps({"b": net}, [case], 2, 8, cache_dir=tmp_path, progress=False, steps=2)
    assert not list(tmp_path.rglob("*.pt"))  # nothing cached


@pytest.mark.bad_input(
    "a network whose input gradient is NaN (e.g. a square root at 0), given to LAM",
    "FloatingPointError naming the model; no NaN map is returned",
)
def test_lam_with_nan_gradients_is_an_error() -> None:
    class SqrtAtZero(nn.Module):
        scale = 2

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            # Finite output; d sqrt(u)/du at u = 0 is inf, and 0 * inf = NaN in the backward.
            return F.interpolate(x, scale_factor=2) + 0.0 * torch.sqrt(x - x).mean()

    with pytest.raises(FloatingPointError, match=r"'SqrtAtZero': NaN or inf along the path"):
        lam(SqrtAtZero(), _lr(), (4, 4, 8), steps=2, device="cpu")


@pytest.mark.bad_input(
    "texture training data with images of only one class",
    "ValueError saying a texture classifier needs images of at least 2 classes",
)
def test_texture_classifier_needs_two_classes(tmp_path: Path) -> None:
    images = torch.rand(2, 3, 32, 32)
    one = TextureData(images, [0, 0], ["banded"], name="one class")
    with pytest.raises(ValueError, match=r"one class: .*at least 2 classes.*only \['banded'\]"):
        texture_classifier.train_classifier(one, ["banded"], "smoke", cache_dir=tmp_path)
    two = TextureData(images, [1, 1], ["banded", "dotted"], name="one label")
    with pytest.raises(ValueError, match=r"2 class\(es\).*images of only \['dotted'\]"):
        texture_classifier.train_classifier(two, two.classes, "smoke", cache_dir=tmp_path)
    assert not list(tmp_path.rglob("*.pt"))


@pytest.mark.bad_input(
    "k-means asked for more clusters than there are patches",
    "ValueError giving the valid range of k",
)
def test_kmeans_with_more_clusters_than_patches() -> None:
    x = np.random.default_rng(0).normal(size=(5, 3))
    with pytest.raises(ValueError, match=r"k must be in 1\.\.5 \(the number of patches\)"):
        profiles.kmeans_clusters(x, 6)


@pytest.mark.bad_input(
    "an entropy-PSNR fit over patches that all have one entropy, or fewer than 3 patches",
    "ValueError saying no line or correlation is defined, instead of NaN",
)
def test_entropy_psnr_fit_needs_spread() -> None:
    with pytest.raises(ValueError, match="same entropy: no line or correlation"):
        profiles.entropy_psnr_fit(np.full(6, 4.0), np.arange(6.0))
    with pytest.raises(ValueError, match="same PSNR"):
        profiles.entropy_psnr_fit(np.arange(6.0), np.full(6, 30.0))
    with pytest.raises(ValueError, match="length >= 3"):
        profiles.entropy_psnr_fit(np.arange(2.0), np.arange(2.0))
    with pytest.raises(ValueError, match="finite"):
        profiles.entropy_psnr_fit(np.arange(4.0), np.array([30, 31, np.inf, 29]))
    fit = profiles.entropy_psnr_fit(np.arange(5.0), np.array([30.0, 29, 29.5, 28, 27]))
    assert fit["slope"] < 0 and fit["n"] == 5
