"""repartition() reads its inputs as partition() does: village codes as categories or
numbers, points that came back through another CRS or a rounded CSV, households left
out for an input problem, in another village's micro-grid, or outside every village.
(Split from test_repartition.py, on the same synthetic county.)"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geogrid.partition import check, partition, repartition

from .test_repartition import _broken, _edit, county  # noqa: F401  (county: the fixture)


def test_a_categorical_village_column_gives_the_same_repartition(county):
    """Village codes read as categorical columns, in the plan and in the edit (with a
    new code among its categories), are compared by their values, as text columns
    are: the same result, no error."""
    c, r = county
    m = r.microgrids["microgrid_id"].iloc[0]
    hh = _edit(c, r, m)
    before = r.households.copy()
    before["village_code"] = before["village_code"].astype("category")
    plan = type(r)(households=before, microgrids=r.microgrids, cells=r.cells, report=r.report)
    cat = hh.copy()
    cat["village_code"] = cat["village_code"].astype("category").cat.add_categories(["elsewhere"])
    a = repartition(r, hh, microgrids=[m])
    b = repartition(plan, cat, microgrids=[m])
    assert a.households["cell_id"].equals(b.households["cell_id"])
    assert a.cells.geometry.geom_equals_exact(b.cells.geometry, 0).all()


def test_households_left_out_stay_out_for_an_input_problem_and_come_in_when_named():
    """A household registered in village A but lying in B is left out (outside_village)
    by a partition; re-solving B's micro-grid where it lies keeps it out, with its note
    (before, it was placed in B's micro-grid by its point, against its register, and
    the note dropped).  A household added outside the named micro-grids is left out as
    not_repartitioned, and comes in when the micro-grid it lies in is named."""
    from shapely.geometry import box

    from .conftest import X0, Y0, households_gdf, village_gdf

    v = village_gdf({"A": box(X0, Y0, X0 + 1000, Y0 + 1000), "B": box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)})
    a = [(X0 + 100 + 80 * (i % 10), Y0 + 100 + 80 * (i // 10)) for i in range(60)]
    b = [(X0 + 1100 + 80 * (i % 10), Y0 + 100 + 80 * (i // 10)) for i in range(60)]
    hh = pd.concat([households_gdf(a, "A"), households_gdf(b, "B"), households_gdf([(X0 + 1500, Y0 + 950)], "A")],
                   ignore_index=True)
    stray = hh.index[-1]
    r = partition(hh, v, min_microgrids=1, max_microgrids=1, engine="serial")
    assert [d["households"] for d in r.diagnostics if d["kind"] == "outside_village"] == [[stray]]
    mb = r.microgrids.loc[r.microgrids["village_code"] == "B", "microgrid_id"].iloc[0]
    r2 = repartition(r, hh, microgrids=[mb])
    assert pd.isna(r2.households.loc[stray, "cell_id"])
    assert [d["households"] for d in r2.diagnostics if d["kind"] == "outside_village"] == [[stray]]
    assert _broken(r2, v) == {}
    # a new household of B added while only A is re-solved: left out, then placed
    ma = r.microgrids.loc[r.microgrids["village_code"] == "A", "microgrid_id"].iloc[0]
    new = pd.concat([hh, households_gdf([(X0 + 1500, Y0 + 500)], "B").set_axis([999])])
    r3 = repartition(r, new, microgrids=[ma])
    assert [d["households"] for d in r3.diagnostics if d["kind"] == "not_repartitioned"] == [[999]]
    r4 = repartition(r3, new, microgrids=[mb])
    assert r4.households.loc[999, "microgrid_id"] == mb
    assert pd.isna(r4.households.loc[stray, "cell_id"]) and _broken(r4, v) == {}


def test_numeric_village_codes_are_the_same_villages_as_their_text(county):
    """Before: a register whose village_code column was read as numbers (a CSV read
    without dtype=str) counted every household as moved to another village, and all
    outside the named micro-grid were left out of every cell."""
    c, r = county
    m = r.microgrids["microgrid_id"].iloc[4]
    hh = c.households.copy()
    hh["village_code"] = hh["village_code"].astype("int64")
    r2 = repartition(r, hh, microgrids=[m])
    assert _broken(r2, c.villages) == {}
    assert r2.households["cell_id"].notna().all()
    assert r.households["cell_id"].equals(r2.households["cell_id"])


@pytest.mark.parametrize("how", ["utm", "six_decimals"])
def test_points_that_come_back_through_another_crs_or_a_rounded_csv_have_not_moved(county, how):
    """Before: points reprojected and back, or rounded to six decimals (0.1 m), did not
    equal the plan's to the bit, so their households counted as moved and those outside
    the named micro-grid were left out (1,294 of 3,000 after a round trip through UTM);
    the result's households came back in the caller's CRS beside cells in the plan's."""
    c, r = county
    m = r.microgrids["microgrid_id"].iloc[4]
    hh = c.households
    if how == "utm":
        hh = hh.to_crs("EPSG:32649")
    else:
        xy = np.round(shapely.get_coordinates(hh.geometry.to_numpy()), 6)
        hh = hh.set_geometry(gpd.points_from_xy(xy[:, 0], xy[:, 1], crs=hh.crs))
    r2 = repartition(r, hh, microgrids=[m])
    assert r2.households.crs == r.cells.crs == r2.cells.crs
    # those the rounding took out of their own cell (within 4 cm of its border) have
    # moved out of it; no other
    back = hh.to_crs(r.cells.crs)
    own = r.cells.set_index("cell_id").geometry.reindex(r.households["cell_id"]).to_numpy()
    left = r.households.index[~shapely.intersects(own, back.geometry.to_numpy())
                              & (r.households["microgrid_id"] != m).to_numpy()]
    assert len(left) == (0 if how == "utm" else 3)
    assert r2.households.index[r2.households["cell_id"].isna()].equals(left)
    # named: to be re-solved where they lie, or (one, now 4 cm over its village's
    # border) as outside its village, as partition() names it at that point
    told = {h for d in r2.diagnostics if d["kind"] in ("not_repartitioned", "outside_village")
            for h in d["households"]}
    assert set(left) == told
    redo = sorted(h for d in r2.diagnostics if d["kind"] == "not_repartitioned" for h in d["households"])
    assert {k: v for k, v in check(r2, c.villages).items() if v} == (
        {"household_in_one_cell": redo} if redo else {})
    out = (r.households["microgrid_id"] != m) & ~r.households.index.isin(left)
    assert r.households.loc[out, "cell_id"].equals(r2.households.loc[out, "cell_id"])
    # a real move is still a move: here into another micro-grid of its village
    for h in r.households.index[out]:
        own = r.households.loc[h, ["village_code", "microgrid_id"]]
        others = r.cells[(r.cells["village_code"] == own["village_code"])
                         & ~r.cells["microgrid_id"].isin([m, own["microgrid_id"]])]
        if len(others):
            break
    there = others.geometry.iloc[0].representative_point()
    moved = c.households.copy()
    moved.loc[h, "geometry"] = there
    moved.loc[h, "building"] = "moved"
    r3 = repartition(r, moved, microgrids=[m])
    assert r3.households.loc[h, "cell_id"] is None
    assert any(h in d["households"] for d in r3.diagnostics if d["kind"] == "not_repartitioned")


def test_a_household_placed_in_another_villages_microgrid_is_left_out_as_partition_leaves_it(county):
    c, r = county
    mg = r.microgrids.set_index("microgrid_id")
    m1 = mg.index[0]
    m2 = mg.index[mg["village_code"] != mg["village_code"].iloc[0]][0]
    i = r.households.index[(r.households["microgrid_id"] == m1)][0]
    hh = c.households.copy()
    hh.loc[i, "geometry"] = mg.geometry[m2].representative_point()
    hh.loc[i, "building"] = "moved"
    r2 = repartition(r, hh, microgrids=[m1, m2])
    assert r2.households.loc[i, "cell_id"] is None
    assert [d["kind"] for d in r2.diagnostics if i in d["households"]] == ["outside_village"]
    assert [d["kind"] for d in partition(hh, c.villages, engine="serial").diagnostics
            if i in d["households"]] == ["outside_village"]
    assert _broken(r2, c.villages) == {}
    # with the code corrected it joins the micro-grid it lies in
    hh.loc[i, "village_code"] = mg["village_code"][m2]
    r3 = repartition(r, hh, microgrids=[m1, m2])
    assert r3.households.loc[i, "microgrid_id"] == m2
    # its code changed and its point not, in a micro-grid not named: outside its
    # village as well (before: 'name the micro-grid it lies in', of the wrong village)
    hh = c.households.copy()
    hh.loc[i, "village_code"] = mg["village_code"][m2]
    r4 = repartition(r, hh, microgrids=[m2])
    assert [d["kind"] for d in r4.diagnostics if i in d["households"]] == ["outside_village"]
    assert _broken(r4, c.villages) == {}


def test_a_household_added_outside_every_village_is_told_so(county):
    """Before: named not_repartitioned, with advice to re-solve a micro-grid that does
    not exist, and check() failed on it."""
    c, r = county
    m = r.microgrids["microgrid_id"].iloc[4]
    code = r.microgrids.set_index("microgrid_id")["village_code"][m]
    x0, y0, x1, y1 = c.villages.total_bounds
    far = gpd.GeoDataFrame({"village_code": [code], "building": [None], "hamlet": [None]},
                           geometry=gpd.points_from_xy([x1 + 0.5], [y1 + 0.5]), crs=c.households.crs,
                           index=[900001])
    r2 = repartition(r, pd.concat([c.households, far]), c.villages, microgrids=[m])
    notes = [d for d in r2.diagnostics if 900001 in d["households"]]
    assert [d["kind"] for d in notes] == ["outside_village"]
    assert "outside every village" in notes[0]["message"]
    assert _broken(r2, c.villages) == {}
