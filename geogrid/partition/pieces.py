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
    "drop_micro_edges",
    "drop_spikes",
    "reproject_valid",
    "node_long_edges",
    "grid_squares",
]

#: A half-plane ``a[0] * x + a[1] * y <= b``.
HalfPlane = tuple[float, float, float]

#: Parts smaller than this (m²) are float noise of an overlay, not geography.
SLIVER_M2 = 1e-6
#: Every overlay snaps to this grid (m), so that pieces cut from one parent share
#: their edges exactly and no hair-thin spike survives a change of CRS.
GRID_M = 1e-6
#: Output polygons drop vertices closer than this (m) to the one before.
MICRO_EDGE_M = 1e-4
#: Two pieces whose boundaries run within this distance (m) share that border.
TOUCH_M = 1e-5
#: An edge longer than this (m) takes the vertices of its neighbours that lie on it
#: before a change of CRS (:func:`node_long_edges`): every edge.  A straight edge in
#: metres bows away from the straight one in degrees by 0.1 mm (27° N) to 0.6 mm
#: (71° N) at the middle of 100 m, and by 1 to 6 cm over 1 km, so even a T-junction
#: on a short edge leaves a sliver there; 10 km (before) left micro-grids of many
#: cells with 1.4 to 3.8 m² of gaps and overlaps between their cells in WGS84.
NODE_M = 0.0


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


def drop_micro_edges(polys) -> np.ndarray:
    """``polys`` without vertices closer than :data:`MICRO_EDGE_M` to the one before,
    and without spikes thinner than that (:func:`drop_spikes`), each where that keeps it
    valid and in as many pieces.

    Overlays on the common grid leave micrometre edges where two lines nearly meet;
    an editor's self-intersection test (turf's ``kinks``, in Leaflet-Geoman) takes the
    two edges around one for a crossing, and refuses to let a planner move the
    boundary.  Neighbours may keep different ends of such an edge: a gap or overlap of
    a micrometre, far inside the tiling tolerance."""
    arr = np.empty(len(polys), dtype=object)
    arr[:] = list(polys)
    out = drop_spikes(shapely.remove_repeated_points(arr, MICRO_EDGE_M))
    ok = shapely.is_valid(out) & ~shapely.is_empty(out) & \
        (shapely.get_num_geometries(out) == shapely.get_num_geometries(arr))
    return np.where(ok, out, arr)


def _turns_back(a: np.ndarray, b: np.ndarray, width_m: float = MICRO_EDGE_M) -> np.ndarray:
    """Per vertex, from the edges into (``a``) and out of it (``b``): whether the ring
    turns back there along a sliver thinner than ``width_m`` (the shorter edge's far
    end that close to the longer edge's line)."""
    la, lb = np.hypot(*a.T), np.hypot(*b.T)
    with np.errstate(invalid="ignore", divide="ignore"):
        width = np.abs(a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]) / np.maximum(la, lb)
    return ((a * b).sum(axis=1) < 0) & (width < width_m) & (np.minimum(la, lb) > 0)


def _spike_tips(xy: np.ndarray, width_m: float = MICRO_EDGE_M) -> np.ndarray:
    """Of a closed ring's vertices (``xy`` without the closing one), the spike tips."""
    return _turns_back(xy - np.roll(xy, 1, axis=0), np.roll(xy, -1, axis=0) - xy, width_m)


def _with_spikes(arr: np.ndarray) -> np.ndarray:
    """Positions in ``arr`` of the polygons with a spike tip (:func:`_spike_tips`), all
    rings of all of them at once: most have none, and a ring at a time cost 0.4 s for
    the sample county's cells."""
    parts, pidx = shapely.get_parts(arr, return_index=True)
    rings, ridx = shapely.get_rings(parts, return_index=True)
    if not len(rings):
        return np.zeros(0, int)
    xy, cidx = shapely.get_coordinates(rings, return_index=True)
    n = np.bincount(cidx, minlength=len(rings))
    keep = np.ones(len(xy), bool)
    keep[np.cumsum(n) - 1] = False  # each ring's closing vertex
    xy, cidx = xy[keep], cidx[keep]
    m = n - 1
    start = np.r_[0, np.cumsum(m)[:-1]]
    k = np.arange(len(xy))
    pos = k - start[cidx]
    prev = np.where(pos == 0, start[cidx] + m[cidx] - 1, k - 1)
    nxt = np.where(pos == m[cidx] - 1, start[cidx], k + 1)
    tip = _turns_back(xy - xy[prev], xy[nxt] - xy) & (m[cidx] > 3)
    return np.unique(pidx[ridx[cidx[tip]]])


def drop_spikes(polys, width_m: float = MICRO_EDGE_M) -> np.ndarray:
    """``polys`` without the tips of spikes thinner than :data:`MICRO_EDGE_M`: a ring
    that runs metres out and back within a micrometre of itself (a re-cut cell beside a
    locked one had one 0.75 µm wide) is valid in metres but crosses itself once
    reprojected to degrees.  Polygons with none are returned as they are."""
    arr = np.empty(len(polys), dtype=object)
    arr[:] = list(polys)
    out = arr.copy()
    for i in (_with_spikes(arr) if width_m == MICRO_EDGE_M else range(len(arr))):
        g = arr[i]
        if g is None or g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon"):
            continue
        parts = list(g.geoms) if g.geom_type == "MultiPolygon" else [g]
        fixed, changed = [], False
        for p in parts:
            rings = []
            for ring in (p.exterior, *p.interiors):
                xy = np.asarray(ring.coords)[:-1]
                # (a tip gone can leave the next one: again until none, or too few left)
                while len(xy) > 3:
                    tips = _spike_tips(xy, width_m)
                    if not tips.any() or tips.sum() > len(xy) - 3:
                        break
                    xy, changed = xy[~tips], True
                rings.append(xy)
            fixed.append(Polygon(rings[0], rings[1:]) if len(rings[0]) >= 3 else p)
        if changed:
            out[i] = fixed[0] if len(fixed) == 1 else shapely.MultiPolygon(fixed)
    return out


def node_long_edges(polys, min_m: float = NODE_M, tol: float = TOUCH_M) -> np.ndarray:
    """``polys`` with every vertex of any of them that lies on an edge longer than
    ``min_m`` (within ``tol``, and more than :data:`MICRO_EDGE_M` from the edge's ends)
    put into that edge, where that keeps the polygon valid.

    :func:`geogrid.crs.reproject` splits each edge evenly before it moves the
    vertices, so an edge keeps its shape only between its own two ends.  Where two
    cells meet on a micro-grid's edge (a T-junction), the micro-grid splits the whole
    edge and the cells each their part: different points along one line, and on each
    side a curve that bends differently.  The two differ by up to a few tenths of a
    millimetre per 100 m piece (east-west edges, more the further north), a few
    hundredths of a m² per edge, which adds up: a micro-grid of 140 cells in a 50 km²
    village missed its cells by 3.8 m² at 52° N, and a village stretched 1,400 km by a
    mistyped point by 7 m².  With the T-junctions in every edge, both sides split the
    same sub-edges at the same points.  Edges of ``min_m`` or less are left as they
    are (a plan with none longer comes back unchanged, the same objects)."""
    arr = np.empty(len(polys), dtype=object)
    arr[:] = list(polys)
    if not len(arr):
        return arr
    parts, part_of = shapely.get_parts(arr, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    xy, vert_of = shapely.get_coordinates(rings, return_index=True)
    a, b = xy[:-1], xy[1:]
    length = np.hypot(*(b - a).T)
    long = np.flatnonzero((vert_of[:-1] == vert_of[1:]) & (length > min_m))
    if not len(long):
        return arr
    pool = np.unique(xy, axis=0)
    # the points within tol of each long edge: its box grown by tol from a tree of the
    # points, then the distance to the segment (a dwithin query of GEOS, 4x the time)
    lo, hi = np.minimum(a[long], b[long]) - tol, np.maximum(a[long], b[long]) + tol
    edge_i, pt_i = shapely.STRtree(shapely.points(pool)).query(shapely.box(lo[:, 0], lo[:, 1], hi[:, 0], hi[:, 1]))
    e = long[edge_i]
    d = (b[e] - a[e]) / length[e, None]
    rel = pool[pt_i] - a[e]
    t = np.einsum("ij,ij->i", rel, d)  # how far along the edge
    foot = np.clip(t, 0.0, length[e])
    near = np.hypot(rel[:, 0] - foot * d[:, 0], rel[:, 1] - foot * d[:, 1]) <= tol
    inner = near & (t > MICRO_EDGE_M) & (t < length[e] - MICRO_EDGE_M)
    e, pt_i, t = e[inner], pt_i[inner], t[inner]
    if not len(e):
        return arr
    order = np.lexsort((t, e))
    e, pt_i, t = e[order], pt_i[order], t[order]
    # one point per micro-edge along an edge (neighbours' ends a rounding error apart)
    keep = np.r_[True, (e[1:] != e[:-1]) | (np.diff(t) > MICRO_EDGE_M)]
    e, pt_i = e[keep], pt_i[keep]
    # the rings with a point put in, all at once: each point after the vertex its edge
    # starts from (a stable sort keeps the points of one edge in their order along it)
    touched = np.unique(vert_of[e])
    mine = np.isin(vert_of, touched)
    idx = np.r_[np.flatnonzero(mine), e]
    coords = np.r_[xy[mine], pool[pt_i]]
    at = np.argsort(idx, kind="stable")
    new_rings = rings.copy()
    new_rings[touched] = shapely.linearrings(coords[at], indices=np.searchsorted(touched, vert_of[idx[at]]))
    parts_hit = np.unique(ring_of[touched])
    geoms_hit = np.unique(part_of[parts_hit])
    # the polygons of those geometries again from their rings (the first ring of each
    # part its shell), then multi-part ones from their parts
    pmask = np.isin(part_of, geoms_hit)
    pidx = np.flatnonzero(pmask)
    rmask = np.isin(ring_of, pidx)
    new_parts = shapely.polygons(new_rings[rmask], indices=np.searchsorted(pidx, ring_of[rmask]))
    multi = np.array([arr[g].geom_type != "Polygon" for g in geoms_hit])
    gi = np.searchsorted(geoms_hit, part_of[pidx])
    new = np.empty(len(geoms_hit), dtype=object)
    single = ~multi
    new[single] = new_parts[np.isin(gi, np.flatnonzero(single))]
    if multi.any():
        mi = np.isin(gi, np.flatnonzero(multi))
        new[multi] = shapely.multipolygons(new_parts[mi], indices=np.searchsorted(np.flatnonzero(multi), gi[mi]))
    ok = shapely.is_valid(new) & (shapely.get_num_geometries(new) == shapely.get_num_geometries(arr[geoms_hit]))
    out = arr.copy()
    out[geoms_hit[ok]] = new[ok]
    return out


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


#: a polygon invalid once reprojected loses spike tips up to these widths (m), the
#: narrowest that makes it valid: a sliver a tenth of a millimetre wide over 60 m of
#: edge is straight in metres and bent across itself in degrees
REPROJECT_SPIKE_M = (1e-3, 1e-2)


def reproject_valid(geoms, metric, crs) -> "np.ndarray":
    """``geoms`` (polygons in ``metric``) in ``crs`` (:func:`geogrid.crs.reproject`),
    each valid there: one that crosses itself only once reprojected (a sliver narrower
    than the curvature of its edges) is drawn again without its spike tips
    (:func:`drop_spikes`, :data:`REPROJECT_SPIKE_M`), where that keeps it valid in
    metres and in as many pieces.  Valid ones are untouched.

    Where the CRS changes, each polygon first takes the corners of the others that lie
    on its edges (:func:`node_long_edges`), so that polygons that share a border still
    share it there: pass the polygons that must tile together (a plan's micro-grids and
    cells) in one call."""
    import geopandas as gpd
    import pyproj

    from geogrid.crs import reproject

    arr = np.empty(len(geoms), dtype=object)
    arr[:] = list(geoms)
    if pyproj.CRS.from_user_input(metric) != pyproj.CRS.from_user_input(crs):
        arr = node_long_edges(arr)
    out = reproject(gpd.GeoSeries(arr, crs=metric), crs).to_numpy().copy()
    bad = np.flatnonzero(~shapely.is_valid(out) & ~shapely.is_missing(out))
    for i in bad:
        for width in REPROJECT_SPIKE_M:
            g = drop_spikes([arr[i]], width)[0]
            if not (g.is_valid and shapely.get_num_geometries(g) == shapely.get_num_geometries(arr[i])):
                continue
            r = reproject(gpd.GeoSeries([g], crs=metric), crs).iloc[0]
            if r.is_valid:
                out[i] = r
                break
    return out
