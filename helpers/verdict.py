"""The one shape of a decided claim: :class:`Verdict`, shared by every chapter's verdicts.

Each claim a chapter decides is a function in its analysis subpackage
(``helpers.attribution.verdicts``, ``helpers.texture.verdicts``, ...) whose docstring
states the rule (threshold, test, null) and which returns a :class:`Verdict` with the
numbers it used; the chapter prints :meth:`Verdict.report` beside the paper's finding.
No torch here: a verdict is plain numbers and words.
"""

from __future__ import annotations

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
        holds: whether the claim holds by that rule.
        outcome: a word or two, usually one of :data:`OUTCOMES` (anything but
            ``"holds"`` leaves ``holds`` False).
        numbers: every number the rule used (JSON-ready floats, ints, strings, dicts).
        text: the sentence(s) the chapter prints.
        paper: the paper's finding it is compared with.
    """

    claim: str
    rule: str
    holds: bool
    outcome: str
    numbers: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    paper: str = ""

    def __post_init__(self) -> None:
        if self.holds != (self.outcome == "holds"):
            raise ValueError(f"holds={self.holds} contradicts outcome {self.outcome!r}")

    @property
    def label(self) -> str:
        """The outcome in capitals (``"HOLDS"``, ``"PARTLY"``, ``"DOES NOT HOLD"``, ...)."""
        return self.outcome.upper()

    def report(self, bullet: str = "") -> str:
        """The sentence, then the rule, the outcome and the paper's finding, one line each
        (``bullet`` is put before the sentence, e.g. ``"- "``)."""
        return (
            f"{bullet}{self.text}\n    rule: {self.rule}\n    outcome: {self.outcome}"
            f"\n    paper: {self.paper}"
        )
