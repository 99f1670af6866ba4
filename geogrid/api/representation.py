"""How households and persons look in responses: masked by default, full on reveal.

A masked person carries the age, not the birth date: the birth date is digits 7-14 of
the ID number, and together with the county's area code and the last four digits it
would give the full number back.
"""

from __future__ import annotations

import datetime as dt

from geogrid.api.masking import mask_id_number, mask_name, mask_phone

__all__ = ["household_properties", "person_masked", "person_revealed", "age", "REVEALABLE"]

REVEALABLE = ("name", "id_number", "phone", "birth_date")


def age(birth: dt.date | None, today: dt.date | None = None) -> int | None:
    if birth is None:
        return None
    today = today or dt.date.today()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def household_properties(row) -> dict:
    return {
        "household_no": row.household_no,
        "head_name": mask_name(row.head_name),
        "address": row.address,
        "village_code": row.village_code,
        "building": row.building,
        "hamlet": row.hamlet,
        "care_level": row.care_level,
        "cell_id": row.cell_id,
        "cell_key": row.cell_key,
    }


def _tags(p) -> list[str]:
    return [t for t in (p.tags or "").split(";") if t]


def person_masked(p) -> dict:
    return {
        "id": p.id,
        "household_id": p.household_id,
        "name": mask_name(p.name),
        "gender": p.gender,
        "age": age(p.birth_date),
        "id_number": mask_id_number(p.id_number),
        "phone": mask_phone(p.phone),
        "relation": p.relation,
        "party_member": bool(p.party_member),
        "tags": _tags(p),
        "masked": True,
    }


def person_revealed(p, fields: tuple[str, ...] = REVEALABLE) -> dict:
    out = person_masked(p)
    full = {"name": p.name, "id_number": p.id_number, "phone": p.phone,
            "birth_date": p.birth_date.isoformat() if p.birth_date else None}
    for f in fields:
        out[f] = full[f]
    out["masked"] = False
    out["revealed"] = list(fields)
    return out
