"""The attribution-prior chapter's figures (Zamfir 2022): the extraction module on a real
image with the input-gradient map and the ratios s (Fig. 3.2/3.3), PSNR difference per
lambda (Table 4.2), DI and PSNR per lambda (Fig. 4.2), and the attribution norm in
growing sections around the PoI (Fig. 4.5). Each returns its figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from . import to_numpy_image

__all__ = ["plot_di", "plot_extraction", "plot_lambda", "plot_sections"]


def plot_extraction(
    lr: torch.Tensor, example: Mapping, grad: torch.Tensor, s: Sequence[float]
) -> plt.Figure:
    """LR image with the PoI (red) and SSR (black) boxes, the candidate SSM, and the input
    gradient's l1 map (log scale) with the ratio s of each SSR in its title."""
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.4))
    img = to_numpy_image(lr)
    axes[0].imshow(img)
    ext = example["ext"]
    side = ext.side
    boxes = [(ext.poi[0].tolist(), "red")] + [(b, "black") for b in ext.ssr[0].tolist()]
    for (y, x), c in boxes:
        axes[0].add_patch(plt.Rectangle((x - 0.5, y - 0.5), side, side, fill=False, ec=c, lw=1.5))
    axes[0].set_title("LR: PoI (red), SSRs (black)")
    im = axes[1].imshow(example["ssm"].numpy(), cmap="viridis", vmin=-1, vmax=1)
    fig.colorbar(im, ax=axes[1], fraction=0.046)
    axes[1].set_title("candidate SSM (NCC)")
    a = grad.detach().abs().sum(0).numpy()
    axes[2].imshow(np.log10(a + a.max() * 1e-4), cmap="magma")
    axes[2].set_title("log10 |input gradient|; s = " + ", ".join(f"{v:.2f}" for v in s))
    for ax in axes:
        ax.set_xticks([]), ax.set_yticks([])
    fig.tight_layout()
    return fig


def plot_lambda(rows: Mapping[str, Mapping[str, Mapping[str, float]]]) -> plt.Figure:
    """Mean paired PSNR difference to lambda = 0 (dB) per lambda and test set, with the
    per-seed sd as error bars; ``rows``: label -> set -> compare() row."""
    labels = list(rows)
    sets = list(next(iter(rows.values())))
    fig, ax = plt.subplots(figsize=(6, 3.2))
    x = np.arange(len(labels))
    for j, ts in enumerate(sets):
        d = [rows[k][ts]["delta_vs_0"] for k in labels]
        e = [rows[k][ts]["delta_sd"] or 0.0 for k in labels]
        ax.errorbar(x + 0.08 * (j - len(sets) / 2), d, yerr=e, fmt="o-", label=ts, capsize=3)
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(x, labels)
    ax.set_ylabel("PSNR - baseline (dB)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_di(di: Mapping[str, Mapping[float, float]], psnr: Mapping[str, Mapping[float, float]]):
    """Fig. 4.2: mean DI (left) and hard-case PSNR (right) per lambda, one line per network."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    lams = sorted({k for d in di.values() for k in d})  # one axis for every network
    pos = {k: i for i, k in enumerate(lams)}
    for net, d in di.items():
        x = [pos[k] for k in d]
        axes[0].plot(x, list(d.values()), "o-", label=net)
        axes[1].plot(x, [psnr[net][k] for k in d], "o-", label=net)
    for ax in axes:
        ax.set_xticks(range(len(lams)), [f"{k:g}" for k in lams])
    axes[0].set_ylabel("DI"), axes[1].set_ylabel("PSNR hard cases (dB)")
    for ax in axes:
        ax.set_xlabel("lambda")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_sections(sections: Mapping[str, Mapping[str, Sequence[float]]]) -> plt.Figure:
    """Fig. 4.5: cumulative attribution norm per section / PoI's norm (left) and the
    similar-to-dissimilar norm ratio per section (right), one line per model."""
    fig, axes = plt.subplots(1, 2, figsize=(8, 3.2))
    for name, v in sections.items():
        k = range(len(v["norm_rel"]))
        axes[0].plot(k, v["norm_rel"], "o-", label=name)
        axes[1].plot(k, v["similar_ratio"], "o-", label=name)
    axes[0].set_ylabel("norm / PoI norm"), axes[1].set_ylabel("similar / dissimilar norm")
    for ax in axes:
        ax.set_xlabel("section (0 = PoI)")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
