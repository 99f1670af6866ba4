"""The append-only audit log: who did what to which object, when, with what result and why.

Rows are only ever inserted: database triggers reject UPDATE and DELETE (and TRUNCATE on
PostGIS), so not even a bug in geogrid can rewrite history.  Like every repository,
:func:`append` does not commit; log inside the transaction of the action it records, or
in a transaction of its own for failures (a failed login must stay logged).
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import queue
import threading
from collections import deque

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.orm import Session

from geogrid.db.engine import autocommit, backend, begin_single_statements, begin_write
from geogrid.db.models import AuditEntry, utcnow
from geogrid.db.prepared import Prepared

__all__ = ["append", "entries", "count", "GroupCommitWriter", "AuditThread"]


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


#: Rows of one multi-row INSERT (8 columns each, well inside SQLite's 32,766 and
#: PostgreSQL's 65,535 bound parameters).
_ONE_STATEMENT_ROWS = 1000
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


class AuditThread:
    """Commits audit rows for callers that must not block: one writer thread per process.

    The hot read routes run on the event loop (SQLite reads take microseconds; a thread
    pool hop and the interpreter-lock hand-overs around it cost more than the read).
    They cannot wait on a commit there, so they hand their rows to :meth:`submit` with a
    callback and await it (``geogrid.api.deps.commit_audit``).  The thread takes every
    row waiting (at most :data:`_ONE_STATEMENT_ROWS`) and inserts them as one multi-row
    INSERT on a connection of its own in autocommit
    (:func:`~geogrid.db.engine.autocommit`), which commits them in that one statement:
    no session, no BEGIN or COMMIT, so the thread needs the interpreter lock for a few
    microseconds a batch and never holds SQLite's write lock while it waits for it.
    Then it calls each caller's callback with ``None`` or the exception; rows that
    arrive meanwhile form the next batch.  A caller's data is returned only after its
    callback said its row is committed, as with :class:`GroupCommitWriter`.  After a
    failure the connection is dropped and the next batch opens a new one.

    The thread starts with the first row and stops on :meth:`close` (after committing
    what was submitted before it).
    """

    def __init__(self, engine):
        self._engine = autocommit(engine)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._conn = None
        #: (batches, rows) committed so far: how much grouping happened.
        self.stats = [0, 0]

    def submit(self, rows: list[dict], done) -> None:
        """Commit ``rows`` (column values of ``audit_log``) in the writer thread, then call
        ``done(None)``, or ``done(exception)`` if the commit failed.  ``done`` runs in the
        writer thread and must only hand the result over (e.g. to an event loop)."""
        if not rows:
            done(None)
            return
        if len(rows) > _ONE_STATEMENT_ROWS:
            raise ValueError(f"at most {_ONE_STATEMENT_ROWS} audit rows at once")
        with self._lock:
            if self._closed:
                raise RuntimeError("the audit writer is closed")
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="geogrid-audit",
                                                daemon=True)
                self._thread.start()
        self._queue.put((rows, done))

    def close(self, timeout: float = 10.0) -> None:
        """Commit what was submitted, then stop the thread."""
        with self._lock:
            self._closed = True
            thread = self._thread
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        stop = False
        try:
            while not stop:
                item = self._queue.get()
                if item is None:
                    return
                batch, n = [item], len(item[0])
                while True:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        stop = True
                        break
                    if n + len(item[0]) > _ONE_STATEMENT_ROWS:
                        self._settle(batch, self._commit([r for rows, _ in batch for r in rows]))
                        batch, n = [], 0
                    batch.append(item)
                    n += len(item[0])
                self._settle(batch, self._commit([r for rows, _ in batch for r in rows]))
        finally:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def _commit(self, rows: list[dict]) -> BaseException | None:
        try:
            if self._conn is None:
                self._conn = self._engine.connect()
            _insert(self._conn, rows)  # one statement: committed by itself
        except Exception as exc:
            if self._conn is not None:
                try:
                    self._conn.invalidate()
                    self._conn.close()
                except Exception:  # the connection is gone already
                    pass
                self._conn = None
            return exc
        self.stats[0] += 1
        self.stats[1] += len(rows)
        return None

    @staticmethod
    def _settle(batch, error) -> None:
        for _, done in batch:
            try:
                done(error)
            except Exception:  # a caller's hand-over failed (its loop is closed): the
                pass           # others must still hear


class _Ticket:
    __slots__ = ("rows", "done", "error")

    def __init__(self, rows: list[dict]):
        self.rows = rows
        self.done = False
        self.error: BaseException | None = None
