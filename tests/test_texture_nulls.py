"""The texture verdicts' nulls and intervals (helpers.texture.nulls, .stability) against
independent computations: scipy's Jensen-Shannon distance with a plain permutation loop,
a pandas groupby, Kendall's W from its textbook formula, and a stub classifier."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from scipy.spatial.distance import jensenshannon
from torch import nn

from helpers.data import SRPair
from helpers.texture import nulls as N
from helpers.texture.stability import label_stability


def test_js_null_passes_noise_and_catches_a_shift() -> None:
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(22))
    a, b = rng.choice(22, 500, p=p), rng.choice(22, 200, p=p)  # one distribution
    t0 = time.perf_counter()
    same = N.js_null(a, b, 22, n_draws=1000, seed=0)
    assert time.perf_counter() - t0 < 10  # vectorized: 1000 draws in seconds
    obs = jensenshannon(np.bincount(a, minlength=22), np.bincount(b, minlength=22), base=2)
    assert same["js"] == pytest.approx(obs)
    assert 0.1 < same["js"] and same["js"] < same["null_p95"]  # JS > 0.1 from noise alone
    # the null against a plain loop of permutations
    pooled = np.r_[a, b]
    loop = []
    for _ in range(400):
        x = rng.permutation(pooled)
        ca, cb = np.bincount(x[:500], minlength=22), np.bincount(x[500:], minlength=22)
        loop.append(jensenshannon(ca, cb, base=2))
    assert same["null_p95"] == pytest.approx(np.quantile(loop, 0.95), abs=0.02)
    other = rng.choice(22, 200, p=rng.dirichlet(np.ones(22)))
    apart = N.js_null(a, other, 22, n_draws=1000, seed=0)
    assert apart["js"] > apart["null_p95"] and apart["p"] < 0.01
    with pytest.raises(ValueError, match="200"):
        N.js_null(a, b, 22, n_draws=100)


def test_within_bin_spread() -> None:
    rng = np.random.default_rng(0)
    e = rng.uniform(2, 10, 1500)
    y = 40 - 2 * e + rng.normal(0, 2, 1500)
    out = N.within_bin_spread(e, y, n_boot=500)
    bins = np.floor((e - e.min()) / 0.5).astype(int)
    df = pd.DataFrame({"b": bins, "y": y})
    df = df[df.groupby("b").y.transform("size") >= 5]
    ss = (df.y - df.groupby("b").y.transform("mean")).pow(2).sum()
    assert out["sd_within"] == pytest.approx(np.sqrt(ss / (len(df) - df.b.nunique())))
    lo, hi = out["ci"]
    assert lo < out["sd_within"] < hi and 1.8 < lo and hi < 2.3
    tight = N.within_bin_spread(e, 40 - 2 * e + rng.normal(0, 0.2, 1500), n_boot=500)
    assert tight["ci"][1] < 1.0 and tight["eta2"] > 0.99
    with pytest.raises(ValueError, match="not measurable"):
        N.within_bin_spread(np.arange(4.0), np.arange(4.0), min_bin=5)


def test_kendall_w_matches_the_formula() -> None:
    rng = np.random.default_rng(0)
    base = rng.normal(size=9)
    v = pd.DataFrame({m: base + rng.normal(0, 0.3, 9) for m in "abcd"})
    out = N.kendall_w(v)
    r = v.rank().to_numpy()  # no ties
    m, n = r.shape[1], r.shape[0]
    s = ((r.sum(1) - m * (n + 1) / 2) ** 2).sum()
    assert out["w"] == pytest.approx(12 * s / (m**2 * (n**3 - n)))
    assert (
        out["p"] == pytest.approx(stats.chi2.sf(m * (n - 1) * out["w"], n - 1)) and out["p"] < 0.01
    )
    indep = N.kendall_w(pd.DataFrame(rng.normal(size=(9, 4))))
    assert indep["p"] > 0.01
    assert N.kendall_w(v.iloc[:2])["w"] is None  # two labels: not testable
    assert N.kendall_w(pd.DataFrame(np.ones((5, 3))))["w"] is None  # every model ties all


class _MeanClassifier(nn.Module):
    """Stub DeepTEN: the label is the patch's mean brightness in ``bins`` levels, mod 4."""

    classes = ("a", "b", "c", "d")

    def __init__(self, bins: int) -> None:
        super().__init__()
        self.bins = bins

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean((1, 2, 3))[:, None]

    def logits(self, e: torch.Tensor) -> torch.Tensor:
        k = (e[:, 0] * self.bins).long() % 4
        return torch.nn.functional.one_hot(k, 4).float() * 10


def test_label_stability() -> None:
    ramp = torch.linspace(0, 1, 128).repeat(3, 128, 1)[None]  # brightness grows along x
    flat = torch.full((1, 3, 128, 128), 0.3)
    pairs = [
        SRPair("ramp", ramp, ramp[..., ::4, ::4], 4),
        SRPair("flat", flat, flat[..., ::4, ::4], 4),
    ]
    coords = np.array([[0, 40, 40]] * 6 + [[1, 40, 40]] * 6)
    out = label_stability(_MeanClassifier(4), pairs, coords, 48, shifts=(4,), seed=0)
    row = out.iloc[0]
    assert row["n"] == 12 and row.ci_lo <= row.share <= row.ci_hi
    # flat image: kept always; ramp: kept only when the shift is vertical (or stays in a bin)
    flat_only = label_stability(_MeanClassifier(4), pairs, coords[6:], 48, shifts=(4, 8))
    assert (flat_only.share == 1).all()
    fine = label_stability(_MeanClassifier(400), pairs, coords[:6], 48, shifts=(8,), seed=1)
    assert fine.share.iloc[0] < 1
    edge = label_stability(_MeanClassifier(4), pairs, np.array([[1, 0, 0]]), 128, shifts=(4,))
    assert edge["n"].iloc[0] == 0  # no shift keeps a full-image patch inside
