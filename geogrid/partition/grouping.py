"""Micro-grids as groups of whole cells solved over the whole village.

Straight area cuts put micro-grid borders where the area balances, which can run
through a settlement and force long thin cells on each side.  Here the cells come
first, solved over the whole village (capacity-constrained Lloyd rounds, so they are
nearly a power diagram), and each micro-grid is then a group of whole cells plus
empty land:

- every cell claims its *footprint*: the convex hull of its households, grown by
  ``radius`` and cut to its own power region, so footprints are convex and disjoint
  (cells the diagram cannot separate are tied together by the caller);
- the village's land is a lattice of equal-area points; the points outside every
  footprint are free land;
- free points and whole footprints are assigned to ``K`` micro-grid centres, each
  with between 1 - AREA_SLACK and 1 + AREA_SLACK of its share of the land, by
  capacity-constrained Lloyd rounds (OR-Tools' min-cost flow, as for the cells); a
  micro-grid that gets no cell is given the nearest spare one, which its centre then
  stays on;
- the free land is drawn as the power diagram of the centres (straight borders), and
  every footprint joins its micro-grid whole, so a border bends round a settlement
  instead of crossing it.  All the lines are noded once (:func:`shapely.polygonize`),
  so the faces share their edges exactly; a body of faces apart from its micro-grid,
  or a hair-thin face, joins the neighbour it borders longest.

Pure geometry in metres: numpy, scipy, shapely and OR-Tools.
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components
from shapely.geometry import Polygon

from geogrid.partition.lloyd import assign_within, mean_points
from geogrid.partition.power import halfplanes_between, power_distances, power_halfplanes, power_weights
from geogrid.partition.pieces import (GRID_M, TOUCH_M, clean, convex_polygons, explode, merge_orphans,
                                     polygonal, shared_border, union)

__all__ = ["footprints", "group_cells", "one_piece", "AREA_SLACK"]

#: a micro-grid holds this much more or less than its share of the land when the
#: rounds assign it (whole footprints do not divide evenly); the final check is
#: balance.AREA_TOL
AREA_SLACK = 0.05
#: corners of the grown hulls: segments per quarter circle
QUAD_SEGS = 2
#: pieces of one micro-grid or cell are one body where they share this much border (m)
MIN_BORDER_M = 1.0
#: free pieces thinner than about twice this (m: area over perimeter) join a neighbour
THIN_M = 1e-3
#: narrower necks than this (m) do not hold a polygon together
NECK_M = 1e-2
#: a ring that turns back within this angle (radians) at a vertex has a spike
SPIKE_RAD = 1e-3
#: Lloyd rounds of the micro-grids at most (free land settles slowly and matters
#: only by its area)
ROUNDS = 6


def footprints(points: np.ndarray, hh_cell: np.ndarray, centres: np.ndarray, weights: np.ndarray, origin,
               radius: float, V) -> np.ndarray:
    """Per cell, the convex hull of its households grown by ``radius``, within its own
    region of the power diagram of ``centres`` and ``weights`` (relative to
    ``origin``) and the village ``V``."""
    k = len(centres)
    order = np.argsort(hh_cell, kind="stable")
    mp = shapely.multipoints(points[order], indices=hh_cell[order])
    hull = shapely.buffer(shapely.convex_hull(mp), radius, quad_segs=QUAD_SEGS)
    if len(hull) != k:  # a cell without households: no footprint
        raise ValueError("every cell needs a household")
    # only the borders with cells whose grown hulls overlap can cut a hull
    a, b = shapely.STRtree(hull).query(hull, predicate="intersects")
    keep = a != b
    a, b = a[keep], b[keep]
    rows = halfplanes_between(centres, weights, origin, a, b).tolist()
    near = [[] for _ in range(k)]
    for i, row in zip(a.tolist(), rows):
        near[i].append(tuple(row))
    regions = convex_polygons(list(shapely.bounds(hull)), near)
    # polygons only in between: a region's sliver tip that the grid folds into a line
    # leaves a polygon and a line, which GEOS refuses to overlay with V
    out = polygonal(shapely.intersection(polygonal(shapely.intersection(hull, regions, grid_size=GRID_M)), V,
                                         grid_size=GRID_M))
    # a part that the village's outline or a neighbour's region cut off from the
    # households is free land
    for c in np.flatnonzero(shapely.get_num_geometries(out) > 1):
        parts = np.array(explode(out[c]), dtype=object)
        held = shapely.dwithin(parts, mp[c], 1e-3)
        out[c] = union(list(parts[held])) if held.any() else Polygon()
    return out


def _halfplane_label(lattice: np.ndarray, leaves) -> np.ndarray:
    label = np.zeros(len(lattice), int)
    for lab, hp in enumerate(leaves):
        inside = np.ones(len(lattice), bool)
        for a0, a1, b in hp:
            inside &= lattice @ np.array([a0, a1]) <= b
        label[inside] = lab
    return label


def _rounds(gxy: np.ndarray, gw: np.ndarray, label: np.ndarray, room: int, least: int, first_atom: int,
            K: int):
    """Capacity-constrained Lloyd rounds of the items (free points, then atoms from
    ``first_atom``) to ``K`` centres with ``room`` each and at least ``least`` (as
    far as the free points make it up), such that every centre gets an atom: where
    one gets none, the atom nearest to it (of a centre with several) is fixed to it,
    its centre stays on that atom (so that its land grows round it), and the rounds
    run again.
    ``(label, centres)`` or None."""
    fixed = np.full(len(gxy), -1)
    seeds: dict[int, int] = {}
    for _ in range(K):
        free = fixed < 0
        held = np.bincount(fixed[~free], weights=gw[~free], minlength=K).astype(np.int64)
        caps = room - held
        lows = np.minimum(np.maximum(least - held, 0), caps)
        if lows.sum() > gw[free].sum():
            lows = np.zeros(K, np.int64)
        for r in range(ROUNDS + 1):
            if (np.bincount(label, weights=gw, minlength=K) <= 0).any():
                return None
            centres = mean_points(label, gxy, gw, K)
            for e, item in seeds.items():
                centres[e] = gxy[item]  # a forced centre stays on its atom
            new = label.copy()
            got = assign_within(gxy[free], gw[free], centres, caps, lows)
            if got is None:
                return None
            new[free] = got
            if np.array_equal(new, label):
                break
            label = new
        atoms = label[first_atom:]
        empty = np.flatnonzero(np.bincount(atoms, minlength=K) == 0)
        if not len(empty):
            return label, centres
        count = np.bincount(atoms, minlength=K)
        for e in empty:
            cand = np.flatnonzero((count[atoms] > 1) & (fixed[first_atom:] < 0))
            if not len(cand):
                return None
            a = cand[np.argmin(((gxy[first_atom + cand] - centres[e]) ** 2).sum(axis=1))]
            count[atoms[a]] -= 1
            count[e] += 1
            atoms[a] = e
            fixed[first_atom + a] = e
            label[first_atom + a] = e
            seeds[int(e)] = first_atom + a
    return None


def group_cells(V, lattice: np.ndarray, feet: np.ndarray, K: int, start_leaves, cell_start: np.ndarray):
    """Micro-grid polygons for ``K`` groups of whole cells: ``(polygons, micro-grid of
    each cell)``, or None where the rounds find no assignment or a group has no cell.
    A cell whose footprint the village's outline cut apart can end up in two
    micro-grids; its micro-grid here is that of its biggest part.

    ``feet`` are the cells' footprints (:func:`footprints`); ``start_leaves`` the
    half-planes of a first split of the village into ``K`` parts (the straight area
    cuts) and ``cell_start`` the part each cell starts in.
    """
    C = len(feet)
    area = V.area
    unit = area / max(len(lattice), 1)
    pts = shapely.points(lattice)
    tree = shapely.STRtree(feet)
    inside, _ = tree.query(pts, predicate="intersects")
    free = np.ones(len(lattice), bool)
    free[inside] = False
    fxy = lattice[free]
    fw = np.ones(len(fxy))
    f_area = shapely.area(feet)
    cxy = shapely.get_coordinates(shapely.centroid(feet))
    empty = f_area <= 0
    if empty.any():
        return None
    cw = np.maximum(1.0, np.round(f_area / unit))
    room = int(math.ceil((len(fxy) + cw.sum()) / K * (1 + AREA_SLACK)))
    if cw.max() > room:
        return None  # cells tied together hold more land than a micro-grid
    origin = lattice.mean(axis=0)
    gxy = np.vstack([fxy, cxy]) - origin
    gw = np.r_[fw, cw].astype(np.int64)
    label = np.r_[_halfplane_label(fxy, start_leaves), cell_start]
    least = int(math.floor((len(fxy) + cw.sum()) / K * (1 - AREA_SLACK)))
    got = _rounds(gxy.astype(float), gw, label, room, least, len(fxy), K)
    if got is None:
        return None
    label, centres = got
    cell_mg = label[len(fxy):]
    w = power_weights(gxy[: len(fxy)], label[: len(fxy)], centres, relax=True) if len(fxy) else None
    if w is None:
        return None
    # one overlay of every line (the village's outline, the footprints' outlines and
    # the free land's power diagram), so that the faces share their edges exactly
    regions = convex_polygons(V.bounds, power_halfplanes(centres, w, origin))
    lines = np.array([V.boundary, *shapely.boundary(feet), *shapely.boundary(regions)], dtype=object)
    noded = shapely.union_all(lines[~shapely.is_empty(lines)], grid_size=GRID_M)
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(noded)))
    faces = faces[shapely.area(faces) > 0]
    probe = shapely.point_on_surface(faces)
    inside = shapely.contains(V, probe)
    faces, probe = faces[inside], probe[inside]
    holds = np.full(len(faces), -1)
    fi, ci = shapely.STRtree(feet).query(probe, predicate="within")
    holds[fi] = ci
    xy = shapely.get_coordinates(probe) - origin
    land = np.argmin(power_distances(xy, centres, w), axis=1)
    labels = np.where(holds >= 0, cell_mg[np.maximum(holds, 0)], land)
    parts = list(faces)
    # per micro-grid, the faces that touch form one polygon; a body apart from the
    # main one joins the neighbour it borders longest (with its cells, if any)
    final = _join_apart(parts, labels.tolist(), K, holds >= 0)
    if final is None:
        return None
    final = np.array(final)
    cell_mg = np.full(C, -1)
    p_area = shapely.area(faces)
    for c in range(C):
        # a footprint the village's outline cut apart may have parted: the cell goes
        # with its biggest part (the caller places each household where it lies)
        mine = np.flatnonzero(holds == c)
        cell_mg[c] = final[mine[np.argmax(p_area[mine])]]
    if len(np.unique(final)) != K:
        return None
    polys = [clean(shapely.coverage_union_all(faces[final == m])) for m in range(K)]
    if not one_piece(polys):
        return None
    return polys, cell_mg


def _join_apart(parts: list, labels: list[int], K: int, anchor: np.ndarray):
    """Labels after merging, for each label, every connected body of its pieces but
    the main one into a neighbour (:func:`merge_orphans`).  Pieces are connected
    where they share a border of at least :data:`MIN_BORDER_M`.  The main body is the
    one with the most ``anchor`` area (households' land), else the biggest."""
    arr = np.array(parts, dtype=object)
    lab = np.array(labels)
    n = len(arr)
    if any(not (lab == m).any() for m in range(K)):
        return None
    area = shapely.area(arr)
    # a hair-thin piece (where a footprint's edge meets a border at a shallow angle)
    # joins whichever neighbour it lies along, so that it leaves no spike
    orphan = ~anchor & (area < THIN_M * shapely.length(arr))
    # the labels in more than one body (faces of one overlay union exactly)
    apart = [m for m in range(K) if shapely.get_num_geometries(
        shapely.coverage_union_all(arr[(lab == m) & ~orphan])) > 1]
    if not apart:
        return merge_orphans(parts, labels, orphan.tolist()) if orphan.any() else list(labels)
    left, right = shapely.STRtree(arr).query(arr, predicate="dwithin", distance=TOUCH_M)
    keep = (left < right) & (lab[left] == lab[right]) & np.isin(lab[left], apart)
    left, right = left[keep], right[keep]
    joined = shared_border(arr[left], arr[right]) >= MIN_BORDER_M if len(left) else np.zeros(0, bool)
    graph = coo_array((np.ones(int(joined.sum())), (left[joined], right[joined])), shape=(n, n))
    _, body = connected_components(graph, directed=False)
    for m in apart:
        mine = np.flatnonzero((lab == m) & ~orphan)
        if not len(mine):
            return None
        bodies, which = np.unique(body[mine], return_inverse=True)
        if len(bodies) <= 1:
            continue
        held = np.bincount(which, weights=area[mine] * anchor[mine], minlength=len(bodies))
        size = np.bincount(which, weights=area[mine], minlength=len(bodies))
        main = int(np.argmax(held)) if held.any() else int(np.argmax(size))
        orphan[mine[which != main]] = True
    return merge_orphans(parts, labels, orphan.tolist())


def one_piece(polys) -> bool:
    """Whether every polygon is one piece, also without its necks narrower than
    :data:`NECK_M`, and has no spike (a piece that hangs on by a hair, or a hair-thin
    wedge, falls apart when it is carried to another CRS)."""
    arr = np.array(polys, dtype=object)
    if not (shapely.get_num_geometries(arr) == 1).all():
        return False
    if (shapely.get_num_geometries(shapely.buffer(arr, -NECK_M / 2, join_style="mitre")) > 1).any():
        return False
    return not any(_spiky(r) for p in arr for r in [p.exterior, *p.interiors])


def _spiky(ring) -> bool:
    """Whether the ring turns back on itself (within :data:`SPIKE_RAD`) at a vertex,
    once vertices closer than :data:`NECK_M` to the previous one are dropped."""
    c = shapely.get_coordinates(ring)[:-1]
    c = c[np.r_[True, np.hypot(*np.diff(c, axis=0).T) >= NECK_M]]
    if len(c) < 3:
        return False
    e = np.roll(c, -1, axis=0) - c
    e /= np.linalg.norm(e, axis=1)[:, None]
    turn = (e * np.roll(e, -1, axis=0)).sum(axis=1)
    return bool((turn < -np.cos(SPIKE_RAD)).any())
