"""Resident ID numbers (居民身份证号码, GB 11643-1999).

18 characters: a 6-digit area code, an 8-digit birth date, a 3-digit sequence (odd for
men, even for women) and a MOD 11-2 check character (0-9 or X).  They are text, never
numbers: Excel turns them into floats such as ``4.31227199001011e+17``, which loses
digits, and :func:`parse_id_number` says so.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

__all__ = ["check_character", "parse_id_number", "IdNumber", "make_id_number", "mask_id_number"]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")


def check_character(first17: str) -> str:
    """The MOD 11-2 check character for the first 17 digits.

    >>> check_character("11010519491231002")
    'X'
    """
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    total = sum(int(c) * w for c, w in zip(first17, _WEIGHTS))
    return _CHECK[total % 11]


@dataclass(frozen=True)
class IdNumber:
    value: str
    area: str
    birth_date: dt.date
    gender: str  # "M" or "F"


def parse_id_number(raw, *, today: dt.date | None = None) -> IdNumber:
    """Validate and normalise an ID number; raise ``ValueError`` with a reason.

    >>> parse_id_number("11010519491231002x").gender
    'F'
    """
    if raw is None:
        raise ValueError("ID number is empty")
    if isinstance(raw, float):
        raise ValueError(
            "ID number was stored as a number (Excel turned it into a float and lost digits); "
            "format the column as text in Excel and export again"
        )
    text = str(raw).strip().upper().replace(" ", "")
    if re.fullmatch(r"\d(\.\d+)?E\+?\d+", text):
        raise ValueError(
            f"ID number {text!r} is in scientific notation (Excel turned it into a number "
            "and lost digits); format the column as text in Excel and export again"
        )
    if text.endswith(".0") and _SHAPE.match(text[:-2]):
        text = text[:-2]
    if not _SHAPE.match(text):
        raise ValueError(f"ID number must be 17 digits and a check digit or X, got {len(text)} characters")
    try:
        born = dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        raise ValueError(f"ID number has an impossible birth date {text[6:14]}") from None
    today = today or dt.date.today()
    if born > today:
        raise ValueError(f"ID number has a birth date in the future ({born.isoformat()})")
    if born.year < 1890:
        raise ValueError(f"ID number has an implausible birth year {born.year}")
    expected = check_character(text[:17])
    if text[17] != expected:
        raise ValueError(f"ID number check digit is {text[17]}, expected {expected} (a digit was mistyped)")
    return IdNumber(text, text[:6], born, "M" if int(text[16]) % 2 else "F")


def make_id_number(area: str, birth: dt.date, sequence: int, gender: str) -> str:
    """Build a valid ID number (used by the sample generator and tests)."""
    seq = int(sequence) % 500 * 2 + (1 if gender == "M" else 0)
    seq = seq if seq > 0 else 2
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_character(first17)


def mask_id_number(value: str | None) -> str | None:
    """Keep only the last four characters: ``**************002X``."""
    if not value:
        return value
    return "*" * (len(value) - 4) + value[-4:]
