"""Search by address or 户编号 (household number), name or the last four characters of an
ID number.

An ID search takes exactly the four characters a masked number shows
(``**************123X``): a longer ending would answer, resident by resident, whether
the digits the mask hides are what the caller guessed (the fifth and sixth from the
end are the day of birth, which a masked person gives only as an age)."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel

from geogrid.api import queries
from geogrid.api.deps import AuditDep, PrincipalDep, ScopeDep, SessionDep
from geogrid.api.masking import mask_name, mask_text
from geogrid.api.representation import person_masked
from geogrid.api.scope import require
from geogrid.errors import InputError

router = APIRouter(tags=["search"])

_ID_TAIL = re.compile(r"^\d{3}[\dXx]$")


class Hit(BaseModel):
    kind: Literal["household", "person"]
    household_id: str
    person_id: str | None = None
    #: the household's 户编号 (a household hit's; a person's is in their house)
    household_no: str | None = None
    label: str
    address: str | None = None
    lon: float
    lat: float


@router.get("/search", summary="Find houses by address or number, residents by name or ID tail")
def search(
    session: SessionDep, principal: PrincipalDep, scope: ScopeDep, audit: AuditDep,
    q: Annotated[str, Query(min_length=1, max_length=100, description=(
        "an address fragment or household number (户编号), a name, or the last 4 "
        "characters of an ID number; `address` looks in both addresses and numbers"))],
    kind: Annotated[Literal["auto", "address", "name", "id_tail"], Query()] = "auto",
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> dict:
    require(principal, "read_households")
    q = q.strip()
    if not q:
        raise InputError("q is empty: type part of an address, a name or an ID number's last digits",
                         key="search.empty")
    if kind == "auto":
        kind = "id_tail" if _ID_TAIL.match(q) else ("address" if re.search(r"\d|[村组号路街寨巷]", q) else "name")
    if kind == "id_tail" and not _ID_TAIL.match(q):
        raise InputError("an ID search takes the last 4 characters of the number, as a masked "
                         "number shows them; reveal a resident to see more", key="search.id_tail")
    hits: list[Hit] = []
    if kind == "address":
        for r in queries.search_households(session, scope, address=q, limit=limit):
            hits.append(Hit(kind="household", household_id=r.id, household_no=r.household_no,
                            label=f"{r.address or ''} {mask_name(r.head_name) or ''}".strip(),
                            address=r.address, lon=r.lon, lat=r.lat))
    else:
        require(principal, "search_persons")
        found = queries.search_persons(session, scope, name=q if kind == "name" else None,
                                       id_tail=q if kind == "id_tail" else None, limit=limit)
        for person, lon, lat, address in found:
            m = person_masked(person)
            hits.append(Hit(kind="person", household_id=person.household_id, person_id=person.id,
                            label=f"{m['name']} {m['id_number'] or ''}".strip(), address=address,
                            lon=lon, lat=lat))
    audit.record(session, "search", kind, None, detail={"q": mask_text(q), "hits": len(hits)})
    return {"kind": kind, "hits": [h.model_dump() for h in hits]}
