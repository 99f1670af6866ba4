"""The audit log is append-only on both back-ends."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from geogrid.db import audit
from geogrid.db.engine import session_scope


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
