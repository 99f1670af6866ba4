"""``geogrid import`` / ``geogrid export`` end to end, on SpatiaLite and PostGIS."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from sqlalchemy import text

from geogrid.idnumber import make_id_number

HOUSEHOLDS = """户编号,户主,地址,经度,纬度,村代码,户类别
H001,杨大山,晃州镇A村1号,109.1700,27.3600,431227100201,放心户
H002,吴小河,晃州镇A村2号,109.1710,27.3610,431227100201,关心户
H003,龙三,晃州镇A村3号,109.1720,27.3620,431227100201,连心户
"""


def _persons_csv(rows):
    return "户编号,姓名,性别,身份证号,联系电话,与户主关系\n" + "\n".join(",".join(r) for r in rows) + "\n"


def _id(year, seq, gender):
    return make_id_number("431227", dt.date(year, 3, 4), seq, gender)


def _count(db_url, table):
    from sqlalchemy import create_engine

    from geogrid.db.engine import make_engine
    from geogrid.settings import Settings

    engine = make_engine(Settings(database_url=db_url))
    with engine.connect() as conn:
        n = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
    engine.dispose()
    return n


def test_import_gbk_households_then_reimport_updates(cli, db_url, tmp_path):
    path = tmp_path / "households.csv"
    path.write_bytes(HOUSEHOLDS.encode("gbk"))
    code, out, err = cli("import", "households", path, "--crs", "gcj02")
    assert code == 0, err
    assert "3 added" in out
    assert _count(db_url, "households") == 3
    path.write_bytes(HOUSEHOLDS.replace("杨大山", "杨大川").encode("gbk"))
    code, out, err = cli("import", "households", path, "--crs", "gcj02")
    assert code == 0, err
    assert "0 added, 1 updated, 2 unchanged" in out
    assert _count(db_url, "households") == 3


def test_gcj02_points_are_stored_in_wgs84(cli, db_url, tmp_path):
    from geogrid.crs import gcj02_to_wgs84
    from geogrid.db.engine import make_engine, session_scope
    from geogrid.db.households import households_frame
    from geogrid.settings import Settings

    path = tmp_path / "h.csv"
    path.write_text(HOUSEHOLDS, encoding="utf-8-sig")
    assert cli("import", "households", path, "--crs", "gcj02")[0] == 0
    engine = make_engine(Settings(database_url=db_url))
    with session_scope(engine) as s:
        frame = households_frame(s)
    engine.dispose()
    lon, lat = gcj02_to_wgs84([109.17], [27.36])
    p = frame.set_index("household_no").geometry["H001"]
    assert p.x == pytest.approx(lon[0], abs=1e-7) and p.y == pytest.approx(lat[0], abs=1e-7)


def test_bad_row_means_nothing_written(cli, db_url, tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(HOUSEHOLDS + "H004,石四,地址,27.36,109.17,431227100201,放心户\n", encoding="utf-8")
    code, out, err = cli("import", "households", path)
    assert code == 3
    assert "row 5" in err and "swapped" in err
    assert _count(db_url, "households") == 0


def test_skip_invalid_writes_rejects_untouched(cli, db_url, tmp_path):
    path = tmp_path / "h.csv"
    path.write_text(HOUSEHOLDS + "H005,石五,地址,abc,27.36,431227100201,放心户\n", encoding="utf-8")
    rejects = tmp_path / "rejects.csv"
    code, out, err = cli("import", "households", path, "--skip-invalid", "--rejects", rejects)
    assert code == 0, err
    assert "3 added" in out and "1 rejected" in out
    bad = pd.read_csv(rejects, dtype=str, encoding="utf-8-sig")
    assert bad["经度"].tolist() == ["abc"]
    assert "lon" in bad["reason"][0] or "经度" in bad["reason"][0]
    assert _count(db_url, "households") == 3


def test_persons_of_unknown_households_are_rejected(cli, db_url, tmp_path):
    h = tmp_path / "h.csv"
    h.write_text(HOUSEHOLDS, encoding="utf-8")
    assert cli("import", "households", h)[0] == 0
    p = tmp_path / "p.csv"
    p.write_text(_persons_csv([
        ["H001", "杨大山", "男", _id(1970, 1, "M"), "138 1234 5678", "户主"],
        ["H999", "无名", "女", _id(1980, 2, "F"), "13912345678", "户主"],
    ]), encoding="utf-8")
    code, out, err = cli("import", "persons", p)
    assert code == 3 and "row 3" in err and "not in the register" in err
    assert _count(db_url, "persons") == 0
    rejects = tmp_path / "pr.csv"
    code, out, err = cli("import", "persons", p, "--skip-invalid", "--rejects", rejects)
    assert code == 0, err
    assert _count(db_url, "persons") == 1
    assert pd.read_csv(rejects, dtype=str)["户编号"].tolist() == ["H999"]


def test_export_persons_masked_by_default_and_audited(cli, db_url, tmp_path):
    h = tmp_path / "h.csv"
    h.write_text(HOUSEHOLDS, encoding="utf-8")
    cli("import", "households", h)
    number = _id(1970, 1, "M")
    p = tmp_path / "p.csv"
    p.write_text(_persons_csv([["H001", "杨大山", "男", number, "13812345678", "户主"]]), encoding="utf-8")
    assert cli("import", "persons", p)[0] == 0
    out_csv = tmp_path / "out.csv"
    assert cli("export", "persons", "-o", out_csv)[0] == 0
    text_out = out_csv.read_text(encoding="utf-8-sig")
    assert number not in text_out and "13812345678" not in text_out
    assert number[-4:] in text_out and "138****5678" in text_out and "杨**" in text_out
    code, _, err = cli("export", "persons", "-o", out_csv, "--unmasked")
    assert code == 2 and "--purpose" in err
    assert cli("export", "persons", "-o", out_csv, "--unmasked", "--purpose", "户籍核对")[0] == 0
    assert number in out_csv.read_text(encoding="utf-8-sig")
    assert _count(db_url, "audit_log") >= 4  # two imports, two exports


def test_export_households_formats(cli, db_url, tmp_path):
    h = tmp_path / "h.csv"
    h.write_text(HOUSEHOLDS.replace("晃州镇A村1号", "=HYPERLINK(1)"), encoding="utf-8")
    cli("import", "households", h)
    for name in ("out.geojson", "out.gpkg", "out.xlsx", "out.csv"):
        assert cli("export", "households", "-o", tmp_path / name, "--zh")[0] == 0
    import geopandas as gpd

    assert len(gpd.read_file(tmp_path / "out.gpkg")) == 3
    csv_text = (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK(1)" in csv_text and "户编号" in csv_text


def _frame(db_url):
    from geogrid.db.engine import make_engine, session_scope
    from geogrid.db.households import households_frame
    from geogrid.settings import Settings

    engine = make_engine(Settings(database_url=db_url))
    with session_scope(engine) as s:
        frame = households_frame(s)
    engine.dispose()
    return frame.set_index("household_no")


@pytest.mark.parametrize("name", ["out.csv", "out.xlsx", "out.geojson", "out.gpkg"])
@pytest.mark.parametrize("zh", [False, True], ids=["en", "zh"])
def test_exported_households_import_back_unchanged(cli, db_url, tmp_path, name, zh):
    """Export then import is the identity: WGS84 coordinates in every format, never
    converted a second time although the points arrived in GCJ-02."""
    h = tmp_path / "h.csv"
    h.write_text(HOUSEHOLDS, encoding="utf-8")
    assert cli("import", "households", h, "--crs", "gcj02")[0] == 0
    before = _frame(db_url)
    out = tmp_path / name
    assert cli("export", "households", "-o", out, *(["--zh"] if zh else []))[0] == 0
    code, stdout, err = cli("import", "households", out)
    assert code == 0, err
    assert "0 added, 0 updated, 3 unchanged, 0 rejected" in stdout
    after = _frame(db_url)
    assert after["source_crs"].tolist() == ["gcj02"] * 3  # still says where the points came from
    assert (after["version"] == 1).all()
    assert after.geometry.geom_equals_exact(before.geometry, tolerance=1e-9).all()
    if out.suffix in (".csv", ".xlsx"):  # planners get longitude/latitude columns, not WKT
        from geogrid.io import read_table

        headers = set(read_table(out).columns)
        assert ({"经度", "纬度"} if zh else {"lon", "lat"}) <= headers and "geometry" not in headers


@pytest.mark.parametrize("name", ["areas.csv", "areas.xlsx", "areas.geojson"])
def test_exported_areas_import_back_unchanged(cli, db_url, tmp_path, name):
    import geopandas as gpd
    from shapely.geometry import box

    villages = tmp_path / "villages.geojson"
    gpd.GeoDataFrame({"code": ["431227100201", "431227100202"], "name": ["甲村", "乙村"],
                      "vintage": [2023, 2023]},
                     geometry=[box(109.1, 27.3, 109.2, 27.4), box(109.2, 27.3, 109.3, 27.4)],
                     crs=4326).to_file(villages)
    assert cli("import", "boundaries", villages, "--level", "village")[0] == 0
    out = tmp_path / name
    assert cli("export", "areas", "-o", out, "--zh")[0] == 0
    code, stdout, err = cli("import", "boundaries", out, "--level", "village")
    assert code == 0, err
    assert "0 added, 0 updated, 2 unchanged, 0 rejected" in stdout


def test_unregistered_household_is_named_by_the_files_header(cli, db_url, tmp_path):
    p = tmp_path / "p.csv"
    p.write_text(_persons_csv([["H999", "无名", "女", _id(1980, 2, "F"), "13912345678", "户主"]]),
                 encoding="utf-8")
    code, _, err = cli("import", "persons", p)
    assert code == 3
    assert f"{p}: 1 of 1 rows are invalid" in err
    assert "row 2, column 户编号: household 'H999' is not in the register" in err
    assert "household_no" not in err


def test_a_household_number_excel_made_a_date_is_named_so_not_as_unregistered(cli, db_url, tmp_path):
    """1-2 typed into a number cell of 户编号 is a date: the row was rejected as household
    '2024-01-02T00:00:00' not in the register (import households first), the wrong way."""
    import openpyxl

    h = tmp_path / "h.csv"
    h.write_text(HOUSEHOLDS, encoding="utf-8")
    assert cli("import", "households", h)[0] == 0
    p = tmp_path / "p.xlsx"
    wb = openpyxl.Workbook()
    for row in (["户编号", "姓名", "身份证号"], ["H001", "杨大山", _id(1970, 1, "M")],
                [dt.datetime(2024, 1, 2), "吴小河", _id(1980, 2, "F")]):
        wb.active.append(row)
    wb.save(p)
    code, _, err = cli("import", "persons", p)
    assert code == 3
    assert ("row 3, column 户编号: household number is a date in the sheet (2024-01-02): Excel turned what "
            "was typed (such as 1-2, 3/12 or 3:12) into one; format the column as text") in err
    assert "not in the register" not in err and "T00:00:00" not in err
    assert _count(db_url, "persons") == 0


def test_rejects_of_an_explicit_encoding_stay_untouched(cli, db_url, tmp_path):
    """Rows rejected by a database check are written as read, not re-read with a guess."""
    h = tmp_path / "h.csv"
    h.write_text(HOUSEHOLDS, encoding="utf-8")
    assert cli("import", "households", h)[0] == 0
    text_in = ("household_no,name,id_number,phone\n"
               f"H001,楊大山,{_id(1970, 1, 'M')},13812345678\n"
               f"H999,無名氏,{_id(1980, 2, 'F')},13912345678\n")
    p = tmp_path / "big5.csv"
    p.write_bytes(text_in.encode("big5"))
    rejects = tmp_path / "rejects.csv"
    code, _, err = cli("import", "persons", p, "--encoding", "big5", "--skip-invalid", "--rejects", rejects)
    assert code == 0, err
    bad = pd.read_csv(rejects, dtype=str, encoding="utf-8-sig")
    assert bad[["household_no", "name", "id_number"]].values.tolist() == [
        ["H999", "無名氏", _id(1980, 2, "F")]]
    assert bad["reason"][0] == "household_no: household 'H999' is not in the register; import households first"
    assert _count(db_url, "persons") == 1


def test_layer_option_chooses_a_geopackage_layer(cli, db_url, tmp_path):
    import geopandas as gpd

    frame = pd.read_csv(__import__("io").StringIO(HOUSEHOLDS), dtype=str)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(frame["经度"].astype(float),
                                                              frame["纬度"].astype(float)), crs=4326)
    path = tmp_path / "two.gpkg"
    gdf.to_file(path, layer="村甲")
    gdf.head(1).to_file(path, layer="村乙")
    code, _, err = cli("import", "households", path)
    assert code == 4 and "--layer" in err
    code, stdout, err = cli("import", "households", path, "--layer", "村乙")
    assert code == 0 and "1 added" in stdout, err
    code, stdout, err = cli("import", "households", path, "--layer", "0")
    assert code == 0 and "2 added, 0 updated, 1 unchanged" in stdout, err


def _dump(db_url):
    from sqlalchemy import create_engine

    from geogrid.db.engine import make_engine
    from geogrid.settings import Settings

    engine = make_engine(Settings(database_url=db_url))
    out = {}
    with engine.connect() as conn:
        for table in ("households", "persons", "areas", "audit_log"):
            rows = conn.execute(text(f"SELECT * FROM {table}")).mappings().all()
            out[table] = sorted((tuple(sorted((k, str(v)) for k, v in r.items())) for r in rows))
    engine.dispose()
    return out


def test_failed_import_leaves_the_database_exactly_as_it_was(cli, db_url, tmp_path):
    """Changed rows and a bad row in one file: exit 3 and not one value, version,
    timestamp or audit entry differs afterwards."""
    h = tmp_path / "h.csv"
    h.write_text(HOUSEHOLDS, encoding="utf-8")
    assert cli("import", "households", h)[0] == 0
    p = tmp_path / "p.csv"
    p.write_text(_persons_csv([["H001", "杨大山", "男", _id(1970, 1, "M"), "13812345678", "户主"]]),
                 encoding="utf-8")
    assert cli("import", "persons", p)[0] == 0
    before = _dump(db_url)
    h.write_text(HOUSEHOLDS.replace("杨大山", "杨大川") + "H004,新户,地址,109.18,27.37,431227100201,放心户\n"
                 + "H005,坏户,地址,109.18,91,431227100201,放心户\n", encoding="utf-8")
    code, _, err = cli("import", "households", h)
    assert code == 3 and "row 6, column 纬度" in err
    p.write_text(_persons_csv([["H001", "杨大川", "男", _id(1970, 1, "M"), "13812345678", "户主"],
                               ["H002", "吴小河", "男", _id(1971, 1, "M"), "1381234567", "户主"]]),
                 encoding="utf-8")
    code, _, err = cli("import", "persons", p)
    assert code == 3 and "row 3, column 联系电话" in err
    assert _dump(db_url) == before


def test_skip_invalid_when_every_row_is_rejected(cli, db_url, tmp_path):
    h = tmp_path / "h.csv"
    h.write_text(HOUSEHOLDS, encoding="utf-8")
    assert cli("import", "households", h)[0] == 0
    p = tmp_path / "p.xlsx"
    pd.DataFrame({"户编号": ["H001", "H999"], "姓名": ["甲", "乙"],
                  "身份证号": [float(_id(1970, 1, "M")[:17] + "1"), _id(1980, 2, "F")]}).to_excel(p, index=False)
    rejects = tmp_path / "rejects"
    code, stdout, err = cli("import", "persons", p, "--skip-invalid", "--rejects", rejects)
    assert code == 0, err
    assert "0 added, 0 updated, 0 unchanged, 2 rejected" in stdout
    assert f"written to {rejects}.xlsx" in err.replace("\n", "")  # the rejects of an XLSX are an XLSX
    assert pd.read_excel(f"{rejects}.xlsx", dtype=str)["户编号"].tolist() == ["H001", "H999"]
    assert _count(db_url, "persons") == 0


def test_a_village_name_that_disagrees_with_its_code_is_rejected_by_the_loaded_villages(cli, db_url, tmp_path):
    """村名 and 村代码 were never compared: a household of 乙村 given 甲村's code went into 甲村."""
    import geopandas as gpd
    from shapely.geometry import box

    villages = tmp_path / "villages.geojson"
    gpd.GeoDataFrame({"code": ["431227100201", "431227100202"], "name": ["甲村", "乙村"]},
                     geometry=[box(109.1, 27.3, 109.2, 27.4), box(109.2, 27.3, 109.3, 27.4)],
                     crs=4326).to_file(villages)
    assert cli("import", "boundaries", villages, "--level", "village")[0] == 0
    h = tmp_path / "h.csv"
    h.write_text("户编号,经度,纬度,村名,村代码\nH001,109.17,27.36,甲村,431227100201\n"
                 "H002,109.25,27.36,乙村,431227100201\nH003,109.25,27.37,乙,431227100202\n", encoding="gbk")
    code, _, err = cli("import", "households", h)
    assert code == 3 and _count(db_url, "households") == 0
    assert ("row 3, column 村名/村代码: village name '乙村' does not agree with village code 431227100201, "
            "which is 甲村's; correct the name or the code") in err
    code, out, err = cli("import", "households", h, "--skip-invalid")
    assert code == 0 and "2 added" in out and "1 rejected" in out, err


def _village_outlines(cli, tmp_path, names):
    """Load villages ``{code: name}``, side by side, as ``geogrid import boundaries`` does."""
    import geopandas as gpd
    from shapely.geometry import box

    path = tmp_path / "villages.geojson"
    gpd.GeoDataFrame({"code": list(names), "name": list(names.values())},
                     geometry=[box(109.1 + 0.1 * i, 27.3, 109.2 + 0.1 * i, 27.4) for i in range(len(names))],
                     crs=4326).to_file(path)
    assert cli("import", "boundaries", path, "--level", "village")[0] == 0


def _stored_village_codes(db_url):
    from geogrid.db.engine import make_engine
    from geogrid.settings import Settings

    engine = make_engine(Settings(database_url=db_url))
    with engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT household_no, village_code FROM households")).all())
    engine.dispose()
    return rows


def test_a_village_named_without_its_suffix_is_found_as_the_agreement_check_reads_it(cli, db_url, tmp_path):
    """A row naming its village 长乐 (no 村代码) was rejected ('no loaded village is named
    '长乐''), while the 村名/村代码 check took 长乐 for 长乐村: the two read names alike now."""
    _village_outlines(cli, tmp_path, {"431227100201": "长乐村", "431227100202": "新寨村"})
    h = tmp_path / "h.csv"
    h.write_text("户编号,经度,纬度,村名\nH001,109.15,27.36,长乐\nH002,109.25,27.36,新寨村委会\n"
                 "H003,109.16,27.36,长乐村\n", encoding="utf-8")
    code, out, err = cli("import", "households", h)
    assert code == 0 and "3 added" in out, err
    assert _stored_village_codes(db_url) == {"H001": "431227100201", "H002": "431227100202",
                                             "H003": "431227100201"}


def test_a_village_name_two_loaded_villages_answer_to_is_rejected_naming_their_codes(cli, db_url, tmp_path):
    """长乐村 of one town and 长乐社区 of another are one name read alike: a row naming
    长乐村 went silently to the first, as its exact spelling; now it is rejected with both codes."""
    _village_outlines(cli, tmp_path, {"431227100201": "长乐村", "431227101201": "长乐社区"})
    h = tmp_path / "h.csv"
    h.write_text("户编号,经度,纬度,村名\nH001,109.15,27.36,长乐村\n", encoding="utf-8")
    code, _, err = cli("import", "households", h)
    assert code == 3 and _count(db_url, "households") == 0
    assert ("row 2, column 村名: 2 villages are named '长乐村' (431227100201, 431227101201 长乐社区); "
            "give the 12-digit village code in a 村代码 column") in " ".join(err.split())


def test_with_no_village_loaded_a_row_naming_its_village_and_coding_none_is_rejected(cli, db_url, tmp_path):
    """The database import's side of partition's 村名-without---villages case: with no village
    loaded a 村名 alone is rejected, named with what to do (exit 3, nothing written), and
    with --skip-invalid counted among the rejected and put in the rejects file; the coded
    row goes in. (It was so already; checked when partition's case was fixed.)"""
    h = tmp_path / "h.csv"
    h.write_text("户编号,经度,纬度,村代码,村名\nH001,109.17,27.36,,长乐村\nH002,109.18,27.36,431227100201,\n",
                 encoding="utf-8")
    code, _, err = cli("import", "households", h)
    assert code == 3 and _count(db_url, "households") == 0
    assert ("row 2, column 村名: no loaded village is named '长乐村'; import the villages first (geogrid import "
            "boundaries --level village), or give the 12-digit village code in a 村代码 column") in " ".join(err.split())
    rejects = tmp_path / "rejects.csv"
    code, out, err = cli("import", "households", h, "--skip-invalid", "--rejects", rejects)
    assert code == 0, err
    assert "1 added" in out and "1 rejected" in out
    assert pd.read_csv(rejects, dtype=str, encoding="utf-8-sig")["户编号"].tolist() == ["H001"]


def test_a_refused_import_still_says_which_rows_were_hidden(cli, db_url, tmp_path):
    """An import refused for a bad row printed no note, so a cadre was told of a row they
    could not see on screen: the hidden-rows note comes before the refusal."""
    import openpyxl

    path = tmp_path / "h.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "户籍"
    ws.append(["户编号", "户主", "经度", "纬度", "村代码"])
    ws.append(["H001", "杨大山", 109.17, 27.36, "431227100201"])
    ws.append(["H002", "吴小河", "东经", 27.361, "431227100201"])  # row 3: no longitude
    ws.row_dimensions[3].hidden = True
    wb.save(path)
    code, out, err = cli("import", "households", path)
    err = " ".join(err.split())
    assert code == 3 and _count(db_url, "households") == 0
    # the note, then the refusal naming the row
    assert 0 <= err.index("note: row 3 of sheet '户籍' is hidden") < err.index("error: ")
    assert "row 3, column 经度" in err[err.index("error: "):]
