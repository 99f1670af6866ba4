"""A locked cell over the cap is a note while it is locked, and only then.

Before, only a re-run wrote the ``locked_cell_full`` note ("locked cell C now holds 23
households, more than 20; unlock it or move households out by hand"), and nothing took
it away: after the planner unlocked the cell, as the note asks, it still said the
cell was locked and full.  Nor did locking a cell a planner had filled over the cap by
hand say anything.  Now locking and unlocking bring the village's notes up to date in
the edit's transaction, as moves, splits and merges do (geogrid/api/editnotes.py).

On the committed sample slice (tests/api/test_rerun_after_edits.py's world), on both
back-ends.
"""

from __future__ import annotations

from sqlalchemy import func, select

from tests.api.test_notes_follow_edits import _draft, _move, _placed, _stored
from tests.api.test_plan_notes import _token
from tests.api.test_rerun_after_edits import world  # noqa: F401  (the fixture)

CAP = 20


def _lock(client, headers, pid, etag, cell, locked=True):
    r = client.post(f"/api/v1/plans/{pid}/cells/{cell}/{'lock' if locked else 'unlock'}",
                    headers={**headers, "If-Match": etag})
    assert r.status_code == 200, r.text
    return r.json()


def _full_notes(engine, pid) -> dict:
    return {i: n for i, n in _stored(engine, pid).items() if n[0] == "locked_cell_full"}


def _key(engine, cell) -> str:
    """A cell's key (``<micro-grid key>-C13``): how the engine and the notes name it."""
    from geogrid.db.models import Cell

    with engine.connect() as conn:
        return conn.execute(select(Cell.cell_key).where(Cell.id == cell)).scalar_one()


def _two_cells(engine, pid):
    """The fullest cell of the plan within the cap (not the sample's 26-household
    building) and the fullest other cell of its micro-grid: ``(cell, other, village,
    placed)``."""
    placed = _placed(engine, pid)
    sizes: dict = {}
    for c, m, *_ in placed.values():
        sizes[(c, m)] = sizes.get((c, m), 0) + 1
    (cell, mg), _ = max((kv for kv in sizes.items() if kv[1] <= CAP), key=lambda kv: (kv[1], kv[0]))
    other = max((k for k in sizes if k[1] == mg and k[0] != cell), key=lambda k: (sizes[k], k))[0]
    village = next(p[4] for p in placed.values() if p[0] == cell)
    return cell, other, village, placed


def test_locking_a_cell_over_the_cap_notes_it_and_unlocking_ends_the_note(client, world, engine):
    """A cell filled over the cap by hand (moves are not refused for that) is noted when
    locked, in the engine's words, naming its households and the cell; unlocked, the
    note goes; a lock of a cell within the cap says nothing."""
    planner = _token(engine, "planner")
    pid, etag = _draft(client, planner)
    cell, other, village, placed = _two_cells(engine, pid)
    inside = sorted(h for h, p in placed.items() if p[0] == cell)
    extra = sorted(h for h, p in placed.items() if p[0] == other)[: CAP + 2 - len(inside)]
    r = _move(client, planner, pid, etag, extra, cell)
    assert r.status_code == 200, r.text
    etag = r.headers["ETag"]
    assert _full_notes(engine, pid) == {}
    # a cell within the cap: locked and unlocked without a note
    out = _lock(client, planner, pid, etag, other)
    assert out["notes"] == {"villages": [village], "removed": 0, "added": 0}
    out = _lock(client, planner, pid, out["etag"], other, locked=False)
    before = _stored(engine, pid)
    out = _lock(client, planner, pid, out["etag"], cell)
    assert out["notes"] == {"villages": [village], "removed": 0, "added": 1}
    (note,) = _full_notes(engine, pid).values()
    kind, v, message, households, detail, acked = note
    key = _key(engine, cell)
    assert v == village and acked is None and detail == {"cells": [key]}
    assert message == (f"locked cell {key} now holds {CAP + 2} households, more than {CAP}; unlock it, then "
                       "move households out by hand or re-run its micro-grid")
    assert households == tuple(sorted(inside + extra))
    # every other note as it was
    after = _stored(engine, pid)
    assert {i: n for i, n in after.items() if n[0] != "locked_cell_full"} == before
    out = _lock(client, planner, pid, out["etag"], cell, locked=False)
    assert out["notes"] == {"villages": [village], "removed": 1, "added": 0}
    assert _stored(engine, pid) == before


def test_a_rerun_notes_a_locked_cell_it_finds_full_and_unlocking_ends_it(client, world, engine):
    """The case the note was written for: households added inside a locked cell, the
    micro-grid re-run (the cell is kept as it is, over the cap, with the re-run's note);
    the planner unlocks the cell as the note asks, and the note goes (before: it
    stayed).  In a batch, an unlock and a lock again leave it as it was."""
    from geogrid.db.engine import session_scope
    from geogrid.db.models import Cell, Household

    planner = _token(engine, "planner")
    pid, etag = _draft(client, planner)
    cell, _, village, placed = _two_cells(engine, pid)
    n = sum(p[0] == cell for p in placed.values())
    mg = placed[next(h for h, p in placed.items() if p[0] == cell)][1]
    with engine.connect() as conn:
        x, y = conn.execute(select(func.ST_X(func.ST_PointOnSurface(Cell.geom)),
                                   func.ST_Y(func.ST_PointOnSurface(Cell.geom))).where(Cell.id == cell)).one()
    with session_scope(engine, write=True) as s:
        for i in range(CAP + 1 - n):
            s.add(Household(household_no=f"NEW-IN-LOCKED-{i}", village_code=village,
                            geom=f"SRID=4326;POINT({x} {y})"))
    etag = _lock(client, planner, pid, etag, cell)["etag"]
    assert _full_notes(engine, pid) == {}
    r = client.post(f"/api/v1/plans/{pid}/repartition", json={"microgrids": [mg]},
                    headers={**planner, "If-Match": etag})
    assert r.status_code == 200, r.text
    etag = r.headers["ETag"]
    (note,) = _full_notes(engine, pid).values()
    key = _key(engine, cell)
    assert note[1] == village and note[4] == {"cells": [key]} and len(note[3]) == CAP + 1
    assert note[2].startswith(f"locked cell {key} now holds {CAP + 1} households")
    # an unlock and a lock again in one batch: the note still holds, the same row
    kept = set(_full_notes(engine, pid))
    r = client.post(f"/api/v1/plans/{pid}/edits", headers={**planner, "If-Match": etag},
                    json={"edits": [{"op": "unlock", "cell_id": cell}, {"op": "lock", "cell_id": cell}]})
    assert r.status_code == 200, r.text
    assert r.json()["notes"] == {"villages": [village], "removed": 0, "added": 0}
    assert set(_full_notes(engine, pid)) == kept
    out = _lock(client, planner, pid, r.headers["ETag"], cell, locked=False)
    assert out["notes"] == {"villages": [village], "removed": 1, "added": 0}
    assert _full_notes(engine, pid) == {}
