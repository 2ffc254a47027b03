"""Measures of images and maps that need no network: quality, gradients, spread, content.

- ``quality``: PSNR/SSIM on Y or RGB, entropy of gradients, Gini and the diffusion index.
- ``content``: image-content measures (orientation coherence, self-similarity/NCC,
  periodicity).

May import: torch and ``helpers.data`` only.
"""

from .quality import GRAD_MAX_LEVEL, diffusion_index, gini, gradient_entropy, psnr, rgb_to_y, ssim

__all__ = [
    "GRAD_MAX_LEVEL",
    "diffusion_index",
    "gini",
    "gradient_entropy",
    "psnr",
    "rgb_to_y",
    "ssim",
]
