"""The minimal users table."""

from __future__ import annotations

import pytest

from geogrid.db import users
from geogrid.db.engine import session_scope
from geogrid.errors import ConflictError, NotFoundError, ValidationError


def test_add_get_and_lock(engine):
    with session_scope(engine) as s:
        u = users.add_user(s, "cadre1", "$argon2id$...", "cadre", scopes=["a" * 32])
        assert len(u.id) == 32
    with session_scope(engine) as s:
        u = users.get_user(s, "cadre1")
        assert (u.role, u.scopes, u.failed_logins) == ("cadre", ["a" * 32], 0)
        for _ in range(5):
            users.record_login(s, u, ok=False)
    with session_scope(engine) as s:
        u = users.get_user(s, "cadre1")
        assert u.failed_logins == 5 and u.locked_until is not None
        users.record_login(s, u, ok=True)
        assert u.locked_until is None


def test_duplicate_and_bad_role(session):
    users.add_user(session, "x", "h", "admin")
    with pytest.raises(ConflictError):
        users.add_user(session, "x", "h", "admin")
    assert [u.username for u in users.list_users(session)] == ["x"]  # session still usable
    with pytest.raises(ValidationError):
        users.add_user(session, "y", "h", "superuser")
    with pytest.raises(NotFoundError):
        users.get_user(session, "nobody")
