"""The LAM map cache: a hit returns the computed map without running the network, and
every input the map depends on is in the key."""

from __future__ import annotations

import copy
import dataclasses

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import attribution
from helpers.attribution.cache import (
    cache_path,
    cached_lam,
    cached_lam_maps,
    lam_key,
    model_digest,
)
from helpers.models import build


class _Counting(nn.Module):
    """Wraps a model and counts forward calls (to prove a hit runs nothing)."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.scale = model.scale
        self.receptive_field = model.receptive_field
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.model(x)


@pytest.fixture()
def net() -> _Counting:
    torch.manual_seed(0)
    return _Counting(build("edsr", 2, n_feats=8, n_blocks=1))


@pytest.fixture()
def img() -> torch.Tensor:
    from skimage import data

    hr = torch.from_numpy(data.astronaut()[30:158, 150:278].copy()).permute(2, 0, 1)[None]
    return F.interpolate(hr.float() / 255.0, size=(16, 16), mode="area")


WINDOW = (12, 12, 8)


def test_hit_equals_fresh_map_and_runs_no_network(net, img, tmp_path):
    fresh = attribution.lam(net, img, WINDOW, steps=6)
    first = cached_lam(net, img, WINDOW, cache_dir=tmp_path, steps=6)
    assert not first.cached
    assert torch.equal(first.map, fresh.map)
    calls = net.calls
    hit = cached_lam(net, img, WINDOW, cache_dir=tmp_path, steps=6, batch=3)
    assert hit.cached and net.calls == calls  # batch is not in the key; nothing ran
    for f in dataclasses.fields(first):
        if f.name != "cached":
            a, b = getattr(first, f.name), getattr(hit, f.name)
            assert torch.equal(a, b) if isinstance(a, torch.Tensor) else a == b, f.name
    assert hit.di == fresh.di and hit.degenerate == fresh.degenerate
    assert len(list((tmp_path / "lam").glob("*.pt"))) == 1


def test_every_input_is_in_the_key(net, img):
    base = lam_key(net, img, WINDOW, steps=6)
    assert lam_key(net, img, WINDOW, steps=6, batch=2) == base
    assert lam_key(net, img, WINDOW) == lam_key(net, img, WINDOW, steps=attribution.DEFAULT_STEPS)
    changed = [
        lam_key(net, img, WINDOW, steps=7),
        lam_key(net, img, WINDOW, steps=6, sigma=2.0),
        lam_key(net, img, WINDOW, steps=6, rule="trapezoid"),
        lam_key(net, img, WINDOW, steps=6, path="linear"),
        lam_key(net, img, (10, 12, 8), steps=6),
        lam_key(net, img.flip(-1), WINDOW, steps=6),
    ]
    other = copy.deepcopy(net)
    with torch.no_grad():
        next(other.parameters()).view(-1)[0] += 1e-6  # one weight, barely changed
    changed.append(lam_key(other, img, WINDOW, steps=6))
    assert model_digest(other) != model_digest(net)
    assert len({base, *changed}) == len(changed) + 1


def test_fast_mode_key_is_the_same_whether_steps_is_left_out_or_resolved(net, img):
    """The LAM chapter asks fast maps with ``steps=None``, the DI chapter with the nodes
    ``path_settings`` resolves: both must hit the same cached map (and differ from exact)."""
    rule, steps = attribution.path_settings("fast", None, None)
    lam_chapter = lam_key(net, img, WINDOW, mode="fast", steps=None)
    assert lam_key(net, img, WINDOW, mode="fast", steps=steps) == lam_chapter
    assert lam_key(net, img, WINDOW, mode="fast", rule=rule, steps=steps) == lam_chapter
    assert lam_key(net, img, WINDOW, mode="exact") != lam_chapter


@pytest.mark.bad_input(
    "a cached LAM map asked with an unknown argument or an invalid setting",
    "a TypeError or ValueError names it and nothing is cached",
)
def test_unknown_argument_and_bad_input_cache_nothing(net, img, tmp_path):
    with pytest.raises(TypeError, match="stepz"):
        cached_lam(net, img, WINDOW, cache_dir=tmp_path, stepz=6)
    with pytest.raises(ValueError, match="sigma"):
        cached_lam(net, img, WINDOW, cache_dir=tmp_path, sigma=-1.0)
    assert not (tmp_path / "lam").exists() or not any((tmp_path / "lam").iterdir())


@pytest.mark.bad_input(
    "a damaged LAM cache file, or one holding another map's key",
    "it is ignored with a warning, recomputed and replaced",
)
def test_damaged_or_foreign_file_is_recomputed(net, img, tmp_path):
    first = cached_lam(net, img, WINDOW, cache_dir=tmp_path, steps=4)
    path = cache_path(lam_key(net, img, WINDOW, steps=4), tmp_path)
    path.write_bytes(b"truncated")
    with pytest.warns(UserWarning, match="unusable"):
        again = cached_lam(net, img, WINDOW, cache_dir=tmp_path, steps=4)
    assert not again.cached and torch.equal(again.map, first.map)
    torch.save({"key": "someone-else", "result": {}}, path)
    with pytest.warns(UserWarning, match="key does not match"):
        assert not cached_lam(net, img, WINDOW, cache_dir=tmp_path, steps=4).cached
    assert cached_lam(net, img, WINDOW, cache_dir=tmp_path, steps=4).cached  # repaired


def test_model_part_of_the_key_is_the_weights_digest_and_lam_attributes(net, img):
    # The same tensors in a separately built network: the same key (no repr, no identity).
    twin = _Counting(build("edsr", 2, n_feats=8, n_blocks=1))
    twin.load_state_dict(net.state_dict())
    assert model_digest(twin) == model_digest(net)
    assert lam_key(twin, img, WINDOW, steps=6) == lam_key(net, img, WINDOW, steps=6)
    # What LAM reads from the model (the crop's field, the padding) is in the key.
    for attr, value in (("receptive_field", 99), ("pad_multiple", 4), ("scale", 3)):
        other = copy.deepcopy(net)
        setattr(other, attr, value)
        assert model_digest(other) != model_digest(net), attr
    # So is the class of the object LAM runs (a wrapper may pad or crop differently).
    assert model_digest(net.model) != model_digest(net)


def test_cached_lam_maps_attribute_every_network_on_every_central_window(net, img, tmp_path):
    from types import SimpleNamespace

    cases = [SimpleNamespace(name="a", lr=img), SimpleNamespace(name="b", lr=img.flip(-1))]
    nets = {"x": net, "y": copy.deepcopy(net)}
    maps = cached_lam_maps(nets, cases, 2, 8, cache_dir=tmp_path, progress=False, steps=4)
    assert list(maps) == [("x", "a"), ("x", "b"), ("y", "a"), ("y", "b")]
    window = attribution.center_window(img, 2, 8)
    assert maps[("x", "b")].window == window
    assert torch.equal(
        maps[("x", "b")].map, attribution.lam(net, img.flip(-1), window, steps=4).map
    )
    # Same weights, same key: the second network's maps are read from the cache.
    assert maps[("y", "a")].cached and not maps[("x", "a")].cached
