"""Each claim the DI-vs-PSNR chapter decides, as a function with its rule (the LAM
chapter's are in :mod:`.verdicts_lam`).

A verdict function takes the chapter's numbers (plain mappings, no tables), applies one
stated rule and returns a :class:`Verdict`: whether the claim holds (``holds``; the
``outcome`` "holds", "partly" for the DI chapter's three-way rules, or "does not hold"),
the numbers it used, the rule in one sentence, the ``text`` the chapter prints and the
paper's finding it is compared with.

DI chapter (Sec. 4.4, Fig. 7): :func:`psnr_vs_log_di`, :func:`receptive_field_vs_di`
(:func:`receptive_field_summary`), :func:`scale_trends`, :func:`content_vs_di`.

DI values are the diffusion index (in (0, 100]; :data:`helpers.attribution.di.DI_DEFINITIONS`);
PSNR in dB.

May import: :mod:`.di` and ``helpers.published`` (and numpy/scipy).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import stats

from .. import published
from ..verdict import Verdict, graded
from .di import LogDIFit

#: The DI chapter's significance level (the paper's p < 1e-12 needs ~48 networks).
P_SIGNIFICANT = 0.05
#: The paper's direction of DI along each sweep of Fig. 7c (1: rises, 0: does not).
PAPER_SCALE_TRENDS: dict[tuple[str, str], int] = {
    ("fsrcnn", "width"): 1,
    ("fsrcnn", "depth"): 1,
    ("edsr", "depth"): 1,
    ("edsr", "width"): 0,
}


#: The paper's findings each verdict is compared with (Gu & Dong, CVPR 2021).
PAPER_RECEPTIVE_FIELD = (
    "Table 1: IMDN, RFDN, RNAN (global) no higher than RRDBNet (703 px); RCAN, SAN higher"
)
PAPER_SCALE = "Fig. 7c: DI rises with FSRCNN width and depth and EDSR depth, not EDSR width"
PAPER_CONTENT = "Fig. 8: regular stripes and grids draw wide attribution, complex content not"


# ------------------------------------------------------------------------- DI chapter


def psnr_vs_log_di(
    fit: LogDIFit,
    fit_above: LogDIFit | None = None,
    below: list[str] | tuple[str, ...] = (),
    paper: Mapping[str, Any] = published.LAM_REGRESSION,
    p_max: float = P_SIGNIFICANT,
) -> Verdict:
    """(1) Networks that use more pixels super-resolve better: PSNR rises with log DI.

    Rule: HOLDS when Pearson's r and Spearman's rho of PSNR on log10 DI both exceed the
    paper's bar (``pearson_min``/``spearman_min``, 0.8) and both two-sided p-values are
    below ``p_max`` (0.05, in place of the paper's 1e-12, out of reach over a dozen
    networks); PARTLY when both coefficients are positive and significant.

    Args:
        fit: the regression over every network (:func:`helpers.attribution.di.fit_log_di`).
        fit_above: the same over the networks that beat bicubic (quoted when ``below``).
        below: the networks that do not beat bicubic.
        paper: :data:`helpers.published.LAM_REGRESSION`.
        p_max: the significance level.
    """
    both = min(fit.pearson_r, fit.spearman_rho)
    sig = max(fit.pearson_p, fit.spearman_p) < p_max
    strong = fit.pearson_r > paper["pearson_min"] and fit.spearman_rho > paper["spearman_min"]
    outcome = graded(strong and sig, both > 0 and sig)
    text = (
        f"1. PSNR vs log DI: {outcome.upper()}: "
        f"Pearson r = {fit.pearson_r:.2f} (p = {fit.pearson_p:.1e}), "
        f"Spearman rho = {fit.spearman_rho:.2f} (p = {fit.spearman_p:.1e}) over {fit.n} networks "
        f"(paper: both > {paper['pearson_min']}, p < {paper['p_max']:.0e} over "
        f"{paper['n_networks']})"
        + (
            f"; over the {fit_above.n} networks that beat bicubic: r = {fit_above.pearson_r:.2f}, "
            f"rho = {fit_above.spearman_rho:.2f} (p = {fit_above.spearman_p:.1e})."
            if fit_above is not None and below
            else "."
        )
    )
    return Verdict(
        "1_di_vs_psnr",
        f"Pearson r > {paper['pearson_min']} and Spearman rho > {paper['spearman_min']}, both "
        f"p < {p_max} (PARTLY: both > 0 and p < {p_max})",
        outcome,
        {**fit.summary(), "p_max": p_max},
        text,
        f"Pearson and Spearman > {paper['pearson_min']}, p < {paper['p_max']:.0e} over "
        f"{paper['n_networks']} networks (Sec. 4.4, Fig. 7a)",
    )


def receptive_field_vs_di(
    di: Mapping[str, float], receptive_field: Mapping[str, str], p_max: float = P_SIGNIFICANT
) -> Verdict:
    """(2) A larger receptive field raises DI, but a global one does not by itself make a
    network use more pixels (Table 1).

    Rule: HOLDS when DI rises with a finite field (Spearman's rho of DI against the field
    over the finite-field networks > 0 with two-sided p < ``p_max``, 0.05, against the
    null of no rank association; needs >= 3 of them) *and* the lowest DI of a
    global network is at most the DI of the widest-field CNN (the first one listed when
    several share the widest field); PARTLY when one of the two holds.

    Args:
        di: network -> DI.
        receptive_field: network -> ``"<n>x<n>"`` (LR px) or ``"global"``.
        p_max: the significance level of the Spearman test.
    """
    finite = {
        n: int(receptive_field[n].split("x")[0]) for n in di if receptive_field[n] != "global"
    }
    glob = {n: di[n] for n in di if receptive_field[n] == "global"}
    rho = p = None
    if len(finite) >= 3:
        r = stats.spearmanr(list(finite.values()), [di[n] for n in finite])
        rho, p = float(r.statistic), float(r.pvalue)
    widest = max(finite, key=finite.get) if finite else None
    rf_up = rho is not None and rho > 0 and p < p_max
    lowest = min(glob, key=glob.get) if glob else None
    glob_not_enough = bool(glob) and widest is not None and glob[lowest] <= di[widest]
    outcome = graded(rf_up and glob_not_enough, rf_up or glob_not_enough)
    text = (
        f"2. Receptive field: {outcome.upper()}: DI "
        + (
            f"{'rises' if rf_up else 'does not rise'} with a finite field (Spearman {rho:+.2f}, "
            f"p = {p:.2g}, n = {len(finite)}; rule: > 0 and p < {p_max:g})"
            if rho is not None
            else "n/a"
        )
        + (
            f"; a global field {'does not' if glob_not_enough else 'does'} by itself lift DI above "
            f"the widest CNN ({widest}, DI {di[widest]:.2f}; lowest global: {lowest}, "
            f"{glob[lowest]:.2f})"
            if glob
            else "; no global network here"
        )
        + " (paper: IMDN, RFDN, RNAN no higher than RRDBNet; RCAN, SAN higher)."
    )
    return Verdict(
        "2_di_vs_receptive_field",
        f"Spearman(DI, finite receptive field) > 0 with p < {p_max:g} and min DI of global "
        "networks <= DI of the widest-field CNN (PARTLY: one of the two)",
        outcome,
        {
            "rho": rho,
            "p": p,
            "p_max": p_max,
            "n_finite": len(finite),
            "widest": widest,
            "widest_px": finite.get(widest) if widest else None,
            "widest_di": di[widest] if widest else None,
            "global_di": dict(sorted(glob.items(), key=lambda kv: kv[1])),
        },
        text,
        PAPER_RECEPTIVE_FIELD,
    )


def receptive_field_summary(v: Verdict) -> str:
    """The numbers behind :func:`receptive_field_vs_di` in two sentences: Spearman's rho of
    DI against a finite field (p, n), and the widest-field CNN beside the global networks'
    DI (lowest first; the second sentence only when there are global networks)."""
    n = v.numbers
    lines = [
        "Finite receptive fields: Spearman(DI, field) = "
        + (
            f"{n['rho']:+.2f} (p = {n['p']:.2g}, n = {n['n_finite']})"
            if n["rho"] is not None
            else "n/a"
        )
    ]
    if n["global_di"]:
        lines.append(
            f"Widest finite field: {n['widest']} ({n['widest_px']} px), DI {n['widest_di']:.2f}; "
            "global networks' DI: " + ", ".join(f"{k} {d:.2f}" for k, d in n["global_di"].items())
        )
    return "\n".join(lines)


def scale_trends(
    trends: Mapping[tuple[str, str], tuple[float, float]],
    expected: Mapping[tuple[str, str], int] = PAPER_SCALE_TRENDS,
) -> Verdict:
    """(3) Across scales FSRCNN's DI grows with width and depth, EDSR's with depth but not
    with width (Fig. 7c).

    Rule: a sweep matches the paper when the sign of its DI trend (mean Spearman rho of
    DI along the sweep's groups, :func:`helpers.attribution.di.sweep_trends`) is positive
    exactly where the paper's is (``expected``); sweeps with a NaN trend are not counted.
    HOLDS when all four sweeps are there and match; PARTLY when at least two match.

    Args:
        trends: ``(arch, "width" | "depth") -> (DI rho, PSNR rho)``.
        expected: ``(arch, var) -> 1`` (DI rises) or ``0`` (does not).
    """
    match = {
        k: (trends[k][0] > 0) == bool(e)
        for k, e in expected.items()
        if k in trends and not np.isnan(trends[k][0])
    }
    n_match = sum(match.values())
    outcome = graded(len(match) == 4 and all(match.values()), n_match >= 2)
    text = (
        f"3. Network scale: {outcome.upper()}: DI trend (Spearman) "
        + ", ".join(
            f"{a} {var} {trends[(a, var)][0]:+.2f}" for a, var in expected if (a, var) in trends
        )
        + " (paper: + for FSRCNN width and depth and EDSR depth, none for EDSR width); "
        + f"{n_match} of {len(match)} as in the paper."
    )
    return Verdict(
        "3_di_vs_scale",
        "sign of the DI trend along each sweep as in the paper for all four sweeps "
        "(PARTLY: at least two)",
        outcome,
        {"match": {f"{a}_{var}": ok for (a, var), ok in match.items()}, "n_match": n_match},
        text,
        PAPER_SCALE,
    )


def content_vs_di(
    content_corr: Mapping[str, Mapping[str, float]],
    n_patches: int,
    widest: str,
    narrowest: str,
    p_max: float = P_SIGNIFICANT,
) -> Verdict:
    """(4) Regular stripes and grids draw wide attribution, complex content does not (Fig. 8).

    Rule: HOLDS when Spearman's rho of mean DI against periodicity over the hard cases is
    positive with p < ``p_max`` (0.05); PARTLY when it is positive but not significant.

    Args:
        content_corr: measure -> ``{"rho", "p"}`` for ``"periodicity"``, ``"coherence"``
            and ``"window_edges"`` (Spearman of the measure against mean DI).
        n_patches: hard cases ranked.
        widest, narrowest: the hard cases with the highest and the lowest mean DI.
        p_max: the significance level.
    """
    cp = content_corr["periodicity"]
    sig = cp["p"] < p_max
    outcome = graded(cp["rho"] > 0 and sig, cp["rho"] > 0)
    edges = content_corr["window_edges"]
    text = (
        f"4. Image content: {outcome.upper()}: mean DI vs periodicity rho = {cp['rho']:+.2f} "
        f"(p = {cp['p']:.2g}), vs orientation coherence rho = "
        f"{content_corr['coherence']['rho']:+.2f} over {n_patches} patches"
        + ("" if sig else " (not significant at this number of patches)")
        + f"; vs the window's own edge content rho = {edges['rho']:+.2f} (p = {edges['p']:.2g})"
        + f"; widest-attribution patch: {widest}, narrowest: {narrowest}."
    )
    return Verdict(
        "4_di_vs_content",
        f"Spearman(mean DI, periodicity) > 0 with p < {p_max} (PARTLY: > 0)",
        outcome,
        {"periodicity": dict(cp), "n_patches": n_patches, "p_max": p_max},
        text,
        PAPER_CONTENT,
    )
