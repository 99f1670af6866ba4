"""``geogrid partition`` of a register without a 户编号 column: the notes layer of the
GeoPackage names no household number it does not have."""

from __future__ import annotations

import geopandas as gpd

from geogrid.io import read_plan

from tests.cli.test_partition_files import A, _csv, _rows, _villages, run  # noqa: F401 (fixture)


def test_the_notes_of_a_register_without_household_numbers_leave_household_no_empty(run, tmp_path):
    """Before: a block of 25 flats was noted with household_no 'None,None,...' (25 times)
    and a farmstead with 'None', in the layer a planner opens in QGIS."""
    rows = [{k: v for k, v in r.items() if k != "户编号"} for r in _rows()]
    rows += [{"户主": f"住户{i}", "村代码": A, "经度": "109.010000", "纬度": "27.010000"} for i in range(25)]
    rows.append({"户主": "远户", "村代码": A, "经度": "109.018000", "纬度": "27.019500"})
    out = tmp_path / "plan.gpkg"
    code, _, err = run("--households", _csv(tmp_path / "hh.csv", rows), "--villages",
                       _villages(tmp_path / "v.gpkg"), "--out", out)
    assert code == 0, err
    notes = gpd.read_file(out, layer="notes").set_index("kind")
    assert notes.loc["oversize_building", "households"] == 25
    assert notes.loc["isolated", "households"] == 1
    assert not notes["household_no"].fillna("").str.contains("None").any(), notes["household_no"]
    assert notes.loc[["oversize_building", "isolated"], "household_no"].fillna("").tolist() == ["", ""]
    # each note is still drawn at the points of its households
    assert len(notes.loc["oversize_building"].geometry.geoms) == 25
    # and the plan reads back, its notes naming no household by a number none has
    assert {d["kind"] for d in read_plan(out).diagnostics} >= {"oversize_building", "isolated"}
