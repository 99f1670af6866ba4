"""Locked cells through planner edits (tests/partition/test_repartition_locked_members.py
says what a lock keeps): cases fuzzing found, each with the fix it asked for."""

from __future__ import annotations

import numpy as np
import shapely
from shapely.geometry import box

from geogrid.partition import check, partition, repartition
from geogrid.partition.result import PartitionResult

from .conftest import X0, Y0, households_gdf, village_gdf


def _rules(r, v) -> dict:
    return {k: x for k, x in check(r, v).items() if x}


def _by_hand(r, moves: dict, cells=None) -> PartitionResult:
    """The plan ``r`` with households moved into other cells by hand (``{household:
    cell}``; ``cells``: the plan's cells, redrawn), the counts following."""
    hh = r.households.copy()
    cells = r.cells if cells is None else cells
    cell_mg = cells.set_index("cell_id")["microgrid_id"]
    for h, cell in moves.items():
        hh.loc[h, "cell_id"] = cell
        hh.loc[h, "microgrid_id"] = cell_mg[cell]
    cells, mgs = cells.copy(), r.microgrids.copy()
    cells["households"] = cells["cell_id"].map(hh["cell_id"].value_counts()).fillna(0).astype(int)
    mgs["households"] = mgs["microgrid_id"].map(hh["microgrid_id"].value_counts()).fillna(0).astype(int)
    return PartitionResult(households=hh, microgrids=mgs, cells=cells, report=r.report)


def _row(n=20, cap=5, mgs=2):
    """A strip village of ``n`` households in a row, a building each, ``mgs`` micro-grids."""
    v = village_gdf({"V": box(X0, Y0, X0 + 1000, Y0 + 300)})
    xy = [(X0 + 50 + 45 * i, Y0 + 100 + (i % 3) * 40) for i in range(n)]
    h = households_gdf(xy, "V", building=[f"b{i}" for i in range(n)])
    return v, h, partition(h, v, max_households=cap, min_microgrids=mgs, max_microgrids=mgs)


def test_check_reads_a_plan_that_keeps_no_point_for_a_hand_moved_household():
    """Found fuzzing locks: check() of a previous plan as the API hands it to a re-run
    (a household moved by hand into a cell its point is not in is given no point,
    planrerun._moved_as_such) raised IndexError in the building rule: the building
    keys were of every assigned household, the coordinates of those with a point
    only.  A household without a point is of no building there, as it is of no
    address in the co-location rule; the hand move is named, as with a point."""
    v, h, r = _row(cap=6)
    other = r.households.loc[19, "cell_id"]
    prev = _by_hand(r, {0: other})
    prev.households.loc[0, "geometry"] = None
    assert _rules(prev, v) == {"point_in_own_cell": [0]}
    # a building key shared with a household that has a point: no building split either
    prev.households.loc[0, "building"] = prev.households.loc[1, "building"]
    assert _rules(prev, v) == {"point_in_own_cell": [0]}


def test_a_round_trip_of_the_register_keeps_a_hand_move_into_a_microgrid_not_rerun():
    """Found fuzzing locks: the planner moves a household by hand into a cell of the
    village's other micro-grid (its point stays where it was) and re-runs the
    micro-grid it lies in, with the register read back through another CRS (points
    moved by nanometres).  The same register without the round trip left the
    household in the cell it was moved to (not re-solved); with it, the household was
    taken as moved (it was not 'still in its cell's polygon', as it never was) and
    placed by its point: back into the re-run micro-grid, into a cell of its own when
    its old cell was locked.  A point within MOVED_M of the previous one, outside its
    cell as before, has not moved."""
    v, h, r = _row(cap=6)
    m = r.households.loc[0, "microgrid_id"]
    into = r.households.loc[19, "cell_id"]  # a cell of the other micro-grid
    assert r.cells.set_index("cell_id").loc[into, "microgrid_id"] != m
    prev = _by_hand(r, {0: into})
    trip = h.to_crs("EPSG:4326").to_crs(h.crs)
    assert 0 < h.geometry[0].distance(trip.geometry[0]) < 1e-6
    for locked in ([], [r.households.loc[0, "cell_id"]]):
        for register in (h, trip):
            r2 = repartition(prev, register, microgrids=[m], locked_cells=locked)
            assert r2.households.loc[0, "cell_id"] == into, (locked, register is trip)
            assert _rules(r2, v) == {"point_in_own_cell": [0]}


def test_households_taken_out_of_a_locked_cells_corner_by_hand_keep_their_own_addresses():
    """Found fuzzing locks: a locked cell that is not convex (two cells merged) and
    whose households the planner moved out by hand, as its locked_cell_full note asks.
    Each is cut with the free land as if it lived at the nearest point of it
    (locked_cells.beside), and every household in the corner facing the cell's inner
    corner has that one nearest point: two buildings of three were cut as one address,
    one unit of six, and landed in one cell over the cap of four, no note said
    (check: cell_capacity).  Households at different places are set down at different
    places now, and at no other household's address."""
    from shapely.geometry import Polygon

    from geogrid.partition.locked_cells import beside

    v = village_gdf({"V": box(X0, Y0, X0 + 200, Y0 + 100)})
    # A is an L whose inner corner (X0 + 100, Y0 + 50) faces the free cell B
    a = Polygon([(X0, Y0), (X0 + 100, Y0), (X0 + 100, Y0 + 50), (X0 + 150, Y0 + 50), (X0 + 150, Y0 + 100),
                 (X0, Y0 + 100)])
    b = box(X0, Y0, X0 + 200, Y0 + 100).difference(a)
    xy = [(X0 + 50, Y0 + 80)] * 3 + [(X0 + 90, Y0 + 60)] * 3 + [(X0 + 170, Y0 + 20), (X0 + 130, Y0 + 20)]
    h = households_gdf(xy, "V", building=["x"] * 3 + ["y"] * 3 + ["p", "q"])
    r = partition(h, v, max_households=4, min_microgrids=1, max_microgrids=1)
    cells = r.cells.iloc[:2].assign(cell_id=["V-M01-C01", "V-M01-C02"]).set_geometry([a, b])
    drawn = _by_hand(r, {i: "V-M01-C01" if i < 6 else "V-M01-C02" for i in range(8)}, cells)
    assert _rules(drawn, v) == {"cell_capacity": ["V-M01-C01"]}  # the note's case
    prev = _by_hand(drawn, {i: "V-M01-C02" for i in range(6)})
    r2 = repartition(prev, h, microgrids=["V-M01"], locked_cells=["V-M01-C01"])
    assert _rules(r2, v) == {"point_in_own_cell": [0, 1, 2, 3, 4, 5]}  # the hand moves only
    assert r2.households.loc[[0, 3], "cell_id"].nunique() == 2
    assert r2.cells.set_index("cell_id").geometry["V-M01-C01"].equals_exact(a, 0)
    # beside() itself: one place one point, two places two, none at a taken address
    free = b
    pts = np.array([[X0 + 50, Y0 + 80], [X0 + 50, Y0 + 80], [X0 + 90, Y0 + 60], [X0 + 60, Y0 + 70]])
    out = beside(free, pts)
    assert (out[0] == out[1]).all() and len({tuple(np.round(p, 2)) for p in out}) == 3
    assert free.contains(shapely.points(out)).all()
    taken = beside(free, pts[2:3])
    assert not (np.round(beside(free, pts[3:], taken), 2) == np.round(taken, 2)).all()
