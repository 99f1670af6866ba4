"""``geogrid households``: a household leaving the register and coming back.

    geogrid households remove HOUSEHOLD --reason moved_out --date 2026-11-30 [--note TEXT] [--merged-into HOUSEHOLD]
    geogrid households restore HOUSEHOLD
    geogrid households removal HOUSEHOLD      # why and when it left, while it is out

HOUSEHOLD is the household's 户编号 (``household_no``, as in the register's files) or its
id (as the API and the map give it).  The rules are the API's (``POST`` / ``DELETE
/households/{id}/removal``, :mod:`geogrid.db.removals`): a reason of ``moved_out`` (迁出),
``dissolved`` (注销), ``merged`` (with ``--merged-into``, the household it joined) or
``duplicate`` (``--merged-into`` optional: the one it duplicates); the household leaves
the cells of the current plans, whose notes are brought up to date, and the undo puts it
back where its cell still exists and has room.  Each is one transaction with its audit
row (``remove`` / ``restore``, object ``household``, actor ``cli:<login name>``): all or
nothing.  Exit codes: 7 no such household, 8 already out of the register (remove) or in
it (restore), 2 a bad reason, date or ``--merged-into``.
"""

from __future__ import annotations

import datetime as dt
from typing import Optional

import typer

from geogrid.cli import app
from geogrid.cli.database import actor, open_engine

households_app = typer.Typer(name="households",
                             help="Take a household out of the register (迁出, 注销, merged, duplicate) or undo it.",
                             no_args_is_help=True)
app.add_typer(households_app, name="households")

REASONS = "moved_out (迁出), dissolved (注销), merged (into --merged-into), duplicate"


def _household(session, ref: str):
    """The household of id or 户编号 ``ref``; NotFoundError (exit 7) naming both."""
    from sqlalchemy import or_, select

    from geogrid.db.models import Household
    from geogrid.errors import NotFoundError

    found = session.execute(select(Household).where(
        or_(Household.id == ref, Household.household_no == ref)).order_by(Household.id)).scalars().all()
    # an id is never another household's number in practice; if it were, the id wins
    exact = [h for h in found if h.id == ref] or found
    if not exact:
        raise NotFoundError(f"household {ref} not found: give its 户编号 (household_no) or its id "
                            "(`geogrid export households` lists both)",
                            key="household.not_found", params={"household": ref})
    return exact[0]


def _name(household) -> str:
    return f"{household.household_no} (id {household.id})"


def _day(value: str) -> dt.date:
    from geogrid.errors import InputError

    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise InputError(f"--date must be a day as YYYY-MM-DD (2026-11-30), not {value!r}",
                         key="household.removal_date", params={"date": value}) from None


@households_app.command("remove")
def remove(
    household: str = typer.Argument(..., help="The household's 户编号 or id."),
    reason: str = typer.Option(..., "--reason", help=REASONS + "."),
    date: str = typer.Option(..., "--date", help="The day it left, YYYY-MM-DD (not the day it is recorded)."),
    note: Optional[str] = typer.Option(None, "--note", help="A note kept with the removal (迁往长沙)."),
    merged_into: Optional[str] = typer.Option(
        None, "--merged-into", help="merged: the household it joined; duplicate: the one it duplicates (户编号 or id)."),
) -> None:
    """Take a household out of the register: it leaves the map, reads, counts, exports,
    partitions and the cells of the current plans; its residents, issues and archived
    plans keep it.  `geogrid households restore` undoes it."""
    from geogrid.api.editnotes import follow_plans
    from geogrid.db import audit, removals
    from geogrid.db.engine import session_scope
    from geogrid.errors import InputError, NotFoundError

    left_on = _day(date)
    if note is not None and len(note) > 500:
        raise InputError("--note is 500 characters at most; shorten it", key="household.removal_note")
    _settings, engine = open_engine()
    try:
        with session_scope(engine, write=True) as session:
            row = _household(session, household)
            into = None
            if merged_into:
                try:
                    into = _household(session, merged_into).id
                except NotFoundError:  # refused below as the API refuses it: not in the register
                    into = merged_into
            removal, cells = removals.remove_household(
                session, row.id, reason=reason, left_on=left_on, note=note, merged_into=into,
                removed_by=actor())
            villages = follow_plans(session, cells)
            audit.append(session, actor(), "remove", "household", row.id, detail={
                "reason": reason, "date": left_on.isoformat(), "note": note, "merged_into": into,
                "village_code": row.village_code, "cell_key": removal.cell_key,
                "plans": {p: len(c) for p, c in cells.items()}})
            name = _name(row)
    finally:
        engine.dispose()
    typer.echo(f"removed household {name}: {reason} on {left_on.isoformat()}"
               + (f", from cell {removal.cell_key} of the published plan" if removal.cell_key else ""))
    if cells:
        typer.echo(f"taken out of {len(cells)} current plan(s): {', '.join(sorted(cells))}; their notes are "
                   f"brought up to date" + (f" for village(s) {', '.join(sorted({v for vs in villages.values() for v in vs}))}"
                                             if any(villages.values()) else ""))


@households_app.command("restore")
def restore(household: str = typer.Argument(..., help="The household's 户编号 or id.")) -> None:
    """Undo a household's removal: back in the register, and in the cells of the current
    plans it was taken out of where they still exist and have room."""
    from geogrid.api.editnotes import follow_plans
    from geogrid.db import audit, removals
    from geogrid.db.engine import session_scope

    _settings, engine = open_engine()
    try:
        with session_scope(engine, write=True) as session:
            row = _household(session, household)
            removal = removals.get_removal(session, row.id)
            was = None if removal is None else {
                "household_id": removal.household_id, "reason": removal.reason,
                "date": removal.left_on.isoformat(), "note": removal.note, "merged_into": removal.merged_into,
                "removed_by": removal.removed_by, "removed_at": removal.removed_at.isoformat(),
                "cell_key": removal.cell_key}
            restored = removals.restore_household(session, row.id)
            follow_plans(session, {p: [c] for p, c in restored.items()})
            audit.append(session, actor(), "restore", "household", row.id, detail={
                "removal": was, "plans": sorted(restored), "unplaced": restored.unplaced})
            name = _name(row)
    finally:
        engine.dispose()
    typer.echo(f"restored household {name} to the register"
               + (f"; back in its cell in {len(restored)} plan(s): {', '.join(sorted(restored))}" if restored else ""))
    if restored.unplaced:
        typer.echo(f"note: its cell is gone or full in plan(s) {', '.join(restored.unplaced)}: it is in no cell "
                   "there; place it by hand on the planner's map (the plan's validation lists it)")


@households_app.command("removal")
def show(household: str = typer.Argument(..., help="The household's 户编号 or id.")) -> None:
    """Why and when a household left the register (exit 7 while it is in it)."""
    from geogrid.db import removals
    from geogrid.db.engine import session_scope
    from geogrid.errors import NotFoundError

    _settings, engine = open_engine()
    try:
        with session_scope(engine) as session:
            row = _household(session, household)
            removal = removals.get_removal(session, row.id)
            if removal is None:
                raise NotFoundError(f"household {_name(row)} is in the register: it has no removal",
                                    key="household.not_removed", params={"household": row.id})
            lines = [f"household\t{_name(row)}", f"reason\t{removal.reason}", f"date\t{removal.left_on.isoformat()}",
                     f"note\t{removal.note or '-'}", f"merged_into\t{removal.merged_into or '-'}",
                     f"removed_by\t{removal.removed_by}", f"removed_at\t{removal.removed_at.isoformat()}",
                     f"cell_key\t{removal.cell_key or '-'}"]
    finally:
        engine.dispose()
    for line in lines:
        typer.echo(line)
