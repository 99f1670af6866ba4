"""Where households live inside one village: hamlets, estates, streets and farmhouses.

Rural villages (村) are hamlets (团寨) of 10-150 households strung along a few valleys or
roads -- smooth random polylines inside the village -- plus about 8 % scattered
farmhouses.  About 3 % of hamlet households share a house with another household
(brothers' families, 2-3 households under one roof).

Communities (社区) are urban: housing estates (小区) of apartment buildings of 6-60
households that share one point, streets (街/路) of single-household houses, and a few
scattered houses.  Every community at a town seat has a resettlement building
(安置小区) of more than 20 households, and the county seat one of 36 or more.

Everything is in the village's local frame (metres); points are kept at least
``MARGIN`` metres inside the village so that they stay inside after rounding and
conversion.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from geogrid.sample.names import VillageNamer, draw_surnames

__all__ = ["Settlement", "split_sizes", "settle_village", "MARGIN"]

MARGIN = 15.0  # metres

#: (scattered, streets, estates) shares of households by kind of village.
_SHARES = {"village": (0.08, 0.0, 0.0), "community": (0.06, 0.62, 0.32), "seat": (0.02, 0.26, 0.72)}


@dataclass
class Settlement:
    """Households of one village, in placement order."""

    x: list = field(default_factory=list)
    y: list = field(default_factory=list)
    hamlet: list = field(default_factory=list)
    building: list = field(default_factory=list)
    address: list = field(default_factory=list)
    clan: list = field(default_factory=list)  # the hamlet's dominant surname (or "")
    urban: list = field(default_factory=list)


def split_sizes(
    rng: np.random.Generator, total: int, median: float, lo: int = 10, hi: int = 150, sigma: float = 0.6
) -> list[int]:
    """Split ``total`` into parts of ``lo``..``hi`` (lognormal around ``median``).

    Returns ``[]`` when ``total < lo`` (those households are placed as scattered).
    """
    if total < lo:
        return []
    sizes: list[int] = []
    left = total
    while left > hi:
        s = int(np.clip(round(median * np.exp(sigma * rng.standard_normal())), lo, hi))
        if left - s < lo:
            s = left - lo
        sizes.append(s)
        left -= s
    sizes.append(left)
    return sizes


def _random_line(rng, inner, step: float, nsteps: int, turn_sd: float):
    """A smooth random walk clipped to ``inner``; the longest piece, or None."""
    minx, miny, maxx, maxy = inner.bounds
    for _ in range(30):
        x0, y0 = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        if not shapely.contains_xy(inner, x0, y0):
            continue
        heading = rng.uniform(0, 2 * np.pi)
        turns = np.cumsum(rng.normal(0.0, turn_sd, nsteps))
        # Walk both ways from the start so the start lies mid-line.
        fwd = np.cumsum(np.column_stack([np.cos(heading + turns), np.sin(heading + turns)]) * step, axis=0)
        turns2 = np.cumsum(rng.normal(0.0, turn_sd, nsteps))
        bwd = np.cumsum(
            np.column_stack([np.cos(heading + np.pi + turns2), np.sin(heading + np.pi + turns2)]) * step,
            axis=0,
        )
        coords = np.vstack([bwd[::-1], [[0.0, 0.0]], fwd]) + [x0, y0]
        clipped = shapely.intersection(shapely.LineString(coords), inner)
        parts = [g for g in shapely.get_parts(clipped) if g.geom_type == "LineString"]
        if not parts:
            continue
        best = max(parts, key=lambda g: g.length)
        if best.length >= 4 * step:
            return best
    return None


def _sample_in(rng, inner, m: int) -> np.ndarray:
    minx, miny, maxx, maxy = inner.bounds
    out = np.empty((0, 2))
    for _ in range(200):
        k = max(16, 3 * (m - len(out)))
        x, y = rng.uniform(minx, maxx, k), rng.uniform(miny, maxy, k)
        ok = shapely.contains_xy(inner, x, y)
        out = np.vstack([out, np.column_stack([x[ok], y[ok]])])
        if len(out) >= m:
            return out[:m]
    # A degenerate sliver: use representative points.
    p = shapely.get_coordinates(inner.representative_point())[0]
    return np.vstack([out, np.repeat([p], m - len(out), axis=0)])[:m]


def _along(rng, line, inner, center: float, spread: float, offset_sd: float, m: int) -> np.ndarray:
    """``m`` points near the stretch [center-spread/2, center+spread/2] of ``line``."""
    out = np.full((m, 2), np.nan)
    todo = np.arange(m)
    for _ in range(12):
        s = np.clip(center + rng.uniform(-spread / 2, spread / 2, len(todo)), 0.0, line.length)
        p = shapely.get_coordinates(shapely.line_interpolate_point(line, s))
        q = shapely.get_coordinates(shapely.line_interpolate_point(line, np.clip(s + 1.0, 0, line.length)))
        r = shapely.get_coordinates(shapely.line_interpolate_point(line, np.clip(s - 1.0, 0, line.length)))
        t = q - r
        norm = np.hypot(t[:, 0], t[:, 1])
        norm[norm == 0] = 1.0
        nrm = np.column_stack([-t[:, 1], t[:, 0]]) / norm[:, None]
        cand = p + nrm * rng.normal(0.0, offset_sd, len(todo))[:, None]
        ok = shapely.contains_xy(inner, cand[:, 0], cand[:, 1])
        out[todo[ok]] = cand[ok]
        todo = todo[~ok]
        if not len(todo):
            return out
    out[todo] = _sample_in(rng, inner, len(todo))
    return out


def _building_sizes(rng, total: int, big: int | None) -> list[int]:
    sizes = [big] if big else []
    left = total - (big or 0)
    while left > 0:
        s = int(np.clip(round(18 * np.exp(0.5 * rng.standard_normal())), 6, 60))
        s = min(s, left)
        if 0 < left - s < 6 and sizes:  # no tiny last building: fold it in
            s = left
        sizes.append(s)
        left -= s
    rng.shuffle(sizes)
    return sizes


def settle_village(
    rng: np.random.Generator, namer: VillageNamer, poly, n: int, kind: str, prefix: str, code: str
) -> Settlement:
    """Place ``n`` households in village polygon ``poly`` (local frame).

    ``kind`` is ``"village"``, ``"community"`` (a town seat) or ``"seat"`` (an urban
    community of the county seat); ``prefix`` is the address up to the village name.
    """
    out = Settlement()
    if n <= 0:
        return out
    inner = poly.buffer(-MARGIN)
    if inner.is_empty or inner.area < 0.05 * poly.area:
        inner = poly.buffer(-1.0)
    shapely.prepare(inner)
    urban = kind != "village"
    f_scatter, f_street, f_estate = _SHARES[kind]
    n_scatter = int(round(n * f_scatter))
    n_estate = int(round(n * f_estate))
    n_street = int(round(n * f_street))
    n_hamlet = n - n_scatter - n_estate - n_street
    if urban:  # no rural hamlets in a community: the rest goes to the streets
        n_street += n_hamlet
        n_hamlet = 0
    big = {"seat": 36 + int(rng.integers(0, 25)), "community": 21 + int(rng.integers(0, 12))}.get(kind)
    if n_estate < (big or 0) + 10:
        n_street += n_estate
        n_estate = 0
        if big and n_street >= big:  # still guarantee the big building
            n_estate, n_street = big, n_street - big
    clusters: list[tuple[str, int]] = []
    clusters += [("hamlet", s) for s in split_sizes(rng, n_hamlet, 35)]
    clusters += [("street", s) for s in split_sizes(rng, n_street, 50)]
    # With a big building to place, every estate is large enough to hold it.
    clusters += [("estate", s) for s in split_sizes(rng, n_estate, 90, lo=max(10, big or 0))]
    n_scatter = n - sum(s for _, s in clusters)
    rng.shuffle(clusters)

    # Valleys / roads / streets.
    n_lines = max(1, int(round(len(clusters) / (4.0 if urban else 3.0))))
    step, nsteps, turn = (60.0, 40, 0.15) if urban else (100.0, 60, 0.22)
    lines = [
        ln for ln in (_random_line(rng, inner, step, nsteps, turn) for _ in range(n_lines)) if ln is not None
    ]
    if not lines:
        lines = [None]
    lengths = np.array([ln.length if ln is not None else 0.0 for ln in lines])
    # Spread clusters along lines in proportion to their length, evenly spaced.
    if lengths.sum() > 0:
        which = rng.choice(len(lines), size=len(clusters), p=lengths / lengths.sum())
    else:
        which = np.zeros(len(clusters), int)
    slot = {}
    for j in range(len(lines)):
        members = np.flatnonzero(which == j)
        for k, ci in enumerate(members):
            slot[ci] = (k + 0.5 + rng.uniform(-0.25, 0.25)) / len(members)

    taken: set[str] = set()
    bkey = 0
    big_pending = big
    for ci, (ctype, size) in enumerate(clusters):
        line = lines[which[ci]]
        clan = str(draw_surnames(rng, 1)[0]) if ctype == "hamlet" else ""
        if ctype == "hamlet":
            name = namer.hamlet(taken, clan)
        elif ctype == "street":
            name = namer.street(taken)
        else:
            name = namer.estate(taken, resettlement=bool(big_pending and size >= big_pending))
        # Units: (households in unit) list
        if ctype == "estate":
            forced = big_pending if (big_pending and size >= big_pending) else None
            if forced:
                big_pending = None
            units = _building_sizes(rng, size, forced)
            spread, offset = 25.0 * len(units) + 40.0, 25.0
        elif ctype == "street":
            units = [1] * size
            spread, offset = 8.0 * size + 60.0, 8.0
        else:
            units = []
            left = size
            while left > 0:
                u = 2 + int(rng.random() < 0.3) if (left >= 3 and rng.random() < 0.015) else 1
                units.append(u)
                left -= u
            spread, offset = 6.0 * size + 80.0, 25.0 + size / 6.0
        if line is None:
            xy = _sample_in(rng, inner, len(units))
        else:
            spread = min(spread, max(line.length * 0.9 / max((which == which[ci]).sum(), 1), 60.0))
            xy = _along(rng, line, inner, slot[ci] * line.length, spread, offset, len(units))
            # Number doors and buildings in order along the road.
            xy = xy[np.argsort(shapely.line_locate_point(line, shapely.points(xy)), kind="stable")]
        for door, (u, (ux, uy)) in enumerate(zip(units, xy), start=1):
            bkey += 1
            key = f"{code}-B{bkey:04d}"
            for k in range(u):
                out.x.append(ux)
                out.y.append(uy)
                out.hamlet.append(name)
                out.building.append(key)
                out.clan.append(clan)
                out.urban.append(urban)
                if ctype == "estate":
                    per_floor = 2 if u <= 12 else 4
                    out.address.append(f"{prefix}{name}{door}栋{k // per_floor + 1}{k % per_floor + 1:02d}室")
                elif u > 1:
                    out.address.append(f"{prefix}{name}{door}号之{k + 1}")
                else:
                    out.address.append(f"{prefix}{name}{door}号")
    if n_scatter > 0:
        xy = _sample_in(rng, inner, n_scatter)
        for ux, uy in xy:
            bkey += 1
            out.x.append(ux)
            out.y.append(uy)
            out.hamlet.append(None)
            out.building.append(f"{code}-B{bkey:04d}")
            out.clan.append("")
            out.urban.append(urban)
            out.address.append(f"{prefix}{namer.locality()}{int(rng.integers(1, 40))}号")
    return out
