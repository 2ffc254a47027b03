"""The DI-vs-PSNR analysis (Gu & Dong, CVPR 2021, Sec. 4.4, Fig. 7): regressions and sweeps.

- :class:`LogDIFit` / :func:`fit_log_di`: PSNR regressed on log10(DI) over networks, with
  Pearson and Spearman tests and the fit's confidence band (Fig. 7a/b).
- :func:`sweeps` / :func:`trend`: DI and PSNR along each width or depth sweep of the
  family (Fig. 7c).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

from ..networks.family import FamilyMember


@dataclass(frozen=True)
class LogDIFit:
    """PSNR regressed on log10(DI) over networks, with both correlation tests.

    ``names``, ``log_di`` (log10 of DI) and ``psnr`` (dB) per network; ``slope`` (dB per
    decade of DI) and ``intercept`` (dB) of the least-squares line; Pearson's ``r`` and
    Spearman's ``rho`` with their two-sided ``p`` values (scipy).
    """

    names: tuple[str, ...]
    log_di: np.ndarray
    psnr: np.ndarray
    slope: float
    intercept: float
    pearson_r: float
    pearson_p: float
    spearman_rho: float
    spearman_p: float

    @property
    def n(self) -> int:
        return len(self.names)

    def predict(self, log_di: np.ndarray) -> np.ndarray:
        """Fitted PSNR (dB) at ``log_di`` (log10 DI)."""
        return self.intercept + self.slope * np.asarray(log_di, dtype=float)

    def band(self, log_di: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Confidence band of the fitted mean at ``log_di``: ``(low, high)`` in dB.

        The usual OLS interval ``yhat +- t_{n-2} s sqrt(1/n + (x - xbar)^2 / Sxx)``.
        """

        x = np.asarray(log_di, dtype=float)
        resid = self.psnr - self.predict(self.log_di)
        dof = self.n - 2
        s = math.sqrt(float(resid @ resid) / dof) if dof > 0 else math.nan
        xbar = self.log_di.mean()
        sxx = float(((self.log_di - xbar) ** 2).sum())
        half = stats.t.ppf(0.5 + level / 2, dof) * s * np.sqrt(1 / self.n + (x - xbar) ** 2 / sxx)
        yhat = self.predict(x)
        return yhat - half, yhat + half

    def summary(self) -> dict[str, Any]:
        """JSON-ready numbers."""
        return {
            "n": self.n,
            "slope_db_per_decade": self.slope,
            "intercept_db": self.intercept,
            "pearson": {"r": self.pearson_r, "p": self.pearson_p},
            "spearman": {"rho": self.spearman_rho, "p": self.spearman_p},
        }


def fit_log_di(di: Mapping[str, float], psnr: Mapping[str, float]) -> LogDIFit:
    """Regress PSNR on log10(DI) across networks (the paper's Fig. 7a).

    Args:
        di: network -> mean DI (> 0).
        psnr: network -> PSNR (dB); the same networks as ``di``.

    Raises:
        ValueError: fewer than 3 networks (a line through 2 points has no test), networks
            missing from one of the two, a non-finite value, DI <= 0, or all DI or all
            PSNR equal (no correlation is defined). The message names the networks.
    """

    if set(di) != set(psnr):
        raise ValueError(
            f"di and psnr must cover the same networks; only in di: "
            f"{sorted(set(di) - set(psnr))}, only in psnr: {sorted(set(psnr) - set(di))}"
        )
    names = tuple(di)
    if len(names) < 3:
        raise ValueError(f"a regression needs at least 3 networks, got {len(names)}: {list(names)}")
    bad = [n for n in names if not (math.isfinite(di[n]) and math.isfinite(psnr[n]))]
    if bad:
        raise ValueError(f"non-finite DI or PSNR for {bad}; leave them out explicitly")
    nonpos = [n for n in names if di[n] <= 0]
    if nonpos:
        raise ValueError(f"DI must be > 0 for a log fit; got DI <= 0 for {nonpos}")
    x = np.log10(np.array([di[n] for n in names], dtype=float))
    y = np.array([psnr[n] for n in names], dtype=float)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        raise ValueError("all DI (or all PSNR) values are equal: no correlation is defined")
    slope, intercept = np.polyfit(x, y, 1)
    pr = stats.pearsonr(x, y)
    sr = stats.spearmanr(x, y)
    return LogDIFit(
        names,
        x,
        y,
        float(slope),
        float(intercept),
        float(pr.statistic),
        float(pr.pvalue),
        float(sr.statistic),
        float(sr.pvalue),
    )


# ----------------------------------------------------------------------- Fig. 7c sweeps


def sweeps(
    members: Iterable[FamilyMember],
) -> dict[tuple[str, str], list[list[FamilyMember]]]:
    """Groups of members along which exactly one of width or depth varies.

    Returns ``{(arch, "width" | "depth"): [group, ...]}``; a group holds the members of
    one ``arch`` that share the other variable (and shrink), sorted by the varied one, and
    has at least two distinct values. A cross design gives one group per key, a grid one
    group per value of the other variable.
    """
    out: dict[tuple[str, str], list[list[FamilyMember]]] = {}
    members = list(members)
    for var, other in (("width", "depth"), ("depth", "width")):
        groups: dict[tuple[str, int, int], list[FamilyMember]] = {}
        for m in members:
            groups.setdefault((m.arch, getattr(m, other), m.shrink), []).append(m)
        for (arch, _, _), g in sorted(groups.items()):
            if len({getattr(m, var) for m in g}) >= 2:
                g = sorted(g, key=lambda m: getattr(m, var))
                out.setdefault((arch, var), []).append(g)
    return out


def trend(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho of ``y`` against ``x`` (NaN with < 3 points or a constant series).

    Used for the direction of DI and PSNR along one sweep; with 3-4 points it is a
    direction, not a test.
    """

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(stats.spearmanr(x, y).statistic)
