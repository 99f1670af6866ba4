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
