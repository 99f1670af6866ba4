"""Boundaries: codes by level, parents, invalid polygons, coordinate systems."""

import geopandas as gpd
import numpy as np
import pytest
import shapely
from shapely.geometry import Polygon

from geogrid.crs import geometry_from_wgs84
from geogrid.errors import ColumnError, InputError
from geogrid.io import load_boundaries, write_rejects, read_table

X, Y = 109.2, 27.3


def box(i, size=0.01):
    return shapely.box(X + i * size, Y, X + (i + 1) * size, Y + size)


def villages(tmp_path, rows, name="villages.geojson", crs=4326):
    gdf = gpd.GeoDataFrame(
        {k: [r[k] for r in rows] for k in rows[0] if k != "geometry"},
        geometry=[r["geometry"] for r in rows], crs=crs,
    )
    path = tmp_path / name
    gdf.to_file(path)
    return path


def reasons(batch):
    return dict(zip(batch.rejects["_row"], batch.rejects["reason"]))


def test_valid_villages_with_derived_parent(tmp_path):
    path = villages(tmp_path, [
        {"区划代码": "431227100201", "名称": "长乐村", "年份": "2023", "geometry": box(0)},
        {"区划代码": "431227100202", "名称": "新寨村", "年份": "", "geometry": box(1)},
    ])
    batch = load_boundaries(path, level="village")
    assert batch.ok, batch.problems
    v = batch.valid
    assert v["code"].tolist() == ["431227100201", "431227100202"]
    assert v["parent_code"].tolist() == ["431227100000"] * 2
    assert v["vintage"].tolist()[0] == 2023 and v["vintage"].isna().tolist()[1]
    assert v["level"].tolist() == ["village"] * 2 and v.crs.to_epsg() == 4326


def test_codes_by_level(tmp_path):
    path = villages(tmp_path, [
        {"code": "431227100000", "name": "晃州镇", "geometry": box(0)},
        {"code": "431227100", "name": "扶罗镇", "geometry": box(1)},
        {"code": "4312271001", "name": "x", "geometry": box(2)},
        {"code": "431227100000", "name": "dup", "geometry": box(3)},
        {"code": "431227102000", "name": "", "geometry": box(4)},
    ])
    batch = load_boundaries(path, level="乡镇")
    r = reasons(batch)
    assert r[2] == "code: town code '431227100' is not 12 digits (pad a 9-digit town code with 000)"
    assert r[3] == "code: town code '4312271001' is not 12 digits"
    assert r[1] == "code: code 431227100000 is duplicated: it also appears in row 4"
    assert r[5] == "name: name is empty"
    assert batch.valid.empty
    county = villages(tmp_path, [{"code": "431227100000", "name": "x", "geometry": box(0)}], name="c.geojson")
    assert "county code '431227100000' is not 6 digits" in reasons(load_boundaries(county, level="county"))[1]


def test_parent_codes(tmp_path):
    path = villages(tmp_path, [
        {"code": "431227100000", "parent_code": "431227000000", "name": "a", "geometry": box(0)},
        {"code": "431227101000", "parent_code": "431228", "name": "b", "geometry": box(1)},
        {"code": "431227102000", "parent_code": "4312", "name": "c", "geometry": box(2)},
    ])
    batch = load_boundaries(path, level="town")
    assert batch.valid["parent_code"].tolist() == ["431227"]
    r = reasons(batch)
    assert r[2] == "parent_code: parent code 431228 does not contain town code 431227101000"
    assert r[3] == "parent_code: parent code '4312' is not 6 digits"


def test_invalid_polygon_repaired_or_rejected(tmp_path):
    spike = Polygon([(X, Y), (X + 0.01, Y), (X + 0.01, Y + 0.005), (X + 0.02, Y + 0.005),
                     (X + 0.01, Y + 0.005), (X + 0.01, Y + 0.01), (X, Y + 0.01)])
    bowtie = Polygon([(X, Y), (X + 0.01, Y + 0.01), (X + 0.01, Y), (X, Y + 0.01)])
    assert not spike.is_valid and not bowtie.is_valid
    path = villages(tmp_path, [
        {"code": "431227100201", "name": "a", "geometry": spike},
        {"code": "431227100202", "name": "b", "geometry": bowtie},
        {"code": "431227100203", "name": "c", "geometry": shapely.LineString([(X, Y), (X + 1, Y)])},
        {"code": "431227100204", "name": "d", "geometry": None},
    ])
    batch = load_boundaries(path, level="village")
    v = batch.valid.iloc[0]
    assert v.geometry.is_valid and abs(v.geometry.area - 1e-4) < 1e-10
    assert v.repaired.startswith("repaired: ") and "Self-intersection" in v.repaired
    r = reasons(batch)
    assert r[2].startswith("geometry: geometry is invalid (Self-intersection[")
    assert "change its area by" in r[2]
    assert r[3] == "geometry: geometry is a LineString, not a Polygon or MultiPolygon"
    assert r[4] == "geometry: geometry is empty"
    out = write_rejects(batch, tmp_path / "rejects.csv")
    back = read_table(out)
    assert back["geometry"][0].startswith("POLYGON ((109.2 27.3")  # WKT, as in the file


def test_gcj02_polygons_converted(tmp_path):
    true = box(0)
    gcj = geometry_from_wgs84(true, "gcj02")
    path = villages(tmp_path, [{"code": "431227100201", "name": "a", "geometry": gcj}])
    got = load_boundaries(path, level="village", crs="gcj02").valid.geometry[0]
    assert np.allclose(shapely.get_coordinates(got), shapely.get_coordinates(true), atol=1e-8)
    assert shapely.hausdorff_distance(gcj, true) > 1e-3


def test_projected_file(tmp_path):
    path = villages(tmp_path, [{"code": "431227", "name": "新晃", "geometry": box(0)}], name="p.gpkg")
    gpd.read_file(path).to_crs(4547).to_file(tmp_path / "gk.gpkg")
    batch = load_boundaries(tmp_path / "gk.gpkg", level="county")
    assert batch.crs == "cgcs2000"
    assert shapely.equals_exact(batch.valid.geometry[0].normalize(), box(0).normalize(), tolerance=1e-7)


def test_code_from_file_name(tmp_path):
    path = tmp_path / "431227.geojson"
    gpd.GeoDataFrame({"名称": ["新晃侗族自治县"]}, geometry=[box(0)], crs=4326).to_file(path)
    batch = load_boundaries(path, level="county")
    assert batch.valid["code"].tolist() == ["431227"] and batch.valid["parent_code"][0] == "431200"


def test_name_column_is_required(tmp_path):
    """The database needs a name for every area: say so with the file, before writing."""
    path = tmp_path / "431227.geojson"
    gpd.GeoSeries([box(0)], crs=4326).to_file(path)  # a bare outline, like ../shared's
    with pytest.raises(ColumnError, match=r"431227\.geojson: missing column name \(headers such as 名称"):
        load_boundaries(path, level="county")


def test_wkt_in_csv(tmp_path):
    path = tmp_path / "towns.csv"
    path.write_text(f'区划代码,名称,级别,wkt\n431227100000,晃州镇,乡镇,"{box(0).wkt}"\n'
                    f'431227101000,x,村,"{box(1).wkt}"\n431227102000,y,,"POLYGON ((1 2"\n', encoding="utf-8")
    batch = load_boundaries(path, level="town")
    assert batch.valid["name"].tolist() == ["晃州镇"]
    r = reasons(batch)
    assert r[3] == "级别: the row is a village but the import is --level town"
    assert r[4].startswith("wkt: not valid WKT")


def test_needs_geometry_and_code(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("区划代码,名称\n431227,新晃\n", encoding="utf-8")
    with pytest.raises(ColumnError, match="t.csv.*WKT"):
        load_boundaries(path, level="county")
    path = villages(tmp_path, [{"名称": "a", "geometry": box(0)}, {"名称": "b", "geometry": box(1)}])
    with pytest.raises(ColumnError, match="missing column code"):
        load_boundaries(path, level="county")
    with pytest.raises(InputError, match="unknown level"):
        load_boundaries(path, level="province")


def test_villages_coded_and_named_as_a_register_does(tmp_path):
    """Village outlines may carry a register's headers for their village (村代码, 村名);
    a boundary header (区划代码, 名称) wins when both are there; --level town ignores them;
    require_name=False accepts outlines without names (what geogrid partition needs)."""
    path = villages(tmp_path, [{"村代码": "431227100201", "村名": "长乐村", "geometry": box(0)}])
    batch = load_boundaries(path, level="village")
    assert batch.ok and batch.valid[["code", "name"]].values.tolist() == [["431227100201", "长乐村"]]
    both = villages(tmp_path, [{"区划代码": "431227100202", "village_code": "431227100201", "名称": "新寨村",
                                "村名": "x", "geometry": box(0)}], name="both.geojson")
    assert load_boundaries(both, level="village").valid[["code", "name"]].values.tolist() == [["431227100202", "新寨村"]]
    with pytest.raises(ColumnError, match="missing column code"):
        load_boundaries(path, level="town")
    bare = villages(tmp_path, [{"村代码": "431227100201", "geometry": box(0)}], name="bare.geojson")
    with pytest.raises(ColumnError, match="missing column name"):
        load_boundaries(bare, level="village")
    assert load_boundaries(bare, level="village", require_name=False).valid["name"].tolist() == [None]


def test_the_files_own_columns_come_through_as_load_households_carries_them(tmp_path):
    """Before: load_boundaries dropped an outline file's other columns (人口, 来源), which
    load_households keeps: an analyst joining outlines to their census figures had to
    read the file again.  They come through now after _row, as read (a GeoPackage's
    typed), by load_households' rule: a header named as a column of geogrid's, or a
    person's name or phone (村书记姓名, 联系电话), is left out with a note; the file's own
    geometry column is the outlines' geometry, no column to note; extra_columns=False
    leaves them out."""
    path = villages(tmp_path, [
        {"区划代码": "431227100201", "名称": "长乐村", "人口": 1200, "来源": "三调", "村书记姓名": "张三",
         "联系电话": "13812345678", "repaired": "x", "geometry": box(0)},
        {"区划代码": "4312271002", "名称": "坏村", "人口": 800, "来源": "三调", "村书记姓名": "李四",
         "联系电话": "13912345678", "repaired": "y", "geometry": box(1)},
        {"区划代码": "431227100203", "名称": "新寨村", "人口": 950, "来源": "", "村书记姓名": "王五",
         "联系电话": "", "repaired": "", "geometry": box(2)},
    ], name="villages.gpkg")
    batch = load_boundaries(path, level="village")
    valid = batch.valid
    assert list(valid.columns) == ["code", "name", "level", "parent_code", "vintage", "repaired", "_row",
                                   "人口", "来源", "geometry"]
    assert valid["code"].tolist() == ["431227100201", "431227100203"]  # the bad code rejected, its 人口 with it
    assert valid["人口"].tolist() == [1200, 950] and valid["来源"].tolist() == ["三调", ""]
    assert valid["repaired"].tolist() == [None, None]  # geogrid's, not the file's
    lines = batch.note_lines()
    for header in ("村书记姓名", "联系电话", "repaired"):
        assert any(line.startswith(f"{header}: not carried") for line in lines), (header, lines)
    assert not any(line.startswith("geometry") or line.startswith("geom") for line in lines), lines
    assert list(load_boundaries(path, level="village", extra_columns=False).valid.columns) == [
        "code", "name", "level", "parent_code", "vintage", "repaired", "_row", "geometry"]
