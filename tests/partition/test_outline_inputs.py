"""Village outlines as planners draw them: a self-intersecting (bow-tie) outline in
WGS84, and outlines that are collections (what a GIS's "Fix geometries" writes), read
alike by partition(), check() and :func:`~geogrid.partition.inputs.outline_metric`."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Polygon, box

from geogrid.crs import reproject
from geogrid.errors import InputError
from geogrid.partition import check, partition

from .conftest import UTM, X0, Y0, households_gdf, village_gdf

#: a hand-drawn bow-tie in degrees, its lobes 0.95 and 0.90 km²: shapely.segmentize
#: (which reproject runs to keep edges' shape) kept the first only
LON, LAT = 109.20, 27.30
BOW = Polygon([(LON, LAT), (LON + 0.021, LAT + 0.017), (LON + 0.025, LAT + 0.002), (LON + 0.001, LAT + 0.015)])


def broken(result, villages=None) -> dict:
    return {k: v[:5] for k, v in check(result, villages).items() if v}


def _inside(poly, n, seed=0):
    """``n`` random points inside ``poly``."""
    rng = np.random.default_rng(seed)
    c = rng.uniform(poly.bounds[:2], poly.bounds[2:], (20 * n, 2))
    return c[shapely.contains_xy(poly, c[:, 0], c[:, 1])][:n]


def _lobes():
    return list(shapely.get_parts(shapely.make_valid(BOW)))


def test_a_bow_tie_outline_in_wgs84_keeps_both_lobes():
    """Before: the lobe segmentize dropped was no land of the village's; its 40
    households were left out as outside_village and the micro-grids covered 0.95 of
    the 1.85 km², while check() passed (it read the outline the same way)."""
    xy = np.vstack([_inside(lobe, 40, seed=i) for i, lobe in enumerate(_lobes())])
    hh = gpd.GeoDataFrame({"village_code": ["V"] * len(xy)}, geometry=gpd.points_from_xy(*xy.T), crs=4326)
    v = gpd.GeoDataFrame({"village_code": ["V"]}, geometry=[BOW], crs=4326)
    r = partition(hh, v, engine="serial")
    assert {d["kind"] for d in r.diagnostics} <= {"uninhabited_land"}
    assert r.households["cell_id"].notna().all()
    whole = gpd.GeoSeries([shapely.make_valid(BOW)], crs=4326).to_crs(UTM).area.iloc[0]
    assert abs(r.microgrids.to_crs(UTM).area.sum() - whole) < 1e3
    assert broken(r, v) == {}


def test_check_judges_a_plan_against_both_lobes_of_a_bow_tie():
    """A plan that covers one lobe only is no plan of the bow-tie village (check()
    passed it before, reading the outline through segmentize as that lobe)."""
    one = _lobes()[1]  # the lobe segmentize kept
    hh = gpd.GeoDataFrame({"village_code": ["V"] * 40}, geometry=gpd.points_from_xy(*_inside(one, 40).T), crs=4326)
    r = partition(hh, gpd.GeoDataFrame({"village_code": ["V"]}, geometry=[one], crs=4326), engine="serial")
    assert broken(r, gpd.GeoDataFrame({"village_code": ["V"]}, geometry=[one], crs=4326)) == {}
    gaps = check(r, gpd.GeoDataFrame({"village_code": ["V"]}, geometry=[BOW], crs=4326))["microgrids_tile_villages"]
    assert [k for k, _ in gaps] == ["V"] and float(gaps[0][1].split()[1]) > 8e5  # the other lobe, 0.90 km²


def test_outline_metric_repairs_before_it_reprojects():
    """The helper partition() and check() read outlines with (repartition() should):
    both lobes, a line no area, a missing or empty outline None, a valid outline as
    reproject() gives it."""
    from geogrid.partition.inputs import outline_metric

    sq = box(LON + 0.05, LAT, LON + 0.06, LAT + 0.01)
    given = gpd.GeoSeries([BOW, LineString([(LON, LAT), (LON, LAT + 0.01)]), None, sq, Polygon()],
                          index=[3, 5, 7, 9, 11], crs=4326)
    g = outline_metric(given, UTM)
    assert list(g.index) == [3, 5, 7, 9, 11] and g.crs == UTM
    assert g[3].geom_type == "MultiPolygon" and len(g[3].geoms) == 2
    assert abs(g[3].area - reproject(gpd.GeoSeries(_lobes(), crs=4326), UTM).area.sum()) < 1e-3
    assert g[5].is_empty and g[5] is not None  # given, no area
    assert g[7] is None and g[11] is None  # none given
    assert g[9].equals(reproject(given, UTM)[9])


def test_an_outline_that_is_a_collection_holding_a_multipolygon_is_land():
    """Before: only a collection's Polygon parts were taken, so a bow-tie with a spike
    (make_valid, or QGIS "Fix geometries": GEOMETRYCOLLECTION(MULTIPOLYGON, LINESTRING))
    or an island village with a stray line was refused as "no area (lines or points)"."""
    P = [(0, 0), (2000, 2000), (2000, 0), (0, 2000), (0, 1000), (-300, 1000), (0, 1000), (0, 0)]
    spiked = Polygon([(X0 + x, Y0 + y) for x, y in P])
    fixed = shapely.make_valid(spiked)
    assert [p.geom_type for p in fixed.geoms] == ["MultiPolygon", "LineString"]
    left = Polygon([(X0, Y0), (X0 + 1000, Y0 + 1000), (X0, Y0 + 2000)])
    right = Polygon([(X0 + 2000, Y0), (X0 + 1000, Y0 + 1000), (X0 + 2000, Y0 + 2000)])
    main, isl = box(X0, Y0 + 3000, X0 + 2000, Y0 + 4500), box(X0 + 2300, Y0 + 3200, X0 + 2500, Y0 + 3400)
    islands = GeometryCollection([MultiPolygon([main, isl]), LineString([(X0, Y0 + 3000), (X0 - 100, Y0 + 2900)])])
    for outline, parts in ((spiked, [left, right]), (fixed, [left, right]), (islands, [main])):
        xy = np.vstack([_inside(p, 40, seed=i) for i, p in enumerate(parts)])
        v = village_gdf({"V": outline})
        r = partition(households_gdf(xy, "V"), v, engine="serial")
        assert r.households["cell_id"].notna().all()
        land = shapely.union_all([p for p in shapely.get_parts(shapely.get_parts(shapely.make_valid(outline)))
                                  if p.geom_type == "Polygon"]).area
        assert abs(r.microgrids.area.sum() - land) < 1.0
        assert broken(r, v) == {}


def _across_antimeridian(n=200, seed=0):
    """A 2 km × 2 km village at 60°N astride ±180°, its outline drawn in degrees from
    179.98° to -179.98°, and ``n`` households in it."""
    rng = np.random.default_rng(seed)
    lon = rng.uniform(179.98, 180.02, n)
    lon = np.where(lon > 180, lon - 360, lon)
    hh = gpd.GeoDataFrame({"village_code": ["V"] * n},
                          geometry=gpd.points_from_xy(lon, rng.uniform(60, 60.02, n)), crs=4326)
    ring = Polygon([(179.98, 60), (-179.98, 60), (-179.98, 60.02), (179.98, 60.02)])
    return hh, gpd.GeoDataFrame({"village_code": ["V"]}, geometry=[ring], crs=4326)


def test_an_outline_across_the_antimeridian_in_degrees_is_refused_by_name():
    """Before: the outline was read as the band round the rest of the globe (51,611 km²,
    one micro-grid, 19 s here; 80-130 s and over 1 GB for a fuzzed county). Now a clear
    error names the village and what to do; nothing is partitioned."""
    hh, vil = _across_antimeridian()
    with pytest.raises(InputError, match=r"village\(s\) V span more than 180° of longitude.*projected CRS"):
        partition(hh, vil)


def test_the_same_village_in_its_utm_zone_partitions():
    """The error's advice works: in UTM zone 60N the village is 4.9 km², five micro-grids."""
    hh, vil = _across_antimeridian()
    shifted = vil.set_geometry([box(179.98, 60, 180.02, 60.02)], crs=4326)
    r = partition(hh.to_crs(32660), shifted.to_crs(32660))
    assert len(r.microgrids) == 5 and r.households["cell_id"].notna().all()
    assert not broken(r, shifted.to_crs(32660))
