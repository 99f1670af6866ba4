"""A plan's notes do not name households that have left the register.

Three households of a village with no outline are left in no cell with a ``no_village``
note naming them.  Before, when one moved away (POST households/{id}/removal), the
draft's notes still named it, counted it and pointed at it as if it were there, and
with all three gone the note still said three households lay in no village.  Now the
notes of the current plans count and name only those still in the register, a note
left naming none is not shown, and an undo brings it back.  On the committed sample
slice, both back-ends.
"""

from __future__ import annotations

from tests.api.test_plan_notes import _token
from tests.api.test_rerun_after_edits import VILLAGES
from tests.api.test_rerun_after_edits import world  # noqa: F401  (the fixture)

API = "/api/v1"
#: a village code with no outline in the sample
NOWHERE = "431227103999"


def _nowhere_draft(engine):
    """Three households coded NOWHERE beside the first village's, and a draft of the
    register with them: their ids and the draft's."""
    import geopandas as gpd
    from shapely.geometry import Point
    from sqlalchemy import func, select

    from geogrid.db.engine import session_scope
    from geogrid.db.households import household_ids, upsert_households
    from geogrid.db.models import Household
    from geogrid.db.registerpartition import partition_register

    numbers = [f"NV-{i}" for i in range(3)]
    with engine.connect() as conn:
        x, y = conn.execute(select(func.ST_X(Household.geom), func.ST_Y(Household.geom))
                            .where(Household.village_code == VILLAGES[0])
                            .order_by(Household.household_no)).first()
    frame = gpd.GeoDataFrame({"household_no": numbers, "village_code": [NOWHERE] * 3},
                             geometry=[Point(x + 1e-4 * i, y + 1e-4) for i in range(3)], crs=4326)
    with session_scope(engine, write=True) as s:
        upsert_households(s, frame)
        ids = household_ids(s, numbers)
        plan = partition_register(s, name="nowhere", village_codes=[*VILLAGES, NOWHERE]).plan
    return [ids[n] for n in numbers], plan.id


def _no_village(client, headers, pid):
    r = client.get(f"{API}/plans/{pid}/notes", headers=headers)
    assert r.status_code == 200, r.text
    return [n for n in r.json()["notes"] if n["kind"] == "no_village"]


def _remove(client, headers, hid):
    etag = client.get(f"{API}/households/{hid}", headers=headers).headers["ETag"]
    r = client.post(f"{API}/households/{hid}/removal", json={"reason": "moved_out", "date": "2026-11-30"},
                    headers={**headers, "If-Match": etag})
    assert r.status_code == 201, r.text
    return r.headers["ETag"]


def test_a_removed_household_is_no_longer_named_by_the_plans_notes(client, world, engine):
    planner, admin = _token(engine, "planner"), _token(engine, "admin")
    ids, pid = _nowhere_draft(engine)
    (note,) = _no_village(client, planner, pid)
    assert note["households"] == 3 and note["message"].startswith("3 household(s)")
    assert {o["id"] for o in note["objects"] if o["type"] == "household"} == set(ids)

    etag = _remove(client, planner, ids[0])
    for who in (planner, admin):
        (note,) = _no_village(client, who, pid)
        assert note["households"] == 2 and note["message"].startswith("2 household(s)"), note
        assert {o["id"] for o in note["objects"] if o["type"] == "household"} == set(ids[1:])

    # all three gone: nothing left to say of them
    _remove(client, planner, ids[1])
    _remove(client, planner, ids[2])
    assert _no_village(client, planner, pid) == []
    assert _no_village(client, admin, pid) == []

    # the undo brings the household back into the note
    r = client.delete(f"{API}/households/{ids[0]}/removal", headers={**planner, "If-Match": etag})
    assert r.status_code == 200, r.text
    (note,) = _no_village(client, planner, pid)
    assert note["households"] == 1 and note["message"].startswith("1 household(s)")
    assert [o["id"] for o in note["objects"] if o["type"] == "household"] == [ids[0]]
