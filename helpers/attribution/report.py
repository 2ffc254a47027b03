"""What the LAM and DI-vs-PSNR chapters print and write: the numbers their prose quotes,
their summaries as text, and sections of their results JSON built from the analyses'
outputs.

LAM chapter:

- :func:`lam_di_rows`: the DI table, one row per network, beside the paper's Table 1.
- :func:`lam_di_notes`: the lines printed under it (degenerate windows, the definition).
- :func:`lam_di_record`, :func:`lam_paths_record`: its results sections (DI and
  completeness per network; integration rules, Fig. 3's paths and edge shares).

DI-vs-PSNR chapter:

- :func:`prose_numbers`: every number the chapter's markdown glues (``myst_nb.glue``),
  the paper's labelled as such, by glue name.
- :func:`degenerate_cases`, :func:`worst_completeness`, :func:`lam_maps_summary`: the LAM
  maps' degenerate windows and completeness.
- :func:`verdict_report`: the verdicts' sentences, the caveat on networks that do not
  beat bicubic, and each verdict's rule.
- :func:`fit_record`, :func:`family_record`, :func:`trends_record`, :func:`content_record`:
  results sections of the log-DI fit, the family's training, the sweeps' trends and the
  hard cases' content.

Each function only formats numbers computed elsewhere (:mod:`.di`, :mod:`.tables`,
:mod:`.verdicts`, :mod:`helpers.networks.family`); none computes a statistic. DI is the
diffusion index, in (0, 100]; PSNR in dB.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .. import published
from ..networks.family import FamilyRun
from ..results import or_none
from ..verdict import Verdict, seeds_line
from .di import LogDIFit, content_ranking, di_stats, map_di
from .result import LAMResult
from .verdicts import P_SIGNIFICANT

__all__ = [
    "content_record",
    "degenerate_cases",
    "family_record",
    "fit_record",
    "lam_di_notes",
    "lam_di_record",
    "lam_di_rows",
    "lam_maps_summary",
    "lam_paths_record",
    "prose_numbers",
    "trends_record",
    "verdict_report",
    "worst_completeness",
]


def prose_numbers(step_factor: Mapping[str, int], window_size: int) -> dict[str, Any]:
    """Glue name -> value of every number the chapter's prose quotes: the training-step
    factors of this preset (``"fsrcnn 4x"``, or ``"none"``), the window size (SR px), the
    significance level, and the paper's (Gu & Dong, :mod:`helpers.published`): networks,
    correlation and p bars of the regression, hard cases, family sizes and width/depth
    ranges per architecture, and Table 1's PSNR range. Strings are text to show as is
    (glue them as Markdown); numbers are numbers."""
    reg = published.LAM_REGRESSION
    psnrs = [r["psnr"] for r in published.LAM_TABLE1.values()]
    out: dict[str, Any] = {
        "step_factors": ", ".join(f"{a} {k}x" for a, k in step_factor.items()) or "none",
        "window_size": window_size,
        "p_max": P_SIGNIFICANT,
        "paper_n_networks": reg["n_networks"],
        "paper_r_min": reg["pearson_min"],
        "paper_p_max": reg["p_max"],
        "paper_n_images": published.LAM_TEST_SET["n_images"],
    }
    for a, f in published.LAM_FAMILY.items():
        out[f"paper_{a}_n"] = f["n"]
        for k in ("width", "depth"):
            out[f"paper_{a}_{k}"] = "{}–{}".format(*f[k])
    out["paper_psnr_range"] = f"{min(psnrs):.1f}–{max(psnrs):.1f}"
    return out


def degenerate_cases(maps: Mapping[tuple[str, str], LAMResult]) -> list[str]:
    """The cases (sorted, each once) of ``maps`` (``(network, case) -> LAMResult``) where
    some network's window is degenerate (:attr:`LAMResult.degenerate`)."""
    return sorted({c for (_, c), r in maps.items() if r.degenerate})


def _degenerate_line(maps: Mapping[tuple[str, str], LAMResult]) -> str:
    return f"degenerate windows (left out where flagged): {degenerate_cases(maps) or 'none'}"


def worst_completeness(maps: Mapping[tuple[str, str], LAMResult]) -> float:
    """The largest completeness error (fraction) over the non-degenerate maps; 0 if none."""
    return max((r.completeness_error for r in maps.values() if not r.degenerate), default=0.0)


def lam_maps_summary(maps: Mapping[tuple[str, str], LAMResult], seconds: float) -> str:
    """Two lines on ``maps`` (``(network, case) -> LAMResult``): the degenerate windows'
    cases, then how many maps there are, how many came from the cache, the time they took
    (``seconds``) and the worst completeness error (:func:`worst_completeness`, in %)."""
    return (
        f"{_degenerate_line(maps)}\n"
        f"{len(maps)} LAM maps ({sum(r.cached for r in maps.values())} read from the map "
        f"cache shared with the LAM chapter) in {seconds:.0f} s; "
        f"worst completeness error {100 * worst_completeness(maps):.2f}%"
    )


def verdict_report(
    found: Sequence[Verdict],
    below: Sequence[str],
    n_networks: int,
    test_set: str,
    seeds: Mapping[str, Mapping[str, Any]] | None = None,
) -> str:
    """The verdicts' sentences, then (when ``below`` lists networks that do not beat
    bicubic on ``test_set``) a caveat, then one rule line per verdict with its outcome
    and the paper's finding (and, where ``seeds`` has the claim, its
    :func:`helpers.verdict.seeds_line`); blocks separated by a blank line."""
    blocks = ["\n".join(v.text for v in found)]
    if below:
        blocks.append(
            f"\nCaveat: {len(below)} of {n_networks} networks do not beat bicubic on {test_set} "
            "at this preset; their PSNR says more about how far training got than about the "
            "architecture."
        )
    seeds = seeds or {}
    rules = "\n".join(
        f"{v.claim}: {v.rule}; {v.outcome}. Paper: {v.paper}"
        + (f"\n    {seeds_line(seeds[v.claim], v.outcome)}" if v.claim in seeds else "")
        for v in found
    )
    blocks.append("\nRules:\n" + rules)
    return "\n".join(blocks)


def fit_record(fit: LogDIFit) -> dict[str, Any]:
    """The main fit's results keys: ``pearson`` (r, p), ``spearman`` (rho, p) and ``fit``
    (:meth:`LogDIFit.summary`)."""
    return {
        "pearson": {"r": fit.pearson_r, "p": fit.pearson_p},
        "spearman": {"rho": fit.spearman_rho, "p": fit.spearman_p},
        "fit": fit.summary(),
    }


def family_record(run: FamilyRun, total_seconds: float) -> dict[str, Any]:
    """The family's training section: networks trained, their total training time
    (``total_seconds``, 1 decimal), this run's wall time (1 decimal) and the members
    left out (name -> why)."""
    return {
        "networks": len(run.models),
        "total_seconds": round(total_seconds, 1),
        "wall_seconds_this_run": round(run.wall_seconds, 1),
        "skipped": run.skipped,
    }


def trends_record(
    trends: Mapping[tuple[str, str], tuple[float, float]],
) -> dict[str, dict[str, float | None]]:
    """``"<arch>_<var>"`` -> ``{"di", "psnr"}`` of :func:`helpers.attribution.di.sweep_trends`,
    ``None`` where a trend is NaN (under 3 members along the sweep: no direction)."""
    return {
        f"{a}_{v}": {"di": or_none(t[0]), "psnr": or_none(t[1])} for (a, v), t in trends.items()
    }


def content_record(
    correlations: Mapping[str, Mapping[str, float]], measures: pd.DataFrame
) -> dict[str, Any]:
    """The content section: ``spearman`` (:func:`helpers.attribution.di.content_correlations`,
    ``None`` for a NaN: fewer than 3 hard cases) and ``ranking``
    (:func:`helpers.attribution.di.content_ranking` of ``measures``)."""
    return {"spearman": or_none(correlations), "ranking": content_ranking(measures)}


def lam_di_rows(
    maps: Mapping[tuple[str, str], LAMResult],
    cases: Sequence[str],
    fields: Mapping[str, int | None],
) -> list[dict[str, Any]]:
    """The LAM chapter's DI table: one row per network of ``fields`` (name -> receptive
    field in LR px, ``None`` = global), in that order, over its maps on ``cases``
    (``maps[(network, case)]``), with DI by the LAM demo's definition
    (:func:`helpers.attribution.di.di_stats`).

    Keys: ``model``; ``receptive_field`` (LR px or ``"global"``); ``DI_mean``, ``DI_std``
    (NaN when no window is kept) and ``n`` over the kept windows, ``n_degenerate``; when
    every window is degenerate, ``DI_mean`` is the mean over all of them and ``DI_from``
    says so (``"degenerate windows only"``, else ``"kept windows"``);
    ``max_completeness_err_%``; ``DI_formula_diff`` (largest |DI - the paper's formula's
    DI|); ``s_per_map`` (mean seconds per map, as computed); ``paper_model``
    (:func:`helpers.published.lam_counterpart`) and its ``paper_DI`` (``None`` when
    Table 1 lacks it).
    """
    rows = []
    for name, field in fields.items():
        mine = [maps[(name, c)] for c in cases]
        summary = di_stats(mine, "lam_demo")
        counterpart = published.lam_counterpart(name)
        rows.append(
            {
                "model": name,
                "receptive_field": field or "global",
                # Every window degenerate (seen at smoke): the DI over all of them, flagged.
                "DI_mean": summary["mean"] if summary["n"] else summary["mean_all"],
                "DI_from": "kept windows" if summary["n"] else "degenerate windows only",
                "DI_std": summary["std"],
                "n": summary["n"],
                "n_degenerate": summary["n_degenerate"],
                "max_completeness_err_%": 100 * summary["max_completeness_error"],
                "DI_formula_diff": summary["max_abs_diff"],
                "s_per_map": np.mean([r.seconds for r in mine]),
                "paper_model": counterpart,
                "paper_DI": published.LAM_TABLE1.get(counterpart, {}).get("di"),
            }
        )
    return rows


def lam_di_notes(
    maps: Mapping[tuple[str, str], LAMResult], rows: Sequence[Mapping[str, Any]]
) -> str:
    """The lines under the LAM chapter's DI table (``rows`` of :func:`lam_di_rows` over
    ``maps``): the degenerate windows' cases, the networks whose DI comes from degenerate
    windows only (a line only when there are any), and the largest difference between
    the LAM demo's DI and the paper's formula without its 1e-7 (4 decimals)."""
    lines = [_degenerate_line(maps)]
    if only_degenerate := [r["model"] for r in rows if not r["n"]]:
        lines.append(f"DI from degenerate windows only (treat as noise): {only_degenerate}")
    lines.append(
        "DI printed: the LAM demo's definition; the paper's formula without its 1e-7 differs "
        f"by at most {max(r['DI_formula_diff'] for r in rows):.4f} DI on these "
        f"{len(maps)} maps"
    )
    return "\n".join(lines)


def lam_di_record(
    maps: Mapping[tuple[str, str], LAMResult], rows: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The LAM chapter's DI results sections from ``rows`` (:func:`lam_di_rows` over
    ``maps``): ``degenerate_windows`` (:func:`degenerate_cases`), ``di_definition``,
    ``di_formula_max_diff`` (6 decimals), ``di`` (network -> ``mean``, ``std`` to 4
    decimals, ``None`` when no window is kept; ``n``, ``n_degenerate``),
    ``completeness_error`` (network -> largest relative error as a fraction, 6 decimals,
    ``None`` when undefined) and ``seconds_per_map`` (3 decimals)."""
    return {
        "degenerate_windows": degenerate_cases(maps),
        "di_definition": "lam_demo",
        "di_formula_max_diff": round(max(r["DI_formula_diff"] for r in rows), 6),
        "di": {
            r["model"]: {
                "mean": round(r["DI_mean"], 4),
                "std": or_none(round(r["DI_std"], 4)),  # None: no window kept
                "n": r["n"],
                "n_degenerate": r["n_degenerate"],
            }
            for r in rows
        },
        "completeness_error": {
            r["model"]: or_none(round(r["max_completeness_err_%"] / 100, 6)) for r in rows
        },
        "seconds_per_map": {r["model"]: round(r["s_per_map"], 3) for r in rows},
    }


def lam_paths_record(
    rules: pd.DataFrame, paths: Mapping[str, LAMResult], edges: Verdict
) -> dict[str, Any]:
    """The LAM chapter's path results sections: ``rules`` (rule -> steps as a string ->
    relative completeness error in %, 4 decimals, from the table rules x steps),
    ``fig3`` (path label -> its map's ``di`` (4 decimals) and ``completeness_error``
    (fraction, 6 decimals)) and ``fig3_edge_share`` (the ``blur`` and ``ig`` shares of
    |map| on edge pixels per case, 4 decimals, and ``p``, from the numbers of the
    :func:`helpers.attribution.verdicts_lam.blur_path_edges` verdict ``edges``)."""
    return {
        "rules": {
            rule: {str(k): round(v, 4) for k, v in row.items()} for rule, row in rules.iterrows()
        },
        "fig3": {
            label: {"di": round(map_di(r), 4), "completeness_error": round(r.completeness_error, 6)}
            for label, r in paths.items()
        },
        "fig3_edge_share": {
            "blur": [round(v, 4) for v in edges.numbers["blur_share"]],
            "ig": [round(v, 4) for v in edges.numbers["ig_share"]],
            "p": edges.numbers["p"],
        },
    }
