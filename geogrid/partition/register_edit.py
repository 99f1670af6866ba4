"""The register a re-run (:func:`~geogrid.partition.repartition`) is given, read against
the previous plan: each household's previous row, micro-grid and cell, which households
stay in their cells as they were and which the re-run places, and the points of those
in metres.  Pure, like the rest of the engine."""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geogrid.columns import CELL_ID, MICROGRID_ID, VILLAGE_CODE
from geogrid.crs import transformer
from geogrid.errors import InputError
from geogrid.partition.edit_report import MOVED_M
from geogrid.partition.inputs import INPUT_PROBLEMS, _codes
from geogrid.partition.points import nowhere_points, point_xy
from geogrid.partition.outline_edit import _to_metric
from geogrid.partition.result import PartitionResult
from geogrid.partition.validate import POINT_TOL_M

__all__ = ["RegisterEdit", "read_register"]


@dataclass
class RegisterEdit:
    """The register after an edit, household by household against the previous plan.

    Arrays are per household of ``hh`` (its rows) unless said otherwise."""

    #: the register, in the plan's CRS
    hh: gpd.GeoDataFrame
    #: the previous plan's households
    prev_h: gpd.GeoDataFrame
    #: the row of each household in ``prev_h`` (-1: added)
    pos_prev: np.ndarray
    #: in the previous plan
    had: np.ndarray
    #: at the same point as before (within MOVED_M where its cell is kept), whatever its village
    at_same_point: np.ndarray
    #: registered in another village than before
    moved_village: np.ndarray
    #: the previous micro-grid and cell (None for none)
    prev_mg: np.ndarray
    prev_cell: np.ndarray
    #: integer keys of ``prev_h``'s micro-grids and cells into their distinct ids (:func:`_keys`)
    pm_key: np.ndarray
    pm_ids: np.ndarray
    pc_key: np.ndarray
    pc_ids: np.ndarray
    #: kept in its cell, as it was, outside the named micro-grids
    keep: np.ndarray
    #: the rows the re-run places
    place: np.ndarray
    #: the points of the households to place in metres (NaN: none, or none to place)
    pts_m: np.ndarray
    #: per row of ``place``: coordinates that are no place, as partition() judges
    nowhere: np.ndarray
    #: the points to place that are some place (metres)
    live: np.ndarray

    def lived_in(self, g) -> bool:
        """Whether a household to place lives in ``g`` (metres)."""
        return bool(len(self.live)) and bool(shapely.contains_xy(g, self.live[:, 0], self.live[:, 1]).any())

    def kept_in(self, microgrids) -> np.ndarray:
        """The rows of the households kept in their cells whose previous micro-grid is one
        of ``microgrids`` (ids): by the integer keys, not by comparing 80,000 ids."""
        want = np.flatnonzero(np.isin(self.pm_ids[:-1], np.array(sorted(microgrids), dtype=object)))
        rows = np.flatnonzero(self.keep)  # (kept: in the previous plan, with a micro-grid)
        return rows[np.isin(self.pm_key[self.pos_prev[rows]], want)]

    def gone(self) -> np.ndarray:
        """Per household of the previous plan: removed from the register."""
        out = np.ones(len(self.prev_h), bool)
        out[self.pos_prev[self.had]] = False
        return out

    def arrived(self, crs, metric) -> np.ndarray:
        """Of the households to place, those added or moved: new to the register or to a
        cell, of another village than before, or more than :data:`MOVED_M` from their
        previous point (one whose previous plan gives none has not moved: nothing says
        it did, as :func:`~geogrid.partition.locked_cells.locked_members` judges)."""
        place, pos_prev = self.place, self.pos_prev
        out = (pos_prev[place] < 0) | self.moved_village[place] | (self.prev_cell[place] == None)  # noqa: E711
        rows = place[~out]
        before = point_xy(self.prev_h.geometry.to_numpy()[pos_prev[rows]])
        bx, by = transformer(self.prev_h.crs or crs, metric).transform(before[:, 0], before[:, 1])
        out[~out] = np.hypot(self.pts_m[rows, 0] - bx, self.pts_m[rows, 1] - by) > MOVED_M  # NaN: False
        return out


def read_register(previous: PartitionResult, households: gpd.GeoDataFrame, named: list, outlines_given: bool,
                  crs, metric) -> RegisterEdit:
    """The register ``households`` read against the ``previous`` plan, whose micro-grids
    ``named`` are re-solved (with new village outlines where ``outlines_given``): a
    household at the same point (within :data:`MOVED_M` where it is still in its cell,
    :func:`_not_moved`) and village as before, in a micro-grid not named, is kept in its
    cell; one left out for an input problem stays out (:func:`_staying_out`); the re-run
    places the others.  ``crs`` is the plan's, ``metric`` its metric CRS."""
    pc = previous.cells
    hh = households if households.crs == crs else households.to_crs(crs)
    prev_h = previous.households
    if hh.index.equals(prev_h.index):
        pos_prev = np.arange(len(hh))
    else:
        pos_prev = prev_h.index.get_indexer(hh.index)  # -1: a new household
    had = pos_prev >= 0
    if not had.any() and len(hh) and len(prev_h):
        _refuse_other_keys(hh.index, prev_h.index)
    same_pt = np.zeros(len(hh), bool)
    # exactly the same point as before (a missing geometry never is): one GEOS call
    # over the county, five times faster than comparing extracted coordinates
    same_pt[had] = shapely.equals_exact(hh.geometry.to_numpy()[had],
                                        prev_h.geometry.to_numpy()[pos_prev[had]], tolerance=0)
    # the previous micro-grid and cell of each household, as ids (None for none) and as
    # integer keys into the plan's distinct ids, which count the kept households later
    pm_key, pm_ids = _keys(prev_h[MICROGRID_ID])
    pc_key, pc_ids = _keys(prev_h[CELL_ID])
    prev_mg = np.full(len(hh), None, dtype=object)
    prev_cell = np.full(len(hh), None, dtype=object)
    prev_mg[had] = pm_ids[pm_key[pos_prev[had]]]
    prev_cell[had] = pc_ids[pc_key[pos_prev[had]]]
    in_named = np.isin(prev_mg, np.array(named, dtype=object))
    same_pt |= _not_moved(hh, prev_h, pos_prev, had & ~same_pt & ~in_named & (prev_cell != None),  # noqa: E711
                          prev_cell, pc, metric)
    at_same_point = same_pt.copy()  # at the same point as before, whatever its village
    moved_village = _moved_village(hh, prev_h, pos_prev, had)
    same_pt &= ~moved_village
    keep = same_pt & ~in_named & (prev_mg != None)  # noqa: E711
    stay_out = _staying_out(previous, hh, same_pt, prev_mg, outlines_given)
    place = np.flatnonzero(~keep & ~stay_out)
    pts_m, nowhere = _points_in_metres(hh, place, crs, metric)
    live = pts_m[place][~np.isnan(pts_m[place, 0])] if len(place) else np.zeros((0, 2))
    return RegisterEdit(hh=hh, prev_h=prev_h, pos_prev=pos_prev, had=had, at_same_point=at_same_point,
                        moved_village=moved_village, prev_mg=prev_mg, prev_cell=prev_cell, pm_key=pm_key,
                        pm_ids=pm_ids, pc_key=pc_key, pc_ids=pc_ids, keep=keep, place=place, pts_m=pts_m,
                        nowhere=nowhere, live=live)


def _refuse_other_keys(now: pd.Index, before: pd.Index) -> None:
    """Refuse a register none of whose labels is the plan's, where the same labels
    written as text are (``'45'`` for ``45``, a register read from a CSV as text):
    every household would be taken as removed and added again, and every one outside
    the named micro-grids left in no cell."""
    as_text = pd.Index(now.astype(str))
    if as_text.isin(before.astype(str)).any():
        raise InputError(
            "no household of the register is in the previous plan by its index label, though "
            f"the same labels as text are (the register's are like {now[0]!r}, the plan's like "
            f"{before[0]!r}): every household would be taken as removed and added again; give "
            f"the register the plan's index labels, e.g. households.index = "
            f"households.index.astype({before.dtype.name!r})")


def _moved_village(hh, prev_h, pos_prev, had) -> np.ndarray:
    """Per household: registered in another village than before (False where either
    register gives no village code)."""
    moved_village = np.zeros(len(hh), bool)
    if VILLAGE_CODE in hh.columns and VILLAGE_CODE in prev_h.columns:
        # the same village as before (a missing code never is); two text columns are
        # compared by pandas without making Python objects of 80,000 codes
        va = hh[VILLAGE_CODE].iloc[np.flatnonzero(had)].reset_index(drop=True)
        vb = prev_h[VILLAGE_CODE].iloc[pos_prev[had]].reset_index(drop=True)
        if isinstance(va.dtype, pd.StringDtype) and isinstance(vb.dtype, pd.StringDtype):
            same_v = (va == vb).to_numpy(dtype=bool, na_value=False)
        else:
            # numbers, categories, text of another kind: as partition() reads codes
            # (431229001001 and "431229001001" are one village)
            ca, cb = _codes(va), _codes(vb)
            same_v = (ca == cb) & pd.notna(ca)
        moved_village[np.flatnonzero(had)] = ~same_v
    return moved_village


def _staying_out(previous, hh, same_pt, prev_mg, outlines_given) -> np.ndarray:
    """Per household: left out of the previous plan for an input problem and still out.

    Households left out for an input problem (no village, outside their village's
    outline), at the same point and village, with no outline given: still out, and
    their note stands (placed, they went into whichever named micro-grid they lay in).
    An address another village keeps (shared_address), or coordinates that are no place
    (bad_point), stay out whatever outlines are given: it is the register that says so
    (placed, the first split the address)."""
    out_before = {h for d in previous.diagnostics if d["kind"] in INPUT_PROBLEMS
                  for h in d["households"]}
    stay_out = np.zeros(len(hh), bool)
    out_anyway = {h for d in previous.diagnostics if d["kind"] in ("shared_address", "bad_point")
                  for h in d["households"]}
    if out_before and (not outlines_given or out_anyway):
        stay_out = same_pt & (prev_mg == None) & hh.index.isin(  # noqa: E711
            list(out_anyway if outlines_given else out_before))
    return stay_out


def _points_in_metres(hh, place, crs, metric) -> tuple[np.ndarray, np.ndarray]:
    """The points of the households to ``place`` in metres (the named micro-grids' new
    areas depend on where they live), NaN for the others and for those with no point or
    none that is a place; and, per row of ``place``, whether its coordinates are no
    place, as partition() judges."""
    pts_m = np.full((len(hh), 2), np.nan)
    nowhere = np.zeros(len(place), bool)
    if len(place):
        xy = point_xy(hh.geometry.to_numpy()[place])
        ok = ~np.isnan(xy[:, 0]) & ~np.isnan(xy[:, 1])
        nowhere = nowhere_points(xy, crs, ok)
        ok &= ~nowhere
        x, y = transformer(crs, metric).transform(xy[ok, 0], xy[ok, 1])
        pts_m[place[ok]] = np.column_stack([x, y])
    return pts_m, nowhere


def _not_moved(hh, prev_h, pos_prev, rows, prev_cell, pc, metric) -> np.ndarray:
    """Of the households at ``rows`` (a mask: not at exactly their previous point), those
    within :data:`MOVED_M` of it and still in their previous cell's polygon, or as
    outside it as before: one a planner moved into its cell by hand, whose previous
    point lay outside the polygon too (beyond check()'s
    :data:`~geogrid.partition.validate.POINT_TOL_M`), has not moved either.  Before, a
    round trip of the register through another CRS took such a household out of its
    cell in a micro-grid not re-solved (into a named one its point lies in, or into
    none), where the same register without the round trip left it."""
    out = np.zeros(len(hh), bool)
    idx = np.flatnonzero(rows)
    if not len(idx):
        return out
    now = point_xy(hh.geometry.to_numpy()[idx])
    before = point_xy(prev_h.geometry.to_numpy()[pos_prev[idx]])
    to_m = transformer(hh.crs, metric)
    a = np.column_stack(to_m.transform(now[:, 0], now[:, 1]))
    b = np.column_stack(to_m.transform(before[:, 0], before[:, 1]))
    near = np.hypot(*(a - b).T) <= MOVED_M  # NaN (no point now or before): False
    if near.any():
        cg = pc.set_index(CELL_ID).geometry
        cells = cg.reindex(prev_cell[idx[near]])
        inside = shapely.intersects_xy(cells.to_numpy(), now[near, 0], now[near, 1])
        if not inside.all():
            # outside now: not moved if it was outside before too (a hand move)
            out_now = np.flatnonzero(~inside)
            gm = _to_metric(cells.iloc[out_now], metric)
            bm = b[np.flatnonzero(near)[out_now]]
            inside[out_now] = shapely.distance(gm, shapely.points(bm)) > POINT_TOL_M
        out[idx[np.flatnonzero(near)[inside]]] = True
    return out


def _keys(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer keys of an id column and its distinct ids, with one more id, None, at
    the end for a missing one (key -1 picks it)."""
    key, ids = pd.factorize(col, use_na_sentinel=True)
    return key, np.append(np.asarray(ids, dtype=object), None)
