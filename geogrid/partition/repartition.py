"""``repartition()``: re-solve a few micro-grids after an edit, leave the rest alone."""

from __future__ import annotations

from typing import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from geogrid.columns import AREA_KM2, BUILDING, CELL_ID, HAMLET, HOUSEHOLDS, MICROGRID_ID, VILLAGE_CODE
from geogrid.crs import crs_of, transformer
from geogrid.errors import InputError
from geogrid.partition.edit_report import (MADE_AFRESH, MOVED_M, at_kept_addresses, building_splits, carried,
                                          crossing, figures_now, hamlet_splits, isolation, kept_cells_full)
from geogrid.partition.inputs import (BAD_POINT, INPUT_PROBLEMS, NO_POINT, SHARED_ADDRESS, _codes, nowhere_points,
                                     outline_metric, point_xy)
from geogrid.partition.outline_edit import (SAME_M2, SPECK_M2, _area_moved, _bare_land, _cells_in_pieces,
                                             _drop_specks, _follow_outline, _in_pieces, _locked_geoms,
                                             _locked_inside, _overlaps_near, _resplit, _stranded, _to_metric,
                                             no_land)
from geogrid.partition.pieces import clean, drop_micro_edges, explode, on_grid, reproject_valid
from geogrid.partition.result import PartitionResult, diagnostic
from geogrid.partition.solve import _check_index
from geogrid.partition.units import canonical_order, make_units
from geogrid.partition.validate import POINT_TOL_M
from geogrid.partition.notes import report_units
from geogrid.partition.village import _locate
from geogrid.partition.recut import free_pieces, keep_previous, recut
from geogrid.partition.locked_cells import fill_locked, locked_members, pin_members
from geogrid.partition.report import polsby_popper

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
    any new outline) if they still respect every rule; otherwise the micro-grid is
    cut afresh and the new cells take the ids of the previous cells they share most
    households with, so households keep their cell where possible.

    Households added or moved outside the named micro-grids are not placed; the
    diagnostics say which micro-grid to name.
    """
    params = dict(previous.report.get("parameters", {}))
    if "metric_crs" not in params:
        raise InputError("previous is not a result of geogrid.partition.partition()")
    cap = params["max_households"]
    metric = crs_of(params["metric_crs"])
    named = list(dict.fromkeys(microgrids))
    locked = set(locked_cells)
    pm = previous.microgrids
    pc = previous.cells
    unknown = [m for m in named if m not in set(pm[MICROGRID_ID].tolist())]
    if unknown:
        raise InputError(f"no micro-grid {', '.join(unknown)} in the previous plan; "
                         "use ids from result.microgrids")
    bad_lock = [c for c in locked if c not in set(pc.loc[pc[MICROGRID_ID].isin(named), CELL_ID])]
    if bad_lock:
        raise InputError(f"locked cells {', '.join(sorted(bad_lock))} are not in the named "
                         "micro-grids; only cells of micro-grids being re-solved can be locked")
    if households.crs is None:
        raise InputError("the households have no coordinate system; set one with set_crs")
    _check_index(households)
    crs = pyproj.CRS.from_user_input(previous.cells.crs)
    hh = households if households.crs == crs else households.to_crs(crs)
    prev_h = previous.households
    diags: list[dict] = []

    # --- which households need placing --------------------------------------------------
    if hh.index.equals(prev_h.index):
        pos_prev = np.arange(len(hh))
    else:
        pos_prev = prev_h.index.get_indexer(hh.index)  # -1: a new household
    had = pos_prev >= 0
    same_pt = np.zeros(len(hh), bool)
    # exactly the same point as before (a missing geometry never is): one GEOS call
    # over the county, five times faster than comparing extracted coordinates
    same_pt[had] = shapely.equals_exact(hh.geometry.to_numpy()[had],
                                        prev_h.geometry.to_numpy()[pos_prev[had]], tolerance=0)
    # the previous micro-grid and cell of each household, as ids (None for none) and as
    # integer keys into the plan's distinct ids, which count the kept households below
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
    moved_village = np.zeros(len(hh), bool)  # registered in another village than before
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
        same_pt &= ~moved_village
    keep = same_pt & ~in_named & (prev_mg != None)  # noqa: E711
    # households left out for an input problem (no village, outside their village's
    # outline), at the same point and village, with no outline given: still out, and
    # their note stands (placed, they went into whichever named micro-grid they lay in)
    out_before = {h for d in previous.diagnostics if d["kind"] in INPUT_PROBLEMS
                  for h in d["households"]}
    stay_out = np.zeros(len(hh), bool)
    # an address another village keeps (shared_address) stays out whatever outlines are
    # given: it is the register that says so (placed, it split the address)
    out_anyway = {h for d in previous.diagnostics if d["kind"] in ("shared_address", "bad_point")
                  for h in d["households"]}
    if out_before and (villages is None or out_anyway):
        stay_out = same_pt & (prev_mg == None) & hh.index.isin(  # noqa: E711
            list(out_before if villages is None else out_anyway))
    place = np.flatnonzero(~keep & ~stay_out)

    mg_village = dict(zip(pm[MICROGRID_ID].tolist(), pm[VILLAGE_CODE].tolist()))
    mg_households = dict(zip(pm[MICROGRID_ID].tolist(), pm[HOUSEHOLDS].tolist()))
    # only the villages being edited are brought into metres
    touched_v = {mg_village[m] for m in named}
    sib = pm[pm[VILLAGE_CODE].isin(touched_v)]
    mg_geom_m = dict(zip(sib[MICROGRID_ID], _to_metric(sib.geometry, metric)))
    named_geom = {m: mg_geom_m[m] for m in named}

    # the households to place, in metres (the named micro-grids' new areas depend on where
    # they live: see lived_in)
    pts_m = np.full((len(hh), 2), np.nan)
    nowhere = np.zeros(len(place), bool)  # coordinates that are no place, as partition() judges
    if len(place):
        xy = point_xy(hh.geometry.to_numpy()[place])
        ok = ~np.isnan(xy[:, 0]) & ~np.isnan(xy[:, 1])
        nowhere = nowhere_points(xy, crs, ok)
        ok &= ~nowhere
        x, y = transformer(crs, metric).transform(xy[ok, 0], xy[ok, 1])
        pts_m[place[ok]] = np.column_stack([x, y])
    live = pts_m[place][~np.isnan(pts_m[place, 0])] if len(place) else np.zeros((0, 2))

    def lived_in(g) -> bool:
        return bool(len(live)) and bool(shapely.contains_xy(g, live[:, 0], live[:, 1]).any())

    # --- the area each named micro-grid covers now ----------------------------------------
    new_mg: dict[str, object] = {}
    unchanged: set[str] = set()  # outline as before: keep the caller's exact geometry
    by_village: dict[str, list[str]] = {}
    for m in named:
        by_village.setdefault(mg_village[m], []).append(m)
    vpoly = {}
    if villages is not None:
        v = villages[villages[VILLAGE_CODE].astype(str).isin(by_village)]
        # repaired in the caller's CRS before it is densified (a bow-tie kept one lobe)
        vm = v.set_geometry(outline_metric(v.geometry, metric))
        for code, g in zip(vm[VILLAGE_CODE].astype(str), vm.geometry):
            if g is None:
                continue  # no outline (a village whose outline was derived): its micro-grids' own
            vpoly[code] = shapely.union_all([vpoly[code], g]) if code in vpoly else g
    flat = sorted(c for c, g in vpoly.items() if g.area < SPECK_M2)
    if flat:
        raise InputError(
            f"the outline given for village(s) {', '.join(flat)} has no area (a line, a point or a "
            "sliver); give village outlines as polygons, or leave the village out of the "
            "outlines (or give it no geometry) to keep its micro-grids' own",
            errors=[{"type": "outline_has_no_area", "params": {"village": c}} for c in flat])
    for code, ms in by_village.items():
        if code in vpoly:
            others = pm[(pm[VILLAGE_CODE] == code) & ~pm[MICROGRID_ID].isin(ms)]
            rest = shapely.union_all([mg_geom_m[o] for o in others[MICROGRID_ID]])
            region = shapely.difference(vpoly[code], rest) if not rest.is_empty else vpoly[code]
            region = _drop_specks(on_grid(region), vpoly[code], live)
            region, note = _stranded(code, region, ms, named_geom,
                                     {o: mg_geom_m[o] for o in others[MICROGRID_ID]})
            diags += note
        else:
            region = None
        if region is None or shapely.symmetric_difference(
                region, shapely.union_all([named_geom[m] for m in ms])).area < SAME_M2 * len(ms):
            # no border of the village moved (beyond the round trip's float noise, which
            # can leave a hair-thin spike where two borders meet at a shallow angle):
            # each named micro-grid keeps the caller's exact outline, however many of
            # one village are named, so that households keep their cells
            for m in ms:
                new_mg[m] = clean(named_geom[m])
                unchanged.add(m)
        elif no_land(region):
            # nothing to cover: the named micro-grids would be specks or slivers with empty cells
            raise InputError(
                f"the new outline of village {code} leaves micro-grid(s) {', '.join(ms)} no land "
                "(all of it lies outside the new outline, under the village's other "
                "micro-grids or beside them only); name them together with the micro-grids of "
                "the village next to them, so that they are cut afresh to cover the new outline, "
                "or run partition again for the village",
                errors=[{"type": "outline_leaves_no_land", "params": {"village": code, "microgrids": list(ms)}}])
        elif len(ms) == 1:
            new_mg[ms[0]] = clean(region)
        else:
            # the outline moved: each named micro-grid follows it, and only where one
            # would be left with no land are they cut afresh
            follow = _follow_outline(region, ms, named_geom)
            # cut afresh where following would leave one no land, or, of one where people
            # live, only land where no one does (its households went with a strip of it)
            followed = not any(no_land(g) or (lived_in(named_geom[m]) and not lived_in(g))
                               for m, g in follow.items())
            new_mg.update(follow if followed else _resplit(region, ms, named_geom, cap, live))
        if region is not None:
            diags += _in_pieces(code, ms, new_mg, vpoly[code])
            diags += _area_moved(code, ms, new_mg, named_geom)
            _locked_inside(code, ms, new_mg, _locked_geoms(pc, ms, locked, metric))

    if vpoly:
        diags += crossing(pm, named, vpoly, mg_village, metric, crs)
        diags += _overlaps_near(villages, vpoly, metric)

    # --- place households: into the named micro-grids by location -------------------------
    ids = list(new_mg)
    loc = _locate(pts_m[place], [new_mg[m] for m in ids], np.full(len(place), -1)) if len(place) else np.zeros(0, int)
    # a locked cell's members stay in it, wherever they lie (see locked_cells)
    member, at_prev = locked_members(hh, prev_h, pos_prev, place, prev_cell, moved_village, locked, pc, pts_m, metric)
    loc = pin_members(loc, place, member, pc, ids)
    no_point = (np.isnan(pts_m[place, 0]) & ~nowhere) if len(place) else np.zeros(0, bool)
    if VILLAGE_CODE in hh.columns and len(place):
        # a household registered in another village than the micro-grid it lies in is
        # left out, as partition() leaves it (its point or its code is wrong)
        code = _codes(hh[VILLAGE_CODE].iloc[place])
        there = np.array([mg_village[ids[k]] if k >= 0 else None for k in loc], dtype=object)
        astray = (loc >= 0) & pd.notna(code) & (code != there.astype(str))
        if astray.any():
            diags.append({**diagnostic("outside_village", None, [], OUTSIDE_VILLAGE.format(n=int(astray.sum()))),
                          "households": hh.index[place[astray]].tolist()})
            loc = np.where(astray, -2, loc)
    joined: dict[int, str] = {}  # household -> the kept cell of a micro-grid not re-run it joins
    if len(place):
        # at the address of a household of another village kept outside the named
        # micro-grids (a house on their border): left out, as partition() leaves it
        there = np.array([mg_village[ids[k]] if k >= 0 else None for k in loc], dtype=object)
        holds = place[member[place] != None]  # noqa: E711  (locked cells' members)
        shared, joins = at_kept_addresses(hh, place, there, pts_m, keep, prev_mg, prev_cell, mg_village, pm,
                                          named, metric, crs, also=(holds, member[holds]))
        shared &= loc >= 0
        if shared.any():
            diags.append({**diagnostic("shared_address", None, [], SHARED_ADDRESS.format(n=int(shared.sum()))),
                          "households": hh.index[place[shared]].tolist()})
            loc = np.where(shared, -2, loc)
        # a household added or moved to the address of one of its village kept in its cell
        # (a house on the border of a micro-grid not re-run, a locked cell's member
        # outside it) joins that cell, over the cap too: the address cannot be split
        joins[~((loc >= 0) & (member[place] == None) & _arrived(  # noqa: E711
            prev_h, pos_prev, place, prev_cell, moved_village, pts_m, crs, metric))] = None
        mg_of_cell = dict(zip(pc[CELL_ID], pc[MICROGRID_ID]))
        k_of = {m: k for k, m in enumerate(ids)}
        for j in np.flatnonzero(pd.notna(joins)):
            if joins[j] in locked:
                member[place[j]] = joins[j]
                loc[j] = k_of[mg_of_cell[joins[j]]]
            else:
                joined[int(place[j])] = joins[j]
                loc[j] = JOINED
    lost = place[(loc == -1) & ~no_point & ~nowhere]
    if no_point.any():
        diags.append({**diagnostic("no_point", None, [], NO_POINT.format(n=int(no_point.sum()))),
                      "households": hh.index[place[no_point]].tolist()})
    if nowhere.any():
        diags.append({**diagnostic("bad_point", None, [], BAD_POINT.format(n=int(nowhere.sum()))),
                      "households": hh.index[place[nowhere]].tolist()})
    if len(lost):
        # outside every micro-grid of the plan (and every outline given): no micro-grid
        # to name, as partition() would say
        # or in a micro-grid of another village than the one they are registered in:
        # no micro-grid to name for them either
        # (the named micro-grids as they are now: a household an outline edit left
        # outside its village lies in none of them)
        lying = _lying_in(pts_m[lost], pm, metric, list(vpoly.values()), new_mg)
        nowhere = lying == ""
        astray = np.zeros(len(lost), bool)
        if VILLAGE_CODE in hh.columns:
            code = _codes(hh[VILLAGE_CODE].iloc[lost])
            astray = pd.notna(code) & ~nowhere & pd.notna(lying) & (code != lying.astype(str))
            # outside the outline given again for the village it is registered in: where
            # it lies in no village at all, only if the edit took its land (it lies in a
            # named micro-grid's old land); one far from every village is told so instead
            def _old_land(c, r):
                return any(shapely.intersects_xy(named_geom[m], *pts_m[r]) for m in by_village.get(c, []))

            cut = np.array([c in vpoly and not shapely.intersects_xy(vpoly[c], *pts_m[r])
                            and (not far or _old_land(c, r))
                            for c, r, far in zip(code, lost, nowhere)], dtype=bool) & ~astray
            if cut.any():
                diags.append({**diagnostic("outside_village", None, [], OUTSIDE_OUTLINE.format(n=int(cut.sum()))),
                              "households": hh.index[lost[cut]].tolist()})
                nowhere &= ~cut
                lost = lost[~cut]
                nowhere, astray = nowhere[~cut], astray[~cut]
        for mask, text in ((nowhere, OUTSIDE_PLAN), (astray, OUTSIDE_VILLAGE)):
            if mask.any():
                diags.append({**diagnostic("outside_village", None, [], text.format(n=int(mask.sum()))),
                              "households": hh.index[lost[mask]].tolist()})
        lost = lost[~nowhere & ~astray]
    if len(lost):
        diags.append({
            "kind": "not_repartitioned", "village_code": None,
            "households": hh.index[lost].tolist(),
            "message": f"{len(lost)} household(s) were added or moved outside the micro-grids "
            "being re-solved (or left them) and are not in any cell; re-solve the micro-grid "
            "they now lie in as well",
        })

    # a named micro-grid whose outline moved and that holds no household now, though it
    # held some: the edit left it only land where no one lives (a strip, a bare island)
    held = np.bincount(loc[loc >= 0], minlength=len(ids)) if len(place) else np.zeros(len(ids), int)
    # (households the planner removed leave an empty micro-grid, as with the outline kept)
    bare = [m for k, m in enumerate(ids) if not held[k] and m not in unchanged and lived_in(named_geom[m])]
    if bare:
        raise InputError(
            f"the new outline of village {mg_village[bare[0]]} leaves micro-grid(s) {', '.join(bare)} "
            f"none of their households, only land where no one lives "
            f"({sum(new_mg[m].area for m in bare) / 1e6:.3f} km²), which would be an empty cell; "
            "name them together with the micro-grids of the village next to them, so that they "
            "are cut afresh to cover the new outline, or run partition again for the village",
            errors=[{"type": "outline_leaves_no_households",
                     "params": {"village": mg_village[bare[0]], "microgrids": bare}}])

    # the placed households' own diagnostics, as partition() gives them: a building over
    # the cap, a building key in places far apart (a mistyped coordinate: a building
    # per place) or spread out
    if len(place):
        placed = place[loc >= 0]
        village_of = np.array([mg_village[ids[k]] for k in loc[loc >= 0]], dtype=object)
        for code in sorted(set(village_of)):
            rows = placed[village_of == code]
            building = _codes(hh[BUILDING].iloc[rows].to_numpy()) if BUILDING in hh.columns else None
            for d in report_units(code, pts_m[rows], building, make_units(pts_m[rows], building), cap):
                d["households"] = hh.index[rows[d["households"]]].tolist()
                diags.append(d)

    # --- cells of each re-solved micro-grid ------------------------------------------------
    new_cells = []  # (cell_id, mg_id, polygon metric)
    locked_rows: set[str] = set()
    exact_rows: set[str] = set()  # cells kept as they were: the caller's exact geometry
    cell_of_row: dict[int, str] = {}
    for k, m in enumerate(ids):
        M = new_mg[m]
        rows = place[loc == k]
        # in an order of their own, as partition() takes a village's households
        rows = rows[canonical_order(
            pts_m[rows], _codes(hh[BUILDING].iloc[rows].to_numpy()) if BUILDING in hh.columns else None,
            _codes(hh[HAMLET].iloc[rows].to_numpy()) if HAMLET in hh.columns else None)]
        prev_cells = pc[pc[MICROGRID_ID] == m]
        cell_geom = dict(zip(prev_cells[CELL_ID], _to_metric(prev_cells.geometry, metric)))
        lk = [c for c in prev_cells[CELL_ID] if c in locked]
        assigned: dict[str, np.ndarray] = {}
        region, cut_pts = M, pts_m  # the free land, and the points it is cut by
        if lk:
            assigned, rows, region, cut_pts, notes = fill_locked(M, rows, lk, cell_geom, member, at_prev, prev_cell,
                                                                 pts_m, hh, cap, mg_village[m])
            diags += notes
            new_cells += [(c, m, cell_geom[c]) for c in lk]
            locked_rows.update(lk)
        free_prev = [c for c in prev_cells[CELL_ID] if c not in locked]
        # fewer households than before: no more cells than the minimum plus one
        n_now = len(rows) + sum(len(v) for v in assigned.values())
        most = -(-n_now // cap) + 1 if n_now < mg_households[m] else None
        kept = keep_previous(region, rows, cut_pts, free_prev, cell_geom, cap, hh,
                              None if most is None else most - len(lk))
        if kept is not None and m in unchanged and not lk:
            exact_rows.update(c for c, _, _ in kept)  # same cells on the same outline
        if kept is None:
            parts = None
            if lk and (not free_prev or len(explode(region)) > len(explode(M))):
                # the locked cells part the free land (a locked cell across the
                # micro-grid, or at an edge beyond which an outline edit added land):
                # each piece is cut on its own, so that no free cell is in two pieces
                parts = free_pieces(region, rows, cut_pts, lk, m, villages is not None)
            kept = recut(region, rows, cut_pts, hh, cap, free_prev, prev_cell, m,
                            set(prev_cells[CELL_ID]), parts)
        for c, poly, members in kept:
            assigned[c] = members
            new_cells.append((c, m, poly))
        for c, members in assigned.items():
            for r in members:
                cell_of_row[int(r)] = c

    diags = _cells_in_pieces(diags, new_cells, vpoly)
    cell_of_row.update(joined)

    # --- assemble -------------------------------------------------------------------------
    out = hh.copy(deep=False)  # in the plan's CRS, as its kept cells are
    mg_col = np.where(keep, prev_mg, None).astype(object)
    cell_col = np.where(keep, prev_cell, None).astype(object)
    cell_to_mg = {c: m for c, m, _ in new_cells}
    pc_mg = dict(zip(pc[CELL_ID], pc[MICROGRID_ID]))
    cell_to_mg.update((c, pc_mg[c]) for c in joined.values())
    for r, c in cell_of_row.items():
        cell_col[r] = c
        mg_col[r] = cell_to_mg[c]
    # object columns, as partition() returns them: no string inference on 80k rows, and
    # the next repartition reads them back without a conversion
    out[MICROGRID_ID] = pd.Series(mg_col, index=out.index, dtype=object)
    out[CELL_ID] = pd.Series(cell_col, index=out.index, dtype=object)
    # households per cell and micro-grid: the kept ones by their previous keys, the
    # placed ones by their new cells (no cell of one is a cell of the other)
    kept_at = pos_prev[keep]
    counts = _counted(pc_key[kept_at], pc_ids, cell_of_row.values())
    nc = gpd.GeoDataFrame(
        {CELL_ID: [c for c, _, _ in new_cells], MICROGRID_ID: [m for _, m, _ in new_cells],
         VILLAGE_CODE: [mg_village[m] for _, m, _ in new_cells],
         HOUSEHOLDS: [int(counts.get(c, 0)) for c, _, _ in new_cells]},
        geometry=gpd.GeoSeries(reproject_valid(drop_micro_edges([g for _, _, g in new_cells]), metric, crs),
                               crs=crs), crs=crs)
    # locked and kept cells keep their exact geometry, not a round trip through metres
    if locked_rows or exact_rows:
        orig = pc.set_index(CELL_ID).geometry
        is_l = nc[CELL_ID].isin(locked_rows | exact_rows).to_numpy()
        nc.loc[is_l, "geometry"] = orig.reindex(nc.loc[is_l, CELL_ID]).to_numpy()
    cells = pd.concat([pc[~pc[MICROGRID_ID].isin(named)], nc], ignore_index=True)
    cells = cells.sort_values(CELL_ID, kind="stable").reset_index(drop=True)
    # untouched cells keep their geometry; their counts change only if households left
    stale = ~cells[MICROGRID_ID].isin(named)
    if stale.any():  # none where every micro-grid of the plan is re-solved
        cells.loc[stale, HOUSEHOLDS] = np.array([counts.get(c, 0) for c in cells.loc[stale, CELL_ID].tolist()],
                                                dtype=np.int64)
    mg_counts = _counted(pm_key[kept_at], pm_ids, (cell_to_mg[c] for c in cell_of_row.values()))
    nm = gpd.GeoDataFrame(
        {MICROGRID_ID: ids, VILLAGE_CODE: [mg_village[m] for m in ids],
         HOUSEHOLDS: [int(mg_counts.get(m, 0)) for m in ids],
         AREA_KM2: [new_mg[m].area / 1e6 for m in ids]},
        geometry=gpd.GeoSeries(reproject_valid(drop_micro_edges([new_mg[m] for m in ids]), metric, crs), crs=crs),
        crs=crs)
    if unchanged:
        orig_m = pm.set_index(MICROGRID_ID).geometry
        is_u = nm[MICROGRID_ID].isin(unchanged).to_numpy()
        nm.loc[is_u, "geometry"] = orig_m.reindex(nm.loc[is_u, MICROGRID_ID]).to_numpy()
        nm.loc[is_u, AREA_KM2] = pm.set_index(MICROGRID_ID)[AREA_KM2].reindex(
            nm.loc[is_u, MICROGRID_ID]).to_numpy()
    mgs = pd.concat([pm[~pm[MICROGRID_ID].isin(named)], nm], ignore_index=True)
    mgs = mgs.sort_values(MICROGRID_ID, kind="stable").reset_index(drop=True)
    mgs[HOUSEHOLDS] = np.array([mg_counts.get(m, 0) for m in mgs[MICROGRID_ID].tolist()], dtype=int)
    mgs = gpd.GeoDataFrame(mgs, geometry="geometry", crs=crs)
    cells = gpd.GeoDataFrame(cells, geometry="geometry", crs=crs)
    gone = np.ones(len(prev_h), bool)
    gone[pos_prev[had]] = False
    removed = prev_h.index[gone]
    resolved = nc[HOUSEHOLDS].to_numpy()
    figures = dict(previous.report.get("figures", {}))
    fresh = figures_now(cells, mgs, params)
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
    if len(place):
        diags += building_splits(hh, place, cell_col, mg_col, mg_village, pts_m, transformer(crs, metric))
    if HAMLET in hh.columns and len(place):
        diags += hamlet_splits(hh, place, cell_col, mg_col, mg_village, pts_m, transformer(crs, metric), cap)
    # isolation judged afresh around every household added, moved or removed
    new_rows = place[~had[place] | ~at_same_point[place]]
    old_rows = np.r_[np.flatnonzero(gone), pos_prev[place[had[place] & ~at_same_point[place]]]]
    def rows_within(x0, y0, x1, y1):
        # the households now in a cell that may lie in the box: the kept ones of the
        # previous micro-grids whose bounds meet it (a household lies in its
        # micro-grid), and the placed ones; no pass over every household's point
        pm_box = shapely.bounds(pm.geometry.to_numpy())
        placed_in = place[pd.notna(mg_col[place])]
        hit = (pm_box[:, 0] <= x1) & (pm_box[:, 2] >= x0) & (pm_box[:, 1] <= y1) & (pm_box[:, 3] >= y0)
        key_hit = np.append(np.isin(pm_ids[:-1], pm[MICROGRID_ID].to_numpy()[hit]), False)
        kept_rows = np.flatnonzero(keep)
        return np.union1d(kept_rows[key_hit[pm_key[pos_prev[kept_rows]]]], placed_in)

    rechecked, lonely = isolation(hh, rows_within, mg_col, mg_village, new_rows, prev_h.geometry.to_numpy()[old_rows],
                                  pts_m, transformer(crs, metric))
    diags += lonely
    diags += _bare_land(vpoly, hh, mg_col, mg_village, crs, metric)
    # cells of micro-grids not re-run that households joined, or over the cap before
    full = set(joined.values()) | {c for d in previous.diagnostics if d["kind"] in MADE_AFRESH
                                   for c in d.get("cells") or [] if c in pc_mg and pc_mg[c] not in named}
    diags += kept_cells_full(full, hh, cell_col, pc_mg, {c: mg_village[m] for c, m in pc_mg.items()}, cap)
    changed = set(removed.tolist()) | set(hh.index[place].tolist())
    # an isolated household re-solved where it was is as isolated as before
    lonely_gone = set(removed.tolist()) | set(hh.index[place[pd.isna(mg_col[place])]].tolist())
    report = {
        "figures": figures,
        "diagnostics": carried(previous.diagnostics, changed, set(by_village) if vpoly else set(),
                               rechecked, lonely_gone) + diags,
        "parameters": params,
        "repartition": {"microgrids": named, "locked_cells": sorted(locked),
                        # figures that need every cell's shape or every household's
                        # point: as the previous report gave them
                        "figures_carried": sorted(k for k in figures if k not in fresh and k not in (
                            "households", "households_assigned") and not k.startswith("resolved_")),
                        "households_placed": int(len(place)), "households_removed": int(len(removed))},
    }
    return PartitionResult(households=out, microgrids=mgs, cells=cells, report=report)


OUTSIDE_VILLAGE = ("{n} household(s) lie in a micro-grid of another village than the one they "
                   "are registered in and are not in any cell; correct their point or their "
                   "village code")
OUTSIDE_OUTLINE = ("{n} household(s) lie outside the outline given for the village they are "
                   "registered in and are not in any cell; correct their point or their village "
                   "code, or the outline")
OUTSIDE_PLAN = ("{n} household(s) lie outside every village of the plan and are not in any "
                "cell; correct their point, or extend their village's outline and re-solve "
                "its micro-grids with it")


def _lying_in(pts, pm, metric, outlines, now=None) -> np.ndarray:
    """The village of the plan's micro-grid each point (metres) lies in (those of
    ``now``, micro-grid id -> polygon in metres, as they are now); None for one in none
    of them but in one of the ``outlines`` given (metres), "" for one in neither."""
    mg = np.asarray(_to_metric(pm.geometry, metric), dtype=object)
    if now:
        ids = pm[MICROGRID_ID].to_numpy()
        mg = np.array([now.get(m, g) for m, g in zip(ids, mg)], dtype=object)
    geoms = np.r_[mg, np.asarray(outlines, dtype=object)]
    hit, which = shapely.STRtree(geoms).query(shapely.points(pts), predicate="intersects")
    out = np.full(len(pts), "", dtype=object)
    out[hit] = None
    mg = which < len(pm)
    out[hit[mg]] = pm[VILLAGE_CODE].to_numpy()[which[mg]]
    return out


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


#: ``loc`` of a household that joins a kept cell of a micro-grid not re-run
JOINED = -3


def _arrived(prev_h, pos_prev, place, prev_cell, moved_village, pts_m, crs, metric) -> np.ndarray:
    """Of the households to ``place`` (rows), those added or moved: new to the register
    or to a cell, of another village than before, or more than :data:`MOVED_M` from their
    previous point (one whose previous plan gives none has not moved: nothing says it
    did, as :func:`~geogrid.partition.locked_cells.locked_members` judges)."""
    out = (pos_prev[place] < 0) | moved_village[place] | (prev_cell[place] == None)  # noqa: E711
    rows = place[~out]
    before = point_xy(prev_h.geometry.to_numpy()[pos_prev[rows]])
    bx, by = transformer(prev_h.crs or crs, metric).transform(before[:, 0], before[:, 1])
    out[~out] = np.hypot(pts_m[rows, 0] - bx, pts_m[rows, 1] - by) > MOVED_M  # NaN: False
    return out


def _keys(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer keys of an id column and its distinct ids, with one more id, None, at
    the end for a missing one (key -1 picks it)."""
    key, ids = pd.factorize(col, use_na_sentinel=True)
    return key, np.append(np.asarray(ids, dtype=object), None)


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
