"""repartition() after an edit the previous cells no longer fit (one household added to
a full cell): the cells are redrawn as many as before, each household staying in its
cell unless the cap moves it (geogrid.partition.recut.repair), rather than the
micro-grid cut afresh."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import Point

from geogrid.partition import check, partition, repartition

from .synthetic import synthetic_county


@pytest.fixture(scope="module")
def county():
    c = synthetic_county(seed=11, n_households=3000)
    return c, partition(c.households, c.villages, engine="serial")


def _full_with_room(r, cap=20):
    """Micro-grids with a full cell and room for one more household in the others."""
    counts = r.households.groupby(["microgrid_id", "cell_id"]).size()
    out = []
    for m, g in counts.groupby(level=0):
        if g.max() == cap and len(g) * cap - g.sum() >= 2 and len(g) >= 3:
            out.append((m, g.idxmax()[1]))
    return out


def test_one_household_added_to_a_full_cell_moves_few_others(county):
    """Before: the micro-grid was cut afresh, and here up to 22 % of its households
    changed cell for one household added (benchmarks/repartition_stability.py: 5.5 %
    on average, up to 40 %, in the sample county's micro-grids with room); now a
    household or two make room, under the same cell ids."""
    c, r = county
    cases = _full_with_room(r)
    assert len(cases) >= 5
    crs = r.report["parameters"]["metric_crs"]
    moved_shares = []
    for m, full in cases[:8]:
        mem = r.households[r.households["microgrid_id"] == m]
        p = mem[mem["cell_id"] == full].to_crs(crs).geometry.iloc[0]
        q = gpd.GeoSeries([Point(p.x + 2, p.y + 1)], crs=crs).to_crs(c.households.crs).iloc[0]
        new = pd.concat([c.households, gpd.GeoDataFrame(
            {"village_code": [mem["village_code"].iloc[0]]}, geometry=[q], crs=c.households.crs,
            index=[10**7])])
        r2 = repartition(r, new, c.villages, microgrids=[m])
        assert not {k: v for k, v in check(r2, c.villages).items() if v}
        assert r2.households.loc[10**7, "microgrid_id"] == m
        after = r2.households.loc[mem.index, "cell_id"]
        # as many cells as before, under the same ids
        assert sorted(r2.cells.loc[r2.cells["microgrid_id"] == m, "cell_id"]) == sorted(mem["cell_id"].unique())
        assert (r2.cells.loc[r2.cells["microgrid_id"] == m, "households"] <= 20).all()
        moved_shares.append(float((after != mem["cell_id"]).mean()))
    assert np.median(moved_shares) <= 0.05, moved_shares
    assert max(moved_shares) <= 0.15, moved_shares



def test_one_household_added_to_a_micro_grid_of_full_cells_adds_a_cell_and_moves_few(county):
    """Before: with every cell full there was no room, and the micro-grid was cut
    afresh: 17 % of its households changed cell on average in the sample county's
    (benchmarks/repartition_stability.py).  Now the fullest cell is cut in two to
    place a cell more, and the assignment with the cost of moving keeps households
    where they were: the previous cells keep their ids, one cell is added."""
    c, r = county
    crs = r.report["parameters"]["metric_crs"]
    counts = r.households.groupby(["microgrid_id", "cell_id"]).size()
    moved_shares = []
    for m, g in counts.groupby(level=0):
        room = 20 * len(g) - int(g.sum())
        if len(g) < 3 or not 1 <= room <= 4 or len(moved_shares) == 6:
            continue
        # first the micro-grid's cells are filled up, beside households of cells with room
        mem = r.households[r.households["microgrid_id"] == m].to_crs(crs)
        near = [mem[mem["cell_id"] == cell].geometry.iloc[0] for cell, n in g.droplevel(0).items()
                for _ in range(20 - n)]
        village = mem["village_code"].iloc[0]
        filled = pd.concat([c.households, gpd.GeoDataFrame(
            {"village_code": [village] * room},
            geometry=list(gpd.GeoSeries([Point(p.x + 2, p.y + 1) for p in near], crs=crs).to_crs(c.households.crs)),
            crs=c.households.crs, index=10**7 + np.arange(room))])
        r1 = repartition(r, filled, c.villages, microgrids=[m])
        full = r1.households[r1.households["microgrid_id"] == m]
        if full["cell_id"].nunique() != len(g) or (full["cell_id"].value_counts() != 20).any():
            continue  # not filled up in place: not the case measured here
        # then one more household, beside the first household of a cell
        p = full.to_crs(crs).geometry.iloc[0]
        new = pd.concat([filled, gpd.GeoDataFrame(
            {"village_code": [village]},
            geometry=list(gpd.GeoSeries([Point(p.x + 2, p.y + 1)], crs=crs).to_crs(c.households.crs)),
            crs=c.households.crs, index=[10**8])])
        r2 = repartition(r1, new, c.villages, microgrids=[m])
        assert not {k: v for k, v in check(r2, c.villages).items() if v}
        assert r2.households.loc[10**8, "microgrid_id"] == m
        cells = r2.cells[r2.cells["microgrid_id"] == m]
        before = set(full["cell_id"])
        assert before < set(cells["cell_id"]) and len(cells) == len(before) + 1
        assert (cells["households"] <= 20).all()
        moved_shares.append(float((r2.households.loc[full.index, "cell_id"] != full["cell_id"]).mean()))
    assert len(moved_shares) >= 3, moved_shares
    assert max(moved_shares) <= 0.10, moved_shares
