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
