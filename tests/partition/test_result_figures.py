"""``report.result_figures``: the quality figures of a partition from its frames alone,
as a plan edited after the engine (by hand, or by a repartition) needs them."""

from __future__ import annotations

import numpy as np
import pytest

from geogrid.partition import partition, repartition
from geogrid.partition.report import TARGETS, result_figures
from tests.partition.synthetic import synthetic_county


@pytest.fixture(scope="module")
def county():
    c = synthetic_county(seed=3, n_households=1500)
    hh = c.households.copy()
    # small hamlets of 6 households: runs of neighbours in household order
    hh["hamlet"] = [f"h{i // 6}" for i in range(len(hh))]
    return hh, c.villages, partition(hh, c.villages, seed=0, engine="serial")


def _same(a: dict, b: dict) -> list[str]:
    return [k for k in a if not (a[k] == b.get(k) or (isinstance(a[k], float) and np.isclose(a[k], b.get(k, np.nan),
                                                                                            rtol=1e-9, equal_nan=True)))]


def test_equal_to_the_engines_own(county):
    hh, villages, result = county
    got = result_figures(result)
    assert set(result.figures) <= set(got)
    assert _same(result.figures, got) == []
    assert set(TARGETS) <= set(got)


def test_the_same_in_another_crs(county):
    """A plan read back from a database is in degrees; the figures are the metres' ones."""
    _, _, result = county
    wgs = type(result)(households=result.households.to_crs(4326), microgrids=result.microgrids.to_crs(4326),
                       cells=result.cells.to_crs(4326), report={})
    got = result_figures(wgs)
    assert _same({k: v for k, v in result.figures.items() if k != "polsby_popper_p10"}, got) == []


def test_a_hand_move_that_splits_a_hamlet_and_fills_a_cell(county):
    """Moving one household of a whole small hamlet to another cell of its micro-grid
    with room: one small hamlet fewer unsplit, the counts move, nothing else."""
    hh, _, result = county
    before = result_figures(result)
    h = result.households
    cells = result.cells.set_index("cell_id")
    whole = h.groupby(["village_code", "hamlet"])["cell_id"].agg(["nunique", "size"])
    whole = whole[(whole["nunique"] == 1) & (whole["size"] <= 20)]
    moved = None
    for (v, ham) in whole.index:
        members = h[(h["village_code"] == v) & (h["hamlet"] == ham)]
        own = members["cell_id"].iloc[0]
        mg = cells.loc[own, "microgrid_id"]
        room = cells[(cells["microgrid_id"] == mg) & (cells.index != own) & (cells["households"] < 20)]
        if len(room):
            moved, to = members.index[0], room.index[0]
            break
    assert moved is not None, "the synthetic county has no small hamlet beside a cell with room"
    edited_h = h.copy()
    edited_h.loc[moved, "cell_id"] = to
    edited = type(result)(households=edited_h, microgrids=result.microgrids, cells=result.cells,
                          report=result.report)
    after = result_figures(edited)
    n = before["small_hamlets"]
    assert after["small_hamlets"] == n
    assert after["small_hamlets_unsplit"] == pytest.approx(before["small_hamlets_unsplit"] - 1 / n)
    assert after["households_assigned"] == before["households_assigned"]
    assert after["within_cell_msd_m2"] != before["within_cell_msd_m2"]
    # the frame's own counts are not trusted: the households' cells are
    assert after["mean_fill"] == pytest.approx(before["mean_fill"])  # same households, same cells used


def test_a_household_left_out_and_an_unknown_cell(county):
    _, _, result = county
    h = result.households.copy()
    h.loc[h.index[:3], "cell_id"] = None
    h.loc[h.index[3:5], "cell_id"] = "no-such-cell"
    got = result_figures(type(result)(households=h, microgrids=result.microgrids, cells=result.cells))
    assert got["households"] == len(h)
    assert got["households_assigned"] == len(h) - 5


def test_after_a_repartition_every_figure_is_measured(county):
    """repartition's report carries over the figures that need every cell's shape;
    result_figures measures them on the result as it is."""
    hh, villages, result = county
    m = result.microgrids["microgrid_id"].iloc[0]
    members = result.households.index[result.households["microgrid_id"] == m]
    again = repartition(result, hh.drop(members[:15]), microgrids=[m])
    got = result_figures(again)
    assert got["households_assigned"] == len(hh) - 15
    fresh = result_figures(type(again)(households=again.households, microgrids=again.microgrids,
                                       cells=again.cells))
    assert _same(got, fresh) == []
    assert got["within_cell_msd_m2"] != result.figures["within_cell_msd_m2"]


def test_an_empty_partition():
    import geopandas as gpd

    from geogrid.partition.result import PartitionResult

    empty = gpd.GeoDataFrame({"microgrid_id": [], "cell_id": []}, geometry=[], crs=4326)
    got = result_figures(PartitionResult(households=empty, microgrids=empty, cells=empty))
    assert got == {"households": 0, "households_assigned": 0, "microgrids": 0, "cells": 0}


def test_numbered_ids_with_a_household_in_no_cell(county):
    """Ids that are numbers: a household in no cell (NaN) makes its frame's column of
    cell numbers floats (7.0), which are the cells' 7.  Before, the text of 7.0 named no
    cell: every household counted as in none, the fill and compactness as NaN."""
    _, _, result = county
    cells, mgs, h = result.cells.copy(), result.microgrids.copy(), result.households.copy()
    cell_no = {k: i for i, k in enumerate(cells["cell_id"])}
    mg_no = {k: i for i, k in enumerate(mgs["microgrid_id"])}
    cells["cell_id"] = cells["cell_id"].map(cell_no)
    cells["microgrid_id"] = cells["microgrid_id"].map(mg_no)
    mgs["microgrid_id"] = mgs["microgrid_id"].map(mg_no)
    h["cell_id"] = h["cell_id"].map(cell_no).astype(float)
    h["microgrid_id"] = h["microgrid_id"].map(mg_no).astype(float)
    h.loc[h.index[:3], ["cell_id", "microgrid_id"]] = np.nan
    got = result_figures(type(result)(households=h, microgrids=mgs, cells=cells))
    texts = result.households.copy()
    texts.loc[texts.index[:3], ["cell_id", "microgrid_id"]] = None
    want = result_figures(type(result)(households=texts, microgrids=result.microgrids, cells=result.cells))
    assert got["households_assigned"] == len(h) - 3
    assert _same(want, got) == []
