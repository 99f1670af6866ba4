"""Micro-grids and cells of a plan (default: the published one), as GeoJSON."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, select

from geogrid.api.deps import PrincipalDep, ScopeDep, SessionDep
from geogrid.api.geojson import GeoJSONResponse, feature, feature_collection
from geogrid.api.paging import Page, collection_meta, page_limit, parse_bbox
from geogrid.api.scope import Principal, Scope, published_plan_id, require
from geogrid.db.bulk import bbox_clause
from geogrid.db.models import Cell, Microgrid, Plan
from geogrid.errors import NotFoundError

router = APIRouter(tags=["grid"])

DRAFT_ROLES = frozenset({"admin", "planner"})


def visible_plan(session, principal: Principal, plan_id: str) -> Plan:
    """The plan, if the caller may see it: drafts only for planners and admins."""
    plan = session.get(Plan, plan_id)
    if plan is None or (plan.status == "draft" and principal.role not in DRAFT_ROLES):
        raise NotFoundError(f"plan {plan_id} not found", key="plan.not_found", params={"plan": plan_id})
    return plan


def resolve_plan_id(session, principal: Principal, scope: Scope, plan: str | None,
                    request: Request | None = None) -> str | None:
    if plan is None:
        if request is not None and hasattr(request.state, "any_published_plan_id"):
            # read with the scope stamp
            return default_plan_id(scope, request.state.any_published_plan_id)
        return scope.published_plan_id or published_plan_id(session)
    return visible_plan(session, principal, plan).id


def default_plan_id(scope: Scope, any_published_plan_id: str | None) -> str | None:
    """The plan of a read that names none: the scope's published plan, else the newest
    published plan of any county (the scope stamp's second field)."""
    return scope.published_plan_id or any_published_plan_id


def get_cell_in_scope(session, scope: Scope, cell_id: str):
    row = session.execute(select(Cell.id, Cell.plan_id, Cell.microgrid_id)
                          .where(Cell.id == cell_id, scope.cells_clause())).first()
    if row is None:
        raise NotFoundError(f"cell {cell_id} not found", key="cell.not_found", params={"cell": cell_id})
    return row


def _geojson(col):
    return func.ST_AsGeoJSON(col)


def _bbox(session, table, box):
    from sqlalchemy import text

    clause, params = bbox_clause(session, table, box, alias=table)
    return text(clause).bindparams(**params)


def microgrid_props(r) -> dict:
    return {"plan_id": r.plan_id, "microgrid_key": r.microgrid_key, "village_code": r.village_code,
            "households": r.households, "area_km2": r.area_km2}


def cell_props(r) -> dict:
    return {"plan_id": r.plan_id, "microgrid_id": r.microgrid_id, "cell_key": r.cell_key,
            "village_code": r.village_code, "households": r.households, "locked": bool(r.locked)}


_MG_COLS = (Microgrid.id, Microgrid.plan_id, Microgrid.microgrid_key, Microgrid.village_code,
            Microgrid.households, Microgrid.area_km2)
_CELL_COLS = (Cell.id, Cell.plan_id, Cell.microgrid_id, Cell.cell_key, Cell.village_code,
              Cell.households, Cell.locked)


@router.get("/microgrids", response_class=GeoJSONResponse, summary="Micro-grids of a plan in scope")
def list_microgrids(
    request: Request, session: SessionDep, principal: PrincipalDep, scope: ScopeDep,
    plan: Annotated[str | None, Query(description="plan id (default: published)")] = None,
    bbox: Annotated[str | None, Query()] = None,
    village: Annotated[str | None, Query(max_length=12)] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
):
    require(principal, "read_geometry")
    limit = page_limit(request, limit)
    box = parse_bbox(bbox)
    plan_id = resolve_plan_id(session, principal, scope, plan)
    where = [Microgrid.plan_id == plan_id, scope.microgrids_clause()]
    if box:
        where.append(_bbox(session, "microgrids", box))
    if village:
        where.append(Microgrid.village_code == village)
    rows = session.execute(select(*_MG_COLS, _geojson(Microgrid.geom).label("gj")).where(*where)
                           .order_by(Microgrid.microgrid_key).limit(limit).offset(offset)).all()
    matched = session.execute(select(func.count()).select_from(Microgrid).where(*where)).scalar_one()
    feats = [feature(r.id, r.gj, microgrid_props(r)) for r in rows]
    return GeoJSONResponse(feature_collection(feats, **collection_meta(request, Page(limit, offset), len(rows), matched)))


@router.get("/microgrids/{microgrid_id}", response_class=GeoJSONResponse, summary="One micro-grid")
def get_microgrid(microgrid_id: str, session: SessionDep, principal: PrincipalDep, scope: ScopeDep):
    require(principal, "read_geometry")
    r = session.execute(select(*_MG_COLS, _geojson(Microgrid.geom).label("gj"))
                        .where(Microgrid.id == microgrid_id, scope.microgrids_clause())).first()
    if r is None:
        raise NotFoundError(f"micro-grid {microgrid_id} not found",
                            key="microgrid.not_found", params={"microgrid": microgrid_id})
    visible_plan(session, principal, r.plan_id)
    return feature(r.id, r.gj, microgrid_props(r))


@router.get("/cells", response_class=GeoJSONResponse, summary="Cells of a plan in scope")
def list_cells(
    request: Request, session: SessionDep, principal: PrincipalDep, scope: ScopeDep,
    plan: Annotated[str | None, Query(description="plan id (default: published)")] = None,
    microgrid: Annotated[str | None, Query(description="micro-grid id")] = None,
    bbox: Annotated[str | None, Query()] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
):
    require(principal, "read_geometry")
    limit = page_limit(request, limit)
    box = parse_bbox(bbox)
    plan_id = resolve_plan_id(session, principal, scope, plan)
    where = [Cell.plan_id == plan_id, scope.cells_clause()]
    if microgrid:
        where.append(Cell.microgrid_id == microgrid)
    if box:
        where.append(_bbox(session, "cells", box))
    rows = session.execute(select(*_CELL_COLS, _geojson(Cell.geom).label("gj")).where(*where)
                           .order_by(Cell.cell_key).limit(limit).offset(offset)).all()
    matched = session.execute(select(func.count()).select_from(Cell).where(*where)).scalar_one()
    feats = [feature(r.id, r.gj, cell_props(r)) for r in rows]
    return GeoJSONResponse(feature_collection(feats, **collection_meta(request, Page(limit, offset), len(rows), matched)))


@router.get("/cells/{cell_id}", response_class=GeoJSONResponse, summary="One cell")
def get_cell(cell_id: str, session: SessionDep, principal: PrincipalDep, scope: ScopeDep):
    require(principal, "read_geometry")
    r = session.execute(select(*_CELL_COLS, _geojson(Cell.geom).label("gj"))
                        .where(Cell.id == cell_id, scope.cells_clause())).first()
    if r is None:
        raise NotFoundError(f"cell {cell_id} not found", key="cell.not_found", params={"cell": cell_id})
    visible_plan(session, principal, r.plan_id)
    return feature(r.id, r.gj, cell_props(r))
