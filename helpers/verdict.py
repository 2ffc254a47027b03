"""The one shape of a decided claim: :class:`Verdict`, shared by every chapter's verdicts.

Each claim a chapter decides is a function in its analysis subpackage
(``helpers.attribution.verdicts``, ``helpers.texture.verdicts``, ...) whose docstring
states the rule (threshold, test, null) and which returns a :class:`Verdict` with the
numbers it used; the chapter prints :meth:`Verdict.report` beside the paper's finding.
The outcome words most rules share come from :func:`graded`, :func:`tally` and
:func:`by_interval`. No torch here: a verdict is plain numbers and words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

#: The common outcomes; a rule may qualify one (``"does not hold (SR keeps more)"``).
#: ``holds`` is True exactly when the outcome is ``"holds"``.
OUTCOMES: tuple[str, ...] = (
    "holds",
    "partly",
    "does not hold",
    "no difference",
    "inconclusive",
    "not testable",
    "described",
)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim.

    Attributes:
        claim: short name of the claim (the chapter's results key).
        rule: the rule applied, in one sentence (threshold, test, null).
        outcome: a word or two, usually one of :data:`OUTCOMES`.
        numbers: every number the rule used (JSON-ready floats, ints, strings, dicts).
        text: the sentence(s) the chapter prints.
        paper: the paper's finding it is compared with.
    """

    claim: str
    rule: str
    outcome: str
    numbers: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    paper: str = ""

    @property
    def holds(self) -> bool:
        """Whether the claim holds by its rule: exactly when the outcome is ``"holds"``
        (anything else, ``"partly"`` or a qualified ``"does not hold (...)"``, is False)."""
        return self.outcome == "holds"

    @property
    def label(self) -> str:
        """The outcome in capitals (``"HOLDS"``, ``"PARTLY"``, ``"DOES NOT HOLD"``, ...)."""
        return self.outcome.upper()

    def report(self, bullet: str = "", seeds: Mapping[str, Any] | None = None) -> str:
        """The sentence, then the rule, the outcome and the paper's finding, one line each
        (``bullet`` is put before the sentence, e.g. ``"- "``); with ``seeds`` (the claim's
        row of the committed seed table, :func:`helpers.results.seed_table`) a last line
        :func:`seeds_line`."""
        extra = f"\n    {seeds_line(seeds, self.outcome)}" if seeds else ""
        return (
            f"{bullet}{self.text}\n    rule: {self.rule}\n    outcome: {self.outcome}"
            f"\n    paper: {self.paper}{extra}"
        )


def seeds_line(row: Mapping[str, Any], outcome: str | None = None) -> str:
    """One line on a claim over seeds, from its row of the committed seed table
    (:func:`helpers.results.seed_table`): how many ``benchmark`` seeds gave the modal
    outcome, each seed's outcome, and whether the outcome is a finding at that preset
    (every seed agrees) or not (an outcome that changes with the seed is not). With this
    run's ``outcome``, where it differs from the modal one, the line says so: another
    preset, or training noise the seeds did not show (the thread count and the CPU change
    the order of floating-point sums, and so the trained weights)."""
    seeds = sorted(row["benchmark"], key=int)
    each = " / ".join(str(row["benchmark"][s]) for s in seeds)
    stable = row["seeds_agreeing"] == row["seeds_run"]
    judged = "stable over seeds" if stable else "changes with the seed: not a finding at benchmark"
    differs = outcome is not None and outcome.lower() != str(row["benchmark_modal"]).lower()
    note = (
        f"; this run gives {outcome!r}: another preset, or training noise the seeds did not "
        "show (threads, CPU)"
        if differs
        else ""
    )
    return (
        f"across seeds: {row['seeds_agreeing']} of {row['seeds_run']} benchmark seeds give "
        f"{row['benchmark_modal']!r} ({each}), {judged} (the book's own networks; "
        f"benchmarks/verdict_seeds.json, {row['date']}){note}"
    )


def graded(holds: object, partly: object = False) -> str:
    """``"holds"`` when ``holds`` is true, else ``"partly"`` when ``partly`` is, else
    ``"does not hold"`` (``holds`` wins even when ``partly`` is false)."""
    return "holds" if holds else "partly" if partly else "does not hold"


def tally(flags: Iterable[object]) -> str:
    """Over the parts of a claim: ``"holds"`` when every flag is true (and there is at
    least one), ``"partly"`` when some are, ``"does not hold"`` when none is."""
    flags = list(flags)
    return graded(flags and all(flags), any(flags))


def by_interval(
    intervals: Iterable[Sequence[float]], threshold: float = 0.0, partly: bool = False
) -> str:
    """The outcome of "the quantity exceeds ``threshold``" read from confidence intervals
    ``(lo, hi)``, one per seed, network or test: ``"holds"`` when every interval lies
    above it (lo > threshold; an empty iterable holds); with ``partly``, ``"partly"``
    when some do; else ``"does not hold"`` when any lies below it (hi < threshold);
    else ``"inconclusive"`` (every interval straddles or touches it; NaN ends do too)."""
    cis = list(intervals)
    above = [lo > threshold for lo, _ in cis]
    if all(above):
        return "holds"
    if partly and any(above):
        return "partly"
    return "does not hold" if any(hi < threshold for _, hi in cis) else "inconclusive"


def agreement(outcomes: Sequence[str]) -> tuple[str, int]:
    """Over seeds (or machines) of one claim: the most common outcome and how many of
    ``outcomes`` gave it. Outcomes compare as written, case aside (``"HOLDS"`` equals
    ``"holds"``; a qualified ``"does not hold (SR keeps more)"`` is its own outcome). A tie
    goes to the outcome met first, so seed 0's wins a 1-1-1 split. Raises ``ValueError`` on
    an empty sequence: agreement of no seeds is not defined."""
    words = [str(o).lower() for o in outcomes]
    if not words:
        raise ValueError("agreement needs the outcome of at least one seed, got none")
    best = max(dict.fromkeys(words), key=words.count)  # dict keeps first-met order for ties
    return best, words.count(best)
