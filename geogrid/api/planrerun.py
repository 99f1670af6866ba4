"""Re-run the partition for chosen micro-grids of a stored draft plan.

Wraps :func:`geogrid.partition.repartition` (imported lazily: the API starts without
the partition engine).  Micro-grids not named keep their ids, geometry and
assignments exactly; inside the named ones, the engine's new cells replace the old
(locked cells are passed as ``locked_cells`` and come back unchanged), and a cell
whose key comes back keeps its id.

The previous plan handed to the engine is the stored plan with each household at the
point it had when it was assigned (kept with its assignment: when the plan was drawn,
a planner moved it by hand, or a re-run placed it; :func:`_previous_points`), so the
engine sees exactly what moved since: a household whose register point is another
moved house (into a locked cell too, which then takes it in; a move within its cell
counts), and one at the same point outside its cell is a planner's hand move, kept
(out of a locked cell, or into a micro-grid not re-run).  An assignment made before
plans kept points, whose household lay outside its cell then (migration 0005), keeps
none: it is handed over as before, with no point where the register's lies outside
its cell.  Each assignment a re-run writes keeps the register's point it placed the
household by.  A household the engine puts in a kept cell of a micro-grid not re-run
(added, or moved house, to the address of one of its households: an address is never
split between cells) is written there, and that cell counted again.  A re-run that would leave a
household of the named micro-grids in no cell (it lies in a micro-grid not named, or
outside its village) is refused, naming the households and where they lie (in the
message, and structured in the error's ``errors``); the engine's other notes come back
with the result, each with its kind and structured fields (see :func:`_note`).  The
notes that follow assignments (buildings, small hamlets, full locked and kept cells)
are then made afresh for every village the re-run touched, as a hand edit does
(:func:`geogrid.api.editnotes.follow_assignments`): the engine judges only what it
re-solved, and a building of a micro-grid it kept, that a household moved out of,
would otherwise keep no note until the next hand edit there.  The plan keeps the time
the re-run read the register for the micro-grids it names, not for their villages' others
(:func:`geogrid.db.planregister.mark_read`).  A re-run
the engine itself refuses (:class:`~geogrid.errors.InputError`: a village's new outline
that leaves a named micro-grid no land, ``outline_leaves_no_land``, or none of its
households, ``outline_leaves_no_households``, or that has no area,
``outline_has_no_area``) reaches the client with the engine's structured ``errors``
(type; params: village, micro-grids) as they are, each given the message as ``reason``.

A named micro-grid left with no households (all taken out of the register, or moved
away) that the engine drops, its land handed to a neighbour re-run with it
(``microgrid_dropped``), goes from the plan with its cells; the answer's
``microgrids_dropped`` maps each such key to the one that took its land.  One kept
empty has the engine's ``empty_microgrid`` note naming the neighbours to re-run it
with.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update

from geogrid import columns as C
from geogrid.api.editnotes import follow_assignments
from geogrid.db.bulk import lon_lat
from geogrid.db.models import Assignment, Cell, Microgrid, Plan, new_id
from geogrid.db.plannotes import as_diagnostics, read_notes, replace_notes
from geogrid.db.planregister import mark_read, read_now
from geogrid.db.plans import recount
from geogrid.errors import InputError, PartitionError

__all__ = ["rerun"]


def _ewkb(geom, postgis=None):
    """EWKT of a (multi)polygon; GeoAlchemy2 binds it on both back-ends."""
    import shapely

    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    return f"SRID=4326;{geom.wkt}"


def rerun(session, plan: Plan, microgrids: list[Microgrid]) -> dict:
    try:
        from geogrid.partition import repartition
    except ImportError as exc:  # the engine is another issue's work
        raise PartitionError(f"the partition engine is not available ({exc}); install geogrid "
                             "with geogrid.partition to re-run micro-grids",
                             key="plan.engine_missing") from None
    from geogrid.db.areas import villages_frame
    from geogrid.db.households import households_frame
    from geogrid.db.plans import load_plan

    from geogrid.crs import local_metric_crs
    from geogrid.partition.result import PartitionResult
    from geogrid.partition.solve import PLAN_PARAMETERS

    keys = [m.microgrid_key for m in microgrids]
    village_codes = sorted({m.village_code for m in microgrids if m.village_code})
    read_at = read_now()  # before the register is read: a change made meanwhile is reported
    # only those villages: reading a county's whole plan made a re-run of one micro-grid
    # of the sample county take 1.16 s (SpatiaLite), now 0.34 s
    frames = load_plan(session, plan.id, village_codes)
    # the villages of the named micro-grids are the whole problem: other villages are
    # independent in the engine, so neither side needs them
    prev_mg = frames.microgrids[frames.microgrids[C.VILLAGE_CODE].isin(village_codes)]
    prev_cells = frames.cells[frames.cells[C.MICROGRID_ID].isin(set(prev_mg[C.MICROGRID_ID]))]
    prev_hh = frames.households[frames.households[C.MICROGRID_ID].isin(set(prev_mg[C.MICROGRID_ID]))]
    prev_hh = _previous_points(prev_hh.set_index(C.HOUSEHOLD_ID), prev_cells)
    households = households_frame(session, village_codes=village_codes).set_index(C.HOUSEHOLD_ID)
    # the plan's households there that the register gives another village or none (a
    # household with no code, placed by its point): the engine must see them too, or
    # it takes them for removed and the re-run leaves them in no cell
    others = sorted(set(prev_hh.index) - set(households.index))
    if others:
        import pandas as pd

        households = pd.concat([households, households_frame(session, ids=others).set_index(C.HOUSEHOLD_ID)])
    villages = villages_frame(session)
    villages = villages[villages[C.VILLAGE_CODE].isin(village_codes)]
    locked = prev_cells.loc[prev_cells["locked"].astype(bool) & prev_cells[C.MICROGRID_ID].isin(keys),
                            C.CELL_ID].tolist() if len(prev_cells) else []
    c = prev_mg.geometry.union_all().centroid
    params = dict(PLAN_PARAMETERS)
    params.update({k: v for k, v in (plan.params or {}).items() if k in params})
    params["metric_crs"] = local_metric_crs(c.x, c.y).to_string()
    # the plan's stored notes on these villages: the engine carries those that still
    # hold (an isolated household that did not move is as isolated as it was)
    named_here = set(map(str, prev_hh.index)) | set(map(str, households.index))
    stored = [n for n in read_notes(session, plan.id)
              if n.village_code in village_codes or set(map(str, n.households or [])) & named_here
              or set(map(str, (n.detail or {}).get("villages") or [])) & set(village_codes)]
    previous = PartitionResult(households=prev_hh, microgrids=prev_mg, cells=prev_cells,
                               report={"parameters": params, "diagnostics": as_diagnostics(stored)})
    try:
        result = repartition(previous, households, villages if len(villages) else None,
                             microgrids=keys, locked_cells=locked)
    except InputError as exc:
        _with_reason(exc)
        raise
    _refuse_losses(prev_hh, result, keys, lambda: load_plan(session, plan.id).microgrids)
    mg_ids = {m.microgrid_key: m.id for m in microgrids}
    # a named micro-grid left with no households handed its land to a neighbour re-run
    # with it: its row goes, with its cells (below: their keys do not come back)
    dropped = {str(k): str(v) for k, v in result.report.get("repartition", {}).get("microgrids_dropped", {}).items()}
    postgis = None
    new_mg = result.microgrids[result.microgrids[C.MICROGRID_ID].isin(keys)].to_crs(4326)
    for r in new_mg.itertuples():
        session.execute(update(Microgrid).where(Microgrid.id == mg_ids[r.microgrid_id]).values(
            geom=_ewkb(r.geometry, postgis), households=int(getattr(r, "households", 0)),
            area_km2=float(getattr(r, "area_km2", 0) or 0)), execution_options={"synchronize_session": False})
    old_cells = select(Cell.id).where(Cell.plan_id == plan.id, Cell.microgrid_id.in_(list(mg_ids.values())))
    session.execute(delete(Assignment).where(Assignment.plan_id == plan.id,
                                             Assignment.cell_id.in_(old_cells)),
                    execution_options={"synchronize_session": False})
    # a cell whose key comes back keeps its id (a lock, a link, a client's reference);
    # the others go, and new keys get new ids
    old_ids = dict(zip(prev_cells.loc[prev_cells[C.MICROGRID_ID].isin(keys), C.CELL_ID],
                       prev_cells.loc[prev_cells[C.MICROGRID_ID].isin(keys), "id"]))
    cells = result.cells[result.cells[C.MICROGRID_ID].isin(keys)].to_crs(4326)
    gone = sorted(set(old_ids) - set(cells[C.CELL_ID]))
    if gone:
        session.execute(delete(Cell).where(Cell.plan_id == plan.id, Cell.id.in_([old_ids[k] for k in gone])),
                        execution_options={"synchronize_session": False})
    cell_ids = {}
    locked_set = set(locked)
    for r in cells.itertuples():
        values = dict(microgrid_id=mg_ids[r.microgrid_id], village_code=getattr(r, "village_code", None),
                      households=int(getattr(r, "households", 0)), locked=r.cell_id in locked_set,
                      geom=_ewkb(r.geometry, postgis))
        if r.cell_id in old_ids:
            cell_ids[r.cell_id] = old_ids[r.cell_id]
            session.execute(update(Cell).where(Cell.id == old_ids[r.cell_id]).values(**values),
                            execution_options={"synchronize_session": False})
        else:
            cell_ids[r.cell_id] = new_id()
            session.add(Cell(id=cell_ids[r.cell_id], plan_id=plan.id, cell_key=r.cell_id, **values))
    if dropped:
        session.execute(delete(Microgrid).where(Microgrid.id.in_([mg_ids[k] for k in dropped])),
                        execution_options={"synchronize_session": False})
    session.flush()
    # the households of the named micro-grids, and those the engine put in a kept cell of
    # a micro-grid not re-run (added or moved house to the address of one of its
    # households: an address is never split), which keeps its id and polygon
    joining, joined = _joined(result, prev_hh, prev_cells, keys)
    n_cells = len(cell_ids)
    cell_ids.update(joined)
    hh = result.households[result.households[C.MICROGRID_ID].isin(keys).to_numpy() | joining]
    # each keeps the point it was placed by: the register's, as handed to the engine
    lon, lat = lon_lat(hh)
    rows = [(plan.id, str(hid), cell_ids[cell], x, y)
            for hid, cell, x, y in zip(hh.index, hh[C.CELL_ID], lon, lat) if cell in cell_ids]
    # households that moved in from elsewhere lose their old assignment first, and
    # the cells (and micro-grids) they leave are counted again
    moved_in = [r[1] for r in rows]
    left = []
    if moved_in:
        left = session.execute(select(Assignment.cell_id).where(
            Assignment.plan_id == plan.id, Assignment.household_id.in_(moved_in)).distinct()).scalars().all()
        session.execute(delete(Assignment).where(Assignment.plan_id == plan.id,
                                                 Assignment.household_id.in_(moved_in)),
                        execution_options={"synchronize_session": False})
    if rows:
        session.execute(insert(Assignment), [{"plan_id": p, "household_id": h, "cell_id": c, "lon": x, "lat": y}
                                             for p, h, c, x, y in rows])
    if left or joined:
        recount(session, [*left, *joined.values()])
    # the plan's stored notes about what was re-solved give way to the re-run's own
    named = set(hh.index)
    mine = _about(result, named)
    replace_notes(session, plan.id, keys, named | set(prev_hh.index[prev_hh[C.MICROGRID_ID].isin(keys)]),
                  mine, {h: h for h in result.households.index})
    # and the notes that follow assignments, village-wide, as a hand edit brings them up
    # to date: the engine judges only what it re-solved, so a building of a micro-grid
    # it kept that a household moved out of (here or from another village) kept no note
    follow_assignments(session, plan, villages=village_codes, cell_ids=left)
    # the named micro-grids are of the register as read now (GET notes says what changed
    # since); the village's others are not: they were not read again
    mark_read(session, plan, [m for m in microgrids if m.microgrid_key not in dropped], read_at)
    return {"microgrids": keys, "cells": n_cells, "households": len(rows),
            "microgrids_dropped": dropped, "notes": [_note(d, named) for d in mine]}


def _joined(result, prev_hh, prev_cells, keys):
    """The households the engine put in a kept cell of a micro-grid not re-run (added,
    or moved house, to the address of one of its households: the engine's
    ``kept_cell_full`` rule), as a mask of ``result.households``, and those cells (key
    -> id), which keep their ids and polygons."""
    hh = result.households
    kept = prev_cells[~prev_cells[C.MICROGRID_ID].isin(keys)]
    ids = dict(zip(kept[C.CELL_ID], kept["id"]))
    was = prev_hh[C.CELL_ID].reindex(hh.index)
    joining = (hh[C.CELL_ID].isin(list(ids)) & (hh[C.CELL_ID] != was)).to_numpy()
    return joining, {c: ids[c] for c in sorted(set(hh.loc[joining, C.CELL_ID]))}


def _with_reason(exc: InputError) -> None:
    """The engine's structured ``errors`` of a refusal, kept as they are (the API's error
    body passes them on), each with the message as its ``reason`` where it has none, as
    a refused re-run's ``rerun_leaves_households`` has it."""
    errors = getattr(exc, "errors", None)
    if isinstance(errors, list):
        exc.errors = [{**e, "reason": e.get("reason", str(exc))} if isinstance(e, dict) else e
                      for e in errors]


def _previous_points(prev_hh, prev_cells):
    """The plan's households (``load_plan``'s, by id) at the point each had when it was
    assigned, as the engine's previous plan; a row that kept none is read by
    :func:`_moved_as_such`, as every row was before plans kept points."""
    import geopandas as gpd
    import numpy as np
    import shapely

    lon = prev_hh[C.ASSIGNED_LON].to_numpy(dtype=float, na_value=np.nan)
    lat = prev_hh[C.ASSIGNED_LAT].to_numpy(dtype=float, na_value=np.nan)
    kept = ~(np.isnan(lon) | np.isnan(lat))
    pts = prev_hh.geometry.to_numpy().copy()
    pts[kept] = shapely.points(lon[kept], lat[kept])
    if not kept.all():
        pts[~kept] = _moved_as_such(prev_hh[~kept], prev_cells).geometry.to_numpy()
    out = prev_hh.drop(columns=[C.ASSIGNED_LON, C.ASSIGNED_LAT])
    return out.set_geometry(gpd.GeoSeries(pts, index=out.index, crs=prev_hh.crs))


def _moved_as_such(prev_hh, prev_cells):
    """The plan's households that kept no point of their own (assigned before plans
    kept them, outside their cell then: migration 0005) as they were handed to the
    engine before: the register's point where it lies in their cell's polygon, else
    none, which the engine takes as moved in a micro-grid it re-runs (and placed by
    the register's point), and as at its previous point by a locked cell (a member
    moved in by hand stays; one whose point lies in a locked cell it is not of was
    taken out by hand: see :mod:`geogrid.partition.locked_cells`)."""
    import numpy as np
    import shapely

    if not len(prev_hh):
        return prev_hh
    cg = prev_cells.set_index(C.CELL_ID).geometry
    own = cg.reindex(prev_hh[C.CELL_ID]).to_numpy()
    pts = prev_hh.geometry.to_numpy()
    has = ~(shapely.is_missing(own) | shapely.is_missing(pts))
    outside = np.zeros(len(prev_hh), bool)
    outside[has] = ~shapely.intersects(own[has], pts[has])
    if not outside.any():
        return prev_hh
    prev_hh = prev_hh.copy()
    prev_hh.loc[outside, "geometry"] = None
    return prev_hh


def _refuse_losses(prev_hh, result, keys, all_mg) -> None:
    """Refuses a re-run that leaves households of the named micro-grids in no cell: their
    assignments would go with the old cells.  The message names them and where they
    lie (a micro-grid to re-run with these, or none: outside the plan; ``all_mg()``
    gives the plan's micro-grids, read only then)."""
    import shapely

    was = prev_hh.index[prev_hh[C.MICROGRID_ID].isin(keys)]
    now = result.households[C.CELL_ID].reindex(was)
    lost = was[now.isna().to_numpy()]
    if not len(lost):
        return
    pts = result.households.geometry.reindex(lost).to_crs(4326).to_numpy()
    mgs = all_mg().to_crs(4326)
    found = {}
    ok = ~shapely.is_missing(pts)
    if ok.any():
        pi, gi = shapely.STRtree(mgs.geometry.to_numpy()).query(pts[ok], predicate="intersects")
        for p, g in zip(pi, gi):
            found.setdefault(lost[ok][p], mgs[C.MICROGRID_ID].iloc[g])
    where = sorted({found[h] for h in lost if h in found} - set(keys))
    shown = ", ".join(map(str, lost[:10])) + (f" and {len(lost) - 10} more" if len(lost) > 10 else "")
    lost_set = set(lost)
    notes = [d for d in result.diagnostics if set(d.get("households") or []) & lost_set]
    why = sorted({d["message"] for d in notes})
    nowhere = len(lost) - sum(h in found for h in lost)
    exc = InputError(
        f"re-running {', '.join(keys)} would leave {len(lost)} household(s) in no cell ({shown})"
        + (f"; they lie in micro-grid(s) {', '.join(where)}: re-run those as well" if where else "")
        + (f"; {nowhere} lie in no micro-grid of the plan" if nowhere else "")
        + ", or move them back. Nothing was changed." + (" The engine says: " + " ".join(why) if why else ""))
    # the same, structured, for a client to say it in its user's language (the error
    # body's "errors"): the numbers and ids of the message, and the engine's notes on
    # those households as in a re-run's answer (counting the households left out)
    seen, engine = set(), []
    for d in notes:
        if d["message"] not in seen:
            seen.add(d["message"])
            engine.append(_note(d, lost_set))
    exc.errors = [{"type": "rerun_leaves_households", "reason": str(exc), "params": {
        "microgrids": list(keys), "n": int(len(lost)), "households": [str(h) for h in lost[:10]],
        "more": max(0, int(len(lost)) - 10), "lie_in": where, "nowhere": int(nowhere),
        "notes": sorted(engine, key=lambda n: n["message"])}}]
    exc.key = "plan.rerun_leaves_households"
    exc.params = {k: v for k, v in exc.errors[0]["params"].items() if k != "notes"}
    raise exc


def _about(result, named: set) -> list[dict]:
    """The engine's diagnostics about the re-run: those naming its households
    (``named``), or naming micro-grids and no household."""
    out = []
    for d in result.diagnostics:
        hs = set(d.get("households") or [])
        if hs & named or (d.get("microgrids") and not hs):
            out.append(d)
    return out


#: the structured fields of an engine diagnostic a note passes on as they are: the ids
#: of villages, micro-grids and cells it names (keys, as the plan's objects carry them)
#: and ``params``, the numbers of its message (areas, pieces), where the engine gives them
NOTE_FIELDS = ("microgrids", "cells", "villages", "params")


def _plain(x):
    import numbers

    if isinstance(x, (str, bool)) or x is None:
        return x
    return int(x) if isinstance(x, numbers.Integral) else float(x)


def _note(d: dict, named: set) -> dict:
    """One engine diagnostic as an answer's note, without household ids (the households
    are read through the API, scoped and masked): its kind, its English message, the
    number of ``named`` households it names, its village and its :data:`NOTE_FIELDS`; a
    client words it in its user's language from those (by kind), else shows the message."""
    code = d.get("village_code")
    note = {"kind": d["kind"], "message": d["message"],
            "households": len(set(d.get("households") or []) & named),
            "village_code": None if code is None else str(code)}
    for k in NOTE_FIELDS:
        v = d.get(k)
        if v is None:
            continue
        # plain JSON values (the engine's may be numpy scalars)
        note[k] = ({p: _plain(x) for p, x in v.items()} if k == "params" else [str(x) for x in v])
    return note
