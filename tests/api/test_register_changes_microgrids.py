"""A re-run of some micro-grids clears ``register_changes`` only for what it re-solved.

Before, a re-run of micro-grid B marked its whole village's register as read: households
added or moved in micro-grid A of the same village, and an outline redrawn beside A,
were no longer reported although nothing had read them again.  Now the plan keeps when
each micro-grid read the register (``plans.microgrids_read_at``, migration 0010), each
village's entry names the micro-grids still to re-run, and says for every caller (an
analyst too, who is given no counts) whether households changed and whether the
outline did.  On the committed sample slice, both back-ends.
"""

from __future__ import annotations

import geopandas as gpd
import shapely
from shapely.geometry import Point
from sqlalchemy import func, select

from tests.api.test_plan_notes import _token
from tests.api.test_register_changes import _changes, _draft, _edit_point
from tests.api.test_rerun_after_edits import VILLAGES
from tests.api.test_rerun_after_edits import world  # noqa: F401  (the fixture)


def _microgrids(engine, pid, village):
    """``{key: (id, polygon)}`` of the plan's micro-grids of ``village``."""
    from geoalchemy2.shape import to_shape

    from geogrid.db.models import Microgrid

    with engine.connect() as conn:
        rows = conn.execute(select(Microgrid.microgrid_key, Microgrid.id, Microgrid.geom).where(
            Microgrid.plan_id == pid, Microgrid.village_code == village)).all()
    return {k: (i, to_shape(g)) for k, i, g in sorted(rows)}


def _households_in(engine, pid, key):
    """The ids and points of the households the plan has in micro-grid ``key``, by number."""
    from geogrid.db.models import Assignment, Cell, Household, Microgrid

    with engine.connect() as conn:
        return [(h, Point(x, y)) for h, x, y in conn.execute(
            select(Household.id, func.ST_X(Household.geom), func.ST_Y(Household.geom))
            .join(Assignment, Assignment.household_id == Household.id)
            .join(Cell, Cell.id == Assignment.cell_id).join(Microgrid, Microgrid.id == Cell.microgrid_id)
            .where(Assignment.plan_id == pid, Microgrid.microgrid_key == key)
            .order_by(Household.household_no)).all()]


def _add_household(engine, village, point, number):
    """What importing a register file with one new household at ``point`` does."""
    from geogrid.db.engine import session_scope
    from geogrid.db.households import upsert_households

    frame = gpd.GeoDataFrame({"household_no": [number], "village_code": [village]}, geometry=[point], crs=4326)
    with session_scope(engine, write=True) as s:
        assert upsert_households(s, frame).added == 1


def _rerun(client, headers, pid, etag, *mg_ids):
    r = client.post(f"/api/v1/plans/{pid}/repartition", json={"microgrids": list(mg_ids)},
                    headers={**headers, "If-Match": etag})
    assert r.status_code == 200, r.text
    return r.json()["etag"]


def _etag(client, headers, pid):
    r = client.get(f"/api/v1/plans/{pid}", headers=headers)
    assert r.status_code == 200, r.text
    return r.headers["etag"]


def _to_rerun(change):
    return [(m["key"], m["households"], m["outline"]) for m in change["microgrids"]]


def test_a_rerun_of_one_microgrid_leaves_the_other_microgrids_changes_reported(client, world, engine):
    a, _ = VILLAGES
    planner = _token(engine, "planner")
    pid, etag = _draft(client, planner)
    mgs = _microgrids(engine, pid, a)
    (key_a, (id_a, poly_a)), (key_b, (id_b, poly_b)) = list(mgs.items())[:2]
    # a household of micro-grid A moved a metre north, one added beside a household of B
    h_a = next(h for h, p in _households_in(engine, pid, key_a) if poly_a.contains(p.buffer(3e-5)))
    _edit_point(engine, h_a)
    near_b = next(p for _, p in _households_in(engine, pid, key_b)
                  if poly_b.contains(Point(p.x + 2e-5, p.y).buffer(1e-5)))
    _add_household(engine, a, Point(near_b.x + 2e-5, near_b.y), "REG-MG-1")
    (change,) = _changes(client, planner, pid)
    assert (change["village_code"], change["households"], change["added"], change["moved"]) == (a, 2, 1, 1)
    assert change["households_changed"] is True and change["outline"] is False
    assert _to_rerun(change) == [(key_a, True, False), (key_b, True, False)]
    assert [m["id"] for m in change["microgrids"]] == [id_a, id_b]

    # B re-run: what was added there is read; A's move is still to re-run, and said so
    etag = _rerun(client, planner, pid, etag, id_b)
    (change,) = _changes(client, planner, pid)  # before: [] (the whole village read)
    assert (change["village_code"], change["households"], change["added"], change["moved"]) == (a, 1, 0, 1)
    assert _to_rerun(change) == [(key_a, True, False)]
    assert change["message"].endswith(f"may be out of date until micro-grid(s) {key_a} are re-run")
    # a copy of the draft keeps what each micro-grid read
    from geogrid.db.engine import session_scope
    from geogrid.db.plans import copy_plan

    with session_scope(engine, write=True) as s:
        copy = copy_plan(s, pid, "copy").id
    (theirs,) = _changes(client, planner, copy)
    assert (theirs["households"], [m["key"] for m in theirs["microgrids"]]) == (1, [key_a])

    # an analyst (the published plan, never re-run) is told what changed where, not how many
    analyst = _token(engine, "analyst-mg", "analyst", ["area:431227"])
    (seen,) = _changes(client, analyst, world)
    assert (seen["households"], seen["added"], seen["moved"], seen["removed"]) == (None, None, None, None)
    assert (seen["households_changed"], seen["outline"]) == (True, False)
    assert _to_rerun(seen) == [(key_a, True, False), (key_b, True, False)]

    _rerun(client, planner, pid, etag, id_a)
    assert _changes(client, planner, pid) == []


def _outline_beside(engine, village, poly, others, radius=4e-4, *, bite=False):
    """The village's outline re-imported with a disc of land added where micro-grid
    ``poly`` meets the outline farthest from the village's ``others`` (``bite``: taken
    out of it there)."""
    from geogrid.db.areas import areas_frame, upsert_areas
    from geogrid.db.engine import session_scope

    with session_scope(engine, write=True) as s:
        frame = areas_frame(s, "village")
    frame = frame[frame["code"] == village].drop(columns=["area_id"])
    outline = frame.geometry.iloc[0]
    edge = shapely.intersection(poly.boundary, outline.boundary.buffer(1e-7))
    rest = shapely.union_all(others)
    spot = max((Point(x, y) for x, y in shapely.get_coordinates(shapely.segmentize(edge, 5e-5))),
               key=lambda p: p.distance(rest))
    assert spot.distance(rest) > 2.5 * radius, "no border of the micro-grid far from the others"
    redrawn = (shapely.difference if bite else shapely.union)(outline, spot.buffer(radius))
    frame = frame.set_geometry([redrawn], crs=frame.crs)
    with session_scope(engine, write=True) as s:
        assert upsert_areas(s, frame, "village").updated == 1


def test_an_outline_redrawn_beside_one_microgrid_stays_reported_until_that_one_is_rerun(client, world, engine):
    _, b = VILLAGES
    planner = _token(engine, "planner")
    pid, etag = _draft(client, planner)
    mgs = _microgrids(engine, pid, b)
    # a micro-grid on the village's border, land added beside it only
    key_a = next(k for k, (_, p) in mgs.items() if _far_border(p, [q for j, (_, q) in mgs.items() if j != k]))
    id_a, poly_a = mgs[key_a]
    _outline_beside(engine, b, poly_a, [q for k, (_, q) in mgs.items() if k != key_a])
    (change,) = _changes(client, planner, pid)
    assert (change["village_code"], change["outline"], change["households_changed"]) == (b, True, False)
    assert change["households"] == 0
    assert _to_rerun(change) == [(key_a, False, True)]  # the others lie on the new outline as before

    # another micro-grid of the village re-run: the land beside A is still in none
    key_other = next(k for k in mgs if k != key_a)
    etag = _rerun(client, planner, pid, etag, mgs[key_other][0])
    (change,) = _changes(client, planner, pid)  # before: [] (the whole village read)
    assert (change["village_code"], change["outline"], change["households_changed"]) == (b, True, False)
    assert _to_rerun(change) == [(key_a, False, True)]
    assert change["message"] == (f"village {b}: its outline was redrawn since the plan read it; its notes and "
                                 f"validation may be out of date until micro-grid(s) {key_a} are re-run")

    # an analyst reads that the outline changed and households did not (before, only
    # the message said so); with a household moved as well, both
    analyst = _token(engine, "analyst-outline", "analyst", ["area:431227"])
    (seen,) = _changes(client, analyst, world)
    assert (seen["outline"], seen["households_changed"], seen["households"]) == (True, False, None)
    h, _ = _households_in(engine, world, key_other)[0]
    _edit_point(engine, h)
    (seen,) = _changes(client, analyst, world)
    assert (seen["outline"], seen["households_changed"], seen["households"]) == (True, True, None)
    assert _to_rerun(seen) == sorted([(key_a, False, True), (key_other, True, False)])

    # A re-run takes the land; the draft then has only the household moved since to read
    etag = _rerun(client, planner, pid, _etag(client, planner, pid), id_a)
    (change,) = _changes(client, planner, pid)
    assert (change["outline"], change["households"], _to_rerun(change)) == (False, 1, [(key_other, True, False)])
    _rerun(client, planner, pid, etag, mgs[key_other][0])
    assert _changes(client, planner, pid) == []


def _far_border(poly, others, radius=4e-4):
    """Whether ``poly`` has a stretch of the village's border (a side no other
    micro-grid touches) farther than the disc of :func:`_outline_beside` from them."""
    rest = shapely.union_all(others)
    free = shapely.difference(poly.boundary, rest.buffer(1e-7))
    return any(Point(x, y).distance(rest) > 2.5 * radius
               for x, y in shapely.get_coordinates(shapely.segmentize(free, 5e-5)))


def test_an_outline_that_leaves_one_microgrid_sticking_out_names_that_one(client, world, engine):
    """A bite taken out of the village beside micro-grid A: A sticks out of the new
    outline, the others lie inside it as before; a re-run of another leaves A as it was."""
    _, b = VILLAGES
    planner = _token(engine, "planner")
    pid, etag = _draft(client, planner)
    mgs = _microgrids(engine, pid, b)
    key_a = next(k for k, (_, p) in mgs.items() if _far_border(p, [q for j, (_, q) in mgs.items() if j != k]))
    _outline_beside(engine, b, mgs[key_a][1], [q for k, (_, q) in mgs.items() if k != key_a], bite=True)
    (change,) = _changes(client, planner, pid)
    assert (change["outline"], change["households_changed"], _to_rerun(change)) == (True, False, [(key_a, False, True)])
    _rerun(client, planner, pid, etag, mgs[next(k for k in mgs if k != key_a)][0])
    (change,) = _changes(client, planner, pid)  # before: [] (the whole village read)
    assert (change["outline"], _to_rerun(change)) == (True, [(key_a, False, True)])
