"""Tests of the training loop: cache keys, reuse, resume, NaN detection, patch alignment."""

from __future__ import annotations

import dataclasses

import pytest
import torch
import torch.nn.functional as F

from helpers import train as tr
from helpers.networks.zoo import MEMBERS, zoo_config
from helpers.presets import check_preset


def _images(n: int = 2, size: int = 64) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return [torch.rand(1, 3, size, size + 8 * i, generator=g) for i in range(n)]


def _config(**kw) -> tr.TrainConfig:
    base = dict(
        model="fsrcnn", scale=2, steps=6, model_kwargs={"d": 8, "s": 4, "m": 1},
        data="unit-test-images", patch=16, batch=2, seed=3,
    )  # fmt: skip
    return tr.TrainConfig(**{**base, **kw})


def test_config_key_changes_with_every_field():
    cfg = _config()
    assert tr.config_key(cfg) == tr.config_key(_config())
    changes = dict(steps=7, seed=4, lr=1e-3, loss="l2", batch=3, patch=32, scale=4, data="x")
    changes["model_kwargs"] = {"d": 9, "s": 4, "m": 1}
    for name, value in changes.items():
        assert tr.config_key(dataclasses.replace(cfg, **{name: value})) != tr.config_key(cfg), name


@pytest.mark.bad_input(
    "a training config with a patch not a multiple of the scale, or negative steps",
    "a ValueError names the setting",
)
def test_bad_config_is_refused():
    with pytest.raises(ValueError, match="multiple of scale"):
        _config(patch=15)
    with pytest.raises(ValueError, match="steps"):
        _config(steps=-1)


def test_second_call_reuses_the_checkpoint(tmp_path):
    first = tr.train(_config(), images=_images(), cache_dir=tmp_path, progress=False)
    assert not first.cached and len(first.history) == 6
    second = tr.train(_config(), images=_images(), cache_dir=tmp_path, progress=False)
    assert second.cached and second.history == first.history
    for a, b in zip(
        first.model.state_dict().values(), second.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)


@pytest.mark.bad_input(
    "training is interrupted (Ctrl-C) and started again",
    "it resumes from the last checkpoint and ends with the weights of an unbroken run",
)
def test_interrupted_run_resumes_to_the_same_weights(tmp_path):
    full = tr.train(_config(), images=_images(), cache_dir=tmp_path / "a", progress=False)

    calls = {"n": 0}

    def flaky_l1(sr, hr, lr, model):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt  # as if the user pressed Ctrl-C during step 5
        return F.l1_loss(sr, hr)

    with pytest.raises(KeyboardInterrupt):
        tr.train(_config(), flaky_l1, _images(), tmp_path / "b", ckpt_every=2, progress=False)
    state = torch.load(next((tmp_path / "b").glob("*.pt")), weights_only=True)
    assert state["step"] == 4 and not state["done"]
    resumed = tr.train(_config(), flaky_l1, _images(), tmp_path / "b", progress=False)
    assert not resumed.cached and resumed.history == pytest.approx(full.history, abs=1e-6)
    for a, b in zip(
        full.model.state_dict().values(), resumed.model.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.bad_input(
    "the training loss becomes NaN",
    "a FloatingPointError names the step and suggests a lower lr or grad_clip",
)
def test_nan_loss_raises_with_the_step(tmp_path):
    def nan_loss(sr, hr, lr, model):
        return F.l1_loss(sr, hr) * float("nan")

    with pytest.raises(FloatingPointError, match="step 1"):
        tr.train(_config(loss="nan"), nan_loss, _images(), tmp_path, progress=False)


def test_patch_sampler_pairs_are_aligned_through_augmentation():
    # With average pooling as the degradation, LR patch == avgpool(HR patch) exactly.
    sampler = tr.PatchSampler(
        _images(3), scale=4, patch=32, seed=0, degrade=lambda x: F.avg_pool2d(x, 4)
    )
    lr, hr = sampler.sample(16)
    assert lr.shape == (16, 3, 8, 8) and hr.shape == (16, 3, 32, 32)
    torch.testing.assert_close(F.avg_pool2d(hr, 4), lr)
    lr2, _ = tr.PatchSampler(
        _images(3), scale=4, patch=32, seed=0, degrade=lambda x: F.avg_pool2d(x, 4)
    ).sample(16)
    assert torch.equal(lr, lr2)  # seeded


@pytest.mark.bad_input(
    "training images smaller than the patch", "a ValueError says to use a smaller patch"
)
def test_patch_larger_than_image_is_a_clear_error():
    with pytest.raises(ValueError, match="smaller than the patch"):
        tr.PatchSampler(_images(1, size=32), scale=2, patch=48, seed=0)


def test_zoo_configs_cover_every_member_and_preset():
    for preset in ("smoke", "embedded", "benchmark", "full"):
        for name in MEMBERS:
            cfg = zoo_config(name, 4, preset)
            assert cfg.patch % 4 == 0
    with pytest.raises(ValueError, match="embedded"):
        check_preset("huge")
    with pytest.raises(ValueError, match="edsr_s"):
        zoo_config("vgg", 4, "smoke")


def test_callback_sees_the_model_at_the_stated_steps_and_changes_nothing(tmp_path):
    plain = tr.train(_config(), images=_images(), cache_dir=tmp_path / "a", progress=False)
    seen: list[tuple[int, bool, bool]] = []

    def record(step, model):
        seen.append((step, model.training, torch.is_grad_enabled()))

    watched = tr.train(
        _config(), images=_images(), cache_dir=tmp_path / "b", progress=False,
        callback=record, callback_every=2,
    )  # fmt: skip
    assert [s for s, _, _ in seen] == [0, 2, 4, 6]
    assert not any(training or grad for _, training, grad in seen)
    assert watched.history == plain.history  # the same updates, the same losses
    for a, b in zip(
        plain.model.state_dict().values(), watched.model.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match="callback_every"):
        tr.train(_config(), images=_images(), cache_dir=tmp_path / "c", callback=record)


@pytest.mark.bad_input(
    "LR training images that are not their HR image's size divided by the scale",
    "a ValueError lists the mismatched images",
)
def test_sampler_uses_given_lr_images_and_checks_their_size():
    hr = _images()
    pairs = [tr.hr_lr_pair(im, 2) for im in hr]
    lrs = [lr for _, lr in pairs]
    a = tr.PatchSampler(hr, 2, 16, seed=0, lr_images=lrs)
    b = tr.PatchSampler(hr, 2, 16, seed=0)
    for x, y in zip(a.sample(4), b.sample(4), strict=True):
        assert torch.equal(x, y)
    with pytest.raises(ValueError, match="not their HR image's size"):
        tr.PatchSampler(hr, 2, 16, seed=0, lr_images=[lr[..., :-1, :] for lr in lrs])


@pytest.mark.bad_input(
    "a truncated training checkpoint", "it is ignored with a warning and the network retrained"
)
def test_damaged_checkpoint_warns_and_retrains(tmp_path):
    first = tr.train(_config(), images=_images(), cache_dir=tmp_path, progress=False)
    first.path.write_bytes(first.path.read_bytes()[:100])
    with pytest.warns(UserWarning, match="unusable"):
        again = tr.train(_config(), images=_images(), cache_dir=tmp_path, progress=False)
    assert not again.cached and again.history == first.history


def test_guide_channels_travel_with_the_pixels_and_stay_out_of_the_lr() -> None:
    # A guide equal to the red channel must still equal it after crop, flips, transposes.
    torch.manual_seed(0)
    rgb = torch.rand(1, 3, 40, 36)
    img = torch.cat([rgb, rgb[:, :1]], 1)
    sampler = tr.PatchSampler([img], scale=2, patch=12, seed=3)
    lr, hr = sampler.sample(16)
    assert lr.shape == (16, 3, 6, 6) and hr.shape == (16, 4, 12, 12)
    torch.testing.assert_close(hr[:, 3], hr[:, 0], rtol=0, atol=0)
    plain_lr, plain_hr = tr.PatchSampler([rgb], scale=2, patch=12, seed=3).sample(16)
    torch.testing.assert_close(lr, plain_lr, rtol=0, atol=0)
    torch.testing.assert_close(hr[:, :3], plain_hr, rtol=0, atol=0)
