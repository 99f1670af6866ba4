"""The notes that depend on which cell each household is in, made afresh from a plan's
assignments (what a hand edit brings up to date): the engine's own rules, so a note
that still holds is given again word for word, and one a hand edit made false goes."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter

import numpy as np

from geogrid.partition.assignment_notes import FOLLOW_ASSIGNMENTS, assignment_notes

CAP = 20


def _keys(notes, labels=None):
    return Counter((d["kind"], d["village_code"], d["message"],
                    tuple(sorted(d["households"] if labels is None else labels[d["households"]])))
                   for d in notes)


def test_a_partitions_own_notes_are_given_again_word_for_word():
    """On a synthetic county whose partition gives hamlet_split and oversize_building
    notes: each village's households in any row order give the partition's notes of
    those kinds, word for word, about the same households."""
    from geogrid.partition import partition
    from .synthetic import UTM, synthetic_county

    county = synthetic_county(seed=0, n_households=3000, crs=UTM)
    result = partition(county.households, county.villages, max_households=CAP)
    want = _keys(d for d in result.diagnostics if d["kind"] in FOLLOW_ASSIGNMENTS)
    assert {k[0] for k in want} == {"hamlet_split", "oversize_building"}
    hh = result.households[result.households["cell_id"].notna()]
    rng = np.random.default_rng(0)
    got = Counter()
    for code, g in hh.groupby("village_code"):
        g = g.iloc[rng.permutation(len(g))]  # the caller's order does not matter
        notes = assignment_notes(code, np.column_stack([g.geometry.x, g.geometry.y]), g["building"].tolist(),
                                 g["hamlet"].tolist(), g["cell_id"].tolist(), g["microgrid_id"].tolist(), CAP)
        got += _keys(notes, g.index.to_numpy())
    assert got == want


def _village(cells, microgrids=None, *, building=None, hamlet=None, points=None):
    n = len(cells)
    points = np.column_stack([np.arange(n) * 10.0, np.zeros(n)]) if points is None else points
    return assignment_notes("V1", points, building, hamlet, cells, microgrids or ["M1"] * n, CAP)


def test_a_building_over_the_cap_is_noted_while_it_is_whole():
    """25 households at one point: kept whole in one cell, its oversize note; split
    between two cells by hand, a building_split note instead, about the same households."""
    pts = np.zeros((25, 2))
    building = ["B1"] * 25
    whole = _village(["C1"] * 25, building=building, points=pts)
    assert [(d["kind"], d["households"]) for d in whole] == [("oversize_building", list(range(25)))]
    assert whole[0]["message"].startswith("building B1 in village V1 has 25 households, more than 20; it is kept whole")
    split = _village(["C1"] * 20 + ["C2"] * 5, building=building, points=pts)
    assert [(d["kind"], sorted(d["households"])) for d in split] == [("building_split", list(range(25)))]
    assert "they are in 2 cells" in split[0]["message"]


def test_a_small_hamlet_split_is_noted_and_a_big_one_is_not():
    hamlet = ["H1"] * 5 + ["H2"] * 21 + [None] * 4
    # whole: nothing to say
    assert _village(["C1"] * 5 + ["C2"] * 21 + ["C3"] * 4, hamlet=hamlet) == []
    # the small hamlet in two cells of one micro-grid; the big one (over the cap) too
    cells = ["C1"] * 3 + ["C3"] * 2 + ["C2"] * 11 + ["C3"] * 10 + ["C3"] * 4
    (note,) = _village(cells, hamlet=hamlet)
    assert note["kind"] == "hamlet_split" and note["households"] == [0, 1, 2, 3, 4]
    assert note["message"] == ("hamlet H1 in village V1 (5 households) is in 2 cells (3 + 2): the cells around "
                               "it had no room to take it whole. Move the border by hand if it should be one cell.")
    # and in two micro-grids
    (note,) = _village(cells, ["M1"] * 3 + ["M2"] * 27, hamlet=hamlet)
    assert "a micro-grid border runs through it" in note["message"]


def test_a_locked_cell_over_the_cap_is_noted_while_it_is_locked():
    """A locked cell of 22 households: its note, as a re-run words it, while it is
    locked; none once unlocked, or once it holds no more than the cap."""
    cells = ["C1"] * 22 + ["C2"] * 5
    (note,) = [d for d in _village_locked(cells, {"C1"})]
    assert note["kind"] == "locked_cell_full" and note["cells"] == ["C1"]
    assert sorted(note["households"]) == list(range(22))
    assert note["message"] == ("locked cell C1 now holds 22 households, more than 20; unlock it, then move "
                               "households out by hand or re-run its micro-grid")
    assert _village_locked(cells, set()) == []
    assert _village_locked(["C1"] * 20 + ["C2"] * 7, {"C1", "C2"}) == []
    assert _village_locked(cells, {"C9"}) == []  # a lock of another village's cell
    # a building of 25 kept whole as a cell of its own, locked: its oversize note only
    whole = assignment_notes("V1", np.zeros((25, 2)), ["B1"] * 25, None, ["C1"] * 25, ["M1"] * 25, CAP,
                             locked={"C1"})
    assert [d["kind"] for d in whole] == ["oversize_building"]


def _village_locked(cells, locked):
    n = len(cells)
    return assignment_notes("V1", np.column_stack([np.arange(n) * 10.0, np.zeros(n)]), None, None, cells,
                            ["M1"] * n, CAP, locked=locked)


def test_a_locked_cell_note_is_the_repartitions_word_for_word():
    """The note a re-run gives a locked cell it found over the cap is the one the notes
    of a hand edit make from the same assignment (the same words, the same households),
    so that one which still holds keeps its id and acknowledgement."""
    import pandas as pd

    from geogrid.partition import partition, repartition
    from .synthetic import UTM, synthetic_county

    county = synthetic_county(seed=1, n_households=1500, crs=UTM)
    r = partition(county.households, county.villages, max_households=CAP)
    m = r.microgrids["microgrid_id"].iloc[0]
    cells = r.cells[r.cells["microgrid_id"] == m]
    lock = cells.loc[cells["households"].idxmax(), "cell_id"]
    inside = r.cells.set_index("cell_id").geometry[lock].representative_point()
    code = r.microgrids.set_index("microgrid_id").loc[m, "village_code"]
    extra = type(county.households)({"village_code": [code] * 6}, geometry=[inside] * 6,
                                    crs=county.households.crs, index=range(10**6, 10**6 + 6))
    r2 = repartition(r, pd.concat([county.households, extra]), microgrids=[m], locked_cells=[lock])
    want = [d for d in r2.diagnostics if d["kind"] == "locked_cell_full"]
    assert len(want) == 1 and want[0]["village_code"] == code
    hh = r2.households[r2.households["village_code"] == code]
    got = [d for d in assignment_notes(code, np.column_stack([hh.geometry.x, hh.geometry.y]),
                                       hh["building"].tolist() if "building" in hh else None,
                                       hh["hamlet"].tolist() if "hamlet" in hh else None,
                                       hh["cell_id"].tolist(), hh["microgrid_id"].tolist(), CAP, locked={lock})
           if d["kind"] == "locked_cell_full"]
    assert _keys(got, hh.index.to_numpy()) == _keys(want)
    assert got[0]["cells"] == want[0]["cells"] == [lock]


def test_no_households_no_notes():
    assert assignment_notes("V1", np.zeros((0, 2)), [], [], [], [], CAP) == []


def test_it_is_pure():
    """(geogrid.partition does not import it: tests/test_architecture.py does not see it)"""
    from tests.test_architecture import FORBIDDEN

    code = "import sys, geogrid.partition.assignment_notes; print('\\n'.join(sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert sorted(m for m in loaded if m.startswith(FORBIDDEN)) == []


def test_a_locked_building_kept_whole_has_no_locked_cell_note():
    """A building over the cap that the engine kept whole as a cell of its own, locked
    and its micro-grid re-run: its oversize note only, no ``locked_cell_full`` asking
    to empty the cell (before: the note, from the re-run and from the lock)."""
    from geogrid.partition import partition, repartition
    from .synthetic import UTM, synthetic_county

    county = synthetic_county(seed=0, n_households=3000, crs=UTM)
    r = partition(county.households, county.villages, max_households=CAP)
    big = next(d for d in r.diagnostics if d["kind"] == "oversize_building")
    (cell,) = set(r.households.loc[big["households"], "cell_id"])
    m = r.cells.set_index("cell_id").loc[cell, "microgrid_id"]
    r2 = repartition(r, county.households, microgrids=[m], locked_cells=[cell])
    assert [d for d in r2.diagnostics if d["kind"] == "locked_cell_full"] == []
    assert sorted(r2.households.index[r2.households["cell_id"] == cell]) == sorted(big["households"])
    assert any(d["kind"] == "oversize_building" and sorted(d["households"]) == sorted(big["households"])
               for d in r2.diagnostics)
