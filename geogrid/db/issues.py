"""Issues in the database: report, transition, photos, timeline, inbox, statistics (routing
to the published plan: :mod:`geogrid.db.issue_routing`).

Repository functions take a Session and never commit; the route or command owns the
transaction.  Every transition is a compare-and-swap on ``issues.version``
(``UPDATE ... WHERE id = :id AND version = :v``): of two handlers acting on one issue at
once exactly one succeeds, the other gets :class:`~geogrid.errors.ConflictError` (or,
if it read after the first committed, :class:`~geogrid.issues.workflow.InvalidTransitionError`).

Scope is the API's business: functions that list issues take a SQLAlchemy clause
(``where``) the caller built from the user's scope.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets

import pandas as pd
from sqlalchemy import and_, func, not_, or_, select, text, update
from sqlalchemy.orm import Session

from geogrid.db.bulk import bbox_clause
from geogrid.db.issue_models import ApiKey, Issue, IssueEvent, IssuePhoto
from geogrid.db.areas import area_names  # noqa: F401 - re-exported for the issue routes
from geogrid.db.issuesubjects import SUBJECT, issue_subjects
from geogrid.db.issue_routing import (  # noqa: F401 - re-exported: the issue API's one repository
    REROUTE_STATUSES, CellChoice, OutsideCountyError, Routing, candidate_cells, check_point,
    published_cell, route, town_of,
)
from geogrid.db.models import User, new_id
from geogrid.errors import ConflictError, InputError, NotFoundError, ValidationError
from geogrid.issues.catalogue import Catalogue, Category
from geogrid.issues.deadlines import due_at, overdue_by, supervision_level
from geogrid.issues.duplicates import Reported, Suggestion, search_box, suggest_duplicates
from geogrid.issues.workflow import (
    OPEN_STATUSES, Actor, IssueState, Outcome, Target, apply, level_rank,
)

__all__ = [
    "Routing", "OutsideCountyError", "route", "create_issue", "get_issue", "state_of",
    "transition", "add_photo", "photos", "events", "issue_rows", "count_issues",
    "find_duplicates", "supervise_overdue", "inbox_rows", "issues_frame",
    "create_api_key", "user_for_api_key", "list_api_keys", "revoke_api_key", "SOURCES",
    "PRIORITIES", "CellChoice", "candidate_cells", "published_cell", "reroute",
    "REROUTE_STATUSES", "usernames", "area_names",
]

SOURCES = ("cadre", "resident", "hotline", "open311")
PRIORITIES = ("low", "normal", "high", "urgent")


def reroute(session: Session, issue_id: str, *, cell: CellChoice, actor_id: str | None,
            actor_name: str, now: dt.datetime, expected_version: int,
            point: tuple[float, float] | None = None, boundary_distance_m: float | None = None,
            note: str | None = None, where=None) -> Issue:
    """Route an issue to ``cell`` by hand (optionally moving its point), clear the
    near-boundary flag, bump the version and record a ``reroute`` timeline event
    (who, when, from -> to, note).  Compare-and-swap on version: raises
    ConflictError (HTTP 412) when the issue is not at ``expected_version``.

    The caller decides whether ``cell`` is an allowed target and whether the actor may
    re-route; this function only refuses states outside :data:`REROUTE_STATUSES`
    (:class:`~geogrid.issues.workflow.InvalidTransitionError`).
    """
    from geogrid.issues.workflow import InvalidTransitionError  # noqa: PLC0415

    issue = get_issue(session, issue_id, where)
    if issue.version != expected_version:
        raise ConflictError(
            f"issue {issue_id} is at version {issue.version}, not {expected_version}: someone "
            "else acted on it first; reload it and try again", key="issue.stale", params={"issue": issue_id})
    if issue.status not in REROUTE_STATUSES:
        raise InvalidTransitionError(
            f"issue {issue_id} is {issue.status}: only a reported or accepted issue can be "
            "re-routed; escalate it, or reopen and re-dispatch it instead",
            key="issue.reroute_not_allowed", params={"issue": issue_id, "status": issue.status})
    old_lon, old_lat = session.execute(select(func.ST_X(Issue.geom), func.ST_Y(Issue.geom))
                                       .where(Issue.id == issue_id)).one()
    before = {"cell_key": issue.cell_key, "microgrid_key": issue.microgrid_key,
              "village_code": issue.village_code, "lon": old_lon, "lat": old_lat}
    town = town_of(session, cell.village_code) if cell.village_code else None
    values = dict(plan_id=cell.plan_id, cell_key=cell.cell_key, microgrid_key=cell.microgrid_key,
                  village_code=cell.village_code, town_code=town or issue.town_code,
                  near_boundary=False, version=issue.version + 1, updated_at=now)
    after = {"cell_key": cell.cell_key, "microgrid_key": cell.microgrid_key,
             "village_code": cell.village_code, "lon": old_lon, "lat": old_lat}
    if point is not None:
        check_point(*point)
        values["geom"] = f"SRID=4326;POINT({float(point[0])!r} {float(point[1])!r})"
        values["boundary_distance_m"] = boundary_distance_m
        after.update(lon=float(point[0]), lat=float(point[1]))
    table = Issue.__table__
    result = session.execute(update(table).where(table.c.id == issue.id,
                                                 table.c.version == issue.version).values(**values))
    if result.rowcount != 1:
        raise ConflictError(
            f"issue {issue_id} was changed by someone else at the same moment; reload it and "
            "try again", key="issue.stale", params={"issue": issue_id})
    session.add(IssueEvent(issue_id=issue.id, at=now, actor_id=actor_id or None,
                           actor_name=actor_name, action="reroute", from_status=issue.status,
                           to_status=issue.status, level=issue.level,
                           note=(note or "").strip() or None,
                           detail={"from": before, "to": after,
                                   "by": "point" if point is not None else "cell"}))
    session.flush()
    return get_issue(session, issue_id)


# --- names -----------------------------------------------------------------------------------
def usernames(session: Session, ids) -> dict[str, str]:
    """user id -> username for the given ids (missing ids are left out)."""
    ids = sorted({i for i in ids if i})
    if not ids:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(ids))).all())


# --- reporting ------------------------------------------------------------------------------
def create_issue(session: Session, *, category: Category, lon: float, lat: float,
                 routing: Routing, reporter_id: str | None, reporter_name: str, now: dt.datetime,
                 description: str = "", source: str = "cadre", priority: str = "normal",
                 address: str | None = None, contact_name: str | None = None,
                 contact_phone: str | None = None) -> Issue:
    """Insert a reported issue and its first timeline event; returns the flushed Issue."""
    check_point(lon, lat)
    if source not in SOURCES:
        raise InputError(f"source must be one of {', '.join(SOURCES)}", key="issue.bad_source")
    if priority not in PRIORITIES:
        raise InputError(f"priority must be one of {', '.join(PRIORITIES)}", key="issue.bad_priority")
    issue = Issue(
        id=new_id(), category=category.code, description=(description or "").strip(),
        address=address, priority=priority, source=source, status="reported",
        level=category.level, geom=f"SRID=4326;POINT({float(lon)!r} {float(lat)!r})",
        plan_id=routing.plan_id, town_code=routing.town_code, village_code=routing.village_code,
        microgrid_key=routing.microgrid_key, cell_key=routing.cell_key,
        near_boundary=routing.near_boundary, boundary_distance_m=routing.boundary_distance_m,
        reporter_id=reporter_id, contact_name=contact_name, contact_phone=contact_phone,
        escalations=0, reopen_count=0, due_at=due_at(now, category.deadline_days),
        supervised=False, reported_at=now, updated_at=now, version=1)
    session.add(issue)
    session.flush()
    session.add(IssueEvent(issue_id=issue.id, at=now, actor_id=reporter_id, actor_name=reporter_name,
                           action="report", from_status=None, to_status="reported",
                           level=category.level, note=issue.description or None,
                           detail={"routing": routing.as_dict(), "source": source}))
    session.flush()
    return issue


def get_issue(session: Session, issue_id: str, where=None) -> Issue:
    """The issue (fresh from the database), or NotFoundError (also when ``where`` excludes it)."""
    stmt = select(Issue).where(Issue.id == issue_id)
    if where is not None:
        stmt = stmt.where(where)
    issue = session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()
    if issue is None:
        raise NotFoundError(f"issue {issue_id} not found", key="issue.not_found", params={"issue": issue_id})
    return issue


def _has_proof(session: Session, issue: Issue) -> bool:
    since = issue.reopened_at or issue.reported_at
    n = session.execute(select(func.count()).select_from(IssuePhoto).where(
        IssuePhoto.issue_id == issue.id, IssuePhoto.kind == "proof",
        IssuePhoto.created_at >= since)).scalar_one()
    return n > 0


def state_of(session: Session, issue: Issue) -> IssueState:
    """The workflow state of a loaded issue (``has_proof``: a proof photo since the last reopen)."""
    return IssueState(
        status=issue.status, level=issue.level, reporter_id=issue.reporter_id,
        handler_id=issue.handler_id, handler_department=issue.handler_department,
        resolver_id=issue.resolver_id, reject_reason=issue.reject_reason,
        duplicate_of=issue.duplicate_of,
        has_proof=issue.status in ("in_progress", "resolved", "verified", "closed", "rated")
        and _has_proof(session, issue),
        rating=issue.rating, escalations=issue.escalations, reopen_count=issue.reopen_count,
        version=issue.version)


def transition(session: Session, issue_id: str, actor: Actor, actor_name: str, action: str, *,
               now: dt.datetime, catalogue: Catalogue, expected_version: int | None = None,
               note: str | None = None, reason: str | None = None,
               duplicate_of: str | None = None, target: Target | None = None,
               rating: int | None = None, where=None) -> tuple[Issue, Outcome]:
    """Apply a workflow action and record it in the timeline (compare-and-swap on version).

    Raises NotFoundError, InvalidTransitionError (409), PermissionDeniedError (403),
    InputError (422) or ConflictError (someone else acted first).  Nothing is written
    unless the whole action succeeds.
    """
    issue = get_issue(session, issue_id, where)
    if expected_version is not None and issue.version != expected_version:
        raise ConflictError(
            f"issue {issue_id} is at version {issue.version}, not {expected_version}: someone "
            "else acted on it first; reload it and try again", key="issue.stale", params={"issue": issue_id})
    if action == "reject" and reason == "duplicate" and duplicate_of:
        if duplicate_of == issue_id:
            raise InputError("an issue cannot be a duplicate of itself", key="issue.duplicate_self")
        if session.get(Issue, duplicate_of) is None:
            raise NotFoundError(f"issue {duplicate_of} (duplicate_of) not found",
                                key="issue.duplicate_not_found", params={"issue": duplicate_of})
    outcome = apply(state_of(session, issue), actor, action, note=note, reason=reason,
                    duplicate_of=duplicate_of, target=target, rating=rating)
    s = outcome.state
    values = dict(status=s.status, level=s.level, handler_id=s.handler_id,
                  handler_department=s.handler_department, resolver_id=s.resolver_id,
                  reject_reason=s.reject_reason, duplicate_of=s.duplicate_of, rating=s.rating,
                  escalations=s.escalations, reopen_count=s.reopen_count, version=s.version,
                  updated_at=now)
    if action == "resolve":
        values["resolved_at"] = now
    elif action == "close":
        values.update(closed_at=now, reply=outcome.note)
    elif action == "reject":
        values["reply"] = outcome.note  # why it is not taken up: the reporter's answer
    elif action == "rate":
        values["rating_comment"] = outcome.note
    elif action == "reopen":
        days = catalogue.get(issue.category).deadline_days if issue.category in catalogue.codes() else 7
        # the old answer did not settle it: it stays in the timeline, not as the answer
        values.update(reopened_at=now, resolved_at=None, closed_at=None, rating_comment=None,
                      reply=None, due_at=due_at(now, days), supervised=False, supervised_at=None,
                      supervision_level=None)
    table = Issue.__table__
    result = session.execute(update(table).where(table.c.id == issue.id,
                                                 table.c.version == issue.version).values(**values))
    if result.rowcount != 1:
        raise ConflictError(
            f"issue {issue_id} was changed by someone else at the same moment; reload it and "
            "try again", key="issue.stale", params={"issue": issue_id})
    session.add(IssueEvent(issue_id=issue.id, at=now, actor_id=actor.user_id or None,
                           actor_name=actor_name, action=action, from_status=outcome.from_status,
                           to_status=s.status, level=s.level, note=outcome.note,
                           detail=outcome.detail or None))
    session.flush()
    return get_issue(session, issue_id), outcome


# --- photos and timeline --------------------------------------------------------------------
def add_photo(session: Session, issue: Issue, *, photo_id: str, kind: str, path: str,
              thumb_path: str, processed, uploaded_by: str | None, actor_name: str,
              now: dt.datetime) -> IssuePhoto:
    """Record a stored photo and a ``photo`` event (the issue's state does not change)."""
    if kind not in ("report", "proof"):
        raise InputError("kind must be report or proof", key="photo.bad_kind")
    photo = IssuePhoto(id=photo_id, issue_id=issue.id, kind=kind, path=path, thumb_path=thumb_path,
                       content_type=processed.content_type, width=processed.width,
                       height=processed.height, bytes=len(processed.content),
                       sha256=processed.sha256, uploaded_by=uploaded_by, created_at=now)
    session.add(photo)
    session.add(IssueEvent(issue_id=issue.id, at=now, actor_id=uploaded_by, actor_name=actor_name,
                           action="photo", from_status=issue.status, to_status=issue.status,
                           level=issue.level, note=None, detail={"photo_id": photo_id, "kind": kind}))
    session.flush()
    return photo


def photos(session: Session, issue_id: str) -> list[IssuePhoto]:
    return list(session.scalars(select(IssuePhoto).where(IssuePhoto.issue_id == issue_id)
                                .order_by(IssuePhoto.created_at, IssuePhoto.id)))


def events(session: Session, issue_id: str) -> list[IssueEvent]:
    return list(session.scalars(select(IssueEvent).where(IssueEvent.issue_id == issue_id)
                                .order_by(IssueEvent.at, IssueEvent.id)))


# --- lists -------------------------------------------------------------------------------------
_COLS = (Issue.id, Issue.category, Issue.description, Issue.address, Issue.priority,
         Issue.source, Issue.status, Issue.level, Issue.plan_id, Issue.town_code,
         Issue.village_code, Issue.microgrid_key, Issue.cell_key, Issue.near_boundary,
         Issue.boundary_distance_m, Issue.reporter_id, Issue.handler_id, Issue.handler_department,
         Issue.reject_reason, Issue.duplicate_of, Issue.reply, Issue.rating, Issue.due_at,
         Issue.supervised, Issue.supervision_level, Issue.reported_at, Issue.resolved_at,
         Issue.closed_at, Issue.updated_at, Issue.version, Issue.escalations, Issue.reopen_count,
         func.ST_X(Issue.geom).label("lon"), func.ST_Y(Issue.geom).label("lat"))


def _filters(session: Session, *, where=None, status=None, category=None, village_code=None,
             cell_key=None, bbox=None, overdue_at: dt.datetime | None = None, supervised=None,
             since=None, until=None):
    conds = []
    if where is not None:
        conds.append(where)
    if status:
        conds.append(Issue.status.in_(list(status)))
    if category:
        conds.append(Issue.category.in_(list(category)))
    if village_code:
        conds.append(Issue.village_code == village_code)
    if cell_key:
        conds.append(Issue.cell_key == cell_key)
    if bbox is not None:
        clause, params = bbox_clause(session, "issues", bbox, alias="issues")
        conds.append(text(clause).bindparams(**params))
    if overdue_at is not None:
        conds.append(and_(Issue.status.in_(OPEN_STATUSES), Issue.due_at < overdue_at))
    if supervised is not None:
        # under supervision now: flagged and still open (a finished issue's flag is history)
        now_supervised = and_(Issue.supervised.is_(True), Issue.status.in_(OPEN_STATUSES))
        conds.append(now_supervised if supervised else not_(now_supervised))
    if since is not None:
        conds.append(Issue.reported_at >= since)
    if until is not None:
        conds.append(Issue.reported_at < until)
    return conds


def issue_rows(session: Session, *, limit: int = 100, offset: int = 0, **filters):
    """A page of issues (newest first) with lon/lat."""
    conds = _filters(session, **filters)
    return session.execute(select(*_COLS).where(*conds)
                           .order_by(Issue.reported_at.desc(), Issue.id)
                           .limit(limit).offset(offset)).all()


def count_issues(session: Session, **filters) -> int:
    conds = _filters(session, **filters)
    return session.execute(select(func.count()).select_from(Issue).where(*conds)).scalar_one()


def issues_frame(session: Session, *, subjects: bool = False, **filters) -> pd.DataFrame:
    """Issues as a DataFrame (the input of :mod:`geogrid.issues.stats`); with
    ``subjects``, also each issue's ``subject`` (:mod:`geogrid.db.issuesubjects`: the
    household or person it is of, which the aggregates an analyst reads count; no
    contact phone or name is in the frame).  Only those aggregates need it: it costs a
    lookup of the issues' contact phones among the persons."""
    conds = _filters(session, **filters)
    cols = (*_COLS, Issue.contact_phone, Issue.contact_name) if subjects else _COLS
    rows = session.execute(select(*cols).where(*conds).order_by(Issue.reported_at)).all()
    frame = pd.DataFrame([r._asdict() for r in rows], columns=[c.key if hasattr(c, "key") else c.name
                                                               for c in _COLS])
    if subjects:
        frame[SUBJECT] = issue_subjects(session, [r.contact_phone for r in rows],
                                        [r.reporter_id for r in rows], [r.contact_name for r in rows])
    for c in ("due_at", "reported_at", "resolved_at", "closed_at", "updated_at"):
        frame[c] = pd.to_datetime(frame[c], utc=True)
    return frame


def find_duplicates(session: Session, *, category: str, lon: float, lat: float, at: dt.datetime,
                    radius_m: float, window_days: float, exclude: str | None = None,
                    where=None) -> list[Suggestion]:
    """Possible duplicates of a report (same category, within radius and window)."""
    check_point(lon, lat)
    clause, params = bbox_clause(session, "issues", search_box(lon, lat, radius_m), alias="issues")
    window = dt.timedelta(days=window_days)
    conds = [text(clause).bindparams(**params), Issue.category == category,
             Issue.reported_at >= at - window, Issue.reported_at <= at + window]
    if where is not None:
        conds.append(where)
    rows = session.execute(select(Issue.id, Issue.category, Issue.status, Issue.reported_at,
                                  func.ST_X(Issue.geom).label("lon"),
                                  func.ST_Y(Issue.geom).label("lat")).where(*conds)).all()
    existing = [Reported(r.id, r.category, r.lon, r.lat, r.reported_at, r.status) for r in rows]
    return suggest_duplicates(category, lon, lat, at, existing, radius_m=radius_m,
                              window_days=window_days, exclude=exclude)


# --- supervision and inbox ----------------------------------------------------------------------
def supervise_overdue(session: Session, *, now: dt.datetime, catalogue: Catalogue) -> list[str]:
    """Flag open issues past due as supervised (督办), raising the supervising level as
    they stay overdue; one ``supervise`` timeline event per change.  Returns the ids
    changed.  Does not bump ``version``: supervision is not a handler's action."""
    rows = session.execute(select(Issue.id, Issue.category, Issue.level, Issue.status,
                                  Issue.due_at, Issue.supervised, Issue.supervision_level)
                           .where(Issue.status.in_(OPEN_STATUSES), Issue.due_at < now)).all()
    changed = []
    table = Issue.__table__
    for r in rows:
        days = catalogue.get(r.category).deadline_days if r.category in catalogue.codes() else 7
        level = supervision_level(r.level, overdue_by(r.due_at, now), days)
        if r.supervised and level_rank(level) <= level_rank(r.supervision_level):
            continue
        # only if no other sweep (another worker's) flagged it since it was read
        flag = (table.c.supervision_level.is_(None) if r.supervision_level is None
                else table.c.supervision_level == r.supervision_level)
        res = session.execute(update(table).where(table.c.id == r.id,
                                                  table.c.status.in_(OPEN_STATUSES),
                                                  table.c.supervised == bool(r.supervised), flag)
                              .values(supervised=True, supervision_level=level,
                                      supervised_at=now if not r.supervised else table.c.supervised_at))
        if res.rowcount:
            session.add(IssueEvent(issue_id=r.id, at=now, actor_id=None, actor_name="system",
                                   action="supervise", from_status=r.status, to_status=r.status,
                                   level=r.level, note=None,
                                   detail={"supervision_level": level,
                                           "overdue_hours": round(overdue_by(r.due_at, now)
                                                                  / dt.timedelta(hours=1), 1)}))
            changed.append(r.id)
    session.flush()
    return changed


def inbox_rows(session: Session, *, user_id: str, role: str, level: str | None, where,
               now: dt.datetime, limit: int = 200):
    """What needs ``user_id``'s action, each row with a ``reason``:

    - ``triage``: reported or accepted issues they manage (accept/reject/dispatch);
    - ``handle``: dispatched to them or in progress with them;
    - ``verify``: resolved by someone else, which they manage;
    - ``close``: verified, which they manage (answer the reporter);
    - ``rate``: closed issues they reported;
    - ``supervise``: overdue issues in their scope handled at a level below theirs.

    ``where`` is the caller's scope clause.  Admins manage every level.
    """
    rank = 3 if role == "admin" else level_rank(level)
    managed = [lv for lv in ("cell", "village", "town", "county") if level_rank(lv) <= rank]
    below = [lv for lv in ("cell", "village", "town", "county") if level_rank(lv) < rank]
    manages = and_(where, Issue.level.in_(managed)) if role in ("admin", "cadre") else None
    reasons = []
    if manages is not None:
        reasons += [
            ("triage", and_(manages, Issue.status.in_(("reported", "accepted")))),
            ("handle", and_(manages, Issue.handler_department.is_not(None),
                            Issue.status.in_(("dispatched", "in_progress")))),
            ("verify", and_(manages, Issue.status == "resolved",
                            or_(Issue.resolver_id.is_(None), Issue.resolver_id != user_id))),
            ("close", and_(manages, Issue.status == "verified")),
        ]
    reasons += [
        ("handle", and_(Issue.handler_id == user_id, Issue.status.in_(("dispatched", "in_progress")))),
        ("rate", and_(Issue.reporter_id == user_id, Issue.status == "closed")),
    ]
    if below and role in ("admin", "cadre"):
        reasons.append(("supervise", and_(where, Issue.level.in_(below),
                                          Issue.status.in_(OPEN_STATUSES),
                                          or_(Issue.supervised.is_(True), Issue.due_at < now))))
    out, seen = [], set()
    for reason, cond in reasons:
        for r in session.execute(select(*_COLS).where(cond).order_by(Issue.due_at, Issue.id)
                                 .limit(limit)).all():
            if (r.id, reason) not in seen:
                seen.add((r.id, reason))
                out.append((reason, r))
    return out


# --- API keys ------------------------------------------------------------------------------------
def _hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def create_api_key(session: Session, user_id: str, name: str) -> tuple[ApiKey, str]:
    """A new Open311 API key for ``user_id``; returns the row and the key (shown once)."""
    if session.get(User, user_id) is None:
        raise NotFoundError(f"user {user_id} not found", key="user.not_found", params={"user": user_id})
    if not name or not name.strip():
        raise ValidationError("an API key needs a name saying who uses it (e.g. '12345 hotline')",
                              key="apikey.needs_name")
    raw = "g311_" + secrets.token_urlsafe(24)
    key = ApiKey(id=new_id(), key_hash=_hash_key(raw), prefix=raw[:8], user_id=user_id,
                 name=name.strip())
    session.add(key)
    session.flush()
    return key, raw


def user_for_api_key(session: Session, raw: str | None) -> User | None:
    """The user an API key acts for, or None for a missing, unknown or revoked key."""
    if not raw:
        return None
    row = session.execute(select(User).join(ApiKey, ApiKey.user_id == User.id)
                          .where(ApiKey.key_hash == _hash_key(raw), ApiKey.revoked_at.is_(None))
                          ).scalar_one_or_none()
    return row


def list_api_keys(session: Session) -> list[ApiKey]:
    return list(session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


def revoke_api_key(session: Session, key_id: str, now: dt.datetime) -> ApiKey:
    key = session.get(ApiKey, key_id)
    if key is None:
        raise NotFoundError(f"API key {key_id} not found", key="apikey.not_found", params={"key": key_id})
    if key.revoked_at is None:
        key.revoked_at = now
        session.flush()
    return key
