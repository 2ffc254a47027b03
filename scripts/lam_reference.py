"""A reference-style LAM loop, written the way the original LAM demo code works.

Used only by ``scripts/bench_lam.py`` (as the baseline to beat) and by
``tests/test_attribution.py`` (as an independent implementation to agree with). It is
deliberately the slow, straightforward way: the path is built in numpy with
``cv2.filter2D`` (one blur for the image and one for its derivative per step), each step
is one forward and one backward of a single image, the parameters keep requiring grad (so
weight gradients are computed too), every SR output is kept, and NaN gradients (from the
square root at zero) are patched to zero. Conventions (kernel, borders, detector, right
Riemann sum with backward differences) are the LAM demo's; nothing here is imported by
the ``helpers`` package.
"""

from __future__ import annotations

import time

import cv2
import numpy as np
import torch
from torch import nn


def reference_kernel(size: int, sigma: float) -> np.ndarray:
    """LAM demo kernel: ``exp(-r^2 / (2 (sigma + 1e-5)^2))`` on a ``size`` square, sum 1."""
    ax = np.arange(size, dtype=np.float64) - size // 2
    xx, yy = np.meshgrid(ax, ax)
    k = np.exp(-(xx**2 + yy**2) / (2.0 * (sigma + 1e-5) ** 2))
    return k / k.sum()


def reference_detector(sr: torch.Tensor, x: int, y: int, size: int) -> torch.Tensor:
    """Sum of the plain gradient magnitude ``(dy^2 + dx^2) ** 0.5`` over the window."""
    h, w = sr.shape[-2:]
    dy2 = (sr[:, :, : h - 1, :] - sr[:, :, 1:, :]) ** 2
    dx2 = (sr[:, :, :, : w - 1] - sr[:, :, :, 1:]) ** 2
    mag = (dy2[:, :, :, :-1] + dx2[:, :, :-1, :]) ** 0.5
    return mag[:, :, y : y + size, x : x + size].sum()


def reference_lam(
    model: nn.Module,
    image: torch.Tensor,
    window: tuple[int, int, int],
    sigma: float = 1.2,
    steps: int = 50,
    kernel_size: int = 9,
) -> dict[str, object]:
    """LAM of ``model`` for ``window = (x, y, size)`` (SR px) on ``image`` (1, 3, h, w).

    Returns:
        ``{"attribution": (3, h, w) float32 numpy, "map": (h, w), "seconds": float,
        "outputs": the list of every SR output}``.
    """
    t0 = time.perf_counter()
    model.eval()
    x, y, size = window
    cv_image = np.moveaxis(image[0].detach().cpu().numpy(), 0, 2)  # HWC float32
    h, w, c = cv_image.shape
    sigmas = np.linspace(sigma, 0, steps + 1)
    kernels = [reference_kernel(kernel_size, s) for s in sigmas]
    images = np.zeros((steps, h, w, c))
    derivs = np.zeros((steps, h, w, c))
    for i in range(steps):
        images[i] = cv2.filter2D(cv_image, -1, kernels[i + 1])
        derivs[i] = cv2.filter2D(cv_image, -1, (kernels[i + 1] - kernels[i]) * steps)
    images = np.moveaxis(images, 3, 1).astype(np.float32)
    derivs = np.moveaxis(derivs, 3, 1).astype(np.float32)
    grads = np.zeros_like(images)
    outputs = []
    for i in range(steps):
        inp = torch.from_numpy(images[i])
        inp.requires_grad_(True)
        out = model(inp[None])
        target = reference_detector(out, x, y, size)
        target.backward()
        g = inp.grad.numpy()
        g[np.isnan(g)] = 0.0
        grads[i] = g * derivs[i]
        outputs.append(out)
    attribution = grads.mean(axis=0)
    return {
        "attribution": attribution,
        "map": attribution.sum(axis=0),
        "seconds": time.perf_counter() - t0,
        "outputs": outputs,
    }
