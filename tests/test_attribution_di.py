"""The DI as the LAM authors' code computes it (helpers.metrics.quality.
diffusion_index_lam_demo, helpers.attribution.di.map_di), against a literal copy of that
code's formula, on constructed maps and on a real LAM map."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import data as skdata

from helpers.attribution import center_window, lam
from helpers.attribution import di as di_analysis
from helpers.metrics.quality import diffusion_index, diffusion_index_lam_demo, gini
from helpers.models import build


# The LAM demo's formula, written out literally (LAM_Demo, SaliencyModel/utils.py:
# grad_abs_norm, then gini with 1e-7 added to every value; main: (1 - gini) * 100).
def _upstream_grad_abs_norm(grad: np.ndarray) -> np.ndarray:
    grad_2d = np.abs(grad.sum(axis=0))
    grad_max = grad_2d.max()
    grad_norm = grad_2d / grad_max
    return grad_norm


def _upstream_gini(array: np.ndarray) -> float:
    array = array.flatten()
    if np.amin(array) < 0:
        array -= np.amin(array)
    array += 0.0000001
    array = np.sort(array)
    index = np.arange(1, array.shape[0] + 1)
    n = array.shape[0]
    return (np.sum((2 * index - n - 1) * array)) / (n * np.sum(array))


def _upstream_di(grad: np.ndarray) -> float:
    return (1 - _upstream_gini(_upstream_grad_abs_norm(grad.astype(np.float64)))) * 100


def _maps() -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    dense = rng.normal(size=(3, 20, 24))
    sparse = np.zeros((3, 40, 40))  # a finite receptive field: exact zeros outside it
    sparse[:, 15:24, 12:22] = rng.normal(size=(3, 9, 10))
    spike = np.zeros((3, 16, 16))
    spike[1, 3, 4] = -2.0
    return [dense, sparse, spike]


@pytest.mark.parametrize("k", range(3), ids=["dense", "sparse", "spike"])
def test_lam_demo_di_equals_the_literal_formula(k):
    grad = _maps()[k]
    ours = float(diffusion_index_lam_demo(torch.from_numpy(grad), channel_dim=-3))
    assert ours == pytest.approx(_upstream_di(grad), abs=1e-9)
    # The channel-summed map gives the same (LAMResult.map is attribution.sum(0)).
    summed = torch.from_numpy(grad.sum(axis=0))
    assert float(diffusion_index_lam_demo(summed)) == pytest.approx(ours, abs=1e-9)


def test_the_epsilon_lifts_di_on_mostly_zero_maps_only():
    dense, sparse, _ = _maps()
    t = torch.from_numpy(sparse.sum(axis=0))
    assert float(diffusion_index_lam_demo(t)) > float(diffusion_index(t)) + 1e-4
    d = torch.from_numpy(dense.sum(axis=0))
    assert float(diffusion_index_lam_demo(d)) == pytest.approx(float(diffusion_index(d)), abs=1e-4)
    assert float(gini(t, eps=0.0)) == float(gini(t))
    assert float(diffusion_index_lam_demo(torch.zeros(4, 4))) == pytest.approx(100.0)


def test_map_di_of_a_real_lam_map_matches_the_literal_formula():
    torch.manual_seed(0)
    net = build("edsr", 4, n_feats=16, n_blocks=2).eval()  # receptive field 17 LR px
    hr = torch.from_numpy(skdata.astronaut()[:128, 192:320].copy()).permute(2, 0, 1)[None]
    lr = F.interpolate(hr.float() / 255.0, size=(32, 32), mode="area")
    r = lam(net, lr, center_window(lr, 4), steps=10, device="cpu")
    upstream = _upstream_di(r.attribution.double().numpy())
    assert di_analysis.map_di(r, "lam_demo") == pytest.approx(upstream, rel=1e-6)
    assert di_analysis.map_di(r, "formula") == pytest.approx(r.di)
    stats = di_analysis.di_stats([r, r])
    kept = "mean_all" if r.degenerate else "mean"  # a random-init network's window may be flat
    assert stats[kept] == pytest.approx(upstream, rel=1e-6)
    assert stats["max_abs_diff"] == pytest.approx(abs(upstream - r.di), rel=1e-4, abs=1e-9)
    with pytest.raises(ValueError, match="definition"):
        di_analysis.map_di(r, "other")
