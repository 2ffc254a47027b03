"""What the texture-profiles chapter prints and writes: its summaries as text, and the
sections of its results JSON built from the analyses' outputs.

- Printed summaries: :func:`classifier_summary`, :func:`fig3_summary` (Fig. 3's patches,
  fit, contrast pairs, spread and the paper's rule), :func:`top_labels` (Fig. 8),
  :func:`small_gaps` and :func:`consistent_summary` (Fig. 9), :func:`rule_summary` and
  :func:`high_vs_all_summary` (Fig. 7).
- Results sections: :func:`rounded` (floats of a flat record to 4 decimals),
  :func:`classifier_record`, :func:`per_label_record`, :func:`gap_record`,
  :func:`cluster_record`, :func:`spread_record`.

Each function only formats or rounds numbers computed elsewhere (:mod:`.profiles`,
:mod:`.nulls`, :mod:`.complexity`, :mod:`.high_vs_all`); none computes a statistic.
PSNR in dB, entropy in bits.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..published import MAGID_FIG3_CODE, MAGID_HIGH_RATIO
from .complexity import ComplexitySet
from .high_vs_all import HighVsAll
from .labelling import TextureClassifier
from .profiles import consistent_labels

__all__ = [
    "classifier_record",
    "classifier_summary",
    "cluster_record",
    "consistent_summary",
    "fig3_summary",
    "gap_record",
    "high_vs_all_summary",
    "per_label_record",
    "rounded",
    "rule_summary",
    "small_gaps",
    "spread_record",
    "top_labels",
]


# --------------------------------------------------------------------------- printed
def classifier_summary(clf: TextureClassifier, paper: Mapping[str, Any]) -> str:
    """One paragraph on the classifier: classes, data, split sizes, training time (min),
    test accuracy beside chance (1 / classes) and the paper's accuracy
    (``paper``: :data:`helpers.published.MAGID_CLASSIFIER`)."""
    return (
        f"{len(clf.classes)} classes ({clf.data_source}), {clf.n_train} training / {clf.n_test} "
        f"test images; trained in {clf.train_seconds / 60:.1f} min (cached after the first "
        f"run); test accuracy {clf.test_accuracy:.1%} (chance {1 / len(clf.classes):.1%}); "
        f"paper: {paper['test_accuracy']:.0%} on DTD-{paper['classes']} with a ResNet-50 DeepTEN"
    )


def fig3_summary(
    cs: ComplexitySet,
    kept: pd.DataFrame,
    entropy: str,
    n_per_image: int,
    info: Mapping[str, Any],
    spread: Mapping[str, Any],
    paper_rule: Mapping[str, Mapping[str, Any]],
) -> str:
    """Fig. 3 in five lines: the patches (``cs``; ``kept``: its :meth:`ComplexitySet.frame`),
    the ``entropy_<entropy>`` range, the fit, the two contrast pairs, the PSNR spread at
    equal entropy and how many patches of each set the paper's rule keeps.

    ``info``: :func:`helpers.plots.texture.plot_entropy_psnr`'s second value (``fit``,
    ``same_entropy`` and ``same_psnr`` index pairs into ``kept``'s rows); ``spread``:
    :func:`helpers.texture.nulls.within_bin_spread`; ``paper_rule``: dataset ->
    :func:`helpers.texture.complexity.paper_rule`."""
    e, p = kept[f"entropy_{entropy}"], kept.psnr_bicubic
    fit = info["fit"]
    (ei, ej), (pi, pj) = info["same_entropy"], info["same_psnr"]
    return (
        f"{len(cs)} patches of {cs.lr_patch} LR px ({cs.size} HR px), {n_per_image} per image, "
        f"{cs.convention} PSNR; kept (PSNR in [0, {MAGID_FIG3_CODE['psnr_max']:g}] dB): "
        f"{len(kept)}; entropy {entropy}: {e.min():.2f}-{e.max():.2f} bits (median "
        f"{e.median():.2f})\n"
        f"fit: {fit['slope']:.2f} dB per bit, Pearson r = {fit['pearson_r']:.2f} "
        f"(p = {fit['pearson_p']:.1e}), Spearman rho = {fit['spearman_rho']:.2f}\n"
        f"same entropy ({e[ei]:.2f} vs {e[ej]:.2f} bits): PSNR {p[ei]:.1f} vs {p[ej]:.1f} dB "
        f"(ratio {p[ei] / p[ej]:.2f}); same PSNR ({p[pi]:.1f} vs {p[pj]:.1f} dB): entropy "
        f"{e[pi]:.2f} vs {e[pj]:.2f} bits\n"
        f"PSNR SD within {spread['bin_width']:g}-bit entropy bins: {spread['sd_within']:.2f} dB "
        f"(95% CI {spread['ci'][0]:.2f}-{spread['ci'][1]:.2f}; all patches "
        f"{spread['sd_total']:.2f})\n"
        f"the paper's entropy/PSNR >= {MAGID_HIGH_RATIO:g} keeps: "
        + "; ".join(
            f"{ds} {r['count']} of {r['n']} ({r['share']:.1%})" for ds, r in paper_rule.items()
        )
    )


def top_labels(profiles: Mapping[str, pd.Series], k: int = 3) -> str:
    """One line per dataset: its ``k`` largest label shares (Fig. 8 profiles), in percent."""
    lines = []
    for ds, prof in profiles.items():
        top = prof.sort_values(ascending=False).head(k)
        lines.append(f"{ds:>15}: " + ", ".join(f"{lab} {v:.0%}" for lab, v in top.items()))
    return "\n".join(lines)


def small_gaps(bars: pd.DataFrame, below: float = 0.5, n_listed: int = 8) -> str:
    """How many Fig. 9 bars (``bars``: :func:`helpers.texture.profiles.top_bottom_labels`
    frames with ``dataset`` and ``model``) gain less than ``below`` dB over bicubic in
    absolute value, listing the first ``n_listed`` of them."""
    small = bars[bars.gap.abs() < below]
    listed = ", ".join(
        f"{r.label} ({r.dataset}, {r.model}, {r.gap:+.2f})"
        for r in small.head(n_listed).itertuples()
    )
    return f"{len(small)} of {len(bars)} bars gain less than {below} dB over bicubic: {listed}"


def consistent_summary(bars: pd.DataFrame, n_panels: int) -> str:
    """The labels in the bottom (and in the top) five of every one of the ``n_panels``
    Fig. 9 panels (:func:`helpers.texture.profiles.consistent_labels`), ``none`` if none."""
    always = consistent_labels(bars)
    return (
        f"labels in the bottom five of every panel ({n_panels}): {always['bottom'] or 'none'}; "
        f"in the top five of every panel: {always['top'] or 'none'}"
    )


def rule_summary(name: str, rule: Mapping[str, Any]) -> str:
    """One line on a Fig. 7 selection (``rule``: :func:`helpers.texture.profiles.select_high`'s
    second value): what the paper's threshold keeps, the rule used, its cut and count, and
    ``FALLBACK`` when the quantile rule replaced the threshold."""
    fallback = " (FALLBACK: too few pass the paper's threshold)"
    return (
        f"{name}: entropy/PSNR >= {rule['paper_threshold']:g} keeps {rule['paper_rule_count']} "
        f"({rule['paper_rule_share']:.1%}); minimum {rule['min_count']} -> {rule['kind']} rule, "
        f"cut {rule['cut']:.3f}, high = {rule['count']}"
        + (fallback if rule["kind"] == "quantile" else "")
    )


def high_vs_all_summary(f7: HighVsAll) -> str:
    """Fig. 7's run in one line: the EDSR's size, steps, bicubic PSNR of both test subsets
    and the training time of each arm (s)."""
    return (
        f"EDSR {f7.config['model_kwargs']}, after {f7.steps} steps (bicubic: all "
        f"{f7.bicubic['all']:.2f}, high {f7.bicubic['high']:.2f} dB); training time per arm: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in f7.seconds.items())
    )


# --------------------------------------------------------------------------- results JSON
def rounded(record: Mapping[str, Any], digits: int = 4) -> dict[str, Any]:
    """``record`` with every float value rounded to ``digits`` (other values as they are;
    not recursive)."""
    return {k: (round(v, digits) if isinstance(v, float) else v) for k, v in record.items()}


def classifier_record(clf: TextureClassifier, paper_accuracy: float) -> dict[str, Any]:
    """The classifier's results section: classes, test accuracy (4 decimals), test size,
    training seconds (1 decimal) and the paper's accuracy."""
    return {
        "classes": list(clf.classes),
        "test_accuracy": round(clf.test_accuracy, 4),
        "n_test": clf.n_test,
        "train_seconds": round(clf.train_seconds, 1),
        "paper_test_accuracy": paper_accuracy,
    }


def per_label_record(
    per_label: pd.DataFrame, versions: Sequence[str], digits: int = 3
) -> dict[str, dict[str, float]]:
    """version -> label -> mean PSNR (``digits`` decimals) of a
    :func:`helpers.texture.profiles.per_label_psnr` table, for each of ``versions``."""
    return {m: {lab: round(v, digits) for lab, v in per_label[m].items()} for m in versions}


def gap_record(
    panels: Mapping[tuple[str, str], pd.DataFrame], digits: int = 3
) -> dict[str, dict[str, float]]:
    """``"<dataset>/<model>"`` -> label -> gap over bicubic (``digits`` decimals) of each
    Fig. 9 panel (:func:`helpers.texture.profiles.top_bottom_labels` by (dataset, model))."""
    return {
        f"{ds}/{m}": {r.label: round(r.gap, digits) for r in tb.itertuples()}
        for (ds, m), tb in panels.items()
    }


def cluster_record(k: int, projection: str, manifold: Mapping[str, Any]) -> dict[str, Any]:
    """The texture manifold's results section: ``k``, the ``projection`` and, from the
    manifold verdict's numbers (:func:`helpers.texture.verdicts.manifold_overlap`), the
    share of mixed clusters (3 decimals) and the top-share bar of a mixed cluster."""
    return {
        "k": k,
        "projection": projection,
        "mixed_share": round(float(manifold["mixed_share"]), 3),
        "max_top_share": manifold["max_top_share"],
    }


def spread_record(spread: Mapping[str, Any]) -> dict[str, Any]:
    """:func:`helpers.texture.nulls.within_bin_spread` with its floats and both ends of its
    ``ci`` rounded to 4 decimals."""
    return {k: ([round(x, 4) for x in v] if k == "ci" else v) for k, v in rounded(spread).items()}
