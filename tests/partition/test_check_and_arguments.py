"""check() reads the inputs as partition() does; partition() refuses bad arguments by name."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Polygon

from geogrid.errors import InputError
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


def test_a_households_index_with_duplicate_labels_is_refused(square):
    """Two townships' files concatenated without ignore_index: the diagnostics name
    households by index label, so ``no_village: [0]`` meant two rows (it was accepted)."""
    v = village_gdf({"A": square})
    xy = scatter(60)
    h = pd.concat([households_gdf(xy[:30], "A"), households_gdf(xy[30:], ["ZZ"] + ["A"] * 29)])
    with pytest.raises(InputError, match=r"duplicate labels \(0, 1, 2, 3, 4…\).*ignore_index=True"):
        partition(h, v)
    assert partition(h.reset_index(drop=True), v).households.index.is_unique


@pytest.mark.parametrize("name, value", [
    ("max_households", None),
    ("max_households", float("nan")),
    ("max_households", True),
    ("max_households", 20.0),
    ("max_households", "20"),
    ("max_households", 0),
    ("microgrid_km2", "1"),
    ("microgrid_km2", float("nan")),
    ("microgrid_km2", float("inf")),
    ("microgrid_km2", 0),
    ("microgrid_km2", True),
    ("min_microgrids", float("nan")),
    ("min_microgrids", 2.7),
    ("min_microgrids", 0),
    ("max_microgrids", "5"),
    ("max_microgrids", None),
    ("seed", None),
    ("seed", 1.5),
    ("seed", False),
])
def test_a_bad_argument_is_refused_by_name_and_value(square, name, value):
    """Each was a bare TypeError or ValueError from deep inside, or silently taken
    (``min_microgrids=2.7`` as 2, ``max_households=True`` as 1)."""
    v = village_gdf({"A": square})
    with pytest.raises(InputError, match=rf"^{name} must be .*, not {repr(value)}"):
        partition(households_gdf(scatter(10), "A"), v, **{name: value})


def test_numpy_whole_numbers_and_an_int_area_are_taken(square):
    v = village_gdf({"A": square})
    r = partition(households_gdf(scatter(60), "A"), v, max_households=np.int64(20), microgrid_km2=1,
                  min_microgrids=np.int32(1), max_microgrids=np.int64(2), seed=np.int64(3))
    assert r.report["parameters"]["max_households"] == 20 and len(r.microgrids) == 2
    with pytest.raises(InputError, match=r"need 1 <= min_microgrids <= max_microgrids \(got 3 and 2\)"):
        partition(households_gdf(scatter(10), "A"), v, min_microgrids=3, max_microgrids=2)


def test_check_takes_a_cell_in_pieces_only_each_in_a_piece_of_its_village():
    """A village of two parts, households on one: the other part (an island without
    households) goes to one cell, which check() accepts (each piece of the cell in a
    different piece of the village, as the API's validation takes it).  A cell in two
    pieces on one part, or with a piece outside the village, breaks the rule in a
    village in pieces too (check() let any cell of such a village be in pieces)."""
    import shapely
    from shapely.geometry import box

    islands = shapely.MultiPolygon([box(X0, Y0, X0 + 1200, Y0 + 1200), box(X0 + 1500, Y0 + 400, X0 + 1700, Y0 + 600)])
    v = village_gdf({"V": islands})
    xy = np.random.default_rng(0).uniform((X0 + 50, Y0 + 50), (X0 + 1150, Y0 + 1150), (60, 2))
    r = partition(households_gdf(xy, "V"), v)
    parts = shapely.get_num_geometries(r.cells.geometry.to_numpy())
    assert (parts > 1).sum() == 1
    assert broken(r, v) == {}
    assert broken(r) == {}  # the village as the land of its micro-grids: the same
    one = int(np.flatnonzero(parts == 1)[0])
    key = r.cells["cell_id"].iloc[one]
    g = r.cells.geometry.iloc[one]
    x0, y0, x1, y1 = g.bounds
    ym = g.representative_point().y
    for bad in (g.difference(box(x0 - 1, ym - 1, x1 + 1, ym + 1)),  # two pieces on one part
                shapely.MultiPolygon([g, box(X0 + 3000, Y0, X0 + 3100, Y0 + 100)])):  # one outside
        assert shapely.get_num_geometries(bad) > 1
        geoms = r.cells.geometry.to_numpy().copy()
        geoms[one] = bad
        cut = type(r)(r.households, r.microgrids, r.cells.set_geometry(list(geoms), crs=r.cells.crs), r.report)
        assert key in check(cut, v)["cells_one_piece"]
        assert key in check(cut)["cells_one_piece"]


def test_check_reports_a_cell_in_two_pieces_in_a_village_of_one(square):
    v = village_gdf({"V": square})
    r = partition(households_gdf(scatter(60), "V"), v)
    g = r.cells.geometry.iloc[0]
    x0, y0, x1, y1 = g.bounds
    ym = g.representative_point().y
    from shapely.geometry import box

    geoms = r.cells.geometry.to_numpy().copy()
    geoms[0] = g.difference(box(x0 - 1, ym - 1, x1 + 1, ym + 1))
    cut = type(r)(r.households, r.microgrids, r.cells.set_geometry(list(geoms), crs=r.cells.crs), r.report)
    assert check(cut, v)["cells_one_piece"] == [r.cells["cell_id"].iloc[0]]
    assert check(cut)["cells_one_piece"] == [r.cells["cell_id"].iloc[0]]


def test_check_reports_an_invalid_cell_of_a_wgs84_plan(square):
    """check() read a WGS84 plan's cells through reproject(), whose segmentize returns
    a bow-tie as a valid polygon of one lobe: a bow-tie cell passed cells_valid."""
    v = village_gdf({"V": square}).to_crs(4326)
    r = partition(households_gdf(scatter(60), "V").to_crs(4326), v)
    assert broken(r, v) == {}
    x0, y0, x1, y1 = r.cells.geometry.iloc[0].bounds
    cells = r.cells.copy()
    cells.loc[cells.index[0], "geometry"] = Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    r.cells = cells
    assert check(r, v)["cells_valid"] == [cells["cell_id"].iloc[0]]


def test_check_takes_one_address_as_the_engine_does():
    """Co-location is the engine's (units.same_place: the same point to the centimetre,
    on its grid).  check() rounded with np.round(x, 2), which parts half-centimetres
    elsewhere at eastings of 600 km: 600500.04 and 600500.045 are one address to the
    engine (kept in one cell) and were two to check(), so a hand move that split them
    passed; 600500.045 and 600500.05 are two to the engine and were one to check(),
    which flagged the engine's own cells."""
    from shapely.geometry import box

    from geogrid.partition.units import COLOCATED_M

    x0, y0 = 600_000.0, 3_025_000.0
    one, two = (600500.04, 600500.045), (600500.045, 600500.05)
    assert np.round(one[0] / COLOCATED_M) == np.round(one[1] / COLOCATED_M)
    assert np.round(two[0] / COLOCATED_M) != np.round(two[1] / COLOCATED_M)
    v = village_gdf({"V": box(x0, y0, x0 + 2000, y0 + 2000)})
    xy = np.random.default_rng(3).uniform((x0, y0), (x0 + 2000, y0 + 2000), (80, 2))
    xy[:2] = [(one[0], y0 + 500), (one[1], y0 + 500)]
    xy[2:4] = [(two[0], y0 + 1500), (two[1], y0 + 1500)]
    r = partition(households_gdf(xy, "V"), v)
    cells = r.households["cell_id"].to_numpy()
    assert cells[0] == cells[1]
    assert broken(r, v) == {}

    def moved(i, j):
        """r with household i moved into another cell than household j's."""
        hh = r.households.copy()
        hh.iloc[i, hh.columns.get_loc("cell_id")] = next(c for c in r.cells["cell_id"] if c != cells[j])
        out = type(r)(hh, r.microgrids, r.cells, r.report)
        return check(out, v)["colocated_not_split"]

    assert moved(1, 0) == [f"{xy[0, 0]:.2f},{y0 + 500:.2f}"]  # one address split: reported
    if cells[2] == cells[3]:
        assert moved(3, 2) == []  # two addresses a cell apart: no rule broken
