"""ID and phone numbers typed into a register's other columns (备注, 联系人, ...) do not
come through ``load_households(...).valid`` in full: the check read only the headers, so a
phone in 备注 or a column of contacts under a harmless header passed unmasked."""

import openpyxl
import pytest

from geogrid.io import load_households
from tests.io.conftest import write_csv

HEAD = "户号,户主,经度,纬度,备注,人口\n"


def load(tmp_path, body, head=HEAD, encoding="utf-8", **kw):
    return load_households(write_csv(tmp_path / "hh.csv", head + body, encoding), **kw)


def everything(frame) -> str:
    return frame.drop(columns="geometry").astype(str).to_string()


@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_number_inside_a_note_is_masked_and_the_report_names_its_row_and_column(tmp_path, ids, encoding):
    man = ids[0]
    body = ("H1,张三,109.2,27.36,户主电话13812345678已核实,3\n"
            "H2,李四,109.21,27.36,低保,4\n"
            f"H3,王五,109.22,27.36,身份证{man}，座机0745-6221234,2\n"
            "H4,赵六,109.23,27.36,五保,1\n"
            f"H5,钱七,x,27.36,电话13812345678,1\n"  # rejected: its number stays in the rejects, as read
            "H6,孙八,109.24,27.36,残疾,1\n")
    batch = load(tmp_path, body, encoding=encoding)
    valid = batch.valid
    assert valid["备注"].tolist() == ["户主电话138****5678已核实", "低保",
                                    f"身份证{'*' * 14}{man[-4:]}，座机074*-***1234", "五保", "残疾"]
    assert valid["人口"].tolist() == ["3", "4", "2", "1", "1"]
    shown = everything(valid)
    for number in ("13812345678", man, "6221234"):
        assert number not in shown
    lines = batch.note_lines()
    assert any(line.startswith("备注, 1 row (2): a phone number in the text masked") for line in lines)
    assert any(line.startswith("备注, 1 row (4): an ID number and a phone number in the text masked")
               for line in lines)
    assert not any("13812345678" in line or man in line for line in lines)  # the report never holds them
    assert batch.rejects["备注"].tolist() == ["电话13812345678"]


def test_a_column_of_mostly_phone_numbers_under_a_harmless_header_is_left_out(tmp_path):
    head = "户号,经度,纬度,备用,人口\n"
    body = ("H1,109.2,27.36,张三 13812345678,3\n"
            "H2,109.21,27.36,138 1234 5679,4\n"
            "H3,109.22,27.36,已搬走,2\n"
            "H4,109.23,27.36,+86 139-1234-5678,1\n"
            "H5,109.24,27.36,,1\n")
    batch = load(tmp_path, body, head=head)
    assert "备用" not in batch.valid.columns and batch.valid["人口"].tolist() == ["3", "4", "2", "1", "1"]
    assert "1381234567" not in everything(batch.valid)
    (line,) = [line for line in batch.note_lines() if line.startswith("备用")]
    assert line.startswith("备用: not carried into the rows read: 3 of its 4 values hold phone numbers "
                           "(rows 2, 3, 5)")


def test_a_contact_column_of_names_alone_is_left_out_by_its_header(tmp_path):
    batch = load(tmp_path, "H1,109.2,27.36,张三,低保\n", head="户号,经度,纬度,紧急联系人,备注\n")
    assert "紧急联系人" not in batch.valid.columns and batch.valid["备注"].tolist() == ["低保"]
    assert any(line.startswith("紧急联系人: not carried") for line in batch.note_lines())


@pytest.mark.parametrize("note,masked", [
    ("电话１３８１２３４５６７８", "电话138****5678"),                 # full-width digits
    ("手机138-1234-5678。", "手机138-****-5678。"),                  # in groups
    ("tel:8613812345678", "tel:86138****5678"),
    ("座机(0745)6221234", "座机(074*)***1234"),                      # landline with its area code
    ("老身份证431227900102123", "老身份证***********2123"),           # first generation, 15 digits
    ("身份证431227 19900101 1231", "身份证**************1231"),       # in groups of 6, 8, 4
])
def test_numbers_as_people_type_them_are_masked(tmp_path, note, masked):
    body = f"H1,a,109.2,27.36,{note},1\nH2,b,109.21,27.36,低保,1\nH3,c,109.22,27.36,,1\nH4,d,109.23,27.36,五保,1\n"
    assert load(tmp_path, body).valid["备注"].tolist()[0] == masked


@pytest.mark.parametrize("note", [
    "身份证431227199001011232",   # 18 digits, check character wrong: not an ID number
    "2026-11-07 走访，人口 5，补助 1200.50 元",
    "编号 431227103001-0001",
    "电话 6221234",                 # no area code: cannot be told from a count
    "坐标 109.346039,27.189463",
    "银行卡 6222021234567890123",   # 19 digits: neither
])
def test_other_numbers_are_left_as_typed(tmp_path, note):
    batch = load(tmp_path, f"H1,a,109.2,27.36,\"{note}\",1\n")
    assert batch.valid["备注"].tolist() == [note] and batch.note_lines() == []


def test_an_excel_cell_holding_a_phone_as_a_number_is_masked(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["户号", "经度", "纬度", "备注", "人口"])
    ws.append(["H1", 109.2, 27.36, 13812345678, 3])
    for n, no in enumerate(("H2", "H3", "H4")):
        ws.append([no, 109.21 + n / 100, 27.36, "低保", 2])
    path = tmp_path / "hh.xlsx"
    wb.save(path)
    batch = load_households(path)
    assert batch.valid["备注"].tolist() == ["138****5678", "低保", "低保", "低保"]
    assert batch.valid["人口"].tolist() == [3, 2, 2, 2]
    assert any(line.startswith("备注, 1 row (2): a phone number") for line in batch.note_lines())
