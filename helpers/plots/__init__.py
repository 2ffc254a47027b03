"""Plots: one visual style for every figure of the book, and the figures chapters share.

- this module: :func:`set_style`, :func:`to_numpy_image`, :func:`image_grid`;
- ``lam``: the LAM and DI chapters' figures (map panels, Fig. 3 paths, PSNR vs DI, sweeps);
- ``texture``: the texture chapters' figures (confusion, entropy vs PSNR, manifold,
  profiles, per-label PSNR, flips, examples, agreement);
- ``ddr``: the degradation-semantics figures (inputs, projections, CHI per block,
  training curves).
- ``texture_loss``: the texture-loss SR figures (a composite and its segments, training
  curves, SR crops, the perception-distortion plane, the per-layer ablation).
- ``prior``: the attribution-prior figures (extraction and input gradient, PSNR and DI
  per lambda, attribution-norm sections).

Functions take computed data and return a :class:`matplotlib.figure.Figure`; they compute
nothing a verdict depends on. May import anything above (``helpers.data``, ``metrics``,
``models``, the analyses), never ``helpers.book``.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
import torch

from ..io import tensor_to_uint8


def set_style() -> None:
    """The book's style: seaborn whitegrid, colour-blind palette, compact fonts."""
    sns.set_theme(style="whitegrid", palette="colorblind", context="notebook")
    plt.rcParams.update({"figure.dpi": 100, "savefig.dpi": 100, "axes.titlesize": 10})


#: (1, 3, H, W)/(3, H, W) [0, 1] tensor -> H x W x 3 uint8 array for ``imshow``.
to_numpy_image = tensor_to_uint8


def image_grid(
    images: Sequence[torch.Tensor | np.ndarray],
    titles: Sequence[str] | None = None,
    ncols: int | None = None,
    size: float = 2.4,
    cmap: str | None = None,
) -> plt.Figure:
    """Show images side by side (tensors in [0,1] or arrays), one title each, no axes."""
    n = len(images)
    if n == 0:
        raise ValueError("image_grid needs at least one image")
    ncols = ncols or n
    nrows = -(-n // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for i, im in enumerate(images):
        ax = axes.flat[i]
        arr = to_numpy_image(im) if isinstance(im, torch.Tensor) else im
        ax.imshow(arr, cmap=cmap, interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    fig.tight_layout()
    return fig
