"""Passwords, bearer tokens and log-in throttling.

* Passwords are hashed with Argon2id (argon2-cffi, its RFC 9106 low-memory profile).
* Tokens are HS256 JWTs (PyJWT) carrying the user id, the role and an expiry; the role
  and scope are read again from the database on every request, so a changed or
  disabled account takes effect at once.  A token also carries ``pwd``, a short keyed
  digest of the account's password hash when it was given (:func:`password_stamp`):
  each request compares it with the hash now stored (:func:`check_password_stamp`), so a
  new password (``geogrid users passwd``, ``users demo``) refuses every token given
  before it at once, with no table of revoked tokens.
* :class:`LoginThrottle` counts failed log-ins per account name (known or not, so it
  does not reveal which names exist): after ``login_free_failures`` each attempt must
  wait ``login_base_delay_s * 2**k`` seconds, and after ``login_max_failures`` in a row the
  account is locked for ``lockout_minutes``.  A successful log-in resets the count.
"""

from __future__ import annotations

import base64
import datetime as dt
import functools
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from geogrid.api.config import DEFAULT_SECRET
from geogrid.api.errors import AccountLockedError, AuthenticationError, ThrottledError
from geogrid.errors import InputError

__all__ = [
    "hash_password",
    "verify_password",
    "needs_rehash",
    "issue_token",
    "decode_token",
    "password_stamp",
    "check_password_stamp",
    "check_secret",
    "LoginThrottle",
    "TokenCache",
    "generate_password",
]

_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory parameters
_ALGORITHM = "HS256"
_MIN_PASSWORD = 8
#: RFC 7518 3.2: an HS256 key at least as long as the hash (PyJWT warns below it)
_MIN_SECRET_BYTES = 32


def hash_password(password: str) -> str:
    """An Argon2id hash of ``password`` (PHC string)."""
    if len(password) < _MIN_PASSWORD:
        raise InputError(f"password too short: use at least {_MIN_PASSWORD} characters",
                         key="auth.password_short", params={"min": _MIN_PASSWORD})
    return _HASHER.hash(password)


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so both paths take the same time."""
    return _HASHER.hash("not-a-real-password-" + secrets.token_hex(8))


def verify_password(password_hash: str | None, password: str) -> bool:
    """True if ``password`` matches ``password_hash``; never raises for a mismatch."""
    try:
        return _HASHER.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _HASHER.check_needs_rehash(password_hash)


def generate_password() -> str:
    """A random password for demo users (about 80 bits)."""
    return secrets.token_urlsafe(10)


def check_secret(secret_key: str, demo: bool) -> None:
    """Refuse the default or a short secret outside demo mode."""
    if demo:
        return
    if secret_key == DEFAULT_SECRET:
        raise InputError(
            "GEOGRID_SECRET_KEY is still the default; set it to a long random value, e.g. "
            "`export GEOGRID_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')`, "
            "or set GEOGRID_DEMO=1 for a demo",
            key="config.secret_key_default")
    if len(secret_key.encode("utf-8")) < _MIN_SECRET_BYTES:
        raise InputError(f"GEOGRID_SECRET_KEY is too short: an HS256 key needs at least {_MIN_SECRET_BYTES} "
                         "bytes (RFC 7518), e.g. `python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`",
                         key="config.secret_key_short")


def password_stamp(secret_key: str, password_hash: str | None) -> str:
    """The ``pwd`` claim of the tokens of an account whose password hash is
    ``password_hash``: 16 characters of an HMAC-SHA256 of it under the token key.

    Keyed, so that the token (whose claims anyone holding it can read) says nothing of
    the hash; 96 bits, so that no other hash gives the same stamp by chance.  A new
    password (a new salt, even for the same password) gives a new stamp."""
    mac = hmac.new(secret_key.encode("utf-8"), b"geogrid token password\0"
                   + (password_hash or "").encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:12]).decode("ascii")


def check_password_stamp(secret_key: str, claims: dict, password_hash: str | None) -> None:
    """Refuse (401) a token given before the account's password last changed: its ``pwd``
    claim is not :func:`password_stamp` of ``password_hash``, the hash stored now."""
    if not hmac.compare_digest(str(claims.get("pwd", "")), password_stamp(secret_key, password_hash)):
        raise AuthenticationError("this account's password has changed since this token was given; "
                                  "log in again with the new password", key="auth.password_changed")


def issue_token(secret_key: str, *, user_id: str, username: str, role: str, password_hash: str | None,
                minutes: int, now: dt.datetime | None = None) -> tuple[str, int]:
    """A signed bearer token and its lifetime in seconds.

    ``password_hash`` is the account's stored hash, which the token is bound to
    (:func:`password_stamp`): once it changes, the token is refused."""
    now = now or dt.datetime.now(dt.UTC)
    claims = {
        "sub": str(user_id),
        "name": username,
        "role": role,
        "pwd": password_stamp(secret_key, password_hash),
        "iat": int(now.timestamp()),
        "exp": int((now + dt.timedelta(minutes=minutes)).timestamp()),
        "jti": secrets.token_hex(8),
    }
    return jwt.encode(claims, secret_key, algorithm=_ALGORITHM), minutes * 60


def decode_token(secret_key: str, token: str) -> dict:
    """The claims of a valid token, or :class:`AuthenticationError`.

    A token without ``pwd`` (given by a geogrid before tokens were bound to the
    password) is invalid: its holder logs in again."""
    try:
        claims = jwt.decode(token, secret_key, algorithms=[_ALGORITHM],
                            options={"require": ["sub", "exp", "role", "pwd"]})
    except jwt.ExpiredSignatureError:
        raise AuthenticationError("the token has expired; log in again", key="auth.token_expired") from None
    except jwt.PyJWTError:
        raise AuthenticationError("invalid token; log in again at /api/v1/auth/token",
                                  key="auth.invalid_token") from None
    return claims


class TokenCache:
    """:func:`decode_token` once per token string, its expiry checked on every use.

    A client sends the same bearer token with every request; verifying its signature
    and claims each time cost about 0.19 ms of the 2 ms a house read took in process.
    Only tokens that verified are kept (a bad or expired one is decoded, and refused,
    every time), so a hit stands for the same bytes checked under the same key; the
    expiry is compared with the clock on every call, as PyJWT does (expired once
    ``exp <= now``).  The cache holds claims only: the account (role, scope, whether it
    still exists) is read from the database on every request all the same.
    """

    def __init__(self, secret_key: str, *, maxsize: int = 10_000, clock=time.time):
        self._secret_key = secret_key
        self._maxsize = maxsize
        self._clock = clock
        self._claims: dict[str, dict] = {}

    def claims(self, token: str) -> dict:
        """The claims of a valid, unexpired token, or :class:`AuthenticationError`."""
        claims = self._claims.get(token)
        if claims is None:
            claims = decode_token(self._secret_key, token)
            if len(self._claims) >= self._maxsize:
                self._claims.clear()
            self._claims[token] = claims
        if claims["exp"] <= self._clock():
            self._claims.pop(token, None)
            raise AuthenticationError("the token has expired; log in again", key="auth.token_expired")
        return claims


@dataclass
class _Failures:
    count: int = 0
    last: float = 0.0
    locked_until: float = 0.0


class LoginThrottle:
    """In-process failed-log-in counter (one per app; see the module docstring).

    It is per process: behind several workers each keeps its own count, so the limits
    are per worker.  ``clock`` is injectable for tests.
    """

    def __init__(self, *, free_failures: int, base_delay_s: float, max_failures: int,
                 lockout_s: float, clock=time.monotonic):
        self.free_failures = free_failures
        self.base_delay_s = base_delay_s
        self.max_failures = max_failures
        self.lockout_s = lockout_s
        self.clock = clock
        self._state: dict[str, _Failures] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(username: str) -> str:
        return username.strip().casefold()

    def delay_after(self, failures: int) -> float:
        """Seconds an attempt must wait after ``failures`` failures in a row."""
        extra = failures - self.free_failures
        return 0.0 if extra <= 0 else self.base_delay_s * 2 ** (extra - 1)

    def check(self, username: str) -> None:
        """Raise if ``username`` may not try now (locked, or too soon after a failure)."""
        now = self.clock()
        with self._lock:
            st = self._state.get(self._key(username))
            if st is None:
                return
            if st.locked_until > now:
                raise AccountLockedError(
                    f"account locked after {st.count} failed log-ins; try again in "
                    f"{int(st.locked_until - now) // 60 + 1} minutes or ask an administrator "
                    "to unlock it (`geogrid users unlock`)", st.locked_until - now,
                    key="auth.account_locked", params={"minutes": int(st.locked_until - now) // 60 + 1})
            if st.locked_until and st.locked_until <= now:  # lock expired: start afresh
                self._state.pop(self._key(username), None)
                return
            wait = st.last + self.delay_after(st.count) - now
            if wait > 0:
                raise ThrottledError(
                    f"too many failed log-ins; wait {int(wait + 0.999)} s before trying again", wait,
                    key="auth.throttled", params={"seconds": int(wait + 0.999)})

    def failed(self, username: str) -> int:
        """Count a failure; return the number in a row (locks at ``max_failures``)."""
        now = self.clock()
        with self._lock:
            st = self._state.setdefault(self._key(username), _Failures())
            st.count += 1
            st.last = now
            if st.count >= self.max_failures:
                st.locked_until = now + self.lockout_s
            return st.count

    def succeeded(self, username: str) -> None:
        with self._lock:
            self._state.pop(self._key(username), None)

    def unlock(self, username: str) -> None:
        self.succeeded(username)

    def is_locked(self, username: str) -> bool:
        st = self._state.get(self._key(username))
        return bool(st and st.locked_until > self.clock())
