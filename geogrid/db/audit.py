"""The append-only audit log: who did what to which object, when, with what result and why.

Rows are only ever inserted: database triggers reject UPDATE and DELETE (and TRUNCATE on
PostGIS), so not even a bug in geogrid can rewrite history.  Like every repository,
:func:`append` does not commit; log inside the transaction of the action it records, or
in a transaction of its own for failures (a failed login must stay logged).
"""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from geogrid.db.models import AuditEntry, utcnow

__all__ = ["append", "entries", "count"]


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
