"""helpers.models.verdicts: the rule that decides "our protocol reproduces the papers"."""

from __future__ import annotations

from helpers.models import TOLERANCE_DB, reproduces_published, row_outcomes


def _rows(diff_set5: float, diff_set14: float, model: str = "pan") -> list[dict]:
    return [
        {"model": model, "dataset": "set5", "scale": 4, "psnr_y": 32.13 + diff_set5,
         "published": 32.13},
        {"model": model, "dataset": "set14", "scale": 4, "psnr_y": 28.61 + diff_set14,
         "published": 28.61},
        {"model": model, "dataset": "urban100", "scale": 4, "psnr_y": 26.0, "published": None},
    ]  # fmt: skip


def test_holds_within_tolerance_on_every_published_row() -> None:
    v = reproduces_published(_rows(0.01, -0.04))["pan"]
    assert v.holds and v.outcome == "holds"
    assert v.numbers["diff_db"] == {"set5 x4": 0.01, "set14 x4": -0.04}
    assert row_outcomes(_rows(0.01, -0.04)) == ["within", "within", None]


def test_does_not_hold_when_one_row_is_outside_and_quotes_the_caveat() -> None:
    v = reproduces_published(_rows(0.0, TOLERANCE_DB + 0.02))["pan"]
    assert not v.holds and v.outcome == "does not hold" and "set14 x4" in v.text
    carn = reproduces_published(_rows(0.12, -0.08, model="carn_m"))["carn_m"]
    assert not carn.holds and "retrained after publication" in carn.text
    assert row_outcomes(_rows(0.0, 0.2))[1] == "outside"


def test_not_testable_without_published_numbers() -> None:
    rows = [{"model": "my_net", "dataset": "set5", "scale": 4, "psnr_y": 30.0, "published": None}]
    v = reproduces_published(rows)["my_net"]
    assert v.outcome == "not testable" and not v.holds
