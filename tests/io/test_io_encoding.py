import codecs

import pytest

from geogrid.errors import EncodingError, FileFormatError
from geogrid.io import detect_encoding, load_households, read_table

TEXT = "户号,户主,地址,经度,纬度\nH001,张三,新晃县晃州镇,109.2,27.36\nH002,杨秀英,扶罗镇,109.21,27.37\n"


@pytest.mark.parametrize(
    "encoding,expected",
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("gbk", "gb18030"), ("gb18030", "gb18030")],
)
def test_detect(encoding, expected):
    assert detect_encoding(TEXT.encode(encoding)) == expected


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_households_csv_each_encoding(tmp_path, encoding):
    path = tmp_path / f"h-{encoding}.csv"
    path.write_bytes(TEXT.encode(encoding))
    batch = load_households(path)
    assert batch.ok, batch.problems
    assert batch.valid["head_name"].tolist() == ["张三", "杨秀英"]
    assert batch.valid["address"].tolist()[0] == "新晃县晃州镇"
    assert list(read_table(path).columns)[0] == "户号"  # no BOM left in the first header


def test_gb18030_character_outside_gbk(tmp_path):
    text = "户号,户主,经度,纬度\nH001,王𠮷,109.2,27.36\nH002,李䶮,109.21,27.37\n"
    with pytest.raises(UnicodeEncodeError):
        text.encode("gbk")
    path = tmp_path / "gb18030.csv"
    path.write_bytes(text.encode("gb18030"))
    assert detect_encoding(path.read_bytes()) == "gb18030"
    batch = load_households(path)
    assert batch.valid["head_name"].tolist() == ["王𠮷", "李䶮"]


def test_explicit_gbk_encoding_reads_gb18030_superset(tmp_path):
    path = tmp_path / "x.csv"
    path.write_bytes("户号,户主,经度,纬度\nH001,王𠮷,109.2,27.36\n".encode("gb18030"))
    assert read_table(path, encoding="gbk")["户主"].tolist() == ["王𠮷"]


def test_undecodable_file_names_the_file(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_bytes(b"a,b\n\x80\x80,\xff\n")
    with pytest.raises(EncodingError, match="broken.csv.*UTF-8"):
        read_table(path)


def test_latin1_text_is_not_mistaken_for_chinese(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("name,city\nJosé,Café Crème à Zürich\n".encode("cp1252"))
    with pytest.raises(EncodingError, match="latin.csv"):
        read_table(path)


def test_bom_with_bad_bytes(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(codecs.BOM_UTF8 + "户号\n".encode() + b"\xff\n")
    with pytest.raises(EncodingError, match="bom.csv"):
        read_table(path)


def test_empty_csv(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_bytes(b"")
    with pytest.raises(FileFormatError, match="empty.csv.*empty"):
        read_table(path)


def test_a_utf8_file_named_gbk_is_refused_not_garbled(tmp_path):
    """``--encoding gbk`` on a file saved as UTF-8 (a county office that passes gbk for
    every file): GB18030 decodes most UTF-8 Chinese without an error, into other
    characters, and the register was imported with 张三 as 寮犱笁 when its headers were
    English.  Such a file is refused, saying it is UTF-8; a GBK file named gbk, and a
    UTF-8 file named utf-8 or left to detection, read as before."""
    text = "household_no,head_name,lon,lat\nH1,张三,109.20,27.35\nH2,李四,109.21,27.36\n"
    path = tmp_path / "h.csv"
    path.write_bytes(text.encode("utf-8"))
    assert text.encode("utf-8").decode("gb18030")  # no error: the garbling is silent
    for named in ("gbk", "GB18030", "cp936"):
        with pytest.raises(EncodingError) as err:
            load_households(path, encoding=named)
        assert f"--encoding {named} was given, but the file is UTF-8" in str(err.value)
        assert "'张三' would read '寮犱笁'" in str(err.value) and "leave --encoding out" in str(err.value)
    for named in (None, "utf-8"):
        assert load_households(path, encoding=named).valid["head_name"].tolist() == ["张三", "李四"]
    path.write_bytes(text.encode("gbk"))
    assert load_households(path, encoding="gbk").valid["head_name"].tolist() == ["张三", "李四"]
