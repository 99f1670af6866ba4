"""Two villages numbering their households alike do not overwrite each other's.

Village registers often number households 1, 2, 3...  ``geogrid import households`` of
village B's sheet after village A's took B's row 1 for A's household 1 (the key is the
household number) and moved it: A's household 1 got B's head, address and point, its
residents now living in village B, and the summary said '2 updated'.  A row whose
household number is registered in another village (its 村代码, else the loaded village
holding its point) is now rejected, saying why and what to do; ``--move-villages`` moves
a household that did move.  On both back-ends.
"""

from __future__ import annotations

import geopandas as gpd
from shapely.geometry import box
from tests.cli.dbrows import rows

A, B = "431227100201", "431227100202"
VILLAGE_A = "户编号,户主,经度,纬度,村代码\n1,张三,109.2010,27.3510,{A}\n2,李四,109.2020,27.3520,{A}\n3,王五,109.2030,27.3530,{A}\n"
VILLAGE_B = "户编号,户主,经度,纬度,村代码\n1,赵六,109.2110,27.3510,{B}\n2,钱七,109.2120,27.3520,{B}\n4,孙八,109.2140,27.3540,{B}\n"


def _register(db_url) -> dict:
    return {no: (head, code) for no, head, code in rows(db_url, "SELECT household_no, head_name, village_code "
                                                                 "FROM households")}


def test_another_villages_household_of_the_same_number_is_rejected(cli, db_url, tmp_path):
    a, b = tmp_path / "a.csv", tmp_path / "b.csv"
    a.write_text(VILLAGE_A.format(A=A), encoding="utf-8")
    b.write_text(VILLAGE_B.format(B=B), encoding="utf-8")
    assert cli("import", "households", a)[0] == 0
    before = _register(db_url)

    code, _, err = cli("import", "households", b)
    assert code == 3, err
    assert ("row 2, column 户编号: household number '1' is registered in village 431227100201 and this row puts "
            "it in 431227100202") in err
    assert "give it a number of its own, such as 431227100202-1" in err and "--move-villages" in err
    assert "row 3, column 户编号" in err and "row 4" not in err
    assert _register(db_url) == before  # all or nothing

    rejects = tmp_path / "b.rejected.csv"
    code, out, err = cli("import", "households", b, "--skip-invalid", "--rejects", rejects)
    assert code == 0 and "1 added, 0 updated" in out and "2 rejected" in out, err
    assert _register(db_url) == {**before, "4": ("孙八", B)}

    # a household that did move village
    moved = tmp_path / "moved.csv"
    moved.write_text(f"户编号,户主,经度,纬度,村代码\n3,王五,109.2130,27.3530,{B}\n", encoding="utf-8")
    assert cli("import", "households", moved)[0] == 3
    code, out, err = cli("import", "households", moved, "--move-villages")
    assert code == 0 and "1 updated" in out, err
    assert _register(db_url)["3"] == ("王五", B)


def test_a_row_without_a_village_code_is_placed_by_the_loaded_villages(cli, db_url, tmp_path):
    villages = tmp_path / "villages.geojson"
    gpd.GeoDataFrame({"区划代码": [A, B], "名称": ["甲村", "乙村"]},
                     geometry=[box(109.20, 27.34, 109.21, 27.36), box(109.21, 27.34, 109.22, 27.36)],
                     crs=4326).to_file(villages)
    assert cli("import", "boundaries", villages, "--level", "village")[0] == 0
    a = tmp_path / "a.csv"
    a.write_text("户编号,户主,经度,纬度\n1,张三,109.2010,27.3510\n2,李四,109.2020,27.3520\n", encoding="utf-8")
    assert cli("import", "households", a)[0] == 0
    assert _register(db_url) == {"1": ("张三", A), "2": ("李四", A)}
    b = tmp_path / "b.csv"  # B's sheet, without codes: its points lie in B
    b.write_text("户编号,户主,经度,纬度\n1,赵六,109.2110,27.3510\n", encoding="utf-8")
    code, _, err = cli("import", "households", b)
    assert code == 3, err
    assert "registered in village 431227100201 (甲村) and this row puts it in 431227100202 (乙村)" in err
    # the same village again: an update as before
    a.write_text("户编号,户主,经度,纬度\n1,张大三,109.2011,27.3510\n", encoding="utf-8")
    code, out, err = cli("import", "households", a)
    assert code == 0 and "1 updated" in out, err
    assert _register(db_url)["1"] == ("张大三", A)
