"""The DI chapter's verdicts (helpers.attribution.verdicts): for each claim, one
constructed case where its rule holds and one where it does not, plus the sweep trends
the scale verdict reads (the LAM chapter's: test_attribution_verdicts_lam.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from helpers.attribution import di as di_analysis
from helpers.attribution import verdicts as V
from helpers.networks.family import FamilyMember

# ------------------------------------------------------------------------- DI chapter


def _fit(slope: float, noise: float, n: int = 12, seed: int = 0) -> di_analysis.LogDIFit:
    rng = np.random.default_rng(seed)
    di = {f"n{i}": float(10 ** rng.uniform(-0.5, 1.5)) for i in range(n)}
    psnr = {k: 20 + slope * math.log10(v) + float(rng.normal(0, noise)) for k, v in di.items()}
    return di_analysis.fit_log_di(di, psnr)


def test_psnr_vs_log_di_three_outcomes():
    strong = V.psnr_vs_log_di(_fit(2.0, 0.05))
    assert strong.holds and strong.label == "HOLDS" and strong.numbers["n"] == 12
    assert strong.text.startswith("1. PSNR vs log DI: HOLDS: Pearson r = ")
    assert strong.text.endswith("(paper: both > 0.8, p < 1e-12 over 48).")
    weak = V.psnr_vs_log_di(_fit(0.5, 0.6, n=40))  # positive and significant, below 0.8
    assert not weak.holds and weak.outcome == "partly", weak.numbers
    none = V.psnr_vs_log_di(_fit(0.0, 1.0))
    assert not none.holds and none.label == "DOES NOT HOLD"
    above = _fit(2.0, 0.05, n=5, seed=1)
    v = V.psnr_vs_log_di(_fit(2.0, 0.05), fit_above=above, below=["n0"])
    assert "over the 5 networks that beat bicubic" in v.text


def test_receptive_field_vs_di_both_parts():
    rf = {"a": "9x9", "b": "17x17", "c": "41x41", "g": "global"}
    v = V.receptive_field_vs_di({"a": 0.5, "b": 0.8, "c": 1.2, "g": 1.0}, rf)
    assert v.holds and v.numbers["widest"] == "c" and v.numbers["rho"] == pytest.approx(1.0)
    assert "rises with a finite field" in v.text and "does not by itself lift" in v.text
    # A global network above the widest CNN: only the first part holds.
    part = V.receptive_field_vs_di({"a": 0.5, "b": 0.8, "c": 1.2, "g": 3.0}, rf)
    assert not part.holds and part.outcome == "partly"
    no = V.receptive_field_vs_di({"a": 1.2, "b": 0.8, "c": 0.5, "g": 3.0}, rf)
    assert no.label == "DOES NOT HOLD" and no.numbers["rho"] == pytest.approx(-1.0)
    # A positive Spearman that noise could give (p >= 0.05) is not "rises".
    rf5 = {"a": "9x9", "b": "17x17", "c": "25x25", "d": "33x33", "e": "41x41", "g": "global"}
    weak = V.receptive_field_vs_di(
        {"a": 0.6, "b": 0.5, "c": 0.9, "d": 0.4, "e": 1.0, "g": 0.1}, rf5
    )
    assert weak.numbers["rho"] > 0 and weak.numbers["p"] >= 0.05
    assert weak.outcome == "partly" and "does not rise with a finite field" in weak.text
    few = V.receptive_field_vs_di({"a": 1.0, "g": 2.0}, {"a": "9x9", "g": "global"})
    assert few.numbers["rho"] is None and "DI n/a" in few.text
    summary = V.receptive_field_summary(v).splitlines()
    assert summary[0].startswith("Finite receptive fields: Spearman(DI, field) = +1.00 (p = ")
    assert summary[0].endswith(", n = 3)")
    assert summary[1] == "Widest finite field: c (41 px), DI 1.20; global networks' DI: g 1.00"
    assert V.receptive_field_summary(
        few
    ) == "Finite receptive fields: Spearman(DI, field) = n/a\n" + (
        "Widest finite field: a (9 px), DI 1.00; global networks' DI: g 2.00"
    )


def test_scale_trends_match_the_paper_signs():
    paper = {("fsrcnn", "width"): (0.8, 0.5), ("fsrcnn", "depth"): (1.0, 0.2)}
    paper |= {("edsr", "depth"): (0.5, 0.1), ("edsr", "width"): (-0.4, 0.3)}
    v = V.scale_trends(paper)
    assert v.holds and v.numbers["n_match"] == 4 and "4 of 4 as in the paper" in v.text
    flipped = {k: (-t[0], t[1]) for k, t in paper.items()}
    assert V.scale_trends(flipped).label == "DOES NOT HOLD"
    half = dict(paper) | {("fsrcnn", "width"): (-0.8, 0.5), ("edsr", "width"): (0.4, 0.3)}
    assert V.scale_trends(half).outcome == "partly"
    # A missing or NaN sweep is not counted: three of four cannot HOLD.
    nan = dict(paper) | {("edsr", "width"): (float("nan"), 0.0)}
    assert V.scale_trends(nan).outcome == "partly"


def test_content_vs_di_periodicity():
    corr = {
        "periodicity": {"rho": 0.9, "p": 0.01},
        "coherence": {"rho": 0.1, "p": 0.8},
        "window_edges": {"rho": -0.2, "p": 0.6},
    }
    v = V.content_vs_di(corr, 6, "stripes", "face")
    assert v.holds and "widest-attribution patch: stripes, narrowest: face." in v.text
    corr["periodicity"] = {"rho": 0.5, "p": 0.3}
    part = V.content_vs_di(corr, 6, "stripes", "face")
    assert part.outcome == "partly" and "(not significant at this number of patches)" in part.text
    corr["periodicity"] = {"rho": -0.5, "p": 0.01}
    assert not V.content_vs_di(corr, 6, "a", "b").holds


def test_report_has_rule_outcome_and_paper():
    v = V.scale_trends({("edsr", "width"): (0.3, 0.1)})
    lines = v.report().splitlines()
    assert lines[0] == v.text and lines[1].startswith("    rule: ")
    assert lines[2] == "    outcome: does not hold" and "Fig. 7c" in lines[3]


def test_sweep_trends_average_groups_and_skip_nan():
    members = [FamilyMember("edsr", w, d) for w in (8, 16, 32) for d in (2, 4)]
    groups = di_analysis.sweeps(members)
    di = {m.name: m.width * (1 + m.depth) for m in members}  # rises with both
    psnr = {m.name: -float(m.width) if m.depth == 2 else 1.0 for m in members}
    t = di_analysis.sweep_trends(groups, di, psnr)
    assert set(t) == {("edsr", "width"), ("edsr", "depth")}
    assert t[("edsr", "width")][0] == pytest.approx(1.0)
    # PSNR along width: -1 in the depth-2 group, constant (NaN) in the depth-4 one.
    assert t[("edsr", "width")][1] == pytest.approx(-1.0)
    assert math.isnan(t[("edsr", "depth")][0])  # two points per depth group: no trend
