import subprocess
import sys

import pytest

from geogrid.errors import ColumnError
from geogrid.io import normalize_header, parse_columns_option, resolve_columns


@pytest.mark.parametrize(
    "header,canonical",
    [("户编号", "household_no"), ("户号", "household_no"), ("户籍编号", "household_no"), ("户主", "head_name"),
     ("户主姓名", "head_name"), ("地址", "address"), ("家庭住址", "address"), ("住址", "address"),
     ("经度", "lon"), ("lon", "lon"), ("LNG", "lon"), ("Longitude", "lon"), ("x", "lon"), ("经度（GCJ-02）", "lon"),
     ("纬度", "lat"), ("lat", "lat"), ("Latitude", "lat"), ("Y", "lat"), ("村代码", "village_code"),
     ("村", "village"), ("村名", "village"), ("村委会", "village"), ("楼栋", "building"), ("楼栋编号", "building"),
     ("自然寨", "hamlet"), ("组", "hamlet"), ("村民小组", "hamlet"), ("户类别", "care_level"),
     ("关爱等级", "care_level"), ("坐标系", "source_crs"), ("＊户　号", "household_no"), ("household_", "household_no")],
)
def test_household_synonyms(header, canonical):
    assert resolve_columns([header], "households") == {canonical: header}


@pytest.mark.parametrize(
    "header,canonical",
    [("姓名", "name"), ("身份证号", "id_number"), ("身份证号码", "id_number"), ("公民身份号码", "id_number"),
     ("性别", "gender"), ("出生日期", "birth_date"), ("出生年月", "birth_date"), ("联系电话", "phone"),
     ("手机号", "phone"), ("电话", "phone"), ("与户主关系", "relation"), ("是否党员", "party_member"),
     ("党员", "party_member"), ("人员标签", "tags"), ("标签", "tags"), ("户号", "household_no")],
)
def test_person_synonyms(header, canonical):
    assert resolve_columns([header], "persons") == {canonical: header}


def test_name_means_different_things_per_kind():
    assert resolve_columns(["名称", "代码"], "boundaries") == {"name": "名称", "code": "代码"}
    assert resolve_columns(["名称", "代码"], "households") == {}


def test_normalize_header():
    assert normalize_header(" * 经度（WGS84） ") == "经度"
    assert normalize_header("ID_Number") == "idnumber"


def test_parse_columns_option():
    assert parse_columns_option("户 号=household_no，X=lon; 备注=") == {"户 号": "household_no", "X": "lon", "备注": None}
    assert parse_columns_option(None) == {}
    with pytest.raises(ColumnError, match="HEADER=column"):
        parse_columns_option("户号")


def test_io_imports_no_database_or_web_code():
    code = ("import sys, geogrid.io; bad = [m for m in sys.modules if m.split('.')[0] in "
            "('sqlalchemy', 'fastapi', 'folium') or m.startswith(('geogrid.db', 'geogrid.api', 'geogrid.cli'))]; "
            "print(bad); sys.exit(bool(bad))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
