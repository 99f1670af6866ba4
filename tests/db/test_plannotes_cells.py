"""Which micro-grid a note's cell is of (geogrid/db/plannotes.py, cell_microgrid_key).

A note names cells by key.  The engine names a cell after its micro-grid
(``…-M01-C03``); a planner's split names the new cell after the cell split
(``…-M01-C03-s1``).  The micro-grid was read as the key less its last part, which for a
split cell is the cell split, not its micro-grid: a re-run of that micro-grid kept a
note about the split cell as if it were about another one, and the notes of one
micro-grid (GET /plans/{id}/notes?microgrid=) left it out."""

from __future__ import annotations

import pytest

from geogrid.db.models import PlanNote
from geogrid.db.plannotes import _names, cell_microgrid_key

MG = "431227103202-M01"


@pytest.mark.parametrize("cell, microgrid", [
    (f"{MG}-C03", MG), (f"{MG}-C03-s1", MG), (f"{MG}-C03-s1-s2", MG), (f"{MG}-C12-s10", MG),
    ("431227103202-M02-C01", "431227103202-M02")])
def test_a_cells_microgrid_is_its_key_less_the_cell_and_any_split(cell, microgrid):
    assert cell_microgrid_key(cell) == microgrid


def test_a_note_about_a_split_cell_is_about_its_microgrid():
    note = PlanNote(kind="locked_cell_full", village_code="431227103202", message="…", households=[],
                    detail={"cells": [f"{MG}-C03-s1"]})
    assert _names(note, {MG}, set())
    assert not _names(note, {"431227103202-M02"}, set())
