"""Tests of the LAM paper's hard-case rule (helpers.hard_cases)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from _mirror import needs_mirror

from helpers import presets
from helpers.attribution import hard_cases


class Upsampler(torch.nn.Module):
    """A deterministic SR 'network' for testing: nearest x4 plus a fixed offset."""

    def __init__(self, offset: float) -> None:
        super().__init__()
        self.offset = offset

    def forward(self, x):
        return (F.interpolate(x, scale_factor=4) + self.offset).clamp(0, 1)


def _images():
    g = torch.Generator().manual_seed(0)
    ramp = torch.linspace(0.2, 0.8, 128).expand(1, 3, 64, 128)
    flat = ramp.clone()  # left half: a smooth ramp (easy)
    flat[..., :, 64:] = torch.rand(1, 3, 64, 64, generator=g)  # right half: noise (hard)
    return [("half", flat), ("tiny", torch.rand(1, 3, 16, 16, generator=g))]


def test_candidates_cover_the_grid_and_skip_small_images():
    cands = hard_cases.candidate_subimages(_images(), size=32, stride=32, scale=4)
    assert len(cands) == 2 * 4  # 64x128 -> 2 rows x 4 columns; the 16 px image is skipped
    assert all(c.hr.shape == (1, 3, 32, 32) and c.lr.shape == (1, 3, 8, 8) for c in cands)
    assert cands[0].name == "half@0,0" and cands[3].yx == (0, 96)
    with pytest.raises(ValueError, match="multiple of scale"):
        hard_cases.candidate_subimages(_images(), size=30, scale=4)


def test_hardness_order_combines_low_mean_and_high_variance():
    table = torch.tensor(
        [
            [30.0, 20.0, 20.0, 31.0],  # model a
            [30.0, 20.0, 26.0, 25.0],  # model b
        ]
    )
    # candidate 2: low mean and high variance -> hardest; 0: high mean, zero variance -> easiest
    assert hard_cases.hardness_order(table) == [2, 1, 3, 0]
    with pytest.raises(ValueError, match="models >= 2"):
        hard_cases.hardness_order(table[:1])


def test_selection_records_every_psnr_and_returns_n():
    cands = hard_cases.candidate_subimages(_images(), size=32, stride=32, scale=4)
    models = {"a": Upsampler(0.0), "b": Upsampler(0.02)}
    hard = hard_cases.select_hard_cases(cands, models, n=3, progress=False)
    assert len(hard) == 3 and all(set(c.psnr) == {"a", "b"} for c in cands)
    table = torch.tensor([[c.psnr[m] for c in cands] for m in models])
    assert [c.name for c in hard] == [cands[k].name for k in hard_cases.hardness_order(table)[:3]]
    with pytest.raises(ValueError, match="at least 2"):
        hard_cases.select_hard_cases(cands, {"a": Upsampler(0)}, n=1)
    with pytest.raises(ValueError, match="n must be"):
        hard_cases.select_hard_cases(cands, models, n=99)


def test_shared_hard_cases_are_scored_by_the_zoo_whatever_the_chapter_studies(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path))
    seen = {}

    def fake_resolve_many(entries, scale, preset, **kw):
        seen["entries"] = list(entries)
        return {n: Upsampler(0.01 * i) for i, n in enumerate(entries)}

    monkeypatch.setattr(hard_cases, "resolve_many", fake_resolve_many)
    cases = hard_cases.shared_hard_cases("smoke", 4, n=1)
    assert seen["entries"] == list(presets.ZOO)  # the zoo, not a chapter's models
    assert len(cases) == 1 and set(cases[0].psnr) == set(presets.ZOO)
    assert cases[0].source == "chelsea"  # the first embedded test image (smoke)


@needs_mirror
def test_shared_hard_cases_at_benchmark_need_no_network(monkeypatch):
    def boom(*a, **kw):
        raise AssertionError("no network is needed for the LAM authors' crops")

    monkeypatch.setattr(hard_cases, "resolve_many", boom)
    cases = hard_cases.shared_hard_cases("benchmark", 4, n=2)
    assert [c.source for c in cases] == [c.name for c in cases]  # one file per crop
    assert hard_cases.n_sources(cases) == 2 and cases[0].name != cases[1].name


def test_shared_hard_cases_reuse_the_zoo_networks_a_chapter_has(tmp_path, monkeypatch):
    monkeypatch.setenv("HELPERS_DATA_DIR", str(tmp_path))
    asked = []

    def fake_resolve_many(entries, scale, preset, **kw):
        asked.extend(entries)
        return {n: Upsampler(0.01) for n in entries}

    monkeypatch.setattr(hard_cases, "resolve_many", fake_resolve_many)
    have = {presets.ZOO[0]: Upsampler(0.0), "mine": Upsampler(0.5)}
    have[presets.ZOO[0]].origin, have["mine"].origin = "zoo", "file"
    hard_cases.shared_hard_cases("smoke", 4, n=1, resolved=have)
    assert asked == list(presets.ZOO[1:])  # the one it had is not loaded again


def _case(source: str, y: int, x: int, size: int = 256) -> hard_cases.HardCase:
    t = torch.zeros(1, 3, size, size)
    return hard_cases.HardCase(f"{source}@{y},{x}", source, (y, x), t, t[..., ::4, ::4], {})


def test_overlap_share_of_grid_neighbours():
    a = _case("p", 0, 0)
    assert hard_cases.overlap_share(a, _case("p", 0, 128)) == 0.5  # side neighbour: a half
    assert hard_cases.overlap_share(a, _case("p", 128, 128)) == 0.25  # diagonal: a quarter
    assert hard_cases.overlap_share(a, _case("p", 256, 0)) == 0.0
    assert hard_cases.overlap_share(a, _case("q", 0, 0)) == 0.0  # another photo


def test_pick_distinct_drops_near_duplicates_and_caps_each_image():
    cands = [_case("p", 0, 0), _case("p", 0, 128), _case("p", 128, 128), _case("p", 0, 256)]
    cands += [_case("q", 0, 0), _case("q", 0, 128)]
    order = list(range(len(cands)))  # hardest first: every crop of p before q
    names = [c.name for c in hard_cases.pick_distinct(cands, order, n=4)]
    # p@0,128 overlaps p@0,0 by a half: dropped; the diagonal (a quarter) is kept.
    assert names == ["p@0,0", "p@128,128", "p@0,256", "q@0,0"]
    capped = hard_cases.pick_distinct(cands, order, n=4, max_per_image=2)
    assert [c.name for c in capped] == ["p@0,0", "p@128,128", "q@0,0"]  # fewer: caller says
    assert hard_cases.n_sources(capped) == 2


def test_selection_warns_when_the_rules_leave_fewer_than_n():
    cands = hard_cases.candidate_subimages(_images(), size=32, stride=16, scale=4)
    models = {"a": Upsampler(0.0), "b": Upsampler(0.02)}
    with pytest.warns(UserWarning, match="only 2 of the 3"):
        hard = hard_cases.select_hard_cases(cands, models, n=3, progress=False, max_per_image=2)
    assert len(hard) == 2 and hard_cases.n_sources(hard) == 1
    for i, a in enumerate(hard):
        assert all(hard_cases.overlap_share(a, b) <= 0.25 for b in hard[i + 1 :])


def test_full_preset_reads_the_150_from_a_local_folder_or_stops(tmp_path, monkeypatch):
    from PIL import Image

    monkeypatch.delenv(hard_cases.LOCAL_ENV, raising=False)
    assert presets.get("hard_cases", "full")["source"] == "local"
    assert presets.get("n_hard", "full") == 150 and presets.get("lam_steps", "full") == 100
    with pytest.raises(FileNotFoundError, match=f"\\${hard_cases.LOCAL_ENV} is not set"):
        hard_cases.lam_hard_cases("full", {})  # never a silent 11
    monkeypatch.setenv(hard_cases.LOCAL_ENV, str(tmp_path / "absent"))
    with pytest.raises(FileNotFoundError, match="is not a folder"):
        hard_cases.shared_hard_cases("full", 4)
    rng = np.random.default_rng(0)
    for i in range(3):
        img = (rng.random((32, 32, 3)) * 255).astype(np.uint8)
        Image.fromarray(img).save(tmp_path / f"case{i}.png")
    monkeypatch.setenv(hard_cases.LOCAL_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError, match="holds only 3 image"):
        hard_cases.lam_hard_cases("full", {})
    cases = hard_cases.lam_hard_cases("full", {}, n=2)
    assert [c.name for c in cases] == ["case0", "case1"] and cases[0].lr.shape == (1, 3, 8, 8)
