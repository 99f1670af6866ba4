"""Plans: partition versions with their micro-grids, cells and household assignments.

A published plan and any number of drafts coexist; :func:`publish` archives the
previous published plan of the county in the same transaction.  A plan's ``version``
is its ETag: every edit goes through :func:`bump_version`, a compare-and-swap that
raises :class:`~geogrid.errors.ConflictError` when someone else edited first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from geogrid import columns as C
from geogrid.db import bulk
from geogrid.db.engine import flush
from geogrid.db.models import Microgrid, Plan, new_id, new_ids, utcnow
from geogrid.db.plannotes import copy_notes, save_notes
from geogrid.errors import ColumnError, ConflictError, NotFoundError, ValidationError

__all__ = [
    "save_partition",
    "load_plan",
    "partition_register",
    "read_register",
    "publish",
    "copy_plan",
    "bump_version",
    "get_plan",
    "list_plans",
    "PlanFrames",
    "SavedPartition",
    "RegisterInputs",
    "beyond_the_run",
]


@dataclass
class PlanFrames:
    """A stored plan, shaped like a partition result (keys as the engine's ids).

    ``households``: ``household_id, household_no, village_code, building, hamlet,
    microgrid_id, cell_id, geometry``.  ``microgrids``: ``microgrid_id`` (key), ``id``
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


def _county_code(codes) -> str:
    for code in codes:
        code = bulk.clean(code)
        if isinstance(code, str) and len(code) >= 6 and code[:6].isdigit():
            return code[:6]
    return ""


def save_partition(session: Session, result, name: str, params: dict | None = None,
                   created_by: str | None = None, *, county_code: str | None = None,
                   status: str = "draft", parent_plan_id: str | None = None,
                   notes_recorded: bool | None = None) -> Plan:
    """Store a partition result as a new plan, in bulk, with the engine's notes.

    Parameters
    ----------
    result
        Anything with ``.microgrids`` (``microgrid_id, village_code, households,
        area_km2``, polygons), ``.cells`` (``cell_id, microgrid_id, village_code,
        households``, optional ``locked``, polygons) and ``.households`` (``microgrid_id``,
        ``cell_id`` and ``household_id``, or ``household_no`` to look ids up).  The
        engine's string ids become ``microgrid_key`` and ``cell_key``; the database gives
        every micro-grid and cell a new random id.  A :class:`PlanFrames` works too.
    county_code
        Defaults to the first six digits of the village codes.
    notes_recorded
        Whether the plan keeps the engine's notes (``result.diagnostics``, stored in
        ``plan_notes``); by default, whether ``result`` has them (an engine's result
        does, a :class:`PlanFrames` does not: :func:`copy_plan` says what its source
        recorded).

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
        county_code = _county_code(codes)

    # an engine's result has notes, none or some; a stored plan's copy says what its
    # source recorded (``notes_recorded``)
    diagnostics = getattr(result, "diagnostics", None)
    if notes_recorded is None:
        notes_recorded = diagnostics is not None
    plan = Plan(id=new_id(), name=name, county_code=county_code, status=status,
                params=bulk.json_safe(params or {}), parent_plan_id=parent_plan_id,
                created_by=created_by, notes_recorded=bool(notes_recorded))
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
    bulk.insert_rows(session, "assignments", {
        "plan_id": [plan.id] * len(hids), "household_id": hids,
        "cell_id": [cell_ids[k] for k in keys]})
    if diagnostics:
        save_notes(session, plan.id, diagnostics, _household_ids_of(session, hh))
    return plan


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
        raise NotFoundError(f"plan {plan_id!r} does not exist")
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
        "ST_AsBinary(h.geom) AS geom_wkb " + frm + only + " ORDER BY h.household_no", p)
    return PlanFrames(plan=plan, households=households, microgrids=microgrids, cells=cells)


@dataclass
class RegisterInputs:
    """What :func:`partition_register` reads from the database: the households (of the
    villages asked for) and the village outlines to cut them by, ``None`` when the
    register has no outline at all (the engine then derives outlines from households)."""

    households: gpd.GeoDataFrame
    villages: gpd.GeoDataFrame | None


def read_register(session: Session, village_codes=None) -> RegisterInputs:
    """The households of ``village_codes`` (all: None) and the village outlines, as
    :func:`partition_register` partitions them.

    A subset gets the outlines of its villages only, possibly none: its households of a
    village with no outline are then left out with a ``no_village`` note, as a run over
    the whole register leaves them out.  Outlines are derived from the households only
    when the register has no village outline at all.

    Raises :class:`~geogrid.errors.ValidationError` when there is nothing to partition:
    no households in the register, or a code of ``village_codes`` no household carries
    (a typo would otherwise give a plan short of a village without a word).
    """
    from geogrid.db.areas import villages_frame
    from geogrid.db.households import households_frame

    codes = None
    if village_codes is not None:
        codes = list(dict.fromkeys(str(c) for c in village_codes))
        if not codes:
            raise ValidationError("no village codes were given: name the villages to partition, "
                                  "or none for the whole register")
    households = households_frame(session, village_codes=codes)
    if codes is not None:
        have = set(households[C.VILLAGE_CODE].dropna()) if len(households) else set()
        unknown = [c for c in codes if c not in have]
        if unknown:
            raise ValidationError(_unknown_villages(unknown))
    elif households.empty:
        raise ValidationError("the register has no households to partition; import some first")
    villages = villages_frame(session)
    villages = villages[villages.geometry.notna()]
    if villages.empty:
        return RegisterInputs(households=households, villages=None)
    if codes is not None:
        villages = villages[villages[C.VILLAGE_CODE].isin(codes)]
    return RegisterInputs(households=households, villages=villages)


def _unknown_villages(codes: list[str]) -> str:
    shown = ", ".join(codes[:10]) + (f" and {len(codes) - 10} more" if len(codes) > 10 else "")
    if len(codes) == 1:
        what = f"no village with code {shown} has households in the register"
    else:
        what = f"no villages with codes {shown} have households in the register"
    return (f"{what}; correct the code{'s' if len(codes) > 1 else ''} or leave "
            f"{'them' if len(codes) > 1 else 'it'} out (geogrid import households loads a "
            "village's households). Nothing was written")


def partition_register(bind: Session | Engine, *, name: str | None = None,
                       created_by: str | None = None, county_code: str | None = None,
                       village_codes=None, progress=None, publish: bool = False,
                       **params) -> SavedPartition:
    """Partition the households in the database into a new draft plan.

    Reads households and village outlines (:func:`read_register`), calls
    :func:`geogrid.partition.partition` with ``params`` (``max_households``,
    ``microgrid_km2``, ``seed``...) and saves the result with :func:`save_partition`;
    ``progress`` is passed to it, not saved.  With ``publish`` the new plan is published
    in the transaction that saves it, archiving the county's plan published before.

    Parameters
    ----------
    bind : Session or Engine
        A session: all of it in the caller's transaction, which the caller owns (and
        which stays open while the partition is computed).  An engine: the register is
        read in a transaction of its own, which ends before the partition is computed,
        so no transaction and no lock is held for the computation (a county takes
        minutes; on SpatiaLite a write lock held that long makes every other writer
        fail once its busy timeout runs out); the plan is then saved, all or nothing,
        in a write transaction that is committed.  The plan is of the register as read:
        an edit made meanwhile is in it no more than one made just after.
    county_code
        Defaults to the first six digits of the micro-grids' village codes, or of the
        households' when every household was left out.
    """
    from geogrid.partition import partition

    if isinstance(bind, Session):
        inputs = read_register(bind, village_codes)
        result = partition(inputs.households, inputs.villages, progress=progress, **params)
        if village_codes is not None:
            result.report.setdefault("diagnostics", []).extend(beyond_the_run(bind, inputs, result))
        return _save_register_partition(bind, result, inputs, name, created_by, county_code,
                                        publish, params)
    from geogrid.db.engine import session_scope

    with session_scope(bind) as session:  # a read: on SpatiaLite no write lock
        inputs = read_register(session, village_codes)
    result = partition(inputs.households, inputs.villages, progress=progress, **params)
    if village_codes is not None:
        with session_scope(bind) as session:
            result.report.setdefault("diagnostics", []).extend(beyond_the_run(session, inputs, result))
    with session_scope(bind, write=True) as session:
        return _save_register_partition(session, result, inputs, name, created_by, county_code,
                                        publish, params)


def beyond_the_run(session: Session, inputs: RegisterInputs, result) -> list[dict]:
    """The engine's notes between a run's villages and the others, which a run over some
    villages (``village_codes``) cannot make, as it reads no other village:

    - ``villages_overlap``: a run's village outline overlapping another village's (the
      engine's own test, :func:`geogrid.partition.inputs.overlapping_outlines`);
    - ``address_beyond_run``: households of the run at the point (to the centimetre) of
      households registered in a village not in the run.  A run over both villages
      would leave one village's households out (the village most of them belong to
      keeps the address); this one cannot tell, and says so.
    """
    from geogrid.crs import local_metric_crs
    from geogrid.db.areas import villages_frame
    from geogrid.partition.inputs import overlapping_outlines
    from geogrid.partition.result import diagnostic
    from geogrid.partition.units import COLOCATED_M

    hh = inputs.households
    run = set(hh[C.VILLAGE_CODE].dropna().astype(str)) if len(hh) else set()
    if not run:
        return []
    x0, y0, x1, y1 = hh.total_bounds
    metric = local_metric_crs((x0 + x1) / 2, (y0 + y1) / 2)
    notes: list[dict] = []
    # outlines: the run's against the others' that meet them
    vv = villages_frame(session)
    vv = vv[vv.geometry.notna()]
    mine = vv[vv[C.VILLAGE_CODE].isin(run)]
    if len(mine):
        near = vv[~vv[C.VILLAGE_CODE].isin(run) & vv.intersects(mine.union_all())]
        if len(near):
            both = pd.concat([mine, near]).to_crs(metric)
            polys = {str(c): g.buffer(0) if not g.is_valid else g for c, g in zip(both[C.VILLAGE_CODE], both.geometry)}
            notes += [d for d in overlapping_outlines(polys) if len(set(d["villages"]) & run) == 1]
    # addresses shared with households of other villages
    from geogrid.db.households import households_frame

    pad = 1e-6
    others = households_frame(session, bbox=(x0 - pad, y0 - pad, x1 + pad, y1 + pad))
    others = others[others.geometry.notna() & ~others[C.VILLAGE_CODE].isin(run) & others[C.VILLAGE_CODE].notna()]
    if len(others):
        def keys(frame):
            g = frame.geometry.to_crs(metric)
            return list(zip(np.round(g.x.to_numpy() / COLOCATED_M), np.round(g.y.to_numpy() / COLOCATED_M)))

        theirs: dict = {}
        for k, code in zip(keys(others), others[C.VILLAGE_CODE].astype(str)):
            theirs.setdefault(k, set()).add(code)
        ok = hh.geometry.notna() & ~hh.geometry.is_empty
        at: dict[str, list] = {}
        for label, k, code in zip(hh.index[ok], keys(hh[ok]), hh.loc[ok, C.VILLAGE_CODE].astype(str)):
            for other in sorted(theirs.get(k, ())):
                at.setdefault((code, other), []).append(label)
        for (code, other), labels in sorted(at.items()):
            notes.append({**diagnostic(
                "address_beyond_run", code, [],
                f"{len(labels)} household(s) of village {code} share their point with households "
                f"registered in village {other}, which this run did not include; run both villages "
                "together to settle which keeps the address, or correct the point or the village code"),
                "households": list(labels), "villages": [code, other]})
    return notes


def _save_register_partition(session, result, inputs, name, created_by, county_code, publish,
                             params) -> SavedPartition:
    if county_code is None:
        mg = result.microgrids
        county_code = (_county_code(mg[C.VILLAGE_CODE] if C.VILLAGE_CODE in mg.columns else [])
                       or _county_code(inputs.households[C.VILLAGE_CODE]))
    plan_name = name or f"partition {utcnow():%Y-%m-%d %H:%M}"
    plan = save_partition(session, result, plan_name, params, created_by, county_code=county_code,
                          status="published" if publish else "draft")
    return SavedPartition(plan=plan, result=result)


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
            raise NotFoundError(f"plan {plan_id!r} does not exist")
        raise ConflictError(
            f"plan {plan_id!r} is at version {current}, not {expected_version}: someone else "
            "edited it; reload it and try again")
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
                "partition the whole county")
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
            "else edited it; reload it and try again")
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
    """A new draft with the same micro-grids, cells (locks included), assignments and
    engine notes."""
    frames = load_plan(session, plan_id)
    plan = save_partition(session, frames, name, dict(frames.plan.params), created_by,
                          county_code=frames.plan.county_code, parent_plan_id=plan_id,
                          notes_recorded=frames.plan.notes_recorded)
    copy_notes(session, plan_id, plan.id)
    return plan
