"""The thesis's nine claims about the attribution prior as rules on the chapter's numbers.

Inputs are plain numbers: per-seed mean PSNR of one test set per variant
(``{variant: {seed: dB}}``; seeds pair the variants), DI per seed, attribution-norm
sections, the overhead ratios. Comparisons are paired over seeds (t-test, Holm across the
claim's comparisons, alpha 0.05); "as good as" is TOST equivalence at +-0.05 dB. A claim
whose table a preset does not run returns outcome ``"not testable"`` saying so; fewer
than two seeds make every paired test impossible: ``"inconclusive"``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import stats as sps

from ..published import ZAMFIR_PRIOR_CLAIMS, ZAMFIR_PRIOR_TIME_FACTOR
from ..verdict import Verdict, graded, tally
from .stats import holm, paired_t, tost

__all__ = [
    "concentrated",
    "di_not_psnr",
    "lambda_effect",
    "more_ssr",
    "random_as_good",
    "regularisers_no_gain",
    "ssr_poi_improve",
    "time_doubles",
    "w_sim",
]

ALPHA = 0.05
PerSeed = Mapping[object, float]


def _diff(a: PerSeed, b: PerSeed) -> list[float]:
    """Per-seed differences a - b over the seeds both have."""
    return [float(a[s]) - float(b[s]) for s in sorted(set(a) & set(b), key=str)]


def _decided(claim: str, rule: str, outcome: str, numbers: dict, text: str) -> Verdict:
    """The verdict of ``claim`` by ``rule``, beside the thesis's statement."""
    return Verdict(claim, rule, outcome, numbers, text, ZAMFIR_PRIOR_CLAIMS[claim])


def _missing(claim: str, what: str) -> Verdict:
    return _decided(
        claim, f"needs {what}", "not testable", {}, f"Not run at this preset: {what} left out."
    )


def _few(claim: str, rule: str, n: int) -> Verdict:
    text = f"{n} seed(s): a paired test needs at least 2."
    return _decided(claim, rule, "inconclusive", {"n_seeds": n}, text)


def _compare(pairs: Mapping[str, tuple[PerSeed, PerSeed]]) -> dict[str, dict]:
    """Per comparison ``name: (a, b)``, the paired a - b over seeds: mean ``delta`` (dB),
    t-test ``p``, TOST ``p_tost`` and ``p_holm``, Holm-adjusted across ``pairs``."""
    rows = {}
    for k, (a, b) in pairs.items():
        d = _diff(a, b)
        rows[k] = {"delta": float(np.mean(d)) if d else None, "p": paired_t(d), "p_tost": tost(d)}
    for r, p in zip(rows.values(), holm([r["p"] for r in rows.values()]), strict=True):
        r["p_holm"] = p
    return rows


def _deltas(rows: Mapping[str, Mapping], prefix: str = "") -> str:
    """``"<prefix><name>: +0.012 dB, ..."``: each comparison's mean difference."""
    return ", ".join(f"{prefix}{k}: {r['delta']:+.3f} dB" for k, r in rows.items())


def _sig(r: Mapping, sign: int) -> bool:
    return r["p_holm"] is not None and r["p_holm"] < ALPHA and np.sign(r["delta"]) == sign


def _equiv(r: Mapping) -> bool:
    return r["p_tost"] is not None and r["p_tost"] < ALPHA


def lambda_effect(
    hard: Mapping[float, PerSeed],
    others: Mapping[str, Mapping[float, PerSeed]],
    small: float = 1e-4,
    large: float = 1e-2,
) -> Verdict:
    """Claim 1. ``hard``: lambda -> seed -> PSNR on the hard cases (0.0 the baseline);
    ``others``: the same for the other test sets.

    Rule: the small-lambda part holds when lambda=``small`` beats lambda=0 on the hard
    cases (paired t-test, Holm over the claim's comparisons, p < 0.05, mean > 0); the
    large-lambda part when lambda=``large`` is below lambda=0 on every set (each Holm p <
    0.05). Both: holds; one: partly; neither: does not hold.
    """
    claim = "lambda"
    if small not in hard or large not in hard or 0.0 not in hard:
        return _missing(claim, f"lambda in {{0, {small}, {large}}}")
    rule = (
        f"lambda={small} > 0 on hard cases and lambda={large} < 0 on every set (paired "
        "t over seeds, Holm, p<0.05)"
    )
    n = len(hard[0.0])
    if n < 2:
        return _few(claim, rule, n)
    large_pairs = {f"large/{k}": (v[large], v[0.0]) for k, v in {"hard": hard, **others}.items()}
    rows = _compare({"small/hard": (hard[small], hard[0.0]), **large_pairs})
    small_ok = _sig(rows["small/hard"], 1)
    large_ok = all(_sig(r, -1) for k, r in rows.items() if k.startswith("large/"))
    outcome = tally([small_ok, large_ok])
    d_s, d_l = rows["small/hard"]["delta"], rows["large/hard"]["delta"]
    text = (
        f"lambda={small}: {d_s:+.3f} dB on the hard cases (Holm p "
        f"{rows['small/hard']['p_holm']:.3g}); lambda={large}: {d_l:+.3f} dB "
        f"({'below the baseline on every set' if large_ok else 'not below on every set'})."
    )
    return _decided(claim, rule, outcome, {"comparisons": rows}, text)


def di_not_psnr(di: Mapping[float, PerSeed], psnr: Mapping[float, PerSeed]) -> Verdict:
    """Claim 2. ``di`` and ``psnr``: lambda -> seed -> mean DI / hard-case PSNR.

    Rule: "raises DI" holds when the largest lambda's DI exceeds lambda=0's in every seed;
    "higher DI does not mean higher PSNR" holds when the lambda of highest mean DI is not
    the lambda of highest mean PSNR. Both: holds; one: partly; neither: does not hold.
    """
    claim = "di"
    di = {k: {s: x for s, x in v.items() if x is not None} for k, v in di.items()}
    di = {k: v for k, v in di.items() if v}
    if len(di) < 2 or 0.0 not in di:
        return _missing(claim, "DI for lambda = 0 and at least one lambda > 0")
    top = max(di)
    d = _diff(di[top], di[0.0])
    raised = len(d) > 0 and all(x > 0 for x in d)
    mdi = {k: float(np.mean(list(v.values()))) for k, v in di.items()}
    mps = {k: float(np.mean(list(v.values()))) for k, v in psnr.items() if k in di}
    best_di, best_ps = max(mdi, key=mdi.get), max(mps, key=mps.get)
    decoupled = best_di != best_ps
    pairs = [(di[k][s], psnr[k][s]) for k in di for s in di[k] if k in psnr and s in psnr[k]]
    xs, ys = [a for a, _ in pairs], [b for _, b in pairs]
    rho = float(sps.spearmanr(xs, ys).statistic) if len(pairs) > 2 else None
    outcome = tally([raised, decoupled])
    text = (
        f"DI at lambda={top}: {mdi[top]:.3g} vs {mdi[0.0]:.3g} at 0 "
        f"({'higher in every seed' if raised else 'not higher in every seed'}); highest "
        f"DI at lambda={best_di}, highest PSNR at lambda={best_ps} (Spearman DI-PSNR over "
        f"networks {rho if rho is None else round(rho, 2)})."
    )
    rule = "largest lambda's DI > lambda=0's in every seed; argmax DI != argmax PSNR"
    return _decided(claim, rule, outcome, {"di": mdi, "psnr": mps, "spearman": rho}, text)


def w_sim(hard: Mapping[str, PerSeed]) -> Verdict:
    """Claim 3. ``hard``: w ("sim" and constants, as strings) -> seed -> hard-case PSNR.

    Rule (Delta = constant - Sim, paired over seeds, Holm): holds when no constant is
    significantly better than Sim and each is either significantly worse or TOST-
    equivalent (+-0.05 dB); does not hold when a constant is significantly better; else
    inconclusive."""
    claim = "w_sim"
    consts = {k: v for k, v in hard.items() if k != "sim"}
    if "sim" not in hard or not consts:
        return _missing(claim, "the w table (Sim and a constant w)")
    rule = "no constant w significantly above Sim; each below it or TOST-equivalent (+-0.05 dB)"
    if len(hard["sim"]) < 2:
        return _few(claim, rule, len(hard["sim"]))
    rows = _compare({k: (v, hard["sim"]) for k, v in consts.items()})
    better = [k for k, r in rows.items() if _sig(r, 1)]
    fine = all(_sig(r, -1) or _equiv(r) for r in rows.values())
    outcome = "does not hold" if better else "holds" if fine else "inconclusive"
    text = f"constant w minus Sim on the hard cases: {_deltas(rows, 'w=')}."
    return _decided(claim, rule, outcome, {"comparisons": rows}, text)


def more_ssr(hard: Mapping[int, PerSeed]) -> Verdict:
    """Claim 4. ``hard``: N_SSR (local scenario) -> seed -> hard-case PSNR, with 1.

    Rule (Delta = N - 1, paired, Holm): holds when no N > 1 is significantly better and
    each is not above (mean Delta <= 0) or TOST-equivalent; does not hold when one is
    significantly better; else inconclusive."""
    claim = "n_ssr"
    more = {str(k): v for k, v in hard.items() if k != 1}
    if 1 not in hard or not more:
        return _missing(claim, "the N_SSR table (N = 1 and N > 1)")
    rule = "no N_SSR > 1 significantly above N = 1; each not above it or TOST-equivalent"
    if len(hard[1]) < 2:
        return _few(claim, rule, len(hard[1]))
    rows = _compare({k: (v, hard[1]) for k, v in more.items()})
    better = [k for k, r in rows.items() if _sig(r, 1)]
    fine = all(r["delta"] <= 0 or _equiv(r) for r in rows.values())
    outcome = "does not hold" if better else "holds" if fine else "inconclusive"
    text = f"N_SSR minus N=1 on the hard cases: {_deltas(rows, 'N=')}."
    return _decided(claim, rule, outcome, {"comparisons": rows}, text)


def random_as_good(hard: Mapping[str, PerSeed]) -> Verdict:
    """Claim 5. ``hard``: scenario name -> seed -> hard-case PSNR.

    Rule: for each random scenario present, Delta = random - similar of the same reach
    (local_random - local_similar, global_random - global_similar), paired, Holm: holds
    when every Delta is TOST-equivalent (+-0.05 dB) or significantly positive; does not
    hold when a similar scenario is significantly better; else inconclusive."""
    claim = "random"
    pairs = {r: r.replace("random", "similar") for r in hard if r.endswith("random")}
    pairs = {r: s for r, s in pairs.items() if s in hard}
    if not pairs:
        return _missing(claim, "a random scenario with its similar counterpart")
    rule = "random - similar (same reach): TOST-equivalent at +-0.05 dB or significantly > 0"
    n = min(len(hard[s]) for s in pairs.values())
    if n < 2:
        return _few(claim, rule, n)
    rows = _compare({r: (hard[r], hard[s]) for r, s in pairs.items()})
    worse = [k for k, r in rows.items() if _sig(r, -1)]
    fine = all(_sig(r, 1) or _equiv(r) for r in rows.values())
    outcome = "does not hold" if worse else "holds" if fine else "inconclusive"
    text = (
        "random minus self-similar regions on the hard cases: "
        + ", ".join(
            f"{k}: {r['delta']:+.3f} dB (TOST p {r['p_tost']:.2g})" for k, r in rows.items()
        )
        + "."
    )
    return _decided(claim, rule, outcome, {"comparisons": rows}, text)


def regularisers_no_gain(
    hard: Mapping[str, PerSeed], baseline: str = "baseline", prior: str = "prior"
) -> Verdict:
    """Claim 6. ``hard``: variant -> seed -> hard-case PSNR with ``baseline``, ``prior``
    and the regularisers (every other key).

    Rule (Delta vs the baseline, paired, Holm): does not hold when a regulariser is
    significantly above the baseline; holds when none is and each regulariser's mean
    Delta is below the prior's; partly when none is significant but one reaches the
    prior's mean Delta."""
    claim = "regularisers"
    regs = {k: v for k, v in hard.items() if k not in (baseline, prior)}
    if not regs or baseline not in hard or prior not in hard:
        return _missing(claim, "the regulariser table")
    rule = "no regulariser significantly above the baseline (Holm) and each below the prior's gain"
    if len(hard[baseline]) < 2:
        return _few(claim, rule, len(hard[baseline]))
    rows = _compare({k: (v, hard[baseline]) for k, v in {**regs, prior: hard[prior]}.items()})
    gain = rows.pop(prior)["delta"]
    better = [k for k, r in rows.items() if _sig(r, 1)]
    below = all(r["delta"] < gain for r in rows.values())
    outcome = "does not hold" if better else "holds" if below else "partly"
    text = f"prior {gain:+.3f} dB vs baseline; {_deltas(rows)} on the hard cases."
    return _decided(claim, rule, outcome, {"comparisons": rows, "prior_delta": gain}, text)


def ssr_poi_improve(base: Mapping[str, PerSeed], prior: Mapping[str, PerSeed]) -> Verdict:
    """Claim 7. ``base``/``prior``: ``"ssr"`` and ``"poi"`` -> seed -> mean PSNR over the
    hard cases on those boxes.

    Rule: prior - baseline > 0 on the SSRs and on the PoIs, paired t over seeds, Holm over
    the two, p < 0.05. Both: holds; one: partly; neither: does not hold."""
    claim = "ssr_poi"
    if not base or not prior:
        return _missing(claim, "PSNR on SSRs and PoIs")
    rule = "prior - baseline > 0 on SSRs and on PoIs (paired t over seeds, Holm, p<0.05)"
    if len(base["ssr"]) < 2:
        return _few(claim, rule, len(base["ssr"]))
    rows = _compare({k: (prior[k], base[k]) for k in ("ssr", "poi")})
    outcome = tally(_sig(r, 1) for r in rows.values())
    text = (
        f"prior minus baseline: SSRs {rows['ssr']['delta']:+.3f} dB, PoIs "
        f"{rows['poi']['delta']:+.3f} dB."
    )
    return _decided(claim, rule, outcome, {"comparisons": rows}, text)


def concentrated(
    sections: Mapping[str, Sequence[float]], near: int = 2, share: float = 0.8
) -> Verdict:
    """Claim 8. ``sections``: model -> cumulative attribution norm of the nested sections
    relative to the PoI (:func:`helpers.prior.runs.norm_sections`, averaged), first entry
    the PoI itself; ``"baseline"`` among the models.

    Rule: a model's norm is concentrated when section ``near`` holds at least ``share``
    of the largest section's norm. Every model: holds; the baseline but not every prior
    model: partly (the prior spreads it); not even the baseline: does not hold."""
    claim = "concentrated"
    if "baseline" not in sections or len(sections) < 2:
        return _missing(claim, "attribution-norm sections of the baseline and a prior model")
    frac = {k: float(v[min(near, len(v) - 1)] / v[-1]) for k, v in sections.items()}
    ok = {k: f >= share for k, f in frac.items()}
    outcome = graded(all(ok.values()), ok["baseline"])
    text = (
        f"share of the outermost section's norm within section {near}: "
        + ", ".join(f"{k} {f:.2f}" for k, f in frac.items())
        + "."
    )
    rule = f"section {near} holds >= {share:.0%} of the outermost section's norm"
    return _decided(claim, rule, outcome, {"share": frac}, text)


def time_doubles(ratios: Mapping[str, float], band: tuple[float, float] = (1.5, 2.5)) -> Verdict:
    """Claim 9. ``ratios``: network -> seconds per step with the prior / without (same
    batch and weights). Rule: holds when every ratio lies in ``band`` (about x2); else
    does not hold, qualified as cheaper or dearer."""
    claim = "time"
    if not ratios:
        return _missing(claim, "the overhead measurement")
    lo, hi = band
    inside = all(lo <= r <= hi for r in ratios.values())
    outcome = (
        "holds"
        if inside
        else "does not hold (dearer)"
        if max(ratios.values()) > hi
        else "does not hold (cheaper)"
    )
    text = (
        "time per step with / without the prior: "
        + ", ".join(f"{k} x{r:.2f}" for k, r in ratios.items())
        + f" (thesis x{ZAMFIR_PRIOR_TIME_FACTOR:g})."
    )
    return _decided(claim, f"every ratio in [{lo}, {hi}]", outcome, {"ratios": dict(ratios)}, text)
