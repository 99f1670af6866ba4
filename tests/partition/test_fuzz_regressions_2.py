"""Cases the second fuzzing round against the hard rules found (unusual villages: very
large, thin, L- and U-shaped, holed, islands; CRS variety and high latitudes; caps of
5 to 50; repartition sequences), each small and deterministic, each failing before
its fix."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from geogrid.crs import reproject
from geogrid.partition import check, partition


def _broken(r, v, cap=None) -> dict:
    return {k: x[:5] for k, x in check(r, v, cap).items() if x}


def test_many_cells_of_a_large_microgrid_tile_it_in_wgs84_at_52_degrees_north():
    """Found by fuzzing a 50 km² village of one micro-grid (max_microgrids=1) at 52° N,
    its 150 households at 30 addresses and a cap of 5: 30 cells whose borders run for
    kilometres, many ending on another cell's edge (a T-junction).  Each side of such
    an edge was split into 100 m pieces at its own points on the way to WGS84, and a
    straight kilometre in metres bows away from a straight one in degrees by centimetres
    at that latitude: the cells missed their micro-grid by 1.09 m² of gaps and 1.02 m²
    of overlaps (cells_tile_microgrids).  Only edges over 10 km took their neighbours'
    vertices; every edge does now."""
    rng = np.random.default_rng(0)
    x0, y0 = 500_000.0, 5_760_000.0  # UTM 47N, about 99 E, 52 N
    v = gpd.GeoDataFrame({"village_code": ["V"]}, geometry=[shapely.box(x0, y0, x0 + 10_000, y0 + 5_000)],
                         crs="EPSG:32647")
    v = v.set_geometry(reproject(v.geometry, "EPSG:4326"))
    xy = np.column_stack([rng.uniform(x0 + 10, x0 + 9_990, 30), rng.uniform(y0 + 10, y0 + 4_990, 30)])
    xy = np.repeat(xy, 5, axis=0)
    h = gpd.GeoDataFrame(geometry=gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs="EPSG:32647").to_crs(4326)
    r = partition(h, v, max_households=5, min_microgrids=1, max_microgrids=1)
    assert len(r.cells) == 30
    assert _broken(r, v) == {}

