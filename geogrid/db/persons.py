"""Persons (residents): bulk upsert keyed by resident ID number, reads as DataFrames.

ID numbers and phone numbers are text.  ID numbers are checked as the importer checks
them, for any caller (a notebook's frame read with ``pandas.read_excel`` holds floats);
phone numbers are stored as given (the importer validates and normalises them).
Functions take a Session and never commit.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from geogrid import columns as C
from geogrid.db import bulk
from geogrid.db.bulk import Counts
from geogrid.db.households import household_ids
from geogrid.db.models import new_ids, utcnow
from geogrid.errors import ColumnError, ValidationError
from geogrid.idnumber import checks_out
from geogrid.io.personalnumbers import REGISTER_TEXT, mask_text_columns, register_note
from geogrid.io.persons import FIRST_GENERATION_NOTE
from geogrid.io.validate import parse_id

__all__ = ["upsert_persons", "persons_frame", "Counts", "KEPT_WHEN_ABSENT", "ABSENT_NOTE"]

_VALUE_COLS = ("household_id", C.NAME, C.GENDER, C.BIRTH_DATE, C.ID_NUMBER, C.PHONE, C.RELATION,
               C.PARTY_MEMBER, C.TAGS)
_PG_TYPES = {"id": "varchar(32)", "household_id": "varchar(32)", "name": "text",
             "gender": "varchar(1)", "birth_date": "date", "id_number": "varchar(18)",
             "phone": "varchar(20)", "relation": "text", "party_member": "boolean",
             "tags": "text", "updated_at": "timestamptz"}
#: The attributes a source that does not give them (a file without their column) leaves as
#: a registered person has them; ``party_member`` is kept by another rule, an empty cell
#: too (:func:`_keep_party`).
KEPT_WHEN_ABSENT = (C.GENDER, C.BIRTH_DATE, C.PHONE, C.RELATION, C.TAGS)
#: The note on a column of :data:`KEPT_WHEN_ABSENT` that the source does not give.
ABSENT_NOTE = "the file has no such column; registered persons keep what is stored"
_TRUE = {"1", "true", "t", "yes", "y", "是", "党员", "中共党员", "x", "√"}
_FALSE = {"0", "false", "f", "no", "n", "否", "", "群众"}
_LOOKUP_IN_LIMIT = 2_000


def _tags(value) -> str | None:
    if type(value) is str:  # fast path: already canonical "a;b"
        if not value:
            return None
        if not any(ch in value for ch in ",，、 \t") and ";;" not in value and value[0] != ";" \
                and value[-1] != ";":
            return value
    value = bulk.clean(value) if not isinstance(value, list | tuple | set | np.ndarray) else value
    if value is None:
        return None
    if isinstance(value, str):
        parts = value.replace(",", ";").replace("，", ";").replace("、", ";").split(";")
    else:
        parts = [str(v) for v in value]
    parts = [p.strip() for p in parts if p and p.strip()]
    return ";".join(parts) if parts else None


def _party(series: pd.Series, rows: list[int], rejects: list) -> list[bool | None]:
    """True/False, or None for an empty cell (see :func:`_keep_party`)."""
    if pd.api.types.is_bool_dtype(series.dtype):
        return [bool(v) for v in series.tolist()]
    out = []
    for r, value in zip(rows, series.tolist()):
        if type(value) is bool:
            out.append(value)
            continue
        value = bulk.clean(value)
        if value is None or value == "":
            out.append(None)
        elif isinstance(value, bool | int | float):
            out.append(bool(value))
        else:
            s = str(value).strip().lower()
            if s in _TRUE:
                out.append(True)
            else:
                if s not in _FALSE:
                    rejects.append((r, C.PARTY_MEMBER, f"{value!r} is not yes/no (是/否)"))
                out.append(False)
    return out


def _dates(series: pd.Series, rows: list[int], rejects: list) -> list:
    """Birth dates as datetime.date (or None); anything unparseable is rejected."""
    if pd.api.types.is_datetime64_any_dtype(series.dtype):
        return [None if pd.isna(v) else v.date() for v in series.tolist()]
    out: list = []
    cache: dict = {}
    for r, v in zip(rows, series.tolist()):
        t = type(v)
        if t is dt.date:
            out.append(v)
            continue
        if v is None or v is pd.NaT or (t is float and v != v):
            out.append(None)
            continue
        if isinstance(v, dt.datetime):
            out.append(v.date())
            continue
        if isinstance(v, dt.date):
            out.append(v)
            continue
        key = str(v).strip()
        d = cache.get(key)
        if d is None:
            try:
                d = cache[key] = pd.Timestamp(key).date()
            except (ValueError, TypeError):
                d = None
        if d is None:
            rejects.append((r, C.BIRTH_DATE, f"{v!r} is not a date"))
        out.append(d)
    return out


def _iso_dates(values: list) -> list:
    cache: dict = {}
    out = []
    for v in values:
        if v is None or isinstance(v, dt.date) or bulk.clean(v) is None:
            out.append(v if isinstance(v, dt.date) else None)
            continue
        d = cache.get(v)
        if d is None:
            d = cache[v] = dt.date.fromisoformat(str(v)[:10])
        out.append(d)
    return out


def _id_numbers(values: list, rows: list[int], rejects: list, notes: list) -> list:
    """The ID numbers as stored, checked as :func:`geogrid.io.load_persons` checks them:
    18 characters with the right GB 11643 check character and a possible birth date, a
    15-digit one converted (and noted), never one a float has been through (a float, or
    its digits written out: :class:`~geogrid.idnumber.ExcelNumberError`).  An empty cell
    is ``None`` (a newborn); a bad one is rejected with its reason.  A column of good
    numbers, nearly every call, is checked in numpy (:func:`~geogrid.idnumber.checks_out`)."""
    out = [v.strip() if type(v) is str else v for v in values]
    today = dt.date.today()
    for pos in np.flatnonzero(~checks_out(out, today=today)):
        value = bulk.clean(values[pos])
        if value is None or (type(value) is str and not value.strip()):
            out[pos] = None
            continue
        try:
            parsed = parse_id(value, today=today)
        except ValueError as exc:
            rejects.append((rows[pos], C.ID_NUMBER, str(exc)))
            out[pos] = None
            continue
        out[pos] = parsed.value
        if parsed.converted_from is not None:
            notes.append((rows[pos], C.ID_NUMBER, FIRST_GENERATION_NOTE))
    return out


def _prepare(session: Session, df: pd.DataFrame) -> tuple[pd.DataFrame, list[tuple[int, str, str]]]:
    for col in (C.HOUSEHOLD_NO, C.NAME):
        if col not in df.columns:
            raise ColumnError(f"persons need a {col!r} column")
    rows = bulk.row_numbers(df)
    rejects: list[tuple[int, str, str]] = []
    data = pd.DataFrame({"_row": pd.Series(rows, dtype="int64")})
    if data.empty:  # every row rejected (--skip-invalid): nothing to write
        return data, []
    data[C.HOUSEHOLD_NO] = bulk.text_column(df[C.HOUSEHOLD_NO])
    texts = {col: bulk.text_column(df[col]) for col in (C.NAME, C.GENDER, C.PHONE, C.RELATION)
             if col in df.columns}
    # an ID number or phone typed into the relation or the name is never stored: masked as
    # the API masks it (the person's own columns hold them; one pass, none nearly always)
    notes = [(rows[pos], col, register_note(kinds))
             for pos, col, kinds in mask_text_columns(texts, REGISTER_TEXT["persons"])]
    for col in (C.NAME, C.GENDER, C.PHONE, C.RELATION):
        data[col] = texts.get(col)
    data[C.ID_NUMBER] = (_id_numbers(df[C.ID_NUMBER].tolist(), rows, rejects, notes)
                         if C.ID_NUMBER in df.columns else None)
    data[C.BIRTH_DATE] = (_dates(df[C.BIRTH_DATE], rows, rejects)
                          if C.BIRTH_DATE in df.columns else None)
    data[C.PARTY_MEMBER] = (_party(df[C.PARTY_MEMBER], rows, rejects)
                            if C.PARTY_MEMBER in df.columns else None)
    data[C.TAGS] = [_tags(v) for v in df[C.TAGS].tolist()] if C.TAGS in df.columns else None

    for r, v in zip(rows, data[C.NAME]):
        if v is None or pd.isna(v):
            rejects.append((r, C.NAME, "name is empty"))
    gender = data[C.GENDER]
    bad = gender.notna() & ~gender.isin(C.GENDERS)
    rejects += [(r, C.GENDER, f"gender {v!r} is not M or F")
                for r, v in zip(data.loc[bad, "_row"], gender[bad])]
    idn = data[C.ID_NUMBER]
    dup = idn.notna() & idn.duplicated(keep=False)
    rejects += [(r, C.ID_NUMBER, "ID number appears more than once")
                for r in data.loc[dup, "_row"]]
    phone_long = data[C.PHONE].notna() & (data[C.PHONE].str.len() > 20)
    rejects += [(r, C.PHONE, "phone number is longer than 20 characters")
                for r in data.loc[phone_long, "_row"]]

    numbers = data[C.HOUSEHOLD_NO]
    known = household_ids(session, numbers.dropna().unique().tolist())
    data["household_id"] = [known.get(n) if isinstance(n, str) else None for n in numbers]
    for r, n, hid in zip(rows, numbers, data["household_id"]):
        if hid is None or pd.isna(hid):
            reason = ("household number is empty" if n is None or pd.isna(n)
                      else f"household {n!r} is not in the register; import households first")
            rejects.append((r, C.HOUSEHOLD_NO, reason))
    if rejects:
        rejects.sort()
        raise ValidationError(
            f"{len(rejects)} person row(s) cannot be stored; nothing was written", rejects)
    return data, notes


def _existing(session: Session, data: pd.DataFrame) -> pd.DataFrame:
    cols = ("id, household_id, name, gender, birth_date, id_number, phone, relation, "
            "party_member, tags")
    if len(data) > _LOOKUP_IN_LIMIT:
        frame = bulk.read_frame(session, f"SELECT {cols} FROM persons", geom=None)
    else:
        frames = []
        ids = data[C.ID_NUMBER].dropna().tolist()
        hh = data.loc[data[C.ID_NUMBER].isna(), "household_id"].unique().tolist()
        for key, values in (("id_number", ids), ("household_id", hh)):
            for start in range(0, len(values), 500):
                chunk = values[start : start + 500]
                marks = ", ".join(f":k{i}" for i in range(len(chunk)))
                frames.append(bulk.read_frame(
                    session, f"SELECT {cols} FROM persons WHERE {key} IN ({marks})",
                    {f"k{i}": v for i, v in enumerate(chunk)}, geom=None))
        frame = (pd.concat(frames, ignore_index=True).drop_duplicates("id")
                 if frames else pd.DataFrame(columns=cols.split(", ")))
    if len(frame):
        frame["birth_date"] = _iso_dates(frame["birth_date"].tolist())
        frame["party_member"] = [bool(v) for v in frame["party_member"].tolist()]
    return frame


def _keep_party(merged: pd.DataFrame) -> None:
    """An empty party-member cell says nothing: a registered person keeps the stored value
    (a file without the column, or with the cell left blank, never unmarks a party
    member), a new one is stored as not a member (the column is NOT NULL)."""
    party = merged[C.PARTY_MEMBER].astype(object)
    unknown = party.isna()
    if not unknown.any():
        return
    stored = (merged["party_member_db"].astype(object) if "party_member_db" in merged.columns
              else pd.Series(None, index=merged.index, dtype=object))
    merged[C.PARTY_MEMBER] = [bool(p) if not u else (bool(s) if s is not None and not pd.isna(s) else False)
                              for p, u, s in zip(party.tolist(), unknown.tolist(), stored.tolist())]


def _key(data: pd.DataFrame) -> list:
    """The identity of a person: the ID number, else household + name + birth date."""
    keys = []
    for idn, hid, name, birth in zip(bulk.pylist(data[C.ID_NUMBER]), bulk.pylist(data["household_id"]),
                                     bulk.pylist(data[C.NAME]), bulk.pylist(data[C.BIRTH_DATE])):
        keys.append(idn if idn is not None else f"~{hid}|{name}|{birth}")
    return keys


def upsert_persons(session: Session, df: pd.DataFrame, *, absent=None) -> Counts:
    """Add or update persons, keyed by ``id_number``.

    Parameters
    ----------
    df : DataFrame
        Canonical columns: ``household_no`` and ``name`` (required), ``gender`` (M/F),
        ``birth_date``, ``id_number`` (text), ``phone`` (text), ``relation``,
        ``party_member`` (bool or 是/否; empty or missing keeps a registered person's value
        and is False for a new one), ``tags`` (a list, or a ``;``-separated string).
        Missing optional columns are stored as NULL for new persons, and a registered
        person keeps its stored value of those of :data:`KEPT_WHEN_ABSENT` (see
        ``absent``); an empty value in a column given is stored as NULL.
    absent : columns of :data:`KEPT_WHEN_ABSENT` that the source did not give, though
        ``df`` may hold values for them (:func:`~geogrid.io.load_persons` gives every
        column, empty where the file has none): a registered person keeps what is stored
        of them, a new one takes ``df``'s.  Those ``df`` has no column of are absent too.
        A file of household numbers, names and ID numbers wiped the phone, the relation
        and the tags of every person it named.  ``notes`` say so, once a column
        (:data:`ABSENT_NOTE`, row ``None``), where a stored value was kept.

    A resident's ID number or phone number typed into ``relation`` or ``name`` is never
    stored: it is masked as the API masks it, the rest of the text kept, and ``notes`` of
    the counts name each row and column so.

    ``id_number`` is checked as :func:`geogrid.io.load_persons` checks it: a wrong check
    character, an impossible birth date, or a number a float has been through (a float, as
    ``pandas.read_excel`` gives a numeric column, or 18 digits ending in ``000`` with a
    wrong check character: Excel keeps 15 digits) rejects the call, naming the row and
    why (in English and Chinese, with how to mend the file); a 15-digit one is stored as
    its 18 characters, with a note.

    A person without an ID number (a newborn, say) is matched on household, name and
    birth date instead.  A changed person keeps its id and its ``version`` goes up; a
    person who moved to another household is updated, not duplicated.

    Raises
    ------
    ValidationError
        A household number not in the register, a bad or duplicate ID number, an empty name...;
        ``rejects`` lists ``(row, column, reason)`` and nothing is written.
    """
    data, notes = _prepare(session, df)
    counts = Counts(notes=notes)
    if data.empty:
        return counts
    absent = bulk.absent_columns(KEPT_WHEN_ABSENT, df, absent)
    existing = _existing(session, data)
    data["_key"] = _key(data)
    if len(existing):
        existing = existing.rename(columns={c: f"{c}_db" for c in existing.columns})
        ex_keys = pd.DataFrame({
            "household_id": existing["household_id_db"], C.NAME: existing["name_db"],
            C.BIRTH_DATE: existing["birth_date_db"], C.ID_NUMBER: existing["id_number_db"]})
        existing["_key"] = _key(ex_keys)
        existing = existing.drop_duplicates("_key")
        merged = data.merge(existing, on="_key", how="left")
    else:
        merged = data.copy()
        merged["id_db"] = None
    _keep_party(merged)
    is_new = merged["id_db"].isna().to_numpy()
    bulk.keep_absent(merged, absent, is_new, counts.notes, ABSENT_NOTE)
    changed = np.zeros(len(merged), dtype=bool)
    if len(existing):
        for col in _VALUE_COLS:
            a = merged[col].astype(object)
            b = merged[f"{col}_db"].astype(object)
            changed |= ~((a == b) | (a.isna() & b.isna())).to_numpy()
    changed &= ~is_new

    now = utcnow()
    new = merged[is_new]
    if len(new):
        data_new = {"id": new_ids(len(new))}
        data_new.update({c: bulk.pylist(new[c]) for c in _VALUE_COLS})
        data_new["created_at"] = data_new["updated_at"] = [now] * len(new)
        data_new["version"] = [1] * len(new)
        counts.added = bulk.insert_rows(session, "persons", data_new)
    upd = merged[changed]
    if len(upd):
        data_upd = {"id": upd["id_db"].tolist()}
        data_upd.update({c: bulk.pylist(upd[c]) for c in _VALUE_COLS})
        data_upd["updated_at"] = [now] * len(upd)
        counts.updated = bulk.update_rows(session, "persons", "id", data_upd, types=_PG_TYPES)
    counts.unchanged = len(merged) - counts.added - counts.updated
    session.expire_all()
    return counts


def persons_frame(session: Session, *, household_ids=None) -> pd.DataFrame:
    """Persons with their household number: ``person_id, household_id, household_no, name,
    gender, birth_date, id_number, phone, relation, party_member, tags, version``; the
    residents of households taken out of the register (:mod:`geogrid.db.removals`) are
    left out."""
    where, params = " WHERE h.removed_at IS NULL", {}
    if household_ids is not None:
        ids = list(household_ids)
        if not ids:
            where += " AND 1 = 0"
        else:
            where += " AND p.household_id IN (" + ", ".join(f":h{i}" for i in range(len(ids))) + ")"
            params = {f"h{i}": v for i, v in enumerate(ids)}
    frame = bulk.read_frame(
        session,
        f"SELECT p.id AS {C.PERSON_ID}, p.household_id, h.household_no, p.name, p.gender, "
        "p.birth_date, p.id_number, p.phone, p.relation, p.party_member, p.tags, p.version "
        f"FROM persons AS p JOIN households AS h ON h.id = p.household_id{where} "
        "ORDER BY h.household_no, p.name",
        params, geom=None)
    if len(frame):
        frame[C.PARTY_MEMBER] = frame[C.PARTY_MEMBER].astype(bool)
        frame[C.BIRTH_DATE] = _iso_dates(frame[C.BIRTH_DATE].tolist())
    return frame
