"""repartition(): a household added, or moved, to the address of a household whose
cell the re-run keeps (in a micro-grid not re-run, or in a locked cell) joins that
household's cell, over the cap too, with a note: one address is never split across
cells (check: ``colocated_not_split``)."""

from __future__ import annotations

import pandas as pd
import shapely
from shapely.geometry import box

from geogrid.partition import check, partition, repartition

from .conftest import X0, Y0, households_gdf, village_gdf


def _rules(r, v) -> dict:
    return {k: x for k, x in check(r, v).items() if x}


def _two_microgrids(cap=10):
    """One village of two micro-grids, 40 households spread over it, and a point on
    the border between the micro-grids."""
    v = village_gdf({"V": box(X0, Y0, X0 + 1200, Y0 + 400)})
    xy = [(X0 + 30 + 30 * i, Y0 + 100 + 200 * (i % 2)) for i in range(40)]
    h = households_gdf(xy, "V", building=[f"b{i}" for i in range(40)])
    r = partition(h, v, max_households=cap, min_microgrids=2, max_microgrids=2)
    g = r.microgrids.set_index("microgrid_id").geometry
    border = shapely.intersection(g["V-M01"], g["V-M02"])
    p = border.interpolate(0.5, normalized=True)
    return v, h, r, (round(p.x, 3), round(p.y, 3))


def _with(h, xy, ids):
    return pd.concat([h, households_gdf([xy] * len(ids), "V", building=["house"] * len(ids))
                      .set_index(pd.Index(ids))])


def _house_on_the_border(cap=10):
    """The plan with one household (100) in a house on the micro-grids' border: the
    micro-grid it went to, and the other."""
    v, h, r, xy = _two_microgrids(cap)
    h1 = _with(h, xy, [100])
    r1 = repartition(r, h1, microgrids=["V-M01", "V-M02"])
    assert _rules(r1, v) == {}
    kept = r1.households.loc[100, "microgrid_id"]
    other = "V-M02" if kept == "V-M01" else "V-M01"
    return v, h1, r1, xy, kept, other


def test_a_household_added_at_a_border_house_kept_in_the_microgrid_not_rerun_joins_its_cell():
    """The recipe of the bug: a house on the border between two micro-grids of a
    village, its household in the micro-grid not re-run; a household added at the same
    point; the other micro-grid re-run.  The newcomer went into a cell of the re-run
    micro-grid (its point lies in it too): one address in two cells."""
    v, h1, r1, xy, kept, other = _house_on_the_border()
    r2 = repartition(r1, _with(h1, xy, [101]), microgrids=[other])
    assert _rules(r2, v) == {}
    cell = r1.households.loc[100, "cell_id"]
    assert r2.households.loc[[100, 101], "cell_id"].tolist() == [cell, cell]
    assert r2.households.loc[101, "microgrid_id"] == kept
    # the kept micro-grid's cells keep their geometry, its counts follow
    a, b = r1.cells.set_index("cell_id"), r2.cells.set_index("cell_id")
    for c in a.index[a["microgrid_id"] == kept]:
        assert a.geometry[c].equals_exact(b.geometry[c], 0)
    assert b.loc[cell, "households"] == a.loc[cell, "households"] + 1
    mg = r2.microgrids.set_index("microgrid_id")
    assert mg.loc[kept, "households"] == (r2.households["microgrid_id"] == kept).sum()
    assert not [d for d in r2.diagnostics if d["kind"] == "kept_cell_full"]


def test_a_household_moved_house_to_a_border_house_kept_in_the_microgrid_not_rerun_joins_its_cell():
    """As the recipe, with a household of the re-run micro-grid that moved house to
    the border house (its point changed) rather than one added."""
    v, h1, r1, xy, kept, other = _house_on_the_border()
    mover = r1.households.index[(r1.households["microgrid_id"] == other) & (r1.households.index < 100)][0]
    g = h1.geometry.copy()
    g[mover] = shapely.Point(xy)
    r2 = repartition(r1, h1.set_geometry(g), microgrids=[other])
    assert _rules(r2, v) == {}
    assert r2.households.loc[mover, "cell_id"] == r1.households.loc[100, "cell_id"]


def test_households_added_at_a_kept_cells_address_join_it_over_the_cap_with_a_note():
    """The kept cell cannot grow (its micro-grid is not re-run) and the address cannot
    be split: the newcomers join it over the cap, and a ``kept_cell_full`` note names
    the cell, its households and the micro-grid to re-run.  Re-running that
    micro-grid then shares them out within the cap, and the note goes."""
    v, h1, r1, xy, kept, other = _house_on_the_border(cap=10)
    cell = r1.households.loc[100, "cell_id"]
    n = int(r1.cells.set_index("cell_id").loc[cell, "households"])
    ids = list(range(101, 101 + 10 - n + 2))  # two over the cap
    h2 = _with(h1, xy, ids)
    r2 = repartition(r1, h2, microgrids=[other])
    assert set(r2.households.loc[[100, *ids], "cell_id"]) == {cell}
    assert _rules(r2, v) == {"cell_capacity": [cell]}
    (note,) = [d for d in r2.diagnostics if d["kind"] == "kept_cell_full"]
    assert note["cells"] == [cell] and note["microgrids"] == [kept] and note["village_code"] == "V"
    assert sorted(note["households"]) == sorted(r2.households.index[r2.households["cell_id"] == cell])
    assert f"cell {cell}" in note["message"] and f"re-run micro-grid {kept}" in note["message"]
    # a re-run naming another micro-grid again keeps the note; naming the kept one settles it
    r3 = repartition(r2, h2, microgrids=[other])
    assert [d["households"] for d in r3.diagnostics if d["kind"] == "kept_cell_full"] == [note["households"]]
    r4 = repartition(r2, h2, microgrids=[kept])
    assert _rules(r4, v) == {}
    assert not [d for d in r4.diagnostics if d["kind"] == "kept_cell_full"]
    assert r4.households.loc[[100, *ids], "cell_id"].nunique() == 1


def test_a_household_added_at_the_address_of_a_locked_cells_member_outside_it_joins_the_locked_cell():
    """A household the planner moved by hand into a cell, which is then locked, stays
    in it wherever it lies (locked_cells); a household added at its address joined the
    free cell its point lies in instead: one address in two cells."""
    v, h, r, _ = _two_microgrids(cap=15)
    hh = r.households
    mc = r.cells[r.cells["microgrid_id"] == "V-M01"]["cell_id"].tolist()
    locked, there = mc[0], mc[-1]
    assert locked != there
    mover = hh.index[hh["cell_id"] == there][0]
    moved = hh.copy()
    moved.loc[mover, "cell_id"] = locked
    cells = r.cells.copy()
    cells["households"] = cells["cell_id"].map(moved["cell_id"].value_counts()).fillna(0).astype(int)
    r1 = type(r)(households=moved, microgrids=r.microgrids, cells=cells, report=r.report)
    p = h.geometry[mover]
    h2 = _with(h, (p.x, p.y), [100])
    r2 = repartition(r1, h2, microgrids=["V-M01"], locked_cells=[locked])
    assert r2.households.loc[[mover, 100], "cell_id"].tolist() == [locked, locked]
    # the hand move is named, as before the re-run (the newcomer lives there too); nothing else
    assert _rules(r1, v) == {"point_in_own_cell": [mover]}
    assert _rules(r2, v) == {"point_in_own_cell": [mover, 100]}
