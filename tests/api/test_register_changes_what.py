"""``register_changes`` reports what changes what the plan should be, and says what.

Before, it read ``households.updated_at``: a household's head renamed or its care level
changed (no cell changes) was reported as a change of its village, while a village's
outline re-imported with another shape (which does change the plan) was not reported
at all, and nothing said what had changed.  Now it reads ``households.placed_at`` and
``areas.outline_at`` (migration 0009): households added, moved (point, village,
building, hamlet) and taken out of the register, counted apart, and an outline redrawn,
with a message in words; a head's, a resident's or a care level's edit is not reported.
On the committed sample slice, both back-ends.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from tests.api.test_plan_notes import _token
from tests.api.test_register_changes import _a_household, _changes, _draft, _edit_point, _import_one
from tests.api.test_rerun_after_edits import VILLAGES
from tests.api.test_rerun_after_edits import world  # noqa: F401  (the fixture)


def _households(engine, village, n):
    from geogrid.db.models import Household

    with engine.connect() as conn:
        return conn.execute(select(Household.id).where(Household.village_code == village)
                            .order_by(Household.household_no).limit(n)).scalars().all()


def _redraw(engine, village):
    """The village's outline re-imported a metre wider, its name as it was."""
    from geogrid.db.areas import areas_frame, upsert_areas
    from geogrid.db.engine import session_scope

    with session_scope(engine, write=True) as s:
        frame = areas_frame(s, "village")
        frame = frame[frame["code"] == village].drop(columns=["area_id"])
        frame = frame.set_geometry(frame.geometry.buffer(1e-5))
        assert upsert_areas(s, frame, "village").updated == 1


def _rename(engine, village):
    from geogrid.db.areas import areas_frame, upsert_areas
    from geogrid.db.engine import session_scope

    with session_scope(engine, write=True) as s:
        frame = areas_frame(s, "village")
        frame = frame[frame["code"] == village].drop(columns=["area_id"])
        frame["name"] = frame["name"] + "（新名）"
        assert upsert_areas(s, frame, "village").updated == 1


def test_register_changes_report_what_changes_the_plan_in_words(client, world, engine):
    from geogrid.db.engine import session_scope
    from geogrid.db.households import update_household
    from geogrid.db.models import Person
    from geogrid.db.removals import remove_household

    a, b = VILLAGES
    planner = _token(engine, "planner")
    pid, _ = _draft(client, planner)
    h1, h2 = _households(engine, a, 2)
    # a head renamed, a care level, a resident renamed, a village renamed: no cell changes
    with session_scope(engine, write=True) as s:
        update_household(s, h1, {"head_name": "李四", "care_level": "red"})
        person = s.execute(select(Person).where(Person.household_id == h2)).scalars().first()
        if person is not None:
            person.name = "王五"
    _rename(engine, b)
    assert _changes(client, planner, pid) == []

    # an outline redrawn
    _redraw(engine, b)
    (change,) = _changes(client, planner, pid)
    assert change["village_code"] == b and change["outline"] is True
    assert (change["households"], change["added"], change["moved"], change["removed"]) == (0, 0, 0, 0)
    assert change["message"].startswith(f"village {b}: its outline was redrawn since the plan read it")
    assert dt.datetime.fromisoformat(change["changed_at"]) > dt.datetime.fromisoformat(change["read_at"])

    # one household moved, one added, one taken out of the register
    _edit_point(engine, h1)
    _import_one(engine, a)
    with session_scope(engine, write=True) as s:
        remove_household(s, h2, reason="moved_out", left_on=dt.date(2026, 11, 30), removed_by="test")
    got = {c["village_code"]: c for c in _changes(client, planner, pid)}
    assert (got[a]["households"], got[a]["added"], got[a]["moved"], got[a]["removed"], got[a]["outline"]) \
        == (3, 1, 1, 1, False)
    assert got[a]["message"] == (
        f"village {a}: 1 household(s) added and 1 household(s) moved (point, village, building or hamlet) and "
        "1 household(s) taken out of the register since the plan read it; its notes and validation may be "
        f"out of date until micro-grid(s) {', '.join(m['key'] for m in got[a]['microgrids'])} are re-run")
    assert got[a]["microgrids"] and all(m["households"] for m in got[a]["microgrids"])
    assert got[b]["outline"] is True

    # an analyst is told what changed, not how many
    analyst = _token(engine, "analyst-what", "analyst", ["area:431227"])
    _edit_point(engine, _a_household(engine, b))
    theirs = {c["village_code"]: c for c in _changes(client, analyst, world)}
    assert (theirs[b]["households"], theirs[b]["added"], theirs[b]["moved"], theirs[b]["removed"]) \
        == (None, None, None, None)
    assert theirs[b]["message"].startswith(
        f"village {b}: its outline was redrawn and households were added, moved or taken out of the register")
    words = theirs[b]["message"]
    for k in [*(m["key"] for m in theirs[b]["microgrids"]), b]:  # the micro-grids to re-run named
        words = words.replace(k, "")
    assert "1" not in words
