"""Receptive fields: the architecture's number equals the measured gradient support."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from helpers.models import (
    ConvOp,
    DeconvOp,
    UpOp,
    analytic_reach,
    analytic_receptive_field,
    build,
    empirical_receptive_field,
    param_count,
)
from helpers.models import receptive_field as rf
from helpers.models.released import CARNM, IMDN, PAN


def test_analytic_simple_chains() -> None:
    assert analytic_receptive_field([ConvOp(3)] * 3, 1) == 7
    assert analytic_receptive_field([ConvOp(3, dilation=2)], 1) == 5
    assert analytic_receptive_field([ConvOp(5), ConvOp(1)], 1) == 5
    # Nearest x2 then a 3x3 conv in HR: the widest phase straddles two LR pixels.
    assert analytic_receptive_field([UpOp(2), ConvOp(3)], 2) == 2
    # FSRCNN's 9x9 deconvolution alone, stride 2, padding 4: 5 LR taps at phase 0.
    assert analytic_receptive_field([DeconvOp(9, 2, 4)], 2) == 5


def test_analytic_reach_closed_forms() -> None:
    # k 3x3 convs: k px each side, the interval symmetric (rf = 2 reach + 1).
    assert analytic_reach([ConvOp(3)] * 3, 1) == 3
    # conv, x2, HR conv: phase 0 sees [c-2, c+1], phase 1 [c-1, c+2] (rf 4, reach 2)
    ops = [ConvOp(3), UpOp(2), ConvOp(3)]
    assert (analytic_receptive_field(ops, 2), analytic_reach(ops, 2)) == (4, 2)
    net = build("edsr", 2, n_feats=4, n_blocks=2)
    assert net.receptive_reach == net.receptive_field // 2  # EDSR x2: even rf, reach rf / 2
    assert build("rcan", 2, n_groups=1, n_blocks=1, n_feats=4, reduction=2).receptive_reach is None


def test_analytic_rejects_bad_ops() -> None:
    with pytest.raises(ValueError, match="up-sample by 2, but scale is 4"):
        analytic_receptive_field([UpOp(2)], 4)
    with pytest.raises(ValueError, match="odd kernel"):
        analytic_receptive_field([ConvOp(4)], 1)


@pytest.mark.parametrize(
    ("name", "scale", "size"),
    [
        ("fsrcnn", 2, dict(d=16, s=8, m=2)),
        ("fsrcnn", 3, dict(d=16, s=8, m=2)),
        ("fsrcnn", 4, dict(d=24, s=12, m=4)),
        ("edsr", 2, dict(n_feats=8, n_blocks=2)),
        ("edsr", 3, dict(n_feats=8, n_blocks=2)),
        ("edsr", 4, dict(n_feats=8, n_blocks=3)),
        ("srresnet", 4, dict(n_feats=8, n_blocks=2, global_residual=True)),
        ("srresnet", 3, dict(n_feats=8, n_blocks=2, global_residual=False)),
        ("tsrn", 4, dict(n_feats=8, n_blocks=2)),
        ("tsrn", 2, dict(n_feats=8, n_blocks=1)),
    ],
)
def test_analytic_equals_empirical(name: str, scale: int, size: dict) -> None:
    torch.manual_seed(0)
    model = build(name, scale, **size)
    assert isinstance(model.receptive_field, int)
    assert empirical_receptive_field(model, scale, device="cpu") == model.receptive_field


def test_empirical_grows_input_for_wide_fields() -> None:
    # 25 mapping layers reach 59 LR px: more than the first 48 px input, so it must double.
    torch.manual_seed(0)
    model = build("fsrcnn", 2, d=4, s=2, m=25)
    assert model.receptive_field > 48
    assert empirical_receptive_field(model, 2, device="cpu") == model.receptive_field


@pytest.mark.parametrize(
    ("make", "scale"),
    [(lambda: PAN(4, nb=1), 4), (lambda: CARNM(3, nf=8), 3)],
    ids=["pan-x4", "carn_m-x3"],
)
def test_released_modules_analytic_equals_empirical(make, scale: int) -> None:
    # Narrow/shallow variants of the released layouts: the same layer chain per block.
    torch.manual_seed(0)
    model = make()
    got = empirical_receptive_field(model, scale, device="cpu")
    assert got == model.receptive_field


@pytest.mark.parametrize(
    "make",
    [
        lambda: build("rcan", 2, n_groups=1, n_blocks=2, n_feats=16, reduction=2),
        lambda: build("nlsn", 2, n_feats=8, n_blocks=2, nl_every=2, reduction=2),
        lambda: IMDN(2, nf=64, num_modules=1),
    ],
    ids=["rcan", "nlsn", "imdn"],
)
def test_attention_models_are_global(make) -> None:
    # Seeded, with several squeeze units: a channel attention whose hidden ReLUs are all
    # dead would (correctly) measure a local field for that input.
    torch.manual_seed(0)
    model = make()
    assert model.receptive_field is None
    assert empirical_receptive_field(model, 2, lr_size=16, max_lr_size=32, device="cpu") is None


def test_bicubic_receptive_field() -> None:
    pytest.importorskip("helpers.data.resize")
    model = build("bicubic", 2)
    assert empirical_receptive_field(model, 2, lr_size=16, device="cpu") == 4


def test_empirical_restores_training_mode_and_checks_output() -> None:
    model = build("fsrcnn", 2, d=8, s=4, m=1)
    model.train()
    empirical_receptive_field(model, 2, lr_size=24, device="cpu")
    assert model.training
    with pytest.raises(ValueError, match="expected"):
        empirical_receptive_field(model, 3, lr_size=24, device="cpu")
    with pytest.raises(ValueError, match="lr_size"):
        empirical_receptive_field(model, 2, lr_size=64, max_lr_size=32)


def test_support_box_measures_the_larger_side_and_the_border() -> None:
    support = torch.zeros(8, 8, dtype=torch.bool)
    support[2:5, 3] = True  # 3 rows x 1 column, inside
    assert rf._support_box(support) == (3, False)
    support[6:8, 3] = True  # now rows 2-7: reaches the bottom border
    assert rf._support_box(support) == (6, True)
    with pytest.raises(ValueError, match="do not depend on the input"):
        rf._support_box(torch.zeros(8, 8, dtype=torch.bool))


def test_param_count() -> None:
    lin = nn.Linear(3, 4)
    assert param_count(lin) == 16
    lin.bias.requires_grad_(False)
    assert param_count(lin, trainable_only=True) == 12
    assert param_count(build("bicubic", 4)) == 0
