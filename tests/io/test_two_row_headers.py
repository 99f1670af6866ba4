"""Headers over two rows, the common government layout: a first row of group cells merged
over their columns (坐标 over 经度 | 纬度, 户主信息 over 姓名 | 身份证号 | 联系电话) and a
second row of sub-headers. The file failed whole with 'missing column lon ... The file's
headers are: 户编号, 户主, 坐标, Unnamed: 3'. A row under the header that is a household
must still be read as one."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from geogrid.io import load_households, load_persons, read_table
from geogrid.io.formats import read_notes

TODAY = dt.date(2024, 6, 1)
VILLAGE = "431227100201"


def _xlsx(path, rows, merges=()):
    """``rows`` in one sheet, with the cell ranges of ``merges`` merged (as Excel does: the
    value kept in the top-left cell only)."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "户籍"
    for row in rows:
        ws.append(row)
    for ref in merges:
        ws.merge_cells(ref)
    wb.save(path)
    return path


def _csv(path, rows):
    """``rows`` as Excel's 'save as CSV' writes them in a Chinese Windows (GBK, CRLF; a
    merged cell's value once, followed by empty cells)."""
    text = "".join(",".join("" if c is None else str(c) for c in row) + "\r\n" for row in rows)
    path.write_bytes(text.encode("gbk"))
    return path


def _file(tmp_path, fmt, rows, merges=()):
    if fmt == "xlsx":
        return _xlsx(tmp_path / "t.xlsx", rows, merges)
    return _csv(tmp_path / "t.csv", rows)


# --- 坐标 over 经度 | 纬度 -------------------------------------------------------------------

COORDS = [
    ["新晃县长乐村住户名单", None, None, None, None],
    ["户编号", "户主", "坐标", None, "村代码"],
    [None, None, "经度", "纬度", None],
    ["H1", "张三", 109.17, 27.35, VILLAGE],
    ["H2", "李四", "abc", 27.35, VILLAGE],
    [None, None, None, None, None],
    ["H3", "王五", 109.171, 27.35, VILLAGE],
]
COORD_MERGES = ("A1:E1", "A2:A3", "B2:B3", "C2:D2", "E2:E3")


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_coordinates_grouped_over_two_rows_are_read_with_the_sheets_row_numbers(tmp_path, fmt):
    path = _file(tmp_path, fmt, COORDS, COORD_MERGES)
    raw = read_table(path)
    assert list(raw.columns) == ["户编号", "户主", "经度", "纬度", "村代码", "_row"]
    assert raw["_row"].tolist() == [4, 5, 7]
    batch = load_households(path)
    assert batch.valid["household_no"].tolist() == ["H1", "H3"]
    assert batch.valid["_row"].tolist() == [4, 7]
    assert batch.rejects["_row"].tolist() == [5]
    assert "经度: longitude 'abc' is not a number" in batch.rejects["reason"][0]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_two_row_header_is_named_in_the_notes(tmp_path, fmt):
    """Which rows were read as the header is said, so a reader can check it."""
    raw = read_table(_file(tmp_path, fmt, COORDS, COORD_MERGES))
    assert read_notes(raw) == [
        "rows 2 and 3 are one header (坐标 over 经度, 纬度): read as the columns 户编号, 户主, 经度, 纬度, 村代码"]


def test_group_names_repeated_over_their_columns_are_read_too(tmp_path):
    """A sheet not merged but with the group name typed over each of its columns."""
    rows = [["户编号", "户主", "坐标", "坐标"], [None, None, "经度", "纬度"], ["H1", "张三", 109.17, 27.35]]
    raw = read_table(_xlsx(tmp_path / "t.xlsx", rows))
    assert list(raw.columns) == ["户编号", "户主", "经度", "纬度", "_row"] and raw["_row"].tolist() == [3]


# --- 户主信息 over 姓名 | 身份证号 | 联系电话 ------------------------------------------------------


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_a_persons_register_grouped_under_a_heading_is_read(tmp_path, fmt, ids):
    """The sub-row holds more names the imports know than the group row: it is found as
    the header, and the group row above it still gives 户编号."""
    rows = [["户编号", "户主信息", None, None, "备注"],
            [None, "姓名", "身份证号", "联系电话", None],
            ["H1", "张三", ids[0], "13800138000", None],
            ["H2", "李四", "431227199001011234", "13800138001", "迁出"]]
    path = _file(tmp_path, fmt, rows, ("A1:A2", "B1:D1", "E1:E2"))
    raw = read_table(path)
    assert list(raw.columns) == ["户编号", "姓名", "身份证号", "联系电话", "备注", "_row"]
    batch = load_persons(path, today=TODAY)
    assert batch.valid["name"].tolist() == ["张三"] and batch.valid["_row"].tolist() == [3]
    assert batch.rejects["_row"].tolist() == [4] and "身份证号" in batch.rejects["reason"][0]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
def test_two_name_columns_keep_their_group_names(tmp_path, fmt):
    """姓名 under 户主 and 姓名 under 联系人: the sub-name alone is ambiguous, so the group
    name is kept (户主姓名 is the head's name an import knows); 经度 and 纬度 are not."""
    rows = [["户编号", "户主", None, "联系人", None, "坐标", None],
            [None, "姓名", "联系电话", "姓名", "联系电话", "经度", "纬度"],
            ["H1", "张三", "13800138000", "张四", "13800138001", 109.17, 27.35]]
    path = _file(tmp_path, fmt, rows, ("A1:A2", "B1:C1", "D1:E1", "F1:G1"))
    raw = read_table(path)
    assert list(raw.columns) == ["户编号", "户主姓名", "户主联系电话", "联系人姓名", "联系人联系电话", "经度", "纬度",
                                 "_row"]
    batch = load_households(path)
    assert batch.ok, batch.problems
    assert batch.valid["head_name"].tolist() == ["张三"] and batch.valid["_row"].tolist() == [3]


# --- a household row under the header stays a household ---------------------------------

HEADER = ["户编号", "户主", "经度", "纬度", "村代码"]


@pytest.mark.parametrize("fmt", ["xlsx", "csv"])
@pytest.mark.parametrize(("header", "first"), [
    # all cells text: coordinates in degrees and minutes, a known word in a cell
    (HEADER, ["H1", "户主", "109°10'12\"", "27°21'", VILLAGE]),
    # a column with no header after the household number, so its cell looks merged over two
    (["户编号", None, "户主", "经度", "纬度"], ["H1", "组", "张三", "109°10'12\"", "27°21'"]),
    (["户编号", None, "户主", "经度", "纬度"], ["H1", "经度", "张三", "109.17", "27.35"]),
    # words the imports know, in columns without a header
    (["户编号", "户主", "经度", "纬度", None, None], ["H1", "张三", "109.17", "27.35", "户主", "党员"]),
    # a household without a number (geogrid partition needs none) under a 坐标 group
    (["户主", "坐标", None, "备注"], ["张三", "109.17", "27.35", "经度纬度"]),
    # a person's row of words the imports know, in a column and the one without a header after it
    (["户编号", "姓名", "身份证号", "与户主关系", None], [None, None, None, "户主", "党员"]),
], ids=["text-cells", "headerless-column", "headerless-column-known-word", "known-words", "coordinates-group",
        "known-words-under-a-known-name"])
def test_a_household_under_the_header_is_not_taken_for_a_sub_header(tmp_path, fmt, header, first):
    second = ["H9" if c == "H1" else c for c in first]
    path = _file(tmp_path, fmt, [["新晃县长乐村住户名单"], header, first, second])
    raw = read_table(path)
    names = [h if h is not None else f"Unnamed: {j}" for j, h in enumerate(header)]
    assert list(raw.columns) == [*names, "_row"]
    assert raw["_row"].tolist() == [3, 4]
    assert [str(v) for v in raw.iloc[0, :-1]] == [str(v) if v is not None else "" for v in first]
    assert read_notes(raw) == []


def test_a_group_row_without_its_sub_row_keeps_the_household_under_it(tmp_path):
    """坐标 merged over two columns and no sub-row: the first household is data, read (坐标
    is a 经纬度 column) and rejected with its reason, as before."""
    rows = [["户编号", "户主", "坐标", None], ["H1", "张三", "109.17", "27.35"]]
    path = _csv(tmp_path / "t.csv", rows)
    raw = read_table(path)
    assert list(raw.columns) == ["户编号", "户主", "坐标", "Unnamed: 3", "_row"] and raw["_row"].tolist() == [2]
    batch = load_households(path)
    assert batch.rejects["_row"].tolist() == [2] and batch.rejects["reason"][0] == "坐标: latitude is empty"


def test_a_subtitle_over_the_header_is_not_a_group_row(tmp_path):
    """填报单位 | 填报日期 above the header: cells over columns, but the header is one row."""
    rows = [["填报单位：长乐村", None, "填报日期：2026-11-01", None], ["户号", "户主", "经度", "纬度"],
            ["H1", "张三", 109.2, 27.36]]
    raw = read_table(_xlsx(tmp_path / "t.xlsx", rows, ("A1:B1", "C1:D1")))
    assert list(raw.columns) == ["户号", "户主", "经度", "纬度", "_row"] and raw["_row"].tolist() == [3]
    assert read_notes(raw) == []
