"""The degradation-semantics chapter's figures (Liu et al., DDR): projections coloured by
content and marked by degradation (Fig. 1/5), CHI per block (Fig. 3e), CHI against PSNR
during training, probe accuracy per block, and example inputs. Each returns its figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns

from ..ddr.inputs import KINDS, DegradedSet
from . import image_grid

__all__ = ["plot_by_block", "plot_inputs", "plot_projections", "plot_training"]

_MARKERS = dict(zip(KINDS, ("o", "s", "^", "X"), strict=True))


def plot_inputs(data: DegradedSet, content: int = 0) -> plt.Figure:
    """One content's LR input under every condition, side by side."""
    rows = np.flatnonzero(data.content == content)
    return image_grid([data.lr[i] for i in rows], list(data.condition[rows]), size=1.7)


def plot_projections(
    points: Mapping[str, np.ndarray], data: DegradedSet, method: str
) -> plt.Figure:
    """One panel per network: its 2-D projection (``points[name]`` (N, 2)); colour =
    content, marker = degradation type (the paper's Fig. 5 encoding)."""
    n = len(points)
    fig, axes = plt.subplots(1, n, figsize=(3.4 * n, 3.4), squeeze=False)
    colours = sns.color_palette("husl", len(data.content_names))
    for ax, (name, xy) in zip(axes[0], points.items(), strict=True):
        for kind in KINDS:
            m = data.kind == kind
            if m.any():
                ax.scatter(xy[m, 0], xy[m, 1], c=[colours[c] for c in data.content[m]],
                           marker=_MARKERS[kind], s=22, edgecolors="k", linewidths=0.3,
                           label=kind)  # fmt: skip
        ax.set_title(name)
        ax.set_xticks([])
        ax.set_yticks([])
    handles = [plt.Line2D([], [], marker=_MARKERS[k], ls="", color="grey", label=k) for k in KINDS]
    fig.legend(handles=handles, loc="lower center", ncol=len(KINDS), frameon=False)
    fig.suptitle(f"{method.upper()} of the deepest block's features (colour: content)", y=1.0)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    return fig


def plot_by_block(
    by_block: Mapping[str, Sequence[float]], what: str = "CHI by degradation"
) -> plt.Figure:
    """``by_block``: network -> a value per block (shallow to deep), e.g. CHI or probe
    accuracy; one line each, log scale for CHI."""
    fig, ax = plt.subplots(figsize=(5.2, 3.4))
    for name, vals in by_block.items():
        ax.plot(np.arange(1, len(vals) + 1), vals, marker="o", label=name)
    ax.set_xlabel("residual block")
    ax.set_ylabel(what)
    if what.startswith("CHI"):
        ax.set_yscale("log")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_training(curves: Mapping[str, Mapping[str, Sequence[float]]]) -> plt.Figure:
    """``curves``: label -> ``{"steps", "chi", "psnr"}``; CHI by degradation (left) and
    clean PSNR (right) against training step."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.3))
    for label, c in curves.items():
        a.plot(c["steps"], c["chi"], marker="o", label=label)
        b.plot(c["steps"], c["psnr"], marker="o", label=label)
    a.set(xlabel="training step", ylabel="CHI by degradation (deepest block)", yscale="log")
    b.set(xlabel="training step", ylabel="clean-input Y-PSNR (dB)")
    a.legend(fontsize=8)
    fig.tight_layout()
    return fig
