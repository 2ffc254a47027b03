"""Tests of the one preset table."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpers import presets
from helpers.book import load_chapters
from helpers.networks import family, zoo


def test_importing_presets_imports_no_torch():
    code = "import sys, helpers.presets; print('torch' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_every_concern_covers_every_preset():
    for concern, table in presets.TABLE.items():
        assert set(table) == set(presets.PRESETS), concern


def test_check_preset_names_the_valid_ones():
    assert presets.check_preset("smoke") == "smoke"
    with pytest.raises(ValueError, match="valid: \\['smoke', 'embedded', 'benchmark', 'full'\\]"):
        presets.check_preset("huge")
    with pytest.raises(KeyError, match="valid"):
        presets.get("no_such_concern", "smoke")


def test_get_returns_a_copy():
    a = presets.get("texture_patches", "smoke")
    a["datasets"]["embedded_train"]["limit"] = 99
    assert presets.get("texture_patches", "smoke")["datasets"]["embedded_train"]["limit"] == 2


def test_zoo_names_match_the_zoo_members():
    assert tuple(zoo.MEMBERS) == presets.ZOO


def test_family_names_round_trip_through_parse_member():
    for preset in presets.PRESETS:
        for arch, w, d in presets.get("family", preset):
            name = presets.family_name(arch, w, d)
            m = family.parse_member(name)
            assert (m.arch, m.width, m.depth, m.name) == (arch, w, d, name)
        assert [m.name for m in family.family(preset)] == presets.chapter_defaults(
            "di_vs_psnr", preset
        )["family_members"]


def test_fill_keeps_set_values_and_resolves_none():
    models, n_hard, steps = presets.fill("lam", "smoke", models=None, n_hard=3, steps=None)
    assert models == list(presets.ZOO) and n_hard == 3 and steps == 8
    (models,) = presets.fill("lam", "benchmark", models=None)
    assert models == list(presets.ZOO) + list(presets.RELEASED)
    # LAM and DI read the same maps, so they resolve the same mode; benchmark runs fast
    for preset, expected in [("smoke", "exact"), ("embedded", "exact"), ("benchmark", "fast"),
                             ("full", "exact")]:  # fmt: skip
        assert presets.fill("lam", preset, mode=None) == (expected,)
        assert presets.fill("di_vs_psnr", preset, mode=None) == (expected,)
    assert presets.fill("lam", "benchmark", mode="exact") == ("exact",)  # the reader's wins
    assert presets.fill("texture_profiles", "embedded", f7_lr=None) == (1e-3,)
    assert presets.fill("texture_profiles", "full", f7_lr=None) == (2e-4,)


def test_fill_refuses_unknown_chapters_and_names():
    with pytest.raises(KeyError, match="chapters"):
        presets.fill("no_chapter", "smoke", models=None)
    with pytest.raises(KeyError, match="parameters with one"):
        presets.fill("lam", "smoke", sigma=None)
    with pytest.raises(ValueError, match="unknown preset"):
        presets.fill("lam", "tiny", models=None)


def test_chapter_defaults_name_only_parameters_the_chapters_declare():
    book = Path(__file__).resolve().parents[1] / "book"
    declared = {c.name: set(c.parameters) for c in load_chapters(book)}
    for chapter, rules in presets.CHAPTER_DEFAULTS.items():
        assert chapter in declared, chapter
        assert set(rules) <= declared[chapter], (chapter, set(rules) - declared[chapter])
