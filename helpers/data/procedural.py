"""Procedurally generated textures named with DTD's label names (the `embedded` data).

The book's `embedded` preset has no network and no real texture dataset, so its texture
classifier is trained on textures drawn here. Each class is generated from the visual
definition of its DTD category (Cimpoi et al., 2014), e.g. *chequered* = two-colour squares
alternating in both directions, *honeycombed* = hexagonal cells with walls, *cracked* = a
surface split by thin irregular polygonal fissures. Every sample draws its own scale,
orientation, colours, contrast, smooth spatial warp, illumination and pixel noise, so a
classifier has to learn the structure, not one picture.

What is *not* here, and why: DTD classes whose look depends on a material or object that a
few lines of maths would only caricature (braided, frilly, knitted, lacelike, paisley,
pleated, scaly, ...). Of scikit-image's three texture photos (they ship inside the wheel,
no download): ``grass()`` is used for half of *fibrous* (DTD's fibrous is "many thin
strands", grass blades qualify); ``brick()`` (a pavement in running bond) and ``gravel()``
(a heap of separate stones) are left out, because DTD has no brick or gravel category and
forcing them into *grid* or *bumpy* would teach the classifier a label DTD's annotators did
not give.

Generation is vectorized torch on CPU (no per-pixel Python loops), rendered at twice the
requested size and box-downsampled (anti-aliasing of thin lines), and fully determined by
``seed``: the same call returns bit-identical tensors. ``make_dataset`` derives a separate
seed per (seed, split, label), so train and test never share a sample, and a class's
samples do not depend on which other classes are asked for.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
import torch.nn.functional as F

from ..runtime import derive_seed

__all__ = ["LABELS_EMBEDDED", "generate", "make_dataset", "derive_seed"]

#: The DTD labels this module generates (alphabetical, DTD's exact spelling).
LABELS_EMBEDDED: tuple[str, ...] = (
    "banded",
    "blotchy",
    "bubbly",
    "bumpy",
    "chequered",
    "cracked",
    "crosshatched",
    "dotted",
    "fibrous",
    "grid",
    "honeycombed",
    "lined",
    "marbled",
    "polka-dotted",
    "porous",
    "spiralled",
    "sprinkled",
    "striped",
    "swirly",
    "veined",
    "woven",
    "zigzagged",
)

_SPLITS = ("train", "test")
_TAU = 2.0 * math.pi
# Samples generated per vectorized chunk: bounds memory (the cell search holds a few
# (chunk, 2*size, 2*size) float tensors) without giving up vectorization.
_CHUNK = 32


# --------------------------------------------------------------------------- context
class _Ctx:
    """Random draws and coordinate/noise/colour tools for one chunk of ``n`` samples.

    All per-sample parameters are (n, 1, 1) tensors so they broadcast over (n, S, S).
    ``S`` is the (supersampled) render size in pixels.
    """

    def __init__(self, n: int, size: int, gen: torch.Generator) -> None:
        self.n, self.S, self.gen = n, size, gen
        r = torch.arange(size, dtype=torch.float32) + 0.5 - size / 2.0
        self.Y, self.X = torch.meshgrid(r, r, indexing="ij")  # pixel coords, centred

    # ---- random draws
    def uni(self, lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand((self.n, 1, 1), generator=self.gen)

    def loguni(self, lo: float, hi: float) -> torch.Tensor:
        return torch.exp(self.uni(math.log(lo), math.log(hi)))

    def coin(self, p: float) -> torch.Tensor:
        return torch.rand((self.n, 1, 1), generator=self.gen) < p

    def randint(self, lo: int, hi: int) -> torch.Tensor:
        """Integers in [lo, hi] inclusive, (n, 1, 1) float."""
        return torch.randint(lo, hi + 1, (self.n, 1, 1), generator=self.gen).float()

    # ---- coordinates
    def frame(
        self,
        period: tuple[float, float],
        warp: tuple[float, float] = (0.0, 0.0),
        angle: torch.Tensor | None = None,
        warp_cells: tuple[float, float] = (1.5, 4.0),
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Rotated, scaled, warped coordinates ``(u, v)`` in units of one period.

        ``period`` is a range of fractions of the image side (drawn log-uniformly);
        ``warp`` a range of smooth displacement amplitudes in periods, varying over
        ``warp_cells`` noise cells per image side. Returns ``(u, v, px)`` with ``px`` the
        size of one render pixel in periods (for anti-aliased edges).
        """
        per = self.loguni(*period) * self.S
        th = self.uni(0.0, _TAU) if angle is None else angle
        c, s = torch.cos(th), torch.sin(th)
        u = (self.X * c + self.Y * s) / per + self.uni(0.0, 1.0)
        v = (-self.X * s + self.Y * c) / per + self.uni(0.0, 1.0)
        if warp[1] > 0:
            amp = self.uni(*warp)
            cell = self.S / self.uni(*warp_cells)
            u = u + amp * self.noise(self.X / cell, self.Y / cell)
            v = v + amp * self.noise(self.X / cell, self.Y / cell)
        return u, v, 1.0 / per

    # ---- noise
    def noise(self, u: torch.Tensor, v: torch.Tensor, grid: int = 16) -> torch.Tensor:
        """Smooth periodic value noise (bicubic over a random lattice), about N(0, 0.5²).

        ``u, v``: (n, H, W) or broadcastable to it, in lattice cells. Sampling by
        ``grid_sample`` keeps it vectorized and lets any coordinate field be used.
        """
        u, v = torch.broadcast_tensors(u, v)
        if u.ndim == 2:
            u, v = u[None], v[None]
        if u.shape[0] != self.n:
            u, v = u.expand(self.n, *u.shape[1:]), v.expand(self.n, *v.shape[1:])
        table = torch.randn((self.n, 1, grid, grid), generator=self.gen)
        table = F.pad(table, (2, 2, 2, 2), mode="circular")
        # align_corners=True: -1 -> padded index 0, +1 -> index grid+3; coordinate p in
        # [0, grid) sits at padded index p+2, so the bicubic stencil never leaves the table.
        gx = (torch.remainder(u, grid) + 2.0) / (grid + 3) * 2.0 - 1.0
        gy = (torch.remainder(v, grid) + 2.0) / (grid + 3) * 2.0 - 1.0
        out = F.grid_sample(
            table, torch.stack([gx, gy], dim=-1), mode="bicubic", align_corners=True
        )
        return out[:, 0]

    def fbm(
        self, u: torch.Tensor, v: torch.Tensor, octaves: int = 4, gain: float = 0.5
    ) -> torch.Tensor:
        """Fractal sum of ``octaves`` noise layers (each twice as fine), std about 0.5."""
        total, amp, norm = 0.0, 1.0, 0.0
        for o in range(octaves):
            f = 2.0**o
            total = total + amp * self.noise(u * f + 3.1 * o, v * f - 1.7 * o, grid=16 * 2**o)
            norm += amp**2
            amp *= gain
        return total / math.sqrt(norm)

    def cells(
        self, u: torch.Tensor, v: torch.Tensor, jitter: torch.Tensor | float, grid: int = 64
    ) -> dict[str, torch.Tensor]:
        """Worley/Voronoi search over a jittered unit lattice (3x3 neighbour cells).

        Returns ``f1``, ``f2`` (nearest and second-nearest feature-point distances),
        ``id`` (flat index of the nearest cell, for per-cell attributes via :meth:`attr`)
        and ``du, dv`` (offset from the nearest point). ``grid`` bounds the number of
        distinct cells before the pattern repeats.
        """
        n = self.n
        pts = torch.rand((n, grid * grid, 2), generator=self.gen)
        cu, cv = torch.floor(u), torch.floor(v)
        shape = u.shape
        big = torch.full(shape, 1e9)
        f1, f2 = big.clone(), big.clone()
        ids = torch.zeros(shape, dtype=torch.long)
        du1, dv1 = torch.zeros(shape), torch.zeros(shape)
        for di in (-1.0, 0.0, 1.0):
            for dj in (-1.0, 0.0, 1.0):
                iu, iv = cu + di, cv + dj
                idx = (torch.remainder(iu, grid) * grid + torch.remainder(iv, grid)).long()
                flat = idx.reshape(n, -1)
                pu = torch.gather(pts[..., 0], 1, flat).reshape(shape)
                pv = torch.gather(pts[..., 1], 1, flat).reshape(shape)
                du = u - (iu + 0.5 + jitter * (pu - 0.5))
                dv = v - (iv + 0.5 + jitter * (pv - 0.5))
                d = torch.sqrt(du * du + dv * dv)
                closer = d < f1
                f2 = torch.where(closer, f1, torch.minimum(f2, d))
                f1 = torch.where(closer, d, f1)
                ids = torch.where(closer, idx, ids)
                du1 = torch.where(closer, du, du1)
                dv1 = torch.where(closer, dv, dv1)
        return {"f1": f1, "f2": f2, "id": ids, "du": du1, "dv": dv1, "grid": torch.tensor(grid)}

    def attr(self, c: dict[str, torch.Tensor], k: int = 1) -> torch.Tensor:
        """``k`` uniform [0, 1) attributes per Voronoi cell, looked up at each pixel.

        Returns (k, n, H, W).
        """
        grid = int(c["grid"])
        table = torch.rand((self.n, grid * grid, k), generator=self.gen)
        shape = c["id"].shape
        flat = c["id"].reshape(self.n, -1, 1).expand(-1, -1, k)
        return torch.gather(table, 1, flat).permute(2, 0, 1).reshape(k, *shape)

    # ---- colour
    def hsv(self, h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """HSV in [0, 1] (broadcastable tensors) -> RGB with a trailing channel axis."""
        h, s, v = torch.broadcast_tensors(h, s, v)
        out = []
        for k0 in (5.0, 3.0, 1.0):
            k = torch.remainder(k0 + h * 6.0, 6.0)
            out.append(v - v * s * torch.clamp(torch.minimum(k, 4.0 - k), 0.0, 1.0))
        return torch.stack(out, dim=-1)

    def color_pair(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Two colours (n, 3, 1, 1) with a guaranteed lightness difference, random order."""
        h0 = self.uni(0.0, 1.0)
        h1 = torch.where(self.coin(0.5), h0 + self.uni(-0.15, 0.15), self.uni(0.0, 1.0))
        grey = self.coin(0.2)
        s0 = torch.where(grey, torch.zeros_like(h0), self.uni(0.0, 0.85))
        s1 = torch.where(grey, torch.zeros_like(h0), self.uni(0.0, 0.85))
        dark = self.hsv(h0, s0, self.uni(0.03, 0.45))
        light = self.hsv(h1, s1, self.uni(0.6, 0.98))
        swap = self.coin(0.5)[..., None]
        a, b = torch.where(swap, light, dark), torch.where(swap, dark, light)
        return a.permute(0, 3, 1, 2), b.permute(0, 3, 1, 2)

    def palette(self, k: int) -> torch.Tensor:
        """``k`` varied colours per sample, (n, k, 3)."""
        h = torch.rand((self.n, k), generator=self.gen)
        s = torch.rand((self.n, k), generator=self.gen) * 0.9
        v = 0.15 + 0.85 * torch.rand((self.n, k), generator=self.gen)
        return self.hsv(h, s, v)

    def two_tone(self, t: torch.Tensor) -> torch.Tensor:
        """Map ``t`` in [0, 1] (n, H, W) between two random colours -> (n, 3, H, W)."""
        c0, c1 = self.color_pair()
        return c0 + (c1 - c0) * t[:, None]


from .patterns import _PATTERNS  # noqa: E402  (patterns annotate with _Ctx above)

assert tuple(sorted(_PATTERNS)) == LABELS_EMBEDDED


def _finish(g: _Ctx, img: torch.Tensor) -> torch.Tensor:
    """Shared nuisance factors: illumination, contrast, anti-aliasing, pixel noise."""
    cell = g.S / g.uni(1.0, 3.0)
    illum = 1.0 + g.uni(0.0, 0.25) * g.noise(g.X / cell, g.Y / cell, grid=8)
    img = img * illum[:, None]
    mean = img.mean(dim=(1, 2, 3), keepdim=True)
    img = mean + g.uni(0.55, 1.0)[..., None] * (img - mean)
    img = F.avg_pool2d(img, 2)  # 2x supersampling -> requested size, anti-aliased
    sigma = g.uni(0.0, 0.04)[..., None]
    img = img + sigma * torch.randn(img.shape, generator=g.gen)
    return img.clamp(0.0, 1.0)


def _check_label(label: str) -> None:
    if label not in _PATTERNS:
        raise ValueError(
            f"no procedural generator for label {label!r}; available (DTD names): "
            f"{', '.join(LABELS_EMBEDDED)}"
        )


def generate(
    label: str, n: int, size: int = 96, seed: int = 0, split: str = "train"
) -> torch.Tensor:
    """Draw ``n`` textures of one DTD class.

    Args:
        label: a DTD label from :data:`LABELS_EMBEDDED`.
        n: number of images (>= 1).
        size: side in pixels (>= 16).
        seed: non-negative int; the same (label, n, size, seed, split) gives identical
            output on every run.
        split: ``"train"`` or ``"test"``. Only matters for classes that use a photograph
            (``fibrous`` crops scikit-image's grass from disjoint regions per split);
            procedural samples differ between splits through ``seed`` (see
            :func:`make_dataset`).

    Returns:
        float32 tensor (n, 3, size, size) in [0, 1], CPU.
    """
    _check_label(label)
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n must be a positive int, got {n!r}")
    if isinstance(size, bool) or not isinstance(size, int) or size < 16:
        raise ValueError(f"size must be an int >= 16, got {size!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {_SPLITS}, got {split!r}")
    fn = _PATTERNS[label]
    out = []
    with _one_thread():
        for start in range(0, n, _CHUNK):
            m = min(_CHUNK, n - start)
            gen = torch.Generator().manual_seed(derive_seed(seed, label, str(start)))
            g = _Ctx(m, 2 * size, gen)
            img = fn(g, split) if label == "fibrous" else fn(g)
            out.append(_finish(g, img.float()))
    return torch.cat(out).contiguous()


@contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one CPU thread, restoring the setting afterwards.

    Generation is many small memory-bound elementwise ops; on a machine whose cores are
    shared, torch's intra-op thread pool made it 5-10x *slower* than one thread.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def make_dataset(
    labels: Sequence[str] = LABELS_EMBEDDED,
    n_per_class: int = 100,
    size: int = 96,
    seed: int = 0,
    split: str = "train",
) -> tuple[torch.Tensor, torch.Tensor]:
    """A labelled procedural dataset; ``split="test"`` is drawn from independent seeds.

    Returns:
        ``(images, label_idx)``: images float32 (len(labels) * n_per_class, 3, size, size)
        in [0, 1], class-major order; label_idx int64 (N,) indexing ``labels``.
    """
    labels = tuple(labels)
    if not labels:
        raise ValueError("labels must not be empty")
    if len(set(labels)) != len(labels):
        raise ValueError(f"labels must be unique, got {labels}")
    for lab in labels:
        _check_label(lab)
    if split not in _SPLITS:
        raise ValueError(f"split must be one of {_SPLITS}, got {split!r}")
    imgs = [
        generate(lab, n_per_class, size, derive_seed(seed, split, lab), split=split)
        for lab in labels
    ]
    idx = torch.arange(len(labels)).repeat_interleave(n_per_class)
    return torch.cat(imgs), idx
