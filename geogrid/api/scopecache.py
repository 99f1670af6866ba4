"""The app's cache of resolved scopes (:class:`ScopeCache`) and the area names it keeps.

Resolving a scope (:func:`geogrid.api.scope.resolve_scope`) reads the whole grid tree
and the published plan; :class:`ScopeCache` reuses the result while neither changed.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from geogrid.api.scope import Principal, Scope, _area_tree, _build_scope
from geogrid.db.models import Area, Plan
from geogrid.db.prepared import Prepared, pipelined

__all__ = ["ScopeCache", "area_name"]


def _published_subquery(county_code: str | None):
    stmt = select(Plan.id).where(Plan.status == "published")
    if county_code:
        stmt = stmt.where(or_(Plan.county_code == county_code, Plan.county_code == ""))
    return stmt.order_by(Plan.published_at.desc()).limit(1).scalar_subquery()


class ScopeCache:
    """Resolved scopes per (user, role, scope entries), reused while nothing they depend on changed.

    Resolving a scope reads the whole areas table (the grid tree) and the published
    plan.  Both change rarely (a boundary import, a publish), so each request instead
    runs one small *stamp* query -- the published plan of the county, the published
    plan of any county, and the areas' row count and newest ``updated_at`` -- and the
    scope (and the area tree) is rebuilt only when the stamp differs.  The user's
    role and scope entries are part of the key and are read from the database on every
    request (:func:`geogrid.api.deps.get_principal`), so a changed account takes effect
    at once; a publish or a boundary import takes effect on the next request.

    The stamp's "any county" plan is kept so :func:`geogrid.api.routes.grid.resolve_plan_id`
    need not query it again (``request.state.any_published_plan_id``).
    """

    def __init__(self, maxsize: int = 4096):
        import threading

        self.maxsize = maxsize
        self._lock = threading.Lock()
        self._scopes: dict = {}
        self._tree: tuple | None = None  # (areas stamp, (info, children))
        self._stamp_stmts: dict = {}
        self._names: tuple | None = None  # (areas stamp, {code: name})
        self._last: dict = {}  # (user id, county) -> (principal, stamp, scope)

    @staticmethod
    def _stamp_columns(county_code: str | None) -> tuple:
        from sqlalchemy import func

        return (
            _published_subquery(county_code),
            _published_subquery(None),
            select(func.count()).select_from(Area).scalar_subquery(),
            select(func.max(Area.updated_at)).scalar_subquery(),
        )

    def stamp(self, session: Session, county_code: str | None) -> tuple:
        stmt = self._stamp_stmts.get(county_code)
        if stmt is None:
            stmt = select(*self._stamp_columns(county_code))
            self._stamp_stmts[county_code] = stmt
        return tuple(session.execute(stmt).one())

    def principal_and_stamp(self, session: Session, user_id: str, county_code: str | None,
                            ahead: list | None = None) -> tuple[Principal | None, tuple | None, str | None]:
        """The account ``user_id`` as a :class:`Principal`, :meth:`stamp` and the account's
        password hash (which the caller's token must be bound to:
        :func:`geogrid.api.security.check_password_stamp`), in one query.

        ``(None, None, None)`` when the account no longer exists.  The account's username,
        role, scope entries and password hash are read afresh on every call (they key
        :meth:`resolve`), so a changed or deleted account takes effect at once, in every
        worker process.
        ``ahead``: statements sent in the same round trip (see
        :func:`~geogrid.db.prepared.pipelined`).
        """
        from sqlalchemy import bindparam

        from geogrid.db.models import User

        key = ("principal", county_code)
        stmt = self._stamp_stmts.get(key)
        if stmt is None:
            users = User.__table__  # Core columns: no ORM entity to build per row
            stmt = Prepared(select(users.c.id, users.c.username, users.c.role, users.c.scopes,
                                   users.c.password_hash, *self._stamp_columns(county_code))
                            .where(users.c.id == bindparam("user_id")))
            self._stamp_stmts[key] = stmt
        rows = pipelined(session, stmt, {"user_id": str(user_id)}, ahead or [])
        if not rows:
            return None, None, None
        row = rows[0]
        return Principal(row[0], row[1], row[2], tuple(row[3] or ())), tuple(row[5:]), row[4]

    def area_names(self, session: Session, stamp: tuple) -> dict[str, str]:
        """Every area's name, read again only when the areas changed (``stamp[2:]``)."""
        from geogrid.db.areas import area_names

        with self._lock:
            cached = self._names
        if cached is not None and cached[0] == stamp[2:]:
            return cached[1]
        names = area_names(session)
        with self._lock:
            self._names = (stamp[2:], names)
        return names

    def resolve(self, session: Session, principal: Principal, *, county_code: str | None = None,
                stamp: tuple | None = None) -> Scope:
        stamp = stamp or self.stamp(session, county_code)
        scope = self._resolve(session, principal, county_code, stamp)
        with self._lock:
            if len(self._last) >= self.maxsize:
                self._last.clear()
            self._last[(principal.user_id, county_code)] = (principal, stamp, scope)
        return scope

    def _resolve(self, session: Session, principal: Principal, county_code: str | None,
                 stamp: tuple) -> Scope:
        key = (principal.user_id, principal.role, principal.scopes, county_code, stamp)
        with self._lock:
            scope = self._scopes.get(key)
        if scope is not None:
            return scope
        areas_stamp = stamp[2:]

        def tree():
            with self._lock:
                cached = self._tree
            if cached is not None and cached[0] == areas_stamp:
                return cached[1]
            built = _area_tree(session)
            with self._lock:
                self._tree = (areas_stamp, built)
            return built

        scope = _build_scope(principal, tree, lambda: stamp[0], county_code)
        with self._lock:
            if len(self._scopes) >= self.maxsize:
                self._scopes.clear()
            # entries of an older stamp can never be hit again
            for k in [k for k in self._scopes if k[4] != stamp]:
                del self._scopes[k]
            self._scopes[key] = scope
        return scope

    def last(self, user_id: str, county_code: str | None) -> tuple | None:
        """``(principal, stamp, scope)`` of the user's last resolved request: a guess at
        this request's, to send its query ahead (:func:`~geogrid.db.prepared.pipelined`);
        it is used only if the account and stamp read with it are the same."""
        return self._last.get((str(user_id), county_code))


def area_name(request, session: Session, code: str | None) -> str | None:
    """The name of an area, from the app's :class:`ScopeCache` when the request's scope
    came through it (no query on the hot path), else from the database."""
    from geogrid.db.areas import area_names

    if not code:
        return None
    cache = getattr(request.app.state, "scope_cache", None)
    stamp = getattr(request.state, "scope_stamp", None)
    if cache is None or stamp is None:
        return area_names(session, [code]).get(code)
    return cache.area_names(session, stamp).get(code)
