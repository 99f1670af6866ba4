"""Resident ID numbers and phone numbers typed into a file's other columns.

:func:`~geogrid.io.load_households` carries the columns of a register that geogrid does
not know (备注, 人口, ...) into ``valid``.  A column headed as a person's name, ID number,
phone or birth date never comes through (:func:`~geogrid.io.headers.personal_header`),
but a header says nothing of what was typed under it: a 联系人 column of names and
phones, or a 备注 reading ``户主电话13812345678已核实``.  This module reads the values:

- the numbers themselves, inside any text, are found and masked by
  :func:`geogrid.personalnumbers.find_numbers` and
  :func:`~geogrid.personalnumbers.mask_numbers` (resident ID numbers of 18 characters
  with the right check character and of 15 digits, mobiles and landlines with their
  area code, in full-width digits or in groups), as the API and the log lines are;
- :func:`screen_columns` decides what becomes of each column: one whose values mostly
  (more than half of those not empty) hold such a number is a column of personal data
  under another name and is left out, as a personal header is; in the others each
  number found is masked as the API masks it (``**************1234``, ``138****5678``,
  :func:`~geogrid.idnumber.mask_id_number`, :func:`~geogrid.phonenumber.mask_phone`)
  and the rest of the text kept.  Either way a note says so, naming the column and the
  rows, never the number.

- :func:`mask_columns` masks them in whole columns at once, in one pass over their text
  (:data:`REGISTER_TEXT`: the register's own free-text columns, 地址, 自然寨, 楼栋, 户主,
  姓名, 与户主关系, which :func:`~geogrid.io.load_households`, :func:`~geogrid.io.load_persons`
  and the repositories that store them, :func:`geogrid.db.households.upsert_households` and
  :func:`geogrid.db.persons.upsert_persons`, mask before anything is stored, noting each
  row with :func:`register_note`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from geogrid import columns as C
from geogrid.io.validate import clean_text
from geogrid.personalnumbers import ID_NUMBER, PHONE, mask_numbers

__all__ = ["REGISTER_TEXT", "mask_columns", "mask_text_columns", "register_note", "screen_columns"]

# the separators of a mobile written in groups (138-1234-5678, 138 1234 5678, 138.1234.5678)
_GROUP_SEPARATORS = np.array([ord(c) for c in "-－ 　."], dtype=np.uint32)


def _may_hold(texts: list[str]) -> np.ndarray:
    """The positions of ``texts`` that may hold a number
    :func:`~geogrid.personalnumbers.find_numbers` finds: a run of 7 to 11 digits, or of
    13 and more, or of 12 beginning with 0 (an area code and 8 digits), or a run of 3 and
    more, one separator and a run of 4 and more (a mobile in groups); ASCII or full-width
    digits.  Every number it finds holds one, and a 12-digit village code (a building's
    key, 431227103001-B0001) none.

    One pass over the texts at once in numpy (their code points), not a regular
    expression per cell as :func:`~geogrid.personalnumbers.find_numbers` screens a
    single text: a register's columns hold none, and this is on every import's path.
    """
    if not texts:
        return np.zeros(0, dtype=np.int64)
    code = np.frombuffer("\n".join(texts).encode("utf-32-le"), dtype="<u4")
    digit = ((code - 48) < 10) | ((code - 0xFF10) < 10)  # unsigned: below '0' wraps round
    edge = np.zeros(len(code) + 2, dtype=bool)
    edge[1:-1] = digit
    bounds = np.flatnonzero(edge[1:] != edge[:-1])
    if not len(bounds):
        return np.zeros(0, dtype=np.int64)
    starts, ends = bounds[::2], bounds[1::2]
    length = ends - starts
    zero = (code[starts] == 48) | (code[starts] == 0xFF10)
    run = ((length >= 7) & (length != 12)) | ((length == 12) & zero)
    after = np.minimum(ends, len(code) - 1)
    next_start = np.append(starts[1:], -1)
    next_length = np.append(length[1:], 0)
    grouped = ((length >= 3) & (next_start == ends + 1) & (next_length >= 4)
               & np.isin(code[after], _GROUP_SEPARATORS))
    hit = starts[run | grouped]
    if not len(hit):
        return np.zeros(0, dtype=np.int64)
    text_ends = np.cumsum(np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1)
    return np.unique(np.searchsorted(text_ends, hit, side="right"))


def _text(value) -> str | None:
    """A cell as the text its numbers are looked for in: a string as it is, a whole
    number without its ``.0`` (an Excel cell of 13812345678); ``None`` for other cells."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)) or value is None:
        return None
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and np.isfinite(value):
        return clean_text(value)
    return None


def mask_columns(columns: Mapping) -> dict:
    """``{key: {position: (masked text, kinds)}}`` of the values of ``columns`` (``{key:
    values}``) in which :func:`~geogrid.personalnumbers.find_numbers` finds a number,
    each as :func:`~geogrid.personalnumbers.mask_numbers` masks it; keys and values
    without one are left out.

    Quick where there is nothing to find, as in nearly every register: the columns' text
    is read once, all together, for what a number holds (:func:`_may_hold`: a run of
    seven digits and more, or a mobile in groups), and only the cells that hold one are
    read number by number, each distinct text once.  A cell that is a number (an Excel
    cell of 13812345678) is read as its digits; empty cells and other values are passed
    over.

    >>> found = mask_columns({"address": ["梨屯路1号", "梨屯路2号 电话138 1234 5678", None],
    ...                       "building": ["431227103001-B0001", "431227103001-B0002", 13812345678]})
    >>> found["address"], found["building"]
    ({1: ('梨屯路2号 电话138 **** 5678', frozenset({'phone'}))}, {2: ('138****5678', frozenset({'phone'}))})
    """
    keys = list(columns)
    lists = [columns[k].tolist() if hasattr(columns[k], "tolist") else list(columns[k]) for k in keys]
    # a cell of another type as its digits (an Excel number); no number in a line break
    hits = _may_hold([v if type(v) is str else (_text(v) or "") for values in lists for v in values])
    if not len(hits):
        return {}
    bounds = np.cumsum([0, *map(len, lists)])
    out: dict = {}
    seen: dict[str, tuple[str, frozenset[str]]] = {}
    for at in hits.tolist():
        k = int(np.searchsorted(bounds, at, side="right")) - 1
        text = _text(lists[k][at - int(bounds[k])])
        if not text:
            continue
        if text not in seen:
            seen[text] = mask_numbers(text)
        if seen[text][1]:
            out.setdefault(keys[k], {})[at - int(bounds[k])] = seen[text]
    return out


#: The register's own free-text columns, by what is stored: where a number typed is
#: masked before it is stored (a person's ID number and phone have columns of their own).
REGISTER_TEXT = {"households": (C.HEAD_NAME, C.ADDRESS, C.BUILDING, C.HAMLET),
                 "persons": (C.NAME, C.RELATION)}


def mask_text_columns(table, columns: Iterable) -> list[tuple[int, object, frozenset[str]]]:
    """Mask, in place, the ID and phone numbers in the columns ``columns`` of ``table``
    (a DataFrame, or a dict of lists; a column it lacks is passed over), in one pass
    (:func:`mask_columns`); ``(position, column, kinds)`` of each value masked, by
    position.

    >>> table = {"address": ["梨屯路1号", "户主手机13812345678"], "relation": ["户主", "配偶"]}
    >>> mask_text_columns(table, ["address", "relation", "hamlet"]), table["address"]
    ([(1, 'address', frozenset({'phone'}))], ['梨屯路1号', '户主手机138****5678'])
    """
    present = [c for c in columns if c in table]
    found = mask_columns({c: table[c] for c in present})
    masked = []
    for column in present:
        if column not in found:
            continue
        values = table[column]
        values = values.tolist() if hasattr(values, "tolist") else list(values)
        for pos, (text, kinds) in found[column].items():
            values[pos] = text
            masked.append((pos, column, kinds))
        table[column] = values
    return sorted(masked, key=lambda t: t[0])


_WHAT = {frozenset({ID_NUMBER}): "an ID number", frozenset({PHONE}): "a phone number",
         frozenset({ID_NUMBER, PHONE}): "an ID number and a phone number"}
_WHY = ("geogrid keeps these only in the persons register (masked, each full read on record); "
        "read_table(path) has the text as typed, by _row")


_STORED = ("stored masked: a resident's ID number and phone belong in the persons register's own "
           "columns (身份证号, 联系电话), masked, each full read on record; write them there")


def masked_note(kinds: frozenset[str], why: str = _WHY) -> str:
    """The note on a row of a column whose value had ``kinds`` of number masked."""
    how = {frozenset({ID_NUMBER}): "to its last four characters (**************1234)",
           frozenset({PHONE}): "to its first three and last four digits (138****5678)",
           frozenset({ID_NUMBER, PHONE}): "as the API masks them (**************1234, 138****5678)"}[kinds]
    return f"{_WHAT[kinds]} in the text masked {how}, the rest kept: {why}"


def register_note(kinds: frozenset[str]) -> str:
    """The note on a row of one of the register's own columns (:data:`REGISTER_TEXT`) whose
    value had ``kinds`` of number masked before it was stored.

    >>> register_note(frozenset({"phone"}))[:80]
    'a phone number in the text masked to its first three and last four digits (138**'
    """
    return masked_note(kinds, _STORED)


def _rows(rows: Sequence, limit: int = 10) -> str:
    shown = ", ".join(map(str, rows[:limit]))
    return shown + (f" and {len(rows) - limit} more" if len(rows) > limit else "")


def screen_columns(
    raw: pd.DataFrame, headers: Iterable, rows: Sequence,
) -> tuple[dict, list[tuple[object, str]], list[tuple[int, object, str]]]:
    """``(values, left_out, notes)`` for the columns ``headers`` of ``raw``, to be carried
    into the rows read.

    ``values`` is ``{header: array of the column's values}`` of the columns kept, in
    order, each value as read except that the ID and phone numbers in it are masked
    (:func:`~geogrid.personalnumbers.mask_numbers`);
    ``left_out`` is ``(header, why)`` for each column more than half of whose values (of
    those not empty) hold one, which is not carried at all; ``notes`` is ``(position,
    header, note)`` for each value masked.  ``rows`` are the file's row numbers of
    ``raw``'s rows, for the reasons.

    >>> raw = pd.DataFrame({"备注": ["低保", "户主电话13812345678已核实", ""],
    ...                     "联系人": ["张三 13812345678", "李四 0745-6221234", ""]})
    >>> values, left_out, notes = screen_columns(raw, ["备注", "联系人"], [2, 3, 4])
    >>> {header: column.tolist() for header, column in values.items()}
    {'备注': ['低保', '户主电话138****5678已核实', '']}
    >>> [header for header, _ in left_out], [(pos, header) for pos, header, _ in notes]
    (['联系人'], [(1, '备注')])
    """
    values: dict = {}
    left_out: list[tuple[object, str]] = []
    notes: list[tuple[int, object, str]] = []
    headers = list(headers)
    found = mask_columns({i: raw[header] for i, header in enumerate(headers)})  # one pass over them all
    for i, header in enumerate(headers):
        masked = found.get(i, {})
        filled = sum(1 for v in raw[header].tolist() if (t := _text(v)) is not None and t.strip()) if masked else 0
        if masked and len(masked) * 2 > filled:
            kinds = frozenset().union(*(k for _, k in masked.values()))
            what = {frozenset({ID_NUMBER}): "ID numbers", frozenset({PHONE}): "phone numbers",
                    frozenset({ID_NUMBER, PHONE}): "ID or phone numbers"}[kinds]
            where = _rows([int(rows[p]) for p in sorted(masked)])
            left_out.append((header, f"not carried into the rows read: {len(masked)} of its {filled} values "
                                     f"hold {what} (row{'s' if len(masked) > 1 else ''} {where}), so it is "
                                     f"taken for a column of personal data: {_WHY}"))
            continue
        kept = raw[header].to_numpy(copy=True)  # as read: a GeoJSON's numbers stay numbers
        if masked:
            kept = kept.astype(object)
        for pos, (text, kinds) in masked.items():
            kept[pos] = text
            notes.append((pos, header, masked_note(kinds)))
        values[header] = kept
    return values, left_out, sorted(notes, key=lambda t: t[0])
