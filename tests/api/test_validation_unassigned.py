"""Validation's ``unassigned`` warning: the register's households in no cell of a plan.

Its docstring named the rule since the first stop, and the web map had words for it,
but validate_plan never gave it: households added to the register after a plan was
made were in no cell, and neither the validation list nor publishing said so (the
plan's quality figures count them, since the last stop).  Now each micro-grid with
such households is one warning naming them, to re-run; households of a plan's village
in none of its micro-grids are one warning for the village.

On the committed sample slice (tests/api/test_rerun_after_edits.py's world: two
villages partitioned and published), on both back-ends.
"""

from __future__ import annotations

from sqlalchemy import func, select

from tests.api.test_plan_notes import _token
from tests.api.test_rerun_after_edits import VILLAGES
from tests.api.test_rerun_after_edits import world  # noqa: F401  (the fixture)


def _validation(client, headers, pid, **params):
    r = client.get(f"/api/v1/plans/{pid}/validation", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["problems"]


def _unassigned(problems):
    return [p for p in problems if p["rule"] == "unassigned"]


def _add(engine, village, points, prefix):
    from geogrid.db.engine import session_scope
    from geogrid.db.models import Household

    with session_scope(engine, write=True) as s:
        rows = [Household(household_no=f"{prefix}-{i}", village_code=village, geom=f"SRID=4326;POINT({x} {y})")
                for i, (x, y) in enumerate(points)]
        s.add_all(rows)
        s.flush()
        return sorted(h.id for h in rows)


def _inside(engine, pid, village):
    """The first micro-grid of ``village`` in plan ``pid`` (by key) and a point inside it."""
    from geogrid.db.models import Microgrid

    with engine.connect() as conn:
        return conn.execute(select(Microgrid.id, Microgrid.microgrid_key,
                                   func.ST_X(func.ST_PointOnSurface(Microgrid.geom)),
                                   func.ST_Y(func.ST_PointOnSurface(Microgrid.geom)))
                            .where(Microgrid.plan_id == pid, Microgrid.village_code == village)
                            .order_by(Microgrid.microgrid_key)).first()


def test_households_added_since_the_plan_are_a_warning_by_micro_grid(client, world, engine):
    """Three households added inside a micro-grid: one warning naming the micro-grid and
    the three; two added far outside the village's micro-grids (a bad point): one for
    the village.  Limited to a micro-grid, only its own.  Warnings: publishing is not
    held back by them.  After the micro-grid's re-run in a draft, the draft has none of
    its warning, while the published plan still has it."""
    admin = _token(engine, "admin")
    assert _unassigned(_validation(client, admin, world)) == []  # the partition placed every one
    mg_id, mg_key, x, y = _inside(engine, world, VILLAGES[0])
    near = _add(engine, VILLAGES[0], [(x, y), (x, y), (x + 1e-6, y)], "NEW-IN-MG")
    far = _add(engine, VILLAGES[1], [(x + 3.0, y + 3.0)] * 2, "NEW-FAR")
    got = _unassigned(_validation(client, admin, world))
    assert len(got) == 2 and all(p["severity"] == "warning" for p in got)
    by_mg = next(p for p in got if p["objects"][0]["type"] == "microgrid")
    assert by_mg["objects"][0] == {"type": "microgrid", "id": mg_id, "key": mg_key}
    assert sorted(o["id"] for o in by_mg["objects"][1:]) == near and by_mg["households"] == 3
    assert f"micro-grid {mg_key}" in by_mg["message"] and "re-run" in by_mg["message"]
    lost = next(p for p in got if p["objects"][0]["type"] == "area")
    assert lost["objects"][0] == {"type": "area", "code": VILLAGES[1]}
    assert sorted(o["id"] for o in lost["objects"][1:]) == far and lost["households"] == 2
    # one micro-grid's validation: its own households only
    assert _unassigned(_validation(client, admin, world, microgrid=[mg_id])) == [by_mg]
    # a new draft, its micro-grid re-run: placed; the published plan still warns
    r = client.post("/api/v1/plans", json={"name": "re-run"}, headers=admin)
    assert r.status_code == 201, r.text
    pid, etag = r.json()["id"], r.json()["etag"]
    draft_mg = _inside(engine, pid, VILLAGES[0])[0]
    r = client.post(f"/api/v1/plans/{pid}/repartition", json={"microgrids": [draft_mg]},
                    headers={**admin, "If-Match": etag})
    assert r.status_code == 200, r.text
    left = _unassigned(_validation(client, admin, pid))
    assert [p["objects"][0]["type"] for p in left] == ["area"]  # the far ones are not in it
    assert len(_unassigned(_validation(client, admin, world))) == 2
    # warnings do not hold back publishing
    r = client.post(f"/api/v1/plans/{pid}/publish", headers={**admin, "If-Match": r.headers["ETag"]})
    assert r.status_code == 200, r.text


def test_the_warning_keeps_to_the_callers_scope(client, world, engine):
    """A household added in village A: the county's planner is told of it, a planner of
    village B is not (and is still told of B's own); another county's planner sees no
    plan at all."""
    _, _, x, y = _inside(engine, world, VILLAGES[0])
    (a,) = _add(engine, VILLAGES[0], [(x, y)], "NEW-SCOPED-A")
    _, _, x, y = _inside(engine, world, VILLAGES[1])
    (b,) = _add(engine, VILLAGES[1], [(x, y)], "NEW-SCOPED-B")
    county = _unassigned(_validation(client, _token(engine, "planner"), world))
    assert sorted(o["id"] for p in county for o in p["objects"] if o["type"] == "household") == sorted([a, b])
    only_b = _token(engine, "planner-b", "planner", [f"area:{VILLAGES[1]}"])
    mine = _unassigned(_validation(client, only_b, world))
    assert [o["id"] for p in mine for o in p["objects"] if o["type"] == "household"] == [b]
    elsewhere = _token(engine, "elsewhere", "planner", ["area:110101"])
    assert _validation(client, elsewhere, world) == []
