"""Roles, permissions and grid-tree scopes.

Roles (``users.role``)::

    admin    everything, unscoped; the only role that reads the audit log
    planner  geometry, households (masked, without residents) and plan editing, in scope
    cadre    households and residents (masked), reveal with a purpose, in scope
    analyst  geometry and aggregates only, never a personal field

A user's ``scopes`` is a JSON list of strings, each one node of the grid tree::

    "area:431227101201"              county, town or village (by code)
    "microgrid:431227101201-M03"     a micro-grid, by its partition key
    "cell:431227101201-M03-C02"      a cell, by its partition key

Scope follows the tree: a town covers its villages, a village its micro-grids and
cells, a micro-grid its cells, and a county everything but the other counties the
database may hold (:attr:`Scope.outside`).

Rows of no village code (households imported where no village outline holds them,
issues in the county but in no village) belong to no village, micro-grid or cell
scope.  Where the database holds one county they are in every county-wide scope (an
admin's is the same).  Where it holds several, a county-wide scope covers those of its
county only: a household or an issue whose point lies in the county's stored outline
(a county without an outline has none), a micro-grid or cell of one of its county's
plans.  A household outside every county's outline is then an admin's alone.  Micro-grids and cells are
named by their partition key, not their row id, so a scope survives a new published
plan (``repartition`` keeps keys of everything it did not re-solve).  Which
households a micro-grid or cell scope covers is decided by the *published* plan.

Anything outside the caller's scope answers 404 (:class:`~geogrid.errors.NotFoundError`),
so its existence does not leak; a role that may never do something gets 403.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlalchemy import and_, false, func, or_, select, true
from sqlalchemy.orm import Session

from geogrid.db.models import Area, Assignment, Cell, Household, Microgrid, Plan
from geogrid.errors import InputError, NotFoundError, PermissionDeniedError

if TYPE_CHECKING:
    from geogrid.api.scopecache import ScopeCache

__all__ = [
    "ROLES",
    "PERMISSIONS",
    "Principal",
    "Scope",
    "resolve_scope",
    "require",
    "normalise_scope_entries",
    "parse_scope_entry",
    "published_plan_id",
]

ROLES = ("admin", "planner", "cadre", "analyst")

#: capability -> roles that have it.  Checked by :func:`require` (403 when missing).
PERMISSIONS: dict[str, frozenset[str]] = {
    "read_geometry": frozenset(ROLES),
    "read_households": frozenset({"admin", "planner", "cadre"}),
    "read_persons": frozenset({"admin", "cadre"}),
    "reveal": frozenset({"admin", "cadre"}),
    "search_persons": frozenset({"admin", "cadre"}),
    "edit_plans": frozenset({"admin", "planner"}),
    # take a household out of the register (moved away, dissolved, merged, a duplicate)
    # and undo that, in scope: admins, planners, and the cadres of the household's
    # village, micro-grid or cell, who are the first to know
    "remove_households": frozenset({"admin", "planner", "cadre"}),
    # change a household's care level (放心户/关心户/连心户) and its residents' phones,
    # relations and party membership, in scope: the cadres who visit it, and admins
    "edit_households": frozenset({"admin", "cadre"}),
    "read_audit": frozenset({"admin"}),
    "manage_users": frozenset({"admin"}),
}


@dataclass(frozen=True)
class Principal:
    """The authenticated caller."""

    user_id: str
    username: str
    role: str
    scopes: tuple = ()

    def can(self, capability: str) -> bool:
        return self.role in PERMISSIONS[capability]


def require(principal: Principal, capability: str) -> None:
    if not principal.can(capability):
        raise PermissionDeniedError(
            f"role {principal.role!r} may not {capability.replace('_', ' ')}; ask an administrator "
            "for a role that can",
            key="role.may_not", params={"role": principal.role, "capability": capability})


@dataclass(frozen=True)
class Scope:
    """A caller's scope resolved against the grid tree."""

    unrestricted: bool = False
    village_codes: frozenset[str] = field(default_factory=frozenset)
    microgrid_keys: frozenset[str] = field(default_factory=frozenset)
    cell_keys: frozenset[str] = field(default_factory=frozenset)
    published_plan_id: str | None = None
    #: The counties a county-wide scope names (``area:<county>``); empty for an admin.
    counties: frozenset[str] = field(default_factory=frozenset)
    #: The county being served (``GEOGRID_COUNTY_CODE``): issue routing places every
    #: issue in it, so an issue of no village is this county's.
    county_code: str | None = None

    @property
    def empty(self) -> bool:
        return not (self.unrestricted or self.village_codes or self.microgrid_keys or self.cell_keys)

    @property
    def everything(self) -> bool:
        """Whether the scope covers every row of every county (an admin's, or a county's
        where the database holds no other county)."""
        return self.unrestricted and not self.outside

    # --- SQL filters -----------------------------------------------------------------
    def village_clause(self, column, unplaced=None):
        """A WHERE clause on a ``village_code`` column: the villages in scope.  A county-wide
        scope covers every village but those of the other counties (:attr:`outside`);
        where there are other counties, rows of no village only where ``unplaced`` (a
        clause on the same row: :meth:`in_counties`, :meth:`of_county_plans`) says they
        are of its county, none without it."""
        if self.unrestricted:
            if not self.outside:
                return true()
            placed = column.not_in(sorted(self.outside))  # NULL NOT IN (...) is not true
            if unplaced is None:
                return placed
            return or_(placed, and_(column.is_(None), unplaced))
        if self.village_codes:
            return column.in_(sorted(self.village_codes))
        return false()

    def in_counties(self, geom):
        """A clause on a row of no village: its point (``geom``) lies in the stored
        outline of one of :attr:`counties`."""
        if not self.counties:
            return false()
        return (select(Area.id)
                .where(Area.level == "county", Area.code.in_(sorted(self.counties)),
                       Area.geom.is_not(None), geom.is_not(None),
                       func.ST_Intersects(Area.geom, geom))
                .exists())

    def of_county_plans(self, plan_id):
        """A clause on a micro-grid or cell of no village: its plan (``plan_id``) is one
        of :attr:`counties`'."""
        if not self.counties:
            return false()
        return plan_id.in_(select(Plan.id).where(Plan.county_code.in_(sorted(self.counties))))

    def households_clause(self, *, removed: bool = False):
        """A WHERE clause on :class:`Household` selecting the households in scope that are
        in the register (``removed``: and those taken out of it, :mod:`geogrid.db.removals`,
        by village only: the published plan holds them no more)."""
        live = true() if removed else Household.removed_at.is_(None)
        if self.everything:
            return live
        parts = []
        if self.unrestricted or self.village_codes:
            parts.append(self.village_clause(Household.village_code, self.in_counties(Household.geom)))
        if (self.microgrid_keys or self.cell_keys) and self.published_plan_id:
            parts.append(Household.id.in_(self.assigned_households()))
        return and_(live, or_(*parts)) if parts else false()

    def assigned_households(self):
        """A SELECT of the ids of the households the scope's micro-grids and cells hold
        in the published plan."""
        keys = []
        if self.microgrid_keys:
            keys.append(Microgrid.microgrid_key.in_(sorted(self.microgrid_keys)))
        if self.cell_keys:
            keys.append(Cell.cell_key.in_(sorted(self.cell_keys)))
        # the scope's cells of the published plan first, then their assignments by the
        # cell index: a join from the plan's assignments (by plan id, the primary key's
        # prefix) made SQLite read all of a county's 80,000 for every request of a
        # micro-grid's or a cell's leader (0.1-0.3 s against 3 ms for a village's)
        cells = (select(Cell.id).join(Microgrid, Microgrid.id == Cell.microgrid_id)
                 .where(Cell.plan_id == self.published_plan_id, or_(*keys)))
        return select(Assignment.household_id).where(Assignment.cell_id.in_(cells))

    def microgrids_clause(self):
        """Micro-grids in scope: by village, by key, or containing a scoped cell."""
        if self.everything:
            return true()
        parts = []
        if self.unrestricted or self.village_codes:
            parts.append(self.village_clause(Microgrid.village_code, self.of_county_plans(Microgrid.plan_id)))
        if self.microgrid_keys:
            parts.append(Microgrid.microgrid_key.in_(sorted(self.microgrid_keys)))
        if self.cell_keys:
            parts.append(Microgrid.id.in_(
                select(Cell.microgrid_id).where(Cell.cell_key.in_(sorted(self.cell_keys)))))
        return or_(*parts) if parts else false()

    def cells_clause(self):
        """Cells in scope: by village, by micro-grid key, or by cell key."""
        if self.everything:
            return true()
        parts = []
        if self.unrestricted or self.village_codes:
            parts.append(self.village_clause(Cell.village_code, self.of_county_plans(Cell.plan_id)))
        if self.microgrid_keys:
            parts.append(Cell.microgrid_id.in_(
                select(Microgrid.id).where(Microgrid.microgrid_key.in_(sorted(self.microgrid_keys)))))
        if self.cell_keys:
            parts.append(Cell.cell_key.in_(sorted(self.cell_keys)))
        return or_(*parts) if parts else false()

    def areas_clause(self):
        """Areas in scope: the scoped villages and every ancestor of them (for context)."""
        if self.everything:
            return true()
        if self.unrestricted:
            return Area.code.not_in(sorted(self.outside))
        return Area.code.in_(sorted(self._area_codes)) if self._area_codes else false()

    _area_codes: frozenset[str] = field(default_factory=frozenset)
    #: A county-wide scope's exceptions: the areas (counties, towns, villages) of the
    #: database's other counties, which ``area:<county>`` does not cover (empty for an
    #: admin, and where the database holds one county only).
    outside: frozenset[str] = field(default_factory=frozenset)

    # --- Python checks -----------------------------------------------------------------
    def covers_village(self, code: str | None) -> bool:
        """Whether village ``code`` is in scope; ``None``: an issue of no village (which
        lies in the served county, :attr:`county_code`)."""
        if code is None:
            return self.everything or (self.unrestricted and self.county_code in self.counties)
        if self.unrestricted:
            return code not in self.outside
        return code in self.village_codes

    def covers_county(self, code: str | None) -> bool:
        """Whether the scope lies in county ``code``: a county-wide one of that county, an
        area's under it, a micro-grid's or a cell's whose key begins with its code (keys
        begin with their village's code, which begins with its county's).  A plan of no
        county (``""``, saved before counties were kept) is everyone's."""
        if not code or self.everything:
            return True
        if self.unrestricted:
            return code not in self.outside
        if code in self._area_codes:
            return True
        return any(str(k).startswith(code) for k in (*self.village_codes, *self.microgrid_keys, *self.cell_keys))


def published_plan_id(session: Session, county_code: str | None = None) -> str | None:
    """The id of the published plan (of ``county_code`` if several counties are stored)."""
    stmt = select(Plan.id).where(Plan.status == "published")
    if county_code:
        stmt = stmt.where(or_(Plan.county_code == county_code, Plan.county_code == ""))
    return session.execute(stmt.order_by(Plan.published_at.desc()).limit(1)).scalar()


def _area_tree(session: Session) -> tuple[dict[str, tuple[str, str | None]], dict[str, list[str]]]:
    """code -> (level, parent code), and parent code -> child codes."""
    rows = session.execute(
        select(Area.code, Area.level, Area.parent_code, Area.parent_id, Area.id)).all()
    by_id = {r.id: r.code for r in rows}
    info, children = {}, {}
    for r in rows:
        parent = by_id.get(r.parent_id) if r.parent_id else r.parent_code
        info[r.code] = (r.level, parent)
        if parent:
            children.setdefault(parent, []).append(r.code)
    return info, children


def resolve_scope(session: Session, principal: Principal, *, county_code: str | None = None,
                  cache: "ScopeCache | None" = None) -> Scope:
    """Resolve ``principal.scopes`` against the areas table and the published plan.

    With ``cache`` (one per app, see :class:`~geogrid.api.scopecache.ScopeCache`) the
    result is reused for as long as the areas and the published plan are unchanged,
    checked with one small query per call; without it everything is read afresh.
    """
    if cache is not None:
        return cache.resolve(session, principal, county_code=county_code)
    return _build_scope(principal, lambda: _area_tree(session),
                        lambda: published_plan_id(session, county_code), county_code)


def _build_scope(principal: Principal, area_tree, plan_id_of_county, county_code: str | None = None) -> Scope:
    if principal.role == "admin":
        return Scope(unrestricted=True, published_plan_id=plan_id_of_county(), county_code=county_code)
    entries = [parse_scope_entry(e) for e in principal.scopes or ()]
    area_codes = [v for k, v in entries if k == "area"]
    mg_keys = frozenset(v for k, v in entries if k == "microgrid")
    cell_keys = frozenset(v for k, v in entries if k == "cell")
    villages: set[str] = set()
    visible_areas: set[str] = set()
    unrestricted = False
    counties: set[str] = set()
    outside: set[str] = set()
    if area_codes:
        info, children = area_tree()
        subtrees: set[str] = set()
        for code in area_codes:
            level = info.get(code, (None, None))[0]
            if level == "county":
                unrestricted = True
                counties.add(code)
            tree = _subtree(code, children)
            subtrees |= tree
            for c in tree:
                visible_areas.add(c)
                if info.get(c, (None,))[0] == "village" or c not in children:
                    villages.add(c)
            parent = info.get(code, (None, None))[1]
            while parent and parent not in visible_areas:  # the ancestors, for context
                visible_areas.add(parent)
                parent = info.get(parent, (None, None))[1]
        if unrestricted:
            # a county's scope is every county of the database but the others: their
            # areas (and the households, grids and issues of their villages) are out
            for other, (level, _parent) in info.items():
                if level == "county" and other not in subtrees:
                    outside |= _subtree(other, children)
            outside -= subtrees
    plan_id = plan_id_of_county() if (mg_keys or cell_keys or unrestricted) else None
    return Scope(
        unrestricted=unrestricted,
        village_codes=frozenset(villages),
        microgrid_keys=mg_keys,
        cell_keys=cell_keys,
        published_plan_id=plan_id,
        _area_codes=frozenset(visible_areas),
        outside=frozenset(outside),
        counties=frozenset(counties),
        county_code=county_code,
    )


def _subtree(code: str, children: dict[str, list[str]]) -> set[str]:
    """``code`` and every area below it."""
    out, stack = set(), [code]
    while stack:
        c = stack.pop()
        if c not in out:
            out.add(c)
            stack.extend(children.get(c, ()))
    return out


def parse_scope_entry(entry) -> tuple[str, str]:
    """``"area:CODE"`` -> ``("area", "CODE")``; a bare string is taken as an area code."""
    if isinstance(entry, dict):  # tolerate {"type": ..., "code"/"key": ...}
        return str(entry.get("type", "area")), str(entry.get("code") or entry.get("key") or "")
    kind, sep, value = str(entry).partition(":")
    return (kind, value) if sep else ("area", kind)


def normalise_scope_entries(session: Session, tokens: list[str]) -> list[str]:
    """Turn ``--scope`` arguments into scope entries, checking each exists.

    A token may be an area code (``431227101201``), an area, micro-grid or cell row id,
    a micro-grid or cell key, or an explicit ``area:CODE`` / ``microgrid:KEY`` / ``cell:KEY``.
    """
    out: list[str] = []
    for raw in tokens:
        token = raw.strip()
        kind, _, value = token.partition(":") if ":" in token else ("", "", token)
        found = None
        if kind in ("", "area"):
            row = session.execute(select(Area.code).where(or_(Area.code == value, Area.id == value))).first()
            if row:
                found = f"area:{row.code}"
        if found is None and kind in ("", "microgrid"):
            row = session.execute(select(Microgrid.microgrid_key).where(
                or_(Microgrid.microgrid_key == value, Microgrid.id == value)).limit(1)).first()
            if row:
                found = f"microgrid:{row.microgrid_key}"
        if found is None and kind in ("", "cell"):
            row = session.execute(select(Cell.cell_key).where(
                or_(Cell.cell_key == value, Cell.id == value)).limit(1)).first()
            if row:
                found = f"cell:{row.cell_key}"
        if kind not in ("", "area", "microgrid", "cell"):
            raise InputError(f"scope {raw!r}: prefix must be area:, microgrid: or cell:",
                             key="scope.bad_prefix", params={"scope": raw})
        if found is None:
            raise NotFoundError(
                f"scope {raw!r} is not an area code, micro-grid or cell; import the boundaries "
                "or partition first, or check the code", key="scope.not_found", params={"scope": raw})
        if found not in out:
            out.append(found)
    return out
