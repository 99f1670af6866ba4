"""A draft plan driven through random sequences of the planner's edits, on both back-ends.

A hypothesis state machine (:class:`PlanEdits`) edits a draft of a small published plan
through the API: household moves, locks and unlocks, splits, merges, a micro-grid's
boundary, batches of edits, re-runs of micro-grids, notes acknowledged, publishing; and
between edits the register changes as a re-import changes it (households added, some
at the address of another, moved house, removed).  After every step it checks what
must always hold:

- every household of the register in the plan's villages is in exactly one cell of
  the plan, or validation names it (``unassigned``: added since, or its point left its
  micro-grid), and every assignment is of a household of the register, in a cell of
  the plan; each cell's and micro-grid's count is its households';
- every assignment keeps a point (the plan was drawn with them, and each edit and
  re-run writes one): a household placed by hand or by a re-run keeps the register's
  point it was placed by;
- a cell over the cap is named by validation (``over_capacity``, or
  ``oversize_building`` for one building); one a re-run left over the cap is named by
  a note (``locked_cell_full``, ``kept_cell_full``, ``oversize_building``) or is one
  address;
- a refused edit (4xx) changed nothing: the plan's ETag, its assignments and their
  points, its cells, micro-grids and notes;
- a re-run keeps each locked cell's polygon and the members it keeps by
  :mod:`geogrid.partition.locked_cells`' rules; micro-grids not re-run keep their ids
  and geometry, and their cells theirs;
- after a hand edit, the stored notes of the kinds that follow assignments, of the
  villages it touched, are those :func:`geogrid.partition.assignment_notes.assignment_notes`
  gives afresh, and the notes of other villages are as they were;
- validation never fails (500); publishing succeeds exactly when validation has no
  error.

Each example builds its world afresh (the register, the engine's partition of it,
published, and a draft).  The budget is small for the suite; ``GEOGRID_STATEFUL_EXAMPLES``
and ``GEOGRID_STATEFUL_STEPS`` raise it to hunt (with ``GEOGRID_STATEFUL_RANDOM=1``:
new examples each run).
"""

from __future__ import annotations

import os
from collections import Counter

import geopandas as gpd
import pytest
import shapely
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from shapely.geometry import Point

from tests.api.conftest import COUNTY, TOWN, V1, V2, _password_hash
from tests.api.plan_edits_world import (CAP, VILLAGE_BOX, _fresh_follow_notes, _fresh_register, _geom, _kept_full,
                                        _numbers, _register_now, _same_geom, _snapshot, _stored_follow_notes)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

#: what the edits answered, and the re-runs whose notes of the kinds that follow
#: assignments differ from the rules' (a design question, not checked), shown with
#: GEOGRID_STATEFUL_STATS=1
STATS: Counter = Counter()
EXAMPLES: list = []


@pytest.fixture
def world(engine):
    """Overrides conftest's world: the areas and two users (the register and its
    plans are built afresh by each example)."""
    pytest.importorskip("geogrid.partition")
    from geogrid.db.areas import upsert_areas
    from geogrid.db.engine import session_scope
    from geogrid.db.users import add_user

    county = VILLAGE_BOX[V1].union(VILLAGE_BOX[V2])
    frame = lambda rows: gpd.GeoDataFrame(rows, geometry="geometry", crs=4326)  # noqa: E731
    with session_scope(engine, write=True) as s:
        upsert_areas(s, frame([{"code": COUNTY, "name": "县", "geometry": county}]), "county")
        upsert_areas(s, frame([{"code": TOWN, "name": "镇", "parent_code": COUNTY, "geometry": county}]), "town")
        upsert_areas(s, frame([{"code": c, "name": c[-3:], "parent_code": TOWN, "geometry": g}
                               for c, g in VILLAGE_BOX.items()]), "village")
        add_user(s, "admin", _password_hash(), "admin", [])
        add_user(s, "planner", _password_hash(), "planner", [f"area:{COUNTY}"])
    return None


def make_machine(client, engine, headers):
    api = "/api/v1/plans"

    class PlanEdits(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            _fresh_register(engine)
            self.new_draft()
            self.added = 0
            self.placed = {}  # household id -> point it was placed by in the last edit
            self.follow_check = None  # (villages, kept_full before) after a hand edit

        # -- helpers ---------------------------------------------------------------------
        def new_draft(self):
            r = client.post(api, json={"name": "草案"}, headers=headers)
            assert r.status_code == 201, r.text
            self.pid, self.etag = r.json()["id"], r.headers["etag"]

        def snap(self):
            return _snapshot(engine, self.pid)

        def send(self, method, url, **kw):
            return client.request(method, f"{api}/{self.pid}{url}", headers={**headers, "If-Match": self.etag}, **kw)

        def cells(self, snap, village=None):
            mg_village = {i: v for i, (_, v, _, _) in snap["microgrids"].items()}
            return sorted((i for i, c in snap["cells"].items() if village is None or mg_village[c[1]] == village),
                          key=lambda i: snap["cells"][i][0])

        def mgs(self, snap):
            return sorted(snap["microgrids"], key=lambda i: snap["microgrids"][i][0])

        def by_number(self, ids):
            numbers = _numbers(engine)
            return sorted(ids, key=lambda h: numbers[h])

        def village_of_cell(self, snap, cell):
            return snap["microgrids"][snap["cells"][cell][1]][1]

        def done(self, r, before, *, may_refuse=True):
            """The answer of an edit: a success moves the ETag on; a refusal (4xx) changed
            nothing.  Returns whether it succeeded."""
            assert r.status_code < 500, r.text
            STATS[f"{r.request.method} {r.request.url.path.rsplit('/', 1)[-1]} {r.status_code}"] += 1
            after = self.snap()
            if r.status_code == 200:
                assert after["version"] == before["version"] + 1
                self.etag = r.headers["etag"]
                self.counted(before, after)
                return after
            assert may_refuse, r.text
            assert r.status_code in (404, 409, 422), r.text
            assert after == before, f"refused edit ({r.status_code} {r.text[:300]}) changed the plan"
            return None

        def counted(self, before, after):
            """Each cell whose households changed is counted as it holds, and so is its
            micro-grid."""
            real = Counter(c for c, _, _ in after["assignments"].values())
            was = Counter(c for c, _, _ in before["assignments"].values())
            changed = {c for c in after["cells"] if real[c] != was[c] or c not in before["cells"]}
            for c in changed:
                assert after["cells"][c][3] == real[c], (after["cells"][c][0], after["cells"][c][3], real[c])
            # (a household removed from the register leaves its cell's count as it was
            # until an edit counts that cell again: the micro-grid sums the cells' counts)
            for m in {after["cells"][c][1] for c in changed}:
                assert after["microgrids"][m][2] == sum(v[3] for v in after["cells"].values() if v[1] == m)

        def hand_edited(self, before, after, touched_villages, answer):
            """The notes after a hand edit: those of the touched villages made afresh,
            the others as they were."""
            said = set((answer.get("notes") or {}).get("villages") or [])
            changed = set(touched_villages)
            for h, (c, _, _) in after["assignments"].items():
                b = before["assignments"].get(h)
                if b is not None and b[0] != c:
                    changed.add(self.village_of_cell(after, c))
            assert changed <= said, (changed, said)
            kept_full = _kept_full(before)
            for v in said:
                assert _stored_follow_notes(after, v) == _fresh_follow_notes(engine, self.pid, v, kept_full), v
            others = {i: n for i, n in after["notes"].items() if n[1] not in said}
            assert others == {i: n for i, n in before["notes"].items() if n[1] not in said}

        def placed_by_hand(self, after, households):
            reg = _register_now(engine)
            for h in households:
                x, y = after["assignments"][h][1:]
                assert (x, y) == pytest.approx(reg[h][1], abs=1e-9), h

        # -- hand edits ------------------------------------------------------------------
        @rule(data=st.data())
        def move(self, data):
            before = self.snap()
            hs = self.by_number(before["assignments"])
            moving = data.draw(st.lists(st.sampled_from(hs), min_size=1, max_size=3, unique=True), "households")
            same_village = data.draw(st.booleans(), "same village")
            moves = []
            for h in moving:
                v = self.village_of_cell(before, before["assignments"][h][0])
                target = data.draw(st.sampled_from(self.cells(before, v if same_village else None)), "cell")
                moves.append({"household_id": h, "cell_id": target})
            r = self.send("PATCH", "/assignments", json={"moves": moves})
            after = self.done(r, before)
            if after:
                self.placed_by_hand(after, [m["household_id"] for m in moves
                                            if before["assignments"][m["household_id"]][0] != m["cell_id"]])
                for m in moves:
                    assert after["assignments"][m["household_id"]][0] == m["cell_id"]
                self.hand_edited(before, after, [], r.json())

        @rule(data=st.data())
        def lock(self, data):
            before = self.snap()
            cell = data.draw(st.sampled_from(self.cells(before)), "cell")
            locked = not before["cells"][cell][2] if data.draw(st.integers(0, 4), "flip") else before["cells"][cell][2]
            r = self.send("POST", f"/cells/{cell}/{'lock' if locked else 'unlock'}")
            after = self.done(r, before, may_refuse=False)
            assert after["cells"][cell][2] == locked
            self.hand_edited(before, after, [self.village_of_cell(before, cell)], r.json())

        @rule(data=st.data())
        def split(self, data):
            before = self.snap()
            cell = data.draw(st.sampled_from(self.cells(before)), "cell")
            members = self.by_number(h for h, (c, _, _) in before["assignments"].items() if c == cell)
            if not members:
                return
            moving = data.draw(st.lists(st.sampled_from(members), min_size=1, max_size=len(members), unique=True),
                               "households")
            r = self.send("POST", f"/cells/{cell}/split", json={"household_ids": moving})
            after = self.done(r, before)
            if after:
                new = r.json()["new_cell_id"]
                assert sorted(h for h, (c, _, _) in after["assignments"].items() if c == new) == sorted(moving)
                self.placed_by_hand(after, moving)
                self.hand_edited(before, after, [self.village_of_cell(before, cell)], r.json())

        @rule(data=st.data())
        def merge(self, data):
            before = self.snap()
            a = data.draw(st.sampled_from(self.cells(before)), "cell")
            mg = before["cells"][a][1]
            same = [c for c in self.cells(before) if before["cells"][c][1] == mg]
            b = data.draw(st.sampled_from(same if data.draw(st.integers(0, 3), "same mg") else self.cells(before)),
                          "other")
            r = self.send("POST", "/cells/merge", json={"cells": [a, b]})
            if a == b:
                assert r.status_code == 422, r.text
                assert self.snap() == before
                return
            after = self.done(r, before)
            if after:
                assert b not in after["cells"]
                was = {h for h, (c, _, _) in before["assignments"].items() if c in (a, b)}
                assert {h for h, (c, _, _) in after["assignments"].items() if c == a} == was
                # a merge places no one: the points stay
                assert {h: after["assignments"][h][1:] for h in was} == {h: before["assignments"][h][1:] for h in was}
                self.hand_edited(before, after, [self.village_of_cell(before, a)], r.json())

        @rule(data=st.data())
        def boundary(self, data):
            before = self.snap()
            mg = data.draw(st.sampled_from(self.mgs(before)), "micro-grid")
            g = _geom(before["microgrids"][mg][3])
            how = data.draw(st.sampled_from(["shrink", "same", "grow"]), "how")
            new = {"shrink": g.buffer(-0.0004, join_style="mitre"), "same": g,
                   "grow": g.buffer(0.0006, join_style="mitre")}[how]
            if new.is_empty:
                return
            r = self.send("PUT", f"/microgrids/{mg}/geometry", json={"geometry": shapely.geometry.mapping(new)})
            after = self.done(r, before)
            if after:
                assert after["assignments"] == before["assignments"]
                assert {i: c[:4] for i, c in after["cells"].items()} == {i: c[:4] for i, c in before["cells"].items()}

        # -- re-runs ---------------------------------------------------------------------
        def check_rerun(self, before, after, mgs):
            reg = _register_now(engine)
            for m, (key, v, n, w) in before["microgrids"].items():
                assert m in after["microgrids"]
                if m not in mgs:
                    assert after["microgrids"][m][:2] == (key, v) and _same_geom(after["microgrids"][m][3], w), key
            for c, (key, m, locked, n, w) in before["cells"].items():
                if m not in mgs:
                    assert c in after["cells"] and after["cells"][c][:3] == (key, m, locked), key
                    assert _same_geom(after["cells"][c][4], w), key
                elif locked:
                    # a locked cell keeps its polygon...
                    assert c in after["cells"] and after["cells"][c][2], key
                    assert _same_geom(after["cells"][c][4], w, tol=1e-7), key
                    poly = _geom(w)
                    # ...and the members still in the register, of the same village,
                    # at the point they had, or whose point lies in it still
                    for h, (hc, x, y) in before["assignments"].items():
                        if hc != c or h not in reg:
                            continue
                        village, pt, _, _ = reg[h]
                        if village != before["microgrids"][m][1]:
                            continue
                        same_point = x is not None and Point(x, y).distance(Point(*pt)) < 1e-6
                        if same_point or (poly is not None and poly.buffer(1e-7).contains(Point(*pt))):
                            assert after["assignments"].get(h, (None,))[0] == c, (key, h)
            # every household of the register the re-run had in its micro-grids, or whose
            # point lies in one, is in a cell, or a note names it
            noted = {h for _, _, _, hs, _ in after["notes"].values() for h in hs}
            shapes = {m: _geom(after["microgrids"][m][3]) for m in mgs}
            for h, (village, pt, _, _) in reg.items():
                was_here = before["assignments"].get(h, (None,))[0] in {
                    c for c, v in before["cells"].items() if v[1] in mgs}
                lies_here = any(g is not None and g.contains(Point(*pt)) and after["microgrids"][m][1] == village
                                for m, g in shapes.items())
                if was_here or lies_here:
                    assert h in after["assignments"] or h in noted, (h, was_here, lies_here)
            if os.environ.get("GEOGRID_STATEFUL_STATS"):  # exploring: the re-run's notes against the rules
                for v in {after["microgrids"][m][1] for m in mgs}:
                    stored = _stored_follow_notes(after, v)
                    fresh = _fresh_follow_notes(engine, self.pid, v, _kept_full(after))
                    if stored != fresh:
                        STATS["rerun follow notes differ"] += 1
                        EXAMPLES.append((sorted(stored - fresh), sorted(fresh - stored)))
            # each household the re-run placed keeps the register's point
            rerun_cells = {c for c, v in after["cells"].items() if v[1] in mgs}
            for h, (c, x, y) in after["assignments"].items():
                if c in rerun_cells and before["assignments"].get(h) != (c, x, y):
                    assert (x, y) == pytest.approx(reg[h][1], abs=1e-7), h
            # a cell of the re-run over the cap is named by a note, or is one address
            counts = Counter(c for c, _, _ in after["assignments"].values())
            for c in rerun_cells:
                if counts[c] <= CAP:
                    continue
                key = after["cells"][c][0]
                members = tuple(sorted(h for h, (hc, _, _) in after["assignments"].items() if hc == c))
                noted = any(k in ("locked_cell_full", "kept_cell_full") and key in msg
                            or k == "oversize_building" and set(hs) == set(members)
                            for k, _, msg, hs, _ in after["notes"].values())
                one_place = len({reg[h][1] for h in members}) == 1
                assert noted or one_place, (key, counts[c])

        def rerun_request(self, data, before):
            mgs = self.mgs(before)
            return data.draw(st.lists(st.sampled_from(mgs), min_size=1, max_size=2, unique=True), "micro-grids")

        @rule(data=st.data())
        def rerun(self, data):
            before = self.snap()
            mgs = self.rerun_request(data, before)
            r = self.send("POST", "/repartition", json={"microgrids": mgs})
            after = self.done(r, before)
            if after:
                self.check_rerun(before, after, set(mgs))
            else:
                assert r.status_code == 422, r.text

        @rule(data=st.data())
        def batch(self, data):
            before = self.snap()
            hs = self.by_number(before["assignments"])
            ops = []
            for _ in range(data.draw(st.integers(1, 3), "n")):
                kind = data.draw(st.sampled_from(["move", "lock", "unlock", "split", "merge", "repartition"]), "op")
                cell = data.draw(st.sampled_from(self.cells(before)), "cell")
                if kind == "move":
                    h = data.draw(st.sampled_from(hs), "household")
                    ops.append({"op": "move", "moves": [{"household_id": h, "cell_id": cell}]})
                elif kind in ("lock", "unlock"):
                    ops.append({"op": kind, "cell_id": cell})
                elif kind == "split":
                    members = self.by_number(h for h, (c, _, _) in before["assignments"].items() if c == cell)
                    if len(members) >= 2:
                        ops.append({"op": "split", "cell_id": cell, "household_ids": members[: len(members) // 2]})
                elif kind == "merge":
                    same = [c for c in self.cells(before) if before["cells"][c][1] == before["cells"][cell][1]
                            and c != cell]
                    if same:
                        ops.append({"op": "merge", "cells": [cell, data.draw(st.sampled_from(same), "other")]})
                else:
                    ops.append({"op": "repartition", "microgrids": [before["cells"][cell][1]]})
            if not ops:
                return
            r = self.send("POST", "/edits", json={"edits": ops})
            after = self.done(r, before)
            if after and not any(o["op"] == "repartition" for o in ops):
                self.hand_edited(before, after, [self.village_of_cell(before, o["cell_id"]) for o in ops
                                                 if o["op"] in ("lock", "unlock")], r.json())

        # -- the register changes (a re-import) ------------------------------------------
        def _upsert(self, rows):
            from geogrid.db.engine import session_scope
            from geogrid.db.households import upsert_households

            with session_scope(engine, write=True) as s:
                upsert_households(s, gpd.GeoDataFrame(rows, geometry="geometry", crs=4326))

        def _point(self, data, village, reg):
            others = [p for v, p, _, _ in reg.values() if v == village]
            if others and data.draw(st.booleans(), "at an address"):
                return Point(*data.draw(st.sampled_from(sorted(others)), "address"))
            b = VILLAGE_BOX[village].bounds
            fx, fy = data.draw(st.floats(0.02, 0.98), "x"), data.draw(st.floats(0.02, 0.98), "y")
            return Point(round(b[0] + fx * (b[2] - b[0]), 7), round(b[1] + fy * (b[3] - b[1]), 7))

        @rule(data=st.data())
        def household_added(self, data):
            reg = _register_now(engine)
            village = data.draw(st.sampled_from([V1, V2]), "village")
            self.added += 1
            self._upsert([{"household_no": f"N{self.added:03d}", "village_code": village, "source_crs": "wgs84",
                           "geometry": self._point(data, village, reg)}])

        @rule(data=st.data())
        def household_moved_house(self, data):
            from geogrid.db.engine import session_scope
            from geogrid.db.models import Household

            reg = _register_now(engine)
            h = data.draw(st.sampled_from(self.by_number(reg)), "household")
            with session_scope(engine) as s:
                row = s.get(Household, h)
                attrs = {"household_no": row.household_no, "village_code": row.village_code,
                         "building": row.building, "hamlet": row.hamlet, "source_crs": row.source_crs}
            self._upsert([{**attrs, "geometry": self._point(data, reg[h][0], reg)}])

        @rule(data=st.data())
        def household_removed(self, data):
            from geogrid.db.engine import session_scope
            from geogrid.db.models import Household

            reg = _register_now(engine)
            if len(reg) < 40:
                return
            h = data.draw(st.sampled_from(self.by_number(reg)), "household")
            with session_scope(engine, write=True) as s:
                s.delete(s.get(Household, h))

        @rule(data=st.data())
        def register_changes_then_rerun(self, data):
            """The new code's path: the register changed (often at the address of a
            household, often one moved by hand), then a re-run."""
            for _ in range(data.draw(st.integers(1, 3), "changes")):
                change = data.draw(st.sampled_from(["added", "moved", "removed"]), "change")
                {"added": self.household_added, "moved": self.household_moved_house,
                 "removed": self.household_removed}[change](data)
            self.rerun(data)

        @rule(data=st.data())
        def added_at_a_hand_moved_address_then_rerun(self, data):
            """A household added at the address of one the planner moved by hand out of
            the micro-grid it lives in, then that micro-grid re-run (it joins the cell
            of the one at its address)."""
            before = self.snap()
            reg = _register_now(engine)
            shapes = {m: _geom(g[3]) for m, g in before["microgrids"].items()}
            away = [(h, m) for h in self.by_number(before["assignments"]) for m in self.mgs(before)
                    if h in reg and shapes[m] is not None and shapes[m].contains(Point(*reg[h][1]))
                    and before["cells"][before["assignments"][h][0]][1] != m]
            if not away:
                return
            h, m = data.draw(st.sampled_from(away), "moved by hand")
            self.added += 1
            self._upsert([{"household_no": f"N{self.added:03d}", "village_code": reg[h][0], "source_crs": "wgs84",
                           "geometry": Point(*reg[h][1])}])
            before = self.snap()
            r = self.send("POST", "/repartition", json={"microgrids": [m]})
            after = self.done(r, before)
            if after:
                self.check_rerun(before, after, {m})

        # -- notes, validation, publishing -----------------------------------------------
        @rule(data=st.data())
        def acknowledge(self, data):
            before = self.snap()
            if not before["notes"]:
                return
            numbers = _numbers(engine)
            order = sorted(before["notes"], key=lambda i: (before["notes"][i][:3], sorted(
                numbers.get(h, "") for h in before["notes"][i][3])))
            note = data.draw(st.sampled_from(order), "note")
            r = client.post(f"{api}/{self.pid}/notes/{note}/acknowledge", headers=headers)
            assert r.status_code == 200, r.text

        @rule()
        def publish(self):
            v = client.get(f"{api}/{self.pid}/validation", headers=headers)
            assert v.status_code == 200, v.text
            errors = [p for p in v.json()["problems"] if p["severity"] == "error"]
            r = client.post(f"{api}/{self.pid}/publish", headers={**headers, "If-Match": self.etag})
            assert r.status_code < 500, r.text
            assert (r.status_code == 200) == (not errors), (r.status_code, r.text[:500], errors[:3])
            if r.status_code == 200:
                self.new_draft()

        # -- after every step ------------------------------------------------------------
        @invariant()
        def holds(self):
            snap = self.snap()
            reg = _register_now(engine)
            v = client.get(f"{api}/{self.pid}/validation", headers=headers)
            assert v.status_code == 200, v.text
            problems = v.json()["problems"]
            named = {o["id"] for p in problems if p["rule"] == "unassigned" for o in p["objects"]
                     if o["type"] == "household"}
            villages = {mv for _, mv, _, _ in snap["microgrids"].values()}
            for h, (village, _, _, _) in reg.items():
                if village in villages:
                    assert h in snap["assignments"] or h in named, h
            assert set(snap["assignments"]) <= set(reg)
            counts = Counter(c for c, _, _ in snap["assignments"].values())
            for h, (c, x, y) in snap["assignments"].items():
                assert c in snap["cells"], h
                assert x is not None and y is not None, h
            for c, (key, m, _, n, _) in snap["cells"].items():
                if counts[c] > CAP:
                    assert any(p["rule"] in ("over_capacity", "oversize_building")
                               and any(o.get("id") == c for o in p["objects"]) for p in problems), key
            assert client.get(f"{api}/{self.pid}/notes", headers=headers).status_code == 200

    return PlanEdits


def _budget():
    examples = int(os.environ.get("GEOGRID_STATEFUL_EXAMPLES", "4"))
    steps = int(os.environ.get("GEOGRID_STATEFUL_STEPS", "12"))
    return settings(max_examples=examples, stateful_step_count=steps, deadline=None,
                    derandomize=os.environ.get("GEOGRID_STATEFUL_RANDOM") != "1",
                    suppress_health_check=list(HealthCheck), print_blob=True,
                    **({"phases": [Phase.generate]} if os.environ.get("GEOGRID_STATEFUL_RANDOM") == "1" else {}))


def test_random_edits_keep_the_plan_whole(client, tokens, engine):
    run_state_machine_as_test(make_machine(client, engine, tokens["planner"]), settings=_budget())
    if os.environ.get("GEOGRID_STATEFUL_STATS"):
        print(sorted(STATS.items()))
        for e in EXAMPLES[:5]:
            print(e)
