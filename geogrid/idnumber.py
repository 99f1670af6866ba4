"""Resident ID numbers (居民身份证号码, GB 11643-1999).

18 characters: a 6-digit area code, an 8-digit birth date, a 3-digit sequence (odd for
men, even for women) and a MOD 11-2 check character (0-9 or X).  They are text, never
numbers: Excel keeps 15 significant digits of a number, so a column of ID numbers typed
or pasted as numbers holds ``4.31227199001011E+17``, or ``431227199001011000`` once
written out, the last three digits lost.  :func:`parse_id_number` recognises each form
(a float, scientific notation, ``000`` where the check character fails) and raises
:class:`ExcelNumberError`, saying in English and Chinese how to mend the file: format
the column as text, then type or paste the numbers again.

First-generation numbers (issued until 2004, still found in old registers) have 15
digits: the birth year in two digits and no check character.  :func:`parse_id_number`
converts them as GB 11643 does (``19`` before the year, the check character after) and
says so in :attr:`IdNumber.converted_from`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["check_character", "checks_out", "parse_id_number", "IdNumber", "ExcelNumberError",
           "make_id_number", "mask_id_number"]

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
_CHECK_BYTES = np.frombuffer(_CHECK.encode("ascii"), dtype=np.uint8)
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
_SHAPE = re.compile(r"^\d{17}[\dX]$")
_FIRST_GENERATION = re.compile(r"^\d{15}$")

#: How to mend a column of ID numbers Excel holds as numbers, in English and Chinese:
#: the digits it dropped are gone, so formatting the cells afterwards brings none back.
EXCEL_FIX = ("format the column as text in Excel (select it, right-click, Format Cells, Text) before "
             "typing or pasting the ID numbers, then type or paste them again",
             "请先把这一列设为文本格式（选中该列，右键“设置单元格格式”→“文本”），再重新输入或粘贴身份证号")


class ExcelNumberError(ValueError):
    """An ID number that went through a number (a float): Excel keeps 15 significant
    digits, so the last ones are lost and the cell cannot be read back."""


def _excel_damage(what_en: str, what_zh: str) -> ExcelNumberError:
    """The reason, in English then Chinese, for an ID number a float has been through."""
    return ExcelNumberError(
        f"{what_en}: Excel keeps only 15 digits of a number, so its last digits are lost; {EXCEL_FIX[0]} / "
        f"{what_zh}：Excel 只保留数字的前 15 位，后几位已丢失；{EXCEL_FIX[1]}")


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
        raise _excel_damage("ID number was stored as a number (Excel turned it into a float)",
                            "身份证号被存成了数字（Excel 把它变成了浮点数）")
    text = str(raw).strip().upper().replace(" ", "")
    if re.fullmatch(r"\d(\.\d+)?E\+?\d+", text):
        raise _excel_damage("ID number is in scientific notation (Excel turned it into a number)",
                            "身份证号是科学计数法（Excel 把它变成了数字）")
    if text.endswith(".0") and (_SHAPE.match(text[:-2]) or _FIRST_GENERATION.match(text[:-2])):
        text = text[:-2]  # all 18 digits kept: the check character below says whether they are right
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
        if text.endswith("000"):
            # 431227199001011234 as a number: 4.31227199001011E+17, written out 431227199001011000
            raise _excel_damage("ID number ends in 000 and its check character is wrong, as one Excel "
                                "stored as a number does",
                                "身份证号末三位是 000 且校验码不对，是被 Excel 存成数字后的样子")
        # the right check character is not said: changing the last one alone would make a
        # number with a mistyped digit pass as someone else's
        raise ValueError(f"ID number check digit is {text[17]}, which does not match its first 17 digits: a digit "
                         "was mistyped; check the whole number against the ID card / 身份证号校验码"
                         f"（最后一位 {text[17]}）与前 17 位不符：有数字录错，请对照身份证逐位核对，不要只改最后一位")
    return IdNumber(text, text[:6], born, "M" if int(text[16]) % 2 else "F", converted_from)


def checks_out(values: Sequence, *, today: dt.date | None = None) -> np.ndarray:
    """Whether :func:`parse_id_number` takes each of ``values`` as it stands: 17 digits
    with a possible birth date (a real day, not after ``today``, not before 1890) and
    their check character (``X`` upper-case), in numpy for a register's column, about a
    twentieth of the time of :func:`parse_id_number` on each.  Anything else (``None``,
    a float, 15 digits, lower-case ``x``) is ``False``: ask :func:`parse_id_number` why.

    >>> checks_out(["11010519491231002X", "110105194912310021", "11010519491231002x",
    ...             "11010519490229002X", None]).tolist()
    [True, False, False, False, False]
    """
    ok = np.zeros(len(values), dtype=bool)
    pos = [i for i, v in enumerate(values) if type(v) is str and len(v) == 18 and v.isascii()]
    if not pos:
        return ok
    raw = np.frombuffer("".join(values[i] for i in pos).encode("ascii"), dtype=np.uint8).reshape(-1, 18)
    digits = raw[:, :17].astype(np.int64) - 48
    shape = ((digits >= 0) & (digits <= 9)).all(axis=1)
    digits[~shape] = 0
    check = raw[:, 17] == _CHECK_BYTES[(digits @ np.array(_WEIGHTS)) % 11]
    year = digits[:, 6:10] @ np.array([1000, 100, 10, 1])
    month = digits[:, 10:12] @ np.array([10, 1])
    day = digits[:, 12:14] @ np.array([10, 1])
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days = _MONTH_DAYS[np.clip(month, 1, 12) - 1] + ((month == 2) & leap)
    today = today or dt.date.today()
    born = ((month >= 1) & (month <= 12) & (day >= 1) & (day <= days) & (year >= 1890)
            & (year * 10_000 + month * 100 + day <= today.year * 10_000 + today.month * 100 + today.day))
    ok[pos] = shape & check & born
    return ok


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
