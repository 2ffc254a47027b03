"""How well features separate degradations or contents: the Calinski–Harabasz index (CHI)
with a restricted permutation null and a bootstrap over contents, a linear probe, and 2-D
projections for the figures.

CHI (scikit-learn's ``calinski_harabasz_score``) = [B / (k − 1)] / [W / (n − k)], B and W
the between- and within-cluster sums of squares. It is computed on PCA-reduced features
(:func:`reduce`), not on a 2-D t-SNE/UMAP embedding as the paper's figures are: a 2-D
projection distorts distances and its CHI depends on the projection's own settings, so it
is printed beside ours (:func:`chi`, on :func:`embed_2d`'s output) only as the paper's way.
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.manifold import TSNE
from sklearn.metrics import calinski_harabasz_score
from sklearn.model_selection import GroupKFold, cross_val_score, permutation_test_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

__all__ = [
    "ChiTest",
    "chi",
    "chi_many",
    "chi_test",
    "embed_2d",
    "paired_log_ratio",
    "probe",
    "reduce",
]


def _codes(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Labels of any dtype -> int codes 0..k-1 and k (``ValueError`` below two classes)."""
    classes, codes = np.unique(np.asarray(labels), return_inverse=True)
    if len(classes) < 2:
        raise ValueError(
            f"CHI needs at least two classes, got {len(classes)} ({classes.tolist()[:5]}); "
            "give inputs of two or more degradations / contents"
        )
    return codes, len(classes)


def reduce(x: np.ndarray, n_components: int = 50) -> np.ndarray:
    """(n, d) features -> (n, m) PCA scores, m = min(n_components, n − 1, d) (centred,
    not whitened: CHI on all m scores equals CHI on the features when m = rank)."""
    x = np.asarray(x, np.float64)
    if x.ndim != 2 or len(x) < 3:
        raise ValueError(f"features must be (n >= 3, d), got {x.shape}")
    m = max(1, min(n_components, len(x) - 1, x.shape[1]))
    return PCA(m, svd_solver="full").fit_transform(x)


def chi(x: np.ndarray, labels: np.ndarray) -> float:
    """Calinski–Harabasz index of points ``x`` (n, d) under ``labels`` (n,): scikit-learn's
    ``calinski_harabasz_score`` (higher = tighter, better separated classes)."""
    codes, k = _codes(labels)
    if k >= len(x):
        raise ValueError(f"CHI needs fewer classes ({k}) than points ({len(x)})")
    return float(calinski_harabasz_score(np.asarray(x, np.float64), codes))


def chi_many(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """CHI of one point set under many labellings at once: ``labels`` (P, n) int codes
    0..k-1 (every row using all k classes) -> (P,).

    Vectorised with one-hot sums (B = sum_k |S_k|^2 / n_k − n |mean|^2, W = T − B), since a
    permutation null calls CHI hundreds of times per layer; equals :func:`chi` row by row
    (tests/test_ddr.py).
    """
    x = np.asarray(x, np.float64)
    labels = np.atleast_2d(labels)
    n = x.shape[0]
    k = int(labels.max()) + 1
    xc = x - x.mean(0)
    total = float((xc**2).sum())
    onehot = np.zeros((labels.shape[0], n, k))
    np.put_along_axis(onehot, labels[..., None], 1.0, axis=2)
    counts = onehot.sum(1)  # (P, k)
    sums = np.einsum("pnk,nd->pkd", onehot, xc)
    between = ((sums**2).sum(2) / np.maximum(counts, 1)).sum(1)
    within = total - between
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(within > 0, between * (n - k) / (within * (k - 1)), 1.0)


def _permute_within(codes: np.ndarray, blocks: np.ndarray, n: int, rng) -> np.ndarray:
    """``n`` copies of ``codes`` (m,), each shuffled within every block of ``blocks``."""
    out = np.tile(codes, (n, 1))
    for b in np.unique(blocks):
        idx = np.flatnonzero(blocks == b)
        out[:, idx] = rng.permuted(out[:, idx], axis=1)
    return out


@dataclass(frozen=True)
class ChiTest:
    """CHI of one feature set under degradation and content labels.

    ``p_*``: restricted permutation p-values, (1 + #null >= observed) / (1 + n_perm);
    ``ci_*``: 95 % percentile bootstrap intervals over contents; ``log_ratio`` =
    ln(chi_degradation / chi_content) with its bootstrap interval. ``boot_degradation``
    (n_boot,): the bootstrap replicates of CHI by degradation; two tests of equally
    structured inputs with the same ``seed`` draw the same contents, so
    :func:`paired_log_ratio` compares two networks on the same resamples.
    """

    chi_degradation: float
    chi_content: float
    p_degradation: float
    p_content: float
    ci_degradation: tuple[float, float]
    ci_content: tuple[float, float]
    log_ratio: float
    log_ratio_ci: tuple[float, float]
    n_perm: int
    n_boot: int
    boot_degradation: np.ndarray = field(repr=False, compare=False, default=None)

    def to_dict(self) -> dict:
        """The JSON-ready numbers (without the bootstrap replicates)."""
        d = {k: v for k, v in asdict(self).items() if k != "boot_degradation"}
        return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def _ci95(v: np.ndarray) -> tuple[float, float]:
    """The 95 % percentile interval of bootstrap replicates ``v``: ``(lo, hi)``."""
    lo, hi = np.percentile(v, [2.5, 97.5])
    return float(lo), float(hi)


def paired_log_ratio(a: ChiTest, b: ChiTest) -> dict[str, float]:
    """ln(CHI_a / CHI_b) by degradation, with the 95 % percentile interval of the paired
    bootstrap (replicate i of both on the same content resample: same seed, same design)."""
    if a.boot_degradation is None or b.boot_degradation is None:
        raise ValueError("both tests need their bootstrap replicates (from chi_test)")
    if len(a.boot_degradation) != len(b.boot_degradation):
        raise ValueError("the tests have different bootstrap sizes; run both with one n_boot")
    r = np.log(a.boot_degradation / b.boot_degradation)
    return {"log_ratio": float(np.log(a.chi_degradation / b.chi_degradation)), "ci": list(_ci95(r))}


def _boot_chis(x, deg, con, n_boot, rng) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap replicates of (CHI by degradation, CHI by content): contents drawn with
    replacement, each with all its inputs; a content drawn twice counts as two contents."""
    ids = np.unique(con)
    by = {c: np.flatnonzero(con == c) for c in ids}
    out_d, out_c = np.empty(n_boot), np.empty(n_boot)
    for b in range(n_boot):
        draw = rng.choice(ids, len(ids), replace=True)
        rows = np.concatenate([by[c] for c in draw])
        new_con = np.repeat(np.arange(len(draw)), [len(by[c]) for c in draw])
        xb = x[rows]
        out_d[b] = chi_many(xb, deg[rows][None])[0]
        out_c[b] = chi_many(xb, new_con[None])[0]
    return out_d, out_c


def chi_test(
    x: np.ndarray,
    degradation: np.ndarray,
    content: np.ndarray,
    n_perm: int = 200,
    n_boot: int = 200,
    seed: int = 0,
    n_components: int = 50,
) -> ChiTest:
    """CHI by degradation and by content, each against its null, with bootstrap CIs.

    Args:
        x: (n, d) features of n inputs (reduced with :func:`reduce` first).
        degradation: (n,) degradation labels; content: (n,) content labels. Every content
            should appear under every degradation (the paper's aligned design).
        n_perm: permutations per null. The null of CHI by degradation shuffles the
            degradation labels *within each content* (features then carry content but no
            degradation information); the null of CHI by content shuffles content labels
            within each degradation.
        n_boot: bootstrap replicates over contents.
    """
    if n_perm < 1 or n_boot < 1:
        raise ValueError(f"n_perm and n_boot must be >= 1, got {n_perm}, {n_boot}")
    z = reduce(x, n_components)
    deg, _ = _codes(degradation)
    con, _ = _codes(content)
    rng = np.random.default_rng(seed)
    obs_d, obs_c = chi(z, deg), chi(z, con)
    null_d = chi_many(z, _permute_within(deg, con, n_perm, rng))
    null_c = chi_many(z, _permute_within(con, deg, n_perm, rng))
    boot_d, boot_c = _boot_chis(z, deg, con, n_boot, rng)
    return ChiTest(
        chi_degradation=obs_d,
        chi_content=obs_c,
        p_degradation=float((1 + (null_d >= obs_d).sum()) / (1 + n_perm)),
        p_content=float((1 + (null_c >= obs_c).sum()) / (1 + n_perm)),
        ci_degradation=_ci95(boot_d),
        ci_content=_ci95(boot_c),
        log_ratio=float(np.log(obs_d / obs_c)),
        log_ratio_ci=_ci95(np.log(boot_d / boot_c)),
        n_perm=n_perm,
        n_boot=n_boot,
        boot_degradation=boot_d,
    )


def probe(
    x: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    folds: int = 5,
    n_perm: int = 0,
    seed: int = 0,
) -> dict[str, float]:
    """Distortion identification: a linear probe (standardised features, multinomial
    logistic regression) predicting ``labels`` (n,), cross-validated with contents held
    out (``GroupKFold`` on ``groups``: a fold never sees its test contents).

    Returns ``{"accuracy", "chance"}`` (chance = the majority class's share) and, with
    ``n_perm`` > 0, ``"p"``: scikit-learn's ``permutation_test_score`` p-value (labels
    shuffled, the same folds).
    """
    codes, k = _codes(labels)
    folds = min(folds, len(np.unique(groups)))
    if folds < 2:
        raise ValueError("the probe needs at least two contents to hold one out")
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, C=1.0))
    cv = GroupKFold(folds)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter on near-separable folds
        if n_perm > 0:
            score, _, p = permutation_test_score(
                clf, x, codes, groups=groups, cv=cv, n_permutations=n_perm, random_state=seed
            )
        else:
            score = cross_val_score(clf, x, codes, groups=groups, cv=cv).mean()
    out = {"accuracy": float(score), "chance": float(np.bincount(codes).max() / len(codes))}
    if n_perm > 0:
        out["p"] = float(p)
    return out


def embed_2d(x: np.ndarray, method: str = "tsne", seed: int = 0) -> np.ndarray:
    """(n, d) features -> (n, 2) for a figure: ``"pca"``, ``"tsne"`` (scikit-learn,
    perplexity min(30, (n − 1) / 3), on the PCA scores) or ``"umap"`` (umap-learn)."""
    z = reduce(x)
    if method == "pca":
        return z[:, :2] if z.shape[1] >= 2 else np.c_[z, np.zeros(len(z))]
    if method == "tsne":
        perp = min(30.0, (len(z) - 1) / 3)
        return TSNE(2, perplexity=perp, init="pca", random_state=seed).fit_transform(z)
    if method == "umap":
        import umap

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # n_jobs / random_state notice
            return umap.UMAP(random_state=seed).fit_transform(z)
    raise ValueError(f"method must be 'pca', 'tsne' or 'umap', got {method!r}")
