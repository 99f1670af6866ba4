"""Acting on an issue: how much awaits the caller (the inbox's count), whom it may be
dispatched to, re-routing it by hand, the workflow's transitions (accept ... close, rate,
reopen, escalate) and supervision of overdue issues.

Mounted with the other issue routes by :func:`geogrid.api.routes.issues.include_issue_routes`.
Who may do what is decided by :mod:`geogrid.issues.workflow`; :mod:`geogrid.api.issueaccess`
turns the caller into an :class:`~geogrid.issues.workflow.Actor`; this module owns the
transactions of the actions.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from geogrid.api.deps import AuditDep, PrincipalDep, ScopeDep, SessionDep, begin_write
from geogrid.api.errors import StateError
from geogrid.api.geojson import GeoJSONResponse
from geogrid.api.issueaccess import (
    ISSUE_READERS, covers, ctx, issue_actor, issue_detail, issue_row, issues_clause, require_role,
    reroute_radius_m, route_candidates, user_level,
)
from geogrid.api.issuejson import API_PREFIX, RouteIn, TransitionIn
from geogrid.api.scope import Principal, Scope, resolve_scope
from geogrid.db import issues as repo
from geogrid.db.models import User
from geogrid.errors import InputError, PermissionDeniedError
from geogrid.issues.workflow import InvalidTransitionError, Target, is_manager, level_rank

__all__ = ["router"]

router = APIRouter(tags=["issues"])


@router.post("/issues/supervision", summary="Flag overdue issues as supervised (督办) now; "
             "the server does it itself every GEOGRID_ISSUES_SUPERVISION_INTERVAL_S seconds")
def run_supervision(request: Request, session: SessionDep, principal: PrincipalDep,
                    audit: AuditDep) -> dict:
    require_role(principal, frozenset({"admin"}), "run supervision")
    c = ctx(request)
    begin_write(session)
    changed = repo.supervise_overdue(session, now=c.now(), catalogue=c.catalogue)
    audit.add(session, "supervise", "issue", None, detail={"changed": len(changed)})
    session.commit()
    return {"supervised": changed}


@router.get("/issues/inbox/count", summary="How many issues await the caller's action, by "
            "reason: the inbox's counts, with nothing of the issues (not audited)")
def get_inbox_count(request: Request, session: SessionDep, principal: PrincipalDep,
                    scope: ScopeDep) -> dict:
    """What the map's 待办 badge reads every minute: ``issues`` (distinct issues) and
    ``counts`` (by reason, as ``GET /issues/inbox`` gives them).  No description, place,
    contact or id goes out, so the read is not written to the audit log."""
    require_role(principal, ISSUE_READERS, "read issues")
    rows = repo.inbox_rows(session, user_id=principal.user_id, role=principal.role,
                           level=user_level(session, principal), where=issues_clause(scope),
                           now=ctx(request).now())
    counts: dict[str, int] = {}
    for reason, _ in rows:
        counts[reason] = counts.get(reason, 0) + 1
    return {"issues": len({r.id for _, r in rows}), "counts": counts}


@router.get("/issues/{issue_id}/handlers",
            summary="Who the caller may dispatch the issue to: cadres whose scope covers its place")
def get_handlers(issue_id: str, request: Request, session: SessionDep, principal: PrincipalDep,
                 scope: ScopeDep) -> list[dict]:
    """The cadres whose scope covers the issue's cell, micro-grid or village, at a level
    the caller may dispatch to (their own or below; admins: any), nearest level first.
    Only a manager of the issue (who may dispatch it) may ask: others get 403."""
    require_role(principal, ISSUE_READERS, "dispatch issues")
    issue = repo.get_issue(session, issue_id, issues_clause(scope, principal.user_id))
    actor = issue_actor(session, principal, scope, issue)
    if not is_manager(repo.state_of(session, issue), actor):
        raise PermissionDeniedError("only a manager of this issue (a cadre responsible for its "
                                    "place at its level or above) may dispatch it",
                                    key="issue.manager_only", params={"action": "dispatch"})
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
    require_role(principal, ISSUE_READERS, "re-route issues")
    if (body.cell_key is None) == (body.lon is None and body.lat is None):
        raise InputError("send either cell_key, or a corrected point (lon and lat), not both",
                         key="issue.reroute_cell_or_point")
    if body.cell_key is None and (body.lon is None or body.lat is None):
        raise InputError("a corrected point needs both lon and lat", key="issue.reroute_needs_lon_lat")
    begin_write(session)
    where = issues_clause(scope, principal.user_id)
    issue = repo.get_issue(session, issue_id, where)
    actor = issue_actor(session, principal, scope, issue)
    if not is_manager(repo.state_of(session, issue), actor):
        raise PermissionDeniedError("only a manager of this issue (a cadre responsible for its "
                                    "place at its level or above) may re-route it",
                                    key="issue.manager_only", params={"action": "reroute"})
    row = issue_row(session, issue_id)
    county = request.app.state.settings.county_code
    candidates = {ch.cell_key: ch for ch in route_candidates(session, request, row.lon, row.lat)}
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
                + ") or a cell of your scope in its village, or correct the point instead",
                key="issue.reroute_cell_not_allowed", params={"cell": body.cell_key})
    else:
        routing = repo.route(session, body.lon, body.lat, county_code=county,
                             tolerance_m=c.settings.boundary_tolerance_m)
        if routing.cell_key is None:
            raise InputError(f"({body.lon:.6f}, {body.lat:.6f}) is in no cell of the published "
                             "plan; choose a cell instead", key="issue.reroute_point_in_no_cell")
        cell = repo.published_cell(session, routing.cell_key, county_code=county)
        if cell is None or not (cell.cell_key in candidates or covers(
                scope, routing.village_code, routing.microgrid_key, routing.cell_key)):
            raise InputError(
                f"the corrected point falls in cell {routing.cell_key}, which is neither near "
                "the issue's point nor in your scope; ask the cadre responsible for it",
                key="issue.reroute_point_not_allowed", params={"cell": routing.cell_key})
        point, distance = (body.lon, body.lat), routing.boundary_distance_m
    try:
        repo.reroute(session, issue_id, cell=cell, actor_id=principal.user_id,
                     actor_name=principal.username, now=c.now(), expected_version=body.version,
                     point=point, boundary_distance_m=distance, note=body.note, where=where)
    except InvalidTransitionError as exc:
        raise StateError(str(exc)) from exc
    session.commit()
    return GeoJSONResponse(issue_detail(session, request, principal, scope, issue_id))


def _target(session: Session, request: Request, principal: Principal, scope: Scope, issue,
            body: TransitionIn) -> Target | None:
    if body.action != "dispatch":
        return None
    c = ctx(request)
    if body.department and body.handler_id:
        raise InputError("dispatch to a person (handler_id) or a department, not both",
                         key="issue.dispatch_person_or_department")
    if body.department:
        dep = c.catalogue.department(body.department)
        return Target(level=dep.level, department=dep.code)
    if not body.handler_id:
        raise InputError("dispatch needs handler_id (a cadre) or department (from the menu)",
                         key="issue.dispatch_needs_target")
    target = _handler(session, request, principal, scope, issue, body.handler_id)
    if target is None:
        # one answer for every id the handler list would not offer (no such account, one
        # of no scope, not a cadre, not covering the place, above the caller's level):
        # the caller may not see other accounts, so none is named or told apart
        raise InputError(f"handler_id is not a cadre this issue may be dispatched to; choose one "
                         f"from GET {API_PREFIX}/issues/{issue.id}/handlers", key="issue.handler_not_allowed")
    return target


def _handler(session: Session, request: Request, principal: Principal, scope: Scope, issue,
             user_id: str) -> Target | None:
    """The dispatch target ``user_id`` if GET /issues/{id}/handlers would offer them to the
    caller (a cadre with a scope covering the issue's place, at the caller's level or
    below; admins: any level), else None."""
    user = session.get(User, user_id)
    if user is None or user.role != "cadre" or not user.scopes:
        return None
    p = Principal(user.id, user.username, user.role, tuple(user.scopes))
    level = user_level(session, p)
    actor = issue_actor(session, principal, scope, issue)
    max_rank = 3 if principal.role == "admin" else level_rank(actor.level) if actor.level else -1
    if level is None or level_rank(level) > max_rank:
        return None
    s = resolve_scope(session, p, county_code=request.app.state.settings.county_code)
    if not covers(s, issue.village_code, issue.microgrid_key, issue.cell_key):
        return None
    return Target(level=level, user_id=user.id, role=user.role, covers=True)


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
                        target=_target(session, request, principal, scope, issue, body),
                        rating=body.rating,
                        where=where)
    except InvalidTransitionError as exc:
        raise StateError(str(exc)) from exc
    audit.add(session, body.action, "issue", issue_id)
    session.commit()
    return GeoJSONResponse(issue_detail(session, request, principal, scope, issue_id))
