"""A household file without some of the register's columns says nothing of them.

``geogrid import households`` of a file of corrected points (户编号, 经度, 纬度: what a
survey team sends back) stored NULL for every column the file did not have: the head's
name, the address, the building, the hamlet and the care level of each household it
named were wiped, a cadre's 连心户 set on the map too, and the summary said only
'2 updated'.  A registered household now keeps what the file has no column for (its
building while its point stays where it was), with a note saying so; a column the file
has is written as it is, an empty cell too.  On both back-ends.
"""

from __future__ import annotations

from sqlalchemy import text

FULL = """户编号,户主,地址,经度,纬度,楼栋编号,自然寨,户类别
H001,杨大山,晃州镇A村1号,109.1700,27.3600,B1,上寨,连心户
H002,吴小河,晃州镇A村2号,109.1710,27.3610,B2,下寨,关心户
"""


def _register(db_url) -> dict:
    from geogrid.db.engine import make_engine
    from geogrid.settings import Settings

    engine = make_engine(Settings(database_url=db_url))
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT household_no, head_name, address, building, hamlet, care_level, ST_X(geom), version "
            "FROM households ORDER BY household_no")).all()
    engine.dispose()
    return {r[0]: (*r[1:6], round(r[6], 6), r[7]) for r in rows}


def test_a_file_of_points_keeps_what_it_has_no_column_for(cli, db_url, tmp_path):
    full = tmp_path / "register.csv"
    full.write_text(FULL, encoding="utf-8")
    assert cli("import", "households", full)[0] == 0
    before = _register(db_url)
    assert before["H001"] == ("杨大山", "晃州镇A村1号", "B1", "上寨", "red", 109.17, 1)

    points = tmp_path / "points.csv"  # H001 surveyed again 10 m east, H002 as it was
    points.write_text("户编号,经度,纬度\nH001,109.1701,27.3600\nH002,109.1710,27.3610\n", encoding="utf-8")
    code, out, err = cli("import", "households", points)
    assert code == 0, err
    assert "0 added, 1 updated, 1 unchanged" in out
    for header in ("户主", "地址", "自然寨", "户类别"):
        assert f"note: {header}: the file has no such column; registered households keep what is stored\n" in out
    assert ("note: 楼栋编号: the file has no such column; registered households keep what is stored "
            "where their point is unchanged") in out
    after = _register(db_url)
    # H001 moved: a new point, its building worked out again (it is in another house)
    assert after["H001"] == ("杨大山", "晃州镇A村1号", "H001", "上寨", "red", 109.1701, 2)
    assert after["H002"] == before["H002"]

    # a column the file has is written as it is, an empty cell too
    some = tmp_path / "some.csv"
    some.write_text("户编号,户主,地址,经度,纬度,户类别\nH002,吴大河,,109.1710,27.3610,放心户\n", encoding="utf-8")
    code, out, err = cli("import", "households", some)
    assert code == 0 and "0 added, 1 updated, 0 unchanged" in out, err
    assert "note: 户主:" not in out and "note: 户类别:" not in out and "note: 自然寨:" in out
    assert _register(db_url)["H002"] == ("吴大河", None, "B2", "下寨", "green", 109.171, 2)

    # new households in a file without the columns are stored without them, and no note
    new = tmp_path / "new.csv"
    new.write_text("户编号,经度,纬度\nH003,109.1720,27.3620\n", encoding="utf-8")
    code, out, err = cli("import", "households", new)
    assert code == 0 and "1 added" in out and "note:" not in out, err
    assert _register(db_url)["H003"][:5] == (None, None, "H003", None, None)


def test_upsert_households_keeps_the_columns_a_frame_lacks(session):
    """The repository's own rule, for any caller: a frame without a column, or one
    naming it in ``absent``, leaves a registered household's value as it is."""
    import geopandas as gpd
    from shapely.geometry import Point

    from geogrid.db.households import households_frame, upsert_households

    upsert_households(session, gpd.GeoDataFrame(
        {"household_no": ["H1"], "head_name": ["杨大山"], "hamlet": ["上寨"], "care_level": ["red"],
         "building": ["B1"]}, geometry=[Point(109.17, 27.36)], crs=4326))
    counts = upsert_households(session, gpd.GeoDataFrame(
        {"household_no": ["H1"], "building": ["H1"], "care_level": [None]},
        geometry=[Point(109.17, 27.36)], crs=4326), absent=["building"])
    assert (counts.updated, counts.unchanged) == (1, 0)
    row = households_frame(session).iloc[0]
    assert (row["head_name"], row["hamlet"], row["building"], row["care_level"]) == ("杨大山", "上寨", "B1", None)
    assert {(r, c) for r, c, _ in counts.notes} == {(None, "户主"), (None, "自然寨"), (None, "楼栋编号")}
