"""Patch samplers that keep coordinates, so HR, LR and SR patches of one place line up.

Coordinates are integer (y, x) of a patch's top-left corner in the pixel grid of the
image they were drawn from (usually HR). :func:`crop_at` takes such coordinates and a
``scale`` to cut the matching patch from the LR image (coordinates and size divided by
``scale``) or from an SR output (``scale=1``). Extraction is one advanced-indexing gather
for all patches (no Python loop over patches or pixels) and runs on the image's device.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from .degradations import make_generator


def _as_batch(img: torch.Tensor, name: str = "img") -> torch.Tensor:
    if not isinstance(img, torch.Tensor) or img.ndim not in (3, 4):
        shape = tuple(img.shape) if isinstance(img, torch.Tensor) else type(img).__name__
        raise ValueError(f"{name} must be a tensor (C, H, W) or (N, C, H, W), got {shape}")
    return img[None] if img.ndim == 3 else img


def _check_size(size: int, name: str = "size") -> None:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"{name} must be a positive int, got {size!r}")


def _check_fits(h: int, w: int, size: int) -> None:
    if h < size or w < size:
        raise ValueError(
            f"image of {h}x{w} pixels is smaller than the patch size {size}x{size}; "
            f"use a patch size <= {min(h, w)} or a larger image"
        )


def _gather(img: torch.Tensor, b: torch.Tensor, y: torch.Tensor, x: torch.Tensor, size: int):
    """Patches (n, C, size, size): patch i from image b[i] at top-left (y[i], x[i])."""
    dev = img.device
    offs = torch.arange(size, device=dev)
    rows = (y.to(dev)[:, None] + offs)[:, :, None]  # (n, size, 1)
    cols = (x.to(dev)[:, None] + offs)[:, None, :]  # (n, 1, size)
    # Advanced indices around a slice put the indexed dims first: (n, size, size, C).
    out = img[b.to(dev)[:, None, None], :, rows, cols]
    return out.permute(0, 3, 1, 2).contiguous()


def random_patches(
    img: torch.Tensor,
    size: int,
    n: int,
    seed: int | torch.Generator | None = None,
    align: int = 1,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw ``n`` uniformly placed square patches from one image, repeatably.

    Args:
        img: (C, H, W) or (1, C, H, W) tensor, any device.
        size: patch side in pixels (<= H and <= W).
        n: number of patches (>= 1); positions are drawn with replacement.
        seed: int, torch.Generator or None (global RNG); an int gives the same positions
            on every device.
        align: top-left corners are multiples of ``align`` (use the SR scale so that
            :func:`crop_at` can cut the matching LR patch).

    Returns:
        ``(patches, coords)``: patches (n, C, size, size) on ``img``'s device;
        coords (n, 2) int64 on CPU, top-left (y, x) in ``img``'s pixels.
    """
    img = _as_batch(img)
    if img.shape[0] != 1:
        raise ValueError(f"random_patches takes one image, got a batch of {img.shape[0]}")
    _check_size(size)
    _check_size(n, "n")
    _check_size(align, "align")
    h, w = img.shape[-2:]
    _check_fits(h, w, size)
    gen = make_generator(seed)
    ny, nx = (h - size) // align + 1, (w - size) // align + 1
    yy = torch.randint(0, ny, (n,), generator=gen) * align
    xx = torch.randint(0, nx, (n,), generator=gen) * align
    coords = torch.stack([yy, xx], dim=1)
    b = torch.zeros(n, dtype=torch.long)
    return _gather(img, b, yy, xx, size), coords


def grid_patches(
    img: torch.Tensor, size: int, stride: int | None = None, cover: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    """Patches on a regular grid, row-major (left to right, then top to bottom).

    Args:
        img: (C, H, W) or (1, C, H, W) tensor.
        size: patch side in pixels.
        stride: step between corners (default ``size``: non-overlapping tiles).
        cover: also add a last row/column of patches flush with the bottom/right border
            when the grid leaves pixels uncovered, so every pixel is in some patch.

    Returns:
        ``(patches, coords)``: (n, C, size, size) on ``img``'s device and (n, 2) int64 CPU
        top-left (y, x).
    """
    img = _as_batch(img)
    if img.shape[0] != 1:
        raise ValueError(f"grid_patches takes one image, got a batch of {img.shape[0]}")
    _check_size(size)
    stride = size if stride is None else stride
    _check_size(stride, "stride")
    h, w = img.shape[-2:]
    _check_fits(h, w, size)

    def starts(length: int) -> torch.Tensor:
        s = torch.arange(0, length - size + 1, stride)
        if cover and int(s[-1]) + size < length:
            s = torch.cat([s, torch.tensor([length - size])])
        return s

    ys, xs = starts(h), starts(w)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    coords = torch.stack([yy.flatten(), xx.flatten()], dim=1)
    b = torch.zeros(len(coords), dtype=torch.long)
    return _gather(img, b, coords[:, 0], coords[:, 1], size), coords


def crop_at(
    img: torch.Tensor,
    coords: torch.Tensor | Sequence[Sequence[int]],
    size: int,
    scale: int = 1,
) -> torch.Tensor:
    """Cut patches at given coordinates, optionally from an image ``scale`` times smaller.

    With coordinates and ``size`` from the HR grid, ``crop_at(lr, coords, size, scale=s)``
    returns the LR patches covering the same area (top-left ``coords / s``, side
    ``size / s``), and ``crop_at(sr, coords, size)`` the SR patches.

    Args:
        img: (C, H, W) or (N, C, H, W). With N == 1 every patch comes from that image;
            with N == n (one image per coordinate) patch i comes from image i.
        coords: (n, 2) integer top-left (y, x) in the *HR* grid.
        size: patch side in the HR grid.
        scale: how many times smaller ``img`` is than the HR grid (>= 1); ``coords`` and
            ``size`` must be divisible by it.

    Returns:
        (n, C, size // scale, size // scale) on ``img``'s device.
    """
    img = _as_batch(img)
    _check_size(size)
    _check_size(scale, "scale")
    c = torch.as_tensor(coords).detach().cpu()
    if c.ndim != 2 or c.shape[1] != 2 or c.shape[0] < 1:
        raise ValueError(f"coords must have shape (n, 2) as (y, x), got {tuple(c.shape)}")
    if c.is_floating_point() and not torch.equal(c, c.round()):
        raise ValueError("coords must be integers")
    c = c.long()
    if size % scale or (c % scale).any():
        raise ValueError(
            f"coords and size must be multiples of scale={scale} to map onto the smaller "
            f"grid exactly; got size={size}, coords not divisible at "
            f"{c[(c % scale).any(dim=1)][:3].tolist()} (draw them with align=scale)"
        )
    n = c.shape[0]
    cs, s = c // scale, size // scale
    h, w = img.shape[-2:]
    _check_fits(h, w, s)
    bad = (cs < 0).any(dim=1) | (cs[:, 0] + s > h) | (cs[:, 1] + s > w)
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} patch(es) of size {s} fall outside the {h}x{w} image at "
            f"(y, x) = {cs[bad][:3].tolist()} (in this image's grid, scale={scale})"
        )
    if img.shape[0] == 1:
        b = torch.zeros(n, dtype=torch.long)
    elif img.shape[0] == n:
        b = torch.arange(n)
    else:
        raise ValueError(
            f"img has a batch of {img.shape[0]} but coords has {n} rows; use one image or one "
            "image per coordinate"
        )
    return _gather(img, b, cs[:, 0], cs[:, 1], s)
