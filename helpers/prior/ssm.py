"""Self-similarity maps (Zamfir 2022, Eq. 3.1) and the extraction module (Fig. 3.2).

- :func:`ncc_maps`: normalised cross-correlation of templates against whole grey images,
  batched (one ``unfold`` and one batched matrix product; no per-template Python loop),
  equal to ``skimage.feature.match_template(image, template, pad_input=True)`` (zero
  padding, window statistics per position, 0 where a window or template has no variance).
- :func:`self_similarity_maps`: the SSMs of the P non-overlapping side x side patches of each
  image, P = (H // side) * (W // side).
- :func:`extract`: the candidate SSM (the patch whose ``n_ssr`` best local maxima have the
  highest mean), the PoI box (the patch itself: its SSM's global maximum, NCC = 1), the
  SSR boxes and their targets ``w`` for one of the four scenarios of Fig. 4.4. Images
  without ``n_ssr`` maxima above ``min_similarity`` are marked invalid (skipped, counted).

The project's other NCC (:func:`helpers.metrics.content.self_similarity`) correlates an
image with its own *shifted copies* (one number per shift), not a template with every
window, so it does not fit here; the grey conversion (:func:`~helpers.metrics.content.to_grey`,
BT.601 luma) is shared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..metrics.content import to_grey

#: The four SSR-selection scenarios of the thesis's Fig. 4.4, in its order.
SCENARIOS: tuple[str, ...] = ("local_similar", "global_similar", "local_random", "global_random")

#: A window (or template) whose summed squared deviation is below this, times the number
#: of its pixels, has no variance: its NCC is 0 (an 8-bit step between two pixels gives
#: about 1.5e-5, far above).
_FLAT = 1e-10


def _check_side(side: int, h: int, w: int) -> None:
    if isinstance(side, bool) or not isinstance(side, int) or side < 1:
        raise ValueError(f"patch side must be a positive int, got {side!r}")
    if side > min(h, w):
        raise ValueError(f"patch side={side} is larger than the {h}x{w} image")


def ncc_maps(
    grey: torch.Tensor, templates: torch.Tensor, dtype: torch.dtype = torch.float64
) -> torch.Tensor:
    """NCC of every template against every position of its image (``pad_input=True``).

    Args:
        grey: (B, H, W) grey images.
        templates: (B, P, th, tw) templates, P per image, th <= H and tw <= W.
        dtype: of the (B, P, H, W) part (window and template statistics are always
            float64). float64 is the reference; the extraction module's search uses float32
            (about twice as fast; its error is measured in tests/test_prior.py).

    Returns:
        (B, P, H, W) ``dtype`` in [-1, 1]: entry (b, p, y, x) is the Pearson correlation of
        template p with the window of image b whose top-left is (y - ay, x - ax),
        ay = th - 1 - (th - 1) // 2 (the template's centre for odd sides), zero-padded.
    """
    if grey.ndim != 3 or templates.ndim != 4 or templates.shape[0] != grey.shape[0]:
        raise ValueError(
            f"expected grey (B, H, W) and templates (B, P, th, tw), got "
            f"{tuple(grey.shape)} and {tuple(templates.shape)}"
        )
    b, h, w = grey.shape
    th, tw = templates.shape[-2:]
    if th > h or tw > w:
        raise ValueError(f"template {th}x{tw} is larger than the {h}x{w} image")
    g = grey.to(torch.float64)  # window statistics always in float64 (cheap: (B, H*W))
    t = templates.to(torch.float64).flatten(2)  # (B, P, T)
    n = th * tw
    ay, ax = th - 1 - (th - 1) // 2, tw - 1 - (tw - 1) // 2
    padded = F.pad(g[:, None], (ax, tw - 1 - ax, ay, th - 1 - ay))
    # A constant shift of image and padding leaves every NCC unchanged; centring keeps the
    # sums below small (less cancellation in sum2 - sum^2 / n).
    padded = padded - padded.mean(dim=(-2, -1), keepdim=True)
    win = F.unfold(padded, (th, tw))  # (B, T, H*W)
    s1, s2 = win.sum(1), (win * win).sum(1)  # (B, H*W)
    var_w = (s2 - s1 * s1 / n).clamp(min=0.0)
    tc = t - t.mean(-1, keepdim=True)
    ssd_t = (tc * tc).sum(-1)  # (B, P)
    # 1 / sqrt of the sums of squared deviations, 0 where there is no variance (NCC 0).
    inv_w = torch.where(var_w > _FLAT * n, var_w.rsqrt(), 0.0)
    inv_t = torch.where(ssd_t > _FLAT * n, ssd_t.rsqrt(), 0.0)
    # The one (B, P, H*W) product, in ``dtype``, with both normalisations folded into its
    # (small) operands: sum of (T - mean T) / |T - mean T| * window / |window - mean|.
    # (The window's own mean need not be subtracted: the template's deviations sum to 0.)
    out = torch.bmm((tc * inv_t[:, :, None]).to(dtype), (win * inv_w[:, None, :]).to(dtype))
    return out.clamp_(-1.0, 1.0).view(b, -1, h, w)


def patch_grid(h: int, w: int, side: int) -> torch.Tensor:
    """Top-left corners (P, 2) of the non-overlapping side x side patches of an h x w image,
    row by row from (0, 0); P = (h // side) * (w // side)."""
    _check_side(side, h, w)
    ys, xs = torch.arange(h // side) * side, torch.arange(w // side) * side
    return torch.cartesian_prod(ys, xs)


def self_similarity_maps(
    images: torch.Tensor, side: int, dtype: torch.dtype = torch.float64
) -> tuple[torch.Tensor, torch.Tensor]:
    """SSMs (B, P, H, W) of the P non-overlapping side x side patches of each image, and the
    patches' top-left corners (P, 2). ``images``: (B, 3, H, W) RGB or (B, 1, H, W) grey
    in [0, 1] (RGB becomes BT.601 luma)."""
    grey = to_grey(images)
    _, h, w = grey.shape
    corners = patch_grid(h, w, side)
    tiles = grey.unfold(1, side, side).unfold(2, side, side)  # (B, H//side, W//side, side, side)
    templates = tiles.reshape(grey.shape[0], -1, side, side)
    return ncc_maps(grey, templates, dtype), corners


def local_maxima(maps: torch.Tensor, k: int) -> torch.Tensor:
    """Bool (..., H, W): positions equal to the maximum of their k x k window (k odd;
    separable max pooling: rows, then columns)."""
    if isinstance(k, bool) or not isinstance(k, int) or k < 1 or k % 2 == 0:
        raise ValueError(f"the suppression window must be an odd int >= 1, got {k!r}")
    r, (h, w) = k // 2, maps.shape[-2:]
    p = F.pad(maps, (r, r, r, r), value=-math.inf)
    rows = p[..., 0:h, :]
    for d in range(1, k):  # shifted maxima: cheaper than max_pool2d on CPU here
        rows = torch.maximum(rows, p[..., d : d + h, :])
    m = rows[..., 0:w]
    for d in range(1, k):
        m = torch.maximum(m, rows[..., d : d + w])
    return m == maps


def _top_maxima_full(maps: torch.Tensor, region: torch.Tensor, n: int, k: int):
    """The reference search of :func:`top_maxima`: every local maximum of every map."""
    allowed = local_maxima(maps, k) & region
    scores = torch.where(allowed, maps, torch.full_like(maps, -2.0)).flatten(-2)
    return scores.topk(n, dim=-1)


def top_maxima(
    maps: torch.Tensor, region: torch.Tensor, n: int, k: int, chunk: int = 4
) -> tuple[torch.Tensor, torch.Tensor]:
    """The ``n`` largest local maxima (k x k, :func:`local_maxima`) of each map inside
    ``region``, as ``topk`` values (B, P, n) and flat indices; -2 fills when a map has
    fewer. Maps (B, P, H, W) in [-1, 1], region (P, H, W) bool.

    Done ``chunk`` patches (all B images) at a time: the max filter's passes then stay in
    cache, 4x faster than over the whole (B, P, H, W) block (16 x 81 x 48 x 48 here), with
    every output bit for bit the same (each map's result depends on that map alone).
    """
    parts = [
        _top_maxima_full(maps[:, i : i + chunk], region[i : i + chunk], n, k)
        for i in range(0, maps.shape[1], chunk)
    ]
    return torch.cat([v for v, _ in parts], 1), torch.cat([i for _, i in parts], 1)


@dataclass
class Extraction:
    """The extraction module's output for a batch (all boxes side x side, top-left corners in
    the LR image's pixels).

    Attributes:
        poi: (B, 2) the PoI box per image. ssr: (B, N, 2) the SSR boxes.
        w: (B, N) targets: the candidate SSM at each SSR (clamped to [0, 1]).
        valid: (B,) False for an image without ``n_ssr`` usable regions (skipped).
        ssm: (B, H, W) the candidate SSM (zeros where invalid). side: the box side.
    """

    poi: torch.Tensor
    ssr: torch.Tensor
    w: torch.Tensor
    valid: torch.Tensor
    ssm: torch.Tensor
    side: int

    @property
    def n_skipped(self) -> int:
        return int((~self.valid).sum())

    def masks(self, h: int, w: int) -> torch.Tensor:
        """Binary masks (B, 1 + N, h, w): the PoI first, then the SSRs."""
        return box_masks(torch.cat([self.poi[:, None], self.ssr], 1), self.side, h, w)


def box_masks(corners: torch.Tensor, side: int, h: int, w: int, offset=None) -> torch.Tensor:
    """Masks (B, K, h, w) of side x side boxes with top-left ``corners`` (B, K, 2), in a frame
    whose top-left is ``offset`` (B, 2) (default 0); boxes are clipped to the frame."""
    off = torch.zeros(corners.shape[0], 2, dtype=corners.dtype) if offset is None else offset
    c = corners - off[:, None, :]
    ys, xs = torch.arange(h), torch.arange(w)
    in_y = (ys >= c[..., 0:1]) & (ys < c[..., 0:1] + side)  # (B, K, h)
    in_x = (xs >= c[..., 1:2]) & (xs < c[..., 1:2] + side)
    return (in_y[..., :, None] & in_x[..., None, :]).float()


def _regions(h: int, w: int, side: int, corners: torch.Tensor, cfg: dict, scenario: str):
    """Allowed SSR top-left corners (P, H, W) per patch for the scenario: boxes fully
    inside the image, away from the patch's own peak, inside (local) or outside (global)
    the window around it."""
    ys = torch.arange(h)[None, :, None] - corners[:, 0, None, None]  # offset of box corner
    xs = torch.arange(w)[None, None, :] - corners[:, 1, None, None]
    d = torch.maximum(ys.abs(), xs.abs())  # Chebyshev distance of the box from the PoI box
    inside = (torch.arange(h) <= h - side)[None, :, None] & (torch.arange(w) <= w - side)[
        None, None
    ]
    if scenario.startswith("local"):
        return inside & (d > cfg["suppress"] // 2) & (d <= cfg["local_window"] // 2)
    return inside & (d > cfg["exclude"] // 2)


def check_settings(n_ssr: int, scenario: str, side: int, **_: object) -> None:
    """Raise ``ValueError`` for an ``n_ssr`` below 1, an unknown scenario or a bad side."""
    if isinstance(n_ssr, bool) or not isinstance(n_ssr, int) or n_ssr < 1:
        raise ValueError(f"n_ssr must be an int >= 1, got {n_ssr!r}")
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; valid: {list(SCENARIOS)}")
    if isinstance(side, bool) or not isinstance(side, int) or side < 1:
        raise ValueError(f"patch side must be a positive int, got {side!r}")


#: The extraction settings (LR px). Thesis: side = 5 (PoI 5x5), local window 7x7, global
#: SSRs outside 11x11; ``suppress`` is the max-pooling window of the local maxima.
DEFAULTS: dict[str, object] = {
    "side": 5,
    "n_ssr": 1,
    "scenario": "local_similar",
    "suppress": 5,
    "local_window": 15,
    "exclude": 11,
    "min_similarity": 0.5,
}


def extract(
    images: torch.Tensor, generator: torch.Generator | None = None, **settings: object
) -> Extraction:
    """The extraction module on a batch of LR images (B, 3, H, W) in [0, 1].

    Rule: SSM of every non-overlapping side x side patch (:func:`self_similarity_maps`); its
    local maxima are the positions equal to the max over a ``suppress`` x ``suppress``
    window, restricted to the scenario's region (:func:`_regions`: local = box corner
    within ``local_window // 2`` px of the PoI's, global = beyond ``exclude // 2``); a
    patch qualifies when its ``n_ssr``-th best maximum exceeds ``min_similarity``; the
    candidate is the qualifying patch with the highest mean of its ``n_ssr`` best maxima.
    Random scenarios keep that PoI and draw the SSR corners uniformly (without
    replacement) from the same region with ``generator`` (never the global RNG). ``w`` is
    the candidate SSM at each SSR corner's box centre, clamped to [0, 1].
    """
    cfg = {**DEFAULTS, **settings}
    side, n_ssr, scenario = cfg["side"], cfg["n_ssr"], cfg["scenario"]
    check_settings(n_ssr, scenario, side)
    if images.ndim != 4:
        raise ValueError(f"images must be (B, C, H, W), got {tuple(images.shape)}")
    b, _, h, w = images.shape
    _check_side(side, h, w)
    ssm, corners = self_similarity_maps(images, side, torch.float32)  # indexed by box centre
    a = side - 1 - (side - 1) // 2  # box centre - box corner
    # Re-index by box corner: corner (y, x) <-> centre (y + a, x + a).
    by_corner = F.pad(ssm, (0, a, 0, a), value=-2.0)[..., a:, a:]
    region = _regions(h, w, side, corners, cfg, scenario.replace("random", "similar"))
    if h * w < n_ssr:
        raise ValueError(f"n_ssr={n_ssr} is more than the image's {h * w} positions")
    top, idx = top_maxima(by_corner, region, n_ssr, cfg["suppress"])  # (B, P, N)
    ok = top[..., -1] > cfg["min_similarity"]
    mean = torch.where(ok, top.mean(-1), torch.full_like(top[..., 0], -3.0))
    best = mean.argmax(-1)  # (B,)
    valid = ok.gather(1, best[:, None])[:, 0]
    pick = idx[torch.arange(b), best]  # (B, N) flat corner indices
    if scenario.endswith("random"):
        reg = region[best].flatten(1).float()  # (B, H*W)
        enough = reg.sum(-1) >= n_ssr
        valid = valid & enough
        reg[~enough] = 1.0  # keep multinomial well-defined; the sample is invalid anyway
        pick = torch.multinomial(reg, n_ssr, replacement=False, generator=generator)
    ssr = torch.stack([pick // w, pick % w], -1)
    cand = by_corner[torch.arange(b), best]  # (B, H, W)
    wt = cand.flatten(1).gather(1, pick).clamp(0.0, 1.0)
    poi = corners[best]
    cand_c = ssm[torch.arange(b), best] * valid[:, None, None]
    return Extraction(poi, ssr, wt.float(), valid, cand_c.float(), side)
