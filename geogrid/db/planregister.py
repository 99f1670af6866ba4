"""When a plan last read the register, by village, and what changed in it since.

A plan's cells and the engine's notes are of the register as the plan read it: when it
was drawn from the register (:func:`geogrid.db.registerpartition.partition_register`),
or when a re-run of micro-grids of a village read that village's households again
(:func:`geogrid.api.planrerun.rerun`).  ``plans.register_read_at`` keeps that time by
village (``{village code: UTC ISO time}``); a draft takes its plan's
(:func:`geogrid.db.plans.copy_plan`).  A plan that does not know (saved before
migration 0008, or from files) keeps NULL and says nothing.

The register records its changes in ``households.updated_at`` (indexed): an import sets
it on the rows it adds or changes (:func:`geogrid.db.households.upsert_households`), an
edit on the row it changes (:func:`geogrid.db.households.update_household`), a removal
or its undo on the household (:mod:`geogrid.db.removals`).  A changed household counts
for the village it is of now and for the village the plan has it in a cell of (one that
moved house to another village changed both).  Hand edits of the plan read no register
and change none of this.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from geogrid.db.models import Assignment, Cell, Household, Microgrid, Plan, utcnow

__all__ = ["read_now", "mark_read", "register_changes"]


def read_now() -> str:
    """The time to keep for a read of the register that starts now (taken before the
    read: a change made while it reads is reported, never missed)."""
    return utcnow().isoformat()


def mark_read(session: Session, plan: Plan, villages: Iterable[str], at: str) -> None:
    """Plan ``plan`` read the register of ``villages`` at ``at`` (:func:`read_now`): a
    re-run.  Nothing where the plan does not know when it read the others (NULL): it
    would say of some villages that nothing changed, and nothing of the rest.  A Core
    UPDATE, which leaves the plan's version (its ETag) to the edit."""
    villages = sorted({str(v) for v in villages if v is not None})
    if not villages:
        return
    table = Plan.__table__
    known = session.execute(select(table.c.register_read_at).where(table.c.id == plan.id)).scalar_one_or_none()
    if known is None:
        return
    new = {**known, **{v: at for v in villages}}
    session.execute(update(table).where(table.c.id == plan.id).values(register_read_at=new))
    set_committed_value(plan, "register_read_at", new)


def _time(iso: str) -> dt.datetime:
    t = dt.datetime.fromisoformat(iso)
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def register_changes(session: Session, plan: Plan, villages: Iterable[str] | None = None) -> list[dict] | None:
    """The villages of ``plan`` (of ``villages`` only, if given) whose register changed
    after the plan last read it: ``[{"village_code", "households": how many were added,
    changed or removed since, "read_at": when the plan read it, "changed_at": the last
    change}]`` by village code, empty where nothing changed; None where the plan does
    not know when it read the register.

    One query over the households changed since the earliest of the plan's times (an
    index range), grouped by village and time: an import stamps its rows with one time."""
    read = plan.register_read_at
    if read is None:
        return None
    read = {str(v): _time(t) for v, t in read.items()}
    if villages is not None:
        read = {v: t for v, t in read.items() if v in {str(c) for c in villages}}
    if not read:
        return []
    codes = sorted(read)
    now_in, plan_in = Household.village_code, Microgrid.village_code
    rows = session.execute(
        select(now_in, plan_in, Household.updated_at, func.count())
        .select_from(Household)
        .outerjoin(Assignment, and_(Assignment.household_id == Household.id, Assignment.plan_id == plan.id))
        .outerjoin(Cell, Cell.id == Assignment.cell_id).outerjoin(Microgrid, Microgrid.id == Cell.microgrid_id)
        .where(Household.updated_at > min(read.values()), or_(now_in.in_(codes), plan_in.in_(codes)))
        .group_by(now_in, plan_in, Household.updated_at)).all()
    changed: dict[str, list] = {}
    for of_now, of_plan, at, n in rows:
        for v in {of_now, of_plan} & read.keys():
            if at > read[v]:
                c = changed.setdefault(v, [0, at])
                c[0] += n
                c[1] = max(c[1], at)
    return [{"village_code": v, "households": n, "read_at": read[v].isoformat(), "changed_at": at.isoformat()}
            for v, (n, at) in sorted(changed.items())]
