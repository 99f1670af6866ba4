"""repartition(): untouched micro-grids keep ids and geometry exactly; locked cells stay."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geogrid.errors import InputError
from geogrid.partition import check, partition, repartition

from .synthetic import synthetic_county


@pytest.fixture(scope="module")
def county():
    c = synthetic_county(seed=7, n_households=3000)
    return c, partition(c.households, c.villages, engine="serial")


def _broken(r, v):
    return {k: x[:5] for k, x in check(r, v).items() if x}


def _edit(c, r, m, drop=3, add=25):
    hh = c.households
    members = r.households.index[r.households["microgrid_id"] == m]
    hh = hh.drop(members[:drop])
    poly = r.microgrids.set_index("microgrid_id").geometry[m]
    p = poly.representative_point()
    code = r.microgrids.set_index("microgrid_id")["village_code"][m]
    new = gpd.GeoDataFrame(
        {"village_code": [code] * add, "building": [f"new{i}" for i in range(add)],
         "hamlet": [None] * add},
        geometry=gpd.points_from_xy(np.full(add, p.x) + np.arange(add) * 1e-6, np.full(add, p.y)),
        crs=hh.crs, index=pd.RangeIndex(10**6, 10**6 + add))
    return pd.concat([hh, new])


def test_untouched_keep_ids_and_geometry(county):
    c, r = county
    m = r.microgrids["microgrid_id"].iloc[4]
    hh = _edit(c, r, m)
    r2 = repartition(r, hh, microgrids=[m])
    assert _broken(r2, c.villages) == {}
    a = r.cells.set_index("cell_id")
    b = r2.cells.set_index("cell_id")
    other = a.index[a["microgrid_id"] != m]
    assert other.isin(b.index).all()
    assert a.geometry[other].geom_equals_exact(b.geometry[other], 0).all()
    am = r.microgrids.set_index("microgrid_id").geometry
    bm = r2.microgrids.set_index("microgrid_id").geometry
    assert am.geom_equals_exact(bm.reindex(am.index), 0).all()
    # households outside the micro-grid keep their cell
    same = r.households.index.intersection(r2.households.index)
    out = same[r.households.loc[same, "microgrid_id"] != m]
    assert r.households.loc[out, "cell_id"].equals(r2.households.loc[out, "cell_id"])
    # the new households are placed, in the named micro-grid
    assert (r2.households.loc[10**6:, "microgrid_id"] == m).all()


def test_households_keep_their_cell_where_possible(county):
    c, r = county
    m = r.microgrids["microgrid_id"].iloc[2]
    hh = _edit(c, r, m, drop=1, add=0)
    r2 = repartition(r, hh, microgrids=[m])
    kept = r.households.index.intersection(r2.households.index)
    inside = kept[r.households.loc[kept, "microgrid_id"] == m]
    same = (r.households.loc[inside, "cell_id"] == r2.households.loc[inside, "cell_id"]).mean()
    assert same == 1.0  # removing one household changes no one's cell
    assert _broken(r2, c.villages) == {}


def test_locked_cells_do_not_change(county):
    c, r = county
    m = r.cells["microgrid_id"].value_counts().index[0]  # the one with most cells
    cells = r.cells[r.cells["microgrid_id"] == m]
    p = r.microgrids.set_index("microgrid_id").geometry[m].representative_point()
    lock = cells.loc[~cells.geometry.intersects(p.buffer(1e-6)), "cell_id"].iloc[0]
    hh = _edit(c, r, m, drop=0, add=30)  # new households away from the locked cell
    r2 = repartition(r, hh, microgrids=[m], locked_cells=[lock])
    g1 = r.cells.set_index("cell_id").geometry[lock]
    g2 = r2.cells.set_index("cell_id").geometry[lock]
    assert g1.equals_exact(g2, 0)
    before = set(r.households.index[r.households["cell_id"] == lock])
    after = set(r2.households.index[r2.households["cell_id"] == lock])
    assert before == after
    assert _broken(r2, c.villages) == {}


def test_household_moved_outside_named_is_reported(county):
    c, r = county
    m1, m2 = r.microgrids["microgrid_id"].iloc[[0, 8]]
    hh = c.households.copy()
    i = r.households.index[r.households["microgrid_id"] == m1][0]
    p = r.microgrids.set_index("microgrid_id").geometry[m2].representative_point()
    hh.loc[i, "geometry"] = p
    hh.loc[i, "village_code"] = r.microgrids.set_index("microgrid_id")["village_code"][m2]
    r2 = repartition(r, hh, microgrids=[m1])
    d = [x for x in r2.diagnostics if x["kind"] == "not_repartitioned"]
    assert d and d[0]["households"] == [i]
    r3 = repartition(r, hh, microgrids=[m1, m2])
    assert r3.households.loc[i, "microgrid_id"] == m2
    assert _broken(r3, c.villages) == {}


def test_unknown_ids_are_refused(county):
    c, r = county
    with pytest.raises(InputError):
        repartition(r, c.households, microgrids=["nope"])
    with pytest.raises(InputError):
        m = r.microgrids["microgrid_id"].iloc[0]
        repartition(r, c.households, microgrids=[m], locked_cells=["nope"])


def test_new_household_inside_a_locked_cell_joins_it(county):
    c, r = county
    m = r.microgrids["microgrid_id"].iloc[4]
    p = r.microgrids.set_index("microgrid_id").geometry[m].representative_point()
    cells = r.cells[r.cells["microgrid_id"] == m]
    lock = cells.loc[cells.geometry.intersects(p.buffer(1e-7)), "cell_id"].iloc[0]
    hh = _edit(c, r, m, drop=0, add=2)
    r2 = repartition(r, hh, microgrids=[m], locked_cells=[lock])
    assert (r2.households.loc[10**6:, "cell_id"] == lock).all()
    assert _broken(r2, c.villages) == {} or r2.cells.set_index("cell_id").loc[lock, "households"] > 20
