"""The texture figures (helpers.plots.texture): every plot draws from the analyses' outputs
(fake labelled patches, synthetic images), and the heatmaps show exactly the row shares."""

from __future__ import annotations

from types import SimpleNamespace

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from test_texture_analysis import _fake_set

from helpers.data import SRPair
from helpers.models import build
from helpers.plots import texture as TP
from helpers.texture import consistency as K
from helpers.texture import profiles as F
from helpers.texture.high_vs_all import HighVsAll

matplotlib.use("Agg")
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _with_images(n: int = 120):
    """A fake set whose patches (16 px, x4) can be cut from three synthetic 96 px images."""
    ps = _fake_set(n)
    g = torch.Generator().manual_seed(0)
    hr = [torch.rand(1, 3, 96, 96, generator=g) for _ in range(3)]
    ps._pairs = [
        SRPair(name, h, torch.nn.functional.avg_pool2d(h, 4), 4)
        for name, h in zip(ps.image_names, hr, strict=True)
    ]
    return ps


def test_plotted_matrices_are_the_row_shares() -> None:
    """The heatmaps show the row-normalised matrices, cell for cell."""
    ps = _fake_set()
    panels = {"net keeps": "net", "bicubic keeps": "bicubic"}
    fig = TP.plot_flip_matrices(ps, panels)
    titled = {ax.get_title(): ax for ax in fig.axes if ax.get_title()}
    for title, model in panels.items():
        ax = titled[title]
        want = K.flip_matrix(ps, model).to_numpy()
        np.testing.assert_allclose(ax.collections[0].get_array().reshape(want.shape), want)
    conf = np.array([[3, 1], [0, 4]])
    clf = SimpleNamespace(
        confusion=conf, classes=["a", "b"], preset="x", test_accuracy=0.875, n_test=8
    )
    fig = TP.plot_confusion(clf)
    got = fig.axes[0].collections[0].get_array().reshape(2, 2)
    np.testing.assert_allclose(got, conf / conf.sum(1, keepdims=True))


def test_profile_figures() -> None:
    ps = _with_images()
    df = ps.frame()
    fig, info = TP.plot_entropy_psnr(
        df.entropy.to_numpy(), df.psnr_bicubic.to_numpy(), lambda r: ps.patches("hr", r)
    )
    assert info["fit"] == F.entropy_psnr_fit(df.entropy, df.psnr_bicubic)
    assert len(info["same_entropy"]) == 2 and len(fig.axes) == 5
    fig = TP.plot_label_scatter(df, ["banded", "dotted"], ncols=2)
    assert "banded" in fig.axes[0].get_title()
    clusters = F.kmeans_clusters(ps.embedding, 3)
    xy = F.project_2d(ps.embedding, "pca")
    fig = TP.plot_embedding(xy, ps.label_names(), clusters, method="PCA")
    assert len(fig.axes) == 2
    summary = F.cluster_summary(clusters, ps.label_names())
    fig = TP.plot_cluster_samples(ps.patches("hr"), clusters, summary, per_cluster=4)
    assert len(fig.axes) == 3 * 4
    profiles = {"a": F.semantic_profile(ps), "b": F.semantic_profile(_fake_set(seed=4))}
    fig = TP.plot_profiles(profiles, F.profile_distances(profiles))
    np.testing.assert_allclose(
        fig.axes[0].collections[0].get_array().reshape(4, 2),
        100 * pd.DataFrame(profiles).to_numpy(),
    )
    tables = {("fake", "net"): F.top_bottom_labels(F.per_label_psnr(ps), "net", k=2)}
    fig = TP.plot_per_label_psnr(tables)
    assert fig.axes[0].get_title() == "fake: net"


def test_consistency_figures() -> None:
    ps = _with_images()
    table = K.agreement_table({"fake": ps}, n_boot=50)
    fig = TP.plot_agreement(table)
    bars = [p.get_height() for p in fig.axes[0].patches if p.get_width() == pytest.approx(0.7)]
    np.testing.assert_allclose(bars, table.top1)
    fig = TP.plot_consistency_psnr(ps, table)
    assert len(fig.axes) == 2
    bic = build("bicubic", 4)
    examples = K.select_examples(ps, "bicubic", n=2)
    fig = TP.plot_examples(ps, examples, "bicubic", bic, device="cpu")
    assert len(fig.axes) == 2 * len(examples)
    fig = TP.plot_examples(ps, examples.iloc[:0], "bicubic", bic)  # nothing to show
    assert "no examples" in fig.axes[0].texts[0].get_text()


def test_high_vs_all_figure() -> None:
    curves = pd.DataFrame(
        [
            {"arm": a, "eval": e, "step": s, "psnr": 20 + s / 10 + (a == "high")}
            for a in ("all", "high")
            for e in ("all", "high")
            for s in (0, 5, 10)
        ]
    )
    res = HighVsAll(curves, {"all": 21.0, "high": 19.0}, {"all": 9, "high": 3},
                    {"all": 9, "high": 3}, {"all": 1.0, "high": 1.0}, 10, {})  # fmt: skip
    fig = TP.plot_high_vs_all(res)
    assert [ax.get_title() for ax in fig.axes] == [
        "test: all patches (n=9)",
        "test: high patches (n=3)",
    ]
    assert res.final().loc["high", "all"] == 22.0
