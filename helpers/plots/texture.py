"""The figures of the two texture chapters (Magid et al., CVPR 2022), in the book's style.

Fig. 3 :func:`plot_entropy_psnr`, Fig. 4 :func:`plot_label_scatter`, Fig. 5
:func:`plot_embedding`, Fig. 6 :func:`plot_cluster_samples`, Fig. 7
:func:`plot_high_vs_all`, Fig. 8 :func:`plot_profiles`, Fig. 9 :func:`plot_per_label_psnr`,
Fig. 10 :func:`plot_examples`, Table 1 :func:`plot_agreement`; and the classifier's
:func:`plot_confusion`, :func:`plot_flip_matrices` and :func:`plot_consistency_psnr`.
Each returns its figure (patches are float tensors in [0, 1], NCHW, RGB; PSNR in dB).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from torch import nn

from ..published import MAGID_BICUBIC_AGREEMENT, MAGID_SR_AGREEMENT
from ..texture.consistency import flip_matrix
from ..texture.high_vs_all import HighVsAll
from ..texture.labelling import TextureClassifier
from ..texture.patchset import PatchSet
from ..texture.profiles import contrast_pair, entropy_psnr_fit

__all__ = [
    "PatchFetcher",
    "plot_agreement",
    "plot_cluster_samples",
    "plot_confusion",
    "plot_consistency_psnr",
    "plot_embedding",
    "plot_entropy_psnr",
    "plot_examples",
    "plot_flip_matrices",
    "plot_high_vs_all",
    "plot_label_scatter",
    "plot_per_label_psnr",
    "plot_profiles",
]

#: Patches for a figure: a tensor (N, 3, p, p) or a function of row indices -> (n, 3, p, p).
PatchFetcher = torch.Tensor | Callable[[np.ndarray], torch.Tensor]


def _fetch(patches: PatchFetcher, rows: np.ndarray) -> torch.Tensor:
    return patches[torch.as_tensor(rows)] if isinstance(patches, torch.Tensor) else patches(rows)


def _share_heatmap(
    m: pd.DataFrame, ax: plt.Axes, cmap: str, annot: bool, cbar_kws: dict[str, Any]
) -> None:
    """A square heatmap of shares in [0, 1] (row-normalised matrices), two-decimal labels."""
    sns.heatmap(
        m, ax=ax, cmap=cmap, vmin=0, vmax=1, square=True, cbar_kws=cbar_kws,
        annot=annot, fmt=".2f", annot_kws={"size": 7},
    )  # fmt: skip


def plot_confusion(clf: TextureClassifier, ax: plt.Axes | None = None) -> plt.Figure:
    """Row-normalised confusion matrix of the classifier's test split (recall on the
    diagonal)."""
    recall = clf.confusion / np.maximum(clf.confusion.sum(1, keepdims=True), 1)
    n = len(clf.classes)
    if ax is None:
        _, ax = plt.subplots(figsize=(0.38 * n + 2.5, 0.34 * n + 1.8))
    shares = pd.DataFrame(recall, index=clf.classes, columns=clf.classes)
    _share_heatmap(shares, ax, "Blues", annot=n <= 12, cbar_kws={"shrink": 0.6})
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{clf.preset} classifier: test accuracy {clf.test_accuracy:.1%} (n={clf.n_test})")
    return ax.figure


def plot_entropy_psnr(
    entropy: np.ndarray,
    psnr_db: np.ndarray,
    patches: PatchFetcher,
    tol_entropy: float = 0.1,
    tol_psnr: float = 0.25,
    title: str = "",
) -> tuple[plt.Figure, dict[str, Any]]:
    """Fig. 3: entropy vs bicubic PSNR scatter with the least-squares line, one pair of
    patches of (nearly) equal entropy (within ``tol_entropy`` bits) and very different
    PSNR, and one pair of equal PSNR (within ``tol_psnr`` dB) and very different entropy.
    ``patches``: (N, 3, p, p) HR patches in the same order, or a function of row indices
    returning them (e.g. ``lambda rows: ps.patches("hr", rows)``).
    Returns the figure and the fit plus the two pairs' indices."""
    fit = entropy_psnr_fit(entropy, psnr_db)
    same_e = contrast_pair(entropy, psnr_db, tol_entropy)
    same_p = contrast_pair(psnr_db, entropy, tol_psnr)
    shown = _fetch(patches, np.array([*same_e, *same_p]))
    fig = plt.figure(figsize=(11, 4.2))
    gs = fig.add_gridspec(2, 4, width_ratios=[2.2, 2.2, 1, 1])
    ax = fig.add_subplot(gs[:, :2])
    ax.scatter(entropy, psnr_db, s=6, alpha=0.45, color="0.4", lw=0)
    xs = np.linspace(np.min(entropy), np.max(entropy), 50)
    ax.plot(
        xs,
        fit["slope"] * xs + fit["intercept"],
        color="C3",
        label=f"fit: {fit['slope']:.2f} dB/bit, r={fit['pearson_r']:.2f}",
    )
    for (i, j), col, lab in ((same_e, "C0", "same entropy"), (same_p, "C4", "same PSNR")):
        ax.plot([entropy[i], entropy[j]], [psnr_db[i], psnr_db[j]], "--", color=col, lw=1.2)
        ax.scatter(
            [entropy[i], entropy[j]], [psnr_db[i], psnr_db[j]], color=col, s=30, label=lab, zorder=3
        )
    ax.set_xlabel("entropy of gradients (bits)")
    ax.set_ylabel("bicubic PSNR (dB, Y)")
    ax.legend(fontsize=8)
    ax.set_title(title)
    for r, (pair, col) in enumerate(((same_e, "C0"), (same_p, "C4"))):
        for c, idx in enumerate(pair):
            a = fig.add_subplot(gs[r, 2 + c])
            a.imshow(shown[2 * r + c].permute(1, 2, 0).clamp(0, 1).numpy())
            a.set_title(f"H={entropy[idx]:.2f}, {psnr_db[idx]:.1f} dB", fontsize=8, color=col)
            a.axis("off")
    fig.tight_layout()
    return fig, {"fit": fit, "same_entropy": list(same_e), "same_psnr": list(same_p)}


def plot_label_scatter(
    df: pd.DataFrame,
    labels: Sequence[str],
    x: str = "entropy",
    y: str = "psnr_bicubic",
    ncols: int = 3,
) -> plt.Figure:
    """Fig. 4: the entropy/PSNR scatter once per label, its patches in black over the
    others in grey (``df`` from :meth:`PatchSet.frame`)."""
    n = len(labels)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(3.3 * ncols, 2.8 * nrows), squeeze=False, sharex=True, sharey=True
    )
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, lab in zip(axes.flat, labels, strict=False):
        m = df["label"] == lab
        ax.scatter(df.loc[~m, x], df.loc[~m, y], s=4, color="0.8", lw=0)
        ax.scatter(df.loc[m, x], df.loc[m, y], s=7, color="k", lw=0)
        ax.set_title(f"{lab} (n={int(m.sum())}, {df.loc[m, y].mean():.1f} dB)")
    for ax in axes[-1]:
        ax.set_xlabel("entropy (bits)")
    for ax in axes[:, 0]:
        ax.set_ylabel("bicubic PSNR (dB)")
    fig.tight_layout()
    return fig


def plot_embedding(
    xy: np.ndarray, labels: Sequence[str], clusters: np.ndarray, method: str = "UMAP"
) -> plt.Figure:
    """Fig. 5: the 2-d projection coloured by texture label (top) and by k-means cluster
    (bottom)."""
    labels = np.asarray(labels, object)
    fig, axes = plt.subplots(2, 1, figsize=(8, 9.5))
    order = sorted(set(labels.tolist()))
    pal = sns.color_palette("husl", len(order))
    for lab, col in zip(order, pal, strict=True):
        m = labels == lab
        axes[0].scatter(xy[m, 0], xy[m, 1], s=8, color=col, label=lab, lw=0)
    axes[0].legend(fontsize=7, ncol=2, bbox_to_anchor=(1.01, 1), loc="upper left", markerscale=2)
    axes[0].set_title(f"{method} of HR patch embeddings, coloured by texture label")
    k = int(clusters.max()) + 1
    pal = sns.color_palette("tab20" if k > 10 else "tab10", k)
    for c in range(k):
        m = clusters == c
        axes[1].scatter(xy[m, 0], xy[m, 1], s=8, color=pal[c], label=f"cluster {c}", lw=0)
    axes[1].legend(fontsize=7, ncol=2, bbox_to_anchor=(1.01, 1), loc="upper left", markerscale=2)
    axes[1].set_title(f"the same points coloured by k-means cluster (k={k})")
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_cluster_samples(
    patches: PatchFetcher,
    clusters: np.ndarray,
    summary: pd.DataFrame,
    per_cluster: int = 6,
    seed: int = 0,
) -> plt.Figure:
    """Fig. 6: ``per_cluster`` random patches of each cluster with its top label
    (``patches`` as in :func:`plot_entropy_psnr`)."""
    rng = np.random.default_rng(seed)
    k = len(summary)
    picks = {}
    for c in summary.index:
        idx = np.flatnonzero(clusters == c)
        picks[c] = rng.choice(idx, min(per_cluster, len(idx)), replace=False)
    rows = np.concatenate(list(picks.values()))
    shown = dict(zip(rows.tolist(), _fetch(patches, rows), strict=True))
    fig, axes = plt.subplots(k, per_cluster, figsize=(1.3 * per_cluster, 1.35 * k), squeeze=False)
    for r, c in enumerate(summary.index):
        pick = picks[c]
        for j, ax in enumerate(axes[r]):
            ax.axis("off")
            if j < len(pick):
                ax.imshow(shown[int(pick[j])].permute(1, 2, 0).clamp(0, 1).numpy())
        s = summary.loc[c]
        axes[r, 0].text(
            -0.08,
            0.5,
            f"#{c} {s.top_label}\n{s.top_share:.0%} of {s['size']}",
            transform=axes[r, 0].transAxes,
            ha="right",
            va="center",
            fontsize=8,
        )
    fig.subplots_adjust(left=0.2, wspace=0.05, hspace=0.08)
    return fig


def plot_profiles(
    profiles: Mapping[str, pd.Series], distances: pd.DataFrame, min_share: float = 0.0
) -> plt.Figure:
    """Fig. 8: label shares per dataset (heat map, % of patches; labels as rows) beside the
    Jensen-Shannon distances between the datasets. Labels under ``min_share`` in every
    dataset are left out."""
    prof = pd.DataFrame(profiles) * 100  # rows: labels, columns: datasets
    prof = prof.loc[prof.max(axis=1) >= 100 * min_share]
    nd, nl = prof.shape[1], prof.shape[0]
    fig, axes = plt.subplots(
        1,
        2,
        figsize=(1.1 * nd + 1.2 * nd + 5.5, max(3.2, 0.3 * nl + 1.6)),
        gridspec_kw={"width_ratios": [nd + 1.5, nd]},
    )
    sns.heatmap(
        prof,
        ax=axes[0],
        cmap="viridis",
        annot=True,
        fmt=".0f",
        annot_kws={"size": 7},
        cbar_kws={"label": "% of patches", "shrink": 0.7},
    )
    axes[0].set_title("semantic profile (% of patches)")
    axes[0].tick_params(axis="x", labelrotation=30)
    axes[0].set_ylabel("")
    sns.heatmap(
        distances,
        ax=axes[1],
        cmap="magma_r",
        vmin=0,
        vmax=1,
        annot=True,
        fmt=".2f",
        square=True,
        cbar=False,
        annot_kws={"size": 8},
    )
    axes[1].set_title("Jensen-Shannon distance (base 2)")
    axes[1].tick_params(axis="x", labelrotation=30)
    axes[1].tick_params(axis="y", labelrotation=0)
    fig.tight_layout()
    return fig


def plot_per_label_psnr(
    tables: Mapping[tuple[str, str], pd.DataFrame], small_gap: float = 0.5, ncols: int = 3
) -> plt.Figure:
    """Fig. 9: one panel per (dataset, model): mean PSNR of the top and bottom labels
    (:func:`top_bottom_labels`), a red line between them, the gap over bicubic printed in
    white on each bar (bold red where below ``small_gap`` dB)."""
    n = len(tables)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.2 * ncols, 3.3 * nrows), squeeze=False)
    for ax in axes.flat[n:]:
        ax.axis("off")
    for ax, ((ds, model), tb) in zip(axes.flat, tables.items(), strict=False):
        y = np.arange(len(tb))[::-1]
        cols = ["C0" if g == "top" else "C1" for g in tb["group"]]
        ax.barh(y, tb["psnr"], color=cols)
        ax.scatter(tb["reference"], y, marker="|", color="k", s=120, zorder=3, label="bicubic")
        lo = max(0.0, tb[["psnr", "reference"]].min().min() - 4)
        ax.set_xlim(lo, tb[["psnr", "reference"]].max().max() + 1)
        for yy, (_, r) in zip(y, tb.iterrows(), strict=True):
            small = abs(r.gap) < small_gap
            ax.text(
                lo + 0.3,
                yy,
                f"{r.gap:+.2f}",
                va="center",
                ha="left",
                fontsize=8,
                color="red" if small else "white",
                fontweight="bold" if small else "normal",
            )
        k = int((tb["group"] == "top").sum())
        ax.axhline(y[k - 1] - 0.5, color="red", lw=1.2)
        ax.set_yticks(y, [f"{r.label} ({r.n})" for r in tb.itertuples()], fontsize=8)
        ax.set_xlabel("mean PSNR (dB)")
        ax.set_title(f"{ds}: {model}")
    axes.flat[0].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_flip_matrices(ps: PatchSet, panels: Mapping[str, str]) -> plt.Figure:
    """Row-normalised HR-label -> SR-label matrices (:func:`flip_matrix`; diagonal = kept)
    of ``ps``, one panel per ``{title: model}``; rows show the HR label's patch count.
    Side by side for up to 12 classes (shares annotated), stacked for more."""
    n, c = len(panels), len(ps.classes)
    counts = pd.Series(ps.label_names("hr")).value_counts()
    r = len(counts)
    wide = c > 12
    nrows, ncols = (n, 1) if wide else (1, n)
    w, h = 0.34 * c + 3.4, 0.34 * r + 2.0
    fig, axes = plt.subplots(nrows, ncols, figsize=(w * ncols, h * nrows), squeeze=False)
    for ax, (title, model) in zip(axes.flat, panels.items(), strict=True):
        m = flip_matrix(ps, model)
        m.index = [f"{lab} ({counts[lab]})" for lab in m.index]
        cbar = {"label": "share of the row", "shrink": 0.8}
        _share_heatmap(m, ax, "rocket_r", annot=not wide, cbar_kws=cbar)
        ax.set_ylabel("HR label (patches)")
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_examples(
    ps: PatchSet,
    examples: pd.DataFrame,
    model: str,
    sr_model: nn.Module,
    device: str | torch.device | None = None,
) -> plt.Figure:
    """Fig. 10: for each selected patch, the HR patch and ``model``'s SR patch with their
    labels and probabilities (green title: label kept, red: flipped)."""
    rows = examples["row"].to_numpy()
    if len(rows) == 0:
        fig, ax = plt.subplots(figsize=(4, 1))
        ax.text(0.5, 0.5, f"no examples: {model} has no such patches", ha="center")
        ax.axis("off")
        return fig
    hr = ps.patches("hr", rows)
    sr = ps.patches(model, rows, model=sr_model, device=device)
    n = len(examples)
    fig, axes = plt.subplots(2, n, figsize=(2.1 * n, 4.6), squeeze=False)
    for j, r in enumerate(examples.itertuples()):
        col = "green" if r.kind == "kept" else "red"
        for i, (img, lab, p, who) in enumerate(
            ((hr[j], r.hr_label, r.hr_prob, "HR"), (sr[j], r.sr_label, r.sr_prob, model))
        ):
            ax = axes[i, j]
            ax.imshow(img.permute(1, 2, 0).clamp(0, 1).numpy())
            ax.set_title(f"{who}: {lab}\np={p:.2f}", fontsize=8, color=col if i else "k")
            ax.axis("off")
        axes[1, j].text(
            0.5,
            -0.08,
            f"{r.kind}, drop {r.drop:+.2f}\n{r.image}",
            transform=axes[1, j].transAxes,
            ha="center",
            va="top",
            fontsize=7,
        )
    fig.tight_layout()
    return fig


def plot_high_vs_all(res: HighVsAll) -> plt.Figure:
    """Fig. 7: PSNR on all and on high test patches during training, per training arm."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharex=True)
    for ax, ev in zip(axes, ("all", "high"), strict=True):
        for arm, col in (("high", "C0"), ("all", "C2")):
            c = res.curves[(res.curves.arm == arm) & (res.curves["eval"] == ev)]
            ax.plot(
                c.step,
                c.psnr,
                "o-",
                color=col,
                ms=3,
                label=f"trained on {arm} ({res.n_train[arm]} patches)",
            )
        ax.axhline(res.bicubic[ev], color="0.5", ls="--", lw=1, label="bicubic")
        ax.set_title(f"test: {ev} patches (n={res.n_test[ev]})")
        ax.set_xlabel("training step")
        ax.set_ylabel("PSNR (dB)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_agreement(
    table: pd.DataFrame,
    paper_sr: tuple[float, float] = MAGID_SR_AGREEMENT,
    paper_bicubic: tuple[float, float] = MAGID_BICUBIC_AGREEMENT,
) -> plt.Figure:
    """Table 1 as bars: top-1 agreement (with 95% bootstrap CI) per model, one panel per
    dataset, the paper's ranges shaded (SR models blue, bicubic grey) and the chance level
    dotted. ``table`` from :func:`agreement_table`."""
    ds = list(dict.fromkeys(table.dataset))
    fig, axes = plt.subplots(
        1, len(ds), figsize=(3.3 * len(ds) + 0.5, 3.6), squeeze=False, sharey=True
    )
    for ax, d in zip(axes[0], ds, strict=True):
        t = table[table.dataset == d].reset_index(drop=True)
        x = np.arange(len(t))
        ax.axhspan(*paper_sr, color="C0", alpha=0.12, lw=0, label="paper: SR models")
        ax.axhspan(*paper_bicubic, color="0.5", alpha=0.15, lw=0, label="paper: bicubic")
        cols = ["0.45" if m == "bicubic" else "C0" for m in t.model]
        ax.bar(x, t.top1, color=cols, width=0.7)
        ax.errorbar(
            x,
            t.top1,
            yerr=[t.top1 - t.ci_lo, t.ci_hi - t.top1],
            fmt="none",
            ecolor="k",
            capsize=3,
            lw=1,
        )
        ax.scatter(x, t.chance, marker="_", color="C3", s=150, zorder=3, label="chance")
        ax.set_xticks(x, t.model, rotation=60, ha="right", fontsize=8)
        ax.set_title(f"{d} (n={int(t.n.iloc[0])})")
        ax.set_ylim(0, 1)
    axes[0, 0].set_ylabel("share of SR patches keeping the HR label")
    axes[0, -1].legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def plot_consistency_psnr(
    ps: PatchSet, table: pd.DataFrame, reference: str = "bicubic"
) -> plt.Figure:
    """Left: per-patch PSNR gain over ``reference`` of kept vs flipped patches, per model
    (box plots); right: per (dataset, model), top-1 agreement vs mean PSNR."""
    models = [m for m in ps.models if m != reference]
    rows = []
    for m in models:
        kept = ps.labels[m] == ps.labels["hr"]
        gain = ps.psnr[m] - ps.psnr[reference]
        rows.append(
            pd.DataFrame({"model": m, "gain": gain, "label": np.where(kept, "kept", "flipped")})
        )
    df = pd.concat(rows)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [1.6, 1]})
    sns.boxplot(
        df,
        x="model",
        y="gain",
        hue="label",
        ax=axes[0],
        fliersize=1.5,
        hue_order=["kept", "flipped"],
        palette={"kept": "C2", "flipped": "C3"},
    )
    axes[0].axhline(0, color="k", lw=0.8)
    axes[0].set_ylabel(f"patch PSNR gain over {reference} (dB)")
    axes[0].tick_params(axis="x", labelrotation=45)
    axes[0].set_title(f"{ps.dataset}: {len(ps)} patches")
    for i, (d, t) in enumerate(table.groupby("dataset", sort=False)):
        axes[1].scatter(t.mean_psnr, t.top1, color=f"C{i}", label=d, s=25)
        for r in t.itertuples():
            axes[1].annotate(
                r.model,
                (r.mean_psnr, r.top1),
                fontsize=6,
                xytext=(2, 2),
                textcoords="offset points",
            )
    axes[1].set_xlabel("mean patch PSNR (dB)")
    axes[1].set_ylabel("top-1 agreement")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    return fig
