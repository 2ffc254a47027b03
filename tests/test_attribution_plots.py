"""Smoke tests of the LAM and DI chapters' figures (helpers.plots.lam): each returns a
Figure with the expected number of axes, from small real data."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from helpers.attribution import center_window, lam  # noqa: E402
from helpers.attribution import di as di_analysis  # noqa: E402
from helpers.models import build  # noqa: E402
from helpers.networks.family import FamilyMember  # noqa: E402
from helpers.plots import lam as lam_plots  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def case():
    torch.manual_seed(0)
    hr = torch.rand(1, 3, 48, 48)
    net = build("edsr", 4, n_feats=8, n_blocks=1).eval()
    lr = hr[..., ::4, ::4].contiguous()
    window = center_window(lr, 4, 8)
    result = lam(net, lr, window, steps=3, device="cpu")
    with torch.no_grad():
        sr = net(lr).clamp(0, 1)
    return SimpleNamespace(name="c0", hr=hr, lr=lr, window=window, result=result, sr=sr)


def _check(fig: Figure, n_axes: int) -> None:
    assert isinstance(fig, Figure) and len(fig.axes) == n_axes
    plt.close(fig)


def test_lam_case_panels(case):
    srs = {"a": case.sr, "b": case.sr}
    fig = lam_plots.plot_lam_case(
        case.hr, case.lr, case.window, srs, dict.fromkeys(srs, case.result)
    )
    _check(fig, 3 * 3)


def test_fig3_paths(case):
    _check(lam_plots.plot_fig3_paths({"blur": case.result, "linear": case.result}, "t"), 8)


def test_psnr_vs_di_scatter_with_band():
    di = {"f1": 0.5, "f2": 1.0, "z1": 2.0, "r1": 4.0}
    psnr = {"f1": 20.0, "f2": 20.5, "z1": 20.7, "r1": 21.6}
    fit = di_analysis.fit_log_di(di, psnr)
    kind = {"f1": "family", "f2": "family", "z1": "zoo", "r1": "released"}
    _check(lam_plots.plot_psnr_vs_di(fit, di, psnr, kind, bicubic_psnr=19.8), 1)


def test_sweep_panels():
    members = [FamilyMember("edsr", w, 2) for w in (8, 16, 32)] + [
        FamilyMember("fsrcnn", 16, d) for d in (1, 2, 4)
    ]
    groups = di_analysis.sweeps(members)
    di = {m.name: float(m.width + m.depth) for m in members}
    psnr = {m.name: 20.0 + m.depth for m in members}
    trends = di_analysis.sweep_trends(groups, di, psnr)
    _check(lam_plots.plot_sweeps(groups, di, psnr, trends), 8)


def test_fig8_di_by_case_and_extremes(case):
    di_table = pd.DataFrame({"c0": {"a": 1.0, "b": 2.0}, "c1": {"a": 0.5, "b": float("nan")}})
    _check(lam_plots.plot_di_by_case(di_table, ["c1", "c0"]), 1)
    other = SimpleNamespace(name="c1", hr=case.hr.flip(-1), lr=case.lr.flip(-1))
    measures = di_analysis.content_table([case, other], {"c0": 1.5, "c1": 0.5}, 4, 8, 2.0)
    maps = {"c0": case.result, "c1": case.result}
    fig = lam_plots.plot_content_extremes({"c0": case, "c1": other}, measures, maps, "a", 4, 8)
    _check(fig, 2 * 2)


def test_scaling_figure_and_table_from_the_committed_benchmark() -> None:
    """The committed ``benchmarks/scaling.json`` has every variant at every size and the
    chapter's reading of it: the crop's cost grows less than the whole image's and the
    area (a flat line), the whole image's and the global network's follow the area."""
    import json

    from conftest import REPO

    bench = json.loads((REPO / "benchmarks" / "scaling.json").read_text())
    fig = lam_plots.plot_scaling(bench)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    assert [len(ax.lines) for ax in fig.axes[:2]] == [3, 3]
    table = lam_plots.scaling_table(bench)
    assert list(table.index) == ["local_crop", "local_nocrop", "global", "area"]
    g = table["growth"]
    assert g["local_crop"] < g["local_nocrop"] and g["local_crop"] < 0.25 * g["area"]
    assert g["local_nocrop"] > 0.25 * g["area"] and g["global"] > 0.25 * g["area"]
    plt.close(fig)


def test_rules_figure_and_the_fast_node_count_from_the_committed_benchmark() -> None:
    """``benchmarks/lam_rules.json``: its reference is converged relative to the errors
    compared, ``attribution.FAST_STEPS`` is its ``fast_nodes``, that many arclength
    nodes beat the paper's 50-step right sum on every network and crop, and the next
    count tried below it does not on at least one."""
    import json

    from conftest import REPO

    from helpers import attribution

    bench = json.loads((REPO / "benchmarks" / "lam_rules.json").read_text())
    rows = bench["rows"]
    nets = list(bench["fast"])
    paper = {n: bench["fast"][n]["paper_right50_by_image"] for n in nets}  # net -> crop -> err
    refs = [r for r in rows if r["rule"] == "reference"]
    assert all(r["ref_self_error"] < 0.25 * min(paper[r["model"]].values()) for r in refs)
    assert bench["fast_nodes"] == attribution.FAST_STEPS
    err = {(r["model"], r["image"], r["rule"], r["nodes"]): r["map_rel_l1"] for r in rows}

    def beats(net: str, nodes: int) -> bool:
        """arclength at ``nodes`` beats the 50-step right sum on every crop of ``net``."""
        return all(err[(net, im, "arclength", nodes)] < p for im, p in paper[net].items())

    assert all(beats(n, attribution.FAST_STEPS) for n in nets)
    fewer = max(m for m in bench["settings"]["check_nodes"] if m < attribution.FAST_STEPS)
    assert not all(beats(n, fewer) for n in nets)
    fig = lam_plots.plot_rules(bench)
    assert isinstance(fig, Figure) and len(fig.axes) == len(nets)
    assert all(len(ax.lines) >= 4 for ax in fig.axes)  # a line per rule, the paper's level
    facts = lam_plots.rules_facts(bench)
    assert facts["fast_nodes"] == str(attribution.FAST_STEPS)
    plt.close(fig)


def test_speed_table_facts_from_the_committed_benchmark() -> None:
    """``benchmarks/lam_speed.json`` as the chapter reads it: exact agrees with the
    reference loop to float rounding, and the fast mode's map is closer to the converged
    integral than the reference loop's own map wherever the integral was computed."""
    import json

    import pandas as pd
    from conftest import REPO

    bench = json.loads((REPO / "benchmarks" / "lam_speed.json").read_text())
    table, facts = lam_plots.speed_table(bench)
    # float rounding, and the detector's smoothing at zero gradient (PAN: 5e-4)
    assert float(facts["exact_err"]) < 1e-3
    rows = pd.DataFrame(bench["rows"])
    conv = rows.dropna(subset=["l1_rel_err_vs_converged"]).set_index(["config", "variant"])
    configs = {c for c, _ in conv.index}
    assert configs and all(
        conv.loc[(c, "fast"), "l1_rel_err_vs_converged"]
        < conv.loc[(c, "reference"), "l1_rel_err_vs_converged"]
        for c in configs
    )
    assert {"fast_speedup", "fast_released", "grl_fast_s"} <= set(facts)
    assert float(facts["peak_gib"]) < float(facts["reference_peak_gib"])
    assert "l1_rel_err_vs_converged" in table.columns
