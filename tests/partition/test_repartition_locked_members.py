"""A locked cell keeps its households through a re-run, not only its polygon.

Before, a re-run took the members of a locked cell afresh from its polygon: a household
the planner had moved into the cell by hand (its point outside the polygon) and then
locked it went out of it again, and one moved out of it by hand came back.  Now a
locked cell keeps its previous members that are still in the register, unless one's
point has changed and lies outside the cell (it moved house); households added, or
moved, inside its polygon join it (over the cap too, with its ``locked_cell_full``
note).  A household the planner moved by hand stays where it was put, outside its
cell's polygon: :func:`~geogrid.partition.check` names it under ``point_in_own_cell``
before the re-run and after, as the API's validation warns ``outside_cell``.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geogrid.partition import check, partition, repartition

from .synthetic import synthetic_county


@pytest.fixture(scope="module")
def county():
    c = synthetic_county(seed=7, n_households=1200)
    return c, partition(c.households, c.villages, engine="serial")


def _by_hand(r, moves: dict):
    """The plan ``r`` with households moved into other cells by hand (``{household:
    cell}``), as the planner's hand move leaves it: points as they were, the cells'
    and micro-grids' counts following."""
    hh = r.households.copy()
    cell_mg = r.cells.set_index("cell_id")["microgrid_id"]
    for h, cell in moves.items():
        hh.loc[h, "cell_id"] = cell
        hh.loc[h, "microgrid_id"] = cell_mg[cell]
    cells, mgs = r.cells.copy(), r.microgrids.copy()
    cells["households"] = cells["cell_id"].map(hh["cell_id"].value_counts()).fillna(0).astype(int)
    mgs["households"] = mgs["microgrid_id"].map(hh["microgrid_id"].value_counts()).fillna(0).astype(int)
    return type(r)(households=hh, microgrids=mgs, cells=cells, report=r.report)


def _members(r, cell) -> set:
    return set(r.households.index[r.households["cell_id"] == cell])


def _alone(r, c, rows):
    """Of households ``rows``, those of no building shared with another and at an
    address of their own (a hand move of one splits nothing)."""
    b = c.households["building"]
    shared_b = b.notna() & b.duplicated(keep=False)
    xy = np.round(shapely.get_coordinates(c.households.geometry.to_numpy()), 9)
    shared_p = pd.DataFrame(xy, index=c.households.index).duplicated(keep=False)
    return [h for h in rows if not shared_b[h] and not shared_p[h]]


def _pair(r, c):
    """Two cells of one micro-grid that share a border, in the micro-grid with most
    cells, the first with room for one more: ``(micro-grid, cell, neighbour)``."""
    m = r.cells["microgrid_id"].value_counts().index[0]
    mc = r.cells[r.cells["microgrid_id"] == m].set_index("cell_id")
    for a in mc.index[mc["households"] < 20]:
        for b in mc.index:
            if b != a and mc.geometry[a].intersection(mc.geometry[b]).length > 0:
                if _alone(r, c, r.households.index[r.households["cell_id"] == b]):
                    return m, a, b
    raise AssertionError("no two neighbouring cells in the test county")


def _rules(r, v) -> dict:
    return {k: x for k, x in check(r, v).items() if x}


def test_a_household_moved_into_a_cell_by_hand_stays_when_the_cell_is_locked(county):
    """The defect: the planner moves a household of cell B into its neighbour A (its
    point stays in B), locks A and re-runs the micro-grid; before, the household went
    back to B and A held one fewer than the planner locked."""
    c, r = county
    m, a, b = _pair(r, c)
    h = _alone(r, c, r.households.index[r.households["cell_id"] == b])[0]
    prev = _by_hand(r, {h: a})
    r2 = repartition(prev, c.households, microgrids=[m], locked_cells=[a])
    assert _members(r2, a) == _members(prev, a) and h in _members(r2, a)
    assert r2.cells.set_index("cell_id").geometry[a].equals_exact(r.cells.set_index("cell_id").geometry[a], 0)
    assert r2.cells.set_index("cell_id").loc[a, "households"] == len(_members(prev, a))
    # the hand move is all that breaks a rule, before the re-run and after it
    assert _rules(prev, c.villages) == {"point_in_own_cell": [h]}
    assert _rules(r2, c.villages) == {"point_in_own_cell": [h]}
    # the same through a round trip of the register's points through another CRS
    r3 = repartition(prev, c.households.to_crs("EPSG:32649"), microgrids=[m], locked_cells=[a])
    assert _members(r3, a) == _members(prev, a)


def test_a_plan_that_keeps_no_point_of_its_own_keeps_the_hand_move_too(county):
    """The API hands the engine a hand-moved household with no previous point (a stored
    plan keeps the register's points, and one outside its cell is given as none): the
    lock keeps it all the same, as nothing says it moved."""
    c, r = county
    m, a, b = _pair(r, c)
    h = _alone(r, c, r.households.index[r.households["cell_id"] == b])[0]
    prev = _by_hand(r, {h: a})
    prev.households.loc[h, "geometry"] = None
    r2 = repartition(prev, c.households, microgrids=[m], locked_cells=[a])
    assert _members(r2, a) == _members(prev, a) and h in _members(r2, a)


def test_a_household_moved_in_from_another_microgrid_stays_in_the_locked_cell(county):
    """Moved by hand into a locked cell from a micro-grid of the village not re-run: it
    stays in the cell (before: it was taken out, and left in no cell, 're-solve the
    micro-grid it now lies in as well'); with both re-run, it stays too."""
    c, r = county
    m, a, _ = _pair(r, c)
    village = r.cells.set_index("cell_id").loc[a, "village_code"]
    mgs = r.microgrids
    m2 = mgs.loc[(mgs["village_code"] == village) & (mgs["microgrid_id"] != m), "microgrid_id"].iloc[0]
    h = _alone(r, c, r.households.index[r.households["microgrid_id"] == m2])[0]
    prev = _by_hand(r, {h: a})
    for named in ([m], [m, m2]):
        r2 = repartition(prev, c.households, microgrids=named, locked_cells=[a])
        assert _members(r2, a) == _members(prev, a), named
        assert r2.households.loc[h, "microgrid_id"] == m
        assert not [d for d in r2.diagnostics if d["kind"] == "not_repartitioned"]
        assert _rules(r2, c.villages) == {"point_in_own_cell": [h]}


def test_a_household_moved_out_of_a_locked_cell_by_hand_is_not_taken_back(county):
    """The planner moves a household out of cell A into its neighbour (as the
    locked_cell_full note asks, once A is unlocked), locks A again and re-runs:
    before, its point inside A took it back.  It goes to a free cell of the micro-grid
    (the one nearest its house), within the cap."""
    c, r = county
    m, b, a = _pair(r, c)  # b: a neighbour of a with room
    h = _alone(r, c, r.households.index[r.households["cell_id"] == a])[0]
    prev = _by_hand(r, {h: b})
    r2 = repartition(prev, c.households, microgrids=[m], locked_cells=[a])
    assert _members(r2, a) == _members(prev, a) and h not in _members(r2, a)
    assert r2.households.loc[h, "microgrid_id"] == m and r2.households.loc[h, "cell_id"] != a
    assert r2.cells.set_index("cell_id").geometry[a].equals_exact(r.cells.set_index("cell_id").geometry[a], 0)
    assert _rules(r2, c.villages) == {"point_in_own_cell": [h]}


def test_a_member_that_moved_house_leaves_the_locked_cell_and_a_removed_one_is_gone(county):
    """A member whose point changed: still inside the cell, it stays; in another cell
    of the micro-grid, it goes there; in a micro-grid not re-run, it is in no cell, with
    the note that says so, as any household moved there.  A removed member leaves."""
    c, r = county
    m, a, b = _pair(r, c)
    inside, across, far, gone = _alone(r, c, r.households.index[r.households["cell_id"] == a])[:4]
    cells = r.cells.set_index("cell_id")
    village = cells.loc[a, "village_code"]
    mgs = r.microgrids.set_index("microgrid_id")
    m2 = mgs.index[(mgs["village_code"] == village) & (mgs.index != m)][0]
    hh = c.households.drop(index=[gone])
    g = hh.geometry.copy()
    own = hh.geometry[inside]
    g[inside] = shapely.Point(own.x + 1e-5, own.y) if cells.geometry[a].contains(
        shapely.Point(own.x + 1e-5, own.y)) else cells.geometry[a].representative_point()
    g[across] = cells.geometry[b].representative_point()
    g[far] = mgs.geometry[m2].representative_point()
    hh = hh.set_geometry(g)
    r2 = repartition(r, hh, microgrids=[m], locked_cells=[a])
    assert _members(r2, a) == _members(r, a) - {across, far, gone}
    assert r2.households.loc[across, "cell_id"] == b
    assert pd.isna(r2.households.loc[far, "cell_id"])
    (note,) = [d for d in r2.diagnostics if d["kind"] == "not_repartitioned"]
    assert note["households"] == [far]


def test_households_added_inside_a_locked_cell_join_it_over_the_cap_with_its_note(county):
    """Households added inside a locked cell join it beside its hand-moved member; over
    the cap too (no other cell could hold them with their point inside), and the
    locked_cell_full note names all its households."""
    c, r = county
    m, a, b = _pair(r, c)
    h = _alone(r, c, r.households.index[r.households["cell_id"] == b])[0]
    prev = _by_hand(r, {h: a})
    p = r.cells.set_index("cell_id").geometry[a].representative_point()
    add = 21 - len(_members(prev, a)) + 2
    new = gpd.GeoDataFrame(
        {"village_code": r.cells.set_index("cell_id").loc[a, "village_code"],
         "building": [f"new{i}" for i in range(add)], "hamlet": None},
        geometry=gpd.points_from_xy(np.full(add, p.x) + np.arange(add) * 1e-6, np.full(add, p.y)),
        crs=c.households.crs, index=pd.RangeIndex(10**6, 10**6 + add))
    r2 = repartition(prev, pd.concat([c.households, new]), microgrids=[m], locked_cells=[a])
    assert _members(r2, a) == _members(prev, a) | set(new.index)
    (full,) = [d for d in r2.diagnostics if d["kind"] == "locked_cell_full"]
    assert full["cells"] == [a] and set(full["households"]) == _members(r2, a)
    assert _rules(r2, c.villages) == {"point_in_own_cell": [h], "cell_capacity": [a]}


def test_beside_sets_a_point_down_on_the_nearest_land():
    """A point outside the free land stands on it, next to the nearest point of it; two
    at one place stand at one place (one address still)."""
    from geogrid.partition.locked_cells import BESIDE_M, beside

    land = shapely.box(0, 0, 100, 100).difference(shapely.box(40, 40, 60, 60))  # a locked cell's hole
    pts = np.array([[50.0, 45.0], [50.0, 45.0], [41.0, 50.0]])
    out = beside(land, pts)
    assert shapely.contains_xy(land, out[:, 0], out[:, 1]).all()
    assert (out[0] == out[1]).all()
    near = np.array([[50.0, 40.0], [40.0, 50.0]])
    assert (np.hypot(*(out[1:] - near).T) <= BESIDE_M).all()
