"""``repartition()``: re-solve a few micro-grids after an edit, leave the rest alone.

A re-run goes in steps, each in its own function: the register is read against the
previous plan (:mod:`~geogrid.partition.register_edit`: which households keep their
cells, which are placed); the named micro-grids get their land after the edit
(:mod:`~geogrid.partition.microgrid_areas`); the households to place go into them
(:mod:`~geogrid.partition.placement`), and those left with none hand their land to a
named neighbour (:mod:`~geogrid.partition.empty_microgrids`); each named micro-grid's cells are kept or cut
afresh (:func:`_resolve_cells`); and the plan is put together again with its report
(:func:`_assemble`, :func:`_report`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geogrid.columns import AREA_KM2, BUILDING, CELL_ID, HAMLET, HOUSEHOLDS, MICROGRID_ID, VILLAGE_CODE
from geogrid.crs import crs_of, transformer
from geogrid.errors import InputError
from geogrid.partition.edit_report import (MADE_AFRESH, building_splits, carried, figures_now, hamlet_splits,
                                          isolation, kept_cells_full)
from geogrid.partition.inputs import _codes, check_frames
from geogrid.partition.assignment_notes import locked_cell_empty
from geogrid.partition.empty_microgrids import empty_notes, hand_over
from geogrid.partition.locked_cells import fill_locked
from geogrid.partition.microgrid_areas import MicrogridAreas, areas_now
from geogrid.partition.outline_edit import _bare_land, _cells_in_pieces, _to_metric
from geogrid.partition.edges import drop_micro_edges, reproject_valid
from geogrid.partition.pieces import explode
from geogrid.partition.placement import Placement, place_households
from geogrid.partition.recut import free_pieces, keep_previous, recut, repair
from geogrid.partition.register_edit import RegisterEdit, read_register
from geogrid.partition.report import polsby_popper
from geogrid.partition.result import PartitionResult
from geogrid.partition.solve import _check_index
from geogrid.partition.units import canonical_order

__all__ = ["repartition"]


def repartition(
    previous: PartitionResult,
    households: gpd.GeoDataFrame,
    villages: gpd.GeoDataFrame | None = None,
    *,
    microgrids: Iterable[str],
    locked_cells: Iterable[str] = (),
) -> PartitionResult:
    """Re-solve only the named micro-grids; everything else keeps ids and geometry.

    Parameters
    ----------
    previous : PartitionResult
        The plan being edited.
    households : GeoDataFrame
        The whole register after the edit (added, moved and removed households), with
        the same index as before for households that were there.
    villages : GeoDataFrame or None
        The village outlines after the edit, if a boundary changed; the named
        micro-grids then take whatever of their village the other micro-grids do not
        cover.  None keeps the previous outlines.
    microgrids : list of str
        Micro-grid ids to re-solve.
    locked_cells : list of str
        Cells (inside those micro-grids) whose polygon and households must not change:
        a locked cell keeps its previous members still in the register, wherever they
        lie (one moved in by hand too), unless one's point changed and lies outside it
        (it moved house); households added or moved inside its polygon join it, over
        the cap with a ``locked_cell_full`` note; one moved out of it by hand is not
        taken back.  See :mod:`geogrid.partition.locked_cells`.

    A household added, or moved, to the address of a household whose cell is kept (in
    a micro-grid not re-solved, or a locked cell) joins that cell, as one address is
    never split across cells: over the cap too, with a ``kept_cell_full`` note naming
    the micro-grid to re-run (a locked cell's is ``locked_cell_full``).

    Inside a re-solved micro-grid the previous cells are kept as they were (clipped to
    any new outline) if they still respect every rule; otherwise they are redrawn as
    many as before, each household staying in its cell unless the cap moves it (the
    fewest and shortest moves); where that cannot be (a cell left empty, more cells
    needed, land in pieces) the micro-grid is cut afresh and the new cells take the
    ids of the previous cells they share most households with, so households keep
    their cell where possible.

    A named micro-grid left with no households (every one taken out of the register,
    or moved away) gives its land to a named micro-grid of its village next to it that
    has households, and is dropped with its cells (``microgrid_dropped``; the report's
    ``repartition.microgrids_dropped`` maps it to the one that took its land); one with
    no such neighbour named is kept with an empty cell and an ``empty_microgrid`` note
    naming the micro-grids next to it to re-run it with.  A locked cell left with no
    households stays as it is, with a ``locked_cell_empty`` note: unlocked, a re-run of
    its micro-grid drops it.  See :mod:`geogrid.partition.empty_microgrids`.

    Households added or moved outside the named micro-grids are not placed; the
    diagnostics say which micro-grid to name.
    """
    run = _rerun(previous, households, villages, microgrids, locked_cells)
    edit = read_register(previous, households, run.named, villages is not None, run.crs, run.metric)
    areas, diags = areas_now(run.pm, run.pc, run.named, run.locked, villages, run.mg_village, edit, run.cap,
                             run.metric, run.crs)
    placement, placed_notes = place_households(edit, areas, run.pm, run.pc, run.named, run.locked,
                                               run.mg_village, run.cap, run.metric, run.crs)
    dropped = _empty_microgrids(run, areas, placement)
    if dropped:  # their land went to neighbours: the households are placed on it again
        placement, placed_notes = place_households(edit, areas, run.pm, run.pc, run.named, run.locked,
                                                   run.mg_village, run.cap, run.metric, run.crs)
    diags += placed_notes + empty_notes(areas.new_mg, _held(placement), run.mg_village, _locked_of(run),
                                        run.pm, run.metric, *(dropped or ({}, {})), previous.diagnostics)
    cells, cell_notes = _resolve_cells(run, edit, areas, placement, villages is not None)
    diags = _cells_in_pieces(diags + cell_notes, cells.new_cells, areas.vpoly)
    cells.cell_of_row.update(placement.joined)  # those that joined a kept cell at their address
    return _assemble(run, previous, edit, areas, placement, cells, diags, dropped[0] if dropped else {})


def _held(placement) -> dict:
    """Named micro-grid -> the households placed in it."""
    n = np.bincount(placement.loc[placement.loc >= 0], minlength=len(placement.ids))
    return dict(zip(placement.ids, n.tolist()))


def _locked_of(run) -> dict:
    """Named micro-grid -> its locked cells."""
    out: dict = {}
    for c, m in zip(run.pc[CELL_ID].tolist(), run.pc[MICROGRID_ID].tolist()):
        if c in run.locked:
            out.setdefault(m, []).append(c)
    return out


def _empty_microgrids(run, areas: MicrogridAreas, placement) -> tuple[dict, dict] | None:
    """The named micro-grids left with no households, their land handed to a named
    neighbour of their village that has some, or merged
    (:func:`~geogrid.partition.empty_microgrids.hand_over`; ``areas`` changed in
    place): ``(dropped, their areas)``, None where none was dropped."""
    dropped, area = hand_over(areas.new_mg, _held(placement), run.mg_village, set(_locked_of(run)))
    if not dropped:
        return None
    for m, r in dropped.items():
        areas.unchanged.discard(m)
        areas.unchanged.discard(r)  # (its land grew: no longer the caller's exact outline)
        areas.took_land.add(r)
    return dropped, area


@dataclass
class _Rerun:
    """What a re-run is asked: the previous plan's parameters and frames, the
    micro-grids re-solved and the cells locked."""

    params: dict
    cap: int
    metric: pyproj.CRS
    crs: pyproj.CRS
    named: list
    locked: set
    pm: gpd.GeoDataFrame
    pc: gpd.GeoDataFrame
    mg_village: dict
    mg_households: dict


def _rerun(previous, households, villages, microgrids, locked_cells) -> _Rerun:
    """The re-run asked of :func:`repartition`, its arguments checked: a plan of
    :func:`~geogrid.partition.partition` (its frames in one coordinate system, as it
    returns them), lists of micro-grids of it and of locked cells of those, a register
    and outlines as partition() takes them (:func:`~geogrid.partition.inputs.check_frames`)
    and a usable index."""
    if not isinstance(previous, PartitionResult):
        raise InputError("previous must be the PartitionResult of geogrid.partition.partition() "
                         f"or repartition() (the plan being edited), not a {type(previous).__name__}")
    params = dict(previous.report.get("parameters", {}))
    if "metric_crs" not in params:
        raise InputError("previous is not a result of geogrid.partition.partition()")
    # in one order whatever the order they are named in: a household on the border of
    # two named micro-grids goes to the first, and the notes come in this order
    named = sorted(dict.fromkeys(_ids("microgrids", microgrids, "micro-grid")), key=str)
    locked = set(_ids("locked_cells", locked_cells, "cell"))
    pm = previous.microgrids
    pc = previous.cells
    crss = {name: pyproj.CRS.from_user_input(f.crs) if f.crs is not None else None
            for name, f in (("households", previous.households), ("microgrids", pm), ("cells", pc))}
    if crss["cells"] is None:
        raise InputError("the previous plan's cells have no coordinate system; give the plan as "
                         "partition() returned it, or set the one its frames are in with set_crs")
    if any(c != crss["cells"] for c in crss.values()):
        raise InputError("the previous plan's frames are in different coordinate systems ("
                         + ", ".join(f"{k}: {'none' if c is None else c.name}" for k, c in crss.items())
                         + "); give its households, micro-grids and cells in one, as partition() "
                         "returned them, e.g. with to_crs on each")
    unknown = [m for m in named if m not in set(pm[MICROGRID_ID].tolist())]
    if unknown:
        raise InputError(f"no micro-grid {', '.join(map(str, unknown))} in the previous plan; "
                         "use ids from result.microgrids")
    bad_lock = [c for c in locked if c not in set(pc.loc[pc[MICROGRID_ID].isin(named), CELL_ID])]
    if bad_lock:
        raise InputError(f"locked cells {', '.join(sorted(map(str, bad_lock)))} are not in the named "
                         "micro-grids; only cells of micro-grids being re-solved can be locked")
    check_frames(households, villages)
    _check_index(households)
    return _Rerun(params=params, cap=params["max_households"], metric=crs_of(params["metric_crs"]),
                  crs=pyproj.CRS.from_user_input(previous.cells.crs), named=named, locked=locked, pm=pm, pc=pc,
                  mg_village=dict(zip(pm[MICROGRID_ID].tolist(), pm[VILLAGE_CODE].tolist())),
                  mg_households=dict(zip(pm[MICROGRID_ID].tolist(), pm[HOUSEHOLDS].tolist())))


def _ids(name: str, ids, what: str) -> list:
    """The ids of argument ``name`` as a list: refused if they are not a collection of
    ids (None, or one id as a string, which would be read letter by letter)."""
    if isinstance(ids, (str, bytes)):
        raise InputError(f"{name} must be a list of {what} ids, not one id as a string: "
                         f"write {name}=[{ids!r}]")
    try:
        return list(ids)
    except TypeError:
        raise InputError(f"{name} must be a list of {what} ids, not {type(ids).__name__}") from None


@dataclass
class _Cells:
    """The named micro-grids' cells after the re-run."""

    #: (cell id, micro-grid id, polygon in metres)
    new_cells: list
    #: the locked cells
    locked_rows: set
    #: cells kept as they were: the caller's exact geometry
    exact_rows: set
    #: household row -> its cell, for every household placed in one
    cell_of_row: dict


def _resolve_cells(run: _Rerun, edit: RegisterEdit, areas: MicrogridAreas, placement: Placement,
                   outlines_given: bool) -> tuple[_Cells, list[dict]]:
    """The cells of each named micro-grid and their households: its locked cells as
    they are (:func:`~geogrid.partition.locked_cells.fill_locked`), its previous free
    cells kept where they still respect every rule (:func:`~geogrid.partition.recut.keep_previous`),
    else redrawn around their households with as few moved as the cap asks
    (:func:`~geogrid.partition.recut.repair`), else its free land cut afresh (:func:`~geogrid.partition.recut.recut`); and the
    locked cells' ``locked_cell_full`` notes."""
    hh, place, pts_m, pc, cap = edit.hh, edit.place, edit.pts_m, run.pc, run.cap
    out = _Cells(new_cells=[], locked_rows=set(), exact_rows=set(), cell_of_row={})
    diags: list[dict] = []
    for k, m in enumerate(placement.ids):
        M = areas.new_mg[m]
        rows = place[placement.loc == k]
        # in an order of their own, as partition() takes a village's households
        rows = rows[canonical_order(
            pts_m[rows], _codes(hh[BUILDING].iloc[rows].to_numpy()) if BUILDING in hh.columns else None,
            _codes(hh[HAMLET].iloc[rows].to_numpy()) if HAMLET in hh.columns else None)]
        prev_cells = pc[pc[MICROGRID_ID] == m]
        cell_geom = dict(zip(prev_cells[CELL_ID], _to_metric(prev_cells.geometry, run.metric)))
        lk = [c for c in prev_cells[CELL_ID] if c in run.locked]
        assigned: dict[str, np.ndarray] = {}
        region, cut_pts = M, pts_m  # the free land, and the points it is cut by
        if lk:
            assigned, rows, region, cut_pts, notes = fill_locked(M, rows, lk, cell_geom, placement.member,
                                                                 placement.at_prev, edit.prev_cell, pts_m, hh, cap,
                                                                 run.mg_village[m])
            diags += notes
            # a locked cell is kept as it is, empty too: the planner is told to unlock it
            diags += [locked_cell_empty(run.mg_village[m], c, m) for c in lk if not len(assigned[c])]
            out.new_cells += [(c, m, cell_geom[c]) for c in lk]
            out.locked_rows.update(lk)
        free_prev = [c for c in prev_cells[CELL_ID] if c not in run.locked]
        # fewer households than before: no more cells than the minimum plus one
        n_now = len(rows) + sum(len(v) for v in assigned.values())
        most = -(-n_now // cap) + 1 if n_now < run.mg_households[m] else None
        kept = keep_previous(region, rows, cut_pts, free_prev, cell_geom, cap, hh,
                             None if most is None else most - len(lk))
        if kept is not None and m in areas.unchanged and not lk:
            out.exact_rows.update(c for c, _, _ in kept)  # same cells on the same outline
        if kept is None and (most is None or len(free_prev) <= most - len(lk)):
            kept = repair(region, rows, cut_pts, hh, cap, free_prev, edit.prev_cell, m, set(prev_cells[CELL_ID]))
        if kept is None:
            parts = None
            if lk and (not free_prev or len(explode(region)) > len(explode(M))):
                # the locked cells part the free land (a locked cell across the
                # micro-grid, or at an edge beyond which an outline edit added land):
                # each piece is cut on its own, so that no free cell is in two pieces
                parts = free_pieces(region, rows, cut_pts, lk, m, outlines_given)
            kept = recut(region, rows, cut_pts, hh, cap, free_prev, edit.prev_cell, m,
                         set(prev_cells[CELL_ID]), parts)
        for c, poly, members in kept:
            assigned[c] = members
            out.new_cells.append((c, m, poly))
        for c, members in assigned.items():
            for r in members:
                out.cell_of_row[int(r)] = c
    return out, diags


def _assemble(run: _Rerun, previous, edit: RegisterEdit, areas: MicrogridAreas, placement: Placement,
              resolved: _Cells, diags: list[dict], dropped: dict) -> PartitionResult:
    """The plan after the re-run: the households with their micro-grid and cell (the
    kept ones as before), the cells and micro-grids (those not named as they were, with
    their counts following), and the report."""
    keep, crs, metric, pc, pm = edit.keep, run.crs, run.metric, run.pc, run.pm
    new_cells, cell_of_row, ids = resolved.new_cells, resolved.cell_of_row, placement.ids
    out = edit.hh.copy(deep=False)  # in the plan's CRS, as its kept cells are
    mg_col = np.where(keep, edit.prev_mg, None).astype(object)
    cell_col = np.where(keep, edit.prev_cell, None).astype(object)
    cell_to_mg = {c: m for c, m, _ in new_cells}
    pc_mg = dict(zip(pc[CELL_ID].tolist(), pc[MICROGRID_ID].tolist()))  # (not a pass over arrow strings)
    cell_to_mg.update((c, pc_mg[c]) for c in placement.joined.values())
    for r, c in cell_of_row.items():
        cell_col[r] = c
        mg_col[r] = cell_to_mg[c]
    # object columns, as partition() returns them: no string inference on 80k rows, and
    # the next repartition reads them back without a conversion
    out[MICROGRID_ID] = pd.Series(mg_col, index=out.index, dtype=object)
    out[CELL_ID] = pd.Series(cell_col, index=out.index, dtype=object)
    # households per cell and micro-grid: the kept ones by their previous keys, the
    # placed ones by their new cells (no cell of one is a cell of the other)
    kept_at = edit.pos_prev[keep]
    counts = _counted(edit.pc_key[kept_at], edit.pc_ids, cell_of_row.values())
    nc = gpd.GeoDataFrame(
        {CELL_ID: [c for c, _, _ in new_cells], MICROGRID_ID: [m for _, m, _ in new_cells],
         VILLAGE_CODE: [run.mg_village[m] for _, m, _ in new_cells],
         HOUSEHOLDS: [int(counts.get(c, 0)) for c, _, _ in new_cells]},
        geometry=gpd.GeoSeries(reproject_valid(drop_micro_edges([g for _, _, g in new_cells]), metric, crs),
                               crs=crs), crs=crs)
    # locked and kept cells keep their exact geometry, not a round trip through metres
    if resolved.locked_rows or resolved.exact_rows:
        orig = pc.set_index(CELL_ID).geometry
        is_l = nc[CELL_ID].isin(resolved.locked_rows | resolved.exact_rows).to_numpy()
        nc.loc[is_l, "geometry"] = orig.reindex(nc.loc[is_l, CELL_ID]).to_numpy()
    cells = pd.concat([pc[~pc[MICROGRID_ID].isin(run.named)], nc], ignore_index=True)
    cells = cells.sort_values(CELL_ID, kind="stable").reset_index(drop=True)
    # untouched cells keep their geometry; their counts change only if households left
    stale = ~cells[MICROGRID_ID].isin(run.named)
    if stale.any():  # none where every micro-grid of the plan is re-solved
        cells.loc[stale, HOUSEHOLDS] = np.array([counts.get(c, 0) for c in cells.loc[stale, CELL_ID].tolist()],
                                                dtype=np.int64)
    mg_counts = _counted(edit.pm_key[kept_at], edit.pm_ids, (cell_to_mg[c] for c in cell_of_row.values()))
    new_mg = areas.new_mg
    nm = gpd.GeoDataFrame(
        {MICROGRID_ID: ids, VILLAGE_CODE: [run.mg_village[m] for m in ids],
         HOUSEHOLDS: [int(mg_counts.get(m, 0)) for m in ids],
         AREA_KM2: [new_mg[m].area / 1e6 for m in ids]},
        geometry=gpd.GeoSeries(reproject_valid(drop_micro_edges([new_mg[m] for m in ids]), metric, crs), crs=crs),
        crs=crs)
    if areas.unchanged:
        orig_m = pm.set_index(MICROGRID_ID).geometry
        is_u = nm[MICROGRID_ID].isin(areas.unchanged).to_numpy()
        nm.loc[is_u, "geometry"] = orig_m.reindex(nm.loc[is_u, MICROGRID_ID]).to_numpy()
        nm.loc[is_u, AREA_KM2] = pm.set_index(MICROGRID_ID)[AREA_KM2].reindex(
            nm.loc[is_u, MICROGRID_ID]).to_numpy()
    mgs = pd.concat([pm[~pm[MICROGRID_ID].isin(run.named)], nm], ignore_index=True)
    mgs = mgs.sort_values(MICROGRID_ID, kind="stable").reset_index(drop=True)
    mgs[HOUSEHOLDS] = np.array([mg_counts.get(m, 0) for m in mgs[MICROGRID_ID].tolist()], dtype=int)
    mgs = gpd.GeoDataFrame(mgs, geometry="geometry", crs=crs)
    cells = gpd.GeoDataFrame(cells, geometry="geometry", crs=crs)
    figures, fresh = _figures(run, previous, out, cells, mgs, nc, counts, new_cells, ids)
    notes, rechecked = _notes_after(run, previous, edit, areas, placement, mg_col, cell_col, pc_mg)
    report = _report(run, previous, edit, areas, figures, fresh, mg_col, diags + notes, rechecked, dropped)
    return PartitionResult(households=out, microgrids=mgs, cells=cells, report=report)


def _figures(run, previous, out, cells, mgs, nc, counts, new_cells, ids) -> tuple[dict, set]:
    """The report's figures: the previous plan's, with those of the whole plan counted
    afresh (:func:`~geogrid.partition.edit_report.figures_now`, whose names come second)
    and the re-run's own."""
    resolved = nc[HOUSEHOLDS].to_numpy()
    figures = dict(previous.report.get("figures", {}))
    fresh = figures_now(cells, mgs, run.params)
    figures.update(fresh)
    figures.update({
        "households": int(len(out)),
        "households_assigned": int(sum(counts.values())),
        "resolved_microgrids": len(ids),
        "resolved_cells": int(len(nc)),
        "resolved_cells_polsby_popper_median": float(np.nanmedian(polsby_popper(
            np.array([g for _, _, g in new_cells], dtype=object)))) if new_cells else float("nan"),
        "resolved_cells_mean_households": float(resolved.mean()) if len(resolved) else float("nan"),
    })
    return figures, set(fresh)


def _notes_after(run, previous, edit: RegisterEdit, areas, placement, mg_col, cell_col,
                 pc_mg) -> tuple[list[dict], set]:
    """The notes judged on the plan as it stands after the re-run: buildings and
    hamlets the placed households split, isolation around every household added, moved
    or removed, land where no one lives, and kept cells households joined over the cap;
    and the households whose isolation was judged afresh."""
    hh, place, pts_m, crs, metric, mg_village = edit.hh, edit.place, edit.pts_m, run.crs, run.metric, run.mg_village
    had, at_same_point, pos_prev, pm = edit.had, edit.at_same_point, edit.pos_prev, run.pm
    diags: list[dict] = []
    if len(place):
        diags += building_splits(hh, place, cell_col, mg_col, mg_village, pts_m, transformer(crs, metric))
    if HAMLET in hh.columns and len(place):
        diags += hamlet_splits(hh, place, cell_col, mg_col, mg_village, pts_m, transformer(crs, metric), run.cap)
    # isolation judged afresh around every household added, moved or removed
    new_rows = place[~had[place] | ~at_same_point[place]]
    old_rows = np.r_[np.flatnonzero(edit.gone()), pos_prev[place[had[place] & ~at_same_point[place]]]]

    def rows_within(x0, y0, x1, y1):
        # the households now in a cell that may lie in the box: the kept ones of the
        # previous micro-grids whose bounds meet it (a household lies in its
        # micro-grid), and the placed ones; no pass over every household's point
        pm_box = shapely.bounds(pm.geometry.to_numpy())
        placed_in = place[pd.notna(mg_col[place])]
        hit = (pm_box[:, 0] <= x1) & (pm_box[:, 2] >= x0) & (pm_box[:, 1] <= y1) & (pm_box[:, 3] >= y0)
        key_hit = np.append(np.isin(edit.pm_ids[:-1], pm[MICROGRID_ID].to_numpy()[hit]), False)
        kept_rows = np.flatnonzero(edit.keep)
        return np.union1d(kept_rows[key_hit[edit.pm_key[pos_prev[kept_rows]]]], placed_in)

    rechecked, lonely = isolation(hh, rows_within, mg_col, mg_village, new_rows,
                                  edit.prev_h.geometry.to_numpy()[old_rows], pts_m, transformer(crs, metric))
    diags += lonely
    diags += _bare_land(areas.vpoly, hh, mg_col, mg_village, crs, metric)
    # cells of micro-grids not re-run that households joined, or over the cap before
    full = set(placement.joined.values()) | {c for d in previous.diagnostics if d["kind"] in MADE_AFRESH
                                             for c in d.get("cells") or [] if c in pc_mg and pc_mg[c] not in run.named}
    diags += kept_cells_full(full, hh, cell_col, pc_mg, {c: mg_village[pc_mg[c]] for c in full}, run.cap)
    return diags, rechecked


def _report(run, previous, edit: RegisterEdit, areas, figures, fresh, mg_col, diags, rechecked,
            dropped: dict) -> dict:
    """The re-run's report: its figures, the previous plan's diagnostics that still hold
    (:func:`~geogrid.partition.edit_report.carried`) then its own, its parameters, and
    what it re-solved (``microgrids_dropped``: each named micro-grid with no households
    that handed its land over -> the one that took it)."""
    hh, place = edit.hh, edit.place
    removed = edit.prev_h.index[edit.gone()]
    changed = set(removed.tolist()) | set(hh.index[place].tolist())
    # an isolated household re-solved where it was is as isolated as before
    lonely_gone = set(removed.tolist()) | set(hh.index[place[pd.isna(mg_col[place])]].tolist())
    return {
        "figures": figures,
        "diagnostics": carried(previous.diagnostics, changed, set(areas.by_village) if areas.vpoly else set(),
                               rechecked, lonely_gone, rerun=set(run.named)) + diags,
        "parameters": run.params,
        "repartition": {"microgrids": run.named, "locked_cells": sorted(run.locked),
                        "microgrids_dropped": {m: dropped[m] for m in sorted(dropped, key=str)},
                        # figures that need every cell's shape or every household's
                        # point: as the previous report gave them
                        "figures_carried": sorted(k for k in figures if k not in fresh and k not in (
                            "households", "households_assigned") and not k.startswith("resolved_")),
                        "households_placed": int(len(place)), "households_removed": int(len(removed))},
    }


def _counted(kept_keys: np.ndarray, ids: np.ndarray, placed) -> dict:
    """Households per id: the kept ones by their keys into ``ids`` (``_keys``), and
    ``placed``, the ids of the placed ones; only ids with a household.  A dict: a
    Series with an index of 4,000 ids cost 2 ms a call to build."""
    n = np.bincount(kept_keys[kept_keys >= 0], minlength=len(ids) - 1)
    has = np.flatnonzero(n)
    counts = dict(zip(ids[has].tolist(), n[has].tolist()))
    for c in placed:
        counts[c] = counts.get(c, 0) + 1
    return counts
