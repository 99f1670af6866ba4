"""Whom an issue is of: its subject, the one household or person it tells about.

An aggregate withheld by the number of its records protects no one when the records are
one household's: five issues reported by one household pass a threshold of five issues
and tell that household's categories and places.  So the aggregates an analyst reads
(:mod:`geogrid.api.disclosure`) count distinct subjects, and this module names each
issue's subject.

An issue has no household column.  It carries a contact phone (the resident who asked,
given by a cadre, the hotline or Open311) and the account that reported it.  Its subject
is, first that applies:

- ``household:<id>``: the one registered household whose persons give that phone (a
  husband's and a wife's phone are one subject);
- ``phone:<digest>``: a phone no person gives, or that persons of several households
  give (one subject: it cannot be told apart);
- ``None`` (:data:`NO_SUBJECT`): an issue whose contact is a name and no phone is of a
  person who cannot be told apart from the others, and adds no subject: it is counted
  among the issues, never among whom they are of;
- ``reporter:<user id>``: an issue with no contact at all is of whoever reported it (a
  cadre on patrol, the hotline's account), so one account's issues are one subject;
- ``unknown``: none of these (its reporter's account deleted); all such issues are one
  subject.

Every rule errs towards fewer subjects, so that a count of subjects is never more than
the households and people the issues are of.  Phones are compared by their digits (a
leading 86 dropped) and the digest keeps them out of the frame.

A name is not matched to a household.  Names repeat (王伟 in two households of one
village), the one named may live outside the issue's village or not be registered, and
a name is written more than one way (王伟, 王 伟, 老王): a household found by name may
not be the household the same person's phone finds, and two subjects for one household
count more subjects than there are, which lets a place of fewer households through.
Matching only a name unique in the issue's grid avoids the first of these, not the
others.  Nor is such an issue its reporter's any more: one household's requests taken
by name by five accounts (a cell leader, the village cadre, the hotline...) were five
subjects.  An issue of a name alone now adds no subject, which can only undercount.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from geogrid.db.models import Person

__all__ = ["SUBJECT", "UNKNOWN", "NO_SUBJECT", "phone_digits", "households_by_phone", "issue_subjects"]

#: The column of :func:`geogrid.db.issues.issues_frame` naming each issue's subject.
SUBJECT = "subject"
#: The subject of the issues of no contact and no reporter.
UNKNOWN = "unknown"
#: The subject of an issue whose contact is a name and no phone: none it could add.
NO_SUBJECT = None

_CHUNK = 400  # phones per query (SQLite's bound parameters)


def phone_digits(phone: str | None) -> str:
    """The digits of a phone number, a leading country code 86 dropped; ``""`` for none.

    >>> phone_digits("+86 138-0013-8000"), phone_digits("0745-7221234"), phone_digits(None)
    ('13800138000', '07457221234', '')
    """
    digits = "".join(c for c in str(phone or "") if c.isdigit())
    return digits[2:] if len(digits) == 13 and digits.startswith("86") else digits


def households_by_phone(session: Session, phones: Iterable[str]) -> dict[str, str]:
    """``{digits: household id}`` for the phones (as :func:`phone_digits` gives them)
    that persons of exactly one household give.

    A person's phone is stored as the importer reads it (:func:`geogrid.io.validate.parse_phone`:
    its digits, no country code), so the lookup is an exact one on ``ix_persons_phone``.
    Matching each stored phone with its separators taken out scanned every person per
    400 phones: 8 s for 5,000 issues on the sample county's 270,000 persons."""
    found: dict[str, set[str]] = defaultdict(set)
    wanted = sorted({p for p in phones if p})
    for i in range(0, len(wanted), _CHUNK):
        rows = session.execute(select(Person.phone, Person.household_id)
                               .where(Person.phone.in_(wanted[i:i + _CHUNK]))).all()
        for phone, household in rows:
            found[phone].add(household)
    return {p: next(iter(h)) for p, h in found.items() if len(h) == 1}


def issue_subjects(session: Session, phones: Iterable[str | None],
                   reporters: Iterable[str | None],
                   names: Iterable[str | None] | None = None) -> list[str | None]:
    """The subject of each issue, given its contact phone, reporter and contact name
    (in one order; no names: none given)."""
    digits = [phone_digits(p) for p in phones]
    reporters = list(reporters)
    named = [bool(str(n or "").strip()) for n in names] if names is not None else [False] * len(digits)
    households = households_by_phone(session, digits)
    out: list[str | None] = []
    for d, reporter, by_name in zip(digits, reporters, named, strict=True):
        if d in households:
            out.append(f"household:{households[d]}")
        elif d:
            out.append("phone:" + hashlib.blake2b(d.encode(), digest_size=8).hexdigest())
        elif by_name:
            out.append(NO_SUBJECT)
        elif reporter:
            out.append(f"reporter:{reporter}")
        else:
            out.append(UNKNOWN)
    return out
