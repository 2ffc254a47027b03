"""The non-local attribution prior (Zamfir 2022, Eq. 3.2-3.10) as a loss of the one
training loop (:func:`helpers.train.train`'s ``loss_fn(sr, hr, lr, model)``).

For each image with a valid extraction (:func:`helpers.prior.ssm.extract`): one
backward of the summed SR output over the PoI's HR box with ``create_graph=True`` gives
the input gradient A (Eq. 3.2); n = l1 norm of A under each side x side mask (Eq. 3.3-3.4);
s_i = n_i / (n_PoI + n_i) (Eq. 3.7); L_AP = mean over images and SSRs of (s - w)^2
(Eq. 3.6, 3.10: the mean runs over the images that have SSRs); total = L1 + lambda L_AP
(Eq. 3.9).

Cost. For a network with a finite receptive field (``model.receptive_field``, LR px)
whose crop is smaller than the patch, the input gradient comes from a forward of its own
on a crop of side + 2 m LR px (side: the PoI's; m: :func:`crop_margin`, the architecture's reach)
around the PoI, clamped inside the patch: the PoI's outputs, hence A, are exactly those
of the whole patch (A is zero beyond the receptive field; a crop edge inside the patch is
more than the field's reach away from the PoI), and the crop's forward, input-gradient
pass and double backward cost less than the whole patch's. Otherwise (global networks,
or a patch inside the field) there is no second forward: the loss asks the loop for the
input's graph (``needs_input_grad``, :func:`helpers.train.step_loss`) and differentiates
the loop's own SR output.

Pixel range: images in [0, 1] (the book's convention), so lambda multiplies an L1 in
[0, 1] units; the thesis does not state its range (EDSR's code uses [0, 255], where the
same L1 is 255x larger: lambda_thesis ~ lambda_here / 255 if it did).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from .. import cache
from ..models import unwrap
from .ssm import DEFAULTS, Extraction, box_masks, check_settings, extract

__all__ = ["AttributionPrior", "PriorTerms", "WeightDecayL1", "poi_gradient", "prior_terms"]


def _check_lambda(lam: Any) -> float:
    if isinstance(lam, bool) or not isinstance(lam, int | float) or not math.isfinite(lam):
        raise ValueError(f"lambda must be a finite number >= 0, got {lam!r}")
    if lam < 0:
        raise ValueError(f"lambda must be >= 0 (a negative weight rewards the opposite), got {lam}")
    return float(lam)


def _check_w(w: Any) -> str | float:
    if w == "sim":
        return "sim"
    if isinstance(w, bool) or not isinstance(w, int | float) or not 0 <= w <= 1:
        raise ValueError(f"w must be 'sim' or a number in [0, 1], got {w!r}")
    return float(w)


def crop_margin(model: nn.Module) -> int | None:
    """LR px kept on each side of the PoI for the input-gradient forward, or ``None`` for a
    global network (no crop): the architecture's exact reach
    (:func:`helpers.models.analytic_reach`, ``receptive_reach``) where it declares one,
    else LAM's margin ceil(rf / 2) + 2 from its receptive field."""
    net = unwrap(model)
    reach = getattr(net, "receptive_reach", None)
    if reach is not None:
        return int(reach)
    rf = getattr(net, "receptive_field", None)
    return None if rf is None else math.ceil(rf / 2) + 2


def crop_side(model: nn.Module, side: int, h: int, w: int, crop: bool = True) -> tuple[int, int]:
    """(height, width) in LR px of the input-gradient pass for a ``side`` PoI in an h x w
    patch: side + 2 :func:`crop_margin` clamped to the patch, or the patch (no crop)."""
    return _crop_hw(side, crop_margin(model) if crop else None, h, w)


def _crop_hw(side: int, margin: int | None, h: int, w: int) -> tuple[int, int]:
    if margin is None:
        return h, w
    return min(h, side + 2 * margin), min(w, side + 2 * margin)


def poi_gradient(
    model: nn.Module, lr: torch.Tensor, poi: torch.Tensor, side: int, margin: int | None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Input gradient of the summed SR output over each image's PoI (Eq. 3.2), with the
    graph kept (``create_graph=True``) so a loss on it trains the parameters.

    Args:
        lr: (B, 3, H, W) LR patches; poi: (B, 2) top-left of each side x side PoI box (LR px).
        margin: :func:`crop_margin` (``None``: the whole patch).

    Returns:
        ``(A, offset)``: A (B, 3, h, w) on the crop (the whole patch when ``margin`` is
        None or the crop would not be smaller) and the crop's top-left (B, 2) in the patch.
    """
    b, _, hh, ww = lr.shape
    ch, cw = _crop_hw(side, margin, hh, ww)
    if margin is None:
        off = torch.zeros(b, 2, dtype=torch.long)
    else:
        oy = (poi[:, 0] - margin).clamp(0, hh - ch)
        ox = (poi[:, 1] - margin).clamp(0, ww - cw)
        off = torch.stack([oy, ox], 1)
    if (ch, cw) == (hh, ww):
        x = lr
    else:
        x = torch.stack([lr[i, :, y : y + ch, c : c + cw] for i, (y, c) in enumerate(off.tolist())])
    x = x.detach().requires_grad_(True)
    out = model(x)
    s = out.shape[-1] // cw
    hr_mask = box_masks(poi[:, None] * s, side * s, ch * s, cw * s, off * s)  # (B, 1, sh, sw)
    target = (out * hr_mask.to(out.dtype)).sum()
    (grad,) = torch.autograd.grad(target, x, create_graph=True)
    return grad, off


class PriorTerms:
    """Per-image quantities of the prior: ``n_poi`` (B,), ``n_ssr`` (B, N), ``s`` (B, N),
    ``w`` (B, N) and ``loss`` (the scalar L_AP), for the images it was computed on."""

    def __init__(self, n_poi, n_ssr, s, w, loss):
        self.n_poi, self.n_ssr, self.s, self.w, self.loss = n_poi, n_ssr, s, w, loss


def _reused_gradient(sr: torch.Tensor, lr: torch.Tensor, poi: torch.Tensor, side: int,
                     idx: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """Input gradient (n, 3, H, W) of the summed ``sr`` over the PoIs of images ``idx``,
    taken from the forward that made ``sr`` from ``lr`` (a leaf requiring grad)."""
    s = sr.shape[-1] // lr.shape[-1]
    keep = torch.zeros(lr.shape[0], dtype=sr.dtype)
    keep[idx] = 1.0
    hr_mask = box_masks(poi[:, None] * s, side * s, *sr.shape[-2:]) * keep[:, None, None, None]
    (grad,) = torch.autograd.grad((sr * hr_mask.to(sr.dtype)).sum(), lr, create_graph=True)
    return grad[idx]


def prior_terms(
    model: nn.Module,
    lr: torch.Tensor,
    ext: Extraction,
    w: str | float = "sim",
    crop: bool = True,
    sr: torch.Tensor | None = None,
) -> PriorTerms | None:
    """L_AP (Eq. 3.3-3.8) on the images of ``lr`` whose extraction is valid (``None``
    when there is none). ``w``: ``"sim"`` (the SSM at each SSR, Eq. 3.8) or a constant.
    ``sr``: ``model(lr)`` with ``lr`` a leaf requiring grad, whose graph then gives the
    input gradient (no forward of its own; the gradient is the same as the crop's or the
    whole patch's, up to rounding)."""
    w = _check_w(w)
    idx = ext.valid.nonzero()[:, 0]
    if idx.numel() == 0:
        return None
    poi, ssr = ext.poi[idx], ext.ssr[idx]
    if sr is not None and lr.requires_grad:
        grad = _reused_gradient(sr, lr, ext.poi, ext.side, idx)
        off = torch.zeros(idx.numel(), 2, dtype=torch.long)
    else:
        margin = crop_margin(model) if crop else None
        grad, off = poi_gradient(model, lr[idx], poi, ext.side, margin)
    a = grad.abs().sum(1, keepdim=True)  # l1 over channels, per pixel
    masks = box_masks(torch.cat([poi[:, None], ssr], 1), ext.side, *a.shape[-2:], off)
    norms = (a * masks.to(a.dtype)).sum((-2, -1))  # (n, 1 + N)
    n_poi, n_ssr = norms[:, 0], norms[:, 1:]
    s = n_ssr / (n_poi[:, None] + n_ssr).clamp_min(torch.finfo(a.dtype).tiny)
    target = ext.w[idx].to(a.dtype) if w == "sim" else torch.full_like(s, w)
    return PriorTerms(n_poi, n_ssr, s, target, ((s - target) ** 2).mean())


class AttributionPrior:
    """``loss_fn`` for :func:`helpers.train.train`: L1 + lambda L_AP (Eq. 3.9).

    ``lam = 0`` returns ``F.l1_loss(sr, hr)`` and does nothing else (no extraction, no
    random draw), so it trains bit for bit as the built-in ``"l1"``. Random scenarios
    draw from the prior's own generator (seeded by ``seed``; its state is checkpointed
    with the model through ``state_dict``), never from torch's global RNG. ``counts``:
    images seen and skipped (no valid SSM), summed over steps.
    """

    name = "attribution_prior"

    def __init__(self, lam: float, w: str | float = "sim", seed: int = 0, crop: bool = True,
                 **settings: Any) -> None:  # fmt: skip
        self.lam = _check_lambda(lam)
        self.w = _check_w(w)
        unknown = sorted(set(settings) - set(DEFAULTS))
        if unknown:
            raise ValueError(f"unknown extraction settings {unknown}; valid: {sorted(DEFAULTS)}")
        self.settings = {**DEFAULTS, **settings}
        check_settings(**self.settings)
        self.seed, self.crop = int(seed), bool(crop)
        self.gen = torch.Generator().manual_seed(self.seed)
        self.counts = {"images": 0, "skipped": 0}

    def params(self) -> dict[str, Any]:
        """What goes into ``TrainConfig.loss_params`` (the cache key): the settings and a
        digest of this module and the extraction module, so an edit of either retrains."""
        code = cache.code_digest("prior/loss.py", "prior/ssm.py")
        return {"code": code, "lam": self.lam, "w": self.w, "seed": self.seed,
                "crop": self.crop, **self.settings}  # fmt: skip

    def needs_input_grad(self, model: nn.Module, lr: torch.Tensor) -> bool:
        """True (the loop's forward keeps the input's graph, :func:`helpers.train.step_loss`)
        when the prior is on and there is no crop smaller than the patch to run instead."""
        h, w = lr.shape[-2:]
        return self.lam != 0 and crop_side(model, int(self.settings["side"]), h, w, self.crop) == (
            h,
            w,
        )

    def __call__(self, sr, hr, lr, model):
        rec = F.l1_loss(sr, hr)
        if self.lam == 0:
            return rec
        ext = extract(lr, generator=self.gen, **self.settings)
        self.counts["images"] += lr.shape[0]
        self.counts["skipped"] += ext.n_skipped
        terms = prior_terms(model, lr, ext, self.w, self.crop, sr=sr)
        return rec if terms is None else rec + self.lam * terms.loss

    def state_dict(self) -> dict[str, Any]:
        return {"gen": self.gen.get_state(), "counts": dict(self.counts)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.gen.set_state(state["gen"])
        self.counts = dict(state["counts"])


class WeightDecayL1:
    """``loss_fn``: L1 + (wd / 2) * sum of squared parameters, whose gradient adds
    ``wd * theta``: exactly Adam's ``weight_decay=wd`` (an L2 penalty, not AdamW)."""

    name = "l1_weight_decay"

    def __init__(self, weight_decay: float) -> None:
        self.wd = _check_lambda(weight_decay)

    def params(self) -> dict[str, Any]:
        return {"weight_decay": self.wd}

    def __call__(self, sr, hr, lr, model):
        rec = F.l1_loss(sr, hr)
        if self.wd == 0:
            return rec
        return rec + 0.5 * self.wd * sum((p * p).sum() for p in model.parameters())
