"""What a repartition's report says: which of the previous plan's diagnostics still
hold after an edit, and those made afresh for what it re-solved (the hamlets it split,
the micro-grids an edited outline now cuts).  Pure, like the rest of the engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from geogrid.columns import AREA_KM2, BUILDING, HAMLET, HOUSEHOLDS, MICROGRID_ID, VILLAGE_CODE
from geogrid.crs import reproject, transformer
from geogrid.partition.assignment_notes import kept_cell_full
from geogrid.partition.inputs import ISOLATED_M, _codes, isolated_notes
from geogrid.partition.points import point_xy
from geogrid.partition.report import plan_figures
from geogrid.partition.units import address_keys, make_units
from geogrid.partition.notes import split_buildings, split_hamlets

__all__ = ["REDONE", "MADE_AFRESH", "ABOUT_NAMED", "MOVED_M", "CROSS_M2", "carried", "at_kept_addresses",
           "kept_cells_full",
           "building_splits", "hamlet_splits", "crossing", "isolation", "figures_now"]


#: diagnostics that a repartition makes afresh for the households it places (those in
#: the re-solved micro-grids, added or moved): a previous one that names any of them,
#: or a removed household, is dropped whole, as it tells of a building, a hamlet or a
#: cell that may have changed
REDONE = frozenset({"building_split", "hamlet_split", "not_repartitioned", "locked_cell_full",
                    "oversize_building", "spread_building"})


#: diagnostics that every repartition makes afresh for what they are about, whoever
#: they name: a previous one is never carried (a cell's ``kept_cell_full`` note holds
#: while the cell is over the cap, whichever of its households changed)
MADE_AFRESH = frozenset({"kept_cell_full"})


#: notes about named micro-grids as a re-run leaves them (their land, their locked
#: cells): a previous one naming a micro-grid re-run again is made afresh, never carried
ABOUT_NAMED = frozenset({"empty_microgrid", "microgrid_dropped", "locked_cell_empty"})


#: a household whose point moved by less than this (m) has not moved: a round trip
#: through another CRS, or a CSV of six decimals (0.1 m)
MOVED_M = 1.0


#: notes about villages' outlines, made afresh for each village whose outline is given
#: again (see carried)
RECHECKED_WITH_OUTLINES = frozenset({"outline_crosses_microgrids", "microgrid_in_pieces",
                                     "microgrid_area_changed", "villages_overlap", "outline_adds_land",
                                     "uninhabited_land"})


def carried(previous: list[dict], changed: set, recrossed: set, rechecked: set = frozenset(),
            lonely_gone: set | None = None, rerun: set = frozenset()) -> list[dict]:
    """The previous plan's diagnostics that still hold: those of households kept as
    they were, not ``changed`` (removed, or placed by this repartition).  One of the
    :data:`REDONE` kinds naming a changed household is dropped (this repartition's own
    replace it); one of another kind (an input's: no point, no village, isolated) keeps
    only its kept households, and is dropped with none left.  A village's
    note of :data:`RECHECKED_WITH_OUTLINES` goes when its village's outline was given
    again (``recrossed``: it is checked afresh).  An ``isolated`` note also loses the households whose
    isolation was judged afresh (``rechecked``: see :func:`isolation`); where
    ``lonely_gone`` is given, it loses those and these only (the households removed or
    left in no cell), not every household of a re-solved micro-grid: isolation is about
    a household's point and its neighbours', which re-solving does not change.  The
    :data:`MADE_AFRESH` kinds are never carried, nor one of the :data:`ABOUT_NAMED`
    kinds naming a micro-grid re-run now (``rerun``)."""
    out = []
    for d in previous:
        if d["kind"] in MADE_AFRESH:
            continue
        if d["kind"] in ABOUT_NAMED and set(d.get("microgrids") or []) & set(rerun):
            continue
        if d["kind"] in RECHECKED_WITH_OUTLINES and (d.get("village_code") in recrossed
                                                     or set(d.get("villages") or []) & recrossed):
            continue
        named = d.get("households") or []
        if not named:
            out.append(d)
            continue
        if d["kind"] == "isolated" and lonely_gone is not None:
            gone = set(lonely_gone) | set(rechecked)
        else:
            gone = changed | rechecked if d["kind"] == "isolated" and rechecked else changed
        still = [h for h in named if h not in gone]
        if len(still) == len(named):
            out.append(d)
        elif still and d["kind"] not in REDONE:
            out.append({**d, "households": still})
    return out


def at_kept_addresses(hh, rows, village, pts_m, kept_in, prev_mg, prev_cell, mg_village, pm, named, metric, crs,
                      also=None) -> tuple[np.ndarray, np.ndarray]:
    """What the households kept in their cells hold at the addresses (the same
    centimetre, as units are made) of the households at ``rows`` being placed (in
    villages ``village``, their points in metres in ``pts_m``).

    A household kept in a micro-grid not re-solved cannot move, so its address stays
    where it is, and one address is never split across cells:

    - ``shared``: the household is at the address of a household of another village
      kept so (a house on the villages' border).  partition() leaves out the
      households of the village that does not keep such an address
      (``shared_address``); so does a repartition.
    - ``cell``: the cell of a household of its own village kept at its address (a
      house on the border of a re-solved micro-grid and a kept one, or one a planner
      moved by hand into another micro-grid's cell), or, through ``also``, of a locked
      cell's member (:mod:`~geogrid.partition.locked_cells`); None for none.  A
      household added or moved there joins that cell (:func:`kept_cells_full`).

    ``kept_in(microgrids)`` gives the households of ``hh`` kept in their cells there
    (rows), ``prev_mg`` and ``prev_cell`` are per household of ``hh`` (its previous
    micro-grid and cell), ``pm`` the plan's micro-grids (in ``crs``), ``named``
    those re-solved; ``also`` is ``(rows, cells)``: further households of ``hh`` (placed,
    their points in ``pts_m``) that keep the cells given."""
    shared = np.zeros(len(rows), bool)
    cell = np.full(len(rows), None, dtype=object)
    xy = pts_m[rows]
    ok = np.flatnonzero(~np.isnan(xy[:, 0]) & pd.notna(village))
    if not len(ok):
        return shared, cell
    cx, cy = transformer(metric, crs).transform(xy[ok, 0], xy[ok, 1])
    # the micro-grids at those points (about a centimetre of slack: a border's edges
    # bow by a fraction of a millimetre between the CRSs), and those of their own
    # villages (a household moved by hand into another micro-grid's cell keeps its point)
    _, gi = pm.sindex.query(shapely.points(cx, cy), predicate="dwithin",
                            distance=1e-7 if crs.is_geographic else 1e-2)
    own = pm[VILLAGE_CODE].isin(set(village[ok].tolist())).to_numpy()
    near = (set(pm[MICROGRID_ID].to_numpy()[gi].tolist()) | set(pm[MICROGRID_ID].to_numpy()[own].tolist())) - set(named)
    kept = kept_in(near) if near else np.zeros(0, int)
    kxy = point_xy(hh.geometry.to_numpy()[kept])
    kx, ky = transformer(crs, metric).transform(kxy[:, 0], kxy[:, 1])
    pts, villages, cells = np.column_stack([kx, ky]), [mg_village[m] for m in prev_mg[kept]], list(prev_cell[kept])
    if also is not None and len(also[0]):
        pts = np.vstack([pts, pts_m[also[0]]])
        villages += [mg_village[m] for m in prev_mg[also[0]]]
        cells += list(also[1])
    held: dict = {}  # address -> village -> its kept cells
    for key, v, c in zip(map(tuple, address_keys(pts)), villages, cells):
        if c is not None:
            held.setdefault(key, {}).setdefault(v, set()).add(c)
    for j, key in zip(ok, map(tuple, address_keys(xy[ok]))):
        there = held.get(key, {})
        shared[j] = bool(set(there) - {village[j]})
        if village[j] in there:
            cell[j] = min(there[village[j]])  # several (split before): one, whichever the order
    return shared, cell


def kept_cells_full(cells, hh, cell_col, mg_of_cell, cell_village, cap) -> list[dict]:
    """``kept_cell_full`` notes of the ``cells`` (of micro-grids not re-solved) that
    hold more than ``cap`` households now: households added or moved to the address of
    one of theirs joined them (:func:`at_kept_addresses`), as a locked cell takes in
    those added inside it.  Each names every household of its cell (``cell_col``, per
    household of ``hh``) and the micro-grid to re-run; made afresh by every repartition
    for the cells households joined and those named before (:data:`MADE_AFRESH`)."""
    out = []
    for c in sorted(cells, key=str):
        note = kept_cell_full(cell_village[c], c, mg_of_cell[c], hh.index[cell_col == c].tolist(), cap)
        if note is not None:
            out.append(note)
    return out


def _in_metres(hh, rows, pts_m, to_metric) -> np.ndarray:
    """The points of ``hh``'s households at ``rows`` in metres: the placed ones' from
    ``pts_m``, the kept ones' (NaN there) brought over by ``to_metric``."""
    pts = pts_m[rows].copy()
    far = np.flatnonzero(np.isnan(pts[:, 0]))
    if len(far):
        xy = shapely.get_coordinates(hh.geometry.to_numpy()[rows[far]])
        pts[far] = np.column_stack(to_metric.transform(xy[:, 0], xy[:, 1]))
    return pts


def building_splits(hh, place, cell_col, mg_col, mg_village, pts_m, to_metric) -> list[dict]:
    """``building_split`` diagnostics (:func:`~geogrid.partition.notes.split_buildings`)
    for the buildings with a household placed by this repartition, each as the plan now
    stands over its whole village, as partition() judges them: a unit (households
    joined by building keys and shared points) that a border between a re-solved
    micro-grid and a kept one (or between two re-solved ones) runs through is named.
    ``pts_m`` are the placed households' points in metres (NaN for the others), and
    ``to_metric`` brings the callers' coordinates there.

    The previous plan's note of such a unit names a placed household and is dropped
    (:func:`carried`); before, only the units split inside one re-solved micro-grid
    were named again, and check() found the others split (``building_not_split``),
    with nothing edited."""
    placed = place[pd.notna(cell_col[place])]
    if not len(placed):
        return []
    touched = {mg_village[m] for m in mg_col[placed]}
    ms = [m for m, v in mg_village.items() if v in touched]
    rows = np.flatnonzero(pd.Series(mg_col, dtype=object).isin(ms).to_numpy())
    pts = _in_metres(hh, rows, pts_m, to_metric)
    village = np.array([mg_village[m] for m in mg_col[rows]], dtype=object)
    building = _codes(hh[BUILDING].iloc[rows].to_numpy()) if BUILDING in hh.columns else None
    was_placed = np.isin(rows, placed)
    out = []
    for code in sorted(touched):
        mine = np.flatnonzero(village == code)
        b = None if building is None else building[mine]
        cell, _ = pd.factorize(pd.Series(cell_col[rows[mine]], dtype=object))
        for d in split_buildings(code, make_units(pts[mine], b), cell, pts[mine], b):
            if was_placed[mine[d["households"]]].any():
                d["households"] = hh.index[rows[mine[d["households"]]]].tolist()
                out.append(d)
    return out


def hamlet_splits(hh, place, cell_col, mg_col, mg_village, pts_m, to_metric, cap) -> list[dict]:
    """``hamlet_split`` diagnostics (:func:`~geogrid.partition.notes.split_hamlets`)
    for the hamlets with a household placed by this repartition, each as the plan now
    stands, among the placed households (whose houses a split hamlet's mingle with).
    ``pts_m`` are the placed households' points in metres (NaN for the others), and
    ``to_metric`` brings the callers' coordinates there."""
    placed = place[pd.notna(cell_col[place])]
    raw = hh[HAMLET].iloc[placed]
    names = raw[raw.notna()].unique()
    if not len(names):
        return []
    hit = np.flatnonzero(hh[HAMLET].isin(names).to_numpy())
    rows = np.union1d(hit[pd.notna(cell_col[hit])], placed)
    pts = _in_metres(hh, rows, pts_m, to_metric)
    village = np.array([mg_village[m] for m in mg_col[rows]], dtype=object)
    was_placed = np.isin(rows, placed)
    out = []
    for code in sorted(set(village[was_placed])):
        mine = np.flatnonzero(village == code)
        cell, _ = pd.factorize(pd.Series(cell_col[rows[mine]], dtype=object))
        cell_mg = np.zeros(cell.max() + 1, object)
        cell_mg[cell] = mg_col[rows[mine]]
        for d in split_hamlets(code, cell, pd.factorize(cell_mg)[0], pts[mine],
                               _codes(hh[HAMLET].iloc[rows[mine]].to_numpy()), cap):
            if was_placed[mine[d["households"]]].any():
                d["households"] = hh.index[rows[mine[d["households"]]]].tolist()
                out.append(d)
    return out


#: a micro-grid sticking out of its edited village, or into an edited one, by more
#: than this (m²) is reported
CROSS_M2 = 1.0


def crossing(pm, named, vpoly, mg_village, metric, crs) -> list[dict]:
    """Micro-grids not being re-solved that an edited outline now cuts: those of an
    edited village that stick out of its new outline, and those of other villages
    that reach into it.  They keep their geometry (only named micro-grids change), so
    the planner is told which to name as well."""
    rest = pm[~pm[MICROGRID_ID].isin(named)]
    if rest.empty:
        return []
    to_caller = transformer(metric, crs)
    out = []
    for code, poly in vpoly.items():
        probe = shapely.transform(poly, lambda xy: np.column_stack(to_caller.transform(xy[:, 0], xy[:, 1])))
        near = rest.iloc[rest.sindex.query(probe, predicate="intersects")]
        own = rest[rest[VILLAGE_CODE] == code]
        cand = pd.concat([near, own[~own.index.isin(near.index)]])
        if cand.empty:
            continue
        geoms = reproject(cand.geometry, metric).to_numpy()
        same = (cand[VILLAGE_CODE] == code).to_numpy()
        bad_area = np.where(same, shapely.area(shapely.difference(geoms, poly)),
                            shapely.area(shapely.intersection(geoms, poly)))
        bad = cand[MICROGRID_ID].to_numpy()[bad_area > CROSS_M2]
        if len(bad):
            ids = sorted(bad.tolist())
            out.append({
                "kind": "outline_crosses_microgrids", "village_code": code, "households": [],
                "microgrids": ids,
                "message": f"the edited outline of village {code} cuts micro-grid(s) "
                f"{', '.join(ids[:8])}{'…' if len(ids) > 8 else ''}, which were not re-solved and "
                "so kept their old shape; re-solve them together with the edited micro-grids",
            })
    return out


def isolation(hh, rows_within, mg_col, mg_village, new_rows, old_points, pts_m,
              to_metric) -> tuple[set, list[dict]]:
    """Which households' isolation an edit may have changed, and the ``isolated`` notes
    for them as the plan now stands (partition's test: no other household's point
    within :data:`~geogrid.partition.inputs.ISOLATED_M`, among those in a cell).

    ``rows_within(x0, y0, x1, y1)`` gives the rows of (at least) every household in a
    cell whose point lies in that box of the callers' CRS; ``mg_col`` is each
    household's micro-grid now (None: in no cell), ``mg_village``
    each micro-grid's village; ``new_rows`` are the rows of households at a new point
    (added or moved), whose metric points are in ``pts_m``; ``old_points`` the previous points (callers'
    coordinates, shapely) of households removed or moved.  Affected are the households at a new
    point and those within ``ISOLATED_M`` of a new or old point: a removal can leave a
    neighbour alone, an addition can keep one company.  Only the households within
    twice that distance of those points are brought into metres.  Returns the affected
    households' labels and the notes."""
    xy_new = pts_m[new_rows]
    xy_new = xy_new[~np.isnan(xy_new[:, 0])]
    if len(old_points):
        old = point_xy(old_points)
        ox, oy = to_metric.transform(old[:, 0], old[:, 1])
        xy_old = np.column_stack([ox, oy])
        xy_old = xy_old[np.isfinite(xy_old).all(axis=1)]
    else:
        xy_old = np.zeros((0, 2))
    probes = np.vstack([xy_new, xy_old])
    if not len(probes):
        return set(), []
    # the households within 2 * ISOLATED_M of a probe, found in the callers' CRS by
    # the bounds of a densified box around the probes' bounds, then in metres
    x0, y0 = probes.min(axis=0) - 2 * ISOLATED_M
    x1, y1 = probes.max(axis=0) + 2 * ISOLATED_M
    ring = shapely.get_coordinates(shapely.segmentize(shapely.box(x0, y0, x1, y1).exterior, 100.0))
    bx, by = to_metric.transform(ring[:, 0], ring[:, 1], direction="INVERSE")
    box = np.min(bx), np.min(by), np.max(bx), np.max(by)
    near = rows_within(*box)
    near = near[pd.notna(mg_col[near])]
    gx, gy = point_xy(hh.geometry.to_numpy()[near]).T
    inside = (gx >= box[0]) & (gx <= box[2]) & (gy >= box[1]) & (gy <= box[3])
    near, gx, gy = near[inside], gx[inside], gy[inside]
    mx, my = to_metric.transform(gx, gy)
    pts = np.column_stack([mx, my])
    ok = np.isfinite(pts).all(axis=1)
    near, pts = near[ok], pts[ok]
    if not len(near):
        return set(), []
    hit = np.isfinite(cKDTree(probes).query(pts, distance_upper_bound=ISOLATED_M)[0])
    affected = hit | np.isin(near, new_rows)
    village = np.array([mg_village[m] for m in mg_col[near]], dtype=object)
    notes = isolated_notes(pts, village, np.flatnonzero(affected))
    for d in notes:
        d["households"] = [hh.index[near[h]] for h in d["households"]]
    return set(hh.index[near[affected]].tolist()), notes


def figures_now(cells, mgs, params) -> dict:
    """:func:`~geogrid.partition.report.plan_figures` of the whole plan after the edit,
    from the frames' counts and the micro-grids' areas (a village's area is its
    micro-grids', which tile it)."""
    area = mgs[AREA_KM2].to_numpy(dtype=float) * 1e6 if AREA_KM2 in mgs.columns else np.full(len(mgs), np.nan)
    if np.isnan(area).any():  # a plan read without areas: measured in metres
        miss = np.isnan(area)
        area[miss] = shapely.area(reproject(mgs.geometry[miss], params["metric_crs"]).to_numpy())
    mg_village = mgs[VILLAGE_CODE].to_numpy(dtype=object)
    village_area = pd.Series(area).groupby(mg_village).sum().to_dict()
    cell_mg = pd.Index(mgs[MICROGRID_ID]).get_indexer(cells[MICROGRID_ID])
    keep = cell_mg >= 0
    return plan_figures(cell_households=cells[HOUSEHOLDS].to_numpy(dtype=int)[keep], cell_microgrid=cell_mg[keep],
                        mg_village=mg_village, mg_households=mgs[HOUSEHOLDS].to_numpy(dtype=int), mg_area=area,
                        village_area=village_area, cap=params["max_households"],
                        microgrid_km2=params.get("microgrid_km2"), min_microgrids=params.get("min_microgrids"),
                        max_microgrids=params.get("max_microgrids"))
