"""Households leaving the register and coming back: a soft removal with a reason.

A household that moved away (迁出), was dissolved (注销), merged into another or was a
duplicate entry is *removed*: ``households.removed_at`` is set and a
:class:`~geogrid.db.models.HouseholdRemoval` says why, when and by whom.  Its row, its
residents and the issues that name it stay; every read of the register
(:meth:`geogrid.api.scope.Scope.households_clause`,
:func:`geogrid.db.households.households_frame`, :func:`geogrid.db.persons.persons_frame`)
leaves it out.

The current plans (drafts and the published one) hold it no more: its assignments are
taken out of them, kept in the removal, and the households counts of its cells and
their micro-grids are counted again from the assignments, so that stored counts,
validation and re-runs see it gone; each such plan's version (its ETag) goes up, as for
any edit of its contents.  Archived plans keep it: they are history.  An undo
(:func:`restore_household`) puts it back in the cells it was taken out of, in the plans
of those still current whose cell still exists and has room; elsewhere it comes back
unassigned, as a newly imported household would (a draft's validation then lists it).

Like every repository, nothing here commits: the route owns the transaction.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from geogrid.db.engine import flush
from geogrid.db.plans import recount
from geogrid.db.models import (REMOVAL_REASONS, Assignment, Cell, Household, HouseholdRemoval, Microgrid,
                               Plan, utcnow)
from geogrid.errors import ConflictError, InputError, NotFoundError
from geogrid.personalnumbers import find_numbers

__all__ = ["REMOVAL_REASONS", "CURRENT_PLANS", "remove_household", "restore_household", "get_removal",
           "Restored"]

#: the plans a removal takes a household out of (archived plans keep it)
CURRENT_PLANS = ("draft", "published")
#: reasons that name the household this one went into or duplicates
_INTO = ("merged", "duplicate")


def get_removal(session: Session, household_id: str) -> HouseholdRemoval | None:
    """The household's removal while it is out of the register, else None."""
    return session.get(HouseholdRemoval, household_id)


def _household(session: Session, household_id: str, expected_version: int | None) -> Household:
    household = session.get(Household, household_id)
    if household is None:
        raise NotFoundError(f"household {household_id} not found",
                            key="household.not_found", params={"household": household_id})
    if expected_version is not None and household.version != expected_version:
        raise stale(household_id)
    return household


def stale(household_id: str) -> ConflictError:
    """The refusal of an edit of a household someone else changed first."""
    return ConflictError(
        f"household {household_id} was changed by someone else since you read it; reload it "
        "and try again", key="household.stale", params={"household": household_id})


def _flush(session: Session, household_id: str) -> None:
    try:
        flush(session)
    except ConflictError as exc:  # the row's version moved under the UPDATE
        raise stale(household_id) from exc


def _bump_plans(session: Session, plan_ids) -> None:
    plan_ids = sorted(set(plan_ids))
    if plan_ids:
        table = Plan.__table__
        session.execute(update(table).where(table.c.id.in_(plan_ids))
                        .values(version=table.c.version + 1, updated_at=utcnow()))


def remove_household(session: Session, household_id: str, *, reason: str, left_on: dt.date,
                     removed_by: str, note: str | None = None, merged_into: str | None = None,
                     expected_version: int | None = None) -> tuple[HouseholdRemoval, dict]:
    """Take household ``household_id`` out of the register.

    Returns the removal and ``{plan id: [cell ids]}``, the cells of the current plans
    it was taken out of (their counts are already right; the caller brings what else
    depends on them up to date, the plans' notes).

    Raises NotFoundError (no such household), ConflictError
    (``household.already_removed``; ``household.stale`` when its version is not
    ``expected_version``) and InputError (an unknown reason, a ``merged_into`` the reason
    does not take, lacks or is not in the register, a day in the future, a note holding a
    resident's ID number or phone number: ``household.removal_note_number``).

    A note is refused, not masked, when it holds such a number: the one who writes it is
    there to take it out (the persons register keeps a resident's numbers, masked), a
    masked number helps no reader of the note, and the note would be stored, answered and
    audited otherwise than written under their name.  (An import, a whole county's rows
    at once, masks them instead, and reports each.)
    """
    if reason not in REMOVAL_REASONS:
        raise InputError(f"reason must be one of {', '.join(REMOVAL_REASONS)}, not {reason!r}",
                         key="household.removal_reason", params={"reason": reason})
    if left_on > dt.date.today() + dt.timedelta(days=1):  # a day of slack for time zones
        raise InputError(f"the household cannot have left on {left_on.isoformat()}, a day still to come; "
                         "give the day it left", key="household.removal_future", params={"date": left_on.isoformat()})
    if note and find_numbers(note):
        raise InputError("the note holds a resident's ID number or phone number, which geogrid keeps only in "
                         "the persons register (身份证号, 联系电话), masked: take it out of the note and try again",
                         key="household.removal_note_number")
    if reason == "merged" and not merged_into:
        raise InputError("a household merged into another needs merged_into: the id of that household",
                         key="household.merged_into_missing")
    if merged_into and reason not in _INTO:
        raise InputError(f"merged_into is for a household merged into another or a duplicate of one, "
                         f"not one {reason}; leave it out", key="household.merged_into_unexpected",
                         params={"reason": reason})
    household = _household(session, household_id, expected_version)
    if household.removed_at is not None:
        raise ConflictError(f"household {household_id} is out of the register already; undo that "
                            "removal first to record another", key="household.already_removed",
                            params={"household": household_id})
    if merged_into:
        if merged_into == household_id:
            raise InputError("a household cannot be merged into itself", key="household.merged_into_self")
        other = session.get(Household, merged_into)
        if other is None or other.removed_at is not None:
            raise InputError(f"household {merged_into} (merged_into) is not in the register; give the "
                             "id of the household it joined", key="household.merged_into_not_found",
                             params={"household": merged_into})
    rows = session.execute(
        select(Assignment.plan_id, Assignment.cell_id, Assignment.lon, Assignment.lat, Plan.status,
               Cell.cell_key, Microgrid.microgrid_key)
        .join(Plan, Plan.id == Assignment.plan_id).join(Cell, Cell.id == Assignment.cell_id)
        .join(Microgrid, Microgrid.id == Cell.microgrid_id)
        .where(Assignment.household_id == household_id, Plan.status.in_(CURRENT_PLANS))
        .order_by(Assignment.plan_id)).all()
    published = next((r for r in rows if r.status == "published"), None)
    removal = HouseholdRemoval(
        household_id=household_id, reason=reason, left_on=left_on, note=note or None,
        merged_into=merged_into or None, removed_by=removed_by, removed_at=utcnow(),
        cell_key=published.cell_key if published else None,
        microgrid_key=published.microgrid_key if published else None,
        assignments=[{"plan_id": r.plan_id, "cell_id": r.cell_id, "lon": r.lon, "lat": r.lat} for r in rows])
    session.add(removal)
    household.removed_at = removal.removed_at
    _flush(session, household_id)
    cells: dict[str, list[str]] = {}
    for r in rows:
        cells.setdefault(r.plan_id, []).append(r.cell_id)
    if rows:
        session.execute(delete(Assignment).where(Assignment.household_id == household_id,
                                                 Assignment.plan_id.in_(sorted(cells))),
                        execution_options={"synchronize_session": False})
        recount(session, [r.cell_id for r in rows])
        _bump_plans(session, cells)
    return removal, cells


class Restored(dict):
    """What an undo did: ``{plan id: cell id}`` of the plans it was put back in, and
    ``unplaced``, the plans still current it was taken out of that could not take it
    back: its cell is gone (split, merged or re-run since), or holds the plan's
    ``max_households`` already (households moved in by hand since), and an undo never
    takes a cell over the cap."""

    unplaced: list[str]


def restore_household(session: Session, household_id: str, *,
                      expected_version: int | None = None) -> Restored:
    """Undo the household's removal: back in the register, and in the cells it was taken
    out of where its plan is still current and the cell still exists.

    Raises NotFoundError (no such household), ConflictError (``household.not_removed``;
    ``household.stale`` when its version is not ``expected_version``).
    """
    household = _household(session, household_id, expected_version)
    removal = session.get(HouseholdRemoval, household_id)
    if household.removed_at is None or removal is None:
        raise ConflictError(f"household {household_id} is in the register; there is no removal to undo",
                            key="household.not_removed", params={"household": household_id})
    taken = {a["plan_id"]: a for a in removal.assignments or []}
    restored, unplaced = Restored(), []
    if taken:
        live = dict(session.execute(
            select(Cell.id, Cell.plan_id).join(Plan, Plan.id == Cell.plan_id)
            .where(Cell.id.in_(sorted(a["cell_id"] for a in taken.values())),
                   Plan.status.in_(CURRENT_PLANS))).all())
        caps = {pid: int((params or {}).get("max_households", 20)) for pid, params in session.execute(
            select(Plan.id, Plan.params).where(Plan.id.in_(sorted(taken)), Plan.status.in_(CURRENT_PLANS)))}
        placed = set(session.execute(select(Assignment.plan_id).where(
            Assignment.household_id == household_id, Assignment.plan_id.in_(sorted(taken)))).scalars())
        held = dict(session.execute(
            select(Assignment.cell_id, func.count()).where(Assignment.cell_id.in_(sorted(live)))
            .group_by(Assignment.cell_id)).all())
        for plan_id, a in sorted(taken.items()):
            if plan_id not in caps or plan_id in placed:
                continue  # archived since (history), or placed there again by hand
            if live.get(a["cell_id"]) != plan_id or held.get(a["cell_id"], 0) >= caps[plan_id]:
                # its cell is gone, or full since (households moved in by hand): back
                # in the register but in no cell of that plan, for the planner to place
                unplaced.append(plan_id)
                continue
            session.execute(insert(Assignment).values(plan_id=plan_id, household_id=household_id,
                                                      cell_id=a["cell_id"], lon=a.get("lon"), lat=a.get("lat")))
            restored[plan_id] = a["cell_id"]
    restored.unplaced = unplaced
    session.delete(removal)
    household.removed_at = None
    _flush(session, household_id)
    recount(session, restored.values())
    _bump_plans(session, restored)
    return restored
