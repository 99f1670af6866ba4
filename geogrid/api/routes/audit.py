"""The audit log, read-only, for admins.  There is no route that edits it."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query, Request

from geogrid.api import queries
from geogrid.api.deps import PrincipalDep, SessionDep
from geogrid.api.masking import mask_json
from geogrid.api.paging import Page, page_links
from geogrid.api.scope import require

router = APIRouter(tags=["audit"])


@router.get("/audit", summary="Audit log entries, newest first (admins only)")
def list_audit(
    request: Request, session: SessionDep, principal: PrincipalDep,
    actor: Annotated[str | None, Query(max_length=100)] = None,
    action: Annotated[str | None, Query(max_length=50)] = None,
    object_type: Annotated[str | None, Query(max_length=50)] = None,
    object_id: Annotated[str | None, Query(max_length=100)] = None,
    result: Annotated[str | None, Query(max_length=50)] = None,
    since: Annotated[dt.datetime | None, Query()] = None,
    until: Annotated[dt.datetime | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict:
    require(principal, "read_audit")
    since = since.replace(tzinfo=dt.UTC) if since and since.tzinfo is None else since
    until = until.replace(tzinfo=dt.UTC) if until and until.tzinfo is None else until
    total, rows = queries.audit_rows(session, actor=actor, action=action, object_type=object_type,
                                     object_id=object_id, result=result, since=since, until=until,
                                     limit=limit, offset=offset)
    # The API's own entries are masked when written (geogrid.api.deps.Auditor); entries
    # from elsewhere (`geogrid export --purpose ...`, older rows) are masked here.
    entries = [{"id": r.id, "at": r.at.isoformat(),
                **mask_json({"actor": r.actor, "action": r.action, "object_type": r.object_type,
                             "object_id": r.object_id, "result": r.result, "purpose": r.purpose,
                             "detail": r.detail})}
               for r in rows]
    return {"entries": entries, "numberMatched": total, "numberReturned": len(entries),
            "links": page_links(request, Page(limit, offset), len(entries), total)}
