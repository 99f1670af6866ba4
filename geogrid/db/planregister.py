"""When a plan last read the register, by village, and what changed in it since.

A plan's cells and the engine's notes are of the register as the plan read it: when it
was drawn from the register (:func:`geogrid.db.registerpartition.partition_register`),
or when a re-run of micro-grids of a village read that village's households again
(:func:`geogrid.api.planrerun.rerun`).  ``plans.register_read_at`` keeps that time by
village (``{village code: UTC ISO time}``); a draft takes its plan's
(:func:`geogrid.db.plans.copy_plan`).  A plan that does not know (saved before
migration 0008, or from files) keeps NULL and says nothing.

What of the register a plan depends on is its households' points, villages, buildings
and hamlets, which are in it, and its villages' outlines: ``households.placed_at``
(indexed) is when the first of these last changed for a household (added by an import,
an edit of one of them, a removal or its undo: migration 0009), ``areas.outline_at``
when a village's outline last changed (re-imported with another outline).  An edit of
a household's head, address or care level, or of its residents, changes no cell and is
not reported.  A changed household counts for the village it is of now and for the
village the plan has it in a cell of (one that moved house to another village changed
both).  Hand edits of the plan read no register and change none of this.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from geogrid.db.models import Area, Assignment, Cell, Household, Microgrid, Plan, utcnow

__all__ = ["read_now", "mark_read", "register_changes", "change_message"]


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
    after the plan last read it, in what a plan depends on: ``[{"village_code",
    "households": how many were added, moved or removed since, "added", "removed",
    "moved" (of those: new; out of the register; a new point, village, building or
    hamlet, or back in the register), "outline": whether its outline was redrawn,
    "read_at": when the plan read it, "changed_at": the last change, "message": the
    same in words}]`` by village code, empty where nothing changed; None where the plan
    does not know when it read the register.

    One query over the households changed since the earliest of the plan's times (an
    index range), grouped by village and times: an import stamps its rows with one time."""
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
        select(now_in, plan_in, Household.placed_at, Household.created_at, Household.removed_at, func.count())
        .select_from(Household)
        .outerjoin(Assignment, and_(Assignment.household_id == Household.id, Assignment.plan_id == plan.id))
        .outerjoin(Cell, Cell.id == Assignment.cell_id).outerjoin(Microgrid, Microgrid.id == Cell.microgrid_id)
        .where(Household.placed_at > min(read.values()), or_(now_in.in_(codes), plan_in.in_(codes)))
        .group_by(now_in, plan_in, Household.placed_at, Household.created_at, Household.removed_at)).all()
    changed: dict[str, dict] = {}

    def of(v):
        return changed.setdefault(v, {"added": 0, "removed": 0, "moved": 0, "outline": False, "at": None})

    for of_now, of_plan, at, created, removed, n in rows:
        for v in {of_now, of_plan} & read.keys():
            if at > read[v]:
                c = of(v)
                how = ("removed" if removed is not None and removed > read[v]
                       else "added" if created > read[v] else "moved")
                c[how] += n
                c["at"] = max(c["at"] or at, at)
    for code, at in session.execute(select(Area.code, Area.outline_at).where(
            Area.level == "village", Area.code.in_(codes), Area.outline_at > min(read.values()))).all():
        if at > read[code]:
            c = of(code)
            c["outline"] = True
            c["at"] = max(c["at"] or at, at)
    out = []
    for v, c in sorted(changed.items()):
        item = {"village_code": v, "households": c["added"] + c["removed"] + c["moved"],
                "added": c["added"], "removed": c["removed"], "moved": c["moved"], "outline": c["outline"],
                "read_at": read[v].isoformat(), "changed_at": c["at"].isoformat()}
        out.append({**item, "message": change_message(item)})
    return out


def change_message(change: dict, *, counts: bool = True) -> str:
    """A village's ``register_changes`` entry in words: what changed since the plan read
    it and what to do; without ``counts`` (an analyst's) what changed without how many."""
    parts = ["its outline was redrawn"] if change["outline"] else []
    if change["households"] and not counts:
        parts.append("households were added, moved or taken out of the register")
    elif change["households"]:
        words = {"added": "added", "moved": "moved (point, village, building or hamlet)",
                 "removed": "taken out of the register"}
        parts += [f"{change[k]} household(s) {w}" for k, w in words.items() if change[k]]
    return (f"village {change['village_code']}: {' and '.join(parts)} since the plan read it; its notes and "
            "validation may be out of date until its micro-grids are re-run")
