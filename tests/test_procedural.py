"""Procedural DTD-named textures: determinism, ranges, splits, distinctness, speed."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from helpers.data import procedural as P


def test_labels_are_dtd_names() -> None:
    dtd47 = set(
        "banded blotchy braided bubbly bumpy chequered cobwebbed cracked crosshatched "
        "crystalline dotted fibrous flecked freckled frilly gauzy grid grooved honeycombed "
        "interlaced knitted lacelike lined marbled matted meshed paisley perforated pitted "
        "pleated polka-dotted porous potholed scaly smeared spiralled sprinkled stained "
        "stratified striped studded swirly veined waffled woven wrinkled zigzagged".split()
    )
    assert len(dtd47) == 47
    assert set(P.LABELS_EMBEDDED) <= dtd47
    assert len(P.LABELS_EMBEDDED) >= 15
    assert list(P.LABELS_EMBEDDED) == sorted(P.LABELS_EMBEDDED)


def test_every_label_shape_range_dtype() -> None:
    for lab in P.LABELS_EMBEDDED:
        x = P.generate(lab, 2, 32, seed=3)
        assert x.shape == (2, 3, 32, 32), lab
        assert x.dtype == torch.float32, lab
        assert torch.isfinite(x).all() and x.min() >= 0 and x.max() <= 1, lab
        assert x.std() > 0.01, f"{lab} is flat"


def test_deterministic_and_seed_dependent() -> None:
    for lab in ("cracked", "fibrous", "woven"):
        a = P.generate(lab, 3, 40, seed=7)
        b = P.generate(lab, 3, 40, seed=7)
        c = P.generate(lab, 3, 40, seed=8)
        assert torch.equal(a, b)
        assert not torch.equal(a, c)


def test_make_dataset_splits_and_class_independence() -> None:
    labs = ("striped", "dotted")
    x, y = P.make_dataset(labs, 4, 32, seed=1, split="train")
    assert x.shape == (8, 3, 32, 32)
    assert y.tolist() == [0, 0, 0, 0, 1, 1, 1, 1]
    xt, _ = P.make_dataset(labs, 4, 32, seed=1, split="test")
    assert not torch.equal(x, xt)  # held-out split comes from different seeds
    # A class's samples do not depend on which other classes are requested.
    only, _ = P.make_dataset(("dotted",), 4, 32, seed=1, split="train")
    assert torch.equal(only, x[4:])


def _features(x: torch.Tensor) -> np.ndarray:
    """Colour-blind, rotation-invariant spectrum + gradient features per image."""
    g = x.mean(1)
    g = (g - g.mean((1, 2), keepdim=True)) / (g.std((1, 2), keepdim=True) + 1e-6)
    spec = torch.fft.fftshift(torch.fft.fft2(g).abs() ** 2, dim=(-2, -1))
    n = g.shape[-1]
    yy, xx = torch.meshgrid(torch.arange(n) - n // 2, torch.arange(n) - n // 2, indexing="ij")
    r = torch.sqrt(yy.float() ** 2 + xx.float() ** 2).clamp(max=n // 2 - 1).long()
    radial = torch.zeros(len(g), n // 2).index_add_(1, r.flatten(), spec.flatten(1))
    radial = torch.log1p(radial / radial.sum(1, keepdim=True) * 100)
    gy, gx = torch.gradient(g, dim=(1, 2))
    mag = torch.sqrt(gx**2 + gy**2).flatten(1)
    q = torch.quantile(mag, torch.tensor([0.1, 0.5, 0.9, 0.99]), dim=1).T
    hist = torch.stack([(g.flatten(1) < t).float().mean(1) for t in (-1.0, 0.0, 1.0)], 1)
    return torch.cat([radial, q, hist], 1).numpy()


def test_classes_are_distinguishable_by_simple_features() -> None:
    """A linear classifier on hand-made features beats chance by a wide margin."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    labs = P.LABELS_EMBEDDED
    xtr, ytr = P.make_dataset(labs, 10, 40, seed=0, split="train")
    xte, yte = P.make_dataset(labs, 5, 40, seed=0, split="test")
    sc = StandardScaler().fit(_features(xtr))
    clf = LogisticRegression(max_iter=2000).fit(sc.transform(_features(xtr)), ytr.numpy())
    acc = (clf.predict(sc.transform(_features(xte))) == yte.numpy()).mean()
    chance = 1 / len(labs)
    assert acc > 4 * chance, f"accuracy {acc:.2f} vs chance {chance:.2f}"


def test_speed() -> None:
    t0 = time.perf_counter()
    for lab in P.LABELS_EMBEDDED:
        P.generate(lab, 4, 64, seed=0)
    per_image = (time.perf_counter() - t0) / (4 * len(P.LABELS_EMBEDDED))
    assert per_image < 0.25, f"{per_image * 1e3:.0f} ms per 64 px image"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"label": "brick"}, "no procedural generator"),
        ({"n": 0}, "positive int"),
        ({"size": 8}, "size"),
        ({"seed": -1}, "seed"),
        ({"split": "val"}, "split"),
    ],
)
def test_bad_inputs(kwargs: dict, match: str) -> None:
    args = {"label": "striped", "n": 1, "size": 32, "seed": 0, "split": "train", **kwargs}
    with pytest.raises(ValueError, match=match):
        P.generate(**args)


def test_make_dataset_bad_inputs() -> None:
    with pytest.raises(ValueError, match="unique"):
        P.make_dataset(("striped", "striped"), 1, 32)
    with pytest.raises(ValueError, match="empty"):
        P.make_dataset((), 1, 32)
