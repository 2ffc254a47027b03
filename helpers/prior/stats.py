"""Statistics of the chapter's paired comparisons (seeds pair baseline and variant).

- :func:`compare`: per variant and test set, mean and sd over seeds, the paired
  difference to the baseline per seed with a paired t-test and a Wilcoxon signed-rank
  test, a paired bootstrap interval over images (seed-averaged per-image differences),
  TOST equivalence at +-``margin`` dB, and Holm's adjustment across the table.
- :func:`holm`, :func:`tost`, :func:`seeds_needed` (power of the paired t-test),
  :func:`welch_t` (the thesis's own table, read as independent samples).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

#: Equivalence margin (dB) for "as good as" claims.
MARGIN = 0.05


def _p(x: float) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def paired_t(d: Sequence[float]) -> float | None:
    """Two-sided p of the one-sample t-test of the paired differences ``d`` against 0
    (``None`` with fewer than 2 seeds or no spread)."""
    d = np.asarray(d, float)
    if d.size < 2 or np.std(d) == 0:
        return None if d.size < 2 or np.all(d == 0) else 0.0
    return _p(stats.ttest_1samp(d, 0.0).pvalue)


def wilcoxon(d: Sequence[float]) -> float | None:
    """Two-sided exact Wilcoxon signed-rank p of ``d`` (``None`` below 2 seeds or when
    every difference is 0). With n seeds its smallest possible p is 2 / 2**n."""
    d = np.asarray(d, float)
    if d.size < 2 or np.all(d == 0):
        return None
    return _p(stats.wilcoxon(d, method="exact").pvalue)


def tost(d: Sequence[float], margin: float = MARGIN) -> float | None:
    """TOST p for equivalence of the mean paired difference to 0 within +-``margin``:
    the larger of the two one-sided t-test p-values (``None`` below 2 seeds). Below 0.05:
    equivalent at that margin."""
    d = np.asarray(d, float)
    if d.size < 2:
        return None
    se = np.std(d, ddof=1) / math.sqrt(d.size)
    if se == 0:
        return 0.0 if abs(d.mean()) < margin else 1.0
    df = d.size - 1
    p_low = stats.t.sf((d.mean() + margin) / se, df)  # H0: mean <= -margin
    p_high = stats.t.cdf((d.mean() - margin) / se, df)  # H0: mean >= +margin
    return float(max(p_low, p_high))


def holm(pvalues: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (``None`` kept, not counted)."""
    idx = [i for i, p in enumerate(pvalues) if p is not None]
    order = sorted(idx, key=lambda i: pvalues[i])
    out: list[float | None] = [None] * len(pvalues)
    running, m = 0.0, len(idx)
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def bootstrap_ci(
    per_image: Sequence[float], n_boot: int, seed: int = 0, level: float = 0.95
) -> list[float] | None:
    """Percentile interval of the mean of per-image paired differences, resampling
    images (``None`` for fewer than 2 images)."""
    x = np.asarray(per_image, float)
    if x.size < 2:
        return None
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, (n_boot, x.size))].mean(1)
    a = (1 - level) / 2
    return [float(np.quantile(means, a)), float(np.quantile(means, 1 - a))]


def seeds_needed(effect: float, sd: float, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """Smallest number of seeds for which a two-sided paired t-test at ``alpha`` detects
    a mean difference ``effect`` with the given ``power``, when per-seed differences have
    standard deviation ``sd`` (noncentral t). ``None`` when sd is 0 or not finite."""
    if not (sd > 0 and math.isfinite(sd)) or effect == 0:
        return None
    for n in range(2, 100_000):
        df, nc = n - 1, abs(effect) / sd * math.sqrt(n)
        crit = stats.t.ppf(1 - alpha / 2, df)
        if stats.nct.sf(crit, df, nc) + stats.nct.cdf(-crit, df, nc) >= power:
            return n
    return None


def welch_t(m1: float, s1: float, n1: int, m2: float, s2: float, n2: int) -> dict[str, float]:
    """Welch's t and two-sided p for two means with sds (the thesis's tables)."""
    se = math.sqrt(s1**2 / n1 + s2**2 / n2)
    t = (m2 - m1) / se
    df = se**4 / ((s1**2 / n1) ** 2 / (n1 - 1) + (s2**2 / n2) ** 2 / (n2 - 1))
    return {"t": float(t), "df": float(df), "p": float(2 * stats.t.sf(abs(t), df))}


Scores = Mapping[int, Mapping[str, Mapping[str, float]]]  # seed -> set -> image -> PSNR


def set_means(scores: Scores, test_set: str) -> dict[int, float]:
    """Seed -> mean PSNR over the set's images."""
    return {s: float(np.mean(list(v[test_set].values()))) for s, v in scores.items()}


def compare(
    table: Mapping[str, Scores],
    baseline: str,
    n_boot: int,
    margin: float = MARGIN,
    seed: int = 0,
) -> dict[str, dict[str, dict[str, Any]]]:
    """The statistics of one table: ``table`` variant -> seed -> set -> image -> PSNR,
    ``baseline`` one of its keys (every variant must have the baseline's seeds).

    Returns variant -> set -> ``psnr_mean``, ``psnr_sd`` (over seeds), ``delta_vs_0``
    (mean paired difference, dB), ``delta_sd``, ``p_paired`` (t-test), ``p_wilcoxon``,
    ``ci_images`` (bootstrap over images), ``p_tost`` (+-margin), ``p_holm`` (paired
    t-test p, Holm-adjusted over every non-baseline row and set of the table).
    """
    base = table[baseline]
    out: dict[str, dict[str, dict[str, Any]]] = {}
    keys: list[tuple[str, str]] = []
    for name, scores in table.items():
        missing = sorted(set(base) - set(scores))
        if missing:
            raise ValueError(f"variant {name!r} lacks the baseline's seeds {missing}")
        out[name] = {}
        for ts in next(iter(scores.values())):
            m = set_means(scores, ts)
            mb = set_means(base, ts)
            seeds = sorted(mb)
            d = [m[s] - mb[s] for s in seeds]
            imgs = list(base[seeds[0]][ts])
            per_img = [np.mean([scores[s][ts][i] - base[s][ts][i] for s in seeds]) for i in imgs]
            vals = [m[s] for s in sorted(m)]
            row: dict[str, Any] = {
                "psnr_mean": float(np.mean(vals)),
                "psnr_sd": float(np.std(vals, ddof=1)) if len(vals) > 1 else None,
                "delta_vs_0": float(np.mean(d)),
                "delta_sd": float(np.std(d, ddof=1)) if len(d) > 1 else None,
                "p_paired": None,
                "p_wilcoxon": None,
                "ci_images": None,
                "p_tost": None,
            }
            if name != baseline:
                row.update(
                    p_paired=paired_t(d),
                    p_wilcoxon=wilcoxon(d),
                    ci_images=bootstrap_ci(per_img, n_boot, seed),
                    p_tost=tost(d, margin),
                )
                keys.append((name, ts))
            out[name][ts] = row
    adjusted = holm([out[n][t]["p_paired"] for n, t in keys])
    for (n, t), p in zip(keys, adjusted, strict=True):
        out[n][t]["p_holm"] = p
    for t in out[baseline]:
        out[baseline][t]["p_holm"] = None
    return out
