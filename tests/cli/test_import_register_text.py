"""A resident's ID number or phone number typed into the register's own free text (地址,
自然寨, 楼栋编号 of a household; 与户主关系 of a person) was stored as typed by ``geogrid
import`` and by the repositories, shown so by the API and exported so.  It is masked
before it is stored now, each masking noted (row, column, what was done), on SpatiaLite
and PostGIS."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import pandas as pd
from shapely.geometry import Point
from sqlalchemy import text

from geogrid.idnumber import make_id_number

HEAD = "户编号,户主,地址,经度,纬度,村代码,自然寨,楼栋编号,户类别\n"
PHONE = "13812345678"
MOTHER = make_id_number("431227", dt.date(1958, 3, 9), 7, "F")
A = make_id_number("431227", dt.date(1962, 7, 8), 5, "M")
B = make_id_number("431227", dt.date(1990, 3, 4), 9, "F")


def _rows(db_url, sql: str) -> list[tuple]:
    from geogrid.db.engine import make_engine
    from geogrid.settings import Settings

    engine = make_engine(Settings(database_url=db_url))
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql)).all()]
    engine.dispose()
    return rows


def test_numbers_typed_into_the_registers_free_text_are_masked_on_import_and_export(cli, db_url, tmp_path):
    h = tmp_path / "h.csv"
    h.write_text(HEAD
                 + f"H001,杨大山,晃州镇A村1号 户主电话{PHONE},109.1700,27.3600,431227100201,上寨,,放心户\n"
                 + f"H002,吴小河,晃州镇A村2号,109.1710,27.3610,431227100201,母亲身份证{MOTHER},,关心户\n"
                 + "H003,龙三,晃州镇A村3号,109.1720,27.3620,431227100201,下寨,0745-6221234,连心户\n",
                 encoding="gbk")
    code, out, err = cli("import", "households", h)
    assert code == 0, err
    assert "3 added" in out
    assert ("note: 地址, 1 row (2): a phone number in the text masked to its first three and last four digits "
            "(138****5678), the rest kept: stored masked") in out
    assert "note: 自然寨, 1 row (3): an ID number in the text masked to its last four characters" in out
    assert "note: 楼栋编号, 1 row (4): a phone number in the text masked" in out
    stored = {no: (address, hamlet, building) for no, address, hamlet, building in _rows(
        db_url, "SELECT household_no, address, hamlet, building FROM households")}
    assert stored == {"H001": ("晃州镇A村1号 户主电话138****5678", "上寨", "H001"),  # no building: its own key
                      "H002": ("晃州镇A村2号", f"母亲身份证{'*' * 14}{MOTHER[-4:]}", "H002"),
                      "H003": ("晃州镇A村3号", "下寨", "074*-***1234")}

    p = tmp_path / "p.csv"
    p.write_text("户编号,姓名,身份证号,联系电话,与户主关系\n"
                 f"H001,杨大山,{A},13900001111,户主\n"
                 f"H002,吴小河,{B},,之女 母亲身份证{MOTHER}\n", encoding="gb18030")
    code, out, err = cli("import", "persons", p)
    assert code == 0, err
    assert "2 added" in out
    assert "note: 与户主关系, 1 row (3): an ID number in the text masked to its last four characters" in out
    relations = dict(_rows(db_url, "SELECT name, relation FROM persons"))
    assert relations == {"杨大山": "户主", "吴小河": f"之女 母亲身份证{'*' * 14}{MOTHER[-4:]}"}
    assert dict(_rows(db_url, "SELECT name, phone FROM persons"))["杨大山"] == "13900001111"  # its own column

    audit = " ".join(str(d) for (d,) in _rows(db_url, "SELECT detail FROM audit_log WHERE action LIKE 'import.%'"))
    assert "masked" in audit and PHONE not in audit and MOTHER not in audit
    for name in ("households", "persons"):
        path = tmp_path / f"{name}.csv"
        code, _, err = cli("export", name, "-o", path)
        assert code == 0, err
        written = path.read_bytes().decode("utf-8-sig", errors="replace")
        assert PHONE not in written and MOTHER not in written and "6221234" not in written


def test_a_register_written_through_the_repositories_is_masked_and_noted(session):
    """A notebook's frame stored with upsert_households / upsert_persons, not read from a
    file: the repositories mask it too, and their counts say which rows."""
    from geogrid.db.households import upsert_households
    from geogrid.db.persons import upsert_persons

    households = gpd.GeoDataFrame(
        {"household_no": ["H1", "H2"], "address": ["A村1号", f"A村2号 {PHONE}"],
         "hamlet": ["上寨", "下寨"], "building": [None, None], "_row": [2, 3]},
        geometry=[Point(109.17, 27.36), Point(109.171, 27.361)], crs=4326)
    counts = upsert_households(session, households)
    assert counts.added == 2
    assert counts.notes == [(3, "address", counts.notes[0][2])]
    assert counts.notes[0][2].startswith("a phone number in the text masked")
    persons = pd.DataFrame({"household_no": ["H1", "H2"], "name": ["杨大山", "吴小河"], "id_number": [A, B],
                            "relation": ["户主", f"母亲 {MOTHER}"], "_row": [2, 3]})
    counts = upsert_persons(session, persons)
    assert counts.added == 2 and [(r, c) for r, c, _ in counts.notes] == [(3, "relation")]
    session.flush()
    assert session.execute(text("SELECT address FROM households WHERE household_no = 'H2'")).scalar() \
        == "A村2号 138****5678"
    assert session.execute(text("SELECT relation FROM persons WHERE name = '吴小河'")).scalar() \
        == f"母亲 {'*' * 14}{MOTHER[-4:]}"
