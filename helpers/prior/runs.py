"""The chapter's trainings and measurements.

- :func:`train_variant`: one network (``cfg["nets"][net]``) trained through the one
  training loop with a *variant*: ``{}`` (plain L1, the baseline), prior settings
  (``{"lam": 1e-4, "scenario": ..., "n_ssr": ..., "w": ...}``), ``{"weight_decay": x}``
  or ``{"blocks": -1}`` (one residual block fewer) or ``{"bn": True}`` (batch norm in the
  blocks). The seed sets initialisation, batch
  order and the prior's random draws alike, so a baseline and a variant of one seed are
  paired: same starting weights, same batches.
- :func:`test_sets`, :func:`score` (per-image Y-PSNR, cached by the training key).
- :func:`di_by_model` (LAM through the LAM cache), :func:`norm_sections` (Fig. 4.5),
  :func:`ssr_poi_psnr` (Table 4.7), :func:`overhead` (time and memory per step).
"""

from __future__ import annotations

import functools
import math
import statistics
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from .. import cache
from ..attribution.cache import cached_lam_maps
from ..attribution.hard_cases import lam_hard_cases
from ..attribution.tables import di_by_case
from ..data import SRPair, dtd10, load_sr_set
from ..data.resize import hr_lr_pair
from ..io import load_image
from ..metrics.content import to_grey
from ..metrics.quality import psnr
from ..models import build
from ..models.evaluate import evaluate_sr, super_resolve
from ..train import (
    PatchSampler,
    TrainConfig,
    TrainResult,
    _training_pairs,
    config_key,
    step_loss,
    train,
)
from .loss import AttributionPrior, WeightDecayL1, crop_margin, poi_gradient
from .ssm import box_masks, extract, ncc_maps

#: Keys of a prior variant (the rest of the extraction settings: helpers.prior.ssm).
PRIOR_KEYS = {"lam", "w", "side", "n_ssr", "scenario", "suppress", "local_window", "exclude",
              "min_similarity"}  # fmt: skip


def build_run(cfg: Mapping[str, Any], net: str, variant: Mapping[str, Any], seed: int):
    """``(TrainConfig, loss_fn or None)`` of network ``net`` with ``variant`` (see the
    module docstring); ``lam = 0`` is the plain L1 baseline's config itself."""
    spec = cfg["nets"][net]
    kwargs = dict(spec["kwargs"])
    v = dict(variant)
    if "blocks" in v:
        kwargs["n_blocks"] = kwargs["n_blocks"] + int(v.pop("blocks"))
    if "bn" in v:  # batch norm in the residual blocks (EDSR's option)
        kwargs["bn"] = bool(v.pop("bn"))
    base = TrainConfig(
        model=spec["arch"], scale=cfg["scale"], steps=cfg["steps"], model_kwargs=kwargs,
        data=cfg["data"], patch=cfg["lr_patch"] * cfg["scale"], batch=cfg["batch"],
        lr=cfg["lr"], seed=seed,
    )  # fmt: skip
    if "weight_decay" in v:
        fn = WeightDecayL1(v.pop("weight_decay"))
        loss: tuple[str, dict, Any] = (fn.name, fn.params(), fn)
    elif v.get("lam", 0) != 0:
        unknown = sorted(set(v) - PRIOR_KEYS)
        if unknown:
            raise ValueError(f"unknown variant keys {unknown}; valid: {sorted(PRIOR_KEYS)}")
        fn = AttributionPrior(v.pop("lam"), w=v.pop("w", "sim"), seed=seed, **v)
        loss = (fn.name, fn.params(), fn)
        v = {}
    else:  # lam = 0 (a negative one is AttributionPrior's to refuse, above)
        v.pop("lam", None)
        loss = ("l1", {}, None)
    if v:
        raise ValueError(f"unknown variant keys {sorted(v)}")
    config = TrainConfig(**{**base.to_dict(), "loss": loss[0], "loss_params": loss[1]})
    return config, loss[2]


def train_variant(
    cfg: Mapping[str, Any],
    net: str,
    variant: Mapping[str, Any],
    seed: int,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> TrainResult:
    """Train (once; cached, resumable) or load ``net`` with ``variant`` at ``seed``."""
    config, fn = build_run(cfg, net, variant, seed)
    images = _dtd10_train() if config.data == "dtd10_train" else None
    return train(config, fn, images, device=device, progress=progress, desc=f"{net} {variant}")


@functools.lru_cache(maxsize=1)
def _dtd10_train() -> list[torch.Tensor]:
    """The DTD-10 train images (not a ``load_images`` set: passed to training as images,
    named in ``config.data``), read once per process (a sweep loads ~100 networks)."""
    return [load_image(p) for p, _ in dtd10("train")]


def _train_pairs(data: str, scale: int):
    """HR images and their LR (as training makes them) for ``data``, DTD-10 included."""
    if data != "dtd10_train":
        return _training_pairs(data, scale)
    pairs = [hr_lr_pair(h, scale) for h in _dtd10_train()]
    return [h for h, _ in pairs], [lr for _, lr in pairs]


def test_sets(
    cfg: Mapping[str, Any],
    preset: str,
    selectors: Mapping[str, nn.Module],
    device: str | torch.device | None = None,
) -> dict[str, list[SRPair]]:
    """The preset's test sets (``cfg["test_sets"]``: name -> load options) plus
    ``"hard"``: the LAM hard cases at the chapter's scale (picked by the LAM rule scored
    with ``selectors`` at ``embedded``/``smoke``; the LAM authors' crops at benchmark)."""
    s = cfg["scale"]
    sets = {n: load_sr_set(n, s, **opts) for n, opts in cfg["test_sets"].items()}
    hard = lam_hard_cases(preset, selectors, s, device, n=cfg["n_hard"], progress=False)
    sets["hard"] = [SRPair(h.name, h.hr, h.lr, s) for h in hard]
    return sets


def _sets_digest(sets: Mapping[str, list[SRPair]]) -> str:
    return cache.tensor_digest(*[p.lr for v in sets.values() for p in v]) + ",".join(
        f"{k}:{[p.name for p in v]}" for k, v in sets.items()
    )


def score(
    result: TrainResult,
    sets: Mapping[str, list[SRPair]],
    device: str | torch.device | None = None,
) -> dict[str, dict[str, float]]:
    """Per-image Y-PSNR (dB, border shave = scale) of a trained network on every set,
    cached by its training key and the sets' LR bytes: set -> image -> PSNR."""
    key = cache.key("prior_score", {"train": result.key}, inputs=[_sets_digest(sets)])
    path = cache.entry_path("prior_scores", key, suffix=".json")

    def compute() -> dict[str, Any]:
        per = {n: evaluate_sr(result.model, p, device, progress=False) for n, p in sets.items()}
        return {"psnr": {n: {i: v["psnr_y"] for i, v in r["per_image"].items()}
                         for n, r in per.items()}}  # fmt: skip

    payload, _ = cache.cached(path, key, compute, "prior scores")
    return payload["psnr"]


def di_by_model(
    models: Mapping[str, nn.Module], cases: list[SRPair], scale: int, steps: int
) -> dict[str, float]:
    """Mean DI (LAM demo's definition) over the hard cases per model, through the LAM
    cache (same maps as any chapter attributing these networks on these cases); ``None``
    for a model whose every window is degenerate (LAMResult.degenerate)."""
    maps = cached_lam_maps(models, cases, scale, 16, progress=False, steps=steps)
    table = di_by_case(maps)
    vals = {n: table.loc[n].to_numpy(float) for n in models}
    # None where every window is degenerate (a barely trained network at smoke)
    return {n: float(np.nanmean(v)) if np.isfinite(v).any() else None for n, v in vals.items()}


def norm_sections(
    model: nn.Module, lr: torch.Tensor, poi: int = 13, step: int = 20, n: int = 5,
    threshold: float = 0.5,
) -> dict[str, list[float]]:  # fmt: skip
    """Fig. 4.5 on one LR image (1, 3, H, W): the input gradient of the summed output over
    a central ``poi`` x ``poi`` box (LR px); its l1 norm in nested squares of side
    ``poi + k * step`` (k = 0..n, clipped to the image) divided by the PoI's, and, per
    square, norm on similar pixels / norm on dissimilar pixels, where similar = the
    PoI template's NCC map above ``threshold`` (NaN where a square has no dissimilar
    pixel)."""
    _, _, h, w = lr.shape
    y0, x0 = (h - poi) // 2, (w - poi) // 2
    corner = torch.tensor([[y0, x0]])
    with torch.enable_grad():
        grad, _ = poi_gradient(model, lr, corner, poi, None)
    a = grad.detach().abs().sum(1)[0].double()  # (H, W)
    g = to_grey(lr)  # the PoI's own template (not a grid patch) against the image
    sim = ncc_maps(g, g[:, None, y0 : y0 + poi, x0 : x0 + poi])[0, 0] > threshold
    norm_poi = float(a[y0 : y0 + poi, x0 : x0 + poi].sum())
    rel, ratio = [], []
    for k in range(n + 1):
        ys, xs = max(0, y0 - k * step // 2), max(0, x0 - k * step // 2)
        box = a[ys : y0 + poi + k * step // 2, xs : x0 + poi + k * step // 2]
        sb = sim[ys : ys + box.shape[0], xs : xs + box.shape[1]]
        rel.append(float(box.sum()) / norm_poi if norm_poi > 0 else math.nan)
        dis = float(box[~sb].sum())
        ratio.append(float(box[sb].sum()) / dis if dis > 0 else math.nan)
    return {"norm_rel": rel, "similar_ratio": ratio}


def ssr_poi_psnr(
    model: nn.Module, cases: list[SRPair], side: int = 17, n_ssr: int = 5,
    device: str | torch.device | None = None,
) -> dict[str, dict[str, float]]:  # fmt: skip
    """Table 4.7 on each case: Y-PSNR of the whole image, on its ``n_ssr`` SSR boxes and
    on its PoI box (side x side LR px, their HR boxes in the SR output), from the extraction
    module (global scenario; a case without SSRs is left out and counted in
    ``skipped``). Returns case -> {"total", "ssr", "poi"}."""
    out: dict[str, Any] = {}
    for p in cases:
        ext = extract(p.lr, n_ssr=n_ssr, side=side, scenario="global_similar", min_similarity=0.0)
        if not bool(ext.valid[0]):
            continue
        sr = super_resolve(model, p.lr, device)
        s = p.scale
        boxes = torch.cat([ext.poi[:, None], ext.ssr], 1)[0]  # (1 + N, 2)
        k = side * s
        crops = [(sr[..., y * s : y * s + k, x * s : x * s + k], p.hr[..., y * s : y * s + k,
                  x * s : x * s + k]) for y, x in boxes.tolist()]  # fmt: skip
        ssr_sr = torch.cat([c[0] for c in crops[1:]], -1)
        ssr_hr = torch.cat([c[1] for c in crops[1:]], -1)
        out[p.name] = {
            "total": float(psnr(sr, p.hr, shave=s)[0]),
            "ssr": float(psnr(ssr_sr, ssr_hr)[0]),
            "poi": float(psnr(*crops[0])[0]),
        }
    return out


def _saved_bytes(step) -> int:
    """Peak bytes of the tensors autograd holds for backward while ``step()`` runs (the
    activation memory a training step needs; parameters and inputs not counted)."""
    live, peak = [0], [0]

    def pack(t):
        live[0] += t.numel() * t.element_size()
        peak[0] = max(peak[0], live[0])
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        step()
    return peak[0]


def overhead(
    cfg: Mapping[str, Any], net: str, variant: Mapping[str, Any], reps: int = 5, seed: int = 0
) -> dict[str, Any]:
    """Seconds per training step (median of ``reps``, plain and prior steps interleaved,
    after a warm-up) and activation memory (:func:`_saved_bytes`) of plain L1 and of L1 +
    prior on the *same* batch and weights (a fresh network; the extraction module
    included), and their ratios (``time_ratio``: of the medians; also the median of the
    per-repeat ratios); ``extraction_s``: the extraction module alone, part of the prior
    step (the rest is the input-gradient pass and its double backward)."""
    config, fn = build_run(cfg, net, variant, seed)
    torch.manual_seed(seed)
    model = build(config.model, config.scale, **config.model_kwargs).train()
    hr, lr_imgs = _train_pairs(config.data, config.scale)
    lr, hr_b = PatchSampler(hr, config.scale, config.patch, seed, lr_images=lr_imgs).sample(
        config.batch
    )
    plain = nn.functional.l1_loss

    def step(loss_fn):
        def run():
            model.zero_grad(set_to_none=True)
            step_loss(loss_fn, model, lr, hr_b).backward()

        return run

    fns = {"plain": step(lambda sr, h, x, m: plain(sr, h)), "prior": step(fn)}
    fns["extraction"] = lambda: extract(lr, generator=torch.Generator(), **fn.settings)
    for run in fns.values():  # warm-up
        run()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(reps):  # interleaved, so a change of machine load hits both alike
        for name, run in fns.items():
            t0 = time.perf_counter()
            run()
            times[name].append(time.perf_counter() - t0)
    out: dict[str, Any] = {}
    for name, run in fns.items():
        out[f"{name}_s"] = statistics.median(times[name])
        if name != "extraction":
            out[f"{name}_bytes"] = _saved_bytes(run)
    ratios = [p / q for p, q in zip(times["prior"], times["plain"], strict=True)]
    out["time_ratio_median_of_pairs"] = statistics.median(ratios)
    out["time_ratio"] = out["prior_s"] / out["plain_s"]
    out["memory_ratio"] = out["prior_bytes"] / out["plain_bytes"]
    out["crop_margin"] = crop_margin(model)
    out["patch"] = config.patch // config.scale
    out["train_key"] = config_key(config)
    return out


def mask_example(lr: torch.Tensor, **settings: Any) -> dict[str, torch.Tensor]:
    """For figures: the extraction on one LR image: candidate SSM (H, W), PoI and SSR
    masks (H, W) and the boxes."""
    ext = extract(lr, **settings)
    m = box_masks(torch.cat([ext.poi[:, None], ext.ssr], 1), ext.side, *lr.shape[-2:])[0]
    return {"ssm": ext.ssm[0], "poi": m[0], "ssr": m[1:].amax(0), "w": ext.w[0],
            "valid": ext.valid[0], "ext": ext}  # fmt: skip
