"""The zoo's table of trained members (helpers.networks.zoo.run_rows) against the configs
and modules it is given, and a member's config against the preset table."""

from __future__ import annotations

from pathlib import Path

import pytest

from helpers import presets
from helpers.models import build
from helpers.networks import zoo
from helpers.train import TrainResult

pytestmark = pytest.mark.usefixtures("one_thread")


def _run(name: str, seconds: float, cached: bool, **size: int) -> TrainResult:
    """A TrainResult of a small untrained network of registry architecture ``name``."""
    cfg = zoo.recipe_config(name, size, 4, "smoke")
    model = build(name, 4, **size)
    return TrainResult(model, cfg, "key", Path("unused.pt"), seconds, [], cached)


def test_run_rows_by_hand() -> None:
    runs = {
        ("tiny_rcan", 4): _run("rcan", 12.34, False, n_groups=1, n_blocks=1, n_feats=16),
        ("tiny_fsrcnn", 4): _run("fsrcnn", 0.06, True, d=8, s=4, m=1),
    }
    rows = zoo.run_rows(runs)
    assert [(r["model"], r["scale"]) for r in rows] == list(runs)  # the order of `runs`
    rcan, fsrcnn = rows
    fsrcnn_net = runs[("tiny_fsrcnn", 4)].model
    assert fsrcnn == {
        "model": "tiny_fsrcnn",
        "scale": 4,
        "architecture": "fsrcnn",
        "params": sum(p.numel() for p in fsrcnn_net.parameters()),
        "receptive_field": fsrcnn_net.receptive_field,
        "steps": presets.get("train_budget", "smoke")["steps"]
        * presets.get("train_step_factor", "smoke").get("fsrcnn", 1),
        "train_s": 0.1,
        "cached": True,
    }
    assert isinstance(fsrcnn["receptive_field"], int)
    assert rcan["receptive_field"] == "global"  # channel attention pools the whole image
    assert (rcan["architecture"], rcan["train_s"], rcan["cached"]) == ("rcan", 12.3, False)
    assert zoo.run_rows({}) == []


def test_zoo_config_is_the_recipe_at_the_members_size() -> None:
    assert tuple(zoo.MEMBERS) == presets.ZOO
    cfg = zoo.zoo_config("edsr_s", 4, "smoke")
    assert (cfg.model, cfg.model_kwargs) == ("edsr", {"n_feats": 16, "n_blocks": 4})
    assert cfg.patch == presets.get("train_budget", "smoke")["lr_patch"] * 4
