"""A household or building number that Excel turned into a date.

Typed into a cell formatted as a number, ``1-2``, ``3/12`` or ``3:12`` (a household
numbered by group and house, a flat of building 3) becomes a date or a time; read as
text it was stored as ``2024-01-02T00:00:00``, a number nobody wrote, which a sheet
typed again the next year gives as another household.  Such a row is now rejected,
saying what Excel did and how to mend the sheet; the others are read as before.  A
persons file's 户编号 too: it was rejected as a household not in the register.
"""

from __future__ import annotations

import datetime as dt

import openpyxl

from geogrid.io import load_households


def test_a_number_excel_made_a_date_or_a_time_rejects_its_row(tmp_path):
    path = tmp_path / "村户表.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in (["户编号", "户主", "经度", "纬度", "楼栋编号"],
                [dt.datetime(2024, 1, 2), "张三", 109.17, 27.35, "B1"],
                ["H2", "李四", 109.171, 27.351, dt.datetime(2024, 3, 2)],
                ["H3", "王五", 109.172, 27.352, dt.time(3, 12)],
                ["H4", "赵六", 109.173, 27.353, "3-2"]):
        ws.append(row)
    wb.save(path)
    batch = load_households(path)
    assert batch.valid["household_no"].tolist() == ["H4"]
    assert batch.valid["building"].tolist() == ["3-2"]
    reasons = {(row, column): reason for row, column, reason in batch.problems}
    assert set(reasons) == {(2, "户编号"), (3, "楼栋编号"), (4, "楼栋编号")}
    assert reasons[2, "户编号"].startswith("household number is a date in the sheet (2024-01-02): Excel turned "
                                          "what was typed (such as 1-2, 3/12 or 3:12) into one; format the "
                                          "column as text")
    assert reasons[3, "楼栋编号"].startswith("building number is a date in the sheet (2024-03-02)")
    assert reasons[4, "楼栋编号"].startswith("building number is a time in the sheet (03:12)")
    assert batch.rejects["户编号"].tolist()[0] == dt.datetime(2024, 1, 2)  # untouched, as read


def test_a_household_number_excel_made_a_date_rejects_a_persons_row_as_such(tmp_path, ids):
    """load_persons read such a 户编号 as '2024-01-02T00:00:00', and the row was then
    rejected as a household not in the register, sending the cadre to the wrong file."""
    from geogrid.io import load_persons

    path = tmp_path / "人口表.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    for row in (["户编号", "姓名", "身份证号"],
                [dt.datetime(2024, 1, 2), "张三", ids[0]],
                [dt.time(3, 12), "李四", ids[1]],
                ["1-3", "王五", ids[2]]):
        ws.append(row)
    wb.save(path)
    batch = load_persons(path)
    assert batch.valid["household_no"].tolist() == ["1-3"]
    reasons = {(row, column): reason for row, column, reason in batch.problems}
    assert set(reasons) == {(2, "户编号"), (3, "户编号")}
    assert reasons[2, "户编号"].startswith("household number is a date in the sheet (2024-01-02): Excel turned "
                                          "what was typed (such as 1-2, 3/12 or 3:12) into one; format the "
                                          "column as text")
    assert reasons[3, "户编号"].startswith("household number is a time in the sheet (03:12)")
    assert batch.rejects["户编号"].tolist()[0] == dt.datetime(2024, 1, 2)  # untouched, as read
