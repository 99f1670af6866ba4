"""The generated county: determinism, counts, tiling, placement, people."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
import shapely

from geogrid import columns as C
from geogrid.crs import local_metric_crs
from geogrid.errors import InputError
from geogrid.idnumber import make_id_number, parse_id_number
from geogrid.sample import N_HOUSEHOLDS, REFERENCE_DATE, TOWNS, generate_county, resolve_towns
from geogrid.sample.people import id_numbers

pytestmark = pytest.mark.slow

UTM = local_metric_crs(109.1, 27.2)


# --- determinism ---------------------------------------------------------------------------


def test_same_seed_same_output(small_town):
    again = generate_county(seed=7, n_households=20_000, towns=["米贝苗族乡"])
    pd.testing.assert_frame_equal(small_town.households.to_wkb(), again.households.to_wkb())
    pd.testing.assert_frame_equal(small_town.persons, again.persons)
    pd.testing.assert_frame_equal(small_town.villages.to_wkb(), again.villages.to_wkb())


def test_other_seed_other_output(small_town):
    other = generate_county(seed=8, n_households=20_000, towns=["米贝苗族乡"])
    assert not small_town.persons[C.ID_NUMBER].equals(other.persons[C.ID_NUMBER])


def test_town_alone_equals_town_in_county(full_county):
    alone = generate_county(seed=0, towns=["431227201000"])
    sub_h = full_county.households[full_county.households[C.VILLAGE_CODE].str.startswith("431227201")]
    pd.testing.assert_frame_equal(alone.households.to_wkb(), sub_h.reset_index(drop=True).to_wkb())
    nos = set(sub_h[C.HOUSEHOLD_NO])
    sub_p = full_county.persons[full_county.persons[C.HOUSEHOLD_NO].isin(nos)].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone.persons, sub_p)


# --- counts -------------------------------------------------------------------------------


def test_counts_of_the_full_county(full_county):
    c = full_county
    assert len(c.county) == 1 and c.county[C.CODE].iloc[0] == "431227"
    assert len(c.towns) == len(TOWNS) == 11
    assert len(c.villages) == 156
    assert len(c.households) == N_HOUSEHOLDS == 79_507
    assert c.households[C.HOUSEHOLD_NO].is_unique
    ratio = len(c.persons) / len(c.households)
    assert 3.3 < ratio < 3.5
    assert all(g.crs.to_epsg() == 4326 for g in (c.county, c.towns, c.villages, c.households))


@pytest.mark.parametrize("n", [0, 1, 157, 5_003])
def test_exact_household_count(n):
    c = generate_county(seed=1, n_households=n)
    assert len(c.households) == n
    assert c.persons[C.HOUSEHOLD_NO].nunique() == n


def test_unknown_town_is_an_input_error():
    with pytest.raises(InputError, match="unknown town"):
        resolve_towns(["北京镇"])
    assert resolve_towns(["晃州", "431227201000", "431227101"]) == [0, 1, 10]


# --- tiling -------------------------------------------------------------------------------


def _areas_km2(gdf):
    return gdf.to_crs(UTM).area.to_numpy() / 1e6


def test_villages_and_towns_tile_the_county(full_county):
    c = full_county
    county = c.county.to_crs(UTM).geometry.iloc[0]
    for layer in (c.villages, c.towns):
        geoms = layer.to_crs(UTM).geometry.to_numpy()
        total = shapely.area(geoms).sum()
        union = shapely.union_all(geoms)
        gaps = county.difference(union).area
        overlaps = total - union.area
        spill = union.difference(county).area
        assert gaps < 1e3 and overlaps < 1e3 and spill < 1e3, (gaps, overlaps, spill)  # m², of 1.5e9
        assert abs(total - county.area) / county.area < 1e-6


def test_villages_nest_in_their_towns(full_county):
    c = full_county
    towns = c.towns.set_index(C.CODE).to_crs(UTM).geometry
    v = c.villages.to_crs(UTM)
    for town_code, village in zip(v[C.TOWN_CODE], v.geometry):
        assert village.difference(towns[town_code]).area < 1.0
    assert (v[C.PARENT_CODE] == v[C.TOWN_CODE]).all()
    assert (v[C.CODE] == v[C.VILLAGE_CODE]).all()
    assert v[C.CODE].str.fullmatch(r"431227\d{6}").all()
    assert (v[C.CODE].str[:9] == v[C.TOWN_CODE].str[:9]).all()


def test_villages_are_several_km2(full_county):
    km2 = _areas_km2(full_county.villages)
    assert 5 < np.median(km2) < 15
    assert set(full_county.villages.geom_type) == {"Polygon"}
    assert full_county.villages[C.NAME].is_unique


# --- households ---------------------------------------------------------------------------


def test_households_inside_their_village(full_county):
    c = full_county
    polys = c.villages.set_index(C.VILLAGE_CODE).geometry
    geoms = polys.reindex(c.households[C.VILLAGE_CODE]).to_numpy()
    inside = shapely.contains(geoms, c.households.geometry.to_numpy())
    assert inside.all(), c.households.loc[~inside, C.HOUSEHOLD_NO].head().tolist()


def test_hamlets_buildings_and_care_levels(full_county):
    h = full_county.households
    sizes = h.dropna(subset=[C.HAMLET]).groupby([C.VILLAGE_CODE, C.HAMLET]).size()
    assert sizes.min() >= 10 and sizes.max() <= 150
    scattered = h[C.HAMLET].isna().mean()
    assert 0.02 < scattered < 0.15
    buildings = h.groupby(C.BUILDING).size()
    assert (buildings > 1).sum() > 50
    big = buildings[buildings > 20].index
    assert any(b.startswith("431227100") for b in big)  # in the county seat
    # one point per building
    xy = pd.DataFrame({"b": h[C.BUILDING], "x": h.geometry.x, "y": h.geometry.y})
    assert (xy.groupby("b")[["x", "y"]].nunique() == 1).all().all()
    share = h[C.CARE_LEVEL].value_counts(normalize=True)
    assert set(share.index) == set(C.CARE_LEVELS)
    assert abs(share["yellow"] - 0.15) < 0.02 and abs(share["red"] - 0.05) < 0.01
    assert h[C.HOUSEHOLD_NO].str.fullmatch(r"431227\d{6}-\d{4}").all()
    assert (h[C.HOUSEHOLD_NO].str[:12] == h[C.VILLAGE_CODE]).all()


# --- people -------------------------------------------------------------------------------


def test_one_head_per_household_named_as_head(full_county):
    p, h = full_county.persons, full_county.households
    heads = p[p[C.RELATION] == "户主"]
    assert heads[C.HOUSEHOLD_NO].is_unique
    assert len(heads) == len(h)
    names = heads.set_index(C.HOUSEHOLD_NO)[C.NAME]
    assert (names.reindex(h[C.HOUSEHOLD_NO]).to_numpy() == h[C.HEAD_NAME].to_numpy()).all()
    assert set(p[C.HOUSEHOLD_NO]) == set(h[C.HOUSEHOLD_NO])


def test_id_numbers_valid_unique_and_consistent(full_county):
    p = full_county.persons
    assert p[C.ID_NUMBER].is_unique
    for value, gender, born in zip(p[C.ID_NUMBER], p[C.GENDER], p[C.BIRTH_DATE]):
        parsed = parse_id_number(value, today=REFERENCE_DATE)
        assert parsed.area == "431227"
        assert parsed.gender == gender
        assert parsed.birth_date == born


def test_vectorised_ids_match_make_id_number():
    rng = np.random.default_rng(3)
    births = np.datetime64("1930-01-01") + rng.integers(0, 34_000, 500).astype("timedelta64[D]")
    seq = rng.integers(1, 500, 500)
    male = rng.random(500) < 0.5
    got = id_numbers("431227", births, seq, male)
    want = [
        make_id_number("431227", b.astype(dt.date), s, "M" if m else "F")
        for b, s, m in zip(births, seq, male)
    ]
    assert list(got) == want


def test_people_are_plausible(full_county):
    p = full_county.persons
    ref = pd.Timestamp(REFERENCE_DATE)
    age = (ref - pd.to_datetime(p[C.BIRTH_DATE])).dt.days / 365.2425
    assert age.min() >= 0 and age.max() < 100
    assert set(p[C.GENDER]) == set(C.GENDERS)
    adults = age >= 18
    assert 0.05 < p.loc[adults, C.PARTY_MEMBER].mean() < 0.09
    assert not p.loc[~adults, C.PARTY_MEMBER].any()
    phones = p[C.PHONE].dropna()
    assert phones.str.fullmatch(r"1[3-9]\d{9}").all()
    assert phones.is_unique
    assert 0.6 < len(phones) / len(p) < 0.85
    tags = p[C.TAGS].str.split(";").explode()
    assert set(tags[tags != ""]) <= set(C.PERSON_TAGS)
    has = {t: p[C.TAGS].str.contains(t) for t in C.PERSON_TAGS}
    assert (age[has["elderly_alone"]] >= 65).all()
    assert (age[has["left_behind_child"]] < 16).all()
    assert ((age[has["away_for_work"]] >= 16) & (age[has["away_for_work"]] < 61)).all()
    alone = p.groupby(C.HOUSEHOLD_NO)[C.NAME].transform("size") == 1
    assert alone[has["elderly_alone"]].all()
    assert all(has[t].sum() > 100 for t in C.PERSON_TAGS)
    # children are younger than the head, parents older
    head_age = age.groupby(p[C.HOUSEHOLD_NO]).transform("first")
    assert (age[p[C.RELATION].isin(["子", "女"])] < head_age[p[C.RELATION].isin(["子", "女"])]).all()
    assert (age[p[C.RELATION].isin(["父亲", "母亲"])] > head_age[p[C.RELATION].isin(["父亲", "母亲"])]).all()
    # a name is a known surname and one or two more characters
    assert p[C.NAME].str.len().between(2, 3).all()
