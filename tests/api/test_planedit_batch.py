"""POST /plans/{id}/edits: several edits in one transaction, all or nothing, one ETag bump."""

import pytest

from tests.api.conftest import V1, V2, if_match as _h


def _version(etag):
    return int(etag.strip('"').rsplit("-", 1)[1])


def _state(client, tokens, pid):
    """Everything an edit could change: the plan's ETag, cells (geometry, counts, locks)
    and who is in which cell."""
    etag = client.get(f"/api/v1/plans/{pid}", headers=tokens["admin"]).headers["etag"]
    cells = client.get(f"/api/v1/cells?plan={pid}", headers=tokens["admin"]).json()["features"]
    members = {c["id"]: sorted(f["id"] for f in client.get(
        "/api/v1/households", params={"cell": c["id"], "plan": pid}, headers=tokens["admin"]).json()["features"])
        for c in cells}
    mgs = client.get(f"/api/v1/microgrids?plan={pid}", headers=tokens["admin"]).json()["features"]
    strip = lambda fc: sorted((f["id"], str(f["geometry"]), sorted(f["properties"].items())) for f in fc)  # noqa: E731
    return etag, strip(cells), members, strip(mgs)


def _post(client, tokens, pid, edits, etag=None, who="planner"):
    return client.post(f"/api/v1/plans/{pid}/edits", json={"edits": edits}, headers=_h(tokens, etag, who))


def test_a_good_batch_applies_everything_with_one_etag_bump(client, tokens, draft, world):
    pid, etag = draft["id"], draft["etag"]
    c1, c2 = draft["cells"][f"{V1}-M01-C01"], draft["cells"][f"{V1}-M01-C02"]
    r = client.post(f"/api/v1/plans/{pid}/cells/{c1}/lock", headers=_h(tokens, etag))
    etag = r.headers["etag"]
    h1 = world.households[V1][0]  # in C01
    in_c2 = [h for h in world.households[V1] if world.cell_of[h] == f"{V1}-M01-C02"]
    edits = [
        {"op": "unlock", "cell_id": c1},
        {"op": "move", "moves": [{"household_id": h1, "cell_id": c2}]},
        {"op": "split", "cell_id": c2, "household_ids": in_c2[:2]},
        {"op": "lock", "cell_id": c2},
    ]
    r = _post(client, tokens, pid, edits, etag)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["applied"] == 4 and [x["op"] for x in body["results"]] == ["unlock", "move", "split", "lock"]
    assert r.headers["etag"] == body["etag"] and _version(body["etag"]) == _version(etag) + 1
    new_cell = body["results"][2]["new_cell_id"]
    _, cells, members, _ = _state(client, tokens, pid)
    assert members[new_cell] == sorted(in_c2[:2])
    assert members[c2] == sorted([h1] + in_c2[2:])
    locked = {c[0]: dict(c[2])["locked"] for c in cells}
    assert locked[c1] is False and locked[c2] is True
    # audited like the single edits: one row per operation, and the batch
    entries = client.get("/api/v1/audit", params={"object_id": pid, "limit": 1000},
                         headers=tokens["admin"]).json()["entries"]
    actions = [e["action"] for e in entries if e["actor"] == "planner"]
    for a in ("edit_batch", "unlock_cell", "move_households", "split_cell", "lock_cell"):
        assert a in actions, actions
    assert actions.count("lock_cell") == 2  # the single lock before, and the batch's


def test_a_batch_whose_last_edit_fails_changes_nothing(client, tokens, draft, world):
    pid, etag = draft["id"], draft["etag"]
    c1, c2 = draft["cells"][f"{V1}-M01-C01"], draft["cells"][f"{V1}-M01-C02"]
    before = _state(client, tokens, pid)
    h1 = world.households[V1][0]
    edits = [
        {"op": "lock", "cell_id": c2},
        {"op": "unlock", "cell_id": c2},
        {"op": "move", "moves": [{"household_id": h1, "cell_id": c2}]},
        {"op": "split", "cell_id": c1, "household_ids": ["not-a-household"]},
    ]
    r = _post(client, tokens, pid, edits, etag)
    assert r.status_code == 422, r.text
    err = r.json()
    assert err["errors"][0]["index"] == 3 and err["errors"][0]["op"] == "split"
    assert err["detail"].startswith("edit 3 (split) failed") and "not in cell" in err["detail"]
    assert _state(client, tokens, pid) == before
    # the ETag is still good: the same edits without the bad one go through
    r = _post(client, tokens, pid, edits[:3], etag)
    assert r.status_code == 200, r.text


def test_a_locked_cell_earlier_in_the_batch_is_seen_by_the_later_edits(client, tokens, draft, world):
    pid, etag = draft["id"], draft["etag"]
    c2 = draft["cells"][f"{V1}-M01-C02"]
    before = _state(client, tokens, pid)
    r = _post(client, tokens, pid, [
        {"op": "lock", "cell_id": c2},
        {"op": "move", "moves": [{"household_id": world.households[V1][0], "cell_id": c2}]},
    ], etag)
    assert r.status_code == 409, r.text
    assert r.json()["errors"][0]["index"] == 1 and "locked" in r.json()["detail"]
    assert _state(client, tokens, pid) == before


def test_if_match_stale_412_missing_428(client, tokens, draft):
    pid, etag = draft["id"], draft["etag"]
    c1 = draft["cells"][f"{V1}-M01-C01"]
    edits = [{"op": "lock", "cell_id": c1}]
    assert _post(client, tokens, pid, edits).status_code == 428
    r = _post(client, tokens, pid, edits, etag)
    assert r.status_code == 200
    fresh = r.headers["etag"]
    before = _state(client, tokens, pid)
    assert _post(client, tokens, pid, [{"op": "unlock", "cell_id": c1}], etag).status_code == 412
    assert _state(client, tokens, pid) == before and before[0] == fresh


def test_scope_and_roles_as_the_single_edits(client, tokens, draft, world):
    pid, etag = draft["id"], draft["etag"]
    v1c, v2c = draft["cells"][f"{V1}-M01-C01"], draft["cells"][f"{V2}-M01-C01"]
    before = _state(client, tokens, pid)
    # planner1 (village V1): a V2 cell is out of scope, 404 as for the single lock
    single = client.post(f"/api/v1/plans/{pid}/cells/{v2c}/lock", headers=_h(tokens, etag, "planner1"))
    batch = _post(client, tokens, pid, [{"op": "lock", "cell_id": v1c}, {"op": "lock", "cell_id": v2c}],
                  etag, who="planner1")
    assert single.status_code == batch.status_code == 404, batch.text
    assert batch.json()["errors"][0]["index"] == 1
    move_v2 = [{"household_id": world.households[V2][0], "cell_id": v1c}]
    assert _post(client, tokens, pid, [{"op": "move", "moves": move_v2}], etag, who="planner1").status_code == 404
    # roles that may not edit plans: the same answer as the single edit
    for who in ("cadre1", "analyst"):
        single = client.post(f"/api/v1/plans/{pid}/cells/{v1c}/lock", headers=_h(tokens, etag, who))
        batch = _post(client, tokens, pid, [{"op": "lock", "cell_id": v1c}], etag, who=who)
        assert single.status_code == batch.status_code and batch.status_code in (403, 404), (who, batch.text)
    assert _state(client, tokens, pid) == before
    # in scope it works for planner1, and an admin may edit anything
    assert _post(client, tokens, pid, [{"op": "lock", "cell_id": v1c}], etag, who="planner1").status_code == 200


def test_published_plan_and_malformed_batches(client, tokens, draft, world):
    plan = client.get(f"/api/v1/plans/{world.plan_id}", headers=tokens["planner"])
    c = world.cells[f"{V1}-M01-C01"]
    r = _post(client, tokens, world.plan_id, [{"op": "lock", "cell_id": c}], plan.headers["etag"])
    assert r.status_code == 409  # only drafts
    pid, etag = draft["id"], draft["etag"]
    for edits in ([], [{"op": "explode", "cell_id": c}], [{"op": "lock"}],
                  [{"op": "lock", "cell_id": c, "extra": 1}], "all"):
        r = client.post(f"/api/v1/plans/{pid}/edits", json={"edits": edits}, headers=_h(tokens, etag))
        assert r.status_code == 422, (edits, r.text)
    bad = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    mg = draft["microgrids"][f"{V1}-M01"]
    before = _state(client, tokens, pid)
    r = _post(client, tokens, pid, [{"op": "lock", "cell_id": draft["cells"][f"{V1}-M01-C01"]},
                                    {"op": "boundary", "microgrid_id": mg, "geometry": bad}], etag)
    assert r.status_code == 422 and r.json()["errors"][0]["index"] == 1, r.text
    r = _post(client, tokens, pid, [{"op": "merge", "cells": [draft["cells"][f"{V1}-M01-C01"]] * 2}], etag)
    assert r.status_code == 422 and r.json()["errors"][0]["index"] == 0, r.text
    assert _state(client, tokens, pid) == before
