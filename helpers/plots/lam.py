"""The figures of the LAM and DI-vs-PSNR chapters (Gu & Dong, CVPR 2021), in the book's style.

LAM chapter: :func:`plot_lam_case` (Fig. 1/5: SR crops, maps and areas of contribution of
every network on one hard case) and :func:`plot_fig3_paths` (Fig. 3: detector, path speed
and cumulative attribution along each path). DI chapter: :func:`plot_psnr_vs_di` (Fig. 7a:
PSNR against DI with the log fit and its band), :func:`plot_sweeps` (Fig. 7c: DI and PSNR
along the width/depth sweeps), :func:`plot_di_by_case` and :func:`plot_content_extremes`
(Fig. 8: DI per hard case, the lowest- and highest-DI patches with their maps).
:func:`speed_table`: the committed LAM benchmark (``benchmarks/lam_speed.json``) as the
LAM chapter's table and the few numbers its prose quotes; :func:`plot_rules`: map error
against network evaluations per integration rule (``benchmarks/lam_rules.json``);
:func:`plot_scaling`: how a map's and a training step's cost grow with size
(``benchmarks/scaling.json``).

DI in titles is the LAM demo's definition (:func:`helpers.attribution.di.map_di`).

Each takes data (images as float tensors (1, 3, H, W) in [0, 1]; windows ``(x, y, size)``
in SR px; DI in (0, 100]; PSNR in dB) and returns its :class:`matplotlib.figure.Figure`.

May import: ``helpers.attribution`` (and ``helpers.plots``, the base modules).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import matplotlib.ticker
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from ..attribution.di import LogDIFit, map_di
from ..attribution.maps import center_window
from ..attribution.result import LAMResult, Window
from ..attribution.visual import area_of_contribution, fig3_curves, lam_visual
from ..networks.family import FamilyMember
from . import to_numpy_image

__all__ = [
    "plot_scaling",
    "scaling_table",
    "speed_table",
    "plot_content_extremes",
    "plot_di_by_case",
    "plot_fig3_paths",
    "plot_lam_case",
    "plot_psnr_vs_di",
    "plot_sweeps",
]

#: DI ticks of the log axis of :func:`plot_psnr_vs_di` (those inside the data's range).
_NICE_DI = [0.1, 0.2, 0.3, 0.5, 0.7, 1, 1.5, 2, 3, 5, 7, 10, 15, 20, 30, 50, 70, 100]


def _no_ticks(axes: Any) -> None:
    for ax in np.asarray(axes).flat:
        ax.set_xticks([])
        ax.set_yticks([])


def plot_lam_case(
    hr: torch.Tensor,
    lr: torch.Tensor,
    window: Window,
    srs: Mapping[str, torch.Tensor],
    maps: Mapping[str, LAMResult],
    margin: int = 16,
) -> Figure:
    """One hard case through every network (the paper's Fig. 1 and 5).

    Column 0: the HR image with the window (red), the LR input. Then one column per
    network: its SR output around the window (``margin`` SR px on each side), the LAM map
    (:func:`~helpers.attribution.lam_visual`, ``seismic`` on [-1, 1]) titled with its DI,
    and the area of contribution over the LR image.

    Args:
        hr: (1, 3, H, W) HR image; lr: (1, 3, H/s, W/s) LR image.
        window: ``(x, y, size)`` SR px (the detector's window).
        srs: network -> SR output (1, 3, H, W) in [0, 1].
        maps: network -> its :class:`~helpers.attribution.LAMResult` (same keys as ``srs``).
        margin: SR px shown around the window.

    Returns:
        A figure with 3 x (len(srs) + 1) axes.
    """
    names = list(srs)
    fig, axes = plt.subplots(3, len(names) + 1, figsize=(2.1 * (len(names) + 1), 6.4))
    x, y, s = window
    axes[0, 0].imshow(to_numpy_image(hr))
    axes[0, 0].add_patch(plt.Rectangle((x, y), s, s, fill=False, color="r", lw=1.5))
    axes[0, 0].set_title("HR + window")
    axes[1, 0].imshow(to_numpy_image(lr))
    axes[1, 0].set_title("LR input")
    lr_img = to_numpy_image(lr)
    top, left = max(0, y - margin), max(0, x - margin)
    for j, name in enumerate(names, start=1):
        r = maps[name]
        sr = srs[name][..., top : y + s + margin, left : x + s + margin]
        axes[0, j].imshow(to_numpy_image(sr))
        axes[0, j].set_title(name)
        axes[1, j].imshow(lam_visual(r).numpy(), cmap="seismic", vmin=-1, vmax=1)
        axes[1, j].set_title(f"DI {map_di(r):.2f}")
        axes[2, j].imshow(lr_img)
        axes[2, j].imshow(area_of_contribution(r).numpy(), cmap="jet", alpha=0.5)
    axes[2, 0].axis("off")
    _no_ticks(axes)
    fig.tight_layout()
    return fig


def plot_fig3_paths(paths: Mapping[str, LAMResult], title: str = "") -> Figure:
    """The paper's Fig. 3: one row per path (label -> map of the same network, image and
    window): the map with its DI and completeness error, then against alpha the detector
    D(F(gamma(alpha))), the mean path speed |dgamma/dalpha| and the cumulative
    attribution with its target D(F(I)) - D(F(I')) (dashed).

    Returns:
        A figure with 4 axes per path.
    """
    fig, axes = plt.subplots(len(paths), 4, figsize=(12, 2.8 * len(paths)), squeeze=False)
    for i, (label, r) in enumerate(paths.items()):
        c = fig3_curves(r)
        axes[i, 0].imshow(lam_visual(r).numpy(), cmap="seismic", vmin=-1, vmax=1)
        axes[i, 0].set_title(
            f"{label}\nDI {map_di(r):.2f}, completeness err {100 * r.completeness_error:.2f}%"
        )
        axes[i, 0].axis("off")
        axes[i, 1].plot(c["alpha"], c["detector"])
        axes[i, 1].set_title("D(F(γ(α)))")
        axes[i, 2].plot(c["alpha"], c["path_speed"])
        axes[i, 2].set_title("|∂γ/∂α| (mean)")
        axes[i, 3].plot(c["alpha"], c["cumulative"])
        axes[i, 3].axhline(c["target"], ls="--", c="k", lw=0.8)
        axes[i, 3].set_title("cumulative attribution")
        for ax in axes[i, 1:]:
            ax.set_xlabel("α")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_psnr_vs_di(
    fit: LogDIFit,
    di: Mapping[str, float],
    psnr: Mapping[str, float],
    kind: Mapping[str, str],
    bicubic_psnr: float | None = None,
) -> Figure:
    """PSNR against DI on a log axis (the paper's Fig. 7a): the networks of ``fit`` by kind
    (``"family"`` circles, ``"zoo"`` squares, ``"released"`` triangles, ``"file"``
    diamonds), named; the
    least-squares line of PSNR on log10 DI with its 95% band; bicubic's PSNR (dotted).

    Args:
        fit: :func:`helpers.attribution.di.fit_log_di` of these networks.
        di, psnr: network -> DI, PSNR (dB) as plotted (``fit.names`` are plotted).
        kind: network -> ``"family"``, ``"zoo"``, ``"released"`` or ``"file"`` (a
            network of another kind is named but not marked).
        bicubic_psnr: the bicubic reference (dB), or ``None``.

    Returns:
        A figure with 1 axes.
    """
    fig, ax = plt.subplots(figsize=(6.4, 4.4))
    xs = np.linspace(fit.log_di.min() - 0.1, fit.log_di.max() + 0.1, 100)
    lo, hi = fit.band(xs)
    ax.fill_between(10**xs, lo, hi, alpha=0.2, label="95% band of the fit")
    ax.plot(10**xs, fit.predict(xs), "k-", lw=1, label=f"fit: {fit.slope:.2f} dB per decade of DI")
    for k, marker in (("family", "o"), ("zoo", "s"), ("released", "^"), ("file", "D")):
        sel = [n for n in fit.names if kind[n] == k]
        if sel:
            ax.scatter(
                [di[n] for n in sel], [psnr[n] for n in sel], marker=marker, s=36, label=k, zorder=3
            )
    for n in fit.names:
        ax.annotate(n, (di[n], psnr[n]), fontsize=6, xytext=(3, 2), textcoords="offset points")
    if bicubic_psnr is not None:
        ax.axhline(bicubic_psnr, ls=":", c="grey", lw=1)
        ax.annotate(
            "bicubic",
            (10 ** xs[0], bicubic_psnr),
            fontsize=7,
            color="grey",
            xytext=(2, 2),
            textcoords="offset points",
        )
    ax.set_xscale("log")
    ax.set_xticks([t for t in _NICE_DI if 10 ** xs[0] <= t <= 10 ** xs[-1]] or [1])
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("DI (log scale)")
    ax.set_ylabel("PSNR on the hard cases (dB)")
    ax.set_title(
        f"r = {fit.pearson_r:.2f} (p = {fit.pearson_p:.1e}), ρ = {fit.spearman_rho:.2f} "
        f"(p = {fit.spearman_p:.1e}); paper: both > 0.8"
    )
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_sweeps(
    groups: Mapping[tuple[str, str], list[list[FamilyMember]]],
    di: Mapping[str, float],
    psnr: Mapping[str, float],
    trends: Mapping[tuple[str, str], tuple[float, float]],
) -> Figure:
    """DI (solid, left axis) and PSNR (dashed, right axis) along each sweep (Fig. 7c).

    Rows FSRCNN, EDSR; columns width, depth; one line per group of
    :func:`helpers.attribution.di.sweeps` (labelled with the fixed variable); titles give
    the sweep's trends (:func:`helpers.attribution.di.sweep_trends`).

    Returns:
        A figure with 8 axes (4 panels, each with a twin PSNR axis).
    """
    fig, axes = plt.subplots(2, 2, figsize=(9, 6), squeeze=False)
    for i, arch in enumerate(("fsrcnn", "edsr")):
        for j, var in enumerate(("width", "depth")):
            ax = axes[i, j]
            twin = ax.twinx()
            other = "depth" if var == "width" else "width"
            for g in groups.get((arch, var), []):
                x = [getattr(m, var) for m in g]
                label = f"{other} {getattr(g[0], other)}"
                line = ax.plot(x, [di[m.name] for m in g], "o-", label=label)[0]
                twin.plot(x, [psnr[m.name] for m in g], "s--", color=line.get_color(), alpha=0.6)
            if groups.get((arch, var)):
                ax.legend(fontsize=7, loc="upper left")
            ax.set_xlabel(f"{arch} {var}")
            ax.set_ylabel("DI")
            twin.set_ylabel("PSNR (dB)")
            twin.grid(False)
            t = trends.get((arch, var), (float("nan"), float("nan")))
            ax.set_title(f"{arch}: vs {var} (Spearman DI {t[0]:+.2f}, PSNR {t[1]:+.2f})")
    fig.tight_layout()
    return fig


def plot_di_by_case(di_table: pd.DataFrame, order: Sequence[str]) -> Figure:
    """Every network's DI on each hard case, cases ranked by mean DI (Fig. 8), log axis.

    Args:
        di_table: rows networks, columns hard cases, DI (NaN: degenerate window).
        order: the cases to show, from the lowest to the highest mean DI.

    Returns:
        A figure with 1 axes.
    """
    fig, ax = plt.subplots(figsize=(7, 3.6))
    colours = plt.cm.tab20(np.linspace(0, 1, 20))
    ranks = range(1, len(order) + 1)
    for i, name in enumerate(di_table.index):
        ax.scatter(ranks, di_table.loc[name, order], s=14, color=colours[i % 20], label=name)
    ax.plot(ranks, di_table.mean(axis=0)[order], "k-", lw=1.5, label="mean")
    ax.set_yscale("log")
    ax.set_xlabel("hard case, ranked by mean DI")
    ax.set_ylabel("DI")
    ax.legend(fontsize=6, ncol=2, bbox_to_anchor=(1.01, 1), loc="upper left")
    fig.tight_layout()
    return fig


def plot_content_extremes(
    cases: Mapping[str, Any],
    measures: pd.DataFrame,
    maps: Mapping[str, LAMResult],
    net: str,
    scale: int,
    window_size: int,
    k: int = 3,
) -> Figure:
    """The ``k`` lowest- and ``k`` highest-DI hard cases (Fig. 8): each HR patch with its
    window, rank, mean DI, periodicity and coherence, above the LAM map of network ``net``.

    Args:
        cases: case name -> hard case (``.hr``, ``.lr``).
        measures: :func:`helpers.attribution.di.content_table` (rows ranked by mean DI).
        maps: case name -> ``net``'s :class:`~helpers.attribution.LAMResult`.
        net: the network whose maps are shown (named in the titles).
        scale, window_size: as for the maps (window in SR px, centred).
        k: cases at each end.

    Returns:
        A figure with 2 axes per case shown (at most 2k).
    """
    order = list(measures.index)
    k = min(k, len(order))
    picks = order[:k] + [n for n in order[-k:] if n not in order[:k]]
    fig, axes = plt.subplots(2, len(picks), figsize=(2.3 * len(picks), 4.8), squeeze=False)
    for j, n in enumerate(picks):
        c = cases[n]
        x, y, s = center_window(c.lr, scale, window_size)
        axes[0, j].imshow(to_numpy_image(c.hr))
        axes[0, j].add_patch(plt.Rectangle((x, y), s, s, fill=False, color="r", lw=1.2))
        m = measures.loc[n]
        axes[0, j].set_title(
            f"#{int(m['rank'])} {'low' if n in order[:k] else 'high'} DI {m.mean_DI:.2f}\n"
            f"per {m.periodicity:.2f}, coh {m.coherence:.2f}",
            fontsize=8,
        )
        axes[1, j].imshow(lam_visual(maps[n]).numpy(), cmap="seismic", vmin=-1, vmax=1)
        axes[1, j].set_title(f"LAM of {net}", fontsize=8)
    _no_ticks(axes)
    fig.tight_layout()
    return fig


def speed_table(
    bench: Mapping[str, Any], headline: str = "edsr16x64:128"
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The LAM benchmark (``scripts/bench_lam.py``'s JSON) as a table and its headline facts.

    Returns:
        The table (index ``config, variant``: rule and nodes, wall and CPU seconds per
        map, speed-up against the reference loop, largest relative error against the
        reference's map, relative L1 error against the converged integral where it was
        computed, peak extra MiB), and strings: ``date``, ``largest`` (``headline``, or the
        last configuration), ``exact_speedup`` and ``fast_speedup`` there, ``fast_released``
        (the fast mode's speed-up on each released network), ``exact_err`` (largest
        relative error of the exact mode against the reference loop, float rounding),
        ``reference_vs_converged`` and ``fast_vs_converged`` (map errors against the
        converged integral on ``largest``, in %), ``fast_steps``, ``grl_exact_s`` and
        ``grl_fast_s`` (seconds per GRL-tiny map, when measured), ``peak_gib`` and
        ``reference_peak_gib`` (the largest peak extra memory of ``lam`` and of the
        reference loop, rounded up to 0.1 GiB) and ``machine`` (one line).
    """
    speed = pd.DataFrame(bench["rows"]).set_index(["config", "variant"])
    largest = headline if headline in bench["configs"] else bench["configs"][-1]
    m = bench["machine"]

    def pct(config: str, variant: str) -> str:
        v = speed.get("l1_rel_err_vs_converged")
        if v is None or (config, variant) not in v.index or pd.isna(v[(config, variant)]):
            return "n/a"
        return f"{100 * v[(config, variant)]:.1f}%"

    released = [c for c in bench["configs"] if not c.startswith("edsr")]
    facts = {
        "date": bench["date"],
        "largest": largest,
        "exact_speedup": f"{speed.loc[(largest, 'exact'), 'speedup_vs_reference']:.0f}",
        "fast_speedup": f"{speed.loc[(largest, 'fast'), 'speedup_vs_reference']:.0f}",
        "fast_released": ", ".join(
            f"{c} ×{speed.loc[(c, 'fast'), 'speedup_vs_reference']:.0f}"
            for c in released
            if (c, "fast") in speed.index
        ),
        "exact_err": f"{speed.xs('exact', level='variant').max_rel_err.max():.0e}",
        "reference_vs_converged": pct(largest, "reference"),
        "fast_vs_converged": pct(largest, "fast"),
        "fast_steps": str(int(speed.xs("fast", level="variant").steps.max())),
        "peak_gib": _gib(speed.drop(index="reference", level="variant").peak_extra_mib.max()),
        "reference_peak_gib": _gib(speed.xs("reference", level="variant").peak_extra_mib.max()),
        "machine": (
            f"{bench['date']}: torch {m['torch']}, {m['cpu_capability']}, {m['torch_threads']} "
            f"threads, load average {m['loadavg_start'][0]:.1f} at the start and "
            f"{m['loadavg_end'][0]:.1f} at the end; {bench['steps']} steps, sigma "
            f"{bench['sigma']}, {bench['window']}"
        ),
    }
    for variant in ("exact", "fast"):
        key = ("grl_tiny:64", variant)
        facts[f"grl_{variant}_s"] = (
            f"{speed.loc[key, 'seconds']:.0f}" if key in speed.index else "n/a"
        )
    cols = ["rule", "steps", "seconds", "cpu_seconds", "speedup_vs_reference", "max_rel_err",
            "l1_rel_err_vs_converged", "peak_extra_mib"]  # fmt: skip
    cols = [c for c in cols if c in speed.columns]
    digits = {"seconds": 2, "cpu_seconds": 2, "speedup_vs_reference": 2,
              "l1_rel_err_vs_converged": 4, "peak_extra_mib": 0}  # fmt: skip
    return speed[cols].round(digits), facts


def rules_facts(bench: Mapping[str, Any]) -> dict[str, str]:
    """The numbers the LAM chapter quotes from ``scripts/bench_lam_rules.py``'s JSON:
    ``ref_nodes``, ``ref_self_pct`` (the reference's largest error against half its nodes,
    in %), ``fast_nodes`` and ``nodes_range`` (the node counts tried, ``lo–hi``)."""
    ref = [r for r in bench["rows"] if r["rule"] == "reference"]
    nodes = bench["settings"]["nodes"]
    return {
        "ref_nodes": str(bench["settings"]["ref_nodes"]),
        "ref_self_pct": f"{100 * max(r['ref_self_error'] for r in ref):.1f}",
        "fast_nodes": str(bench["fast_nodes"]),
        "nodes_range": f"{min(nodes)}–{max(nodes)}",
    }


def _gib(mib: float) -> str:
    return f"{np.ceil(mib / 1024 * 10) / 10:.1f}"


_RULE_STYLE = {
    "right": ("C3", "o", "right sum (paper)"),
    "trapezoid": ("C0", "s", "trapezoid"),
    "gauss_legendre": ("C2", "^", "Gauss–Legendre"),
    "arclength": ("C1", "D", "arclength (fast)"),
}


def plot_rules(bench: Mapping[str, Any]) -> Figure:
    """``scripts/bench_lam_rules.py``'s JSON: relative L1 map error against the converged
    path integral vs network evaluations (log-log), one panel per network (first crop),
    one line per rule; the dotted line is the paper's own error (right sum, 50 steps) and
    the star the fast mode's node count (``fast_nodes``, the same on every network)."""
    rows = pd.DataFrame(bench["rows"])
    rows = rows[rows.rule != "reference"]
    nets = list(dict.fromkeys(rows.model))
    fig, axes = plt.subplots(1, len(nets), figsize=(2.4 * len(nets), 2.8), sharey=True,
                             squeeze=False)  # fmt: skip
    for ax, net in zip(axes[0], nets, strict=True):
        mine = rows[(rows.model == net) & (rows.image == rows[rows.model == net].image.iloc[0])]
        for rule, (color, marker, label) in _RULE_STYLE.items():
            r = mine[mine.rule == rule].sort_values("evaluations")
            ax.plot(r.evaluations, r.map_rel_l1, marker=marker, color=color, ms=3, lw=1,
                    label=label)  # fmt: skip
        paper = bench["fast"][net]["paper_right50_map_rel_l1"]
        ax.axhline(paper, color="C3", ls=":", lw=1)
        k = bench["fast_nodes"]  # what mode="fast" uses, on every network
        if k is not None:
            hit = mine[(mine.rule == "arclength") & (mine.nodes == k)]
            ax.plot(hit.evaluations, hit.map_rel_l1, "*", color="k", ms=9)
        ax.set(xscale="log", yscale="log", xlabel="network evaluations", title=net)
    axes[0, 0].set_ylabel("map error vs converged (rel. L1)")
    axes[0, -1].legend(fontsize=6)
    fig.tight_layout()
    return fig


_SCALING_LABELS = {
    "local_crop": "local net, receptive-field crop",
    "local_nocrop": "local net, whole image",
    "global": "global net (no crop is exact)",
}


def plot_scaling(bench: Mapping[str, Any]) -> Figure:
    """``scripts/bench_scaling.py``'s JSON: CPU seconds and peak extra memory (MiB) per LAM map
    against the LR side (log-log, one line per variant), and training seconds per step
    against the pixels per step (batch x patch^2, one line per LR patch)."""
    lam_rows = pd.DataFrame(bench["lam"])
    train_rows = pd.DataFrame(bench["train"])
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.3))
    for variant, rows in lam_rows.groupby("variant", sort=False):
        rows = rows.sort_values("lr_size")
        label = _SCALING_LABELS.get(str(variant), str(variant))
        axes[0].plot(rows.lr_size, rows.cpu_seconds, "o-", label=label)
        axes[1].plot(rows.lr_size, rows.peak_extra_mib, "o-", label=label)
    steps = int(lam_rows.steps.iloc[0])
    axes[0].set(xlabel="LR side (px)", ylabel=f"CPU s per map ({steps} steps)", title="LAM time")
    axes[1].set(xlabel="LR side (px)", ylabel="peak extra MiB", title="LAM memory")
    for ax in axes[:2]:
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.xaxis.set_major_formatter(matplotlib.ticker.ScalarFormatter())
    axes[0].legend(fontsize=7)
    for patch, rows in train_rows.groupby("lr_patch"):
        rows = rows.sort_values("pixels")
        axes[2].plot(rows.pixels, rows.cpu_s_per_step, "o-", label=f"LR patch {patch} px")
        for _, r in rows.iterrows():
            axes[2].annotate(f"b{int(r.batch)}", (r.pixels, r.cpu_s_per_step), fontsize=6)
    axes[2].set(xscale="log", yscale="log", xlabel="LR pixels per step (batch x patch$^2$)",
                ylabel="CPU s per step", title="training step (EDSR-s, x2)")  # fmt: skip
    axes[2].legend(fontsize=7)
    fig.tight_layout()
    return fig


def scaling_table(bench: Mapping[str, Any]) -> pd.DataFrame:
    """CPU seconds per LAM map of ``scripts/bench_scaling.py``'s JSON, one row per variant and
    one column per LR side, with ``growth`` (largest over smallest side) and, in a last
    row ``area``, how much the image's area grew between them."""
    rows = pd.DataFrame(bench["lam"])
    table = rows.pivot(index="variant", columns="lr_size", values="cpu_seconds")
    table = table.loc[[v for v in _SCALING_LABELS if v in table.index]]
    lo, hi = table.columns.min(), table.columns.max()
    table["growth"] = table[hi] / table[lo]
    area = pd.DataFrame({**{c: [np.nan] for c in table.columns[:-1]}, "growth": [(hi / lo) ** 2]},
                        index=["area"])  # fmt: skip
    return pd.concat([table, area]).round(2)
