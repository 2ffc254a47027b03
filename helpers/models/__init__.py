"""Models: SR networks under one convention, LR (N, 3, h, w) RGB in [0, 1] -> SR
(N, 3, s*h, s*w), and what every chapter asks of them.

- ``arch``: the trainable architectures (FSRCNN, EDSR, RCAN, SRResNet, NLSN, TSRN) and
  the MATLAB-bicubic baseline, with their analytic receptive fields.
- ``vgg``: VGG-19's convolutional trunk with named layers (``relu3_4``...), any width,
  optional batch norm; torchvision's ImageNet weights load by position.
- ``taps``: the outputs of named layers of any module (:func:`~.taps.tap`), gradients
  kept, the forward pass stopped after the deepest tapped layer.
- ``released``: PAN, IMDN and CARN-M as modules whose state-dict keys match the released
  files.
- ``registry``: :func:`build`, :func:`load_released` (published weights, sha256-checked),
  :func:`load_spandrel` (any SR file spandrel recognises), the name checks.
- ``weights``: :func:`safe_load_state_dict` (tensors only, never code).
- ``wrapper``: :class:`SRModel` (eval mode, device, padding, output-size check, ``name``,
  ``origin``, ``train_steps``), :func:`wrap`/:func:`unwrap`, :func:`weights_digest` (the
  same for the same tensors however wrapped; ``SRModel.digest``) for cache keys.
- ``receptive_field``: analytic and empirical receptive fields (input-gradient support)
  and the check that the two agree.
- ``evaluate``: super-resolve and score a set (PSNR/SSIM on Y, border shaved).
- ``verdicts``: :func:`reproduces_published`, the models chapter's claim (our protocol
  gives the papers' scores within :data:`TOLERANCE_DB`).

Every model carries ``scale``, ``receptive_field`` (LR px, full width; ``None`` = global)
and ``pad_multiple``. May import: ``helpers.data``, ``helpers.metrics`` and the base
modules.
"""

from .receptive_field import (
    ConvOp,
    DeconvOp,
    UpOp,
    analytic_reach,
    analytic_receptive_field,
    empirical_receptive_field,
    param_count,
)
from .registry import (
    RELEASED,
    available,
    available_released,
    build,
    load_released,
    load_spandrel,
    size_params,
)
from .verdicts import TOLERANCE_DB, reproduces_published, row_outcomes
from .weights import WeightFileError, safe_load_state_dict
from .wrapper import SRModel, unwrap, weights_digest, wrap

__all__ = [
    "RELEASED",
    "TOLERANCE_DB",
    "ConvOp",
    "DeconvOp",
    "SRModel",
    "UpOp",
    "WeightFileError",
    "analytic_reach",
    "analytic_receptive_field",
    "available",
    "available_released",
    "build",
    "empirical_receptive_field",
    "load_released",
    "load_spandrel",
    "param_count",
    "reproduces_published",
    "row_outcomes",
    "safe_load_state_dict",
    "size_params",
    "unwrap",
    "weights_digest",
    "wrap",
]
