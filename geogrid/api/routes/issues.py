"""Issues on the map: report, list, act, photos, inbox, statistics and API keys.

Mounted by :func:`include_issue_routes` (``create_app`` calls it).  Who may do what is
decided by :mod:`geogrid.issues.workflow`; this module turns the caller into an
:class:`~geogrid.issues.workflow.Actor` (their role, the highest level of their scope and
whether their scope covers the issue's place) and owns the transactions.

Visibility: admins and cadres see the issues whose village, micro-grid or cell is in
their scope, and the ones they reported; anything else answers 404.  Analysts get
statistics and hotspots only (no descriptions, no contacts); planners nothing.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, File, Form, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import Session

from geogrid.api.deps import AuditDep, PrincipalDep, ScopeDep, SessionDep, begin_write
from geogrid.api.errors import PayloadTooLargeError, StateError
from geogrid.api.geojson import GeoJSONResponse, feature_collection
from geogrid.api.masking import mask_json, mask_name, mask_phone, mask_text
from geogrid.api.paging import Page, collection_meta, parse_bbox
from geogrid.api.scope import Principal, Scope, parse_scope_entry, resolve_scope
from geogrid.db import issues as repo
from geogrid.db.issue_models import Issue, IssuePhoto
from geogrid.db.models import Area, User, new_id
from geogrid.errors import InputError, NotFoundError, PermissionDeniedError
from geogrid.issues import stats
from geogrid.issues.catalogue import Catalogue
from geogrid.issues.deadlines import Clock, SystemClock, is_overdue
from geogrid.issues.photos import PhotoTooLargeError, delete_photo_files, process_photo, store_photo
from geogrid.issues.workflow import (
    ACTIONS, LEVELS, STATUSES, TRANSITIONS, Actor, InvalidTransitionError, IssueState, Target,
    allowed_actions, is_handler, is_manager, level_rank,
)

__all__ = ["router", "include_issue_routes", "IssueContext", "issue_actor", "user_level",
           "issues_clause"]

router = APIRouter(tags=["issues"])

API_PREFIX = "/api/v1"
ISSUE_READERS = frozenset({"admin", "cadre"})
STATS_READERS = frozenset({"admin", "cadre", "analyst"})


# --- wiring ------------------------------------------------------------------------------------
class IssueContext:
    """What the issue routes need, kept on ``app.state.issues``."""

    def __init__(self, settings, catalogue: Catalogue, clock: Clock):
        self.settings = settings
        self.catalogue = catalogue
        self.clock = clock

    def now(self) -> dt.datetime:
        return self.clock.now()


def include_issue_routes(app: FastAPI, *, issue_settings=None, clock: Clock | None = None,
                         catalogue: Catalogue | None = None) -> FastAPI:
    """Mount the issue API under ``/api/v1`` and Open311 under ``/open311/v2``.

    Call from ``create_app`` before the static web map is mounted at ``/``.  Reads
    :class:`~geogrid.issues.config.IssueSettings` (``GEOGRID_ISSUES_*``) and the category
    catalogue now, not at import.  ``clock`` (default: the system clock) is how tests
    control deadlines.
    """
    from geogrid.api.routes import open311
    from geogrid.issues.catalogue import load_catalogue
    from geogrid.issues.config import IssueSettings

    issue_settings = issue_settings or IssueSettings()
    if catalogue is None:
        catalogue = load_catalogue(issue_settings.catalogue_path)
    app.state.issues = IssueContext(issue_settings, catalogue, clock or SystemClock())
    app.include_router(router, prefix=API_PREFIX)
    app.include_router(open311.router, prefix=open311.PREFIX)
    # the web map (if any) is mounted at "/" and would shadow routes added after it
    routes = app.router.routes
    mounts = [r for r in routes if getattr(r, "path", None) == "" and hasattr(r, "app")]
    for m in mounts:
        routes.remove(m)
        routes.append(m)
    return app


def ctx(request: Request) -> IssueContext:
    c = getattr(request.app.state, "issues", None)
    if c is None:  # pragma: no cover - a wiring mistake
        raise RuntimeError("issue routes are not set up: call include_issue_routes(app)")
    return c


# --- who is acting --------------------------------------------------------------------------
def user_level(session: Session, principal: Principal) -> str | None:
    """The highest level of the caller's scope: a cell or micro-grid entry is ``cell``;
    an area entry is its level (village, town, county).  Admins are ``county``."""
    if principal.role == "admin":
        return "county"
    best = -1
    codes = []
    for entry in principal.scopes or ():
        kind, value = parse_scope_entry(entry)
        if kind in ("cell", "microgrid"):
            best = max(best, 0)
        elif kind == "area":
            codes.append(value)
    if codes:
        for lv in session.execute(select(Area.level).where(Area.code.in_(codes))).scalars():
            best = max(best, level_rank(lv))
    return LEVELS[best] if best >= 0 else None


def covers(scope: Scope, village_code, microgrid_key, cell_key) -> bool:
    return bool(scope.unrestricted or (village_code and village_code in scope.village_codes)
                or (microgrid_key and microgrid_key in scope.microgrid_keys)
                or (cell_key and cell_key in scope.cell_keys))


def issues_clause(scope: Scope, user_id: str | None = None):
    """Issues in scope (by village, micro-grid or cell key), plus those ``user_id`` reported."""
    if scope.unrestricted:
        return true()
    parts = []
    if scope.village_codes:
        parts.append(Issue.village_code.in_(sorted(scope.village_codes)))
    if scope.microgrid_keys:
        parts.append(Issue.microgrid_key.in_(sorted(scope.microgrid_keys)))
    if scope.cell_keys:
        parts.append(Issue.cell_key.in_(sorted(scope.cell_keys)))
    if user_id:
        parts.append(Issue.reporter_id == user_id)
    return or_(*parts) if parts else false()


def issue_actor(session: Session, principal: Principal, scope: Scope, issue) -> Actor:
    return Actor(principal.user_id, principal.role, user_level(session, principal),
                 covers(scope, issue.village_code, issue.microgrid_key, issue.cell_key))


def _require(principal: Principal, roles: frozenset[str], what: str) -> None:
    if principal.role not in roles:
        raise PermissionDeniedError(
            f"role {principal.role!r} may not {what}; ask an administrator for a cadre account")


# --- representation ------------------------------------------------------------------------------
def _iso(t: dt.datetime | None) -> str | None:
    return None if t is None else t.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Names:
    """Usernames and village names for a batch of issue rows (two small queries)."""

    def __init__(self, session: Session, rows):
        rows = list(rows)
        self.users = repo.usernames(session, [i for r in rows for i in (r.reporter_id, r.handler_id)])
        self.areas = repo.area_names(session, [r.village_code for r in rows])

    def of(self, row) -> dict:
        return {"reporter_name": self.users.get(row.reporter_id),
                "handler_name": self.users.get(row.handler_id),
                "village_name": self.areas.get(row.village_code)}


def _free(text):
    return mask_text(text) if isinstance(text, str) else text


def event_json(e) -> dict:
    """One step of an issue's timeline, its note and detail masked."""
    return {"at": _iso(e.at), "actor": e.actor_name, "action": e.action,
            "from_status": e.from_status, "to_status": e.to_status, "level": e.level,
            "note": _free(e.note), "detail": mask_json(e.detail) if e.detail else e.detail}


def issue_properties(row, now: dt.datetime, catalogue: Catalogue, names: Names | None = None) -> dict:
    cat = catalogue.get(row.category) if row.category in catalogue.codes() else None
    out = {
        "category": row.category, "category_name": cat.name if cat else row.category,
        # free text is what people typed: an ID or phone number in it is masked like any
        # other (the stored text keeps it, for a reveal by the right person)
        "description": _free(row.description), "address": _free(row.address),
        "priority": row.priority,
        "source": row.source, "status": row.status, "level": row.level,
        "overdue": is_overdue(row.status, row.due_at, now), "supervised": bool(row.supervised),
        "supervision_level": row.supervision_level,
        "plan_id": row.plan_id, "town_code": row.town_code, "village_code": row.village_code,
        "microgrid_key": row.microgrid_key, "cell_key": row.cell_key,
        "near_boundary": bool(row.near_boundary), "boundary_distance_m": row.boundary_distance_m,
        "reporter_id": row.reporter_id, "handler_id": row.handler_id,
        "handler_department": row.handler_department, "reject_reason": _free(row.reject_reason),
        "duplicate_of": row.duplicate_of, "reply": _free(row.reply), "rating": row.rating,
        "due_at": _iso(row.due_at), "reported_at": _iso(row.reported_at),
        "resolved_at": _iso(row.resolved_at), "closed_at": _iso(row.closed_at),
        "updated_at": _iso(row.updated_at), "version": row.version,
        "escalations": row.escalations, "reopen_count": row.reopen_count,
    }
    if names is not None:
        out.update(names.of(row))
    return out


def _point(lon, lat) -> dict:
    return {"type": "Point", "coordinates": [round(float(lon), 7), round(float(lat), 7)]}


def _issue_row(session: Session, issue_id: str):
    cols = repo._COLS  # noqa: SLF001 - the repository's column list
    return session.execute(select(*cols).where(Issue.id == issue_id)).first()


def issue_detail(session: Session, request: Request, principal: Principal, scope: Scope,
                 issue_id: str) -> dict:
    c = ctx(request)
    row = _issue_row(session, issue_id)
    issue = repo.get_issue(session, issue_id)
    actor = issue_actor(session, principal, scope, issue)
    props = issue_properties(row, c.now(), c.catalogue, Names(session, [row]))
    props["contact_name"] = mask_name(issue.contact_name)
    props["contact_phone"] = mask_phone(issue.contact_phone)
    state = repo.state_of(session, issue)
    props["allowed_actions"] = allowed_actions(state, actor)
    props["may_upload"] = _may_upload(state, actor, issue, principal)
    props["may_reroute"] = _may_reroute(state, actor)
    # the cells a person may route it to, offered when the point is near a boundary
    props["route_candidates"] = (
        [dict(ch.as_dict(), current=ch.cell_key == row.cell_key)
         for ch in _candidates(session, request, row.lon, row.lat)]
        if props["may_reroute"] and row.near_boundary else [])
    if props["route_candidates"]:
        vnames = repo.area_names(session, [ch["village_code"] for ch in props["route_candidates"]])
        for ch in props["route_candidates"]:
            ch["village_name"] = vnames.get(ch["village_code"])
    props["timeline"] = [event_json(e) for e in repo.events(session, issue_id)]
    props["photos"] = [_photo_json(p) for p in repo.photos(session, issue_id)]
    return {"type": "Feature", "id": issue_id, "geometry": _point(row.lon, row.lat),
            "properties": props}


def _may_reroute(state: IssueState, actor: Actor) -> bool:
    return state.status in repo.REROUTE_STATUSES and is_manager(state, actor)


def reroute_radius_m(request: Request) -> float:
    """How far from an issue's point a cell counts as a re-routing candidate: the
    boundary tolerance times four, at least 25 m (GPS error plus a misplaced pin)."""
    return max(4 * ctx(request).settings.boundary_tolerance_m, 25.0)


def _candidates(session: Session, request: Request, lon, lat) -> list:
    return repo.candidate_cells(session, float(lon), float(lat),
                                county_code=request.app.state.settings.county_code,
                                radius_m=reroute_radius_m(request))


def _photo_json(p: IssuePhoto) -> dict:
    base = f"{API_PREFIX}/issues/{p.issue_id}/photos/{p.id}"
    return {"id": p.id, "kind": p.kind, "content_type": p.content_type, "width": p.width,
            "height": p.height, "bytes": p.bytes, "created_at": _iso(p.created_at),
            "url": base, "thumbnail_url": base + "?thumbnail=true"}


def _may_upload(state: IssueState, actor: Actor, issue, principal: Principal) -> list[str]:
    kinds = []
    if state.status in ("reported", "accepted", "dispatched", "in_progress") and (
            actor.covers or principal.role == "admin" or issue.reporter_id == principal.user_id):
        kinds.append("report")
    if state.status in ("dispatched", "in_progress") and is_handler(state, actor):
        kinds.append("proof")
    return kinds


# --- bodies ---------------------------------------------------------------------------------------
class IssueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: str = Field(max_length=32, description="a category code from /issues/catalogue")
    lon: float = Field(ge=-180, le=180)
    lat: float = Field(ge=-90, le=90)
    description: str = Field("", max_length=4000)
    address: str | None = Field(None, max_length=500)
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    source: Literal["cadre", "resident", "hotline"] = "cadre"
    contact_name: str | None = Field(None, max_length=100)
    contact_phone: str | None = Field(None, max_length=20, pattern=r"^\+?[0-9 -]{3,20}$")


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal[ACTIONS]  # type: ignore[valid-type]
    version: int | None = Field(None, ge=1, description="the version you saw (optimistic locking)")
    note: str | None = Field(None, max_length=4000)
    reason: Literal["invalid", "duplicate"] | None = None
    duplicate_of: str | None = Field(None, max_length=32)
    handler_id: str | None = Field(None, max_length=32, description="dispatch to this cadre")
    department: str | None = Field(None, max_length=64, description="or to this department code")
    rating: int | None = Field(None, ge=1, le=5)


class RouteIn(BaseModel):
    """Re-route an issue by hand: to a cell (``cell_key``), or by correcting its point
    (``lon`` and ``lat``: routed again automatically).  Exactly one of the two."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, description="the version you saw (optimistic locking)")
    cell_key: str | None = Field(None, min_length=1, max_length=100,
                                 description="a candidate cell near the point, or a cell of "
                                 "your scope in the issue's village")
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)
    note: str | None = Field(None, max_length=4000)


class ApiKeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=200)
    name: str = Field(max_length=200, description="who uses the key, e.g. '12345 hotline'")


# --- routes ----------------------------------------------------------------------------------------
@router.get("/issues/catalogue", summary="Categories, departments, levels, states and actions")
def get_catalogue(request: Request, principal: PrincipalDep) -> dict:
    out = ctx(request).catalogue.as_dict()
    out.update(levels=list(LEVELS), statuses=list(STATUSES),
               transitions={a: list(s) for a, s in TRANSITIONS.items()})
    return out


@router.get("/issues/duplicates", summary="Possible duplicates of a report before it is made")
def get_duplicates(request: Request, session: SessionDep, principal: PrincipalDep,
                   scope: ScopeDep, category: Annotated[str, Query(max_length=32)],
                   lon: Annotated[float, Query(ge=-180, le=180)],
                   lat: Annotated[float, Query(ge=-90, le=90)]) -> list[dict]:
    _require(principal, ISSUE_READERS, "read issues")
    c = ctx(request)
    c.catalogue.get(category)
    found = repo.find_duplicates(session, category=category, lon=lon, lat=lat, at=c.now(),
                                 radius_m=c.settings.duplicate_radius_m,
                                 window_days=c.settings.duplicate_window_days,
                                 where=issues_clause(scope, principal.user_id))
    return [_suggestion(s) for s in found]


def _suggestion(s) -> dict:
    return {"issue_id": s.issue_id, "distance_m": s.distance_m, "status": s.status,
            "reported_at": _iso(s.reported_at)}


def report_issue(session: Session, request: Request, principal: Principal, scope: Scope,
                 body: IssueIn, *, source: str | None = None, reporter_name: str | None = None):
    """Route, check scope, insert: shared by POST /issues and Open311 POST requests."""
    c = ctx(request)
    _require(principal, ISSUE_READERS, "report issues")
    category = c.catalogue.get(body.category)
    routing = repo.route(session, body.lon, body.lat,
                         county_code=request.app.state.settings.county_code,
                         tolerance_m=c.settings.boundary_tolerance_m)
    if not covers(scope, routing.village_code, routing.microgrid_key, routing.cell_key):
        raise PermissionDeniedError(
            "this point is outside your part of the grid; ask the cadre responsible for "
            f"village {routing.village_code or '(none)'} or the county hotline to report it")
    now = c.now()
    duplicates = repo.find_duplicates(session, category=category.code, lon=body.lon, lat=body.lat,
                                      at=now, radius_m=c.settings.duplicate_radius_m,
                                      window_days=c.settings.duplicate_window_days)
    issue = repo.create_issue(
        session, category=category, lon=body.lon, lat=body.lat, routing=routing,
        reporter_id=principal.user_id, reporter_name=reporter_name or principal.username, now=now,
        description=body.description, source=source or body.source, priority=body.priority,
        address=body.address, contact_name=body.contact_name, contact_phone=body.contact_phone)
    return issue, routing, duplicates


@router.post("/issues", status_code=201, response_class=GeoJSONResponse,
             summary="Report an issue at a point (routed to its cell, micro-grid and village)")
def post_issue(request: Request, body: IssueIn, session: SessionDep, principal: PrincipalDep,
               scope: ScopeDep, audit: AuditDep):
    begin_write(session)
    issue, routing, duplicates = report_issue(session, request, principal, scope, body)
    audit.add(session, "report", "issue", issue.id, detail={"category": issue.category})
    session.commit()
    out = issue_detail(session, request, principal, scope, issue.id)
    out["properties"]["possible_duplicates"] = [_suggestion(s) for s in duplicates]
    out["properties"]["alternatives"] = list(routing.alternatives)
    return GeoJSONResponse(out, status_code=201)


def _csv_list(value: str | None, allowed=None, what: str = "value") -> list[str] | None:
    if not value:
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    if allowed is not None:
        bad = [v for v in items if v not in allowed]
        if bad:
            raise InputError(f"unknown {what} {bad}; use any of {', '.join(allowed)}")
    return items


@router.get("/issues", response_class=GeoJSONResponse, summary="Issues in scope as GeoJSON")
def list_issues(
    request: Request, session: SessionDep, principal: PrincipalDep, scope: ScopeDep,
    status: Annotated[str | None, Query(description="comma-separated statuses")] = None,
    category: Annotated[str | None, Query(description="comma-separated category codes")] = None,
    village: Annotated[str | None, Query(max_length=12)] = None,
    cell: Annotated[str | None, Query(max_length=100, description="cell key")] = None,
    bbox: Annotated[str | None, Query(description="minLon,minLat,maxLon,maxLat")] = None,
    overdue: Annotated[bool | None, Query()] = None,
    supervised: Annotated[bool | None, Query()] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
):
    _require(principal, ISSUE_READERS, "read issues")
    c = ctx(request)
    api = request.app.state.api_settings
    limit = min(limit or api.page_limit_default, api.page_limit_max)
    filters = dict(where=issues_clause(scope, principal.user_id),
                   status=_csv_list(status, STATUSES, "status"),
                   category=_csv_list(category, c.catalogue.codes(), "category"),
                   village_code=village, cell_key=cell, bbox=parse_bbox(bbox),
                   overdue_at=c.now() if overdue else None, supervised=supervised)
    rows = repo.issue_rows(session, limit=limit, offset=offset, **filters)
    if overdue is False:  # not overdue: filter in Python (rare)
        rows = [r for r in rows if not is_overdue(r.status, r.due_at, c.now())]
    matched = repo.count_issues(session, **filters) if overdue is not False else None
    now = c.now()
    names = Names(session, rows)
    feats = [{"type": "Feature", "id": r.id, "geometry": _point(r.lon, r.lat),
              "properties": issue_properties(r, now, c.catalogue, names)} for r in rows]
    return GeoJSONResponse(feature_collection(
        feats, **collection_meta(request, Page(limit, offset), len(rows), matched)))


@router.get("/issues/inbox", summary="What needs the caller's action, with the reason")
def get_inbox(request: Request, session: SessionDep, principal: PrincipalDep,
              scope: ScopeDep) -> dict:
    _require(principal, ISSUE_READERS, "read issues")
    c = ctx(request)
    now = c.now()
    rows = repo.inbox_rows(session, user_id=principal.user_id, role=principal.role,
                           level=user_level(session, principal),
                           where=issues_clause(scope), now=now)
    items = []
    names = Names(session, [r for _, r in rows])
    for reason, r in rows:
        props = issue_properties(r, now, c.catalogue, names)
        props["reason"] = reason
        items.append({"type": "Feature", "id": r.id, "geometry": _point(r.lon, r.lat),
                      "properties": props})
    counts: dict[str, int] = {}
    for reason, _ in rows:
        counts[reason] = counts.get(reason, 0) + 1
    return {"type": "FeatureCollection", "features": items, "counts": counts,
            "numberReturned": len(items)}


def _period_bounds(since: dt.date | None, until: dt.date | None):
    s = dt.datetime.combine(since, dt.time(), dt.UTC) if since else None
    u = dt.datetime.combine(until, dt.time(), dt.UTC) if until else None
    return s, u


@router.get("/issues/stats", summary="Counts by status/category/grid/period, on-time share, "
            "median time to close")
def get_stats(request: Request, session: SessionDep, principal: PrincipalDep, scope: ScopeDep,
              by: Annotated[str, Query(description="comma-separated: " + ", ".join(stats.GROUPS))] = "status",
              period: Annotated[Literal["day", "week", "month", "year"] | None, Query()] = None,
              since: Annotated[dt.date | None, Query()] = None,
              until: Annotated[dt.date | None, Query()] = None) -> dict:
    _require(principal, STATS_READERS, "read issue statistics")
    c = ctx(request)
    s, u = _period_bounds(since, until)
    frame = repo.issues_frame(session, where=issues_clause(scope), since=s, until=u)
    groups = _csv_list(by, stats.GROUPS, "grouping") or []
    table = stats.counts(frame, groups, period)
    return {"summary": stats.summary(frame, c.now()), "by": groups, "period": period,
            "counts": table.to_dict(orient="records")}


@router.get("/issues/hotspots", response_class=GeoJSONResponse,
            summary="H3 hexagons with issue counts (total, open, overdue)")
def get_hotspots(request: Request, session: SessionDep, principal: PrincipalDep, scope: ScopeDep,
                 resolution: Annotated[int, Query(ge=5, le=11)] = 8,
                 status: Annotated[str | None, Query()] = None,
                 category: Annotated[str | None, Query()] = None,
                 bbox: Annotated[str | None, Query(description="minLon,minLat,maxLon,maxLat: "
                                                   "only issues in this box")] = None):
    _require(principal, STATS_READERS, "read issue statistics")
    c = ctx(request)
    frame = repo.issues_frame(session, where=issues_clause(scope),
                              status=_csv_list(status, STATUSES, "status"),
                              category=_csv_list(category, c.catalogue.codes(), "category"),
                              bbox=parse_bbox(bbox))
    return GeoJSONResponse(feature_collection(stats.hotspots(frame, resolution, c.now()),
                                              resolution=resolution))


@router.get("/issues/export.csv", summary="Issues in scope as formula-safe CSV (audited)",
            response_class=Response)
def export_csv(request: Request, session: SessionDep, principal: PrincipalDep, scope: ScopeDep,
               audit: AuditDep,
               status: Annotated[str | None, Query()] = None,
               since: Annotated[dt.date | None, Query()] = None,
               until: Annotated[dt.date | None, Query()] = None) -> Response:
    _require(principal, ISSUE_READERS, "export issues")
    s, u = _period_bounds(since, until)
    frame = repo.issues_frame(session, where=issues_clause(scope, principal.user_id),
                              status=_csv_list(status, STATUSES, "status"), since=s, until=u)
    audit.record(session, "export", "issue", None, detail={"rows": len(frame)})
    for col in ("description", "address"):
        if col in frame:
            frame[col] = frame[col].map(_free)
    return Response(stats.csv_bytes(frame), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="issues.csv"'})


@router.post("/issues/supervision", summary="Flag overdue issues as supervised (督办); "
             "run by a scheduler or an administrator")
def run_supervision(request: Request, session: SessionDep, principal: PrincipalDep,
                    audit: AuditDep) -> dict:
    _require(principal, frozenset({"admin"}), "run supervision")
    c = ctx(request)
    begin_write(session)
    changed = repo.supervise_overdue(session, now=c.now(), catalogue=c.catalogue)
    audit.add(session, "supervise", "issue", None, detail={"changed": len(changed)})
    session.commit()
    return {"supervised": changed}


@router.get("/issues/{issue_id}", response_class=GeoJSONResponse,
            summary="One issue with its timeline, photos and the caller's allowed actions")
def get_issue(issue_id: str, request: Request, session: SessionDep, principal: PrincipalDep,
              scope: ScopeDep):
    _require(principal, ISSUE_READERS, "read issues")
    repo.get_issue(session, issue_id, issues_clause(scope, principal.user_id))
    return GeoJSONResponse(issue_detail(session, request, principal, scope, issue_id))


@router.get("/issues/{issue_id}/events", summary="The issue's timeline")
def get_events(issue_id: str, session: SessionDep, principal: PrincipalDep,
               scope: ScopeDep) -> list[dict]:
    _require(principal, ISSUE_READERS, "read issues")
    repo.get_issue(session, issue_id, issues_clause(scope, principal.user_id))
    return [event_json(e) for e in repo.events(session, issue_id)]


@router.get("/issues/{issue_id}/handlers",
            summary="Who the caller may dispatch the issue to: cadres whose scope covers its place")
def get_handlers(issue_id: str, request: Request, session: SessionDep, principal: PrincipalDep,
                 scope: ScopeDep) -> list[dict]:
    """The cadres whose scope covers the issue's cell, micro-grid or village, at a level
    the caller may dispatch to (their own or below; admins: any), nearest level first.
    Only a manager of the issue (who may dispatch it) may ask: others get 403."""
    _require(principal, ISSUE_READERS, "dispatch issues")
    issue = repo.get_issue(session, issue_id, issues_clause(scope, principal.user_id))
    actor = issue_actor(session, principal, scope, issue)
    if not is_manager(repo.state_of(session, issue), actor):
        raise PermissionDeniedError("only a manager of this issue (a cadre responsible for its "
                                    "place at its level or above) may dispatch it")
    county = request.app.state.settings.county_code
    cache = getattr(request.app.state, "scope_cache", None)
    stamp = cache.stamp(session, county) if cache is not None else None
    max_rank = 3 if principal.role == "admin" else level_rank(actor.level)
    out = []
    for u in session.scalars(select(User).where(User.role == "cadre").order_by(User.username)):
        if not u.scopes:
            continue
        p = Principal(u.id, u.username, u.role, tuple(u.scopes))
        s = (cache.resolve(session, p, county_code=county, stamp=stamp) if cache is not None
             else resolve_scope(session, p, county_code=county))
        if not covers(s, issue.village_code, issue.microgrid_key, issue.cell_key):
            continue
        level = user_level(session, p)
        if level is None or level_rank(level) > max_rank:
            continue
        out.append({"id": u.id, "username": u.username, "level": level,
                    "current": u.id == issue.handler_id, "me": u.id == principal.user_id})
    out.sort(key=lambda h: (level_rank(h["level"]), h["username"]))
    return out


@router.post("/issues/{issue_id}/route", response_class=GeoJSONResponse,
             summary="Re-route an issue by hand to a cell, or by correcting its point "
             "(clears the near-boundary flag)",
             responses={403: {"description": "not a manager of the issue"},
                        404: {"description": "no such issue in your scope"},
                        409: {"description": "not reported or accepted any more"},
                        412: {"description": "stale version: someone acted first"},
                        422: {"description": "not an allowed cell, or a point outside the "
                                             "county or in no cell"}})
def post_route(issue_id: str, body: RouteIn, request: Request, session: SessionDep,
               principal: PrincipalDep, scope: ScopeDep):
    """Allowed to managers of the issue (admins, covering cadres at its level or above)
    while it is reported or accepted.  The target cell must be

    - a *candidate*: a cell of the published plan within :func:`reroute_radius_m` of the
      issue's current point (the neighbours a GPS error could have confused), or
    - a cell the caller's scope covers (``cell_key``: in the issue's current village).

    A corrected point (``lon``, ``lat``) is routed again automatically; the cell it falls
    in must pass the same test (a candidate of the old point, or in the caller's scope).
    Recorded in the timeline as ``reroute`` (who, when, from -> to, note); not audited
    (issues hold no personal data beyond the masked contact, which does not change).
    """
    c = ctx(request)
    _require(principal, ISSUE_READERS, "re-route issues")
    if (body.cell_key is None) == (body.lon is None and body.lat is None):
        raise InputError("send either cell_key, or a corrected point (lon and lat), not both")
    if body.cell_key is None and (body.lon is None or body.lat is None):
        raise InputError("a corrected point needs both lon and lat")
    begin_write(session)
    where = issues_clause(scope, principal.user_id)
    issue = repo.get_issue(session, issue_id, where)
    actor = issue_actor(session, principal, scope, issue)
    if not is_manager(repo.state_of(session, issue), actor):
        raise PermissionDeniedError("only a manager of this issue (a cadre responsible for its "
                                    "place at its level or above) may re-route it")
    row = _issue_row(session, issue_id)
    county = request.app.state.settings.county_code
    candidates = {ch.cell_key: ch for ch in _candidates(session, request, row.lon, row.lat)}
    point = distance = None
    if body.cell_key is not None:
        cell = candidates.get(body.cell_key)
        if cell is None:
            found = repo.published_cell(session, body.cell_key, county_code=county)
            if (found is not None and found.village_code == issue.village_code
                    and covers(scope, found.village_code, found.microgrid_key, found.cell_key)):
                cell = found
        if cell is None:
            raise InputError(
                f"cell {body.cell_key!r} is not a cell this issue can be routed to: choose one "
                f"within {reroute_radius_m(request):g} m of its point ("
                + (", ".join(sorted(candidates)) or "none")
                + ") or a cell of your scope in its village, or correct the point instead")
    else:
        routing = repo.route(session, body.lon, body.lat, county_code=county,
                             tolerance_m=c.settings.boundary_tolerance_m)
        if routing.cell_key is None:
            raise InputError(f"({body.lon:.6f}, {body.lat:.6f}) is in no cell of the published "
                             "plan; choose a cell instead")
        cell = repo.published_cell(session, routing.cell_key, county_code=county)
        if cell is None or not (cell.cell_key in candidates or covers(
                scope, routing.village_code, routing.microgrid_key, routing.cell_key)):
            raise InputError(
                f"the corrected point falls in cell {routing.cell_key}, which is neither near "
                "the issue's point nor in your scope; ask the cadre responsible for it")
        point, distance = (body.lon, body.lat), routing.boundary_distance_m
    try:
        repo.reroute(session, issue_id, cell=cell, actor_id=principal.user_id,
                     actor_name=principal.username, now=c.now(), expected_version=body.version,
                     point=point, boundary_distance_m=distance, note=body.note, where=where)
    except InvalidTransitionError as exc:
        raise StateError(str(exc)) from exc
    session.commit()
    return GeoJSONResponse(issue_detail(session, request, principal, scope, issue_id))


def _target(session: Session, request: Request, issue, body: TransitionIn) -> Target | None:
    if body.action != "dispatch":
        return None
    c = ctx(request)
    if body.department and body.handler_id:
        raise InputError("dispatch to a person (handler_id) or a department, not both")
    if body.department:
        dep = c.catalogue.department(body.department)
        return Target(level=dep.level, department=dep.code)
    if not body.handler_id:
        raise InputError("dispatch needs handler_id (a cadre) or department (from the menu)")
    user = session.get(User, body.handler_id)
    if user is None:
        raise NotFoundError(f"user {body.handler_id} not found")
    p = Principal(user.id, user.username, user.role, tuple(user.scopes or ()))
    level = user_level(session, p)
    if level is None:
        raise InputError(f"user {user.username} has no scope, so no level to handle issues at")
    s = resolve_scope(session, p, county_code=request.app.state.settings.county_code)
    return Target(level=level, user_id=user.id, role=user.role,
                  covers=covers(s, issue.village_code, issue.microgrid_key, issue.cell_key))


@router.post("/issues/{issue_id}/transitions", response_class=GeoJSONResponse,
             summary="Act on an issue: accept, reject, dispatch, start, resolve, verify, close, "
             "rate, reopen or escalate")
def post_transition(issue_id: str, body: TransitionIn, request: Request, session: SessionDep,
                    principal: PrincipalDep, scope: ScopeDep, audit: AuditDep):
    c = ctx(request)
    begin_write(session)
    where = issues_clause(scope, principal.user_id)
    issue = repo.get_issue(session, issue_id, where)
    actor = issue_actor(session, principal, scope, issue)
    try:
        repo.transition(session, issue_id, actor, principal.username, body.action, now=c.now(),
                        catalogue=c.catalogue, expected_version=body.version, note=body.note,
                        reason=body.reason, duplicate_of=body.duplicate_of,
                        target=_target(session, request, issue, body), rating=body.rating,
                        where=where)
    except InvalidTransitionError as exc:
        raise StateError(str(exc)) from exc
    audit.add(session, body.action, "issue", issue_id)
    session.commit()
    return GeoJSONResponse(issue_detail(session, request, principal, scope, issue_id))


@router.post("/issues/{issue_id}/photos", status_code=201,
             summary="Upload a photo (kind=report, or kind=proof of the fix before resolving)")
def post_photo(issue_id: str, request: Request, session: SessionDep, principal: PrincipalDep,
               scope: ScopeDep, audit: AuditDep, file: Annotated[UploadFile, File()],
               kind: Annotated[Literal["report", "proof"], Form()] = "report") -> dict:
    c = ctx(request)
    _require(principal, ISSUE_READERS, "upload photos")
    limit = c.settings.photo_max_bytes
    data = file.file.read(limit + 1)
    try:
        processed = process_photo(data, max_bytes=limit, max_pixels=c.settings.photo_max_pixels,
                                  thumb_px=c.settings.thumbnail_px)
    except PhotoTooLargeError as exc:
        raise PayloadTooLargeError(str(exc)) from exc
    begin_write(session)
    issue = repo.get_issue(session, issue_id, issues_clause(scope, principal.user_id))
    actor = issue_actor(session, principal, scope, issue)
    allowed = _may_upload(repo.state_of(session, issue), actor, issue, principal)
    if kind not in allowed:
        if kind == "proof":
            raise PermissionDeniedError("only the handler may upload a proof photo, while the "
                                        "issue is dispatched or in progress")
        raise PermissionDeniedError("photos can be added to an open issue by its reporter or a "
                                    "cadre responsible for its place")
    data_dir = request.app.state.settings.data_dir
    photo_id = new_id()
    path, thumb = store_photo(data_dir, issue.id, photo_id, processed)
    try:
        photo = repo.add_photo(session, issue, photo_id=photo_id, kind=kind, path=path,
                               thumb_path=thumb, processed=processed,
                               uploaded_by=principal.user_id, actor_name=principal.username,
                               now=c.now())
        audit.add(session, "photo", "issue", issue.id, detail={"photo": photo_id, "kind": kind})
        session.commit()
    except BaseException:
        session.rollback()
        delete_photo_files(data_dir, path, thumb)
        raise
    return _photo_json(photo)


@router.get("/issues/{issue_id}/photos/{photo_id}", response_class=FileResponse,
            summary="A photo (EXIF stripped) or its thumbnail")
def get_photo(issue_id: str, photo_id: str, request: Request, session: SessionDep,
              principal: PrincipalDep, scope: ScopeDep,
              thumbnail: Annotated[bool, Query()] = False):
    _require(principal, ISSUE_READERS, "read issues")
    repo.get_issue(session, issue_id, issues_clause(scope, principal.user_id))
    photo = session.get(IssuePhoto, photo_id)
    if photo is None or photo.issue_id != issue_id:
        raise NotFoundError(f"photo {photo_id} not found")
    root = request.app.state.settings.data_dir
    path = root / (photo.thumb_path if thumbnail else photo.path)
    if not path.is_file():
        raise NotFoundError(f"photo {photo_id} is recorded but its file is missing under "
                            f"{root}; restore GEOGRID_DATA_DIR from backup")
    return FileResponse(path, media_type="image/jpeg" if thumbnail else photo.content_type)


# --- Open311 API keys ----------------------------------------------------------------------------------
@router.post("/api-keys", status_code=201, summary="Create an Open311 API key for a user (admin)")
def post_api_key(body: ApiKeyIn, session: SessionDep, principal: PrincipalDep,
                 audit: AuditDep) -> dict:
    _require(principal, frozenset({"admin"}), "manage API keys")
    begin_write(session)
    user = session.execute(select(User).where(User.username == body.username)).scalar_one_or_none()
    if user is None:
        raise NotFoundError(f"user {body.username!r} not found; create it with `geogrid users add`")
    key, raw = repo.create_api_key(session, user.id, body.name)
    audit.add(session, "create_api_key", "api_key", key.id, detail={"user": user.username})
    session.commit()
    return {"id": key.id, "api_key": raw, "prefix": key.prefix, "username": user.username,
            "name": key.name, "note": "shown once: store it now"}


@router.get("/api-keys", summary="Open311 API keys (admin; never the keys themselves)")
def get_api_keys(session: SessionDep, principal: PrincipalDep) -> list[dict]:
    _require(principal, frozenset({"admin"}), "manage API keys")
    names = dict(session.execute(select(User.id, User.username)).all())
    return [{"id": k.id, "prefix": k.prefix, "username": names.get(k.user_id), "name": k.name,
             "created_at": _iso(k.created_at), "revoked_at": _iso(k.revoked_at)}
            for k in repo.list_api_keys(session)]


@router.delete("/api-keys/{key_id}", summary="Revoke an Open311 API key (admin)")
def delete_api_key(key_id: str, request: Request, session: SessionDep, principal: PrincipalDep,
                   audit: AuditDep) -> dict:
    _require(principal, frozenset({"admin"}), "manage API keys")
    begin_write(session)
    key = repo.revoke_api_key(session, key_id, ctx(request).now())
    audit.add(session, "revoke_api_key", "api_key", key.id)
    session.commit()
    return {"id": key.id, "revoked_at": _iso(key.revoked_at)}
