"""A cadre's edit of a household's care level (户类别: 放心户 green, 关心户 yellow, 连心户
red): ``PATCH /households/{id}``.

Who: admins and cadres (``edit_households``), within their scope; a household outside
it, or out of the register, answers 404 as for a read.  The edit needs the household's
ETag (``GET /households/{id}`` gives it) in ``If-Match``: none is 428, a stale one 412
(``household.stale``: someone changed the household since it was read, and nothing is
written over their change).  Audited (``edit``, object ``household``, the level before
and after) in the edit's transaction.  A care level changes no cell: plans do not hear
of it.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from geogrid.api.deps import AuditDep, PrincipalDep, ScopeDep, SessionDep, begin_write
from geogrid.api.errors import PreconditionRequiredError
from geogrid.api.etag import make_etag, parse_if_match
from geogrid.api.scope import require
from geogrid.db.households import update_household
from geogrid.db.models import Household
from geogrid.errors import ConflictError, NotFoundError

router = APIRouter(tags=["households"])

IfMatch = Annotated[str | None, Header(alias="If-Match", description="the household's ETag")]


class HouseholdEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    care_level: Literal["green", "yellow", "red"] = Field(
        ..., description="green 放心户, yellow 关心户, red 连心户")


def _stale(household_id: str) -> ConflictError:
    return ConflictError(
        f"household {household_id} was changed by someone else since you read it; reload it "
        "and try again", key="household.stale", params={"household": household_id})


def _expected_version(household_id: str, if_match: str | None) -> int:
    tags = parse_if_match(if_match)
    if not tags or tags == ["*"]:
        raise PreconditionRequiredError(
            "editing a household needs an If-Match header with the household's ETag; GET the "
            "household, then send its ETag header back as If-Match",
            key="household.if_match_missing", params={"household": household_id})
    for t in tags:
        oid, _, version = t.strip('"').rpartition("-")
        if oid == household_id and version.isdigit():
            return int(version)
    raise _stale(household_id)


@router.patch("/households/{household_id}", summary="Change a household's care level (放心户/关心户/连心户)")
def edit_household(household_id: str, body: HouseholdEdit, response: Response, session: SessionDep,
                   principal: PrincipalDep, scope: ScopeDep, audit: AuditDep,
                   if_match: IfMatch = None) -> dict:
    require(principal, "edit_households")
    begin_write(session)
    household = session.execute(select(Household).where(
        Household.id == household_id, scope.households_clause())).scalar_one_or_none()
    if household is None:
        raise NotFoundError(f"household {household_id} not found", key="household.not_found",
                            params={"household": household_id})
    expected = _expected_version(household_id, if_match)
    before = household.care_level
    try:
        update_household(session, household_id, {"care_level": body.care_level}, expected_version=expected)
    except ConflictError as exc:
        raise _stale(household_id) from exc
    version = household.version  # the flush's: the commit expires it
    audit.add(session, "edit", "household", household_id,
              detail={"care_level": [before, body.care_level], "village_code": household.village_code})
    session.commit()
    response.headers["ETag"] = make_etag(household_id, version)
    return {"id": household_id, "care_level": body.care_level}
