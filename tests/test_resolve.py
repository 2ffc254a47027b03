"""Tests of the one network resolver (helpers.networks.resolve) and of weights_digest: every
entry kind (zoo, family, released, weight file, module:callable), the up-front checks and
their messages, and that a zoo network comes out bit-identical to the raw trained module."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import torch
from _mirror import needs_mirror
from safetensors.torch import save_file
from spandrel.architectures.DnCNN import DnCNN
from spandrel.architectures.ESRGAN import ESRGAN
from spandrel.architectures.SwinIR import SwinIR

from helpers.models import SRModel, build, weights_digest, wrap
from helpers.networks import resolve as rs
from helpers.networks import zoo

# Small tensors: one torch thread is fastest and does not spin against other jobs.
pytestmark = pytest.mark.usefixtures("one_thread")

TESTS = Path(__file__).resolve().parent
FIXTURES = TESTS / "fixtures"


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh HELPERS_DATA_DIR, so receptive fields are measured, not read back."""
    root = tmp_path / "cache"
    monkeypatch.setenv("HELPERS_DATA_DIR", str(root))
    return root


@pytest.fixture
def user_module(monkeypatch: pytest.MonkeyPatch) -> None:
    """``user_model`` (tests/fixtures/user_model.py) importable, as a user's PYTHONPATH would."""
    monkeypatch.syspath_prepend(str(FIXTURES))


@pytest.fixture
def no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any training (zoo or family) fails the test."""

    def boom(*args: object, **kwargs: object) -> None:
        raise AssertionError("training started before every entry was checked")

    monkeypatch.setattr(zoo, "zoo_model", boom)
    monkeypatch.setattr(rs, "train", boom)


def _esrgan_file(path: Path, scale: int = 4) -> Path:
    """A random-weight ESRGAN (RRDB, 1 block, 8 filters) state dict, as a user would save."""
    torch.manual_seed(0)
    torch.save(ESRGAN(num_filters=8, num_blocks=1, scale=scale).state_dict(), path)
    return path


# ------------------------------------------------------------------------ weight files


def test_esrgan_file_resolves_with_scale_from_the_file_and_a_measured_field(
    tmp_path: Path, own_cache: Path
) -> None:
    path = _esrgan_file(tmp_path / "my_x4.pth")
    m = rs.resolve(str(path), 4, "smoke", device="cpu")
    assert isinstance(m, SRModel)
    assert (m.name, m.origin, m.scale, m.train_steps) == ("my_x4", "file", 4, None)
    assert not m.training
    x = torch.rand(2, 3, 10, 12)
    with torch.no_grad():
        y = m(x)
    assert y.shape == (2, 3, 40, 48)
    # 1 RRDB = 15 3x3 convs, plus first, LR, 2 up and 2 HR convs: a finite field in LR px.
    assert isinstance(m.receptive_field, int) and 30 < m.receptive_field < 100
    assert len(list((own_cache / "receptive_field").glob("*.json"))) == 1
    again = rs.resolve(path, 4, "smoke", device="cpu")  # a Path works too; field read back
    assert again.receptive_field == m.receptive_field and again.digest == m.digest


def test_swinir_safetensors_file_resolves(tmp_path: Path, own_cache: Path) -> None:
    torch.manual_seed(0)
    net = SwinIR(
        upscale=2,
        img_size=16,
        window_size=4,
        embed_dim=12,
        depths=[1],
        num_heads=[2],
        mlp_ratio=2.0,
        upsampler="pixelshuffledirect",
    )
    path = tmp_path / "swin_x2.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    m = rs.resolve(str(path), 2, "smoke", device="cpu")
    assert (m.name, m.origin, m.scale) == ("swin_x2", "file", 2)
    with torch.no_grad():
        assert m(torch.rand(1, 3, 9, 13)).shape == (1, 3, 18, 26)
    assert m.receptive_field is None or m.receptive_field > 4


def test_file_of_another_scale_is_refused(tmp_path: Path) -> None:
    path = _esrgan_file(tmp_path / "my_x4.pth")
    with pytest.raises(ValueError, match=r"x4 ESRGAN network .*x2 is asked for.*scale=4"):
        rs.resolve(str(path), 2, "smoke", device="cpu")


def test_missing_file_and_non_weight_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no such weight file .*nope\.pth"):
        rs.resolve(str(tmp_path / "nope.pth"), 4, "smoke")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(ValueError, match=r"not a weight file; expected one of \['.pth'"):
        rs.resolve(str(text), 4, "smoke")


@pytest.mark.parametrize(
    ("in_nc", "match"),
    [(3, r"'Restoration' model \(scale x1\), not super-resolution"), (1, "maps 1 to 1 channels")],
)
def test_non_sr_spandrel_models_are_refused(tmp_path: Path, in_nc: int, match: str) -> None:
    path = tmp_path / "dncnn.pth"
    torch.save(DnCNN(in_nc=in_nc, out_nc=in_nc, nc=8, nb=8).state_dict(), path)
    with pytest.raises(ValueError, match=match):
        rs.resolve(str(path), 4, "smoke", device="cpu")


# --------------------------------------------------------------------------- callables


def test_callable_resolves_with_measured_scale_and_field(
    user_module: None, own_cache: Path
) -> None:
    m = rs.resolve("user_model:build", 3, "smoke", device="cpu")
    assert (m.name, m.origin, m.scale, m.train_steps) == ("build", "callable", 3, None)
    assert m.receptive_field == 5  # two 3x3 convolutions
    with torch.no_grad():
        assert m(torch.rand(1, 3, 7, 5)).shape == (1, 3, 21, 15)
    cls = rs.resolve("user_model:TinySR", 2, "smoke", device="cpu")  # a class is a callable
    assert (cls.name, cls.scale, cls.receptive_field) == ("TinySR", 2, 5)


def test_dotted_callable_path(monkeypatch: pytest.MonkeyPatch, own_cache: Path) -> None:
    monkeypatch.syspath_prepend(str(TESTS.parent))
    m = rs.resolve("tests.fixtures.user_model:build", 2, "smoke", device="cpu")
    assert (m.name, m.origin, m.scale) == ("build", "callable", 2)


def test_callable_errors(user_module: None) -> None:
    with pytest.raises(ValueError, match=r"maps \(1, 3, 16, 16\) to \(1, 3, 32, 32\).*x2 network"):
        rs.resolve("user_model:fixed_x2", 4, "smoke", device="cpu")
    with pytest.raises(ValueError, match="returned a function, expected a torch.nn.Module"):
        rs.resolve("user_model:not_a_module", 4, "smoke", device="cpu")
    with pytest.raises(ValueError, match=r"has no attribute 'nope'.*'build'"):
        rs.resolve("user_model:nope", 4, "smoke")
    with pytest.raises(ValueError, match="cannot import module 'no_such_module_xyz'"):
        rs.resolve("no_such_module_xyz:build", 4, "smoke")


# ------------------------------------------------------------------------------ names


def test_unknown_name_lists_every_valid_form() -> None:
    with pytest.raises(ValueError) as info:
        rs.resolve("edsr_mm", 4, "smoke")
    msg = str(info.value)
    assert "did you mean 'edsr_m'" in msg
    for needle in (
        *zoo.MEMBERS,
        "pan",
        "grl_tiny",
        "edsr_f<width>_b<blocks>",
        ".pth",
        "package.module:callable",
    ):
        assert needle in msg, needle
    with pytest.raises(ValueError, match=r"released grl_tiny exists at scales \[4\], not x2"):
        rs.resolve("grl_tiny", 2, "smoke")
    with pytest.raises(ValueError, match="unknown preset|preset"):
        rs.resolve("fsrcnn", 4, "nope")


def test_zoo_entry_is_bit_identical_to_the_raw_trained_module() -> None:
    raw = zoo.zoo_model("fsrcnn", 4, "smoke", device="cpu", progress=False)
    m = rs.resolve("fsrcnn", 4, "smoke", device="cpu", progress=False)
    assert (m.name, m.origin, m.scale) == ("fsrcnn", "zoo", 4)
    assert m.train_steps == raw.config.steps == zoo.zoo_config("fsrcnn", 4, "smoke").steps
    assert m.pad_multiple == 1 and m.min_size == 1 and not m.clamp
    assert m.receptive_field == raw.model.receptive_field
    assert not m.training and not m.model.training
    assert {p.dtype for p in m.parameters()} == {p.dtype for p in raw.model.parameters()}
    x = torch.rand(2, 3, 13, 11, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(m(x), raw.model(x))
    assert m.digest == weights_digest(raw.model)


def test_family_entry_shares_its_zoo_twin_checkpoint() -> None:
    m = rs.resolve("fsrcnn_d32_m4", 4, "smoke", device="cpu", progress=False)
    twin = rs.resolve("fsrcnn", 4, "smoke", device="cpu", progress=False)
    assert (m.name, m.origin, m.train_steps) == ("fsrcnn_d32_m4", "family", twin.train_steps)
    assert m.digest == twin.digest


@needs_mirror
def test_released_entry() -> None:
    m = rs.resolve("PAN", 4, "smoke", device="cpu")
    assert (m.name, m.origin, m.scale, m.train_steps) == ("pan", "released", 4, None)


# ------------------------------------------------------------------------ resolve_many


def test_resolve_many_keeps_order_and_names(
    tmp_path: Path, user_module: None, own_cache: Path
) -> None:
    path = _esrgan_file(tmp_path / "my_x4.pth")
    nets = rs.resolve_many([str(path), "user_model:build"], 4, "smoke", device="cpu")
    assert list(nets) == ["my_x4", "build"]
    assert [m.origin for m in nets.values()] == ["file", "callable"]
    assert list(rs.resolve_many(str(path), 4, "smoke", device="cpu")) == ["my_x4"]


def test_resolve_many_checks_every_entry_before_training(tmp_path: Path, no_training: None) -> None:
    t0 = time.perf_counter()
    with pytest.raises(ValueError, match="did you mean 'edsr_m'"):
        rs.resolve_many(["fsrcnn", "edsr_s", "edsr_m", "rcan_s", "edsr_mm"], 4, "smoke")
    # a wrong scale found by loading the file, still before the zoo trains
    wrong = _esrgan_file(tmp_path / "my_x4.pth")
    rng = torch.get_rng_state()
    with pytest.raises(ValueError, match="x2 is asked for"):
        rs.resolve_many(["fsrcnn", "edsr_s", str(wrong)], 2, "smoke", device="cpu")
    assert torch.equal(torch.get_rng_state(), rng)  # the untrained probes leave the RNG alone
    with pytest.raises(ValueError, match=r"2 of 3 models entries are invalid") as info:
        rs.resolve_many(["fsrcnn", "edsr_mm", str(tmp_path / "gone.pt")], 4, "smoke")
    assert "edsr_mm" in str(info.value) and "gone.pt" in str(info.value)
    with pytest.raises(ValueError, match="both have the display name 'my_x4'"):
        (tmp_path / "b").mkdir()
        other = _esrgan_file(tmp_path / "b" / "my_x4.pth")
        rs.resolve_many([str(wrong), "fsrcnn", str(other)], 4, "smoke")
    with pytest.raises(ValueError, match="models is empty"):
        rs.resolve_many([], 4, "smoke")
    assert time.perf_counter() - t0 < 20


# ------------------------------------------------------------------------------ digest


def test_weights_digest_ignores_wrapping_and_sees_one_weight() -> None:
    torch.manual_seed(0)
    net = build("edsr", 4, n_feats=8, n_blocks=1)
    d = weights_digest(net)
    assert len(d) == 64 and int(d, 16) >= 0
    once = wrap(net, device="cpu")
    twice = SRModel(SRModel(net, device="cpu"), device="cpu")
    assert weights_digest(once) == weights_digest(twice) == once.digest == twice.digest == d
    copy = build("edsr", 4, n_feats=8, n_blocks=1)
    copy.load_state_dict(net.state_dict())
    assert weights_digest(copy) == d  # same tensors, another object: same digest
    with torch.no_grad():
        next(net.parameters()).view(-1)[0] += 1e-6
    assert weights_digest(net) != d
    assert once.digest == d  # cached: models are frozen once resolved


def test_weights_digest_sees_settings_that_share_all_tensors() -> None:
    # SRResNet with and without its global skip has the same tensors and computes otherwise.
    torch.manual_seed(0)
    a = build("srresnet", 2, n_feats=8, n_blocks=1, global_residual=True)
    b = build("srresnet", 2, n_feats=8, n_blocks=1, global_residual=False)
    b.load_state_dict(a.state_dict())
    assert weights_digest(a) != weights_digest(b)
