"""``PartitionResult.notes()``: the engine's notes as the layer ``geogrid partition`` writes,
each naming its households by their 户编号 where they have one."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point, box

from geogrid.partition import PartitionResult
from geogrid.partition.result import diagnostic


def _result(numbers) -> PartitionResult:
    """Three households, one micro-grid, one cell, and a note naming households 0 and 2."""
    points = [Point(0, 0), Point(10, 0), Point(20, 0)]
    households = gpd.GeoDataFrame({"village_code": ["V"] * 3, "microgrid_id": ["V-M01"] * 3,
                                   "cell_id": ["V-M01-C01"] * 3}, geometry=points, crs=32649)
    if numbers is not None:
        households.insert(0, "household_no", pd.Series(numbers, dtype=object))
    microgrids = gpd.GeoDataFrame({"microgrid_id": ["V-M01"], "village_code": ["V"], "households": [3]},
                                  geometry=[box(-5, -5, 25, 5)], crs=32649)
    cells = gpd.GeoDataFrame({"cell_id": ["V-M01-C01"], "microgrid_id": ["V-M01"], "village_code": ["V"],
                              "households": [3]}, geometry=[box(-5, -5, 25, 5)], crs=32649)
    note = diagnostic("isolated", "V", [0, 2], "two households far from the others")
    return PartitionResult(households, microgrids, cells, report={"diagnostics": [note]})


@pytest.mark.parametrize("missing", [None, np.nan, pd.NA, float("nan")])
def test_households_without_a_number_leave_household_no_empty(missing):
    """A register read without a 户编号 column (geogrid partition accepts one) gives every
    household None as its number: the note's household_no read 'None,None' in the
    GeoPackage's layer, a number no household has (before)."""
    notes = _result([missing] * 3).notes()
    assert notes["household_no"].tolist() == [""]
    assert notes["households"].tolist() == [2]  # still counted, and drawn at their points
    assert len(notes.geometry.iloc[0].geoms) == 2


def test_only_the_households_numbers_are_written():
    notes = _result(["H1", None, None]).notes()
    assert notes["household_no"].tolist() == ["H1"]
    assert _result(["H1", "H2", "H3"]).notes()["household_no"].tolist() == ["H1,H3"]


def test_households_without_the_column_are_named_by_their_labels():
    assert _result(None).notes()["household_no"].tolist() == ["0,2"]
