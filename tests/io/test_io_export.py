"""write_table: formats, BOM, formula escaping, Chinese headers and values."""

import datetime as dt

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely

from geogrid.errors import FileFormatError
from geogrid.io import load_persons, read_table, write_table

DANGEROUS = ["=1+1", "+86 138", "-2+3", "@SUM(A1)", "\tx", "\rx", "safe", "a=b"]


def frame():
    return pd.DataFrame({"note": DANGEROUS, "value": [-3.5, 1, 2, 3, 4, 5, 6, 7]})


def test_csv_is_utf8_with_bom_and_escaped(tmp_path):
    df = frame()
    path = write_table(df, tmp_path / "out.csv")
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert "'=1+1" in text and "'+86 138" in text and "'-2+3" in text and "'@SUM(A1)" in text
    assert "\n-3.5\n" not in text and ",-3.5" in text  # a number is not escaped
    assert "',safe" not in text and ",a=b" not in text.replace("'", "")
    assert df["note"].tolist() == DANGEROUS  # input untouched
    raw = read_table(path)
    assert raw["note"].tolist()[:4] == ["'=1+1", "'+86 138", "'-2+3", "'@SUM(A1)"]


def test_xlsx_escaped_and_numbers_stay_numbers(tmp_path):
    path = write_table(frame(), tmp_path / "out.xlsx")
    ws = openpyxl.load_workbook(path).active
    notes = [c.value for c in ws["A"][1:]]
    assert notes[:5] == ["'=1+1", "'+86 138", "'-2+3", "'@SUM(A1)", "'\tx"]
    assert notes[5].startswith("'")  # (XML reads a CR back as LF)
    assert all(c.data_type == "s" for c in ws["A"][1:])
    assert ws["B2"].value == -3.5 and ws["B2"].data_type == "n"


def test_text_negative_number_is_escaped_but_numeric_is_not(tmp_path):
    df = pd.DataFrame({"as_text": ["-3.5"], "as_number": [-3.5]})
    ws = openpyxl.load_workbook(write_table(df, tmp_path / "n.xlsx")).active
    assert ws["A2"].value == "'-3.5" and ws["B2"].value == -3.5


@pytest.mark.parametrize("name", ["out.txt", "out.shp", "out"])
def test_unknown_extension(tmp_path, name):
    with pytest.raises(FileFormatError, match="use .geojson, .gpkg, .csv or .xlsx"):
        write_table(frame(), tmp_path / name)


def test_missing_folder(tmp_path):
    with pytest.raises(FileFormatError, match="does not exist"):
        write_table(frame(), tmp_path / "no" / "out.csv")


def test_geojson_from_lon_lat_and_needs_geometry(tmp_path):
    df = pd.DataFrame({"household_no": ["H1"], "lon": [109.2], "lat": [27.3]})
    back = gpd.read_file(write_table(df, tmp_path / "h.geojson"))
    assert back.geometry[0].equals(shapely.Point(109.2, 27.3))
    with pytest.raises(FileFormatError, match="needs geometry"):
        write_table(frame(), tmp_path / "x.geojson")


def test_geojson_reprojected_to_wgs84(tmp_path):
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(109.2, 27.3)], crs=4326).to_crs(32649)
    back = gpd.read_file(write_table(gdf, tmp_path / "p.geojson"))
    assert back.crs.to_epsg() == 4326 and abs(back.geometry[0].x - 109.2) < 1e-9


def test_polygons_in_csv_become_wkt(tmp_path):
    gdf = gpd.GeoDataFrame({"code": ["431227"]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    raw = read_table(write_table(gdf, tmp_path / "a.csv"))
    assert shapely.from_wkt(raw["geometry"][0]).equals(shapely.box(0, 0, 1, 1))


def test_huge_cell_refused_in_xlsx(tmp_path):
    df = pd.DataFrame({"wkt": ["x" * 40000]})
    with pytest.raises(FileFormatError, match="32,767"):
        write_table(df, tmp_path / "big.xlsx")
    assert not list(tmp_path.iterdir())  # no half-written or temporary file left


def test_zh_headers_and_values(tmp_path):
    df = pd.DataFrame({
        "household_no": ["H1"], "name": ["张三"], "gender": ["F"], "birth_date": [dt.date(1985, 5, 6)],
        "id_number": ["431227198505060067"], "phone": ["13812345678"], "relation": ["户主"],
        "party_member": [True], "tags": ["disabled;left_behind_child"], "care_level": ["red"],
    })
    path = write_table(df, tmp_path / "persons.xlsx", zh=True)
    ws = openpyxl.load_workbook(path).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("户编号", "姓名", "性别", "出生日期", "身份证号", "联系电话", "与户主关系", "是否党员", "人员标签", "户类别")
    assert rows[1][2] == "女" and rows[1][4] == "431227198505060067" and rows[1][7] == "是"
    assert rows[1][8] == "残疾人、留守儿童" and rows[1][9] == "连心户"
    batch = load_persons(path, today=dt.date(2024, 1, 1))  # and it imports again unchanged
    assert batch.ok, batch.problems
    row = batch.valid.iloc[0]
    assert (row.gender, row.party_member, row.tags, row.birth_date) == ("F", True, "disabled;left_behind_child",
                                                                        dt.date(1985, 5, 6))


def test_gpkg_attribute_table(tmp_path):
    path = write_table(frame(), tmp_path / "t.gpkg")
    assert read_table(path)["note"].tolist() == DANGEROUS  # not escaped: no spreadsheet runs a GeoPackage
