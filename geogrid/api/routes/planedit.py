"""Plan editing, the server side of boundary redrawing (issue 4, section 7).

Every edit is one transaction that starts with the plan's compare-and-swap
(:func:`geogrid.db.plans.bump_version`) against the version named in ``If-Match``:
no ``If-Match`` is 428, a stale one 412, and of several concurrent edits sent with
the same ETag exactly one succeeds.  The response carries the new ``ETag``.
Only drafts can be edited (409 otherwise); planners edit within their scope.

An edit that moves households between cells (moves, a split, a merge) brings the
engine's notes about buildings and hamlets of the villages it touched up to date in
its transaction (:func:`geogrid.api.editnotes.follow_hand_edit`); its answer says how
(``notes``: the villages, the notes removed and added), so that a client reloads them.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from typing import Annotated, Literal

import shapely
import shapely.errors
from fastapi import APIRouter, Header, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, func, select, update

from geogrid.api import cellgeometry
from geogrid.api.deps import AuditDep, PrincipalDep, ScopeDep, SessionDep, begin_write
from geogrid.api.editnotes import follow_hand_edit
from geogrid.api.errors import StateError
from geogrid.api.etag import make_etag, require_if_match, version_from_etag
from geogrid.api.geojson import check_polygon_in_context, parse_polygon
from geogrid.api.planrerun import recount
from geogrid.api.routes.grid import visible_plan
from geogrid.api.routes.plans import plan_summary
from geogrid.api.scope import Scope, require
from geogrid.db.models import Area, Assignment, Cell, Household, Microgrid, Plan, new_id
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


@dataclass
class _Moved:
    """The cells whose households or lock an edit changed (added to by each ``_apply_*``
    that moves households, locks or unlocks), and what that did to the plan's notes,
    once the edit is done."""

    cells: set[str] = field(default_factory=set)
    notes: dict = field(default_factory=lambda: {"villages": [], "removed": 0, "added": 0})


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
                         "draft from it with POST /api/v1/plans")
    info = dict(detail or {})
    moved = _Moved()
    try:
        yield plan, info, moved
    except shapely.errors.GEOSException as exc:
        # never a 500: the transaction is rolled back (the session closes uncommitted)
        log.warning("plan %s: %s failed in GEOS: %s", plan_id, action, exc)
        raise InputError(
            f"{action.replace('_', ' ')} could not be computed: a polygon of this micro-grid is "
            f"broken ({exc}); nothing was changed. Redraw the micro-grid boundary or re-run the "
            "partition for the micro-grid, then try again") from None
    if moved.cells:
        # in the edit's transaction: a refused edit leaves the notes as they were
        moved.notes = follow_hand_edit(session, plan, moved.cells)
    audit.add(session, action, "plan", plan_id, detail=info or None)
    session.commit()
    response.headers["ETag"] = make_etag(plan_id, new_version)


def _cell(session, scope: Scope, plan_id: str, cell_id: str, *, for_update: bool = True) -> Cell:
    cell = session.execute(select(Cell).where(Cell.id == cell_id, Cell.plan_id == plan_id,
                                              scope.cells_clause())).scalar_one_or_none()
    if cell is None:
        raise NotFoundError(f"cell {cell_id} not found in plan {plan_id}")
    return cell


def _microgrid(session, scope: Scope, plan_id: str, mg_id: str) -> Microgrid:
    mg = session.execute(select(Microgrid).where(Microgrid.id == mg_id, Microgrid.plan_id == plan_id,
                                                 scope.microgrids_clause())).scalar_one_or_none()
    if mg is None:
        raise NotFoundError(f"micro-grid {mg_id} not found in plan {plan_id}")
    return mg


def _shape(session, geom_col, where):
    from geoalchemy2.shape import to_shape

    g = session.execute(select(geom_col).where(where)).scalar()
    return to_shape(g) if g is not None else None


def _ewkt(geom) -> str | None:
    if geom is None or geom.is_empty:
        return None
    if geom.geom_type == "Polygon":
        geom = shapely.MultiPolygon([geom])
    return f"SRID=4326;{geom.wkt}"


# --- drafts and publishing --------------------------------------------------------------
@router.post("/plans", status_code=201, summary="Create a draft from the published (or a named) plan")
def create_draft(body: DraftRequest, response: Response, session: SessionDep,
                 principal: PrincipalDep, audit: AuditDep) -> dict:
    from geogrid.api.scope import published_plan_id

    require(principal, "edit_plans")
    source = body.from_plan or published_plan_id(session)
    if source is None:
        raise NotFoundError("there is no published plan to copy; partition the register first "
                            "(`geogrid partition --publish`) or name from_plan")
    visible_plan(session, principal, source)
    begin_write(session)
    plan = copy_plan(session, source, body.name, created_by=principal.username)
    audit.add(session, "create", "plan", plan.id, detail={"from": source})
    session.commit()
    response.headers["ETag"] = make_etag(plan.id, plan.version)
    response.headers["Location"] = f"/api/v1/plans/{plan.id}"
    return plan_summary(session, plan)


@router.post("/plans/{plan_id}/publish", summary="Publish a draft, archiving the published plan")
def publish_plan(plan_id: str, response: Response, session: SessionDep, principal: PrincipalDep,
                 scope: ScopeDep, audit: AuditDep, if_match: IfMatch = None,
                 force: Annotated[bool, Query(description="admins: publish despite problems")] = False) -> dict:
    from geogrid.api.planvalidation import validate_plan

    require(principal, "edit_plans")
    plan = visible_plan(session, principal, plan_id)
    if not scope.unrestricted:
        # publishing replaces the plan of the whole county, not only the caller's part
        raise PermissionDeniedError(
            f"publishing replaces the whole county's plan, so it needs a county-wide planner "
            f"or an admin; your scope is part of the county: ask one of them to review and "
            f"publish draft {plan_id}")
    if plan.status != "draft":
        raise StateError(f"plan {plan_id} is {plan.status}; only a draft can be published")
    # 428 / 412 before the (slow) validation: a stale planner learns that first; the
    # compare-and-swap in _edit is still what decides
    if version_from_etag(plan_id, require_if_match(if_match)) != plan.version:
        raise ConflictError(
            "If-Match does not match this plan's current ETag: someone else changed it first; "
            "reload the plan, check it again and publish")
    if not (force and principal.role == "admin"):
        problems = validate_plan(session, plan, scope=Scope(unrestricted=True))
        hard = [p for p in problems if p["severity"] == "error"]
        if hard:
            err = InputError(f"plan {plan_id} breaks {len(hard)} rule(s); fix them (see "
                             f"/api/v1/plans/{plan_id}/validation) before publishing")
            err.errors = hard[:100]
            raise err
    with _edit(session, principal, scope, plan_id, if_match, response, audit, "publish"):
        p = session.get(Plan, plan_id)
        publish(session, plan_id)
    session.refresh(p)
    response.headers["ETag"] = make_etag(p.id, p.version)
    return plan_summary(session, p)


# --- the edits themselves ----------------------------------------------------------------
# Each _apply_* does one edit inside a transaction opened by _edit (a single route) or
# by the batch: no commit, no ETag; it records what it did in ``info`` (the audit
# detail) and returns the route's answer.

def _apply_moves(session, scope: Scope, plan: Plan, moves: list[Move], info: dict, moved: _Moved) -> dict:
    plan_id = plan.id
    targets = {m.cell_id for m in moves}
    cells = {c.id: c for c in session.execute(
        select(Cell).where(Cell.id.in_(sorted(targets)), Cell.plan_id == plan_id,
                           scope.cells_clause())).scalars()}
    for t in targets:
        if t not in cells:
            raise NotFoundError(f"cell {t} not found in plan {plan_id}")
    hids = sorted({m.household_id for m in moves})
    if len(hids) != len(moves):
        raise InputError("each household may be moved only once per request")
    current = dict(session.execute(
        select(Assignment.household_id, Assignment.cell_id)
        .join(Household, Household.id == Assignment.household_id)
        .where(Assignment.plan_id == plan_id, Assignment.household_id.in_(hids),
               scope.households_clause())).all())
    sources = {}
    for h in hids:
        if h not in current:
            raise NotFoundError(f"household {h} is not assigned in plan {plan_id}")
    source_cells = {c.id: c for c in session.execute(
        select(Cell).where(Cell.id.in_(sorted(set(current.values())))))
        .scalars()}
    for c in list(source_cells.values()) + list(cells.values()):
        if c.locked:
            raise StateError(f"cell {c.id} ({c.cell_key}) is locked; unlock it before moving "
                             "households in or out")
    # cells nest in villages: a household moves between cells of its own village only
    # (its point lies there; another village's cell would not contain it).  A cell's
    # village is its own code, else its micro-grid's (a cell saved without one was
    # "village None": a move within its micro-grid was refused, and one between two
    # such cells of different villages went through)
    village = _cell_villages(session, [*source_cells.values(), *cells.values()])
    across = [(m, source_cells[current[m.household_id]], cells[m.cell_id]) for m in moves
              if village[current[m.household_id]] != village[m.cell_id]]
    if across:
        m, a, b = across[0]
        raise InputError(
            f"household {m.household_id} is in village {village[a.id]}; cell {b.cell_key} is in village "
            f"{village[b.id]}: a household moves only between cells of its own village"
            + (f" ({len(across) - 1} more such move(s) in this request)" if len(across) > 1 else "")
            + ". If its village is wrong, correct it in the register, then re-run the micro-grids.",
            errors=[{"type": "move_across_villages", "params": {
                "household": x.household_id, "from_village": village[fa.id], "cell": fb.cell_key,
                "to_village": village[fb.id]}} for x, fa, fb in across[:20]])
    for m in moves:
        if current[m.household_id] != m.cell_id:
            sources[m.household_id] = current[m.household_id]
            session.execute(update(Assignment)
                            .where(Assignment.plan_id == plan_id,
                                   Assignment.household_id == m.household_id)
                            .values(cell_id=m.cell_id),
                            execution_options={"synchronize_session": False})
    recount(session, plan_id, set(sources.values()) | targets)
    moved.cells |= set(sources.values()) | {m.cell_id for m in moves if m.household_id in sources}
    info["moved"] = len(sources)
    return {"moved": len(sources)}


def _cell_villages(session, cells) -> dict:
    """Cell id -> its village: the cell's ``village_code``, else its micro-grid's."""
    out = {c.id: c.village_code for c in cells}
    missing = sorted({c.microgrid_id for c in cells if c.village_code is None})
    if missing:
        of_mg = dict(session.execute(select(Microgrid.id, Microgrid.village_code)
                                     .where(Microgrid.id.in_(missing))).all())
        out.update({c.id: of_mg.get(c.microgrid_id) for c in cells if c.village_code is None})
    return out


def _apply_lock(session, scope: Scope, plan: Plan, cell_id: str, locked: bool, info: dict,
                moved: _Moved) -> dict:
    _cell(session, scope, plan.id, cell_id)
    session.execute(update(Cell).where(Cell.id == cell_id).values(locked=locked),
                    execution_options={"synchronize_session": False})
    moved.cells.add(cell_id)  # a locked cell over the cap is a note while it is locked
    return {"cell_id": cell_id, "locked": locked}


def _apply_boundary(session, scope: Scope, plan: Plan, microgrid_id: str, geom, info: dict) -> dict:
    from geoalchemy2.shape import to_shape

    plan_id = plan.id
    mg = _microgrid(session, scope, plan_id, microgrid_id)
    village = _shape(session, Area.geom, Area.code == mg.village_code) if mg.village_code else None
    siblings = {r.microgrid_key: to_shape(r.geom) for r in session.execute(
        select(Microgrid.microgrid_key, Microgrid.geom).where(
            Microgrid.plan_id == plan_id, Microgrid.village_code == mg.village_code,
            Microgrid.id != mg.id, Microgrid.geom.is_not(None)))}
    check_polygon_in_context(geom, parent=village, siblings=siblings, what="the new boundary",
                             parent_name=f"village {mg.village_code}")
    area_km2 = _area_km2(geom)
    session.execute(update(Microgrid).where(Microgrid.id == mg.id)
                    .values(geom=_ewkt(geom), area_km2=area_km2),
                    execution_options={"synchronize_session": False})
    # cells follow the boundary: clipped to it (new ground goes to no cell until re-run)
    for c in session.execute(select(Cell.id, Cell.geom).where(Cell.microgrid_id == mg.id)).all():
        if c.geom is None:
            continue
        session.execute(update(Cell).where(Cell.id == c.id)
                        .values(geom=_ewkt(cellgeometry.clip_cell(to_shape(c.geom), geom))),
                        execution_options={"synchronize_session": False})
    return {"microgrid_id": microgrid_id, "area_km2": area_km2}


def _area_km2(geom) -> float:
    from geogrid.api.geojson import _to_metres

    return round(_to_metres([geom])[0].area / 1e6, 6)


def _apply_split(session, scope: Scope, plan: Plan, cell_id: str, household_ids: list[str],
                 info: dict, moved: _Moved) -> dict:
    from geoalchemy2.shape import to_shape

    plan_id = plan.id
    cell = _cell(session, scope, plan_id, cell_id)
    if cell.locked:
        raise StateError(f"cell {cell.cell_key} is locked; unlock it before splitting")
    members = session.execute(
        select(Assignment.household_id, func.ST_X(Household.geom), func.ST_Y(Household.geom))
        .join(Household, Household.id == Assignment.household_id)
        .where(Assignment.plan_id == plan_id, Assignment.cell_id == cell_id)).all()
    moving = set(household_ids)
    known = {m[0] for m in members}
    if not moving <= known:
        raise InputError(f"{len(moving - known)} of the households are not in cell {cell.cell_key}")
    if moving == known:
        raise InputError("a split must leave at least one household in the original cell")
    keep_pts = [(x, y) for h, x, y in members if h not in moving]
    move_pts = [(x, y) for h, x, y in members if h in moving]
    geom_a = geom_b = None
    if cell.geom is not None:
        pa, pb = cellgeometry.split_cell(to_shape(cell.geom), keep_pts, move_pts)
        geom_a, geom_b = _ewkt(pa), _ewkt(pb)
    existing = set(session.execute(select(Cell.cell_key).where(Cell.plan_id == plan_id)).scalars())
    n = 1
    while f"{cell.cell_key}-s{n}" in existing:
        n += 1
    new = Cell(id=new_id(), plan_id=plan_id, microgrid_id=cell.microgrid_id,
               cell_key=f"{cell.cell_key}-s{n}", village_code=cell.village_code, households=0,
               locked=False, geom=geom_b)
    session.add(new)
    session.flush()
    if geom_a is not None:
        session.execute(update(Cell).where(Cell.id == cell.id).values(geom=geom_a),
                        execution_options={"synchronize_session": False})
    session.execute(update(Assignment).where(Assignment.plan_id == plan_id,
                                             Assignment.household_id.in_(sorted(moving)))
                    .values(cell_id=new.id), execution_options={"synchronize_session": False})
    recount(session, plan_id, [cell.id, new.id])
    moved.cells |= {cell.id, new.id}
    info.update(new_cell=new.id, moved=len(moving))
    return {"cell_id": cell_id, "new_cell_id": new.id, "new_cell_key": new.cell_key}


def _check_merge(cells: list[str]) -> tuple[str, str]:
    a_id, b_id = cells
    if a_id == b_id:
        raise InputError("merge needs two different cells")
    return a_id, b_id


def _apply_merge(session, scope: Scope, plan: Plan, cells: list[str], info: dict, moved: _Moved) -> dict:
    from geoalchemy2.shape import to_shape

    a_id, b_id = _check_merge(cells)
    a = _cell(session, scope, plan.id, a_id)
    b = _cell(session, scope, plan.id, b_id)
    if a.microgrid_id != b.microgrid_id:
        raise InputError("only cells of the same micro-grid can be merged")
    if a.locked or b.locked:
        raise StateError("a locked cell cannot be merged; unlock it first")
    if b.geom is not None:
        union = (cellgeometry.merge_cells(to_shape(a.geom), to_shape(b.geom))
                 if a.geom is not None else to_shape(b.geom))
        session.execute(update(Cell).where(Cell.id == a.id).values(geom=_ewkt(union)),
                        execution_options={"synchronize_session": False})
    session.execute(update(Assignment).where(Assignment.plan_id == plan.id,
                                             Assignment.cell_id == b.id)
                    .values(cell_id=a.id), execution_options={"synchronize_session": False})
    session.execute(delete(Cell).where(Cell.id == b.id), execution_options={"synchronize_session": False})
    recount(session, plan.id, [a.id])
    moved.cells.add(a.id)
    return {"cell_id": a_id, "removed_cell_id": b_id}


def _apply_repartition(session, scope: Scope, plan: Plan, microgrids: list[str], info: dict) -> dict:
    from geogrid.api.planrerun import rerun

    mgs = [_microgrid(session, scope, plan.id, m) for m in dict.fromkeys(microgrids)]
    done = rerun(session, plan, mgs)
    info.update(done)
    return dict(done)


# --- household moves ---------------------------------------------------------------------
@router.patch("/plans/{plan_id}/assignments", summary="Move households between cells")
def move_households(plan_id: str, body: MovesRequest, response: Response, session: SessionDep,
                    principal: PrincipalDep, scope: ScopeDep, audit: AuditDep,
                    if_match: IfMatch = None) -> dict:
    with _edit(session, principal, scope, plan_id, if_match, response, audit, "move_households",
               {"moves": len(body.moves)}) as (plan, info, moved):
        out = _apply_moves(session, scope, plan, body.moves, info, moved)
    return {**out, "notes": moved.notes, "plan": plan_summary(session, session.get(Plan, plan_id))}


# --- locks --------------------------------------------------------------------------------
def _set_lock(plan_id, cell_id, locked, response, session, principal, scope, audit, if_match):
    with _edit(session, principal, scope, plan_id, if_match, response, audit,
               "lock_cell" if locked else "unlock_cell", {"cell": cell_id}) as (plan, info, moved):
        out = _apply_lock(session, scope, plan, cell_id, locked, info, moved)
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
        out = _apply_boundary(session, scope, plan, microgrid_id, geom, info)
    return {**out, "etag": response.headers["ETag"]}


# --- split and merge ------------------------------------------------------------------------
@router.post("/plans/{plan_id}/cells/{cell_id}/split",
             summary="Split a cell: the listed households form a new cell in the same micro-grid")
def split_cell(plan_id: str, cell_id: str, body: SplitRequest, response: Response, session: SessionDep,
               principal: PrincipalDep, scope: ScopeDep, audit: AuditDep,
               if_match: IfMatch = None) -> dict:
    with _edit(session, principal, scope, plan_id, if_match, response, audit, "split_cell",
               {"cell": cell_id}) as (plan, info, moved):
        out = _apply_split(session, scope, plan, cell_id, body.household_ids, info, moved)
    return {**out, "notes": moved.notes, "etag": response.headers["ETag"]}


@router.post("/plans/{plan_id}/cells/merge", summary="Merge two cells of one micro-grid into the first")
def merge_cells(plan_id: str, body: MergeRequest, response: Response, session: SessionDep,
                principal: PrincipalDep, scope: ScopeDep, audit: AuditDep,
                if_match: IfMatch = None) -> dict:
    _check_merge(body.cells)
    with _edit(session, principal, scope, plan_id, if_match, response, audit, "merge_cells",
               {"cells": list(body.cells)}) as (plan, info, moved):
        out = _apply_merge(session, scope, plan, body.cells, info, moved)
    return {**out, "notes": moved.notes, "etag": response.headers["ETag"]}


# --- re-run the partition ---------------------------------------------------------------------
@router.post("/plans/{plan_id}/repartition",
             summary="Re-run the partition for chosen micro-grids (locked cells stay)")
def repartition_microgrids(plan_id: str, body: RepartitionRequest, response: Response,
                           session: SessionDep, principal: PrincipalDep, scope: ScopeDep,
                           audit: AuditDep, if_match: IfMatch = None) -> dict:
    with _edit(session, principal, scope, plan_id, if_match, response, audit, "repartition",
               {"microgrids": body.microgrids}) as (plan, info, _):
        _apply_repartition(session, scope, plan, body.microgrids, info)
    return {**info, "etag": response.headers["ETag"]}


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


def _apply_op(session, scope: Scope, plan: Plan, op, moved: _Moved) -> tuple[str, dict, dict]:
    """One operation of a batch: (audit action, audit detail, result)."""
    if op.op == "move":
        info = {"moves": len(op.moves)}
        return "move_households", info, _apply_moves(session, scope, plan, op.moves, info, moved)
    if op.op in ("lock", "unlock"):
        info = {"cell": op.cell_id}
        return f"{op.op}_cell", info, _apply_lock(session, scope, plan, op.cell_id, op.op == "lock", info,
                                                          moved)
    if op.op == "boundary":
        info = {"microgrid": op.microgrid_id}
        geom = parse_polygon(op.geometry, what="micro-grid boundary")
        return "replace_boundary", info, _apply_boundary(session, scope, plan, op.microgrid_id, geom, info)
    if op.op == "split":
        info = {"cell": op.cell_id}
        return "split_cell", info, _apply_split(session, scope, plan, op.cell_id, op.household_ids, info, moved)
    if op.op == "merge":
        info = {"cells": list(op.cells)}
        return "merge_cells", info, _apply_merge(session, scope, plan, op.cells, info, moved)
    info = {"microgrids": op.microgrids}
    return "repartition", info, _apply_repartition(session, scope, plan, op.microgrids, info)


def _failed_at(index: int, n: int, op, exc: Exception) -> Exception:
    """The error of a batch's operation ``index``, with its place in the batch (same
    class, so the same status code)."""
    if isinstance(exc, shapely.errors.GEOSException):
        exc = InputError(f"the polygons could not be computed ({exc}); redraw the micro-grid "
                         "boundary or re-run the partition for the micro-grid, then try again")
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
                action, detail, out = _apply_op(session, scope, plan, op, moved)
            except (GeogridError, shapely.errors.GEOSException) as exc:
                raise _failed_at(i, n, op, exc) from None
            audit.add(session, action, "plan", plan_id, detail={**detail, "batch_index": i})
            results.append({"index": i, "op": op.op, **out})
            # the next operation reads what this one wrote, not the session's stale copies
            session.flush()
            session.expire_all()
    return {"applied": n, "results": results, "notes": moved.notes, "etag": response.headers["ETag"],
            "plan": plan_summary(session, session.get(Plan, plan_id))}
