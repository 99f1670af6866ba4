"""The partition engine's notes about a plan, kept with it (table ``plan_notes``).

``partition`` explains in its diagnostics every place where a rule could not be met:
a building over the cap, an isolated household, a small hamlet split, a village with
too few households for its micro-grids, households outside every village...  They are
what a planner must read before publishing, so they are stored with the plan that
``geogrid partition`` saves (:func:`save_notes`), copied with it into a new draft
(:func:`copy_notes`, with who acknowledged them), and brought up to date by a re-run
of micro-grids (:func:`replace_notes`): the notes about what the re-run re-solved give
way to the re-run's own (open, but for those it gives again word for word).  A hand
edit brings the notes that depend on which cell each household is in up to date for
the villages it touched (:func:`refresh_notes`).  A planner marks a note as dealt with or accepted
(:func:`acknowledge`), so that the list shows what is left to do.

A note names households by their ids (the engine names them by its frame's index
labels; ``household_id`` maps those), and keeps the engine's structured fields in
``detail``: the ``microgrids`` and ``cells`` it names (partition keys), ``villages``
and ``params`` (the numbers of its message), so a client can word it in its user's
language.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from geogrid.db import bulk
from geogrid.db.models import PlanNote, new_ids, utcnow

__all__ = ["NOTE_DETAIL", "cell_microgrid_key", "save_notes", "copy_notes", "replace_notes", "refresh_notes", "read_notes", "note_rows",
           "acknowledge", "as_diagnostics"]

#: the structured fields of an engine diagnostic kept in a note's ``detail``
NOTE_DETAIL = ("microgrids", "cells", "villages", "params")


def note_rows(plan_id: str, diagnostics: Iterable[dict], household_id: Mapping) -> list[dict]:
    """Rows of ``plan_notes`` for the engine's ``diagnostics``; ``household_id`` maps the
    labels a diagnostic names to household ids (a label it does not know is dropped:
    a household the plan does not hold cannot be shown)."""
    diagnostics = list(diagnostics)
    now = utcnow()
    rows = []
    for note_id, d in zip(new_ids(len(diagnostics)), diagnostics):
        households = [str(household_id[h]) for h in (d.get("households") or []) if h in household_id]
        code = d.get("village_code")
        rows.append({
            "id": note_id, "plan_id": plan_id, "kind": str(d["kind"]),
            "village_code": None if code is None else str(code),
            "message": str(d.get("message") or ""),
            "households": list(dict.fromkeys(households)),
            "detail": bulk.json_safe({k: d[k] for k in NOTE_DETAIL if d.get(k) is not None}),
            "created_at": now,
        })
    return rows


def save_notes(session: Session, plan_id: str, diagnostics: Iterable[dict], household_id: Mapping) -> int:
    """Store the engine's ``diagnostics`` as notes of plan ``plan_id``; how many."""
    rows = note_rows(plan_id, diagnostics, household_id)
    if rows:
        session.execute(insert(PlanNote), rows)
    return len(rows)


def read_notes(session: Session, plan_id: str) -> list[PlanNote]:
    """A plan's notes, by village, kind and message."""
    return session.execute(
        select(PlanNote).where(PlanNote.plan_id == plan_id)
        .order_by(PlanNote.village_code, PlanNote.kind, PlanNote.message, PlanNote.id)).scalars().all()


def copy_notes(session: Session, from_plan: str, to_plan: str) -> int:
    """The notes of ``from_plan`` copied to ``to_plan`` (a draft made from it)."""
    old = read_notes(session, from_plan)
    if not old:
        return 0
    now = utcnow()
    session.execute(insert(PlanNote), [
        {"id": i, "plan_id": to_plan, "kind": n.kind, "village_code": n.village_code,
         "message": n.message, "households": list(n.households or []), "detail": dict(n.detail or {}),
         "created_at": now, "acknowledged_by": n.acknowledged_by, "acknowledged_at": n.acknowledged_at}
        for i, n in zip(new_ids(len(old)), old)])
    return len(old)


def cell_microgrid_key(cell_key) -> str:
    """The key of the micro-grid of the cell of ``cell_key``: the engine names a cell
    after its micro-grid (``M01-C03``), and a split names its new cell after the cell
    split (``M01-C03-s1``, then ``M01-C03-s1-s1``).

    >>> cell_microgrid_key("431227103202-M01-C03"), cell_microgrid_key("431227103202-M01-C03-s1-s2")
    ('431227103202-M01', '431227103202-M01')
    """
    return re.sub(r"(-s\d+)+$", "", str(cell_key)).rsplit("-", 1)[0]


def _names(note: PlanNote, microgrids: set[str], households: set[str]) -> bool:
    """Whether ``note`` is about one of ``microgrids`` (by key, or a cell of one) or one
    of ``households`` (ids)."""
    detail = note.detail or {}
    if set(map(str, detail.get("microgrids") or [])) & microgrids:
        return True
    if any(cell_microgrid_key(c) in microgrids for c in detail.get("cells") or []):
        return True
    return bool(set(map(str, note.households or [])) & households)


def _identity(kind, village, message, households) -> tuple:
    """What makes two notes the same note: their words, and the households they name
    (two isolated households of one village at the same distance read alike)."""
    return kind, village, message, tuple(sorted(map(str, households or [])))


def as_diagnostics(notes: Iterable[PlanNote]) -> list[dict]:
    """Stored notes as the engine's diagnostics (households by id), for a re-run's
    ``previous`` plan: the engine carries those that still hold
    (:func:`geogrid.partition.edit_report.carried`)."""
    return [{"kind": n.kind, "village_code": n.village_code, "message": n.message,
             "households": list(n.households or []), **(n.detail or {})} for n in notes]


def _fold(session: Session, plan_id: str, candidates: list[PlanNote], others: Iterable[PlanNote],
          diagnostics: Iterable[dict], household_id: Mapping, accept=None, renew: bool = False) -> tuple[int, int]:
    """``candidates`` (stored notes a run or an edit may have made untrue) give way to
    ``diagnostics`` (those ``accept`` takes): a candidate given again (the same words
    about the same households, :func:`_identity`) keeps who acknowledged it (an
    acknowledged one first where two are alike), as it is, or with ``renew`` as a new
    row (a re-run's notes are new notes); the others go; a new note comes in open,
    once, and not where one of ``others`` (the notes left alone) says it already.
    ``(notes removed, notes added)``."""
    stored: dict[tuple, PlanNote] = {}
    for n in sorted(candidates, key=lambda n: n.acknowledged_by is None):
        stored.setdefault(_identity(n.kind, n.village_code, n.message, n.households), n)
    seen = {_identity(n.kind, n.village_code, n.message, n.households) for n in others}
    kept: set[str] = set()
    rows = []
    for r in note_rows(plan_id, diagnostics, household_id):
        if accept is not None and not accept(r):
            continue
        key = _identity(r["kind"], r["village_code"], r["message"], r["households"])
        if key in stored and not renew:
            kept.add(stored[key].id)
        elif key not in seen:
            seen.add(key)
            if key in stored:
                r["acknowledged_by"], r["acknowledged_at"] = stored[key].acknowledged_by, stored[key].acknowledged_at
            rows.append(r)
    gone = [n.id for n in candidates if n.id not in kept]
    if gone:
        session.execute(delete(PlanNote).where(PlanNote.id.in_(gone)),
                        execution_options={"synchronize_session": False})
    if rows:
        session.execute(insert(PlanNote), rows)
    return len(gone), len(rows)


def replace_notes(session: Session, plan_id: str, microgrids: Iterable[str], households: Iterable,
                  diagnostics: Iterable[dict], household_id: Mapping) -> tuple[int, int]:
    """After a re-run of ``microgrids`` (keys) that re-solved ``households`` (ids: those
    in them before and after): the plan's notes about them give way to the re-run's
    ``diagnostics``; one the re-run gives again (the same words about the same
    households: a building over the cap kept whole again, an isolated household still
    isolated) comes again, a new row that keeps who acknowledged it.  A note the re-run
    gives again that was
    not about what it re-solved (a village's note) is kept once.  ``(notes removed,
    notes added)``."""
    mg = {str(k) for k in microgrids}
    hh = {str(h) for h in households}
    old = read_notes(session, plan_id)
    about = [n for n in old if _names(n, mg, hh)]
    return _fold(session, plan_id, about, [n for n in old if n not in about], diagnostics, household_id,
                 renew=True)


def refresh_notes(session: Session, plan_id: str, villages: Iterable[str], kinds: Iterable[str],
                  diagnostics: Iterable[dict], household_id: Mapping) -> tuple[int, int]:
    """After a hand edit: the plan's notes of ``kinds`` about ``villages`` become
    ``diagnostics``, those kinds made afresh for those villages as the plan now stands
    (:func:`_fold`: one given again stays as it is).  Notes of other kinds or of other
    villages are untouched.  ``(notes removed, notes added)``."""
    villages, kinds = sorted({str(v) for v in villages}), sorted(set(kinds))
    if not villages or not kinds:
        return 0, 0
    old = session.execute(select(PlanNote).where(
        PlanNote.plan_id == plan_id, PlanNote.village_code.in_(villages), PlanNote.kind.in_(kinds))
        .order_by(PlanNote.created_at, PlanNote.id)).scalars().all()
    return _fold(session, plan_id, old, [], diagnostics, household_id,
                 accept=lambda r: r["kind"] in kinds and r["village_code"] in villages)


def acknowledge(session: Session, plan_id: str, note_id: str, by: str | None) -> PlanNote | None:
    """Mark note ``note_id`` of plan ``plan_id`` acknowledged by ``by`` (now), or open
    again with ``by=None``; the note, or None when the plan has no such note."""
    note = session.execute(select(PlanNote).where(PlanNote.id == note_id, PlanNote.plan_id == plan_id)
                           ).scalar_one_or_none()
    if note is None:
        return None
    note.acknowledged_by = by
    note.acknowledged_at = utcnow() if by is not None else None
    session.flush()
    return note
