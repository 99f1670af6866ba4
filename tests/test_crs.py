"""Coordinate conversions at the edges, checked against an independent implementation."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from geogrid import crs
from geogrid.errors import CRSError

prcoords = pytest.importorskip("prcoords")

china_lon = st.floats(min_value=74.0, max_value=134.0)
china_lat = st.floats(min_value=18.0, max_value=53.0)


@given(china_lon, china_lat)
@settings(max_examples=200, deadline=None)
def test_forward_matches_prcoords(lon, lat):
    g = prcoords.wgs_gcj((lat, lon))
    glon, glat = crs.wgs84_to_gcj02([lon], [lat])
    assert glon[0] == pytest.approx(g[1], abs=1e-9)
    assert glat[0] == pytest.approx(g[0], abs=1e-9)
    b = prcoords.gcj_bd(g)
    blon, blat = crs.gcj02_to_bd09(glon, glat)
    assert blon[0] == pytest.approx(b[1], abs=1e-9)
    assert blat[0] == pytest.approx(b[0], abs=1e-9)


def _metres(dlon, dlat, lat):
    return np.hypot(dlon * 111_320 * np.cos(np.radians(lat)), dlat * 110_540)


@given(china_lon, china_lat)
@settings(max_examples=200, deadline=None)
def test_inverse_is_centimetre_accurate(lon, lat):
    for fwd, inv in ((crs.wgs84_to_gcj02, crs.gcj02_to_wgs84), (crs.wgs84_to_bd09, crs.bd09_to_wgs84)):
        back_lon, back_lat = inv(*fwd([lon], [lat]))
        assert _metres(back_lon[0] - lon, back_lat[0] - lat, lat) < 0.01


def test_one_step_inverse_would_be_metres_off():
    """The reason for iterating: the textbook inverse w = 2g - f(g) misses by metres."""
    lon, lat = np.array([109.2]), np.array([27.36])
    glon, glat = crs.wgs84_to_gcj02(lon, lat)
    flon, flat = crs.wgs84_to_gcj02(glon, glat)
    one_step = _metres(2 * glon - flon - lon, 2 * glat - flat - lat, lat)[0]
    ilon, ilat = crs.gcj02_to_wgs84(glon, glat)
    iterated = _metres(ilon - lon, ilat - lat, lat)[0]
    assert one_step > 0.5 and iterated < 0.001  # about 1 m against 0.1 mm


def test_offset_is_hundreds_of_metres_in_xinhuang():
    glon, glat = crs.wgs84_to_gcj02([109.2], [27.36])
    assert 300 < _metres(glon[0] - 109.2, glat[0] - 27.36, 27.36) < 800


def test_outside_china_passes_through():
    lon, lat = crs.wgs84_to_gcj02([2.35], [48.85])
    assert (lon[0], lat[0]) == (2.35, 48.85)


@pytest.mark.parametrize("name,expected", [("WGS84", "wgs84"), ("EPSG:4490", "cgcs2000"), ("AMap", "gcj02"), ("bd-09", "bd09")])
def test_normalize(name, expected):
    assert crs.normalize_crs(name) == expected


def test_unknown_crs_says_what_to_use():
    with pytest.raises(CRSError, match="gcj02"):
        crs.normalize_crs("EPSG:3857x")


def test_geometry_round_trip():
    import shapely

    poly = shapely.box(109.1, 27.2, 109.2, 27.3)
    back = crs.geometry_to_wgs84(crs.geometry_from_wgs84(poly, "gcj02"), "gcj02")
    assert shapely.hausdorff_distance(poly, back) < 1e-9


def test_local_metric_crs_rejects_non_degrees():
    with pytest.raises(CRSError):
        crs.local_metric_crs(500000.0, 3000000.0)
