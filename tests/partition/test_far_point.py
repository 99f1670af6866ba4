"""A mistyped point far from its village, in WGS84 with no village outlines: the
derived outline stretches over 1,400 km (the ``isolated`` diagnostic says so), and the
cells must still tile their micro-grids in the caller's CRS."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geogrid.crs import reproject
from geogrid.partition import check, partition
from geogrid.partition.edges import node_long_edges


def _far_village(n: int = 40, seed: int = 0) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    lon = 94.5 + rng.normal(0, 0.004, n)
    lat = 27.4 + rng.normal(0, 0.004, n)
    lon[0] += 13.0  # about 1,300 km east: a typing error
    return gpd.GeoDataFrame({"village_code": ["V"] * n}, geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")


def test_cells_tile_micro_grids_of_a_village_stretched_by_a_far_point():
    r = partition(_far_village(), None)
    assert r.cells.crs == "EPSG:4326"
    assert any(d["kind"] == "isolated" for d in r.diagnostics)
    assert r.microgrids["area_km2"].max() > 100  # stretched, as documented
    problems = {k: v for k, v in check(r).items() if v}
    assert problems == {}
    # gaps + overlaps in metres, the WGS84 polygons taken back as check() takes them
    # (cells missed their micro-grid by several m² when each side split a shared edge
    # at its own points)
    metric = r.report["parameters"]["metric_crs"]
    mgs = dict(zip(r.microgrids["microgrid_id"], reproject(r.microgrids.geometry, metric)))
    cells = reproject(r.cells.geometry, metric).to_numpy()
    total = 0.0
    for m, parent in mgs.items():
        mine = cells[(r.cells["microgrid_id"] == m).to_numpy()]
        u = shapely.union_all(mine)
        total += (shapely.difference(parent, u).area + shapely.difference(u, parent).area
                  + shapely.area(mine).sum() - u.area)
    assert total < 1.0


def test_node_long_edges_puts_a_neighbours_corner_into_a_long_edge():
    big = shapely.box(0, 0, 50_000, 1_000)
    halves = [shapely.box(0, 0, 20_000, 1_000), shapely.box(20_000, 0, 50_000, 1_000)]
    out = node_long_edges([big, *halves])
    assert {(20_000.0, 0.0), (20_000.0, 1_000.0)} <= set(map(tuple, shapely.get_coordinates(out[0])))
    assert shapely.equals(out[0], big) and out[0].is_valid
    assert out[1] is halves[0] and out[2] is halves[1]  # 30 km edges with nothing on them
    # edges of min_m or less are left alone: the same objects
    small = [shapely.box(0, 0, 2_000, 1_000), shapely.box(0, 0, 1_000, 1_000)]
    assert all(a is b for a, b in zip(node_long_edges(small, min_m=5_000), small))
    # by default every edge takes its neighbours' corners (a 2 km edge bows by cm)
    assert (1_000.0, 0.0) in set(map(tuple, shapely.get_coordinates(node_long_edges(small)[0])))
