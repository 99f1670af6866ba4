"""Administrative areas (county, towns, villages) in scope, as GeoJSON."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, or_, select

from geogrid.api.deps import PrincipalDep, ScopeDep, SessionDep
from geogrid.api.geojson import GeoJSONResponse, feature, feature_collection
from geogrid.api.paging import Page, collection_meta, page_limit
from geogrid.api.scope import require
from geogrid.db.models import Area
from geogrid.errors import NotFoundError

router = APIRouter(tags=["areas"])

_COLS = (Area.id, Area.code, Area.name, Area.level, Area.parent_code, Area.vintage)


def _props(r) -> dict:
    return {"code": r.code, "name": r.name, "level": r.level, "parent_code": r.parent_code,
            "vintage": r.vintage}


@router.get("/areas", response_class=GeoJSONResponse, summary="Areas in scope")
def list_areas(
    request: Request, session: SessionDep, principal: PrincipalDep, scope: ScopeDep,
    level: Annotated[Literal["county", "town", "village"] | None, Query()] = None,
    parent: Annotated[str | None, Query(description="parent code", max_length=12)] = None,
    geometry: Annotated[bool, Query(description="include polygons")] = True,
    limit: Annotated[int | None, Query(ge=1)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
):
    require(principal, "read_geometry")
    limit = page_limit(request, limit)
    where = [scope.areas_clause()]
    if level:
        where.append(Area.level == level)
    if parent:
        where.append(Area.parent_code == parent)
    cols = _COLS + ((func.ST_AsGeoJSON(Area.geom).label("gj"),) if geometry else ())
    rows = session.execute(select(*cols).where(*where).order_by(Area.code).limit(limit).offset(offset)).all()
    matched = session.execute(select(func.count()).select_from(Area).where(*where)).scalar_one()
    feats = [feature(r.id, r.gj if geometry else None, _props(r)) for r in rows]
    return GeoJSONResponse(feature_collection(feats, **collection_meta(request, Page(limit, offset), len(rows), matched)))


@router.get("/areas/{area}", response_class=GeoJSONResponse, summary="One area, by id or code")
def get_area(area: str, session: SessionDep, principal: PrincipalDep, scope: ScopeDep):
    require(principal, "read_geometry")
    r = session.execute(select(*_COLS, func.ST_AsGeoJSON(Area.geom).label("gj"))
                        .where(or_(Area.id == area, Area.code == area), scope.areas_clause())).first()
    if r is None:
        raise NotFoundError(f"area {area} not found", key="area.not_found", params={"area": area})
    return feature(r.id, r.gj, _props(r))
