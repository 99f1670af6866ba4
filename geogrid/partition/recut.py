"""A re-solved micro-grid's free cells (those not locked): the previous cells kept
where they still serve the households now in them (:func:`keep_previous`), else
redrawn around their households with as few moved as the cap asks (:func:`repair`),
else the land cut afresh (:func:`recut`), piece by piece where locked cells part it
(:func:`free_pieces`).  The work of :func:`~geogrid.partition.repartition` inside one
micro-grid, in metres.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import shapely
from scipy.optimize import linear_sum_assignment

from geogrid.columns import BUILDING, HAMLET
from geogrid.errors import InputError
from geogrid.partition.cells import cell_centres, solve_cells
from geogrid.partition.drawing import diagram, draw
from geogrid.partition.power import power_weights
from geogrid.partition.inputs import _codes
from geogrid.partition.lloyd import assign_within, halves, mean_points, squared_distances
from geogrid.partition.outline_edit import no_land
from geogrid.partition.pieces import GRID_M, clean
from geogrid.partition.solve import cell_id
from geogrid.partition.units import make_units, needed_cells, or_loosened
from geogrid.partition.village import _hamlet_small, _locate, hsmall_of

__all__ = ["clip_to", "keep_previous", "repair", "free_pieces", "recut"]

#: whether :func:`repair` redraws at all, or leaves every such micro-grid to be cut
#: afresh (off only to measure against: benchmarks/repartition_stability.py)
REPAIR = True
#: a household moved to another cell than its own costs as much, in the repair's
#: assignment, as being this many cell sides (the side of a square of a cell's mean
#: land) further from its cell: tried in turn until the cells drawn hold what was
#: assigned (a dear move leaves the one household added in a neighbour with room,
#: inside land its own cell keeps; a cheap one moves households that need not).  On
#: test_repartition_repair's eight micro-grids, each alone (share of households moved,
#: worst of eight): 1.0: 12 %, 0.5: 12 %, 0.25: 6 %, 0.1: 8 %
MOVE_SIDES = (0.5, 0.25, 0.1)
#: cells :func:`repair` adds at most, each by cutting a full one in two, when the
#: previous cells cannot hold the households now in the micro-grid; more than that,
#: and the micro-grid is cut afresh
MAX_SPLITS = 2

def clip_to(cell, region):
    """``cell`` clipped to ``region`` on the grid, made valid first: a stored cell valid
    in degrees can cross itself in metres (a spike a hair beside an edge turns over
    when projected), and GEOS refuses to overlay it ("side location conflict").
    None if it still cannot be clipped."""
    try:
        if cell is not None and not cell.is_valid:
            cell = shapely.make_valid(cell, method="structure", keep_collapsed=False)
        return clean(shapely.intersection(cell, region, grid_size=GRID_M))
    except shapely.errors.GEOSException:
        return None


def keep_previous(region, rows, pts_m, free_prev, cell_geom, cap, hh, most=None):
    """The previous cells, clipped to ``region``, if they still respect every rule:
    they tile it, hold every household, no more than ``cap`` each (unless a cell is one
    building), and no building or shared address is split between them; and if none
    of them is left empty, and they are no more than ``most`` (when given)."""
    if not free_prev:
        # every cell locked: land beyond them (an outline edit added it) is cut afresh,
        # or refused where no one lives there (free_pieces), never left in no cell
        return None if len(rows) or not no_land(region) else []
    if most is not None and len(free_prev) > most:
        return None
    polys = [clip_to(cell_geom[c], region) for c in free_prev]
    if any(p is None for p in polys):
        return None  # a cell GEOS cannot clip even made valid: cut afresh
    total = sum(p.area for p in polys)
    if abs(total - region.area) > 0.5:
        return None
    for p in polys:
        if p.is_empty or not p.is_valid or shapely.get_num_geometries(p) != 1:
            return None
    li = _locate(pts_m[rows], polys, np.full(len(rows), -1))
    if (li < 0).any():
        return None
    building = _codes(hh[BUILDING].iloc[rows].to_numpy()) if BUILDING in hh.columns else None
    units = make_units(pts_m[rows], building)
    if units.n:
        cells_per_unit = pd.Series(li).groupby(units.of).nunique().to_numpy()
        if (cells_per_unit > 1).any():
            return None  # a building (or one address) would be split
    counts = np.bincount(li, minlength=len(polys))
    if (counts == 0).any():
        return None  # a cell emptied by the edit: cut afresh
    for j in np.flatnonzero(counts > cap):
        if len(np.unique(units.of[li == j])) > 1:
            return None  # over capacity and not a single building
    return [(c, p, rows[li == j]) for j, (c, p) in enumerate(zip(free_prev, polys))]


def repair(region, rows, pts_m, hh, cap, free_prev, prev_cell, m, all_prev):
    """The previous cells ``free_prev`` redrawn over ``region`` (one piece) after an
    edit they no longer fit (a cell over the cap, a household outside every cell):
    each unit stays in the cell most of its households were in, unless the cap moves
    it.  The assignment is capacity-constrained, to the cells' mean points under their
    previous power diagram, where leaving one's cell costs :data:`MOVE_SIDES` cell
    sides (each in turn), then without that cost; the cells are drawn from it as
    :func:`~geogrid.partition.cells.solve_cells` draws a start, without its Lloyd
    rounds, and kept only if each holds what was assigned to it.  As many cells as
    before under their ids; where they cannot hold the households now in them (every
    cell full, and one added), up to :data:`MAX_SPLITS` more, each placed by cutting
    the fullest cell in two (:func:`_split_fullest`), new ids after the highest.  None
    (the caller cuts afresh): a building over the cap, more cells needed than that, a
    cell with none of its households left, or no drawing that keeps them whole.

    Before, any such edit cut the micro-grid afresh: one household added to a full
    cell, in micro-grids with room, moved a mean 5.5 % of their households (up to
    40 %) to other cells (``benchmarks/repartition_stability.py``: now 1.2 %); in
    micro-grids whose cells were all full, 17 % (now 3.7 %, the previous cells under
    their ids and one cell more, often the household added alone, as a fresh cut
    also leaves the remainder of 20k + 1 households in a cell of its own).
    """
    C = len(free_prev)
    if not REPAIR or C < 1 or len(rows) == 0 or shapely.get_num_geometries(region) != 1:
        return None
    pts = pts_m[rows]
    building = _codes(hh[BUILDING].iloc[rows].to_numpy()) if BUILDING in hh.columns else None
    hamlet = _codes(hh[HAMLET].iloc[rows].to_numpy()) if HAMLET in hh.columns else None
    units = make_units(pts, building, hamlet)
    if (units.weight > cap).any():
        return None  # a building over the cap: cut afresh
    more = needed_cells(units.weight, cap) - C  # cells to add: the previous ones are full
    if more > MAX_SPLITS:
        return None
    index = {c: j for j, c in enumerate(free_prev)}
    own = np.array([index.get(c, -1) for c in prev_cell[rows]])
    # each unit's cell: the one most of its households were in (-1: none of them was)
    votes = pd.crosstab(units.of, own)
    unit_cell = np.full(units.n, -1)
    known = [c for c in votes.columns if c >= 0]
    if known:
        best = votes[known]
        has = best.to_numpy().sum(axis=1) > 0
        unit_cell[best.index.to_numpy()[has]] = np.asarray(known)[best.to_numpy()[has].argmax(axis=1)]
    present = unit_cell >= 0
    if np.unique(unit_cell[present]).size < C:
        return None  # a cell with none of its households left
    origin = units.xy.mean(axis=0)
    gxy = units.xy - origin
    gw = units.weight.astype(np.int64)
    centres = mean_points(unit_cell[present], gxy[present], gw[present], C)
    # the previous cells' own diagram: each household's power distance to each cell
    # (its squared distance less the cell's weight), under which they were drawn
    seen = present[units.of]  # the households of those units
    w = power_weights(units.points[seen] - origin, unit_cell[units.of][seen], centres, relax=True)
    area = region.area / C
    if more > 0:
        split = _split_fullest(unit_cell, gxy, gw, centres, w, units, origin, more)
        if split is None:
            return None
        # the households of a cut cell stay in it where they can: moving to the half
        # cut off costs as any move (its cell id is new)
        (centres, w), C = split, C + more
    moved = (np.arange(C)[None, :] != unit_cell[:, None]) * area
    hs = hsmall_of(units, units, np.arange(len(pts)), _hamlet_small(units, hamlet, cap))
    # the fewest moves first; where no drawing separates those cells, the assignment
    # under the previous diagram alone, never the Lloyd rounds, which would move many
    for extra in [side ** 2 * moved - w[None, :] for side in MOVE_SIDES] + [np.broadcast_to(-w, (units.n, C))]:
        start = assign_within(gxy, gw, centres, cap, extra=extra)
        if start is None or np.unique(start).size < C:
            continue
        cells = draw(region, units, pts, cap, *diagram(units, start, cell_centres(units, start, origin), origin,
                                                       region), hs)
        # drawn as assigned: as many cells (the previous ones and those split off),
        # each holding one cell's households
        if len(cells) == C and all(len(np.unique(start[units.of[members]])) == 1 for _, members in cells):
            return _named([(poly, np.asarray(members)) for poly, members in cells], rows, free_prev,
                          prev_cell, m, all_prev)
    return None


def _split_fullest(unit_cell, gxy, gw, centres, w, units, origin, more):
    """Room for households the previous cells, all full, cannot hold: ``more`` times,
    the cell that holds most (the units no cell held yet counted in the one nearest
    under the previous diagram, where they were added) is cut in two across its
    principal axis.  Returns the centres and weights of the previous cells and of the
    halves cut off (after them), or None where a cell has nothing to cut."""
    label = unit_cell.copy()
    new = label < 0
    label[new] = np.argmin(squared_distances(gxy[new], centres) - w[None, :], axis=1)
    C = len(centres)
    for _ in range(more):
        fullest = int(np.argmax(np.bincount(label, weights=gw, minlength=C)))
        side, _gain = halves(label, gxy, gw, C)
        half = (label == fullest) & (side == 1)
        if not half.any() or half.sum() == (label == fullest).sum():
            return None  # its households in one place: no line cuts it
        label[half] = C
        C += 1
    centres = mean_points(label, gxy, gw, C)
    w = power_weights(units.points - origin, label[units.of], centres, relax=True)
    return centres, w


def free_pieces(region, rows, pts_m, lk, m, outline_given: bool) -> list:
    """The pieces of ``region`` (a micro-grid's land outside its locked cells ``lk``,
    in more pieces than the micro-grid) and, for each, the positions in ``rows`` of
    the households in it; refused where a piece holds none, as no free cell can take
    that land without being in two pieces or holding no one."""
    parts = shapely.get_parts(region)
    parts = [p for p in parts if p.geom_type == "Polygon" and not p.is_empty]
    where = _locate(pts_m[rows], parts, np.full(len(rows), -1))
    bare = [j for j in range(len(parts)) if not (where == j).any()]
    if bare:
        where_from = "land an outline edit added beyond them, or " if outline_given else ""
        raise InputError(
            f"locked cells {', '.join(lk)} cut off part of micro-grid {m} where no household "
            f"lives from the rest of it ({where_from}land they close off against the "
            "micro-grid's edge); no free cell can take it in one piece: unlock them, or lock "
            "fewer cells", key="plan.rerun_locked_cells_cut_off",
            params={"cells": [str(c) for c in lk], "microgrid": str(m)})
    return [(p, np.flatnonzero(where == j)) for j, p in enumerate(parts)]


def recut(region, rows, pts_m, hh, cap, free_prev, prev_cell, m, all_prev, parts=None):
    """Cut ``region`` afresh (each of ``parts``, pieces of it with the positions in
    ``rows`` of their households, on its own where given); new cells take the ids of
    the previous cells they share most households with, the rest new ids after the
    highest in the micro-grid."""
    pts_all = pts_m[rows]
    building_all = _codes(hh[BUILDING].iloc[rows].to_numpy()) if BUILDING in hh.columns else None
    hamlet_all = _codes(hh[HAMLET].iloc[rows].to_numpy()) if HAMLET in hh.columns else None
    from geogrid.partition.village import hsmall_of

    cells = []
    for piece, at in parts if parts is not None else [(region, np.arange(len(rows)))]:
        pts = pts_all[at]
        building = None if building_all is None else building_all[at]
        hamlet = None if hamlet_all is None else hamlet_all[at]

        def solve(units, piece=piece, pts=pts, hamlet=hamlet):
            hs = hsmall_of(units, units, np.arange(len(pts)), _hamlet_small(units, hamlet, cap))
            return solve_cells(piece, units, pts, cap, hs)

        # building_splits names what a loosened solve split
        cells += [(poly, at[members]) for poly, members in
                  or_loosened(solve, make_units(pts, building, hamlet), pts, hamlet)]
    return _named(cells, rows, free_prev, prev_cell, m, all_prev)


def _named(cells, rows, free_prev, prev_cell, m, all_prev):
    """``[(id, polygon, household rows)]`` of ``cells`` (``[(polygon, positions in
    rows)]``): each takes the id of the previous cell it shares most households with,
    the rest new ids after the highest in the micro-grid."""
    old = [c for c in free_prev]
    ov = np.zeros((len(cells), len(old)))
    pc = prev_cell[rows]
    for i, (_, members) in enumerate(cells):
        vals = pd.Series(pc[members]).value_counts()
        for j, c in enumerate(old):
            ov[i, j] = vals.get(c, 0)
    names = [None] * len(cells)
    if len(old) and len(cells):
        r, c = linear_sum_assignment(-ov)
        for i, j in zip(r, c):
            names[i] = old[j]
    nums = [int(mm.group(1)) for x in all_prev if (mm := re.search(r"-C(\d+)$", str(x)))]
    nxt = max(nums, default=0) + 1
    for i in range(len(names)):
        if names[i] is None:
            names[i] = cell_id(m, nxt)
            nxt += 1
    return [(names[i], poly, rows[members]) for i, (poly, members) in enumerate(cells)]
