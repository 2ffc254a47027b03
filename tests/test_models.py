"""The model registry, released weights, safe loading and the evaluation wrapper."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from _mirror import MIRROR, needs_mirror
from torch import nn

from helpers.models import (
    SRModel,
    WeightFileError,
    available,
    available_released,
    build,
    load_released,
    load_spandrel,
    param_count,
    safe_load_state_dict,
    size_params,
    wrap,
)

PAN_ROOT = "zhaohengyuan1/PAN/4d045d18592c5771cd3990da88f292812774e538"
IMDN_ROOT = "Zheng222/IMDN/8f158e6a5ac9db6e5857d9159fd4a6c4214da574"
CARN_FILE = "nmhkahn/CARN-pytorch/40d3514f81cccd680d846cd5ab07af35f2c8e0e2/checkpoint/carn_m.pth"
GRL_FILE = (
    "wenjuan7275/LAM_Demo/f3a86e09160417b2d84a9ac2ca64af18ed6396a2/"
    "ModelZoo/models/gnll_final_tiny_w32_s64.ckpt"
)
WEIGHTS = {
    **{("pan", s): f"{PAN_ROOT}/experiments/pretrained_models/PANx{s}_DF2K.pth" for s in (2, 3, 4)},
    **{("imdn", s): f"{IMDN_ROOT}/checkpoints/IMDN_x{s}.pth" for s in (2, 3, 4)},
    **{("carn_m", s): CARN_FILE for s in (2, 3, 4)},
    ("grl_tiny", 4): GRL_FILE,
}
#: Set5 "baby" x4 Y-PSNR (dB) measured by scripts/check_released.py (SR rounded to uint8,
#: shave 4); the Set5 means it gives match the papers: PAN 32.131, IMDN 32.210, CARN-M
#: 31.883 (paper 31.92), GRL-tiny 32.577 (~32.5).
BABY_X4 = {"pan": 33.776, "imdn": 33.774, "carn_m": 33.659, "grl_tiny": 33.989}

#: Small sizes so every architecture runs in milliseconds.
SMALL = {
    "bicubic": {},
    "fsrcnn": dict(d=8, s=4, m=1),
    "edsr": dict(n_feats=8, n_blocks=1),
    "rcan": dict(n_groups=1, n_blocks=1, n_feats=8, reduction=4),
    "srresnet": dict(n_feats=8, n_blocks=1),
    "nlsn": dict(n_feats=8, n_blocks=2, nl_every=1, reduction=2),
    "tsrn": dict(n_feats=8, n_blocks=1),
}


def weight(name: str, scale: int) -> Path:
    return MIRROR / "mirror" / WEIGHTS[(name, scale)]


# ------------------------------------------------------------------------- registry


def test_available_names() -> None:
    assert available() == ["bicubic", "edsr", "fsrcnn", "nlsn", "rcan", "srresnet", "tsrn"]
    assert set(SMALL) == set(available())
    assert available_released() == {
        "pan": [2, 3, 4],
        "imdn": [2, 3, 4],
        "carn_m": [2, 3, 4],
        "grl_tiny": [4],
    }


@pytest.mark.parametrize("scale", [2, 3, 4])
@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_architecture_maps_lr_to_scale_times_lr(name: str, scale: int) -> None:
    torch.manual_seed(0)
    if name == "tsrn" and scale == 3:  # pixel shuffle by 2 per stage
        with pytest.raises(ValueError, match="scale"):
            build(name, scale, **SMALL[name])
        return
    model = build(name, scale, **SMALL[name])
    assert model.scale == scale and model.name == name and model.pad_multiple == 1
    assert model.config == {"name": name, "scale": scale, **size_params(name), **SMALL[name]}
    assert model.receptive_field is None or model.receptive_field >= 3
    x = torch.rand(2, 3, 11, 13)
    y = model(x)
    assert y.shape == (2, 3, 11 * scale, 13 * scale)
    assert torch.isfinite(y).all()
    sr = wrap(model, device="cpu", clamp=True)(x)
    assert sr.shape == y.shape and sr.min() >= 0 and sr.max() <= 1


def test_receptive_field_kinds() -> None:
    assert build("rcan", 4, **SMALL["rcan"]).receptive_field is None
    assert build("nlsn", 4, **SMALL["nlsn"]).receptive_field is None
    assert build("bicubic", 4).receptive_field == 4
    # FSRCNN x4: 5x5 + m 3x3 layers + the 9x9 stride-4 deconvolution (3 LR taps).
    assert build("fsrcnn", 4, d=16, s=12, m=4).receptive_field == 4 + 2 * 4 + 3
    deeper = build("edsr", 2, n_feats=8, n_blocks=4).receptive_field
    assert deeper == build("edsr", 2, n_feats=8, n_blocks=2).receptive_field + 8


def test_default_sizes_are_the_papers() -> None:
    # EDSR baseline x4 (16 x 64) has 1.52 M parameters, RCAN x4 15.6 M.
    assert round(param_count(build("edsr", 4)) / 1e6, 2) == 1.52
    assert round(param_count(build("rcan", 4)) / 1e6, 1) == 15.6
    assert size_params("fsrcnn") == {"d": 56, "s": 12, "m": 4}


def test_srresnet_global_residual_switch() -> None:
    torch.manual_seed(0)
    with_gr = build("srresnet", 2, n_feats=8, n_blocks=1, global_residual=True)
    without = build("srresnet", 2, n_feats=8, n_blocks=1, global_residual=False)
    without.load_state_dict(with_gr.state_dict())
    x = torch.rand(1, 3, 8, 8)
    base = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
    torch.testing.assert_close(with_gr(x) - without(x), base)


def test_bicubic_is_differentiable_and_equals_imresize() -> None:
    resize = pytest.importorskip("helpers.data.resize")
    model = build("bicubic", 3)
    x = torch.rand(1, 3, 9, 7, dtype=torch.float64, requires_grad=True)
    y = model(x)
    torch.testing.assert_close(y, resize.imresize(x.detach(), scale=3), rtol=0, atol=1e-12)
    y[0, 0, 13, 10].backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: build("foo", 2), r"unknown architecture 'foo'.*valid: \['bicubic', 'edsr'"),
        (lambda: build("pan", 4), "released network: use load_released"),
        (lambda: build("edsr", 5), r"scale 5 is not supported.*valid: \[2, 3, 4\]"),
        (lambda: build("edsr", 2.0), "valid: "),
        (lambda: build("edsr", 2, n_layers=3), r"unknown size.*\['bn', 'n_blocks', 'n_feats'"),
        (lambda: build("edsr", 2, n_blocks=0), "n_blocks must be a positive int"),
        (lambda: build("fsrcnn", 2, m=True), "m must be a positive int"),
        (lambda: build("edsr", 2, res_scale=-1), "res_scale must be a positive number"),
        (lambda: build("srresnet", 2, global_residual=1), "True or False"),
        (lambda: build("rcan", 2, n_feats=8, reduction=16), "n_feats // reduction"),
        (lambda: load_released("foo", 4), r"unknown released network.*'grl_tiny': \[4\]"),
        (lambda: load_released("edsr", 4), "trainable architecture: use build"),
        (lambda: load_released("grl_tiny", 2), r"valid: \[4\]"),
        (lambda: load_released("pan", 8), r"valid: \[2, 3, 4\]"),
    ],
)
@pytest.mark.bad_input(
    "an unknown network name, scale or size setting",
    "ValueError naming the valid choices",
)
def test_bad_names_scales_and_sizes(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.bad_input(
    "a weight file of another network",
    "WeightFileError naming the keys that do not fit",
)
def test_released_rejects_a_file_of_another_network(tmp_path: Path) -> None:
    path = tmp_path / "edsr.pth"
    torch.save(build("edsr", 4, n_feats=8, n_blocks=1).state_dict(), path)
    with pytest.raises(WeightFileError, match=r"does not fit pan x4: keys .*missing"):
        load_released("pan", 4, path=path, device="cpu")
    with pytest.raises(WeightFileError, match="spandrel does not recognise"):
        load_spandrel(path, device="cpu")


# -------------------------------------------------------------------------- weights


class _Evil:
    """Unpickling this would run a shell command (creating a marker file)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("fmt", ["zip", "legacy", "raw_pickle"])
@pytest.mark.bad_input(
    "a weight file whose pickle carries code",
    "refused before any of it runs, with a WeightFileError naming the file",
)
def test_pickle_carrying_code_is_refused(tmp_path: Path, fmt: str) -> None:
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    payload = {"weight": torch.zeros(2), "hook": _Evil(marker)}
    if fmt == "raw_pickle":
        path.write_bytes(pickle.dumps(payload))
    else:
        torch.save(payload, path, _use_new_zipfile_serialization=fmt == "zip")
    with pytest.raises(WeightFileError, match=r"refused to load .*evil\.pth.*not a plain tensor"):
        safe_load_state_dict(path)
    assert not marker.exists()


@pytest.mark.bad_input(
    "a truncated weight file",
    "WeightFileError naming the file and saying to fetch it again",
)
def test_truncated_file_is_refused(tmp_path: Path) -> None:
    full = tmp_path / "full.pth"
    torch.save(build("edsr", 2, n_feats=8, n_blocks=1).state_dict(), full)
    for legacy in (False, True):
        torch.save(torch.load(full), full, _use_new_zipfile_serialization=not legacy)
        cut = tmp_path / f"cut_{legacy}.pth"
        data = full.read_bytes()
        cut.write_bytes(data[: len(data) * 2 // 3])
        with pytest.raises(WeightFileError, match=r"cut_.*truncated or corrupt.*fetch it again"):
            safe_load_state_dict(cut)


@needs_mirror
def test_truncated_real_checkpoint_is_refused(tmp_path: Path) -> None:
    data = weight("pan", 4).read_bytes()
    cut = tmp_path / "PANx4_DF2K.pth"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(WeightFileError, match="truncated or corrupt"):
        load_released("pan", 4, path=cut, device="cpu")


@pytest.mark.parametrize(
    ("payload", "match"),
    [
        ([1, 2, 3], "holds a list, not a state dict"),
        (torch.zeros(3), "holds a Tensor, not a state dict"),
        ({"a": 1, "b": "text"}, r"2 of 2 entries are not named tensors \('a': int"),
        ({"state_dict": {"w": [1.0]}, "epoch": 3}, r"'w': list"),
        ({}, "empty state dict"),
    ],
)
@pytest.mark.bad_input(
    "a weight file holding objects other than tensors",
    "WeightFileError saying what it holds",
)
def test_non_tensor_payload_is_refused(tmp_path: Path, payload, match: str) -> None:
    path = tmp_path / "bad.pth"
    torch.save(payload, path)
    with pytest.raises(WeightFileError, match=match):
        safe_load_state_dict(path)


@pytest.mark.bad_input(
    "an empty file, or a file that is not a weight file",
    "WeightFileError saying which (FileNotFoundError for a missing one)",
)
def test_not_a_weight_file(tmp_path: Path) -> None:
    (tmp_path / "empty.pth").write_bytes(b"")
    with pytest.raises(WeightFileError, match="empty"):
        safe_load_state_dict(tmp_path / "empty.pth")
    (tmp_path / "text.pth").write_text("hello world, not weights")
    with pytest.raises(WeightFileError, match="not a PyTorch weight file"):
        safe_load_state_dict(tmp_path / "text.pth")
    (tmp_path / "bad.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(WeightFileError, match="not a valid safetensors"):
        safe_load_state_dict(tmp_path / "bad.safetensors")
    with pytest.raises(FileNotFoundError, match="missing.pth"):
        safe_load_state_dict(tmp_path / "missing.pth")


def test_wrappers_and_prefixes_are_unwrapped(tmp_path: Path) -> None:
    sd = {"a.weight": torch.ones(2), "b.bias": torch.zeros(1)}
    ema = {k: v + 1 for k, v in sd.items()}
    cases = {
        "params.pth": {"params": sd},
        "ema.pth": {"params": sd, "params_ema": ema},
        "ckpt.pth": {"state_dict": {f"module.{k}": v for k, v in sd.items()}, "epoch": 7},
        "plain.pth": sd,
    }
    for fname, obj in cases.items():
        torch.save(obj, tmp_path / fname)
        got = safe_load_state_dict(tmp_path / fname)
        want = ema if fname == "ema.pth" else sd
        assert got.keys() == want.keys()
        assert all(torch.equal(got[k], want[k]) for k in want)
    from safetensors.torch import save_file

    save_file(sd, tmp_path / "w.safetensors")
    assert safe_load_state_dict(tmp_path / "w.safetensors").keys() == sd.keys()


# -------------------------------------------------------------------------- wrapper


class _NeedsMultiple(nn.Module):
    """Nearest x2 that only accepts sides divisible by 8 (like window-attention models)."""

    scale = 2
    pad_multiple = 8

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert x.shape[-2] % 8 == 0 and x.shape[-1] % 8 == 0, tuple(x.shape)
        return F.interpolate(x, scale_factor=2, mode="nearest")


def test_wrapper_pads_and_crops() -> None:
    model = SRModel(_NeedsMultiple(), device="cpu")
    assert model.pad_multiple == 8 and model.name == "_needsmultiple" and not model.training
    x = torch.rand(2, 3, 13, 10)
    torch.testing.assert_close(model(x), F.interpolate(x, scale_factor=2, mode="nearest"))
    tiny = SRModel(_NeedsMultiple(), min_size=16, device="cpu")
    assert tiny(torch.rand(1, 3, 3, 5)).shape == (1, 3, 6, 10)  # replicate: pad > side


@pytest.mark.bad_input(
    "a network whose output is not scale x its input",
    "RuntimeError naming the model and both shapes, asking whether the scale is right",
)
def test_wrapper_checks_output_size_and_input() -> None:
    wrong = SRModel(nn.Identity(), scale=2, name="identity", device="cpu")
    with pytest.raises(RuntimeError, match=r"'identity' returned \(1, 3, 8, 8\).*scale 2"):
        wrong(torch.rand(1, 3, 8, 8))
    model = wrap(build("fsrcnn", 2, **SMALL["fsrcnn"]), device="cpu")
    with pytest.raises(ValueError, match=r"\(N, 3, h, w\)"):
        model(torch.rand(3, 8, 8))
    with pytest.raises(ValueError, match=r"\(N, 3, h, w\)"):
        model(torch.rand(1, 1, 8, 8))
    with pytest.raises(TypeError, match="float"):
        model(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="scale must be a positive int"):
        SRModel(nn.Identity())
    with pytest.raises(ValueError, match="already wrapped"):
        wrap(model, clamp=True)


def test_wrapper_freezes_on_request_and_passes_input_gradients() -> None:
    model = wrap(build("edsr", 2, **SMALL["edsr"]), device="cpu")
    assert wrap(model) is model and model.device == torch.device("cpu")
    assert all(p.requires_grad for p in model.parameters())
    assert model.frozen() is model
    assert not any(p.requires_grad for p in model.parameters())
    x = torch.rand(1, 3, 8, 8, requires_grad=True)
    model(x)[0, :, 8, 8].sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    model.frozen(False)
    assert all(p.requires_grad for p in model.parameters())


# ------------------------------------------------------------------ released weights


@needs_mirror
@pytest.mark.parametrize(
    ("name", "scale"), [(n, s) for (n, s) in WEIGHTS if n != "grl_tiny"], ids=str
)
def test_released_state_dict_keys_match_the_files(name: str, scale: int) -> None:
    sd = safe_load_state_dict(weight(name, scale))  # "module." stripped (IMDN)
    model = load_released(name, scale, path=weight(name, scale), device="cpu")
    own = model.model.state_dict()
    assert own.keys() == sd.keys()
    assert all(torch.equal(own[k], sd[k]) for k in sd)
    if name == "pan" and scale != 4:
        with pytest.raises(WeightFileError, match="unexpected"):
            load_released(name, scale, path=weight(name, 4), device="cpu")


def _baby_x4() -> tuple[torch.Tensor, torch.Tensor]:
    from helpers.io import load_image

    base = MIRROR / "mirror" / PAN_ROOT / "datasets" / "Set5"
    lr = load_image(base / "LR_bicubic" / "X4" / "babyx4.png")
    hr = load_image(base / "HR" / "baby.png")[..., : 4 * lr.shape[-2], : 4 * lr.shape[-1]]
    return lr, hr


def _check_baby(model: SRModel, name: str) -> None:
    from helpers.metrics import psnr

    lr, hr = _baby_x4()
    with torch.inference_mode():
        sr = model(lr.to(model.device)).cpu()
    # Range convention: a model fed [0, 1] answers on [0, 1] with the same mean colour
    # (a lost mean shift or a 0-255 model would be off by tenths or by 255x).
    assert -0.1 <= sr.min() and sr.max() <= 1.1
    assert (sr.mean(dim=(2, 3)) - lr.mean(dim=(2, 3))).abs().max() < 0.01
    got = float(psnr(sr, hr, shave=4, quantize=True)[0])
    assert abs(got - BABY_X4[name]) < 0.05, f"{name}: {got:.3f} dB vs {BABY_X4[name]}"


@needs_mirror
@pytest.mark.parametrize("name", ["pan", "imdn", "carn_m"])
def test_released_set5_baby_x4_psnr(name: str) -> None:
    _check_baby(load_released(name, 4, path=weight(name, 4)), name)


@needs_mirror
def test_grl_tiny_loads_through_spandrel() -> None:
    model = load_released("grl_tiny", 4, path=weight("grl_tiny", 4), device="cpu")
    assert (model.name, model.scale, model.receptive_field) == ("grl_tiny", 4, None)
    assert param_count(model) > 500_000
    generic = load_spandrel(weight("grl_tiny", 4), device="cpu")
    assert (generic.name, generic.scale) == ("grl", 4)


@pytest.mark.slow
@needs_mirror
def test_grl_tiny_set5_baby_x4_psnr() -> None:
    # ~30 s on a 2-core CPU: GRL pads to 64-pixel windows and runs dense attention.
    _check_baby(load_released("grl_tiny", 4, path=weight("grl_tiny", 4)), "grl_tiny")


@needs_mirror
def test_load_released_fetches_through_the_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = pytest.importorskip("helpers.data")
    if "weights/carn_m" not in data.keys("weights/"):
        pytest.skip("data_manifest.yaml has no weights/carn_m entry yet")
    monkeypatch.setenv("HELPERS_DATA_MIRROR", str(MIRROR))
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path))
    model = load_released("carn_m", 2, device="cpu")
    assert model.scale == 2 and any(tmp_path.rglob("carn_m*"))


def test_non_local_attention_fused_path_equals_dense_path(monkeypatch):
    """Large inputs switch to the fused kernel (linear memory); it must compute the same
    attention, forward and backward, as the dense path used for small inputs."""
    from helpers.models.arch import NonLocalAttention

    torch.manual_seed(0)
    block = NonLocalAttention(8, reduction=2).eval()
    x = torch.rand(2, 8, 12, 10, requires_grad=True)
    dense = block(x)
    (g_dense,) = torch.autograd.grad(dense.square().sum(), x)
    monkeypatch.setattr(NonLocalAttention, "dense_limit_bytes", 0)
    fused = block(x)
    (g_fused,) = torch.autograd.grad(fused.square().sum(), x)
    torch.testing.assert_close(fused, dense, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(g_fused, g_dense, rtol=1e-4, atol=1e-5)


def test_tsrn_adds_the_matlab_bicubic_of_its_input() -> None:
    # With the last conv zeroed, TSRN is its skip: MATLAB bicubic (the paper's Sec. 4).
    torch.manual_seed(0)
    model = build("tsrn", 4, n_feats=8, n_blocks=2)
    torch.nn.init.zeros_(model.conv_out.weight)
    torch.nn.init.zeros_(model.conv_out.bias)
    x = torch.rand(1, 3, 10, 12)
    torch.testing.assert_close(model(x), build("bicubic", 4)(x))
    assert len(model.body) == 2 and not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def test_edsr_bn_puts_batch_norm_in_every_block_and_keeps_plain_keys() -> None:
    plain = build("edsr", 2, n_feats=8, n_blocks=3)
    with_bn = build("edsr", 2, n_feats=8, n_blocks=3, bn=True)
    assert sum(isinstance(m, nn.BatchNorm2d) for m in with_bn.modules()) == 6
    assert not any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    assert "body.0.body.2.weight" in plain.state_dict()  # EDSR's released key layout
    assert with_bn.receptive_field == plain.receptive_field
