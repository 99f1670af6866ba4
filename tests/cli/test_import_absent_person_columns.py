"""A persons file without some of the register's columns says nothing of them.

``geogrid import persons`` of a file of 户编号, 姓名 and 身份证号 only (a village's list
of who lives where, sent back to correct the households) stored NULL for every column
the file did not have: the phone, the relation to the head and the tags of each person
it named were wiped, and the summary said only '1 updated'.  是否党员 was kept already
(an empty cell or a missing column never unmarks a party member).  A registered person
now keeps what the file has no column for, with a note saying so; a column the file has
is written as it is, an empty cell too; 性别 and 出生日期 are read from the ID number
when the file has no column for them, as before.  On both back-ends.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import text

from geogrid.idnumber import make_id_number

HOUSEHOLDS = "户编号,户主,经度,纬度\nH001,杨大山,109.1700,27.3600\nH002,吴小河,109.1710,27.3610\n"
HEAD = make_id_number("431227", dt.date(1970, 3, 4), 1, "M")
CHILD = make_id_number("431227", dt.date(2001, 5, 6), 2, "F")


def _persons(db_url) -> dict:
    from geogrid.db.engine import make_engine
    from geogrid.settings import Settings

    engine = make_engine(Settings(database_url=db_url))
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT p.id_number, h.household_no, p.name, p.gender, p.phone, p.relation, p.party_member, "
            "p.tags, p.version FROM persons AS p JOIN households AS h ON h.id = p.household_id "
            "ORDER BY p.id_number")).all()
    engine.dispose()
    return {r[0]: (r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8]) for r in rows}


def test_a_file_of_names_keeps_what_it_has_no_column_for(cli, db_url, tmp_path):
    households = tmp_path / "households.csv"
    households.write_text(HOUSEHOLDS, encoding="utf-8")
    assert cli("import", "households", households)[0] == 0
    full = tmp_path / "persons.csv"
    full.write_text("户编号,姓名,身份证号,联系电话,与户主关系,是否党员,标签\n"
                    f"H001,杨大山,{HEAD},13812345678,户主,是,独居老人\n"
                    f"H001,杨小花,{CHILD},13912345678,女儿,否,\n", encoding="utf-8")
    code, out, err = cli("import", "persons", full)
    assert code == 0, err
    before = _persons(db_url)
    assert before[HEAD] == ("H001", "杨大山", "M", "13812345678", "户主", True, "elderly_alone", 1)

    names = tmp_path / "names.csv"  # 杨大山 renamed, 杨小花 as she was
    names.write_text(f"户编号,姓名,身份证号\nH001,杨大川,{HEAD}\nH001,杨小花,{CHILD}\n", encoding="utf-8")
    code, out, err = cli("import", "persons", names)
    assert code == 0, err
    assert "0 added, 1 updated, 1 unchanged" in out
    for header in ("联系电话", "与户主关系", "人员标签"):
        assert f"note: {header}: the file has no such column; registered persons keep what is stored\n" in out
    assert "note: 是否党员: the file has no such column" in out  # as before
    assert "note: 性别" not in out and "note: 出生日期" not in out  # read from the ID number
    after = _persons(db_url)
    assert after[HEAD] == ("H001", "杨大川", "M", "13812345678", "户主", True, "elderly_alone", 2)
    assert after[CHILD] == before[CHILD]

    # a column the file has is written as it is, an empty cell too
    some = tmp_path / "some.csv"
    some.write_text(f"户编号,姓名,身份证号,联系电话,标签\nH002,杨大川,{HEAD},,残疾人\n", encoding="utf-8")
    code, out, err = cli("import", "persons", some)
    assert code == 0 and "0 added, 1 updated, 0 unchanged" in out, err
    assert "note: 联系电话:" not in out and "note: 标签:" not in out and "note: 人员标签:" not in out
    assert "note: 与户主关系: the file has no such column" in out
    assert _persons(db_url)[HEAD] == ("H002", "杨大川", "M", None, "户主", True, "disabled", 3)

    # a new person in a file without the columns is stored without them, and no note of them
    third = make_id_number("431227", dt.date(1999, 1, 1), 3, "M")
    new = tmp_path / "new.csv"
    new.write_text(f"户编号,姓名,身份证号\nH002,吴小河,{third}\n", encoding="utf-8")
    code, out, err = cli("import", "persons", new)
    assert code == 0 and "1 added" in out, err
    assert "note: 联系电话" not in out and "note: 与户主关系" not in out and "note: 人员标签" not in out
    assert _persons(db_url)[third] == ("H002", "吴小河", "M", None, None, False, None, 1)


def test_upsert_persons_keeps_the_columns_a_frame_lacks(session):
    """The repository's own rule, for any caller: a frame without a column, or one
    naming it in ``absent``, leaves a registered person's value as it is."""
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import Point

    from geogrid.db.households import upsert_households
    from geogrid.db.persons import persons_frame, upsert_persons

    upsert_households(session, gpd.GeoDataFrame({"household_no": ["H1"]}, geometry=[Point(109.17, 27.36)],
                                                crs=4326))
    upsert_persons(session, pd.DataFrame(
        {"household_no": ["H1"], "name": ["杨大山"], "id_number": [HEAD], "gender": ["M"],
         "birth_date": [dt.date(1970, 3, 4)], "phone": ["13812345678"], "relation": ["户主"],
         "tags": ["elderly_alone"]}))
    counts = upsert_persons(session, pd.DataFrame(
        {"household_no": ["H1"], "name": ["杨大山"], "id_number": [HEAD], "relation": [None],
         "tags": [None]}), absent=["tags"])
    assert (counts.updated, counts.unchanged) == (1, 0)
    row = persons_frame(session).iloc[0]
    assert (row["gender"], row["birth_date"], row["phone"], row["relation"], row["tags"]) == (
        "M", dt.date(1970, 3, 4), "13812345678", None, "elderly_alone")
    assert {(r, c) for r, c, _ in counts.notes} == {
        (None, "性别"), (None, "出生日期"), (None, "联系电话"), (None, "人员标签")}
