"""The notes of a village that depend on which cell each household is in, as its cells
stand now: what a hand edit (households moved between cells, a cell split or two
merged) can make true or false.

Of the kinds :func:`~geogrid.partition.partition` and
:func:`~geogrid.partition.repartition` give, six depend on the assignment of
households to cells (:data:`FOLLOW_ASSIGNMENTS`):

- ``oversize_building``: a building (or one address) of more households than the
  cap, which the engine keeps whole as a cell of its own; the note holds while its
  households are all in one cell (split by hand, its ``building_split`` note says so);
- ``building_split``: a building (or one address) whose households are in more than
  one cell;
- ``hamlet_split``: a hamlet of at most the cap in more than one cell;
- ``locked_cell_full``: a locked cell that holds more households than the cap (a
  re-run keeps a locked cell as it is, with its households, and those added inside it
  join it: :mod:`~geogrid.partition.locked_cells`); the note holds
  while the cell is locked and over the cap, unless it is one building (whose
  ``oversize_building`` note speaks for it);
- ``locked_cell_empty``: a locked cell that holds no household (all taken out of
  the register, or moved away): a re-run keeps it as it is, empty; the note holds while
  the cell is locked and empty, and tells the planner to unlock it and re-run its
  micro-grid, which then draws its cells without it;
- ``kept_cell_full``: a cell of a micro-grid a re-run did not re-solve that households
  joined over the cap, at the address of one of its households (one address is never
  split); the note holds while the cell is over the cap.  Only a re-run makes one: a
  hand edit can end it, or change its count, but a cell put over the cap by hand is
  validation's ``over_capacity``, not this.

The others do not: ``spread_building``, ``isolated`` and the input's notes
(``no_point``, ``outside_village``...) are about points; ``few_households``,
``empty_village``, ``villages_overlap`` and ``uninhabited_land`` about villages and
their land; a re-run's notes about outlines and micro-grids about their geometry.

The rules are the engine's own (:func:`~geogrid.partition.notes.report_units`,
:func:`~geogrid.partition.notes.split_buildings`,
:func:`~geogrid.partition.notes.split_hamlets`), over the village's households in
the order :func:`~geogrid.partition.partition` takes them
(:func:`~geogrid.partition.units.canonical_order`), so that a note that still holds
is given again word for word.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geogrid.partition.inputs import _codes
from geogrid.partition.units import canonical_order, make_units
from geogrid.partition.notes import report_units, split_buildings, split_hamlets

__all__ = ["FOLLOW_ASSIGNMENTS", "assignment_notes", "locked_cell_full", "locked_cell_empty", "kept_cell_full"]

#: the kinds of note that depend on which cell each household is in
FOLLOW_ASSIGNMENTS = frozenset({"oversize_building", "building_split", "hamlet_split", "locked_cell_full",
                                "locked_cell_empty", "kept_cell_full"})


def locked_cell_full(code, cell, households, cap: int, *, one_building: bool = False) -> dict | None:
    """The note on locked cell ``cell`` of village ``code`` holding ``households``: a
    re-run leaves a locked cell as it is, so only the planner can empty it.  None where
    it holds no more than ``cap``, or where its households are ``one_building`` (one
    unit): the engine keeps a bigger building whole as a cell of its own, and its
    ``oversize_building`` note already says so."""
    households = list(households)
    if len(households) <= cap or one_building:
        return None
    return {"kind": "locked_cell_full", "village_code": code, "households": households, "cells": [cell],
            "message": f"locked cell {cell} now holds {len(households)} households, more than {cap}; "
                       "unlock it, then move households out by hand or re-run its micro-grid"}


def locked_cell_empty(code, cell, microgrid) -> dict:
    """The note on locked cell ``cell`` (of micro-grid ``microgrid``, village ``code``)
    holding no household: a re-run leaves a locked cell as it is, so it stays empty
    until the planner unlocks it; a re-run of its micro-grid then draws the cells
    without it (:func:`~geogrid.partition.recut.keep_previous` keeps no empty cell)."""
    return {"kind": "locked_cell_empty", "village_code": code, "households": [], "cells": [cell],
            "microgrids": [microgrid],
            "message": f"locked cell {cell} holds no households now (taken out of the register or moved "
                       "away); a re-run keeps a locked cell as it is, so it stays empty: unlock it and "
                       f"re-run micro-grid {microgrid}, which then draws its cells without it"}


def kept_cell_full(code, cell, microgrid, households, cap: int) -> dict | None:
    """The note on cell ``cell`` of micro-grid ``microgrid`` (of village ``code``), which
    a re-run did not re-solve, holding ``households``: households added or moved to the
    address of one of its households joined it.  None where it holds no more than
    ``cap``."""
    households = list(households)
    if len(households) <= cap:
        return None
    return {"kind": "kept_cell_full", "village_code": code, "households": households, "cells": [cell],
            "microgrids": [microgrid],
            "message": f"cell {cell} now holds {len(households)} households, more than {cap}: households added at "
                       "the address of one of its households joined it, as one address is never split "
                       f"between cells, and its micro-grid was not re-run; re-run micro-grid {microgrid}, or "
                       "move households out by hand"}


def assignment_notes(code, points: np.ndarray, building, hamlet, cell, microgrid, cap: int,
                     locked=(), kept_full=()) -> list[dict]:
    """The :data:`FOLLOW_ASSIGNMENTS` notes of village ``code`` for its households as
    they are assigned now.

    Parameters
    ----------
    code
        The village's code.
    points : ndarray (n, 2)
        The village's households (every household in one of its cells), in metres.
    building, hamlet
        Their building and hamlet keys (None where missing), as the register holds them.
    cell, microgrid
        The cell and the micro-grid each household is in (any hashable ids).
    cap : int
        The plan's ``max_households``.
    locked
        The ids of the village's locked cells; a mapping of them to their
        micro-grids also notes those that hold no household (``locked_cell_empty``).
    kept_full
        The ids of the village's cells that have a ``kept_cell_full`` note now: the
        note is given again where the cell is still over ``cap``.

    Returns
    -------
    list of dict
        The engine's diagnostics (:func:`~geogrid.partition.result.diagnostic`),
        ``households`` as positions in ``points``.

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.array([[0.0, 0.0], [0.0, 0.0], [50.0, 0.0]])
    >>> notes = assignment_notes("V1", pts, ["B1", "B1", None], [None] * 3,
    ...                          ["C1", "C2", "C2"], ["M1", "M1", "M1"], cap=20)
    >>> [(d["kind"], d["households"]) for d in notes]
    [('building_split', [0, 1])]
    """
    points = np.asarray(points, dtype=float).reshape(-1, 2)
    n = len(points)
    if n == 0:
        return [locked_cell_empty(code, c, locked[c]) for c in sorted(locked, key=str)] \
            if hasattr(locked, "items") else []
    building, hamlet = (np.full(n, None, dtype=object) if c is None else _codes(pd.Series(c, dtype=object))
                        for c in (building, hamlet))
    order = canonical_order(points, building, hamlet)
    pts, building, hamlet = points[order], building[order], hamlet[order]
    hh_cell, cells = pd.factorize(pd.Series(np.asarray(cell, dtype=object)[order], dtype=object))
    mg_of_cell = pd.Series(np.asarray(microgrid, dtype=object)[order], dtype=object).groupby(hh_cell).first()
    cell_mg = pd.factorize(mg_of_cell.reindex(range(len(cells))))[0]
    units = make_units(pts, building, hamlet)
    out = [d for d in report_units(code, pts, building, units, cap)
           if d["kind"] == "oversize_building" and len(np.unique(hh_cell[d["households"]])) == 1]
    out += split_buildings(code, units, hh_cell, pts, building)
    out += split_hamlets(code, hh_cell, cell_mg, pts, hamlet, cap)
    for c in sorted(set(locked) & set(cells), key=str):
        members = np.flatnonzero(hh_cell == cells.get_loc(c))
        note = locked_cell_full(code, c, members, cap, one_building=len(np.unique(units.of[members])) == 1)
        if note is not None:
            out.append(note)
    if hasattr(locked, "items"):
        for c in sorted(set(locked) - set(cells), key=str):
            out.append(locked_cell_empty(code, c, locked[c]))
    for c in sorted(set(kept_full) & set(cells), key=str):
        at = hh_cell == cells.get_loc(c)
        note = kept_cell_full(code, c, mg_of_cell.loc[cells.get_loc(c)], np.flatnonzero(at), cap)
        if note is not None:
            out.append(note)
    for d in out:
        d["households"] = [int(h) for h in order[d["households"]]]
    return out
