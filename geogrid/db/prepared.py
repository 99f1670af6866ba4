"""Core statements compiled once per back-end and run on the DB-API cursor.

The hot read routes (one house with its residents, a bbox page, their audit rows) run
three or four statements each.  Through SQLAlchemy's execution path every statement costs
0.1-0.4 ms of Python (execution context, result object, session bookkeeping; a multi-row
INSERT is even compiled anew each time), several times what SQLite takes to answer a
primary-key lookup.  A :class:`Prepared` statement is compiled once for each dialect it
meets and then run straight on the session's DB-API connection:

* parameters go through the same bind processors SQLAlchemy would apply (the column
  types' ``dialect_impl(...).bind_processor``), so a row written here reads back through
  the ORM exactly as one written there (tested);
* result values go through the types' result processors (datetimes, JSON, booleans);
* expanding ``IN`` lists are rendered at compile time (``render_postcompile``), so the
  statement text is fixed; defaults of literal parameters come from the compiled
  statement (:meth:`~sqlalchemy.sql.compiler.SQLCompiler.construct_params`);
* a DB-API error becomes :class:`~geogrid.errors.DatabaseError` (the API answers 503),
  and a lost connection is invalidated so the pool does not hand it out again.

It runs inside the session's transaction, on the session's connection: whatever the
session has begun (or, in an autocommit session, nothing) applies.

>>> from sqlalchemy import select, bindparam
>>> from geogrid.db.models import Household
>>> by_id = Prepared(select(Household.id).where(Household.id == bindparam("hid")))
>>> # by_id.rows(session, {"hid": "..."}) -> [("...",)]
"""

from __future__ import annotations

import threading
from collections import namedtuple
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from geogrid.errors import DatabaseError

__all__ = ["Prepared", "pipelined"]


@dataclass
class _Compiled:
    sql: str
    #: parameter names in statement order (positional paramstyles), else None
    order: tuple[str, ...] | None
    defaults: dict[str, Any]
    binds: dict[str, Any]  # name -> bind processor
    required: tuple[str, ...]  # the parameters the caller must give
    types: tuple | None  # the selected columns' types; None: not a SELECT
    row: type | None  # a namedtuple of the columns' keys (for attribute access), or None
    #: (column index, result processor) of the columns that have one; found on the first
    #: run, from the driver's type codes in ``cursor.description`` (psycopg needs them)
    results: list | None = None


class Prepared:
    """A Core statement compiled once per dialect and run on the DB-API connection.

    Thread-safe; compile results are kept per dialect name and paramstyle.
    """

    __slots__ = ("stmt", "_compiled", "_lock")

    def __init__(self, stmt):
        self.stmt = stmt
        self._compiled: dict[tuple[str, str], _Compiled] = {}
        self._lock = threading.Lock()

    def compiled(self, dialect) -> _Compiled:
        key = (dialect.name, dialect.paramstyle)
        c = self._compiled.get(key)
        if c is not None:
            return c
        compiled = self.stmt.compile(dialect=dialect)
        # The parameters the caller must give: expanding the IN lists needs a value for
        # each, so they get a placeholder None here (their markers stay in the text) and
        # are then left out of the defaults, so a missing one fails with its name.
        required = sorted({bp.key for bp in compiled.binds.values() if bp.required})
        state = compiled.construct_expanded_state({name: None for name in required})
        order = tuple(state.positiontup) if state.positiontup is not None else None
        defaults = dict(state.parameters)
        for name in required:
            defaults.pop(name, None)
        # the bind processors SQLAlchemy applies: the types' own, by parameter name, and
        # those of the expanded IN-list members
        binds = {}
        for name, bp in compiled.binds.items():
            proc = bp.type.dialect_impl(dialect).bind_processor(dialect)
            if proc is not None:
                binds[name] = proc
        binds.update(state.processors)
        binds = {name: proc for name, proc in binds.items() if name in state.parameters}
        types = row = None
        if getattr(self.stmt, "is_select", False):
            columns = self.stmt.selected_columns
            types = tuple(col.type for col in columns)
            row = namedtuple("Row", list(columns.keys()), rename=True)
        c = _Compiled(state.statement, order, defaults, binds, tuple(required), types, row)
        with self._lock:
            self._compiled[key] = c
        return c

    def _parameters(self, c: _Compiled, params: dict | None):
        values = dict(c.defaults)
        if params:
            values.update(params)
        for name in c.required:
            if name not in values:
                raise KeyError(f"parameter {name!r} of the statement was not given")
        binds = c.binds
        for name, proc in binds.items():
            values[name] = proc(values[name])
        if c.order is None:
            return values
        return tuple(values[name] for name in c.order)

    def rows(self, bind: Session | Connection, params: dict | None = None, *,
             named: bool = False) -> list[tuple]:
        """Run the select on ``bind`` (a session: in its transaction) and return its rows:
        plain tuples, or with ``named`` namedtuples whose fields are the selected
        columns' keys.  A session holding this statement's rows for these very
        parameters from :func:`pipelined` hands those over instead (once)."""
        conn = bind.connection() if isinstance(bind, Session) else bind
        c = self.compiled(conn.dialect)
        if c.types is None:
            raise TypeError("rows() runs a SELECT; use execute() for other statements")
        raw = None
        if isinstance(bind, Session):
            ahead = bind.info.get(_PREFETCHED)
            if ahead:
                raw = ahead.pop(_prefetch_key(self, params), None)
        if raw is None:
            raw = self._run(conn, c, params, fetch=True)
        return _processed(c, raw, named)

    def execute(self, bind: Session | Connection, params: dict | None = None) -> None:
        """Run the statement once on ``bind`` (a session: in its transaction; no rows)."""
        conn = bind.connection() if isinstance(bind, Session) else bind
        self._run(conn, self.compiled(conn.dialect), params, fetch=False)

    def _run(self, conn, c: _Compiled, params: dict | None, *, fetch: bool):
        dialect = conn.dialect
        dbapi_conn = conn.connection.driver_connection
        cursor = None
        try:
            cursor = dbapi_conn.cursor()
            cursor.execute(c.sql, self._parameters(c, params))
            if not fetch:
                return None
            _learn_results(c, dialect, cursor)
            return cursor.fetchall()
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, dbapi_conn, cursor):
                conn.invalidate(exc)
            raise DatabaseError(f"the database failed: {str(exc).strip()}; check that it is "
                                "reachable and try again") from exc
        finally:
            _close(cursor)


def _learn_results(c: _Compiled, dialect, cursor) -> None:
    """The result processors of ``c``, from the driver's type codes of its first run."""
    if c.results is None:
        c.results = _result_processors(dialect, c.types, cursor.description)


def _close(cursor) -> None:
    if cursor is not None:
        try:
            cursor.close()
        except Exception:  # the connection is gone already
            pass


def _result_processors(dialect, types, description) -> list:
    out = []
    for i, (type_, desc) in enumerate(zip(types, description)):
        proc = type_.dialect_impl(dialect).result_processor(dialect, desc[1])
        if proc is not None:
            out.append((i, proc))
    return out


def _processed(c: _Compiled, raw: list, named: bool) -> list:
    """Rows as :meth:`Prepared.rows` returns them: values through the result processors."""
    if c.results:
        out = []
        for row in raw:
            row = list(row)
            for i, p in c.results:
                row[i] = p(row[i])
            out.append(row)
        raw = out
    if named:
        make = c.row._make
        return [make(r) for r in raw]
    return [tuple(r) for r in raw] if c.results else raw


#: ``Session.info`` key of the rows :func:`pipelined` fetched ahead for the request
_PREFETCHED = "geogrid.prefetched"


def _prefetch_key(stmt: Prepared, params: dict | None) -> tuple:
    return (id(stmt), tuple(sorted((params or {}).items())))


def pipelined(session: Session, first: Prepared, params: dict, ahead: list[tuple[Prepared, dict]]) -> list:
    """``first.rows(session, params)``, with the statements ``ahead`` sent in the same
    round trip (PostgreSQL's pipeline mode; psycopg) and their raw rows kept in the
    session for the :meth:`Prepared.rows` calls that ask for exactly them.

    For a request whose next statements can be guessed before the first one's answer
    (the house route's query, under the scope the caller had on the last request):
    one network round trip instead of two.  A guess that turns out wrong costs only
    its query: its rows are used by nothing but the same statement with the same
    parameters.  Only in an autocommit session (the hot reads'), where a guess that
    fails takes nothing down with it; elsewhere (a transaction, SQLite, another driver)
    the statements ahead are not run.
    """
    conn = session.connection()
    dialect = conn.dialect
    dbapi_conn = conn.connection.driver_connection
    if (not ahead or dialect.name != "postgresql" or not hasattr(dbapi_conn, "pipeline")
            or not dbapi_conn.autocommit):
        # in a transaction, a failed guess would abort the transaction with it
        return first.rows(session, params)
    c = first.compiled(dialect)
    stmts = [(first, c, params)] + [(stmt, stmt.compiled(dialect), p) for stmt, p in ahead]
    cursors = []
    try:
        with dbapi_conn.pipeline():
            for stmt, cc, p in stmts:
                cur = dbapi_conn.cursor()
                cursors.append(cur)
                cur.execute(cc.sql, stmt._parameters(cc, p))
        raws = [cur.fetchall() for cur in cursors]
        for (_, cc, _), cur in zip(stmts, cursors):
            _learn_results(cc, dialect, cur)
    except dialect.loaded_dbapi.Error:
        # a statement ahead failed (or the connection did): the first one on its own,
        # with the usual error handling
        return first.rows(session, params)
    finally:
        for cur in cursors:
            _close(cur)
    kept = session.info.setdefault(_PREFETCHED, {})
    for (stmt, _, p), raw in zip(stmts[1:], raws[1:]):
        kept[_prefetch_key(stmt, p)] = raw
    return _processed(c, raws[0], False)
