"""A re-run writes the households the engine put in a kept cell of a micro-grid it did
not re-run.

Since 8a9640a a household added, or moved house, to the address of a household kept
in a cell of a micro-grid not re-run (a house on the border, or one the planner moved
by hand into the next micro-grid) joins that cell: one address is never split between
cells.  The engine said so, but the API wrote only the households of the re-run
micro-grids (geogrid/api/planrerun.py): the newcomer was left in no cell, and one that
moved house there lost its assignment, with no refusal and no note saying why (the
re-run's ``kept_cell_full`` note named it in a cell it was not in).

tests/api/test_rerun_points.py's world (one village, micro-grids M01 and M02 of two
cells each), on both back-ends.
"""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import Point
from sqlalchemy import text

from tests.api.test_rerun_points import M01, M02, V1, Draft, _cell_of
from tests.api.test_rerun_points import world  # noqa: F401  (the fixture)


def _point(engine, household):
    with engine.connect() as conn:
        return conn.execute(text("SELECT ST_X(geom), ST_Y(geom), household_no FROM households WHERE id = :h"),
                            {"h": household}).one()


def _upsert(engine, rows):
    """What re-importing these households does."""
    from geogrid.db.engine import session_scope
    from geogrid.db.households import household_ids, upsert_households

    with session_scope(engine, write=True) as s:
        upsert_households(s, gpd.GeoDataFrame(rows, geometry="geometry", crs=4326))
    with session_scope(engine) as s:
        return household_ids(s, [r["household_no"] for r in rows])


def _counts(engine, pid):
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT cell_key, households FROM cells WHERE plan_id = :p"), {"p": pid}).all())
        real = dict(conn.execute(text(
            "SELECT c.cell_key, count(a.household_id) FROM cells AS c LEFT JOIN assignments AS a "
            "ON a.cell_id = c.id WHERE c.plan_id = :p GROUP BY c.cell_key"), {"p": pid}).all())
    return stored, real


def test_households_at_the_address_of_one_moved_into_another_microgrid_join_its_cell(client, tokens, world, engine):
    """The planner moved ``h`` by hand into M02-C01 (its house stays in M01-C01).  A
    household added at h's address, and one of M01-C02 that moved house there, join
    h's cell when M01 is re-run: before, the newcomer was in no cell and the other
    lost its assignment."""
    draft = Draft(client, tokens)
    h = world.households[f"{M01}-C01"][0]
    mover = world.households[f"{M01}-C02"][1]
    draft.move(h, f"{M02}-C01")
    x, y, _ = _point(engine, h)
    new = _upsert(engine, [{"household_no": "NEW1", "village_code": V1, "source_crs": "wgs84",
                            "geometry": Point(x, y)},
                           {"household_no": _point(engine, mover)[2], "village_code": V1, "source_crs": "wgs84",
                            "geometry": Point(x, y)}])["NEW1"]
    draft.rerun(M01)
    assert _cell_of(engine, draft.id, new) == f"{M02}-C01"
    assert _cell_of(engine, draft.id, mover) == f"{M02}-C01"
    assert _cell_of(engine, draft.id, h) == f"{M02}-C01"
    stored, real = _counts(engine, draft.id)
    assert stored == real and real[f"{M02}-C01"] == 6
    with engine.connect() as conn:
        kept = conn.execute(text("SELECT lon, lat FROM assignments WHERE plan_id = :p AND household_id IN (:a, :b)"),
                            {"p": draft.id, "a": new, "b": mover}).all()
    assert kept == [(x, y), (x, y)]
