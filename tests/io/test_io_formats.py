"""A round trip through every accepted format, and what read_table returns."""

import datetime as dt

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest

from geogrid.errors import FileFormatError
from geogrid.io import load_households, read_table, write_table

HOUSEHOLDS = pd.DataFrame(
    {
        "household_no": ["007", "H002", "H003"],
        "head_name": ["张三", "李䶮", "杨秀英"],
        "address": ["晃州镇 1 号", "扶罗镇", "=危险"],
        "lon": [109.20, 109.21, 109.21],
        "lat": [27.36, 27.37, 27.37],
        "village_code": ["431227100201", "431227100201", "431227100202"],
        "building": ["007", None, None],
        "hamlet": ["上寨", "下寨", "下寨"],
        "care_level": ["green", "red", "yellow"],
    }
)


GBK_NAMES = ["张三", "李四", "杨秀英"]  # 䶮 is not in GBK


def households_gdf(names=None):
    df = HOUSEHOLDS if names is None else HOUSEHOLDS.assign(head_name=names)
    return gpd.GeoDataFrame(df, geometry=gpd.points_from_xy(df.lon, df.lat), crs=4326)


def check(batch, names=("张三", "李䶮", "杨秀英")):
    assert batch.ok, batch.problems
    v = batch.valid
    assert v["household_no"].tolist() == ["007", "H002", "H003"]
    assert v["head_name"].tolist() == list(names)
    assert v["address"].tolist() == ["晃州镇 1 号", "扶罗镇", "=危险"]
    assert v["care_level"].tolist() == ["green", "red", "yellow"]
    assert v["village_code"].tolist() == HOUSEHOLDS.village_code.tolist()
    # H002 and H003 share exact coordinates and no building number: one building
    assert v["building"].tolist() == ["007", "H002", "H002"]
    assert v.crs.to_epsg() == 4326
    assert v.geometry.x.round(9).tolist() == [109.20, 109.21, 109.21]
    assert v["_row"].tolist() in ([2, 3, 4], [1, 2, 3])


@pytest.mark.parametrize("ext", [".csv", ".xlsx", ".geojson", ".gpkg"])
def test_write_table_then_load(tmp_path, ext):
    path = write_table(households_gdf(), tmp_path / f"households{ext}")
    check(load_households(path))


@pytest.mark.parametrize("ext", [".csv", ".xlsx", ".geojson", ".gpkg"])
def test_write_table_zh_then_load(tmp_path, ext):
    path = write_table(households_gdf(), tmp_path / f"户{ext}", zh=True)
    headers = [c for c in read_table(path).columns if c not in ("_row", "geometry")]
    assert headers[:3] == ["户编号", "户主", "地址"]
    check(load_households(path))


def test_geoparquet(tmp_path):
    path = tmp_path / "households.parquet"
    households_gdf().to_parquet(path)
    check(load_households(path))


def test_plain_parquet_without_geometry(tmp_path):
    path = tmp_path / "households.parquet"
    HOUSEHOLDS.to_parquet(path)
    check(load_households(path))


def test_shapefile_with_gbk_cpg(tmp_path):
    gdf = households_gdf(GBK_NAMES).rename(columns={"household_no": "户编号", "head_name": "户主", "address": "地址",
                                           "village_code": "村代码", "building": "楼栋编号",
                                           "hamlet": "自然寨", "care_level": "户类别"})
    path = tmp_path / "户.shp"
    pyogrio.write_dataframe(gdf, path, encoding="GBK")
    assert path.with_suffix(".cpg").read_text().strip().upper() in ("GBK", "936", "CP936")
    raw = read_table(path)
    assert "户编号" in raw.columns and raw["_row"].tolist() == [1, 2, 3]
    check(load_households(path), GBK_NAMES)


def test_shapefile_gbk_without_cpg_is_detected(tmp_path):
    gdf = households_gdf(GBK_NAMES).rename(columns={"household_no": "户号", "head_name": "户主", "address": "地址"})
    path = tmp_path / "nocpg.shp"
    pyogrio.write_dataframe(gdf, path, encoding="GBK")
    path.with_suffix(".cpg").unlink()
    batch = load_households(path)
    assert batch.valid["head_name"].tolist() == GBK_NAMES
    assert batch.valid["address"].tolist()[0] == "晃州镇 1 号"


def test_projected_gpkg_is_reprojected(tmp_path):
    path = tmp_path / "cgcs2000_gk.gpkg"
    households_gdf().to_crs(4547).to_file(path)  # CGCS2000 / 3-degree Gauss-Kruger CM 108E... zone
    batch = load_households(path)
    assert batch.valid.geometry.x.round(7).tolist() == [109.20, 109.21, 109.21]
    assert set(batch.valid["source_crs"]) == {"cgcs2000"}


def test_xlsx_row_numbers_below_a_title_row(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["新晃县××村户籍登记表"])
    ws.append([])
    ws.append(["户号", "户主", "经度", "纬度"])
    ws.append(["H1", "张三", 109.2, 27.36])
    ws.append([None, None, None, None])
    ws.append(["H2", "李四", "abc", 27.36])
    wb.save(tmp_path / "t.xlsx")
    raw = read_table(tmp_path / "t.xlsx")
    assert raw["_row"].tolist() == [4, 6]
    batch = load_households(tmp_path / "t.xlsx")
    assert batch.rejects["_row"].tolist() == [6]
    assert "经度: longitude 'abc' is not a number" in batch.rejects["reason"][0]


@pytest.mark.parametrize("title", [
    "新晃县某村住户名单\n",
    "新晃县某村住户名单,,,\n",  # Excel's "save as CSV" pads the merged title cell
    "\"新晃县某村住户名单（2024年,第一批）\"\n\n",  # a quoted comma, a blank line
    "新晃县某村住户名单\n填报单位：某村（2024年6月1日）,,,\n",  # a second title row
])
def test_a_csv_title_row_above_the_header_is_skipped_as_in_xlsx(tmp_path, title):
    """A CSV with a title row above its header failed whole ('missing column ...') while the
    same sheet saved as XLSX imported: the header is found the same way in both."""
    path = tmp_path / "t.csv"
    path.write_bytes((title + "户号,户主,经度,纬度\nH1,张三,109.2,27.36\n\nH2,李四,abc,27.36\n").encode("gbk"))
    raw = read_table(path)
    assert list(raw.columns) == ["户号", "户主", "经度", "纬度", "_row"]
    head = title.count("\n") + 1  # the header's line in the file
    assert raw["_row"].tolist() == [head + 1, head + 3]
    batch = load_households(path)
    assert batch.valid["household_no"].tolist() == ["H1"]
    assert batch.rejects["_row"].tolist() == [head + 3]
    assert "经度: longitude 'abc' is not a number" in batch.rejects["reason"][0]


def test_a_tab_separated_csv_with_a_title_row(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("住户名单\n户号\t经度\t纬度\nH1\t109.2\t27.36\n", encoding="utf-8")
    batch = load_households(path)
    assert batch.ok and batch.valid["_row"].tolist() == [3]


def test_a_csv_whose_first_rows_are_sparse_keeps_its_header(tmp_path):
    """The header is the first row at least half as full as the fullest: a first data row
    with most cells empty does not move it."""
    path = tmp_path / "t.csv"
    path.write_text("户号,户主,地址,经度,纬度,备注\nH1,,,109.2,27.36,\nH2,李四,晃州镇,109.2,27.37,无\n",
                    encoding="utf-8")
    raw = read_table(path)
    assert raw.columns[0] == "户号" and raw["_row"].tolist() == [2, 3]


def _sheet_file(tmp_path, fmt, rows):
    """``rows`` (lists of cells, ``None`` for an empty cell) as a CSV (GBK) or an XLSX."""
    if fmt == "csv":
        path = tmp_path / "t.csv"
        text = "".join(",".join("" if c is None else str(c) for c in row) + "\n" for row in rows)
        path.write_bytes(text.encode("gbk"))
    else:
        path = tmp_path / "t.xlsx"
        wb = openpyxl.Workbook()
        for row in rows:
            wb.active.append(row)
        wb.save(path)
    return path


TITLE = ["新晃县长乐村住户名单", None, None, None]
SUBTITLE = ["填报单位：长乐村", None, "填报日期：2026-11-01", None]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("extra", [[], ["备注"]], ids=["known-headers", "one-unknown-header"])
def test_a_subtitle_row_above_the_header_is_not_taken_for_it(tmp_path, fmt, extra):
    """A subtitle (填报单位 | 填报日期: 2 cells of a 4-column table) was at least half as full
    as the fullest row, so it was taken for the header and the file failed whole ('missing
    column'). The header is the row with the column names the import knows."""
    pad = [None] * len(extra)
    path = _sheet_file(tmp_path, fmt, [
        TITLE + pad, SUBTITLE + pad, ["户号", "户主", "经度", "纬度", *extra],
        ["H1", "张三", 109.2, 27.36, *(["无"] if extra else [])], ["H2", "李四", "abc", 27.36, *pad]])
    raw = read_table(path)
    assert list(raw.columns) == ["户号", "户主", "经度", "纬度", *extra, "_row"]
    assert raw["_row"].tolist() == [4, 5]
    batch = load_households(path)
    assert batch.valid["household_no"].tolist() == ["H1"] and batch.rejects["_row"].tolist() == [5]
    assert "经度: longitude 'abc' is not a number" in batch.rejects["reason"][0]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_form_row_naming_one_column_above_the_header_is_not_taken_for_it(tmp_path, fmt):
    """A template's form row (村名 | 长乐村 | 填报日期 | ...) holds one column name; the header
    holds more of them, and it is the header."""
    path = _sheet_file(tmp_path, fmt, [
        ["村名", "长乐村", "填报日期", "2026-11-01"], ["户号", "户主", "经度", "纬度"],
        ["H1", "张三", 109.2, 27.36]])
    raw = read_table(path)
    assert list(raw.columns) == ["户号", "户主", "经度", "纬度", "_row"] and raw["_row"].tolist() == [3]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_headers_no_import_knows_are_found_as_before(tmp_path, fmt):
    """A file whose headers are none the imports know (to be mapped with --columns) keeps
    the rule of the fullest rows: its title is skipped, its header kept."""
    path = _sheet_file(tmp_path, fmt, [["某表", None, None], ["甲", "乙", "丙"], ["1", None, "3"]])
    raw = read_table(path)
    assert list(raw.columns) == ["甲", "乙", "丙", "_row"] and raw["_row"].tolist() == [3]


def test_csv_cells_stay_text(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("户号,身份证号,出生日期\n007,431227199001020357,1990-01-02\n\n008,,\n", encoding="utf-8")
    raw = read_table(path)
    assert raw["户号"].tolist() == ["007", "008"]
    assert raw["身份证号"].tolist() == ["431227199001020357", ""]
    assert raw["_row"].tolist() == [2, 4]


def test_tab_separated(tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("户号\t经度\t纬度\nH1\t109.2\t27.36\n", encoding="utf-8")
    assert load_households(path).ok


@pytest.mark.parametrize("name", ["x.docx", "x.xls", "x"])
def test_unknown_extension(tmp_path, name):
    (tmp_path / name).write_bytes(b"hello")
    with pytest.raises(FileFormatError, match=name.replace(".", r"\.") + ".*(CSV|xlsx)"):
        read_table(tmp_path / name)


@pytest.mark.parametrize("ext", [".xlsx", ".gpkg", ".geojson", ".parquet"])
def test_corrupt_file(tmp_path, ext):
    path = tmp_path / f"bad{ext}"
    path.write_bytes(b"this is not a real file at all")
    with pytest.raises(FileFormatError, match=f"bad\\{ext}"):
        read_table(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileFormatError, match="no such file"):
        read_table(tmp_path / "nope.csv")


def test_gpkg_with_two_layers_needs_a_layer(tmp_path):
    path = tmp_path / "two.gpkg"
    households_gdf().to_file(path, layer="a")
    households_gdf().to_file(path, layer="b")
    with pytest.raises(FileFormatError, match="2 layers"):
        read_table(path)
    assert len(read_table(path, layer="b")) == 3


def test_birth_dates_survive_xlsx(tmp_path):
    wb = openpyxl.Workbook()
    wb.active.append(["出生日期"])
    wb.active.append([dt.datetime(1990, 1, 2)])
    wb.save(tmp_path / "d.xlsx")
    assert read_table(tmp_path / "d.xlsx")["出生日期"][0] == dt.datetime(1990, 1, 2)
