"""Hidden rows and columns of an XLSX sheet: cadres hide a household moved out, or filter
rows out, and hide a column of notes. They were read without a word, so a register was
imported otherwise than it looked. Hiding is not deleting: they are still read, and a note
under the import's summary names the hidden rows (the sheet's numbers) and columns."""

from __future__ import annotations

import openpyxl

from geogrid.cli import main
from geogrid.io import load_households, read_table
from geogrid.io.formats import read_notes

VILLAGE = "431227100201"


def _register(path, hidden_rows=(), hidden_columns=(), filtered=()):
    """A title, a header on row 2 and households H1..H6 on rows 3..8, a totals row on row 9."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "户籍"
    ws.append(["新晃县长乐村住户名单"])
    ws.append(["户编号", "户主", "经度", "纬度", "村代码", "备注"])
    for i in range(6):
        ws.append([f"H{i + 1}", f"户主{i}", 109.17 + 0.001 * i, 27.35, VILLAGE, "迁出" if i == 2 else None])
    ws.append(["合计", "6户", None, None, None, None])
    for r in hidden_rows:
        ws.row_dimensions[r].hidden = True
    if filtered:  # a filter on 备注, as Excel saves it: the rows it leaves out hidden
        ws.auto_filter.ref = "A2:F8"
        for r in filtered:
            ws.row_dimensions[r].hidden = True
    for c in hidden_columns:
        ws.column_dimensions[c].hidden = True
    wb.save(path)
    return path


def test_hidden_rows_are_read_and_named_in_a_note(tmp_path):
    path = _register(tmp_path / "t.xlsx", hidden_rows=(1, 5, 9), filtered=(7,))
    raw = read_table(path)
    assert raw["_row"].tolist() == [3, 4, 5, 6, 7, 8]
    batch = load_households(path)
    assert batch.ok and batch.valid["household_no"].tolist() == ["H1", "H2", "H3", "H4", "H5", "H6"]
    # rows 5 and 7 are records; the title (row 1) and the totals row (row 9) are none
    assert ("rows 5 and 7 of sheet '户籍' are hidden (by hand or by a filter) and were read as the others: "
            "hiding a row does not delete it; delete the rows that are no records, or unhide them to check "
            "them") in batch.note_lines()


def test_a_hidden_column_is_read_and_named_in_a_note(tmp_path):
    path = _register(tmp_path / "t.xlsx", hidden_columns=("F",))
    raw = read_table(path)
    assert raw["备注"].tolist()[2] == "迁出"
    assert read_notes(raw)[-1] == ("column F (备注) of sheet '户籍' is hidden and was read as the others; "
                                   "unhide it to check it")


def test_a_sheet_with_nothing_hidden_has_no_such_note(tmp_path):
    assert not any("hidden" in n for n in read_notes(read_table(_register(tmp_path / "t.xlsx"))))


def test_the_partition_command_says_which_rows_were_hidden(tmp_path, capsys):
    path = _register(tmp_path / "t.xlsx", hidden_rows=(4,))
    code = main(["partition", "--quiet", "--households", str(path), "--out", str(tmp_path / "plan.gpkg")])
    err = " ".join(capsys.readouterr().err.split())
    assert code == 0, err
    assert f"note: {path}: row 4 of sheet '户籍' is hidden (by hand or by a filter) and was read as the others" in err


def test_a_hidden_sheet_read_as_the_register_is_named(tmp_path):
    """A workbook whose only table is on a hidden sheet (the cadre sees the instructions
    sheet in Excel) was read without a word that the sheet read was hidden."""
    wb = openpyxl.Workbook()
    wb.active.title = "填表说明"
    wb.active.append(["请按村填写"])
    ws = wb.create_sheet("户籍")
    ws.append(["户编号", "户主", "经度", "纬度", "村代码"])
    ws.append(["H1", "户主", 109.17, 27.35, VILLAGE])
    ws.sheet_state = "hidden"
    wb.save(tmp_path / "t.xlsx")
    batch = load_households(tmp_path / "t.xlsx")
    assert batch.ok and batch.valid["household_no"].tolist() == ["H1"]
    assert any(n.startswith("sheet '户籍' is hidden in the workbook and was read") for n in batch.note_lines())
    ws.sheet_state = "visible"
    wb.save(tmp_path / "t.xlsx")
    assert not any("hidden" in n for n in load_households(tmp_path / "t.xlsx").note_lines())
