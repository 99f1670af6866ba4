"""A household leaving the register (POST /households/{id}/removal) and coming back
(DELETE of it), on both back-ends: who may, If-Match, the audit, the stored counts of
the published plan and a draft, the reads it vanishes from, and the undo."""

from __future__ import annotations

import json

from sqlalchemy import select

from tests.api.conftest import V1, V2

API = "/api/v1"


def _etag(client, headers, hid):
    r = client.get(f"{API}/households/{hid}", headers=headers)
    assert r.status_code == 200, r.text
    return r.headers["ETag"]


def _remove(client, headers, hid, etag, **body):
    body = {"reason": "moved_out", "date": "2026-11-30", **body}
    return client.post(f"{API}/households/{hid}/removal", json=body,
                       headers={**headers, **({"If-Match": etag} if etag else {})})


def _counts(engine, plan_id, cell_key):
    from geogrid.db.models import Cell, Microgrid

    with engine.connect() as conn:
        return conn.execute(select(Cell.households, Microgrid.households)
                            .join(Microgrid, Microgrid.id == Cell.microgrid_id)
                            .where(Cell.plan_id == plan_id, Cell.cell_key == cell_key)).one()


def _draft(client, tokens):
    r = client.post(f"{API}/plans", json={"name": "draft"}, headers=tokens["planner"])
    assert r.status_code == 201, r.text
    return r.json()["id"], r.headers["ETag"]


def test_a_cadre_removes_a_household_of_their_village_and_it_leaves_reads_counts_and_plans(
        client, tokens, world, engine):
    hid = world.households[V1][0]
    key = world.cell_of[hid]
    draft, draft_etag = _draft(client, tokens)
    assert _counts(engine, world.plan_id, key) == (3, 6) and _counts(engine, draft, key) == (3, 6)
    cadre = tokens["cadre1"]
    etag = _etag(client, cadre, hid)
    r = _remove(client, cadre, hid, etag, note="迁往长沙")
    assert r.status_code == 201, r.text
    assert r.json()["reason"] == "moved_out" and r.json()["date"] == "2026-11-30"
    assert r.json()["cell_key"] == key and sorted(r.json()["plans"]) == sorted([world.plan_id, draft])
    assert r.headers["ETag"] != etag
    # the counts of both current plans, stored, are right; the draft's ETag moved on
    assert _counts(engine, world.plan_id, key) == (2, 5) and _counts(engine, draft, key) == (2, 5)
    assert client.get(f"{API}/plans/{draft}", headers=tokens["planner"]).headers["ETag"] != draft_etag
    cells = client.get(f"{API}/cells", headers=cadre).json()["features"]
    assert {c["properties"]["cell_key"]: c["properties"]["households"] for c in cells}[key] == 2
    # gone from the house read, the pages, the search and the person reads
    assert client.get(f"{API}/households/{hid}", headers=cadre).status_code == 404
    page = client.get(f"{API}/households", params={"village": V1}, headers=cadre).json()
    assert hid not in {f["id"] for f in page["features"]} and page["numberMatched"] == 5
    hits = client.get(f"{API}/search", params={"q": "一村1组1号"}, headers=cadre).json()["hits"]
    assert hid not in {h["household_id"] for h in hits}
    person = world.persons[V1][0]
    assert client.get(f"{API}/persons/{person}", headers=cadre).status_code == 404
    # the draft's validation does not find it unassigned, nor anywhere
    problems = client.get(f"{API}/plans/{draft}/validation", headers=tokens["planner"]).json()["problems"]
    assert hid not in json.dumps(problems)
    # the removal is on record, and readable while it lasts
    got = client.get(f"{API}/households/{hid}/removal", headers=cadre).json()
    assert got["note"] == "迁往长沙" and got["removed_by"] == "cadre1"
    audit = client.get(f"{API}/audit", params={"action": "remove", "object_id": hid},
                       headers=tokens["admin"]).json()["entries"]
    assert len(audit) == 1 and audit[0]["actor"] == "cadre1"
    assert audit[0]["detail"]["reason"] == "moved_out" and audit[0]["detail"]["cell_key"] == key


def test_undo_puts_the_household_back_in_its_cells_and_counts(client, tokens, world, engine):
    hid = world.households[V1][1]
    key = world.cell_of[hid]
    draft, _ = _draft(client, tokens)
    planner = tokens["planner"]
    r = _remove(client, planner, hid, _etag(client, planner, hid), reason="dissolved")
    assert r.status_code == 201, r.text
    assert client.delete(f"{API}/households/{hid}/removal", headers=planner).status_code == 428
    u = client.delete(f"{API}/households/{hid}/removal", headers={**planner, "If-Match": r.headers["ETag"]})
    assert u.status_code == 200, u.text
    assert u.json()["restored"] == {world.plan_id: world.cells[key], draft: u.json()["restored"][draft]}
    assert u.json()["unplaced"] == []
    assert _counts(engine, world.plan_id, key) == (3, 6) and _counts(engine, draft, key) == (3, 6)
    house = client.get(f"{API}/households/{hid}", headers=tokens["cadre1"])
    assert house.status_code == 200 and house.json()["properties"]["cell_key"] == key
    assert client.get(f"{API}/households/{hid}/removal", headers=planner).status_code == 404
    # undoing twice is refused as a state, not as a stale ETag
    again = client.delete(f"{API}/households/{hid}/removal", headers={**planner, "If-Match": u.headers["ETag"]})
    assert again.status_code == 409 and again.json()["message"]["key"] == "household.not_removed"
    audit = client.get(f"{API}/audit", params={"action": "restore", "object_id": hid},
                       headers=tokens["admin"]).json()["entries"]
    assert len(audit) == 1 and audit[0]["detail"]["removal"]["reason"] == "dissolved"


def test_undo_never_takes_a_cell_over_the_cap(client, tokens, world, engine):
    """A cell filled by hand while its household was out: the undo puts it back in the
    register but in no cell of that plan (unplaced), not as the cap's one too many."""
    from sqlalchemy import update

    from geogrid.db.models import Assignment, Plan

    hid = world.households[V1][0]
    key = world.cell_of[hid]
    other = next(h for h in world.households[V1] if world.cell_of[h] != key)
    planner = tokens["planner"]
    with engine.begin() as conn:  # this county's cells hold 3 at most
        conn.execute(update(Plan).where(Plan.id == world.plan_id).values(params={"max_households": 3}))
    r = _remove(client, planner, hid, _etag(client, planner, hid))
    assert r.status_code == 201, r.text
    assert _counts(engine, world.plan_id, key)[0] == 2
    with engine.begin() as conn:  # a household of the other cell moved in (as by hand)
        conn.execute(update(Assignment).where(Assignment.plan_id == world.plan_id,
                                              Assignment.household_id == other)
                     .values(cell_id=world.cells[key]))
    u = client.delete(f"{API}/households/{hid}/removal", headers={**planner, "If-Match": r.headers["ETag"]})
    assert u.status_code == 200, u.text
    assert u.json()["restored"] == {} and u.json()["unplaced"] == [world.plan_id]
    with engine.connect() as conn:
        held = conn.execute(select(Assignment.cell_id).where(Assignment.plan_id == world.plan_id,
                                                             Assignment.household_id == hid)).all()
        n = len(conn.execute(select(Assignment.household_id).where(Assignment.cell_id == world.cells[key])).all())
    assert held == [] and n == 3
    house = client.get(f"{API}/households/{hid}", headers=tokens["cadre1"])
    assert house.status_code == 200 and house.json()["properties"]["cell_key"] is None


def test_a_draft_copied_from_an_archived_plan_leaves_a_removed_household_out(client, tokens, world, engine):
    """An archived plan keeps a household that left the register (history); a draft made
    from it (from_plan) is a current plan, so it holds it no more, counts included."""
    from sqlalchemy import update

    from geogrid.db.models import Assignment, Plan

    hid = world.households[V1][2]
    key = world.cell_of[hid]
    old, _ = _draft(client, tokens)
    with engine.begin() as conn:  # an earlier plan, archived since
        conn.execute(update(Plan).where(Plan.id == old).values(status="archived"))
    planner = tokens["planner"]
    assert _remove(client, planner, hid, _etag(client, planner, hid)).status_code == 201
    assert _counts(engine, old, key) == (3, 6)  # the archive keeps it
    r = client.post(f"{API}/plans", json={"name": "from the archive", "from_plan": old}, headers=planner)
    assert r.status_code == 201, r.text
    new = r.json()["id"]
    assert _counts(engine, new, key) == (2, 5)
    with engine.connect() as conn:
        assert conn.execute(select(Assignment.cell_id).where(Assignment.plan_id == new,
                                                             Assignment.household_id == hid)).all() == []
    problems = client.get(f"{API}/plans/{new}/validation", headers=planner).json()["problems"]
    assert not [p for p in problems if hid in json.dumps(p)]


def test_a_cadre_cannot_remove_a_household_outside_their_grid(client, tokens, world):
    other_village = world.households[V2][0]
    etag = _etag(client, tokens["admin"], other_village)
    r = _remove(client, tokens["cadre1"], other_village, etag)
    assert r.status_code == 404 and r.json()["message"]["key"] == "household.not_found"
    # a cell's cadre: a household of the other cell of their micro-grid is not theirs
    cell_cadre = tokens["cadre2c"]
    mine = [h for h in world.households[V2] if world.cell_of[h] == f"{V2}-M01-C02"]
    theirs = [h for h in world.households[V2] if world.cell_of[h] == f"{V2}-M01-C01"]
    assert _remove(client, cell_cadre, theirs[0], _etag(client, tokens["admin"], theirs[0])).status_code == 404
    # their own, which they may take out and, though the published plan holds it no
    # more, put back
    r = _remove(client, cell_cadre, mine[0], _etag(client, cell_cadre, mine[0]), reason="duplicate",
                merged_into=mine[1])
    assert r.status_code == 201, r.text
    u = client.delete(f"{API}/households/{mine[0]}/removal", headers={**cell_cadre, "If-Match": r.headers["ETag"]})
    assert u.status_code == 200, u.text
    # an analyst may not at all
    r = _remove(client, tokens["analyst"], mine[0], _etag(client, tokens["admin"], mine[0]))
    assert r.status_code == 403
    # and nothing was removed by the refusals
    assert client.get(f"{API}/households/{other_village}", headers=tokens["admin"]).status_code == 200
    assert client.get(f"{API}/households/{theirs[0]}", headers=tokens["admin"]).status_code == 200


def test_a_stale_if_match_is_refused_and_changes_nothing(client, tokens, world, engine):
    hid = world.households[V1][2]
    key = world.cell_of[hid]
    cadre, planner = tokens["cadre1"], tokens["planner"]
    stale = _etag(client, cadre, hid)
    # someone else removes it and undoes that meanwhile: its version moved on twice
    r = _remove(client, planner, hid, stale)
    assert r.status_code == 201
    assert client.delete(f"{API}/households/{hid}/removal",
                         headers={**planner, "If-Match": r.headers["ETag"]}).status_code == 200
    refused = _remove(client, cadre, hid, stale)
    assert refused.status_code == 412 and refused.json()["message"]["key"] == "household.stale"
    assert _remove(client, cadre, hid, None).status_code == 428
    assert _counts(engine, world.plan_id, key) == (3, 6)
    assert client.get(f"{API}/households/{hid}", headers=cadre).status_code == 200
    # removing twice is refused as a state
    fresh = _etag(client, cadre, hid)
    ok = _remove(client, cadre, hid, fresh)
    assert ok.status_code == 201
    twice = _remove(client, cadre, hid, ok.headers["ETag"])
    assert twice.status_code == 409 and twice.json()["message"]["key"] == "household.already_removed"


def test_a_merge_names_the_household_it_joined_in_scope(client, tokens, world):
    cadre = tokens["cadre1"]
    hid = world.households[V1][3]
    etag = _etag(client, cadre, hid)
    r = _remove(client, cadre, hid, etag, reason="merged")
    assert r.status_code == 422 and r.json()["message"]["key"] == "household.merged_into_missing"
    # a household of another village is none of theirs to name
    r = _remove(client, cadre, hid, etag, reason="merged", merged_into=world.households[V2][0])
    assert r.status_code == 422 and r.json()["message"]["key"] == "household.merged_into_not_found"
    r = _remove(client, cadre, hid, etag, reason="moved_out", merged_into=world.households[V1][4])
    assert r.status_code == 422 and r.json()["message"]["key"] == "household.merged_into_unexpected"
    r = _remove(client, cadre, hid, etag, reason="merged", merged_into=world.households[V1][4])
    assert r.status_code == 201 and r.json()["merged_into"] == world.households[V1][4]


def test_the_export_and_the_partition_inputs_leave_removed_households_out(client, tokens, world, engine):
    from geogrid.db.engine import make_sessionmaker
    from geogrid.db.households import households_frame
    from geogrid.db.persons import persons_frame
    from geogrid.db.registerpartition import read_register

    hid = world.households[V2][2]
    admin = tokens["admin"]
    assert _remove(client, admin, hid, _etag(client, admin, hid)).status_code == 201
    with make_sessionmaker(engine)() as s:
        assert hid not in set(households_frame(s)["household_id"]) and len(households_frame(s)) == 11
        assert hid in set(households_frame(s, removed=True)["household_id"])
        assert hid not in set(persons_frame(s)["household_id"])
        assert hid not in set(read_register(s, [V2]).households["household_id"])


def test_concurrent_removals_with_the_same_etag_one_wins(app, tokens, world, engine):
    """Eight removals of one household sent at once with the ETag all read: one is
    made, the others are refused as stale (412), and the counts are taken once."""
    import threading

    from fastapi.testclient import TestClient

    hid = world.households[V2][4]
    key = world.cell_of[hid]
    with TestClient(app) as c:
        etag = _etag(c, tokens["admin"], hid)
        barrier, results = threading.Barrier(8), [None] * 8

        def remove(i):
            barrier.wait()
            results[i] = _remove(c, tokens["planner" if i % 2 else "admin"], hid, etag).status_code

        threads = [threading.Thread(target=remove, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert sorted(results) == [201] + [412] * 7, results
    assert _counts(engine, world.plan_id, key) == (2, 5)
