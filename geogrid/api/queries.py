"""Read queries the API needs that the repositories in :mod:`geogrid.db` do not offer.

They take a session and a resolved :class:`~geogrid.api.scope.Scope`, never commit, and
return plain dicts/rows.  Candidates to move into ``geogrid.db`` once settled:
``users`` (create/find/unlock), ``household_rows``/``count_households`` (bbox pages with
the published cell), and ``care_level_points`` (the aggregate input).
"""

from __future__ import annotations

import datetime as dt
from operator import itemgetter
from typing import Any, NamedTuple

from sqlalchemy import (Float, Integer, and_, bindparam, case, func, literal_column, null, or_, select,
                        text)
from sqlalchemy.orm import Session

from geogrid.api.scope import Scope
from geogrid.db.bulk import bbox_clause
from geogrid.db.models import Assignment, AuditEntry, Cell, Household, Microgrid, Person, User
from geogrid.db.prepared import Prepared
from geogrid.errors import ConflictError, InputError, NotFoundError

__all__ = [
    "household_rows",
    "household_page",
    "household_feature_rows",
    "count_households",
    "get_household",
    "residents",
    "household_with_residents",
    "Resident",
    "get_person",
    "care_level_points",
    "create_user",
    "find_user",
    "unlock_user",
    "plan_counts",
    "audit_rows",
]


# --- households ------------------------------------------------------------------------
def _bbox(session: Session, table: str, bbox):
    clause, params = bbox_clause(session, table, bbox, alias=table, points=table == "households")
    return text(clause).bindparams(**params)


def _household_filters(session: Session, scope: Scope, *, bbox=None, cell_id=None,
                       village_code=None):
    where = [scope.households_clause()]
    if bbox is not None:
        where.append(_bbox(session, "households", bbox))
    if cell_id is not None:
        where.append(Household.id.in_(select(Assignment.household_id).where(Assignment.cell_id == cell_id)))
    if village_code is not None:
        where.append(Household.village_code == village_code)
    return where


_HOUSEHOLD_COLUMNS = (
    Household.id, Household.household_no, Household.head_name, Household.address,
    Household.village_code, Household.building, Household.hamlet, Household.care_level,
    func.ST_X(Household.geom).label("lon"), func.ST_Y(Household.geom).label("lat"),
)
#: SQLite: ``ORDER BY +households.id`` (the unary plus keeps the primary-key index out of
#: the ORDER BY), so a bbox page is driven by the R*Tree hits and then sorted, instead of
#: walking every household in id order and probing the hit list for each.
_SQLITE_ORDER = literal_column("+households.id")


def _order_by_id(session: Session, bbox) -> Any:
    if bbox is not None and session.get_bind().dialect.name == "sqlite":
        return _SQLITE_ORDER
    return Household.id


def household_rows(session: Session, scope: Scope, *, plan_id: str | None, bbox=None,
                   cell_id=None, village_code=None, limit: int = 100, offset: int = 0):
    """A page of households in scope, each with its cell in ``plan_id``.

    Without a plan no household can have a cell, so the join is skipped.  The list route
    serves :func:`household_page` with cached features instead; this is the reference it
    is tested against (``tests/api/test_household_features.py``).
    """
    where = _household_filters(session, scope, bbox=bbox, cell_id=cell_id, village_code=village_code)
    if plan_id is None:
        stmt = select(*_HOUSEHOLD_COLUMNS, null().label("cell_id"), null().label("cell_key"))
    else:
        stmt = (
            select(*_HOUSEHOLD_COLUMNS, Assignment.cell_id, Cell.cell_key)
            .select_from(Household)
            .outerjoin(Assignment, and_(Assignment.household_id == Household.id,
                                        Assignment.plan_id == plan_id))
            .outerjoin(Cell, Cell.id == Assignment.cell_id)
        )
    stmt = stmt.where(*where).order_by(_order_by_id(session, bbox)).limit(limit).offset(offset)
    return session.execute(stmt).all()


def household_page(session: Session, scope: Scope, *, plan_id: str | None, bbox=None,
                   cell_id=None, village_code=None, limit: int = 100, offset: int = 0):
    """The page of :func:`household_rows` as ``(id, version, cell_id, cell_key)`` rows, and
    :func:`count_households` of the same filters.

    The same filters, order and page, without the household's own columns: those come
    from :class:`~geogrid.api.householdfeatures.HouseholdFeatures`, by id and version.
    The page is cut from the households alone and only its rows are then looked up in
    ``plan_id``'s assignments and cells (a bbox holds more households than a page, and on
    PostGIS each lookup is two index probes).

    With a bbox, every household it selects (at most :data:`BBOX_CUT_IN_PYTHON`) is
    read with its cell, counted, sorted by id and cut here.  Past that, the count comes
    from the same statement (``count(*) OVER ()`` over the households the bbox and scope
    select, before the page is cut), one round trip less.  Without a bbox (a whole
    village or county), or when the page is past the end, it is
    :func:`count_households`: there a window would hold every household where the count
    reads an index.
    """
    stmt, params, filters = _page_query(session, scope, plan_id=plan_id, bbox=bbox, cell_id=cell_id,
                                        village_code=village_code, limit=limit, offset=offset)
    if filters["bbox_sql"] is not None:
        # Every household of the box (with its cell), sorted and cut here: a box on the
        # map holds a page or two, and sorting them in Python costs less than the
        # database's window count and ORDER BY (SpatiaLite, 1,200 in the box: 1.2 ms
        # instead of 2.1 ms).  A box holding more falls back to the database's cut.
        everything = stmt.rows(session, params)
        if len(everything) <= BBOX_CUT_IN_PYTHON:
            everything.sort(key=_FIRST)  # by id, which is unique: the rows' own order
            return everything[offset:offset + limit], len(everything)
    rows = _page_statement(session, scope, **filters).rows(session, params)
    if filters["bbox_sql"] is not None and rows:  # windowed: (id, version, matched, cell_id, cell_key)
        return [(r[0], r[1], r[3], r[4]) for r in rows], rows[0][2]
    matched = count_households(session, scope, bbox=bbox, cell_id=cell_id,
                               village_code=village_code)
    return rows, matched


def household_page_query(session: Session, scope: Scope, *, plan_id: str | None, bbox,
                         cell_id=None, village_code=None, limit: int = 100, offset: int = 0):
    """``(statement, parameters)`` of the first query :func:`household_page` runs."""
    return _page_query(session, scope, plan_id=plan_id, bbox=bbox, cell_id=cell_id,
                       village_code=village_code, limit=limit, offset=offset)[:2]


def _page_query(session, scope, *, plan_id, bbox, cell_id, village_code, limit, offset):
    params = {"limit": limit, "offset": offset, "plan_id": plan_id, "cell_id": cell_id,
              "village_code": village_code, "cap": BBOX_CUT_IN_PYTHON + 1}
    clause = None
    if bbox is not None:
        clause, box = bbox_clause(session, "households", bbox, alias="households", points=True)
        params.update(box)
    filters = {"bbox_sql": clause, "plan": plan_id is not None, "cell": cell_id is not None,
               "village": village_code is not None}
    stmt = _page_statement(session, scope, whole=clause is not None, **filters)
    return stmt, params, filters


#: a row's first column (its id)
_FIRST = itemgetter(0)
#: Boxes holding at most this many households (in scope, with the other filters) are
#: sorted and cut into pages in Python (:func:`household_page`).
BBOX_CUT_IN_PYTHON = 20_000
#: Statements kept per process in each of the caches below (one per scope and filters).
_STMTS_MAX = 1024
_PAGE_STMTS: dict = {}
_BBOX_PARAMS = ("minx", "miny", "maxx", "maxy")


def _page_statement(session: Session, scope: Scope, *, bbox_sql: str | None, plan: bool,
                    cell: bool, village: bool, whole: bool = False) -> Prepared:
    """The statement of :func:`household_page` for one scope and set of filters, built
    and compiled once: the box, plan, cell, village, limit and offset are parameters.

    ``whole``: every household the filters select, unordered, at most ``cap`` of them,
    as ``(id, version, cell_id, cell_key)``, for the caller to sort and cut."""
    dialect = session.get_bind().dialect.name
    key = (dialect, scope, bbox_sql, plan, cell, village, whole)
    stmt = _PAGE_STMTS.get(key)
    if stmt is not None:
        return stmt
    where = [scope.households_clause()]
    if bbox_sql is not None:
        where.append(text(bbox_sql).bindparams(*(bindparam(n, type_=Float) for n in _BBOX_PARAMS)))
    if cell:
        where.append(Household.id.in_(select(Assignment.household_id)
                                      .where(Assignment.cell_id == bindparam("cell_id"))))
    if village:
        where.append(Household.village_code == bindparam("village_code"))
    page = select(Household.id, Household.version)
    windowed = bbox_sql is not None and not whole
    if windowed:
        page = page.add_columns(func.count().over().label("matched"))
    page = page.where(*where)
    if whole:
        page = page.limit(bindparam("cap", type_=Integer))
    else:
        order = _SQLITE_ORDER if bbox_sql is not None and dialect == "sqlite" else Household.id
        page = (page.order_by(order).limit(bindparam("limit", type_=Integer))
                .offset(bindparam("offset", type_=Integer)))
    if not plan:
        built = page.add_columns(null().label("cell_id"), null().label("cell_key"))
    else:
        page = page.subquery("page")
        built = (
            select(page.c.id, page.c.version, *([page.c.matched] if windowed else []),
                   Assignment.cell_id, Cell.cell_key)
            .select_from(page)
            .outerjoin(Assignment, and_(Assignment.household_id == page.c.id,
                                        Assignment.plan_id == bindparam("plan_id")))
            .outerjoin(Cell, Cell.id == Assignment.cell_id)
        )
        if not whole:
            built = built.order_by(page.c.id)
    stmt = Prepared(built)
    if len(_PAGE_STMTS) >= _STMTS_MAX:
        _PAGE_STMTS.clear()
    _PAGE_STMTS[key] = stmt
    return stmt


def household_feature_rows(session: Session, household_ids: list[str]):
    """The rows of :func:`household_rows` for the given households (in no particular
    order), with their ``version`` and without a cell (``cell_id``, ``cell_key`` None)."""
    return session.execute(
        select(*_HOUSEHOLD_COLUMNS, null().label("cell_id"), null().label("cell_key"),
               Household.version).where(Household.id.in_(household_ids))
    ).all()


def count_households(session: Session, scope: Scope, *, bbox=None, cell_id=None, village_code=None) -> int:
    where = _household_filters(session, scope, bbox=bbox, cell_id=cell_id, village_code=village_code)
    return session.connection().execute(
        select(func.count()).select_from(Household).where(*where)).scalar_one()


def get_household(session: Session, scope: Scope, household_id: str, *, plan_id: str | None):
    """One household in scope with its cell in ``plan_id``, else NotFoundError."""
    row = session.execute(
        select(Household.id, Household.household_no, Household.head_name, Household.address,
               Household.village_code, Household.building, Household.hamlet,
               Household.care_level, func.ST_X(Household.geom).label("lon"),
               func.ST_Y(Household.geom).label("lat"), Household.version, Household.updated_at,
               Assignment.cell_id, Cell.cell_key)
        .select_from(Household)
        .outerjoin(Assignment, and_(Assignment.household_id == Household.id,
                                    Assignment.plan_id == plan_id))
        .outerjoin(Cell, Cell.id == Assignment.cell_id)
        .where(Household.id == household_id, scope.households_clause())
    ).first()
    if row is None:
        raise NotFoundError(f"household {household_id} not found",
                            key="household.not_found", params={"household": household_id})
    return row


class Resident(NamedTuple):
    """A resident as :func:`household_with_residents` reads it (what :func:`person_masked` needs)."""

    id: str
    household_id: str
    name: str | None
    gender: str | None
    birth_date: dt.date | None
    id_number: str | None
    phone: str | None
    relation: str | None
    party_member: bool | None
    tags: str | None


_RESIDENT_LABELS = tuple(f"resident_{f}" for f in Resident._fields)
_HOUSE_STMTS: dict = {}


def _house_statement(scope: Scope) -> Prepared:
    """:func:`get_household` and :func:`residents` as one statement (households left-joined
    to their persons), built and compiled once per scope: ``household_id`` and ``plan_id``
    are bound."""
    stmt = _HOUSE_STMTS.get(scope)
    if stmt is not None:
        return stmt
    hh, asg, cell, person = (Household.__table__, Assignment.__table__, Cell.__table__,
                             Person.__table__)
    stmt = (
        select(hh.c.id, hh.c.household_no, hh.c.head_name, hh.c.address, hh.c.village_code,
               hh.c.building, hh.c.hamlet, hh.c.care_level, func.ST_X(hh.c.geom).label("lon"),
               func.ST_Y(hh.c.geom).label("lat"), hh.c.version, hh.c.updated_at,
               asg.c.cell_id, cell.c.cell_key,
               *(person.c[f].label(label) for f, label in zip(Resident._fields, _RESIDENT_LABELS)))
        .select_from(hh)
        .outerjoin(asg, and_(asg.c.household_id == hh.c.id, asg.c.plan_id == bindparam("plan_id")))
        .outerjoin(cell, cell.c.id == asg.c.cell_id)
        .outerjoin(person, person.c.household_id == hh.c.id)
        .where(hh.c.id == bindparam("household_id"), scope.households_clause())
        .order_by(person.c.relation != "户主", person.c.birth_date, person.c.id)
    )
    stmt = Prepared(stmt)
    if len(_HOUSE_STMTS) >= _STMTS_MAX:
        _HOUSE_STMTS.clear()
    _HOUSE_STMTS[scope] = stmt
    return stmt


def household_with_residents(session: Session, scope: Scope, household_id: str, *,
                             plan_id: str | None) -> tuple[Any, list[Resident]]:
    """:func:`get_household` and :func:`residents` of it in one query (one round trip).

    Returns the household row (the columns of :func:`get_household`; the residents'
    columns after them are to be ignored) and its residents, head first, as
    :func:`residents` orders them.  NotFoundError when the household is not in scope.
    """
    stmt, params = house_query(scope, household_id, plan_id)
    rows = stmt.rows(session, params, named=True)
    if not rows:
        raise NotFoundError(f"household {household_id} not found",
                            key="household.not_found", params={"household": household_id})
    first = len(rows[0]) - len(Resident._fields)
    people = [Resident._make(r[first:]) for r in rows if r[first] is not None]
    return rows[0], people


def house_query(scope: Scope, household_id: str, plan_id: str | None) -> tuple:
    """``(statement, parameters)`` of :func:`household_with_residents`."""
    return _house_statement(scope), {"household_id": household_id, "plan_id": plan_id}


_RESIDENT_COLUMNS = (Person.id, Person.household_id, Person.name, Person.gender, Person.birth_date,
                     Person.id_number, Person.phone, Person.relation, Person.party_member,
                     Person.tags)


def residents(session: Session, household_id: str) -> list:
    """The household's persons as rows (the columns :func:`person_masked` reads), head first."""
    return session.execute(
        select(*_RESIDENT_COLUMNS).where(Person.household_id == household_id)
        .order_by(Person.relation != "户主", Person.birth_date, Person.id)).all()


def get_person(session: Session, scope: Scope, person_id: str) -> Person:
    person = session.execute(
        select(Person).join(Household, Household.id == Person.household_id)
        .where(Person.id == person_id, scope.households_clause())).scalar_one_or_none()
    if person is None:
        raise NotFoundError(f"person {person_id} not found",
                            key="person.not_found", params={"person": person_id})
    return person


def search_households(session: Session, scope: Scope, *, address: str | None = None,
                      limit: int = 20):
    """Households in scope whose address or 户编号 (household number) holds ``address``:
    those whose number holds it first, each group by address."""
    by_no = Household.household_no.contains(address, autoescape=True)
    stmt = (select(Household.id, Household.household_no, Household.head_name, Household.address,
                   Household.village_code, Household.care_level,
                   func.ST_X(Household.geom).label("lon"), func.ST_Y(Household.geom).label("lat"))
            .where(scope.households_clause(),
                   or_(Household.address.contains(address, autoescape=True), by_no))
            .order_by(case((by_no, 0), else_=1), Household.address, Household.household_no)
            .limit(limit))
    return session.execute(stmt).all()


def search_persons(session: Session, scope: Scope, *, name: str | None = None,
                   id_tail: str | None = None, limit: int = 20):
    stmt = (select(Person, func.ST_X(Household.geom).label("lon"),
                   func.ST_Y(Household.geom).label("lat"), Household.address)
            .join(Household, Household.id == Person.household_id)
            .where(scope.households_clause()))
    if name:
        stmt = stmt.where(Person.name.contains(name, autoescape=True))
    if id_tail:
        stmt = stmt.where(Person.id_number.endswith(id_tail.upper(), autoescape=True))
    return session.execute(stmt.order_by(Person.name, Person.id).limit(limit)).all()


def care_level_points(session: Session, scope: Scope, *, bbox=None, unplaced: bool = False):
    """(lon, lat, care_level, village_code) of every household in scope (and bbox);
    ``unplaced``: of those of no village code only."""
    where = [scope.households_clause()]
    if unplaced:
        where.append(Household.village_code.is_(None))
    if bbox is not None:
        where.append(_bbox(session, "households", bbox))
    stmt = select(func.ST_X(Household.geom), func.ST_Y(Household.geom), Household.care_level,
                  Household.village_code).where(*where)
    return session.execute(stmt).all()


def households_stamp(session: Session) -> tuple:
    """Changes whenever households are added, removed or edited (cache key)."""
    return tuple(session.execute(
        select(func.count(), func.max(Household.updated_at))).one())


# --- plans -----------------------------------------------------------------------------
def plan_counts(session: Session, plan_id: str) -> dict:
    mgs = session.execute(select(func.count()).select_from(Microgrid)
                          .where(Microgrid.plan_id == plan_id)).scalar_one()
    cells = session.execute(select(func.count()).select_from(Cell)
                            .where(Cell.plan_id == plan_id)).scalar_one()
    assigned = session.execute(select(func.count()).select_from(Assignment)
                               .where(Assignment.plan_id == plan_id)).scalar_one()
    return {"microgrids": mgs, "cells": cells, "households": assigned}


# --- users -----------------------------------------------------------------------------
def find_user(session: Session, username: str) -> User | None:
    return session.execute(select(User).where(User.username == username)).scalar_one_or_none()


def create_user(session: Session, username: str, password_hash: str, role: str,
                scopes: list[dict]) -> User:
    from geogrid.api.scope import ROLES

    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, not {role!r}",
                         key="user.bad_role", params={"role": role})
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise InputError("username must be 1-64 characters without spaces", key="user.bad_name")
    if find_user(session, username) is not None:
        raise ConflictError(f"user {username!r} exists already; choose another name",
                            key="user.exists", params={"user": username})
    user = User(username=username, password_hash=password_hash, role=role, scopes=list(scopes))
    session.add(user)
    session.flush()
    return user


def unlock_user(session: Session, username: str) -> None:
    user = find_user(session, username)
    if user is None:
        raise NotFoundError(f"no user {username!r}", key="user.not_found", params={"user": username})
    user.failed_logins = 0
    user.locked_until = None


# --- audit -----------------------------------------------------------------------------
def reveals_since(session: Session, actor: str, since: dt.datetime) -> int:
    """Successful reveals by ``actor`` since ``since`` (the cross-process reveal limit)."""
    return session.execute(
        select(func.count()).select_from(AuditEntry)
        .where(AuditEntry.actor == actor, AuditEntry.action == "reveal", AuditEntry.result == "ok",
               AuditEntry.at >= since)).scalar_one()


def audit_rows(session: Session, *, actor=None, action=None, object_type=None, object_id=None,
               result=None, since: dt.datetime | None = None, until: dt.datetime | None = None,
               limit: int = 100, offset: int = 0):
    where = []
    for col, value in ((AuditEntry.actor, actor), (AuditEntry.action, action),
                       (AuditEntry.object_type, object_type), (AuditEntry.object_id, object_id),
                       (AuditEntry.result, result)):
        if value is not None:
            where.append(col == value)
    if since is not None:
        where.append(AuditEntry.at >= since)
    if until is not None:
        where.append(AuditEntry.at < until)
    total = session.execute(select(func.count()).select_from(AuditEntry).where(*where)).scalar_one()
    rows = session.execute(select(AuditEntry).where(*where)
                           .order_by(AuditEntry.id.desc()).limit(limit).offset(offset)).scalars().all()
    return total, rows

