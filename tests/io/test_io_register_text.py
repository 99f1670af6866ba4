"""An ID number or a phone number typed into the register's own free text (地址, 自然寨,
楼栋编号, 户主; 姓名, 与户主关系) was read as typed, and stored and shown so: the values were
screened in a file's other columns only (d0afbdd).  They are masked as the API masks them
now, with a note naming the column and the rows."""

import numpy as np
import pytest

from geogrid.io import load_households, load_persons
from geogrid.io.personalnumbers import _may_hold, mask_columns
from geogrid.personalnumbers import find_numbers
from tests.io.conftest import write_csv

HEAD = "户编号,户主,地址,经度,纬度,村代码,自然寨,楼栋编号\n"


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_a_number_in_an_address_hamlet_or_building_is_masked_and_noted(tmp_path, ids, encoding):
    body = ("H1,杨大山,晃州镇A村1号 户主电话13812345678,109.20,27.36,431227100201,上寨,431227100201-B0001\n"
            "H2,吴小河,晃州镇A村2号,109.21,27.36,431227100201,上寨,431227100201-B0002\n"
            f"H3,龙三,晃州镇A村3号,109.22,27.36,431227100201,身份证{ids[0]},431227100201-B0003\n"
            "H4,石四,晃州镇A村4号,109.23,27.36,431227100201,下寨,0745-6221234\n"
            "H5,龙五,晃州镇A村5号 电话13912345678,x,27.36,431227100201,下寨,\n")  # rejected: kept as read
    batch = load_households(write_csv(tmp_path / "hh.csv", HEAD + body, encoding))
    valid = batch.valid
    assert valid["address"].tolist() == ["晃州镇A村1号 户主电话138****5678", "晃州镇A村2号", "晃州镇A村3号",
                                         "晃州镇A村4号"]
    assert valid["hamlet"].tolist() == ["上寨", "上寨", f"身份证{'*' * 14}{ids[0][-4:]}", "下寨"]
    assert valid["building"].tolist() == ["431227100201-B0001", "431227100201-B0002", "431227100201-B0003",
                                          "074*-***1234"]
    shown = valid.drop(columns="geometry").astype(str).to_string()
    assert "13812345678" not in shown and ids[0] not in shown and "6221234" not in shown
    lines = batch.note_lines()
    assert any(line.startswith("地址, 1 row (2): a phone number in the text masked to its first three and last "
                               "four digits (138****5678), the rest kept: stored masked") for line in lines), lines
    assert any(line.startswith("自然寨, 1 row (4): an ID number in the text masked") for line in lines), lines
    assert any(line.startswith("楼栋编号, 1 row (5): a phone number") for line in lines), lines
    assert not any("13812345678" in line or ids[0] in line or "13912345678" in line for line in lines)
    assert batch.rejects["地址"].tolist() == ["晃州镇A村5号 电话13912345678"]  # the rejects keep what was typed


@pytest.mark.parametrize("encoding", ["gbk", "gb18030"])
def test_a_number_in_the_relation_or_the_name_of_a_person_is_masked_and_noted(tmp_path, ids, encoding):
    body = (f"H1,杨大山,{ids[0]},户主\n"
            f"H1,杨小红,{ids[1]},之女 母亲身份证{ids[2]}\n"
            f"H1,杨三 13812345678,{ids[2]},父亲\n")
    batch = load_persons(write_csv(tmp_path / "p.csv", "户编号,姓名,身份证号,与户主关系\n" + body, encoding))
    valid = batch.valid
    assert valid["relation"].tolist() == ["户主", f"之女 母亲身份证{'*' * 14}{ids[2][-4:]}", "父亲"]
    assert valid["name"].tolist() == ["杨大山", "杨小红", "杨三 138****5678"]
    assert valid["id_number"].tolist() == list(ids)  # the person's own column: as it was
    lines = batch.note_lines()
    assert any(line.startswith("与户主关系, 1 row (3): an ID number in the text masked to its last four "
                               "characters") for line in lines), lines
    assert any(line.startswith("姓名, 1 row (4): a phone number") for line in lines), lines


@pytest.mark.parametrize("text", [
    "13812345678", "电话１３８１２３４５６７８", "138-1234-5678", "138 1234 5678", "138.1234.5678", "+86 139-1234-5678",
    "tel:8613812345678", "86138 1234 5678", "座机(0745)6221234", "（0745） 6221234", "0745-6221234", "075512345678",
    "010 12345678", "老身份证431227900102123", "431227 19900101 1231", "431227-19900101-1231",
    "11010519491231002X", "１１０１０５１９４９１２３１００２Ｘ",
])
def test_the_quick_screen_never_passes_over_a_number(text):
    """What the one pass over a column passes over is never read again: each way of
    typing a number find_numbers knows must stop it."""
    assert find_numbers(text), text
    assert _may_hold(["梨屯路1号", text, "431227103001-B0001"]).tolist() == [1]


def test_the_quick_screen_passes_over_a_registers_usual_text():
    texts = ["431227103001-B0001", "晃州镇城中社区石坡街12号", "户主", "配偶", "2026-11-07", "人口 5", None]
    assert _may_hold([t or "" for t in texts]).tolist() == []
    rng = np.random.default_rng(0)
    building_keys = [f"4312271{rng.integers(0, 99999):05d}-B{n:04d}" for n in range(2000)]
    assert mask_columns({"building": building_keys}) == {}
