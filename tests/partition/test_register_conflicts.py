"""Registers that contradict themselves or their outlines (one address in two
villages, outlines that overlap or have no area, coordinates that are no place), and
villages given in another row order."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import pytest
from shapely.geometry import box

from geogrid.errors import InputError
from geogrid.partition import check, partition

from .conftest import X0, Y0, households_gdf, village_gdf


def _broken(r, v):
    return {k: x[:5] for k, x in check(r, v).items() if x}


def _two_villages():
    return village_gdf({"A": box(X0, Y0, X0 + 1500, Y0 + 1500), "B": box(X0 + 1500, Y0, X0 + 3000, Y0 + 1500)})


def _grid(x0, n, code):
    return [(x0 + 60 * (i % 10), Y0 + 200 + 60 * (i // 10)) for i in range(n)], [code] * n


@pytest.mark.parametrize("building", [False, True])
def test_an_address_registered_in_two_villages_goes_whole_to_the_village_most_of_it_is_in(building):
    """Before: a house on the A|B border with households registered in both was split
    between A's and B's cells, and check() failed on its own plan."""
    v = _two_villages()
    a, va = _grid(X0 + 200, 40, "A")
    b, vb = _grid(X0 + 1700, 40, "B")
    # a house on the border: two households registered in B, one in A; with a
    # building key, the A one stands 2 m off the others (one building all the same)
    house = [(X0 + 1500, Y0 + 900)] * 2 + [(X0 + 1500 - (2.0 if building else 0.0), Y0 + 900)]
    hh = households_gdf(a + b + house, va + vb + ["B", "B", "A"],
                        building=[f"h{i}" for i in range(80)] + ["house"] * 3 if building else None)
    r = partition(hh, v, engine="serial")
    assert _broken(r, v) == {}
    assert r.households.loc[[80, 81], "cell_id"].str.startswith("B-").all()
    notes = [d for d in r.diagnostics if d["kind"] == "shared_address"]
    if building:
        # 2 m off, with the key "house" of its own village: A's building, not B's
        # (villages number their buildings each their own way)
        assert notes == [] and r.households.loc[82, "cell_id"].startswith("A-")
        return
    assert [d["households"] for d in notes] == [[82]]
    assert "another village" in notes[0]["message"]
    assert r.households.loc[82, "cell_id"] is None


def test_derived_outlines_with_a_village_whose_only_house_is_another_villages():
    """Before: partition(households, None) raised a bare KeyError for the village
    that got no outline of its own."""
    rng = np.random.default_rng(0)
    xy = rng.uniform((X0, Y0), (X0 + 2000, Y0 + 2000), (50, 2))
    xy[49] = xy[48]
    hh = households_gdf(xy, ["A"] * 49 + ["C"])
    r = partition(hh, None, engine="serial")
    assert _broken(r, None) == {}
    assert [d["households"] for d in r.diagnostics if d["kind"] == "shared_address"] == [[49]]
    assert r.households["cell_id"].notna().sum() == 49


def test_the_villages_row_order_does_not_change_where_a_household_on_their_border_goes():
    """Before: a household with no village code on a shared border joined whichever
    village came first in the villages' rows."""
    v = _two_villages()
    a, va = _grid(X0 + 200, 40, "A")
    b, vb = _grid(X0 + 1700, 40, "B")
    border = [(X0 + 1500, Y0 + 300 + 100 * i) for i in range(5)]
    hh = households_gdf(a + b + border, va + vb + [None] * 5)
    r1 = partition(hh, v, engine="serial")
    r2 = partition(hh, v.iloc[::-1], engine="serial")
    assert r1.households["cell_id"].equals(r2.households["cell_id"])
    assert r1.households["cell_id"].iloc[80:].str.startswith("A-").all()


def test_overlapping_outlines_are_reported():
    v = village_gdf({"A": box(X0, Y0, X0 + 1500, Y0 + 1500),
                     "B": box(X0 + 1200, Y0, X0 + 3000, Y0 + 1500)})  # 300 m x 1500 m overlap
    a, va = _grid(X0 + 200, 40, "A")
    b, vb = _grid(X0 + 1700, 40, "B")
    r = partition(households_gdf(a + b, va + vb), v, engine="serial")
    notes = [d for d in r.diagnostics if d["kind"] == "villages_overlap"]
    assert [d["villages"] for d in notes] == [["A", "B"]]
    assert "0.450 km²" in notes[0]["message"]
    # outlines that only touch say nothing
    r = partition(households_gdf(a + b, va + vb), _two_villages(), engine="serial")
    assert not [d for d in r.diagnostics if d["kind"] == "villages_overlap"]


@pytest.mark.parametrize("bad", [(381009.0, 27.35), (np.inf, 27.35), (110.0, 95.0)])
def test_a_coordinate_that_is_no_place_is_reported_not_a_failure_of_the_county(bad):
    """Before: metres typed into a WGS84 longitude column, or an infinite coordinate,
    failed the whole partition with a CRSError naming neither household nor cause."""
    v = _two_villages().to_crs("EPSG:4326")
    a, va = _grid(X0 + 200, 40, "A")
    hh = households_gdf(a, va).to_crs("EPSG:4326")
    hh.loc[17, "geometry"] = shapely.Point(*bad)
    r = partition(hh, v, engine="serial")
    notes = [d for d in r.diagnostics if d["kind"] == "bad_point"]
    assert [d["households"] for d in notes] == [[17]] and "no place on Earth" in notes[0]["message"]
    assert r.households["cell_id"].notna().sum() == 39
    assert _broken(r, v) == {}


def test_a_village_outline_with_no_area_is_refused_by_name():
    v = village_gdf({"A": box(X0, Y0, X0 + 1500, Y0 + 1500).exterior, "B": box(X0 + 1500, Y0, X0 + 3000, Y0 + 1500)})
    a, va = _grid(X0 + 200, 40, "A")
    with pytest.raises(InputError, match="villages A have no area"):
        partition(households_gdf(a, va), v, engine="serial")


def test_repartition_refuses_a_households_index_that_repeats_labels():
    from geogrid.partition import repartition

    v = _two_villages()
    a, va = _grid(X0 + 200, 40, "A")
    hh = households_gdf(a, va)
    r = partition(hh, v, engine="serial")
    added = households_gdf([(X0 + 700, Y0 + 1300)], "A")  # index 0 again
    import pandas as pd

    with pytest.raises(InputError, match="duplicate labels"):
        repartition(r, pd.concat([hh, added]), microgrids=[r.microgrids["microgrid_id"].iloc[0]])


def test_building_numbers_are_each_villages_own():
    """Before (since 05432dc): building 7 of A, 40 m west of the border, and building 7
    of B, 40 m east, were taken for one address, and B's household was left out."""
    v = _two_villages()
    a, va = _grid(X0 + 200, 40, "A")
    b, vb = _grid(X0 + 1700, 40, "B")
    a[7], b[7] = (X0 + 1460, Y0 + 700), (X0 + 1540, Y0 + 700)
    keys = [str(i) for i in range(40)] * 2  # both villages number their buildings 0..39
    r = partition(households_gdf(a + b, va + vb, building=keys), v, engine="serial")
    assert _broken(r, v) == {}
    assert r.households["cell_id"].notna().all()
    assert not [d for d in r.diagnostics if d["kind"] == "shared_address"]


def test_a_household_with_no_code_follows_the_registered_ones_at_its_address():
    """Before: a household with no code at a border point took village A (codes in
    sorted order) and then outvoted the one registered in B, which was left out."""
    v = _two_villages()
    a, va = _grid(X0 + 200, 40, "A")
    b, vb = _grid(X0 + 1700, 40, "B")
    house = [(X0 + 1500, Y0 + 900)] * 2
    r = partition(households_gdf(a + b + house, va + vb + ["B", None]), v, engine="serial")
    assert _broken(r, v) == {}
    assert r.households["cell_id"].iloc[80:].str.startswith("B-").all()
    assert not [d for d in r.diagnostics if d["kind"] == "shared_address"]


def test_a_repartition_with_outlines_keeps_an_address_another_village_keeps_out():
    """Before: given the outlines, a repartition placed the household partition had
    left out for its shared address, and split the address."""
    from geogrid.partition import repartition

    v = _two_villages()
    a, va = _grid(X0 + 200, 40, "A")
    b, vb = _grid(X0 + 1700, 40, "B")
    house = [(X0 + 1500, Y0 + 900)] * 3
    hh = households_gdf(a + b + house, va + vb + ["B", "B", "A"])
    r = partition(hh, v, engine="serial")
    m = r.households.loc[80, "microgrid_id"]
    named = r.microgrids.loc[r.microgrids["village_code"] == "A", "microgrid_id"].tolist() + [m]
    r2 = repartition(r, hh, v, microgrids=named)
    assert r2.households.loc[82, "cell_id"] is None
    assert [d["kind"] for d in r2.diagnostics if 82 in d["households"]] == ["shared_address"]
    assert _broken(r2, v) == {}


@pytest.mark.parametrize("bad", [(1e30, 1e30), (380_000.0, 3_025_000_000.0)])
def test_a_projected_coordinate_that_is_no_place_is_reported(bad):
    """Before: only a geographic CRS's coordinates were checked; a UTM point typed a
    thousand times over failed the county with a CRSError, or was put in a cell."""
    v = _two_villages()
    a, va = _grid(X0 + 200, 40, "A")
    hh = households_gdf(a, va)
    hh.loc[17, "geometry"] = shapely.Point(*bad)
    for villages in (v, None):
        r = partition(hh, villages, engine="serial")
        assert [d["households"] for d in r.diagnostics if d["kind"] == "bad_point"] == [[17]]
        assert r.households["cell_id"].notna().sum() == 39


def test_a_border_digitised_twice_is_no_overlap_and_a_small_one_is_told_in_square_metres():
    from geogrid.partition.inputs import overlapping_outlines

    sliver = {"A": box(X0, Y0, X0 + 1500, Y0 + 5000), "B": box(X0 + 1500 - 0.05, Y0, X0 + 3000, Y0 + 5000)}
    assert overlapping_outlines(sliver) == []  # 250 m² but 5 cm wide: reported before, as '0.000 km²'
    small = {"A": box(X0, Y0, X0 + 1500, Y0 + 5000), "B": box(X0 + 1490, Y0, X0 + 3000, Y0 + 50)}
    notes = overlapping_outlines(small)
    assert [d["villages"] for d in notes] == [["A", "B"]] and "500 m²" in notes[0]["message"]


@pytest.mark.parametrize("lonlat", [(0.0, 0.0), (10.92, 27.35)])
def test_a_point_on_the_far_side_of_a_gauss_kruger_zone_is_reported(lonlat):
    """A geocoder's (0, 0), or a longitude that lost a digit, taken by the caller into
    CGCS2000 GK 108E (EPSG:4545): over 90 degrees from the central meridian, where the
    projection folds back.  It comes back to itself, so it was no bad_point; before,
    with derived outlines, its cell ran through infinity in the caller's CRS (cells'
    bounds inf) and check() raised a GEOSException; or it was put in a cell 8,000 km
    long.  A point 13 degrees east of the zone is still somewhere (isolated)."""
    a, va = _grid(X0 + 200, 40, "A")
    hh = households_gdf(a, va).to_crs("EPSG:4545")
    hh.loc[17, "geometry"] = gpd.GeoSeries([shapely.Point(*lonlat)], crs=4326).to_crs("EPSG:4545").iloc[0]
    for villages in (_two_villages(), None):
        r = partition(hh, villages, engine="serial")
        assert [d["households"] for d in r.diagnostics if d["kind"] == "bad_point"] == [[17]]
        assert r.households["cell_id"].notna().sum() == 39
        assert np.isfinite(r.cells.total_bounds).all() and _broken(r, villages) == {}
    hh.loc[17, "geometry"] = gpd.GeoSeries([shapely.Point(122.3, 27.35)], crs=4326).to_crs("EPSG:4545").iloc[0]
    r = partition(hh, None, engine="serial")
    assert not [d for d in r.diagnostics if d["kind"] == "bad_point"]
    assert [d["households"] for d in r.diagnostics if d["kind"] == "isolated"] == [[17]]


def test_far_side_spares_a_polar_map_within_its_area_of_use():
    from geogrid.partition.points import far_side

    pts = np.array([(0.0, 0.0), (10.92, 27.35), (109.2, 27.35), (122.3, 27.35), (170.0, 27.35)])
    assert far_side("EPSG:4545", pts).tolist() == [True, True, False, False, False]
    # NSIDC polar stereographic north: beyond the pole north points down the map
    assert far_side("EPSG:3413", np.array([(135.0, 70.0), (135.0, 20.0)])).tolist() == [False, True]
    assert not far_side("EPSG:4326", pts).any()


@pytest.mark.parametrize("bad", ["far_side", "infinite"])
def test_a_household_moved_to_no_place_in_a_repartition_is_a_bad_point(bad):
    """A re-run judges a household's new coordinates as partition() does: moved to a
    geocoder's (0, 0) in CGCS2000 GK 108E, or to coordinates that are no place, it is a
    bad_point (correct its coordinates), not a household 'outside every village' (last
    stop's note: repartition() never asked)."""
    from geogrid.partition import repartition

    a, va = _grid(X0 + 200, 40, "A")
    hh = households_gdf(a, va).to_crs("EPSG:4545")
    v = _two_villages().to_crs("EPSG:4545")
    r = partition(hh, v, engine="serial", min_microgrids=1, max_microgrids=1)
    moved = hh.copy()
    moved.loc[17, "geometry"] = (gpd.GeoSeries([shapely.Point(0.0, 0.0)], crs=4326).to_crs("EPSG:4545").iloc[0]
                                 if bad == "far_side" else shapely.Point(1e30, 1e30))
    mg = r.households.loc[17, "microgrid_id"]
    r2 = repartition(r, moved, v, microgrids=[mg])
    kinds = {d["kind"]: d["households"] for d in r2.diagnostics if 17 in d["households"]}
    assert kinds == {"bad_point": [17]}, kinds
    assert pd.isna(r2.households.loc[17, "cell_id"])
    assert r2.households["cell_id"].notna().sum() == 39
