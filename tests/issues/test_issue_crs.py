"""A point reported in a phone map's coordinates (GCJ-02 from AMap, Tencent or WeChat;
BD-09 from Baidu) is converted to WGS84 at the edge, as imported registers are.

Before, POST /issues took lon/lat as WGS84 only, with no way to say otherwise: a
GCJ-02 point, several hundred metres off, was routed to the wrong cell or village (or
refused as outside the reporter's scope) and stored off its place.
"""

from __future__ import annotations

import pytest

from geogrid import crs
from tests.issues.conftest import V1, point
from tests.issues.test_issue_api import API


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_a_phone_maps_point_is_routed_where_it_is(iclient, itokens, system):
    lon, lat = point(V1, 0)
    (x,), (y,) = crs.from_wgs84([lon], [lat], system)
    assert abs(x - lon) > 0.002  # hundreds of metres off: another cell taken as WGS84
    r = iclient.post(f"{API}/issues", headers=itokens["cadre1"], json={
        "category": "sanitation", "lon": float(x), "lat": float(y), "crs": system,
        "description": "手机地图上取的位置"})
    assert r.status_code == 201, r.text
    f = r.json()
    assert f["properties"]["cell_key"] == f"{V1}-M01-C01", f["properties"]
    got_lon, got_lat = f["geometry"]["coordinates"]
    assert abs(got_lon - lon) < 1e-6 and abs(got_lat - lat) < 1e-6, (got_lon, got_lat, lon, lat)


def test_an_unknown_coordinate_system_is_refused(iclient, itokens):
    lon, lat = point(V1, 0)
    r = iclient.post(f"{API}/issues", headers=itokens["cadre1"], json={
        "category": "sanitation", "lon": lon, "lat": lat, "crs": "mars", "description": "x"})
    assert r.status_code == 422, r.text


def test_duplicates_are_looked_for_where_a_phone_maps_point_is(iclient, itokens):
    """A client that reports in GCJ-02 asks for possible duplicates first with the same
    point: GET /issues/duplicates takes crs too (before: the point was taken as WGS84,
    hundreds of metres off, and the issue next door was not found)."""
    lon, lat = point(V1, 0)
    r = iclient.post(f"{API}/issues", headers=itokens["cadre1"], json={
        "category": "sanitation", "lon": lon, "lat": lat, "description": "先报的"})
    assert r.status_code == 201, r.text
    (x,), (y,) = crs.from_wgs84([lon], [lat], "gcj02")
    r = iclient.get(f"{API}/issues/duplicates", headers=itokens["cadre1"], params={
        "category": "sanitation", "lon": float(x), "lat": float(y), "crs": "gcj02"})
    assert r.status_code == 200, r.text
    assert [d["distance_m"] < 1 for d in r.json()] == [True], r.json()


@pytest.mark.parametrize("system", ["gcj02", "bd09"])
def test_a_point_corrected_in_a_phone_maps_coordinates_is_converted_too(iclient, itokens, system):
    """POST /issues/{id}/route takes a corrected point: a client that reports in GCJ-02
    corrects in GCJ-02 too.  Before, the route took lon/lat as WGS84 only and refused
    ``crs`` (422), so such a client's correction went in hundreds of metres off, in
    another cell or in none; it takes ``crs`` now as a report does, and stores WGS84."""
    from tests.issues.test_issue_route import NEAR_V1_V2, _route
    from tests.issues.test_issue_api import _report

    iid = _report(iclient, itokens["cadre1"], where=NEAR_V1_V2).json()["id"]
    lon, lat = point(V1, 0)
    (x,), (y,) = crs.from_wgs84([lon], [lat], system)
    r = _route(iclient, itokens["cadre1"], iid, lon=float(x), lat=float(y), crs=system, version=1)
    assert r.status_code == 200, r.text
    f = r.json()
    assert f["properties"]["cell_key"] == f"{V1}-M01-C01", f["properties"]
    got_lon, got_lat = f["geometry"]["coordinates"]
    assert abs(got_lon - lon) < 1e-6 and abs(got_lat - lat) < 1e-6, (got_lon, got_lat, lon, lat)
    r = _route(iclient, itokens["cadre1"], iid, lon=lon, lat=lat, crs="mars", version=2)
    assert r.status_code == 422, r.text
