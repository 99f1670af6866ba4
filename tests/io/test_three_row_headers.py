"""Headers over three rows (位置信息 over 地址 | 坐标, 坐标 over 经度 | 纬度) and headers with a
blank row left between the group row and its sub-row. Both were read as a header of one or
two rows: the file failed whole ('missing column lon ... The file's headers are: 户编号, 户主,
地址, 坐标, Unnamed: 4, 村代码'), or the sub-row was read as a household and rejected. In an
XLSX with merged cells and in a CSV as Excel saves it, in GBK."""

from __future__ import annotations

import pytest

from geogrid.io import load_households, read_table
from geogrid.io.formats import read_notes
from tests.io.test_two_row_headers import _file  # a sheet or a GBK CSV of rows, as Excel writes them

VILLAGE = "431227100201"


# --- three rows: 位置信息 over 地址 | 坐标, 坐标 over 经度 | 纬度 ----------------------------------

THREE = [
    ["新晃县长乐村住户名单", None, None, None, None, None],
    ["户编号", "户主", "位置信息", None, None, "村代码"],
    [None, None, "地址", "坐标", None, None],
    [None, None, None, "经度", "纬度", None],
    ["H1", "张三", "长乐村1号", 109.17, 27.35, VILLAGE],
    ["H2", "李四", "长乐村2号", "abc", 27.35, VILLAGE],
    ["H3", "王五", "长乐村3号", 109.171, 27.351, VILLAGE],
]
THREE_MERGES = ("A1:F1", "A2:A4", "B2:B4", "C2:E2", "F2:F4", "C3:C4", "D3:E3")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_header_over_three_rows_is_read_as_one_with_the_sheets_row_numbers(tmp_path, fmt):
    path = _file(tmp_path, fmt, THREE, THREE_MERGES)
    raw = read_table(path)
    assert list(raw.columns) == ["户编号", "户主", "地址", "经度", "纬度", "村代码", "_row"]
    assert raw["_row"].tolist() == [5, 6, 7]
    assert read_notes(raw) == [
        "rows 2, 3 and 4 are one header (位置信息 over 地址, 坐标; 坐标 over 经度, 纬度): read as the columns "
        "户编号, 户主, 地址, 经度, 纬度, 村代码"]
    batch = load_households(path)
    assert batch.valid["household_no"].tolist() == ["H1", "H3"]
    assert batch.valid["address"].tolist() == ["长乐村1号", "长乐村3号"]
    assert batch.valid["lon"].round(3).tolist() == [109.17, 109.171]
    assert batch.rejects["_row"].tolist() == [6]
    assert "经度: longitude 'abc' is not a number" in batch.rejects["reason"][0]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_three_row_header_found_by_its_middle_row(tmp_path, fmt):
    """The middle row holds the most names an import knows (姓名 | 身份证号 | 联系电话 | 坐标):
    the group row above gives 户编号 and the row under it 经度 | 纬度."""
    rows = [["户编号", "户主信息", None, None, "位置", None],
            [None, "姓名", "身份证号", "联系电话", "坐标", None],
            [None, None, None, None, "经度", "纬度"],
            ["H1", "张三", "431227199001011234", "13800138000", 109.17, 27.35]]
    path = _file(tmp_path, fmt, rows, ("A1:A3", "B1:D1", "E1:F1", "B2:B3", "C2:C3", "D2:D3", "E2:F2"))
    raw = read_table(path)
    assert list(raw.columns) == ["户编号", "姓名", "身份证号", "联系电话", "经度", "纬度", "_row"]
    assert raw["_row"].tolist() == [4]


# --- a blank row between the group row and its sub-row -----------------------------------------

GAPPED = [
    ["新晃县长乐村住户名单", None, None, None, None],
    ["户编号", "户主", "坐标", None, "村代码"],
    [None, None, None, None, None],
    [None, None, "经度", "纬度", None],
    ["H1", "张三", 109.17, 27.35, VILLAGE],
    [None, None, None, None, None],
    ["H2", "李四", 109.171, 27.351, VILLAGE],
]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_blank_row_between_the_group_row_and_its_sub_row_is_passed_over(tmp_path, fmt):
    path = _file(tmp_path, fmt, GAPPED, ("A1:E1", "A2:A4", "B2:B4", "C2:D2", "E2:E4"))
    raw = read_table(path)
    assert list(raw.columns) == ["户编号", "户主", "经度", "纬度", "村代码", "_row"]
    assert raw["_row"].tolist() == [5, 7]
    assert read_notes(raw) == [
        "rows 2 and 4 are one header, the blank row 3 between them no part of it (坐标 over 经度, 纬度): "
        "read as the columns 户编号, 户主, 经度, 纬度, 村代码"]
    batch = load_households(path)
    assert batch.ok, batch.problems
    assert batch.valid["household_no"].tolist() == ["H1", "H2"]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_three_rows_with_a_blank_row_under_the_group_row(tmp_path, fmt):
    rows = [THREE[1], [None] * 6, *THREE[2:]]
    raw = read_table(_file(tmp_path, fmt, rows))
    assert list(raw.columns) == ["户编号", "户主", "地址", "经度", "纬度", "村代码", "_row"]
    assert raw["_row"].tolist() == [5, 6, 7]
    assert read_notes(raw)[0].startswith("rows 1, 3 and 4 are one header, the blank row 2 between them")


# --- records stay records -----------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize(("header", "first"), [
    # every cell text, a known word among them
    (["户编号", "户主", "经度", "纬度", "村代码"], ["H1", "户主", "109°10'12\"", "27°21'", VILLAGE]),
    # a person's row of words the imports know, in a column and the one without a header after it
    (["户编号", "姓名", "身份证号", "与户主关系", None], [None, None, None, "户主", "党员"]),
], ids=["text-cells", "known-words"])
def test_a_household_after_a_blank_row_under_the_header_is_not_taken_for_a_sub_header(tmp_path, fmt, header,
                                                                                     first):
    """A blank row under a one-row header, then a household: the household is a record."""
    second = ["H9" if c == "H1" else c for c in first]
    raw = read_table(_file(tmp_path, fmt, [["新晃县长乐村住户名单"], header, [None] * 5, first, second]))
    assert list(raw.columns) == [*(h if h is not None else f"Unnamed: {j}" for j, h in enumerate(header)), "_row"]
    assert raw["_row"].tolist() == [4, 5]
    assert read_notes(raw) == []


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_household_of_words_under_a_two_row_header_is_not_its_third_row(tmp_path, fmt):
    """坐标 over 经度 | 纬度, then a household whose every cell is text: a record, not a third row."""
    rows = [["户编号", "户主", "坐标", None], [None, None, "经度", "纬度"],
            ["H1", "户主", "109°10'12\"", "27°21'"], ["H2", "张三", "109.17", "27.35"]]
    raw = read_table(_file(tmp_path, fmt, rows, ("A1:A2", "B1:B2", "C1:D1")))
    assert list(raw.columns) == ["户编号", "户主", "经度", "纬度", "_row"]
    assert raw["_row"].tolist() == [3, 4]
