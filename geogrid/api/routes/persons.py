"""Persons: one resident (masked), and reveal with a purpose (full values, audited)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from geogrid.api import queries
from geogrid.api.deps import AuditDep, PrincipalDep, ScopeDep, SessionDep
from geogrid.api.errors import ThrottledError
from geogrid.api.etag import make_etag
from geogrid.api.representation import REVEALABLE, person_masked, person_revealed
from geogrid.api.scope import require
from geogrid.db.models import utcnow
from geogrid.errors import NotFoundError, PermissionDeniedError

router = APIRouter(tags=["persons"])


class RevealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(..., min_length=4, max_length=500,
                         description="Why the full values are needed (recorded in the audit log)")
    fields: list[Literal["name", "id_number", "phone", "birth_date"]] = Field(
        default_factory=lambda: list(REVEALABLE), max_length=4,
        description="Which fields to reveal (default: all)")


def _check_reveals_across_workers(request: Request, session, principal) -> None:
    """The same hourly limit, counted in the audit log: it holds across worker processes
    (``geogrid serve --workers N``), whose in-process limiters each see only their share."""
    limit = request.app.state.api_settings.reveal_per_hour
    since = utcnow() - dt.timedelta(hours=1)
    done = queries.reveals_since(session, principal.username, since)
    if done >= limit:
        raise ThrottledError(f"at most {limit} reveals per 60 minutes; try again later", 60.0,
                             key="person.reveal_limit", params={"limit": limit})


@router.get("/persons/{person_id}", summary="One resident, masked; the ETag an edit sends back")
def get_person(person_id: str, response: Response, session: SessionDep, principal: PrincipalDep,
               scope: ScopeDep, audit: AuditDep) -> dict:
    try:
        require(principal, "read_persons")
        person = queries.get_person(session, scope, person_id)
    except (NotFoundError, PermissionDeniedError) as exc:
        audit.refused(session, exc, "read", "person", person_id)
        raise
    audit.record(session, "read", "person", person_id)
    # the ETag an edit of the resident sends back in If-Match (routes.householdedits)
    response.headers["ETag"] = make_etag(person.id, person.version)
    return person_masked(person)


@router.post("/persons/{person_id}/reveal",
             summary="Full personal fields, for a stated purpose (rate-limited, audited)",
             responses={429: {"description": "reveal rate limit reached"}})
def reveal(request: Request, person_id: str, body: RevealRequest, session: SessionDep,
           principal: PrincipalDep, scope: ScopeDep, audit: AuditDep) -> dict:
    purpose = body.purpose.strip()
    if not principal.can("reveal"):
        audit.record(session, "reveal", "person", person_id, result="denied", purpose=purpose)
        require(principal, "reveal")
    try:
        person = queries.get_person(session, scope, person_id)
    except Exception:
        audit.record(session, "reveal", "person", person_id, result="not_found", purpose=purpose)
        raise
    fields = tuple(dict.fromkeys(body.fields))
    try:
        request.app.state.reveal_limiter.hit(principal.user_id, "reveals", "person.reveal_limit")
        _check_reveals_across_workers(request, session, principal)
    except ThrottledError:
        audit.record(session, "reveal", "person", person_id, result="throttled", purpose=purpose)
        raise
    # The entry is committed before the values leave the server.
    audit.record(session, "reveal", "person", person_id, purpose=purpose,
                 detail={"fields": list(fields)})
    return person_revealed(person, fields)
