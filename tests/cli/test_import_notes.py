"""``geogrid import persons`` says what it did to the rows it wrote, on SpatiaLite and PostGIS:
15-digit ID numbers converted, empty 是否党员 cells."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from geogrid.idnumber import make_id_number
from tests.cli.test_transfer import HOUSEHOLDS


def _persons(db_url) -> dict[str, tuple]:
    from geogrid.db.engine import make_engine
    from geogrid.settings import Settings

    engine = make_engine(Settings(database_url=db_url))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT name, id_number, party_member FROM persons")).all()
    engine.dispose()
    return {name: (number, bool(party)) for name, number, party in rows}


def _audit_details(db_url) -> list[str]:
    from geogrid.db.engine import make_engine
    from geogrid.settings import Settings

    engine = make_engine(Settings(database_url=db_url))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT detail FROM audit_log WHERE action = 'import.persons'")).scalars().all()
    engine.dispose()
    return [str(r) for r in rows]


def test_first_generation_id_numbers_are_stored_as_18_digits_and_counted(cli, db_url, tmp_path):
    h = tmp_path / "h.csv"
    h.write_text(HOUSEHOLDS, encoding="utf-8")
    assert cli("import", "households", h)[0] == 0
    new = make_id_number("431227", dt.date(1962, 7, 8), 5, "M")
    old = new[:6] + new[8:17]
    other = make_id_number("431227", dt.date(1990, 3, 4), 9, "F")
    p = tmp_path / "p.csv"
    p.write_text(f"户编号,姓名,身份证号\nH001,杨大山,{old}\nH002,吴小河,{other}\n", encoding="gbk")
    code, out, err = cli("import", "persons", p)
    assert code == 0, err
    assert "2 added" in out
    assert "note: 身份证号, 1 row (2): a first-generation ID number of 15 digits, stored as its 18-digit" in out
    assert _persons(db_url)["杨大山"][0] == new
    assert "first-generation" in _audit_details(db_url)[0]
    # the same person in a newer register with the 18-digit number: the same row, unchanged
    p.write_text(f"户编号,姓名,身份证号\nH001,杨大山,{new}\nH002,吴小河,{other}\n", encoding="gbk")
    code, out, err = cli("import", "persons", p)
    assert code == 0 and "0 added, 0 updated, 2 unchanged" in out and "first-generation" not in out, err


def test_an_empty_party_member_cell_is_reported_and_never_unmarks_a_party_member(cli, db_url, tmp_path):
    """An empty 是否党员 cell was stored as 'not a party member', silently; re-importing a
    register with the cell empty, or without the column (a file of new phone numbers, say),
    turned every registered party member into a non-member."""
    h = tmp_path / "h.csv"
    h.write_text(HOUSEHOLDS, encoding="utf-8")
    assert cli("import", "households", h)[0] == 0
    a = make_id_number("431227", dt.date(1962, 7, 8), 5, "M")
    b = make_id_number("431227", dt.date(1990, 3, 4), 9, "F")
    p = tmp_path / "p.csv"
    p.write_text(f"户编号,姓名,身份证号,是否党员\nH001,杨大山,{a},是\nH002,吴小河,{b},\n", encoding="utf-8")
    code, out, err = cli("import", "persons", p)
    assert code == 0, err
    assert ("note: 是否党员, 1 row (3): empty; a new person is stored as not a party member and a registered "
            "one keeps what is stored (write 是 or 否 to say)") in out
    assert _persons(db_url) == {"杨大山": (a, True), "吴小河": (b, False)}
    p.write_text(f"户编号,姓名,身份证号,是否党员\nH001,杨大山,{a},\nH002,吴小河,{b},\n", encoding="utf-8")
    code, out, err = cli("import", "persons", p)
    assert code == 0 and "0 added, 0 updated, 2 unchanged" in out, err
    assert "note: 是否党员, 2 rows (2, 3): empty" in out
    p.write_text(f"户编号,姓名,身份证号,联系电话\nH001,杨大山,{a},13812345678\n", encoding="utf-8")
    code, out, err = cli("import", "persons", p)
    assert code == 0 and "0 added, 1 updated, 0 unchanged" in out, err
    assert ("note: 是否党员: the file has no such column; new persons are stored as not party members and "
            "registered ones keep what is stored") in out
    assert _persons(db_url) == {"杨大山": (a, True), "吴小河": (b, False)}
    p.write_text(f"户编号,姓名,身份证号,是否党员\nH001,杨大山,{a},否\n", encoding="utf-8")
    assert cli("import", "persons", p)[0] == 0
    assert _persons(db_url)["杨大山"] == (a, False)  # 否 still says so
