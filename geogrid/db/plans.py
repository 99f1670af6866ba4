"""Plans: partition versions with their micro-grids, cells and household assignments.

A published plan and any number of drafts coexist; :func:`publish` archives the
previous published plan of the county in the same transaction.  A plan's ``version``
is its ETag: every edit goes through :func:`bump_version`, a compare-and-swap that
raises :class:`~geogrid.errors.ConflictError` when someone else edited first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import geopandas as gpd
import numpy as np
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from geogrid import columns as C
from geogrid.db import bulk
from geogrid.db.engine import flush
from geogrid.db.models import Assignment, Cell, Household, Microgrid, Plan, new_id, new_ids, utcnow
from geogrid.db.plannotes import copy_notes, save_notes
from geogrid.errors import ColumnError, ConflictError, NotFoundError, ValidationError

__all__ = [
    "save_partition",
    "county_of_villages",
    "load_plan",
    "publish",
    "copy_plan",
    "bump_version",
    "recount",
    "get_plan",
    "list_plans",
    "PlanFrames",
    "SavedPartition",
]


@dataclass
class PlanFrames:
    """A stored plan, shaped like a partition result (keys as the engine's ids).

    ``households``: ``household_id, household_no, village_code, building, hamlet,
    microgrid_id, cell_id, assigned_lon, assigned_lat, geometry``: the geometry is the
    register's point now, ``assigned_lon``/``assigned_lat`` the one the household had
    when it was put in its cell (NaN for an assignment that keeps none: see
    :class:`~geogrid.db.models.Assignment`).  ``microgrids``: ``microgrid_id`` (key), ``id``
    (database id), ``village_code, households, area_km2, geometry``.  ``cells``:
    ``cell_id`` (key), ``id``, ``microgrid_id`` (key), ``village_code, households,
    locked, geometry``.  All in EPSG:4326.
    """

    plan: Plan
    households: gpd.GeoDataFrame
    microgrids: gpd.GeoDataFrame
    cells: gpd.GeoDataFrame


@dataclass
class SavedPartition:
    """What :func:`partition_register` made: the draft plan and the engine's result."""

    plan: Plan
    result: Any


def _require(frame, cols, what):
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ColumnError(f"partition result {what} lacks column(s) {', '.join(missing)}")


def county_of_villages(codes) -> str:
    for code in codes:
        code = bulk.clean(code)
        if isinstance(code, str) and len(code) >= 6 and code[:6].isdigit():
            return code[:6]
    return ""


def save_partition(session: Session, result, name: str, params: dict | None = None,
                   created_by: str | None = None, *, county_code: str | None = None,
                   status: str = "draft", parent_plan_id: str | None = None,
                   notes_recorded: bool | None = None, register_read_at: dict | None = None,
                   microgrids_read_at: dict | None = None) -> Plan:
    """Store a partition result as a new plan, in bulk, with the engine's notes.

    Parameters
    ----------
    result
        Anything with ``.microgrids`` (``microgrid_id, village_code, households,
        area_km2``, polygons), ``.cells`` (``cell_id, microgrid_id, village_code,
        households``, optional ``locked``, polygons) and ``.households`` (``microgrid_id``,
        ``cell_id`` and ``household_id``, or ``household_no`` to look ids up; their
        points).  The engine's string ids become ``microgrid_key`` and ``cell_key``; the
        database gives every micro-grid and cell a new random id.  Each assignment keeps
        the point its household was placed by (the households' geometry, in EPSG:4326;
        the register's point now where the households have no geometry column).  A
        :class:`PlanFrames` works too, and keeps the points its plan kept
        (``assigned_lon``/``assigned_lat``, none where it kept none).
    county_code
        Defaults to the first six digits of the village codes.
    notes_recorded
        Whether the plan keeps the engine's notes (``result.diagnostics``, stored in
        ``plan_notes``); by default, whether ``result`` has them (an engine's result
        does, a :class:`PlanFrames` does not: :func:`copy_plan` says what its source
        recorded).
    register_read_at
        When the plan read the register, by village (:mod:`geogrid.db.planregister`):
        given by a partition of the register and a copy; None (not known) otherwise.
    microgrids_read_at
        When a re-run of a micro-grid read it, by micro-grid key: given by a copy.

    Households with no cell are not assigned.  Returns the (flushed) :class:`Plan`.
    """
    mg, cells, hh = result.microgrids, result.cells, result.households
    _require(mg, [C.MICROGRID_ID], "microgrids")
    _require(cells, [C.CELL_ID, C.MICROGRID_ID], "cells")
    _require(hh, [C.CELL_ID], "households")
    if C.HOUSEHOLD_ID not in hh.columns and C.HOUSEHOLD_NO not in hh.columns:
        raise ColumnError("partition result households need household_id or household_no")
    if county_code is None:
        codes = mg[C.VILLAGE_CODE] if C.VILLAGE_CODE in mg.columns else []
        county_code = county_of_villages(codes)

    # an engine's result has notes, none or some; a stored plan's copy says what its
    # source recorded (``notes_recorded``)
    diagnostics = getattr(result, "diagnostics", None)
    if notes_recorded is None:
        notes_recorded = diagnostics is not None
    plan = Plan(id=new_id(), name=name, county_code=county_code, status=status,
                params=bulk.json_safe(params or {}), parent_plan_id=parent_plan_id,
                created_by=created_by, notes_recorded=bool(notes_recorded),
                register_read_at=register_read_at, microgrids_read_at=microgrids_read_at)
    if status == "published":
        _archive_published(session, county_code, exclude=plan.id,
                           villages=set(mg[C.VILLAGE_CODE]) if C.VILLAGE_CODE in mg.columns else set())
        plan.published_at = utcnow()
    session.add(plan)
    flush(session)
    postgis = bulk.is_postgis(session)

    mg_keys = [str(k) for k in mg[C.MICROGRID_ID].tolist()]
    if len(set(mg_keys)) != len(mg_keys):
        raise ValidationError("partition result has duplicate microgrid ids")
    mg_ids = dict(zip(mg_keys, new_ids(len(mg_keys))))
    mg_geoms = _polygons(mg)
    bulk.insert_rows(session, "microgrids", {
        "id": [mg_ids[k] for k in mg_keys], "plan_id": [plan.id] * len(mg_keys),
        "microgrid_key": mg_keys, "village_code": _texts(mg, C.VILLAGE_CODE),
        "households": _ints(mg, C.HOUSEHOLDS), "area_km2": _floats(mg, C.AREA_KM2),
        "geom": _wkb(mg_geoms, postgis)}, geom="geom")

    cell_keys = [str(k) for k in cells[C.CELL_ID].tolist()]
    if len(set(cell_keys)) != len(cell_keys):
        raise ValidationError("partition result has duplicate cell ids")
    parents = [str(k) for k in cells[C.MICROGRID_ID].tolist()]
    unknown = sorted({p for p in parents if p not in mg_ids})
    if unknown:
        raise ValidationError(f"cells name micro-grids that are not in the result: {unknown[:5]}")
    cell_ids = dict(zip(cell_keys, new_ids(len(cell_keys))))
    locked = ([bool(bulk.clean(v)) for v in cells["locked"].tolist()] if "locked" in cells.columns
              else [False] * len(cells))
    bulk.insert_rows(session, "cells", {
        "id": [cell_ids[k] for k in cell_keys], "plan_id": [plan.id] * len(cell_keys),
        "microgrid_id": [mg_ids[p] for p in parents], "cell_key": cell_keys,
        "village_code": _texts(cells, C.VILLAGE_CODE), "households": _ints(cells, C.HOUSEHOLDS),
        "locked": locked, "geom": _wkb(_polygons(cells), postgis)}, geom="geom")

    assigned = hh[hh[C.CELL_ID].notna()]
    by_id = C.HOUSEHOLD_ID in assigned.columns and assigned[C.HOUSEHOLD_ID].notna().all()
    if by_id:
        hids = [str(v) for v in assigned[C.HOUSEHOLD_ID].tolist()]
    else:
        from geogrid.db.households import household_ids

        numbers = bulk.text_column(assigned[C.HOUSEHOLD_NO])
        known = household_ids(session, numbers)
        missing = [n for n in numbers if n not in known]
        if missing:
            raise ValidationError(
                f"{len(missing)} household(s) of the result are not in the register, "
                f"e.g. {missing[:5]}")
        hids = [known[n] for n in numbers]
    keys = [str(v) for v in assigned[C.CELL_ID].tolist()]
    bad = sorted({k for k in keys if k not in cell_ids})
    if bad:
        raise ValidationError(f"households name cells that are not in the result: {bad[:5]}")
    rows = {"plan_id": [plan.id] * len(hids), "household_id": hids, "cell_id": [cell_ids[k] for k in keys]}
    points = _assigned_points(assigned)
    if points is not None:
        rows["lon"], rows["lat"] = points
    bulk.insert_rows(session, "assignments", rows)
    if points is None:
        _register_points(session, plan.id)
    if diagnostics:
        save_notes(session, plan.id, diagnostics, _household_ids_of(session, hh))
    return plan


def _assigned_points(assigned) -> tuple[list, list] | None:
    """The point each assigned household was placed by, as ``(lon, lat)`` lists in
    EPSG:4326: a stored plan's own (``assigned_lon``/``assigned_lat``, None where it
    kept none), else the households' geometry; None when they have neither."""
    if C.ASSIGNED_LON in assigned.columns and C.ASSIGNED_LAT in assigned.columns:
        both = assigned[C.ASSIGNED_LON].notna() & assigned[C.ASSIGNED_LAT].notna()
        return ([float(v) if k else None for v, k in zip(assigned[C.ASSIGNED_LON].tolist(), both.tolist())],
                [float(v) if k else None for v, k in zip(assigned[C.ASSIGNED_LAT].tolist(), both.tolist())])
    if not (isinstance(assigned, gpd.GeoDataFrame) and assigned.active_geometry_name is not None):
        return None
    lon, lat = bulk.lon_lat(assigned)
    bad = [i for i, (x, y) in enumerate(zip(lon, lat)) if x is not None and not (-180 <= x <= 180 and -90 <= y <= 90)]
    if bad:
        raise ValidationError(
            f"{len(bad)} household(s) of the result have points that are not degrees, e.g. "
            f"({lon[bad[0]]}, {lat[bad[0]]}); set the households' coordinate system (set_crs) "
            "so that they can be stored in EPSG:4326")
    return lon, lat


def _register_points(session: Session, plan_id: str) -> None:
    """The plan's assignments given the register's point of their household now (a
    result whose households carry no points was drawn from the register as it is)."""
    session.execute(text(
        "UPDATE assignments SET "
        "lon = (SELECT ST_X(h.geom) FROM households AS h WHERE h.id = assignments.household_id), "
        "lat = (SELECT ST_Y(h.geom) FROM households AS h WHERE h.id = assignments.household_id) "
        "WHERE plan_id = :plan"), {"plan": plan_id})


def _household_ids_of(session: Session, hh) -> dict:
    """Index label -> household id of a result's households, assigned or left out (the
    engine's notes name households by label); those the register does not hold are
    left out."""
    out = {}
    if C.HOUSEHOLD_ID in hh.columns:
        out = {k: str(v) for k, v in zip(hh.index, hh[C.HOUSEHOLD_ID].tolist()) if bulk.clean(v) is not None}
    if len(out) == len(hh) or C.HOUSEHOLD_NO not in hh.columns:
        return out
    # the rest by household number, as save_partition files their assignments
    from geogrid.db.households import household_ids

    rest = hh[[k not in out for k in hh.index]]
    numbers = bulk.text_column(rest[C.HOUSEHOLD_NO])
    known = household_ids(session, [n for n in numbers if n is not None])
    out.update({k: known[n] for k, n in zip(rest.index, numbers) if n in known})
    return out


def _texts(frame, col):
    return bulk.text_column(frame[col]) if col in frame.columns else [None] * len(frame)


def _ints(frame, col):
    if col not in frame.columns:
        return [0] * len(frame)
    return [0 if bulk.clean(v) is None else int(v) for v in frame[col].tolist()]


def _floats(frame, col):
    if col not in frame.columns:
        return [None] * len(frame)
    return [None if bulk.clean(v) is None else float(v) for v in frame[col].tolist()]


def _polygons(frame) -> np.ndarray:
    geoms = bulk.to_wgs84(frame) if isinstance(frame, gpd.GeoDataFrame) else frame["geometry"]
    return bulk.multipolygons(np.asarray(geoms.array if hasattr(geoms, "array") else geoms,
                                     dtype=object))


def _wkb(geoms, postgis):
    return bulk.optional_wkb(list(geoms), postgis)


def get_plan(session: Session, plan_id: str) -> Plan:
    """The plan ``plan_id``, or NotFoundError."""
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFoundError(f"plan {plan_id!r} does not exist",
                            key="plan.not_found", params={"plan": plan_id})
    return plan


def list_plans(session: Session, *, county_code: str | None = None,
               status: str | None = None) -> list[Plan]:
    """Plans, newest first."""
    from sqlalchemy import select

    q = select(Plan).order_by(Plan.created_at.desc())
    if county_code is not None:
        q = q.where(Plan.county_code == county_code)
    if status is not None:
        q = q.where(Plan.status == status)
    return list(session.scalars(q))


def load_plan(session: Session, plan_id: str, village_codes=None) -> PlanFrames:
    """A stored plan as GeoDataFrames shaped like the partition result (see PlanFrames);
    only the micro-grids of ``village_codes`` (and their cells and households) if given."""
    plan = get_plan(session, plan_id)
    p = {"plan": plan_id}
    # the whole plan: from its assignments (by plan, the primary key's prefix); some
    # villages: from their micro-grids, then cells and assignments by their indexes
    # (CROSS JOIN keeps that order on SQLite, which otherwise read all of a county's
    # 80,000 assignments for one village: a village's quality figures took 0.35 s, now
    # 0.06 s, on the sample county)
    frm = ("FROM assignments AS a JOIN households AS h ON h.id = a.household_id "
           "JOIN cells AS c ON c.id = a.cell_id JOIN microgrids AS m ON m.id = c.microgrid_id "
           "WHERE a.plan_id = :plan")
    cells_frm = "FROM cells AS c JOIN microgrids AS m ON m.id = c.microgrid_id WHERE c.plan_id = :plan"
    only = ""
    if village_codes is not None:
        codes = sorted(set(map(str, village_codes)))
        p.update({f"v{i}": c for i, c in enumerate(codes)})
        only = (f" AND m.village_code IN ({', '.join(f':v{i}' for i in range(len(codes)))})" if codes
                else " AND 1 = 0")
        frm = ("FROM microgrids AS m CROSS JOIN cells AS c CROSS JOIN assignments AS a "
               "CROSS JOIN households AS h WHERE m.plan_id = :plan AND c.microgrid_id = m.id "
               "AND a.cell_id = c.id AND h.id = a.household_id")
        cells_frm = "FROM microgrids AS m CROSS JOIN cells AS c WHERE m.plan_id = :plan AND c.microgrid_id = m.id"
    microgrids = bulk.read_frame(
        session,
        f"SELECT m.microgrid_key AS {C.MICROGRID_ID}, m.id, m.village_code, m.households, m.area_km2, "
        "ST_AsBinary(m.geom) AS geom_wkb FROM microgrids AS m WHERE m.plan_id = :plan" + only
        + " ORDER BY m.microgrid_key", p)
    cells = bulk.read_frame(
        session,
        f"SELECT c.cell_key AS {C.CELL_ID}, c.id, m.microgrid_key AS {C.MICROGRID_ID}, "
        "c.village_code, c.households, c.locked, ST_AsBinary(c.geom) AS geom_wkb "
        + cells_frm + only + " ORDER BY c.cell_key", p)
    if len(cells):
        cells["locked"] = cells["locked"].astype(bool)
    households = bulk.read_frame(
        session,
        f"SELECT h.id AS {C.HOUSEHOLD_ID}, h.household_no, h.village_code, h.building, h.hamlet, "
        f"m.microgrid_key AS {C.MICROGRID_ID}, c.cell_key AS {C.CELL_ID}, "
        f"a.lon AS {C.ASSIGNED_LON}, a.lat AS {C.ASSIGNED_LAT}, "
        "ST_AsBinary(h.geom) AS geom_wkb " + frm + only + " ORDER BY h.household_no", p)
    for col in (C.ASSIGNED_LON, C.ASSIGNED_LAT):  # None (all NULL) as NaN, a float column
        households[col] = households[col].astype(float)
    return PlanFrames(plan=plan, households=households, microgrids=microgrids, cells=cells)


def bump_version(session: Session, plan_id: str, expected_version: int) -> int:
    """Compare-and-swap the plan's version (its ETag); returns the new version.

    Every edit of a plan or its contents calls this first, in the edit's transaction.
    Raises ConflictError if the plan is no longer at ``expected_version`` and
    NotFoundError if it does not exist.
    """
    table = Plan.__table__
    result = session.execute(
        update(table)
        .where(table.c.id == plan_id, table.c.version == expected_version)
        .values(version=table.c.version + 1, updated_at=utcnow())
    )
    if result.rowcount != 1:
        current = session.execute(
            text("SELECT version FROM plans WHERE id = :id"), {"id": plan_id}).scalar()
        if current is None:
            raise NotFoundError(f"plan {plan_id!r} does not exist",
                                key="plan.not_found", params={"plan": plan_id})
        raise ConflictError(
            f"plan {plan_id!r} is at version {current}, not {expected_version}: someone else "
            "edited it; reload it and try again", key="plan.stale", params={"plan": plan_id})
    session.expire_all()
    return expected_version + 1


def _archive_published(session: Session, county_code: str, exclude: str, villages) -> None:
    """Archives the county's published plan for the one about to be published, whose
    micro-grids cover ``villages``; refuses (ValidationError) when the published plan
    covers villages the new one does not: publishing a plan of some villages would
    leave the others with no published grid."""
    table = Plan.__table__
    current = session.execute(select(table.c.id).where(
        table.c.county_code == county_code, table.c.status == "published", table.c.id != exclude)).scalars().all()
    if current:
        mgs = Microgrid.__table__
        theirs = set(session.execute(select(mgs.c.village_code).where(
            mgs.c.plan_id.in_(current)).distinct()).scalars())
        missing = sorted(theirs - set(villages) - {None})
        if missing:
            shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
            raise ValidationError(
                f"the published plan of county {county_code} covers villages this plan does not "
                f"({shown}); publishing it would leave them with no published grid. Make a draft "
                "from the published plan and re-run the micro-grids of the villages to change, or "
                "partition the whole county", key="plan.publish_leaves_villages",
                params={"county": county_code, "villages": missing[:5], "more": max(0, len(missing) - 5)})
    session.execute(
        update(table)
        .where(table.c.county_code == county_code, table.c.status == "published",
               table.c.id != exclude)
        .values(status="archived", version=table.c.version + 1, updated_at=utcnow())
    )


def publish(session: Session, plan_id: str, *, expected_version: int | None = None) -> Plan:
    """Publish a plan, archiving the county's previously published plan atomically."""
    plan = get_plan(session, plan_id)
    if expected_version is not None and plan.version != expected_version:
        raise ConflictError(
            f"plan {plan_id!r} is at version {plan.version}, not {expected_version}: someone "
            "else edited it; reload it and try again", key="plan.stale", params={"plan": plan_id})
    if plan.status == "published":
        return plan
    mgs = Microgrid.__table__
    _archive_published(session, plan.county_code, exclude=plan.id, villages=session.execute(
        select(mgs.c.village_code).where(mgs.c.plan_id == plan.id).distinct()).scalars().all())
    plan.status = "published"
    plan.published_at = utcnow()
    flush(session)
    return plan


def copy_plan(session: Session, plan_id: str, name: str, created_by: str | None = None) -> Plan:
    """A new draft with the same micro-grids, cells (locks included), assignments (each
    with the point it kept), engine notes and times it read the register (by village
    and by micro-grid); households that have left the register since (an archived plan
    keeps them as history) are left out, and the counts of their cells and micro-grids
    with them."""
    frames = _in_register(session, load_plan(session, plan_id))
    read, by_mg = frames.plan.register_read_at, frames.plan.microgrids_read_at
    plan = save_partition(session, frames, name, dict(frames.plan.params), created_by,
                          county_code=frames.plan.county_code, parent_plan_id=plan_id,
                          notes_recorded=frames.plan.notes_recorded,
                          register_read_at=None if read is None else dict(read),
                          microgrids_read_at=None if by_mg is None else dict(by_mg))
    copy_notes(session, plan_id, plan.id)
    return plan


def _in_register(session: Session, frames: PlanFrames) -> PlanFrames:
    """``frames`` without the households removed from the register, counts to match."""
    hh = frames.households
    gone = hh[C.HOUSEHOLD_ID].isin(set(session.execute(
        select(Household.id).where(Household.removed_at.is_not(None))).scalars()))
    if not gone.any():
        return frames
    hh = hh[~gone]
    n = hh[C.CELL_ID].value_counts()
    cells = frames.cells.assign(households=frames.cells[C.CELL_ID].map(n).fillna(0).astype(int))
    m = cells.groupby(C.MICROGRID_ID)["households"].sum()
    microgrids = frames.microgrids.assign(
        households=frames.microgrids[C.MICROGRID_ID].map(m).fillna(0).astype(int))
    return replace(frames, households=hh, cells=cells, microgrids=microgrids)


def recount(session: Session, cell_ids) -> None:
    """Set the households counts of the cells ``cell_ids`` (of any plans) from their
    assignments, and those of their micro-grids from their cells: after an edit of the
    assignments (a hand move, split, merge or re-run, a household leaving the register)."""
    cell_ids = sorted(set(cell_ids))
    if not cell_ids:
        return
    n = select(func.count()).select_from(Assignment).where(Assignment.cell_id == Cell.id).scalar_subquery()
    session.execute(update(Cell).where(Cell.id.in_(cell_ids)).values(households=n),
                    execution_options={"synchronize_session": False})
    mg_ids = sorted(set(session.execute(select(Cell.microgrid_id).where(Cell.id.in_(cell_ids))).scalars()))
    m = (select(func.coalesce(func.sum(Cell.households), 0)).where(Cell.microgrid_id == Microgrid.id)
         .scalar_subquery())
    session.execute(update(Microgrid).where(Microgrid.id.in_(mg_ids)).values(households=m),
                    execution_options={"synchronize_session": False})
