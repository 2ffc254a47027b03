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
