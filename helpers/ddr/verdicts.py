"""The four claims of Liu et al. (DDR) as rules on the chapter's measurements.

Every rule asks for agreement in *every* seed (the book's networks are small and their
training short; a claim carried by one lucky seed is not reproduced) and uses intervals
from the bootstrap over contents or permutation p-values, never a bare point value.
Inputs are plain numbers (the ``to_dict`` of :class:`helpers.ddr.measures.ChiTest`, the
paired ratios of :func:`helpers.ddr.measures.paired_log_ratio`), so each rule is tested on
hand-made cases where it holds and where it does not (tests/test_ddr.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats

from ..published import LIU_DDR_CLAIMS
from ..verdict import Verdict, graded, tally

__all__ = [
    "degradation_not_content",
    "depth_and_training",
    "distortion_identification",
    "released_networks",
    "two_factors",
]

ALPHA = 0.05


def _times(t: Mapping[str, float]) -> float:
    """The ratio whose log is ``t["log_ratio"]``, to 2 decimals (as the sentences print it)."""
    return round(float(np.exp(t["log_ratio"])), 2)


def degradation_not_content(
    sr: Sequence[Mapping[str, float]], classifier: Mapping[str, float]
) -> Verdict:
    """Claim 1. ``sr``: one CHI test per seed of the SR network's deepest block;
    ``classifier``: the texture classifier's CHI test on the same inputs.

    Rule: the SR part holds when, in every seed, the bootstrap 95 % interval of
    ln(CHI_degradation / CHI_content) lies above 0 and CHI by degradation beats its
    within-content permutation null (p < 0.05); the contrast holds when the classifier's
    interval lies below 0. Both: holds; one: partly; neither: does not hold.
    """
    sr_ok = all(t["log_ratio_ci"][0] > 0 and t["p_degradation"] < ALPHA for t in sr)
    clf_ok = classifier["log_ratio_ci"][1] < 0
    outcome = tally([sr_ok, clf_ok])
    ratios = [_times(t) for t in sr]
    text = (
        f"SR features: CHI by degradation / CHI by content = {ratios} over {len(sr)} seed(s) "
        f"({'above 1 in every seed' if sr_ok else 'not above 1 in every seed'}); texture "
        f"classifier: {np.exp(classifier['log_ratio']):.2f} "
        f"({'content wins' if clf_ok else 'content does not win'})."
    )
    return Verdict(
        claim="degradation_not_content",
        rule="every seed: bootstrap 95% CI of ln(CHI_deg/CHI_content) > 0 and permutation "
        "p(CHI_deg) < 0.05 for the SR net; classifier's CI < 0",
        outcome=outcome,
        numbers={
            "sr_ratio": ratios,
            "classifier_ratio": float(np.exp(classifier["log_ratio"])),
            "sr_ok": sr_ok,
            "classifier_ok": clf_ok,
        },  # fmt: skip
        text=text,
        paper=LIU_DDR_CLAIMS["degradation_not_content"],
    )


def released_networks(tests: Mapping[str, Mapping[str, float]]) -> Verdict:
    """Claim 1 on networks trained elsewhere to convergence (the released ones, or your
    own): ``tests`` maps each name to the CHI test of its deepest block.

    Rule: holds when every network's bootstrap 95 % interval of ln(CHI_degradation /
    CHI_content) lies above 0 with permutation p(CHI_degradation) < 0.05; partly when
    some do; does not hold when none does; not testable without networks.
    """
    ok = {n: t["log_ratio_ci"][0] > 0 and t["p_degradation"] < ALPHA for n, t in tests.items()}
    ratios = {n: _times(t) for n, t in tests.items()}
    if not tests:
        outcome, text = "not testable", "no released or user networks at this preset."
    else:
        outcome = tally(ok.values())
        text = (
            f"CHI by degradation / CHI by content {ratios}: above 1 (interval and null) for "
            f"{sum(ok.values())} of {len(ok)} networks."
        )
    return Verdict(
        claim="released_networks",
        rule="every network: bootstrap 95% CI of ln(CHI_deg/CHI_content) > 0 and permutation "
        "p(CHI_deg) < 0.05 (partly: some networks)",
        outcome=outcome,
        numbers={"ratio": ratios, "ok": ok},
        text=text,
        paper=LIU_DDR_CLAIMS["degradation_not_content"],
    )


def _factor(pairs: Sequence[Mapping[str, object]]) -> str:
    """'holds' when every paired CI is above 0, 'opposite' when every one is below, else
    'no difference'."""
    if all(p["ci"][0] > 0 for p in pairs):
        return "holds"
    if all(p["ci"][1] < 0 for p in pairs):
        return "opposite"
    return "no difference"


def two_factors(
    global_residual: Sequence[Mapping[str, object]], adversarial: Sequence[Mapping[str, object]]
) -> Verdict:
    """Claim 2. Each argument: paired ln(CHI_deg(with) / CHI_deg(without)) with its paired
    bootstrap interval (:func:`helpers.ddr.measures.paired_log_ratio`), one per seed and
    per comparison (global residual: with vs without, under L1 and under L1+GAN;
    adversarial: GAN-tuned vs L1-only, with and without the residual).

    Rule: a factor holds when every interval lies above 0 (opposite: every one below 0).
    Both factors hold: holds; one: partly; none: does not hold.
    """
    gr, adv = _factor(global_residual), _factor(adversarial)
    outcome = tally([gr == "holds", adv == "holds"])
    gr_ratios, adv_ratios = [_times(p) for p in global_residual], [_times(p) for p in adversarial]
    text = (
        f"global residual: CHI_deg ratio with/without {gr_ratios} ({gr}); "
        f"adversarial: GAN/L1 {adv_ratios} ({adv})."
    )
    return Verdict(
        claim="two_factors",
        rule="each factor: every paired bootstrap 95% CI of ln(CHI_deg with / without) > 0 "
        "(all seeds, both settings of the other factor)",
        outcome=outcome,
        numbers={
            "global_residual": gr,
            "adversarial": adv,
            "gr_ratios": gr_ratios,
            "adv_ratios": adv_ratios,
        },  # fmt: skip
        text=text,
        paper=LIU_DDR_CLAIMS["two_factors"],
    )


def depth_and_training(
    by_block: Sequence[Sequence[float]],
    curves: Sequence[tuple[Sequence[float], Sequence[float]]],
) -> Verdict:
    """Claim 3. ``by_block``: per seed, CHI by degradation after each residual block
    (shallow to deep); ``curves``: per seed, (CHI by degradation, clean-input PSNR) at the
    saved training steps.

    Rule: depth holds when, in every seed, Spearman's rho of CHI against block index is
    >= 0.5 and the deepest block's CHI exceeds the first's; training holds when, in every
    seed, Pearson's r of CHI and PSNR over the steps is > 0 with p < 0.05 (both rise
    with training, so the correlation is about shared trend, as the paper's is). Both:
    holds; one: partly; none: does not hold.
    """
    rhos = [float(stats.spearmanr(np.arange(len(b)), b).statistic) for b in by_block]
    depth = all(r >= 0.5 and b[-1] > b[0] for r, b in zip(rhos, by_block, strict=True))
    fits = [stats.pearsonr(c, p) for c, p in curves]
    train_ok = all(f.statistic > 0 and f.pvalue < ALPHA for f in fits)
    outcome = tally([depth, train_ok])
    rs = [round(float(f.statistic), 2) for f in fits]
    ps = [float(f.pvalue) for f in fits]
    text = (
        f"depth: Spearman rho of CHI_deg vs block {[round(r, 2) for r in rhos]} "
        f"({'rises' if depth else 'does not rise in every seed'}); training: Pearson r of "
        f"CHI_deg and PSNR {rs} (p {[f'{p:.2g}' for p in ps]})."
    )
    return Verdict(
        claim="depth_and_training",
        rule="every seed: Spearman rho(block, CHI_deg) >= 0.5 and last > first; every seed: "
        "Pearson r(CHI_deg, PSNR over training) > 0 with p < 0.05",
        outcome=outcome,
        numbers={
            "depth_rho": rhos,
            "depth_ok": depth,
            "train_r": rs,
            "train_p": ps,
            "train_ok": train_ok,
        },  # fmt: skip
        text=text,
        paper=LIU_DDR_CLAIMS["depth_and_training"],
    )


def distortion_identification(probes: Sequence[Mapping[str, float]]) -> Verdict:
    """Claim 4. ``probes``: per seed, the linear probe of degradation type on the SR
    network's deepest block (contents held out): ``accuracy``, ``chance``, ``p``.

    Rule: holds when, in every seed, accuracy >= 2 x chance and the label-permutation
    p < 0.05; partly when every seed beats its null but not 2 x chance; else does not hold.
    """
    beats = all(p["p"] < ALPHA for p in probes)
    strong = beats and all(p["accuracy"] >= 2 * p["chance"] for p in probes)
    outcome = graded(strong, beats)
    acc = [round(p["accuracy"], 3) for p in probes]
    ps = [f"{p['p']:.2g}" for p in probes]
    text = (
        f"probe accuracy {acc} (chance {probes[0]['chance']:.2f}; permutation p {ps}) on "
        "contents it never saw."
    )
    return Verdict(
        claim="distortion_identification",
        rule="every seed: held-out-content probe accuracy >= 2 x chance and permutation "
        "p < 0.05 (partly: p < 0.05 only)",
        outcome=outcome,
        numbers={
            "accuracy": acc,
            "chance": probes[0]["chance"],
            "p": [p["p"] for p in probes],
        },  # fmt: skip
        text=text,
        paper=LIU_DDR_CLAIMS["distortion_identification"],
    )
