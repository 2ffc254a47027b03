"""Tests of the manifest, the verified fetcher and the image sets (helpers.data)."""

from __future__ import annotations

import csv

import numpy as np
import pytest
import requests
import torch
from _mirror import MIRROR, needs_mirror
from PIL import Image

from helpers import data
from helpers.data import download as data_manifest
from helpers.data.resize import bicubic_down_uint8


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def mirror(monkeypatch):
    monkeypatch.setenv("HELPERS_DATA_MIRROR", str(MIRROR))
    return MIRROR


@needs_mirror
def test_manifest_matches_mirror_index():
    """Every mirrored data/weight file is in the manifest with the mirror's sha256."""
    with open(MIRROR / "MIRROR.tsv") as f:
        rows = {r["url"]: r["sha256"] for r in csv.DictReader(f, delimiter="\t")}
    files = data.manifest()["files"]
    urls = {e["url"]: e["sha256"] for e in files.values()}
    for url, sha in urls.items():
        if url.startswith(data.RAW_PREFIX):
            assert rows[url] == sha, url
    wanted = [u for u in rows if u.endswith((".png", ".jpg", ".pth", ".ckpt", ".txt"))]
    missing = [u for u in wanted if u not in urls and "lam.png" not in u and "6_crop" not in u]
    # chxy95's copies of 1..7.png are the same bytes as X-Lowlevel-Vision's
    missing = [u for u in missing if not u.split("/test_images/")[-1][0].isdigit()]
    assert missing == []


@needs_mirror
@pytest.mark.bad_input(
    "a corrupted file in the download cache",
    "detected by its sha256 and fetched again from the mirror",
)
def test_fetch_from_mirror_verifies_and_caches(cache, mirror):
    path = data.fetch("weights/pan_x4")
    assert path.is_file() and path.is_relative_to(cache)
    assert data_manifest._sha256(path) == data.manifest()["files"]["weights/pan_x4"]["sha256"]
    # A corrupted cache entry is detected and replaced by verified bytes.
    path.write_bytes(b"garbage")
    again = data.fetch("weights/pan_x4")
    assert data_manifest._sha256(again) == data.manifest()["files"]["weights/pan_x4"]["sha256"]


@needs_mirror
@pytest.mark.bad_input(
    "a downloaded file whose sha256 differs from the manifest",
    "ValueError giving the expected and the actual sha256; the file is deleted",
)
def test_wrong_sha_removes_file_and_says_expected_vs_got(cache, mirror, monkeypatch):
    key = "set5/HR/baby.png"
    entry = dict(data.manifest()["files"][key], sha256="0" * 64)
    files = dict(data.manifest()["files"], **{key: entry})
    full = {**data.manifest(), "files": files}
    monkeypatch.setattr(data_manifest, "manifest", lambda: full)
    with pytest.raises(ValueError, match="sha256") as err:
        data.fetch(key)
    assert "0" * 64 in str(err.value)
    assert not any(p.name == "baby.png" for p in cache.rglob("*"))


@pytest.mark.bad_input(
    "no network and no offline data mirror",
    "DataUnavailableError naming the file, its URL and HELPERS_DATA_MIRROR",
)
def test_offline_without_mirror_names_file_url_and_variable(cache, monkeypatch):
    monkeypatch.delenv("HELPERS_DATA_MIRROR", raising=False)

    def no_network(*args, **kwargs):
        raise requests.exceptions.ConnectionError("network unreachable")

    monkeypatch.setattr(requests, "get", no_network)
    with pytest.raises(data.DataUnavailableError) as err:
        data.fetch("weights/imdn_x4")
    msg = str(err.value)
    assert "weights/imdn_x4" in msg and "IMDN_x4.pth" in msg and "HELPERS_DATA_MIRROR" in msg


@pytest.mark.bad_input(
    "an unknown dataset name, data key or scale",
    "an error listing the valid choices",
)
def test_unknown_key_and_dataset_list_valid_choices():
    with pytest.raises(KeyError, match="weights"):
        data.fetch("weights/no_such_model")
    with pytest.raises(ValueError, match="set14"):
        data.load_sr_set("no_such_set", 4)
    with pytest.raises(ValueError, match="scale"):
        data.load_sr_set("embedded_test", 5)


def test_embedded_sets_ship_with_packages():
    pairs = data.load_sr_set("embedded_test", 4)
    assert [p.name for p in pairs] == ["chelsea", "coffee", "rocket", "grace_hopper"]
    for p in pairs:
        assert p.hr.shape[-2] == 4 * p.lr.shape[-2] and p.hr.shape[-1] == 4 * p.lr.shape[-1]
        assert p.hr.min() >= 0 and p.hr.max() <= 1
        # LR is the MATLAB-compatible resize of the cropped HR, rounded to 8 bits
        assert torch.equal(p.lr, bicubic_down_uint8(p.hr, 4))
    train_names = {n for n, _ in data.load_images("embedded_train")}
    assert not train_names & {p.name for p in pairs}


@needs_mirror
def test_set5_uses_matlab_lr_and_dtd_split(cache, mirror):
    pairs = data.load_sr_set("set5", 3)
    assert len(pairs) == 5
    baby = pairs[0]
    assert baby.name == "baby" and baby.hr.shape[-1] == 3 * baby.lr.shape[-1]
    train, test = data.dtd10("train"), data.dtd10("test")
    assert len(train) == 800 and len(test) == 400  # 80 + 40 per class, 10 classes
    assert {c for _, c in train} == {c for _, c in test} and len({c for _, c in test}) == 10
    assert not {p for p, _ in train} & {p for p, _ in test}


@pytest.mark.bad_input(
    "a local image folder that does not exist",
    "FileNotFoundError naming the folder",
)
def test_local_folder_override(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate([(50, 61), (40, 40)]):
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(tmp_path / f"{i}.png")
    (tmp_path / "notes.txt").write_text("not an image")
    pairs = data.load_sr_set("mine", 4, folder=tmp_path)
    assert [p.name for p in pairs] == ["0", "1"]
    assert pairs[0].hr.shape == (1, 3, 48, 60) and pairs[0].lr.shape == (1, 3, 12, 15)
    monkeypatch.setenv("HELPERS_LOCAL_DIV2K_VALID", str(tmp_path))
    assert len(data.load_images("div2k_valid")) == 2
    with pytest.raises(FileNotFoundError, match="does not exist"):
        data.load_sr_set("mine", 4, folder=tmp_path / "nope")
