"""The DI-vs-PSNR analysis (Gu & Dong, CVPR 2021, Sec. 4.4, Fig. 7-8): the regression of
PSNR on log DI, the width/depth sweeps, and the hard cases' content against DI.

- :class:`LogDIFit` / :func:`fit_log_di`: PSNR regressed on log10(DI) over networks, with
  Pearson and Spearman tests and the fit's confidence band (Fig. 7a/b).
- :func:`sweeps` / :func:`trend` / :func:`sweep_trends`: DI and PSNR along each width or
  depth sweep of the family (Fig. 7c).
- :func:`content_table` / :func:`content_correlations` / :func:`content_ranking`: hard
  cases ranked by mean DI with their content measures (Fig. 8).

- :data:`DI_DEFINITIONS` / :func:`map_di` / :func:`di_stats`: the DI of a map by the LAM
  authors' code (``"lam_demo"``, the one compared with Table 1) or by the paper's formula
  as written (``"formula"``), and one network's DI statistics by either.

The per-network tables of the chapter are in :mod:`.tables`. DI is the diffusion index,
in (0, 100]; PSNR in dB; images (1, 3, H, W) in [0, 1].

May import: ``helpers.metrics``, ``helpers.networks``, :mod:`.maps` and :mod:`.result`
(and the base modules).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
from scipy import stats

from ..metrics import content
from ..metrics.quality import diffusion_index_lam_demo
from ..networks.family import FamilyMember
from .maps import center_window, gradient_detector
from .result import LAMResult, di_summary
from .result import diffusion_index as formula_di

#: How a map's DI is computed: ``"lam_demo"``, as the LAM authors' released code does
#: (``grad_abs_norm`` then ``gini`` with 1e-7 added to every value:
#: :func:`helpers.metrics.quality.diffusion_index_lam_demo`), the definition both chapters
#: print and compare with the paper's Table 1; ``"formula"``, the paper's Sec. 4.2 formula
#: ``(1 - Gini(|map|)) x 100`` as written (:attr:`LAMResult.di`).
DI_DEFINITIONS: tuple[str, ...] = ("lam_demo", "formula")


def map_di(r: LAMResult, definition: str = "lam_demo") -> float:
    """The DI of one map by ``definition`` (:data:`DI_DEFINITIONS`)."""
    if definition == "lam_demo":
        return float(diffusion_index_lam_demo(r.map))
    if definition == "formula":
        return formula_di(r)
    raise ValueError(f"definition must be one of {DI_DEFINITIONS}, got {definition!r}")


def di_stats(results: Iterable[LAMResult], definition: str = "lam_demo") -> dict[str, Any]:
    """:func:`helpers.attribution.di_summary` of one network's maps with the DI by
    ``definition``: ``mean``, ``std`` and ``n`` over the non-degenerate maps,
    ``n_degenerate``, ``max_completeness_error``, ``mean_all`` over every map, and
    ``max_abs_diff``: the largest |DI by ``definition`` - DI by the formula| over the maps
    (0 for ``"formula"``)."""
    results = list(results)
    out = di_summary(results, lambda r: map_di(r, definition))
    out["max_abs_diff"] = max(abs(map_di(r, definition) - formula_di(r)) for r in results)
    return out


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


def sweep_trends(
    groups: Mapping[tuple[str, str], list[list[FamilyMember]]],
    di: Mapping[str, float],
    psnr: Mapping[str, float],
) -> dict[tuple[str, str], tuple[float, float]]:
    """The direction of DI and PSNR along each sweep (Fig. 7c).

    For each ``(arch, var)`` of :func:`sweeps` (``arch`` in FSRCNN then EDSR, ``var``
    width then depth), :func:`trend` of DI and of PSNR against ``var`` in each group,
    averaged over the groups ignoring NaN (NaN when every group's is NaN).

    Args:
        groups: :func:`sweeps` of the family members analysed.
        di, psnr: member name -> DI, PSNR (dB).

    Returns:
        ``{(arch, var): (DI rho, PSNR rho)}`` for the sweeps with a group.
    """
    out: dict[tuple[str, str], tuple[float, float]] = {}
    for arch in ("fsrcnn", "edsr"):
        for var in ("width", "depth"):
            rhos = []
            for g in groups.get((arch, var), []):
                x = [getattr(m, var) for m in g]
                rhos.append(
                    (trend(x, [di[m.name] for m in g]), trend(x, [psnr[m.name] for m in g]))
                )
            if rhos:
                out[(arch, var)] = tuple(
                    float(np.nanmean(v)) if not np.all(np.isnan(v)) else float("nan")
                    for v in zip(*rhos, strict=True)
                )
    return out


# ------------------------------------------------------------------ Fig. 8 content


def content_table(
    cases: Sequence[Any],
    mean_di: Mapping[str, float] | pd.Series,
    scale: int,
    window_size: int,
    coherence_sigma: float,
) -> pd.DataFrame:
    """Hard cases ranked by mean DI (low to high) with their content measures.

    Columns: ``rank`` (1 = lowest DI), ``mean_DI``, ``periodicity``
    (:func:`helpers.metrics.content.periodicity` of the HR patch), ``coherence``
    (:func:`~helpers.metrics.content.orientation_coherence` at ``coherence_sigma`` HR px)
    and ``window_edges`` (the LAM gradient detector on the HR patch's central window:
    a near-flat window leaves little to attribute, which spreads the map).

    Args:
        cases: hard cases (``.name``, ``.hr`` (1, 3, H, W), ``.lr``) that have a mean DI.
        mean_di: case name -> mean DI over the networks.
        scale, window_size: as for the LAM maps (window in SR px, centred).
        coherence_sigma: structure-tensor window (HR px).
    """
    mean_di = pd.Series(dict(mean_di)) if not isinstance(mean_di, pd.Series) else mean_di
    order = mean_di.sort_values().index.tolist()

    def per_case(measure: Any, *args: Any) -> np.ndarray:  # cases may differ in size
        return torch.cat([measure(c.hr, *args) for c in cases]).numpy()

    windows = [center_window(c.lr, scale, window_size) for c in cases]
    table = pd.DataFrame(
        {
            "mean_DI": mean_di,
            "periodicity": per_case(content.periodicity),
            "coherence": per_case(content.orientation_coherence, coherence_sigma),
            "window_edges": torch.cat(
                [gradient_detector(c.hr, w) for c, w in zip(cases, windows, strict=True)]
            ).numpy(),
        },
        index=[c.name for c in cases],
    ).loc[order]
    table.insert(0, "rank", range(1, len(order) + 1))
    return table


def content_correlations(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Spearman's rho (and two-sided p) of each content measure against mean DI over the
    rows of :func:`content_table` (NaN with fewer than 3 cases)."""
    out = {}
    for col in ("periodicity", "coherence", "window_edges"):
        if len(table) >= 3:
            r = stats.spearmanr(table[col], table.mean_DI)
            out[col] = {"rho": float(r.statistic), "p": float(r.pvalue)}
        else:
            out[col] = {"rho": float("nan"), "p": float("nan")}
    return out


def content_ranking(table: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of :func:`content_table` as JSON records, lowest DI first: ``{"case",
    "rank", "mean_DI", "periodicity", "coherence", "window_edges"}``, values to 4 decimals."""
    return [
        {"case": n, **{k: round(float(v), 4) for k, v in table.loc[n].items()}} for n in table.index
    ]
