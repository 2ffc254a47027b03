"""Nulls and intervals for the texture verdicts, vectorized (scipy.stats), so that a
thousand draws cost about a second.

- :func:`js_null`: Jensen-Shannon distance of two label samples against a label
  permutation null of the pooled patches (same sample sizes), ``scipy.stats.permutation_test``.
- :func:`within_bin_spread`: the PSNR spread at equal entropy (pooled within-bin standard
  deviation over fixed entropy bins) with a percentile bootstrap CI over patches
  (``scipy.stats.bootstrap``, paired).
- :func:`kendall_w`: Kendall's coefficient of concordance of per-label values across
  models, from Friedman's test (``scipy.stats.friedmanchisquare``: W = chi2 / (m (n - 1))).

Patches of one image are not independent: a null that permutes (or resamples) patches is
narrower than one over images would be, so a result near its cut is weak evidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon

__all__ = ["js_null", "kendall_w", "within_bin_spread"]


def _shares(labels: np.ndarray, n_classes: int, axis: int) -> np.ndarray:
    """Label shares along ``axis`` (moved last): (..., n) ints -> (..., n_classes)."""
    x = np.moveaxis(np.asarray(labels), axis, -1)
    onehot = x[..., None] == np.arange(n_classes)
    return onehot.mean(axis=-2)


def js_null(
    labels_a: Sequence[int] | np.ndarray,
    labels_b: Sequence[int] | np.ndarray,
    n_classes: int,
    n_draws: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """JS distance (base 2) of the label profiles of two samples, and its null.

    Null: both samples come from one distribution; the pooled patches' labels are permuted
    between two groups of the original sizes ``n_draws`` times (``scipy.stats.
    permutation_test``, independent, one-sided: larger distances). Returns ``js`` (observed),
    ``p`` (permutation p-value), ``null_p95`` (the null's 95th percentile), ``null_median``,
    ``n_draws``, ``n_a``, ``n_b``.
    """
    a, b = np.asarray(labels_a, np.int64), np.asarray(labels_b, np.int64)
    if len(a) == 0 or len(b) == 0:
        raise ValueError("js_null needs patches in both samples")
    if n_draws < 200:
        raise ValueError(f"n_draws must be >= 200 for a 95th percentile, got {n_draws}")

    def statistic(x: np.ndarray, y: np.ndarray, axis: int) -> np.ndarray:
        p, q = _shares(x, n_classes, axis), _shares(y, n_classes, axis)
        return jensenshannon(p, q, base=2, axis=-1)

    res = stats.permutation_test(
        (a, b), statistic, vectorized=True, n_resamples=n_draws, alternative="greater",
        batch=max(1, min(n_draws, 2_000_000 // ((len(a) + len(b)) * n_classes))), rng=seed,
    )  # fmt: skip
    null = np.asarray(res.null_distribution)
    return {
        "js": float(res.statistic),
        "p": float(res.pvalue),
        "null_p95": float(np.quantile(null, 0.95)),
        "null_median": float(np.median(null)),
        "n_draws": int(n_draws),
        "n_a": len(a),
        "n_b": len(b),
    }


def within_bin_spread(
    entropy: Sequence[float] | np.ndarray,
    psnr_db: Sequence[float] | np.ndarray,
    bin_width: float = 0.5,
    min_bin: int = 5,
    n_boot: int = 1000,
    seed: int = 0,
) -> dict[str, Any]:
    """PSNR spread at (nearly) equal entropy: the pooled within-bin standard deviation (dB).

    Bins of ``bin_width`` bits from the smallest entropy; bins holding fewer than
    ``min_bin`` patches are left out. ``sd_within = sqrt(sum_b sum_i (y_i - mean_b)^2 /
    (N - B))`` over the B kept bins; ``eta2`` = the share of PSNR variance the bins explain.
    95% CI: percentile bootstrap over patches (pairs resampled together, ``n_boot``
    replicates, the bins fixed). Returns ``sd_within``, ``ci`` [lo, hi], ``sd_total``,
    ``eta2``, ``n`` (patches in kept bins), ``n_bins``, ``bin_width``, ``n_boot``.
    """
    e, y = np.asarray(entropy, float), np.asarray(psnr_db, float)
    if e.shape != y.shape or e.ndim != 1:
        raise ValueError(f"entropy and PSNR must be 1-d of one length, got {e.shape}, {y.shape}")
    idx = np.floor((e - e.min()) / bin_width).astype(np.int64)
    counts = np.bincount(idx)
    kept = np.flatnonzero(counts >= min_bin)
    m = np.isin(idx, kept)
    if len(kept) < 1 or m.sum() - len(kept) < 2:
        raise ValueError(
            f"no entropy bin of {bin_width} bit holds {min_bin} patches: the spread at equal "
            "entropy is not measurable here"
        )
    code = np.searchsorted(kept, idx[m]).astype(float)  # 0..B-1
    y = y[m]
    nb = len(kept)

    def sd_within(c: np.ndarray, v: np.ndarray, axis: int = -1) -> np.ndarray:
        c, v = np.moveaxis(c, axis, -1), np.moveaxis(v, axis, -1)
        onehot = c[..., None] == np.arange(nb)  # (..., n, B)
        cnt = onehot.sum(-2)
        s1 = (onehot * v[..., None]).sum(-2)
        s2 = (onehot * (v * v)[..., None]).sum(-2)
        ss = (s2 - np.where(cnt > 0, s1**2 / np.maximum(cnt, 1), 0)).sum(-1)
        dof = v.shape[-1] - (cnt > 0).sum(-1)
        return np.sqrt(np.maximum(ss, 0) / np.maximum(dof, 1))

    obs = float(sd_within(code, y))
    res = stats.bootstrap(
        (code, y), sd_within, paired=True, vectorized=True, n_resamples=n_boot,
        method="percentile", batch=max(1, 4_000_000 // (len(y) * nb)), rng=seed,
    )  # fmt: skip
    total = float(np.std(y, ddof=1))
    return {
        "sd_within": obs,
        "ci": [float(res.confidence_interval.low), float(res.confidence_interval.high)],
        "sd_total": total,
        "eta2": float(1 - (obs**2 * (len(y) - nb)) / (total**2 * (len(y) - 1))),
        "n": int(len(y)),
        "n_bins": int(nb),
        "bin_width": float(bin_width),
        "n_boot": int(n_boot),
    }


def kendall_w(values: pd.DataFrame) -> dict[str, Any]:
    """Kendall's W of the rows (items: labels) ranked within each column (raters: models).

    From Friedman's test: ``W = chi2_F / (m (n - 1))`` with m columns and n rows (ties
    corrected by scipy), p-value of the chi-square approximation (null: the models rank
    the labels independently, W = 0). Rows with a missing value are dropped. Returns ``w``,
    ``p``, ``chi2``, ``n_labels``, ``n_models``; ``w`` and ``p`` are None when fewer than 3
    labels or 2 models remain (not testable), or every model gives all labels one value.
    """
    v = values.dropna()
    n, m = v.shape
    out: dict[str, Any] = {"w": None, "p": None, "chi2": None, "n_labels": n, "n_models": m}
    if n < 3 or m < 2:
        return out
    x = v.to_numpy()
    if not np.ptp(x, axis=0).any():  # every model ties all labels: no ranking to compare
        return out
    res = stats.friedmanchisquare(*x)  # one sample per label, blocks = models
    out.update(
        w=float(res.statistic / (m * (n - 1))), p=float(res.pvalue), chi2=float(res.statistic)
    )
    return out
