"""A plan says when the register changed after it read it.

Before, households imported, moved or added after a draft was drawn changed nothing
in what GET /plans/{id}/notes and /validation answered: a planner read notes of a
register that was no more, with no word of it.  Now both answer ``register_changes``:
the villages (in the caller's scope) whose households were added, changed or removed
after the plan last read them, when it was drawn or a re-run of that village, with how
many and when (geogrid/db/planregister.py, migration 0008).

On the committed sample slice (tests/api/test_rerun_after_edits.py's world: two
villages partitioned from the register by ``partition_register`` and published), on
both back-ends.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select, update

from tests.api.test_plan_notes import _token
from tests.api.test_rerun_after_edits import VILLAGES
from tests.api.test_rerun_after_edits import world  # noqa: F401  (the fixture)


def _draft(client, headers):
    r = client.post("/api/v1/plans", json={"name": "register"}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["etag"]


def _changes(client, headers, pid, **params):
    """``register_changes`` of the notes and of the validation, which agree."""
    got = []
    for what in ("notes", "validation"):
        r = client.get(f"/api/v1/plans/{pid}/{what}", params=params, headers=headers)
        assert r.status_code == 200, r.text
        got.append(r.json()["register_changes"])
    assert got[0] == got[1], got
    return got[0]


def _a_household(engine, village):
    from geogrid.db.models import Household

    with engine.connect() as conn:
        return conn.execute(select(Household.id).where(Household.village_code == village)
                            .order_by(Household.household_no)).scalars().first()


def _microgrid(engine, pid, village):
    from geogrid.db.models import Microgrid

    with engine.connect() as conn:
        return conn.execute(select(Microgrid.id).where(Microgrid.plan_id == pid, Microgrid.village_code == village)
                            .order_by(Microgrid.microgrid_key)).scalars().first()


def _edit_point(engine, household):
    """What a cadre's correction of a household's point does: a metre north."""
    from shapely.geometry import Point

    from geogrid.db.engine import session_scope
    from geogrid.db.households import update_household
    from geogrid.db.models import Household
    from sqlalchemy import func

    with session_scope(engine, write=True) as s:
        x, y = s.execute(select(func.ST_X(Household.geom), func.ST_Y(Household.geom))
                         .where(Household.id == household)).one()
        update_household(s, household, {"geometry": Point(x, y + 1e-5)})


def _import_one(engine, village, number="REG-NEW-1"):
    """What importing a register file with one new household of ``village`` does."""
    import geopandas as gpd
    from shapely.geometry import Point

    from geogrid.db.engine import session_scope
    from geogrid.db.households import upsert_households
    from geogrid.db.models import Household
    from sqlalchemy import func

    with engine.connect() as conn:
        x, y = conn.execute(select(func.ST_X(Household.geom), func.ST_Y(Household.geom))
                            .where(Household.village_code == village).order_by(Household.household_no)).first()
    frame = gpd.GeoDataFrame({"household_no": [number], "village_code": [village]},
                             geometry=[Point(x + 2e-5, y)], crs=4326)
    with session_scope(engine, write=True) as s:
        assert upsert_households(s, frame).added == 1


def test_a_plan_says_which_villages_the_register_changed_in_and_a_rerun_reads_them_again(client, world, engine):
    planner = _token(engine, "planner")
    pid, etag = _draft(client, planner)
    assert _changes(client, planner, pid) == []  # as drawn: nothing changed since
    a, b = VILLAGES
    _edit_point(engine, _a_household(engine, a))
    (change,) = _changes(client, planner, pid)
    assert change["village_code"] == a and change["households"] == 1
    assert dt.datetime.fromisoformat(change["changed_at"]) > dt.datetime.fromisoformat(change["read_at"])
    _import_one(engine, b)
    _edit_point(engine, _a_household(engine, a))  # the same household again: one household
    got = _changes(client, planner, pid)
    assert [(c["village_code"], c["households"]) for c in got] == [(a, 1), (b, 1)]
    # each in one micro-grid, which the entry names (test_register_changes_microgrids.py)
    (mg_a,), (mg_b_changed,) = ([m["id"] for m in c["microgrids"]] for c in got)
    # of one micro-grid: its village only
    mg_b = _microgrid(engine, pid, b)
    assert [c["village_code"] for c in _changes(client, planner, pid, microgrid=mg_b)] == [b]
    # a re-run of that micro-grid of village a reads its register again
    r = client.post(f"/api/v1/plans/{pid}/repartition", json={"microgrids": [mg_a]},
                    headers={**planner, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert [c["village_code"] for c in _changes(client, planner, pid)] == [b]
    # a hand edit reads no register: village b is still as it was, until it is re-run
    from geogrid.db.models import Cell

    with engine.connect() as conn:
        cell = conn.execute(select(Cell.id).where(Cell.microgrid_id == mg_b).order_by(Cell.cell_key)).scalars().first()
    r = client.post(f"/api/v1/plans/{pid}/cells/{cell}/lock", headers={**planner, "If-Match": r.json()["etag"]})
    assert r.status_code == 200, r.text
    assert [c["village_code"] for c in _changes(client, planner, pid)] == [b]
    r = client.post(f"/api/v1/plans/{pid}/repartition", json={"microgrids": [mg_b_changed]},
                    headers={**planner, "If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
    assert _changes(client, planner, pid) == []
    # the published plan, drawn before both changes, says so too, and a draft made
    # from it now takes the times it read the register
    assert [c["village_code"] for c in _changes(client, planner, world)] == [a, b]
    pid2, _ = _draft(client, planner)
    assert [c["village_code"] for c in _changes(client, planner, pid2)] == [a, b]


def test_register_changes_follow_the_callers_scope_and_a_plan_that_does_not_know_says_null(client, world, engine):
    from geogrid.db.engine import session_scope
    from geogrid.db.models import Plan

    a, b = VILLAGES
    planner = _token(engine, "planner")
    pid, _ = _draft(client, planner)
    _edit_point(engine, _a_household(engine, a))
    _import_one(engine, b)
    only_b = _token(engine, "planner_b", role="planner", scopes=[f"area:{b}"])
    assert [c["village_code"] for c in _changes(client, only_b, pid)] == [b]
    # moved house into another village: a change of both, the one it left (the plan has
    # it in a cell there) and the one it is of now
    from geogrid.db.models import Household

    h = _a_household(engine, a)
    with session_scope(engine, write=True) as s:
        s.get(Household, h).village_code = b
    with engine.connect() as conn:
        changed_at = conn.execute(select(Household.updated_at).where(Household.id == h)).scalar_one()
    got = {c["village_code"]: c for c in _changes(client, planner, pid)}
    assert got[a]["households"] == 1 and got[b]["households"] == 2  # (the one edited above)
    assert dt.datetime.fromisoformat(got[b]["changed_at"]) == changed_at
    # a plan saved before plans kept when they read the register does not know
    with session_scope(engine, write=True) as s:
        s.execute(update(Plan.__table__).where(Plan.__table__.c.id == pid).values(register_read_at=None))
    assert _changes(client, planner, pid) is None


def test_an_analyst_is_told_which_villages_changed_but_not_how_many_households(client, world, engine):
    """A count of one or two changed households, with its time, is below the analysts'
    threshold of five: they read that the village changed, without the count."""
    a, _ = VILLAGES
    planner = _token(engine, "planner")
    _edit_point(engine, _a_household(engine, a))
    # the published plan (analysts read no drafts)
    assert [(c["village_code"], c["households"]) for c in _changes(client, planner, world)] == [(a, 1)]
    analyst = _token(engine, "analyst-register", "analyst", ["area:431227"])
    assert [(c["village_code"], c["households"]) for c in _changes(client, analyst, world)] == [(a, None)]
