"""Resident ID numbers (居民身份证号码, GB 11643-1999).

18 characters: a 6-digit area code, an 8-digit birth date, a 3-digit sequence (odd for
men, even for women) and a MOD 11-2 check character (0-9 or X).  They are text, never
numbers: Excel turns them into floats such as ``4.31227199001011e+17``, which loses
digits, and :func:`parse_id_number` says so.

First-generation numbers (issued until 2004, still found in old registers) have 15
digits: the birth year in two digits and no check character.  :func:`parse_id_number`
converts them as GB 11643 does (``19`` before the year, the check character after) and
says so in :attr:`IdNumber.converted_from`.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

__all__ = ["check_character", "parse_id_number", "IdNumber", "make_id_number", "mask_id_number"]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_SHAPE = re.compile(r"^\d{17}[\dX]$")
_FIRST_GENERATION = re.compile(r"^\d{15}$")


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
    value: str  # 18 characters
    area: str
    birth_date: dt.date
    gender: str  # "M" or "F"
    converted_from: str | None = None  # the 15-digit first-generation number it was given as


def parse_id_number(raw, *, today: dt.date | None = None) -> IdNumber:
    """Validate and normalise an ID number; raise ``ValueError`` with a reason.

    A 15-digit first-generation number is converted to 18 characters.

    >>> parse_id_number("11010519491231002x").gender
    'F'
    >>> parse_id_number("110105491231002").value
    '11010519491231002X'
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
    if text.endswith(".0") and (_SHAPE.match(text[:-2]) or _FIRST_GENERATION.match(text[:-2])):
        text = text[:-2]
    converted_from = None
    if _FIRST_GENERATION.match(text):
        converted_from = text
        text = _eighteen_digits(text)
    if not _SHAPE.match(text):
        raise ValueError(f"ID number must be 17 digits and a check digit or X, got {len(text)} characters")
    try:
        born = dt.date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        if converted_from is None:
            raise ValueError(f"ID number has an impossible birth date {text[6:14]}") from None
        hint = ("; if it is an 18-digit number with digits missing, type it again in full"
                if converted_from[6:8] in ("19", "20") else "")
        raise ValueError(f"ID number of 15 digits (first generation) has an impossible birth date "
                         f"{text[6:14]}{hint}") from None
    today = today or dt.date.today()
    if born > today:
        raise ValueError(f"ID number has a birth date in the future ({born.isoformat()})")
    if born.year < 1890:
        raise ValueError(f"ID number has an implausible birth year {born.year}")
    expected = check_character(text[:17])
    if text[17] != expected:
        raise ValueError(f"ID number check digit is {text[17]}, expected {expected} (a digit was mistyped)")
    return IdNumber(text, text[:6], born, "M" if int(text[16]) % 2 else "F", converted_from)


def _eighteen_digits(first_generation: str) -> str:
    """The 18-character number of a 15-digit one (GB 11643-1999): ``19`` before the
    two-digit birth year, the check character after.

    >>> _eighteen_digits("110105491231002")
    '11010519491231002X'
    """
    first17 = first_generation[:6] + "19" + first_generation[6:]
    return first17 + check_character(first17)


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
