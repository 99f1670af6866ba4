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

from collections.abc import Iterable, Mapping

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from geogrid.db import bulk
from geogrid.db.models import PlanNote, new_ids, utcnow

__all__ = ["NOTE_DETAIL", "save_notes", "copy_notes", "replace_notes", "refresh_notes", "read_notes", "note_rows",
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


def _names(note: PlanNote, microgrids: set[str], households: set[str]) -> bool:
    """Whether ``note`` is about one of ``microgrids`` (by key, or a cell of one) or one
    of ``households`` (ids)."""
    detail = note.detail or {}
    if set(map(str, detail.get("microgrids") or [])) & microgrids:
        return True
    if any(str(c).rsplit("-", 1)[0] in microgrids for c in detail.get("cells") or []):
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


def replace_notes(session: Session, plan_id: str, microgrids: Iterable[str], households: Iterable,
                  diagnostics: Iterable[dict], household_id: Mapping) -> tuple[int, int]:
    """After a re-run of ``microgrids`` (keys) that re-solved ``households`` (ids: those
    in them before and after): the plan's notes about them go, and the re-run's
    ``diagnostics`` come in their place, open, but for one the re-run gives again (the
    same words about the same households: a building over the cap kept whole again, an
    isolated household still isolated), which keeps who acknowledged it.  A note the
    re-run gives again that was not about what it re-solved (a village's note) is kept
    once.  ``(notes removed, notes added)``."""
    mg = {str(k) for k in microgrids}
    hh = {str(h) for h in households}
    old = read_notes(session, plan_id)
    gone = [n for n in old if _names(n, mg, hh)]
    kept = {_identity(n.kind, n.village_code, n.message, n.households) for n in old if n not in gone}
    rows = []
    for r in note_rows(plan_id, diagnostics, household_id):
        key = _identity(r["kind"], r["village_code"], r["message"], r["households"])
        if key not in kept:
            kept.add(key)  # (and once among the re-run's own)
            rows.append(r)
    # a note the re-run gives again (the same words about the same households) keeps
    # its acknowledgement
    acked = {_identity(n.kind, n.village_code, n.message, n.households): (n.acknowledged_by, n.acknowledged_at)
             for n in gone if n.acknowledged_by is not None}
    for r in rows:
        r["acknowledged_by"], r["acknowledged_at"] = acked.get(
            _identity(r["kind"], r["village_code"], r["message"], r["households"]), (None, None))
    if gone:
        session.execute(delete(PlanNote).where(PlanNote.id.in_([n.id for n in gone])),
                        execution_options={"synchronize_session": False})
    if rows:
        session.execute(insert(PlanNote), rows)
    return len(gone), len(rows)


def refresh_notes(session: Session, plan_id: str, villages: Iterable[str], kinds: Iterable[str],
                  diagnostics: Iterable[dict], household_id: Mapping) -> tuple[int, int]:
    """After a hand edit: the plan's notes of ``kinds`` about ``villages`` become
    ``diagnostics``, those kinds made afresh for those villages as the plan now stands.
    A note given again (the same words about the same households, as
    :func:`replace_notes` tells) stays as it is, with its id and who acknowledged it;
    one no longer given goes; a new one comes in open.  Notes of other kinds or of
    other villages are untouched.  ``(notes removed, notes added)``."""
    villages, kinds = sorted({str(v) for v in villages}), sorted(set(kinds))
    if not villages or not kinds:
        return 0, 0
    old = session.execute(select(PlanNote).where(
        PlanNote.plan_id == plan_id, PlanNote.village_code.in_(villages), PlanNote.kind.in_(kinds))
        .order_by(PlanNote.acknowledged_by.is_(None), PlanNote.created_at, PlanNote.id)).scalars().all()
    # (one stored twice is kept once: an acknowledged one first)
    stored: dict[tuple, PlanNote] = {}
    for n in old:
        stored.setdefault(_identity(n.kind, n.village_code, n.message, n.households), n)
    kept: set[str] = set()
    rows, new = [], set()
    for r in note_rows(plan_id, diagnostics, household_id):
        if r["kind"] not in kinds or r["village_code"] not in villages:
            continue  # not the caller's to refresh
        key = _identity(r["kind"], r["village_code"], r["message"], r["households"])
        if key in stored:
            kept.add(stored[key].id)
        elif key not in new:  # (once among the new ones too)
            new.add(key)
            rows.append(r)
    gone = [n.id for n in old if n.id not in kept]
    if gone:
        session.execute(delete(PlanNote).where(PlanNote.id.in_(gone)),
                        execution_options={"synchronize_session": False})
    if rows:
        session.execute(insert(PlanNote), rows)
    return len(gone), len(rows)


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
