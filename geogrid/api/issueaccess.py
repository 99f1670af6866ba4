"""Who is acting on an issue, and what the API shows of one: the context the issue
routes share (:class:`IssueContext`, on ``app.state.issues``), the caller as an
:class:`~geogrid.issues.workflow.Actor` (their role, the highest level of their scope
and whether it covers the issue's place), the issues a scope sees
(:func:`issues_clause`), and an issue's detail with what the caller may do with it.

Used by the issue routes (:mod:`geogrid.api.routes.issues`), the actions on an issue
(:mod:`~geogrid.api.routes.issueworkflow`), photos (:mod:`~geogrid.api.routes.issuephotos`),
Open311 keys and Open311 itself.
"""

from __future__ import annotations

import datetime as dt

from fastapi import Request
from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import Session

from geogrid.api.issuejson import Names, event_json, issue_properties
from geogrid.api.issuejson import photo_json as _photo_json
from geogrid.api.issuejson import point_json as _point
from geogrid.api.masking import mask_name, mask_phone
from geogrid.api.rootpath import root_path
from geogrid.api.scope import Principal, Scope, parse_scope_entry
from geogrid.db import issues as repo
from geogrid.db.issue_models import Issue
from geogrid.db.models import Area
from geogrid.errors import NotFoundError, PermissionDeniedError
from geogrid.issues.catalogue import Catalogue
from geogrid.issues.deadlines import Clock
from geogrid.issues.workflow import LEVELS, Actor, IssueState, allowed_actions, is_handler, is_manager, level_rank

__all__ = ["IssueContext", "ctx", "ISSUE_READERS", "STATS_READERS", "user_level", "covers", "issues_clause",
           "issue_actor", "require_role", "read_issue", "issue_row", "issue_detail", "may_reroute",
           "reroute_radius_m", "route_candidates", "may_upload", "dispatch_departments"]

ISSUE_READERS = frozenset({"admin", "cadre"})
STATS_READERS = frozenset({"admin", "cadre", "analyst"})


class IssueContext:
    """What the issue routes need, kept on ``app.state.issues``."""

    def __init__(self, settings, catalogue: Catalogue, clock: Clock):
        self.settings = settings
        self.catalogue = catalogue
        self.clock = clock

    def now(self) -> dt.datetime:
        return self.clock.now()


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
    return bool(scope.covers_village(village_code)
                or (microgrid_key and microgrid_key in scope.microgrid_keys)
                or (cell_key and cell_key in scope.cell_keys))


def issues_clause(scope: Scope, user_id: str | None = None):
    """Issues in scope (by village, micro-grid or cell key), plus those ``user_id`` reported."""
    if scope.everything:
        return true()
    parts = []
    if scope.unrestricted or scope.village_codes:
        parts.append(scope.village_clause(Issue.village_code, scope.in_counties(Issue.geom)))
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


def require_role(principal: Principal, roles: frozenset[str], what: str) -> None:
    if principal.role not in roles:
        raise PermissionDeniedError(
            f"role {principal.role!r} may not {what}; ask an administrator for a cadre account",
            key="issue.role_may_not", params={"role": principal.role})


def read_issue(session: Session, principal: Principal, scope: Scope, audit, issue_id: str):
    """The issue ``issue_id`` for a read of it or of its timeline or photos: 403 to a role
    that reads no issues, 404 outside the caller's scope (and not reported by them),
    either refusal committed to the audit log (``audit``: the request's
    :class:`~geogrid.api.deps.Auditor`) before it is told.  The caller records the read
    itself once it has what it returns."""
    try:
        require_role(principal, ISSUE_READERS, "read issues")
        return repo.get_issue(session, issue_id, issues_clause(scope, principal.user_id))
    except (NotFoundError, PermissionDeniedError) as exc:
        audit.refused(session, exc, "read", "issue", issue_id)
        raise


# --- representation ------------------------------------------------------------------------------
def issue_row(session: Session, issue_id: str):
    cols = repo._COLS  # noqa: SLF001 - the repository's column list
    return session.execute(select(*cols).where(Issue.id == issue_id)).first()


def issue_detail(session: Session, request: Request, principal: Principal, scope: Scope,
                 issue_id: str) -> dict:
    c = ctx(request)
    row = issue_row(session, issue_id)
    issue = repo.get_issue(session, issue_id)
    actor = issue_actor(session, principal, scope, issue)
    props = issue_properties(row, c.now(), c.catalogue, Names(session, [row]))
    props["contact_name"] = mask_name(issue.contact_name)
    props["contact_phone"] = mask_phone(issue.contact_phone)
    state = repo.state_of(session, issue)
    props["allowed_actions"] = allowed_actions(state, actor)
    props["dispatch_departments"] = (dispatch_departments(c.catalogue, actor)
                                     if "dispatch" in props["allowed_actions"] else [])
    props["may_upload"] = may_upload(state, actor, issue, principal)
    props["may_reroute"] = may_reroute(state, actor)
    # the cells a person may route it to, offered when the point is near a boundary
    props["route_candidates"] = (
        [dict(ch.as_dict(), current=ch.cell_key == row.cell_key)
         for ch in route_candidates(session, request, row.lon, row.lat)]
        if props["may_reroute"] and row.near_boundary else [])
    if props["route_candidates"]:
        vnames = repo.area_names(session, [ch["village_code"] for ch in props["route_candidates"]])
        for ch in props["route_candidates"]:
            ch["village_name"] = vnames.get(ch["village_code"])
    props["timeline"] = [event_json(e) for e in repo.events(session, issue_id)]
    props["photos"] = [_photo_json(p, root_path(request)) for p in repo.photos(session, issue_id)]
    return {"type": "Feature", "id": issue_id, "geometry": _point(row.lon, row.lat),
            "properties": props}


def dispatch_departments(catalogue: Catalogue, actor: Actor) -> list[str]:
    """The departments ``actor`` may dispatch an issue to: those at their level or below
    (admins: all), as :func:`geogrid.issues.workflow.apply` allows; the others are
    escalated to, not dispatched to."""
    return [d.code for d in catalogue.departments
            if actor.is_admin or level_rank(d.level) <= level_rank(actor.level)]


def may_reroute(state: IssueState, actor: Actor) -> bool:
    return state.status in repo.REROUTE_STATUSES and is_manager(state, actor)


def reroute_radius_m(request: Request) -> float:
    """How far from an issue's point a cell counts as a re-routing candidate: the
    boundary tolerance times four, at least 25 m (GPS error plus a misplaced pin)."""
    return max(4 * ctx(request).settings.boundary_tolerance_m, 25.0)


def route_candidates(session: Session, request: Request, lon, lat) -> list:
    return repo.candidate_cells(session, float(lon), float(lat),
                                county_code=request.app.state.settings.county_code,
                                radius_m=reroute_radius_m(request))


def may_upload(state: IssueState, actor: Actor, issue, principal: Principal) -> list[str]:
    kinds = []
    if state.status in ("reported", "accepted", "dispatched", "in_progress") and (
            actor.covers or principal.role == "admin" or issue.reporter_id == principal.user_id):
        kinds.append("report")
    if state.status in ("dispatched", "in_progress") and is_handler(state, actor):
        kinds.append("proof")
    return kinds
