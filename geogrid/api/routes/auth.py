"""Log-in: the OAuth2 password flow at ``POST /api/v1/auth/token``."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy import select, update

from geogrid.api.deps import PrincipalDep, SessionDep, anonymous_auditor, begin_write
from geogrid.api.errors import AccountLockedError, AuthenticationError, ThrottledError
from geogrid.api.security import issue_token, needs_rehash, hash_password, verify_password
from geogrid.db.models import User

router = APIRouter(tags=["auth"])


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    role: str
    username: str


class Me(BaseModel):
    id: str
    username: str
    role: str
    scopes: list[str]
    permissions: list[str]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@router.post("/auth/token", response_model=Token, summary="Log in (OAuth2 password flow)",
             responses={401: {"description": "wrong username or password"},
                        423: {"description": "account locked"},
                        429: {"description": "too many failed log-ins: wait"}})
def login(request: Request, session: SessionDep,
          form: Annotated[OAuth2PasswordRequestForm, Depends()]) -> Token:
    state = request.app.state
    api = state.api_settings
    username = form.username.strip()
    audit = anonymous_auditor(request, username)
    try:
        state.throttle.check(username)
        user = session.execute(select(User).where(User.username == username)).scalar_one_or_none()
        if user is not None and user.locked_until is not None and user.locked_until > _now():
            left = (user.locked_until - _now()).total_seconds()
            raise AccountLockedError(
                f"account locked after repeated failed log-ins; try again in {int(left // 60) + 1} "
                "minutes or ask an administrator to unlock it", left,
                key="auth.account_locked", params={"minutes": int(left // 60) + 1})
    except ThrottledError as exc:
        reason = "locked" if isinstance(exc, AccountLockedError) else "throttled"
        audit.record(session, "login", "user", username, result="refused", detail={"reason": reason})
        raise
    ok = verify_password(user.password_hash if user else None, form.password)
    if not ok:
        count = state.throttle.failed(username)
        begin_write(session)
        if user is not None:
            locked = None
            # a lock that has run out starts a fresh count: one more slip after the
            # lockout must not lock the account again at once
            expired = user.locked_until is not None and user.locked_until <= _now()
            failures = 1 if expired else user.failed_logins + 1
            if failures >= api.login_max_failures:
                locked = _now() + dt.timedelta(minutes=api.lockout_minutes)
            session.execute(update(User).where(User.id == user.id).values(
                failed_logins=1 if expired else User.failed_logins + 1, locked_until=locked))
        audit.add(session, "login", "user", username, result="failed",
                  detail={"failures_in_a_row": count})
        session.commit()
        raise AuthenticationError("wrong username or password", key="auth.wrong_credentials")
    state.throttle.succeeded(username)
    begin_write(session)
    values = {"failed_logins": 0, "locked_until": None}
    password_hash = user.password_hash
    if needs_rehash(password_hash):
        # new hashing parameters: the account's other tokens are refused from now on
        values["password_hash"] = password_hash = hash_password(form.password)
    session.execute(update(User).where(User.id == user.id).values(**values))
    audit.add(session, "login", "user", user.id)
    session.commit()
    token, seconds = issue_token(request.app.state.settings.secret_key, user_id=user.id,
                                 username=user.username, role=user.role, password_hash=password_hash,
                                 minutes=api.token_minutes)
    return Token(access_token=token, expires_in=seconds, role=user.role, username=user.username)


@router.get("/auth/me", response_model=Me, summary="Who am I: role, scope and permissions")
def me(principal: PrincipalDep) -> Me:
    from geogrid.api.scope import PERMISSIONS

    return Me(id=principal.user_id, username=principal.username, role=principal.role, scopes=list(principal.scopes),
              permissions=sorted(p for p, roles in PERMISSIONS.items() if principal.role in roles))
