"""A household leaving the register and coming back: ``POST`` and ``DELETE
/households/{id}/removal`` (and ``GET`` of it while it is out).

A removal (迁出 moved away, 注销 dissolved, merged into another household, a duplicate)
is soft (:mod:`geogrid.db.removals`): the household disappears from the map, the house
reads, searches, counts and exports, and from the cells of the current plans (their
counts and ETags change, their notes are brought up to date), while its history stays
(the issues that name it, the audit log, archived plans).  ``DELETE`` undoes it.

Who: admins, planners and cadres (``remove_households``), each within their scope; a
household outside it answers 404, as for a read.  A cell's or micro-grid's cadre may
undo a removal made in their cell (the published plan no longer holds the household, so
the removal keeps that cell's key).  Both need the household's ETag in ``If-Match``
(``GET /households/{id}`` gives it): none is 428, a stale one 412.  Both are audited
(``remove`` / ``restore``, object ``household``) in the edit's transaction.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from geogrid.api.deps import AuditDep, PrincipalDep, ScopeDep, SessionDep, begin_write
from geogrid.api.editnotes import follow_plans
from geogrid.api.errors import PreconditionRequiredError, StateError
from geogrid.api.etag import make_etag, parse_if_match
from geogrid.api.rootpath import prefixed
from geogrid.api.scope import Scope, require
from geogrid.db import removals
from geogrid.db.models import Household, HouseholdRemoval
from geogrid.errors import ConflictError, InputError, NotFoundError

router = APIRouter(tags=["households"])

IfMatch = Annotated[str | None, Header(alias="If-Match", description="the household's ETag")]


class RemovalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Literal["moved_out", "dissolved", "merged", "duplicate"] = Field(
        ..., description="moved_out 迁出, dissolved 注销, merged into another household, duplicate entry")
    date: dt.date = Field(..., description="the day the household left (ISO date)")
    note: str | None = Field(None, max_length=500)
    merged_into: str | None = Field(None, min_length=1, max_length=64,
                                    description="merged: the household it joined; duplicate: the one it duplicates")


def _expected_version(household_id: str, if_match: str | None) -> int:
    tags = parse_if_match(if_match)
    if not tags or tags == ["*"]:
        raise PreconditionRequiredError(
            "removing a household or undoing it needs an If-Match header with the household's ETag; "
            "GET the household, then send its ETag header back as If-Match",
            key="household.if_match_missing", params={"household": household_id})
    for t in tags:
        oid, _, version = t.strip('"').rpartition("-")
        if oid == household_id and version.isdigit():
            return int(version)
    raise removals.stale(household_id)


def _not_found(household_id: str) -> NotFoundError:
    return NotFoundError(f"household {household_id} not found", key="household.not_found",
                         params={"household": household_id})


def _in_scope(session, scope: Scope, household_id: str) -> Household:
    """The household if the caller's scope holds it, in the register or out of it (a
    removed one by its village, or by the cell or micro-grid it was removed from)."""
    row = session.execute(select(Household).where(
        Household.id == household_id, scope.households_clause(removed=True))).scalar_one_or_none()
    if row is not None:
        return row
    if scope.cell_keys or scope.microgrid_keys:
        removal = session.get(HouseholdRemoval, household_id)
        if removal is not None and (removal.cell_key in scope.cell_keys
                                    or removal.microgrid_key in scope.microgrid_keys):
            return session.get(Household, household_id)
    raise _not_found(household_id)


def _removal_json(removal: HouseholdRemoval) -> dict:
    return {"household_id": removal.household_id, "reason": removal.reason,
            "date": removal.left_on.isoformat(), "note": removal.note, "merged_into": removal.merged_into,
            "removed_by": removal.removed_by, "removed_at": removal.removed_at.isoformat(),
            "cell_key": removal.cell_key}


def _as_state(exc: ConflictError):
    """An edit the household's state does not allow is 409 (ConflictError is 412: stale)."""
    if exc.key in ("household.already_removed", "household.not_removed"):
        return StateError(str(exc), key=exc.key, params=exc.params)
    return exc


@router.get("/households/{household_id}/removal", summary="Why and when a household left the register")
def get_removal(household_id: str, session: SessionDep, principal: PrincipalDep, scope: ScopeDep) -> dict:
    require(principal, "read_households")
    _in_scope(session, scope, household_id)
    removal = removals.get_removal(session, household_id)
    if removal is None:
        raise NotFoundError(f"household {household_id} is in the register: it has no removal",
                            key="household.not_removed", params={"household": household_id})
    return _removal_json(removal)


@router.post("/households/{household_id}/removal", status_code=201,
             summary="Take a household out of the register (moved away, dissolved, merged, duplicate)")
def remove(household_id: str, body: RemovalRequest, request: Request, response: Response,
           session: SessionDep, principal: PrincipalDep, scope: ScopeDep, audit: AuditDep,
           if_match: IfMatch = None) -> dict:
    require(principal, "remove_households")
    begin_write(session)
    household = _in_scope(session, scope, household_id)
    expected = _expected_version(household_id, if_match)
    if body.merged_into:
        # another household of the caller's scope: one outside it is not named to them
        other = session.execute(select(Household.id).where(
            Household.id == body.merged_into, scope.households_clause())).scalar_one_or_none()
        if other is None:
            raise InputError(f"household {body.merged_into} (merged_into) is not in the register; give the "
                             "id of the household it joined", key="household.merged_into_not_found",
                             params={"household": body.merged_into})
    try:
        removal, cells = removals.remove_household(
            session, household_id, reason=body.reason, left_on=body.date, note=body.note,
            merged_into=body.merged_into, removed_by=principal.username, expected_version=expected)
    except ConflictError as exc:
        raise _as_state(exc) from exc
    notes = follow_plans(session, cells)
    version = household.version  # the flush's: the commit expires it
    audit.add(session, "remove", "household", household_id, detail={
        "reason": body.reason, "date": body.date.isoformat(), "note": body.note,
        "merged_into": body.merged_into, "village_code": household.village_code,
        "cell_key": removal.cell_key, "plans": {p: len(c) for p, c in cells.items()}})
    session.commit()
    response.headers["ETag"] = make_etag(household_id, version)
    response.headers["Location"] = prefixed(request, f"/api/v1/households/{household_id}/removal")
    return {**_removal_json(removal), "plans": sorted(cells), "notes": notes}


@router.delete("/households/{household_id}/removal",
               summary="Undo a household's removal: back in the register and in its cells")
def undo_removal(household_id: str, response: Response, session: SessionDep, principal: PrincipalDep,
                 scope: ScopeDep, audit: AuditDep, if_match: IfMatch = None) -> dict:
    require(principal, "remove_households")
    begin_write(session)
    household = _in_scope(session, scope, household_id)
    expected = _expected_version(household_id, if_match)
    removal = removals.get_removal(session, household_id)
    was = _removal_json(removal) if removal is not None else None
    try:
        restored = removals.restore_household(session, household_id, expected_version=expected)
    except ConflictError as exc:
        raise _as_state(exc) from exc
    notes = follow_plans(session, {p: [c] for p, c in restored.items()})
    version = household.version  # the flush's: the commit expires it
    audit.add(session, "restore", "household", household_id, detail={
        "removal": was, "plans": sorted(restored), "unplaced": restored.unplaced})
    session.commit()
    response.headers["ETag"] = make_etag(household_id, version)
    return {"household_id": household_id, "restored": dict(restored), "unplaced": restored.unplaced,
            "notes": notes}
