"""Patches for the texture analysis: seeded coordinates, crops at them, and their labels.

- :func:`sample_patch_coords`: the paper's sampling (50 uniform 128 px patches per image),
  seeded, corners on multiples of the SR scale so HR, LR and SR crops line up.
- :func:`crop_patches`: cut the patches at those coordinates from HR, LR or SR images.
- :func:`label_patches`: a classifier's label, class probabilities and embedding of every
  patch.

Images and patches are float tensors in [0, 1], NCHW, RGB; coordinates are int64
(image index, top y, left x) in HR pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..data.patches import crop_at
from ..runtime import resolve_device
from .deepten import DeepTEN, check_classes

__all__ = ["crop_patches", "label_patches", "sample_patch_coords"]


def sample_patch_coords(
    image_sizes: Sequence[tuple[int, int]],
    n_per_image: int = 50,
    size: int = 128,
    seed: int = 0,
    n_images: int | None = None,
    align: int = 1,
) -> np.ndarray:
    """Seeded uniform patch positions, the paper's sampling (50 patches of 128 px per image).

    Args:
        image_sizes: (H, W) of each image (e.g. HR images).
        n_per_image: patches per image (drawn with replacement).
        size: patch side in pixels.
        seed: non-negative int.
        n_images: use this many images (a seeded random subset, in order); ``None`` = all.
            More than available is an error.
        align: corners are multiples of this (pass the SR scale so LR crops line up).

    Returns:
        int64 array (n_images * n_per_image, 3): columns (image index, top y, left x),
        grouped by image in increasing image order. Use the same coordinates for HR,
        bicubic and SR versions (:func:`crop_patches`).
    """
    if len(image_sizes) == 0:
        raise ValueError("image_sizes is empty: no images to sample patches from")
    sizes = np.asarray(image_sizes, dtype=np.int64).reshape(-1, 2)
    for name, val in (("n_per_image", n_per_image), ("size", size), ("align", align)):
        if isinstance(val, bool) or not isinstance(val, int | np.integer) or val < 1:
            raise ValueError(f"{name} must be a positive int, got {val!r}")
    m = len(sizes)
    if n_images is not None and (n_images < 1 or n_images > m):
        raise ValueError(f"asked for patches from {n_images} images but the dataset has only {m}")
    small = np.flatnonzero((sizes < size).any(1))
    if len(small):
        i = int(small[0])
        raise ValueError(
            f"{len(small)} image(s) are smaller than the {size}x{size} patch, e.g. image {i} "
            f"of {sizes[i, 0]}x{sizes[i, 1]}; use a smaller patch size or drop those images"
        )
    rng = np.random.default_rng(seed)
    chosen = np.arange(m) if n_images is None else np.sort(rng.choice(m, n_images, replace=False))
    img = np.repeat(chosen, n_per_image)
    span = (sizes[img] - size) // align + 1  # positions per axis
    yx = (rng.random((len(img), 2)) * span).astype(np.int64) * align
    return np.concatenate([img[:, None], yx], axis=1)


def crop_patches(
    images: Sequence[torch.Tensor],
    coords: np.ndarray | torch.Tensor,
    size: int = 128,
    scale: int = 1,
) -> torch.Tensor:
    """Cut patches at ``coords`` (from :func:`sample_patch_coords`), keeping their order.

    ``images[i]`` is (1, 3, H, W) or (3, H, W); with ``scale > 1`` the images are the LR
    versions and the patches are the matching (size/scale)-pixel LR patches. Uses
    :func:`helpers.data.patches.crop_at` per image. Returns (N, 3, size/scale, size/scale).
    """
    c = torch.as_tensor(np.asarray(coords), dtype=torch.long)
    if c.ndim != 2 or c.shape[1] != 3:
        raise ValueError(f"coords must be (N, 3) as (image, y, x), got {tuple(c.shape)}")
    if len(c) and (c[:, 0].max() >= len(images) or c[:, 0].min() < 0):
        raise ValueError(f"coords refer to image {int(c[:, 0].max())} but only {len(images)} given")
    s = size // scale
    like = images[0] if len(images) else torch.empty(0)  # no images: empty float32 on the CPU
    out = torch.empty((len(c), 3, s, s), dtype=like.dtype, device=like.device)
    for i in torch.unique(c[:, 0]).tolist():
        rows = torch.nonzero(c[:, 0] == i).flatten()
        out[rows] = crop_at(images[i], c[rows, 1:], size, scale=scale)
    return out


@torch.inference_mode()
def label_patches(
    model: DeepTEN,
    patches: torch.Tensor,
    batch: int = 64,
    device: str | torch.device | None = None,
    progress: bool = True,
    classes: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Texture label, class probabilities and embedding of every patch (batched).

    Args:
        model: a trained :class:`DeepTEN`.
        patches: (N, 3, h, w) float in [0, 1] (the paper: h = w = 128), any device.
        batch: patches per forward pass.
        device: where to run the model (default CUDA if available).
        classes: if given, must equal ``model.classes`` (guards against a classifier
            trained on another label set).

    Returns:
        dict with ``label_idx`` ((N,) int64), ``prob`` ((N, C) float32, rows sum to 1),
        ``embedding`` ((N, K*D) float32, unit L2 norm), all numpy, and ``classes``.
    """
    if classes is not None:
        check_classes(classes, model.classes, "expected by caller vs classifier")
    if not isinstance(patches, torch.Tensor) or patches.ndim != 4 or patches.shape[1] != 3:
        shape = (
            tuple(patches.shape) if isinstance(patches, torch.Tensor) else type(patches).__name__
        )
        raise ValueError(f"patches must be a tensor (N, 3, H, W), got {shape}")
    if not patches.is_floating_point():
        raise TypeError(f"patches must be float in [0, 1], got {patches.dtype}")
    if len(patches) == 0:
        raise ValueError("no patches to label")
    if min(patches.shape[-2:]) < 32:
        raise ValueError(f"patches must be at least 32x32 pixels, got {tuple(patches.shape[-2:])}")
    if not torch.isfinite(patches).all() or patches.min() < -1e-3 or patches.max() > 1 + 1e-3:
        raise ValueError("patches must be finite and in [0, 1]")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"batch must be a positive int, got {batch!r}")
    dev = resolve_device(device)
    model.to(dev).eval()
    probs, embs = [], []
    for s in tqdm(
        range(0, len(patches), batch), desc="labelling patches", disable=not progress, leave=False
    ):
        x = patches[s : s + batch].to(dev, torch.float32).clamp(0, 1)
        e = model.embed(x)
        probs.append(torch.softmax(model.logits(e), dim=1).float().cpu())
        embs.append(e.float().cpu())
    prob = torch.cat(probs).numpy()
    return {
        "label_idx": prob.argmax(1).astype(np.int64),
        "prob": prob,
        "embedding": torch.cat(embs).numpy(),
        "classes": list(model.classes),
    }
