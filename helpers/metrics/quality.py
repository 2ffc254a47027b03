"""Image-quality and analysis metrics, batched in torch on any device.

- :func:`psnr`, :func:`ssim`: the SR evaluation convention (EDSR/BasicSR): on the BT.601
  luma Y (16..235 of 0..255) with ``shave`` border pixels removed (= the scale factor),
  or on RGB; data range 255; SSIM with an 11x11 Gaussian window (sigma 1.5), K1 = 0.01,
  K2 = 0.03, population covariances and "valid" filtering (no padding). They agree with
  ``skimage.metrics.peak_signal_noise_ratio`` and ``structural_similarity(...,
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)``.
- :func:`gradient_entropy`: entropy of image gradients, the complexity measure of
  Agustsson & Timofte (DIV2K) as used by Magid et al. (CVPR 2022, Fig. 3): operator
  ``"magid2022"`` is their released pipeline step for step (float32 map, distinct values),
  :func:`distinct_value_entropy` its batched ``skimage.measure.shannon_entropy``.
- :func:`gini`, :func:`diffusion_index`: the LAM paper's spread of an attribution map;
  :func:`diffusion_index_lam_demo`: the same as the LAM authors' released code computes it.

All metrics compute in float64 (float32 on Apple MPS, which lacks float64) and return one
value per image. PSNR and SSIM refuse images holding NaN or inf (``ValueError`` naming the
argument and the images): a NaN score would pass through every mean unnoticed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..data.degradations import gaussian_kernel1d

__all__ = [
    "rgb_to_y",
    "psnr",
    "ssim",
    "gradient_entropy",
    "distinct_value_entropy",
    "ENTROPY_OPERATORS",
    "gini",
    "diffusion_index",
    "diffusion_index_lam_demo",
    "LAM_DEMO_GINI_EPS",
    "GRAD_MAX_LEVEL",
    "SSIM_WINDOW",
]

#: Largest value of the L1 Sobel magnitude |gx| + |gy| on 0..255 images (2 * 4 * 255).
GRAD_MAX_LEVEL = 2040
#: The 3x3 Sobel kernel of x-derivatives (its transpose: y).
_SOBEL_X = ((-1.0, 0.0, 1.0), (-2.0, 0.0, 2.0), (-1.0, 0.0, 1.0))
#: Side of SSIM's Gaussian window (px): an image must keep this much after the shave.
SSIM_WINDOW = 11


def _work_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64


def _check_pair(sr: torch.Tensor, hr: torch.Tensor) -> None:
    for name, t in (("sr", sr), ("hr", hr)):
        if not isinstance(t, torch.Tensor) or t.ndim != 4:
            shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
            raise ValueError(f"{name} must be a tensor (N, C, H, W) in [0, 1], got {shape}")
    if sr.shape != hr.shape:
        raise ValueError(f"sr and hr shapes differ: {tuple(sr.shape)} vs {tuple(hr.shape)}")


def rgb_to_y(x: torch.Tensor) -> torch.Tensor:
    """BT.601 luma of RGB in [0, 1], in 0..255 units (16..235 for in-range input).

    ``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` (MATLAB ``rgb2ycbcr``, EDSR, BasicSR).

    Args:
        x: (N, 3, H, W) RGB in [0, 1].

    Returns:
        (N, 1, H, W) float Y in grey levels (not rounded), same device and dtype as ``x``.
    """
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"rgb_to_y needs (N, 3, H, W) RGB, got {tuple(x.shape)}")
    w = torch.tensor([65.481, 128.553, 24.966], dtype=x.dtype, device=x.device)
    return 16.0 + torch.einsum("nchw,c->nhw", x, w)[:, None]


def _prepare(
    sr: torch.Tensor, hr: torch.Tensor, shave: int, y_channel: bool, quantize: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    """Both images in 0..255 units, work dtype, Y or RGB, border shaved."""
    _check_pair(sr, hr)
    if isinstance(shave, bool) or not isinstance(shave, int) or shave < 0:
        raise ValueError(f"shave must be a non-negative int (border pixels), got {shave!r}")
    h, w = sr.shape[-2:]
    if 2 * shave >= min(h, w):
        raise ValueError(f"shave={shave} leaves nothing of a {h}x{w} image")
    for name, t in (("sr", sr), ("hr", hr)):
        bad = ~torch.isfinite(t.detach()).flatten(1).all(dim=1)
        if bool(bad.any()):
            raise ValueError(
                f"{name} holds NaN or inf in image(s) {bad.nonzero().flatten().tolist()[:5]} of "
                f"the batch of {len(t)}; PSNR/SSIM need finite images in [0, 1] (an SR network "
                "that outputs NaN is broken: see helpers.models.evaluate.super_resolve)"
            )
    dt = _work_dtype(sr.device)
    a, b = sr.detach().to(dt), hr.detach().to(device=sr.device, dtype=dt)
    if quantize:
        # The SR convention saves outputs as 8-bit images before measuring them.
        a = torch.round(a.clamp(0, 1) * 255.0) / 255.0
        b = torch.round(b.clamp(0, 1) * 255.0) / 255.0
    if y_channel:
        a, b = rgb_to_y(a), rgb_to_y(b)
    else:
        a, b = a * 255.0, b * 255.0
    if shave:
        a = a[..., shave:-shave, shave:-shave]
        b = b[..., shave:-shave, shave:-shave]
    return a, b


def psnr(
    sr: torch.Tensor,
    hr: torch.Tensor,
    shave: int = 0,
    y_channel: bool = True,
    quantize: bool = False,
) -> torch.Tensor:
    """Peak signal-to-noise ratio per image, in dB, data range 255.

    Args:
        sr, hr: (N, 3, H, W) float in [0, 1] (any C when ``y_channel=False``).
        shave: border pixels removed on each side before measuring (use the SR scale).
        y_channel: measure on BT.601 Y (16..235); else on all channels.
        quantize: round both images to uint8 levels first (as saved 8-bit images).

    Returns:
        (N,) float64 PSNR in dB (``inf`` where the images are equal).

    Raises:
        ValueError: shapes differ, a bad ``shave``, or NaN/inf in either image.
    """
    a, b = _prepare(sr, hr, shave, y_channel, quantize)
    mse = (a - b).pow(2).flatten(1).mean(dim=1)
    return 10.0 * torch.log10(255.0**2 / mse)


def ssim(
    sr: torch.Tensor,
    hr: torch.Tensor,
    shave: int = 0,
    y_channel: bool = True,
    quantize: bool = False,
) -> torch.Tensor:
    """Structural similarity per image (Wang et al. 2004), the EDSR/BasicSR settings.

    11x11 Gaussian window with sigma 1.5, C1 = (0.01 * 255)^2, C2 = (0.03 * 255)^2,
    population (co)variances, and only windows fully inside the (shaved) image. On RGB
    the per-channel SSIMs are averaged.

    Args:
        sr, hr: (N, 3, H, W) float in [0, 1]; after shaving H, W >= 11.
        shave: border pixels removed on each side first (use the SR scale).
        y_channel: on BT.601 Y (16..235); else per channel, then averaged.
        quantize: round both images to uint8 levels first.

    Returns:
        (N,) float64 SSIM in [-1, 1] (1 = identical).

    Raises:
        ValueError: as :func:`psnr`, or fewer than 11x11 pixels after shaving.
    """
    a, b = _prepare(sr, hr, shave, y_channel, quantize)
    n, c, h, w = a.shape
    if h < SSIM_WINDOW or w < SSIM_WINDOW:
        raise ValueError(
            f"ssim needs at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels after shaving, got {h}x{w}"
        )
    # 11-tap window, sigma 1.5 (radius 5), with the exponent as SSIM has always computed it.
    g = gaussian_kernel1d(1.5, 5, dtype=a.dtype, form="quotient").to(a.device)
    gh, gw = g.view(1, 1, 11, 1).repeat(c, 1, 1, 1), g.view(1, 1, 1, 11).repeat(c, 1, 1, 1)

    def filt(z: torch.Tensor) -> torch.Tensor:
        # Separable, unpadded ("valid") filtering: equals skimage's filtered map with the
        # (win - 1) / 2 border cropped.
        return F.conv2d(F.conv2d(z, gh, groups=c), gw, groups=c)

    c1, c2 = (0.01 * 255.0) ** 2, (0.03 * 255.0) ** 2
    mu_a, mu_b = filt(a), filt(b)
    var_a = filt(a * a) - mu_a**2
    var_b = filt(b * b) - mu_b**2
    cov = filt(a * b) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / (
        (mu_a**2 + mu_b**2 + c1) * (var_a + var_b + c2)
    )
    return s.flatten(1).mean(dim=1)


def _grey_levels(x: torch.Tensor, truncate: bool = False) -> torch.Tensor:
    """(N, C, H, W) in [0, 1] -> (N, 1, H, W) integer grey levels 0..255 (int64).

    RGB uses Pillow's ``convert("L")`` exactly (ITU-R 601-2 luma, 16-bit fixed point,
    rounded), the conversion of Magid et al.'s released code (torchvision Grayscale).
    ``truncate``: to 8 bit as torchvision's ``ToPILImage`` does (float32 ``x * 255``
    truncated, not rounded), else rounded.
    """
    if truncate:
        levels = (x.detach().to(torch.float32) * 255).clamp(0, 255).to(torch.uint8).long()
    else:
        levels = torch.round(x.detach().clamp(0, 1) * 255.0).to(torch.int64)
    if levels.shape[1] == 1:
        return levels
    if levels.shape[1] != 3:
        raise ValueError(f"gradient_entropy needs 1 or 3 channels, got C={levels.shape[1]}")
    r, g, b = levels[:, 0:1], levels[:, 1:2], levels[:, 2:3]
    return (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16


#: The operators of :func:`gradient_entropy`.
ENTROPY_OPERATORS: tuple[str, ...] = ("magid2022", "magid2022_levels", "sobel")


def _entropy_bits(counts: torch.Tensor, total: int) -> torch.Tensor:
    """``H = -sum p log2 p`` (bits, empty bins left out) of each row of the float histogram
    ``counts`` (N, B) of ``total`` values each."""
    p = counts / total
    return -(p * torch.where(p > 0, torch.log2(p), torch.zeros_like(p))).sum(dim=1)


def distinct_value_entropy(values: torch.Tensor) -> torch.Tensor:
    """Shannon entropy (bits) of the distinct values of each row of ``values`` (N, M).

    What ``skimage.measure.shannon_entropy`` computes for one image (a histogram with one
    bin per distinct value, ``np.unique``), batched: sort each row, count the runs of
    equal values, ``H = -sum p log2 p``. Float rows are compared exactly (as ``np.unique``).
    Returns (N,) float64 (float32 on MPS).
    """
    if values.ndim != 2 or values.shape[1] == 0:
        raise ValueError(f"values must be (N, M) with M >= 1, got {tuple(values.shape)}")
    n, m = values.shape
    s, _ = torch.sort(values, dim=1)
    new = torch.ones_like(s, dtype=torch.bool)
    new[:, 1:] = s[:, 1:] != s[:, :-1]
    run = torch.cumsum(new, dim=1) - 1 + torch.arange(n, device=s.device)[:, None] * m
    counts = torch.bincount(run.flatten(), minlength=n * m).view(n, m)
    return _entropy_bits(counts.to(_work_dtype(values.device)), m)


def _magid2022_map(x: torch.Tensor) -> torch.Tensor:
    """The released Fig. 3 notebook's gradient map, step for step, on the CPU (float32).

    ``ToPILImage`` (float32 ``x * 255`` truncated to uint8) -> ``Grayscale`` (Pillow
    ``convert("L")``) -> ``ToTensor`` (float32 ``L / 255``) -> ``Gradient_Net(pad=1)``:
    ``conv2d`` with the Sobel-x kernel as both its x- and y-kernel, ``|gx| + |gx|``.
    (N, 1, H, W) float32. On the CPU always: the map is float32 and its entropy counts
    distinct float values, which another device's convolution arithmetic could split.
    """
    grey = _grey_levels(x.detach().cpu(), truncate=True).to(torch.float32).div(255)
    k = torch.tensor(_SOBEL_X).view(1, 1, 3, 3)
    gx = F.conv2d(grey, k, padding=1)
    gy = F.conv2d(grey, k, padding=1)  # the released y-kernel is a copy of the x-kernel
    return torch.abs(gx) + torch.abs(gy)


def gradient_entropy(
    x: torch.Tensor, bins: int | None = None, operator: str = "sobel"
) -> torch.Tensor:
    """Shannon entropy (bits) of the histogram of image-gradient magnitudes, per image.

    ``operator="magid2022"``: the released code of Magid et al. 2022 (Fig. 3 notebook)
    step for step: grey via torchvision ``ToPILImage -> Grayscale -> ToTensor`` (float32 in
    [0, 1]); ``Gradient_Net`` with padding 1 whose x- and y-kernels are both the Sobel-x
    kernel, so the magnitude is ``|gx| + |gx|``; then ``skimage.measure.shannon_entropy``
    of that **float32** map: one bin per distinct float value (the float rounding of
    ``L / 255`` makes equal integer differences distinct values, so this reads about two
    bits higher than integer levels: e.g. 9.3 vs 6.9 bits on a textured 192 px patch).
    Computed on the CPU (see :func:`_magid2022_map`); ``bins`` must be None.

    ``"magid2022_levels"`` (the book's earlier reading) and ``"sobel"`` work on integer
    levels:

    1. grey levels 0..255: RGB is rounded to uint8 and converted with Pillow's luma
       ``L = (19595 R + 38470 G + 7471 B + 2^15) >> 16`` (0.299, 0.587, 0.114);
    2. 3x3 Sobel responses with zero padding (output H x W): ``|gx| + |gy|`` for
       ``"sobel"``, ``2 |gx|`` for ``"magid2022_levels"``; an integer in 0..2040;
    3. histogram over all H*W pixels: with ``bins=None`` one bin per integer level (2041
       bins), which equals ``skimage.measure.shannon_entropy`` of the integer map; with
       ``bins=k``, ``k`` equal-width bins over [0, 2040];
    4. ``H = -sum p log2 p`` over non-empty bins, in bits.

    Values lie in [0, log2(min(H*W, bins))].

    Args:
        x: (N, C, H, W) in [0, 1], C = 1 (grey) or 3 (RGB), any device.
        bins: None (unit bins / distinct values) or a number of bins >= 2 (integer-level
            operators only).
        operator: one of :data:`ENTROPY_OPERATORS`.

    Returns:
        (N,) float64 entropy in bits (on ``x``'s device).
    """
    if x.ndim != 4:
        raise ValueError(f"x must be (N, C, H, W), got {tuple(x.shape)}")
    if operator not in ENTROPY_OPERATORS:
        raise ValueError(f"operator must be one of {list(ENTROPY_OPERATORS)}, got {operator!r}")
    if bins is not None and (isinstance(bins, bool) or not isinstance(bins, int) or bins < 2):
        raise ValueError(f"bins must be None (one bin per grey level) or an int >= 2, got {bins!r}")
    if operator == "magid2022":
        if bins is not None:
            raise ValueError("operator 'magid2022' histograms distinct float values: bins=None")
        mag = _magid2022_map(x).flatten(1)
        return distinct_value_entropy(mag).to(device=x.device, dtype=_work_dtype(x.device))
    grey = _grey_levels(x)
    # Integer-valued convolution in float64 is exact (|values| <= 2040).
    dt = _work_dtype(x.device)
    kx = torch.tensor(_SOBEL_X, dtype=dt, device=x.device).view(1, 1, 3, 3)
    g = grey.to(dt)
    gx = F.conv2d(g, kx, padding=1)
    if operator == "sobel":
        gy = F.conv2d(g, kx.transpose(-1, -2), padding=1)
        mag = gx.abs() + gy.abs()
    else:
        mag = 2.0 * gx.abs()
    mag = torch.round(mag).to(torch.int64).flatten(1)  # (N, H*W), integers 0..2040
    n, m = mag.shape
    if bins is None:
        nb, idx = GRAD_MAX_LEVEL + 1, mag
    else:
        # np.histogram's equal-width bins on [0, 2040], last bin closed.
        nb = bins
        idx = torch.clamp(
            (mag.to(dt) * bins / GRAD_MAX_LEVEL).floor().to(torch.int64), max=bins - 1
        )
    # One bincount for the whole batch: offset each image's bins.
    offsets = torch.arange(n, device=x.device)[:, None] * nb
    counts = torch.bincount((idx + offsets).flatten(), minlength=n * nb).view(n, nb).to(dt)
    return _entropy_bits(counts, m)


def gini(x: torch.Tensor, ndim: int = 2, eps: float = 0.0) -> torch.Tensor:
    """Gini coefficient of ``|x|`` over its last ``ndim`` dimensions (sort-based).

    ``G = sum_i sum_j |g_i - g_j| / (2 n^2 mean(g))``, computed in O(n log n) as
    ``sum_i (2 i - n - 1) g_(i) / (n sum g)`` over the ascending order statistics g_(i)
    (i = 1..n). G = 0 when all values are equal (and, by convention, for an all-zero map),
    G = 1 - 1/n when a single value is non-zero.

    Args:
        x: tensor (..., d_1, ..., d_ndim); leading dims are a batch.
        ndim: how many trailing dims form one distribution (2 for (H, W) maps).
        eps: added to every ``|x|`` before the coefficient (the LAM demo's ``gini`` adds
            1e-7, :data:`LAM_DEMO_GINI_EPS`, "values cannot be 0"); 0: the formula as written.

    Returns:
        Tensor of shape ``x.shape[:-ndim]`` (float64; float32 on MPS), values in [0, 1).
    """
    if isinstance(ndim, bool) or not isinstance(ndim, int) or not 1 <= ndim <= x.ndim:
        raise ValueError(f"ndim must be an int in [1, {x.ndim}] for shape {tuple(x.shape)}")
    batch_shape = x.shape[: x.ndim - ndim]
    g = x.detach().abs().to(_work_dtype(x.device)).reshape(*batch_shape, -1)
    if eps:
        g = g + eps
    n = g.shape[-1]
    if n == 0:
        raise ValueError("gini of an empty map is undefined")
    g, _ = torch.sort(g, dim=-1)
    i = torch.arange(1, n + 1, dtype=g.dtype, device=g.device)
    total = g.sum(dim=-1)
    num = ((2 * i - n - 1) * g).sum(dim=-1)
    safe = torch.where(total > 0, total, torch.ones_like(total))
    return torch.where(total > 0, num / (n * safe), torch.zeros_like(total))


def diffusion_index(attr_map: torch.Tensor, ndim: int = 2) -> torch.Tensor:
    """LAM's diffusion index ``DI = (1 - Gini(|map|)) * 100`` (higher = more pixels used).

    Args:
        attr_map: attribution map(s) (..., H, W); reduce channels first (LAM sums |grad|
            over channels), or pass ``ndim=3`` to treat (C, H, W) as one distribution.
        ndim: trailing dims forming one map.

    Returns:
        Tensor of shape ``attr_map.shape[:-ndim]``, values in (0, 100].
    """
    return (1.0 - gini(attr_map, ndim=ndim)) * 100.0  # gini takes |map| itself


#: What the LAM demo's ``gini`` (``SaliencyModel/utils.py``) adds to every value.
LAM_DEMO_GINI_EPS = 1e-7


def diffusion_index_lam_demo(
    attr_map: torch.Tensor, channel_dim: int | None = None
) -> torch.Tensor:
    """DI as the LAM authors' released code computes it (LAM_Demo, the number its demo
    prints; the definition the book compares with the paper's Table 1).

    1. ``grad_abs_norm``: ``|sum_c map|`` divided by its maximum (an all-zero map stays 0);
    2. ``gini`` of that with :data:`LAM_DEMO_GINI_EPS` (1e-7) added to every value;
    3. ``DI = (1 - G) * 100``.

    On a map that is mostly exact zeros (finite receptive field: pixels outside it get no
    attribution) the 1e-7 lifts every zero to 1e-7 of the peak and lowers G slightly, so
    this DI is a little higher than :func:`diffusion_index` of the same map.

    Args:
        attr_map: (..., H, W) channel-summed map(s), or per-channel attribution with its
            channel axis named by ``channel_dim`` (e.g. ``-3`` for (3, H, W)).
        channel_dim: the axis summed over first (``grad.sum(axis=0)`` upstream); None: none.

    Returns:
        Tensor of shape ``attr_map.shape[:-2]`` (without ``channel_dim``), in (0, 100].
    """
    m = attr_map.detach().to(_work_dtype(attr_map.device))
    if channel_dim is not None:
        m = m.sum(dim=channel_dim)
    if m.ndim < 2:
        raise ValueError(f"need a map (..., H, W), got {tuple(attr_map.shape)}")
    m = m.abs()
    peak = m.flatten(-2).amax(dim=-1)[..., None, None]
    m = torch.where(peak > 0, m / torch.where(peak > 0, peak, torch.ones_like(peak)), m)
    return (1.0 - gini(m, ndim=2, eps=LAM_DEMO_GINI_EPS)) * 100.0
