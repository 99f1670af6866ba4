"""repartition() of a micro-grid whose households were all taken out of the register,
and of a locked cell left with none: before, the micro-grid was kept with one cell of
0 households, re-run alone or with a neighbour, and a locked cell stayed empty, with
no note saying so (check() passed both; only the API's validation called the cell an
error).  Now the micro-grid hands its land to a neighbour re-run with it
(``microgrid_dropped``), or, with none, is kept with an ``empty_microgrid`` note naming
the neighbours to re-run it with; a locked cell left empty has its
``locked_cell_empty`` note, and unlocked, a re-run of its micro-grid drops it."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geogrid.partition import check, partition, repartition
from geogrid.partition.assignment_notes import assignment_notes
from geogrid.partition.empty_microgrids import BORDER_M, border

from .synthetic import synthetic_county


@pytest.fixture(scope="module")
def county():
    c = synthetic_county(seed=11, n_households=3000)
    return c, partition(c.households, c.villages, engine="serial")


def _broken(r, villages):
    return {k: v for k, v in check(r, villages).items() if v}


def _emptied(c, r, *microgrids):
    """The register without the households of ``microgrids``."""
    gone = r.households.index[r.households["microgrid_id"].isin(microgrids)]
    return c.households.drop(gone)


def _bordering(r, m) -> list:
    """The micro-grids of ``m``'s village that border it, in metres."""
    crs = r.report["parameters"]["metric_crs"]
    mg = r.microgrids.to_crs(crs).set_index("microgrid_id")
    code = mg.loc[m, "village_code"]
    return sorted(o for o in mg.index[mg["village_code"] == code]
                  if o != m and border(mg.geometry[m], mg.geometry[o]) >= BORDER_M)


def _kinds(r, *kinds):
    return [d for d in r.diagnostics if d["kind"] in kinds]


def test_a_micro_grid_emptied_and_re_run_alone_is_kept_with_a_note_naming_its_neighbours(county):
    """The issue's case: micro-grid 4 of the county, every household taken out; before,
    one cell of 0 households and nothing in the report."""
    c, r = county
    m = r.microgrids["microgrid_id"].iloc[3]
    r2 = repartition(r, _emptied(c, r, m), c.villages, microgrids=[m])
    assert r2.microgrids.set_index("microgrid_id").loc[m, "households"] == 0
    (note,) = _kinds(r2, "empty_microgrid")
    assert note["microgrids"][0] == m
    assert note["microgrids"][1:] == _bordering(r, m) and note["microgrids"][1:]
    assert note["village_code"] == r2.microgrids.set_index("microgrid_id").loc[m, "village_code"]
    assert "re-run it together with a micro-grid of its village next to it" in note["message"]
    assert r2.report["repartition"]["microgrids_dropped"] == {}
    assert not _broken(r2, c.villages)


def test_an_emptied_micro_grid_re_run_with_a_neighbour_hands_it_its_land(county):
    """Property over the county's micro-grids (each with a neighbour of its village):
    emptied and re-run with that neighbour, the micro-grid is dropped with its cells,
    the neighbour covers both lands (the village is still tiled), keeps its households
    in their cells and its cell ids, every other micro-grid and cell is as it was, and
    the note says where the land went."""
    c, r = county
    crs = r.report["parameters"]["metric_crs"]
    tried = 0
    for m in r.microgrids["microgrid_id"].iloc[::3]:
        near = _bordering(r, m)
        if not near:
            continue
        nb = near[-1]
        tried += 1
        r2 = repartition(r, _emptied(c, r, m), c.villages, microgrids=[m, nb])
        assert m not in set(r2.microgrids["microgrid_id"]), m
        assert not r2.cells["microgrid_id"].eq(m).any()
        assert r2.report["repartition"]["microgrids_dropped"] == {m: nb}
        (note,) = _kinds(r2, "microgrid_dropped")
        assert note["microgrids"] == [m, nb] and note["params"]["area_m2"] > 0
        assert not _kinds(r2, "empty_microgrid")
        before = r.microgrids.to_crs(crs).set_index("microgrid_id")
        after = r2.microgrids.to_crs(crs).set_index("microgrid_id")
        both = shapely.union(before.geometry[m], before.geometry[nb])
        assert shapely.symmetric_difference(after.geometry[nb], both).area < 1.0
        assert after.loc[nb, "area_km2"] == pytest.approx(both.area / 1e6, rel=1e-6)
        mine = r.households.index[r.households["microgrid_id"] == nb]
        assert r2.households.loc[mine, "cell_id"].tolist() == r.households.loc[mine, "cell_id"].tolist()
        rest = r.microgrids[~r.microgrids["microgrid_id"].isin([m, nb])].set_index("microgrid_id")
        same = r2.microgrids.set_index("microgrid_id").loc[rest.index]
        assert all(a.equals_exact(b, 0) for a, b in zip(rest.geometry, same.geometry))
        assert not _broken(r2, c.villages), m
    assert tried >= 8


def test_a_village_emptied_and_re_run_whole_is_one_micro_grid_with_one_empty_cell(county):
    """Every micro-grid of a village named and emptied: they become one, under the
    first id, as partition() makes a village with no households, and its note says it
    is the village's only one."""
    c, r = county
    code = r.microgrids["village_code"].iloc[0]
    ms = sorted(r.microgrids.loc[r.microgrids["village_code"] == code, "microgrid_id"])
    assert len(ms) >= 3
    r2 = repartition(r, _emptied(c, r, *ms), c.villages, microgrids=ms)
    mine = r2.microgrids[r2.microgrids["village_code"] == code]
    assert mine["microgrid_id"].tolist() == [ms[0]]
    assert r2.cells["microgrid_id"].eq(ms[0]).sum() == 1
    assert sorted(r2.report["repartition"]["microgrids_dropped"]) == ms[1:]
    (note,) = _kinds(r2, "empty_microgrid")
    assert note["microgrids"] == [ms[0]] and "only micro-grid" in note["message"]
    assert not _broken(r2, c.villages)


def test_an_emptied_micro_grid_kept_by_a_locked_cell_says_to_unlock_it(county):
    c, r = county
    m, nb = r.microgrids["microgrid_id"].iloc[3], r.microgrids["microgrid_id"].iloc[4]
    lc = r.cells.loc[r.cells["microgrid_id"] == m, "cell_id"].iloc[0]
    r2 = repartition(r, _emptied(c, r, m), c.villages, microgrids=[m, nb], locked_cells=[lc])
    assert m in set(r2.microgrids["microgrid_id"])
    (note,) = _kinds(r2, "empty_microgrid")
    assert note["cells"] == [lc] and "unlock" in note["message"]
    (empty,) = _kinds(r2, "locked_cell_empty")
    assert empty["cells"] == [lc] and empty["microgrids"] == [m]


def test_a_locked_cell_left_empty_has_a_note_and_unlocked_a_rerun_drops_it(county):
    c, r = county
    m = r.microgrids["microgrid_id"].iloc[4]
    lc = r.cells.loc[r.cells["microgrid_id"] == m, "cell_id"].iloc[0]
    hh = c.households.drop(r.households.index[r.households["cell_id"] == lc])
    r2 = repartition(r, hh, c.villages, microgrids=[m], locked_cells=[lc])
    assert r2.cells.set_index("cell_id").loc[lc, "households"] == 0
    (note,) = _kinds(r2, "locked_cell_empty")
    assert note["cells"] == [lc] and note["microgrids"] == [m] and note["households"] == []
    assert f"unlock it and re-run micro-grid {m}" in note["message"]
    assert not _broken(r2, c.villages)
    # unlocked and re-run: the cell is gone, and so is the note
    r3 = repartition(r2, hh, c.villages, microgrids=[m])
    assert lc not in set(r3.cells["cell_id"])
    assert (r3.cells.loc[r3.cells["microgrid_id"] == m, "households"] > 0).all()
    assert not _kinds(r3, "locked_cell_empty")
    # another micro-grid re-run carries the note of one not re-run
    other = r.microgrids["microgrid_id"].iloc[0]
    r4 = repartition(r2, hh, c.villages, microgrids=[other])
    assert _kinds(r4, "locked_cell_empty") == [note]


def test_assignment_notes_name_a_locked_cell_with_no_household():
    """A hand edit's notes: a locked cell of the village that holds no household, given
    with its micro-grid, is noted; in a village of no households too."""
    pts = np.array([[0.0, 0.0], [50.0, 0.0]])
    notes = assignment_notes("V1", pts, None, None, ["M1-C1", "M1-C1"], ["M1", "M1"], cap=20,
                             locked={"M1-C1": "M1", "M1-C2": "M1"})
    assert [(d["kind"], d["cells"], d["microgrids"], d["households"]) for d in notes] == [
        ("locked_cell_empty", ["M1-C2"], ["M1"], [])]
    assert [d["cells"] for d in assignment_notes("V1", np.zeros((0, 2)), None, None, [], [], cap=20,
                                                 locked={"M1-C2": "M1"})] == [["M1-C2"]]
    # ids alone, as before: no note of a cell the households do not name
    assert assignment_notes("V1", pts, None, None, ["M1-C1"] * 2, ["M1"] * 2, cap=20, locked={"M1-C2"}) == []


def test_a_household_of_another_village_on_emptied_land_does_not_stop_the_hand_over(county):
    """A household registered in another village whose point lies in an emptied
    micro-grid is left out, as partition() leaves it (``outside_village``); the empty
    micro-grids of the village still become one (before the guard, the re-run was
    refused as an outline edit leaving a micro-grid none of its households)."""
    c, r = county
    code = r.microgrids["village_code"].iloc[0]
    ms = sorted(r.microgrids.loc[r.microgrids["village_code"] == code, "microgrid_id"])
    hh = _emptied(c, r, *ms)
    stray = hh.index[hh["village_code"].astype(str) != str(code)][0]
    hh.loc[stray, "geometry"] = r.microgrids.set_index("microgrid_id").geometry[ms[0]].representative_point()
    r2 = repartition(r, hh, c.villages, microgrids=ms)
    assert r2.microgrids.loc[r2.microgrids["village_code"] == code, "microgrid_id"].tolist() == [ms[0]]
    assert any(stray in d["households"] for d in _kinds(r2, "outside_village"))
