"""The small world tests/api/test_plan_edits_stateful.py drives its random edits in: two
villages' register, drawn afresh for each example and published with a draft, and what
the state machine reads back of it (the plan's snapshot, the register, the notes that
follow assignments, rebuilt by the rules)."""

from __future__ import annotations

from collections import Counter

import geopandas as gpd
import numpy as np
import shapely
from shapely.geometry import Point, box
from sqlalchemy import delete, func, select

from tests.api.conftest import V1, V2

X0, Y0 = 109.20, 27.30
VILLAGE_BOX = {V1: box(X0, Y0, X0 + 0.016, Y0 + 0.010), V2: box(X0 + 0.016, Y0, X0 + 0.028, Y0 + 0.010)}
CAP = 8
PARAMS = {"max_households": CAP, "min_microgrids": 2, "max_microgrids": 2, "microgrid_km2": 0.8, "seed": 0}
FOLLOW = ("oversize_building", "building_split", "hamlet_split", "locked_cell_full", "kept_cell_full")


def _register() -> gpd.GeoDataFrame:
    """The register: two villages of 47 and 30 households, with hamlets, buildings over
    and under the cap, and households sharing an address."""
    rng = np.random.default_rng(11)
    rows = []

    def add(code, x, y, building=None, hamlet=None):
        rows.append({"household_no": f"H{len(rows):03d}", "village_code": code, "building": building,
                     "hamlet": hamlet, "source_crs": "wgs84", "geometry": Point(round(x, 7), round(y, 7))})

    for _ in range(12):
        add(V1, X0 + 0.004 + rng.normal(0, 4e-4), Y0 + 0.003 + rng.normal(0, 4e-4), hamlet="上寨")
    for _ in range(7):
        add(V1, X0 + 0.012 + rng.normal(0, 3e-4), Y0 + 0.007 + rng.normal(0, 3e-4), hamlet="下寨")
    for _ in range(10):
        add(V1, X0 + 0.008, Y0 + 0.005, building="B1")
    for _ in range(3):
        x, y = X0 + rng.uniform(0.001, 0.015), Y0 + rng.uniform(0.001, 0.009)
        add(V1, x, y)
        add(V1, x, y)
    for _ in range(12):
        add(V1, X0 + rng.uniform(0.0005, 0.0155), Y0 + rng.uniform(0.0005, 0.0095))
    for _ in range(20):
        add(V2, X0 + rng.uniform(0.0165, 0.0275), Y0 + rng.uniform(0.0005, 0.0095))
    for _ in range(6):
        add(V2, X0 + 0.022 + rng.normal(0, 3e-4), Y0 + 0.005 + rng.normal(0, 3e-4), hamlet="溪口")
    for _ in range(4):
        add(V2, X0 + 0.019, Y0 + 0.008, building="B2")
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)


def _fresh_register(engine) -> None:
    """The register and its published plan, as a county starts (every plan and every
    household of an earlier example gone)."""
    from geogrid.db.engine import session_scope
    from geogrid.db.households import upsert_households
    from geogrid.db.models import Household, Plan
    from geogrid.db.registerpartition import partition_register

    with session_scope(engine, write=True) as s:
        s.execute(delete(Plan))
        s.execute(delete(Household))
        upsert_households(s, _register())
    with session_scope(engine, write=True) as s:
        partition_register(s, name="published", publish=True, **PARAMS)


# --- reading the plan as stored ----------------------------------------------------------------
def _snapshot(engine, pid) -> dict:
    """Everything an edit may change, as stored."""
    from geogrid.db.models import Assignment, Cell, Microgrid, Plan, PlanNote

    with engine.connect() as conn:
        plan = conn.execute(select(Plan.version, Plan.status).where(Plan.id == pid)).one()
        assignments = {h: (c, x, y) for h, c, x, y in conn.execute(
            select(Assignment.household_id, Assignment.cell_id, Assignment.lon, Assignment.lat)
            .where(Assignment.plan_id == pid))}
        cells = {i: (k, m, bool(lk), n, bytes(w) if w is not None else None) for i, k, m, lk, n, w in conn.execute(
            select(Cell.id, Cell.cell_key, Cell.microgrid_id, Cell.locked, Cell.households,
                   func.ST_AsBinary(Cell.geom)).where(Cell.plan_id == pid))}
        mgs = {i: (k, v, n, bytes(w) if w is not None else None) for i, k, v, n, w in conn.execute(
            select(Microgrid.id, Microgrid.microgrid_key, Microgrid.village_code, Microgrid.households,
                   func.ST_AsBinary(Microgrid.geom)).where(Microgrid.plan_id == pid))}
        notes = {i: (k, v, m, tuple(sorted(map(str, h or []))), ab) for i, k, v, m, h, ab in conn.execute(
            select(PlanNote.id, PlanNote.kind, PlanNote.village_code, PlanNote.message, PlanNote.households,
                   PlanNote.acknowledged_by).where(PlanNote.plan_id == pid))}
    return {"version": plan.version, "status": plan.status, "assignments": assignments, "cells": cells,
            "microgrids": mgs, "notes": notes}


def _register_now(engine) -> dict:
    """household id -> (village, (lon, lat), building, hamlet)."""
    from geogrid.db.models import Household

    with engine.connect() as conn:
        return {h: (v, (x, y), b, ham) for h, v, x, y, b, ham in conn.execute(
            select(Household.id, Household.village_code, func.ST_X(Household.geom), func.ST_Y(Household.geom),
                   Household.building, Household.hamlet))}


def _numbers(engine) -> dict:
    """household id -> household number (ids are new each example; numbers are not)."""
    from geogrid.db.models import Household

    with engine.connect() as conn:
        return dict(conn.execute(select(Household.id, Household.household_no)).all())


def _geom(wkb):
    return None if wkb is None else shapely.from_wkb(wkb)


def _same_geom(a, b, tol=1e-9) -> bool:
    ga, gb = _geom(a), _geom(b)
    if ga is None or gb is None:
        return ga is None and gb is None
    return shapely.equals_exact(shapely.normalize(ga), shapely.normalize(gb), tolerance=tol) or \
        ga.symmetric_difference(gb).area < 1e-12


def _fresh_follow_notes(engine, pid, village, kept_full, cap=CAP) -> Counter:
    """The notes of the kinds that follow assignments of ``village`` as the engine's rules
    give them afresh for the plan as it stands: (kind, message, households) counted."""
    from geogrid.crs import local_metric_crs, transformer
    from geogrid.db.models import Assignment, Cell, Household, Microgrid
    from geogrid.partition.assignment_notes import assignment_notes

    with engine.connect() as conn:
        rows = conn.execute(
            select(Assignment.household_id, Cell.cell_key, Microgrid.microgrid_key, Household.building,
                   Household.hamlet, func.ST_X(Household.geom), func.ST_Y(Household.geom), Cell.locked)
            .join(Cell, Cell.id == Assignment.cell_id).join(Microgrid, Microgrid.id == Cell.microgrid_id)
            .join(Household, Household.id == Assignment.household_id)
            .where(Assignment.plan_id == pid, Microgrid.village_code == village)).all()
    if not rows:
        return Counter()
    hid, cell, mg, building, hamlet, x, y, locked = (np.asarray(c, dtype=object) for c in zip(*rows))
    x, y = x.astype(float), y.astype(float)
    metric = local_metric_crs((x.min() + x.max()) / 2, (y.min() + y.max()) / 2)
    mx, my = transformer("EPSG:4326", metric).transform(x, y)
    out = Counter()
    for d in assignment_notes(village, np.column_stack([mx, my]), building, hamlet, cell, mg, cap,
                              locked=set(cell[locked.astype(bool)]), kept_full=kept_full):
        out[(d["kind"], d["message"], tuple(sorted(hid[d["households"]])))] += 1
    return out


def _stored_follow_notes(snap, village) -> Counter:
    return Counter((k, m, h) for k, v, m, h, _ in snap["notes"].values() if v == village and k in FOLLOW)


def _kept_full(snap) -> set:
    """The cells a ``kept_cell_full`` note names (by key, from its words)."""
    return {m.rsplit(" now holds", 1)[0].removeprefix("cell ") for k, _, m, _, _ in snap["notes"].values()
            if k == "kept_cell_full"}


# --- the state machine ---------------------------------------------------------------------------
