"""A re-run answers with the plan's notes as they now are.

Before, POST plans/{id}/repartition answered what it did and the engine's notes of the
run, but not the plan's notes brought up to date by it (those it replaced, those that
follow assignments village-wide, acknowledged or not) nor that the register had now
been read again: the planner's map had to ask GET plans/{id}/notes again.  Now the
answer carries ``plan_notes``, what that GET gives the caller (within their scope, with
``register_changes``), and so does a batch of edits holding a re-run.  On the committed
sample slice, both back-ends.
"""

from __future__ import annotations

from tests.api.test_plan_notes import _token
from tests.api.test_register_changes import _a_household, _draft, _edit_point, _microgrid
from tests.api.test_rerun_after_edits import VILLAGES
from tests.api.test_rerun_after_edits import world  # noqa: F401  (the fixture)


def _notes(client, headers, pid):
    r = client.get(f"/api/v1/plans/{pid}/notes", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_a_rerun_answers_the_plans_notes_as_a_get_gives_them_after_it(client, world, engine):
    a, b = VILLAGES
    planner = _token(engine, "planner")
    pid, etag = _draft(client, planner)
    _edit_point(engine, _a_household(engine, a))
    assert [c["village_code"] for c in _notes(client, planner, pid)["register_changes"]] == [a]
    r = client.post(f"/api/v1/plans/{pid}/repartition", json={"microgrids": [_microgrid(engine, pid, a)]},
                    headers={**planner, "If-Match": etag})
    assert r.status_code == 200, r.text
    got = r.json()["plan_notes"]
    assert got == _notes(client, planner, pid)
    assert got["register_changes"] == [] and got["notes"] and got["version"] == int(r.headers["ETag"].strip('"').rsplit("-", 1)[1])

    # a planner of village b alone is answered the notes of their scope, as their GET is
    only_b = _token(engine, "planner_b", role="planner", scopes=[f"area:{b}"])
    r = client.post(f"/api/v1/plans/{pid}/repartition", json={"microgrids": [_microgrid(engine, pid, b)]},
                    headers={**only_b, "If-Match": r.headers["ETag"]})
    assert r.status_code == 200, r.text
    mine = r.json()["plan_notes"]
    assert mine == _notes(client, only_b, pid) and mine != _notes(client, planner, pid)

    # and a batch of edits holding a re-run
    r = client.post(f"/api/v1/plans/{pid}/edits",
                    json={"edits": [{"op": "repartition", "microgrids": [_microgrid(engine, pid, a)]}]},
                    headers={**planner, "If-Match": r.headers["ETag"]})
    assert r.status_code == 200, r.text
    assert r.json()["plan_notes"] == _notes(client, planner, pid)
