"""Plan editing, the server side of boundary redrawing (issue 4, section 7).

Every edit is one transaction that starts with the plan's compare-and-swap
(:func:`geogrid.db.plans.bump_version`) against the version named in ``If-Match``:
no ``If-Match`` is 428, a stale one 412, and of several concurrent edits sent with
the same ETag exactly one succeeds.  The response carries the new ``ETag``.
Only drafts can be edited (409 otherwise); planners edit within their scope.

An edit that moves households between cells (moves, a split, a merge) or locks or
unlocks a cell brings the engine's notes about buildings, hamlets and locked cells of
the villages it touched up to date in its transaction
(:func:`geogrid.api.editnotes.follow_hand_edit`); its answer says how (``notes``: the
villages, the notes removed and added), so that a client reloads them.  The edits
themselves are :mod:`geogrid.api.planops`; this module is their routes and
transactions.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Annotated, Literal

import shapely
import shapely.errors
from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from geogrid.api.deps import AuditDep, PrincipalDep, ScopeDep, SessionDep, begin_write
from geogrid.api.editnotes import follow_hand_edit
from geogrid.api.errors import StateError
from geogrid.api.etag import make_etag, require_if_match, version_from_etag
from geogrid.api.geojson import parse_polygon
from geogrid.api.planops import (Moved, apply_boundary, apply_lock, apply_merge, apply_moves, apply_op,
                                 apply_repartition, apply_split, check_merge)
from geogrid.api.rootpath import prefixed
from geogrid.api.routes.grid import visible_plan
from geogrid.api.routes.plans import notes_answer, plan_summary
from geogrid.api.scope import Scope, require
from geogrid.db.models import Plan
from geogrid.db.plans import bump_version, copy_plan, publish
from geogrid.errors import ConflictError, GeogridError, InputError, NotFoundError, PermissionDeniedError

router = APIRouter(tags=["plan editing"])
log = logging.getLogger("geogrid.api")

IfMatch = Annotated[str | None, Header(alias="If-Match", description="the plan's ETag")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DraftRequest(_Strict):
    name: str = Field(..., min_length=1, max_length=200)
    from_plan: str | None = Field(None, description="plan to copy (default: the published one)")


class Move(_Strict):
    household_id: str = Field(..., min_length=1, max_length=64)
    cell_id: str = Field(..., min_length=1, max_length=64)


class MovesRequest(_Strict):
    moves: list[Move] = Field(..., min_length=1, max_length=5000)


class GeometryRequest(_Strict):
    geometry: dict = Field(..., description="GeoJSON Polygon or MultiPolygon, WGS84 lon/lat")


#: an object id in a request body: what every id field takes (a longer one is no id,
#: and is not echoed back in a 404)
ObjectId = Annotated[str, Field(min_length=1, max_length=64)]


class SplitRequest(_Strict):
    household_ids: list[ObjectId] = Field(..., min_length=1, max_length=5000,
                                          description="households that go to the new cell")


class MergeRequest(_Strict):
    cells: list[ObjectId] = Field(..., min_length=2, max_length=2, description="two cell ids")


class RepartitionRequest(_Strict):
    microgrids: list[ObjectId] = Field(..., min_length=1, max_length=200, description="micro-grid ids")


@contextlib.contextmanager
def _edit(session, principal, scope: Scope, plan_id: str, if_match: str | None, response: Response,
          audit, action: str, detail: dict | None = None):
    """One edit transaction: permission, 404, 428, 412, draft-only, the notes of the
    villages whose households moved, audit, commit, ETag."""
    require(principal, "edit_plans")
    plan = visible_plan(session, principal, plan_id)
    expected = version_from_etag(plan_id, require_if_match(if_match))
    begin_write(session)
    new_version = bump_version(session, plan_id, expected)
    status = session.execute(select(Plan.status).where(Plan.id == plan_id)).scalar_one()
    if status != "draft" and action != "publish":
        raise StateError(f"plan {plan_id} is {status}; only drafts can be edited: create a "
                         "draft from it with POST /api/v1/plans",
                         key="plan.not_draft", params={"plan": plan_id, "status": status})
    info = dict(detail or {})
    moved = Moved()
    try:
        yield plan, info, moved
    except shapely.errors.GEOSException as exc:
        # never a 500: the transaction is rolled back (the session closes uncommitted)
        log.warning("plan %s: %s failed in GEOS: %s", plan_id, action, exc)
        raise InputError(
            f"{action.replace('_', ' ')} could not be computed: a polygon of this micro-grid is "
            f"broken ({exc}); nothing was changed. Redraw the micro-grid boundary or re-run the "
            "partition for the micro-grid, then try again", key="plan.geometry_broken") from None
    if moved.cells:
        # in the edit's transaction: a refused edit leaves the notes as they were
        moved.notes = follow_hand_edit(session, plan, moved.cells)
    audit.add(session, action, "plan", plan_id, detail=info or None)
    session.commit()
    response.headers["ETag"] = make_etag(plan_id, new_version)


# --- drafts and publishing --------------------------------------------------------------
def _own_county(scope: Scope, plan: Plan, what: str) -> None:
    """Refuse to copy or publish another county's plan: every county's plans are listed
    to everyone, but a county-wide planner of one county published another's draft (it
    archived that county's plan) and copied its plans."""
    if not scope.covers_county(plan.county_code):
        raise PermissionDeniedError(
            f"plan {plan.id} is county {plan.county_code}'s and your scope is another county's: you "
            f"cannot {what}; ask that county's planners or an admin",
            key="plan.other_county", params={"plan": plan.id, "county": plan.county_code})


def _published_in_scope(session, scope: Scope) -> str | None:
    """The newest published plan of a county the caller's scope lies in (with several
    counties stored, not the newest of any county)."""
    rows = session.execute(select(Plan.id, Plan.county_code).where(Plan.status == "published")
                           .order_by(Plan.published_at.desc())).all()
    return next((pid for pid, county in rows if scope.covers_county(county)), None)


@router.post("/plans", status_code=201, summary="Create a draft from the published (or a named) plan")
def create_draft(body: DraftRequest, request: Request, response: Response, session: SessionDep,
                 principal: PrincipalDep, scope: ScopeDep, audit: AuditDep) -> dict:
    require(principal, "edit_plans")
    source = body.from_plan or _published_in_scope(session, scope)
    if source is None:
        raise NotFoundError("there is no published plan of your county to copy; partition the register "
                            "first (`geogrid partition --publish`) or name from_plan",
                            key="plan.no_published")
    _own_county(scope, visible_plan(session, principal, source), "copy it into a draft")
    begin_write(session)
    plan = copy_plan(session, source, body.name, created_by=principal.username)
    audit.add(session, "create", "plan", plan.id, detail={"from": source})
    session.commit()
    response.headers["ETag"] = make_etag(plan.id, plan.version)
    response.headers["Location"] = prefixed(request, f"/api/v1/plans/{plan.id}")
    return plan_summary(session, plan)


@router.post("/plans/{plan_id}/publish", summary="Publish a draft, archiving the published plan")
def publish_plan(plan_id: str, response: Response, session: SessionDep, principal: PrincipalDep,
                 scope: ScopeDep, audit: AuditDep, if_match: IfMatch = None,
                 force: Annotated[bool, Query(description="admins: publish despite problems")] = False) -> dict:
    from geogrid.api.planvalidation import validate_plan

    require(principal, "edit_plans")
    plan = visible_plan(session, principal, plan_id)
    _own_county(scope, plan, "publish it")
    if not scope.unrestricted:
        # publishing replaces the plan of the whole county, not only the caller's part
        raise PermissionDeniedError(
            f"publishing replaces the whole county's plan, so it needs a county-wide planner "
            f"or an admin; your scope is part of the county: ask one of them to review and "
            f"publish draft {plan_id}", key="plan.publish_needs_county", params={"plan": plan_id})
    if plan.status != "draft":
        raise StateError(f"plan {plan_id} is {plan.status}; only a draft can be published",
                         key="plan.not_draft", params={"plan": plan_id, "status": plan.status})
    # 428 / 412 before the (slow) validation: a stale planner learns that first; the
    # compare-and-swap in _edit is still what decides
    if version_from_etag(plan_id, require_if_match(if_match)) != plan.version:
        raise ConflictError(
            "If-Match does not match this plan's current ETag: someone else changed it first; "
            "reload the plan, check it again and publish", key="plan.stale", params={"plan": plan_id})
    if not (force and principal.role == "admin"):
        problems = validate_plan(session, plan, scope=Scope(unrestricted=True))
        hard = [p for p in problems if p["severity"] == "error"]
        if hard:
            err = InputError(f"plan {plan_id} breaks {len(hard)} rule(s); fix them (see "
                             f"/api/v1/plans/{plan_id}/validation) before publishing",
                             key="plan.publish_has_errors", params={"plan": plan_id, "n": len(hard)})
            err.errors = hard[:100]
            raise err
    with _edit(session, principal, scope, plan_id, if_match, response, audit, "publish"):
        p = session.get(Plan, plan_id)
        publish(session, plan_id)
    session.refresh(p)
    response.headers["ETag"] = make_etag(p.id, p.version)
    return plan_summary(session, p)


# --- household moves ---------------------------------------------------------------------
@router.patch("/plans/{plan_id}/assignments", summary="Move households between cells")
def move_households(plan_id: str, body: MovesRequest, response: Response, session: SessionDep,
                    principal: PrincipalDep, scope: ScopeDep, audit: AuditDep,
                    if_match: IfMatch = None) -> dict:
    with _edit(session, principal, scope, plan_id, if_match, response, audit, "move_households",
               {"moves": len(body.moves)}) as (plan, info, moved):
        out = apply_moves(session, scope, plan, body.moves, info, moved)
    return {**out, "notes": moved.notes, "plan": plan_summary(session, session.get(Plan, plan_id))}


# --- locks --------------------------------------------------------------------------------
def _set_lock(plan_id, cell_id, locked, response, session, principal, scope, audit, if_match):
    with _edit(session, principal, scope, plan_id, if_match, response, audit,
               "lock_cell" if locked else "unlock_cell", {"cell": cell_id}) as (plan, info, moved):
        out = apply_lock(session, scope, plan, cell_id, locked, info, moved)
    return {**out, "notes": moved.notes, "etag": response.headers["ETag"]}


@router.post("/plans/{plan_id}/cells/{cell_id}/lock", summary="Lock a cell against re-partition and moves")
def lock_cell(plan_id: str, cell_id: str, response: Response, session: SessionDep,
              principal: PrincipalDep, scope: ScopeDep, audit: AuditDep, if_match: IfMatch = None) -> dict:
    return _set_lock(plan_id, cell_id, True, response, session, principal, scope, audit, if_match)


@router.post("/plans/{plan_id}/cells/{cell_id}/unlock", summary="Unlock a cell")
def unlock_cell(plan_id: str, cell_id: str, response: Response, session: SessionDep,
                principal: PrincipalDep, scope: ScopeDep, audit: AuditDep, if_match: IfMatch = None) -> dict:
    return _set_lock(plan_id, cell_id, False, response, session, principal, scope, audit, if_match)


# --- micro-grid boundary ------------------------------------------------------------------
@router.put("/plans/{plan_id}/microgrids/{microgrid_id}/geometry",
            summary="Replace a micro-grid boundary (checked: valid, inside the village, no overlap)")
def replace_boundary(plan_id: str, microgrid_id: str, body: GeometryRequest, response: Response,
                     session: SessionDep, principal: PrincipalDep, scope: ScopeDep, audit: AuditDep,
                     if_match: IfMatch = None) -> dict:
    geom = parse_polygon(body.geometry, what="micro-grid boundary")
    with _edit(session, principal, scope, plan_id, if_match, response, audit, "replace_boundary",
               {"microgrid": microgrid_id}) as (plan, info, _):
        out = apply_boundary(session, scope, plan, microgrid_id, geom, info)
    return {**out, "etag": response.headers["ETag"]}


# --- split and merge ------------------------------------------------------------------------
@router.post("/plans/{plan_id}/cells/{cell_id}/split",
             summary="Split a cell: the listed households form a new cell in the same micro-grid")
def split_cell(plan_id: str, cell_id: str, body: SplitRequest, response: Response, session: SessionDep,
               principal: PrincipalDep, scope: ScopeDep, audit: AuditDep,
               if_match: IfMatch = None) -> dict:
    with _edit(session, principal, scope, plan_id, if_match, response, audit, "split_cell",
               {"cell": cell_id}) as (plan, info, moved):
        out = apply_split(session, scope, plan, cell_id, body.household_ids, info, moved)
    return {**out, "notes": moved.notes, "etag": response.headers["ETag"]}


@router.post("/plans/{plan_id}/cells/merge", summary="Merge two cells of one micro-grid into the first")
def merge_cells(plan_id: str, body: MergeRequest, response: Response, session: SessionDep,
                principal: PrincipalDep, scope: ScopeDep, audit: AuditDep,
                if_match: IfMatch = None) -> dict:
    check_merge(body.cells)
    with _edit(session, principal, scope, plan_id, if_match, response, audit, "merge_cells",
               {"cells": list(body.cells)}) as (plan, info, moved):
        out = apply_merge(session, scope, plan, body.cells, info, moved)
    return {**out, "notes": moved.notes, "etag": response.headers["ETag"]}


# --- re-run the partition ---------------------------------------------------------------------
@router.post("/plans/{plan_id}/repartition",
             summary="Re-run the partition for chosen micro-grids (locked cells stay)")
def repartition_microgrids(plan_id: str, body: RepartitionRequest, response: Response,
                           session: SessionDep, principal: PrincipalDep, scope: ScopeDep,
                           audit: AuditDep, if_match: IfMatch = None) -> dict:
    """The answer says what the re-run did (``microgrids``, ``cells``, ``households``),
    the engine's notes of the run (``notes``: what it found in what it re-solved) and
    ``plan_notes``, the plan's notes as ``GET /plans/{id}/notes`` now gives them to the
    caller (brought up to date by the re-run, with ``register_changes``), so that a
    client need not ask again."""
    with _edit(session, principal, scope, plan_id, if_match, response, audit, "repartition",
               {"microgrids": body.microgrids}) as (plan, info, _):
        apply_repartition(session, scope, plan, body.microgrids, info)
    return {**info, "etag": response.headers["ETag"],
            "plan_notes": notes_answer(session, session.get(Plan, plan_id), principal, scope)}


# --- several edits, all or nothing ----------------------------------------------------------
class MoveOp(MovesRequest):
    op: Literal["move"]


class LockOp(_Strict):
    op: Literal["lock", "unlock"]
    cell_id: str = Field(..., min_length=1, max_length=64)


class BoundaryOp(GeometryRequest):
    op: Literal["boundary"]
    microgrid_id: str = Field(..., min_length=1, max_length=64)


class SplitOp(SplitRequest):
    op: Literal["split"]
    cell_id: str = Field(..., min_length=1, max_length=64)


class MergeOp(MergeRequest):
    op: Literal["merge"]


class RepartitionOp(RepartitionRequest):
    op: Literal["repartition"]


EditOp = Annotated[MoveOp | LockOp | BoundaryOp | SplitOp | MergeOp | RepartitionOp,
                   Field(discriminator="op")]


class EditsRequest(_Strict):
    edits: list[EditOp] = Field(..., min_length=1, max_length=500,
                                description="applied in this order, in one transaction")


def _failed_at(index: int, n: int, op, exc: Exception) -> Exception:
    """The error of a batch's operation ``index``, with its place in the batch (same
    class, so the same status code)."""
    if isinstance(exc, shapely.errors.GEOSException):
        exc = InputError(f"the polygons could not be computed ({exc}); redraw the micro-grid "
                         "boundary or re-run the partition for the micro-grid, then try again",
                         key="plan.geometry_broken")
    reason = str(exc)
    exc.args = (f"edit {index} ({op.op}) failed, so none of the {n} edits was saved: {reason}",)
    # the operation's own structured errors (a re-run's refusal: its type and params, for
    # the client to word in its user's language) keep their fields, with the place added
    own = [e for e in (getattr(exc, "errors", None) or []) if isinstance(e, dict)]
    exc.errors = [{**e, "index": index, "op": op.op, "reason": e.get("reason", reason)} for e in own] \
        or [{"index": index, "op": op.op, "reason": reason}]
    return exc


@router.post("/plans/{plan_id}/edits",
             summary="Apply several edits in order, all or nothing, with one ETag change")
def apply_edits(plan_id: str, body: EditsRequest, response: Response, session: SessionDep,
                principal: PrincipalDep, scope: ScopeDep, audit: AuditDep,
                if_match: IfMatch = None) -> dict:
    """The operations are those of the single edit routes (``move``: the body of PATCH
    assignments; ``lock``/``unlock``: ``cell_id``; ``boundary``: ``microgrid_id`` and
    ``geometry``; ``split``: ``cell_id`` and ``household_ids``; ``merge``: ``cells``;
    ``repartition``: ``microgrids``), each checked as there.  They run in one
    transaction under one If-Match: all are saved and the plan's ETag changes once, or
    the first that fails is answered (its status, ``errors[0].index``) and nothing is.
    The notes of the villages whose households the moves, splits and merges moved, or
    whose cells were locked or unlocked, are brought up to date once, after the last
    edit (``notes``)."""
    n = len(body.edits)
    with _edit(session, principal, scope, plan_id, if_match, response, audit, "edit_batch",
               {"edits": n, "ops": [op.op for op in body.edits]}) as (plan, info, moved):
        results = []
        for i, op in enumerate(body.edits):
            try:
                action, detail, out = apply_op(session, scope, plan, op, moved)
            except (GeogridError, shapely.errors.GEOSException) as exc:
                raise _failed_at(i, n, op, exc) from None
            audit.add(session, action, "plan", plan_id, detail={**detail, "batch_index": i})
            results.append({"index": i, "op": op.op, **out})
            # the next operation reads what this one wrote, not the session's stale copies
            session.flush()
            session.expire_all()
    plan = session.get(Plan, plan_id)
    out = {"applied": n, "results": results, "notes": moved.notes, "etag": response.headers["ETag"],
           "plan": plan_summary(session, plan)}
    if any(op.op == "repartition" for op in body.edits):
        # a re-run's notes, as GET /plans/{id}/notes gives them now
        out["plan_notes"] = notes_answer(session, plan, principal, scope)
    return out
