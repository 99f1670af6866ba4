"""Longitudes and latitudes written as people write them: E109.2, 109.2E, 109°12'30"E, 109度12分30秒."""

import pytest

from geogrid.io import load_households
from geogrid.io.degrees import parse_degrees

LON = 109 + 12 / 60 + 30 / 3600  # 109°12'30"
LAT = 27 + 24 / 60  # 27°24'


@pytest.mark.parametrize("text,expected", [
    ("109.2", 109.2),
    ("E109.2", 109.2),
    ("e109.2", 109.2),
    ("109.2E", 109.2),
    ("109.2 E", 109.2),
    ("109.2°E", 109.2),
    ("东经109.2°", 109.2),
    ("W109.2", -109.2),
    ("109.2W", -109.2),
    ("西经109.2", -109.2),
    ("109°12'30\"E", LON),
    ("109° 12′ 30″ E", LON),
    ("109°12’30”", LON),
    ("109°12'30''", LON),
    ("109度12分30秒", LON),
    ("东经109度12分30秒", LON),
    ("E109°12'30\"", LON),
    ("109°12'30", LON),  # the closing " lost on the way through a CSV
    ("109°12.5'", LON),
    ("-109°12'30\"", -LON),
    ("１０９°１２′３０″Ｅ", LON),  # full width
])
def test_longitudes(text, expected):
    assert parse_degrees(text, "longitude") == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("text,expected", [
    ("N27.4", 27.4),
    ("27.4N", 27.4),
    ("27°24'N", LAT),
    ("北纬27度24分", LAT),
    ("S27.4", -27.4),
    ("27°24'S", -LAT),
    ("南纬27.4", -27.4),
])
def test_latitudes(text, expected):
    assert parse_degrees(text, "latitude") == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("text,axis,reason", [
    ("N27.4", "longitude", "longitude 'N27.4' is marked N, a latitude's hemisphere; are the longitude and "
                           "latitude columns swapped?"),
    ("109.2E", "latitude", "latitude '109.2E' is marked E, a longitude's hemisphere"),
    ("北纬27.4", "longitude", "marked 北纬, a latitude's hemisphere"),
    ("E109.2E", "longitude", "longitude 'E109.2E' names its hemisphere twice"),
    ("E109.2W", "longitude", "names its hemisphere twice"),
    ("-109.2E", "longitude", "longitude '-109.2E' has both a sign and a hemisphere (E); keep one"),
    ("109°75'", "longitude", "longitude \"109°75'\" has 75 minutes; minutes and seconds are under 60"),
    ("109°12'60\"", "longitude", "has 60 seconds; minutes and seconds are under 60"),
    ("109.5°12'", "longitude", "longitude \"109.5°12'\" has a fraction of a degree and minutes; "
                               "write whole degrees and minutes (such as 109°12'30\") or decimal degrees"),
    ("109°12.5'30\"", "longitude", "has a fraction of a minute and seconds"),
    ("109 12 30", "longitude", "longitude '109 12 30' is not a number"),
    ("E", "longitude", "longitude 'E' is not a number"),
    ("109°12'30\"X", "longitude", "is not a number"),
    ("109'12°", "longitude", "is not a number"),
    ("1_09°12'", "longitude", "is not a number"),
    ("109°°", "longitude", "longitude '109°°' is not a number"),
    ("", "longitude", "longitude is empty"),
])
def test_malformed_values_are_rejected_with_the_reason(text, axis, reason):
    with pytest.raises(ValueError) as info:
        parse_degrees(text, axis)
    assert reason in str(info.value)


def test_numbers_pass_through():
    assert parse_degrees(109.2, "longitude") == 109.2
    assert parse_degrees(27, "latitude") == 27.0


def test_the_household_loader_converts_hemispheres_and_dms(tmp_path):
    """E109.2 / N27.4, 109.2E and degrees-minutes-seconds were rejected as not numbers:
    registers copied from survey sheets and phone apps write coordinates that way."""
    path = tmp_path / "h.csv"
    path.write_text(
        "户号,经度,纬度\n"
        "H1,E109.2,N27.4\n"
        "H2,109.2E,27.4N\n"
        "H3,\"109°12'30\"\"E\",27°24'N\n"
        "H4,109度12分30秒,27度24分\n"
        "H5,东经109°12′30″,北纬27°24′\n"
        "H6,N27.4,E109.2\n"
        "H7,109°75',27.4\n",
        encoding="utf-8")
    batch = load_households(path)
    v = batch.valid.set_index("household_no")
    assert v["lon"].round(9).to_dict() == {"H1": 109.2, "H2": 109.2, "H3": round(LON, 9),
                                           "H4": round(LON, 9), "H5": round(LON, 9)}
    assert v["lat"].round(9).to_dict() == {"H1": 27.4, "H2": 27.4, "H3": round(LAT, 9),
                                           "H4": round(LAT, 9), "H5": round(LAT, 9)}
    r = dict(zip(batch.rejects["_row"], batch.rejects["reason"]))
    assert set(r) == {7, 8}
    assert r[7].startswith("经度: longitude 'N27.4' is marked N, a latitude's hemisphere")
    assert "纬度: latitude 'E109.2' is marked E" in r[7]
    assert r[8] == "经度: longitude \"109°75'\" has 75 minutes; minutes and seconds are under 60"


def test_a_western_or_southern_hemisphere_is_a_negative_number_the_outline_check_rejects(tmp_path, square):
    """W and S give negative degrees; for a Chinese county the outline check then rejects them."""
    path = tmp_path / "h.csv"
    path.write_text("户号,经度,纬度\nH1,109.2W,27.36N\nH2,109.2E,27.36S\nH3,109.2E,27.36N\n", encoding="utf-8")
    batch = load_households(path)
    assert batch.ok and batch.valid["lon"].tolist() == [-109.2, 109.2, 109.2]
    assert batch.valid["lat"].tolist() == [27.36, -27.36, 27.36]
    batch = load_households(path, county_outline=square)
    assert batch.valid["household_no"].tolist() == ["H3"]
    assert all("county outline" in reason for reason in batch.rejects["reason"])
