"""Each claim the LAM chapter decides, as a function with its rule (the DI chapter's are in
:mod:`.verdicts`).

- :func:`global_vs_local`: global-operation networks use a much wider range of pixels
  (Table 1), by a stated ratio of mean DIs (:data:`GLOBAL_RATIO`).
- :func:`trained_vs_released`: whether "wide attribution comes with full training" is
  borne out here: released global networks wide *and* the book's briefly trained ones not.
- :func:`completeness`: the map sums to the detector's change, within
  :data:`COMPLETENESS_TOLERANCE` at the paper's 50-step right Riemann sum, and the error
  falls with the steps.
- :func:`blur_path_edges`: the blur path puts more of its attribution on edges and texture
  than integrated gradients from black (Fig. 3), against a permutation null.

DI values are the diffusion index in (0, 100]; completeness errors and shares are
fractions (0.01 = 1%).

May import: ``helpers.published`` (and numpy).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .. import published
from ..verdict import Verdict, graded

#: The LAM chapter's bar: global-operation networks use "much" more pixels when their
#: mean DI exceeds this multiple of the finite-receptive-field networks' mean DI.
GLOBAL_RATIO = 1.5
#: :func:`completeness`: the paper's number of steps of its right Riemann sum (Eq. 3; the
#: LAM demo's ``fold=50``) and the largest relative completeness error accepted there.
PAPER_STEPS = 50
COMPLETENESS_TOLERANCE = 0.05
#: :func:`blur_path_edges`: permutations of the null and the significance level.
EDGE_PERMUTATIONS = 2000
P_EDGES = 0.05


def _table1_di(*names: str) -> str:
    """``"0.8–3.0"``: the range of the paper's Table 1 DI over ``names``."""
    di = [published.LAM_TABLE1[n]["di"] for n in names]
    return f"{min(di):.1f}–{max(di):.1f}"


def _ratio(a: float, b: float) -> float:
    """``a / b`` with numpy's float semantics (inf or NaN for b = 0, no exception)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(a) / np.float64(b))


def _mean(values: list[float]) -> float:
    """Mean over the non-NaN values (NaN when none), as pandas' ``Series.mean``."""
    kept = [v for v in values if not math.isnan(v)]
    return float(np.mean(kept)) if kept else math.nan


#: The paper's findings each verdict is compared with (Gu & Dong, CVPR 2021).
PAPER_GLOBAL = (
    f"Table 1: RCAN/RNAN/SAN (global operations) DI {_table1_di('RCAN', 'RNAN', 'SAN')} vs "
    f"FSRCNN/CARN/EDSR {_table1_di('FSRCNN', 'CARN', 'EDSR')}"
)
PAPER_TRAINING = "Table 1's networks are all fully trained (DIV2K, ~10^6 updates)"
PAPER_COMPLETENESS = (
    f"Eq. 1: the map sums to D(F(I)) − D(F(I′)); Eq. 3: right Riemann sum ({PAPER_STEPS} "
    "steps in the LAM demo)"
)
PAPER_FIG3 = (
    "Fig. 3: the progressive blur path attributes to edges and textures, the straight path "
    "from a black image (IG) to intensities"
)


def global_vs_local(
    di: Mapping[str, float],
    receptive_field: Mapping[str, int | None],
    preset: str,
    train_steps: Mapping[str, int] | None = None,
    ratio: float = GLOBAL_RATIO,
) -> Verdict:
    """Networks with global operations use a much wider range of pixels (Table 1).

    Rule: the mean DI of the networks with a global receptive field (``None``) is more
    than ``ratio`` (1.5) times the mean DI of those with a finite one (means over the
    networks, NaN DIs left out). The paper's Table 1 has a ratio of about 8. No
    explanation is offered here: whether training explains a miss is
    :func:`trained_vs_released`'s question.

    Args:
        di: network -> mean DI over the hard cases, in the order the chapter lists them.
        receptive_field: network -> LR px, ``None`` for global.
        preset: named in the sentence.
        train_steps: network -> training steps of the networks trained by the book, named
            in the sentence when the claim does not hold.
        ratio: the threshold.
    """
    g = _mean([v for n, v in di.items() if receptive_field[n] is None])
    loc = _mean([v for n, v in di.items() if receptive_field[n] is not None])
    holds = g > ratio * loc
    lines = [
        f"Mean DI of global-operation networks: {g:.2f}; of finite-receptive-field CNNs: "
        f"{loc:.2f} (ratio {_ratio(g, loc):.2f}; rule: > {ratio:g}). Paper: {PAPER_GLOBAL}.",
        "The paper's ordering (global/attention ≫ plain CNNs) "
        + ("holds here" if holds else "does not show here")
        + f" at preset={preset}.",
    ]
    steps = dict(train_steps or {})
    if not holds and steps:
        lines.append(
            "The networks the book trained had "
            + ", ".join(f"{n} {s} steps" for n, s in sorted(steps.items()))
            + " (the paper's networks: ~10^6 updates on DIV2K)."
        )
    return Verdict(
        "global_vs_local",
        f"mean DI of global-operation networks > {ratio:g} x mean DI of finite-receptive-field "
        "networks",
        graded(holds),
        {"global_mean": g, "local_mean": loc, "ratio": _ratio(g, loc), "threshold": ratio},
        "\n".join(lines),
        PAPER_GLOBAL,
    )


def trained_vs_released(
    di: Mapping[str, float],
    receptive_field: Mapping[str, int | None],
    trained_here: Mapping[str, Any],
    ratio: float = GLOBAL_RATIO,
) -> Verdict:
    """ "Wide attribution comes with full training, not with the architecture alone":
    printed only where its premise is measured.

    Rule: HOLDS when both halves of the premise are seen: every released (fully trained)
    global-operation network is wide (its DI > ``ratio`` x the finite-receptive-field
    networks' mean DI) *and* every global network trained briefly by the book is not
    (DI <= ``ratio`` x that mean). DOES NOT HOLD when either half fails (the sentence
    says which); NOT TESTABLE unless there are global networks of both kinds and a
    finite-field one.

    Args:
        di, receptive_field: as for :func:`global_vs_local`.
        trained_here: the networks the book trained (names; values are not used).
        ratio: the threshold.
    """
    glob = [n for n in di if receptive_field[n] is None]
    book = [n for n in glob if n in trained_here]
    released = [n for n in glob if n not in trained_here]
    loc = _mean([v for n, v in di.items() if receptive_field[n] is not None])
    rule = (
        f"min DI of the released global networks > {ratio:g} x mean DI of the finite-field "
        f"networks, and max DI of the global networks trained here <= {ratio:g} x that mean"
    )
    numbers: dict[str, Any] = {
        "trained_here": {n: di[n] for n in book},
        "released": {n: di[n] for n in released},
        "local_mean": loc,
        "threshold": ratio,
    }
    if not book or not released or np.isnan(loc):
        missing = "released" if not released else ("book-trained" if not book else "finite")
        text = (
            f"Training as the explanation: not testable here (no {missing} "
            + ("network" if missing == "finite" else "global-operation network")
            + " at this preset), so the book does not offer it."
        )
        return Verdict("trained_vs_released", rule, "not testable", numbers, text, PAPER_TRAINING)
    bar = ratio * loc
    released_wide = all(di[n] > bar for n in released)
    book_narrow = all(di[n] <= bar for n in book)
    holds = released_wide and book_narrow
    listing = (
        "Within the global-operation networks (bar: "
        + f"{ratio:g} x {loc:.2f} = {bar:.2f}): trained here "
        + ", ".join(f"{n} {di[n]:.2f}" for n in book)
        + "; released (trained at the papers' scale) "
        + ", ".join(f"{n} {di[n]:.2f}" for n in released)
        + ". "
    )
    if holds:
        why = (
            "The released ones are wide and the briefly trained ones stay as local as the "
            "CNNs: here the wide attribution comes with full training, not with the "
            "architecture alone."
        )
    else:
        why = (
            "Training does not explain it here: "
            + ("not every released global network is wide" if not released_wide else "")
            + (" and " if not released_wide and not book_narrow else "")
            + ("the briefly trained ones already attribute widely" if not book_narrow else "")
            + "."
        )
    numbers.update(released_wide=released_wide, book_narrow=book_narrow, bar=bar)
    return Verdict(
        "trained_vs_released", rule, graded(holds), numbers, listing + why, PAPER_TRAINING
    )


def completeness(
    errors: Mapping[int, float],
    paper_steps: int = PAPER_STEPS,
    tolerance: float = COMPLETENESS_TOLERANCE,
) -> Verdict:
    """LAM maps satisfy completeness: they sum to the detector's change, up to the error
    of the paper's integration rule, which falls as the steps grow.

    Rule: with the paper's right Riemann sum, the relative completeness error
    ``|sum(map) - (D(F(I)) - D(F(I')))| / |D(F(I)) - D(F(I'))|`` at ``paper_steps`` (50)
    is at most ``tolerance`` (5%), *and* it falls with the steps: non-increasing along
    the steps tried and lower at the most steps than at the fewest (needs >= 2 step
    counts).

    Args:
        errors: steps -> relative completeness error (fraction) of one map with the
            ``"right"`` rule; must hold ``paper_steps``.
        paper_steps: the paper's number of steps.
        tolerance: the largest accepted error there (fraction).
    """
    if paper_steps not in errors or len(errors) < 2:
        raise ValueError(
            f"errors must hold the right rule's error at {paper_steps} steps and at least one "
            f"other step count, got steps {sorted(errors)}"
        )
    steps = sorted(errors)
    e = [float(errors[m]) for m in steps]
    falls = all(b <= a for a, b in zip(e, e[1:], strict=False)) and e[-1] < e[0]
    at_paper = float(errors[paper_steps])
    within = at_paper <= tolerance
    outcome = graded(falls and within)
    text = (
        f"Completeness: {outcome.upper()}: the right Riemann sum is off "
        f"by {100 * at_paper:.3g}% at the paper's {paper_steps} steps (rule: <= "
        f"{100 * tolerance:g}%), and its error "
        + ("falls" if falls else "does not fall")
        + " with the steps ("
        + ", ".join(f"{m}: {100 * v:.3g}%" for m, v in zip(steps, e, strict=True))
        + ")."
    )
    return Verdict(
        "completeness",
        f"right-rule error at {paper_steps} steps <= {tolerance:g}, and non-increasing in the "
        "steps with less at the most steps than at the fewest",
        outcome,
        {
            "right": {int(m): v for m, v in zip(steps, e, strict=True)},
            "paper_steps": paper_steps,
            "error_at_paper_steps": at_paper,
            "falls": falls,
            "tolerance": tolerance,
        },
        text,
        PAPER_COMPLETENESS,
    )


def edge_share(attribution: np.ndarray, edges: np.ndarray) -> float:
    """The share of ``|attribution|`` on the pixels where ``edges`` is True (NaN for an
    all-zero map)."""
    a = np.abs(np.asarray(attribution, dtype=float))
    total = a.sum()
    return float(a[np.asarray(edges, dtype=bool)].sum() / total) if total > 0 else float("nan")


def blur_path_edges(
    cases: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray]],
    n_permutations: int = EDGE_PERMUTATIONS,
    p_max: float = P_EDGES,
    seed: int = 0,
) -> Verdict:
    """The blur path (LAM) puts more attribution on edges and texture than the straight
    path from black (integrated gradients), Fig. 3.

    Measure: the share of a map's ``|attribution|`` on the "edge" pixels, those whose
    gradient magnitude in the LR image is above its median (:func:`edge_share`).
    Statistic: the mean over the cases of (blur share - IG share). Null: maps that ignore
    the edges, each map's values put on random pixels (a permutation of each map, both
    maps of a case permuted independently, ``n_permutations`` draws);
    ``p = (1 + #{null >= observed}) / (1 + n_permutations)``.

    Rule: HOLDS when the statistic is positive and ``p < p_max`` (0.05).

    Args:
        cases: ``(blur map, IG map, edge mask)`` per case, arrays of one (H, W) shape.
        n_permutations, seed: the null's draws and their seed.
        p_max: the significance level.
    """
    if not cases:
        raise ValueError("blur_path_edges needs at least one (blur, ig, edges) case")
    rng = np.random.default_rng(seed)
    blur = [edge_share(b, e) for b, _, e in cases]
    ig = [edge_share(i, e) for _, i, e in cases]
    observed = float(np.mean(np.subtract(blur, ig)))
    null = np.zeros(n_permutations)
    for b, i, e in cases:
        mask = np.asarray(e, dtype=bool).ravel()
        ab, ai = np.abs(np.ravel(b)), np.abs(np.ravel(i))
        tb, ti = ab.sum(), ai.sum()
        for k in range(n_permutations):
            null[k] += ab[rng.permutation(mask)].sum() / tb - ai[rng.permutation(mask)].sum() / ti
    null /= len(cases)
    p = float((1 + np.sum(null >= observed)) / (1 + n_permutations))
    outcome = graded(observed > 0 and p < p_max)
    text = (
        f"Fig. 3 (blur path vs IG from black): {outcome.upper()}: share "
        "of |map| on pixels above the median gradient magnitude: blur "
        + ", ".join(f"{v:.2f}" for v in blur)
        + "; IG "
        + ", ".join(f"{v:.2f}" for v in ig)
        + f" over {len(cases)} case(s); mean difference {observed:+.3f}, permutation p = "
        f"{p:.3g} (rule: > 0 and p < {p_max:g}; {n_permutations} draws)."
    )
    return Verdict(
        "fig3_blur_path_edges",
        f"mean(edge share of the blur path - edge share of IG from black) > 0 with "
        f"permutation p < {p_max:g} (null: each map's values on random pixels)",
        outcome,
        {
            "blur_share": blur,
            "ig_share": ig,
            "mean_difference": observed,
            "p": p,
            "n_cases": len(cases),
            "n_permutations": n_permutations,
            "p_max": p_max,
        },
        text,
        PAPER_FIG3,
    )
