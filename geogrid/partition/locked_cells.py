"""Locked cells in a re-run (:func:`~geogrid.partition.repartition`): the households each
keeps and takes in, and the land and households it leaves to the free cells of its
micro-grid.

A planner locks a cell to keep it as it is: its polygon, exactly, and its households.

- **Members.**  A locked cell keeps the households it held in the previous plan that
  are still in the register (a removed one simply leaves), of the same village as
  before, unless one's point has changed and lies outside the cell now: that household
  moved house, and is placed where it lives now, as any moved household is.  So a
  household the planner moved into the cell by hand, whose point lies outside its
  polygon (in another cell, even another micro-grid of the village), stays in it.  A
  point within :data:`~geogrid.partition.edit_report.MOVED_M` of the previous one has
  not changed (a round trip through another CRS or a CSV), nor has one where the
  previous plan gives none (the lock is the planner's word, and nothing says the
  household moved).  The API hands a re-run each household's point when it was
  assigned (kept with the stored plan), and none only for an assignment stored before
  plans kept them whose register point lay outside its cell then
  (:mod:`geogrid.api.planrerun`).
- **Newcomers.**  A household added, or moved (its point changed), whose point lies in
  a locked cell's polygon joins it, over the cap too: no other cell could hold it with
  its point inside, and no household is left in no cell for want of room.  A locked
  cell over the cap has its ``locked_cell_full`` note (unless it is one building,
  whose ``oversize_building`` note speaks for it), asking the planner to unlock it,
  then move households out by hand or re-run its micro-grid.
- **Taken out by hand.**  A household at its previous point, of another cell, whose
  point lies in a locked cell's polygon (the planner moved it out of the cell) is not
  taken back: it goes with the free cells of the micro-grid it lies in, cut as if it
  lived at the nearest point of their land (:func:`beside`; households at different
  places at different points of it), so that it lands, within the cap, in the free
  cell nearest its house.  Where the locked cells leave no free land, it joins the
  locked cell it lies in, as a newcomer.

A household kept outside its cell's polygon (a member moved in by hand, or one taken
out by hand) breaks :func:`~geogrid.partition.check`'s ``point_in_own_cell`` after the
re-run as it did before it: the re-run keeps the planner's hand move, neither undoes
it nor hides it (the API's plan validation warns of it as ``outside_cell``).
"""

from __future__ import annotations

import numpy as np
import shapely

from geogrid.columns import BUILDING, CELL_ID, MICROGRID_ID
from geogrid.crs import transformer
from geogrid.partition.assignment_notes import locked_cell_full
from geogrid.partition.edit_report import MOVED_M
from geogrid.partition.inputs import _codes
from geogrid.partition.points import point_xy
from geogrid.partition.outline_edit import _drop_specks, _to_metric, no_land
from geogrid.partition.pieces import GRID_M, clean
from geogrid.partition.units import address_keys, make_units
from geogrid.partition.village import _locate

__all__ = ["locked_members", "pin_members", "fill_locked", "beside"]


def locked_members(hh, prev_h, pos_prev, place, prev_cell, moved_village, locked, pc, pts_m, metric):
    """Which locked cell each household to ``place`` stays in, and which are at their
    previous point.

    Parameters
    ----------
    hh, prev_h : GeoDataFrame
        The register now and the previous plan's households.
    pos_prev : ndarray of int
        The row of each household of ``hh`` in ``prev_h`` (-1: added).
    place : ndarray of int
        The households (rows of ``hh``) the re-run places.
    prev_cell : ndarray of object
        Each household's previous cell (None for none).
    moved_village : ndarray of bool
        Households registered in another village than before.
    locked : set
        The locked cells.
    pc : GeoDataFrame
        The previous plan's cells.
    pts_m : ndarray (n, 2)
        The households' points now, in metres (NaN: none, or none to place).
    metric
        The plan's metric CRS.

    Returns
    -------
    member : ndarray of object
        The locked cell each household stays in (None: none).
    at_prev : ndarray of bool
        Households of a cell before, of the same village, at their previous point
        (within :data:`~geogrid.partition.edit_report.MOVED_M`, or with none given).
    """
    member = np.full(len(hh), None, dtype=object)
    at_prev = np.zeros(len(hh), bool)
    if not locked or not len(place):
        return member, at_prev
    rows = place[(pos_prev[place] >= 0) & ~moved_village[place] & ~np.isnan(pts_m[place, 0])
                 & (prev_cell[place] != None)]  # noqa: E711
    if not len(rows):
        return member, at_prev
    before = point_xy(prev_h.geometry.to_numpy()[pos_prev[rows]])
    unknown = np.isnan(before[:, 0]) | np.isnan(before[:, 1])
    bx, by = transformer(prev_h.crs or hh.crs, metric).transform(before[:, 0], before[:, 1])
    moved = np.hypot(pts_m[rows, 0] - bx, pts_m[rows, 1] - by)  # NaN where unknown
    at_prev[rows] = unknown | (moved <= MOVED_M)
    was = rows[np.isin(prev_cell[rows], np.array(sorted(locked), dtype=object))]
    if len(was):
        lc = pc[pc[CELL_ID].isin(locked)]
        geom = dict(zip(lc[CELL_ID], _to_metric(lc.geometry, metric)))
        inside = shapely.intersects_xy(np.array([geom[c] for c in prev_cell[was]], dtype=object),
                                       pts_m[was, 0], pts_m[was, 1])
        stay = was[at_prev[was] | inside]
        member[stay] = prev_cell[stay]
    return member, at_prev


def pin_members(loc, place, member, pc, ids) -> np.ndarray:
    """``loc`` (the micro-grid, an index into ``ids``, each household to ``place`` lies
    in) with the members of locked cells in their cell's micro-grid, wherever they lie."""
    held = member[place]
    at = np.flatnonzero(held != None)  # noqa: E711
    if not len(at):
        return loc
    mg_of = dict(zip(pc[CELL_ID], pc[MICROGRID_ID]))
    k = {m: i for i, m in enumerate(ids)}
    loc = loc.copy()
    loc[at] = [k[mg_of[c]] for c in held[at]]
    return loc


def fill_locked(M, rows, lk, cell_geom, member, at_prev, prev_cell, pts_m, hh, cap, code):
    """The households of the locked cells ``lk`` of micro-grid ``M`` (metres), of the
    households ``rows`` it holds: their members, and the newcomers inside them (see the
    module's rules).

    Returns
    -------
    assigned : dict
        Locked cell -> its households (rows of ``hh``).
    free_rows : ndarray of int
        The households left to the free cells.
    region : geometry
        The micro-grid's land outside its locked cells.
    cut_pts : ndarray (n, 2)
        The points to cut the free land by: ``pts_m``, or a copy where households taken
        out of a locked cell by hand stand beside it, on the free land (:func:`beside`).
    notes : list of dict
        ``locked_cell_full`` notes.
    """
    lpolys = [cell_geom[c] for c in lk]
    own = member[rows]
    other = own == None  # noqa: E711
    li = np.full(len(rows), -1)
    li[other] = _locate(pts_m[rows[other]], lpolys, np.full(int(other.sum()), -1))
    free = other & (li < 0)
    region = _drop_specks(clean(shapely.difference(M, shapely.union_all(lpolys), grid_size=GRID_M)), M,
                          pts_m[rows[free]])
    cut_pts = pts_m
    out_by_hand = (li >= 0) & at_prev[rows]
    if out_by_hand.any() and not no_land(region):
        cut_pts = pts_m.copy()
        cut_pts[rows[out_by_hand]] = beside(region, pts_m[rows[out_by_hand]], pts_m[rows[free]])
        free |= out_by_hand
        li[out_by_hand] = -1
    assigned = {c: rows[(own == c) | (li == j)] for j, c in enumerate(lk)}
    notes = []
    for c, at in assigned.items():
        if len(at) > cap:
            b = _codes(hh[BUILDING].iloc[at].to_numpy()) if BUILDING in hh.columns else None
            note = locked_cell_full(code, c, hh.index[at].tolist(), cap,
                                    one_building=make_units(pts_m[at], b).n == 1)
            if note is not None:
                notes.append(note)
    return assigned, rows[free], region, cut_pts, notes


#: how far around the nearest point of the free land a household taken out of a locked
#: cell by hand is set down on it (m): a piece of land that wide has a point inside
BESIDE_M = 1.0


def beside(region, pts: np.ndarray, taken: np.ndarray | None = None) -> np.ndarray:
    """For each of ``pts`` (metres, outside ``region``), a point inside ``region`` next
    to the nearest point of it: a point of the land of ``region`` within
    :data:`BESIDE_M` of that nearest point.  Points at one place get one point, and
    points at different places different ones, at no address of ``taken`` (the other
    households' points) either: the cut takes households at one point for one unit
    (:func:`~geogrid.partition.units.make_units`), and every point of a locked cell's
    corner facing an inner corner of the free land has that corner as its nearest
    point (before, two buildings there were cut as one, over the cap too)."""
    p = shapely.points(pts)
    near = shapely.get_coordinates(shapely.shortest_line(p, region)).reshape(-1, 2, 2)[:, 1]
    land = shapely.intersection(region, shapely.buffer(shapely.points(near), BESIDE_M))
    inside = shapely.point_on_surface(land)
    out = near.copy()
    ok = ~shapely.is_empty(inside)
    out[ok] = shapely.get_coordinates(inside[ok])
    return _apart(pts, out, land, taken)


#: how far (m) a point set down beside a locked cell steps off another's address, in
#: turn, until it finds land of its own (eight directions at each)
APART_M = (0.05, 0.1, 0.2, 0.4, 0.8)


def _apart(pts, out, land, taken=None) -> np.ndarray:
    """``out`` (a point for each of ``pts``) with each point that lands on an address
    (:func:`~geogrid.partition.units.address_keys`) taken already, by ``taken`` or by
    another place of ``pts`` before it, moved off it to a free address of its ``land``
    near it (one with none stays); points of one place of ``pts`` keep one point."""
    src = [tuple(k) for k in address_keys(pts)]
    used = {tuple(k) for k in address_keys(taken)} if taken is not None and len(taken) else set()
    first: dict = {}  # address of ``pts`` -> its point out
    out = out.copy()
    ang = np.arange(8) * np.pi / 4
    for i in np.lexsort(np.asarray(pts, float).T[::-1]):  # the same order whatever the rows' order
        if src[i] in first:
            out[i] = first[src[i]]
            continue
        if tuple(address_keys(out[i])[0]) in used:
            for r in APART_M:
                cand = out[i] + r * np.column_stack([np.cos(ang), np.sin(ang)])
                fits = shapely.contains_xy(land[i], cand[:, 0], cand[:, 1])
                free = [j for j in np.flatnonzero(fits) if tuple(address_keys(cand[j])[0]) not in used]
                if free:
                    out[i] = cand[free[0]]
                    break
        first[src[i]] = out[i]
        used.add(tuple(address_keys(out[i])[0]))
    return out
