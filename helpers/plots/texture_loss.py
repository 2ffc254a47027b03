"""The texture-loss chapter's figures (Gondal et al., TSRN): a composite and its
segments, training curves of both phases, SR crops side by side, the
perception-distortion plane, and the per-layer ablation. Each returns its figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from . import image_grid, to_numpy_image

__all__ = ["plot_ablation", "plot_composite", "plot_crops", "plot_curves", "plot_plane"]


def plot_composite(image: torch.Tensor, masks: torch.Tensor, labels: Sequence[str]) -> plt.Figure:
    """A composite (3, H, W) beside its segment map (masks (K, H, W)), labelled."""
    seg = masks.argmax(0).numpy()
    fig, axes = plt.subplots(1, 2, figsize=(5.2, 2.7))
    axes[0].imshow(to_numpy_image(image), interpolation="nearest")
    axes[1].imshow(seg, cmap="tab10", vmin=0, vmax=9, interpolation="nearest")
    axes[0].set_title("composite", fontsize=9)
    axes[1].set_title(" / ".join(labels), fontsize=8)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_curves(histories: Mapping[str, Sequence[float]], mse_steps: int) -> plt.Figure:
    """Per-step training loss: the MSE phase (``histories["MSE"]``) and each texture
    phase after it (log scale; the texture losses are on their own axis)."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3))
    a.plot(histories["MSE"], lw=0.8)
    a.set(title="MSE phase", xlabel="step", ylabel="MSE", yscale="log")
    for name, h in histories.items():
        if name != "MSE":
            b.plot(np.arange(mse_steps, mse_steps + len(h)), h, lw=0.8, label=name)
    b.set(title="texture phase (from the MSE weights)", xlabel="step", ylabel="loss", yscale="log")
    b.legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_crops(
    outputs: Mapping[str, torch.Tensor], index: int, box: int | None = None
) -> plt.Figure:
    """Image ``index`` of every output side by side (a centre crop of ``box`` px)."""
    ims = []
    for x in outputs.values():
        im = x[index]
        if box:
            h, w = im.shape[-2:]
            y0, x0 = (h - box) // 2, (w - box) // 2
            im = im[:, y0 : y0 + box, x0 : x0 + box]
        ims.append(im)
    return image_grid(ims, list(outputs), size=1.9)


def plot_plane(table: pd.DataFrame, x: str = "psnr", y: str = "gram") -> plt.Figure:
    """The perception-distortion plane: ``y`` (a distance to HR, lower = better) against
    ``x`` (PSNR) per output, means over seeds with their sd as error bars."""
    fig, ax = plt.subplots(figsize=(5, 3.6))
    t = table.drop(index="HR", errors="ignore")
    ax.errorbar(
        t[x],
        t[y],
        xerr=t[f"{x} (sd over seeds)"],
        yerr=t[f"{y} (sd over seeds)"],
        fmt="o",
        ms=4,
        lw=0.8,
    )
    for name, row in t.iterrows():
        ax.annotate(name, (row[x], row[y]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set(
        xlabel=f"{x.upper()} (dB, Y)", ylabel=f"{y} distance to HR (held-out network)", yscale="log"
    )
    fig.tight_layout()
    return fig


def plot_ablation(table: pd.DataFrame, metric: str = "gram") -> plt.Figure:
    """Fig. 4's ablation: ``metric`` per network (rows ``"F <layer>"``/``"G <layer>"``),
    feature-loss and Gram-loss bars side by side per layer."""
    rows = [r for r in table.index if r[:2] in ("F ", "G ")]
    layers = list(dict.fromkeys(r[2:] for r in rows))
    fig, ax = plt.subplots(figsize=(6, 3))
    xs = np.arange(len(layers))
    for off, tag in ((-0.2, "F"), (0.2, "G")):
        vals = [table.loc[f"{tag} {lay}", metric] for lay in layers]
        ax.bar(xs + off, vals, 0.4, label={"F": "feature loss", "G": "Gram loss"}[tag])
    ax.set_xticks(xs, layers)
    ax.set(ylabel=f"{metric} (held-out network)", yscale="log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
