"""The audit log is append-only on both back-ends."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from geogrid.db import audit
from geogrid.db.engine import session_scope
from tests import aio


def test_append_and_query(session):
    first = audit.append(session, "alice", "login", result="failed", detail={"ip": "10.0.0.1"})
    second = audit.append(session, "alice", "reveal", "person", "abc", purpose="home visit")
    audit.append(session, "bob", "export", "households")
    assert second > first
    assert audit.count(session) == 3
    assert [e.action for e in audit.entries(session, actor="alice")] == ["reveal", "login"]
    reveal = audit.entries(session, action="reveal")[0]
    assert (reveal.object_type, reveal.object_id, reveal.purpose) == ("person", "abc", "home visit")
    assert reveal.at.tzinfo is not None
    assert audit.entries(session, result="failed")[0].detail == {"ip": "10.0.0.1"}
    soon = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert audit.count(session, since=soon) == 0
    assert audit.count(session, until=soon) == 3


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET actor = 'mallory'",
    "DELETE FROM audit_log",
])
def test_update_and_delete_are_rejected(engine, statement):
    with session_scope(engine) as s:
        audit.append(s, "alice", "login")
    with pytest.raises(Exception, match="append-only"):
        with session_scope(engine) as s:
            s.execute(text(statement))
    with session_scope(engine) as s:
        entries = audit.entries(s)
    assert [(e.actor, e.action) for e in entries] == [("alice", "login")]


@pytest.mark.parametrize("backend", ["postgis"], indirect=True)
def test_truncate_is_rejected_on_postgis(engine):
    with session_scope(engine) as s:
        audit.append(s, "alice", "login")
    with pytest.raises(Exception, match="append-only"):
        with session_scope(engine) as s:
            s.execute(text("TRUNCATE audit_log"))


def _row(actor: str) -> dict:
    from geogrid.db.models import utcnow

    return {"at": utcnow(), "actor": actor, "action": "read", "object_type": "household",
            "object_id": actor, "result": "ok", "purpose": None, "detail": None}


def test_group_commit_commits_every_callers_row_once_and_shares_commits(engine):
    import threading

    from geogrid.db.engine import make_sessionmaker

    writer = audit.GroupCommitWriter()
    factory = make_sessionmaker(engine)
    n_threads, per_thread = 12, 15
    start = threading.Barrier(n_threads)
    seen_after_return = []
    errors = []

    def reader(i: int) -> None:
        try:
            start.wait()
            for j in range(per_thread):
                actor = f"t{i}-{j}"
                with factory() as s:
                    writer.write(s, [_row(actor)])
                # committed before write() returned: another session sees it at once
                with factory() as check:
                    seen_after_return.append(audit.count(check, actor=actor))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert seen_after_return == [1] * (n_threads * per_thread)
    with factory() as s:
        assert audit.count(s) == n_threads * per_thread
        actors = {e.actor for e in audit.entries(s, limit=1000)}
    assert len(actors) == n_threads * per_thread
    batches, rows = writer.stats
    assert rows == n_threads * per_thread
    assert batches < rows  # concurrent callers shared commits


def test_group_commit_failure_reaches_the_caller_and_commits_nothing(engine):
    from geogrid.db.engine import make_sessionmaker

    writer = audit.GroupCommitWriter()
    factory = make_sessionmaker(engine)
    bad = _row("x")
    bad["action"] = None  # NOT NULL: the batch's insert fails
    with factory() as s, pytest.raises(Exception):
        writer.write(s, [_row("fine"), bad])
    with factory() as s:
        assert audit.count(s) == 0
        writer.write(s, [_row("after")])  # the writer is not wedged by a failed batch
    with factory() as s:
        assert [e.actor for e in audit.entries(s)] == ["after"]


def test_group_commit_callers_either_return_with_their_row_committed_or_raise_without(engine):
    """Bad rows spoil their batch: whoever shared it raises, and nothing of it is kept."""
    import threading

    from geogrid.db.engine import make_sessionmaker

    writer = audit.GroupCommitWriter()
    factory = make_sessionmaker(engine)
    outcome = {}
    start = threading.Barrier(8)

    def caller(i: int) -> None:
        start.wait()
        for j in range(10):
            actor = f"c{i}-{j}"
            row = _row(actor)
            if (i + j) % 7 == 0:
                row["action"] = None
            try:
                with factory() as s:
                    writer.write(s, [row])
                outcome[actor] = "returned"
            except Exception:
                outcome[actor] = "raised"

    threads = [threading.Thread(target=caller, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with factory() as s:
        kept = {e.actor for e in audit.entries(s, limit=1000)}
    assert len(outcome) == 80
    assert kept == {a for a, how in outcome.items() if how == "returned"}
    assert any(how == "raised" for how in outcome.values())


def test_group_commit_of_more_rows_than_one_statement_takes(engine):
    """Past one multi-row INSERT (SQLite: 1,000 rows) the batch is still one transaction:
    all rows, or none when one is bad."""
    from geogrid.db.engine import make_sessionmaker

    writer = audit.GroupCommitWriter(max_batch=5000)
    factory = make_sessionmaker(engine)
    rows = [_row(f"many-{i}") for i in range(1500)]
    with factory() as s:
        writer.write(s, rows)
    with factory() as s:
        assert audit.count(s) == 1500
    bad = [_row(f"bad-{i}") for i in range(1500)]
    bad[-1]["action"] = None
    with factory() as s, pytest.raises(Exception):
        writer.write(s, bad)
    with factory() as s:
        assert audit.count(s) == 1500


def test_group_commit_stores_what_append_stores(engine):
    """The one-statement path keeps every column as the ORM path does (JSON detail, None)."""
    from geogrid.db.engine import make_sessionmaker, session_scope

    writer = audit.GroupCommitWriter()
    with_detail = {**_row("w1"), "detail": {"client": "127.0.0.1", "n": [1, "二"]}}
    with make_sessionmaker(engine)() as s:
        writer.write(s, [with_detail, _row("w2")])
    with session_scope(engine, write=True) as s:
        audit.append(s, "a1", "read", "household", "a1", detail={"client": "127.0.0.1", "n": [1, "二"]})
        audit.append(s, "a2", "read", "household", "a2")
    with make_sessionmaker(engine)() as s:
        got = {e.actor: e.detail for e in audit.entries(s)}
    assert got["w1"] == got["a1"] == {"client": "127.0.0.1", "n": [1, "二"]}
    assert got["w2"] == got["a2"]


def test_loop_writer_commits_before_it_answers_and_groups_callers(engine):
    """Each caller hears back only once its rows are committed (another session sees
    them); callers on one loop share commits."""
    import asyncio

    from geogrid.db.engine import make_sessionmaker

    factory = make_sessionmaker(engine)
    writer = audit.LoopAuditWriter(engine)
    seen = []

    async def caller(i: int) -> None:
        for j in range(12):
            actor = f"loop{i}-{j}"
            await writer.commit([_row(actor)])
            with factory() as check:
                seen.append(audit.count(check, actor=actor))

    async def main():
        await asyncio.gather(*(caller(i) for i in range(10)))

    aio.run(main())
    writer.close()
    assert seen == [1] * 120
    batches, rows = writer.stats
    assert rows == 120 and batches < rows


def test_loop_writer_hands_a_failed_commit_to_each_caller_and_keeps_going(engine):
    import asyncio

    from geogrid.db.engine import make_sessionmaker

    factory = make_sessionmaker(engine)
    writer = audit.LoopAuditWriter(engine)
    bad = _row("bad")
    bad["action"] = None  # NOT NULL

    async def main():
        got = await asyncio.gather(writer.commit([_row("spoilt"), bad]), writer.commit([_row("also")]),
                                   return_exceptions=True)
        assert all(isinstance(g, Exception) for g in got)  # one batch, one failure for both
        await writer.commit([_row("after")])  # not wedged: a new connection

    aio.run(main())
    writer.close()
    with factory() as s:
        assert [e.actor for e in audit.entries(s)] == ["after"]

    async def late():
        await writer.commit([_row("late")])

    with pytest.raises(RuntimeError, match="closed"):
        aio.run(late())


def test_loop_writer_stores_what_append_stores(engine):
    from geogrid.db.engine import make_sessionmaker

    factory = make_sessionmaker(engine)
    writer = audit.LoopAuditWriter(engine)
    detail = {"client": "127.0.0.1", "n": [1, "二"]}
    aio.run(writer.commit([{**_row("t1"), "detail": detail}, _row("t2")]))
    writer.close()
    with session_scope(engine, write=True) as s:
        audit.append(s, "a1", "read", "household", "a1", detail=detail)
    with factory() as s:
        got = {e.actor: (e.detail, e.at.tzinfo is not None) for e in audit.entries(s)}
    assert got["t1"] == got["a1"] == (detail, True)
    assert got["t2"][0] is None


def test_loop_writer_waits_out_another_writer_without_blocking_its_loop(engine):
    """SQLite: while another connection holds the write lock, the flush is retried and
    the loop keeps running other work; the rows commit once the lock is released, and a
    lock held past ``give_up_s`` fails the callers instead of hanging them."""
    import asyncio
    import time

    if engine.dialect.name != "sqlite":
        pytest.skip("PostgreSQL INSERTs take no lock another INSERT waits for")
    from geogrid.db.engine import make_sessionmaker

    factory = make_sessionmaker(engine)
    writer = audit.LoopAuditWriter(engine)
    holder = engine.raw_connection()
    holder.driver_connection.execute("PRAGMA busy_timeout = 0")

    async def main():
        holder.driver_connection.execute("BEGIN IMMEDIATE")  # the other worker writing
        task = asyncio.ensure_future(writer.commit([_row("waited")]))
        ticks = 0
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < 0.2:
            await asyncio.sleep(0.005)
            ticks += 1
        assert not task.done()
        assert ticks >= 10  # the loop was not stalled while the lock was held
        holder.driver_connection.execute("ROLLBACK")
        await asyncio.wait_for(task, 5)
        writer.give_up_s = 0.05
        holder.driver_connection.execute("BEGIN IMMEDIATE")
        with pytest.raises(Exception, match="locked"):
            await asyncio.wait_for(writer.commit([_row("given up")]), 5)
        holder.driver_connection.execute("ROLLBACK")

    try:
        aio.run(main())
    finally:
        holder.close()
    writer.close()
    with factory() as s:
        assert [e.actor for e in audit.entries(s)] == ["waited"]
        # the pooled connection got its busy timeout back
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0


@pytest.mark.parametrize("backend", ["postgis"], indirect=True)
def test_loop_writer_replaces_a_connection_the_server_dropped_while_it_idled(engine, postgis_admin):
    """The loop writer keeps one connection, outside the pool's ping at checkout: after a
    PostgreSQL restart (or an idle-session timeout) the first house read of each worker
    failed with 503, the database up again. A connection found dropped is replaced and
    the rows inserted on the new one, once; the rows are committed exactly once."""
    from geogrid.db.engine import make_sessionmaker

    writer = audit.LoopAuditWriter(engine)
    aio.run(writer.commit([_row("before")]))
    pid = writer._conn.connection.driver_connection.info.backend_pid
    with postgis_admin.connect() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar()
    aio.run(writer.commit([_row("after the restart")]))
    assert writer._conn.connection.driver_connection.info.backend_pid != pid
    writer.close()
    with make_sessionmaker(engine)() as s:
        assert sorted(e.actor for e in audit.entries(s)) == ["after the restart", "before"]
