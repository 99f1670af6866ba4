"""A hostile review of the import paths: bad input gets a clear error and loses nothing."""

from __future__ import annotations

import json

import geopandas as gpd
import pytest
import shapely
from shapely.geometry import mapping

from geogrid.errors import FileFormatError
from geogrid.io import load_boundaries


def _feature_collection(path, features):
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": props, "geometry": geom} for props, geom in features
    ]}, ensure_ascii=False), encoding="utf-8")
    return path


# --- boundaries: coordinates that are not longitude/latitude -----------------------------


def test_a_boundary_with_swapped_coordinates_is_rejected(tmp_path):
    """An outline drawn as (latitude, longitude) was stored as it came: a village in the
    Indian Ocean, with no word said."""
    swapped = mapping(shapely.box(27.30, 109.15, 27.40, 109.25))
    good = mapping(shapely.box(109.15, 27.30, 109.25, 27.40))
    path = _feature_collection(tmp_path / "v.geojson", [
        ({"区划代码": "431227100201", "名称": "长乐村"}, swapped),
        ({"区划代码": "431227100202", "名称": "新寨村"}, good),
    ])
    batch = load_boundaries(path, level="village")
    assert batch.valid["code"].tolist() == ["431227100202"]
    assert batch.rejects["_row"].tolist() == [1]
    assert "swapped" in batch.rejects["reason"][0]
    assert batch.n_rows == 2


def test_a_boundary_in_metres_without_its_crs_is_rejected(tmp_path):
    """A Shapefile in Gauss-Kruger metres whose .prj was not copied was stored as if its
    metres were degrees (an outline 'at' longitude 500,000)."""
    gdf = gpd.GeoDataFrame({"code": ["431227100201"], "name": ["长乐村"]},
                           geometry=[shapely.box(500000, 3000000, 501000, 3001000)], crs=None)
    path = tmp_path / "villages.shp"
    gdf.to_file(path, encoding="utf-8")
    assert not path.with_suffix(".prj").exists()
    batch = load_boundaries(path, level="village")
    assert batch.valid.empty and batch.n_rows == 1
    reason = batch.rejects["reason"][0]
    assert "out of range" in reason and ".prj" in reason


def test_upsert_areas_refuses_coordinates_out_of_range(session):
    """The repository, as households' does, refuses points that are not EPSG:4326."""
    from geogrid.db.areas import upsert_areas
    from geogrid.errors import ValidationError

    gdf = gpd.GeoDataFrame({"code": ["431227100201"], "name": ["长乐村"]},
                           geometry=[shapely.box(500000, 3000000, 501000, 3001000)], crs=4326)
    with pytest.raises(ValidationError) as info:
        upsert_areas(session, gdf, "village")
    assert [reason for _, _, reason in info.value.rejects] == ["coordinates out of range for EPSG:4326"]


# --- vector files whose geometry GEOS cannot read ----------------------------------------


def test_a_ring_not_closed_is_a_clear_error(tmp_path):
    """A GeoJSON polygon whose ring does not end where it starts gave a shapely
    GEOSException traceback instead of an error naming the file."""
    open_ring = {"type": "Polygon", "coordinates": [[[109.15, 27.3], [109.25, 27.3], [109.25, 27.4],
                                                     [109.15, 27.4]]]}
    path = _feature_collection(tmp_path / "v.geojson", [({"区划代码": "431227100201", "名称": "长乐村"}, open_ring)])
    with pytest.raises(FileFormatError, match="closed linestring") as info:
        load_boundaries(path, level="village")
    assert "v.geojson" in str(info.value) and "feature 1 " in str(info.value)


# --- the command line: no rejected row goes in silence -------------------------------------


from tests.cli.test_transfer import _stored_village_codes as _village_codes  # noqa: E402


def test_skip_invalid_without_a_rejects_file_names_each_rejected_row(cli, tmp_path):
    """``--skip-invalid`` without ``--rejects`` said only '2 rejected': which rows and why
    was nowhere."""
    path = tmp_path / "h.csv"
    path.write_text("户编号,户主,经度,纬度,户类别\n"
                    "H001,杨大山,109.17,27.36,放心户\n"
                    "H002,吴小河,27.36,109.17,关心户\n"
                    "H003,龙三,109.18,27.37,X\n", encoding="utf-8")
    code, out, err = cli("import", "households", path, "--skip-invalid")
    assert code == 0, err
    assert "3 rows read; 1 added" in out and "2 rejected" in out
    assert "2 of 3 household rows" in err
    assert "row 3 (household H002): 经度/纬度: longitude and latitude look swapped" in err
    assert "row 4 (household H003): 户类别: care level 'X'" in err


def _villages(cli, tmp_path):
    path = _feature_collection(tmp_path / "villages.geojson", [
        ({"区划代码": "431227100201", "名称": "长乐村"}, mapping(shapely.box(109.15, 27.30, 109.20, 27.35))),
        ({"区划代码": "431227100202", "名称": "新寨村"}, mapping(shapely.box(109.20, 27.30, 109.25, 27.35))),
        ({"区划代码": "431227101201", "名称": "新寨村"}, mapping(shapely.box(109.25, 27.30, 109.30, 27.35))),
    ])
    code, _, err = cli("import", "boundaries", path, "--level", "village")
    assert code == 0, err


def test_a_village_named_in_the_file_is_not_lost(cli, db_url, tmp_path):
    """A register naming villages (村名) instead of coding them lost the name on import:
    the household took the village its point fell in, or none, and a name no village
    had went in without a word."""
    _villages(cli, tmp_path)
    path = tmp_path / "h.csv"
    path.write_text("户编号,户主,经度,纬度,村名\n"
                    "H001,杨大山,109.40,27.40,长乐村\n"  # outside every outline: the name says where
                    "H002,吴小河,109.17,27.32,无名村\n"  # no such village
                    "H003,龙三,109.22,27.32,新寨村\n", encoding="utf-8")  # two villages of that name
    code, out, err = cli("import", "households", path)
    assert code == 3 and "nothing was written" in err
    assert "no loaded village is named '无名村'" in err
    assert "2 villages are named '新寨村' (431227100202, 431227101201)" in err
    assert _village_codes(db_url) == {}
    code, out, err = cli("import", "households", path, "--skip-invalid")
    assert code == 0, err
    assert "1 added" in out and "2 rejected" in out
    assert _village_codes(db_url) == {"H001": "431227100201"}


# --- a CSV cut off in its last row ----------------------------------------------------------


def test_a_csv_cut_off_in_its_last_row_rejects_that_row(tmp_path):
    """A file that ends in the middle of a row (an export that did not finish) read the
    missing cells as empty: the household went in without its care level."""
    from geogrid.io import load_households

    text = ("户编号,户主,经度,纬度,村代码,户类别\n"
            "H001,杨大山,109.17,27.36,431227100201,放心户\n"
            "H002,吴小河,109.18,27.37,431227100201")
    path = tmp_path / "h.csv"
    path.write_text(text, encoding="utf-8")
    batch = load_households(path)
    assert batch.valid["household_no"].tolist() == ["H001"]
    assert batch.rejects["_row"].tolist() == [3]
    assert "5 of the file's 6 columns" in batch.rejects["reason"][0]
    assert "cut off" in batch.rejects["reason"][0]
    # the same row ended by a line break is a row whose last cell is empty, as before
    path.write_text(text + "\n", encoding="utf-8")
    assert load_households(path).ok
    # and a complete last row without a line break is a complete row
    path.write_text(text + ",关心户", encoding="utf-8")
    assert load_households(path).ok


def test_a_persons_csv_cut_off_in_its_last_row_rejects_that_row(tmp_path, ids):
    from geogrid.io import load_persons

    path = tmp_path / "p.csv"
    path.write_text(f"户编号,姓名,身份证号,联系电话,人员标签\nH001,杨大山,{ids[0]},13812345678,留守儿童\n"
                    f"H001,杨小,{ids[1]},13812345679", encoding="utf-8")
    batch = load_persons(path)
    assert len(batch.valid) == 1 and batch.rejects["_row"].tolist() == [3]
    assert "cut off" in batch.rejects["reason"][0]


# --- encodings: a UTF-8 file damaged, named as such -----------------------------------------

_REGISTER = ("户编号,户主,经度,纬度\nH001,杨大山,109.17,27.36\nH002,吴小河,109.18,27.37\n"
             "H003,龙三,109.19,27.38\n")


def test_a_utf8_file_cut_off_in_a_character_says_so(tmp_path):
    """A UTF-8 file that ends in the middle of a character was 'neither UTF-8 nor
    GBK/GB18030', with the advice to save it as CSV UTF-8, which it is."""
    from geogrid.errors import EncodingError
    from geogrid.io import load_households

    path = tmp_path / "h.csv"
    path.write_bytes(_REGISTER.rstrip("\n").encode()[:-9] + "龙".encode()[:2])
    with pytest.raises(EncodingError, match=r"is UTF-8 but ends in the middle of a character \(line 4\).*cut off"):
        load_households(path)


def test_a_utf8_file_with_a_line_in_gbk_names_the_line(tmp_path):
    from geogrid.errors import EncodingError
    from geogrid.io import load_households

    lines = _REGISTER.splitlines(keepends=True)
    path = tmp_path / "h.csv"
    path.write_bytes("".join(lines[:3]).encode() + lines[3].encode("gbk"))
    with pytest.raises(EncodingError, match=r"is UTF-8 up to line 4, .*GBK"):
        load_households(path)
