"""One LAM map as data (:class:`LAMResult`), its diffusion index, and per-network summaries.

Maps live on the LR grid (LR pixels); a map is (h, w), a per-channel attribution
(3, h, w). DI = ``(1 - Gini(|map|)) x 100`` in (0, 100] (higher = more pixels used).

May import: ``helpers.metrics`` (and the base modules).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from ..metrics.quality import diffusion_index as _metrics_di

#: A window of the SR output: ``(x, y, size)`` in SR px (top-left column, row, side).
Window = tuple[int, int, int]


@dataclass
class LAMResult:
    """One local attribution map and what it was made of. Tensors are on the CPU.

    Attributes:
        attribution: (3, h, w) float32 (float64 for a float64 model), per-channel
            attribution on the LR grid; its sum approximates ``d_input - d_baseline``.
        map: (h, w), ``attribution`` summed over channels (what LAM visualises and
            feeds to the Gini/DI).
        d_input, d_baseline: ``D(F(I))`` and ``D(F(I'))`` (detector units: summed
            intensity differences, [0, 1] scale).
        completeness_error: ``|sum(map) - (d_input - d_baseline)| / |d_input -
            d_baseline|`` (``inf`` if the denominator is 0 and the sum is not).
        alphas: (n,) float64 in [0, 1]: 0, the rule's nodes, 1 (Fig. 3's x-axis).
        d_path: (n,) ``D(F(gamma(alpha)))`` (Fig. 3f).
        path_speed: (n,) mean ``|dgamma/dalpha|`` over the LR image's pixels and
            channels (Fig. 3g; intensity per unit alpha).
        cumulative: (n,) attribution summed over the nodes up to alpha (Fig. 3h);
            ``sum(map)`` at alpha = 1, 0 at alpha = 0 (for ``"trapezoid"``, whose first
            node is alpha = 0, that node's half-interval share).
        window, scale, path, rule, steps, sigma, kernel_size: the settings used.
        mode: the mode asked for (``"exact"``, ``"fast"``, ``"bf16"``).
        batch: path points per forward/backward.
        crop_box: (top, left, bottom, right) LR crop the network saw, or ``None``.
        seconds: wall time of the call.
        device: where it ran.
        precision: network body precision used, ``"fp32"`` or ``"bf16"``.
        pruned: path nodes skipped by ``mode="fast"`` (absent from the curves too).
        cached: loaded from the map cache (:mod:`helpers.attribution.cache`); ``seconds`` is
            then the time the map took when it was computed.
    """

    attribution: torch.Tensor
    map: torch.Tensor
    d_input: float
    d_baseline: float
    completeness_error: float
    alphas: torch.Tensor
    d_path: torch.Tensor
    path_speed: torch.Tensor
    cumulative: torch.Tensor
    window: Window
    scale: int
    path: str
    rule: str
    steps: int
    sigma: float
    kernel_size: int
    mode: str
    batch: int
    crop_box: tuple[int, int, int, int] | None
    seconds: float
    device: str
    precision: str = "fp32"
    pruned: int = 0
    cached: bool = False

    #: :attr:`degenerate` threshold: |D(F(I)) - D(F(I'))| as a share of D(F(I)).
    DEGENERATE_SHARE: ClassVar[float] = 0.05

    @property
    def degenerate(self) -> bool:
        """True when the blur barely changes the detector, ``|D(F(I)) - D(F(I'))| <=
        DEGENERATE_SHARE * D(F(I))``: the window is (nearly) flat, so there is almost
        nothing to attribute. The relative completeness error then divides by a near-zero
        change (measured: 0.007 of 9.1 gives 3000% with 50 right-Riemann steps, where the
        absolute error is 0.19) and the map, hence its DI, is mostly noise; chapters list
        such windows and leave them out of DI and completeness statistics."""
        return abs(self.d_input - self.d_baseline) <= self.DEGENERATE_SHARE * abs(self.d_input)

    @property
    def total(self) -> float:
        """``sum(map)``: the attribution the map hands out."""
        return float(self.attribution.double().sum())

    @property
    def di(self) -> float:
        """Diffusion index ``(1 - Gini(|map|)) x 100`` (:func:`helpers.metrics.diffusion_index`)."""
        return diffusion_index(self)

    def summary(self) -> dict[str, Any]:
        """JSON-ready scalars: DI, completeness, detector values, settings, seconds."""
        return {
            "di": self.di,
            "completeness_error": self.completeness_error,
            "degenerate": self.degenerate,
            "d_input": self.d_input,
            "d_baseline": self.d_baseline,
            "attribution_sum": self.total,
            "window": list(self.window),
            "path": self.path,
            "rule": self.rule,
            "steps": self.steps,
            "sigma": self.sigma,
            "mode": self.mode,
            "precision": self.precision,
            "pruned": self.pruned,
            "crop_box": None if self.crop_box is None else list(self.crop_box),
            "seconds": self.seconds,
        }


def _as_map(x: LAMResult | torch.Tensor | np.ndarray) -> torch.Tensor:
    if isinstance(x, LAMResult):
        return x.map
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    if t.ndim == 3:
        t = t.sum(dim=0)  # (3, H, W) attribution -> channel-summed map
    if t.ndim != 2:
        raise ValueError(f"expected a map (H, W), (3, H, W) or a LAMResult, got {tuple(t.shape)}")
    return t


def diffusion_index(x: LAMResult | torch.Tensor | np.ndarray) -> float:
    """DI = ``(1 - Gini(|map|)) x 100`` of a map (H, W), attribution (3, H, W; summed over
    channels first, as LAM does) or :class:`LAMResult`; delegates to
    :func:`helpers.metrics.diffusion_index`. Range (0, 100]; higher = more pixels used."""
    return float(_metrics_di(_as_map(x)))


def di_summary(
    results: Iterable[LAMResult], di_of: Callable[[LAMResult], float] = diffusion_index
) -> dict[str, Any]:
    """DI and completeness statistics of one network's maps, leaving out degenerate windows
    (:attr:`LAMResult.degenerate`); ``di_of`` gives a map's DI (default: the formula's,
    :func:`diffusion_index`).

    Returns:
        ``mean``, ``std`` (ddof 1; 0 for one map) of the DI and ``n`` over the kept maps
        (NaN and 0 when none is kept), ``n_degenerate``, ``max_completeness_error``
        (fraction) over the kept maps, and ``mean_all``: the mean DI over every map,
        degenerate ones included (for a caller that must have a value and says so).
    """
    results = list(results)
    if not results:
        raise ValueError("di_summary needs at least one LAMResult, got none")
    kept = [r for r in results if not r.degenerate]
    di = np.array([di_of(r) for r in kept], dtype=float)
    nan = float("nan")
    return {
        "mean": float(di.mean()) if len(di) else nan,
        "std": float(di.std(ddof=1)) if len(di) > 1 else (0.0 if len(di) else nan),
        "n": len(kept),
        "n_degenerate": len(results) - len(kept),
        "max_completeness_error": max((r.completeness_error for r in kept), default=nan),
        "mean_all": float(np.mean([di_of(r) for r in results])),
    }
