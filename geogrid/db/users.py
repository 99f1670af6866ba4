"""Users: the table and the few reads and writes the API and CLI build on.

Password hashing, login throttling and scope checks belong to :mod:`geogrid.api`; this
module stores what they decide.  Functions take a Session and never commit.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from geogrid.db.models import USER_ROLES, User
from geogrid.errors import ConflictError, NotFoundError, ValidationError

__all__ = ["add_user", "get_user", "find_user", "list_users", "record_login"]


def add_user(session: Session, username: str, password_hash: str, role: str,
             scopes=()) -> User:
    """Add a user; ``password_hash`` is already hashed (argon2/bcrypt) by the caller."""
    if role not in USER_ROLES:
        raise ValidationError(f"role {role!r} must be one of {', '.join(USER_ROLES)}",
                              key="user.bad_role", params={"role": role})
    user = User(username=username, password_hash=password_hash, role=role,
                scopes=[str(s) for s in scopes])
    try:
        with session.begin_nested():
            session.add(user)
            session.flush()
    except IntegrityError:
        raise ConflictError(f"user {username!r} already exists; choose another name",
                            key="user.exists", params={"user": username}) from None
    return user


def find_user(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def get_user(session: Session, username: str) -> User:
    user = find_user(session, username)
    if user is None:
        raise NotFoundError(f"user {username!r} does not exist",
                            key="user.not_found", params={"user": username})
    return user


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def record_login(session: Session, user: User, *, ok: bool, lock_after: int = 5,
                 lock_for: dt.timedelta = dt.timedelta(minutes=15)) -> None:
    """Count a failed login (locking the account after ``lock_after``) or reset on success."""
    if ok:
        user.failed_logins = 0
        user.locked_until = None
        return
    user.failed_logins += 1
    if user.failed_logins >= lock_after:
        user.locked_until = dt.datetime.now(dt.UTC) + lock_for
