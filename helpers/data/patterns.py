"""The pattern generators behind :mod:`helpers.data.procedural`, one per DTD label.

Each ``_<label>(g)`` draws a batch of textures on the sampling context :class:`_Ctx`
of :mod:`helpers.data.procedural` (coordinates at twice the requested size, a seeded
generator, random per-sample parameters); :mod:`helpers.data.procedural` adds the shared
nuisance factors and the public API. Everything is vectorized torch on the CPU.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

if TYPE_CHECKING:  # annotations only: procedural imports this module
    from .procedural import _Ctx

_TAU = 2.0 * math.pi


def _lookup(pal: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
    """Palette (n, k, 3) indexed by integer map (n, H, W) -> (n, 3, H, W)."""
    n, h, w = idx.shape
    flat = idx.long().reshape(n, -1, 1).expand(-1, -1, 3)
    return torch.gather(pal, 1, flat).reshape(n, h, w, 3).permute(0, 3, 1, 2)


def _band(u: torch.Tensor, width: torch.Tensor | float, px: torch.Tensor) -> torch.Tensor:
    """Anti-aliased periodic band: 1 where ``u`` is within ``width/2`` of an integer."""
    d = torch.abs(u - torch.round(u))
    return torch.clamp((width / 2.0 - d) / px + 0.5, 0.0, 1.0)


def _step(x: torch.Tensor, px: torch.Tensor | float) -> torch.Tensor:
    """Soft step 0 -> 1 around ``x = 0`` over one render pixel (``px`` in x-units)."""
    return torch.clamp(x / px + 0.5, 0.0, 1.0)


def _tri(x: torch.Tensor) -> torch.Tensor:
    """Triangle wave with period 1 and range [-1, 1]."""
    return 2.0 * torch.abs(2.0 * (x - torch.floor(x + 0.5))) - 1.0


def _mix(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Blend images (n, 3, H, W) by a map (n, H, W)."""
    return a + (b - a) * t[:, None]


# --------------------------------------------------------------------------- patterns
# Each pattern takes a context and returns RGB (n, 3, S, S), roughly in [0, 1].


def _striped(g: _Ctx) -> torch.Tensor:
    # Regular two-colour stripes of similar width (DTD: "striped").
    u, _, px = g.frame((1 / 16, 1 / 4), warp=(0.0, 0.12))
    return g.two_tone(_band(u, g.uni(0.35, 0.65), px))


def _lined(g: _Ctx) -> torch.Tensor:
    # Thin parallel lines on a dominant background.
    u, _, px = g.frame((1 / 14, 1 / 5), warp=(0.0, 0.2))
    width = torch.maximum(g.uni(0.05, 0.16), 1.5 * px)
    return g.two_tone(_band(u, width, px))


def _banded(g: _Ctx) -> torch.Tensor:
    # A few broad bands of several colours with irregular widths.
    u, _, _ = g.frame((1 / 4, 1 / 1.6), warp=(0.0, 0.08))
    # A monotone warp (derivative stays > 0) makes the band widths unequal.
    u = u + 0.12 * torch.sin(_TAU * u * 0.37 + g.uni(0, _TAU))
    m = g.randint(3, 5)
    pal = g.palette(5)
    idx = torch.remainder(torch.floor(u), m)
    img = _lookup(pal, idx)
    # Some banded images have soft, gradient-like transitions.
    soft = g.uni(0.0, 1.5) * g.coin(0.5)
    k = int(max(1, round(g.S / 48)))
    blurred = F.avg_pool2d(img, 2 * k + 1, stride=1, padding=k, count_include_pad=False)
    return img + (blurred - img) * soft.clamp(max=1.0)[:, None]


def _chequered(g: _Ctx) -> torch.Tensor:
    axis = torch.where(g.coin(0.6), g.randint(0, 3) * (math.pi / 4), g.uni(0, _TAU))
    u, v, _ = g.frame((1 / 12, 1 / 3), warp=(0.0, 0.08), angle=axis)
    t = torch.remainder(torch.floor(u) + torch.floor(v), 2.0)
    return g.two_tone(t)


def _grid(g: _Ctx) -> torch.Tensor:
    # Thin continuous lines crossing at right angles, evenly spaced.
    axis = torch.where(g.coin(0.6), g.randint(0, 3) * (math.pi / 2), g.uni(0, _TAU))
    u, v, px = g.frame((1 / 12, 1 / 4), warp=(0.0, 0.06), angle=axis)
    w = torch.maximum(g.uni(0.05, 0.15), 1.5 * px)
    t = torch.maximum(_band(u, w, px), _band(v, w, px))
    return g.two_tone(t)


def _crosshatched(g: _Ctx) -> torch.Tensor:
    # Two families of dense, broken, hand-drawn strokes crossing at an oblique angle.
    th = g.uni(-0.35, 0.35) + math.pi / 4 + g.randint(0, 1) * (math.pi / 2)
    d = g.uni(math.radians(40), math.radians(90))
    ts = []
    for ang in (th, th + d):
        u, v, px = g.frame((1 / 36, 1 / 14), warp=(0.03, 0.2), angle=ang, warp_cells=(3, 8))
        line = torch.round(u)
        # Strokes break up and vary in pressure along their length.
        dash = torch.clamp(g.noise(line * 3.7, v / 4.0) * 2.5 + 0.7, 0.0, 1.0)
        ts.append(_band(u, torch.maximum(g.uni(0.15, 0.35), 1.5 * px), px) * dash)
    t = torch.maximum(ts[0], ts[1] * g.uni(0.6, 1.0))
    return g.two_tone(t)


def _lattice_offsets(u: torch.Tensor, v: torch.Tensor, hexa: torch.Tensor):
    """Offset from the nearest point of a square or (alternate-row shifted) lattice."""
    row = torch.round(v)
    shift = torch.where(hexa, 0.5 * torch.remainder(row, 2.0), torch.zeros_like(row))
    du = u + shift - torch.round(u + shift)
    return du, v - row


def _polka_dotted(g: _Ctx) -> torch.Tensor:
    # Large round dots on a regular lattice, clean background.
    u, v, px = g.frame((1 / 8, 1 / 3.5), warp=(0.0, 0.04))
    du, dv = _lattice_offsets(u, v, g.coin(0.5))
    r = g.uni(0.18, 0.32)
    return g.two_tone(_step(r - torch.sqrt(du * du + dv * dv), px))


def _dotted(g: _Ctx) -> torch.Tensor:
    # Many small dots, dense and not necessarily on a perfect lattice.
    u, v, px = g.frame((1 / 22, 1 / 9), warp=(0.0, 0.15))
    c = g.cells(u, v, jitter=g.uni(0.0, 0.35))
    (a,) = g.attr(c, 1)
    r = torch.maximum(g.uni(0.12, 0.22), 1.5 * px) * (0.8 + 0.4 * a)
    return g.two_tone(_step(r - c["f1"], px))


def _sprinkled(g: _Ctx) -> torch.Tensor:
    # Short rod-like grains in several colours, scattered at random orientations.
    u, v, px = g.frame((1 / 11, 1 / 6))
    c = g.cells(u, v, jitter=g.uni(0.7, 1.0))
    ang, length, present, col = g.attr(c, 4)
    ca, sa = torch.cos(ang * _TAU), torch.sin(ang * _TAU)
    a = c["du"] * ca + c["dv"] * sa
    b = -c["du"] * sa + c["dv"] * ca
    half = 0.12 + 0.14 * length
    d = torch.sqrt(torch.clamp(torch.abs(a) - half, min=0.0) ** 2 + b * b)
    t = _step(g.uni(0.05, 0.09) - d, px) * (present < g.uni(0.6, 1.0)).float()
    pal = g.palette(6)
    grains = _lookup(pal, torch.floor(col * g.randint(3, 6)))
    bg, _ = g.color_pair()
    return _mix(bg.expand_as(grains), grains, t)


def _zigzagged(g: _Ctx) -> torch.Tensor:
    # Stripes folded into sharp zigzags (triangle-wave displaced bands).
    u, v, px = g.frame((1 / 12, 1 / 5), warp=(0.0, 0.05))
    amp = g.uni(0.4, 1.2)
    lam = g.uni(0.6, 2.0)
    t = _band(v + amp * _tri(u / lam), g.uni(0.3, 0.55), px)
    return g.two_tone(t)


def _honeycombed(g: _Ctx) -> torch.Tensor:
    # Hexagonal cells separated by walls (nearest point of a triangular lattice).
    u, v, px = g.frame((1 / 8, 1 / 3), warp=(0.0, 0.05))
    h = math.sqrt(3.0)
    au = torch.remainder(u, 1.0) - 0.5
    av = torch.remainder(v, h) - h / 2
    bu = torch.remainder(u - 0.5, 1.0) - 0.5
    bv = torch.remainder(v - h / 2, h) - h / 2
    use_a = au * au + av * av < bu * bu + bv * bv
    pu, pv = torch.where(use_a, au, bu), torch.where(use_a, av, bv)
    # Nearest-neighbour directions 0, 60, 120 degrees; hexagon edges at distance 0.5.
    proj = torch.stack(
        [torch.abs(pu), torch.abs(0.5 * pu + h / 2 * pv), torch.abs(-0.5 * pu + h / 2 * pv)]
    ).amax(0)
    edge = 0.5 - proj
    wall = _step(g.uni(0.03, 0.1) - edge, px)
    img = g.two_tone(wall)
    # Cells are often shaded like shallow cups.
    shade = 1.0 - g.uni(0.0, 0.35) * (1.0 - 2.0 * edge).clamp(0, 1)
    return img * torch.where(wall > 0.5, torch.ones_like(shade), shade)[:, None]


def _spiralled(g: _Ctx) -> torch.Tensor:
    # One spiral (Archimedean or logarithmic) with one to three arms.
    cx, cy = g.uni(-0.2, 0.2) * g.S, g.uni(-0.2, 0.2) * g.S
    per = g.loguni(1 / 14, 1 / 6) * g.S
    x, y = g.X - cx, g.Y - cy
    r = torch.sqrt(x * x + y * y) / per
    phi = torch.atan2(y, x) / _TAU
    arms = g.randint(1, 3)
    chir = torch.where(g.coin(0.5), 1.0, -1.0)
    logk = g.uni(1.5, 4.0)
    radial = torch.where(g.coin(0.5), r, logk * torch.log(r + 1e-3))
    cell = g.S / g.uni(2.0, 4.0)
    radial = radial + g.uni(0.0, 0.15) * g.noise(g.X / cell, g.Y / cell)
    phase = radial + chir * arms * phi
    # Pixel size in phase units grows near the centre; 1/per is adequate away from it.
    return g.two_tone(_band(phase, g.uni(0.3, 0.6), 1.0 / per))


def _swirly(g: _Ctx) -> torch.Tensor:
    # Smooth stripes twisted by several vortices into curls and eddies.
    x, y = g.X.expand(g.n, -1, -1), g.Y.expand(g.n, -1, -1)
    for _ in range(4):
        cx, cy = g.uni(-0.5, 0.5) * g.S, g.uni(-0.5, 0.5) * g.S
        sig = g.uni(0.12, 0.35) * g.S
        strength = g.uni(2.0, 6.0) * torch.where(g.coin(0.5), 1.0, -1.0)
        dx, dy = x - cx, y - cy
        a = strength * torch.exp(-(dx * dx + dy * dy) / (sig * sig))
        ca, sa = torch.cos(a), torch.sin(a)
        x, y = cx + dx * ca - dy * sa, cy + dx * sa + dy * ca
    per = g.loguni(1 / 12, 1 / 5) * g.S
    th = g.uni(0, _TAU)
    u = (x * torch.cos(th) + y * torch.sin(th)) / per
    sharp = g.uni(0.0, 1.0)
    s = 0.5 + 0.5 * torch.sin(_TAU * u)
    t = (1 - sharp) * s + sharp * _step(s - 0.5, 0.15)
    return g.two_tone(t)


def _marbled(g: _Ctx) -> torch.Tensor:
    # Several colours folded into turbulent layers (marbled paper / marble stone).
    u, v, _ = g.frame((1 / 3, 1.0))
    cell = g.S / g.uni(1.5, 3.0)
    turb = g.fbm(g.X / cell, g.Y / cell, octaves=5)
    w = u * g.uni(1.5, 4.0) + g.uni(1.5, 4.0) * turb
    m = g.randint(2, 4)
    pal = g.palette(4)
    p = torch.remainder(w, m)
    i0 = torch.floor(p)
    i1 = torch.remainder(i0 + 1, m)
    f = p - i0
    sharp = g.uni(1.0, 6.0)
    f = torch.sigmoid((f - 0.5) * 2 * sharp)
    img = _mix(_lookup(pal, i0), _lookup(pal, i1), f)
    # Dark or light veins along some layer boundaries.
    vein = _band(w, g.uni(0.02, 0.06), torch.full_like(sharp, 0.02)) * g.coin(0.5)
    tone, _ = g.color_pair()
    return _mix(img, tone.expand_as(img), vein * g.uni(0.4, 0.9))


def _veined(g: _Ctx) -> torch.Tensor:
    # Thin vein lines on a mostly plain surface: winding networks (zero crossings of noise,
    # as in stone or skin) or a leaf's midrib with angled secondary veins.
    cell = g.S / g.uni(1.5, 4.0)
    n1 = g.fbm(g.X / cell, g.Y / cell, octaves=4)
    n2 = g.fbm(g.X / cell * 1.7 + 9.0, g.Y / cell * 1.7, octaves=3)
    w1, w2 = g.uni(0.015, 0.04), g.uni(0.01, 0.03)
    px = torch.full_like(w1, 0.012)
    net = torch.maximum(_step(w1 - n1.abs(), px), _step(w2 - n2.abs(), px) * g.uni(0.3, 1.0))
    u, v, ppx = g.frame((1 / 6, 1 / 3), warp=(0.02, 0.1))
    mid = _step(g.uni(0.04, 0.1) - v.abs(), ppx)
    slope = g.uni(0.5, 1.5)
    sec = _band(u - slope * v.abs(), g.uni(0.04, 0.1), ppx)
    leaf = torch.maximum(torch.maximum(mid, sec), 0.6 * net)
    t = torch.where(g.coin(0.6), net, leaf)
    img = g.two_tone(t)
    return img * (1.0 + 0.1 * g.fbm(g.X / cell, g.Y / cell, 3))[:, None]


def _cracked(g: _Ctx) -> torch.Tensor:
    # A surface split into irregular polygons by thin fissures of varying width.
    u, v, px = g.frame((1 / 8, 1 / 3), warp=(0.04, 0.12), warp_cells=(6.0, 14.0))
    c = g.cells(u, v, jitter=g.uni(0.8, 1.0))
    edge = 0.5 * (c["f2"] - c["f1"])
    width = g.uni(0.015, 0.05) * (1.0 + 0.6 * g.noise(u * 2.0, v * 2.0)).clamp(0.3, 2.0)
    crack = _step(width - edge, px)
    fine = g.cells(u * 2.7, v * 2.7, jitter=1.0)
    fine_edge = 0.5 * (fine["f2"] - fine["f1"])
    crack = torch.maximum(crack, _step(0.02 - fine_edge, px * 2.7) * 0.7 * g.coin(0.4))
    (shade,) = g.attr(c, 1)
    surf_c, crack_c = g.color_pair()
    surf = surf_c * (1.0 + g.uni(0.0, 0.15)[:, None] * (shade[:, None] - 0.5))
    cell = g.S / 6.0
    surf = surf * (1.0 + 0.1 * g.fbm(g.X / cell, g.Y / cell, 3))[:, None]
    return _mix(surf, crack_c.expand_as(surf), crack)


def _blotchy(g: _Ctx) -> torch.Tensor:
    # Irregular blotches: thresholded low-frequency noise, two or three colours.
    cell = g.S / g.uni(1.5, 4.0)
    f = g.fbm(g.X / cell, g.Y / cell, octaves=4)
    soft = g.uni(0.01, 0.12)
    t = torch.sigmoid((f - g.uni(-0.3, 0.3)) / soft)
    img = g.two_tone(t)
    third = torch.sigmoid((g.fbm(g.X / cell + 5.0, g.Y / cell, 4) - g.uni(0.2, 0.6)) / soft)
    c3 = g.palette(1)[:, 0, :, None, None]
    return _mix(img, c3.expand_as(img), third * g.coin(0.4))


def _bubbly(g: _Ctx) -> torch.Tensor:
    # Round bubbles of varied size with rims and specular highlights, overlapping.
    bg, rim_c = g.color_pair()
    img = bg.expand(g.n, 3, g.S, g.S).clone()
    for scale in (0.5, 1.0):
        u, v, px = g.frame((scale / 6, scale / 3))
        c = g.cells(u, v, jitter=0.9)
        rad, present = g.attr(c, 2)
        r = (0.22 + 0.26 * rad) * (present < g.uni(0.6, 1.0)).float()
        inside = _step(r - c["f1"], px)
        rim_w = torch.maximum(g.uni(0.015, 0.05), px)
        rim = _step(rim_w - torch.abs(c["f1"] - r), px)
        rim = rim * (r > 0).float()
        hx, hy = c["du"] + 0.35 * r, c["dv"] + 0.35 * r
        spec = torch.exp(-(hx * hx + hy * hy) / (0.18 * r + 1e-3) ** 2) * inside
        body = bg * (1.0 + g.uni(-0.2, 0.2)[:, None])
        img = _mix(img, body.expand_as(img), inside * g.uni(0.5, 1.0))
        img = _mix(img, rim_c.expand_as(img), rim)
        img = _mix(img, torch.ones_like(img), spec * g.uni(0.3, 0.9))
    return img


def _porous(g: _Ctx) -> torch.Tensor:
    # Many small, irregular holes of varied size scattered over a mottled surface.
    u, v, px = g.frame((1 / 24, 1 / 9), warp=(0.05, 0.2), warp_cells=(8.0, 20.0))
    c = g.cells(u, v, jitter=1.0)
    rad, present = g.attr(c, 2)
    r = (0.08 + 0.32 * rad * rad) * (present < g.uni(0.7, 1.0)).float()
    depth = torch.clamp(1.0 - c["f1"] / (r + 1e-3), 0.0, 1.0)
    hole = _step(r - c["f1"], px) * (0.6 + 0.4 * depth)
    surf, dark = g.color_pair()
    cell = g.S / g.uni(3.0, 8.0)
    mott = 1.0 + 0.15 * g.fbm(g.X / cell, g.Y / cell, 4)
    surf = surf * mott[:, None]
    return _mix(surf, dark.expand_as(surf), hole)


def _fibrous_procedural(g: _Ctx) -> torch.Tensor:
    # Many thin strands: noise stretched along one (curving) direction; sometimes a
    # second layer of strands crosses the first, as in hair, fur or straw.
    layers = []
    base = g.uni(0.0, _TAU)
    for k in range(2):
        ang = base + k * g.uni(-0.8, 0.8)
        u, v, _ = g.frame((1 / 100, 1 / 50), warp=(1.0, 4.0), angle=ang, warp_cells=(1.0, 3.0))
        along = g.uni(6.0, 20.0)
        s = g.noise(u, v / along, grid=128) + 0.6 * g.noise(2.3 * u + 7.0, v / along, grid=128)
        layers.append(torch.sigmoid(s * g.uni(3.0, 8.0)))
    t = torch.where(g.coin(0.5), torch.maximum(layers[0], layers[1]), layers[0])
    return g.two_tone(t)


@lru_cache(maxsize=1)
def _grass() -> torch.Tensor:
    """scikit-image's grass photograph (shipped in the wheel) as (512, 512) float in [0, 1]."""
    from skimage import data  # scikit-image's import costs ~1 s; only fibrous needs it

    return torch.from_numpy(data.grass().astype("float32") / 255.0)


def _grass_crops(g: _Ctx, split: str) -> torch.Tensor:
    """Random scaled/flipped crops of the grass photo, rows 0-319 for train, 320+ for test.

    Train and test come from disjoint image regions, so the held-out split is honest.
    """
    img = _grass()
    rows = (0, 320) if split == "train" else (320, 512)
    region = img[rows[0] : rows[1]][None, None]  # (1, 1, h, 512)
    rh, rw = region.shape[-2:]
    # Crop side in source pixels: random zoom, never larger than the region.
    side = (g.uni(0.35, 1.0) * min(rh, rw)).clamp(min=32.0)
    cy = rh / 2 + g.uni(-0.5, 0.5) * (rh - side)
    cx = rw / 2 + g.uni(-0.5, 0.5) * (rw - side)
    flip = torch.where(g.coin(0.5), -1.0, 1.0)
    rot = g.coin(0.5)
    # Affine grid in the region's normalized coordinates.
    sx, sy = side / rw, side / rh
    tx, ty = cx / rw * 2 - 1, cy / rh * 2 - 1
    zero = torch.zeros_like(sx)
    theta = torch.cat(
        [
            torch.cat([sx * flip, zero, tx], dim=2),
            torch.cat([zero, sy, ty], dim=2),
        ],
        dim=1,
    )  # (n, 2, 3)
    grid = F.affine_grid(theta, [g.n, 1, g.S, g.S], align_corners=False)
    out = F.grid_sample(region.expand(g.n, -1, -1, -1), grid, mode="bilinear", align_corners=False)
    out = torch.where(rot[..., None], out.transpose(-1, -2), out)[:, 0]
    # Stretch contrast to [0, 1] per crop, then colour like the other classes.
    lo = out.amin(dim=(1, 2), keepdim=True)
    hi = out.amax(dim=(1, 2), keepdim=True)
    return g.two_tone((out - lo) / (hi - lo + 1e-6))


def _fibrous(g: _Ctx, split: str) -> torch.Tensor:
    proc = _fibrous_procedural(g)
    photo = _grass_crops(g, split)
    return torch.where(g.coin(0.5)[..., None], photo, proc)


def _bumpy(g: _Ctx) -> torch.Tensor:
    # A surface of bumps rendered with a directional light (Lambertian shading).
    cell = g.S / g.uni(3.0, 8.0)
    h_noise = g.fbm(g.X / cell, g.Y / cell, octaves=3)
    u, v, _ = g.frame((1 / 10, 1 / 4), warp=(0.0, 0.1))
    c = g.cells(u, v, jitter=0.9)
    (rad,) = g.attr(c, 1)
    r = 0.3 + 0.25 * rad
    h_dome = torch.sqrt(torch.clamp(r * r - c["f1"] ** 2, min=0.0)) * 1.5
    h = torch.where(g.coin(0.5), h_noise, h_dome) * g.uni(0.5, 1.5)
    # Height gradients per render pixel (scaled so slopes are comparable across sizes).
    gy, gx = torch.gradient(h, dim=(1, 2))
    k = g.S / 24.0
    nx, ny, nz = -gx * k, -gy * k, torch.ones_like(h)
    norm = torch.sqrt(nx * nx + ny * ny + nz * nz)
    az, el = g.uni(0, _TAU), g.uni(math.radians(25), math.radians(60))
    lx, ly, lz = torch.cos(az) * torch.cos(el), torch.sin(az) * torch.cos(el), torch.sin(el)
    diffuse = torch.clamp((nx * lx + ny * ly + nz * lz) / norm, min=0.0)
    albedo = g.palette(1)[:, 0, :, None, None] * 0.6 + 0.4
    light = (0.25 + 0.75 * diffuse)[:, None]
    return albedo * light


def _woven(g: _Ctx) -> torch.Tensor:
    # Plain or twill weave: two thread families passing over and under each other.
    axis = torch.where(g.coin(0.6), g.randint(0, 3) * (math.pi / 2), g.uni(0, _TAU))
    u, v, px = g.frame((1 / 16, 1 / 6), warp=(0.0, 0.06), angle=axis)
    i, j = torch.floor(u), torch.floor(v)
    fu, fv = u - i, v - j
    twill = g.coin(0.3)
    warp_on_top = torch.where(
        twill, torch.remainder(i + j, 3.0) < 1.5, torch.remainder(i + j, 2.0) < 0.5
    )
    gap = g.uni(0.05, 0.25)
    in_warp = _step(0.5 - gap / 2 - torch.abs(fu - 0.5), px)  # warp threads run along v
    in_weft = _step(0.5 - gap / 2 - torch.abs(fv - 0.5), px)
    # Cylindrical shading across each thread, darker where it dives under the other.
    sh_warp = torch.cos(math.pi * (fu - 0.5)) * (0.75 + 0.25 * torch.cos(math.pi * (fv - 0.5)))
    sh_weft = torch.cos(math.pi * (fv - 0.5)) * (0.75 + 0.25 * torch.cos(math.pi * (fu - 0.5)))
    c_warp, c_weft = g.color_pair()
    same = g.coin(0.4)[..., None]
    c_weft = torch.where(same, c_warp, c_weft)
    dark = torch.zeros_like(c_warp) + 0.05
    show_warp = torch.where(warp_on_top, in_warp, in_warp * (1 - in_weft))
    show_weft = torch.where(warp_on_top, in_weft * (1 - in_warp), in_weft)
    img = dark.expand(g.n, 3, g.S, g.S)
    img = _mix(img, c_warp * (0.35 + 0.65 * sh_warp)[:, None], show_warp)
    img = _mix(img, c_weft * (0.35 + 0.65 * sh_weft)[:, None], show_weft)
    return img


_PATTERNS: dict[str, Callable[..., torch.Tensor]] = {
    "banded": _banded,
    "blotchy": _blotchy,
    "bubbly": _bubbly,
    "bumpy": _bumpy,
    "chequered": _chequered,
    "cracked": _cracked,
    "crosshatched": _crosshatched,
    "dotted": _dotted,
    "fibrous": _fibrous,
    "grid": _grid,
    "honeycombed": _honeycombed,
    "lined": _lined,
    "marbled": _marbled,
    "polka-dotted": _polka_dotted,
    "porous": _porous,
    "spiralled": _spiralled,
    "sprinkled": _sprinkled,
    "striped": _striped,
    "swirly": _swirly,
    "veined": _veined,
    "woven": _woven,
    "zigzagged": _zigzagged,
}
