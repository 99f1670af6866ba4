"""A command never writes over the file it reads.

``geogrid import households h.csv --rejects h`` (the extension is the input's when left
out) or ``--rejects h.csv`` replaced the register with its bad rows: without
``--skip-invalid`` nothing was imported either, so the good rows were in neither the
database nor the file.  ``geogrid partition --households h.gpkg --out h.gpkg`` replaced
the households' GeoPackage, and any other layer it held, with the plan.  Both are now
refused before anything is written, saying what to name instead.
"""

from __future__ import annotations

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import Point, box
from tests.cli.dbrows import rows

REGISTER = "户编号,户主,经度,纬度\nH001,杨大山,109.1700,27.3600\nH002,吴小河,abc,27.3610\n"


def _households(db_url) -> int:
    return rows(db_url, "SELECT count(*) FROM households")[0][0]


@pytest.mark.parametrize("skip", [False, True], ids=["all-or-nothing", "skip-invalid"])
@pytest.mark.parametrize("rejects", ["h.csv", "h", "./sub/../h.csv"])
def test_a_rejects_file_that_is_the_file_imported_is_refused(cli, db_url, tmp_path, monkeypatch, rejects, skip):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    register = tmp_path / "h.csv"
    register.write_text(REGISTER, encoding="utf-8")
    code, _, err = cli("import", "households", "h.csv", *(["--skip-invalid"] if skip else []), "--rejects", rejects)
    assert code == 4, err
    assert "is the file being read" in err and "h.rejected.csv" in err and "nothing was written" in err
    assert register.read_text(encoding="utf-8") == REGISTER
    assert _households(db_url) == 0
    # another name takes them, as before
    code, out, err = cli("import", "households", "h.csv", "--skip-invalid", "--rejects", "h.rejected.csv")
    assert code == 0 and "1 added" in out, err
    assert "abc" in (tmp_path / "h.rejected.csv").read_text(encoding="utf-8-sig")
    assert register.read_text(encoding="utf-8") == REGISTER


def test_a_plan_written_over_its_own_input_is_refused(tmp_path, capsys):
    from geogrid.cli import main

    rng = range(30)
    households = tmp_path / "h.gpkg"
    gpd.GeoDataFrame({"household_no": [f"H{i:03d}" for i in rng], "village_code": ["431227100201"] * 30},
                     geometry=[Point(109.001 + 0.0005 * i, 27.005 + 0.0003 * (i % 7)) for i in rng],
                     crs=4326).to_file(households, layer="households")
    gpd.GeoDataFrame({"name": ["水井"]}, geometry=[Point(109.01, 27.01)], crs=4326).to_file(households, layer="wells")
    villages = tmp_path / "v.geojson"
    gpd.GeoDataFrame({"村代码": ["431227100201"], "村名": ["甲村"]}, geometry=[box(109.0, 27.0, 109.02, 27.02)],
                     crs=4326).to_file(villages)
    before = households.read_bytes(), villages.read_bytes()
    for out in (households, villages):
        code = main(["partition", "--quiet", "--households", str(households), "--layer", "households",
                     "--villages", str(villages), "--out", str(out)])
        err = capsys.readouterr().err
        assert code == 2, err
        which = "--households" if out == households else "--villages"
        assert f"is the {which} file, which the plan would replace" in err and f"{out.stem}.plan.gpkg" in err
    assert (households.read_bytes(), villages.read_bytes()) == before
    assert list(pyogrio.list_layers(households)[:, 0]) == ["households", "wells"]
