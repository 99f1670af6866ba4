"""The engine's notes about a plan, as the API gives them (``GET /plans/{id}/notes``).

A note is shown to a caller whose scope covers its village (or one of the villages it
names: an overlap of two villages is about both), or one of the micro-grids, cells or
households it names.  It carries no household id: a count of the households
it names within the caller's scope, and ``objects`` (as the validation's problems do:
``{type, id, key}``) for the micro-grids, cells and households in scope that a map
zooms to (for a note that names households only, such as a building over the cap,
the cells they are in), so that reading a household goes through the scoped, masked and audited
household endpoints.  Its ``microgrids``, ``cells``, ``villages`` and ``params`` are
the engine's, as its message words them (keys and codes of the grid, no personal
data); its ``objects`` are only those in scope.

A household taken out of the register (:mod:`geogrid.db.removals`) is no longer named
by the notes of the current plans (drafts and the published one), which no longer hold
it: a note counts and points at the others it names, its message counts them so, and a
note left naming none (three households of no village, all moved away) is not shown.
The stored note keeps them, so that an undo of the removal brings them back; an
archived plan's notes, like its cells, keep them as they were.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from geogrid.api.scope import Scope
from geogrid.db.models import Assignment, Cell, Household, Microgrid, Plan
from geogrid.db.plannotes import cell_microgrid_key, read_notes
from geogrid.db.removals import CURRENT_PLANS
from geogrid.errors import NotFoundError

__all__ = ["plan_notes", "note_in_scope", "OBJECT_HOUSEHOLDS"]

#: households of one note given as objects to zoom to, at most (a building over the
#: cap names up to a few hundred; its cell and micro-grid locate it as well)
OBJECT_HOUSEHOLDS = 20


def plan_notes(session, plan: Plan, *, scope: Scope, microgrid_id: str | None = None,
               kinds: list[str] | None = None, note_ids: list[str] | None = None,
               household_notes: bool = True) -> dict:
    """The notes of ``plan`` within ``scope``, of micro-grid ``microgrid_id`` (a row id)
    only if given, of ``kinds`` only if given, with ``note_ids`` only if given:
    ``{"notes": [...], "by_kind": {kind: n},
    "open": how many no one has acknowledged, "recorded": whether the plan kept the
    engine's notes at all}`` (a plan saved before they were kept has none to show,
    which does not mean that every rule was met).  Without ``household_notes`` (a caller who
    may not read households: an analyst) the notes that name households (a building over
    the cap, an isolated household) are left out: they are about households."""
    notes = read_notes(session, plan.id)
    if note_ids is not None:
        notes = [n for n in notes if n.id in set(note_ids)]
    if kinds:
        notes = [n for n in notes if n.kind in set(kinds)]
    mgs = {key: (mid, code) for mid, key, code in session.execute(
        select(Microgrid.id, Microgrid.microgrid_key, Microgrid.village_code)
        .where(Microgrid.plan_id == plan.id, scope.microgrids_clause())).all()}
    cells = dict(session.execute(
        select(Cell.cell_key, Cell.id).where(Cell.plan_id == plan.id, scope.cells_clause())).all())
    if not household_notes:
        notes = [n for n in notes if not n.households]
    gone = _removed(session, sorted({h for n in notes for h in n.households or []})) \
        if plan.status in CURRENT_PLANS else set()
    if gone:
        # about households that have all left the register since: nothing left to say
        notes = [n for n in notes if not (n.households and set(n.households) <= gone)]
    named = sorted({h for n in notes for h in n.households or []} - gone)
    households = _in_scope(session, scope, named)
    # household id -> (micro-grid key, cell key), for those in scope (all a note shows)
    where = _assigned(session, plan.id, sorted(households))
    only = only_village = None
    if microgrid_id is not None:
        only = next((k for k, (mid, _) in mgs.items() if mid == microgrid_id), None)
        if only is None:
            return {"notes": [], "by_kind": {}, "open": 0, "recorded": bool(plan.notes_recorded)}
        only_village = mgs[only][1]
    out = []
    for n in notes:
        detail = n.detail or {}
        villages = _villages(n)
        mine_mg = [str(k) for k in detail.get("microgrids") or [] if str(k) in mgs]
        mine_cells = [str(k) for k in detail.get("cells") or [] if str(k) in cells]
        mine_hh = [h for h in n.households or [] if h in households]
        if not (any(scope.covers_village(v) for v in villages) or mine_mg or mine_cells or mine_hh):
            continue
        # a note about one micro-grid: those naming it, its cells or its households,
        # and its village's own notes (naming no micro-grid, cell or household)
        if only is not None and not (
                only in mine_mg or any(cell_microgrid_key(k) == only for k in mine_cells)
                or any(where.get(h, ("",))[0] == only for h in mine_hh)
                or (only_village in villages and not (detail.get("microgrids") or detail.get("cells")
                                                     or n.households))):
            continue
        if not mine_cells:
            # a note that names households only (a building over the cap, an isolated
            # household): the cells they are in, to zoom to
            mine_cells = [k for k in dict.fromkeys(where[h][1] for h in mine_hh if h in where) if k in cells]
        out.append(_note(n, detail, mine_mg, mine_cells, mine_hh, mgs, cells,
                         left=len(set(n.households or []) & gone)))
    by_kind: dict[str, int] = {}
    for n in out:
        by_kind[n["kind"]] = by_kind.get(n["kind"], 0) + 1
    return {"notes": out, "by_kind": dict(sorted(by_kind.items(), key=lambda kv: (-kv[1], kv[0]))),
            "open": sum(n["acknowledged"] is None for n in out), "recorded": bool(plan.notes_recorded)}


def note_in_scope(session, plan: Plan, scope: Scope, note_id: str) -> dict:
    """Note ``note_id`` of ``plan`` as :func:`plan_notes` gives it; NotFoundError where
    the plan has no such note or the caller's scope does not cover it."""
    found = next(iter(plan_notes(session, plan, scope=scope, note_ids=[note_id])["notes"]), None)
    if found is None:
        raise NotFoundError(f"note {note_id} not found in plan {plan.id}",
                            key="plan.note_not_found", params={"note": note_id, "plan": plan.id})
    return found


def _note(n, detail, mine_mg, mine_cells, mine_hh, mgs, cells, left: int = 0) -> dict:
    objects = ([{"type": "microgrid", "id": mgs[k][0], "key": k} for k in mine_mg]
               + [{"type": "cell", "id": cells[k], "key": k} for k in mine_cells]
               + [{"type": "household", "id": h} for h in mine_hh[:OBJECT_HOUSEHOLDS]])
    if not objects:
        objects = [{"type": "village", "code": v} for v in _villages(n)]
    note = {"id": n.id, "kind": n.kind, "message": _recounted(n, left), "village_code": n.village_code,
            "households": len(mine_hh), "objects": objects,
            "acknowledged": None if n.acknowledged_by is None else {
                "by": n.acknowledged_by,
                "at": n.acknowledged_at.isoformat() if n.acknowledged_at else None}}
    for k in ("microgrids", "cells", "villages", "params"):
        if detail.get(k) is not None:
            note[k] = detail[k]
    return note


def _recounted(note, left: int) -> str:
    """The note's message, its count of households less the ``left`` of them that have
    left the register ("3 household(s) have no village code" of which one moved away:
    "2 household(s) ...").  The engine's messages about households begin with their
    count; another is as it is."""
    if not left:
        return note.message
    total = len(set(note.households or []))
    return re.sub(rf"^{total}(?= household)", str(total - left), note.message, count=1)


def _removed(session, ids: list[str]) -> set[str]:
    """Which of the households ``ids`` are out of the register, in batches of primary keys."""
    out: set[str] = set()
    for i in range(0, len(ids), 500):
        out |= set(session.execute(select(Household.id).where(
            Household.id.in_(ids[i:i + 500]), Household.removed_at.is_not(None))).scalars())
    return out


def _villages(note) -> list[str]:
    """The villages a note is about: its own, and those it names (an overlap is about
    both villages, whose planners both see it)."""
    out = [] if note.village_code is None else [str(note.village_code)]
    return list(dict.fromkeys(out + [str(v) for v in (note.detail or {}).get("villages") or []]))


def _in_scope(session, scope: Scope, ids: list[str]) -> set[str]:
    """Which of the households ``ids`` the scope covers: by their village, in batches of
    primary keys; by micro-grid or cell (the published plan's), among the scope's own."""
    if not ids:
        return set()
    if scope.everything:
        return set(ids)
    found: set[str] = set()
    if scope.unrestricted:  # a county's: all but the other counties' villages
        for i in range(0, len(ids), 500):
            found |= set(session.execute(select(Household.id).where(
                Household.id.in_(ids[i:i + 500]),
                scope.village_clause(Household.village_code, scope.in_counties(Household.geom)))).scalars())
    elif scope.village_codes:
        codes = sorted(scope.village_codes)
        for i in range(0, len(ids), 500):
            found |= set(session.execute(select(Household.id).where(
                Household.id.in_(ids[i:i + 500]), Household.village_code.in_(codes))).scalars())
    if (scope.microgrid_keys or scope.cell_keys) and scope.published_plan_id:
        # read once (a cell's leader has some twenty households; asking for each batch
        # of a county's notes whether it is among them took seconds)
        found |= set(ids) & set(session.execute(scope.assigned_households()).scalars())
    return found


def _assigned(session, plan_id: str, ids: list[str]) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for i in range(0, len(ids), 500):
        out.update((h, (m, c)) for h, m, c in session.execute(
            select(Assignment.household_id, Microgrid.microgrid_key, Cell.cell_key)
            .join(Cell, Cell.id == Assignment.cell_id).join(Microgrid, Microgrid.id == Cell.microgrid_id)
            .where(Assignment.plan_id == plan_id, Assignment.household_id.in_(ids[i:i + 500]))).all())
    return out
