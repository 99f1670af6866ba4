"""Cells nest in villages: a hand move into another village's cell is refused.

Before, ``PATCH /plans/{id}/assignments`` (and a move in ``POST /plans/{id}/edits``)
put a household of village A into a cell of village B without a word: the cell then
held a household whose point lies in another village, validation only warned
(``outside_cell``), and the plan could be published so.  On the sample slice's two
villages, on both back-ends."""

from __future__ import annotations

from tests.api.test_plan_notes import _token
from tests.api.test_rerun_after_edits import VILLAGES
from tests.api.test_rerun_after_edits import world  # noqa: F401  (the fixture)


def _draft(client, planner):
    r = client.post("/api/v1/plans", json={"name": "draft"}, headers=planner)
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["etag"]


def _cells(client, headers, pid):
    feats = client.get("/api/v1/cells", params={"plan": pid, "limit": 5000}, headers=headers).json()["features"]
    by_village: dict[str, list] = {}
    for f in feats:
        by_village.setdefault(f["properties"]["village_code"], []).append(f)
    return by_village


def _assignments(engine, pid):
    from sqlalchemy import text

    with engine.connect() as c:
        return dict(c.execute(text("SELECT household_id, cell_id FROM assignments WHERE plan_id = :p"),
                              {"p": pid}).all())


def test_a_move_into_another_villages_cell_is_refused_and_changes_nothing(client, world, engine):
    admin = _token(engine, "admin")
    pid, etag = _draft(client, admin)
    cells = _cells(client, admin, pid)
    a, b = cells[VILLAGES[0]], cells[VILLAGES[1]]
    h = client.get("/api/v1/households", params={"plan": pid, "cell": a[0]["id"]},
                   headers=admin).json()["features"][0]["id"]
    before = _assignments(engine, pid)
    r = client.patch(f"/api/v1/plans/{pid}/assignments", json={"moves": [{"household_id": h, "cell_id": b[0]["id"]}]},
                     headers={**admin, "If-Match": etag})
    assert r.status_code == 422, r.text
    body = r.json()
    assert f"village {VILLAGES[0]}" in body["detail"] and f"village {VILLAGES[1]}" in body["detail"]
    assert body["errors"][0]["type"] == "move_across_villages"
    assert body["errors"][0]["params"] == {"household": h, "from_village": VILLAGES[0],
                                           "cell": b[0]["properties"]["cell_key"], "to_village": VILLAGES[1]}
    # in a batch, after a move that is fine: the whole batch is refused
    other = a[1]["id"]
    r = client.post(f"/api/v1/plans/{pid}/edits", json={"edits": [
        {"op": "move", "moves": [{"household_id": h, "cell_id": other}]},
        {"op": "move", "moves": [{"household_id": h, "cell_id": b[0]["id"]}]}]},
        headers={**admin, "If-Match": etag})
    assert r.status_code == 422, r.text
    assert _assignments(engine, pid) == before
    # a move within the village still goes through, with the same ETag
    r = client.patch(f"/api/v1/plans/{pid}/assignments", json={"moves": [{"household_id": h, "cell_id": other}]},
                     headers={**admin, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert _assignments(engine, pid)[h] == other


def test_a_cell_without_a_village_code_is_in_its_micro_grids_village(client, world, engine):
    """A cell's own ``village_code`` may be missing (a plan saved from a result whose
    cells did not carry it): its village is its micro-grid's.  Before, a move out of
    such a cell into another cell of the same micro-grid was refused ("household ... is
    in village None"), and a move between two such cells of different villages went
    through."""
    from sqlalchemy import text

    admin = _token(engine, "admin")
    pid, etag = _draft(client, admin)
    cells = _cells(client, admin, pid)
    a, b = cells[VILLAGES[0]], cells[VILLAGES[1]]
    sibling = next(c for c in a[1:] if c["properties"]["microgrid_id"] == a[0]["properties"]["microgrid_id"])
    h = client.get("/api/v1/households", params={"plan": pid, "cell": a[0]["id"]},
                   headers=admin).json()["features"][0]["id"]
    with engine.begin() as c:
        c.execute(text("UPDATE cells SET village_code = NULL WHERE plan_id = :p AND id IN (:a, :b)"),
                  {"p": pid, "a": a[0]["id"], "b": b[0]["id"]})
    r = client.patch(f"/api/v1/plans/{pid}/assignments", json={"moves": [{"household_id": h, "cell_id": sibling["id"]}]},
                     headers={**admin, "If-Match": etag})
    assert r.status_code == 200, r.text
    etag = r.headers["ETag"]
    # back into the cell without a code, then into the other village's cell without one
    r = client.patch(f"/api/v1/plans/{pid}/assignments", json={"moves": [{"household_id": h, "cell_id": a[0]["id"]}]},
                     headers={**admin, "If-Match": etag})
    assert r.status_code == 200, r.text
    etag = r.headers["ETag"]
    before = _assignments(engine, pid)
    r = client.patch(f"/api/v1/plans/{pid}/assignments", json={"moves": [{"household_id": h, "cell_id": b[0]["id"]}]},
                     headers={**admin, "If-Match": etag})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["params"] == {"household": h, "from_village": VILLAGES[0],
                                               "cell": b[0]["properties"]["cell_key"], "to_village": VILLAGES[1]}
    assert _assignments(engine, pid) == before
