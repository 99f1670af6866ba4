"""Open311 GeoReport v2 against a real server on loopback, through the `georeport`
client from PyPI (GET calls, JSON and XML).  georeport has no call for creating a
request, so POST goes through `requests` exactly as the spec describes (form-encoded,
and multipart with a `media` photo), and its XML is read with xmltodict as georeport does.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
import requests
import uvicorn
import xmltodict
from georeport import GeoReport

from tests.issues.conftest import COUNTY, V1, X0, Y0, png_bytes, point


@pytest.fixture
def server(issue_app):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    srv = uvicorn.Server(uvicorn.Config(issue_app, host="127.0.0.1", port=port,
                                        log_level="warning", lifespan="on"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}/open311/v2"
    srv.should_exit = True
    t.join(10)


@pytest.fixture
def api_key(iclient, itokens):
    r = iclient.post("/api/v1/api-keys", json={"username": "hotline", "name": "12345 hotline"},
                     headers=itokens["admin"])
    assert r.status_code == 201, r.text
    return r.json()["api_key"]


def _post(base, fmt="json", files=None, **fields):
    return requests.post(f"{base}/requests.{fmt}", data=fields, files=files, timeout=30)


def test_services_json_and_xml(server):
    services = GeoReport(server).get_service_list()
    assert [s["service_code"] for s in services][:3] == ["sanitation", "roads_lights", "rivers_water"]
    assert services[0]["metadata"] is False and services[0]["type"] == "realtime"
    xml = GeoReport(server, output_format="xml").get_service_list()
    assert [s["service_code"] for s in xml] == [s["service_code"] for s in services]
    definition = GeoReport(server).get_service_definition("disputes")
    assert definition["service_code"] == "disputes" and definition["attributes"] == []
    assert GeoReport(server, output_format="xml").get_service_definition("care")["service_code"] == "care"
    with pytest.raises(requests.HTTPError) as err:
        GeoReport(server).get_service_definition("nope")
    assert err.value.response.status_code == 404
    assert err.value.response.json()[0]["code"] == 404


def test_post_and_read_back(server, api_key, engine):
    lon, lat = point(V1, 1)
    r = _post(server, api_key=api_key, service_code="roads_lights", lat=lat, long=lon,
              description="路灯不亮", address_string="一村2组", first_name="王", last_name="小明",
              phone="13812345678", jurisdiction_id=COUNTY)
    assert r.status_code == 200, r.text
    rid = r.json()[0]["service_request_id"]
    client = GeoReport(server)
    got = client.get_service_request(rid)
    assert got["service_request_id"] == rid and got["status"] == "open"
    assert got["service_code"] == "roads_lights" and got["description"] == "路灯不亮"
    assert abs(got["lat"] - lat) < 1e-6 and abs(got["long"] - lon) < 1e-6
    assert "13812345678" not in str(got)
    listed = client.get_service_requests(service_code="roads_lights", status="open")
    assert [x["service_request_id"] for x in listed] == [rid]
    assert client.get_service_requests(status="closed") == []
    xml = GeoReport(server, output_format="xml").get_service_request(rid)
    assert xml["service_request_id"] == rid and xml["status"] == "open"
    # the XML POST answer, read as georeport reads XML
    r = _post(server, "xml", api_key=api_key, service_code="sanitation", lat=lat, long=lon,
              files={"media": ("p.png", png_bytes(), "image/png")})
    assert r.status_code == 200, r.text
    doc = xmltodict.parse(r.content)["service_requests"]["request"]
    assert len(doc["service_request_id"]) == 32
    from sqlalchemy import text

    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM issue_photos")).scalar() == 1
        assert conn.execute(text("SELECT source FROM issues WHERE id = :i"),
                            {"i": rid}).scalar() == "open311"


def test_private_categories_need_a_key(server, api_key):
    lon, lat = point(V1, 0)
    rid = _post(server, api_key=api_key, service_code="care", lat=lat, long=lon,
                description="独居老人需要探视").json()[0]["service_request_id"]
    public = GeoReport(server)
    assert public.get_service_requests() == []
    r = requests.get(f"{server}/requests/{rid}.json", timeout=30)
    assert r.status_code == 404
    r = requests.get(f"{server}/requests/{rid}.json", params={"api_key": api_key}, timeout=30)
    assert r.status_code == 200 and r.json()[0]["service_request_id"] == rid


@pytest.mark.parametrize("fields,code", [
    ({"service_code": "sanitation", "lat": Y0 + 0.005, "long": X0 + 0.002}, 403),  # no key
    ({"api_key": "g311_wrong", "service_code": "sanitation", "lat": Y0 + 0.005,
      "long": X0 + 0.002}, 403),
    ({"service_code": "sanitation"}, 400),  # no point
    ({"service_code": "sanitation", "lat": Y0 + 0.005, "long": X0 - 0.5}, 400),  # outside
    ({"service_code": "nope", "lat": Y0 + 0.005, "long": X0 + 0.002}, 404),
])
def test_post_errors_follow_the_spec(server, api_key, engine, fields, code):
    if "api_key" not in fields and code != 403:
        fields = {**fields, "api_key": api_key}
    for fmt in ("json", "xml"):
        r = _post(server, fmt, **fields)
        assert r.status_code == code, r.text
        if fmt == "json":
            err = r.json()[0]
        else:
            err = xmltodict.parse(r.content)["errors"]["error"]
        assert int(err["code"]) == code and err["description"]
    from sqlalchemy import text

    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM issues")).scalar() == 0


def test_revoked_key_is_refused(server, api_key, iclient, itokens):
    keys = iclient.get("/api/v1/api-keys", headers=itokens["admin"]).json()
    assert keys[0]["username"] == "hotline" and "api_key" not in keys[0]
    iclient.delete(f"/api/v1/api-keys/{keys[0]['id']}", headers=itokens["admin"])
    lon, lat = point(V1, 0)
    r = _post(server, api_key=api_key, service_code="sanitation", lat=lat, long=lon)
    assert r.status_code == 403


def test_a_rejected_request_tells_the_hotline_why_in_chinese(server, api_key, iclient, itokens):
    """The 12345 hotline reads the answer to pass to the caller in status_notes: a
    rejected request said "rejected: invalid" (English, and a code), and the village
    cadre's explanation was dropped; an open one said "in_progress".  The notes are now
    Chinese, and a rejection's explanation is its answer (reply), on the map too."""
    lon, lat = point(V1, 1)
    r = _post(server, api_key=api_key, service_code="roads_lights", lat=lat, long=lon,
              description="路灯不亮", jurisdiction_id=COUNTY)
    rid = r.json()[0]["service_request_id"]
    assert GeoReport(server).get_service_request(rid)["status_notes"] == "已上报"
    why = "经核实该路段路灯归公路部门管理，已转告来电人拨打公路服务热线"
    r = iclient.post(f"/api/v1/issues/{rid}/transitions", headers=itokens["cadre1"],
                     json={"action": "reject", "reason": "invalid", "note": why})
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["reply"] == why
    got = GeoReport(server).get_service_request(rid)
    assert got["status"] == "closed"
    assert got["status_notes"] == f"不予受理（无效）：{why}", got["status_notes"]
