"""Administrative areas: upsert by code, parents linked in any order."""

from __future__ import annotations

import geopandas as gpd
from db_registers import COUNTY, TOWN, V1, make_villages
from shapely.geometry import Polygon, box
from sqlalchemy import select

from geogrid.db import areas
from geogrid.db.models import Area


def _town():
    return gpd.GeoDataFrame({"code": [TOWN], "name": ["某镇"], "parent_code": [COUNTY],
                             "vintage": [2023]}, geometry=[box(109.0, 27.0, 109.2, 27.1)],
                            crs=4326)


def _county():
    return gpd.GeoDataFrame({"code": [COUNTY], "name": ["新晃侗族自治县"]},
                            geometry=[box(108.9, 26.9, 109.3, 27.2)], crs=4326)


def test_upsert_counts_and_parents(session):
    assert areas.upsert_areas(session, make_villages(), "village").added == 2
    assert areas.upsert_areas(session, _town(), "town").added == 1
    assert areas.upsert_areas(session, _county(), "county").added == 1
    rows = {a.code: a for a in session.scalars(select(Area))}
    assert rows[V1].parent.code == TOWN
    assert rows[TOWN].parent.code == COUNTY
    assert rows[COUNTY].parent is None

    again = areas.upsert_areas(session, make_villages(), "village")
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    changed = make_villages()
    changed.loc[0, "name"] = "新甲村"
    changed.loc[1, "geometry"] = box(109.1, 27.0, 109.25, 27.1)
    again = areas.upsert_areas(session, changed, "village")
    assert (again.added, again.updated, again.unchanged) == (0, 2, 0)


def test_frames_are_multipolygons_in_4326(session):
    areas.upsert_areas(session, make_villages(), "village")
    frame = areas.villages_frame(session)
    assert list(frame["village_code"]) == sorted(make_villages()["code"])
    assert frame.crs.to_epsg() == 4326
    assert (frame.geom_type == "MultiPolygon").all()
    assert frame.geometry.iloc[0].equals(make_villages().geometry.iloc[0])
    assert frame["town_code"].eq(TOWN).all()


def test_polygon_with_hole_and_no_geometry(session):
    ring = Polygon([(109, 27), (109.1, 27), (109.1, 27.1), (109, 27.1)],
                   [[(109.04, 27.04), (109.06, 27.04), (109.06, 27.06), (109.04, 27.06)]])
    gdf = gpd.GeoDataFrame({"code": ["431227100301", "431227100302"], "name": ["a", "b"]},
                           geometry=[ring, None], crs=4326)
    assert areas.upsert_areas(session, gdf, "village").added == 2
    frame = areas.areas_frame(session, "village").set_index("code")
    assert frame.loc["431227100301", "geometry"].area == ring.area
    assert frame.loc["431227100302", "geometry"] is None
