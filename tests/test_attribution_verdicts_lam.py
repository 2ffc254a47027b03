"""The LAM chapter's verdicts (helpers.attribution.verdicts_lam): for each claim, one
constructed case where its rule holds and one where it does not."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from helpers.attribution import edge_mask
from helpers.attribution import verdicts_lam as V

RF = {"cnn_a": 17, "cnn_b": 41, "att_a": None, "att_b": None}


def test_global_vs_local_holds_above_the_ratio_and_not_below():
    v = V.global_vs_local({"cnn_a": 1.0, "cnn_b": 2.0, "att_a": 3.0, "att_b": 5.0}, RF, "smoke")
    assert v.holds and v.outcome == "holds" and v.numbers["global_mean"] == 4.0
    assert v.numbers["local_mean"] == 1.5 and math.isclose(v.numbers["ratio"], 4 / 1.5)
    assert "holds here at preset=smoke" in v.text and "rule: > 1.5" in v.text
    steps = {"cnn_a": 1000, "att_a": 1000}
    no = V.global_vs_local({"cnn_a": 1.0, "cnn_b": 2.0, "att_a": 2.0, "att_b": 2.4}, RF, "e", steps)
    assert not no.holds and no.outcome == "does not hold"  # 2.2 < 1.5 x 1.5
    assert "does not show here" in no.text and "att_a 1000 steps, cnn_a 1000 steps" in no.text
    # No explanation without its premise: that is trained_vs_released's to decide.
    assert "full training" not in no.text and "Why" not in no.text
    # Exactly at the ratio is not "more than".
    assert not V.global_vs_local({"cnn_a": 2.0, "att_a": 3.0}, RF, "e").holds


def test_trained_vs_released_needs_its_premise_measured():
    di = {"cnn_a": 1.0, "cnn_b": 1.0, "att_a": 1.2, "att_b": 9.0}
    v = V.trained_vs_released(di, RF, trained_here={"cnn_a": 10, "cnn_b": 10, "att_a": 10})
    assert v.holds and v.outcome == "holds"  # released 9.0 > 1.5; book 1.2 <= 1.5
    assert v.numbers["trained_here"] == {"att_a": 1.2} and v.numbers["released"] == {"att_b": 9.0}
    assert "comes with full training" in v.text
    # The briefly trained one is wide too: no explanation by training.
    di_wide = dict(di, att_a=1.6)
    no = V.trained_vs_released(di_wide, RF, trained_here={"cnn_a": 10, "att_a": 10})
    assert not no.holds and no.outcome == "does not hold"
    assert "already attribute widely" in no.text and "full training" not in no.text
    # The released one is not wide either: the premise fails on the other half.
    di_narrow = dict(di, att_b=1.4)
    no2 = V.trained_vs_released(di_narrow, RF, trained_here={"cnn_a": 10, "att_a": 10})
    assert not no2.holds and "not every released global network is wide" in no2.text
    # Nothing to compare: not testable, and no explanation is printed.
    for trained in ({"cnn_a": 1}, RF):
        nt = V.trained_vs_released(di, RF, trained_here=trained)
        assert nt.outcome == "not testable" and not nt.holds and "full training" not in nt.text


def test_completeness_at_the_papers_fifty_steps():
    errors = {25: 0.06, 50: 0.03, 100: 0.015}
    v = V.completeness(errors)
    assert v.holds and v.numbers["error_at_paper_steps"] == 0.03 and v.numbers["falls"]
    assert "3% at the paper's 50 steps" in v.text
    loose = {25: 0.2, 50: 0.08, 100: 0.04}  # falls, but 8% > 5% at 50 steps
    no = V.completeness(loose)
    assert not no.holds and "DOES NOT HOLD" in no.text
    rising = {25: 0.01, 50: 0.02, 100: 0.005}  # within 5% at 50, but does not fall
    assert not V.completeness(rising).holds
    flat = {25: 0.01, 50: 0.01}  # not lower at the most steps
    assert not V.completeness(flat).holds
    with pytest.raises(ValueError, match="50 steps"):
        V.completeness({8: 0.1, 16: 0.05})


def _stripes(n: int = 24) -> torch.Tensor:
    img = torch.zeros(1, 3, n, n)
    img[..., :, ::4] = 1.0  # vertical lines: edges on half the columns
    return img


def test_edge_mask_and_share():
    mask = edge_mask(_stripes())
    assert mask.shape == (24, 24) and 0.2 < mask.mean() <= 0.5
    assert V.edge_share(mask.astype(float), mask) == 1.0
    assert V.edge_share(np.zeros((24, 24)), mask) != V.edge_share(np.zeros((24, 24)), mask)  # NaN


def test_blur_path_edges_against_a_permutation_null():
    rng = np.random.default_rng(0)
    mask = edge_mask(_stripes())
    on_edges = mask * 1.0 + 0.05 * rng.random(mask.shape)  # attribution on the edges
    anywhere = rng.random(mask.shape)  # attribution that ignores them
    v = V.blur_path_edges([(on_edges, anywhere, mask)], n_permutations=500)
    assert v.holds and v.numbers["mean_difference"] > 0.3 and v.numbers["p"] < 0.01
    assert v.text.startswith("Fig. 3 (blur path vs IG from black): HOLDS")
    # Two maps that both ignore the edges: a difference noise gives does not pass.
    noise = V.blur_path_edges([(rng.random(mask.shape), anywhere, mask)], n_permutations=500)
    assert not noise.holds and noise.numbers["p"] > 0.05
    # The other way round: IG on the edges.
    assert not V.blur_path_edges([(anywhere, on_edges, mask)], n_permutations=200).holds
    with pytest.raises(ValueError, match="at least one"):
        V.blur_path_edges([])
