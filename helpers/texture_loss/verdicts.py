"""The five claims of the texture-loss chapter (Gondal et al. 2018), each decided by a
stated rule on paired, per-image numbers, per seed.

Every comparison is paired over the same test images (both networks super-resolve the
same inputs) and tested with a percentile bootstrap of the mean paired difference
(:func:`helpers.texture.consistency.bootstrap_ci`, 95 %): a difference counts only when
its interval excludes 0, so noise between two similar networks cannot pass.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from ..published import GONDAL_TSRN_CLAIMS
from ..texture.consistency import bootstrap_ci
from ..verdict import Verdict, by_interval, graded, tally

__all__ = [
    "feature_loss_blurs",
    "gram_beats_features",
    "guided_keeps_segments",
    "paired",
    "perceptual_at_lower_psnr",
    "recognisability",
]

Arrays = Mapping[str, np.ndarray]


def paired(a: np.ndarray, b: np.ndarray, log: bool, n_boot: int, seed: int = 0) -> dict:
    """Mean paired difference ``a - b`` (or ``ln a - ln b`` with ``log``) over images and
    its bootstrap 95 % CI: ``{"mean", "ci", "n"}``."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    if a.shape != b.shape or a.ndim != 1 or not len(a):
        raise ValueError(f"paired samples must be equal-length 1-d, got {a.shape}, {b.shape}")
    d = np.log(np.maximum(a, 1e-30)) - np.log(np.maximum(b, 1e-30)) if log else a - b
    lo, hi = bootstrap_ci(d, n_boot=n_boot, seed=seed)
    return {"mean": float(d.mean()), "ci": [lo, hi], "n": int(len(d))}


def _log_ratios(seeds: Sequence[Mapping[str, Arrays]], a: str, b: str, key: str, n_boot: int):
    """Per seed, :func:`paired` ln(``a`` / ``b``) of the per-image ``key`` (seed i's
    bootstrap seeded with i)."""
    return [paired(s[a][key], s[b][key], True, n_boot, i) for i, s in enumerate(seeds)]


def _times(r: Mapping[str, float]) -> float:
    """The mean log ratio ``r["mean"]`` of :func:`paired` as a ratio, to 3 decimals."""
    return round(float(np.exp(r["mean"])), 3)


def perceptual_at_lower_psnr(seeds: Sequence[Mapping[str, Arrays]], n_boot: int) -> Verdict:
    """Claim 1. ``seeds``: per seed ``{"MSE": scores, "TSRN-G": scores}`` with per-image
    ``psnr`` and one Gram distance to HR per judge (keys ``gram:<judge>``, networks that
    trained neither; ``gram`` alone when there are none).

    Rule: TSRN-G is perceptually better under a judge in a seed when the bootstrap CI of
    mean ln(d_G / d_MSE) lies below 0, and at lower PSNR when the CI of mean
    PSNR_G - PSNR_MSE lies below 0. Better under every judge in every seed, at lower
    PSNR in every seed: holds; better for some (seed, judge): partly; for none: does
    not hold.
    """
    judges = sorted(k for k in seeds[0]["MSE"] if k.startswith("gram:")) or ["gram"]
    rows = []
    for i, s in enumerate(seeds):
        g = {j: paired(s["TSRN-G"][j], s["MSE"][j], True, n_boot, i) for j in judges}
        p = paired(s["TSRN-G"]["psnr"], s["MSE"]["psnr"], False, n_boot, i)
        rows.append({"gram_log_ratio": g, "psnr_delta": p})
    better = [r["gram_log_ratio"][j]["ci"][1] < 0 for r in rows for j in judges]
    lower = [r["psnr_delta"]["ci"][1] < 0 for r in rows]
    outcome = graded(all(better) and all(lower), any(better))
    ratios = {
        j.removeprefix("gram:"): [_times(r["gram_log_ratio"][j]) for r in rows] for j in judges
    }
    deltas = [round(r["psnr_delta"]["mean"], 2) for r in rows]
    return Verdict(
        claim="perceptual_at_lower_psnr",
        rule="per seed and held-out judge: bootstrap 95% CI of mean ln(Gram distance TSRN-G "
        "/ MSE) < 0; per seed: CI of mean PSNR(TSRN-G) - PSNR(MSE) < 0; all: holds",
        outcome=outcome,
        numbers={"seeds": rows, "gram_ratio": ratios, "psnr_delta_db": deltas},
        text=f"TSRN-G / MSE Gram distance to HR per judge and seed: {ratios} "
        f"({sum(better)}/{len(better)} significantly lower); PSNR change {deltas} dB "
        f"({sum(lower)}/{len(rows)} significantly lower).",
        paper=GONDAL_TSRN_CLAIMS["perceptual_at_lower_psnr"],
    )


def feature_loss_blurs(seeds: Sequence[Mapping[str, Arrays]], n_boot: int) -> Verdict:
    """Claim 2. ``seeds``: per seed ``{"feature loss": scores, "TSRN-G": scores}`` with
    per-image ``hf_ratio`` (Laplacian energy relative to HR).

    Rule: in a seed the feature-loss network blurs where the Gram one does not when the
    bootstrap CI of mean ln(hf_feature / hf_gram) lies below 0. Every seed: holds; some:
    partly; none: does not hold.
    """
    rows = _log_ratios(seeds, "feature loss", "TSRN-G", "hf_ratio", n_boot)
    outcome = tally(r["ci"][1] < 0 for r in rows)
    ratios = [_times(r) for r in rows]
    hf = [
        [round(float(np.mean(s[k]["hf_ratio"])), 3) for k in ("feature loss", "TSRN-G")]
        for s in seeds
    ]
    return Verdict(
        claim="feature_loss_blurs",
        rule="per seed: bootstrap 95% CI of mean ln(HF energy feature-loss / Gram-loss "
        "output) < 0; all seeds: holds",
        outcome=outcome,
        numbers={"seeds": rows, "hf_ratio_feature_vs_gram": ratios, "hf_vs_hr": hf},
        text=f"High-frequency energy, feature loss / Gram loss: {ratios} per seed "
        f"(each relative to HR, feature vs Gram: {hf}).",
        paper=GONDAL_TSRN_CLAIMS["feature_loss_blurs"],
    )


def guided_keeps_segments(seeds: Sequence[Mapping[str, Arrays]], n_boot: int) -> Verdict:
    """Claim 3. ``seeds``: per seed ``{"TSRN-S": scores, "TSRN-G": scores}`` with
    per-image ``bleed_gram`` (per-segment Gram distance near segment boundaries) and
    ``segment_gram`` (over whole segments).

    Rule: in a seed guidance keeps textures apart when the bootstrap CI of mean
    ln(bleed_S / bleed_G) lies below 0. Every seed: holds; some seed, or only the
    whole-segment distance lower in every seed: partly; else does not hold.
    """
    bleed = _log_ratios(seeds, "TSRN-S", "TSRN-G", "bleed_gram", n_boot)
    seg = _log_ratios(seeds, "TSRN-S", "TSRN-G", "segment_gram", n_boot)
    outcome = tally(r["ci"][1] < 0 for r in bleed)
    if outcome == "does not hold" and all(r["ci"][1] < 0 for r in seg):
        outcome = "partly"
    rb, rs = [_times(r) for r in bleed], [_times(r) for r in seg]
    return Verdict(
        claim="guided_keeps_segments",
        rule="per seed: bootstrap 95% CI of mean ln(boundary per-segment Gram distance "
        "TSRN-S / TSRN-G) < 0; all seeds: holds",
        outcome=outcome,
        numbers={"bleed": bleed, "segment": seg, "bleed_ratio": rb, "segment_ratio": rs},
        text=f"TSRN-S / TSRN-G per-segment Gram distance near boundaries: {rb}; over whole "
        f"segments: {rs} (per seed).",
        paper=GONDAL_TSRN_CLAIMS["guided_keeps_segments"],
    )


def recognisability(seeds: Sequence[Mapping[str, np.ndarray]], n_boot: int) -> Verdict:
    """Claim 4. ``seeds``: per seed ``{"bicubic", "MSE", "TSRN-G", "HR": correct (N,)}``
    (1/0 per test image, a texture classifier that trained neither network).

    Rule: in a seed TSRN-G keeps more recognisability when the bootstrap CI of its
    accuracy minus the MSE network's lies above 0 (and so nearer HR's, if HR is at least
    as accurate). Every seed: holds; any seed with the CI below 0: does not hold; else
    inconclusive.
    """
    rows = [paired(s["TSRN-G"], s["MSE"], False, n_boot, i) for i, s in enumerate(seeds)]
    outcome = by_interval(r["ci"] for r in rows)
    acc = {k: [round(float(np.mean(s[k])), 3) for s in seeds] for k in seeds[0]}
    return Verdict(
        claim="recognisability",
        rule="per seed: bootstrap 95% CI of accuracy(TSRN-G) - accuracy(MSE) > 0 on the "
        "same test images; all seeds: holds; any CI < 0: does not hold",
        outcome=outcome,
        numbers={"seeds": rows, "accuracy": acc},
        text=f"Texture-classifier accuracy per seed: {acc}.",
        paper=GONDAL_TSRN_CLAIMS["recognisability"],
    )


def gram_beats_features(judges: Mapping[str, Mapping[str, np.ndarray]], n_boot: int) -> Verdict:
    """Claim 5 (proxy). ``judges``: per network ``{"gram": right (N,), "feature": right
    (N,)}`` on the same triplets (:func:`~helpers.texture_loss.evaluate.retrieval_2afc`).

    Rule: for a network the Gram distance is better when the bootstrap CI of its 2AFC
    score minus the feature distance's lies above 0. Every network: holds; some: partly;
    any below 0 and none above: does not hold; else inconclusive.
    """
    rows = {
        k: paired(v["gram"], v["feature"], False, n_boot, i)
        for i, (k, v) in enumerate(judges.items())
    }
    outcome = by_interval((r["ci"] for r in rows.values()), partly=True)
    scores = {
        k: {m: round(100 * float(np.mean(v[m])), 1) for m in ("gram", "feature")}
        for k, v in judges.items()
    }
    return Verdict(
        claim="gram_beats_features",
        rule="per network: bootstrap 95% CI of 2AFC(Gram) - 2AFC(feature) > 0 on the same "
        "same-texture triplets (a proxy, not BAPPS); all networks: holds",
        outcome=outcome,
        numbers={"judges": rows, "score_percent": scores},
        text=f"Same-texture 2AFC, % right (Gram vs feature distance): {scores}.",
        paper=GONDAL_TSRN_CLAIMS["gram_beats_features"],
    )
