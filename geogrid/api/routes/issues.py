"""Issues on the map: report, list, read, inbox and statistics (acting on an issue:
:mod:`.issueworkflow`; photos: :mod:`.issuephotos`; Open311 keys: :mod:`.apikeys`).

Mounted by :func:`include_issue_routes` (``create_app`` calls it).  Who may do what is
decided by :mod:`geogrid.issues.workflow`; :mod:`geogrid.api.issueaccess` turns the
caller into an :class:`~geogrid.issues.workflow.Actor` (their role, the highest level of
their scope and whether their scope covers the issue's place); this module owns the
transactions.

Visibility: admins and cadres see the issues whose village, micro-grid or cell is in
their scope: the list, the CSV export, the statistics and the hotspots hold exactly
those, so the export is what the list shows under the same filters and the panel counts.
An issue a cadre reported that lies outside their scope now (re-routed since to a cell
they do not cover, or their scope changed) is in none of them, as access is scoped to
the grid; they still read it by its id (its detail, timeline and photos, to rate or
reopen it, which the workflow leaves to the reporter; the inbox names it for rating).
Anything else answers 404.  Analysts get statistics and hotspots only (no descriptions,
no contacts), with places of fewer than five issues withheld
(:mod:`geogrid.api.issuestats`); planners nothing.

Audit: an issue carries its reporter's name and contact, photos and a place, so every
read of one (the issue, its timeline, a photo) and every list of them (the list, the
inbox, the CSV export, Open311's) is committed to the audit log before the answer goes,
one row per request; refused reads of one issue too.  Statistics and hotspots are
aggregates and are not logged.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from fastapi import APIRouter, FastAPI, Query, Request, Response
from sqlalchemy.orm import Session

from geogrid.api import issuestats
from geogrid.api.deps import AuditDep, PrincipalDep, ScopeDep, SessionDep, begin_write
from geogrid.api.issueaccess import (
    ISSUE_READERS, STATS_READERS, IssueContext, covers, ctx, issue_detail, issues_clause, read_issue, require_role,
    user_level,
)
from geogrid.api.geojson import GeoJSONResponse, feature_collection
from geogrid.api.issuejson import (  # noqa: F401 - IssueIn is Open311's body too
    API_PREFIX, IssueIn, Names, event_json, issue_properties,
)
from geogrid.api.issuejson import free_text as _free
from geogrid.api.issuejson import iso as _iso
from geogrid.api.issuejson import point_json as _point
from geogrid.api.paging import Page, collection_meta, page_limit, parse_bbox
from geogrid.api.scope import Principal, Scope
from geogrid.db import issues as repo
from geogrid.errors import InputError, PermissionDeniedError
from geogrid.issues import stats
from geogrid.issues.catalogue import Catalogue
from geogrid.issues.deadlines import Clock, SystemClock, is_overdue
from geogrid.issues.workflow import LEVELS, STATUSES, TRANSITIONS

__all__ = ["router", "include_issue_routes"]

router = APIRouter(tags=["issues"])


# --- wiring ------------------------------------------------------------------------------------
def include_issue_routes(app: FastAPI, *, issue_settings=None, clock: Clock | None = None,
                         catalogue: Catalogue | None = None) -> FastAPI:
    """Mount the issue API under ``/api/v1`` and Open311 under ``/open311/v2``.

    Call from ``create_app`` before the static web map is mounted at ``/``.  Reads
    :class:`~geogrid.issues.config.IssueSettings` (``GEOGRID_ISSUES_*``) and the category
    catalogue now, not at import.  ``clock`` (default: the system clock) is how tests
    control deadlines.
    """
    from geogrid.api.routes import apikeys, issuephotos, issueworkflow, open311
    from geogrid.issues.catalogue import load_catalogue
    from geogrid.issues.config import IssueSettings

    issue_settings = issue_settings or IssueSettings()
    if catalogue is None:
        catalogue = load_catalogue(issue_settings.catalogue_path)
    app.state.issues = IssueContext(issue_settings, catalogue, clock or SystemClock())
    app.include_router(router, prefix=API_PREFIX)
    app.include_router(issueworkflow.router, prefix=API_PREFIX)
    app.include_router(issuephotos.router, prefix=API_PREFIX)
    app.include_router(apikeys.router, prefix=API_PREFIX)
    app.include_router(open311.router, prefix=open311.PREFIX)
    # the web map (if any) is mounted at "/" and would shadow routes added after it
    routes = app.router.routes
    mounts = [r for r in routes if getattr(r, "path", None) == "" and hasattr(r, "app")]
    for m in mounts:
        routes.remove(m)
        routes.append(m)
    return app


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
                   lat: Annotated[float, Query(ge=-90, le=90)],
                   crs: Annotated[Literal["wgs84", "cgcs2000", "gcj02", "bd09"], Query(
                       description="of lon/lat, as POST /issues takes it")] = "wgs84") -> list[dict]:
    require_role(principal, ISSUE_READERS, "read issues")
    c = ctx(request)
    c.catalogue.get(category)
    if crs in ("gcj02", "bd09"):
        from geogrid.crs import to_wgs84

        (x,), (y,) = to_wgs84([lon], [lat], crs)
        lon, lat = float(x), float(y)
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
    require_role(principal, ISSUE_READERS, "report issues")
    category = c.catalogue.get(body.category)
    routing = repo.route(session, body.lon, body.lat,
                         county_code=request.app.state.settings.county_code,
                         tolerance_m=c.settings.boundary_tolerance_m)
    if not covers(scope, routing.village_code, routing.microgrid_key, routing.cell_key):
        raise PermissionDeniedError(
            "this point is outside your part of the grid; ask the cadre responsible for "
            f"village {routing.village_code or '(none)'} or the county hotline to report it",
            key="issue.report_outside_scope", params={"village": routing.village_code})
    now = c.now()
    # told to the reporter: only the issues they may read (as GET /issues/duplicates)
    duplicates = repo.find_duplicates(session, category=category.code, lon=body.lon, lat=body.lat,
                                      at=now, radius_m=c.settings.duplicate_radius_m,
                                      window_days=c.settings.duplicate_window_days,
                                      where=issues_clause(scope, principal.user_id))
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
            raise InputError(f"unknown {what} {bad}; use any of {', '.join(allowed)}",
                             key="request.unknown_value", params={"values": bad})
    return items


@router.get("/issues", response_class=GeoJSONResponse, summary="Issues in scope as GeoJSON")
def list_issues(
    request: Request, session: SessionDep, principal: PrincipalDep, scope: ScopeDep, audit: AuditDep,
    status: Annotated[str | None, Query(description="comma-separated statuses")] = None,
    category: Annotated[str | None, Query(description="comma-separated category codes")] = None,
    village: Annotated[str | None, Query(max_length=12)] = None,
    cell: Annotated[str | None, Query(max_length=100, description="cell key")] = None,
    bbox: Annotated[str | None, Query(description="minLon,minLat,maxLon,maxLat")] = None,
    overdue: Annotated[bool | None, Query()] = None,
    supervised: Annotated[bool | None, Query(
        description="under 督办 now: flagged overdue by the sweep and still open (a finished "
        "issue is not, though its timeline keeps the supervise step)")] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
):
    require_role(principal, ISSUE_READERS, "read issues")
    c = ctx(request)
    limit = page_limit(request, limit)
    # the scope's issues, as the export and the statistics: not those the caller
    # reported elsewhere, which they read by id (module docstring)
    filters = dict(where=issues_clause(scope),
                   status=_csv_list(status, STATUSES, "status"),
                   category=_csv_list(category, c.catalogue.codes(), "category"),
                   village_code=village, cell_key=cell, bbox=parse_bbox(bbox),
                   overdue_at=c.now() if overdue else None, supervised=supervised)
    rows = repo.issue_rows(session, limit=limit, offset=offset, **filters)
    if overdue is False:  # not overdue: filter in Python (rare)
        rows = [r for r in rows if not is_overdue(r.status, r.due_at, c.now())]
    matched = repo.count_issues(session, **filters) if overdue is not False else None
    if rows:
        audit.record(session, "list", "issue", None, detail={
            "returned": len(rows), "status": status, "category": category, "village": village,
            "cell": cell, "bbox": bbox, "overdue": overdue, "supervised": supervised})
    now = c.now()
    names = Names(session, rows)
    feats = [{"type": "Feature", "id": r.id, "geometry": _point(r.lon, r.lat),
              "properties": issue_properties(r, now, c.catalogue, names)} for r in rows]
    return GeoJSONResponse(feature_collection(
        feats, **collection_meta(request, Page(limit, offset), len(rows), matched)))


@router.get("/issues/inbox", summary="What needs the caller's action, with the reason")
def get_inbox(request: Request, session: SessionDep, principal: PrincipalDep,
              scope: ScopeDep, audit: AuditDep) -> dict:
    require_role(principal, ISSUE_READERS, "read issues")
    c = ctx(request)
    now = c.now()
    rows = repo.inbox_rows(session, user_id=principal.user_id, role=principal.role,
                           level=user_level(session, principal),
                           where=issues_clause(scope), now=now)
    if rows:
        audit.record(session, "list", "issue", None, detail={"inbox": True, "returned": len(rows)})
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
    """The instants of ``since`` and ``until``: the days' China midnights (stats.day_start),
    as the periods are days of China time."""
    return (stats.day_start(since) if since else None), (stats.day_start(until) if until else None)


@router.get("/issues/stats", summary="Counts by status/category/grid/period, on-time share, "
            "median time to close", description=issuestats.STATS_DOC)
def get_stats(request: Request, session: SessionDep, principal: PrincipalDep, scope: ScopeDep,
              by: Annotated[str, Query(description="comma-separated: " + ", ".join(stats.GROUPS))] = "status",
              period: Annotated[Literal["day", "week", "month", "year"] | None, Query()] = None,
              since: Annotated[dt.date | None, Query()] = None,
              until: Annotated[dt.date | None, Query()] = None) -> dict:
    require_role(principal, STATS_READERS, "read issue statistics")
    c = ctx(request)
    groups = _csv_list(by, stats.GROUPS, "grouping") or []
    exact = principal.role in ISSUE_READERS
    if not exact:  # whole weeks at the finest (issuestats.analyst_window)
        since, until = issuestats.analyst_window(period, since, until)
    s, u = _period_bounds(since, until)
    frame = repo.issues_frame(session, where=issues_clause(scope), since=s, until=u, subjects=not exact)
    if exact:
        counts, suppressed, withheld = stats.counts(frame, groups, period).to_dict(orient="records"), [], []
    else:
        # withheld by every issue of the scope, whatever the period: periods that
        # overlap then differ only in parts shown to both (issuestats.withheld_counts)
        whole = repo.issues_frame(session, where=issues_clause(scope), subjects=True) if (s or u) else None
        counts, suppressed, withheld = issuestats.withheld_counts(frame, groups, period, whole=whole)
    summary, summary_withheld = ((stats.summary(frame, c.now()), []) if exact
                                 else issuestats.analyst_summary(frame, c.now()))
    return {"summary": summary, "summary_withheld": summary_withheld, "by": groups, "period": period,
            "since": since.isoformat() if since else None, "until": until.isoformat() if until else None,
            "counts": counts, "suppressed": suppressed, "withheld": withheld,
            "rounded_to": 1 if exact else issuestats.ROUND_TO}


@router.get("/issues/hotspots", response_class=GeoJSONResponse,
            summary="H3 hexagons with issue counts (total, open, overdue)",
            description=issuestats.HOTSPOTS_DOC)
def get_hotspots(request: Request, session: SessionDep, principal: PrincipalDep, scope: ScopeDep,
                 resolution: Annotated[int, Query(ge=5, le=11)] = 8,
                 status: Annotated[str | None, Query()] = None,
                 category: Annotated[str | None, Query()] = None,
                 bbox: Annotated[str | None, Query(description="minLon,minLat,maxLon,maxLat: "
                                                   "only issues in this box")] = None):
    require_role(principal, STATS_READERS, "read issue statistics")
    c = ctx(request)
    statuses = _csv_list(status, STATUSES, "status")
    categories = _csv_list(category, c.catalogue.codes(), "category")
    box = parse_bbox(bbox)
    if principal.role in ISSUE_READERS:
        frame = repo.issues_frame(session, where=issues_clause(scope), status=statuses,
                                  category=categories, bbox=box)
        features = issuestats.exact_hotspots(frame, resolution, c.now())
    else:
        frame = repo.issues_frame(session, where=issues_clause(scope), subjects=True)
        features, resolution = issuestats.withheld_hotspots(
            frame, resolution, c.now(), statuses=statuses, categories=categories, box=box)
    return GeoJSONResponse(feature_collection(features, resolution=resolution))


@router.get("/issues/export.csv", summary="Issues in scope as formula-safe CSV (audited)",
            response_class=Response)
def export_csv(request: Request, session: SessionDep, principal: PrincipalDep, scope: ScopeDep,
               audit: AuditDep,
               status: Annotated[str | None, Query()] = None,
               since: Annotated[dt.date | None, Query()] = None,
               until: Annotated[dt.date | None, Query()] = None) -> Response:
    require_role(principal, ISSUE_READERS, "export issues")
    s, u = _period_bounds(since, until)
    # exactly what GET /issues lists under the same filters, and the panel counts
    frame = repo.issues_frame(session, where=issues_clause(scope),
                              status=_csv_list(status, STATUSES, "status"), since=s, until=u)
    audit.record(session, "export", "issue", None, detail={"rows": len(frame)})
    for col in ("description", "address"):
        if col in frame:
            frame[col] = frame[col].map(_free)
    return Response(stats.csv_bytes(frame), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="issues.csv"'})


@router.get("/issues/{issue_id}", response_class=GeoJSONResponse,
            summary="One issue with its timeline, photos and the caller's allowed actions")
def get_issue(issue_id: str, request: Request, session: SessionDep, principal: PrincipalDep,
              scope: ScopeDep, audit: AuditDep):
    read_issue(session, principal, scope, audit, issue_id)
    out = issue_detail(session, request, principal, scope, issue_id)
    audit.record(session, "read", "issue", issue_id)
    return GeoJSONResponse(out)


@router.get("/issues/{issue_id}/events", summary="The issue's timeline")
def get_events(issue_id: str, session: SessionDep, principal: PrincipalDep,
               scope: ScopeDep, audit: AuditDep) -> list[dict]:
    read_issue(session, principal, scope, audit, issue_id)
    out = [event_json(e) for e in repo.events(session, issue_id)]
    audit.record(session, "read", "issue", issue_id, detail={"part": "timeline"})
    return out
