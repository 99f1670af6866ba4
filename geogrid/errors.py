"""The one error tree of geogrid.

Every error inherits :class:`GeogridError` and, like h3-py, a builtin that says what
kind of problem it is, so callers may catch either.  Messages say what to do next.
The API maps these to HTTP status codes in one table (``geogrid.api.errors``) and the
CLI maps them to exit codes (:data:`EXIT_CODES`).
"""

from __future__ import annotations

__all__ = [
    "GeogridError",
    "InputError",
    "FileFormatError",
    "EncodingError",
    "ColumnError",
    "ValidationError",
    "CRSError",
    "PartitionError",
    "DatabaseError",
    "SpatialiteNotFoundError",
    "NotFoundError",
    "ConflictError",
    "PermissionDeniedError",
    "EXIT_CODES",
]


class GeogridError(Exception):
    """Base of every error raised by geogrid.

    ``errors``, where given, are the error's details as data (``{"type": ..., "params":
    ...}`` each), which the API puts into its answer's ``errors`` so that a client can
    word them in its user's language.

    ``key`` and ``params``, where given, name the message itself: a stable dotted key
    (``"plan.publish_has_errors"``) and the values it is worded with (``{"plan": ...,
    "n": 3}``: codes, ids, numbers, as they are), which the API gives as its answer's
    ``message`` next to the English text, so that a client shows the refusal in its
    user's language.  The English message (``str(exc)``) is unchanged by them; keys are
    kept once published (a client words only the keys it knows).

    >>> e = InputError("plan p breaks 2 rule(s)", key="plan.publish_has_errors",
    ...                params={"plan": "p", "n": 2})
    >>> e.key, e.params, str(e)
    ('plan.publish_has_errors', {'plan': 'p', 'n': 2}, 'plan p breaks 2 rule(s)')
    """

    #: the message's key, or None (a message with no key is English only)
    key: str | None = None
    #: the values the keyed message is worded with
    params: dict = {}

    def __init__(self, *args, errors: list[dict] | None = None, key: str | None = None,
                 params: dict | None = None):
        super().__init__(*args)
        if errors is not None:
            self.errors = errors
        if key is not None:
            self.key = key
            self.params = dict(params or {})


class InputError(GeogridError, ValueError):
    """Input that geogrid cannot use as given."""


class FileFormatError(InputError):
    """A file that cannot be read: unknown extension, corrupt, missing layer."""


class EncodingError(InputError, UnicodeError):
    """A text file in an encoding geogrid cannot decode."""


class ColumnError(InputError, KeyError):
    """A required column is missing or a column mapping is wrong."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class ValidationError(InputError):
    """Rows that fail validation.

    ``rejects`` is a list of ``(row_number, column, reason)`` tuples; row numbers are
    as a person sees them in the file (header is row 1, first data row is row 2).
    """

    def __init__(self, message: str, rejects: list[tuple[int, str, str]] | None = None, **kw):
        super().__init__(message, **kw)
        self.rejects = list(rejects or [])


class CRSError(InputError):
    """An unknown or unsupported coordinate system."""


class PartitionError(GeogridError, RuntimeError):
    """The partition engine could not satisfy a hard rule."""


class DatabaseError(GeogridError, RuntimeError):
    """The database is missing, unreachable or not at the expected schema."""


class SpatialiteNotFoundError(DatabaseError):
    """mod_spatialite could not be loaded into SQLite."""


class NotFoundError(GeogridError, LookupError):
    """An object does not exist (or is outside the caller's scope)."""


class ConflictError(GeogridError, RuntimeError):
    """A concurrent edit changed the object first (optimistic locking)."""


class PermissionDeniedError(GeogridError, PermissionError):
    """The caller's role may not do this."""


#: Documented exit codes of the ``geogrid`` command; see ``geogrid --help``.
EXIT_CODES: dict[type[GeogridError], int] = {
    ValidationError: 3,
    FileFormatError: 4,
    EncodingError: 4,
    ColumnError: 4,
    CRSError: 4,
    InputError: 2,
    PartitionError: 5,
    SpatialiteNotFoundError: 6,
    DatabaseError: 6,
    NotFoundError: 7,
    ConflictError: 8,
    PermissionDeniedError: 9,
    GeogridError: 1,
}


def exit_code_for(exc: GeogridError) -> int:
    """The CLI exit code of ``exc``: the entry of its most specific class."""
    for cls in type(exc).__mro__:
        if cls in EXIT_CODES:
            return EXIT_CODES[cls]
    return 1
