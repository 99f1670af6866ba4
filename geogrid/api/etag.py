"""ETags and ``If-Match`` for optimistic locking of plans.

A plan's ETag is derived from its id and version column.  Every edit must send the
ETag it read in ``If-Match``: none gives 428, a different one 412.  The check that
matters is the conditional ``UPDATE ... WHERE version = :expected`` in the edit's own
transaction (see :mod:`geogrid.api.planedit`); this module only parses and compares.
"""

from __future__ import annotations

from geogrid.api.errors import PreconditionRequiredError
from geogrid.errors import ConflictError, InputError

__all__ = ["make_etag", "parse_if_match", "require_if_match", "version_from_etag"]


def make_etag(object_id: str, version: int) -> str:
    """The strong ETag of a plan, ``"<id>-<version>"`` (as :attr:`geogrid.db.models.Plan.etag`)."""
    return f'"{object_id}-{int(version)}"'


def parse_if_match(header: str | None) -> list[str]:
    """The entity tags listed in an ``If-Match`` header (weak ones rejected)."""
    if header is None or not header.strip():
        return []
    tags = [t.strip() for t in header.split(",") if t.strip()]
    for t in tags:
        if t.startswith("W/"):
            raise InputError("If-Match must carry the strong ETag the plan was read with, not a weak one",
                             key="plan.if_match_weak")
    return tags


def require_if_match(header: str | None) -> list[str]:
    """The tags of ``If-Match``, or 428 if it is missing.  ``*`` is refused: it would
    defeat the lost-update check."""
    tags = parse_if_match(header)
    if not tags:
        raise PreconditionRequiredError(
            "this edit needs an If-Match header with the plan's ETag; GET the plan, "
            "then send its ETag header back as If-Match", key="plan.if_match_missing")
    if tags == ["*"]:
        raise PreconditionRequiredError(
            "If-Match: * is not accepted for plan edits; send the ETag you read",
            key="plan.if_match_missing")
    return tags


def version_from_etag(object_id: str, tags: list[str]) -> int:
    """The version named by the first tag that belongs to ``object_id``, else 412."""
    for t in tags:
        body = t.strip().strip('"')
        oid, _, version = body.rpartition("-")
        if oid == object_id and version.isdigit():
            return int(version)
    raise ConflictError(
        "If-Match does not match this plan's current ETag: someone else changed it first; "
        "reload the plan and apply your edit again", key="plan.stale", params={"plan": object_id})
