"""A cadre's edits of a household: its care level (户类别: 放心户 green, 关心户 yellow, 连心户
red), ``PATCH /households/{id}``, and a resident's phone, relation to the head and party
membership, ``PATCH /persons/{id}``.

Who: admins and cadres (``edit_households``), within their scope; a household outside
it, or out of the register, answers 404 as for a read.  The edit needs the household's
ETag (``GET /households/{id}`` gives it; a resident's, ``GET /persons/{id}``) in
``If-Match``: none is 428, a stale one 412 (``household.stale``, ``person.stale``:
someone changed it since it was read, and nothing is written over their change).
Audited (``edit``, object ``household`` with the level before and after, or ``person``
with the fields changed, a phone masked) in the edit's transaction.  Neither changes a
cell: plans do not hear of it.  A resident's edit answers them masked, as a read does.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Header, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from geogrid.api.deps import AuditDep, PrincipalDep, ScopeDep, SessionDep, begin_write
from geogrid.api.errors import PreconditionRequiredError
from geogrid.api.etag import make_etag, parse_if_match
from geogrid.api import queries
from geogrid.api.representation import person_masked
from geogrid.api.scope import require
from geogrid.db.engine import flush
from geogrid.db.households import update_household
from geogrid.db.models import Household
from geogrid.errors import ConflictError, InputError, NotFoundError
from geogrid.io.validate import parse_phone
from geogrid.personalnumbers import find_numbers
from geogrid.phonenumber import mask_phone

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


def _person_stale(person_id: str) -> ConflictError:
    return ConflictError(
        f"resident {person_id} was changed by someone else since you read them; reload and "
        "try again", key="person.stale", params={"person": person_id})


def _expected_version(object_id: str, if_match: str | None, kind: str = "household") -> int:
    tags = parse_if_match(if_match)
    if not tags or tags == ["*"]:
        raise PreconditionRequiredError(
            f"editing a {kind} needs an If-Match header with its ETag; GET it, then send its "
            "ETag header back as If-Match",
            key=f"{'household' if kind == 'household' else 'person'}.if_match_missing",
            params={"household" if kind == "household" else "person": object_id})
    for t in tags:
        oid, _, version = t.strip('"').rpartition("-")
        if oid == object_id and version.isdigit():
            return int(version)
    raise _stale(object_id) if kind == "household" else _person_stale(object_id)


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


class PersonEdit(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: str | None = Field(None, max_length=30, description=(
        "the full number, a mobile or a landline with its area code; null or empty: none"))
    relation: str | None = Field(None, max_length=20, description="relation to the head (户主, 配偶, 子 ...)")
    party_member: bool | None = Field(None, description="a member of the Communist Party (党员)")


@router.patch("/persons/{person_id}", summary="Change a resident's phone, relation or party membership")
def edit_person(person_id: str, body: PersonEdit, response: Response, session: SessionDep,
                principal: PrincipalDep, scope: ScopeDep, audit: AuditDep,
                if_match: IfMatch = None) -> dict:
    require(principal, "edit_households")
    begin_write(session)
    person = queries.get_person(session, scope, person_id)
    expected = _expected_version(person_id, if_match, "resident")
    if person.version != expected:
        raise _person_stale(person_id)
    sent = body.model_fields_set
    changed: dict = {}
    if "phone" in sent:
        try:
            phone = parse_phone(body.phone)
        except ValueError:
            raise InputError("the phone is neither an 11-digit mobile number nor a landline with "
                             "its area code (0745-6221234): check it and try again",
                             key="person.phone_invalid") from None
        if phone != person.phone:
            person.phone = phone
            changed["phone"] = mask_phone(phone)
    if "relation" in sent:
        relation = (body.relation or "").strip() or None
        if relation and find_numbers(relation):
            raise InputError("the relation holds an ID number or phone number: take it out and try again",
                             key="person.relation_number")
        if relation != person.relation:
            person.relation = relation
            changed["relation"] = relation
    if "party_member" in sent and body.party_member is not None and body.party_member != person.party_member:
        person.party_member = body.party_member
        changed["party_member"] = body.party_member
    if changed:
        try:
            flush(session)
        except ConflictError as exc:
            raise _person_stale(person_id) from exc
        audit.add(session, "edit", "person", person_id,
                  detail={"household_id": person.household_id, **changed})
    version = person.version
    out = person_masked(person)
    session.commit()
    response.headers["ETag"] = make_etag(person_id, version)
    return out
