"""Feature taps: the outputs of named layers of any network, per image, without gradients.

Works on every network the book handles (zoo, trained here, released, spandrel, a user's
own module, the texture classifier): layers are addressed by their names in
``unwrap(model).named_modules()`` (:func:`layer_names`), and :func:`block_names` finds a
network's chain of residual blocks (the depth axis of the paper's Fig. 3e) without a
per-architecture table.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from .. import cache
from ..models import unwrap, weights_digest
from ..models.taps import Stop as _Stop
from ..models.taps import check_layers as _check_layers
from ..models.taps import layer_names
from ..runtime import data_dir

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)

__all__ = [
    "block_names",
    "cached_features",
    "features",
    "layer_names",
    "pool_features",
    "resolve_layers",
]


def block_names(model: nn.Module) -> list[str]:
    """The network's residual-block chain, shallow to deep: the largest group of sibling
    sub-modules of one class that are themselves composite (have children), in
    registration order (SRResNet/EDSR ``body.0 ... body.n``, PAN's SCPA trunk, IMDN's
    IMDBs, CARN's blocks, RCAN's residual groups). Plain containers (``Sequential``,
    ``ModuleList``) are not blocks: EDSR's ``head``/``body``/``tail`` are stages.
    ``ValueError`` when there is none (pass layer names instead; :func:`layer_names`
    lists them)."""
    best: list[str] = []
    for parent, module in unwrap(model).named_modules():
        kids = [
            (n, m)
            for n, m in module.named_children()
            if any(True for _ in m.children()) and not isinstance(m, _CONTAINERS)
        ]
        counts = Counter(type(m) for _, m in kids)
        for cls, n in counts.items():
            if n >= 2 and n > len(best):
                prefix = f"{parent}." if parent else ""
                best = [f"{prefix}{name}" for name, m in kids if type(m) is cls]
    if not best:
        raise ValueError(
            f"{type(unwrap(model)).__name__} has no chain of repeated blocks; give layer "
            f"names, e.g. {layer_names(model)[:8]}"
        )
    return best


def pool_features(x: torch.Tensor, pool: int) -> torch.Tensor:
    """(N, C, H, W) -> (N, C * pool * pool): adaptive average pooling to ``pool`` x
    ``pool`` cells, flattened (``pool`` = 1: the channel means). A (N, D) input (an
    embedding) is returned as is; (N, L, C) tokens (a transformer stage, e.g. GRL's) are
    averaged over the tokens to (N, C), whatever ``pool`` (their spatial layout is the
    network's own, often padded)."""
    if x.ndim == 2:
        return x
    if x.ndim == 3:
        return x.mean(1)
    if x.ndim != 4:
        raise ValueError(
            f"a tapped output must be (N, C, H, W), (N, L, C) or (N, D), got {tuple(x.shape)}"
        )
    return F.adaptive_avg_pool2d(x, pool).flatten(1)


def features(
    model: nn.Module,
    images: torch.Tensor,
    layers: Sequence[str],
    pool: int = 4,
    batch: int = 16,
    run: Callable[[torch.Tensor], object] | None = None,
    progress: bool | str = False,
) -> dict[str, np.ndarray]:
    """Outputs of ``layers`` of ``model`` for every image, pooled (:func:`pool_features`).

    Args:
        model: any network (an SRModel is unwrapped for the names; its own forward runs).
        images: (N, 3, h, w) float in [0, 1] on any device (moved to the model's).
        layers: names from :func:`layer_names`; a layer whose output is a tuple is
            tapped at its first element.
        pool: side of the adaptive average pooling grid (1..16).
        batch: images per forward pass.
        run: what to call on a batch (default ``model``; e.g. a classifier's ``embed``).
            The pass stops as soon as every tapped layer has run, so layers after the
            deepest tapped one cost nothing.
        progress: a tqdm bar over the batches (a string is its label).

    Returns:
        ``{layer: float32 array (N, C * pool**2)}`` in the order of ``layers``.

    Raises:
        ValueError: an unknown layer (the message lists valid names), a bad ``pool``, or a
            layer that did not run.
    """
    if isinstance(pool, bool) or not isinstance(pool, int) or not 1 <= pool <= 16:
        raise ValueError(f"pool must be an int in 1..16, got {pool!r}")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be (N, 3, h, w), got {tuple(images.shape)}")
    named = _check_layers(model, layers, type(unwrap(model)).__name__)
    run = run or model
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    got: dict[str, list[torch.Tensor]] = {n: [] for n in layers}
    done = [0]  # batches finished

    def hook(name: str) -> Callable[..., None]:
        def save(_m: nn.Module, _inp: object, out: object) -> None:
            t = out[0] if isinstance(out, tuple | list) else out
            got[name].append(pool_features(t.detach().float(), pool).cpu())
            # Every tapped layer has run for this batch: the rest of the network (an SR
            # tail at the output resolution is most of the cost) would be wasted work.
            if all(len(v) > done[0] for v in got.values()):
                raise _Stop

        return save

    handles = [named[n].register_forward_hook(hook(n)) for n in layers]
    was_training = model.training
    model.eval()
    try:
        label = progress if isinstance(progress, str) else "features"
        starts = range(0, len(images), batch)
        with torch.no_grad():
            for s in tqdm(starts, label, unit="batch", leave=False, disable=not progress):
                try:
                    run(images[s : s + batch].to(device))
                except _Stop:
                    pass
                done[0] += 1
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    n_batches = -(-len(images) // batch)
    out: dict[str, np.ndarray] = {}
    for n in layers:
        if len(got[n]) != n_batches:
            raise ValueError(
                f"layer {n!r} ran {len(got[n])} times for {n_batches} batches; tap a layer "
                "that runs once per forward pass"
            )
        out[n] = torch.cat(got[n]).numpy()
    return out


def resolve_layers(
    nets: dict[str, nn.Module], layers: dict[str, Sequence[str]] | None
) -> dict[str, list[str]]:
    """The layers to tap per network: ``layers[name]`` where given, else the network's
    :func:`block_names`. Checked before any feature is computed: a ``layers`` key that
    names no network, or a layer a network does not have, raises ``ValueError`` listing
    the valid names."""
    layers = dict(layers or {})
    stray = sorted(set(layers) - set(nets))
    if stray:
        raise ValueError(
            f"layers names network(s) {stray} that are not measured; networks: {sorted(nets)}"
        )
    out = {}
    for name, net in nets.items():
        chosen = list(layers.get(name) or block_names(net))
        _check_layers(net, chosen, name)
        out[name] = chosen
    return out


def cached_features(
    model: nn.Module,
    images: torch.Tensor,
    layers: Sequence[str],
    pool: int = 4,
    run: Callable[[torch.Tensor], object] | None = None,
    run_name: str = "forward",
    root: str | Path | None = None,
    progress: bool | str = False,
) -> dict[str, np.ndarray]:
    """:func:`features`, computed once and kept in the book's cache
    (``<cache>/ddr/features/``), keyed by the network's weights digest, the images'
    digest, the layers, ``pool``, ``run_name`` (name what a custom ``run`` does, e.g.
    ``"classifier, bicubic x4"``) and this module's source. A transformer such as
    GRL-tiny takes about 1.5 s per 32 px input on two CPU cores, so a rerun of a chapter
    should not pay it again. ``progress``: :func:`features`' bar (not in the key)."""
    key = cache.key(
        "ddr-features",
        {"layers": list(layers), "pool": pool, "run": run_name},
        cache.code_digest("ddr/taps.py"),
        [weights_digest(model), cache.tensor_digest(images)],
        length=20,
    )
    base = Path(root) if root is not None else data_dir() / "ddr" / "features"
    path = cache.entry_path("", key, root=base, prefix="features-")

    def compute() -> dict[str, torch.Tensor]:
        got = features(model, images, layers, pool=pool, run=run, progress=progress)
        return {"layers": list(layers), "values": [torch.from_numpy(got[n]) for n in layers]}

    entry, _ = cache.cached(path, key, compute, "feature taps")
    return {n: v.numpy() for n, v in zip(entry["layers"], entry["values"], strict=True)}
