"""The engine's notes brought up to date by a hand edit.

Households moved between cells, a cell split or two merged can make a note about a
building or a hamlet true or false: half of a building over the cap moved out of its
cell is no longer "kept whole as a cell of its own" but split, a small hamlet moved
together is no longer split, and a move can split one.  A locked cell over the cap, or
with no household (``locked_cell_empty``), is a note while it is locked: unlocking it
ends it (households cannot be moved in or out of a locked cell).  A cell a re-run left
over the cap (``kept_cell_full``: households
joined it at the address of one of its own) keeps its note while it is over the cap:
households moved out by hand end it.  Before such an edit commits,
in its transaction, the notes of those kinds
(:data:`~geogrid.partition.assignment_notes.FOLLOW_ASSIGNMENTS`) about each village
whose households it moved are made afresh by the engine's own rules
(:func:`~geogrid.partition.assignment_notes.assignment_notes`) from the plan's
assignments and the households' points, buildings and hamlets, and folded into the
stored ones (:func:`geogrid.db.plannotes.refresh_notes`: one that still holds keeps its
id and its acknowledgement).  A re-run does the same for the villages it touched
(:func:`follow_assignments`), once its own notes are stored.  The engine is imported
lazily, as for a re-run.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
from sqlalchemy import func, select

from geogrid.db.models import Assignment, Cell, Household, Microgrid, Plan, PlanNote
from geogrid.db.plannotes import refresh_notes

__all__ = ["follow_hand_edit", "follow_plans", "follow_assignments", "BY_HAND"]

#: kinds whose new notes after a hand edit are marked ``params.by_hand``
BY_HAND = ("building_split",)


def follow_hand_edit(session, plan: Plan, cell_ids: Iterable[str]) -> dict:
    """The notes of ``plan`` that depend on which cell each household is in (and on
    which cells are locked), made afresh for the villages of ``cell_ids`` (the cells
    whose households or lock an edit changed): ``{"villages": [codes], "removed": n, "added": n}``.  A plan that kept no
    notes (saved before they were kept) gets none: it would show some of a village's
    notes as if they were all."""
    return follow_assignments(session, plan, cell_ids=cell_ids, by_hand=True)


def follow_plans(session, cells: dict) -> dict:
    """:func:`follow_hand_edit` for each plan of ``cells`` (``{plan id: cell ids}``: the
    cells a household left or came back to, a removal's or its undo's):
    ``{plan id: villages}``."""
    out = {}
    for plan_id, cell_ids in sorted(cells.items()):
        out[plan_id] = follow_hand_edit(session, session.get(Plan, plan_id), cell_ids)["villages"]
    return out


def follow_assignments(session, plan: Plan, *, villages: Iterable[str] = (), cell_ids: Iterable[str] = (),
                       by_hand: bool = False) -> dict:
    """The :data:`~geogrid.partition.assignment_notes.FOLLOW_ASSIGNMENTS` notes of
    ``plan`` made afresh for ``villages`` and the villages of ``cell_ids``, as
    :func:`follow_hand_edit` does after a hand edit (``by_hand``: the new
    :data:`BY_HAND` notes are marked so) and a re-run does for the villages it touched
    (:func:`geogrid.api.planrerun.rerun`), after its own notes are stored: the engine
    re-solves only the named micro-grids, and a building of a micro-grid it kept that
    a household moved out of, or joined, has its note given again here."""
    cell_ids = sorted(set(cell_ids))
    villages = {str(v) for v in villages}
    if not (cell_ids or villages) or not plan.notes_recorded:
        return {"villages": [], "removed": 0, "added": 0}
    from geogrid.crs import local_metric_crs, transformer
    from geogrid.partition.assignment_notes import FOLLOW_ASSIGNMENTS, assignment_notes

    if cell_ids:
        villages |= set(session.execute(
            select(Microgrid.village_code).join(Cell, Cell.microgrid_id == Microgrid.id)
            .where(Cell.id.in_(cell_ids), Microgrid.village_code.is_not(None)).distinct()).scalars())
    villages = sorted(villages)
    if not villages:
        return {"villages": [], "removed": 0, "added": 0}
    cap = int((plan.params or {}).get("max_households", 20))
    # the villages' households in their cells (in any order: the engine's rules take
    # them in an order of their own), cells and micro-grids by key, as the engine names
    # them in a note (a locked cell's); Core rows, a column each
    rows = session.connection().execute(
        select(Microgrid.village_code, Assignment.household_id, Cell.cell_key, Microgrid.microgrid_key,
               Household.building, Household.hamlet, func.ST_X(Household.geom), func.ST_Y(Household.geom),
               Cell.locked)
        .select_from(Microgrid).join(Cell, Cell.microgrid_id == Microgrid.id)
        .join(Assignment, Assignment.cell_id == Cell.id).join(Household, Household.id == Assignment.household_id)
        .where(Microgrid.plan_id == plan.id, Microgrid.village_code.in_(villages))).all()
    # the cells a re-run left over the cap: their note holds while they are
    kept_full = {str(c) for d in session.execute(
        select(PlanNote.detail).where(PlanNote.plan_id == plan.id, PlanNote.kind == "kept_cell_full",
                                      PlanNote.village_code.in_(villages))).scalars()
                 for c in (d or {}).get("cells") or []}
    # the villages' locked cells by key, with their micro-grids: one that holds no
    # household has its note (locked_cell_empty) while it is locked
    locked_cells: dict = {}
    for c, m, v in session.execute(
            select(Cell.cell_key, Microgrid.microgrid_key, Microgrid.village_code)
            .join(Microgrid, Microgrid.id == Cell.microgrid_id)
            .where(Cell.plan_id == plan.id, Cell.locked.is_(True), Microgrid.village_code.in_(villages))).all():
        locked_cells.setdefault(str(v), {})[c] = m
    notes = []
    if rows or locked_cells:
        code_of, hid, cell, mg, building, hamlet, lon, lat, locked = (
            (np.asarray(c, dtype=object) for c in zip(*rows)) if rows else (np.zeros(0, dtype=object),) * 9)
        lon, lat = lon.astype(float), lat.astype(float)
        for code in villages:
            mine = np.flatnonzero(code_of == code) if len(villages) > 1 else np.arange(len(rows))
            if not len(mine) and code not in locked_cells:
                continue
            xy = np.zeros((0, 2))
            if len(mine):
                x, y = lon[mine], lat[mine]
                # in the village's UTM zone, as partition() and a re-run measure
                metric = local_metric_crs((x.min() + x.max()) / 2, (y.min() + y.max()) / 2)
                xy = np.column_stack(transformer("EPSG:4326", metric).transform(x, y))
            for d in assignment_notes(code, xy, building[mine], hamlet[mine],
                                      cell[mine], mg[mine], cap,
                                      locked=locked_cells.get(code, {}),
                                      kept_full=kept_full):
                d["households"] = hid[mine[d["households"]]].tolist()
                if by_hand and d["kind"] in BY_HAND:
                    # the engine's words give its own reasons (a micro-grid border, no
                    # straight cut); a note this edit brings in is about a split made by
                    # hand, which the map words so (one still as stored keeps its words)
                    d["params"] = {**(d.get("params") or {}), "by_hand": True}
                notes.append(d)
    removed, added = refresh_notes(session, plan.id, villages, FOLLOW_ASSIGNMENTS, notes,
                                   {h: h for d in notes for h in d["households"]})
    return {"villages": villages, "removed": removed, "added": added}
