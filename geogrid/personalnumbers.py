"""Resident ID numbers and phone numbers inside free text: where they are, and the text
with them masked.

One recogniser for every text geogrid reads or shows that people typed: a register's
free-text columns and other columns (:mod:`geogrid.io.personalnumbers`, and the
repositories that store them), a note that must hold no number, and the text of the
API's answers and of every log line (:mod:`geogrid.api.masking`).

:func:`find_numbers` finds

- resident ID numbers of 18 characters whose GB 11643 check character is right, and
  first-generation ones of 15 digits, both with a possible birth date
  (:func:`geogrid.idnumber.parse_id_number`);
- mobile numbers (1[3-9] and 9 digits, with or without +86, 0086 or 86) and landlines
  with their area code (0745-6221234, (0745)6221234), the shapes
  :func:`geogrid.io.validate.parse_phone` reads in a phone cell.

Full-width digits count, and so do numbers written in groups (138 1234 5678,
431227 19900101 123X).  :func:`mask_numbers` masks each as the API masks it
(``**************1234``, ``138****5678``: :func:`~geogrid.idnumber.mask_id_number`,
:func:`~geogrid.phonenumber.mask_phone`).

``strict=False`` is for what geogrid shows rather than what it stores: there an
18-character number standing on its own (no letter or digit beside it) is masked whatever
its birth date and check character, for a number mistyped is still most of someone's.

A number of seven or eight digits without its area code is not taken for a phone: it
cannot be told from a count or an amount; nor are ten to twelve digits beginning with 00
(a zero-padded file number: no area code begins so).
"""

from __future__ import annotations

import re
import string

from geogrid.idnumber import mask_id_number, parse_id_number
from geogrid.phonenumber import mask_phone

__all__ = ["ID_NUMBER", "PHONE", "find_numbers", "mask_numbers"]

#: The kinds of number :func:`find_numbers` reports.
ID_NUMBER = "id_number"
PHONE = "phone"

# full-width digits, X, plus, minus, brackets and space as their half-width selves: one
# character for one, so that a span found in the translation is the same span of the text
_HALF_WIDTH = str.maketrans("０１２３４５６７８９Ｘｘ＋－（）　", "0123456789Xx+-() ")
_ID18 = re.compile(r"(?<![0-9])\d{6}([- ]?)\d{8}\1\d{3}[\dXx](?![0-9])")
_ID15 = re.compile(r"(?<![0-9])\d{15}(?![0-9Xx])")
_MOBILE = re.compile(r"(?<![0-9])(?P<cc>(?:\+|00)?86[- ]?)?(?P<number>1[3-9]\d([- .]?)\d{4}\3\d{4})(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])(?P<cc>)(?P<number>(?:\(0[1-9]\d{1,2}\) ?|0[1-9]\d{1,2}[- ]?)\d{7,8})(?![0-9])")
_SEPARATORS = re.compile(r"[- ]")
# Every number the patterns above find holds seven digits in a row or three, a separator
# and four (a number in groups), in ASCII or full-width digits (``\d`` is both); a text
# without is done with one search, as nearly every log line and cell is.  Written out
# digit by digit, this is several times quicker than ``\d{7}|\d{3}[...]\d{4}``.
_MAY_HOLD = re.compile(r"\d\d\d(?:\d\d\d\d|[-－ 　.]\d\d\d\d)")
_LETTERS = frozenset(string.ascii_letters)


def _id_number(text: str) -> bool:
    try:
        parse_id_number(_SEPARATORS.sub("", text))
    except ValueError:
        return False
    return True


def _standing_alone(text: str, start: int, end: int) -> bool:
    return (start == 0 or text[start - 1] not in _LETTERS) and (end == len(text) or text[end] not in _LETTERS)


def find_numbers(text: str, *, strict: bool = True) -> list[tuple[int, int, str]]:
    """``(start, end, kind)`` of each resident ID number and phone number in ``text``,
    in order; ``kind`` is :data:`ID_NUMBER` or :data:`PHONE`.

    With ``strict=False`` an 18-character number counts by its shape when no letter
    stands beside it, its birth date and check character unread.

    >>> find_numbers("户主电话13812345678已核实")
    [(4, 15, 'phone')]
    >>> find_numbers("身份证11010519491231002X，座机(0745)6221234")
    [(3, 21, 'id_number'), (24, 37, 'phone')]
    >>> find_numbers("身份证11010519491231002Y 人口 5 编号 20261107")  # check character wrong
    []
    >>> find_numbers("身份证110105194912310021", strict=False)  # X mistyped as 1
    [(3, 21, 'id_number')]
    """
    if not _MAY_HOLD.search(text):
        return []
    half = text.translate(_HALF_WIDTH)
    found: list[tuple[int, int, str]] = []

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _ in found)

    for pattern, kind in ((_ID18, ID_NUMBER), (_ID15, ID_NUMBER), (_MOBILE, PHONE), (_LANDLINE, PHONE)):
        for m in pattern.finditer(half):
            if kind == PHONE:  # each shape a phone cell may have: no more to check
                start, end = (m.start() if m.group("cc") else m.start("number")), m.end("number")
            else:
                start, end = m.span()
            if not free(start, end):
                continue
            if kind == PHONE or _id_number(m.group()) or (
                    not strict and pattern is _ID18 and _standing_alone(half, start, end)):
                found.append((start, end, kind))
    return sorted(found)


def _masked(span: str, kind: str) -> str:
    if kind == ID_NUMBER:
        return mask_id_number(_SEPARATORS.sub("", span).upper())
    m = _MOBILE.fullmatch(span) or _LANDLINE.fullmatch(span)
    cc = (m.group("cc") or "") if m else ""
    return cc + mask_phone(span[len(cc):])


def mask_numbers(text: str, *, strict: bool = True) -> tuple[str, frozenset[str]]:
    """``text`` with each number :func:`find_numbers` finds masked as the API masks it
    (an ID number to its last four characters, a phone number to its first three and
    last four digits), and the kinds of number masked.  A number typed in full-width
    digits is masked in half-width ones.

    >>> mask_numbers("户主电话１３８１２３４５６７８已核实，身份证431227 19900101 1231")[0]
    '户主电话138****5678已核实，身份证**************1231'
    >>> mask_numbers("座机0871-12345678，档案号0000012345")[0]
    '座机087*-****5678，档案号0000012345'
    >>> mask_numbers("低保，人口 5")
    ('低保，人口 5', frozenset())
    """
    spans = find_numbers(text, strict=strict)
    if not spans:
        return text, frozenset()
    half = text.translate(_HALF_WIDTH)
    parts, at = [], 0
    for start, end, kind in spans:
        parts += [text[at:start], _masked(half[start:end], kind)]
        at = end
    parts.append(text[at:])
    return "".join(parts), frozenset(kind for _, _, kind in spans)
