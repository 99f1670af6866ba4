"""A small synthetic county for partition tests, the benchmark and the notebook.

Villages are Voronoi cells of random seeds clipped to a disc (some made non-convex
by biting a wedge out, one split into an island pair); households sit in hamlets
(clusters) with scattered farmsteads, a few multi-household buildings and one
45-household block.  Everything is drawn from one ``numpy.random.Generator`` so the
county is reproducible from its seed.  Coordinates are generated in UTM zone 49N
(around Xinhuang, Hunan) and returned in EPSG:4326 unless ``crs`` says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import Point, Polygon

from geogrid.crs import reproject

UTM = "EPSG:32649"
ORIGIN = (380_000.0, 3_025_000.0)  # about 109.2 E, 27.35 N


@dataclass
class County:
    villages: gpd.GeoDataFrame
    households: gpd.GeoDataFrame


def synthetic_county(
    seed: int = 0,
    n_households: int = 79_507,
    n_villages: int | None = None,
    crs: str | None = "EPSG:4326",
    big_building: bool = True,
) -> County:
    """A county of ``n_households`` in about ``n_households / 300`` villages."""
    rng = np.random.default_rng(seed)
    nv = n_villages or max(1, round(n_households / 300))
    area_km2 = nv * 3.5
    radius = np.sqrt(area_km2 * 1e6 / np.pi)
    ox, oy = ORIGIN
    r = radius * np.sqrt(rng.random(nv))
    th = rng.random(nv) * 2 * np.pi
    seeds = np.column_stack([ox + r * np.cos(th), oy + r * np.sin(th)])
    disc = Point(ox, oy).buffer(radius * 1.02, 64)
    if nv == 1:
        polys = [disc]
    else:
        vor = shapely.voronoi_polygons(shapely.multipoints(seeds), extend_to=disc)
        cells = list(shapely.get_parts(vor))
        # order the Voronoi cells like the seeds
        tree = shapely.STRtree(cells)
        polys = [shapely.intersection(cells[tree.query(Point(p), predicate="intersects")[0]], disc)
                 for p in seeds]
    polys = [_roughen(p, rng) for p in polys]
    # a wedge bitten out of every 5th village makes it non-convex (the bite goes
    # to no one: counties have lakes and forests)
    for i in range(0, nv, 5):
        p = polys[i]
        c = p.centroid
        a = rng.random() * 2 * np.pi
        R = np.sqrt(p.area)
        wedge = Polygon([(c.x, c.y),
                         (c.x + 2 * R * np.cos(a - 0.25), c.y + 2 * R * np.sin(a - 0.25)),
                         (c.x + 2 * R * np.cos(a + 0.25), c.y + 2 * R * np.sin(a + 0.25))])
        q = p.difference(wedge.buffer(0.0))
        if q.geom_type == "Polygon" and q.area > 0.6 * p.area:
            polys[i] = q
    # one village on two islands
    if nv >= 3:
        p = polys[2]
        c = p.centroid
        band = shapely.box(c.x - 40, p.bounds[1] - 10, c.x + 40, p.bounds[3] + 10)
        q = p.difference(band)
        if q.geom_type == "MultiPolygon":
            polys[2] = q
    codes = [f"4312290{i // 20 + 1:02d}{i % 20 + 1:03d}" for i in range(nv)]
    villages = gpd.GeoDataFrame(
        {"village_code": codes, "name": [f"村{i + 1}" for i in range(nv)]},
        geometry=polys, crs=UTM,
    )
    # households: per village share by area, hamlets of 5-60, 15 % scattered
    share = np.array([p.area for p in polys])
    share = share / share.sum()
    counts = rng.multinomial(n_households, share)
    rows = []
    for i, (p, k) in enumerate(zip(polys, counts)):
        rows.append(_village_households(p, int(k), codes[i], rng))
    hh = pd.concat(rows, ignore_index=True)
    if big_building and len(hh) >= 60:
        # a 45-household block of flats in the first village with room for it
        j = int(np.flatnonzero(counts >= 60)[0]) if (counts >= 60).any() else 0
        m = np.flatnonzero(hh["village_code"].to_numpy() == codes[j])[:45]
        if len(m) == 45:
            hh.loc[m, "building"] = f"{codes[j]}-B999"
            hh.loc[m, "x"] = hh.loc[m[0], "x"]
            hh.loc[m, "y"] = hh.loc[m[0], "y"]
    hh["household_no"] = [f"H{i:06d}" for i in range(len(hh))]
    households = gpd.GeoDataFrame(
        hh.drop(columns=["x", "y"]),
        geometry=gpd.points_from_xy(hh["x"], hh["y"]), crs=UTM,
    )
    if crs is not None and crs != UTM:
        # edges split first so that they keep their UTM shape in degrees, and the
        # households put on a border stay on it
        villages = villages.set_geometry(reproject(villages.geometry, crs))
        households = households.to_crs(crs)
    return County(villages=villages, households=households)


def _roughen(p, rng):
    """Jitter the boundary so villages are not perfectly straight-edged."""
    return p.simplify(1.0)


def _village_households(poly, k, code, rng) -> pd.DataFrame:
    if k == 0:
        return pd.DataFrame(columns=["x", "y", "village_code", "building", "hamlet"])
    xs, ys, hamlets, buildings = [], [], [], []
    x0, y0, x1, y1 = poly.bounds
    n_scatter = int(round(0.15 * k))
    left = k - n_scatter
    h = 0
    while left > 0:
        size = min(left, int(rng.integers(5, 60)))
        while True:
            cx, cy = rng.uniform(x0, x1), rng.uniform(y0, y1)
            if poly.contains(Point(cx, cy)):
                break
        sd = 25 + 4 * np.sqrt(size)
        px = cx + rng.normal(0, sd, size)
        py = cy + rng.normal(0, sd, size)
        xs.append(px)
        ys.append(py)
        hamlets += [f"{code}-H{h:02d}"] * size
        h += 1
        left -= size
    px = rng.uniform(x0, x1, n_scatter * 3)
    py = rng.uniform(y0, y1, n_scatter * 3)
    xs.append(px)
    ys.append(py)
    hamlets += [None] * (n_scatter * 3)
    x = np.concatenate(xs)
    y = np.concatenate(ys)
    inside = shapely.contains_xy(poly, x, y)
    keep_h = np.array(hamlets, dtype=object)
    # points that fell outside: pull them onto the representative point's side
    x, y, keep_h = x[inside], y[inside], keep_h[inside]
    hamlet_idx = np.flatnonzero(pd.notna(keep_h))
    scatter_idx = np.flatnonzero(pd.isna(keep_h))[:n_scatter]
    sel = np.concatenate([hamlet_idx, scatter_idx])
    while len(sel) < k:  # top up with interior points
        rp = poly.representative_point()
        sel = np.concatenate([sel, [len(x)]])
        x = np.append(x, rp.x + rng.normal(0, 5.0))
        y = np.append(y, rp.y)
        keep_h = np.append(keep_h, None)
    sel = sel[:k]
    # about one house in twelve is shared by two or three households
    b = np.array([f"{code}-B{i:04d}" for i in range(len(sel))], dtype=object)
    xsel, ysel = x[sel].copy(), y[sel].copy()
    share = np.flatnonzero(rng.random(len(sel)) < 1 / 12)
    for i in share:
        if i + 1 < len(sel):
            b[i + 1] = b[i]
            xsel[i + 1], ysel[i + 1] = xsel[i], ysel[i]
    return pd.DataFrame({
        "x": xsel, "y": ysel, "village_code": code, "building": b, "hamlet": keep_h[sel],
    })
