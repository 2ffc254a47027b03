"""The chapter's tables, from :class:`helpers.ddr.analysis.NetworkSemantics` results: CHI
and probe rows per network, the 2x2 factor table and the paired factor comparisons the
verdict of claim 2 uses."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from .analysis import NetworkSemantics
from .measures import paired_log_ratio
from .networks import VARIANTS

__all__ = ["FACTOR_PAIRS", "chi_table", "factor_pairs", "factor_table", "probe_table"]

#: Factor -> (with, without) variant pairs: each factor under both settings of the other.
FACTOR_PAIRS: dict[str, list[tuple[str, str]]] = {
    "global residual": [("gr", "no_gr"), ("gr_gan", "no_gr_gan")],
    "adversarial": [("gr_gan", "gr"), ("no_gr_gan", "no_gr")],
}

Rows = Mapping[tuple[str, str], NetworkSemantics]


def chi_table(rows: Rows) -> pd.DataFrame:
    """One row per (group, network): CHI by degradation and content at the deepest block,
    ln of their ratio with its bootstrap 95 % interval, and both permutation p-values."""
    out = {}
    for key, r in rows.items():
        t = r.deepest
        out[key] = {
            "CHI degradation": t.chi_degradation,
            "CHI content": t.chi_content,
            "ln(deg/content)": t.log_ratio,
            "95% CI": np.round(t.log_ratio_ci, 2),
            "p (deg null)": t.p_degradation,
            "p (content null)": t.p_content,
        }
    return pd.DataFrame(out).T


def probe_table(rows: Rows) -> pd.DataFrame:
    """One row per (group, network): the deepest block's probe accuracy, chance and p."""
    return pd.DataFrame({k: r.probe for k, r in rows.items()}).T[["accuracy", "chance", "p"]]


def factor_table(sem: Mapping[int, Mapping[str, NetworkSemantics]]) -> pd.DataFrame:
    """The 2x2 table (global residual x training): CHI by degradation and by content at
    the deepest block, means over the seeds of ``sem`` (seed -> variant -> result), and
    the largest permutation p of CHI by degradation."""
    out = {}
    for name, (gr, adv) in VARIANTS.items():
        r = [d[name].deepest for d in sem.values()]
        key = ("with" if gr else "without") + " global residual", "L1 + GAN" if adv else "L1"
        out[key] = {
            "CHI degradation": np.mean([t.chi_degradation for t in r]),
            "CHI content": np.mean([t.chi_content for t in r]),
            "max p (deg null)": max(t.p_degradation for t in r),
        }
    return pd.DataFrame(out).T


def factor_pairs(
    sem: Mapping[int, Mapping[str, NetworkSemantics]],
    pairs: Mapping[str, Sequence[tuple[str, str]]] = FACTOR_PAIRS,
) -> dict[str, list[dict]]:
    """Factor -> one paired comparison per seed and pair (:func:`paired_log_ratio` of the
    deepest blocks, with ``seed`` and ``pair`` named)."""
    return {
        f: [
            {**paired_log_ratio(d[a].deepest, d[b].deepest), "seed": s, "pair": f"{a} / {b}"}
            for s, d in sem.items()
            for a, b in ab
        ]
        for f, ab in pairs.items()
    }
