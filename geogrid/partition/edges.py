"""The edges of output polygons: micrometre edges and spikes that overlays leave, and
the T-junctions that a change of CRS would bend apart, so that polygons stay valid and
keep tiling in any CRS.  Pure numpy and shapely."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import Polygon

from geogrid.partition.pieces import TOUCH_M

__all__ = ["drop_micro_edges", "drop_spikes", "node_long_edges", "reproject_valid", "MICRO_EDGE_M"]

#: Output polygons drop vertices closer than this (m) to the one before.
MICRO_EDGE_M = 1e-4
#: An edge longer than this (m) takes the vertices of its neighbours that lie on it
#: before a change of CRS (:func:`node_long_edges`): every edge.  A straight edge in
#: metres bows away from the straight one in degrees by 0.1 mm (27° N) to 0.6 mm
#: (71° N) at the middle of 100 m, and by 1 to 6 cm over 1 km, so even a T-junction
#: on a short edge leaves a sliver there; 10 km (before) left micro-grids of many
#: cells with 1.4 to 3.8 m² of gaps and overlaps between their cells in WGS84.
NODE_M = 0.0


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
