"""SR models under one convention: LR (N, 3, h, w) RGB in [0, 1] -> SR (N, 3, s*h, s*w).

Public API:

- :func:`build` / :func:`available` / :func:`size_params`: trainable architectures
  (``fsrcnn``, ``edsr``, ``rcan``, ``srresnet``, ``nlsn``) and the ``bicubic`` baseline.
- :func:`load_released` / :func:`available_released`: PAN, IMDN, CARN-M (this package's
  modules, strict key match) and GRL-tiny (through spandrel) with published weights.
- :func:`load_spandrel`: any SR file spandrel recognises (RCAN, SwinIR, ESRGAN, ...).
- :class:`SRModel` / :func:`wrap`: eval mode, device, padding, output-size check;
  :func:`unwrap` the bare network inside.
- :func:`weights_digest`: a stable sha256 of a network's weights, however it is wrapped
  (``SRModel.digest``), for cache keys.
- :func:`safe_load_state_dict`: tensors only, never code.
- :func:`empirical_receptive_field`, :func:`analytic_receptive_field`,
  :func:`param_count`.

Every model carries ``scale``, ``receptive_field`` (LR px, full width; ``None`` = global)
and ``pad_multiple``.
"""

from .receptive_field import (
    ConvOp,
    DeconvOp,
    UpOp,
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
from .weights import WeightFileError, safe_load_state_dict
from .wrapper import SRModel, unwrap, weights_digest, wrap

__all__ = [
    "RELEASED",
    "ConvOp",
    "DeconvOp",
    "SRModel",
    "UpOp",
    "WeightFileError",
    "analytic_receptive_field",
    "available",
    "available_released",
    "build",
    "empirical_receptive_field",
    "load_released",
    "load_spandrel",
    "param_count",
    "safe_load_state_dict",
    "size_params",
    "unwrap",
    "weights_digest",
    "wrap",
]
