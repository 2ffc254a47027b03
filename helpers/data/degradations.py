"""Seeded image degradations on batches: bicubic down, Gaussian blur, Gaussian noise, JPEG.

All functions take (N, C, H, W) float images in [0, 1] on any device and return the same
shape (except :func:`bicubic_down`) on the same device, clamped to [0, 1].

Randomness: every random function takes ``seed``, either an ``int`` (a fresh CPU
``torch.Generator`` is seeded with it, so a given seed gives the *same* numbers on CPU and
GPU; the draws are then moved to the image's device), a ``torch.Generator`` (used as is,
e.g. to draw several batches from one stream), or ``None`` (torch's global RNG, which
:func:`helpers.runtime.seed_everything` seeds once per run).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Literal

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from .resize import bicubic_down_uint8, imresize, modcrop

#: Kinds understood by :func:`degrade`.
DEGRADATIONS = ("clean", "bicubic", "blur", "noise", "jpeg")

Seed = int | torch.Generator | None


def _check_batch(x: torch.Tensor, name: str = "x") -> None:
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or not x.is_floating_point():
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"{name} must be a float tensor (N, C, H, W) in [0, 1], got {shape}")


def make_generator(seed: Seed) -> torch.Generator | None:
    """``int`` -> a new CPU generator seeded with it; a generator -> itself; ``None`` -> None."""
    if seed is None or isinstance(seed, torch.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(
            f"seed must be a non-negative int, a torch.Generator or None, got {seed!r}"
        )
    return torch.Generator(device="cpu").manual_seed(seed)


def _per_image(
    value: float | Sequence[float] | torch.Tensor, n: int, name: str, low: float, high: float
) -> torch.Tensor:
    """A scalar or per-image parameter as a float64 CPU tensor of shape (n,), range-checked."""
    t = torch.as_tensor(value, dtype=torch.float64).detach().cpu().flatten()
    if t.numel() == 1:
        t = t.expand(n)
    if t.numel() != n:
        raise ValueError(
            f"{name} must be a scalar or have one value per image ({n}), got {t.numel()}"
        )
    if not torch.isfinite(t).all() or (t < low).any() or (t > high).any():
        raise ValueError(f"{name} must lie in [{low}, {high}], got {t.tolist()}")
    return t.clone()


def uniform_levels(n: int, low: float, high: float, seed: Seed = None) -> torch.Tensor:
    """Draw ``n`` per-image degradation levels uniformly from [low, high] (CPU float64, (n,)).

    Use it to give each image its own blur sigma, noise level or JPEG quality, repeatably.
    """
    if n < 1 or low > high:
        raise ValueError(f"need n >= 1 and low <= high, got n={n}, low={low}, high={high}")
    u = torch.rand(n, generator=make_generator(seed), dtype=torch.float64)
    return low + (high - low) * u


def bicubic_down(hr: torch.Tensor, scale: int, quantize: bool = False) -> torch.Tensor:
    """MATLAB-bicubic LR of a batch: modcrop to a multiple of ``scale``, resize by 1/scale.

    Args:
        hr: (N, C, H, W) float in [0, 1].
        scale: integer factor >= 1.
        quantize: reproduce the benchmark LR exactly (uint8 semantics, see
            :func:`helpers.resize.bicubic_down_uint8`); otherwise a float resize.

    Returns:
        (N, C, H // scale, W // scale) in [0, 1], on ``hr``'s device.
    """
    _check_batch(hr, "hr")
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise ValueError(f"scale must be a positive int (2, 3, 4, ...), got {scale!r}")
    if quantize:
        return bicubic_down_uint8(hr, scale)
    return imresize(modcrop(hr, scale), scale=1.0 / scale).clamp_(0, 1)


def gaussian_kernel1d(
    sigma: float,
    radius: int,
    dtype=torch.float64,
    form: Literal["standardised", "quotient"] = "standardised",
) -> torch.Tensor:
    """Sampled, normalised 1-D Gaussian ``exp(-t^2 / (2 sigma^2))``, t = -radius..radius.

    The project's one 1-D Gaussian (blur degradations, the structure tensor, SSIM's
    window). Computed in float64, normalised to sum 1, then cast to ``dtype``.

    Args:
        sigma: standard deviation (px), >= 0; ``0`` gives a delta (identity filter).
        radius: half-width (px), >= 0.
        dtype: of the result.
        form: how the exponent is evaluated, which matters only in the last bit (float64
            results differ by up to 1e-18): ``"standardised"`` ``-0.5 * (t / sigma)^2``
            (SciPy's convention; blur, structure tensor) or ``"quotient"``
            ``-t^2 / (2 sigma^2)`` (the SSIM window's, kept so SSIM stays bit-identical).

    Returns:
        (2 * radius + 1,) tensor of ``dtype`` on the CPU, summing to 1.
    """
    if form not in ("standardised", "quotient"):
        raise ValueError(f"form must be 'standardised' or 'quotient', got {form!r}")
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    if sigma == 0:
        k = (t == 0).to(torch.float64)
    elif form == "quotient":
        k = torch.exp(-(t**2) / (2 * sigma**2))
    else:
        k = torch.exp(-0.5 * (t / sigma) ** 2)
    return (k / k.sum()).to(dtype)


def gaussian_blur(
    x: torch.Tensor,
    sigma: float | Sequence[float] | torch.Tensor,
    kernel_size: int | None = None,
) -> torch.Tensor:
    """Isotropic Gaussian blur, separable, with reflect padding (``d c b | a b c d``).

    Equals ``scipy.ndimage.gaussian_filter(img, sigma, mode="mirror",
    truncate=radius / sigma)`` per channel (torch's "reflect" is SciPy's "mirror").

    Args:
        x: (N, C, H, W) float in [0, 1], any device.
        sigma: standard deviation in pixels, >= 0 (0 = unchanged); a scalar or one value
            per image (sequence or tensor of length N).
        kernel_size: odd size of the kernel; default ``2 * round(4 * max_sigma) + 1``,
            SciPy's default truncation at 4 sigma. Its radius must be < H and < W.

    Returns:
        (N, C, H, W) blurred, clamped to [0, 1], on ``x``'s device and dtype.
    """
    _check_batch(x)
    n, c, h, w = x.shape
    sigmas = _per_image(sigma, n, "sigma", 0.0, 1e4)
    if kernel_size is None:
        radius = int(4.0 * float(sigmas.max()) + 0.5)
    else:
        if isinstance(kernel_size, bool) or not isinstance(kernel_size, int) or kernel_size < 1:
            raise ValueError(f"kernel_size must be a positive odd int, got {kernel_size!r}")
        if kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size}")
        radius = kernel_size // 2
    if radius == 0:
        return x.clamp(0, 1)
    if radius >= h or radius >= w:
        raise ValueError(
            f"kernel radius {radius} (kernel_size {2 * radius + 1}) must be smaller than the "
            f"image height and width ({h}x{w}) for reflect padding; lower sigma or kernel_size"
        )
    kernels = torch.stack([gaussian_kernel1d(float(s), radius) for s in sigmas])  # (N, K)
    # One grouped conv for the whole batch: each (image, channel) plane gets its image's
    # kernel, so per-image sigmas cost no extra passes.
    k = kernels.to(device=x.device, dtype=x.dtype).repeat_interleave(c, dim=0)  # (N*C, K)
    planes = x.reshape(1, n * c, h, w)
    planes = F.pad(planes, (radius, radius, radius, radius), mode="reflect")
    planes = F.conv2d(planes, k[:, None, :, None], groups=n * c)  # along H
    planes = F.conv2d(planes, k[:, None, None, :], groups=n * c)  # along W
    return planes.reshape(n, c, h, w).clamp_(0, 1)


def gaussian_noise(
    x: torch.Tensor,
    sigma_levels: float | Sequence[float] | torch.Tensor,
    seed: Seed = None,
    quantize: bool = False,
) -> torch.Tensor:
    """Add white Gaussian noise of ``sigma_levels`` grey levels (0..255 scale), then clamp.

    Args:
        x: (N, C, H, W) float in [0, 1], any device.
        sigma_levels: noise standard deviation in grey levels (e.g. 15, 25, 50), >= 0;
            a scalar or one value per image.
        seed: int, torch.Generator or None (see module docstring). Noise is drawn in float32
            on the generator's device (CPU for an int seed) and moved to ``x``'s device.
        quantize: round the result to uint8 levels (as if saved as an 8-bit image).

    Returns:
        (N, C, H, W) in [0, 1] on ``x``'s device and dtype.
    """
    _check_batch(x)
    n = x.shape[0]
    sig = _per_image(sigma_levels, n, "sigma_levels", 0.0, 1e4) / 255.0
    gen = make_generator(seed)
    dev = gen.device if gen is not None else x.device
    noise = torch.randn(x.shape, generator=gen, device=dev, dtype=torch.float32)
    noise = noise.to(device=x.device, dtype=x.dtype)
    y = x + noise * sig.to(device=x.device, dtype=x.dtype).view(n, 1, 1, 1)
    y = y.clamp_(0, 1)
    if quantize:
        y = torch.round(y * 255.0) / 255.0
    return y


def jpeg(x: torch.Tensor, quality: int | Sequence[int] | torch.Tensor) -> torch.Tensor:
    """JPEG round trip with Pillow (libjpeg): uint8 encode at ``quality``, then decode.

    Deterministic (no seed needed). Pillow's defaults apply: 4:2:0 chroma subsampling for
    RGB, standard IJG quantisation tables scaled by quality.

    Args:
        x: (N, C, H, W) float in [0, 1] with C = 1 (grey) or 3 (RGB), any device.
        quality: JPEG quality 1..100 (higher = fewer artefacts); scalar or one per image.

    Returns:
        (N, C, H, W) float on uint8 levels in [0, 1], on ``x``'s device and dtype.
    """
    _check_batch(x)
    n, c = x.shape[:2]
    if c not in (1, 3):
        raise ValueError(f"jpeg needs 1 or 3 channels, got C={c}")
    q = _per_image(quality, n, "quality", 1, 100)
    if not torch.equal(q, q.round()):
        raise ValueError(f"quality must be integers in [1, 100], got {q.tolist()}")
    arr = (x.detach().clamp(0, 1) * 255.0).round().to(torch.uint8).permute(0, 2, 3, 1).cpu()
    arr = arr.numpy()
    out = np.empty_like(arr)
    # The codec is a C library working on one image at a time; the loop is over images.
    for i in range(n):
        img = Image.fromarray(arr[i, ..., 0] if c == 1 else arr[i], mode="L" if c == 1 else "RGB")
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=int(q[i]))
        buf.seek(0)
        with Image.open(buf) as dec:
            d = np.asarray(dec.convert("L" if c == 1 else "RGB"))
        out[i] = d[..., None] if c == 1 else d
    return torch.from_numpy(out).permute(0, 3, 1, 2).to(device=x.device, dtype=x.dtype) / 255.0


def degrade(
    x: torch.Tensor,
    kind: str,
    level: float | Sequence[float] | torch.Tensor | None = None,
    seed: Seed = None,
) -> torch.Tensor:
    """Apply one named degradation (for sweeps over degradation types).

    Args:
        x: (N, C, H, W) float in [0, 1].
        kind: one of :data:`DEGRADATIONS`: ``"clean"`` (identity), ``"bicubic"`` (level =
            integer scale, default 4; output is smaller), ``"blur"`` (level = sigma in
            pixels, default 2.0), ``"noise"`` (level = sigma in grey levels, default 25),
            ``"jpeg"`` (level = quality, default 30).
        level: the parameter above, scalar or per image.
        seed: used by ``"noise"`` only (the others are deterministic).
    """
    if kind not in DEGRADATIONS:
        raise ValueError(f"unknown degradation {kind!r}; valid: {', '.join(DEGRADATIONS)}")
    if kind == "clean":
        _check_batch(x)
        return x.clone()
    if kind == "bicubic":
        scale = 4 if level is None else level
        if not isinstance(scale, int) or isinstance(scale, bool):
            raise ValueError(f"bicubic level must be an int scale, got {scale!r}")
        return bicubic_down(x, scale)
    if kind == "blur":
        return gaussian_blur(x, 2.0 if level is None else level)
    if kind == "noise":
        return gaussian_noise(x, 25.0 if level is None else level, seed=seed)
    # Per-image qualities often come from uniform_levels (floats): round to integers.
    quality = torch.as_tensor(30 if level is None else level, dtype=torch.float64).round()
    return jpeg(x, quality)
