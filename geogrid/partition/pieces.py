"""Polygons from straight cuts, and the repair of pieces a non-convex parent cuts off.

A partition node is a parent polygon and, for each leaf, a list of half-planes
``a . x <= b``.  Sibling leaves share their cut line with opposite signs, so the
leaves' convex regions tile the plane exactly and, clipped to the parent, tile the
parent.  A non-convex parent can cut a convex region into several parts; those are
handed to a neighbour by :func:`merge_orphans`.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import Polygon

__all__ = [
    "inside_own",
    "GRID_M",
    "shared_border",
    "union",
    "HalfPlane",
    "convex_region",
    "convex_polygons",
    "clip_leaves",
    "explode",
    "merge_orphans",
    "clean",
    "polygonal",
    "grid_squares",
]

#: A half-plane ``a[0] * x + a[1] * y <= b``.
HalfPlane = tuple[float, float, float]

#: Parts smaller than this (m²) are float noise of an overlay, not geography.
SLIVER_M2 = 1e-6
#: Every overlay snaps to this grid (m), so that pieces cut from one parent share
#: their edges exactly and no hair-thin spike survives a change of CRS.
GRID_M = 1e-6
#: Two pieces whose boundaries run within this distance (m) share that border.
TOUCH_M = 1e-5


def _clip_convex(poly: list, a0: float, a1: float, b: float) -> list:
    """Sutherland-Hodgman: clip a convex ring (a list of ``(x, y)``) by ``a . x <= b``.

    Plain floats, not numpy: a ring has a handful of corners, and per call numpy's
    overhead cost more than the arithmetic (1.5 s of the sample county's 20 s)."""
    if not poly:
        return poly
    s = [x * a0 + y * a1 - b for x, y in poly]
    inside = [v <= 0.0 for v in s]
    if all(inside):
        return poly
    if not any(inside):
        return []
    out = []
    k = len(poly)
    for i in range(k):
        j = (i + 1) % k
        if inside[i]:
            out.append(poly[i])
        if inside[i] != inside[j]:
            t = s[i] / (s[i] - s[j])
            (xi, yi), (xj, yj) = poly[i], poly[j]
            out.append((xi + t * (xj - xi), yi + t * (yj - yi)))
    return out


def convex_region(bounds, halfplanes: list[HalfPlane]) -> np.ndarray:
    """The box ``bounds`` (grown by a margin) cut by every half-plane, as a ring."""
    x0, y0, x1, y1 = (float(v) for v in bounds)
    m = max(x1 - x0, y1 - y0, 1.0)
    x0, y0, x1, y1 = x0 - m, y0 - m, x1 + m, y1 + m
    poly = [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]
    for a0, a1, b in halfplanes:
        poly = _clip_convex(poly, float(a0), float(a1), float(b))
    return np.array(poly, dtype="float64").reshape(-1, 2)


def convex_polygons(bounds, leaves: list[list[HalfPlane]]) -> np.ndarray:
    """Each leaf's convex region (:func:`convex_region`) as a polygon, empty where it
    is; ``bounds`` is one box for all, or a box per leaf."""
    per_leaf = len(bounds) == len(leaves) and len(leaves) and np.ndim(bounds[0]) == 1
    out = np.empty(len(leaves), dtype=object)
    for k, hp in enumerate(leaves):
        ring = convex_region(bounds[k] if per_leaf else bounds, hp)
        out[k] = Polygon(ring) if len(ring) >= 3 else Polygon()
    return out


def clip_leaves(parent, leaves: list[list[HalfPlane]]) -> np.ndarray:
    """Each leaf's convex region clipped to ``parent``: an array of geometries."""
    return shapely.intersection(parent, convex_polygons(parent.bounds, leaves), grid_size=GRID_M)


def shared_border(a, b):
    """Length (m) of the border pieces ``a`` and ``b`` share, robust to float noise
    (elementwise for arrays).

    The part of ``a``'s boundary within :data:`TOUCH_M` of ``b`` (pieces cut on the
    common grid can be a rounding error apart), or where the two boundaries coincide,
    whichever is longer.  ``b`` is grown with mitred corners: for a piece that carries
    the common grid (:func:`shapely.set_precision`, as the cuts leave them), GEOS
    3.11's round buffer with two segments per quarter circle came back empty for a thin
    clockwise triangle, which hid a 32 m border from :func:`merge_orphans` and left a
    micro-grid in two pieces (``tests/partition/test_pieces.py``).
    """
    near = shapely.length(shapely.intersection(
        shapely.boundary(a), shapely.buffer(b, TOUCH_M, join_style="mitre")))
    exact = shapely.length(shapely.intersection(shapely.boundary(a), shapely.boundary(b)))
    shared = np.maximum(near, exact)
    return float(shared) if np.ndim(shared) == 0 else shared


def union(parts):
    """Union of pieces of one parent on the common grid.

    Pieces from different branches of the cut tree can meet along an edge that is
    off by a rounding error (a vertex of one a micrometre beside the other's edge);
    if the plain union leaves such pieces apart, they are fused by growing every
    piece by :data:`TOUCH_M` and shrinking the union back (mitred, so corners stay).
    """
    arr = np.array(parts, dtype=object)
    u = shapely.union_all(arr, grid_size=GRID_M)
    if len(arr) > 1 and shapely.get_num_geometries(u) > 1:
        grown = shapely.buffer(arr, TOUCH_M, join_style="mitre")
        fused = shapely.buffer(shapely.union_all(grown), -TOUCH_M, join_style="mitre")
        fused = on_grid(fused)
        if 0 < shapely.get_num_geometries(fused) < shapely.get_num_geometries(u) and \
                abs(fused.area - u.area) < 1e-2:
            u = fused
    return u


def on_grid(geom):
    """``geom`` valid and snapped to the engine's grid (:data:`GRID_M`).  Snapping a
    valid polygon can leave a hole touching its shell at a point, which GEOS cannot mend
    ("unable to assign free hole to a shell", met where an outline edit cut out a
    micro-grid's land grown by a micrometre); then each vertex is snapped alone and the
    result repaired."""
    geom = shapely.make_valid(geom)
    try:
        return shapely.set_precision(geom, GRID_M)
    except shapely.errors.GEOSException:
        return shapely.make_valid(shapely.set_precision(geom, GRID_M, mode="pointwise"))


def mean_width(geoms):
    """Twice the area over the outline's length: a polygon's mean width (a strip's
    width, half a disc's radius), for one geometry or an array of them."""
    return 2 * shapely.area(geoms) / np.maximum(shapely.length(geoms), 1e-9)


def explode(geom) -> list:
    """The polygon parts of ``geom`` bigger than a sliver."""
    if geom is None or geom.is_empty:
        return []
    parts = shapely.get_parts(shapely.get_parts(geom))  # collections of multis too
    return [p for p in parts if p.geom_type == "Polygon" and p.area > SLIVER_M2]


def merge_orphans(parts: list, labels: list[int], orphan: list[bool]) -> list[int]:
    """Give every orphan part to the neighbour it shares the longest border with.

    ``parts`` tile a parent; ``labels[i]`` is the leaf of part i, ``orphan[i]`` says it
    must join a neighbour.  Orphans are merged smallest first, each into the piece it
    borders longest (possibly another orphan, whose label it then takes).  An orphan
    that borders nothing (an island) keeps its label.  Returns the final labels.
    """
    n = len(parts)
    labels = list(labels)
    if not any(orphan):
        return labels
    arr = np.array(parts, dtype=object)
    tree = shapely.STRtree(arr)
    # boundary shared by each touching pair, computed once
    left, right = tree.query(arr, predicate="dwithin", distance=TOUCH_M)
    keep = (left < right) & (np.asarray(orphan)[left] | np.asarray(orphan)[right])
    left, right = left[keep], right[keep]
    shared = shared_border(arr[left], arr[right])
    border: dict[int, dict[int, float]] = {i: {} for i in range(n)}
    for i, j, s in zip(left.tolist(), right.tolist(), shared.tolist()):
        if s > 1e-9:
            border[i][j] = s
            border[j][i] = s
    # union-find over pieces: a merged orphan becomes part of its target's group
    group = list(range(n))

    def find(i: int) -> int:
        while group[i] != i:
            group[i] = group[group[i]]
            i = group[i]
        return i

    is_orphan = {i: bool(orphan[i]) for i in range(n)}
    gborder = {i: dict(border[i]) for i in range(n)}
    area = {i: float(parts[i].area) for i in range(n)}
    order = sorted((i for i in range(n) if orphan[i]), key=lambda i: (area[i], i))
    pending = list(order)
    while pending:
        progressed = False
        rest = []
        for i in pending:
            g = find(i)
            if not is_orphan[g]:
                continue
            nb = {find(j): 0.0 for j in gborder[g]}
            for j, s in gborder[g].items():
                nb[find(j)] += s
            nb.pop(g, None)
            if not nb:
                rest.append(i)
                continue
            # longest border; ties to the lowest index, deterministically
            t = min(nb, key=lambda j: (-nb[j], j))
            group[g] = t
            for j, s in gborder[g].items():
                fj = find(j)
                if fj != t:
                    gborder[t][fj] = gborder[t].get(fj, 0.0) + s
            area[t] += area[g]
            labels[g] = labels[t]
            progressed = True
        if not progressed:
            break
        pending = rest
    return [labels[find(i)] for i in range(n)]


def clean(geom):
    """Union result tidied: valid, sliver parts and pin-holes dropped."""
    if geom is None or geom.is_empty:
        return geom
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    parts = explode(geom)
    if not parts:
        return Polygon()
    out = []
    for p in parts:
        holes = [r for r in p.interiors if Polygon(r).area > SLIVER_M2]
        if len(holes) != len(p.interiors):
            p = Polygon(p.exterior, holes)
        out.append(p)
    if len(out) == 1:
        return out[0]
    return shapely.MultiPolygon(out)


def polygonal(geoms) -> np.ndarray:
    """Each geometry with its points and lines dropped (what an overlay of pieces
    that touch leaves behind), so that it can enter another overlay."""
    out = np.empty(len(geoms), dtype=object)
    for i, g in enumerate(geoms):
        if g is None or g.is_empty or g.geom_type in ("Polygon", "MultiPolygon"):
            out[i] = Polygon() if g is None else g
            continue
        parts = [p for p in shapely.get_parts(shapely.get_parts(g)) if p.geom_type == "Polygon"]
        out[i] = shapely.MultiPolygon(parts) if len(parts) > 1 else (parts[0] if parts else Polygon())
    return out


def grid_squares(geom, step: float, origin) -> list:
    """``geom`` cut into the squares of side ``step`` of a grid anchored at
    ``origin`` (x, y): the polygon parts of each square's overlap."""
    x0, y0 = origin[0], origin[1]
    bx0, by0, bx1, by1 = geom.bounds
    i0, i1 = int(math.floor((bx0 - x0) / step)), int(math.ceil((bx1 - x0) / step))
    j0, j1 = int(math.floor((by0 - y0) / step)), int(math.ceil((by1 - y0) / step))
    gx, gy = np.meshgrid(np.arange(i0, i1), np.arange(j0, j1))
    gx, gy = gx.ravel(), gy.ravel()
    boxes = shapely.box(x0 + gx * step, y0 + gy * step, x0 + (gx + 1) * step, y0 + (gy + 1) * step)
    return [p for g in shapely.intersection(geom, boxes, grid_size=GRID_M) for p in explode(g)]


def inside_own(points: np.ndarray, polys, own: np.ndarray) -> np.ndarray:
    """Whether each point lies in the interior of its own polygon, ``polys[own[i]]``
    (False where ``own[i]`` is -1 or past the end): prepared point-in-polygon tests, one
    polygon at a time, several times faster than a distance or an STRtree query per
    point, for the callers that then deal with the few that are not."""
    out = np.zeros(len(points), bool)
    polys = np.asarray(polys, dtype=object)
    ok = (own >= 0) & (own < len(polys))
    for g in np.unique(own[ok]):
        mine = np.flatnonzero(own == g)
        shapely.prepare(polys[g])
        out[mine] = shapely.contains_xy(polys[g], points[mine, 0], points[mine, 1])
    return out
