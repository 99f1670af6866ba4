"""``bbox_clause(..., points=True)``: the cheaper exact test for point tables selects
exactly what the general one does, boundary and single-precision rounding included."""

from __future__ import annotations

import itertools

import geopandas as gpd
from shapely.geometry import Point
from sqlalchemy import text

from geogrid.db import households as hh_repo
from geogrid.db.bulk import bbox_clause

#: A box whose edges are not single-precision numbers, so the spatial index's rounded
#: boxes hold candidates just outside it.
BOX = (109.1234567, 27.3456789, 109.1334567, 27.3556789)


def _points() -> list[Point]:
    x0, y0, x1, y1 = BOX
    eps = [0.0, 1e-12, -1e-12, 1e-7, -1e-7, 3e-6, -3e-6]
    xs = [x0 + e for e in eps] + [x1 + e for e in eps] + [(x0 + x1) / 2]
    ys = [y0 + e for e in eps] + [y1 + e for e in eps] + [(y0 + y1) / 2]
    return [Point(x, y) for x, y in itertools.product(xs, ys)]


def _selected(session, points: bool) -> set[str]:
    clause, params = bbox_clause(session, "households", BOX, alias="h", points=points)
    return set(session.execute(text(f"SELECT h.household_no FROM households AS h WHERE {clause}"),
                               params).scalars())


def test_point_test_selects_what_st_intersects_selects(session):
    pts = _points()
    hh_repo.upsert_households(session, gpd.GeoDataFrame(
        {"household_no": [f"B{i:03d}" for i in range(len(pts))]}, geometry=pts, crs=4326))
    exact = {f"B{i:03d}" for i, p in enumerate(pts)
             if BOX[0] <= p.x <= BOX[2] and BOX[1] <= p.y <= BOX[3]}
    assert 0 < len(exact) < len(pts)
    assert _selected(session, points=True) == exact
    assert _selected(session, points=False) == exact
    # the index alone takes some just outside: the exact test is needed
    assert _index_only(session) > len(exact)


def _index_only(session) -> int:
    params = dict(zip(("minx", "miny", "maxx", "maxy"), BOX))
    if session.get_bind().dialect.name == "sqlite":
        sql = ("SELECT count(*) FROM idx_households_geom WHERE xmin <= :maxx AND xmax >= :minx "
               "AND ymin <= :maxy AND ymax >= :miny")
    else:
        sql = ("SELECT count(*) FROM households AS h "
               "WHERE h.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)")
    return session.execute(text(sql), params).scalar()
