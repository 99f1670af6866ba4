"""The API's plan validation and the engine's check() apply one rule to cells in pieces.

A village can be in pieces (islands); the land of an island without households goes
to one cell, which is then in pieces too.  check() accepted such a plan and the API's
validation called it a ``disconnected_cell`` error, so a plan the engine calls valid
could not be published.  The rule both apply now: a cell may be in several pieces only
where its village is, each of them in a different piece of the village
(geogrid.partition.validate.not_one_piece).  A cell in two pieces within one piece of
its village is still reported by both.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import box

CODE = "431227101201"
X0, Y0, D = 109.20, 27.30, 0.01  # the village's main part: D x D degrees (about 1 km)
MAIN = box(X0, Y0, X0 + D, Y0 + D)
ISLAND = box(X0 + 1.3 * D, Y0 + 0.4 * D, X0 + 1.5 * D, Y0 + 0.6 * D)  # 300 m off, no households


def _store(session, outline, n=60):
    """The village ``outline`` and ``n`` households on its main part, in the register."""
    from geogrid.db.areas import upsert_areas
    from geogrid.db.households import upsert_households

    mp = outline if outline.geom_type == "MultiPolygon" else shapely.MultiPolygon([outline])
    upsert_areas(session, gpd.GeoDataFrame({"code": [CODE], "name": ["一村"]}, geometry=[mp], crs=4326),
                 "village")
    xy = np.random.default_rng(0).uniform((X0 + D * .05, Y0 + D * .05), (X0 + D * .95, Y0 + D * .95), (n, 2))
    upsert_households(session, gpd.GeoDataFrame(
        {"household_no": [f"H{i:03d}" for i in range(n)], "village_code": [CODE] * n},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=4326))


def _partition(session):
    from geogrid.db.registerpartition import read_register
    from geogrid.partition import partition

    inputs = read_register(session)
    return partition(inputs.households, inputs.villages), inputs.villages


def _both(session, result, villages):
    """(check()'s broken rules, the API's problems) of one plan."""
    from geogrid.api.planvalidation import validate_plan
    from geogrid.api.scope import Scope
    from geogrid.db.plans import save_partition
    from geogrid.partition import check

    broken = {k: v for k, v in check(result, villages).items() if v}
    plan = save_partition(session, result, "islands", {"max_households": 20})
    session.flush()
    return broken, validate_plan(session, plan, scope=Scope(unrestricted=True))


def _cut_in_two(geom):
    """``geom`` less a 2 m strip (in degrees, about) across its middle: in pieces."""
    x0, y0, x1, y1 = geom.bounds
    ym = geom.representative_point().y
    return geom.difference(box(x0 - 1, ym - 1e-5, x1 + 1, ym + 1e-5))


def _pieces(gs) -> np.ndarray:
    return shapely.get_num_geometries(gs.to_numpy())


def test_a_cell_with_an_island_without_households_is_valid_to_check_and_to_the_api(session):
    _store(session, shapely.MultiPolygon([MAIN, ISLAND]))
    result, villages = _partition(session)
    cells = result.cells
    assert (_pieces(cells.geometry) > 1).sum() == 1  # the island went to one cell
    broken, problems = _both(session, result, villages)
    assert broken == {}
    assert [p for p in problems if p["severity"] == "error"] == []  # disconnected_cell before
    # a village with no stored outline is the land of its micro-grids, to both
    from sqlalchemy import select, update

    from geogrid.api.planvalidation import validate_plan
    from geogrid.api.scope import Scope
    from geogrid.db.models import Area, Plan
    from geogrid.partition import check

    session.execute(update(Area).where(Area.code == CODE).values(geom=None))
    plan = session.scalars(select(Plan).where(Plan.name == "islands")).one()
    assert not any(check(result).values())
    assert [p for p in validate_plan(session, plan, scope=Scope(unrestricted=True))
            if p["severity"] == "error"] == []


def test_a_village_that_gains_an_island_by_repartition_stays_valid_to_both(session):
    """The case the review found: an outline edit gives the village a detached part,
    repartition() puts it in a cell of the micro-grid named, and the plan it makes is
    valid to check() and to the API."""
    from sqlalchemy import update

    from geogrid.db.models import Area
    from geogrid.partition import repartition

    _store(session, MAIN)
    result, villages = _partition(session)
    assert (_pieces(result.cells.geometry) == 1).all()
    edited = villages.set_geometry([shapely.MultiPolygon([MAIN, ISLAND])], crs=villages.crs)
    session.execute(update(Area).where(Area.code == CODE).values(
        geom=f"SRID=4326;{shapely.MultiPolygon([MAIN, ISLAND]).wkt}"))
    again = repartition(result, result.households, edited, microgrids=list(result.microgrids["microgrid_id"]))
    assert (_pieces(again.cells.geometry) > 1).sum() == 1
    broken, problems = _both(session, again, edited)
    assert broken == {}
    assert [p for p in problems if p["severity"] == "error"] == []


@pytest.mark.parametrize("outline", [pytest.param(MAIN, id="one_piece_village"),
                                     pytest.param(shapely.MultiPolygon([MAIN, ISLAND]), id="island_village")])
def test_a_cell_in_two_pieces_within_one_piece_of_its_village_is_reported_by_both(session, outline):
    """A cell cut in two on the main part: a cell in pieces where its village is not,
    in a village of one piece or (check() took it as valid before) one with an island."""
    _store(session, outline)
    result, villages = _partition(session)
    one = np.flatnonzero(_pieces(result.cells.geometry) == 1)[0]
    key = result.cells["cell_id"].iloc[one]
    geoms = result.cells.geometry.to_numpy().copy()
    geoms[one] = _cut_in_two(geoms[one])
    assert shapely.get_num_geometries(geoms[one]) > 1
    result.cells = result.cells.set_geometry(list(geoms), crs=result.cells.crs)
    broken, problems = _both(session, result, villages)
    assert key in broken.get("cells_one_piece", [])
    disconnected = [p for p in problems if p["rule"] == "disconnected_cell"]
    assert [[o["key"] for o in p["objects"]] for p in disconnected] == [[key]]
    assert disconnected[0]["severity"] == "error"


def test_a_big_island_without_households_makes_no_empty_microgrid_or_cell(session):
    """Before: an uninhabited island bigger than a micro-grid (a river island, an
    exclave of forest) became micro-grids of its own, each with one empty cell: check()
    passed the plan, the API called every such cell an ``empty_cell`` error, and the
    plan could not be published.  Now the island joins the nearest micro-grid and cell,
    and the village's micro-grids are counted from its inhabited land."""
    big = box(X0 + 1.3 * D, Y0, X0 + 2.5 * D, Y0 + 1.2 * D)  # about 1.2 km x 1.3 km, 300 m off
    _store(session, shapely.MultiPolygon([MAIN, big]), n=200)
    result, villages = _partition(session)
    assert (result.microgrids["households"] > 0).all() and (result.cells["households"] > 0).all()
    notes = [d for d in result.diagnostics if d["kind"] == "uninhabited_land"]
    assert len(notes) == 1 and "1 part(s)" in notes[0]["message"]
    # the island is in exactly one micro-grid and one cell, beside their own land
    isl = gpd.GeoSeries([big], crs=4326).to_crs(result.cells.crs).iloc[0]
    holds = result.cells.geometry.intersection(isl).area > 0.99 * isl.area
    assert holds.sum() == 1 and _pieces(result.cells.geometry[holds])[0] == 2
    broken, problems = _both(session, result, villages)
    assert broken == {}
    assert [p for p in problems if p["severity"] == "error"] == []  # empty_cell x2 before


def test_a_microgrid_an_outline_edit_leaves_in_pieces_is_reported_by_both(session):
    """A river cut across one micro-grid of a one-piece village, re-solved alone: the
    micro-grid is in two pieces (the engine's microgrid_in_pieces note says to re-solve
    it with its neighbours).  check() reported microgrids_one_piece, but the API had no
    such problem and let the plan be published."""
    from geogrid.partition import repartition

    _store(session, MAIN, n=60)
    result, villages = _partition(session)
    assert len(result.microgrids) > 1
    # a 40 m river across one micro-grid, from edge to edge of it, that leaves the
    # village in one piece (it passes beside the others)
    V = villages.geometry.iloc[0]
    for m, mg in zip(result.microgrids["microgrid_id"], result.microgrids.geometry):
        x0, y0, x1, y1 = mg.bounds
        cx, cy, w = (x0 + x1) / 2, (y0 + y1) / 2, 2e-4
        for river in (box(cx - w, y0 - w / 4, cx + w, y1 + w / 4), box(x0 - w / 4, cy - w, x1 + w / 4, cy + w)):
            if _pieces(gpd.GeoSeries([V.difference(river)]))[0] == 1 and \
                    _pieces(gpd.GeoSeries([mg.difference(river)]))[0] == 2:
                break
        else:
            continue
        break
    else:
        raise AssertionError("no micro-grid a river can cut in two")
    edited = villages.copy()
    edited["geometry"] = edited.geometry.difference(river)
    hh = result.households[~result.households.geometry.within(river)].drop(columns=["microgrid_id", "cell_id"])
    r2 = repartition(result, hh, edited, microgrids=[m])
    assert [d["microgrids"] for d in r2.diagnostics if d["kind"] == "microgrid_in_pieces"] == [[m]]
    broken, problems = _both(session, r2, edited)
    assert list(broken.get("microgrids_one_piece", {})) == [m]
    torn = [p for p in problems if p["rule"] == "disconnected_microgrid"]
    assert [p["objects"][0]["key"] for p in torn] == [m] and torn[0]["severity"] == "error"


def _bow_tie(x0, y0, x1, y1):
    """A hand-digitised outline whose ring crosses itself in the middle (invalid): the
    left and right triangles of the box, as make_valid repairs it."""
    return shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])


def test_a_stored_bow_tie_village_outline_is_validated_not_a_500(client, tokens, world, engine):
    """A village's stored outline replaced by a bow-tie over its square (a re-import of a
    hand-digitised boundary): GET /plans/{id}/validation answered 500 (GEOS: 'Input geom 1
    is invalid: Self-intersection' in the nesting check, which took the raw outline while
    the pieces check repaired it).  Now the outline is repaired once, as the engine reads
    it (its two triangles), and the micro-grid that covers the whole square is reported
    reaching out of the village by the other two triangles, half the square; no gap."""
    import pyproj
    from sqlalchemy import text

    from tests.api.conftest import V1, X0 as WX0, Y0 as WY0, D as WD

    bow = _bow_tie(WX0, WY0, WX0 + WD, WY0 + WD)
    assert not bow.is_valid
    with engine.begin() as conn:
        conn.execute(text("UPDATE areas SET geom = ST_GeomFromText(:w, 4326) WHERE code = :c"),
                     {"w": shapely.MultiPolygon([bow]).wkt, "c": V1})
    r = client.get(f"/api/v1/plans/{world.plan_id}/validation", headers=tokens["planner"])
    assert r.status_code == 200, r.text  # 500 before
    problems = r.json()["problems"]
    errors = [p for p in problems if p["severity"] == "error"]
    assert [(p["rule"], [o.get("key") or o.get("code") for o in p["objects"]]) for p in errors] == [
        ("nesting", [f"{V1}-M01", V1])]
    utm = pyproj.Transformer.from_crs(4326, 32649, always_xy=True).transform
    square_m2 = shapely.transform(box(WX0, WY0, WX0 + WD, WY0 + WD),
                                  lambda xy: np.column_stack(utm(xy[:, 0], xy[:, 1]))).area
    assert errors[0]["area_m2"] == pytest.approx(square_m2 / 2, rel=0.01)


def test_a_plan_of_a_bow_tie_village_is_validated_like_check_does(session):
    """The reviewer's case: a bow-tie village outline (invalid) with households in one
    triangle only, partitioned and saved.  validate_plan raised GEOSException (a 500 at
    the API); now it answers, with no nesting or pieces error (the plan's micro-grids lie
    in the repaired outline).  Land of the outline in no micro-grid is reported as the
    village's gap, if the engine left the triangle without households out."""
    from shapely.ops import unary_union

    from geogrid.db.areas import upsert_areas
    from geogrid.db.households import upsert_households

    bow = _bow_tie(X0, Y0, X0 + 2 * D, Y0 + 2 * D)
    left = shapely.Polygon([(X0, Y0), (X0 + D, Y0 + D), (X0, Y0 + 2 * D)])
    upsert_areas(session, gpd.GeoDataFrame({"code": [CODE], "name": ["一村"]},
                                           geometry=[shapely.MultiPolygon([bow])], crs=4326), "village")
    rng = np.random.default_rng(0)
    xy = rng.uniform((X0, Y0), (X0 + D, Y0 + 2 * D), (2000, 2))
    xy = xy[shapely.contains_xy(left.buffer(-1e-4), xy[:, 0], xy[:, 1])][:120]
    upsert_households(session, gpd.GeoDataFrame(
        {"household_no": [f"H{i:03d}" for i in range(len(xy))], "village_code": [CODE] * len(xy)},
        geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=4326))
    result, villages = _partition(session)
    assert not villages.geometry.iloc[0].is_valid
    broken, problems = _both(session, result, villages)  # GEOSException before
    errors = [p for p in problems if p["severity"] == "error"]
    assert {p["rule"] for p in errors} <= {"gap"}, errors
    covered = unary_union(list(result.microgrids.to_crs(4326).geometry))
    for p in errors:
        assert p["objects"] == [{"type": "area", "code": CODE}]
        # the land of the repaired outline no micro-grid covers: the right triangle
        assert shapely.make_valid(bow).difference(covered).area > 0.9 * (D * D)
