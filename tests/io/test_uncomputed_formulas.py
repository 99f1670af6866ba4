"""Formulas whose results a workbook does not keep.

A workbook written by a program (a registry system's export, a script) can hold
formulas without their results, which Excel and WPS compute when they open it: the
cadre sees 109.2 in the 经度 column, and the import read the cell as empty and
rejected the row for 'longitude is empty' (or, in 地址, stored nothing) without a word
of why.  A note now names the cells and says to open and save the file in Excel or WPS;
a formula whose result is kept (a file Excel saved) is read as before, with no note.
"""

from __future__ import annotations

import zipfile

import openpyxl

from geogrid.io import load_households


def _workbook(path, with_results: bool):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "住户"
    ws.append(["户编号", "户主", "地址", "经度", "纬度"])
    ws.append(["H1", "张三", "一组1号", "=109+0.2", 27.35])
    ws.append(["H2", "李四", '="一组"&"2号"', 109.21, 27.36])
    ws.append(["H3", "王五", "一组3号", 109.22, 27.37])
    wb.save(path)
    if with_results:  # what Excel writes: each formula with its result in <v>
        with zipfile.ZipFile(path) as z:
            parts = {n: z.read(n) for n in z.namelist()}
        sheet = parts["xl/worksheets/sheet1.xml"].decode()
        for before, after in (('<c r="D2"><f>109+0.2</f><v />', '<c r="D2"><f>109+0.2</f><v>109.2</v>'),
                              ('<c r="C3"><f>"一组"&amp;"2号"</f><v />',
                               '<c r="C3" t="str"><f>"一组"&amp;"2号"</f><v>一组2号</v>')):
            assert before in sheet
            sheet = sheet.replace(before, after)
        parts["xl/worksheets/sheet1.xml"] = sheet.encode()
        with zipfile.ZipFile(path, "w") as z:
            for n, data in parts.items():
                z.writestr(n, data)
    return path


def test_formulas_without_their_results_are_named_with_what_to_do(tmp_path):
    batch = load_households(_workbook(tmp_path / "export.xlsx", with_results=False))
    assert batch.problems == [(2, "经度", "longitude is empty")]
    assert batch.valid["household_no"].tolist() == ["H2", "H3"]
    assert batch.note_lines() == [
        "cells D2 and C3 of sheet '住户' hold formulas whose result the file does not keep (a workbook a "
        "program wrote, never saved by Excel or WPS) and were read as empty, though Excel shows a value: "
        "open the file in Excel or WPS, save it, and import it again"]


def test_formulas_with_their_results_are_read_as_before(tmp_path):
    batch = load_households(_workbook(tmp_path / "saved.xlsx", with_results=True))
    assert batch.ok and batch.note_lines() == []
    assert batch.valid["lon"].tolist()[0] == 109.2 and batch.valid["address"].tolist()[1] == "一组2号"
