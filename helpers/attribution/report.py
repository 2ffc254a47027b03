"""What the DI-vs-PSNR chapter prints and writes: the numbers its prose quotes, its
summaries as text, and sections of its results JSON built from the analyses' outputs.

- :func:`prose_numbers`: every number the chapter's markdown glues (``myst_nb.glue``),
  the paper's labelled as such, by glue name.
- :func:`worst_completeness`, :func:`lam_maps_summary`: the LAM maps' completeness and
  degenerate windows.
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

import pandas as pd

from .. import published
from ..networks.family import FamilyRun
from ..results import or_none
from ..verdict import Verdict
from .di import LogDIFit, content_ranking
from .result import LAMResult
from .verdicts import P_SIGNIFICANT

__all__ = [
    "content_record",
    "family_record",
    "fit_record",
    "lam_maps_summary",
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


def worst_completeness(maps: Mapping[tuple[str, str], LAMResult]) -> float:
    """The largest completeness error (fraction) over the non-degenerate maps; 0 if none."""
    return max((r.completeness_error for r in maps.values() if not r.degenerate), default=0.0)


def lam_maps_summary(maps: Mapping[tuple[str, str], LAMResult], seconds: float) -> str:
    """Two lines on ``maps`` (``(network, case) -> LAMResult``): the degenerate windows'
    cases, then how many maps there are, how many came from the cache, the time they took
    (``seconds``) and the worst completeness error (:func:`worst_completeness`, in %)."""
    degenerate = sorted({c for (_, c), r in maps.items() if r.degenerate})
    return (
        f"degenerate windows (left out where flagged): {degenerate or 'none'}\n"
        f"{len(maps)} LAM maps ({sum(r.cached for r in maps.values())} read from the map "
        f"cache shared with the LAM chapter) in {seconds:.0f} s; "
        f"worst completeness error {100 * worst_completeness(maps):.2f}%"
    )


def verdict_report(
    found: Sequence[Verdict], below: Sequence[str], n_networks: int, test_set: str
) -> str:
    """The verdicts' sentences, then (when ``below`` lists networks that do not beat
    bicubic on ``test_set``) a caveat, then one rule line per verdict with its outcome
    and the paper's finding; blocks separated by a blank line."""
    blocks = ["\n".join(v.text for v in found)]
    if below:
        blocks.append(
            f"\nCaveat: {len(below)} of {n_networks} networks do not beat bicubic on {test_set} "
            "at this preset; their PSNR says more about how far training got than about the "
            "architecture."
        )
    rules = "\n".join(f"{v.claim}: {v.rule}; {v.outcome}. Paper: {v.paper}" for v in found)
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
