"""Plans: list, read (with ETag), validate, the engine's notes, diff.  Editing is in :mod:`.planedit`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from sqlalchemy import select

from geogrid.api import queries
from geogrid.api.deps import AuditDep, PrincipalDep, ScopeDep, SessionDep, begin_write
from geogrid.api.errors import StateError
from geogrid.api.etag import make_etag
from geogrid.api.masking import mask_text
from geogrid.api.routes.grid import DRAFT_ROLES, visible_plan
from geogrid.api.scope import require
from geogrid.db.models import Microgrid, Plan

router = APIRouter(tags=["plans"])


def plan_summary(session, plan: Plan, *, counts: bool = True) -> dict:
    out = {
        "id": plan.id,
        "name": mask_text(plan.name) if plan.name else plan.name,  # free text: no full numbers
        "status": plan.status,
        "county_code": plan.county_code,
        "params": plan.params,
        "parent_plan_id": plan.parent_plan_id,
        "created_at": plan.created_at.isoformat() if plan.created_at else None,
        "created_by": plan.created_by,
        "updated_at": plan.updated_at.isoformat() if plan.updated_at else None,
        "published_at": plan.published_at.isoformat() if plan.published_at else None,
        "version": plan.version,
        "etag": make_etag(plan.id, plan.version),
    }
    if counts:
        out["counts"] = queries.plan_counts(session, plan.id)
    return out


@router.get("/plans", summary="Plans, newest first (drafts only for planners and admins)")
def list_plans(session: SessionDep, principal: PrincipalDep,
               status: Annotated[Literal["draft", "published", "archived"] | None, Query()] = None) -> dict:
    require(principal, "read_geometry")
    stmt = select(Plan).order_by(Plan.created_at.desc(), Plan.id)
    if status:
        stmt = stmt.where(Plan.status == status)
    if principal.role not in DRAFT_ROLES:
        stmt = stmt.where(Plan.status != "draft")
    plans = session.execute(stmt).scalars().all()
    return {"plans": [plan_summary(session, p, counts=False) for p in plans]}


@router.get("/plans/{plan_id}", summary="One plan; its ETag is the If-Match for edits")
def get_plan(plan_id: str, response: Response, session: SessionDep, principal: PrincipalDep) -> dict:
    require(principal, "read_geometry")
    plan = visible_plan(session, principal, plan_id)
    response.headers["ETag"] = make_etag(plan.id, plan.version)
    return plan_summary(session, plan)


@router.get("/plans/{plan_id}/validation",
            summary="Every broken rule of a plan, with the objects involved")
def validate(request: Request, plan_id: str, session: SessionDep, principal: PrincipalDep,
             scope: ScopeDep,
             microgrid: Annotated[list[str] | None, Query(description="limit to these micro-grid ids")] = None) -> dict:
    from geogrid.api.planvalidation import validate_plan

    require(principal, "read_geometry")
    plan = visible_plan(session, principal, plan_id)
    problems = validate_plan(session, plan, scope=scope, microgrid_ids=microgrid)
    valid = not problems
    if not principal.can("read_households"):
        # an analyst is told no problem of a household (by id, with its cell), only that
        # there are some: the plan is as valid as it is for everyone
        problems = [p for p in problems if not any(o.get("type") == "household" for o in p["objects"])]
    return {"plan_id": plan.id, "version": plan.version, "valid": valid, "problems": problems,
            "register_changes": register_changes_in_scope(session, plan, scope, microgrid,
                                                          counts=principal.can("read_households"))}


@router.get("/plans/{plan_id}/notes",
            summary="The partition engine's notes about a plan: where and why a rule could not be met")
def notes(plan_id: str, session: SessionDep, principal: PrincipalDep, scope: ScopeDep,
          microgrid: Annotated[str | None, Query(description="only the notes about this micro-grid (its id)")] = None,
          kind: Annotated[list[str] | None, Query(description="only notes of these kinds")] = None) -> dict:
    require(principal, "read_geometry")
    plan = visible_plan(session, principal, plan_id)
    return notes_answer(session, plan, principal, scope, microgrid=microgrid, kinds=kind)


def notes_answer(session, plan: Plan, principal, scope, *, microgrid: str | None = None,
                 kinds: list[str] | None = None) -> dict:
    """What ``GET /plans/{id}/notes`` answers, for ``principal`` within ``scope``: the
    plan's notes (those that name households only to callers who may read households),
    their counts and ``register_changes``.  A re-run answers it too, as it is after the
    re-run."""
    from geogrid.api.plannotes import plan_notes

    households = principal.can("read_households")
    return {"plan_id": plan.id, "version": plan.version,
            **plan_notes(session, plan, scope=scope, microgrid_id=microgrid, kinds=kinds,
                         household_notes=households),
            "register_changes": register_changes_in_scope(session, plan, scope, [microgrid] if microgrid else None,
                                                          counts=households)}


def register_changes_in_scope(session, plan: Plan, scope, microgrid_ids=None, *,
                              counts: bool = True) -> list[dict] | None:
    """``register_changes`` of the notes and the validation: the villages in ``scope``
    (those of ``microgrid_ids`` only, if given) whose register changed (households
    added, moved, removed; the outline redrawn) after the plan last read it, when it was
    drawn or a re-run of those micro-grids (:func:`geogrid.db.planregister.register_changes`):
    their notes and rules may be out of date until the micro-grids each names are
    re-run.  None: the plan does not know when it read the register.  Every caller is
    told whether households changed (``households_changed``) and whether the outline
    did (``outline``), in the village and in each micro-grid named.  Without ``counts``
    (callers who may not read households: analysts) each village's ``households``,
    ``added``, ``removed`` and ``moved`` are None, and its message says what changed
    without how many: a count of one or two changed households, with its time, is a
    figure below the analysts' threshold."""
    from geogrid.db.planregister import change_message, register_changes

    villages = None
    if microgrid_ids:
        villages = session.execute(select(Microgrid.village_code).where(
            Microgrid.plan_id == plan.id, Microgrid.id.in_(list(microgrid_ids)))).scalars().all()
    changes = register_changes(session, plan, villages)
    if changes is None:
        return None
    return [c if counts else {**c, "households": None, "added": None, "removed": None, "moved": None,
                              "message": change_message(c, counts=False)}
            for c in changes if scope.covers_village(c["village_code"])]


@router.get("/plans/{plan_id}/quality",
            summary="The plan's quality figures as it is now (hand edits included), against the targets, in scope")
def quality(plan_id: str, session: SessionDep, principal: PrincipalDep, scope: ScopeDep,
            village: Annotated[str | None, Query(description="only this village")] = None,
            compare: Annotated[str | None, Query(description="another plan's figures on the same "
                                                         "villages, such as the published plan's")] = None) -> dict:
    from geogrid.api.planquality import plan_quality

    require(principal, "read_geometry")
    plan = visible_plan(session, principal, plan_id)
    other = visible_plan(session, principal, compare) if compare else None
    return {"plan_id": plan.id, "version": plan.version,
            **plan_quality(session, plan, scope=scope, village=village, compare=other)}


def _acknowledge(plan_id: str, note_id: str, session, principal, scope, audit, by: str | None) -> dict:
    from geogrid.api.plannotes import note_in_scope
    from geogrid.db.plannotes import acknowledge

    require(principal, "edit_plans")
    plan = visible_plan(session, principal, plan_id)
    note_in_scope(session, plan, scope, note_id)  # 404 outside the caller's scope
    begin_write(session)
    if session.execute(select(Plan.status).where(Plan.id == plan_id)).scalar_one() != "draft":
        raise StateError(f"plan {plan_id} is {plan.status}; only a draft's notes can be acknowledged: "
                         "create a draft from it with POST /api/v1/plans",
                         key="plan.notes_not_draft", params={"plan": plan_id, "status": plan.status})
    acknowledge(session, plan_id, note_id, by)
    audit.add(session, "acknowledge_note" if by else "reopen_note", "plan", plan_id, detail={"note": note_id})
    session.commit()
    return note_in_scope(session, plan, scope, note_id)


@router.post("/plans/{plan_id}/notes/{note_id}/acknowledge",
             summary="Mark an engine note of a draft as dealt with or accepted (not a plan edit: no If-Match)")
def acknowledge_note(plan_id: str, note_id: str, session: SessionDep, principal: PrincipalDep,
                     scope: ScopeDep, audit: AuditDep) -> dict:
    return _acknowledge(plan_id, note_id, session, principal, scope, audit, principal.username)


@router.delete("/plans/{plan_id}/notes/{note_id}/acknowledge", summary="Open an acknowledged engine note again")
def reopen_note(plan_id: str, note_id: str, session: SessionDep, principal: PrincipalDep,
                scope: ScopeDep, audit: AuditDep) -> dict:
    return _acknowledge(plan_id, note_id, session, principal, scope, audit, None)


@router.get("/plans/{plan_id}/diff/{other_id}", summary="What changed from one plan to another")
def diff(plan_id: str, other_id: str, session: SessionDep, principal: PrincipalDep,
         scope: ScopeDep) -> dict:
    from geogrid.api.planvalidation import diff_plans

    require(principal, "read_geometry")
    a = visible_plan(session, principal, plan_id)
    b = visible_plan(session, principal, other_id)
    return diff_plans(session, a, b, scope=scope)
