"""A family of SR networks across widths and depths, and the DI-vs-PSNR analysis on it.

The LAM paper (Gu & Dong, CVPR 2021, Sec. 4.4) asks whether networks that use more input
pixels (a higher diffusion index, DI) super-resolve better. It trains FSRCNN at 15 sizes
(width 16-128, depth 2-16) and EDSR at 15 sizes (width 32-256, 10-24 residual blocks)
"with the same setting", adds 18 published networks, and regresses PSNR on log DI.

This module defines that family per preset and trains it with the zoo's recipe
(:data:`helpers.zoo.BUDGETS`: same steps, batch, patch and data per preset), so family
members and zoo members are comparable and a member whose size equals a zoo member's
shares its cached checkpoint. It also holds the pieces of the analysis that are not
plotting: the hard cases shared with the LAM chapter (:func:`lam_hard_cases`), receptive
fields from the architecture checked against input gradients (:func:`receptive_field_check`),
the PSNR-vs-log-DI fit with its confidence band (:func:`fit_log_di`) and the width/depth
sweeps of Fig. 7c (:func:`sweeps`).

Member names spell their size: ``fsrcnn_d32_m4`` (width ``d`` = 32 feature maps, ``m`` = 4
mapping layers; shrink ``s`` = 12 unless ``_s<s>`` follows) and ``edsr_f16_b4``
(``n_feats`` = 16, ``n_blocks`` = 4). Depth means ``m`` for FSRCNN and ``n_blocks`` for
EDSR, as in the paper's Fig. 7c.
"""

from __future__ import annotations

import math
import re
import time
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import nn

from ..attribution.hard_cases import HardCase
from ..train import TrainConfig, TrainResult, train
from .zoo import MEMBERS, check_preset, recipe_config

FSRCNN_SHRINK = 12  # FSRCNN's s, fixed across the family (the paper varies d and m)


@dataclass(frozen=True)
class FamilyMember:
    """One network of the family: registry ``arch`` at ``size`` (its build kwargs).

    ``width`` is FSRCNN's ``d`` or EDSR's ``n_feats``; ``depth`` FSRCNN's ``m`` or EDSR's
    ``n_blocks``.
    """

    arch: Literal["fsrcnn", "edsr"]
    width: int
    depth: int
    shrink: int = FSRCNN_SHRINK

    def __post_init__(self) -> None:
        if self.arch not in ("fsrcnn", "edsr"):
            raise ValueError(f"family arch must be 'fsrcnn' or 'edsr', got {self.arch!r}")
        for k in ("width", "depth", "shrink"):
            v = getattr(self, k)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{k} must be a positive int, got {v!r}")

    @property
    def name(self) -> str:
        if self.arch == "fsrcnn":
            tail = "" if self.shrink == FSRCNN_SHRINK else f"_s{self.shrink}"
            return f"fsrcnn_d{self.width}_m{self.depth}{tail}"
        return f"edsr_f{self.width}_b{self.depth}"

    @property
    def size(self) -> dict[str, int]:
        """Keyword arguments for :func:`helpers.models.build`."""
        if self.arch == "fsrcnn":
            return {"d": self.width, "s": self.shrink, "m": self.depth}
        return {"n_feats": self.width, "n_blocks": self.depth}


_NAME = re.compile(r"^(?:fsrcnn_d(\d+)_m(\d+)(?:_s(\d+))?|edsr_f(\d+)_b(\d+))$")


def parse_member(name: str) -> FamilyMember:
    """The member a name spells: ``"fsrcnn_d32_m4"``, ``"fsrcnn_d32_m4_s16"``, ``"edsr_f16_b4"``."""
    m = _NAME.match(name) if isinstance(name, str) else None
    if m is None:
        raise ValueError(
            f"not a family member name: {name!r}; expected fsrcnn_d<width>_m<depth>[_s<shrink>] "
            "or edsr_f<width>_b<blocks>, e.g. 'fsrcnn_d32_m4', 'edsr_f16_b4'"
        )
    d, mm, s, f, b = m.groups()
    if d is not None:
        return FamilyMember("fsrcnn", int(d), int(mm), int(s) if s else FSRCNN_SHRINK)
    return FamilyMember("edsr", int(f), int(b))


def _cross(arch: str, widths: Sequence[int], depths: Sequence[int], at_w: int, at_d: int):
    """A width sweep at depth ``at_d`` and a depth sweep at width ``at_w`` (shared centre)."""
    out = [FamilyMember(arch, w, at_d) for w in widths]
    out += [FamilyMember(arch, at_w, d) for d in depths if d != at_d]
    return out


def _grid(arch: str, widths: Sequence[int], depths: Sequence[int]) -> list[FamilyMember]:
    return [FamilyMember(arch, w, d) for w in widths for d in depths]


#: The family per preset. ``embedded``: two crosses (width sweep at a fixed depth, depth
#: sweep at a fixed width) sized so that the 11 networks train in a quarter of an hour on
#: two CPU cores with the zoo budget (:data:`helpers.zoo.BUDGETS`; EDSR's cost grows with
#: width squared, so its width sweep stops at 32); their centres equal the zoo's
#: ``fsrcnn`` and ``edsr_s``.
#: ``full``: the paper's 15 + 15 on grids over its ranges (FSRCNN width 16-128, depth
#: 2-16; EDSR width 32-256, 10-24 blocks).
FAMILIES: dict[str, list[FamilyMember]] = {
    "smoke": _cross("fsrcnn", [8, 16], [1, 2], 16, 2) + _cross("edsr", [8, 16], [1, 2], 8, 2),
    "embedded": _cross("fsrcnn", [16, 32, 56], [2, 4, 8], 32, 4)
    + _cross("edsr", [8, 16, 32], [2, 4, 8, 16], 16, 4),
    "full": _grid("fsrcnn", [16, 32, 56, 96, 128], [2, 8, 16])
    + _grid("edsr", [32, 64, 128, 192, 256], [10, 16, 24]),
}
FAMILIES["benchmark"] = list(FAMILIES["embedded"])


def family(preset: str) -> list[FamilyMember]:
    """The family of ``preset`` (a fresh list; see :data:`FAMILIES`)."""
    return list(FAMILIES[check_preset(preset)])


def member_config(member: FamilyMember, scale: int, preset: str, seed: int = 0) -> TrainConfig:
    """The training config of ``member``: the zoo's recipe for ``preset``.

    Built exactly as :func:`helpers.zoo.zoo_config` builds a zoo member's, so a member of
    the same architecture and size gets the same config (and checkpoint).
    """
    return recipe_config(member.arch, member.size, scale, preset, seed)


def zoo_twin(member: FamilyMember) -> str | None:
    """The zoo member with the same architecture and size as ``member``, if any."""
    for name, (arch, size) in MEMBERS.items():
        if arch == member.arch and dict(size) == member.size:
            return name
    return None


@dataclass
class FamilyRun:
    """What :func:`train_family` produced.

    ``models``: name -> trained module (eval mode) for every member that trained;
    ``results``: name -> :class:`~helpers.train.TrainResult` (``seconds`` = training wall
    time when it was trained, also for cached ones; ``cached`` = loaded this time);
    ``skipped``: name -> why it failed (only with ``on_failure="skip"``);
    ``wall_seconds``: time this call took (loading cached members is near 0).
    """

    models: dict[str, nn.Module]
    results: dict[str, TrainResult]
    skipped: dict[str, str] = field(default_factory=dict)
    wall_seconds: float = 0.0

    def table(self) -> list[dict[str, Any]]:
        """One row per member: name, params, training seconds, cached, final loss, status."""
        rows = []
        for name, r in self.results.items():
            tail = r.history[-50:]
            rows.append(
                {
                    "name": name,
                    "params": sum(p.numel() for p in r.model.parameters()),
                    "train_seconds": r.seconds,
                    "cached": r.cached,
                    "final_loss": sum(tail) / len(tail) if tail else math.nan,
                    "status": "ok",
                }
            )
        rows += [{"name": n, "status": f"skipped: {why}"} for n, why in self.skipped.items()]
        return rows


def train_family(
    members: Iterable[FamilyMember],
    scale: int,
    preset: str,
    seed: int = 0,
    device: str | torch.device | None = None,
    on_failure: Literal["raise", "skip"] = "raise",
    progress: bool = True,
    train_fn: Callable[..., TrainResult] = train,
) -> FamilyRun:
    """Train (or load from the cache) every member with the zoo recipe of ``preset``.

    Args:
        members: the family (e.g. :func:`family`); must not be empty or repeat a name.
        scale: SR factor (2, 3 or 4).
        preset: sets steps, batch, patch and data (:data:`helpers.zoo.BUDGETS`).
        seed: training seed (the same for every member).
        device: where to train (default CUDA when available, else CPU).
        on_failure: a member whose training fails (a NaN/inf loss raises
            ``FloatingPointError``; a RuntimeError, e.g. out of memory) either stops
            everything (``"raise"``: the same exception type, naming the member) or is
            left out with a
            ``RuntimeWarning`` and recorded in :attr:`FamilyRun.skipped` (``"skip"``).
        progress: tqdm bars per member.
        train_fn: the training function (:func:`helpers.train.train`; replaceable in tests).

    Returns:
        A :class:`FamilyRun`.

    Raises:
        ValueError: an empty family, duplicate names or a bad ``on_failure``; or, with
            ``"skip"``, when every member failed (nothing left to analyse).
    """
    members = list(members)
    if not members:
        raise ValueError("the family is empty: give at least one FamilyMember")
    names = [m.name for m in members]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"the family lists these members more than once: {dupes}")
    if on_failure not in ("raise", "skip"):
        raise ValueError(f"on_failure must be 'raise' or 'skip', got {on_failure!r}")
    t0 = time.perf_counter()
    run = FamilyRun({}, {})
    for m in members:
        cfg = member_config(m, scale, preset, seed)
        try:
            res = train_fn(cfg, device=device, progress=progress, desc=f"{m.name} x{scale}")
        except (FloatingPointError, RuntimeError) as err:
            if on_failure == "raise":
                # Same type (callers may catch FloatingPointError), with the member's name.
                raise type(err)(f"family member {m.name} failed to train: {err}") from err
            run.skipped[m.name] = f"{type(err).__name__}: {err}"
            warnings.warn(
                f"family member {m.name} failed to train and is left out: {err}",
                RuntimeWarning,
                stacklevel=2,
            )
            continue
        run.models[m.name] = res.model
        run.results[m.name] = res
    run.wall_seconds = time.perf_counter() - t0
    if not run.models:
        raise ValueError(f"every family member failed to train: {run.skipped}")
    return run


# ------------------------------------------------------------------------- hard cases

#: Hard cases per preset, as the LAM chapter uses them.
N_HARD: dict[str, int] = {"smoke": 1, "embedded": 6, "benchmark": 11, "full": 150}


def lam_hard_cases(
    preset: str,
    nets: Mapping[str, nn.Module],
    scale: int = 4,
    device: str | torch.device | None = None,
    n: int | None = None,
    progress: bool = True,
) -> list[HardCase]:
    """The hard patches the LAM and DI chapters analyse, chosen once, the same way.

    ``embedded`` (and ``smoke``): the paper's rule (:func:`helpers.hard_cases.select_hard_cases`:
    low mean PSNR, high variance across ``nets``) over the embedded test images cut into
    256 px sub-images with stride 128 (``smoke``: the first image only, 128 px tiles,
    stride 128). ``benchmark``/``full``: the LAM authors' published crops (``lam_hard``),
    the first ``n``; ``nets`` is not used there.

    Args:
        preset: one of :data:`helpers.zoo.PRESETS`.
        nets: name -> model used to score the candidates; pass the zoo's models
            (``helpers.zoo.MEMBERS``) so both chapters pick the same patches. >= 2 models.
        scale: SR factor; hard cases are HR sub-images with their bicubic LR.
        device: where to run the networks.
        n: how many (default :data:`N_HARD` for the preset).
        progress: tqdm bar.

    Returns:
        :class:`~helpers.hard_cases.HardCase` list, hardest first (``benchmark``: file
        order); ``hr`` (1, 3, S, S) and ``lr`` (1, 3, S/scale, S/scale) in [0, 1].
    """
    from .. import data
    from ..attribution import hard_cases

    check_preset(preset)
    n = N_HARD[preset] if n is None else n
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int (number of hard cases), got {n!r}")
    if preset in ("benchmark", "full"):
        pairs = data.load_sr_set("lam_hard", scale)[:n]
        return [HardCase(p.name, "lam_hard", (0, 0), p.hr, p.lr, {}) for p in pairs]
    smoke = preset == "smoke"
    test = data.load_images("embedded_test")
    size, stride = (128, 128) if smoke else (256, 128)
    candidates = hard_cases.candidate_subimages(test[:1] if smoke else test, size, stride, scale)
    n = min(n, len(candidates))
    return hard_cases.select_hard_cases(candidates, dict(nets), n, scale, device, progress)


# --------------------------------------------------------------------- receptive field


def _global_probe(
    model: nn.Module, scale: int, size: int, device: str | torch.device | None
) -> int | None:
    """Support of the gradient of the central LR pixel's ``scale x scale`` SR block on one
    random (1, 3, size, size) input: ``None`` when it reaches the input's border (global),
    else its width (LR px). One forward and backward at batch 1, where
    :func:`helpers.models.empirical_receptive_field` runs ``scale**2`` copies at once
    (too much memory for big attention models on a CPU)."""
    from ..runtime import resolve_device

    dev = resolve_device(device)
    multiple = int(getattr(model, "pad_multiple", 1) or 1)
    size = -(-size // multiple) * multiple
    was_training = model.training
    model.eval()
    try:
        gen = torch.Generator().manual_seed(0)
        x = torch.rand(1, 3, size, size, generator=gen).to(dev).requires_grad_(True)
        out = model(x)
        c = scale * (size // 2)
        (grad,) = torch.autograd.grad(out[..., c : c + scale, c : c + scale].sum(), x)
    finally:
        model.train(was_training)
    support = grad.detach().abs().sum(dim=(0, 1)) > 0
    ys = torch.nonzero(support.any(dim=1)).flatten()
    xs = torch.nonzero(support.any(dim=0)).flatten()
    if ys.numel() == 0:
        raise ValueError("the central output pixels do not depend on the input at all")
    y0, y1, x0, x1 = (int(v) for v in (ys.min(), ys.max(), xs.min(), xs.max()))
    if min(y0, x0) == 0 or max(y1, x1) == size - 1:
        return None
    return max(y1 - y0 + 1, x1 - x0 + 1)


def receptive_field_check(
    model: nn.Module, scale: int, device: str | torch.device | None = None
) -> dict[str, Any]:
    """The receptive field from the architecture, and the one input gradients show.

    ``analytic``: ``model.receptive_field`` (LR px, full width; ``None`` = global), which
    the registry computes from kernel sizes, dilations and up-sampling. ``empirical``:
    for a finite field, :func:`helpers.models.empirical_receptive_field` (widest support
    over the sub-pixel phases) on a random input wide enough that the field cannot reach
    its border (``analytic + 8`` px); for a global model, whether the gradient of the
    central output pixels reaches the border of a 32 px input (``None`` = it does: global;
    a model claimed global that shows a finite support is reported, not hidden).

    Returns:
        ``{"analytic", "empirical", "agree", "label"}``; ``label`` is ``"global"`` or
        ``"<rf>x<rf>"`` as in the paper's Table 1.
    """
    from ..models import empirical_receptive_field

    analytic = getattr(model, "receptive_field", None)
    if analytic is None:
        empirical = _global_probe(model, scale, 32, device)
    else:
        size = int(analytic) + 8
        empirical = empirical_receptive_field(
            model, scale, lr_size=size, max_lr_size=size, device=device
        )
    return {
        "analytic": analytic,
        "empirical": empirical,
        "agree": analytic == empirical,
        "label": "global" if analytic is None else f"{analytic}x{analytic}",
    }


# ------------------------------------------------------------------- the regression


@dataclass(frozen=True)
class LogDIFit:
    """PSNR regressed on log10(DI) over networks, with both correlation tests.

    ``names``, ``log_di`` (log10 of DI) and ``psnr`` (dB) per network; ``slope`` (dB per
    decade of DI) and ``intercept`` (dB) of the least-squares line; Pearson's ``r`` and
    Spearman's ``rho`` with their two-sided ``p`` values (scipy).
    """

    names: tuple[str, ...]
    log_di: np.ndarray
    psnr: np.ndarray
    slope: float
    intercept: float
    pearson_r: float
    pearson_p: float
    spearman_rho: float
    spearman_p: float

    @property
    def n(self) -> int:
        return len(self.names)

    def predict(self, log_di: np.ndarray) -> np.ndarray:
        """Fitted PSNR (dB) at ``log_di`` (log10 DI)."""
        return self.intercept + self.slope * np.asarray(log_di, dtype=float)

    def band(self, log_di: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
        """Confidence band of the fitted mean at ``log_di``: ``(low, high)`` in dB.

        The usual OLS interval ``yhat +- t_{n-2} s sqrt(1/n + (x - xbar)^2 / Sxx)``.
        """
        from scipy import stats

        x = np.asarray(log_di, dtype=float)
        resid = self.psnr - self.predict(self.log_di)
        dof = self.n - 2
        s = math.sqrt(float(resid @ resid) / dof) if dof > 0 else math.nan
        xbar = self.log_di.mean()
        sxx = float(((self.log_di - xbar) ** 2).sum())
        half = stats.t.ppf(0.5 + level / 2, dof) * s * np.sqrt(1 / self.n + (x - xbar) ** 2 / sxx)
        yhat = self.predict(x)
        return yhat - half, yhat + half

    def summary(self) -> dict[str, Any]:
        """JSON-ready numbers."""
        return {
            "n": self.n,
            "slope_db_per_decade": self.slope,
            "intercept_db": self.intercept,
            "pearson": {"r": self.pearson_r, "p": self.pearson_p},
            "spearman": {"rho": self.spearman_rho, "p": self.spearman_p},
        }


def fit_log_di(di: Mapping[str, float], psnr: Mapping[str, float]) -> LogDIFit:
    """Regress PSNR on log10(DI) across networks (the paper's Fig. 7a).

    Args:
        di: network -> mean DI (> 0).
        psnr: network -> PSNR (dB); the same networks as ``di``.

    Raises:
        ValueError: fewer than 3 networks (a line through 2 points has no test), networks
            missing from one of the two, a non-finite value, DI <= 0, or all DI or all
            PSNR equal (no correlation is defined). The message names the networks.
    """
    from scipy import stats

    if set(di) != set(psnr):
        raise ValueError(
            f"di and psnr must cover the same networks; only in di: "
            f"{sorted(set(di) - set(psnr))}, only in psnr: {sorted(set(psnr) - set(di))}"
        )
    names = tuple(di)
    if len(names) < 3:
        raise ValueError(f"a regression needs at least 3 networks, got {len(names)}: {list(names)}")
    bad = [n for n in names if not (math.isfinite(di[n]) and math.isfinite(psnr[n]))]
    if bad:
        raise ValueError(f"non-finite DI or PSNR for {bad}; leave them out explicitly")
    nonpos = [n for n in names if di[n] <= 0]
    if nonpos:
        raise ValueError(f"DI must be > 0 for a log fit; got DI <= 0 for {nonpos}")
    x = np.log10(np.array([di[n] for n in names], dtype=float))
    y = np.array([psnr[n] for n in names], dtype=float)
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        raise ValueError("all DI (or all PSNR) values are equal: no correlation is defined")
    slope, intercept = np.polyfit(x, y, 1)
    pr = stats.pearsonr(x, y)
    sr = stats.spearmanr(x, y)
    return LogDIFit(
        names,
        x,
        y,
        float(slope),
        float(intercept),
        float(pr.statistic),
        float(pr.pvalue),
        float(sr.statistic),
        float(sr.pvalue),
    )


# ----------------------------------------------------------------------- Fig. 7c sweeps


def sweeps(
    members: Iterable[FamilyMember],
) -> dict[tuple[str, str], list[list[FamilyMember]]]:
    """Groups of members along which exactly one of width or depth varies.

    Returns ``{(arch, "width" | "depth"): [group, ...]}``; a group holds the members of
    one ``arch`` that share the other variable (and shrink), sorted by the varied one, and
    has at least two distinct values. A cross design gives one group per key, a grid one
    group per value of the other variable.
    """
    out: dict[tuple[str, str], list[list[FamilyMember]]] = {}
    members = list(members)
    for var, other in (("width", "depth"), ("depth", "width")):
        groups: dict[tuple[str, int, int], list[FamilyMember]] = {}
        for m in members:
            groups.setdefault((m.arch, getattr(m, other), m.shrink), []).append(m)
        for (arch, _, _), g in sorted(groups.items()):
            if len({getattr(m, var) for m in g}) >= 2:
                g = sorted(g, key=lambda m: getattr(m, var))
                out.setdefault((arch, var), []).append(g)
    return out


def trend(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rho of ``y`` against ``x`` (NaN with < 3 points or a constant series).

    Used for the direction of DI and PSNR along one sweep; with 3-4 points it is a
    direction, not a test.
    """
    from scipy import stats

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if len(x) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    return float(stats.spearmanr(x, y).statistic)


# --------------------------------------------------------------- names for the tables

#: What kind of network each architecture is (the "Remark" column of Table 1).
REMARKS: dict[str, str] = {
    "fsrcnn": "Fully convolution network.",
    "edsr": "Residual network.",
    "srresnet": "Residual network.",
    "carn_m": "Residual network (cascading, mobile).",
    "pan": "Pixel attention (local).",
    "rcan": "Global pooling (channel attention).",
    "imdn": "Global pooling (contrast channel attention).",
    "nlsn": "Non-local attention.",
    "grl_tiny": "Global + regional + local attention (transformer).",
}
