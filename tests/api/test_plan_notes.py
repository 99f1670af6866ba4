"""The partition engine's notes are kept with the plan and shown through the API.

Before, ``geogrid partition`` printed the first 20 of the engine's notes (a building
over the cap, an isolated household, a hamlet split...) to the terminal and dropped
them: a planner opening the draft in the web map never learnt why a cell holds 26
households.  Now they are stored with the plan, copied into drafts made from it,
brought up to date by a re-run, and read at ``GET /plans/{id}/notes``, scoped as
everything else.

On the committed sample slice (tests/api/test_rerun_after_edits.py's world: two
villages partitioned by ``partition_register`` and published), on both back-ends.
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.api.test_rerun_after_edits import VILLAGES
from tests.api.test_rerun_after_edits import world  # noqa: F401  (the fixture)

#: every field a note may have; household ids only inside ``objects``
NOTE_KEYS = {"id", "kind", "message", "households", "village_code", "microgrids", "cells", "villages",
             "params", "objects", "acknowledged"}


def _token(engine, username, role=None, scopes=None):
    """Bearer headers for ``username``, added first with ``role`` and ``scopes`` if given."""
    from sqlalchemy import select

    from geogrid.api.security import hash_password, issue_token
    from geogrid.db.engine import session_scope
    from geogrid.db.models import User
    from geogrid.db.users import add_user
    from tests.api.conftest import PASSWORD, SECRET

    if role:
        with session_scope(engine, write=True) as s:
            add_user(s, username, hash_password(PASSWORD), role, scopes or [])
    with engine.connect() as conn:
        u = conn.execute(select(User.id, User.role, User.password_hash)
                         .where(User.username == username)).one()
    token, _ = issue_token(SECRET, user_id=u.id, username=username, role=u.role,
                           password_hash=u.password_hash, minutes=30)
    return {"Authorization": f"Bearer {token}"}


def _notes(client, headers, pid, **params):
    r = client.get(f"/api/v1/plans/{pid}/notes", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    for n in body["notes"]:
        assert set(n) <= NOTE_KEYS, n
        assert isinstance(n["households"], int)
    assert body["by_kind"] == dict(Counter(n["kind"] for n in body["notes"]))
    assert body["open"] == sum(n["acknowledged"] is None for n in body["notes"])
    assert body["recorded"] is True  # (every plan here was saved with its notes)
    return body["notes"]


def _engine_notes(engine):
    """The engine's own diagnostics for the world's register, computed afresh."""
    from geogrid.db.engine import session_scope
    from geogrid.db.registerpartition import read_register
    from geogrid.partition import partition

    with session_scope(engine) as s:
        inputs = read_register(s, VILLAGES)
    return partition(inputs.households, inputs.villages).diagnostics


def _key(n):
    return n["kind"], n["village_code"], n["message"]


def test_the_plan_keeps_the_engines_notes(client, world, engine):
    admin = _token(engine, "admin")
    got = _notes(client, admin, world)
    want = _engine_notes(engine)
    assert want, "the sample's two villages have buildings over the cap: the test needs notes"
    assert Counter(map(_key, got)) == Counter(map(_key, want))
    sizes = {_key(d): len(d["households"]) for d in want}
    for n in got:
        assert n["households"] == sizes[_key(n)]


def test_a_note_points_at_the_households_and_the_cell_it_is_about(client, world, engine):
    """A building over the cap: its households as objects, and the cell they are in,
    which holds them all (it was kept whole)."""
    admin = _token(engine, "admin")
    building = [n for n in _notes(client, admin, world) if n["kind"] == "oversize_building"]
    assert building
    for n in building:
        houses = [o["id"] for o in n["objects"] if o["type"] == "household"]
        cells = [o for o in n["objects"] if o["type"] == "cell"]
        assert len(houses) == min(n["households"], 20)
        assert len(cells) == 1, n["objects"]
        r = client.get("/api/v1/households", params={"plan": world, "cell": cells[0]["id"], "limit": 500},
                       headers=admin)
        assert r.status_code == 200, r.text
        in_cell = {f["id"] for f in r.json()["features"]}
        assert set(houses) <= in_cell
        assert len(in_cell) == n["households"]  # a cell of its own


def test_notes_follow_the_callers_scope(client, world, engine):
    admin = _token(engine, "admin")
    everything = _notes(client, admin, world)
    by_village = Counter(n["village_code"] for n in everything)
    for code in VILLAGES:
        mine = _notes(client, _token(engine, f"p{code}", "planner", [f"area:{code}"]), world)
        assert len(mine) == by_village[code]
        assert {n["village_code"] for n in mine} <= {code}
    # a micro-grid's leader: the notes about the households of that micro-grid only
    n = next(n for n in everything if n["kind"] == "oversize_building")
    cell = next(o for o in n["objects"] if o["type"] == "cell")
    mg_key = cell["key"].rsplit("-", 1)[0]
    leader = _token(engine, "leader", "cadre", [f"microgrid:{mg_key}"])
    theirs = _notes(client, leader, world)
    assert n["id"] in {x["id"] for x in theirs}
    for x in theirs:
        assert any(o["type"] == "cell" and o["key"].startswith(mg_key + "-") for o in x["objects"]), x
    # another county's planner sees none of them
    assert _notes(client, _token(engine, "elsewhere", "planner", ["area:110101"]), world) == []


def test_notes_of_one_microgrid(client, world, engine):
    admin = _token(engine, "admin")
    everything = _notes(client, admin, world)
    mgs = client.get("/api/v1/microgrids", params={"plan": world, "limit": 500}, headers=admin).json()["features"]
    total = 0
    for mg in mgs:
        key = mg["properties"]["microgrid_key"]
        got = _notes(client, admin, world, microgrid=mg["id"])
        for n in got:
            assert any(o.get("key", "").startswith(key) for o in n["objects"] if o["type"] != "household"), n
        total += len(got)
    # every note here is about the households of one micro-grid
    assert total == len(everything)
    assert _notes(client, admin, world, kind="no_such_kind") == []


def test_a_draft_takes_the_notes_of_its_plan(client, world, engine):
    planner = _token(engine, "planner")
    r = client.post("/api/v1/plans", json={"name": "draft"}, headers=planner)
    assert r.status_code == 201, r.text
    draft = r.json()["id"]
    before = _notes(client, planner, world)
    after = _notes(client, planner, draft)
    assert Counter(map(_key, after)) == Counter(map(_key, before))
    assert {n["id"] for n in after}.isdisjoint({n["id"] for n in before})
    # the objects are the draft's own cells
    cells = {f["id"] for f in client.get("/api/v1/cells", params={"plan": draft, "limit": 5000},
                                          headers=planner).json()["features"]}
    assert {o["id"] for n in after for o in n["objects"] if o["type"] == "cell"} <= cells


def test_a_rerun_replaces_the_notes_about_what_it_resolved(client, world, engine):
    """A note about a micro-grid that was re-run goes (the re-run gives its own notes
    instead); notes about other micro-grids stay; a note the re-run gives again is
    there once."""
    from geogrid.db.engine import session_scope
    from geogrid.db.plannotes import save_notes

    planner = _token(engine, "planner")
    r = client.post("/api/v1/plans", json={"name": "draft"}, headers=planner)
    draft, etag = r.json()["id"], r.json()["etag"]
    building = [n for n in _notes(client, planner, draft) if n["kind"] == "oversize_building"]
    cell_key = next(o for o in building[0]["objects"] if o["type"] == "cell")["key"]
    x_key = cell_key.rsplit("-", 1)[0]
    mgs = {f["properties"]["microgrid_key"]: f["id"] for f in client.get(
        "/api/v1/microgrids", params={"plan": draft, "limit": 500}, headers=planner).json()["features"]}
    y_key = next(k for k in sorted(mgs) if k != x_key)
    stale = [{"kind": "microgrid_in_pieces", "village_code": x_key[:12], "households": [],
              "message": f"micro-grid {x_key} is in 2 pieces", "microgrids": [x_key], "params": {"pieces": 2}},
             {"kind": "microgrid_in_pieces", "village_code": y_key[:12], "households": [],
              "message": f"micro-grid {y_key} is in 2 pieces", "microgrids": [y_key], "params": {"pieces": 2}}]
    with session_scope(engine, write=True) as s:
        save_notes(s, draft, stale, {})
    # the building's note was accepted by the planner, and the stale note of X too
    x_notes = [n for n in _notes(client, planner, draft) if n["message"] in (building[0]["message"], stale[0]["message"])]
    for n in x_notes:
        assert _ack(client, planner, draft, n["id"]).status_code == 200
    before = _notes(client, planner, draft)
    assert {n["message"] for n in before} >= {d["message"] for d in stale}
    r = client.post(f"/api/v1/plans/{draft}/repartition", json={"microgrids": [mgs[x_key]]},
                    headers={**planner, "If-Match": etag})
    assert r.status_code == 200, r.text
    answer = r.json()
    after = _notes(client, planner, draft)
    messages = Counter(n["message"] for n in after)
    assert stale[0]["message"] not in messages  # about the re-run micro-grid: gone
    assert messages[stale[1]["message"]] == 1  # about another: kept
    # the re-run's own notes are stored, each once; the building notes of X among them
    rerun_notes = answer.get("notes") or answer.get("result", {}).get("notes") or []
    for n in rerun_notes:
        assert messages[n["message"]] == 1, n
    kept_building = [n for n in after if n["kind"] == "oversize_building"]
    assert Counter(map(_key, kept_building)) == Counter(map(_key, building))
    # the building note the re-run gave again keeps its acknowledgement; it is a new note
    again = next(n for n in after if n["message"] == building[0]["message"])
    assert again["acknowledged"]["by"] == "planner"
    assert again["id"] != next(n for n in x_notes if n["message"] == building[0]["message"])["id"]


def _ack(client, headers, pid, note, method="POST"):
    return client.request(method, f"/api/v1/plans/{pid}/notes/{note}/acknowledge", headers=headers)


def test_a_planner_marks_a_note_dealt_with_and_opens_it_again(client, world, engine):
    """A planner going through the list marks each note dealt with (or accepted): who
    and when are kept, audit-logged, carried into a new draft, and undone on request;
    not a plan edit (no If-Match, the ETag stays), and only in a draft, by those who
    edit plans, within their scope."""
    from sqlalchemy import select

    from geogrid.db.models import AuditEntry

    planner = _token(engine, "planner")
    r = client.post("/api/v1/plans", json={"name": "draft"}, headers=planner)
    draft, etag = r.json()["id"], r.json()["etag"]
    notes = _notes(client, planner, draft)
    assert all(n["acknowledged"] is None for n in notes)
    first = notes[0]
    r = _ack(client, planner, draft, first["id"])
    assert r.status_code == 200, r.text
    assert r.json()["acknowledged"]["by"] == "planner" and r.json()["acknowledged"]["at"]
    after = {n["id"]: n for n in _notes(client, planner, draft)}
    assert after[first["id"]]["acknowledged"]["by"] == "planner"
    assert sum(n["acknowledged"] is None for n in after.values()) == len(notes) - 1
    assert client.get(f"/api/v1/plans/{draft}", headers=planner).headers["etag"] == etag
    with engine.connect() as conn:
        logged = conn.execute(select(AuditEntry.action, AuditEntry.detail)
                              .where(AuditEntry.object_id == draft)).all()
    assert ("acknowledge_note", first["id"]) in [(a, (d or {}).get("note")) for a, d in logged]

    # a draft made from it keeps who acknowledged what
    r = client.post("/api/v1/plans", json={"name": "next", "from_plan": draft}, headers=planner)
    assert r.status_code == 201, r.text
    copied = _notes(client, planner, r.json()["id"])
    assert [n["acknowledged"]["by"] for n in copied if n["acknowledged"]] == ["planner"]

    # opened again
    r = _ack(client, planner, draft, first["id"], "DELETE")
    assert r.status_code == 200 and r.json()["acknowledged"] is None
    assert all(n["acknowledged"] is None for n in _notes(client, planner, draft))

    # who may not: a cadre (403), a planner of the other village (404, as if it were not
    # there), anyone on the published plan (409), a note of no such id (404)
    other = next(c for c in VILLAGES if c != first["village_code"])
    assert _ack(client, _token(engine, "cadre1", "cadre", [f"area:{VILLAGES[0][:6]}"]), draft,
                first["id"]).status_code == 403
    assert _ack(client, _token(engine, "pother", "planner", [f"area:{other}"]), draft,
                first["id"]).status_code == 404
    published = _notes(client, planner, world)[0]["id"]
    assert _ack(client, planner, world, published).status_code == 409
    assert _ack(client, planner, draft, "0" * 32).status_code == 404


def test_an_overlap_of_two_villages_is_shown_to_both_villages(client, world, engine):
    """A villages_overlap note is about both villages: the planner of each sees it, and
    so does the micro-grid view of a micro-grid of either (a village's own note); before,
    only the planner of its first village did."""
    from geogrid.db.engine import session_scope
    from geogrid.db.plannotes import save_notes

    a, b = VILLAGES
    note = {"kind": "villages_overlap", "village_code": a, "villages": [a, b], "households": [],
            "message": f"the outlines of villages {a} and {b} overlap by 1,200 m²", "params": {"area_m2": 1200.0}}
    with session_scope(engine, write=True) as s:
        save_notes(s, world, [note], {})
    for code in (a, b):
        mine = _notes(client, _token(engine, f"p{code}", "planner", [f"area:{code}"]), world)
        got = [n for n in mine if n["kind"] == "villages_overlap"]
        assert len(got) == 1 and got[0]["villages"] == [a, b], code
        assert {o["code"] for o in got[0]["objects"]} == {a, b}
    admin = _token(engine, "admin")
    mg_b = next(f for f in client.get("/api/v1/microgrids", params={"plan": world, "limit": 500},
                                       headers=admin).json()["features"]
                if f["properties"]["village_code"] == b)
    assert "villages_overlap" in {n["kind"] for n in _notes(client, admin, world, microgrid=mg_b["id"])}


def test_notes_alike_in_words_about_different_households_are_two_notes(client, world, engine):
    """Two isolated households of one village at the same distance read alike; a re-run
    that gives the first one's note again keeps both (before, the new one was dropped as
    a copy of the other, and the household was named by no note)."""
    from geogrid.db.engine import session_scope
    from geogrid.db.plannotes import read_notes, replace_notes, save_notes

    planner = _token(engine, "planner")
    draft = client.post("/api/v1/plans", json={"name": "d"}, headers=planner).json()["id"]
    mg = sorted(f["properties"]["microgrid_key"] for f in client.get(
        "/api/v1/microgrids", params={"plan": draft, "limit": 500}, headers=planner).json()["features"])[0]
    words = {"kind": "isolated", "village_code": VILLAGES[0], "message": "1 household(s) lie 1.2 km from all"}
    with session_scope(engine, write=True) as s:
        save_notes(s, draft, [{**words, "households": ["h1"]}, {**words, "households": ["h2"]}],
                   {"h1": "h1", "h2": "h2"})
    with session_scope(engine, write=True) as s:
        replace_notes(s, draft, [mg], ["h1"], [{**words, "households": ["h1"]}], {"h1": "h1"})
    with session_scope(engine) as s:
        named = sorted(h for n in read_notes(s, draft) if n.kind == "isolated" for h in n.households)
    assert named == ["h1", "h2"]


def test_notes_name_households_filed_by_number(engine, world):
    """A result whose households have an id on some rows only (the rest by household
    number, as save_partition files their assignments): its notes still name every
    household (before, those without an id were dropped from the notes)."""
    from geogrid.db.engine import session_scope
    from geogrid.db.plannotes import read_notes
    from geogrid.db.plans import save_partition
    from geogrid.db.registerpartition import read_register
    from geogrid.partition import partition

    with session_scope(engine) as s:
        inputs = read_register(s, VILLAGES)
    result = partition(inputs.households, inputs.villages)
    want = sorted(str(inputs.households.loc[h, "household_id"]) for d in result.diagnostics for h in d["households"])
    result.households["household_id"] = result.households["household_id"].astype(object)
    result.households.iloc[::2, result.households.columns.get_loc("household_id")] = None
    with session_scope(engine, write=True) as s:
        pid = save_partition(s, result, "by number").id
    with session_scope(engine) as s:
        assert sorted(h for n in read_notes(s, pid) for h in n.households) == want


def test_a_plan_saved_before_notes_were_kept_says_so(client, world, engine):
    """A plan saved before migration 0003 (its notes_recorded false, as the migration
    leaves every older plan) answers with no notes and ``recorded: false``, and so does
    a draft made from it: the map must not tell the planner that every rule is met."""
    from sqlalchemy import update

    from geogrid.db.models import Plan

    with engine.begin() as conn:
        conn.execute(update(Plan).where(Plan.id == world).values(notes_recorded=False))
        conn.execute(__import__("sqlalchemy").text("DELETE FROM plan_notes WHERE plan_id = :p"), {"p": world})
    planner = _token(engine, "planner")
    r = client.get(f"/api/v1/plans/{world}/notes", headers=planner)
    assert r.status_code == 200 and r.json()["notes"] == [] and r.json()["recorded"] is False
    draft = client.post("/api/v1/plans", json={"name": "d"}, headers=planner).json()["id"]
    assert client.get(f"/api/v1/plans/{draft}/notes", headers=planner).json()["recorded"] is False
    # a partition saved now records its notes, none or some
    from geogrid.db.engine import session_scope
    from geogrid.db.plans import save_partition
    from geogrid.db.registerpartition import read_register
    from geogrid.partition import partition

    with session_scope(engine) as s:
        inputs = read_register(s, VILLAGES)
    result = partition(inputs.households, inputs.villages)
    result.report["diagnostics"] = []
    with session_scope(engine, write=True) as s:
        pid = save_partition(s, result, "no notes").id
    r = client.get(f"/api/v1/plans/{pid}/notes", headers=planner).json()
    assert r["notes"] == [] and r["recorded"] is True


def test_a_run_over_some_villages_notes_what_it_shares_with_the_others(client, world, engine):
    """``partition_register(village_codes=...)`` reads only its villages, so the engine
    could not see a household of another village at one of its addresses, nor another
    village's outline overlapping one of its own (last stops' 'noticed' list).  Now the
    run notes both: here village A's outline is grown into its neighbour B, and a
    household of B is put at the point of one of A's; a run over A alone names them."""
    import shapely
    from sqlalchemy import text

    from geogrid.db.engine import session_scope
    from geogrid.db.households import households_frame, upsert_households
    from geogrid.db.plannotes import read_notes
    from geogrid.db.registerpartition import partition_register
    from tests.api.plannote_helpers import grown_into

    a, b = VILLAGES
    with session_scope(engine) as s:
        one = households_frame(s, village_codes=[a]).iloc[0]
    import geopandas as gpd

    guest = gpd.GeoDataFrame({"household_no": ["GUEST-1"], "head_name": ["客户"], "village_code": [b]},
                             geometry=[one.geometry], crs=4326)
    with session_scope(engine, write=True) as s:
        upsert_households(s, guest)
        grown = grown_into(s, a, b)
        s.execute(text("UPDATE areas SET geom = ST_GeomFromText(:w, 4326) WHERE code = :c"),
                  {"w": shapely.MultiPolygon([grown]).wkt if grown.geom_type == "Polygon" else grown.wkt, "c": a})
    with session_scope(engine, write=True) as s:
        saved = partition_register(s, name="A alone", village_codes=[a])
        notes = read_notes(s, saved.plan.id)
    shared = [n for n in notes if n.kind == "address_beyond_run"]
    assert len(shared) == 1 and shared[0].households == [one["household_id"]], [(n.kind, n.households) for n in notes]
    assert shared[0].detail["villages"] == [a, b]
    overlap = [n for n in notes if n.kind == "villages_overlap"]
    assert len(overlap) == 1 and overlap[0].detail["villages"] == sorted([a, b])
    # with its area, which the map's Chinese wording needs (partition()'s own overlap
    # notes had none, and were shown in English)
    assert overlap[0].detail["params"]["area_m2"] > 1e4
    # a run over both villages settles it by itself: the guest, registered in B at a
    # point inside A's outline, is the engine's own outside_village (or shared_address)
    with session_scope(engine, write=True) as s:
        both = read_notes(s, partition_register(s, name="both", village_codes=[a, b]).plan.id)
    kinds = {n.kind for n in both}
    assert "address_beyond_run" not in kinds and "villages_overlap" in kinds
    assert any(n.kind in ("outside_village", "shared_address") for n in both)
