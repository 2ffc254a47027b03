"""What the chapter prints and writes, from the measurements of :mod:`helpers.prior.runs`
and :mod:`helpers.prior.tables`: the NCC check against skimage, the per-seed means the
verdicts take, Table 4.7's and Fig. 4.5's summaries, the power line, the results record.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch

from ..metrics.content import to_grey
from ..published import ZAMFIR_PRIOR_LAMBDA_EDSR
from . import ssm
from .runs import norm_sections, ssr_poi_psnr
from .stats import seeds_needed, welch_t
from .tables import set_means


def ncc_check(batch: torch.Tensor, side: int, reps: int = 3) -> dict[str, Any]:
    """:func:`helpers.prior.ssm.self_similarity_maps` of a batch (B, 3, h, w) against a
    loop of ``skimage.feature.match_template(pad_input=True)`` over its patches: largest
    difference where the NCC is defined (ours is exactly 0 on constant windows, where
    skimage returns rounding noise: reported apart), the float32 search's difference to
    float64, and seconds (ours: median of ``reps`` after a warm-up; the slow skimage loop:
    median of ``max(1, reps // 2)``) with the speed-ups. The chapter and
    ``scripts/bench_prior.py`` both call it."""
    from skimage.feature import match_template

    grey = to_grey(batch).numpy()
    ssm.self_similarity_maps(batch, side)  # warm-up
    timed = {}
    for dt in (torch.float64, torch.float32):
        ts = []
        for _ in range(reps):
            t0 = time.perf_counter()
            maps, corners = ssm.self_similarity_maps(batch, side, dt)
            ts.append(time.perf_counter() - t0)
        timed[dt] = (maps, statistics.median(ts))
    (m64, t64), (m32, t32) = timed[torch.float64], timed[torch.float32]
    ts = []
    for _ in range(max(1, reps // 2)):
        t0 = time.perf_counter()
        ref = np.stack([
            match_template(grey[b], grey[b, y : y + side, x : x + side], pad_input=True)
            for b in range(len(batch))
            for y, x in corners.tolist()
        ]).reshape(m64.shape)  # fmt: skip
        ts.append(time.perf_counter() - t0)
    t_sk = statistics.median(ts)
    ours = m64.numpy()
    defined = ours != 0
    return {
        "max_abs_diff_float64": float(np.abs(ref - ours)[defined].max(initial=0.0)),
        "max_abs_skimage_on_flat_windows": float(np.abs(ref[~defined]).max(initial=0.0)),
        "max_abs_diff_float32": float((m32 - m64).abs().max()),
        "n_maps": int(m64.shape[0] * m64.shape[1]),
        "seconds_float64": t64,
        "seconds_float32": t32,
        "seconds_skimage_loop": t_sk,
        "speedup_float64": t_sk / t64,
        "speedup_float32": t_sk / t32,
    }


def ncc_line(n: Mapping[str, Any], patch: int) -> str:
    return (
        f"{n['n_maps']} maps of {patch}x{patch} px: max |ours - skimage| = "
        f"{n['max_abs_diff_float64']:.1e} where NCC is defined (on constant windows skimage "
        f"returns rounding noise up to {n['max_abs_skimage_on_flat_windows']:.1e}, ours 0); "
        f"the float32 search is within {n['max_abs_diff_float32']:.1e} of float64. Time: "
        f"{n['seconds_float64'] * 1e3:.1f} ms (float64), {n['seconds_float32'] * 1e3:.1f} ms "
        f"(float32), {n['seconds_skimage_loop'] * 1e3:.0f} ms for the skimage loop: "
        f"x{n['speedup_float64']:.0f} / x{n['speedup_float32']:.0f}"
    )


def per_seed(scores: Mapping[str, Mapping[int, Mapping]], test_set: str) -> dict:
    """float(label) -> seed -> mean PSNR over ``test_set`` (the verdicts' input)."""
    return {float(k): v for k, v in set_means(scores, test_set).items()}


def ssr_poi_table(pick: Mapping[str, Mapping[int, Any]], cases, device=None) -> dict:
    """Table 4.7: variant -> part (``total``, ``ssr``, ``poi``) -> seed -> mean PSNR over
    the hard cases with SSRs (:func:`helpers.prior.runs.ssr_poi_psnr`; NaN when none)."""
    out = {}
    for k, d in pick.items():
        per = {s: ssr_poi_psnr(r.model, cases, device=device) for s, r in d.items()}
        out[k] = {p: {s: float(np.mean([c[p] for c in v.values()])) if v else float("nan")
                      for s, v in per.items()} for p in ("total", "ssr", "poi")}  # fmt: skip
    return out


def sections_table(pick: Mapping[str, Mapping[int, Any]], cases, poi: int, step: int) -> dict:
    """Fig. 4.5: variant -> ``norm_rel`` / ``similar_ratio`` per section, mean over seeds
    and hard cases (:func:`helpers.prior.runs.norm_sections`)."""
    out = {}
    for k, d in pick.items():
        per = [norm_sections(r.model, c.lr, poi, step) for r in d.values() for c in cases]
        out[k] = {m: np.nanmean([p[m] for p in per], axis=0).tolist() for m in per[0]}
    return out


def power_line(paired_sd: float | None) -> tuple[dict[str, Any], str]:
    """The thesis's Table 4.2 HardCases gain read as independent samples (Welch), and the
    seeds a paired test needs for it at our per-seed spread (80% power, alpha 0.05)."""
    th = ZAMFIR_PRIOR_LAMBDA_EDSR
    (m0, s0), (m1, s1) = th[0.0]["hard"], th[1e-4]["hard"]
    welch = welch_t(m0, s0, 4, m1, s1, 4)
    need = None if paired_sd is None else seeds_needed(m1 - m0, paired_sd)
    rec = {"thesis_gain": m1 - m0, "welch": welch, "paired_sd": paired_sd, "seeds_needed": need}
    sd = "n/a" if paired_sd is None else f"{paired_sd:.3f} dB"
    text = (f"thesis: {m0} -> {m1} dB, Welch t = {welch['t']:.2f} (p = {welch['p']:.2f}); our "
            f"per-seed sd of the paired difference: {sd}; seeds for 80% power at alpha 0.05: "
            f"{need}")  # fmt: skip
    return rec, text


def lambda_record(stats: Mapping[str, Mapping[str, Mapping[str, Any]]]) -> dict:
    """The results file's ``lambda_sweep``: lambda -> set -> the four issue fields."""
    keys = ("psnr_mean", "psnr_sd", "delta_vs_0", "p_paired")
    return {k: {ts: {m: r[m] for m in keys} for ts, r in v.items()} for k, v in stats.items()}


def overhead_record(overhead: Mapping[str, Mapping[str, Any]]) -> dict:
    return {
        "time_ratio": {n: o["time_ratio"] for n, o in overhead.items()},
        "memory_ratio": {n: o["memory_ratio"] for n, o in overhead.items()},
        "per_network": {n: dict(o) for n, o in overhead.items()},
    }


def picked(trained: Mapping[str, Mapping[str, Any]], prior_label: str) -> dict:
    """The networks of Table 4.7 and Fig. 4.5: the local network's baseline and prior (at
    ``prior_label``), its scenarios other than the prior's own (when trained), and the
    global network's baseline and smallest-lambda prior (``global ...``)."""
    pick = {"baseline": trained["lambda"]["0"], "prior": trained["lambda"][prior_label]}
    extra = trained.get("scenarios", {})
    pick |= {k: v for k, v in extra.items() if k not in ("baseline", "local_similar")}
    glob = trained["lambda_global"]
    first = next((k for k in glob if k != "0"), None)
    pick["global baseline"] = glob["0"]
    if first is not None:
        pick["global prior"] = glob[first]
    return pick


def seed_means_of(d: Mapping[str, Mapping[str, Mapping[int, float]]], parts: Sequence[str]):
    """variant -> part -> mean over seeds (a display row)."""
    return {k: {p: float(np.nanmean(list(v[p].values()))) for p in parts} for k, v in d.items()}
