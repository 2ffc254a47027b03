"""The claims the two texture chapters decide, each as a function with its rule.

Every function takes the numbers a chapter computed, applies one stated rule and returns a
:class:`Verdict`: whether the claim ``holds``, the ``outcome`` in a word or two, the
``numbers`` it used, the sentence (``text``) the chapter prints and stores in its results,
and the paper's finding (``paper``, from :mod:`helpers.published`) to print beside it.

*Texture profiles* (Magid et al., CVPR 2022, §4.1-4.2.2): :func:`entropy_psnr`,
:func:`entropy_spread`, :func:`manifold_overlap`, :func:`profiles_differ`,
:func:`labels_consistently_hard`, :func:`per_label_margins`, :func:`high_vs_all`.
*Semantic consistency* (§4.2.3): :func:`sr_changes_labels`, :func:`bicubic_keeps_fewer`,
:func:`most_frequent_flips`, :func:`consistency_psnr`.

Each docstring states the threshold and, where noise could pass it, the null or interval
(:mod:`helpers.texture.nulls`: label permutation, bootstrap, Friedman); no
multiple-comparison correction is applied.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..published import (
    MAGID_BICUBIC_AGREEMENT,
    MAGID_CLUSTERS,
    MAGID_FIG9_GAINS_DB,
    MAGID_HIGH_RATIO,
    MAGID_HIGH_SHARE,
    MAGID_SR_AGREEMENT,
)
from ..verdict import Verdict, by_interval, graded, tally

__all__ = [
    "bicubic_keeps_fewer",
    "consistency_psnr",
    "entropy_psnr",
    "entropy_spread",
    "high_vs_all",
    "labels_consistently_hard",
    "manifold_overlap",
    "most_frequent_flips",
    "per_label_margins",
    "profiles_differ",
    "sr_changes_labels",
]


def _pct_range(lo: float, hi: float) -> str:
    """``"31-54%"`` for shares (0.309, 0.542)."""
    return f"{100 * lo:.0f}-{100 * hi:.0f}%"


# --------------------------------------------------------------------------- profiles
def entropy_psnr(
    fit: Mapping[str, float], same_entropy_gap: float, r_max: float = -0.3, p_max: float = 0.01
) -> Verdict:
    """Fig. 3: PSNR is inversely related to the entropy of gradients.

    Rule: holds when the Pearson correlation of entropy (bits) and bicubic PSNR (dB) over
    the training patches is below ``r_max`` (-0.3) and its two-sided p-value (null: r = 0,
    :func:`scipy.stats.linregress`) is below ``p_max`` (0.01). ``fit`` is
    :func:`helpers.texture.profiles.entropy_psnr_fit`'s dict; ``same_entropy_gap`` (dB) is
    the PSNR difference of the Fig. 3 pair of equal entropy, reported, not tested (whether
    entropy alone determines difficulty is :func:`entropy_spread`'s question).
    """
    r, p = fit["pearson_r"], fit["pearson_p"]
    holds = bool(r < r_max and p < p_max)
    text = (
        f"Fig. 3: PSNR falls with entropy ({fit['slope']:.2f} dB/bit, r = {r:.2f}); "
        + (
            "an inverse relation as in the paper"
            if holds
            else "the paper's strong inverse relation does not show clearly here"
        )
        + f"; the most different pair of equal entropy differs by {same_entropy_gap:.1f} dB."
    )
    return Verdict(
        "entropy_psnr",
        f"Pearson r < {r_max} and p < {p_max} (two-sided, null r = 0)",
        graded(holds),
        {
            "slope": fit["slope"],
            "pearson_r": r,
            "pearson_p": p,
            "same_entropy_gap": same_entropy_gap,
        },
        text,
        "a strong inverse relation (Fig. 3, no coefficient given); equal entropy, PSNRs more "
        "than a factor 2 apart",
    )


def entropy_spread(spread: Mapping[str, Any], min_sd: float = 1.0) -> Verdict:
    """Fig. 3: entropy alone does not determine difficulty (PSNR varies at equal entropy).

    Rule: holds when the lower end of the 95% bootstrap CI of the pooled within-bin PSNR
    standard deviation (entropy bins of ``spread["bin_width"]`` bits) exceeds ``min_sd``
    (1 dB); does not hold when its upper end is below it; inconclusive otherwise. Null:
    "entropy determines PSNR" up to ``min_sd``. ``spread``:
    :func:`helpers.texture.nulls.within_bin_spread`.
    """
    lo, hi = spread["ci"]
    outcome = by_interval([(lo, hi)], min_sd)
    tail = {
        "holds": "entropy alone does not determine difficulty, as the paper says.",
        "does not hold": "here entropy nearly determines the bicubic PSNR.",
        "inconclusive": f"the interval straddles {min_sd:g} dB.",
    }[outcome]
    text = (
        f"Fig. 3: at equal entropy (bins of {spread['bin_width']:g} bit) the bicubic PSNR "
        f"still spreads by {spread['sd_within']:.2f} dB (SD; 95% CI {lo:.2f}-{hi:.2f}; "
        f"entropy bins explain {spread['eta2']:.0%} of the PSNR variance) — " + tail
    )
    return Verdict(
        "entropy_spread",
        f"95% bootstrap CI of the within-entropy-bin PSNR SD above {min_sd:g} dB (holds), "
        f"below it (does not hold), else inconclusive",
        outcome,
        dict(spread),
        text,
        "two patches of entropy about 8 bits, one with more than twice the other's PSNR (Fig. 3)",
    )


def manifold_overlap(
    top_share: Sequence[float] | pd.Series,
    clusters_per_label: Sequence[int] | pd.Series,
    max_top_share: float = 0.8,
    min_share: float = 0.5,
) -> Verdict:
    """Fig. 5-6: texture clusters span several labels (and labels several clusters).

    Rule: a cluster *mixes labels* when its most frequent label holds less than
    ``max_top_share`` (80%) of its patches; holds when more than ``min_share`` (50%) of the
    k-means clusters mix labels. ``top_share``: per cluster
    (:func:`helpers.texture.profiles.cluster_summary`); ``clusters_per_label``: distinct
    clusters per label (reported, not tested).
    """
    mixed = float((pd.Series(top_share) < max_top_share).mean())
    spread = float((pd.Series(clusters_per_label) > 1).mean())
    holds = bool(mixed > min_share)
    text = (
        f"Fig. 5-6: {mixed:.0%} of the clusters mix labels (top label under "
        f"{max_top_share:.0%} of the cluster) and {spread:.0%} of the labels spread over "
        "several clusters"
        + (" — the overlap the paper reports." if holds else " — less overlap than the paper's.")
    )
    return Verdict(
        "manifold",
        f"more than {min_share:.0%} of the k-means clusters have a top-label share under "
        f"{max_top_share:.0%}",
        graded(holds),
        {"mixed_share": mixed, "spread_share": spread, "max_top_share": max_top_share},
        text,
        f"a cluster spans several labels and a label several clusters (k = "
        f"{MAGID_CLUSTERS['k']} on {MAGID_CLUSTERS['n_patches']:,} DIV2K patches)",
    )


def profiles_differ(
    nulls: Mapping[str, Mapping[str, Any]], train_set: str, quantile: float = 0.95
) -> Verdict:
    """Fig. 8: the semantic profile of a dataset is a fingerprint that tells datasets apart.

    Rule: a test set is *apart* from the SR training set when the Jensen-Shannon distance
    (base 2) of their label profiles exceeds the 95th percentile of its null (labels of the
    pooled patches permuted between two groups of the same sizes, >= 200 draws:
    :func:`helpers.texture.nulls.js_null`). Holds when every test set is apart; "partly"
    when some are; does not hold when none is. ``nulls``: test set -> js_null's dict.
    """
    apart = {ds: bool(r["js"] > r["null_p95"]) for ds, r in nulls.items()}
    n_apart = sum(apart.values())
    outcome = tally(apart.values())
    tail = {
        "holds": "the profiles tell the datasets apart, the fingerprint the paper proposes.",
        "partly": "only some test sets are told apart from the training set.",
        "does not hold": "no distance exceeds what resampling one distribution gives.",
    }[outcome]
    text = (
        f"Fig. 8: JS distance from {train_set}'s profile vs the null's {quantile:.0%} point: "
        + ", ".join(f"{k} {r['js']:.2f} vs {r['null_p95']:.2f}" for k, r in nulls.items())
        + f" — {n_apart} of {len(apart)} apart; "
        + tail
    )
    return Verdict(
        "profiles",
        f"JS distance (base 2) above the {quantile:.0%} point of a label-permutation null "
        "of the pooled patches (same sizes), for every test set",
        outcome,
        {"apart": apart, "tests": {k: dict(v) for k, v in nulls.items()}},
        text,
        "DIV2K, Urban100 and Manga109 have different top labels (Fig. 8; no distance given)",
    )


def labels_consistently_hard(w: Mapping[str, Mapping[str, Any]], alpha: float = 0.05) -> Verdict:
    """Fig. 9: some labels are consistently hard (the models agree which labels gain least).

    Rule: per test set, Kendall's W of the per-label PSNR gaps over bicubic across the SR
    models, tested with Friedman's chi-square (null: the models rank the labels
    independently, W = 0; :func:`helpers.texture.nulls.kendall_w`). Holds when p <
    ``alpha`` (0.05) on every testable test set; "partly" when on some; not testable when
    no test set has 3 labels and 2 models.
    """
    testable = {ds: r for ds, r in w.items() if r.get("p") is not None}
    outcome = tally(r["p"] < alpha for r in testable.values()) if testable else "not testable"
    tail = {
        "not testable": "too few labels or models to rank.",
        "holds": "the models agree on which labels are hard.",
        "partly": "the models agree on some test sets only.",
        "does not hold": "no significant agreement on which labels are hard.",
    }[outcome]
    text = (
        "Fig. 9: rank agreement of the per-label gains across models (Kendall's W): "
        + (
            ", ".join(
                f"{ds} W = {r['w']:.2f} (p = {r['p']:.2g}, {r['n_models']} models, "
                f"{r['n_labels']} labels)"
                for ds, r in testable.items()
            )  # fmt: skip
            or "none testable"
        )
        + " — "
        + tail
    )
    return Verdict(
        "hard_labels",
        f"Kendall's W of per-label PSNR gaps across SR models, Friedman p < {alpha:g} on "
        "every test set",
        outcome,
        {"kendall_w": {k: dict(v) for k, v in w.items()}, "alpha": alpha},
        text,
        "fibrous is among the five worst labels in every panel (Fig. 9)",
    )


def per_label_margins(
    gaps: pd.DataFrame,
    psnr_table: pd.DataFrame,
    models: Sequence[str],
    small_gap: float = 0.5,
    min_overall: float = 0.2,
) -> Verdict:
    """Fig. 9: on some labels deep SR gains surprisingly little over bicubic.

    Rule: *inconclusive* when the ``models`` gain less than ``min_overall`` (0.2 dB) over
    bicubic on average (mean over test sets of the mean patch PSNR difference; then small
    per-label margins say nothing about the paper's point); otherwise holds when at least
    one top/bottom label bar gains less than ``small_gap`` (0.5 dB) in absolute value.

    ``gaps``: the Fig. 9 bars, long (columns ``dataset``, ``model``, ``group`` top/bottom,
    ``label``, ``gap`` dB); ``psnr_table``: mean patch PSNR (dB), rows = versions (with
    ``"bicubic"``), columns = test sets.
    """
    summary = gaps.groupby(["dataset", "model", "group"]).gap.mean().unstack("group")
    hard_gap = summary["bottom"].mean()
    easy_gap = summary["top"].mean()
    overall = (psnr_table.loc[list(models)] - psnr_table.loc["bicubic"]).mean().mean()
    n_small = int((gaps.gap.abs() < small_gap).sum())
    if overall < min_overall:
        outcome = "inconclusive"
        tail = (
            f"but these networks are worse than bicubic on average ({overall:+.2f} dB)"
            if overall < 0
            else f"but these networks gain only {overall:+.2f} dB over bicubic on average"
        ) + " at this preset, so small per-label margins say little about the paper's point."
    elif n_small > 0:
        outcome = "holds"
        tail = "the small margins the paper warns about are present."
    else:
        outcome = "does not hold"
        tail = "no label shows the paper's small margin here."
    text = (
        f"Fig. 9: mean gain over bicubic {hard_gap:+.2f} dB on the five worst labels and "
        f"{easy_gap:+.2f} dB on the five best; {n_small} of {len(gaps)} label bars gain "
        f"less than {small_gap:g} dB — " + tail
    )
    return Verdict(
        "per_label",
        f"inconclusive if the models gain < {min_overall:g} dB over bicubic on average; else "
        f"holds if any top/bottom label bar gains < {small_gap:g} dB",
        outcome,
        {
            "bottom_gain": hard_gap,
            "top_gain": easy_gap,
            "overall_gain": overall,
            "n_small": n_small,
            "n_bars": len(gaps),
        },
        text,
        f"EDSR gains only {MAGID_FIG9_GAINS_DB['set14_bottom']:.2f} dB on Set14's hardest "
        f"labels and {MAGID_FIG9_GAINS_DB['urban100_top']:.2f} dB on Urban100's easiest",
    )


def high_vs_all(
    final: pd.DataFrame, bicubic: Mapping[str, float], steps: int, tol: float = 0.1
) -> Verdict:
    """Fig. 7: training on the high-complexity patches only beats training on all.

    Rule: holds when the "high" arm's final PSNR exceeds the "all" arm's by more than
    ``tol`` (0.1 dB) on all test patches and on the high ones; "partly" when only on the
    high ones; "no difference" when both differences are within ``tol`` (one seed per
    arm: no spread is measured, ``tol`` stands in for one). ``final``: rows = training arm,
    columns = test subset (:meth:`helpers.texture.high_vs_all.HighVsAll.final`, dB);
    ``bicubic``: bicubic PSNR per test subset (dB).
    """
    d_all = final.loc["high", "all"] - final.loc["all", "all"]
    d_high = final.loc["high", "high"] - final.loc["all", "high"]
    if d_all > tol and d_high > tol:
        outcome = "holds"
        tail = "the paper's finding (high is better on both) holds here."
    elif d_high > tol:
        outcome = "partly"
        tail = "better on the high patches, not on all of them."
    elif abs(d_all) <= tol and abs(d_high) <= tol:
        outcome = "no difference"
        tail = f"no clear difference (under {tol:g} dB) at this scale."
    else:
        outcome = "does not hold"
        tail = "the paper's finding does not hold at this scale."
    below = bool(final["all"].max() < bicubic["all"])
    text = (
        f"Fig. 7: training on the high patches only changes the PSNR by {d_all:+.2f} dB on all "
        f"test patches and {d_high:+.2f} dB on the high ones after {steps} steps — "
        + tail
        + (
            f" Neither arm reaches bicubic ({bicubic['all']:.2f} dB on all patches) in "
            "this short training."
            if below
            else ""
        )
    )
    return Verdict(
        "high_vs_all",
        f"high - all > {tol:g} dB on all and on high test patches (one seed per arm)",
        outcome,
        {"diff_all": d_all, "diff_high": d_high, "below_bicubic": below, "steps": steps},
        text,
        f"high (entropy/PSNR >= {MAGID_HIGH_RATIO}, {MAGID_HIGH_SHARE:.0%} of DIV2K) is better "
        "on all and on high test patches",
    )


# --------------------------------------------------------------------------- consistency
def sr_changes_labels(
    table: pd.DataFrame,
    paper_sr: tuple[float, float] = MAGID_SR_AGREEMENT,
    min_inside: float = 0.5,
) -> Verdict:
    """Claim 1 (Table 1): SR networks change the texture label of roughly half the patches.

    Rule: holds when at least ``min_inside`` (50%) of the SR dataset x model cells have a
    95% bootstrap CI of top-1 agreement that overlaps the paper's SR range ``paper_sr``
    (31-54% kept); otherwise "SR keeps more" when more than half of the cells lie above
    the range. ``table``: :func:`helpers.texture.consistency.agreement_table` (bicubic rows
    are left out).
    """
    lo_p, hi_p = paper_sr
    sr_cells = table[table.model != "bicubic"]
    inside = ((sr_cells.ci_hi >= lo_p) & (sr_cells.ci_lo <= hi_p)).mean()
    above = (sr_cells.ci_lo > hi_p).mean()
    changed = 1 - sr_cells.top1
    if inside >= min_inside:
        outcome, tail = "holds", "the claim holds here."
    elif above > 0.5:
        outcome = "does not hold (SR keeps more)"
        tail = (
            "SR keeps more labels here than in the paper (compare the chance level: fewer, "
            "coarser classes agree more easily)."
        )
    else:
        outcome, tail = "does not hold", "the claim does not hold at this preset."
    text = (
        "Claim 1 (SR changes the label of roughly half the patches; paper: "
        f"{_pct_range(1 - hi_p, 1 - lo_p)} changed): "
        f"our SR models change {changed.min():.0%}-{changed.max():.0%} "
        f"(median {changed.median():.0%}); {inside:.0%} of the dataset x model cells are "
        f"compatible with the paper's {_pct_range(lo_p, hi_p)} kept — " + tail
    )
    return Verdict(
        "claim1",
        f"at least {min_inside:.0%} of the SR cells' 95% bootstrap CIs overlap the paper's "
        f"{_pct_range(lo_p, hi_p)} kept",
        outcome,
        {
            "inside_share": inside,
            "above_share": above,
            "changed_min": changed.min(),
            "changed_max": changed.max(),
            "changed_median": changed.median(),
        },
        text,
        f"SR models keep {_pct_range(lo_p, hi_p)} of the labels (Table 1)",
    )


def bicubic_keeps_fewer(
    table: pd.DataFrame,
    diffs: pd.DataFrame,
    paper_bicubic: tuple[float, float] = MAGID_BICUBIC_AGREEMENT,
    paper_sr: tuple[float, float] = MAGID_SR_AGREEMENT,
) -> Verdict:
    """Claim 2 (Table 1): bicubic upscaling keeps even fewer labels than SR networks.

    Rule: per (dataset, SR model) pair, the paired bootstrap 95% CI of top-1(SR) -
    top-1(bicubic) (:func:`helpers.texture.consistency.agreement_differences`; null: no
    difference). Holds when more than half of the pairs are significantly positive and
    none significantly negative; "partly" when more than half are positive (significant or
    not). ``table``: the agreement table (its bicubic rows are printed).
    """
    bic = table[table.model == "bicubic"].set_index("dataset").top1
    n_lower = int((diffs.diff_pts > 0).sum())
    n_sig = int(((diffs.diff_pts > 0) & diffs.significant).sum())
    n_sig_rev = int(((diffs.diff_pts < 0) & diffs.significant).sum())
    if n_sig > len(diffs) / 2 and n_sig_rev == 0:
        outcome, tail = "holds", "the claim holds here."
    elif n_lower > len(diffs) / 2:
        outcome, tail = "partly", "the claim holds only partly here."
    else:
        outcome = "does not hold"
        tail = "the claim does not hold here: bicubic keeps as many labels as the networks or more."
    text = (
        f"Claim 2 (bicubic keeps even fewer; paper: {_pct_range(*paper_bicubic)} vs "
        f"{_pct_range(*paper_sr)}): bicubic keeps "
        + ", ".join(f"{v:.0%} on {k}" for k, v in bic.items())
        + f"; it is below the SR model in {n_lower} of {len(diffs)} pairs ({n_sig} "
        f"significantly, {n_sig_rev} significantly above) — " + tail
    )
    return Verdict(
        "claim2",
        "more than half of the (dataset, SR model) pairs significantly above bicubic "
        "(paired bootstrap 95% CI excludes 0) and none significantly below",
        outcome,
        {
            "bicubic_top1": bic.to_dict(),
            "n_pairs": len(diffs),
            "n_below": n_lower,
            "n_significant": n_sig,
            "n_significant_reverse": n_sig_rev,
        },
        text,
        f"bicubic keeps {_pct_range(*paper_bicubic)}, SR models {_pct_range(*paper_sr)} (Table 1)",
    )


def most_frequent_flips(model: str, flips: pd.DataFrame, k: int = 3) -> Verdict:
    """Which labels the least consistent model flips into which (descriptive, no test).

    Rule: none; lists the ``k`` most frequent HR -> SR label changes (``flips``:
    :func:`helpers.texture.consistency.top_flips`, columns ``hr``, ``sr``). ``holds`` says
    whether the model flips any label.
    """
    top = flips.head(k)
    pairs = [f"{r.hr} -> {r.sr}" for r in top.itertuples()]
    text = (
        f"Most frequent flips of the least consistent model ({model}): "
        + (", ".join(pairs) or "none")
        + "."
    )
    return Verdict(
        "flips",
        f"descriptive: the {k} most frequent HR -> SR label changes, no test",
        "described" if pairs else "no flips",  # a description decides nothing
        {"model": model, "flips": pairs},
        text,
        "e.g. swirly -> fibrous, grooved -> blotchy, wrinkled -> pitted (Fig. 10, examples)",
    )


def consistency_psnr(cvp: pd.DataFrame, min_median_auc: float = 0.55) -> Verdict:
    """Does keeping the label go with a larger PSNR gain over bicubic?

    Rule: per SR model, the AUC of the patch PSNR gain (kept vs flipped patches; 0.5 = no
    relation) with a two-sided Mann-Whitney test (null: same distribution; 5% level, no
    correction); "related" (holds) when the median AUC over the models exceeds
    ``min_median_auc`` (0.55). Not testable when no model both kept and flipped labels.
    ``cvp``: :func:`helpers.texture.consistency.consistency_vs_psnr`.
    """
    auc = cvp.auc.dropna()
    n_sig = int((cvp.mwu_p < 0.05).sum())
    if not len(auc):
        return Verdict(
            "psnr",
            f"median AUC over models > {min_median_auc}",
            "not testable",
            {"n_models": 0},
            "No model both kept and flipped labels: the relation to PSNR cannot be tested here.",
            "not studied in the paper (it argues PSNR alone can mislead)",
        )
    holds = bool(auc.median() > min_median_auc)
    text = (
        f"Keeping the label goes with a larger PSNR gain in {int((auc > 0.5).sum())} of "
        f"{len(auc)} models (AUC {auc.min():.2f}-{auc.max():.2f}; "
        f"{n_sig} significant at 5%), "
        + (
            "so PSNR and semantic consistency are related but far from the same thing."
            if holds
            else "so the label is kept or lost largely independently of the PSNR gain."
        )
    )
    return Verdict(
        "psnr",
        f"median AUC (kept vs flipped PSNR gain) over models > {min_median_auc}",
        graded(holds),
        {
            "n_models": len(auc),
            "n_auc_above_half": int((auc > 0.5).sum()),
            "auc_min": auc.min(),
            "auc_max": auc.max(),
            "auc_median": auc.median(),
            "n_significant": n_sig,
        },
        text,
        "not studied in the paper (it argues PSNR alone can mislead)",
    )
