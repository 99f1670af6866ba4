"""check() reads the inputs as partition() does."""

from __future__ import annotations

import numpy as np
import pandas as pd
from shapely.geometry import Polygon

from geogrid.partition import check, partition

from .conftest import X0, Y0, households_gdf, village_gdf


def broken(result, villages=None) -> dict:
    return {k: v[:5] for k, v in check(result, villages).items() if v}


def scatter(n, seed=0):
    return np.random.default_rng(seed).uniform((X0, Y0), (X0 + 2000, Y0 + 2000), (n, 2))


def test_check_repairs_a_bow_tie_village_as_partition_does():
    """A self-intersecting outline (a hand-digitised bow-tie): partition() repairs it
    with make_valid (two triangles meeting at a point), and check() judges the plan
    against the same repaired outline (it raised a GEOS TopologyException)."""
    bow = Polygon([(X0, Y0), (X0 + 2000, Y0 + 2000), (X0 + 2000, Y0), (X0, Y0 + 2000)])
    assert not bow.is_valid
    v = village_gdf({"A": bow})
    r = partition(households_gdf(scatter(100), "A"), v)
    assert r.households["cell_id"].notna().any()
    assert broken(r, v) == {}


def test_check_reads_village_codes_as_text_as_partition_does(square):
    """Village codes as integers (a shapefile's numeric field) or whole floats are the
    text codes partition() reads (it reported every micro-grid's village as missing:
    ``microgrids_tile_villages: no parent``)."""
    v = village_gdf({431229001001: square})
    r = partition(households_gdf(scatter(100), [431229001001] * 100), v)
    assert set(r.microgrids["village_code"]) == {"431229001001"}
    assert broken(r, v) == {}
    assert broken(r, v.assign(village_code=[431229001001.0])) == {}


def test_check_takes_blank_building_keys_as_no_building_as_the_engine_does(square):
    """A building column of blank text ('' or ' ', a CSV read with dtype=str) is no
    building to the engine, and to check() (which took '' as one building shared by
    everyone: ``building_not_split: ['']``); a real building key is still held whole."""
    v = village_gdf({"V": square})
    b = [""] * 50 + [" "] * 49 + ["B1"]
    xy = scatter(100)
    xy[-1] = xy[0]  # B1 shares a point with a household of no building
    r = partition(households_gdf(xy, "V", building=b), v)
    assert r.diagnostics == []
    assert broken(r, v) == {}
    # a building split by hand is still reported, by its key as the engine reads it
    pts = [(X0 + 500, Y0 + 500)] * 3 + [(X0 + 520, Y0 + 500)] + [tuple(p) for p in scatter(60, 1)]
    b = [" 7 ", "7", "7.0", 7] + [""] * 60
    r = partition(households_gdf(pts, "V", building=pd.Series(b, dtype=object)), v)
    assert broken(r, v) == {}
    hh = r.households.copy()
    other = next(c for c in hh["cell_id"] if c != hh["cell_id"].iloc[3])
    hh.iloc[3, hh.columns.get_loc("cell_id")] = other
    r.households = hh
    assert check(r, v)["building_not_split"] == ["7"]
