"""Read a register of persons (人口信息表) into an :class:`~geogrid.io.batch.ImportBatch`."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pandas as pd

from geogrid import columns as C
from geogrid.io.batch import ImportBatch, make_batch
from geogrid.io.formats import ROW, cut_off, read_table
from geogrid.io.headers import column_accessors, require_columns, resolve_columns
from geogrid.io.households import excel_date
from geogrid.io.othercolumns import other_columns
from geogrid.io.personalnumbers import REGISTER_TEXT, mask_text_columns, register_note
from geogrid.io.validate import (
    Problems,
    clean_text,
    find_duplicates,
    memoized,
    parse_date,
    parse_gender,
    parse_id,
    parse_party_member,
    parse_phone,
    parse_tags,
)

__all__ = ["load_persons", "PERSON_COLUMNS"]

#: The columns of ``ImportBatch.valid`` for persons, in order (then ``_row`` and the
#: file's other columns).
PERSON_COLUMNS = (
    C.HOUSEHOLD_NO, C.NAME, C.GENDER, C.BIRTH_DATE, C.ID_NUMBER, C.PHONE, C.RELATION,
    C.PARTY_MEMBER, C.TAGS,
)

_ZH_GENDER = {"M": "男 (male)", "F": "女 (female)"}

#: The note on a row whose 15-digit ID number was converted (see :func:`geogrid.idnumber.parse_id_number`).
FIRST_GENERATION_NOTE = ("a first-generation ID number of 15 digits, stored as its 18-digit number "
                         "(GB 11643: 19 before the birth year, a check character after)")
#: The note on a row whose ID number had '.0' after it, the mark of a number: its 18
#: characters were kept and their check character is right, so it is stored without it.
POINT_ZERO_NOTE = ("an ID number with '.0' after it, as a number is written: stored without it, its "
                   "check character being right; format the column as text so that Excel keeps every digit "
                   "/ 身份证号后带 .0（被当成了数字）：校验码正确，已去掉 .0 保存；请把该列设为文本格式，以免 Excel 丢失数字")
#: The notes on an empty party-member cell and on a file without the column: the database
#: keeps a registered person's value and stores a new one as not a member.
PARTY_EMPTY_NOTE = ("empty; a new person is stored as not a party member and a registered one keeps what "
                    "is stored (write 是 or 否 to say)")
PARTY_MISSING_NOTE = ("the file has no such column; new persons are stored as not party members and "
                      "registered ones keep what is stored")


def load_persons(
    path: str | os.PathLike,
    *,
    columns: dict[str, str | None] | None = None,
    encoding: str | None = None,
    today: dt.date | None = None,
    layer: str | int | None = None,
    extra_columns: bool = True,
) -> ImportBatch:
    """Read and validate persons from any accepted file.

    Household number, name and ID number are required.  Gender and birth date are
    taken from the ID number when their columns are missing or blank, and a row whose
    gender or birth date disagrees with its ID number is rejected.  ``today`` fixes the
    date that "future" is measured from (for tests).

    Returns an :class:`ImportBatch` whose ``valid`` is a DataFrame with
    :data:`PERSON_COLUMNS`: ``birth_date`` a :class:`datetime.date`, ``phone`` digits
    only, ``party_member`` True/False/None and ``tags`` canonical tags joined with ``;``.
    An ID number that went through a number (a float cell, scientific notation, or 18
    digits ending in ``000`` whose check character is wrong: Excel keeps 15 digits of a
    number) rejects its row, as a bad phone or birth date does, with the reason in
    English and Chinese and how to mend the file (format the column as text, then type
    or paste the numbers again); so does a wrong check character, and a household number
    Excel turned into a date or a time (1-2 typed into a number cell:
    :func:`~geogrid.io.households.excel_date`), which no household of the register has.
    Its ``notes`` name the 15-digit ID numbers converted to 18 digits, those written
    with ``.0`` after them (stored without it, their check character right) and the empty
    party-member cells (``None``: the database keeps a registered person's value).  An ID
    number or phone number typed into 与户主关系 or 姓名 is masked as the API masks it, the
    rest of the text kept, with a note naming the column and each row: the person's
    身份证号 and 联系电话 are the columns for them.

    ``extra_columns=True`` (default) carries the file's other columns (备注, 职业, ...)
    after ``_row``, under their own headers, as :func:`~geogrid.io.load_households` does
    and by the same rule (:func:`~geogrid.io.othercolumns.other_columns`): not a header
    ``columns`` maps to ``None``, nor one named as one of these columns, nor a person's
    name, ID number, phone or birth date beside the person's own (户主身份证号,
    联系人电话: left out, with a note), and an ID or phone number typed in another
    column masked (a column mostly of them left out), with a note.  ``False``: these
    columns only.  ``geogrid import persons`` stores these columns only.
    """
    path = Path(path)
    raw = read_table(path, layer=layer, encoding=encoding)
    mapping = resolve_columns(raw.columns, "persons", columns=columns, source=path)
    require_columns(mapping, [C.HOUSEHOLD_NO, C.NAME, C.ID_NUMBER], "persons", raw.columns, source=path)
    n = len(raw)
    rows = raw[ROW].to_numpy()
    problems = Problems()
    if (cut := cut_off(raw)) is not None:
        problems.add(cut[0], None, cut[1])

    cells, header = column_accessors(raw, mapping)

    numbers = [clean_text(v) for v in cells(C.HOUSEHOLD_NO)]
    # 1-2 typed into a number cell is a date: read as '2024-01-02T00:00:00' it is no
    # household of the register, and the row was refused as one not imported yet
    for pos, value in enumerate(cells(C.HOUSEHOLD_NO)):
        if (reason := excel_date(value, "household number")) is not None:
            problems.add(pos, header(C.HOUSEHOLD_NO), reason)
    names = [clean_text(v) for v in cells(C.NAME)]
    ids: list[str | None] = [None] * n
    genders: list[str | None] = [None] * n
    births: list[dt.date | None] = [None] * n
    phones: list[str | None] = [None] * n
    party: list[bool | None] = [None] * n
    tags: list[str] = [""] * n
    gender_cells, birth_cells = cells(C.GENDER), cells(C.BIRTH_DATE)
    phone_cells, party_cells, tag_cells = cells(C.PHONE), cells(C.PARTY_MEMBER), cells(C.TAGS)
    notes: list[tuple[int | None, str, str]] = []
    today = today or dt.date.today()
    parse_gender_, parse_date_ = memoized(parse_gender), memoized(parse_date)
    parse_party_, parse_tags_ = memoized(parse_party_member), memoized(parse_tags)

    for pos, raw_id in enumerate(cells(C.ID_NUMBER)):
        if not numbers[pos]:
            problems.add(pos, header(C.HOUSEHOLD_NO), "household number is empty")
        if not names[pos]:
            problems.add(pos, header(C.NAME), "name is empty")
        parsed = None
        try:
            parsed = parse_id(raw_id, today=today)
            ids[pos] = parsed.value
            if parsed.converted_from is not None:
                notes.append((pos, header(C.ID_NUMBER), FIRST_GENERATION_NOTE))
            if isinstance(raw_id, str) and raw_id.strip().endswith(".0"):
                notes.append((pos, header(C.ID_NUMBER), POINT_ZERO_NOTE))
        except ValueError as exc:
            problems.add(pos, header(C.ID_NUMBER), str(exc))
        try:
            gender = parse_gender_(gender_cells[pos])
        except ValueError as exc:
            problems.add(pos, header(C.GENDER), str(exc))
            gender = None
        if parsed is not None:
            if gender is not None and gender != parsed.gender:
                problems.add(pos, header(C.GENDER),
                             f"gender {clean_text(gender_cells[pos])!r} does not match the ID number, "
                             f"which is that of a {_ZH_GENDER[parsed.gender]}")
            gender = gender or parsed.gender
        genders[pos] = gender
        try:
            birth = parse_date_(birth_cells[pos])
        except ValueError as exc:
            problems.add(pos, header(C.BIRTH_DATE), str(exc))
            birth = None
        if isinstance(birth, dt.date) and birth > today:
            problems.add(pos, header(C.BIRTH_DATE), f"birth date {birth.isoformat()} is in the future")
        if parsed is not None and birth is not None:
            same = (birth == parsed.birth_date if isinstance(birth, dt.date)
                    else birth == (parsed.birth_date.year, parsed.birth_date.month))
            if not same:
                shown = birth.isoformat() if isinstance(birth, dt.date) else f"{birth[0]}-{birth[1]:02d}"
                problems.add(pos, header(C.BIRTH_DATE),
                             f"birth date {shown} does not match the ID number ({parsed.birth_date.isoformat()})")
        if parsed is not None:
            births[pos] = parsed.birth_date
        elif isinstance(birth, dt.date):
            births[pos] = birth
        try:
            phones[pos] = parse_phone(phone_cells[pos])
        except ValueError as exc:
            problems.add(pos, header(C.PHONE), str(exc))
        try:
            party[pos] = parse_party_(party_cells[pos])
            if party[pos] is None and C.PARTY_MEMBER in mapping:
                notes.append((pos, header(C.PARTY_MEMBER), PARTY_EMPTY_NOTE))
        except ValueError as exc:
            problems.add(pos, header(C.PARTY_MEMBER), str(exc))
        try:
            tags[pos] = parse_tags_(tag_cells[pos])
        except ValueError as exc:
            problems.add(pos, header(C.TAGS), str(exc))

    if C.PARTY_MEMBER not in mapping and n:
        notes.append((None, C.ZH_HEADERS[C.PARTY_MEMBER], PARTY_MISSING_NOTE))
    for pos, others in find_duplicates([i or "" for i in ids], rows).items():
        problems.add(pos, header(C.ID_NUMBER),
                     f"ID number is duplicated: it also appears in row {', '.join(map(str, others))}")

    data = {
        C.HOUSEHOLD_NO: numbers,
        C.NAME: names,
        C.GENDER: genders,
        C.BIRTH_DATE: births,
        C.ID_NUMBER: ids,
        C.PHONE: phones,
        C.RELATION: [clean_text(v) or None for v in cells(C.RELATION)],
        C.PARTY_MEMBER: party,
        C.TAGS: tags,
    }
    # a resident's ID number or phone typed into 与户主关系 or 姓名 is masked as the API masks
    # it, before anything reads or stores it, and noted: the person's own columns hold them
    notes += [(pos, header(column), register_note(kinds))
              for pos, column, kinds in mask_text_columns(data, REGISTER_TEXT["persons"])]
    frame = pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()})
    frame[ROW] = rows
    if extra_columns:
        values, more = other_columns(raw, mapping, rows=rows, columns=columns, taken=frame.columns)
        for h, column in values.items():
            frame[h] = column
        notes += more
    good = [pos for pos in range(n) if pos not in problems]
    valid = frame.iloc[good].reset_index(drop=True)
    return make_batch(raw, valid, problems, source=path, crs=None, kind="persons", columns=mapping, notes=notes)
