"""The one table mapping errors to HTTP status codes, and the handlers that use it.

Below ``geogrid.api`` code raises :mod:`geogrid.errors`; nothing there knows HTTP.  The
few API-only conditions (authentication, throttling, preconditions, body size) are
subclasses of that tree defined here.  Every error body has the same shape::

    {"detail": "what went wrong and what to do next", "code": "not_found",
     "errors": [{"row": 2, "column": "lon", "reason": "..."}],   # when there are rows
     "message": {"key": "plan.publish_has_errors",               # when the refusal has one
                 "params": {"plan": "...", "n": 3}}}

``detail`` is English and ``code`` the class of error (from the status).  ``message``
names the refusal itself for a client that words it in its user's language (the web
map's ``api.<key>`` strings): a stable dotted key and the values of the sentence
(codes, ids, counts, as they are; ``detail`` says the same in English).  It comes from
the error's ``key`` and ``params`` (:class:`geogrid.errors.GeogridError`), or from
those of the error it was raised from (``raise StateError(...) from exc``).  A refusal
with no key has no ``message``: show ``detail``.  Keys are never renamed once given;
a new refusal gets a new key.

Every refusal geogrid raises in the API carries a key (``tests/api/test_error_keys.py``
checks the raises); so do a request FastAPI refuses before a route runs
(``request.invalid``, its first field as ``field``), a path no route serves
(``request.not_found``, ``request.method_not_allowed``) and a database unavailable or
busy (503, ``database.unavailable``).  Other errors of the server (500) have none.
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException

from geogrid.errors import (
    ConflictError,
    DatabaseError,
    GeogridError,
    InputError,
    NotFoundError,
    PartitionError,
    PermissionDeniedError,
    ValidationError,
)

__all__ = [
    "STATUS_CODES",
    "AuthenticationError",
    "ThrottledError",
    "AccountLockedError",
    "PreconditionRequiredError",
    "PayloadTooLargeError",
    "StateError",
    "status_for",
    "message_of",
    "install_error_handlers",
]

log = logging.getLogger("geogrid.api")


class AuthenticationError(PermissionDeniedError):
    """No credentials, bad credentials or an expired token (401)."""


class ThrottledError(PermissionDeniedError):
    """Too many attempts; ``retry_after`` says how many seconds to wait (429)."""

    def __init__(self, message: str, retry_after: float, **kw):
        super().__init__(message, **kw)
        self.retry_after = max(1, int(retry_after + 0.999))


class AccountLockedError(ThrottledError):
    """The account is locked after repeated failed log-ins (423)."""


class PreconditionRequiredError(ConflictError):
    """An edit came without ``If-Match`` (428)."""


class PayloadTooLargeError(InputError):
    """The request body is larger than ``GEOGRID_API_MAX_BODY_BYTES`` (413)."""


class StateError(ConflictError):
    """The object is in a state that does not allow this (editing a published plan) (409)."""


#: Most specific class first is not needed: lookup walks each error's MRO.
STATUS_CODES: dict[type[BaseException], int] = {
    AuthenticationError: 401,
    AccountLockedError: 423,
    ThrottledError: 429,
    PermissionDeniedError: 403,
    NotFoundError: 404,  # also everything outside the caller's scope
    PreconditionRequiredError: 428,
    StateError: 409,
    ConflictError: 412,
    PayloadTooLargeError: 413,
    ValidationError: 422,
    InputError: 422,
    PartitionError: 422,
    DatabaseError: 503,
    GeogridError: 500,
    # SQLAlchemy errors that reach the API: a lost or locked database is a 503, never a 500.
    sa_exc.OperationalError: 503,
    sa_exc.InterfaceError: 503,
    sa_exc.DisconnectionError: 503,
    sa_exc.TimeoutError: 503,
    sa_exc.IntegrityError: 409,
}

_CODES = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    412: "precondition_failed",
    413: "payload_too_large",
    422: "invalid",
    423: "locked",
    428: "precondition_required",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
}


def status_for(exc: BaseException) -> int:
    """The HTTP status of ``exc``: the entry of the first class in its MRO, else 500."""
    for cls in type(exc).__mro__:
        if cls in STATUS_CODES:
            return STATUS_CODES[cls]
    return 500


def message_of(exc: BaseException) -> dict | None:
    """The ``message`` of ``exc``'s error body: ``{"key": ..., "params": {...}}`` from its
    ``key`` and ``params``, else from those of the error it was raised from (a
    workflow's refusal re-raised as a :class:`StateError`, a photo's as a
    :class:`PayloadTooLargeError`); None when neither has a key."""
    seen = 0
    while exc is not None and seen < 5:
        key = getattr(exc, "key", None)
        if isinstance(key, str) and key:
            params = getattr(exc, "params", None)
            return {"key": key, "params": dict(params) if isinstance(params, dict) else {}}
        exc, seen = exc.__cause__, seen + 1
    return None


def masked_json(value):
    """``value`` as JSON would carry it (``default=str``), with :func:`mask_json` applied
    to it: every string, and every whole number that is an ID or phone number, masked.
    Before, the JSON text was masked and parsed again, and a number the recogniser took
    (a float such as 95.0123456789, an int 13812345678) came back unquoted: the answer to
    a refusal was a 500 of json's own."""
    from geogrid.api.masking import mask_json

    return mask_json(json.loads(json.dumps(value, ensure_ascii=False, default=str)))


def _body(status: int, detail, errors=None, message=None) -> dict:
    # Messages may quote what the caller sent (an id in a path, a search term): never
    # let a full ID or phone number come back in an error.
    from geogrid.api.masking import mask_text

    if isinstance(detail, str):
        detail = mask_text(detail)
    body = {"detail": detail, "code": _CODES.get(status, "error")}
    if errors:
        body["errors"] = masked_json(errors)
    if message:
        body["message"] = masked_json(message)
    return body


def _message(exc: BaseException, status: int) -> str:
    if status == 503:
        # never the database's address, user or driver text (anyone may be told this,
        # before logging in): the server's log says why (_reason)
        return "the database is unavailable or busy; try again shortly (the server's log says why)"
    if status == 409 and isinstance(exc, sa_exc.IntegrityError):
        return "the change conflicts with existing data (duplicate or missing reference); reload and retry"
    if status == 500 and not isinstance(exc, GeogridError):
        # SQLAlchemy's text quotes the statement and its parameters (what was searched
        # for): the log keeps it, with the traceback
        return "internal error; the server's log has the details"
    return str(exc) or type(exc).__name__


def _reason(exc: BaseException) -> str:
    """Why the database failed, for the server's log: the driver's own message (never
    SQLAlchemy's text of the statement and its parameters, which may hold what a user
    searched for)."""
    orig = getattr(exc, "orig", None) if isinstance(exc, sa_exc.DBAPIError) else None
    text = " ".join(str(orig if orig is not None else exc).split())
    return f": {text}" if text else ""


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, sa_exc.StatementError) and isinstance(exc.orig, GeogridError):
        exc = exc.orig
    status = status_for(exc)
    errors = None
    if isinstance(exc, ValidationError) and exc.rejects:
        errors = [{"row": r, "column": c, "reason": why} for r, c, why in exc.rejects]
    elif getattr(exc, "errors", None) and isinstance(exc.errors, list):
        errors = exc.errors
    if status >= 500:
        log.error("%s %s failed: %s%s", request.method, request.url.path, type(exc).__name__,
                  _reason(exc) if status == 503 else "", exc_info=exc if status == 500 else None)
    headers = {}
    if isinstance(exc, ThrottledError):
        headers["Retry-After"] = str(exc.retry_after)
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 503:
        headers["Retry-After"] = "5"
    message = message_of(exc) if status < 500 else None
    if status == 503:
        # the sentence of _message, which the map words in its user's language
        message = {"key": "database.unavailable", "params": {}}
    return JSONResponse(_body(status, _message(exc, status), errors, message), status_code=status,
                        headers=headers)


async def _handle_request_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
    # FastAPI's default body echoes the offending "input", which may be a full ID or
    # phone number; keep only where and why.
    errors = []
    for e in exc.errors():
        where = ".".join(str(p) for p in e.get("loc", ()))
        errors.append({"loc": where, "reason": e.get("msg", "invalid"), "type": e.get("type")})
    first = errors[0] if errors else {"loc": "request", "reason": "invalid"}
    detail = f"invalid request: {first['loc']}: {first['reason']}"
    if len(errors) > 1:
        detail += f" (and {len(errors) - 1} more)"
    return JSONResponse(_body(422, detail, errors, {"key": "request.invalid", "params": {"field": first["loc"]}}),
                        status_code=422)


#: the message keys of the HTTP errors Starlette raises itself (no route, wrong method)
_HTTP_KEYS = {404: "request.not_found", 405: "request.method_not_allowed"}


async def _handle_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    key = _HTTP_KEYS.get(exc.status_code)
    message = {"key": key, "params": {}} if key else None
    return JSONResponse(_body(exc.status_code, detail, None, message), status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, _handle_request_validation)
    app.add_exception_handler(StarletteHTTPException, _handle_http)
    for cls in (GeogridError, sa_exc.SQLAlchemyError):
        app.add_exception_handler(cls, _handle)
