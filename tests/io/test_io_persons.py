"""Validation of persons: ID numbers, dates, phones, party membership, tags."""

import datetime as dt

import openpyxl
import pytest

from geogrid.errors import ColumnError
from geogrid.idnumber import check_character
from geogrid.idnumber import make_id_number
from geogrid.io import load_persons, read_table, write_rejects
from geogrid.io.validate import parse_id

TODAY = dt.date(2024, 6, 1)
HEAD = "户号,姓名,身份证号\n"


def load(tmp_path, body, head=HEAD, **kw):
    path = tmp_path / "persons.csv"
    path.write_text(head + body, encoding="utf-8")
    return load_persons(path, today=TODAY, **kw)


def reasons(batch):
    return dict(zip(batch.rejects["_row"], batch.rejects["reason"]))


def test_gender_and_birth_date_from_id(tmp_path, ids):
    batch = load(tmp_path, f"H1,张三,{ids[0]}\nH1,李四,{ids[1].lower()}\n")
    v = batch.valid
    assert v["gender"].tolist() == ["M", "F"]
    assert v["birth_date"].tolist() == [dt.date(1990, 1, 2), dt.date(1985, 5, 6)]
    assert v["id_number"].tolist() == [ids[0], ids[1]]


def test_bad_id_numbers(tmp_path, ids):
    wrong_check = ids[0][:17] + ("0" if ids[0][17] != "0" else "1")
    future = "431227" + "20300101" + "001"
    future += check_character(future)
    impossible = "431227" + "19900231" + "001"
    impossible += check_character(impossible)
    body = (f"H1,a,{wrong_check}\nH1,b,{future}\nH1,c,{impossible}\nH1,d,4.31227199001011e+17\n"
            f"H1,e,{ids[0][:15]}\nH1,f,\nH1,g,{ids[2]}.0\n")
    r = reasons(load(tmp_path, body))
    assert r[2].startswith("身份证号: ID number check digit is")
    assert r[3] == "身份证号: ID number has a birth date in the future (2030-01-01)"
    assert r[4] == "身份证号: ID number has an impossible birth date 19900231"
    assert "scientific notation (Excel" in r[5]
    assert "15 digits (first generation) has an impossible birth date 19199001" in r[6]
    assert "18-digit number with digits missing" in r[6]
    assert r[7] == "身份证号: ID number is empty"
    assert 8 not in r  # "431227...X.0" keeps all 18 digits: recovered


def test_xlsx_id_numbers_as_numbers(tmp_path, ids):
    digits = next(i for i in ids if i[-1] != "X")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["户号", "姓名", "身份证号码"])
    ws.append(["H1", "甲", float(digits)])  # what Excel does: 4.31227199001021E+17
    ws.append(["H2", "丁", ids[1]])  # a text cell
    wb.save(tmp_path / "p.xlsx")
    batch = load_persons(tmp_path / "p.xlsx", today=TODAY)
    r = reasons(batch)
    assert "Excel turned it into a float" in r[2]
    assert batch.valid["id_number"].tolist() == [ids[1]]


def test_integer_id_numbers(ids):
    digits = next(i for i in ids if i[-1] != "X")
    assert parse_id(int(digits), today=TODAY).value == digits  # all 18 digits survived
    with pytest.raises(ValueError, match="Excel keeps only 15 digits"):
        parse_id(int(digits[:15] + "000"), today=TODAY)


def test_duplicate_id_numbers_reject_all_copies(tmp_path, ids):
    batch = load(tmp_path, f"H1,a,{ids[0]}\nH2,b,{ids[1]}\nH3,c,{ids[0].lower()}\n")
    r = reasons(batch)
    assert r == {2: "身份证号: ID number is duplicated: it also appears in row 4",
                 4: "身份证号: ID number is duplicated: it also appears in row 2"}


@pytest.mark.parametrize("value", ["1990-01-02", "1990/1/2", "19900102", "1990年1月2日", "1990.1.2",
                                   "1990-01-02 00:00:00", "32875", "1990-01", "1990年1月", "199001"])
def test_birth_date_formats_consistent_with_id(tmp_path, ids, value):
    batch = load(tmp_path, f"H1,a,{ids[0]},{value}\n", head="户号,姓名,身份证号,出生日期\n")
    assert batch.ok, batch.problems
    assert batch.valid["birth_date"][0] == dt.date(1990, 1, 2)


def test_birth_date_from_excel_cell(tmp_path, ids):
    wb = openpyxl.Workbook()
    wb.active.append(["户号", "姓名", "身份证号", "出生年月"])
    wb.active.append(["H1", "a", ids[0], dt.datetime(1990, 1, 2)])
    wb.active.append(["H1", "b", ids[1], 31173])  # Excel serial of 1985-05-06
    wb.save(tmp_path / "d.xlsx")
    assert load_persons(tmp_path / "d.xlsx", today=TODAY).ok


def test_birth_date_inconsistent_or_bad(tmp_path, ids):
    body = f"H1,a,{ids[0]},1990-01-03\nH1,b,{ids[1]},1985-13-01\nH1,c,{ids[2]},1950-11\nH1,d,{ids[0][:-1]}x,yesterday\n"
    r = reasons(load(tmp_path, body, head="户号,姓名,身份证号,出生日期\n"))
    assert r[2] == "出生日期: birth date 1990-01-03 does not match the ID number (1990-01-02)"
    assert r[3] == "出生日期: date '1985-13-01' does not exist"
    assert r[4] == "出生日期: birth date 1950-11 does not match the ID number (1950-12-31)"
    assert "出生日期: date 'yesterday' is not a date" in r[5]


def test_gender(tmp_path, ids):
    woman = make_id_number("431227", dt.date(2001, 3, 4), 8, "F")
    body = f"H1,a,{ids[0]},男\nH1,b,{ids[1]},female\nH1,c,{ids[2]},\nH1,d,{woman},男\nH2,e,431227199001020000,X\n"
    batch = load(tmp_path, body, head="户号,姓名,身份证号,性别\n")
    r = reasons(batch)
    assert batch.valid["gender"].tolist() == ["M", "F", "M"]
    assert r[5] == "性别: gender '男' does not match the ID number, which is that of a 女 (female)"
    assert "性别: gender 'X' is not one of" in r[6]


@pytest.mark.parametrize(
    "raw,expected",
    [("13812345678", "13812345678"), ("138 1234 5678", "13812345678"), ("+86 138-1234-5678", "13812345678"),
     ("0086 13812345678", "13812345678"), ("8613812345678", "13812345678"), ("0745-6221234", "07456221234"),
     ("(0745)6221234", "07456221234"), ("010-62212345", "01062212345"), ("", None), ("１３８１２３４５６７８", "13812345678")],
)
def test_phone_normalised(tmp_path, ids, raw, expected):
    batch = load(tmp_path, f"H1,a,{ids[0]},{raw}\n", head="户号,姓名,身份证号,联系电话\n")
    assert batch.ok, batch.problems
    assert batch.valid["phone"][0] == expected


@pytest.mark.parametrize(
    "raw,text",
    [("1381234567", "not an 11-digit mobile"), ("12812345678", "not an 11-digit mobile"),
     ("6221234", "neither a mobile"), ("0745-62", "not a landline"), ("138abc45678", "other than digits"),
     ("13812345678;13912345678", "several numbers")],
)
def test_phone_malformed(tmp_path, ids, raw, text):
    r = reasons(load(tmp_path, f"H1,a,{ids[0]},{raw}\n", head="户号,姓名,身份证号,手机号\n"))
    assert r[2].startswith("手机号: phone ") and text in r[2]


def test_party_member_and_tags(tmp_path, ids):
    head = "户号,姓名,身份证号,政治面貌,人员标签\n"
    body = (f"H1,a,{ids[0]},中共党员,留守儿童、残疾人\nH1,b,{ids[1]},群众,\"独居老人; away_for_work\"\n"
            f"H1,c,{ids[2]},,\nH2,d,431227199001020000,也许,贫困户\n")
    batch = load(tmp_path, body, head=head)
    assert batch.valid["party_member"].tolist() == [True, False, None]
    assert batch.valid["tags"].tolist() == ["disabled;left_behind_child", "elderly_alone;away_for_work", ""]
    r = reasons(batch)[5]
    assert "政治面貌: party member '也许' is not one of" in r
    assert "人员标签: unknown tag '贫困户'" in r


@pytest.mark.parametrize("value,expected", [("是", True), ("否", False), ("Y", True), ("n", False), ("true", True),
                                            ("FALSE", False), ("1", True), ("0", False), ("党员", True)])
def test_party_member_words(tmp_path, ids, value, expected):
    batch = load(tmp_path, f"H1,a,{ids[0]},{value}\n", head="户号,姓名,身份证号,是否党员\n")
    assert batch.valid["party_member"][0] is expected


def test_name_and_household_required(tmp_path, ids):
    r = reasons(load(tmp_path, f",a,{ids[0]}\nH1, ,{ids[1]}\n"))
    assert r == {2: "户号: household number is empty", 3: "姓名: name is empty"}


def test_header_synonyms(tmp_path, ids):
    head = "户编号,姓名,公民身份号码,性别,出生年月,电话,与户主关系,党员,标签\n"
    batch = load(tmp_path, f"H1,张三,{ids[0]},男,1990-01,13812345678,户主,否,外出务工\n", head=head)
    row = batch.valid.iloc[0]
    assert (row.relation, row.party_member, row.tags, row.phone) == ("户主", False, "away_for_work", "13812345678")


def test_id_column_required(tmp_path):
    with pytest.raises(ColumnError, match="persons.csv.*id_number"):
        load(tmp_path, "H1,张三\n", head="户号,姓名\n")


def test_rejects_file_keeps_original_xlsx_values(tmp_path, ids):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["户号", "姓名", "身份证号", "出生日期", "备注"])
    ws.append(["007", "甲", 431227199001011234.0, dt.datetime(1990, 1, 1), "=HYPERLINK(\"x\")"])
    ws["E2"].data_type = "s"  # text that looks like a formula, as a register may hold
    ws.append(["008", "乙", ids[1], None, None])
    wb.save(tmp_path / "in.xlsx")
    batch = load_persons(tmp_path / "in.xlsx", today=TODAY)
    out = write_rejects(batch, tmp_path / "rejects")
    assert out.suffix == ".xlsx"
    ws = openpyxl.load_workbook(out).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("户号", "姓名", "身份证号", "出生日期", "备注", "_row", "reason")
    as_read = read_table(tmp_path / "in.xlsx")["身份证号"][0]
    assert isinstance(as_read, float)
    assert rows[1][:4] == ("007", "甲", as_read, dt.datetime(1990, 1, 1))
    assert rows[1][4] == "'=HYPERLINK(\"x\")"  # escaped, not a formula
    assert ws["E2"].data_type == "s"
    assert rows[1][5] == 2 and "Excel turned it into a float" in rows[1][6]
    assert len(rows) == 2


def test_rejects_file_keeps_original_csv_text(tmp_path, ids):
    path = tmp_path / "p.csv"
    path.write_bytes(f"户号,姓名,身份证号,联系电话\n 007 ,甲,{ids[0]},138-1234-567\n008,乙,{ids[1]},\n".encode("gbk"))
    batch = load_persons(path, today=TODAY)
    out = write_rejects(batch, tmp_path / "rejects.csv")
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")
    back = read_table(out)
    assert back["户号"].tolist() == [" 007 "]
    assert back["联系电话"].tolist() == ["138-1234-567"]
    assert back["reason"][0].startswith("联系电话: phone '138-1234-567'")


def _first_generation(number: str) -> str:
    return number[:6] + number[8:17]


def test_first_generation_id_numbers_are_converted_and_counted(tmp_path, ids):
    """15-digit ID numbers were rejected; they are stored as their 18-digit numbers and the
    batch says how many, in which rows."""
    old = _first_generation(ids[2])  # a man born 1950-12-31
    batch = load(tmp_path, f"H1,甲,{ids[0]}\nH1,乙,{old}\nH2,丙,{_first_generation(ids[1])}\n",
                 head="户号,姓名,身份证号\n")
    assert batch.ok
    assert batch.valid["id_number"].tolist() == list(ids[:3][:1]) + [ids[2], ids[1]]
    assert batch.valid["birth_date"].tolist()[1:] == [dt.date(1950, 12, 31), dt.date(1985, 5, 6)]
    assert batch.valid["gender"].tolist()[1:] == ["M", "F"]
    assert batch.note_lines()[1:] == [  # after the note that the file has no 是否党员 column
        "身份证号, 2 rows (3, 4): a first-generation ID number of 15 digits, stored as its 18-digit "
        "number (GB 11643: 19 before the birth year, a check character after)"]


def test_a_first_generation_number_and_its_18_digit_number_are_one_person(tmp_path, ids):
    batch = load(tmp_path, f"H1,甲,{ids[2]}\nH1,甲,{_first_generation(ids[2])}\n")
    assert reasons(batch) == {2: "身份证号: ID number is duplicated: it also appears in row 3",
                              3: "身份证号: ID number is duplicated: it also appears in row 2"}
    assert not [line for line in batch.note_lines() if "first-generation" in line]  # rows written only


def test_a_first_generation_number_in_an_xlsx_number_cell_is_converted(tmp_path, ids):
    """A 15-digit number fits in an Excel number exactly: openpyxl reads it as an int."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["户号", "姓名", "身份证号码"])
    ws.append(["H1", "甲", int(_first_generation(ids[2]))])
    wb.save(tmp_path / "p.xlsx")
    batch = load_persons(tmp_path / "p.xlsx", today=TODAY)
    assert batch.ok and batch.valid["id_number"].tolist() == [ids[2]]
    assert batch.note_lines()[1].startswith("身份证号码, 1 row (2): a first-generation ID number")


def test_empty_party_member_cells_and_a_missing_column_are_noted(tmp_path, ids):
    """An empty 是否党员 cell was stored as 'not a party member' with no word said."""
    batch = load(tmp_path, f"H1,a,{ids[0]},是\nH1,b,{ids[1]},\nH1,c,{ids[2]},\n", head="户号,姓名,身份证号,是否党员\n")
    assert batch.valid["party_member"].tolist() == [True, None, None]
    assert batch.note_lines() == [
        "是否党员, 2 rows (3, 4): empty; a new person is stored as not a party member and a registered one "
        "keeps what is stored (write 是 or 否 to say)"]
    batch = load(tmp_path, f"H1,a,{ids[0]}\n")
    assert batch.note_lines() == [
        "是否党员: the file has no such column; new persons are stored as not party members and registered "
        "ones keep what is stored"]


def test_the_files_own_columns_come_through_as_load_households_carries_them(tmp_path, ids):
    """Before: load_persons dropped a register's other columns (备注, 职业), which
    load_households keeps: an analyst had to join them back from read_table by _row.
    They come through now after _row, as read, by load_households' rule: a header
    ``columns`` ignores, one named as a column of geogrid's, or another person's name or
    phone (户主身份证号, 紧急联系人电话) is left out with a note, and a phone typed in 备注 is
    masked; extra_columns=False leaves them all out."""
    head = "户号,姓名,身份证号,备注,职业,户主身份证号,紧急联系人电话,tags\n"
    body = (f"H1,张三,{ids[0]},本人电话13812345678,务农,{ids[1]},13912345678,\n"
            f"H2,李四,bad,低保,外出务工,,,\n"
            f"H3,王五,{ids[2]},,教师,,,\n")
    batch = load(tmp_path, body, head=head, columns={"tags": None})
    valid = batch.valid
    assert list(valid.columns) == ["household_no", "name", "gender", "birth_date", "id_number", "phone", "relation",
                                   "party_member", "tags", "_row", "备注", "职业"]
    assert valid["household_no"].tolist() == ["H1", "H3"]  # H2 rejected: its 备注 with it
    assert valid["职业"].tolist() == ["务农", "教师"]
    assert valid["备注"].tolist() == ["本人电话138****5678", ""]
    assert ids[1] not in valid.astype(str).to_string() and "13912345678" not in valid.astype(str).to_string()
    lines = batch.note_lines()
    assert any(line.startswith("户主身份证号: not carried") for line in lines)
    assert any(line.startswith("紧急联系人电话: not carried") for line in lines)
    assert any(line.startswith("备注, 1 row (2)") for line in lines), lines
    assert list(load(tmp_path, body, head=head, extra_columns=False).valid.columns)[-1] == "_row"


def test_an_id_number_excel_rounded_rejects_its_row_saying_how_to_mend_the_file(tmp_path):
    """Before: 431227199001011000, an 18-digit number written out after Excel kept 15 of
    its digits (the column was typed as numbers, then saved as CSV), was rejected as 'a
    digit was mistyped, expected 4', which a cadre mended by changing the last digit; and
    one with '.0' after it (all 18 digits kept) was stored with no word said.  The row is
    rejected, as a bad phone or birth date rejects it, naming the row and the reason in
    English and Chinese with the fix; the '.0' row is stored and noted."""
    number = next(n for n in (make_id_number("431227", dt.date(1990, 1, 1), s, "M") for s in range(1, 99))
                  if check_character(n[:15] + "00") != "0")
    rounded = number[:15] + "000"
    other = make_id_number("431227", dt.date(1985, 5, 6), 3, "F")
    mistyped = number[:17] + ("1" if number[17] != "1" else "2")
    batch = load(tmp_path, f"H1,甲,{rounded}\nH1,乙,{rounded}.0\nH1,丙,{other}.0\nH1,丁,{mistyped}\n")
    r = reasons(batch)
    assert sorted(r) == [2, 3, 5]
    for row in (2, 3):
        assert r[row].startswith("身份证号: ID number ends in 000 and its check character is wrong")
        assert "format the column as text in Excel" in r[row] and "设为文本格式" in r[row]
    assert "a digit was mistyped" in r[5] and "有数字录错" in r[5]
    assert batch.valid["id_number"].tolist() == [other]
    assert [line for line in batch.note_lines() if "'.0'" in line] == [
        "身份证号, 1 row (4): an ID number with '.0' after it, as a number is written: stored without it, its "
        "check character being right; format the column as text so that Excel keeps every digit "
        "/ 身份证号后带 .0（被当成了数字）：校验码正确，已去掉 .0 保存；请把该列设为文本格式，以免 Excel 丢失数字"]
    error = str(batch.error())
    assert "row 2, column 身份证号: ID number ends in 000" in error and "nothing was written" in error
    assert number not in error and rounded not in error
