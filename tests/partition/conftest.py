"""Fixtures and hypothesis strategies for the partition engine."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import strategies as st
from shapely.geometry import Polygon, box

UTM = "EPSG:32649"
X0, Y0 = 380_000.0, 3_025_000.0


def village_gdf(polys: dict) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"village_code": list(polys)}, geometry=list(polys.values()), crs=UTM)


def households_gdf(xy, village=None, building=None, hamlet=None, crs=UTM) -> gpd.GeoDataFrame:
    xy = np.asarray(xy, float).reshape(-1, 2)
    cols = {}
    if village is not None:
        cols["village_code"] = village if not isinstance(village, str) else [village] * len(xy)
    if building is not None:
        cols["building"] = building
    if hamlet is not None:
        cols["hamlet"] = hamlet
    return gpd.GeoDataFrame(cols, geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=crs)


@pytest.fixture
def square():
    return box(X0, Y0, X0 + 2000, Y0 + 2000)


@pytest.fixture
def l_shape():
    """A non-convex L: a straight cut across it leaves pieces in both arms."""
    return Polygon([(X0, Y0), (X0 + 3000, Y0), (X0 + 3000, Y0 + 600), (X0 + 600, Y0 + 600),
                    (X0 + 600, Y0 + 3000), (X0, Y0 + 3000)])


@pytest.fixture
def islands():
    return shapely.MultiPolygon([box(X0, Y0, X0 + 1200, Y0 + 1200),
                                 box(X0 + 1500, Y0, X0 + 2700, Y0 + 1200)])


# --- hypothesis: random villages and households ----------------------------------------

@st.composite
def star_polygon(draw, cx=X0, cy=Y0, rmax=1500.0):
    """A random star-shaped (often strongly non-convex) polygon around (cx, cy)."""
    k = draw(st.integers(5, 14))
    radii = draw(st.lists(st.floats(0.25, 1.0), min_size=k, max_size=k))
    scale = draw(st.floats(150.0, rmax))
    ang = np.linspace(0, 2 * np.pi, k, endpoint=False)
    pts = [(cx + scale * r * np.cos(a), cy + scale * r * np.sin(a)) for r, a in zip(radii, ang)]
    return Polygon(pts)


@st.composite
def comb_polygon(draw):
    """A valley with side valleys: a strip along the bottom and 2-6 teeth of random
    widths up from it, whose cells the village's shape cuts apart between teeth."""
    size = draw(st.floats(300.0, 3000.0))
    widths = draw(st.lists(st.floats(0.1, 0.6), min_size=2, max_size=6))
    w = size / len(widths)
    return comb(size, [w * f for f in widths])


def comb(size: float, widths) -> Polygon:
    """A comb ``size`` metres across and high, its teeth ``widths`` wide, evenly spaced."""
    w = size / len(widths)
    return shapely.union_all([box(X0, Y0, X0 + size, Y0 + size * 0.1)]
                             + [box(X0 + i * w, Y0, X0 + i * w + t, Y0 + size) for i, t in enumerate(widths)])


@st.composite
def village_case(draw):
    """(village polygon, household points, building keys (some shared by households
    apart), hamlets, cap)."""
    kind = draw(st.sampled_from(["star", "star", "islands", "tiny", "square", "comb"]))
    if kind == "star":
        poly = draw(star_polygon())
    elif kind == "comb":
        poly = draw(comb_polygon())
    elif kind == "islands":
        a = draw(star_polygon(cx=X0, cy=Y0, rmax=800))
        b = draw(star_polygon(cx=X0 + 2500, cy=Y0, rmax=800))
        poly = shapely.MultiPolygon([a, b])
    elif kind == "tiny":
        s = draw(st.floats(5.0, 60.0))
        poly = box(X0, Y0, X0 + s, Y0 + s)
    else:
        poly = box(X0, Y0, X0 + 2000, Y0 + 1500)
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n = draw(st.integers(0, 160))
    x0, y0, x1, y1 = poly.bounds
    pts = []
    while len(pts) < n:
        cand = rng.uniform((x0, y0), (x1, y1), size=(4 * n + 8, 2))
        ok = shapely.contains_xy(poly, cand[:, 0], cand[:, 1])
        pts.extend(cand[ok].tolist())
    pts = np.array(pts[:n]).reshape(-1, 2)
    # some households exactly on the village boundary (vertices and edge midpoints)
    n_edge = draw(st.integers(0, 4)) if n else 0
    ring = shapely.get_coordinates(poly.boundary)
    for j in range(min(n_edge, len(ring) - 1)):
        a, b = ring[j], ring[j + 1]
        pts = np.vstack([pts, [a, (a + b) / 2]])
    m = len(pts)
    building = np.array([f"b{i}" for i in range(m)], dtype=object)
    # co-located pairs, and perhaps one big building (45 households in one point)
    if m >= 2:
        for i in rng.choice(m - 1, size=min(5, m - 1), replace=False):
            pts[i + 1] = pts[i]
            building[i + 1] = building[i]
    # perhaps a few keys shared by households apart (near: one building that
    # stretches; over 100 m: a building per place)
    if m >= 4 and draw(st.booleans()):
        for i, j in rng.choice(m, size=(min(3, m // 2), 2), replace=False):
            building[j] = building[i]
    if m and draw(st.booleans()):
        extra = np.repeat(pts[:1], 45, axis=0)
        pts = np.vstack([pts, extra])
        building = np.concatenate([building, np.array([building[0]] * 45, dtype=object)])
    hamlet = np.array([f"h{int(x // 300)}_{int(y // 300)}" for x, y in pts], dtype=object)
    cap = draw(st.sampled_from([5, 12, 20]))
    return poly, pts, building, hamlet, cap


@st.composite
def split_villages_case(draw):
    """Two or three villages that share borders: a random (non-convex) polygon cut by
    straight lines, so pieces may be in several parts; households inside, and some
    exactly on the shared borders.  Returns (villages {code: polygon}, points, cap)."""
    poly = draw(star_polygon(rmax=1800.0))
    seed = draw(st.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    n_cuts = draw(st.integers(1, 2))
    x0, y0, x1, y1 = poly.bounds
    span = 4 * max(x1 - x0, y1 - y0)
    pieces, lines = [poly], []
    c = np.array(poly.centroid.coords[0])
    for _ in range(n_cuts):
        a = rng.uniform(0, np.pi)
        d = np.array([np.cos(a), np.sin(a)])
        o = c + rng.uniform(-0.3, 0.3) * (x1 - x0) * np.array([-d[1], d[0]])
        line = shapely.LineString([o - span * d, o + span * d])
        half = shapely.Polygon([o - span * d, o + span * d,
                                o + span * d + span * np.array([-d[1], d[0]]),
                                o - span * d + span * np.array([-d[1], d[0]])])
        nxt = []
        for p in pieces:
            for q in (shapely.intersection(p, half), shapely.difference(p, half)):
                q = shapely.union_all([g for g in shapely.get_parts(q)
                                       if g.geom_type == "Polygon" and g.area > 1.0])
                if not q.is_empty:
                    nxt.append(q)
        pieces = nxt
        lines.append(line)
    villages = {f"V{i}": p for i, p in enumerate(pieces)}
    n = draw(st.integers(1, 150))
    pts = []
    while len(pts) < n:
        cand = rng.uniform((x0, y0), (x1, y1), size=(4 * n + 8, 2))
        pts.extend(cand[shapely.contains_xy(poly, cand[:, 0], cand[:, 1])].tolist())
    pts = np.array(pts[:n])
    # households exactly on a shared border (inside the outer polygon)
    on = []
    for line in lines:
        inner = shapely.intersection(line, poly)
        for part in shapely.get_parts(inner):
            if part.geom_type == "LineString" and part.length > 0:
                for f in rng.uniform(0.05, 0.95, size=draw(st.integers(0, 4))):
                    on.append(np.array(part.interpolate(f, normalized=True).coords[0]))
    if on:
        pts = np.vstack([pts, np.array(on)])
    cap = draw(st.sampled_from([5, 20]))
    return villages, pts, cap
