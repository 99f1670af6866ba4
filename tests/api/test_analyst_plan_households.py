"""An analyst reads a published plan's notes and validation without its households.

Both named households by id, with the cell each is in (a building over the cap, an
isolated household, a household outside its cell): analysts, who read "geometry and
aggregates only, never a household", were told which household of which cell.  Notes
that name households are now left out for them, and so are the problems of households;
the plan's ``valid`` stays what it is.  On the committed sample slice, both back-ends."""

from __future__ import annotations

from sqlalchemy import func, select, update

from tests.api.test_plan_notes import _token
from tests.api.test_rerun_after_edits import world  # noqa: F401  (the fixture)


def _get(client, headers, path):
    r = client.get(path, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def _household_objects(items):
    return [o for i in items for o in i["objects"] if o["type"] == "household"]


def test_an_analyst_reads_no_household_in_a_plans_notes_or_validation(client, world, engine):
    from geogrid.db.engine import session_scope
    from geogrid.db.models import Household

    planner = _token(engine, "planner")
    analyst = _token(engine, "analyst-notes", "analyst", ["area:431227"])
    notes = _get(client, planner, f"/api/v1/plans/{world}/notes")["notes"]
    naming = [n for n in notes if n["households"]]
    assert naming and _household_objects(naming), "the slice's plan has notes that name households"
    theirs = _get(client, analyst, f"/api/v1/plans/{world}/notes")
    assert _household_objects(theirs["notes"]) == [] and not any(n["households"] for n in theirs["notes"])
    assert {n["id"] for n in theirs["notes"]} == {n["id"] for n in notes if not n["households"]}
    assert sum(theirs["by_kind"].values()) == len(theirs["notes"])

    # a household moved a kilometre out of its cell: a problem of that household
    with session_scope(engine, write=True) as s:
        hid = s.execute(select(Household.id).order_by(Household.household_no)).scalars().first()
        x, y = s.execute(select(func.ST_X(Household.geom), func.ST_Y(Household.geom))
                         .where(Household.id == hid)).one()
        s.execute(update(Household).where(Household.id == hid)
                  .values(geom=func.ST_GeomFromText(f"POINT({x + 0.01} {y})", 4326)))
    mine = _get(client, planner, f"/api/v1/plans/{world}/validation")
    assert any(o.get("id") == hid for o in _household_objects(mine["problems"])), mine["problems"]
    seen = _get(client, analyst, f"/api/v1/plans/{world}/validation")
    assert _household_objects(seen["problems"]) == [] and seen["valid"] == mine["valid"]
