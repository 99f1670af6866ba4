"""The append-only audit log: who did what to which object, when, with what result and why.

Rows are only ever inserted: database triggers reject UPDATE and DELETE (and TRUNCATE on
PostGIS), so not even a bug in geogrid can rewrite history.  Like every repository,
:func:`append` does not commit; log inside the transaction of the action it records, or
in a transaction of its own for failures (a failed login must stay logged).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import threading
from collections import deque

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from geogrid.db.engine import autocommit, backend, begin_single_statements, begin_write, session_scope
from geogrid.db.models import AuditEntry, utcnow
from geogrid.db.prepared import Prepared

__all__ = ["append", "entries", "count", "last_id", "batches", "GroupCommitWriter", "LoopAuditWriter"]


def append(session: Session, actor: str, action: str, object_type: str | None = None,
           object_id: str | None = None, *, result: str = "ok", purpose: str | None = None,
           detail: dict | None = None, at: dt.datetime | None = None) -> int:
    """Append one entry and return its id.

    ``detail`` must be JSON-serialisable and must not carry full ID or phone numbers.
    """
    if detail is not None:
        detail = json.loads(json.dumps(detail, default=str))
    table = AuditEntry.__table__
    return session.execute(
        insert(table)
        .values(at=at or utcnow(), actor=actor, action=action, object_type=object_type,
                object_id=None if object_id is None else str(object_id), result=result,
                purpose=purpose, detail=detail)
        .returning(table.c.id)
    ).scalar_one()


def _filtered(query, *, actor=None, action=None, object_type=None, object_id=None,
              result=None, since=None, until=None):
    if actor is not None:
        query = query.where(AuditEntry.actor == actor)
    if action is not None:
        query = query.where(AuditEntry.action == action)
    if object_type is not None:
        query = query.where(AuditEntry.object_type == object_type)
    if object_id is not None:
        query = query.where(AuditEntry.object_id == str(object_id))
    if result is not None:
        query = query.where(AuditEntry.result == result)
    if since is not None:
        query = query.where(AuditEntry.at >= since)
    if until is not None:
        query = query.where(AuditEntry.at < until)
    return query


def entries(session: Session, *, limit: int = 100, offset: int = 0, **filters) -> list[AuditEntry]:
    """Entries, newest first, filtered by ``actor``, ``action``, ``object_type``,
    ``object_id``, ``result``, ``since`` and ``until`` (datetimes, until exclusive)."""
    query = _filtered(select(AuditEntry), **filters)
    query = query.order_by(AuditEntry.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(query))


def count(session: Session, **filters) -> int:
    """How many entries match ``filters`` (as for :func:`entries`)."""
    return session.scalar(_filtered(select(func.count(AuditEntry.id)), **filters))


def last_id(session: Session) -> int:
    """The newest entry's id (0 for an empty log): an export reads up to it, so entries
    appended while it runs (its own among them) are left for the next one."""
    return session.scalar(select(func.max(AuditEntry.id))) or 0


def batches(bind, *, upto: int, size: int = 5000, **filters):
    """Entries up to id ``upto``, oldest first, filtered as :func:`entries` is, in lists
    of at most ``size``: each list read in a short transaction of its own by keyset
    (``id > last``), so a log of millions of entries is read in bounded memory and no
    transaction holds SQLite's readers or PostgreSQL's vacuum back for the whole run."""
    after = 0
    while True:
        with session_scope(bind) as session:
            query = _filtered(select(AuditEntry), **filters).where(AuditEntry.id > after, AuditEntry.id <= upto)
            rows = list(session.scalars(query.order_by(AuditEntry.id).limit(size)))
            session.expunge_all()
        if not rows:
            return
        yield rows
        after = rows[-1].id


#: Rows of one multi-row INSERT (8 columns each, well inside SQLite's 32,766 and
#: PostgreSQL's 65,535 bound parameters).
_ONE_STATEMENT_ROWS = 1000
#: How soon :class:`LoopAuditWriter` tries again when another process holds SQLite's
#: write lock (seconds).
_BUSY_RETRY_S = 0.0005
#: The columns a row of :meth:`GroupCommitWriter.write` gives (``id`` is the database's).
COLUMNS = ("at", "actor", "action", "object_type", "object_id", "result", "purpose", "detail")


@functools.lru_cache(maxsize=128)
def _insert_rows(n: int) -> Prepared:
    """One INSERT of ``n`` rows, compiled once per back-end (a multi-row ``values()``
    with the rows' values in it would be compiled again on every call: ~0.4 ms)."""
    table = AuditEntry.__table__
    return Prepared(insert(table).values([
        {c: bindparam(f"{c}_{i}", type_=table.c[c].type) for c in COLUMNS} for i in range(n)]))


def _insert(bind, rows: list[dict]) -> None:
    """Insert ``rows`` (on a session or connection) in statements of at most
    :data:`_ONE_STATEMENT_ROWS` rows each."""
    for start in range(0, len(rows), _ONE_STATEMENT_ROWS):
        chunk = rows[start:start + _ONE_STATEMENT_ROWS]
        _insert_rows(len(chunk)).execute(
            bind, {f"{c}_{i}": row[c] for i, row in enumerate(chunk) for c in COLUMNS})


class GroupCommitWriter:
    """Commits audit rows for many threads at once, each caller waiting for its own row.

    The hot read routes log every read of personal data *before* returning it.  With one
    commit per read, 50 concurrent readers queue on the database's write lock (SQLite's
    busy handler backs off in steps of up to 100 ms; PostgreSQL flushes its WAL once per
    commit).  Here a caller hands its rows over and blocks; whichever caller finds no
    flush in progress becomes the leader, takes every row waiting at that moment, inserts
    them in one write transaction of its own session (what a lone caller did before) and
    commits, then wakes the others.  Rows that arrive meanwhile form the next batch.
    No extra connection is needed, so a full pool cannot deadlock the leader.

    On SQLite the batch is one multi-row INSERT run as a transaction of its own
    (:func:`~geogrid.db.engine.begin_single_statements`), so the write lock is held
    only inside that one call; on PostGIS the rows join the caller's read transaction
    (or, in an autocommit session, commit with the INSERT itself).

    The guarantee is unchanged: :meth:`write` returns only after the caller's rows are
    committed, and if that commit fails every caller of the batch gets the exception
    (so the route answers 503 and returns no data).  Nothing is buffered past a return.
    """

    def __init__(self, *, max_batch: int = 1000):
        self._max_batch = max_batch
        self._cond = threading.Condition()
        self._pending: deque[_Ticket] = deque()
        self._flushing = False
        #: (batches, rows) committed so far: how much grouping happened.
        self.stats = [0, 0]

    def write(self, session: Session, rows: list[dict]) -> None:
        """Insert ``rows`` (column values of ``audit_log``) and return once committed.

        When this caller leads a batch, ``session``'s transaction is committed with it (on
        SQLite first, on PostGIS together); it must hold no uncommitted writes of its own.
        """
        if not rows:
            return
        ticket = _Ticket(rows)
        with self._cond:
            self._pending.append(ticket)
        while True:
            with self._cond:
                while self._flushing and not ticket.done:
                    self._cond.wait()
                if ticket.done:
                    if ticket.error is not None:
                        raise ticket.error
                    return
                self._flushing = True  # this caller leads the next batch
                batch = self._take()
            error = self._flush(session, batch)
            with self._cond:
                for t in batch:
                    t.done, t.error = True, error
                self._flushing = False
                self._cond.notify_all()

    def _take(self) -> list["_Ticket"]:
        batch, n = [], 0
        while self._pending and (not batch or n + len(self._pending[0].rows) <= self._max_batch):
            t = self._pending.popleft()
            batch.append(t)
            n += len(t.rows)
        return batch

    def _flush(self, session: Session, batch: list["_Ticket"]) -> BaseException | None:
        """Insert the batch's rows and commit; the exception (after a rollback) if that
        failed.

        On SQLite a batch of at most :data:`_ONE_STATEMENT_ROWS` rows is one multi-row
        INSERT outside BEGIN ... COMMIT: SQLite takes the write lock, inserts and
        commits inside one call, so another process never waits while this thread
        waits for the interpreter lock between BEGIN IMMEDIATE, INSERT and COMMIT
        (under load each of those steps could cost up to a 5 ms switch interval with
        the write lock held).  On PostGIS the rows join the session's (read)
        transaction and commit with it, two round trips fewer than ending it first; in
        an autocommit session each INSERT (one statement per 1,000 rows) commits by
        itself.
        """
        rows = [row for t in batch for row in t.rows]
        try:
            if backend(session) == "spatialite" and len(rows) <= _ONE_STATEMENT_ROWS:
                begin_single_statements(session)
            elif backend(session) == "spatialite":  # more rows than one statement takes
                begin_write(session)  # BEGIN IMMEDIATE
            _insert(session, rows)
            session.commit()
        except Exception as exc:  # handed to every caller of the batch
            try:
                session.rollback()
            except Exception:  # the connection itself is gone; closing the session ends it
                pass
            return exc
        self.stats[0] += 1
        self.stats[1] += len(rows)
        return None


class LoopAuditWriter:
    """Group commit of audit rows on an asyncio event loop: no thread, no waiting on a lock.

    The hot read routes run on the event loop (SQLite reads take microseconds; a thread
    pool hop and the interpreter-lock hand-overs around it cost more than the read).
    They await :meth:`commit`, which queues their rows and, if no flush is due, asks
    the loop to run one as soon as the requests it is handling now have queued theirs.
    The flush inserts every row waiting as one multi-row INSERT on a connection of its
    own in autocommit (:func:`~geogrid.db.engine.autocommit`), which commits them in
    that one statement, then settles each caller's future with ``None`` or the
    exception.  A caller's data goes out only once its rows are committed, as with
    :class:`GroupCommitWriter`.

    Why not a writer thread: with the loop busy in Python, a thread wakes only when the
    loop yields the interpreter lock, every 5 ms (``sys.getswitchinterval``), and a
    commit needs it several times.  Measured with 50 clients on bbox pages (SpatiaLite,
    2 workers), the reads' wait for their audit commit in such a thread was p50 43-59
    ms and p95 94-153 ms, of a 3.6 ms request: most of the answer's latency, unevenly
    spread.

    On SQLite the connection's busy timeout is 0: if the other worker process holds the
    write lock, SQLite answers "database is locked" at once instead of sleeping in its
    busy handler (which would stall the whole loop), and the flush is tried again
    shortly (the rows that arrive meanwhile join it), up to ``give_up_s``.  On
    PostgreSQL an INSERT takes no lock that another one waits for.  After a failure the
    connection is dropped and the next flush opens a new one; a kept connection the
    server dropped meanwhile (a restart) is replaced at once and the rows inserted on
    the new one.
    """

    def __init__(self, engine, *, give_up_s: float = 30.0):
        self._engine = autocommit(engine)
        self._sqlite = engine.dialect.name == "sqlite"
        self.give_up_s = give_up_s
        self._pending: list = []  # (rows, future)
        self._handle = None  # the flush the loop will run
        self._busy_since: float | None = None
        self._conn = None
        self._busy_default: int | None = None
        self._closed = False
        #: (batches, rows) committed so far: how much grouping happened.
        self.stats = [0, 0]

    async def commit(self, rows: list[dict]) -> None:
        """Commit ``rows`` (column values of ``audit_log``); returns once they are
        committed, raises what the commit raised."""
        if not rows:
            return
        if self._closed:
            raise RuntimeError("the audit writer is closed")
        if len(rows) > _ONE_STATEMENT_ROWS:
            raise ValueError(f"at most {_ONE_STATEMENT_ROWS} audit rows at once")
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((rows, future))
        if self._handle is None:
            self._handle = loop.call_soon(self._flush, loop)
        await future

    def close(self) -> None:
        """Commit what is waiting, then give the connection back."""
        self._closed = True
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        while self._pending:
            batch, self._pending = self._pending, []
            self._settle(batch, self._insert([r for rows, _ in batch for r in rows]))
        self._drop(invalidate=False)

    def _flush(self, loop) -> None:
        self._handle = None
        batch, self._pending = self._pending, []
        error = self._insert([r for rows, _ in batch for r in rows]) if batch else None
        if error is not None and self._locked(error):
            now = loop.time()
            if self._busy_since is None:
                self._busy_since = now
            if now - self._busy_since < self.give_up_s:
                # the other process is writing: try again shortly, with what arrives
                self._pending = batch + self._pending
                self._handle = loop.call_later(_BUSY_RETRY_S, self._flush, loop)
                return
        self._busy_since = None
        self._settle(batch, error)

    def _insert(self, rows: list[dict], *, again: bool = True) -> BaseException | None:
        held = self._conn is not None
        try:
            if self._conn is None:
                self._conn = self._engine.connect()
                if self._sqlite:
                    dbapi = self._conn.connection.driver_connection
                    self._busy_default = dbapi.execute("PRAGMA busy_timeout").fetchone()[0]
                    dbapi.execute("PRAGMA busy_timeout = 0")
            _insert(self._conn, rows)  # one statement (per 1,000 rows): committed by itself
        except Exception as exc:
            dropped = held and self._conn is not None and self._conn.invalidated
            if not self._locked(exc):
                self._drop(invalidate=True)
            if dropped and again:
                # The connection this writer kept (no pool pings it at checkout) was
                # dropped while it idled, by a restart or an idle timeout: the INSERT
                # never ran. Once more, on a new connection.
                return self._insert(rows, again=False)
            return exc
        self.stats[0] += 1
        self.stats[1] += len(rows)
        return None

    def _locked(self, exc: BaseException) -> bool:
        cause = exc.__cause__ or exc
        text = str(cause).lower()
        return self._sqlite and ("database is locked" in text or "database is busy" in text)

    def _drop(self, *, invalidate: bool) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            if invalidate:
                conn.invalidate()
            elif self._sqlite and self._busy_default is not None:
                conn.connection.driver_connection.execute(f"PRAGMA busy_timeout = {int(self._busy_default)}")
            conn.close()
        except Exception:  # the connection is gone already
            pass

    @staticmethod
    def _settle(batch, error) -> None:
        for _, future in batch:
            if future.done():  # its request was cancelled (the client went away)
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)


class _Ticket:
    __slots__ = ("rows", "done", "error")

    def __init__(self, rows: list[dict]):
        self.rows = rows
        self.done = False
        self.error: BaseException | None = None
