"""Attribution: local attribution maps (LAM), their cache, hard cases and the DI analysis.

- ``maps``: the LAM path integral, integrated gradients, DI and the map visuals.
- ``cache``: LAM maps cached on disk, keyed by network, image, window and settings.
- ``hard_cases``: the LAM paper's rule for hard patches (low PSNR, high variance).

May import: ``helpers.data``, ``helpers.metrics``, ``helpers.models``, ``helpers.networks``.

``from helpers import attribution`` gives the LAM functions (``attribution.lam``, ...).
"""

from .maps import (
    DEFAULT_KERNEL_SIZE,
    DEFAULT_SIGMA,
    DEFAULT_STEPS,
    DEFAULT_WINDOW_SIZE,
    LAMResult,
    Window,
    area_of_contribution,
    blur,
    center_window,
    default_batch,
    di_summary,
    diffusion_index,
    fig3_curves,
    gaussian_kernel,
    gradient_detector,
    lam,
    lam_maps,
    lam_visual,
    native_bf16,
    overlay_area,
)

__all__ = [
    "DEFAULT_KERNEL_SIZE",
    "DEFAULT_SIGMA",
    "DEFAULT_STEPS",
    "DEFAULT_WINDOW_SIZE",
    "LAMResult",
    "Window",
    "area_of_contribution",
    "blur",
    "center_window",
    "default_batch",
    "di_summary",
    "diffusion_index",
    "fig3_curves",
    "gaussian_kernel",
    "gradient_detector",
    "lam",
    "lam_maps",
    "lam_visual",
    "native_bf16",
    "overlay_area",
]
