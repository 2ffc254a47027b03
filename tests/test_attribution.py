"""Tests of helpers.attribution (LAM): completeness, independent references (captum, the
reference-style loop, OpenCV, SciPy), batch and crop invariance, the bf16 body, and bad
input. Small models and images keep the file well under a minute on two CPU cores."""

from __future__ import annotations

import importlib.util
import math
import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from helpers import attribution
from helpers.attribution import (
    LAMResult,
    area_of_contribution,
    blur,
    center_window,
    diffusion_index,
    fig3_curves,
    gaussian_kernel,
    gradient_detector,
    lam,
    lam_visual,
    precision,
    visual,
)
from helpers.attribution import path as attr_path
from helpers.attribution import result as attr_result
from helpers.models import SRModel, build

ROOT = Path(__file__).resolve().parents[1]
CPU = "cpu"


def _load_reference():
    spec = importlib.util.spec_from_file_location(
        "lam_reference", ROOT / "scripts/lam_reference.py"
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _photo(n: int) -> torch.Tensor:
    """(1, 3, n, n) LR crop of scikit-image's astronaut (a real photo, offline)."""
    from skimage import data

    hr = torch.from_numpy(data.astronaut()[30:158, 150:278].copy()).permute(2, 0, 1)[None]
    return F.interpolate(hr.float() / 255.0, size=(n, n), mode="area")


@pytest.fixture(scope="module")
def edsr() -> nn.Module:
    torch.manual_seed(0)
    return build("edsr", 4, n_feats=16, n_blocks=2)  # receptive field 17 LR px


@pytest.fixture(scope="module")
def img24() -> torch.Tensor:
    return _photo(24)


def _rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max())


# ------------------------------------------------------------------- building blocks


def test_kernel_and_blur_match_reference_convention(img24):
    ref = _load_reference()
    for s in (0.0, 0.3, 1.2):
        k = gaussian_kernel(9, s)
        np.testing.assert_allclose(k.numpy(), ref.reference_kernel(9, s), rtol=1e-12, atol=1e-15)
    assert torch.equal(gaussian_kernel(9, 0.0), F.pad(torch.ones(1, 1), (4, 4, 4, 4)).double())
    ours = blur(img24, 1.2, 9)[0].permute(1, 2, 0).numpy()
    cv = cv2.filter2D(img24[0].permute(1, 2, 0).numpy(), -1, ref.reference_kernel(9, 1.2))
    np.testing.assert_allclose(ours, cv, atol=2e-6)  # reflect-101 borders, like OpenCV
    assert torch.equal(blur(img24, 0.0, 9), img24)


def test_kernel_derivative_matches_finite_difference():
    s = torch.tensor([0.2, 0.6, 1.2], dtype=torch.float64)
    h = 1e-6
    fd = (attr_path._kernels(9, s + h, False) - attr_path._kernels(9, s - h, False)) / (2 * h)
    torch.testing.assert_close(attr_path._kernels(9, s, True), fd, rtol=1e-6, atol=1e-9)


def test_detector_matches_reference_and_is_finite_at_zero():
    ref = _load_reference()
    torch.manual_seed(1)
    sr = torch.rand(1, 3, 40, 40)
    d = gradient_detector(sr, (5, 7, 16))
    assert abs(float(d) - float(ref.reference_detector(sr, 5, 7, 16))) < 3 * 16 * 16 * 1e-6
    flat = torch.full((2, 3, 40, 40), 0.5, requires_grad=True)
    d = gradient_detector(flat, (5, 7, 16))
    (g,) = torch.autograd.grad(d.sum(), flat)
    assert torch.equal(d.detach(), torch.zeros(2)) and bool(torch.isfinite(g).all())


# ----------------------------------------------------------------------- correctness


def test_completeness_right_rule_falls_and_higher_order_rules(edsr):
    img = _photo(24)
    win = center_window(img, 4)
    err = {m: lam(edsr, img, win, steps=m, device=CPU).completeness_error for m in (25, 50, 100)}
    assert err[50] <= 0.05, err
    assert err[25] > err[50] > err[100], err
    # First-order rule: doubling the steps roughly halves the error.
    assert 1.5 < err[50] / err[100] < 2.7, err
    trap = lam(edsr, img, win, steps=50, rule="trapezoid", device=CPU)
    gl = lam(edsr, img, win, steps=50, rule="gauss_legendre", device=CPU)
    # Same cost (50 gradient evaluations), an order of magnitude closer to completeness.
    assert trap.completeness_error < err[50] / 10, (trap.completeness_error, err)
    assert gl.completeness_error < err[50] / 10, (gl.completeness_error, err)
    right = lam(edsr, img, win, steps=50, device=CPU)
    # The three rules approximate the same integral.
    assert _rel(trap.map, right.map) < 0.1 and _rel(gl.map, trap.map) < 0.01


def test_matches_reference_style_loop(edsr, img24):
    ref = _load_reference().reference_lam(edsr, img24, (40, 44, 16), steps=20)
    ours = lam(edsr, img24, (40, 44, 16), steps=20, crop="none", device=CPU)
    theirs = torch.from_numpy(ref["attribution"])
    # Not 1e-6: at one of the 20 path points a ReLU input sits within float rounding of
    # 0, and the reference's NCHW layout and our channels-last one fall on different
    # sides of the kink (a 0.3% gradient change there, 1e-4 on the map; both are valid
    # one-sided gradients, and float64 agrees with either to 1e-6 away from the kink).
    assert _rel(ours.attribution, theirs) < 5e-4
    assert float((ours.attribution - theirs).norm() / theirs.norm()) < 5e-4
    assert all(p.requires_grad for p in edsr.parameters())  # the reference left them so
    for p in edsr.parameters():
        p.grad = None  # the reference computed weight gradients; later tests check none


@pytest.mark.parametrize(
    ("rule", "method"),
    [
        ("right", "riemann_right"),
        ("trapezoid", "riemann_trapezoid"),
        ("gauss_legendre", "gausslegendre"),
    ],
)
def test_linear_path_equals_captum_integrated_gradients(edsr, rule, method):
    from captum.attr import IntegratedGradients

    img = _photo(16)
    win, m = (20, 24, 16), 16
    ours = lam(edsr, img, win, steps=m, path="linear", rule=rule, crop="none", device=CPU)
    edsr.eval()
    ig = IntegratedGradients(lambda x: gradient_detector(edsr(x), win))
    theirs = ig.attribute(img, baselines=0.0, n_steps=m, method=method)[0].detach()
    if rule == "trapezoid":
        # captum 0.9's riemann_trapezoid pairs nodes j/(m-1) with step sizes 1/m (halved
        # at the ends), so its weights sum to (m-1)/m, not 1; ours sum to 1.
        theirs = theirs * m / (m - 1)
    assert _rel(ours.attribution, theirs) < 1e-4
    assert float((ours.attribution - theirs).norm() / theirs.norm()) < 1e-4
    # Completeness is measured against the black image for this path.
    with torch.no_grad():
        d0 = float(gradient_detector(edsr(torch.zeros_like(img)), win))
    assert ours.d_baseline == pytest.approx(d0, rel=1e-5, abs=1e-5)


def test_same_result_for_every_batch_size(edsr):
    img = _photo(16)
    runs = [lam(edsr, img, (30, 34, 16), steps=7, batch=b, device=CPU) for b in (1, 3, 7)]
    for r in runs[1:]:
        assert _rel(r.attribution, runs[0].attribution) < 1e-5
        assert r.d_path.allclose(runs[0].d_path, rtol=1e-5)
        assert r.cumulative.allclose(runs[0].cumulative, rtol=1e-4, atol=1e-6)


@pytest.mark.filterwarnings("error::RuntimeWarning")  # the crop's edge self-check stays quiet
@pytest.mark.parametrize(
    ("name", "size", "window"),
    [
        ("edsr", {"n_feats": 16, "n_blocks": 2}, (8, 100, 16)),  # near the left border
        ("fsrcnn", {"d": 16, "s": 8, "m": 2}, (70, 64, 12)),  # transposed conv
        ("srresnet", {"n_feats": 16, "n_blocks": 2}, (150, 150, 16)),  # bottom-right
    ],
)
def test_crop_equals_uncropped(name, size, window):
    torch.manual_seed(0)
    model = build(name, 4, **size)
    img = _photo(44)
    full = lam(model, img, window, steps=6, crop="none", device=CPU)
    crop = lam(model, img, window, steps=6, crop="auto", device=CPU)
    assert full.crop_box is None and crop.crop_box is not None
    t, left, b, r = crop.crop_box
    assert (b - t) * (r - left) < 0.75 * 44 * 44  # it really computed less
    assert _rel(crop.attribution, full.attribution) < 1e-5
    assert crop.d_input == pytest.approx(full.d_input, rel=1e-5)
    assert crop.path_speed.allclose(full.path_speed)  # curves are whole-image quantities
    # Outside the receptive field the full computation gives exact zeros, like the crop.
    outside = torch.ones(44, 44, dtype=torch.bool)
    outside[t:b, left:r] = False
    assert torch.equal(full.map[outside], torch.zeros(int(outside.sum())))


@pytest.mark.filterwarnings("error::RuntimeWarning")
def test_crop_respects_padding_wrapper():
    torch.manual_seed(0)
    net = build("edsr", 4, n_feats=8, n_blocks=1)
    model = SRModel(net, pad_multiple=8, device=CPU)  # reflect-pads bottom/right to 8
    img = _photo(45)[:, :, :, :43]
    for window in ((160, 164, 8), (4, 6, 8), (80, 90, 8)):
        full = lam(model, img, window, steps=4, crop="none", device=CPU)
        crop = lam(model, img, window, steps=4, device=CPU)
        t, left, _, _ = crop.crop_box
        assert t % 8 == 0 and left % 8 == 0
        assert _rel(crop.attribution, full.attribution) < 1e-5


def test_bf16_body_within_one_percent(edsr):
    img = _photo(20)
    win = center_window(img, 4)
    exact = lam(edsr, img, win, steps=10, device=CPU)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # emulated bf16 warns, correctly
        fast = lam(edsr, img, win, steps=10, mode="bf16", device=CPU)
    assert fast.precision == "bf16" and fast.pruned == 0
    assert float((fast.map - exact.map).norm() / exact.map.norm()) < 0.01
    assert fast.d_input == pytest.approx(exact.d_input, rel=0.01)
    # The output layers found for EDSR: last pixel shuffle, last conv, mean shift.
    names = {id(m): n for n, m in edsr.named_modules()}
    found = [names[id(m)] for m in precision._output_layers(edsr, img)]
    assert found == ["tail.0.3", "tail.1", "add_mean"]
    assert "forward" not in edsr.tail[1].__dict__  # the float32 islands were removed


def test_fast_mode_fewer_better_placed_nodes_beat_the_papers_50_steps(edsr):
    img24, win = _photo(16), (30, 34, 16)
    fast = lam(edsr, img24, win, mode="fast", device=CPU)
    assert (fast.rule, fast.steps) == (attribution.FAST_RULE, attribution.FAST_STEPS)
    assert fast.precision == "fp32"  # float32: the node count was chosen in float32
    assert len(fast.alphas) == attribution.FAST_STEPS  # nodes 0 and 1 are evaluated
    converged = lam(edsr, img24, win, rule="arclength", steps=400, device=CPU)
    paper = lam(edsr, img24, win, device=CPU)  # right sum, 50 steps
    assert (paper.rule, paper.steps) == ("right", 50)

    def err(r):
        return float((r.map - converged.map).abs().sum() / converged.map.abs().sum())

    assert err(fast) < err(paper)  # closer to the integral with 2.5x fewer evaluations
    assert fast.completeness_error < paper.completeness_error


def test_fast_mode_prunes_idle_nodes_of_a_uniform_rule_within_one_percent(edsr):
    img24, win = _photo(16), (30, 34, 16)
    native = precision.native_bf16(torch.device(CPU))
    fast = lam(edsr, img24, win, mode="fast", rule="right", steps=50, device=CPU)
    line = lam(edsr, img24, win, mode="fast", path="linear", steps=8, device=CPU)
    exact = lam(edsr, img24, win, device=CPU)
    assert 5 <= fast.pruned <= 20  # the nearly-delta end of the blur path
    assert float((fast.map - exact.map).norm() / exact.map.norm()) < 0.01
    assert len(fast.alphas) == 50 - fast.pruned + 2  # pruned nodes leave the curves
    assert line.pruned == 0  # a straight line moves evenly: nothing to prune
    if not native:
        with pytest.warns(RuntimeWarning, match="no native bfloat16"):
            lam(edsr, img24, win, steps=2, mode="bf16", device=CPU)


def test_arclength_nodes_split_the_blur_path_into_equal_lengths_and_telescope():
    img = _photo(16)
    padded = torch.nn.functional.pad(img, (4, 4, 4, 4), mode="reflect")
    p = attr_path._Path("blur", padded, 1.2, 9)
    quad = attr_path._quadrature("arclength", 12, p)
    a = quad.nodes
    assert a[0] == 0 and a[-1] == 1 and bool((a[1:] > a[:-1]).all())
    pieces = p.secants(a[:-1], a[1:]).abs().sum(dim=(1, 2, 3))
    assert float(pieces.max() / pieces.min()) < 1.02  # equal path length per piece
    assert float(a[-2]) < 0.85  # the nearly-delta end of the path gets no node inside
    weights = quad.weights(p, torch.arange(12)).double().sum(0)
    whole = p.secants(torch.zeros(1, dtype=torch.float64), torch.ones(1, dtype=torch.float64))[0]
    assert torch.allclose(weights, whole.double(), atol=1e-6)  # sum of W = gamma(1) - gamma(0)
    # A straight line moves evenly: its arclength nodes are the trapezoid's.
    line = attr_path._Path("linear", padded, 1.2, 9)
    assert torch.allclose(attr_path._quadrature("arclength", 9, line).nodes,
                          attr_path._quadrature("trapezoid", 9).nodes, atol=1e-9)  # fmt: skip
    flat = attr_path._Path("blur", torch.full_like(padded, 0.5), 1.2, 9)
    assert torch.allclose(attr_path.arclength_nodes(flat, 5), torch.linspace(0, 1, 5).double())
    with pytest.raises(ValueError, match="needs the path"):
        attr_path._quadrature("arclength", 5)
    # _per_point: per-point L1 sums (or means), the same whatever the chunk
    alphas = torch.linspace(0, 1, 7, dtype=torch.float64)
    direct = p.points(alphas).abs().sum(dim=(1, 2, 3)).double()
    for chunk in (1, 3, 7, 64):
        got = attr_path._per_point(lambda s0, s1: p.points(alphas[s0:s1]), 7, chunk)
        assert got.shape == (7,) and torch.allclose(got, direct, rtol=1e-6)
    mean = attr_path._per_point(lambda s0, s1: p.points(alphas[s0:s1]), 7, 2, torch.mean)
    assert torch.allclose(mean, direct / p.image.numel(), rtol=1e-6)


def test_float64_model_runs_in_float64(edsr, img24):
    import copy

    r32 = lam(edsr, img24, (40, 44, 16), steps=6, device=CPU)
    r64 = lam(copy.deepcopy(edsr).double(), img24, (40, 44, 16), steps=6, device=CPU)
    assert r64.attribution.dtype == torch.float64
    assert _rel(r32.attribution.double(), r64.attribution) < 1e-3
    with pytest.raises(ValueError, match="mode must be 'exact' for a float64 model"):
        lam(copy.deepcopy(edsr).double(), img24, (40, 44, 16), mode="bf16", device=CPU)


def test_model_state_restored_and_no_weight_gradients(edsr, img24):
    for p in edsr.parameters():
        p.grad = None
    edsr.train()
    edsr.head[0].weight.requires_grad_(False)
    flags = [p.requires_grad for p in edsr.parameters()]
    lam(edsr, img24, (40, 44, 16), steps=3, device=CPU)
    assert edsr.training and [p.requires_grad for p in edsr.parameters()] == flags
    assert all(p.grad is None for p in edsr.parameters())
    assert all(p.is_contiguous() for p in edsr.parameters())
    edsr.head[0].weight.requires_grad_(True)
    edsr.eval()


@pytest.mark.bad_input(
    "a LAM window on a flat (constant) image",
    "a finite, near-zero map flagged degenerate, which the chapters leave out of DI statistics",
)
def test_flat_image_gives_finite_zero_map(edsr):
    flat = torch.full((1, 3, 16, 16), 0.5)
    r = lam(edsr, flat, (20, 20, 16), steps=5, device=CPU)
    # Blurring a flat image changes nothing (up to the float32 kernel's rounding).
    assert bool(torch.isfinite(r.attribution).all()) and abs(r.total) < 1e-5
    assert abs(r.d_input - r.d_baseline) < 1e-4
    # Nothing to attribute: the relative completeness error is undefined (inf or noise),
    # which is what the degenerate flag tells the chapters.
    assert r.degenerate and r.summary()["degenerate"]


def test_di_summary_leaves_out_degenerate_windows(edsr, img24):
    flat = lam(edsr, torch.full((1, 3, 16, 16), 0.5), (20, 20, 16), steps=5, device=CPU)
    maps = [lam(edsr, img24, w, steps=5, device=CPU) for w in [(40, 44, 16), (60, 30, 16)]]
    assert not any(m.degenerate for m in maps)
    # Degenerate by the definition: |D(F(I)) - D(F(I'))| <= 5% of D(F(I)).
    for m in maps:
        assert abs(m.d_input - m.d_baseline) > 0.05 * m.d_input
    s = attr_result.di_summary([*maps, flat])
    di = np.array([m.di for m in maps])
    assert s["n"] == 2 and s["n_degenerate"] == 1
    assert s["mean"] == pytest.approx(di.mean()) and s["std"] == pytest.approx(di.std(ddof=1))
    assert s["max_completeness_error"] == max(m.completeness_error for m in maps)
    # This random-init network's detector barely moves in the window at (20, 24): 3.8%.
    near_flat = lam(edsr, img24, (20, 24, 16), steps=5, device=CPU)
    assert near_flat.degenerate
    assert s["mean_all"] == pytest.approx(np.mean([*di, flat.di]))
    # another DI definition (di_of) changes the DI statistics, not which maps are kept
    ones = attr_result.di_summary([*maps, flat], di_of=lambda r: 1.0)
    assert (ones["mean"], ones["std"], ones["mean_all"], ones["n"]) == (1.0, 0.0, 1.0, 2)
    only_flat = attr_result.di_summary([flat])
    assert only_flat["n"] == 0 and math.isnan(only_flat["mean"])
    assert only_flat["mean_all"] == pytest.approx(flat.di)
    with pytest.raises(ValueError, match="at least one"):
        attr_result.di_summary([])


# ------------------------------------------------------------- results and figures


def test_curves_and_visuals(edsr, img24):
    r = lam(edsr, img24, (40, 44, 16), steps=8, device=CPU)
    c = fig3_curves(r)
    assert c["alpha"][0] == 0 and c["alpha"][-1] == 1 and len(c["alpha"]) == 9
    assert c["detector"][0] == pytest.approx(r.d_baseline)
    assert c["detector"][-1] == pytest.approx(r.d_input, rel=1e-5)
    assert c["cumulative"][0] == 0 and c["cumulative"][-1] == pytest.approx(r.total, rel=1e-6)
    assert np.all(c["path_speed"] >= 0) and c["path_speed"][-1] < 1e-6  # blur stops moving
    v = lam_visual(r)
    assert v.shape == (24, 24) and float(v.max()) == 1.0 and float(v.min()) >= 0
    assert isinstance(r, LAMResult) and 0 < r.di <= 100
    from helpers.metrics import diffusion_index as metrics_di

    assert diffusion_index(r.attribution) == pytest.approx(float(metrics_di(r.map)))
    s = r.summary()
    assert s["window"] == [40, 44, 16] and s["completeness_error"] == r.completeness_error


def test_area_of_contribution_matches_scipy_kde():
    from scipy.stats import gaussian_kde

    torch.manual_seed(3)
    m = torch.randn(11, 13) * torch.exp(-torch.arange(13.0) / 4)
    ours = area_of_contribution(m)
    w = lam_visual(m).double().numpy()
    yy, xx = np.mgrid[0:11, 0:13]
    pts = np.vstack([xx.ravel(), yy.ravel()])
    z = gaussian_kde(pts, weights=w.ravel())(pts).reshape(11, 13)
    np.testing.assert_allclose(ours.numpy(), z / z.max(), atol=1e-5)
    cut = area_of_contribution(m, threshold=0.5)
    assert bool(((cut == 0) | (cut >= 0.5)).all())
    assert area_of_contribution(torch.zeros(5, 5)).abs().sum() == 0
    one = torch.zeros(7, 7)
    one[3, 3] = 1.0
    assert torch.isfinite(area_of_contribution(one)).all()
    over = visual.overlay_area(torch.rand(1, 3, 11, 13), ours)
    assert over.shape == (11, 13, 3) and over.min() >= 0 and over.max() <= 1


# ------------------------------------------------------------------------- bad input


class _WrongScale(nn.Module):
    scale = 4

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2, mode="nearest")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"window": (60, 10, 8)}, r"window .* outside .* 0 <= x <= 55"),
        ({"window": (-1, 10, 8)}, r"outside"),
        ({"window": (0, 0, 64)}, r"window size must be in \[1, 63\]"),
        ({"window": (0, 0)}, r"window must be \(x, y, size\)"),
        ({"sigma": 0.0}, r"sigma must be .* > 0"),
        ({"sigma": -1.0}, r"sigma must be .* > 0"),
        ({"steps": 0}, r"steps must be an int >= 1"),
        ({"steps": 1, "rule": "trapezoid"}, r"steps must be an int >= 2"),
        ({"batch": 0}, r"batch must be an int >= 1"),
        ({"kernel_size": 8}, r"kernel_size must be an odd int"),
        ({"path": "curvy"}, r"path must be one of"),
        ({"rule": "left"}, r"rule must be one of"),
        ({"mode": "fp16"}, r"mode must be one of"),
        ({"crop": "yes"}, r"crop must be"),
    ],
)
@pytest.mark.bad_input(
    "a LAM window outside the image, or a bad sigma, steps, batch or kernel size",
    "ValueError naming the parameter and its valid range",
)
def test_bad_input_names_parameter_and_range(edsr, kwargs, match):
    args = {"window": (10, 10, 8), **kwargs}
    with pytest.raises(ValueError, match=match):
        lam(edsr, _photo(16), device=CPU, **args)


@pytest.mark.bad_input(
    "a network given to LAM whose output is not scale x its input",
    "ValueError giving the expected shape and how to pass the true scale",
)
def test_bad_model_output_size():
    with pytest.raises(ValueError, match=r"model output must be scale x input.*expected"):
        lam(_WrongScale(), _photo(16), (10, 10, 8), steps=2, device=CPU)
    with pytest.raises(ValueError, match="image must be one RGB LR image"):
        lam(_WrongScale(), torch.rand(1, 1, 16, 16), (10, 10, 8), device=CPU)


def test_scale_inferred_for_plain_modules(edsr, img24):
    class Plain(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = edsr

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        r = lam(Plain(), img24, (40, 44, 16), steps=3, device=CPU)
    assert r.scale == 4 and r.crop_box is None  # no receptive field declared: no crop


@pytest.mark.bad_input(
    "a network that reaches further than its declared receptive field",
    "a RuntimeWarning that the cropped map may differ: fix receptive_field or use crop='none'",
)
def test_too_small_receptive_field_is_detected():
    torch.manual_seed(0)
    net = build("edsr", 4, n_feats=8, n_blocks=3)
    model = SRModel(net, receptive_field=5, device=CPU)  # the truth is 21
    with pytest.warns(RuntimeWarning, match="reaches the edge of the receptive-field crop"):
        r = lam(model, _photo(40), (70, 70, 16), steps=2, device=CPU)
    assert r.crop_box is not None
