"""Tests of the one cache helper: keys, code digests, atomic verified entries."""

from __future__ import annotations

import pickle

import pytest
import torch

from helpers import cache


def test_key_depends_on_kind_config_code_inputs_not_on_key_order():
    base = cache.key("train", {"a": 1, "b": [1, 2]}, "c0", ["w"])
    assert base == cache.key("train", {"b": [1, 2], "a": 1}, "c0", ["w"])
    assert len(base) == 24
    for other in (
        cache.key("lam", {"a": 1, "b": [1, 2]}, "c0", ["w"]),
        cache.key("train", {"a": 2, "b": [1, 2]}, "c0", ["w"]),
        cache.key("train", {"a": 1, "b": [1, 2]}, "c1", ["w"]),
        cache.key("train", {"a": 1, "b": [1, 2]}, "c0", ["v"]),
    ):
        assert other != base


def test_code_digest_covers_files_and_folders_and_refuses_missing():
    one = cache.code_digest("train.py")
    assert one != cache.code_digest("train.py", "models")
    assert one == cache.code_digest("train.py")
    with pytest.raises(FileNotFoundError, match="no_such"):
        cache.code_digest("no_such.py")


def test_tensor_digest_sees_bytes_dtype_and_shape():
    x = torch.arange(6, dtype=torch.float32)
    d = cache.tensor_digest(x)
    assert d == cache.tensor_digest(x.clone())
    assert d != cache.tensor_digest(x.reshape(2, 3))
    assert d != cache.tensor_digest(x.double())
    y = x.clone()
    y[3] += 1e-6
    assert d != cache.tensor_digest(y)


def test_cached_computes_once_then_reads(tmp_path):
    calls = []

    def compute():
        calls.append(1)
        return {"x": torch.ones(3)}

    path = cache.entry_path("demo", "k1", root=tmp_path)
    assert path == tmp_path / "demo" / "k1.pt"
    first, hit = cache.cached(path, "k1", compute)
    second, hit2 = cache.cached(path, "k1", compute)
    assert (hit, hit2) == (False, True) and len(calls) == 1
    assert torch.equal(first["x"], second["x"])


@pytest.mark.parametrize("damage", ["truncate", "foreign_key", "pickle_code", "json"])
@pytest.mark.bad_input(
    "a damaged cache file (truncated, another key's entry, a code-carrying pickle, bad JSON)",
    "it is ignored with a warning, recomputed and replaced",
)
def test_damaged_or_foreign_entries_warn_and_are_recomputed(tmp_path, damage):
    suffix = ".json" if damage == "json" else ".pt"
    path = cache.entry_path("", "k", root=tmp_path, suffix=suffix)
    cache.save(path, "k", {"v": 1})
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:20])
    elif damage == "foreign_key":
        cache.save(path, "other", {"v": 1})
    elif damage == "pickle_code":
        path.write_bytes(pickle.dumps(print))  # would run code under a plain pickle load
    else:
        path.write_text("{not json")
    with pytest.warns(UserWarning, match="unusable"):
        assert cache.load(path, "k") is None
    with pytest.warns(UserWarning):
        payload, hit = cache.cached(path, "k", lambda: {"v": 2})
    assert not hit and payload["v"] == 2
    assert cache.load(path, "k")["v"] == 2  # repaired


@pytest.mark.bad_input(
    "the computation of a cache entry raises", "the error propagates and nothing is cached"
)
def test_nothing_is_written_when_compute_raises(tmp_path):
    path = cache.entry_path("", "k", root=tmp_path)

    def boom():
        raise RuntimeError("no")

    with pytest.raises(RuntimeError):
        cache.cached(path, "k", boom)
    assert not path.exists() and not list(tmp_path.iterdir())


def test_tensor_digest_of_a_zero_dim_tensor():
    assert cache.tensor_digest(torch.tensor(3)) != cache.tensor_digest(torch.tensor(4))
