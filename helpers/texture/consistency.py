"""Semantic consistency (Magid et al., CVPR 2022, §4.2.3): do SR patches keep the HR
patch's texture label?

- Table 1: :func:`agreement` (top-1 share with a percentile bootstrap CI over patches,
  top-3, soft agreement, chance level), :func:`agreement_table` (dataset x model),
  :func:`agreement_difference` (paired bootstrap of two versions) and
  :func:`agreement_differences` (every SR model vs bicubic), :func:`bootstrap_ci`.
- Which labels flip into which: :func:`flip_matrix`, :func:`top_flips`.
- Fig. 10: :func:`select_examples` (flipped and kept patches chosen by rule).
- :func:`consistency_vs_psnr`: does keeping the label go with a larger PSNR gain?
  :func:`psnr_rank_correlation`: across models, does agreement follow mean PSNR?

Shares are in [0, 1]; PSNR gains in dB.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from .patchset import PatchSet

__all__ = [
    "agreement",
    "agreement_difference",
    "agreement_differences",
    "agreement_table",
    "bootstrap_ci",
    "consistency_vs_psnr",
    "flip_matrix",
    "psnr_rank_correlation",
    "select_examples",
    "top_flips",
]


# --------------------------------------------------------------------------- agreement
def bootstrap_ci(
    values: np.ndarray,
    n_boot: int = 2000,
    seed: int = 0,
    level: float = 0.95,
    chunk: int = 2**22,
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``values`` (N,) resampling patches.

    Replicate b draws ``N`` indices with replacement from ``np.random.default_rng(seed)``
    (all replicates in order, vectorized in chunks of ``chunk`` indices), so a loop of
    ``rng.integers(0, N, N)`` per replicate gives the same numbers.
    """
    v = np.asarray(values, np.float64)
    n = len(v)
    if n == 0:
        raise ValueError("bootstrap of an empty sample")
    rng = np.random.default_rng(seed)
    per = max(1, chunk // n)
    means = np.empty(n_boot)
    for s in range(0, n_boot, per):
        b = min(per, n_boot - s)
        means[s : s + b] = v[rng.integers(0, n, size=(b, n))].mean(axis=1)
    a = (1 - level) / 2
    lo, hi = np.quantile(means, [a, 1 - a])
    return float(lo), float(hi)


def _agreement_arrays(ps: PatchSet, model: str, k: int = 3) -> dict[str, np.ndarray]:
    ps._check_version(model)
    hr, sr = ps.labels["hr"], ps.labels[model]
    topk = np.argsort(-ps.probs["hr"], axis=1, kind="stable")[:, :k]
    return {
        "top1": (sr == hr).astype(np.float64),
        f"top{k}": (topk == sr[:, None]).any(axis=1).astype(np.float64),
        "soft": ps.probs[model][np.arange(len(ps)), hr].astype(np.float64),
    }


def agreement(
    ps: PatchSet, model: str, n_boot: int = 2000, seed: int = 0, k: int = 3
) -> dict[str, Any]:
    """Semantic consistency of ``model``'s patches with the HR patches (Table 1).

    Returns ``top1`` (share with the HR label), ``ci95`` ([lo, hi], percentile bootstrap
    over patches), ``top3`` (SR label among the HR patch's ``k`` most probable labels),
    ``soft`` (mean probability the SR patch gives the HR label), ``chance`` (top-1 share
    expected if SR labels were independent of HR labels with the same label frequencies),
    ``n``. Shares in [0, 1].
    """
    arr = _agreement_arrays(ps, model, k)
    c = len(ps.classes)
    p_hr = np.bincount(ps.labels["hr"], minlength=c) / len(ps)
    p_sr = np.bincount(ps.labels[model], minlength=c) / len(ps)
    return {
        "top1": float(arr["top1"].mean()),
        "ci95": list(bootstrap_ci(arr["top1"], n_boot, seed)),
        f"top{k}": float(arr[f"top{k}"].mean()),
        "soft": float(arr["soft"].mean()),
        "chance": float(p_hr @ p_sr),
        "n": len(ps),
    }


def agreement_table(
    patchsets: Mapping[str, PatchSet],
    models: Sequence[str] | None = None,
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`agreement` for every dataset x model (default: each set's versions), long
    format: ``dataset``, ``model``, ``top1``, ``ci_lo``, ``ci_hi``, ``top3``, ``soft``,
    ``chance``, ``n``, ``mean_psnr`` (dB)."""
    rows = []
    for ds, ps in patchsets.items():
        for m in ps.models if models is None else models:
            a = agreement(ps, m, n_boot, seed)
            rows.append(
                {
                    "dataset": ds,
                    "model": m,
                    "top1": a["top1"],
                    "ci_lo": a["ci95"][0],
                    "ci_hi": a["ci95"][1],
                    "top3": a["top3"],
                    "soft": a["soft"],
                    "chance": a["chance"],
                    "n": a["n"],
                    "mean_psnr": float(ps.psnr[m].mean()),
                }
            )
    return pd.DataFrame(rows)


def agreement_difference(
    ps: PatchSet, a: str, b: str, n_boot: int = 2000, seed: int = 0
) -> dict[str, Any]:
    """Paired top-1 difference ``agree(a) - agree(b)`` on the same patches with a paired
    bootstrap 95% CI (same resampled patches for both): ``diff``, ``ci95``,
    ``significant`` (CI excludes 0)."""
    d = _agreement_arrays(ps, a)["top1"] - _agreement_arrays(ps, b)["top1"]
    lo, hi = bootstrap_ci(d, n_boot, seed)
    return {"diff": float(d.mean()), "ci95": [lo, hi], "significant": bool(lo > 0 or hi < 0)}


def agreement_differences(
    patchsets: Mapping[str, PatchSet],
    reference: str = "bicubic",
    n_boot: int = 2000,
    seed: int = 0,
) -> pd.DataFrame:
    """:func:`agreement_difference` of every SR version against ``reference``, per set:
    ``dataset``, ``model``, ``diff_pts`` (top-1 difference, percentage points),
    ``ci_lo``/``ci_hi`` (paired bootstrap 95% CI, points), ``significant``."""
    rows = []
    for ds, ps in patchsets.items():
        for m in ps.models:
            if m == reference:
                continue
            d = agreement_difference(ps, m, reference, n_boot=n_boot, seed=seed)
            rows.append(
                {
                    "dataset": ds,
                    "model": m,
                    "diff_pts": 100 * d["diff"],
                    "ci_lo": 100 * d["ci95"][0],
                    "ci_hi": 100 * d["ci95"][1],
                    "significant": d["significant"],
                }
            )
    return pd.DataFrame(rows)


def psnr_rank_correlation(
    table: pd.DataFrame, reference: str = "bicubic", min_models: int = 3
) -> pd.DataFrame:
    """Across the SR models of each dataset of an :func:`agreement_table` (``reference``
    left out; datasets with fewer than ``min_models`` models skipped): the Spearman
    correlation of mean patch PSNR and top-1 agreement, with its two-sided p-value.
    Columns ``dataset``, ``models``, ``spearman_rho``, ``p``."""
    rows = []
    for ds, t in table[table.model != reference].groupby("dataset", sort=False):
        if len(t) >= min_models:
            r = stats.spearmanr(t.mean_psnr, t.top1)
            rows.append(
                {"dataset": ds, "models": len(t), "spearman_rho": r.statistic, "p": r.pvalue}
            )
    return pd.DataFrame(rows)


def flip_matrix(ps: PatchSet, model: str, normalize: bool = True) -> pd.DataFrame:
    """HR label (rows, labels present in HR) -> ``model``'s label (columns, all classes):
    counts, or with ``normalize`` the share of each row (rows sum to 1)."""
    ps._check_version(model)
    c = len(ps.classes)
    m = np.bincount(ps.labels["hr"] * c + ps.labels[model], minlength=c * c).reshape(c, c)
    df = pd.DataFrame(m, index=list(ps.classes), columns=list(ps.classes))
    df = df[df.sum(axis=1) > 0]
    df.index.name, df.columns.name = "HR label", f"{model} label"
    return df.div(df.sum(axis=1), axis=0) if normalize else df


def top_flips(ps: PatchSet, model: str, k: int = 5) -> pd.DataFrame:
    """The ``k`` most frequent label changes HR -> ``model``: ``hr``, ``sr``, ``count``,
    ``share_of_hr`` (of the patches with that HR label), ``share_of_flips``."""
    counts = flip_matrix(ps, model, normalize=False)
    long = counts.stack().rename("count").reset_index()
    long.columns = ["hr", "sr", "count"]
    long["share_of_hr"] = long["count"] / long.groupby("hr")["count"].transform("sum")
    flips = long[(long.hr != long.sr) & (long["count"] > 0)].copy()
    flips["share_of_flips"] = flips["count"] / max(1, flips["count"].sum())
    return flips.sort_values(["count", "hr"], ascending=[False, True]).head(k)


def select_examples(
    ps: PatchSet, model: str, n: int = 3, max_overlap: float = 0.25
) -> pd.DataFrame:
    """Fig. 10 examples by rule: the drop of the HR label's probability from the HR patch
    to ``model``'s patch, ``drop = p_HR(l) - p_SR(l)`` with l the HR label.

    ``flipped``: the ``n`` flipped patches with the largest drop; ``kept``: the ``n`` kept
    patches with the smallest drop. Greedy, skipping a patch that overlaps an already
    chosen one of the same image by more than ``max_overlap`` of its area.
    Returns rows with ``kind``, ``row`` (patch index), ``image``, ``y``, ``x``,
    ``hr_label``, ``hr_prob``, ``sr_label``, ``sr_prob``, ``drop``.
    """
    ps._check_version(model)
    i = np.arange(len(ps))
    hr = ps.labels["hr"]
    drop = ps.probs["hr"][i, hr] - ps.probs[model][i, hr]
    kept = ps.labels[model] == hr
    out = []
    for kind, mask, order in (
        ("flipped", ~kept, np.argsort(-drop, kind="stable")),
        ("kept", kept, np.argsort(drop, kind="stable")),
    ):
        chosen: list[int] = []
        for r in order[mask[order]]:
            c = ps.coords[r]
            if any(_overlap(c, ps.coords[q], ps.size) > max_overlap for q in chosen):
                continue
            chosen.append(int(r))
            if len(chosen) == n:
                break
        for r in chosen:
            out.append(
                {
                    "kind": kind,
                    "row": r,
                    "image": ps.image_names[ps.coords[r, 0]],
                    "y": int(ps.coords[r, 1]),
                    "x": int(ps.coords[r, 2]),
                    "hr_label": ps.classes[hr[r]],
                    "hr_prob": float(ps.probs["hr"][r, hr[r]]),
                    "sr_label": ps.classes[ps.labels[model][r]],
                    "sr_prob": float(ps.probs[model][r, ps.labels[model][r]]),
                    "drop": float(drop[r]),
                }
            )
    cols = ["kind", "row", "image", "y", "x", "hr_label", "hr_prob", "sr_label", "sr_prob"]
    return pd.DataFrame(out, columns=[*cols, "drop"])


def _overlap(a: np.ndarray, b: np.ndarray, size: int) -> float:
    """Overlap area of two square patches of the same image, as a share of one patch."""
    if a[0] != b[0]:
        return 0.0
    dy = max(0, size - abs(int(a[1]) - int(b[1])))
    dx = max(0, size - abs(int(a[2]) - int(b[2])))
    return dy * dx / size**2


def consistency_vs_psnr(
    ps: PatchSet, models: Sequence[str] | None = None, reference: str = "bicubic"
) -> pd.DataFrame:
    """Does keeping the HR label go with a larger PSNR gain over ``reference``? Per model:

    ``gain_kept``/``gain_flipped``: mean gain (dB) of kept / flipped patches; ``auc``: the
    probability that a random kept patch has a larger gain than a random flipped one
    (Mann-Whitney U / (n_kept n_flipped), 0.5 = no relation); ``mwu_p``: two-sided
    Mann-Whitney p-value; ``r_pb``/``r_pb_p``: point-biserial correlation of kept with gain.
    A model that keeps every label (or flips every one) has only one group: its
    ``gain_flipped`` (or ``gain_kept``), ``auc``, ``mwu_p``, ``r_pb`` and ``r_pb_p`` are NaN
    by design (no comparison exists), with ``n_kept``/``n_flipped`` saying why.
    """
    rows = []
    for m in [v for v in (ps.models if models is None else models) if v != reference]:
        kept = ps.labels[m] == ps.labels["hr"]
        gain = ps.psnr[m] - ps.psnr[reference]
        row: dict[str, Any] = {
            "model": m,
            "n_kept": int(kept.sum()),
            "n_flipped": int((~kept).sum()),
            "gain_kept": float(gain[kept].mean()) if kept.any() else np.nan,
            "gain_flipped": float(gain[~kept].mean()) if (~kept).any() else np.nan,
        }
        if kept.any() and (~kept).any():
            u = stats.mannwhitneyu(gain[kept], gain[~kept], alternative="two-sided")
            pb = stats.pointbiserialr(kept.astype(float), gain)
            row.update(
                auc=float(u.statistic / (kept.sum() * (~kept).sum())),
                mwu_p=float(u.pvalue),
                r_pb=float(pb.statistic),
                r_pb_p=float(pb.pvalue),
            )
        else:
            row.update(auc=np.nan, mwu_p=np.nan, r_pb=np.nan, r_pb_p=np.nan)
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")
