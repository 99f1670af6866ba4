"""Micro-grids a re-run (:func:`~geogrid.partition.repartition`) leaves with no
households (every one of them taken out of the register, or moved away), and what
becomes of their land.  Pure, like the rest of the engine.

A micro-grid with no households is one empty cell that no grid worker serves, and an
error in the plan's validation.  Its land cannot simply go: micro-grids tile their
village, and a micro-grid the re-run does not name keeps its id and its polygon.  So:

- **handed over**: a named micro-grid with no households, no locked cell, that
  borders a named micro-grid of its village that has households, gives its land to
  the one it borders longest (in turn: one that took such land may take its empty
  neighbour's), and is dropped with its cells (``microgrid_dropped`` names both).
  The one that takes it keeps its cells, redrawn over its new land
  (:func:`~geogrid.partition.recut.repair`), so its households keep their cells;
- **merged**: named micro-grids with no households of one village that border only
  each other (and micro-grids not named) become one, under the first id, as
  partition() makes a village with no households one micro-grid with one empty cell;
- **kept**: any other stays, with an empty cell, and an ``empty_microgrid`` note names
  the micro-grids of its village next to it (those it borders, else the nearest) to
  re-run it with, so that it is handed over; or the locked cells that keep it (unlock
  them first); or says that it is its village's only one.
"""

from __future__ import annotations

import numpy as np
import shapely

from geogrid.columns import MICROGRID_ID, VILLAGE_CODE
from geogrid.partition.outline_edit import _to_metric
from geogrid.partition.pieces import GRID_M, clean
from geogrid.partition.result import area_text

__all__ = ["BORDER_M", "hand_over", "empty_notes"]

#: two micro-grids whose borders run together for at least this (m) border each other
#: (a corner in common is no border: their union would be two pieces at a point)
BORDER_M = 1.0


def border(a, b) -> float:
    """How far (m) the outlines of ``a`` and ``b`` (metres) run together."""
    if a is None or b is None or a.is_empty or b.is_empty:
        return 0.0
    with np.errstate(invalid="ignore"):  # (GEOS can raise the FPU's flag on valid input)
        return float(shapely.length(shapely.intersection(shapely.boundary(a), shapely.buffer(b, 0.05))))


def hand_over(new_mg: dict, held: dict, mg_village: dict, has_locked: set) -> tuple[dict, dict]:
    """The land of the named micro-grids with no households, handed over or merged (see
    the module): ``new_mg`` (named micro-grid -> its land now, metres; changed in place),
    ``held`` (named micro-grid -> households placed in it), ``has_locked`` (those with a
    locked cell: never dropped).  Returns ``(dropped, area)``: each micro-grid dropped ->
    the one that took its land, and its land's area (m²)."""
    empty = [m for m in new_mg if not held.get(m) and m not in has_locked]
    dropped: dict = {}
    area: dict = {}
    if not empty:
        return dropped, area

    def take(m, r):
        area[m] = new_mg[m].area
        new_mg[r] = clean(shapely.union(new_mg[r], new_mg[m], grid_size=GRID_M))
        del new_mg[m]
        dropped[m] = r

    def best(m, among):
        lengths = [(border(new_mg[m], new_mg[r]), r) for r in among
                   if r != m and mg_village[r] == mg_village[m]]
        lengths = [(b, r) for b, r in lengths if b >= BORDER_M]
        # the longest border; ties: the first id
        return min(lengths, key=lambda br: (-br[0], str(br[1])))[1] if lengths else None

    pending = sorted(empty, key=str)
    moved = True
    while moved:  # a micro-grid that took land may now border another empty one
        moved = False
        for m in list(pending):
            r = best(m, [x for x in new_mg if held.get(x)])
            if r is not None:
                take(m, r)
                pending.remove(m)
                moved = True
    for m in list(pending):  # empty ones bordering only each other: one, the first id
        if m not in new_mg:
            continue
        grew = True
        while grew:
            grew = False
            for o in [x for x in pending if x != m and x in new_mg]:
                if mg_village[o] == mg_village[m] and border(new_mg[o], new_mg[m]) >= BORDER_M:
                    take(o, m)
                    grew = True
    return dropped, area


def empty_notes(new_mg: dict, held: dict, mg_village: dict, locked_of: dict, pm, metric, dropped: dict,
                area: dict, previous_notes=()) -> list[dict]:
    """The notes of the named micro-grids with no households: ``microgrid_dropped`` for
    each one handed over (``dropped``, ``area``: :func:`hand_over`'s), and
    ``empty_microgrid`` for each kept so (in ``new_mg``, with ``held`` households;
    ``locked_of``: micro-grid -> its locked cells).  ``pm`` is the previous plan's
    micro-grids, for the neighbours of a kept one (in ``metric``, its land now for
    those named).  A village that ``previous_notes`` already call empty
    (``empty_village``) gets no note for its only micro-grid."""
    notes = []
    for m, r in sorted(dropped.items(), key=lambda mr: str(mr[0])):
        code = mg_village[m]
        notes.append({
            "kind": "microgrid_dropped", "village_code": code, "households": [], "microgrids": [m, r],
            "message": f"micro-grid {m} of village {code} had no households left (taken out of the "
            f"register or moved away): its land ({area_text(area[m])}) went to micro-grid {r} next to it, "
            f"re-run with it, and {m} and its cells are no more",
            "params": {"area_m2": round(float(area[m]), 1)}})
    empty = [m for m in new_mg if not held.get(m)]
    if not empty:
        return notes
    told_empty = {d.get("village_code") for d in previous_notes if d.get("kind") == "empty_village"}
    for m in sorted(empty, key=str):
        code = mg_village[m]
        lk = sorted(locked_of.get(m, ()), key=str)
        near = _neighbours(m, new_mg, pm[pm[VILLAGE_CODE] == code], metric, set(dropped))
        if not near and not lk and code in told_empty:
            continue
        if lk:
            advice = (f"; its locked cell(s) {', '.join(lk)} keep it as it is: unlock them, then re-run it "
                      "together with a micro-grid next to it" + (f" ({', '.join(near)})" if near else "")
                      + ", which takes its land")
        elif near:
            advice = (". To give its land to its neighbours, re-run it together with a micro-grid of its "
                      f"village next to it ({', '.join(near)}): a re-run hands the land of a micro-grid "
                      "with no households to a neighbour re-run with it, and drops it")
        else:
            advice = (f"; it is the only micro-grid of village {code}, which has no households now: check "
                      "that the village's households were imported with this village code")
        notes.append({
            "kind": "empty_microgrid", "village_code": code, "households": [], "microgrids": [m, *near],
            **({"cells": lk} if lk else {}),
            "message": f"micro-grid {m} of village {code} has no households left (taken out of the register "
            f"or moved away) and is kept with an empty cell{advice}"})
    return notes


def _neighbours(m, new_mg: dict, village_mgs, metric, gone: set) -> list:
    """The micro-grids of ``m``'s village (``village_mgs``, the previous plan's, but
    those ``gone``; the named ones as in ``new_mg``) that border it, else the nearest
    one (an island's), by id."""
    ids = [x for x in village_mgs[MICROGRID_ID].tolist() if x != m and x not in gone]
    if not ids:
        return []
    geoms = dict(zip(village_mgs[MICROGRID_ID].tolist(), _to_metric(village_mgs.geometry, metric)))
    land = {x: new_mg.get(x, geoms[x]) for x in ids}
    me = new_mg[m]
    touching = sorted((x for x in ids if border(me, land[x]) >= BORDER_M), key=str)
    if touching:
        return touching
    dist = [float(shapely.distance(me, land[x])) for x in ids]
    return [ids[int(np.argmin(dist))]]
