"""Texture profiles of SR data (Magid et al., CVPR 2022, §4.1-4.2.2): label shares and
their distances, PSNR per label, entropy vs PSNR, the high-complexity selection, and the
texture manifold (2-d projection, k-means).

- Fig. 8: :func:`semantic_profile` (share of patches per label), :func:`js_distance`,
  :func:`profile_distances` (Jensen-Shannon, base 2, in [0, 1]).
  :func:`profile_nulls` (each set's distance to a reference set with its permutation null).
- Fig. 9: :func:`per_label_psnr` (mean patch PSNR per HR label, dB), :func:`mean_psnr_table`
  (per set and version), :func:`top_bottom_labels`, :func:`fig9_panels` (one per set and
  model), :func:`consistent_labels` (top or bottom in every panel),
  :func:`label_concordance` (Kendall's W of the SR models' gaps per label).
- Fig. 3-4: :func:`entropy_psnr_fit` (line and correlations), :func:`contrast_pair`,
  :func:`label_means` (bicubic PSNR and entropy per label), :func:`extreme_labels`.
- Fig. 7: :func:`complexity_ratio` (entropy bits / bicubic PSNR dB), :func:`select_high`.
- Fig. 5-6: :func:`project_2d` (UMAP or PCA), :func:`kmeans_clusters`,
  :func:`cluster_summary`.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.spatial.distance import jensenshannon
from sklearn.cluster import KMeans
from sklearn.decomposition import PCA

from ..published import MAGID_HIGH_RATIO, MAGID_HIGH_SHARE
from . import nulls
from .patchset import PatchSet

__all__ = [
    "cluster_summary",
    "complexity_ratio",
    "consistent_labels",
    "contrast_pair",
    "entropy_psnr_fit",
    "extreme_labels",
    "fig9_panels",
    "js_distance",
    "kmeans_clusters",
    "label_concordance",
    "label_means",
    "mean_psnr_table",
    "per_label_psnr",
    "profile_distances",
    "profile_nulls",
    "project_2d",
    "select_high",
    "semantic_profile",
    "top_bottom_labels",
]


# --------------------------------------------------------------------------- profiles
def semantic_profile(
    labels: PatchSet | Sequence[str] | np.ndarray, classes: Sequence[str] | None = None
) -> pd.Series:
    """Share of patches per label (Fig. 8): a Series over ``classes`` summing to 1.

    ``labels``: a :class:`PatchSet` (its HR labels and classes) or label names (then
    ``classes`` lists every label, so absent labels get share 0).
    """
    if isinstance(labels, PatchSet):
        classes, names = labels.classes, labels.label_names("hr")
    else:
        names = np.asarray(labels, dtype=object)
        if classes is None:
            classes = sorted(set(names.tolist()))
    if len(names) == 0:
        raise ValueError("no labels: a profile needs at least one patch")
    unknown = set(names.tolist()) - set(classes)
    if unknown:
        raise ValueError(f"labels {sorted(unknown)} are not in classes {list(classes)}")
    counts = pd.Series(names).value_counts().reindex(list(classes), fill_value=0)
    return (counts / counts.sum()).rename("share")


def js_distance(p: np.ndarray | pd.Series, q: np.ndarray | pd.Series, base: float = 2.0) -> float:
    """Jensen-Shannon distance sqrt(JSD(p || q)) between two distributions
    (``scipy.spatial.distance.jensenshannon``).

    JSD = (KL(p || m) + KL(q || m)) / 2 with m = (p + q) / 2; inputs are normalised to sum
    1. With ``base=2`` the distance lies in [0, 1] (1 = disjoint supports).
    """
    a, b = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(f"p and q must be 1-d of equal length, got {a.shape} and {b.shape}")
    if (a < 0).any() or (b < 0).any() or a.sum() <= 0 or b.sum() <= 0:
        raise ValueError("p and q must be non-negative with a positive sum")
    # Rounding can make the JSD of (nearly) equal profiles slightly negative, and scipy's
    # square root of it NaN: that distance is 0.
    with np.errstate(invalid="ignore"):
        return float(np.nan_to_num(jensenshannon(a, b, base=base)))


def profile_distances(profiles: Mapping[str, pd.Series]) -> pd.DataFrame:
    """Pairwise Jensen-Shannon distances (base 2, in [0, 1]) between profiles."""
    names = list(profiles)
    d = np.zeros((len(names), len(names)))
    for i, a in enumerate(names):
        for j in range(i + 1, len(names)):
            b = names[j]
            if list(profiles[a].index) != list(profiles[b].index):
                raise ValueError(f"profiles {a!r} and {b!r} are over different labels")
            d[i, j] = d[j, i] = js_distance(profiles[a], profiles[b])
    return pd.DataFrame(d, index=names, columns=names)


def profile_nulls(
    sets: Mapping[str, PatchSet],
    reference: str,
    datasets: Sequence[str],
    n_classes: int,
    n_draws: int = 1000,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """dataset -> :func:`helpers.texture.nulls.js_null` of the HR labels of
    ``sets[reference]`` against those of ``sets[dataset]``, for each of ``datasets``."""
    return {
        ds: nulls.js_null(
            sets[reference].labels["hr"], sets[ds].labels["hr"], n_classes, n_draws, seed
        )
        for ds in datasets
    }


# --------------------------------------------------------------------------- PSNR by label
def per_label_psnr(
    ps: PatchSet, versions: Sequence[str] | None = None, min_count: int = 1
) -> pd.DataFrame:
    """Mean patch PSNR (dB) per HR label (Fig. 9).

    Returns a DataFrame indexed by label (labels with at least ``min_count`` patches),
    one column per version (default: bicubic and every SR model) and ``n`` (patches).
    """
    versions = list(ps.models if versions is None else versions)
    for v in versions:
        if v not in ps.psnr:
            raise KeyError(f"{ps.dataset}: no PSNR for {v!r}; have {list(ps.psnr)}")
    df = pd.DataFrame({v: ps.psnr[v] for v in versions})
    df["label"] = ps.label_names("hr")
    g = df.groupby("label")
    out = g[versions].mean()
    out["n"] = g.size()
    return out[out["n"] >= min_count].sort_values(versions[0], ascending=False)


def mean_psnr_table(sets: Mapping[str, PatchSet], datasets: Sequence[str]) -> pd.DataFrame:
    """Mean patch PSNR (dB) of every version (bicubic and each SR model, rows) of each of
    ``datasets`` (columns); NaN where a set lacks a version."""
    return pd.DataFrame(
        {ds: {m: sets[ds].psnr[m].mean() for m in sets[ds].models} for ds in datasets}
    )


def top_bottom_labels(
    per_label: pd.DataFrame, model: str, k: int = 5, reference: str = "bicubic"
) -> pd.DataFrame:
    """The ``k`` labels with the highest and lowest mean PSNR of ``model`` and its gap over
    ``reference`` (dB), as in Fig. 9. Fewer labels than 2k: split them in halves (a
    single label is then both top and bottom).

    Returns columns ``label``, ``group`` (top/bottom), ``psnr``, ``reference``, ``gap``, ``n``.
    """
    s = per_label[model].sort_values(ascending=False)
    if len(s) == 0:
        raise ValueError(f"no labels with PSNR for {model!r}")
    # Fewer than 2k labels: halves (a single label is both the top and the bottom one).
    k = max(1, min(k, len(s) // 2))
    t = per_label.loc[s.index[:k].append(s.index[-k:])]
    return pd.DataFrame(
        {
            "label": t.index.to_list(),
            "group": ["top"] * k + ["bottom"] * k,
            "psnr": t[model].to_numpy(),
            "reference": t[reference].to_numpy(),
            "gap": (t[model] - t[reference]).to_numpy(),
            "n": t["n"].to_numpy(np.int64),
        }
    )


def fig9_panels(
    per_label: Mapping[str, pd.DataFrame], models: Sequence[str], k: int = 5
) -> dict[tuple[str, str], pd.DataFrame]:
    """(dataset, model) -> :func:`top_bottom_labels` (``k`` each) for every dataset of
    ``per_label`` (:func:`per_label_psnr` tables by dataset) and each of ``models``."""
    return {(ds, m): top_bottom_labels(per_label[ds], m, k=k) for ds in per_label for m in models}


def label_concordance(
    per_label: Mapping[str, pd.DataFrame], models: Sequence[str], reference: str = "bicubic"
) -> dict[str, dict[str, Any]]:
    """dataset -> :func:`helpers.texture.nulls.kendall_w` of the per-label gaps of ``models``
    over ``reference`` (:func:`per_label_psnr` tables by dataset): do the models find the
    same labels hard?"""
    return {
        ds: nulls.kendall_w(t[list(models)].sub(t[reference], axis=0))
        for ds, t in per_label.items()
    }


def consistent_labels(bars: pd.DataFrame) -> dict[str, list[str]]:
    """The labels in the top (and in the bottom) group of *every* Fig. 9 panel.

    ``bars``: :func:`top_bottom_labels` frames of several panels, concatenated with
    ``dataset`` and ``model`` columns. Returns ``{"bottom": [...], "top": [...]}``, each in
    order of frequency (ties: first seen)."""
    n_panels = len(bars.groupby(["dataset", "model"]))
    out = {}
    for group in ("bottom", "top"):
        counts = bars[bars.group == group].label.value_counts()
        out[group] = list(counts[counts == n_panels].index)
    return out


# --------------------------------------------------------------------------- complexity
def entropy_psnr_fit(entropy: np.ndarray, psnr_db: np.ndarray) -> dict[str, float]:
    """Least-squares line PSNR = slope * entropy + intercept with Pearson and Spearman
    correlations and their p-values (Fig. 3).

    Raises ``ValueError`` for fewer than 3 patches, lengths that differ, a non-finite
    value, or all entropies (or all PSNRs) equal: no correlation is defined there (scipy
    would return NaN, or fail without saying which input is at fault)."""
    x, y = np.asarray(entropy, float), np.asarray(psnr_db, float)
    if x.shape != y.shape or x.ndim != 1 or len(x) < 3:
        raise ValueError(
            f"entropy and PSNR must be 1-d of one length >= 3, got {x.shape} and {y.shape}"
        )
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ValueError("entropy and PSNR must be finite (cap an infinite PSNR first)")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        which = "entropy" if np.ptp(x) == 0 else "PSNR"
        raise ValueError(f"every patch has the same {which}: no line or correlation is defined")
    lr = stats.linregress(x, y)
    sp = stats.spearmanr(x, y)
    return {
        "slope": float(lr.slope),
        "intercept": float(lr.intercept),
        "pearson_r": float(lr.rvalue),
        "pearson_p": float(lr.pvalue),
        "spearman_rho": float(sp.statistic),
        "spearman_p": float(sp.pvalue),
        "n": len(x),
    }


def contrast_pair(x: np.ndarray, y: np.ndarray, tol: float) -> tuple[int, int]:
    """Indices (i, j) with |x_i - x_j| <= tol that maximise |y_i - y_j| (i has the larger y).

    Fig. 3's "same entropy, very different PSNR" (and vice versa with x, y swapped). Exact:
    sort by x; every pair within ``tol`` lies in the window of points from its smaller x up
    to that x + tol, so the best pair is the largest range (max - min of y, one
    ``reduceat`` over all windows) of any window; ties go to the first window and, in it,
    to the first maximum and minimum. O(N w) for windows of w points.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    if len(x) < 2:
        raise ValueError("need at least two points")
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    hi = np.searchsorted(xs, xs + tol, side="right")  # window [i, hi), hi > i
    bounds = np.c_[np.arange(len(xs)), hi].ravel()  # reduceat over [i, hi) at even slots
    padded = np.append(ys, 0.0)  # reduceat needs indices < len; the pad is never reduced
    span = np.maximum.reduceat(padded, bounds)[::2] - np.minimum.reduceat(padded, bounds)[::2]
    best = int(np.argmax(span))
    window = ys[best : hi[best]]
    return int(order[best + np.argmax(window)]), int(order[best + np.argmin(window)])


def label_means(patches: pd.DataFrame, entropy_col: str, min_count: int = 1) -> pd.DataFrame:
    """Per label (index) of a :meth:`helpers.texture.complexity.ComplexitySet.frame`: mean
    bicubic ``psnr`` (dB), mean ``entropy`` (column ``entropy_col``, bits) and ``n``
    patches; labels with at least ``min_count`` patches, highest PSNR first (Fig. 4)."""
    by = patches.groupby("label").agg(
        psnr=("psnr_bicubic", "mean"), entropy=(entropy_col, "mean"), n=("label", "size")
    )
    return by[by.n >= min_count].sort_values("psnr", ascending=False)


def extreme_labels(labels: Sequence[str], k: int = 3) -> list[str]:
    """The first and the last ``k`` of ``labels`` (sorted, e.g. :func:`label_means`' index):
    ``k`` shrinks to half their number (at least 1), so no label is listed twice unless
    there is only one."""
    labels = list(labels)
    k = min(k, len(labels) // 2) or 1
    return labels[:k] + labels[-k:]


def complexity_ratio(entropy: np.ndarray, psnr_db: np.ndarray) -> np.ndarray:
    """The paper's complexity measure: entropy of gradients (bits) / bicubic PSNR (dB)."""
    return np.asarray(entropy, float) / np.asarray(psnr_db, float)


def select_high(
    ratio: np.ndarray,
    threshold: float = MAGID_HIGH_RATIO,
    share: float = MAGID_HIGH_SHARE,
    min_count: int = 50,
    reference: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, Any]]:
    """High-complexity patches: ``ratio >= threshold`` (the paper's 0.4), unless fewer than
    ``min_count`` patches of ``reference`` (default ``ratio``) pass it; only then the top
    ``share`` (the paper's 20%) of ``reference`` by quantile (``kind = "quantile"``, and the
    chapter says so).

    Pass the training patches' ratios as ``reference`` to apply the same cut to test
    patches. Returns ``(mask over ratio, rule)``: rule has ``kind`` ("threshold" or
    "quantile"), the ``cut`` used, ``share`` and ``count`` of ``ratio`` selected, the paper
    rule's own ``paper_rule_share`` and ``paper_rule_count`` on ``reference``, ``min_count``.
    """
    r = np.asarray(ratio, float)
    ref = r if reference is None else np.asarray(reference, float)
    paper_count = int(np.sum(ref >= threshold))
    if paper_count >= min_count:
        kind, cut = "threshold", float(threshold)
    else:
        kind, cut = "quantile", float(np.quantile(ref, 1.0 - share))
    mask = r >= cut
    return mask, {
        "kind": kind,
        "cut": cut,
        "share": float(mask.mean()) if len(mask) else 0.0,
        "count": int(mask.sum()),
        "paper_rule_share": float(paper_count / len(ref)) if len(ref) else 0.0,
        "paper_rule_count": paper_count,
        "paper_threshold": float(threshold),
        "min_count": int(min_count),
    }


# --------------------------------------------------------------------------- embeddings
def project_2d(
    embedding: np.ndarray,
    method: str = "umap",
    seed: int = 0,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
) -> np.ndarray:
    """2-d projection (N, 2) of embeddings (N, E): ``"umap"`` (umap-learn, seeded, as the
    paper) or ``"pca"`` (scikit-learn; no numba compile, for quick runs)."""
    x = np.asarray(embedding, np.float32)
    if method == "pca":
        return PCA(n_components=2, random_state=seed).fit_transform(x)
    if method != "umap":
        raise ValueError(f"method must be 'umap' or 'pca', got {method!r}")
    # umap-learn imports numba and pynndescent (seconds) and compiles on first use; quick
    # runs project with PCA and never need it, so it is imported only here.
    import umap

    with warnings.catch_warnings():  # "n_jobs overridden by random_state": intended
        warnings.simplefilter("ignore", UserWarning)
        reducer = umap.UMAP(
            n_neighbors=min(n_neighbors, len(x) - 1), min_dist=min_dist, random_state=seed
        )
        return reducer.fit_transform(x)


def kmeans_clusters(embedding: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """k-means cluster index (N,) of the embeddings (scikit-learn, 10 seeded restarts)."""
    if not 1 <= k <= len(embedding):
        raise ValueError(f"k must be in 1..{len(embedding)} (the number of patches), got {k}")
    return KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(embedding)


def cluster_summary(clusters: np.ndarray, labels: Sequence[str]) -> pd.DataFrame:
    """Per cluster: ``size``, ``top_label`` (most frequent), ``top_share``, ``n_labels``
    (distinct labels) and ``entropy_bits`` of its label distribution."""
    df = pd.DataFrame({"cluster": np.asarray(clusters), "label": np.asarray(labels, object)})
    rows = []
    for c, g in df.groupby("cluster"):
        vc = g["label"].value_counts()
        p = vc.to_numpy() / len(g)
        rows.append(
            {
                "cluster": int(c),
                "size": len(g),
                "top_label": vc.index[0],
                "top_share": float(p[0]),
                "n_labels": len(vc),
                "entropy_bits": float(-(p * np.log2(p)).sum()),
            }
        )
    return pd.DataFrame(rows).set_index("cluster")
