"""Attribution: local attribution maps (LAM), their cache, hard cases and the DI analysis.

Modules, each with what it may import inside the package (every one may also import the
base modules ``helpers.runtime``, ``io``, ``cache``, ``presets``, ``published``):

- ``path``: Gaussian kernels, blur, the blur and straight-line paths, the quadrature
  rules and the pruning of negligible nodes. Imports nothing of ``helpers``.
- ``precision``: how the network runs (frozen, channels-last, batch size) and the
  ``exact``/``bf16``/``fast`` precision modes. Imports nothing of ``helpers``.
- ``result``: :class:`LAMResult` (one map and what made it), the diffusion index and
  :func:`di_summary`. May import ``helpers.metrics``.
- ``maps``: the LAM path integral itself (:func:`lam`, :func:`lam_maps`), the gradient
  detector, input checks and the receptive-field crop. May import ``path``,
  ``precision``, ``result``.
- ``visual``: the normalised map, the area of contribution, its overlay, Fig. 3's
  curves as arrays and the LR image's edge pixels (figures: :mod:`helpers.plots.lam`).
  May import ``result``.
- ``cache``: LAM maps cached on disk through :mod:`helpers.cache`, keyed by network
  weights, image, window and settings. May import ``maps``, ``result``, ``helpers.models``.
- ``hard_cases``: the LAM paper's rule for hard patches (low PSNR, high variance, no
  near-duplicates, a cap per source image) and the local folder of the paper's 150. May
  import ``helpers.data``, ``helpers.metrics``, ``helpers.models``.
- ``di``: the two DI definitions (the LAM demo's, compared with Table 1, and the paper's
  formula as written), the log-DI fit, the width/depth sweeps and their trends, the hard
  cases' content against DI. May import ``maps``, ``result``, ``helpers.metrics``,
  ``helpers.networks``.
- ``tables``: the DI chapter's per-network tables (scores, receptive fields, DI, the
  paper's Table 1 beside them). May import ``di``, ``result``, ``helpers.data``,
  ``helpers.models``, ``helpers.networks``.
- ``verdicts``: each claim the DI chapter decides, as a function with its rule. May
  import ``di``, ``helpers.published``.
- ``verdicts_lam``: each claim the LAM chapter decides (Table 1's ordering, training as
  its explanation, completeness, Fig. 3's edges). May import ``verdicts``.
- ``report``: what the DI chapter prints and writes: the numbers its prose glues, the
  LAM maps' and verdicts' summaries as text, sections of its results JSON. May import
  ``di``, ``result``, ``verdicts``, ``helpers.networks``.

From outside the package: ``helpers.data``, ``helpers.metrics``, ``helpers.models``,
``helpers.networks`` only (never ``helpers.plots`` or ``helpers.book``, which sit below).

``from helpers import attribution`` gives the LAM functions (``attribution.lam``, ...).
"""

from .maps import (
    DEFAULT_STEPS,
    DEFAULT_WINDOW_SIZE,
    FAST_RULE,
    FAST_STEPS,
    center_window,
    gradient_detector,
    lam,
    lam_maps,
    path_settings,
)
from .path import DEFAULT_KERNEL_SIZE, DEFAULT_SIGMA, blur, gaussian_kernel
from .precision import default_batch, native_bf16
from .result import LAMResult, Window, di_summary, diffusion_index
from .visual import area_of_contribution, edge_mask, fig3_curves, lam_visual, overlay_area

__all__ = [
    "DEFAULT_KERNEL_SIZE",
    "DEFAULT_SIGMA",
    "DEFAULT_STEPS",
    "DEFAULT_WINDOW_SIZE",
    "FAST_RULE",
    "FAST_STEPS",
    "LAMResult",
    "Window",
    "area_of_contribution",
    "blur",
    "center_window",
    "default_batch",
    "di_summary",
    "diffusion_index",
    "edge_mask",
    "fig3_curves",
    "gaussian_kernel",
    "gradient_detector",
    "lam",
    "lam_maps",
    "lam_visual",
    "native_bf16",
    "overlay_area",
    "path_settings",
]
