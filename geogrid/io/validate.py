"""Check and normalise the cells of an import, one concept per function.

Each ``parse_*`` function takes one raw cell (str, int, float, datetime or ``None``,
as :func:`geogrid.io.read_table` returns it) and returns the canonical value, or
raises ``ValueError`` whose message is the reason a person reads in the rejects file.
The loaders prefix it with the column's header.  :class:`Problems` collects the
reasons of each row.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Sequence

import numpy as np
import pandas as pd

from geogrid import columns as C
from geogrid.idnumber import EXCEL_FIX, ExcelNumberError, IdNumber, parse_id_number

__all__ = [
    "Problems",
    "memoized",
    "clean_text",
    "parse_float",
    "check_lonlat",
    "parse_care_level",
    "parse_gender",
    "parse_party_member",
    "parse_tags",
    "parse_phone",
    "parse_date",
    "parse_id",
    "parse_year",
    "find_duplicates",
]

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class Problems:
    """The reasons each row (by position) was rejected, in the order found."""

    def __init__(self) -> None:
        self._by_pos: dict[int, list[tuple[str | None, str]]] = defaultdict(list)

    def add(self, pos: int, header: str | None, reason: str) -> None:
        """Record that the row at position ``pos`` fails in column ``header`` because ``reason``."""
        self._by_pos[int(pos)].append((header, reason))

    def __contains__(self, pos: int) -> bool:
        return pos in self._by_pos

    def __len__(self) -> int:
        return len(self._by_pos)

    def positions(self) -> list[int]:
        return sorted(self._by_pos)

    def reason(self, pos: int) -> str:
        """All reasons of one row, each naming its column, joined with ``"; "``."""
        return "; ".join(f"{h}: {r}" if h else r for h, r in self._by_pos[pos])

    def triples(self, rows: Sequence[int]) -> list[tuple[int, str, str]]:
        """``(row number, column, reason)`` for every problem, as :class:`ValidationError` wants."""
        return [(int(rows[p]), h or "", r) for p in sorted(self._by_pos) for h, r in self._by_pos[p]]


def memoized(parse):
    """``parse`` with a per-call cache, for columns with few distinct values (性别, 是否党员 ...).

    Use as ``parse = memoized(parse_gender)`` inside one import; exceptions are cached too.
    """
    cache: dict = {}

    def wrapper(value):
        try:
            key = (type(value), value)
            hit = cache.get(key)
        except TypeError:  # unhashable
            return parse(value)
        if hit is None:
            try:
                hit = (True, parse(value))
            except ValueError as exc:
                hit = (False, exc)
            cache[key] = hit
        if hit[0]:
            return hit[1]
        raise ValueError(str(hit[1]))

    return wrapper


def clean_text(value) -> str:
    """A cell as trimmed text: ``""`` for empty, ``"12"`` for the float 12.0.

    Full-width characters become half-width (NFKC) and the apostrophe that
    :func:`geogrid.io.write_table` puts before a would-be formula is removed again.

    >>> clean_text(4312270001.0), clean_text(" ＨＨ０１ "), clean_text("'=1+1")
    ('4312270001', 'HH01', '=1+1')
    """
    if value is None:
        return ""
    if type(value) is str and value.isascii():
        text = value.strip()
        if text[:1] == "'" and len(text) > 1 and text[1] in _FORMULA_START:
            return text[1:]
        return text
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if not isinstance(value, str):
        try:
            if pd.isna(value):
                return ""
        except (TypeError, ValueError):
            pass
        if isinstance(value, np.floating):
            return clean_text(float(value))
        return str(value).strip()
    text = value.strip() if value.isascii() else unicodedata.normalize("NFKC", value).strip()
    if text[:1] == "'" and len(text) > 1 and text[1] in _FORMULA_START:
        text = text[1:]
    return text


#: A decimal number as people write it (ASCII digits after NFKC, no ``_``): what
#: :func:`float` accepts beyond this (``1_09.17``, digits of other scripts) is a typo.
DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def parse_float(value, what: str) -> float:
    """A number from a cell; ``what`` names it in the reason.

    Full-width digits are read (NFKC); underscores, digits of other scripts and
    hexadecimal are not, though :func:`float` would take some of them.

    >>> parse_float("１０９．１７", "longitude")
    109.17
    >>> parse_float("1_09.17", "longitude")
    Traceback (most recent call last):
    ValueError: longitude '1_09.17' is not a number
    """
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        number = float(value)
    else:
        text = clean_text(value)
        if not text:
            raise ValueError(f"{what} is empty")
        digits = text.removesuffix("°")
        if DECIMAL.fullmatch(digits):
            number = float(digits)
        elif digits.lower().lstrip("+-") in ("nan", "inf", "infinity"):
            raise ValueError(f"{what} {text!r} is not a finite number")
        else:
            raise ValueError(f"{what} {text!r} is not a number")
    if not math.isfinite(number):
        raise ValueError(f"{what} {number!r} is not a finite number")
    return number


def check_lonlat(lon: float, lat: float) -> str | None:
    """The reason a longitude/latitude pair is unusable, or ``None``.

    >>> check_lonlat(27.3, 109.2)
    'longitude and latitude look swapped (longitude 27.3, latitude 109.2)'
    """
    pair = f"(longitude {lon:g}, latitude {lat:g})"
    if (abs(lat) > 90 and abs(lon) <= 90) or (73 <= lat <= 135 and 3 <= lon <= 54):
        return f"longitude and latitude look swapped {pair}"
    if not -180 <= lon <= 180:
        return f"longitude {lon:g} is out of range -180..180"
    if not -90 <= lat <= 90:
        return f"latitude {lat:g} is out of range -90..90"
    if lon == 0 and lat == 0:
        return "coordinates are 0, 0 (a placeholder for a missing location?)"
    return None


_CARE = {
    "green": "green", "yellow": "yellow", "red": "red",
    "g": "green", "y": "yellow", "r": "red",
    "放心户": "green", "关心户": "yellow", "连心户": "red",
    "放心": "green", "关心": "yellow", "连心": "red",
    "绿": "green", "黄": "yellow", "红": "red",
    "绿色": "green", "黄色": "yellow", "红色": "red",
}


def parse_care_level(value) -> str | None:
    """green / yellow / red from English, 放心户/关心户/连心户 or 绿/黄/红; ``None`` if empty."""
    text = clean_text(value)
    if not text:
        return None
    try:
        return _CARE[text.lower()]
    except KeyError:
        raise ValueError(
            f"care level {text!r} is not one of green/yellow/red, 放心户/关心户/连心户 or 绿/黄/红"
        ) from None


_GENDER = {"m": "M", "f": "F", "male": "M", "female": "F", "男": "M", "女": "F",
           "男性": "M", "女性": "F", "1": "M", "2": "F"}


def parse_gender(value) -> str | None:
    """M / F from 男/女, M/F, male/female or the GB/T 2261.1 codes 1/2; ``None`` if empty."""
    text = clean_text(value)
    if not text:
        return None
    try:
        return _GENDER[text.lower()]
    except KeyError:
        raise ValueError(f"gender {text!r} is not one of 男/女, M/F, male/female") from None


_TRUE = {"是", "y", "yes", "true", "t", "1", "党员", "中共党员", "中共预备党员", "预备党员", "共产党员", "√", "✓"}
_FALSE = {"否", "n", "no", "false", "f", "0", "非党员", "群众", "共青团员", "团员", "无", "民主党派",
          "无党派人士", "不是", "×", "✗"}


def parse_party_member(value) -> bool | None:
    """True / False from 是/否, Y/N, true/false, 1/0, 党员/中共党员 or a 政治面貌 value; ``None`` if empty."""
    if isinstance(value, bool):
        return value
    text = clean_text(value).lower()
    if not text:
        return None
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"party member {text!r} is not one of 是/否, Y/N, true/false, 1/0, 党员/群众")


_TAG_WORDS = {
    **{t: t for t in C.PERSON_TAGS},
    **{zh: en for en, zh in C.ZH_PERSON_TAGS.items()},
    "独居": "elderly_alone", "独居老人户": "elderly_alone",
    "残疾": "disabled", "残障": "disabled", "残障人士": "disabled", "残疾人员": "disabled",
    "留守": "left_behind_child", "留守儿童": "left_behind_child",
    "外出打工": "away_for_work", "务工": "away_for_work", "打工": "away_for_work", "外出务工人员": "away_for_work",
}
_TAG_SPLIT = re.compile(r"[;；、,，|/\s]+")


def parse_tags(value) -> str:
    """Canonical tags joined with ``;`` (in :data:`geogrid.columns.PERSON_TAGS` order).

    Unknown tags are rejected, not dropped: a misspelt 留守儿童 would otherwise hide a
    child from the people who visit.

    >>> parse_tags("留守儿童、残疾人")
    'disabled;left_behind_child'
    """
    text = clean_text(value)
    if not text:
        return ""
    found = set()
    for word in _TAG_SPLIT.split(text):
        if not word:
            continue
        tag = _TAG_WORDS.get(word.lower())
        if tag is None:
            known = "/".join(C.ZH_PERSON_TAGS.values())
            raise ValueError(f"unknown tag {word!r}; use {known} or {', '.join(C.PERSON_TAGS)}")
        found.add(tag)
    return ";".join(t for t in C.PERSON_TAGS if t in found)


_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_LANDLINE = re.compile(r"^0\d{9,11}$")  # 0 + 2-3 digit area code + 7-8 digit number


def parse_phone(value) -> str | None:
    """A mobile (``13812345678``) or landline with area code (``07456221234``); ``None`` if empty.

    Spaces, dashes, brackets and a +86 / 0086 prefix are removed.

    >>> parse_phone("+86 138-1234-5678"), parse_phone("(0745)622 1234")
    ('13812345678', '07456221234')
    """
    text = clean_text(value)
    if not text:
        return None
    digits = re.sub(r"[\s\-()（）.·]", "", text)
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not digits.isdigit():
        if re.search(r"[;,/、，；]", text):
            raise ValueError(f"phone {text!r} holds several numbers; keep one per person")
        raise ValueError(f"phone {text!r} contains characters other than digits")
    if _MOBILE.match(digits) or _LANDLINE.match(digits):
        return digits
    if digits.startswith("1"):
        raise ValueError(f"phone {text!r} is not an 11-digit mobile number (1[3-9] and 9 digits)")
    if digits.startswith("0"):
        raise ValueError(f"phone {text!r} is not a landline with area code such as 0745-6221234")
    raise ValueError(f"phone {text!r} is neither a mobile number nor a landline with area code")


_EXCEL_EPOCH = dt.date(1899, 12, 30)
_DATE_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_MONTH_PATTERNS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})$"),
    re.compile(r"^(\d{4})年(\d{1,2})月?$"),
    re.compile(r"^(\d{4})(\d{2})$"),
)


def parse_date(value) -> dt.date | tuple[int, int] | None:
    """A date from 1990-01-02, 1990/1/2, 19900102, 1990年1月2日, an Excel date or serial.

    A year and month only (1990-01, 1990年1月, 199001: a 出生年月 column) gives the
    tuple ``(1990, 1)``.  ``None`` if empty.

    >>> parse_date("1990年1月2日"), parse_date(32875), parse_date("1990.01")
    (datetime.date(1990, 1, 2), datetime.date(1990, 1, 2), (1990, 1))
    """
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        if isinstance(value, float) and math.isnan(value):
            return None
        if 1 <= value < 2958466 and float(value).is_integer() and value < 100000:
            return _EXCEL_EPOCH + dt.timedelta(days=int(value))
        value = clean_text(value)
    text = clean_text(value)
    if not text:
        return None
    for pattern in _DATE_PATTERNS:
        m = pattern.match(text)
        if m:
            try:
                return dt.date(int(m[1]), int(m[2]), int(m[3]))
            except ValueError:
                raise ValueError(f"date {text!r} does not exist") from None
    for pattern in _MONTH_PATTERNS:
        m = pattern.match(text)
        if m and 1 <= int(m[2]) <= 12:
            return int(m[1]), int(m[2])
    if re.fullmatch(r"\d{5}(\.0)?", text):  # an Excel serial that went through text
        return _EXCEL_EPOCH + dt.timedelta(days=int(float(text)))
    raise ValueError(f"date {text!r} is not a date such as 1990-01-02, 1990/1/2, 19900102 or 1990年1月2日")


def parse_id(value, *, today: dt.date | None = None) -> IdNumber:
    """An ID number via :func:`geogrid.idnumber.parse_id_number`, with Excel's damage explained.

    An integer cell (XLSX) is accepted when all 18 digits survived; a float never is.
    """
    if isinstance(value, (np.integer, np.floating)):
        value = value.item()
    if isinstance(value, bool):
        raise ValueError("ID number is not a number")
    if isinstance(value, int):
        text = str(value)
        try:
            return parse_id_number(text, today=today)
        except ExcelNumberError:
            raise
        except ValueError as exc:
            raise ValueError(
                f"{exc}; the cell was stored as a number, and Excel keeps only 15 digits of a number, "
                f"so {EXCEL_FIX[0]} / 该单元格是数字，Excel 只保留数字的前 15 位：{EXCEL_FIX[1]}"
            ) from None
    if isinstance(value, float):
        if math.isnan(value):
            raise ValueError("ID number is empty")
        return parse_id_number(value, today=today)
    text = clean_text(value)
    if not text:
        raise ValueError("ID number is empty")
    return parse_id_number(text, today=today)


def parse_year(value) -> int | None:
    """A year such as 2023 (from ``2023``, ``2023.0`` or ``2023年``); ``None`` if empty."""
    text = clean_text(value).rstrip("年")
    if not text:
        return None
    if not re.fullmatch(r"\d{4}", text):
        raise ValueError(f"year {text!r} is not a four-digit year")
    year = int(text)
    if not 1949 <= year <= dt.date.today().year + 1:
        raise ValueError(f"year {year} is not plausible for a code table")
    return year


def find_duplicates(keys: Sequence[str], rows: Sequence[int]) -> dict[int, list[int]]:
    """``{position: row numbers of the other copies}`` for every non-empty key seen twice."""
    where: dict[str, list[int]] = defaultdict(list)
    for pos, key in enumerate(keys):
        if key:
            where[key].append(pos)
    out = {}
    for positions in where.values():
        if len(positions) > 1:
            for pos in positions:
                out[pos] = [int(rows[p]) for p in positions if p != pos]
    return out
