"""Written files: Chinese headers round-trip through pandas, the committed slice, the CLI."""

from __future__ import annotations

import filecmp
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from geogrid import columns as C
from geogrid.cli import main
from geogrid.crs import to_wgs84
from geogrid.sample import REFERENCE_DATE, generate_county, write_sample
from geogrid.sample.writing import HOUSEHOLD_COLUMNS, PERSON_COLUMNS, TAG_SEPARATOR

REPO = Path(__file__).resolve().parents[2]
SLICE_DIR = REPO / "data" / "sample"
#: How data/sample/ was generated (kept in step with data/sample/README.md).
SLICE_TOWN = "凉伞镇"
SLICE_SEED = 0

ZH_TAG = {v: k for k, v in C.ZH_PERSON_TAGS.items()}


def _metres(lon1, lat1, lon2, lat2):
    return np.hypot((lon1 - lon2) * 111_320 * np.cos(np.radians(lat1)), (lat1 - lat2) * 110_574)


@pytest.fixture(scope="module")
def written(tmp_path_factory, small_town):
    out = tmp_path_factory.mktemp("sample")
    paths = write_sample(small_town, out, formats=("csv", "xlsx"))
    return small_town, out, paths


def test_files_written(written):
    _, out, paths = written
    names = sorted(p.name for p in paths)
    assert names == sorted(
        [
            "households.csv",
            "persons.csv",
            "households.xlsx",
            "persons.xlsx",
            "county.geojson",
            "towns.geojson",
            "villages.geojson",
        ]
    )
    for name in ("households.csv", "persons.csv"):
        assert (out / name).read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel


def test_households_csv_round_trips(written):
    county, out, _ = written
    df = pd.read_csv(out / "households.csv", dtype=str, keep_default_na=False, encoding="utf-8")
    assert list(df.columns) == [C.ZH_HEADERS[c] for c in HOUSEHOLD_COLUMNS]
    df.columns = list(HOUSEHOLD_COLUMNS)
    h = county.households
    assert len(df) == len(h)
    for col in (C.HOUSEHOLD_NO, C.HEAD_NAME, C.ADDRESS, C.VILLAGE_CODE, C.BUILDING):
        assert (df[col].to_numpy() == h[col].to_numpy()).all(), col
    assert (df[C.HAMLET].to_numpy() == h[C.HAMLET].fillna("").to_numpy()).all()
    assert h[C.HAMLET].isna().any()  # scattered farmhouses have no hamlet
    back = {v: k for k, v in C.ZH_CARE_LEVELS.items()}
    assert (df[C.CARE_LEVEL].map(back).to_numpy() == h[C.CARE_LEVEL].to_numpy()).all()
    assert (df[C.SOURCE_CRS] == "gcj02").all()
    lon, lat = to_wgs84(df[C.LON].astype(float), df[C.LAT].astype(float), "gcj02")
    # GCJ-02 is several hundred metres off WGS84; converted back, 6 decimals is ~0.1 m.
    off = _metres(df[C.LON].astype(float), df[C.LAT].astype(float), h.geometry.x, h.geometry.y)
    assert off.min() > 100
    assert _metres(lon, lat, h.geometry.x.to_numpy(), h.geometry.y.to_numpy()).max() < 0.2


def test_persons_csv_round_trips(written):
    county, out, _ = written
    df = pd.read_csv(out / "persons.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert list(df.columns) == [C.ZH_HEADERS[c] for c in PERSON_COLUMNS]
    df.columns = list(PERSON_COLUMNS)
    p = county.persons
    assert len(df) == len(p)
    assert (df[C.ID_NUMBER].to_numpy() == p[C.ID_NUMBER].to_numpy()).all()
    assert df[C.ID_NUMBER].str.len().eq(18).all()
    assert (df[C.GENDER].map({"男": "M", "女": "F"}).to_numpy() == p[C.GENDER].to_numpy()).all()
    assert (pd.to_datetime(df[C.BIRTH_DATE]).dt.date.to_numpy() == p[C.BIRTH_DATE].to_numpy()).all()
    assert (
        df[C.PARTY_MEMBER].map({"是": True, "否": False}).to_numpy() == p[C.PARTY_MEMBER].to_numpy()
    ).all()
    assert (df[C.PHONE].to_numpy() == p[C.PHONE].fillna("").to_numpy()).all()
    tags = df[C.TAGS].map(lambda s: ";".join(ZH_TAG[t] for t in s.split(TAG_SEPARATOR)) if s else "")
    assert (tags.to_numpy() == p[C.TAGS].to_numpy()).all()
    assert (df[C.TAGS] != "").any()


def test_xlsx_keeps_ids_as_text(written):
    county, out, _ = written
    df = pd.read_excel(out / "persons.xlsx", dtype=object)
    assert all(isinstance(v, str) for v in df[C.ZH_HEADERS[C.ID_NUMBER]])
    assert list(df[C.ZH_HEADERS[C.ID_NUMBER]]) == list(county.persons[C.ID_NUMBER])


def test_boundaries_written_in_wgs84(written):
    county, out, _ = written
    for name, level in (("county", "county"), ("towns", "town"), ("villages", "village")):
        g = gpd.read_file(out / f"{name}.geojson")
        assert g.crs.to_epsg() == 4326
        assert list(g.columns) == [C.CODE, C.NAME, C.PARENT_CODE, C.LEVEL, C.VINTAGE, "geometry"]
        assert (g[C.LEVEL] == level).all()
        src = getattr(county, name)
        assert list(g[C.CODE]) == list(src[C.CODE])
        assert g.geometry.geom_equals_exact(src.geometry.reset_index(drop=True), tolerance=1e-9).all()


# --- the committed slice ---------------------------------------------------------------------


def test_committed_slice_matches_regeneration(tmp_path):
    assert (SLICE_DIR / "README.md").exists()
    county = generate_county(seed=SLICE_SEED, towns=[SLICE_TOWN])
    write_sample(county, tmp_path)
    for name in ("households.csv", "persons.csv"):
        assert filecmp.cmp(SLICE_DIR / name, tmp_path / name, shallow=False), f"data/sample/{name} is stale"
    for name in ("county.geojson", "towns.geojson", "villages.geojson"):
        a, b = gpd.read_file(SLICE_DIR / name), gpd.read_file(tmp_path / name)
        pd.testing.assert_frame_equal(
            pd.DataFrame(a.drop(columns="geometry")), pd.DataFrame(b.drop(columns="geometry"))
        )
        assert a.geometry.geom_equals_exact(b.geometry, tolerance=1e-9).all(), name


@pytest.mark.slow
def test_committed_slice_is_a_subset_of_the_full_county(full_county):
    df = pd.read_csv(SLICE_DIR / "households.csv", dtype=str, keep_default_na=False)
    no = C.ZH_HEADERS[C.HOUSEHOLD_NO]
    assert 2_000 <= len(df) <= 8_000
    full = full_county.households.set_index(C.HOUSEHOLD_NO)
    sub = full.loc[df[no]]
    assert (sub[C.HEAD_NAME].to_numpy() == df[C.ZH_HEADERS[C.HEAD_NAME]].to_numpy()).all()
    assert (sub[C.ADDRESS].to_numpy() == df[C.ZH_HEADERS[C.ADDRESS]].to_numpy()).all()
    town_prefix = df[no].str[:9].unique()
    assert len(town_prefix) == 1
    assert full.index.str.startswith(town_prefix[0]).sum() == len(df)


# --- the command --------------------------------------------------------------------------


def test_cli_writes_a_town(tmp_path):
    rc = main(
        [
            "sample",
            "--out",
            str(tmp_path),
            "--town",
            "米贝苗族乡",
            "--households",
            "8000",
            "--seed",
            "3",
            "-q",
        ]
    )
    assert rc == 0
    h = pd.read_csv(tmp_path / "households.csv", dtype=str)
    assert h[C.ZH_HEADERS[C.VILLAGE_CODE]].str.startswith("431227201").all()
    assert not (tmp_path / "households.xlsx").exists()


def test_cli_unknown_town_exits_2(tmp_path, capsys):
    rc = main(["sample", "--out", str(tmp_path), "--town", "nowhere"])
    assert rc == 2
    assert "unknown town" in capsys.readouterr().err


# --- the real import path -------------------------------------------------------------------


def test_import_path_accepts_the_slice_unchanged():
    io = pytest.importorskip("geogrid.io")
    county = generate_county(seed=SLICE_SEED, towns=[SLICE_TOWN])
    hb = io.load_households(
        SLICE_DIR / "households.csv", crs="gcj02", county_outline=county.county.geometry.iloc[0]
    )
    assert len(hb.rejects) == 0 and len(hb.valid) == len(county.households)
    got = hb.valid.set_index(C.HOUSEHOLD_NO).geometry.reindex(county.households[C.HOUSEHOLD_NO])
    want = county.households.geometry
    assert _metres(got.x.to_numpy(), got.y.to_numpy(), want.x.to_numpy(), want.y.to_numpy()).max() < 0.2
    pb = io.load_persons(SLICE_DIR / "persons.csv", today=REFERENCE_DATE)
    assert len(pb.rejects) == 0 and len(pb.valid) == len(county.persons)
    assert list(pb.valid[C.ID_NUMBER]) == list(county.persons[C.ID_NUMBER])
    for name, level in (("county", "county"), ("towns", "town"), ("villages", "village")):
        bb = io.load_boundaries(SLICE_DIR / f"{name}.geojson", level=level)
        assert len(bb.rejects) == 0 and len(bb.valid) == len(getattr(county, name))
