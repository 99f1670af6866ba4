"""A county user's review of the importers, with the habits of government spreadsheets:
totals rows, several sheets, merged two-row headers, one 经纬度 column."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest

from geogrid.io import load_households, load_persons, read_table


HEADER = ["户编号", "户主", "经度", "纬度", "村代码"]
VILLAGE = "431227100201"


def _households(n, start=0):
    return [[f"H{i}", f"户主{i}", 109.17 + 0.001 * i, 27.35, VILLAGE] for i in range(start, start + n)]


def _xlsx(path, *sheets):
    """A workbook of ``(title, rows)`` sheets."""
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in sheets:
        ws = wb.create_sheet(title)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


# --- totals rows ---------------------------------------------------------------------------


@pytest.mark.parametrize("label", ["合计", "合  计", "总计：5户", "小计(3户)", "共计"])
def test_a_totals_row_is_no_household_and_the_import_says_it_left_it_out(tmp_path, label):
    """A 合计 row under the households (and a 小计 after each group) was read as a household
    and rejected for 'longitude is empty': the import failed whole on every register that
    sums itself up. It is now left out as a blank row is, and a note names it."""
    rows = [HEADER, *_households(3), [None] * 5, [label, "3户", None, None, None], *_households(2, 3),
            ["合计", None, None, None, None]]
    batch = load_households(_xlsx(tmp_path / "t.xlsx", ("户籍", rows)))
    assert batch.ok, batch.problems
    assert batch.valid["household_no"].tolist() == ["H0", "H1", "H2", "H3", "H4"]
    assert batch.valid["_row"].tolist() == [2, 3, 4, 7, 8]
    assert any("rows 6 and 9 are totals rows" in line and "left out" in line for line in batch.note_lines()), \
        batch.note_lines()


def test_a_csv_totals_row_is_left_out_with_a_note(tmp_path):
    text = "户编号,户主,经度,纬度,村代码\nH1,张三,109.17,27.35,431227100201\n,,,,\n总计,1户,,,\n"
    (tmp_path / "t.csv").write_bytes(text.encode("gb18030"))
    batch = load_households(tmp_path / "t.csv")
    assert batch.ok and len(batch.valid) == 1, batch.problems
    assert any("row 4 is a totals row (总计)" in line for line in batch.note_lines()), batch.note_lines()


def test_a_household_whose_cells_merely_mention_a_total_is_a_household(tmp_path):
    """Only a row that begins with the word is a totals row: a head named 合计 in the
    middle of a row, or an address 小计村, are data."""
    rows = [HEADER + ["地址"], ["H1", "合计", 109.17, 27.35, VILLAGE, "小计村"], ["H2", "张", 109.171, 27.35, VILLAGE, "x"]]
    batch = load_households(_xlsx(tmp_path / "t.xlsx", ("户籍", rows)))
    assert batch.ok and len(batch.valid) == 2 and batch.note_lines() == []


def test_a_persons_totals_row_is_left_out_too(tmp_path, ids):
    rows = [["户编号", "姓名", "身份证号"], ["H1", "张三", ids[0]], ["合计", "1人", None]]
    batch = load_persons(_xlsx(tmp_path / "p.xlsx", ("人口", rows)), today=dt.date(2024, 6, 1))
    assert batch.ok and len(batch.valid) == 1, batch.problems


def test_geogrid_partition_names_the_totals_rows_it_left_out(tmp_path, capsys):
    from geogrid.cli import main

    rows = [HEADER, *_households(3), ["合计", "3户", None, None, None]]
    path = _xlsx(tmp_path / "t.xlsx", ("户籍", rows))
    assert main(["partition", "--quiet", "--households", str(path), "--out", str(tmp_path / "p.gpkg")]) == 0
    err = capsys.readouterr().err
    assert f"note: {path}: row 5 is a totals row (合计), not a record: left out" in err
    assert "rejected" not in err


# --- several sheets ------------------------------------------------------------------------


def test_the_one_sheet_holding_a_register_is_read_and_named(tmp_path):
    """A 填表说明 sheet before the data (or Excel's empty Sheet2 after it): the first sheet was
    read, and the file failed with 'missing column' naming the instructions as its headers.
    The sheet whose rows hold the column names is read, and a note says which."""
    path = _xlsx(tmp_path / "t.xlsx", ("填表说明", [["填表说明：经纬度请用WGS84"], ["户编号必填"]]),
                 ("户籍", [HEADER, *_households(3)]), ("Sheet3", []))
    batch = load_households(path)
    assert batch.ok and len(batch.valid) == 3
    assert "read sheet '户籍' of 3 (填表说明, 户籍, Sheet3): the others hold no column an import knows" \
        in batch.note_lines()


def test_several_sheets_holding_registers_are_refused_not_read_one_silently(tmp_path):
    """一组 and 二组 each in a sheet: the first was read and the households of 二组 were left
    out without a word. Now the file is refused, naming the sheets and --layer."""
    from geogrid.errors import FileFormatError

    path = _xlsx(tmp_path / "t.xlsx", ("一组", [HEADER, *_households(2)]), ("二组", [HEADER, *_households(2, 2)]))
    with pytest.raises(FileFormatError, match=r"sheets 一组 and 二组 both hold a table.*--layer"):
        load_households(path)
    assert load_households(path, layer="二组").valid["household_no"].tolist() == ["H2", "H3"]
    assert load_households(path, layer=1).note_lines() == []


def test_geogrid_partition_reads_the_sheet_named_by_layer(tmp_path, capsys):
    from geogrid.cli import main

    path = _xlsx(tmp_path / "t.xlsx", ("一组", [HEADER, *_households(2)]), ("二组", [HEADER, *_households(3, 2)]))
    out = tmp_path / "p.gpkg"
    assert main(["partition", "--quiet", "--households", str(path), "--out", str(out)]) != 0
    assert "sheets 一组 and 二组 both hold a table" in capsys.readouterr().err
    assert main(["partition", "--quiet", "--households", str(path), "--layer", "二组", "--out", str(out)]) == 0
    import geopandas as gpd

    assert sorted(gpd.read_file(out, layer="households")["household_no"]) == ["H2", "H3", "H4"]


# --- one 经纬度 column ---------------------------------------------------------------------


def test_a_single_lonlat_column_is_split_into_longitude_and_latitude(tmp_path):
    """A 经纬度 column of '109.17,27.35' (a map picker's copy) failed the file with 'missing
    column lon'. It is read as longitude then latitude, separated by a comma (half or full
    width), a semicolon or spaces; a pair the wrong way round, one number or three are
    rejected with the reason, as separate columns would be."""
    text = ("户编号,户主,经纬度,村代码\n"
            'H1,张三,"109.17,27.35",431227100201\n'
            "H2,李四,１０９．１８，２７．３５,431227100201\n"
            "H3,王五,109.19 27.35,431227100201\n"
            "H4,赵六,E109°10'12\" N27°21',431227100201\n"
            'H5,钱七,"27.35,109.17",431227100201\n'
            "H6,孙八,109.17,431227100201\n"
            "H7,周九,,431227100201\n")
    (tmp_path / "t.csv").write_text(text, encoding="utf-8")
    batch = load_households(tmp_path / "t.csv")
    assert batch.valid["household_no"].tolist() == ["H1", "H2", "H3", "H4"]
    assert batch.valid["lon"].round(4).tolist() == [109.17, 109.18, 109.19, 109.17]
    assert batch.valid["lat"].round(4).tolist() == [27.35, 27.35, 27.35, 27.35]
    reasons: dict[int, str] = {}
    for row, col, why in batch.problems:
        reasons[row] = "; ".join(filter(None, [reasons.get(row), f"{col}: {why}"]))
    assert reasons[6] == "经纬度: longitude and latitude look swapped (longitude 27.35, latitude 109.17)"
    assert reasons[7] == "经纬度: latitude is empty"
    assert reasons[8] == "经纬度: longitude is empty; 经纬度: latitude is empty"
    assert sorted(reasons) == [6, 7, 8]


def test_separate_longitude_and_latitude_columns_win_over_a_lonlat_column(tmp_path):
    text = "户编号,经度,纬度,经纬度\nH1,109.17,27.35,备注\n"
    (tmp_path / "t.csv").write_text(text, encoding="utf-8")
    batch = load_households(tmp_path / "t.csv")
    assert batch.ok and batch.valid["lon"].tolist() == [109.17]
