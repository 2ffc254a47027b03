"""Tests of atomic I/O, results files, runtime conventions, evaluation and plotting helpers."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image
from skimage.metrics import peak_signal_noise_ratio

from helpers import io, plots, results, runtime
from helpers.data import SRPair
from helpers.metrics import rgb_to_y
from helpers.models import evaluate


def test_atomic_write_keeps_old_file_when_writer_fails(tmp_path):
    path = tmp_path / "a.json"
    io.write_json(path, {"x": 1})

    def broken(p):
        p.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        io.atomic_write(path, broken)
    assert json.loads(path.read_text()) == {"x": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]  # no temp file left


@pytest.mark.bad_input("an image path that does not exist", "FileNotFoundError naming the path")
def test_image_roundtrip_and_grey_to_rgb(tmp_path):
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(arr).save(tmp_path / "c.png")
    x = io.load_image(tmp_path / "c.png")
    assert x.shape == (1, 3, 5, 7) and x.dtype == torch.float32
    assert np.array_equal(io.tensor_to_uint8(x), arr)
    io.save_image(tmp_path / "d.png", x)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "d.png")), arr)
    Image.fromarray(arr[..., 0]).save(tmp_path / "g.png")
    g = io.load_image(tmp_path / "g.png")
    assert torch.equal(g[:, 0], g[:, 1]) and torch.equal(g[:, 0], g[:, 2])
    with pytest.raises(FileNotFoundError):
        io.load_image(tmp_path / "missing.png")


@pytest.mark.bad_input(
    "chapter results written without a preset", "ValueError asking for the preset"
)
def test_results_are_clean_json_and_need_a_preset(tmp_path):
    p = results.write_results(
        tmp_path, "ch", {"preset": "smoke", "a": np.float32(1.5), "b": None, "t": (1, 2)}
    )
    assert json.loads(p.read_text()) == {"preset": "smoke", "a": 1.5, "b": None, "t": [1, 2]}
    assert results.read_results(tmp_path, "ch")["a"] == 1.5
    with pytest.raises(ValueError, match="preset"):
        results.write_results(tmp_path, "ch", {"a": 1})
    with pytest.raises(FileNotFoundError, match="nope"):
        results.read_results(tmp_path, "nope")


@pytest.mark.bad_input(
    "a negative seed, or HELPERS_DATA_MIRROR naming a missing folder",
    "ValueError naming the seed; FileNotFoundError naming the variable",
)
def test_runtime_device_seed_and_dirs(tmp_path, monkeypatch):
    assert runtime.resolve_device("cpu") == torch.device("cpu")
    assert runtime.resolve_device(None) == runtime.default_device()
    runtime.seed_everything(5)
    a = torch.rand(3)
    runtime.seed_everything(5)
    assert torch.equal(a, torch.rand(3))
    with pytest.raises(ValueError, match="seed"):
        runtime.seed_everything(-1)
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path / "d"))
    assert runtime.data_dir() == tmp_path / "d" and (tmp_path / "d").is_dir()
    monkeypatch.setenv("HELPERS_DATA_MIRROR", str(tmp_path / "none"))
    with pytest.raises(FileNotFoundError, match="HELPERS_DATA_MIRROR"):
        runtime.mirror_root()


@pytest.mark.bad_input(
    "an empty list of images to evaluate",
    "ValueError saying there are no images to evaluate",
)
def test_evaluate_matches_skimage_on_quantized_y():
    g = torch.Generator().manual_seed(0)
    hr = torch.rand(1, 3, 32, 32, generator=g)
    lr = torch.nn.functional.avg_pool2d(hr, 2)

    class Nearest(torch.nn.Module):
        def forward(self, x):
            return torch.nn.functional.interpolate(x, scale_factor=2) + 0.0013

    r = evaluate.evaluate_sr(Nearest(), [SRPair("a", hr, lr, 2)], progress=False)
    sr = evaluate.quantize(Nearest()(lr))
    y_sr, y_hr = rgb_to_y(sr)[0, 0, 2:-2, 2:-2], rgb_to_y(hr)[0, 0, 2:-2, 2:-2]
    want = peak_signal_noise_ratio(y_hr.double().numpy(), y_sr.double().numpy(), data_range=255)
    assert r["psnr_y"] == pytest.approx(want, abs=1e-4)
    assert torch.equal(
        evaluate.quantize(torch.tensor([-0.1, 0.5, 1.2])), torch.tensor([0.0, 128 / 255, 1.0])
    )
    with pytest.raises(ValueError, match="no images"):
        evaluate.evaluate_sr(Nearest(), [], progress=False)


def test_image_grid_lays_out_every_image():
    matplotlib.use("Agg")
    plots.set_style()
    fig = plots.image_grid([torch.rand(1, 3, 8, 8)] * 5, [str(i) for i in range(5)], ncols=3)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 6 and len(shown) == 5 and shown[4].get_title() == "4"
    with pytest.raises(ValueError):
        plots.image_grid([])
