"""A re-run hands the engine the point each household had when it was assigned.

A stored plan kept no point of its own, so a re-run (geogrid/api/planrerun.py) handed
:func:`geogrid.partition.repartition` the register's current points as the previous
plan's, with no point for a household whose point lay outside its cell (taken as
moved).  The engine could not tell a household that moved house from a planner's hand
move.  Now every assignment keeps the household's point when it was put in its cell
(the plan drawn, a hand move, a re-run), and the engine sees exactly what moved.

A hand-drawn village of two micro-grids of two cells each, on both back-ends::

    +--------+--------+--------+--------+
    |  M01   |  M01   |  M02   |  M02   |   village V1, D x D degrees (about 3 km);
    |  C01   |  C02   |  C01   |  C02   |   three households per cell, near the middle
    +--------+--------+--------+--------+
"""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import Point, box
from sqlalchemy import text

from tests.api.conftest import COUNTY, TOWN, V1, World, _password_hash

X0, Y0, D = 109.20, 27.30, 0.03
CELL_W = D / 4
M01, M02 = f"{V1}-M01", f"{V1}-M02"


def _cell_box(i: int):
    return box(X0 + i * CELL_W, Y0, X0 + (i + 1) * CELL_W, Y0 + D)


@pytest.fixture
def world(engine) -> World:
    """Overrides conftest's world: one village of two micro-grids, published; an admin
    and a county planner."""
    pytest.importorskip("geogrid.partition")
    from geogrid.db.engine import make_sessionmaker
    from geogrid.db.models import Area, Household, User
    from geogrid.db.plans import save_partition

    mp = lambda g: f"SRID=4326;{shapely.MultiPolygon([g]).wkt}"  # noqa: E731
    village = box(X0, Y0, X0 + D, Y0 + D)
    w = World()
    with make_sessionmaker(engine)() as s:
        s.add_all([Area(code=COUNTY, name="县", level="county", geom=mp(village)),
                   Area(code=TOWN, name="镇", level="town", parent_code=COUNTY, geom=mp(village)),
                   Area(code=V1, name="一村", level="village", parent_code=TOWN, geom=mp(village))])
        hh, mgs, cells = [], [], []
        for mi, mg in enumerate((M01, M02)):
            mgs.append({"microgrid_id": mg, "village_code": V1, "households": 6, "area_km2": 5.0,
                        "geometry": box(X0 + mi * D / 2, Y0, X0 + (mi + 1) * D / 2, Y0 + D)})
            for ci in range(2):
                key, poly = f"{mg}-C0{ci + 1}", _cell_box(2 * mi + ci)
                cells.append({"cell_id": key, "microgrid_id": mg, "village_code": V1, "households": 3,
                              "geometry": poly})
                for k in range(3):
                    x = poly.bounds[0] + (k + 1) * CELL_W / 4
                    y = Y0 + D / 2 + (k - 1) * D / 20
                    h = Household(household_no=f"H{mi}{ci}{k}", village_code=V1, source_crs="wgs84",
                                  geom=f"SRID=4326;POINT({x} {y})")
                    s.add(h)
                    s.flush()
                    w.households.setdefault(key, []).append(h.id)
                    w.cell_of[h.id] = key
                    hh.append({"household_id": h.id, "microgrid_id": mg, "cell_id": key,
                               "geometry": Point(x, y)})

        frames = {k: gpd.GeoDataFrame(v, geometry="geometry", crs=4326)
                  for k, v in (("households", hh), ("microgrids", mgs), ("cells", cells))}
        result = type("Result", (), frames)
        w.plan_id = save_partition(s, result, "published", {"max_households": 20}, county_code=COUNTY,
                                   status="published").id
        for name, role, scopes in (("admin", "admin", []), ("planner", "planner", [f"area:{COUNTY}"])):
            s.add(User(username=name, password_hash=_password_hash(), role=role, scopes=scopes))
        s.commit()
    return w


class Draft:
    """A draft of the published plan, edited through the API with its ETag."""

    def __init__(self, client, tokens):
        self.client, self.headers = client, tokens["planner"]
        r = client.post("/api/v1/plans", json={"name": "draft"}, headers=self.headers)
        assert r.status_code == 201, r.text
        self.id, self.etag = r.json()["id"], r.json()["etag"]
        self.cells = {f["properties"]["cell_key"]: f["id"] for f in self._get("/api/v1/cells")}
        self.microgrids = {f["properties"]["microgrid_key"]: f["id"] for f in self._get("/api/v1/microgrids")}

    def _get(self, url):
        r = self.client.get(url, params={"plan": self.id, "limit": 1000}, headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()["features"]

    def _send(self, method, url, **kw):
        r = self.client.request(method, f"/api/v1/plans/{self.id}{url}",
                                headers={**self.headers, "If-Match": self.etag}, **kw)
        assert r.status_code == 200, r.text
        self.etag = r.headers["etag"]
        return r.json()

    def move(self, household, cell_key):
        return self._send("PATCH", "/assignments",
                          json={"moves": [{"household_id": household, "cell_id": self.cells[cell_key]}]})

    def lock(self, cell_key, locked=True):
        return self._send("POST", f"/cells/{self.cells[cell_key]}/{'lock' if locked else 'unlock'}")

    def rerun(self, *microgrids):
        return self._send("POST", "/repartition", json={"microgrids": [self.microgrids[m] for m in microgrids]})


def _cell_of(engine, pid, household) -> str:
    with engine.connect() as conn:
        return conn.execute(text(
            "SELECT c.cell_key FROM assignments AS a JOIN cells AS c ON c.id = a.cell_id "
            "WHERE a.plan_id = :p AND a.household_id = :h"), {"p": pid, "h": household}).scalar_one()


def _move_house(engine, household, x, y) -> None:
    """What re-importing the household with a new point does."""
    with engine.begin() as conn:
        conn.execute(text("UPDATE households SET geom = ST_GeomFromText(:w, 4326) WHERE id = :id"),
                     {"w": Point(x, y).wkt, "id": household})


def test_a_household_that_moved_house_into_a_locked_cell_joins_it(client, tokens, world, engine):
    """Consequence (1): before, its point lay outside its cell (of the same micro-grid),
    so the re-run handed it to the engine with no previous point, as a hand move, and
    the engine took it for one moved out of the locked cell by hand and kept it out
    (it stayed in M01-C01).  It moved house: it joins the locked cell it now lives in."""
    draft = Draft(client, tokens)
    h = world.households[f"{M01}-C01"][0]
    draft.lock(f"{M01}-C02")
    _move_house(engine, h, X0 + CELL_W * 1.5, Y0 + D * 0.3)
    draft.rerun(M01)
    assert _cell_of(engine, draft.id, h) == f"{M01}-C02"


@pytest.mark.parametrize("locked", [True, False], ids=["locked", "unlocked"])
def test_a_hand_move_into_a_microgrid_not_rerun_stays_when_the_one_it_left_is_rerun(
        client, tokens, world, engine, locked):
    """Consequence (2): a household moved by hand out of a (then locked) cell of M01 into
    a cell of M02 lay outside its new cell, so a re-run of M01 handed it to the engine
    with no previous point, as moved house: the engine placed it by its point, back in
    M01 (in the free cell beside the locked one: 'taken out by hand').  Its point has
    not changed since the planner put it in M02: it stays there, as the engine keeps a
    hand move into a micro-grid not re-run."""
    draft = Draft(client, tokens)
    h = world.households[f"{M01}-C02"][0]
    draft.move(h, f"{M02}-C01")
    if locked:
        draft.lock(f"{M01}-C02")
    draft.rerun(M01)
    assert _cell_of(engine, draft.id, h) == f"{M02}-C01"
    # and a re-run of M02 itself places it by its point, in M01 no longer re-run: refused
    r = client.post(f"/api/v1/plans/{draft.id}/repartition", json={"microgrids": [draft.microgrids[M02]]},
                    headers={**draft.headers, "If-Match": draft.etag})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["params"]["lie_in"] == [M01]


def test_a_household_that_moved_house_within_its_cell_is_seen_as_moved(client, tokens, world, engine):
    """Consequence (3): its point still lay inside its cell, so the re-run handed the
    engine its new point as its previous one: not moved, and nothing was judged afresh
    around it.  Now the engine sees the move: moved to the far end of its cell, more
    than a kilometre from everyone, it is noted as isolated (before: no note)."""
    draft = Draft(client, tokens)
    h = world.households[f"{M01}-C01"][1]
    _move_house(engine, h, X0 + CELL_W / 2, Y0 + D * 0.99)
    out = draft.rerun(M01)
    assert _cell_of(engine, draft.id, h) == f"{M01}-C01"
    assert [(n["kind"], n["households"]) for n in out["notes"] if n["kind"] == "isolated"] == [("isolated", 1)]


def test_a_member_moved_into_a_locked_cell_by_hand_who_moves_house_leaves_it(client, tokens, world, engine):
    """Consequence (3) with a lock: a household moved by hand into a cell it does not lie
    in, which the planner then locked, stays in it through a re-run (the lock is the
    planner's word); but once it moved house, to where it still lay outside the locked
    cell, the re-run handed it with no previous point, as if it had not moved, and kept
    it in the locked cell.  It moved house: it is placed where it lives now."""
    draft = Draft(client, tokens)
    h = world.households[f"{M01}-C01"][0]
    draft.move(h, f"{M01}-C02")
    draft.lock(f"{M01}-C02")
    draft.rerun(M01)  # the hand move stands through a re-run...
    assert _cell_of(engine, draft.id, h) == f"{M01}-C02"
    _move_house(engine, h, X0 + CELL_W * 0.3, Y0 + D * 0.6)
    draft.rerun(M01)  # ...until the household moves house
    assert _cell_of(engine, draft.id, h) == f"{M01}-C01"


def _points(engine, pid) -> dict:
    """Household id -> (lon, lat) its assignment keeps, and the register's point now."""
    with engine.connect() as conn:
        return {h: ((x, y), (hx, hy)) for h, x, y, hx, hy in conn.execute(text(
            "SELECT a.household_id, a.lon, a.lat, ST_X(h.geom), ST_Y(h.geom) FROM assignments AS a "
            "JOIN households AS h ON h.id = a.household_id WHERE a.plan_id = :p"), {"p": pid})}


def test_a_hand_move_after_a_move_of_house_stands_through_a_rerun(client, tokens, world, engine):
    """A household that moved house (into M01-C02) which the planner then moved by hand
    into M02-C01 is a hand move as of its new point: a re-run of M01 keeps it in M02.
    Before the move kept the point, the assignment said it lived where the plan was
    drawn: the engine took it for moved since, and placed it back in M01."""
    draft = Draft(client, tokens)
    h = world.households[f"{M01}-C01"][0]
    _move_house(engine, h, X0 + CELL_W * 1.5, Y0 + D * 0.3)
    draft.move(h, f"{M02}-C01")
    draft.rerun(M01)
    assert _cell_of(engine, draft.id, h) == f"{M02}-C01"


def test_each_edit_keeps_the_point_it_placed_households_by(client, tokens, world, engine):
    """A draft copies each assignment's point (none where the plan kept none); a split
    gives the households it moves the register's point now; a merge and a re-run of
    another micro-grid leave the others' points as they were; a re-run gives the
    households of its micro-grids the register's points it placed them by."""
    moved = world.households[f"{M01}-C01"]
    legacy = world.households[f"{M02}-C02"][0]
    with engine.begin() as conn:  # an assignment made before plans kept points
        conn.execute(text("UPDATE assignments SET lon = NULL, lat = NULL WHERE household_id = :h"), {"h": legacy})
    first = _points(engine, world.plan_id)
    assert all(kept == now for h, (kept, now) in first.items() if h != legacy)
    for h in moved:
        x, y = first[h][1]
        _move_house(engine, h, x, y + 0.001)
    draft = Draft(client, tokens)
    assert _points(engine, draft.id) == _points(engine, world.plan_id)
    assert _points(engine, draft.id)[legacy][0] == (None, None)
    before = _points(engine, draft.id)
    draft._send("POST", f"/cells/{draft.cells[f'{M01}-C01']}/split", json={"household_ids": moved[:2]})
    after = _points(engine, draft.id)
    assert [after[h][0] == after[h][1] for h in moved] == [True, True, False]
    assert {h: p for h, p in after.items() if h not in moved[:2]} == {
        h: p for h, p in before.items() if h not in moved[:2]}
    draft._send("POST", "/cells/merge", json={"cells": [draft.cells[f"{M02}-C01"], draft.cells[f"{M02}-C02"]]})
    assert _points(engine, draft.id) == after
    draft.rerun(M01)
    rerun = _points(engine, draft.id)
    assert all(kept == now for h, (kept, now) in rerun.items() if world.cell_of[h].startswith(M01))
    assert {h: p for h, p in rerun.items() if world.cell_of[h].startswith(M02)} == {
        h: p for h, p in after.items() if world.cell_of[h].startswith(M02)}
