"""Migration 0011: ID and phone numbers typed into the register's own text, stored before
imports masked them, are masked in place, on both back-ends."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

from sqlalchemy import text

from geogrid.db import audit, migrate
from geogrid.db.engine import make_engine, session_scope
from geogrid.idnumber import make_id_number

PHONE = "13812345678"
MOTHER = make_id_number("431227", dt.date(1958, 3, 9), 7, "F")
HEAD = make_id_number("431227", dt.date(1962, 7, 8), 5, "M")
NOW = "CURRENT_TIMESTAMP"

#: household id: (head_name, address, building, hamlet), as stored before 39e9c49
HOUSEHOLDS = {
    "h1": ("杨大山", f"A村1号 户主电话{PHONE}", None, "上寨"),
    "h2": (f"吴小河{PHONE}", "A村2号", "0745-6221234", f"下寨{HEAD}"),
    "h3": ("龙三", "A村3号", "431227103001-B0001", "中寨"),  # a building key: no number
}
#: person id: (household, name, relation)
PERSONS = {
    "p1": ("h1", "杨大山", "户主"),
    "p2": ("h1", "杨小芳", f"之女 母亲身份证{MOTHER}"),
    "p3": ("h2", f"吴小河 {PHONE}", "户主"),
}


def _migration():
    path = Path(migrate.__file__).parent / "migrations" / "versions" / "0011_mask_register_text.py"
    spec = importlib.util.spec_from_file_location("migration_0011", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _insert(conn, households, persons, notes=()):
    for i, (h, (head, address, building, hamlet)) in enumerate(households.items()):
        conn.execute(text(
            "INSERT INTO households (id, household_no, head_name, address, building, hamlet, geom, created_at, "
            f"updated_at, placed_at, version) VALUES (:h, :n, :head, :address, :building, :hamlet, "
            f"ST_GeomFromText(:w, 4326), {NOW}, {NOW}, {NOW}, 1)"),
            {"h": h, "n": h.upper(), "head": head, "address": address, "building": building, "hamlet": hamlet,
             "w": f"POINT({109.17 + i * 0.001} 27.36)"})
    for p, (h, name, relation) in persons.items():
        conn.execute(text(
            "INSERT INTO persons (id, household_id, name, relation, party_member, created_at, updated_at, version) "
            f"VALUES (:p, :h, :name, :relation, false, {NOW}, {NOW}, 1)"),
            {"p": p, "h": h, "name": name, "relation": relation})
    for h, note in notes:
        conn.execute(text(
            "INSERT INTO household_removals (household_id, reason, left_on, note, removed_by, removed_at, "
            f"assignments) VALUES (:h, 'moved_out', '2026-11-30', :note, 'cadre1', {NOW}, '[]')"),
            {"h": h, "note": note})


def _text(conn) -> dict:
    rows = conn.execute(text("SELECT id, head_name, address, building, hamlet, version FROM households")).all()
    out = {r[0]: tuple(r[1:]) for r in rows}
    out.update({r[0]: tuple(r[1:]) for r in conn.execute(text("SELECT id, name, relation, version FROM persons"))})
    out.update({f"removal:{r[0]}": r[1] for r in conn.execute(text("SELECT household_id, note FROM household_removals"))})
    return out


def test_numbers_stored_in_full_before_imports_masked_them_are_masked_by_the_upgrade(empty_db_url):
    """Before: a database filled before 39e9c49/a6dd277 kept a phone in 地址, an ID number in
    自然寨 or 与户主关系, a removal's note with the family's new phone, in full, and the
    API's house read showed them.  The upgrade masks them as an import masks them (the
    rest of the text kept, a building key untouched), raises the rows' versions, says in
    one audit entry how many fields of which tables, and its downgrade is a no-op."""
    migrate.upgrade(empty_db_url, "0010")
    engine = make_engine(empty_db_url)
    try:
        with engine.begin() as conn:
            _insert(conn, HOUSEHOLDS, PERSONS, notes=[("h3", f"迁往长沙，新电话{PHONE}")])
            placed = dict(conn.execute(text("SELECT id, placed_at FROM households")).all())
        migrate.upgrade(empty_db_url)
        masked_phone, masked_id = "138****5678", "*" * 14
        with engine.connect() as conn:
            got = _text(conn)
            assert dict(conn.execute(text("SELECT id, placed_at FROM households")).all()) == placed
        assert got == {
            "h1": ("杨大山", f"A村1号 户主电话{masked_phone}", None, "上寨", 2),
            "h2": (f"吴小河{masked_phone}", "A村2号", "074*-***1234", f"下寨{masked_id}{HEAD[-4:]}", 2),
            "h3": ("龙三", "A村3号", "431227103001-B0001", "中寨", 1),
            "p1": ("杨大山", "户主", 1),
            "p2": ("杨小芳", f"之女 母亲身份证{masked_id}{MOTHER[-4:]}", 2),
            "p3": (f"吴小河 {masked_phone}", "户主", 2),
            "removal:h3": f"迁往长沙，新电话{masked_phone}",
        }
        assert not any(n in str(got) for n in (PHONE, HEAD, MOTHER, "6221234"))
        with session_scope(engine) as session:
            entries = audit.entries(session, action="mask_register_text")
            assert len(entries) == 1
            entry = entries[0]
            assert (entry.actor, entry.object_type, entry.object_id, entry.result) == (
                "migration", "schema", "0011", "ok")
            assert entry.detail["fields"] == 7
            assert entry.detail["masked"] == {
                "households": {"head_name": 1, "address": 1, "building": 1, "hamlet": 1},
                "persons": {"name": 1, "relation": 1}, "household_removals": {"note": 1}}
            assert entry.detail["rows_read"] == {"households": 3, "persons": 3, "household_removals": 1}
            assert not any(n in str(entry.detail) for n in (PHONE, HEAD, MOTHER, "6221234"))

        # the downgrade brings nothing back (the numbers are kept nowhere), and an upgrade
        # again finds nothing left to mask: no second entry
        migrate.downgrade(empty_db_url, "0010")
        assert migrate.current(empty_db_url) == "0010"
        with engine.connect() as conn:
            assert _text(conn) == got
        migrate.upgrade(empty_db_url)
        with engine.connect() as conn:
            assert _text(conn) == got
        with session_scope(engine) as session:
            assert audit.count(session, action="mask_register_text") == 1
    finally:
        engine.dispose()


def test_the_tables_are_read_and_masked_in_batches(empty_db_url):
    """A county's 270,000 persons are never held in memory at once: the tables are read
    by primary key a batch at a time, and every batch is masked (here batches of 2 rows
    for 7 households and 9 persons, numbers in the first, a middle and the last rows)."""
    migrate.upgrade(empty_db_url, "0010")
    households = {f"h{i}": ("户主", f"A村{i}号" + (f" 电话1381234{i:04d}" if i in (0, 3, 6) else ""), None, None)
                  for i in range(7)}
    persons = {f"p{i}": (f"h{i % 7}", f"人{i}", f"配偶 {PHONE}" if i in (0, 4, 5, 8) else "配偶") for i in range(9)}
    engine = make_engine(empty_db_url)
    try:
        with engine.begin() as conn:
            _insert(conn, households, persons)
            masked, read = _migration().mask_register_text(conn, now=dt.datetime.now(dt.UTC), batch=2)
        assert masked == {"households": {"address": 3}, "persons": {"relation": 4}}
        assert read == {"households": 7, "persons": 9, "household_removals": 0}
        with engine.connect() as conn:
            got = _text(conn)
        assert [got[f"h{i}"][1] for i in (0, 3, 6)] == [f"A村{i}号 电话138****{i:04d}" for i in (0, 3, 6)]
        assert [got[f"h{i}"][1] for i in (1, 2, 4, 5)] == [f"A村{i}号" for i in (1, 2, 4, 5)]
        assert [got[f"p{i}"][1] for i in range(9)] == [
            "配偶 138****5678" if i in (0, 4, 5, 8) else "配偶" for i in range(9)]
        assert PHONE not in str(got)
    finally:
        engine.dispose()
