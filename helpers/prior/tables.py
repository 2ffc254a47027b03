"""The chapter's tables: which variants each of the thesis's tables trains, training and
scoring them over the seeds, the statistics per table and their display.

A table is ``{label: variant}`` (:mod:`helpers.prior.runs` variants); its first label is
the comparison's reference. Every variant of every table is trained at every seed; the
same variant in two tables (e.g. lambda = 1e-4, local, one SSR, w = Sim) is one cached
training.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import sweep
from . import stats as pstats
from .runs import score, train_variant

#: The prior's default setting in every ablation (the thesis's: lambda = 1e-4, w = Sim,
#: one local SSR).
PRIOR = {"lam": 1e-4}


def lambda_variants(lambdas: Sequence[float]) -> dict[str, dict[str, Any]]:
    """Table 4.2: ``"0"`` (plain L1, added when missing) then one prior per lambda."""
    rest = sorted({float(v) for v in lambdas if v != 0})
    return {"0": {}} | {f"{lam:g}": {"lam": lam} for lam in rest}


def w_variants(ws: Sequence[float]) -> dict[str, dict[str, Any]]:
    """Table 4.3: ``"sim"`` first, then constant targets."""
    return {"sim": dict(PRIOR)} | {f"{w:g}": {**PRIOR, "w": float(w)} for w in ws}


def nssr_variants(ns: Sequence[int], unconstrained: bool = True) -> dict[str, dict[str, Any]]:
    """Table 4.4: N_SSR local (``"1"`` first) and, with ``unconstrained``, unconstrained
    (``"1*"``, ...: any position beyond the PoI's own peak, i.e. the global region with
    ``exclude`` = ``suppress``; shown, not used by the verdict)."""
    local = {"1": dict(PRIOR)} | {str(n): {**PRIOR, "n_ssr": int(n)} for n in ns}
    free = {f"{n}*": {**PRIOR, "n_ssr": int(n), "scenario": "global_similar", "exclude": 5}
            for n in [1, *ns]}  # fmt: skip
    return local | free if unconstrained else local


def scenario_variants(extra: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Table 4.5: baseline, scenario 1 (local similar, the default) and ``extra``."""
    return {"baseline": {}, "local_similar": dict(PRIOR)} | {
        s: {**PRIOR, "scenario": s} for s in extra
    }


def regulariser_variants(names: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Table 4.6: baseline, the prior, and weight decay 1e-4 / one residual block fewer /
    batch norm in the residual blocks (EDSR's ``bn``)."""
    known = {"wd": {"weight_decay": 1e-4}, "one_block_fewer": {"blocks": -1}, "bn": {"bn": True}}
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"unknown regularisers {unknown}; valid: {sorted(known)}")
    return {"baseline": {}, "prior": dict(PRIOR)} | {n: known[n] for n in names}


def run(
    cfg: Mapping[str, Any],
    net: str,
    variants: Mapping[str, Mapping[str, Any]],
    seeds: Sequence[int],
    sets: Mapping[str, list],
    device=None,
) -> tuple[dict[str, dict[int, Any]], dict[str, dict[int, dict]]]:
    """Train (cached) and score every variant at every seed: ``(results, scores)``,
    label -> seed -> TrainResult / set -> image -> PSNR."""
    results: dict[str, dict[int, Any]] = {}
    scores: dict[str, dict[int, dict]] = {}
    jobs = [(dict(v), s) for v in variants.values() for s in seeds]
    sweep.prefetch(functools.partial(_train_job, dict(cfg), net), jobs)  # Dask: in parallel
    for label, v in variants.items():
        results[label] = {s: train_variant(cfg, net, v, s, device) for s in seeds}
        scores[label] = {s: score(r, sets, device) for s, r in results[label].items()}
    return results, scores


def _train_job(cfg: dict, net: str, job: tuple[dict, int]) -> str:
    """A sweep job: train (or find) one variant at one seed; its cache key."""
    return train_variant(cfg, net, job[0], job[1]).key


def set_means(scores: Mapping[str, Mapping[int, Mapping]], test_set: str = "hard"):
    """label -> seed -> mean PSNR over ``test_set``'s images."""
    return {k: pstats.set_means(d, test_set) for k, d in scores.items()}


def seed_mean(values: Mapping[int, float | None]) -> float:
    """Mean over seeds of the values that are not ``None`` (NaN when none is: figures)."""
    v = [x for x in values.values() if x is not None]
    return float(np.mean(v)) if v else float("nan")


def statistics(scores, n_boot: int, seed: int = 0) -> dict[str, dict[str, dict[str, Any]]]:
    """:func:`helpers.prior.stats.compare` against the table's first label."""
    return pstats.compare(scores, next(iter(scores)), n_boot, seed=seed)


def display(stats: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> pd.DataFrame:
    """One row per variant, per set: mean +- sd over seeds, paired Delta, paired t p
    (Holm), Wilcoxon p, TOST p (+-0.05 dB) and the bootstrap 95% interval over images."""

    def fmt(x, spec=".3f"):
        return "-" if x is None else format(x, spec)

    rows = {}
    for label, by_set in stats.items():
        row = {}
        for ts, r in by_set.items():
            row[(ts, "PSNR")] = f"{r['psnr_mean']:.3f} +- {fmt(r['psnr_sd'])}"
            row[(ts, "delta")] = fmt(r["delta_vs_0"], "+.3f")
            row[(ts, "p (Holm)")] = f"{fmt(r['p_paired'], '.2g')} ({fmt(r['p_holm'], '.2g')})"
            row[(ts, "Wilcoxon p")] = fmt(r["p_wilcoxon"], ".2g")
            row[(ts, "TOST p")] = fmt(r["p_tost"], ".2g")
            ci = r["ci_images"]
            row[(ts, "CI images")] = "-" if ci is None else f"[{ci[0]:+.3f}, {ci[1]:+.3f}]"
        rows[label] = row
    return pd.DataFrame(rows).T


def record(stats: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """The results file's form of a table: label -> set -> numbers."""
    return {k: {ts: dict(r) for ts, r in v.items()} for k, v in stats.items()}
