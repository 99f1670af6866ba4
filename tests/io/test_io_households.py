"""Validation of households: each bad-input case names its row, column and reason."""

import numpy as np
import pytest

from geogrid.crs import wgs84_to_bd09, wgs84_to_gcj02
from geogrid.errors import ColumnError, CRSError, ValidationError
from geogrid.io import load_households, parse_columns_option

HEAD = "户号,户主,经度,纬度,户类别\n"


def load(tmp_path, body, head=HEAD, **kw):
    path = tmp_path / "hh.csv"
    path.write_text(head + body, encoding="utf-8")
    return load_households(path, **kw)


def reasons(batch):
    return dict(zip(batch.rejects["_row"], batch.rejects["reason"]))


def test_every_row_valid_or_rejected(tmp_path):
    batch = load(tmp_path, "H1,a,109.2,27.36,\nH2,b,x,27.36,\nH3,c,109.2,27.36,紫\n")
    assert batch.n_rows == 3
    assert sorted(batch.valid["_row"].tolist() + batch.rejects["_row"].tolist()) == [2, 3, 4]


def test_missing_household_number(tmp_path):
    batch = load(tmp_path, "H1,a,109.2,27.36,\n  ,b,109.2,27.36,\n")
    assert reasons(batch) == {3: "户号: household number is empty"}


@pytest.mark.parametrize(
    "lon,lat,column,text",
    [
        ("abc", "27.36", "经度", "longitude 'abc' is not a number"),
        ("", "27.36", "经度", "longitude is empty"),
        ("109.2", "", "纬度", "latitude is empty"),
        ("190", "27.36", "经度", "longitude 190 is out of range"),
        ("-190", "-27.36", "经度", "longitude -190 is out of range"),
        ("80", "120", "经度/纬度", "look swapped"),  # |lat| > 90 and |lon| <= 90
        ("109.2", "95", "纬度", "latitude 95 is out of range"),
        ("27.36", "109.2", "经度/纬度", "longitude and latitude look swapped"),
        ("45", "100", "经度/纬度", "look swapped"),
        ("39.47", "75.99", "经度/纬度", "look swapped"),  # Kashgar swapped: both in range, but China is not there
        ("0", "0", "经度/纬度", "0, 0"),
        ("nan", "27.3", "经度", "not a finite number"),
    ],
)
def test_bad_coordinates(tmp_path, lon, lat, column, text):
    batch = load(tmp_path, f"H1,a,109.2,27.36,\nH2,b,{lon},{lat},\n")
    reason = reasons(batch)[3]
    assert reason.startswith(f"{column}: ")
    assert text in reason
    assert batch.valid["household_no"].tolist() == ["H1"]


def test_latitude_out_of_range_not_swapped(tmp_path):
    batch = load(tmp_path, "H1,a,150,95,\n")
    assert reasons(batch) == {2: "纬度: latitude 95 is out of range -90..90"}


def test_duplicates_reject_all_copies_naming_the_others(tmp_path):
    batch = load(tmp_path, "H1,a,109.2,27.36,\nH2,b,109.2,27.36,\nH1,c,109.2,27.36,\nH1,d,109.2,27.36,\n")
    r = reasons(batch)
    assert batch.valid["household_no"].tolist() == ["H2"]
    assert r[2] == "户号: household number 'H1' is duplicated: it also appears in row 4, 5"
    assert r[4].endswith("row 2, 5") and r[5].endswith("row 2, 4")


def test_care_levels(tmp_path):
    body = "".join(f"H{i},a,109.2,27.36,{v}\n" for i, v in enumerate(
        ["green", "YELLOW", "red", "放心户", "关心户", "连心户", "绿", "黄", "红", "", "紫"]))
    batch = load(tmp_path, body)
    assert batch.valid["care_level"].tolist() == (
        ["green", "yellow", "red"] * 3 + [None])
    assert reasons(batch) == {12: "户类别: care level '紫' is not one of green/yellow/red, 放心户/关心户/连心户 or 绿/黄/红"}


def test_several_reasons_joined(tmp_path):
    batch = load(tmp_path, ",a,abc,27.36,紫\n")
    assert reasons(batch)[2] == (
        "户号: household number is empty; 经度: longitude 'abc' is not a number; "
        "户类别: care level '紫' is not one of green/yellow/red, 放心户/关心户/连心户 or 绿/黄/红"
    )


def test_error_names_file_row_and_column(tmp_path):
    batch = load(tmp_path, "H1,a,abc,27.36,\n")
    with pytest.raises(ValidationError) as info:
        batch.raise_for_rejects()
    assert "hh.csv" in str(info.value) and "row 2, column 经度" in str(info.value)
    assert info.value.rejects == [(2, "经度", "longitude 'abc' is not a number")]


@pytest.mark.parametrize("crs,forward", [("gcj02", wgs84_to_gcj02), ("bd09", wgs84_to_bd09)])
def test_gcj02_and_bd09_land_on_the_wgs84_point(tmp_path, crs, forward):
    true_lon, true_lat = 109.1712345, 27.3598765
    lon, lat = forward(np.array([true_lon]), np.array([true_lat]))
    batch = load(tmp_path, f"H1,a,{lon[0]:.10f},{lat[0]:.10f},\n", crs=crs)
    v = batch.valid.iloc[0]
    assert abs(v.lon - true_lon) < 1e-7 and abs(v.lat - true_lat) < 1e-7  # ~1 cm
    assert v.geometry.x == v.lon and v.source_crs == crs
    assert abs(lon[0] - true_lon) > 1e-3  # the offset is real: hundreds of metres


def test_per_row_crs_column(tmp_path):
    lon, lat = wgs84_to_gcj02(np.array([109.2]), np.array([27.36]))
    batch = load(tmp_path, f"H1,a,109.2,27.36,wgs84\nH2,b,{float(lon[0])!r},{float(lat[0])!r},GCJ-02\nH3,c,109.2,27.36,mars2\n",
                 head="户号,户主,经度,纬度,坐标系\n")
    assert batch.valid["source_crs"].tolist() == ["wgs84", "gcj02"]
    assert np.allclose(batch.valid["lon"], 109.2, atol=1e-8)
    assert "坐标系: coordinate system 'mars2'" in reasons(batch)[4]


def test_arrived_crs_is_kept_but_never_converts(tmp_path):
    """原坐标系 (written by geogrid export) is stored as source_crs; the coordinates are
    what 坐标系 or --crs say, so an exported file is not shifted a second time."""
    batch = load(tmp_path, "H1,a,109.2,27.36,wgs84,gcj02\nH2,b,109.2,27.36,,bd09\nH3,c,109.2,27.36,wgs84,amapx\n",
                 head="户号,户主,经度,纬度,坐标系,原坐标系\n", crs="wgs84")
    assert batch.valid["source_crs"].tolist() == ["gcj02", "bd09"]
    assert batch.valid["lon"].tolist() == [109.2, 109.2] and batch.valid["lat"].tolist() == [27.36, 27.36]
    assert reasons(batch)[4] == "原坐标系: coordinate system 'amapx' is not one of wgs84, cgcs2000, gcj02, bd09"


def test_geojson_claiming_wgs84_but_gcj02(tmp_path):
    lon, lat = wgs84_to_gcj02(np.array([109.2]), np.array([27.36]))
    path = tmp_path / "h.geojson"
    path.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"户号":"H1"},'
                    f'"geometry":{{"type":"Point","coordinates":[{float(lon[0])!r},{float(lat[0])!r}]}}}}]}}', encoding="utf-8")
    v = load_households(path, crs="gcj02").valid
    assert abs(v.lon[0] - 109.2) < 1e-8 and v["_row"][0] == 1


def test_gcj02_on_projected_file_is_refused(tmp_path):
    import geopandas as gpd

    path = tmp_path / "p.gpkg"
    gpd.GeoDataFrame({"户号": ["H1"]}, geometry=gpd.points_from_xy([109.2], [27.36]), crs=4326).to_crs(32649).to_file(path)
    with pytest.raises(CRSError, match="p.gpkg.*projected"):
        load_households(path, crs="gcj02")


def test_non_point_geometry_rejected(tmp_path):
    path = tmp_path / "h.geojson"
    path.write_text('{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"户号":"H1"},'
                    '"geometry":{"type":"LineString","coordinates":[[109.2,27.3],[109.3,27.4]]}}]}', encoding="utf-8")
    assert reasons(load_households(path)) == {1: "geometry: geometry is a LineString, not a Point"}


def test_outside_county_outline(tmp_path, square):
    body = "H1,a,109.2,27.35,\nH2,b,109.2515,27.35,\nH3,c,109.30,27.35,\nH4,d,109.2,27.20,\n"
    batch = load(tmp_path, body, county_outline=square)
    r = reasons(batch)
    assert batch.valid["household_no"].tolist() == ["H1", "H2"]  # H2 is ~150 m out: inside the buffer
    assert r[4].startswith("经度/纬度: point (109.300000, 27.350000) is 4.9 km east of the county outline")
    assert "km south of" in r[5]


def test_building_keys(tmp_path):
    head = "户号,经度,纬度,楼栋\n"
    body = "H9,109.2,27.36,\nH3,109.2,27.36,\nH5,109.3,27.36,B7\nH6,109.3,27.36,\nH7,109.25,27.36,\n"
    batch = load(tmp_path, body, head=head)
    assert batch.valid["building"].tolist() == ["H3", "H3", "B7", "B7", "H7"]


def test_village_names_and_codes(tmp_path):
    batch = load(tmp_path, "H1,109.2,27.36,431227100201\nH2,109.2,27.37,长乐村\n", head="户号,经度,纬度,村\n")
    assert batch.valid["village_code"].tolist() == ["431227100201", None]
    assert batch.valid["village_name"].tolist() == [None, "长乐村"]
    batch = load(tmp_path, "H1,109.2,27.36,4312271002\n", head="户号,经度,纬度,村代码\n")
    assert reasons(batch) == {2: "村代码: village code '4312271002' is not 12 digits"}


def test_header_synonyms(tmp_path):
    head = "* 户籍编号,户主姓名,家庭住址,Longitude,LAT,村委会,村民小组,关爱等级,楼栋编号,坐标系\n"
    batch = load(tmp_path, "H1,张三,晃州镇,109.2,27.36,长乐村,三组,连心户,L1,WGS84\n", head=head)
    row = batch.valid.iloc[0]
    assert (row.household_no, row.head_name, row.address, row.village_name, row.hamlet, row.care_level,
            row.building) == ("H1", "张三", "晃州镇", "长乐村", "三组", "red", "L1")


def test_columns_override(tmp_path):
    head = "编号,X坐标值,Y坐标值,备注\n"
    with pytest.raises(ColumnError, match="hh.csv.*household_no"):
        load(tmp_path, "H1,109.2,27.36,x\n", head=head)
    columns = parse_columns_option("编号=household_no,X坐标值=lon,Y坐标值=lat")
    batch = load(tmp_path, "H1,109.2,27.36,x\n", head=head, columns=columns)
    assert batch.valid["household_no"].tolist() == ["H1"] and batch.valid["lon"][0] == 109.2


def test_columns_override_wins_over_synonym(tmp_path):
    head = "户号,旧户号,经度,纬度\n"
    batch = load(tmp_path, "H1,OLD1,109.2,27.36\n", head=head, columns={"旧户号": "household_no", "户号": None})
    assert batch.valid["household_no"].tolist() == ["OLD1"]


def test_columns_override_errors(tmp_path):
    with pytest.raises(ColumnError, match="does not have"):
        load(tmp_path, "H1,a,109.2,27.36,\n", columns={"nope": "lon"})
    with pytest.raises(ColumnError, match="not a households column"):
        load(tmp_path, "H1,a,109.2,27.36,\n", columns={"户主": "spouse"})


def test_two_headers_for_one_column(tmp_path):
    with pytest.raises(ColumnError, match="'户号' and '户编号' both mean household_no"):
        load(tmp_path, "H1,H1,109.2,27.36\n", head="户号,户编号,经度,纬度\n")


def test_missing_coordinate_columns(tmp_path):
    with pytest.raises(ColumnError, match="missing column lon.*lat"):
        load(tmp_path, "H1\n", head="户号\n")


# --- coordinates written as text -------------------------------------------------------------


@pytest.mark.parametrize("lon,text", [
    ("1_09.17", "longitude '1_09.17' is not a number"),  # Python's float() reads 109.17
    ("109_.17", "longitude '109_.17' is not a number"),
    ("١٠٩.١٧", "longitude '١٠٩.١٧' is not a number"),  # Arabic-Indic digits: float() reads 109.17
    ("0x6D", "longitude '0x6D' is not a number"),
])
def test_a_coordinate_python_would_read_but_a_person_would_not_is_rejected(tmp_path, lon, text):
    """float() accepts underscores between digits and digits of any script: '1_09.17' went
    in as 109.17, a typo in a register taken for a coordinate."""
    batch = load(tmp_path, f"H1,a,109.2,27.36,\nH2,b,{lon},27.36,\n")
    assert reasons(batch)[3].startswith(f"经度: {text}")
    assert batch.valid["household_no"].tolist() == ["H1"]


def test_full_width_digits_and_a_degree_sign_are_read(tmp_path):
    """Full-width digits (a Chinese input method's, common in Excel registers) and a
    trailing degree sign are normalised, as clean_text does for every other cell."""
    batch = load(tmp_path, "H1,a,１０９．１７,２７．３６,\nH2,b,109.17°,27.36°,\nH3,c, 109.17 ,+27.36,\n")
    assert batch.ok
    assert batch.valid["lon"].tolist() == [109.17] * 3 and batch.valid["lat"].tolist() == [27.36] * 3


# --- village name and village code ------------------------------------------------------------

VILLAGE_HEAD = "户号,经度,纬度,村名,村代码\n"
CHANGLE, XINZHAI = "431227100201", "431227100202"


def test_a_village_name_that_disagrees_with_the_loaded_villages_code_is_rejected(tmp_path):
    """村名 and 村代码 were never compared: a code dragged down one row too far in Excel put
    a household of 新寨村 into 长乐村, with no word said."""
    body = (f"H1,109.2,27.36,长乐村,{CHANGLE}\nH2,109.2,27.37,新寨村,{CHANGLE}\n"
            f"H3,109.2,27.38,新寨,{XINZHAI}\nH4,109.2,27.39,长乐村委会,{CHANGLE}\nH5,109.2,27.40,,{CHANGLE}\n"
            f"H6,109.2,27.41,长乐村,431227100299\n")
    batch = load(tmp_path, body, head=VILLAGE_HEAD, villages={CHANGLE: "长乐村", XINZHAI: "新寨村"})
    assert reasons(batch) == {3: (
        f"村名/村代码: village name '新寨村' does not agree with village code {CHANGLE}, which is "
        "长乐村's; correct the name or the code")}
    # 新寨 for 新寨村 and 长乐村委会 for 长乐村 agree; a code no village has is left to the database
    assert batch.valid["household_no"].tolist() == ["H1", "H3", "H4", "H5", "H6"]


def test_without_loaded_villages_a_name_the_other_rows_of_its_code_do_not_give_is_rejected(tmp_path):
    body = (f"H1,109.2,27.36,长乐村,{CHANGLE}\nH2,109.2,27.37,长乐村,{CHANGLE}\n"
            f"H3,109.2,27.38,新寨村,{CHANGLE}\nH4,109.2,27.39,新寨村,{XINZHAI}\n"
            f"H5,109.2,27.40,上寨村,431227100203\nH6,109.2,27.41,下寨村,431227100203\n")
    batch = load(tmp_path, body, head=VILLAGE_HEAD)
    r = reasons(batch)
    assert r[4] == (f"村名/村代码: village name '新寨村' does not agree with village code {CHANGLE}, which 2 "
                    "other rows name 长乐村; correct the name or the code")
    # a tie: no way to tell which is right, so both are rejected
    assert r[6] == r[7] == ("村名/村代码: village code 431227100203 is named 上寨村 in row 6 and 下寨村 in row 7; "
                            "correct the names or the codes")
    assert batch.valid["household_no"].tolist() == ["H1", "H2", "H4"]


def test_a_village_column_holding_another_code_disagrees_with_the_code_column(tmp_path):
    body = f"H1,109.2,27.36,{CHANGLE},{CHANGLE}\nH2,109.2,27.37,{XINZHAI},{CHANGLE}\n"
    r = reasons(load(tmp_path, body, head=VILLAGE_HEAD))
    assert r == {3: f"村名/村代码: village {XINZHAI} does not agree with village code {CHANGLE}; "
                    "correct one of them"}


def test_an_xlsx_true_or_false_cell_is_not_a_coordinate(tmp_path):
    """pandas reads an Excel TRUE as 1.0: a longitude of TRUE put a household at 1°E."""
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["户号", "经度", "纬度"])
    ws.append(["H1", 109.2, 27.36])
    ws.append(["H2", True, 27.36])
    ws.append(["H3", 109.2, False])
    wb.save(tmp_path / "h.xlsx")
    batch = load_households(tmp_path / "h.xlsx")
    assert batch.valid["household_no"].tolist() == ["H1"]
    assert reasons(batch) == {3: "经度: longitude 'True' is not a number", 4: "纬度: latitude 'False' is not a number"}


def test_a_missing_column_says_how_to_map_it_in_python_and_without_numbers(tmp_path):
    """Before: an analyst calling load_households in a notebook on their own file, with
    no household numbers (a partition needs none), was told only to 'map it with
    --columns', the command line's option, and not that require_number=False reads
    such a file; a village file without a code column likewise."""
    with pytest.raises(ColumnError) as e:
        load(tmp_path, "109.2,27.36\n", head="经度,纬度\n")
    assert "columns={'HEADER': 'household_no'} in Python" in str(e.value)
    assert "--columns 'HEADER=household_no' on the command line" in str(e.value)
    assert "load_households(..., require_number=False)" in str(e.value)
    assert len(load(tmp_path, "109.2,27.36\n", head="经度,纬度\n", require_number=False).valid) == 1
    with pytest.raises(ColumnError) as e:  # numbers there, coordinates missing: no word of numbers
        load(tmp_path, "H1\n", head="户号\n")
    assert "columns={'HEADER': 'lon'} in Python" in str(e.value) and "require_number" not in str(e.value)


def test_a_village_file_without_a_code_says_how_to_map_it_in_python(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    from geogrid.io import load_boundaries

    path = tmp_path / "v.gpkg"
    gpd.GeoDataFrame({"村名": ["长乐村"]}, geometry=[box(109.2, 27.3, 109.21, 27.31)], crs=4326).to_file(path)
    with pytest.raises(ColumnError, match=r"missing column code .*columns=\{'HEADER': 'code'\} in Python"):
        load_boundaries(path, level="village")


def test_the_files_own_columns_come_through(tmp_path):
    """Before: an analyst's 备注 and 人口 were dropped from ``valid`` (only ``_row`` was left
    to join them back from the file); they come through now, after ``_row``, as read."""
    batch = load(tmp_path, "H1,a,109.2,27.36,放心户,低保,3\nH2,b,x,27.36,,,5\nH3,c,109.21,27.37,,五保,\n",
                 head="户号,户主,经度,纬度,户类别,备注,人口\n")
    valid = batch.valid
    assert list(valid.columns)[-4:] == ["_row", "备注", "人口", "geometry"]
    assert valid["household_no"].tolist() == ["H1", "H3"]  # H2 rejected: its 人口 with it
    assert valid["备注"].tolist() == ["低保", "五保"] and valid["人口"].tolist() == ["3", ""]
    assert batch.note_lines() == []
    # a GeoJSON's properties keep their types
    import geopandas as gpd
    from shapely.geometry import Point

    path = tmp_path / "hh.geojson"
    gpd.GeoDataFrame({"户号": ["H1"], "人口": [4]}, geometry=[Point(109.2, 27.36)], crs=4326).to_file(path)
    read = load_households(path)
    assert read.valid["人口"].tolist() == [4]
    assert read.note_lines() == []  # its geometry column is the points, not a column left out


def test_extra_columns_false_or_none_in_columns_leaves_them_out(tmp_path):
    head, body = "户号,经度,纬度,备注,人口\n", "H1,109.2,27.36,低保,3\n"
    assert "备注" not in load(tmp_path, body, head=head, extra_columns=False).valid.columns
    assert "人口" not in load(tmp_path, body, head=head, extra_columns=False).valid.columns
    valid = load(tmp_path, body, head=head, columns={"备注": None}).valid
    assert "备注" not in valid.columns and valid["人口"].tolist() == ["3"]


def test_personal_data_and_geogrids_own_names_are_not_carried_and_a_note_says_why(tmp_path):
    """A household file's ID numbers and phones (户主信息 over 身份证号 | 联系电话) stay out of
    ``valid``: geogrid keeps them only in the persons register, masked; a header named as
    one of geogrid's columns would shadow it."""
    head = "户号,户主,经度,纬度,身份证号,户主联系电话,出生日期,Geometry,备注\n"
    batch = load(tmp_path, "H1,张三,109.2,27.36,431227199001021234,13812345678,1990-01-02,x,低保\n", head=head)
    valid = batch.valid
    assert "备注" in valid.columns and valid["head_name"].tolist() == ["张三"]
    for header in ("身份证号", "户主联系电话", "出生日期", "Geometry"):
        assert header not in valid.columns
    assert "431227199001021234" not in valid.astype(str).to_string()
    lines = batch.note_lines()
    assert any(line.startswith("身份证号: not carried") and "persons register" in line for line in lines)
    assert any(line.startswith("Geometry: not carried") and "rename the header" in line for line in lines)
    # the rejects file keeps every column as read
    bad = load(tmp_path, "H1,张三,x,27.36,431227199001021234,13812345678,1990-01-02,x,低保\n", head=head)
    assert bad.rejects["身份证号"].tolist() == ["431227199001021234"]


def test_a_plans_households_read_back_do_not_carry_their_old_cells(tmp_path):
    head = "户号,经度,纬度,cell_id,microgrid_id,备注\n"
    batch = load(tmp_path, "H1,109.2,27.36,431227100001-M1-C01,431227100001-M1,低保\n", head=head)
    assert "cell_id" not in batch.valid.columns and "microgrid_id" not in batch.valid.columns
    assert batch.valid["备注"].tolist() == ["低保"]
    assert any(line.startswith("cell_id: not carried") for line in batch.note_lines())
