"""The engine's notes follow hand edits.

Before, only the partition and a re-run wrote a plan's notes: after a planner moved
half of a 26-household building out of its cell, the note still said the building was
kept whole in one cell; a small hamlet moved together kept its ``hamlet_split`` note;
and a move that split a building or a small hamlet gave no note at all.  Now a move, a
split and a merge (alone or in a batch) bring the notes about buildings and hamlets of
the villages they touched up to date, in their transaction (geogrid/api/editnotes.py).

On the committed sample slice (tests/api/test_rerun_after_edits.py's world: two
villages partitioned by ``partition_register`` and published), on both back-ends.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select, update

from tests.api.test_plan_notes import NOTE_KEYS, _ack, _notes, _token
from tests.api.test_rerun_after_edits import VILLAGES
from tests.api.test_rerun_after_edits import world  # noqa: F401  (the fixture)

#: the sample's biggest building (26 households, kept whole as a cell of its own) and
#: its only small hamlet (15 households, kept whole in one cell)
BUILDING, BUILDING_VILLAGE = "431227103001-B0517", "431227103001"
HAMLET, HAMLET_VILLAGE = "龙家冲", "431227103202"


def _draft(client, headers):
    r = client.post("/api/v1/plans", json={"name": "hand edits"}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["etag"]


def _placed(engine, pid) -> dict:
    """household id -> (cell id, micro-grid id, building, hamlet, village) in plan ``pid``."""
    from geogrid.db.models import Assignment, Cell, Household

    with engine.connect() as conn:
        return {h: (c, m, b, ham, v) for h, c, m, b, ham, v in conn.execute(
            select(Assignment.household_id, Assignment.cell_id, Cell.microgrid_id, Household.building,
                   Household.hamlet, Household.village_code)
            .join(Cell, Cell.id == Assignment.cell_id).join(Household, Household.id == Assignment.household_id)
            .where(Assignment.plan_id == pid))}


def _stored(engine, pid) -> dict:
    """The plan's notes as stored: id -> (kind, village, message, households, detail,
    acknowledged by)."""
    from geogrid.db.models import PlanNote

    with engine.connect() as conn:
        return {n.id: (n.kind, n.village_code, n.message, tuple(sorted(n.households)), n.detail,
                       n.acknowledged_by) for n in conn.execute(
            select(PlanNote.id, PlanNote.kind, PlanNote.village_code, PlanNote.message, PlanNote.households,
                   PlanNote.detail, PlanNote.acknowledged_by).where(PlanNote.plan_id == pid))}


def _of(stored, kind, households) -> list:
    return [i for i, n in stored.items() if n[0] == kind and n[3] == tuple(sorted(households))]


def _members(placed, *, building=None, hamlet=None) -> list[str]:
    return sorted(h for h, (_, _, b, ham, _) in placed.items()
                  if (building is None or b == building) and (hamlet is None or ham == hamlet))


def _other_cell(engine, placed, cell):
    """Another cell of ``cell``'s micro-grid."""
    from geogrid.db.models import Cell

    mg = next(p[1] for p in placed.values() if p[0] == cell)
    with engine.connect() as conn:
        return conn.execute(select(Cell.id).where(Cell.microgrid_id == mg, Cell.id != cell)
                            .order_by(Cell.cell_key)).scalars().first()


def _move(client, headers, pid, etag, households, cell):
    return client.patch(f"/api/v1/plans/{pid}/assignments", headers={**headers, "If-Match": etag},
                        json={"moves": [{"household_id": h, "cell_id": cell} for h in households]})


def _half_of_the_building_out(engine, pid):
    """The moves that take half of the big building out of its cell: (households, target)."""
    placed = _placed(engine, pid)
    house = _members(placed, building=BUILDING)
    cells = {placed[h][0] for h in house}
    assert len(house) == 26 and len(cells) == 1, "the sample's biggest building, kept whole"
    return house, house[: len(house) // 2], _other_cell(engine, placed, cells.pop())


def test_half_of_a_building_over_the_cap_moved_out_is_a_building_split(client, world, engine):
    """(a) The oversize note of the building gives way to a building_split note naming
    the same households, worded and shaped as the engine's; the answer says so."""
    planner = _token(engine, "planner")
    pid, etag = _draft(client, planner)
    house, half, target = _half_of_the_building_out(engine, pid)
    before = _stored(engine, pid)
    assert len(_of(before, "oversize_building", house)) == 1
    r = _move(client, planner, pid, etag, half, target)
    assert r.status_code == 200, r.text
    assert r.json()["notes"] == {"villages": [BUILDING_VILLAGE], "removed": 1, "added": 1}
    after = _stored(engine, pid)
    assert _of(after, "oversize_building", house) == []
    (split,) = _of(after, "building_split", house)
    kind, village, message, _, detail, acked = after[split]
    # as the engine's (no cells), marked as a split made by hand for the map's wording
    assert village == BUILDING_VILLAGE and acked is None and detail == {"params": {"by_hand": True}}
    assert message.startswith(f"building {BUILDING} in village {BUILDING_VILLAGE} has households ")
    assert "they are in 2 cells" in message
    # every other note is as it was, id and all
    assert {i: n for i, n in after.items() if i != split} == {i: n for i, n in before.items()
                                                              if i not in _of(before, "oversize_building", house)}
    # the API gives it as the engine's partition-time notes: its households counted,
    # and the two cells they are in to zoom to
    got = next(n for n in _notes(client, planner, pid) if n["id"] == split)
    assert set(got) <= NOTE_KEYS and got["households"] == 26 and got["village_code"] == BUILDING_VILLAGE
    assert {o["id"] for o in got["objects"] if o["type"] == "cell"} == {target, _placed(engine, pid)[house[-1]][0]}


def test_a_split_small_hamlet_moved_together_loses_its_note(client, world, engine):
    """(b) A hamlet of 15 households in two cells (as the engine may leave one), with
    the engine's note: moved together by hand, the note goes."""
    from geogrid.db.engine import session_scope
    from geogrid.db.models import Assignment
    from geogrid.db.plannotes import save_notes

    planner = _token(engine, "planner")
    pid, etag = _draft(client, planner)
    placed = _placed(engine, pid)
    hamlet = _members(placed, hamlet=HAMLET)
    home = {placed[h][0] for h in hamlet}
    assert len(hamlet) == 15 and len(home) == 1
    home = home.pop()
    away = _other_cell(engine, placed, home)
    # five of them in another cell, and the engine's note saying so
    with session_scope(engine, write=True) as s:
        s.execute(update(Assignment).where(Assignment.plan_id == pid, Assignment.household_id.in_(hamlet[:5]))
                  .values(cell_id=away), execution_options={"synchronize_session": False})
        save_notes(s, pid, [{"kind": "hamlet_split", "village_code": HAMLET_VILLAGE, "households": hamlet,
                             "message": f"hamlet {HAMLET} in village {HAMLET_VILLAGE} (15 households) is in 2 "
                                        "cells (10 + 5): the cells around it had no room to take it whole. "
                                        "Move the border by hand if it should be one cell."}],
                   {h: h for h in hamlet})
    assert len(_of(_stored(engine, pid), "hamlet_split", hamlet)) == 1
    r = _move(client, planner, pid, etag, hamlet[:5], home)
    assert r.status_code == 200, r.text
    assert r.json()["notes"] == {"villages": [HAMLET_VILLAGE], "removed": 1, "added": 0}
    assert [n for n in _stored(engine, pid).values() if n[0] == "hamlet_split"] == []
    assert "hamlet_split" not in {n["kind"] for n in _notes(client, planner, pid)}


def test_a_move_that_splits_a_small_hamlet_adds_its_note(client, world, engine):
    """(c) Three households of the small hamlet moved to another cell: a hamlet_split
    note, open, naming the hamlet's 15 households, in the engine's words."""
    planner = _token(engine, "planner")
    pid, etag = _draft(client, planner)
    placed = _placed(engine, pid)
    hamlet = _members(placed, hamlet=HAMLET)
    away = _other_cell(engine, placed, placed[hamlet[0]][0])
    # households of buildings of their own (a building split would be noted too)
    alone = [h for h in hamlet if len(_members(placed, building=placed[h][2])) == 1]
    assert len(alone) >= 3
    r = _move(client, planner, pid, etag, alone[:3], away)
    assert r.status_code == 200, r.text
    assert r.json()["notes"] == {"villages": [HAMLET_VILLAGE], "removed": 0, "added": 1}
    stored = _stored(engine, pid)
    (note,) = _of(stored, "hamlet_split", hamlet)
    kind, village, message, _, detail, acked = stored[note]
    assert village == HAMLET_VILLAGE and acked is None and detail == {}
    assert message.startswith(f"hamlet {HAMLET} in village {HAMLET_VILLAGE} (15 households) is in 2 cells (12 + 3): ")
    assert [n for n in stored.values() if n[0] == "building_split"] == []
    got = next(n for n in _notes(client, planner, pid) if n["id"] == note)
    assert got["kind"] == "hamlet_split" and got["households"] == 15 and got["acknowledged"] is None


def test_a_split_and_a_merge_of_cells_follow_too(client, world, engine):
    """The single split and merge routes: splitting part of the small hamlet off into a
    new cell adds its note; merging the new cell back removes it."""
    planner = _token(engine, "planner")
    pid, etag = _draft(client, planner)
    placed = _placed(engine, pid)
    hamlet = _members(placed, hamlet=HAMLET)
    home = placed[hamlet[0]][0]
    alone = [h for h in hamlet if len(_members(placed, building=placed[h][2])) == 1]
    r = client.post(f"/api/v1/plans/{pid}/cells/{home}/split", json={"household_ids": alone[:4]},
                    headers={**planner, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["notes"] == {"villages": [HAMLET_VILLAGE], "removed": 0, "added": 1}
    assert len(_of(_stored(engine, pid), "hamlet_split", hamlet)) == 1
    r = client.post(f"/api/v1/plans/{pid}/cells/merge", json={"cells": [home, r.json()["new_cell_id"]]},
                    headers={**planner, "If-Match": r.headers["etag"]})
    assert r.status_code == 200, r.text
    assert r.json()["notes"] == {"villages": [HAMLET_VILLAGE], "removed": 1, "added": 0}
    assert _of(_stored(engine, pid), "hamlet_split", hamlet) == []


def test_an_acknowledged_note_that_still_holds_keeps_its_acknowledgement(client, world, engine):
    """(d) A hand edit in its village that changes other notes leaves an acknowledged
    note that still holds as it is: the same note, acknowledged by the same planner.
    So does a second, unrelated edit for the building_split note the first one made."""
    planner = _token(engine, "planner")
    pid, etag = _draft(client, planner)
    house, half, target = _half_of_the_building_out(engine, pid)
    before = _stored(engine, pid)
    other = next(i for i, n in before.items() if n[0] == "oversize_building" and n[1] == BUILDING_VILLAGE
                 and n[3] != tuple(house))
    assert _ack(client, planner, pid, other).status_code == 200
    r = _move(client, planner, pid, etag, half, target)
    assert r.status_code == 200, r.text
    after = _stored(engine, pid)
    assert after[other][5] == "planner" and after[other][:5] == before[other][:5]
    (split,) = _of(after, "building_split", house)
    assert _ack(client, planner, pid, split).status_code == 200
    # an unrelated move in the village: one household of a building of its own, to
    # the neighbouring cell
    placed = _placed(engine, pid)
    sizes = Counter(p[2] for p in placed.values())
    # the neighbouring cell of its micro-grid (ids are random: the first such household
    # may be in a micro-grid of one cell, which has none)
    lone, near = next((h, n) for h, (c, _, b, _, v) in sorted(placed.items())
                      if v == BUILDING_VILLAGE and sizes[b] == 1 and c not in {placed[x][0] for x in house}
                      and (n := _other_cell(engine, placed, c)) is not None)
    r = _move(client, planner, pid, r.headers["etag"], [lone], near)
    assert r.status_code == 200, r.text
    assert r.json()["notes"]["villages"] == [BUILDING_VILLAGE]
    again = _stored(engine, pid)
    assert again[split][5] == "planner" and again[other][5] == "planner"
    got = {n["id"]: n for n in _notes(client, planner, pid)}
    assert got[split]["acknowledged"]["by"] == "planner" and got[other]["acknowledged"]["by"] == "planner"


def test_notes_of_other_villages_and_other_kinds_are_untouched(client, world, engine):
    """(e) An edit in one village changes none of the other village's notes (not even
    one of the kinds that follow edits, here a stale one), nor the edited village's
    notes of other kinds."""
    from geogrid.db.engine import session_scope
    from geogrid.db.plannotes import save_notes

    planner = _token(engine, "planner")
    pid, etag = _draft(client, planner)
    house, half, target = _half_of_the_building_out(engine, pid)
    placed = _placed(engine, pid)
    hamlet = _members(placed, hamlet=HAMLET)
    with session_scope(engine, write=True) as s:
        save_notes(s, pid, [
            {"kind": "hamlet_split", "village_code": HAMLET_VILLAGE, "households": hamlet,
             "message": f"hamlet {HAMLET} in village {HAMLET_VILLAGE} (15 households) is in 2 cells (10 + 5): "
                        "a micro-grid border runs through it. Move the border by hand if it should be one cell."},
            {"kind": "isolated", "village_code": BUILDING_VILLAGE, "households": house[:1],
             "message": "1 household(s) lie 1.2 km from all others in village; check their points"},
            {"kind": "spread_building", "village_code": BUILDING_VILLAGE, "households": house,
             "message": f"building {BUILDING} in village {BUILDING_VILLAGE} has households 120 m apart"}],
                   {h: h for h in hamlet + house})
    before = _stored(engine, pid)
    r = _move(client, planner, pid, etag, half, target)
    assert r.status_code == 200, r.text
    assert r.json()["notes"]["villages"] == [BUILDING_VILLAGE]
    after = _stored(engine, pid)
    assert after != before  # (the edited village's building notes changed)
    untouched = {i: n for i, n in before.items()
                 if n[1] != BUILDING_VILLAGE or n[0] not in ("oversize_building", "building_split", "hamlet_split")}
    assert {i: after.get(i) for i in untouched} == untouched
    assert {"isolated", "spread_building"} <= {n[0] for n in untouched.values()}


def test_a_refused_edit_leaves_the_notes_as_they_were(client, world, engine):
    """(f) The move of (a) with a stale ETag (412), then in a batch whose last edit is
    refused (a locked cell, 409; a split of households not in the cell, 422): the notes
    are exactly as they were, acknowledgements too.  The same move accepted changes
    them."""
    planner = _token(engine, "planner")
    pid, etag = _draft(client, planner)
    house, half, target = _half_of_the_building_out(engine, pid)
    (note,) = _of(_stored(engine, pid), "oversize_building", house)
    assert _ack(client, planner, pid, note).status_code == 200
    placed = _placed(engine, pid)
    locked = _other_cell(engine, placed, target)
    r = client.post(f"/api/v1/plans/{pid}/cells/{locked}/lock", headers={**planner, "If-Match": etag})
    assert r.status_code == 200, r.text
    stale, etag = etag, r.headers["etag"]
    before = _stored(engine, pid)
    assert _move(client, planner, pid, stale, half, target).status_code == 412
    assert _stored(engine, pid) == before
    moves = {"op": "move", "moves": [{"household_id": h, "cell_id": target} for h in half]}
    for last, status in (({"op": "move", "moves": [{"household_id": house[-1], "cell_id": locked}]}, 409),
                         ({"op": "split", "cell_id": target, "household_ids": [house[-1]]}, 422)):
        r = client.post(f"/api/v1/plans/{pid}/edits", json={"edits": [moves, last]},
                        headers={**planner, "If-Match": etag})
        assert r.status_code == status, r.text
        assert _stored(engine, pid) == before
    assert _move(client, planner, pid, etag, half, target).status_code == 200
    assert _stored(engine, pid) != before and _of(_stored(engine, pid), "building_split", house)


def test_a_batch_of_edits_brings_the_notes_up_to_date_once(client, world, engine):
    """(g) One batch: half of the building moved out (village A) and part of the small
    hamlet split off into a new cell (village B): both villages' notes follow, once."""
    planner = _token(engine, "planner")
    pid, etag = _draft(client, planner)
    house, half, target = _half_of_the_building_out(engine, pid)
    placed = _placed(engine, pid)
    hamlet = _members(placed, hamlet=HAMLET)
    alone = [h for h in hamlet if len(_members(placed, building=placed[h][2])) == 1]
    edits = [{"op": "move", "moves": [{"household_id": h, "cell_id": target} for h in half]},
             {"op": "split", "cell_id": placed[hamlet[0]][0], "household_ids": alone[:4]}]
    r = client.post(f"/api/v1/plans/{pid}/edits", json={"edits": edits}, headers={**planner, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert r.json()["notes"] == {"villages": sorted([BUILDING_VILLAGE, HAMLET_VILLAGE]), "removed": 1, "added": 2}
    after = _stored(engine, pid)
    assert _of(after, "oversize_building", house) == []
    assert len(_of(after, "building_split", house)) == 1
    assert len(_of(after, "hamlet_split", hamlet)) == 1
    assert set(VILLAGES) == {BUILDING_VILLAGE, HAMLET_VILLAGE}


def test_a_cell_a_rerun_left_over_the_cap_keeps_its_note_while_it_is_and_a_move_out_ends_it(client, world, engine):
    """(g) A re-run that adds households at the address of a household of a cell it does
    not re-solve puts them in that cell, over the cap too, with a ``kept_cell_full``
    note (tests/partition/test_repartition_kept_addresses.py).  The note followed no
    hand edit: a planner who moved households out of the cell, as it asks, kept it until
    the next re-run.  Now a move that leaves the cell still over the cap gives the note
    again with the cell's new count, and one that brings it down to the cap ends it."""
    from geogrid.db.engine import session_scope
    from geogrid.db.models import Cell, Microgrid
    from geogrid.db.plannotes import save_notes
    from geogrid.partition.assignment_notes import kept_cell_full

    planner = _token(engine, "planner")
    pid, etag = _draft(client, planner)
    placed = _placed(engine, pid)
    by_cell = Counter(p[0] for p in placed.values())
    sizes = Counter(p[2] for p in placed.values())
    # a cell of households of buildings of their own, and a neighbour to fill it from
    cell = next(c for c, n in sorted(by_cell.items()) if n >= 15 and all(
        sizes[b] == 1 for h, (c2, _, b, _, _) in placed.items() if c2 == c))
    other = _other_cell(engine, placed, cell)
    donors = sorted(h for h, p in placed.items() if p[0] == other and sizes[p[2]] == 1)
    need = 21 - by_cell[cell]
    assert len(donors) >= need + 1
    r = _move(client, planner, pid, etag, donors[:need], cell)  # over the cap by hand: a draft allows it
    assert r.status_code == 200, r.text
    with engine.connect() as conn:
        key, mg_key, village = conn.execute(
            select(Cell.cell_key, Microgrid.microgrid_key, Microgrid.village_code)
            .join(Microgrid, Microgrid.id == Cell.microgrid_id).where(Cell.id == cell)).one()
    members = sorted(h for h, p in _placed(engine, pid).items() if p[0] == cell)
    assert len(members) == 21
    note = kept_cell_full(village, key, mg_key, members, 20)  # as the re-run words it
    with session_scope(engine, write=True) as s:
        save_notes(s, pid, [note], {h: h for h in members})
    # one more in: still over the cap, the note given again with 22 households
    r = _move(client, planner, pid, r.headers["etag"], donors[need:need + 1], cell)
    assert r.status_code == 200, r.text
    full = [n for n in _stored(engine, pid).values() if n[0] == "kept_cell_full"]
    assert [(n[1], len(n[3])) for n in full] == [(village, 22)] and "holds 22 households" in full[0][2], full
    # two out: 20 households, the cap, and the note is gone
    r = _move(client, planner, pid, r.headers["etag"], donors[:2], other)
    assert r.status_code == 200, r.text
    assert not [n for n in _stored(engine, pid).values() if n[0] == "kept_cell_full"]


def test_a_rerun_brings_the_notes_of_its_village_up_to_date_as_a_hand_edit_does(client, world, engine):
    """(h) A household of the big building moves house (the register's point and
    building change) into another micro-grid of its village, which is re-run.  The
    re-run takes it out of the building's cell, and the building, in a micro-grid it did
    not re-solve, has 25 households, still over the cap.  Before, the re-run dropped the
    building's note (it named the household the re-run placed) and made none for the
    building it did not re-solve: the village had no oversize_building note for it until
    its next hand edit.  Now a re-run brings the notes that follow assignments of the
    villages it touched up to date as a hand edit does; an acknowledged one whose words
    did not change keeps its id and acknowledgement."""
    from shapely import wkt
    from sqlalchemy import text

    from geogrid.db.models import Cell, Microgrid

    planner = _token(engine, "planner")
    pid, etag = _draft(client, planner)
    placed = _placed(engine, pid)
    house = _members(placed, building=BUILDING)
    home_mg = placed[house[0]][1]
    before = _stored(engine, pid)
    other = next(i for i, n in before.items() if n[0] == "oversize_building" and n[1] == BUILDING_VILLAGE
                 and n[3] != tuple(house))
    assert _ack(client, planner, pid, other).status_code == 200
    with engine.connect() as conn:
        mg, cell_wkt = conn.execute(
            select(Microgrid.id, text("ST_AsText(cells.geom)")).join(Cell, Cell.microgrid_id == Microgrid.id)
            .where(Microgrid.plan_id == pid, Microgrid.village_code == BUILDING_VILLAGE, Microgrid.id != home_mg,
                   Cell.households > 0).order_by(Cell.cell_key)).first()
    mover = house[-1]
    with engine.begin() as conn:  # what re-importing the household at its new house does
        conn.execute(text("UPDATE households SET geom = ST_GeomFromText(:w, 4326), building = NULL "
                          "WHERE id = :id"), {"w": wkt.loads(cell_wkt).representative_point().wkt, "id": mover})
    r = client.post(f"/api/v1/plans/{pid}/repartition", json={"microgrids": [mg]},
                    headers={**planner, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert _placed(engine, pid)[mover][1] == mg
    after = _stored(engine, pid)
    (note,) = _of(after, "oversize_building", house[:-1])
    assert "has 25 households, more than 20" in after[note][2] and after[note][5] is None
    assert not [n for n in after.values() if mover in n[3] and n[0] == "oversize_building"]
    assert after[other] == before[other][:5] + ("planner",)
    # as a hand edit in the village leaves them: locking a cell of the cap or fewer
    # brings the village's notes up to date and changes none
    counts = Counter(p[0] for p in _placed(engine, pid).values())
    small = next(c for h, (c, _, _, _, v) in sorted(_placed(engine, pid).items())
                 if v == BUILDING_VILLAGE and counts[c] <= 20)
    r = client.post(f"/api/v1/plans/{pid}/cells/{small}/lock", headers={**planner, "If-Match": r.json()["etag"]})
    assert r.status_code == 200, r.text
    assert r.json()["notes"] == {"villages": [BUILDING_VILLAGE], "removed": 0, "added": 0}
    assert _stored(engine, pid) == after
