"""FastAPI dependencies: the session, the caller, their scope and the audit log.

``SessionDep`` is one SQLAlchemy session per request, closed at the end.  The route owns
the transaction: reads just read; anything that writes calls :func:`begin_write` first,
which ends the read transaction and (on SQLite) starts ``BEGIN IMMEDIATE`` so the write
lock is taken up front instead of failing when a read transaction upgrades.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from geogrid.api.errors import AuthenticationError
from geogrid.api.masking import mask_json, mask_text
from geogrid.api.scope import Principal, Scope, resolve_scope
from geogrid.api.security import check_password_stamp
from geogrid.db.audit import GroupCommitWriter
from geogrid.db.engine import begin_write  # noqa: F401  (re-exported for the routes)
from geogrid.db.models import AuditEntry, User, utcnow
from geogrid.errors import NotFoundError

__all__ = [
    "SessionDep",
    "PrincipalDep",
    "ScopeDep",
    "AuditDep",
    "Auditor",
    "begin_write",
    "get_session",
    "get_principal",
    "ClaimsDep",
    "request_context",
    "hot_read",
    "commit_audit",
]

#: relative, as OpenAPI readers (the docs' Authorize button) resolve it against the
#: document's own URL: under a root path (``geogrid serve --root-path``) it stays there
TOKEN_URL = "api/v1/auth/token"
_oauth2 = OAuth2PasswordBearer(tokenUrl=TOKEN_URL, auto_error=False)


def get_session(request: Request) -> Iterator[Session]:
    session = request.app.state.sessionmaker()
    try:
        yield session
    finally:
        session.close()  # rolls back anything not committed


SessionDep = Annotated[Session, Depends(get_session)]


def _claims(request: Request, token: str | None) -> dict:
    if not token:
        raise AuthenticationError("not logged in: POST username and password to /api/v1/auth/token "
                                  "and send the token as 'Authorization: Bearer ...'",
                                  key="auth.not_logged_in")
    return request.app.state.token_cache.claims(token)


async def get_claims(request: Request, token: Annotated[str | None, Depends(_oauth2)]) -> dict:
    """The bearer token's verified claims (401 without a valid one), on the event loop."""
    return _claims(request, token)


ClaimsDep = Annotated[dict, Depends(get_claims)]


def get_principal(request: Request, session: SessionDep,
                  token: Annotated[str | None, Depends(_oauth2)]) -> Principal:
    return principal_from_claims(request, session, _claims(request, token))


def principal_from_claims(request: Request, session: Session, claims: dict) -> Principal:
    row = session.execute(
        select(User.id, User.username, User.role, User.scopes, User.password_hash)
        .where(User.id == claims["sub"])
    ).first()
    if row is None:
        raise AuthenticationError("this account no longer exists; log in again", key="auth.account_gone")
    check_password_stamp(request.app.state.settings.secret_key, claims, row.password_hash)
    principal = Principal(row.id, row.username, row.role, tuple(row.scopes or ()))
    request.state.principal = principal
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def get_scope(request: Request, session: SessionDep, principal: PrincipalDep) -> Scope:
    """The caller's resolved scope, from the app's :class:`~geogrid.api.scopecache.ScopeCache`.

    One small stamp query per request (published plan, areas' count and newest change);
    the grid tree is walked again only when that stamp changes.
    """
    county = request.app.state.settings.county_code
    cache = getattr(request.app.state, "scope_cache", None)
    if cache is None:
        return resolve_scope(session, principal, county_code=county)
    stamp = cache.stamp(session, county)
    request.state.any_published_plan_id = stamp[1]
    request.state.scope_stamp = stamp
    return cache.resolve(session, principal, county_code=county, stamp=stamp)


ScopeDep = Annotated[Scope, Depends(get_scope)]


@dataclass
class Auditor:
    """Appends to the audit log on behalf of the caller.

    :meth:`add` stages an entry in the route's own write transaction (it commits or
    rolls back with the edit).  :meth:`record` commits an entry at once in its own
    transaction: for reads of personal data (written *before* the data is returned, so
    an unaudited read cannot happen), failures and refusals.
    """

    actor: str
    client: str | None
    #: The app's group commit, shared by all requests (a writer of its own, alone,
    #: commits each call by itself).
    writer: GroupCommitWriter = field(default_factory=GroupCommitWriter)
    #: Rows that :meth:`record` keeps here instead of committing, for a route body on
    #: the event loop: :func:`hot_read` commits them (awaited) before the answer goes.
    deferred: list | None = None

    def entry(self, action: str, object_type: str | None = None, object_id: str | None = None,
              *, result: str = "ok", purpose: str | None = None,
              detail: dict[str, Any] | None = None) -> AuditEntry:
        return AuditEntry(**self._columns(action, object_type, object_id, result=result,
                                          purpose=purpose, detail=detail))

    def values(self, action: str, object_type: str | None = None, object_id: str | None = None,
               *, result: str = "ok", purpose: str | None = None,
               detail: dict[str, Any] | None = None) -> dict[str, Any]:
        """The row of :meth:`entry` as plain column values (for a Core INSERT)."""
        return {"at": utcnow(), **self._columns(action, object_type, object_id, result=result,
                                                purpose=purpose, detail=detail)}

    def _columns(self, action, object_type, object_id, *, result, purpose, detail) -> dict[str, Any]:
        # The purpose and the detail are free text typed by the caller ("核实 4312...");
        # the log keeps them with every ID and phone number masked, so GET /audit never
        # hands a full number back.
        d = dict(detail or {})
        if self.client:
            d.setdefault("client", self.client)
        return {"actor": self.actor, "action": action, "object_type": object_type,
                "object_id": None if object_id is None else mask_text(str(object_id)),
                "result": result, "purpose": None if purpose is None else mask_text(purpose),
                "detail": mask_json(d) or None}

    def add(self, session: Session, action: str, *args, **kwargs) -> None:
        session.add(self.entry(action, *args, **kwargs))

    def record(self, session: Session, action: str, *args, **kwargs) -> None:
        """Commit one entry now, in its own write transaction (before any data is returned).

        A Core INSERT (no ORM unit of work): the hot read paths call this once per request,
        so concurrent calls share one commit through :attr:`writer`.
        """
        row = self.values(action, *args, **kwargs)
        if self.deferred is not None:
            self.deferred.append(row)
        else:
            self.writer.write(session, [row])

    def refused(self, session: Session, exc: Exception, action: str, *args, **kwargs) -> None:
        """Commit the refusal of a read: ``not_found`` (also what out-of-scope objects
        answer) or ``denied`` (the role may not), so attempts are on record too."""
        result = "not_found" if isinstance(exc, NotFoundError) else "denied"
        self.record(session, action, *args, result=result, **kwargs)


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


def _auditor(request: Request, actor: str, deferred: list | None = None) -> Auditor:
    return Auditor(actor=actor, client=_client(request), writer=request.app.state.audit_writer,
                   deferred=deferred)


async def get_auditor(request: Request, principal: PrincipalDep) -> Auditor:
    # async: no I/O here, so no trip through the thread pool
    return _auditor(request, principal.username)


@contextmanager
def request_context(request: Request, claims: dict, *, deferred: list | None = None,
                    prefetch=None) -> Iterator[tuple[Session, Principal, Scope, Auditor]]:
    """Session, principal, scope and auditor of a request, in the calling thread.

    What ``SessionDep``, ``PrincipalDep``, ``ScopeDep`` and ``AuditDep`` give, with the
    same checks, for the hot read routes: FastAPI runs each sync dependency in the thread
    pool on its own (five hops per request); these routes make one hop for all of it.

    One query finds the account and the scope's stamp together
    (:meth:`~geogrid.api.scopecache.ScopeCache.principal_and_stamp`); the scope itself comes
    from the cache while that stamp and the account's role and scope entries are what
    they were.  The session reads in autocommit (``app.state.read_sessionmaker``,
    :func:`geogrid.db.engine.autocommit`): no BEGIN, COMMIT or ROLLBACK statements (on
    PostGIS round trips) around its reads, and the audit insert commits by itself.
    These routes write nothing but the audit log.

    ``prefetch(session, principal, stamp, scope)``, if given, names the statements the body will
    run, as ``[(Prepared, params)]``, for the scope the caller had on their last request;
    on PostGIS they go in the same round trip as the account query, and the body's own
    calls get their rows if the scope is still that one (same account, same stamp).
    """
    state = request.app.state
    session = state.read_sessionmaker()
    try:
        county = state.settings.county_code
        ahead = None
        if prefetch is not None and state.pipelined:
            last = state.scope_cache.last(claims["sub"], county)
            if last is not None:
                ahead = prefetch(session, *last)
        principal, stamp, password_hash = state.scope_cache.principal_and_stamp(
            session, claims["sub"], county, ahead)
        if principal is None:
            raise AuthenticationError("this account no longer exists; log in again", key="auth.account_gone")
        check_password_stamp(state.settings.secret_key, claims, password_hash)
        request.state.principal = principal
        request.state.any_published_plan_id = stamp[1]
        request.state.scope_stamp = stamp
        scope = state.scope_cache.resolve(session, principal, county_code=county, stamp=stamp)
        yield session, principal, scope, _auditor(request, principal.username, deferred)
    finally:
        session.close()  # rolls back anything not committed


async def hot_read(request: Request, claims: dict, body, *args, prefetch=None):
    """Run ``body(request, session, principal, scope, auditor, *args)``, a read route's
    body that writes nothing but audit rows, and return what it returns.

    With a local database (``GEOGRID_API_READS_ON_LOOP=auto``: SQLite, or PostgreSQL on
    this machine; see :func:`geogrid.api.app.reads_on_loop`) the body runs on the event
    loop: its reads take microseconds, less than a hop to the thread pool and the
    interpreter-lock hand-overs around it.  Its audit rows are kept
    (:attr:`Auditor.deferred`), the session is closed, and the rows are committed by the app's
    :class:`~geogrid.db.audit.LoopAuditWriter` while this coroutine awaits them: the answer
    (or the body's exception, e.g. a refused read's 404) goes out only once they are
    committed, and a failed commit answers 503 with no data.  Elsewhere (a database
    across a network, whose reads are round trips) the body runs in the thread pool with
    :func:`request_context`, committing through the group commit as before.
    """
    if not request.app.state.reads_on_loop:
        return await run_in_threadpool(_threaded_read, request, claims, body, args, prefetch)
    rows: list = []
    try:
        with request_context(request, claims, deferred=rows, prefetch=prefetch) as (
                session, principal, scope, audit):
            result = body(request, session, principal, scope, audit, *args)
    except Exception:
        if rows:
            await commit_audit(request.app, rows)  # a refusal is on record before it is told
        raise
    if rows:
        await commit_audit(request.app, rows)
    return result


def _threaded_read(request, claims, body, args, prefetch):
    with request_context(request, claims, prefetch=prefetch) as (session, principal, scope, audit):
        return body(request, session, principal, scope, audit, *args)


async def commit_audit(app, rows: list[dict]) -> None:
    """Commit ``rows`` through the app's :class:`~geogrid.db.audit.LoopAuditWriter`;
    returns once they are committed, raises what the commit raised."""
    await app.state.loop_audit.commit(rows)


AuditDep = Annotated[Auditor, Depends(get_auditor)]


def anonymous_auditor(request: Request, username: str) -> Auditor:
    return _auditor(request, username or "(anonymous)")
