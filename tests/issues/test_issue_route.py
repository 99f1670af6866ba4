"""Manual re-routing (POST /issues/{id}/route), the handler picker (GET /issues/{id}/handlers),
names in issue responses, hotspots in a bbox and /auth/me's id: over HTTP on both back-ends.

Re-routing rule under test: the target cell must be a candidate (a published cell within
max(4 x tolerance, 25 m) of the issue's point) or, for ``cell_key``, a cell of the caller's
scope in the issue's village; a corrected point must fall in a candidate or a cell of the
caller's scope.  Managers only, reported/accepted only, version required.
"""

from __future__ import annotations

from tests.issues.conftest import V1, V2, X0, Y0, D, point
from tests.issues.test_issue_api import API, _act, _count, _report

M_PER_DEG_LON = 111_320 * 0.8886  # cos(27.3 deg)
NEAR_V1_V2 = (X0 + D - 2.0 / M_PER_DEG_LON, Y0 + D / 2)  # in V1's east cell, 2 m from V2
C01, C02 = f"{V1}-M01-C01", f"{V1}-M01-C02"
V2C01, V2C02 = f"{V2}-M01-C01", f"{V2}-M01-C02"


def _route(client, headers, iid, **body):
    return client.post(f"{API}/issues/{iid}/route", json=body, headers=headers)


def _get(client, headers, iid):
    return client.get(f"{API}/issues/{iid}", headers=headers)


def _written(engine) -> int:
    """Audit rows of anything but a read (reading an issue, as the snapshot does, is
    audited too)."""
    from sqlalchemy import text

    with engine.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM audit_log WHERE action <> 'read'")).scalar()


def _snapshot(client, itokens, iid, engine):
    p = _get(client, itokens["admin"], iid).json()
    return (p["geometry"], {k: p["properties"][k] for k in (
        "cell_key", "microgrid_key", "village_code", "near_boundary", "version", "status")},
        _count(engine, "issue_events"), _written(engine))


def test_reroute_near_boundary_to_a_candidate(iclient, itokens, user_ids, engine):
    r = _report(iclient, itokens["cadre1"], where=NEAR_V1_V2)
    assert r.status_code == 201, r.text
    iid, p = r.json()["id"], r.json()["properties"]
    assert p["cell_key"] == C02 and p["near_boundary"] is True
    assert p["may_reroute"] is True
    cands = {c["cell_key"]: c for c in p["route_candidates"]}
    assert set(cands) == {C02, V2C01}
    assert cands[C02]["current"] is True and cands[V2C01]["village_name"] == "二村"
    assert cands[V2C01]["distance_m"] < 5
    audits = _written(engine)

    r = _route(iclient, itokens["cadre1"], iid, cell_key=V2C01, version=1, note="在二村一侧")
    assert r.status_code == 200, r.text
    q = r.json()["properties"]
    assert (q["cell_key"], q["microgrid_key"], q["village_code"]) == (V2C01, f"{V2}-M01", V2)
    assert q["village_name"] == "二村" and q["town_code"] == "431227101000"
    assert q["near_boundary"] is False and q["version"] == 2 and q["status"] == "reported"
    assert q["route_candidates"] == []  # the flag is cleared: nothing left to offer
    ev = q["timeline"][-1]
    assert ev["action"] == "reroute" and ev["actor"] == "cadre1" and ev["note"] == "在二村一侧"
    assert ev["at"] and ev["detail"]["from"]["cell_key"] == C02
    assert ev["detail"]["to"]["cell_key"] == V2C01 and ev["detail"]["by"] == "cell"
    assert _written(engine) == audits  # audit-free
    # V2's east-cell leader does not cover V2's west cell; the V2 scope of town does
    assert _get(iclient, itokens["cadre2c"], iid).status_code == 404
    assert _get(iclient, itokens["town"], iid).status_code == 200


def test_reroute_errors_change_nothing(iclient, itokens, engine):
    iid = _report(iclient, itokens["cadre1"], where=NEAR_V1_V2).json()["id"]
    before = _snapshot(iclient, itokens, iid, engine)
    cases = [
        (itokens["analyst"], dict(cell_key=V2C01, version=1), 403),
        (itokens["planner1"], dict(cell_key=V2C01, version=1), 403),
        (itokens["cell1"], dict(cell_key=V2C01, version=1), 404),  # out of scope
        (itokens["cadre2c"], dict(cell_key=V2C01, version=1), 404),
        (itokens["cadre1"], dict(cell_key=V2C01, version=7), 412),  # stale
        (itokens["cadre1"], dict(cell_key=V2C02, version=1), 422),  # far, not in scope
        (itokens["cadre1"], dict(cell_key="no-such-cell", version=1), 422),
        (itokens["cadre1"], dict(cell_key=V2C01, lon=NEAR_V1_V2[0], lat=NEAR_V1_V2[1], version=1), 422),
        (itokens["cadre1"], dict(version=1), 422),
        (itokens["cadre1"], dict(cell_key=V2C01), 422),  # version is required
        (itokens["cadre1"], dict(lon=X0 - 0.05, lat=Y0 + 0.005, version=1), 422),  # outside county
        (itokens["cadre1"], dict(lon=point(V2, 1)[0], lat=point(V2, 1)[1], version=1), 422),
    ]
    for headers, body, status in cases:
        r = _route(iclient, headers, iid, **body)
        assert r.status_code == status, (body, r.text)
        assert r.json()["detail"]
    assert _snapshot(iclient, itokens, iid, engine) == before


def test_reroute_needs_a_manager_and_an_undispatched_issue(iclient, itokens, user_ids, engine):
    # a village-level issue: the cell leader who reported it sees it but does not manage it
    iid = _report(iclient, itokens["cell1b"], category="disputes", where=NEAR_V1_V2).json()["id"]
    p = _get(iclient, itokens["cell1b"], iid).json()["properties"]
    assert p["may_reroute"] is False and p["route_candidates"] == []
    r = _route(iclient, itokens["cell1b"], iid, cell_key=C01, version=1)
    assert r.status_code == 403
    # once dispatched, routing is fixed: 409
    assert _act(iclient, itokens["cadre1"], iid, "accept", version=1).status_code == 200
    assert _act(iclient, itokens["cadre1"], iid, "dispatch", handler_id=user_ids["cadre1"],
                version=2).status_code == 200
    before = _snapshot(iclient, itokens, iid, engine)
    r = _route(iclient, itokens["cadre1"], iid, cell_key=V2C01, version=3)
    assert r.status_code == 409
    assert _snapshot(iclient, itokens, iid, engine) == before


def test_reroute_by_corrected_point_and_within_own_village(iclient, itokens, user_ids):
    iid = _report(iclient, itokens["cadre1"], where=NEAR_V1_V2).json()["id"]
    lon, lat = point(V1, 0)
    r = _route(iclient, itokens["cadre1"], iid, lon=lon, lat=lat, version=1)
    assert r.status_code == 200, r.text
    f = r.json()
    assert f["geometry"]["coordinates"] == [round(lon, 7), round(lat, 7)]
    q = f["properties"]
    assert q["cell_key"] == C01 and q["near_boundary"] is False and q["version"] == 2
    assert q["boundary_distance_m"] > 100
    ev = q["timeline"][-1]
    assert ev["detail"]["by"] == "point" and ev["detail"]["to"]["lon"] == lon
    # the moved point is found in a bbox query around its new place
    r = iclient.get(f"{API}/issues", params={"bbox": f"{lon - 0.001},{lat - 0.001},{lon + 0.001},{lat + 0.001}"},
                    headers=itokens["cadre1"])
    assert [x["id"] for x in r.json()["features"]] == [iid]
    # not near a boundary: any cell of the caller's scope in the same village
    r = _route(iclient, itokens["cadre1"], iid, cell_key=C02, version=2)
    assert r.status_code == 200 and r.json()["properties"]["cell_key"] == C02
    # the town covers V2 too, but V2 is not the issue's village and not near the point
    r = _route(iclient, itokens["town"], iid, cell_key=V2C01, version=3)
    assert r.status_code == 422
    r = _route(iclient, itokens["town"], iid, cell_key=C01, version=3)
    assert r.status_code == 200
    acts = [e["action"] for e in r.json()["properties"]["timeline"]]
    assert acts == ["report", "reroute", "reroute", "reroute"]


def test_handlers_picker(iclient, itokens, user_ids):
    iid = _report(iclient, itokens["cell1"]).json()["id"]  # V1 west cell, cell level
    r = iclient.get(f"{API}/issues/{iid}/handlers", headers=itokens["cadre1"])
    assert r.status_code == 200, r.text
    got = r.json()
    assert [(h["username"], h["level"]) for h in got] == [("cell1", "cell"), ("cadre1", "village")]
    assert got[0]["id"] == user_ids["cell1"] and got[1]["me"] is True
    names = [h["username"] for h in
             iclient.get(f"{API}/issues/{iid}/handlers", headers=itokens["admin"]).json()]
    assert names == ["cell1", "cadre1", "town", "hotline"]
    assert iclient.get(f"{API}/issues/{iid}/handlers", headers=itokens["analyst"]).status_code == 403
    assert iclient.get(f"{API}/issues/{iid}/handlers", headers=itokens["cadre2c"]).status_code == 404
    assert iclient.get(f"{API}/issues/{iid}/handlers", headers=itokens["cell1b"]).status_code == 404
    assert iclient.get(f"{API}/issues/nope/handlers", headers=itokens["admin"]).status_code == 404
    # a village issue: its cell-level reporter sees it but may not dispatch it
    vid = _report(iclient, itokens["cell1"], category="disputes").json()["id"]
    assert iclient.get(f"{API}/issues/{vid}/handlers", headers=itokens["cell1"]).status_code == 403
    # dispatch to someone picked from the list
    assert _act(iclient, itokens["cadre1"], iid, "accept", version=1).status_code == 200
    r = _act(iclient, itokens["cadre1"], iid, "dispatch", handler_id=got[0]["id"], version=2)
    assert r.status_code == 200, r.text
    p = r.json()["properties"]
    assert p["handler_name"] == "cell1" and p["reporter_name"] == "cell1"
    assert p["village_name"] == "一村"
    r = iclient.get(f"{API}/issues/{iid}/handlers", headers=itokens["cadre1"]).json()
    assert [h["current"] for h in r] == [True, False]


def test_names_in_lists_and_inbox_contact_masked(iclient, itokens, user_ids):
    iid = _report(iclient, itokens["cadre1"], contact_name="王小明",
                  contact_phone="13812345678").json()["id"]
    assert _act(iclient, itokens["cadre1"], iid, "accept", version=1).status_code == 200
    assert _act(iclient, itokens["cadre1"], iid, "dispatch", handler_id=user_ids["cell1"],
                version=2).status_code == 200
    lst = iclient.get(f"{API}/issues", headers=itokens["cadre1"]).json()["features"]
    p = lst[0]["properties"]
    assert (p["reporter_name"], p["handler_name"], p["village_name"]) == ("cadre1", "cell1", "一村")
    assert "contact_phone" not in p and "13812345678" not in str(lst)
    inbox = iclient.get(f"{API}/issues/inbox", headers=itokens["cell1"]).json()["features"]
    assert inbox[0]["properties"]["handler_name"] == "cell1"
    d = _get(iclient, itokens["cadre1"], iid).json()["properties"]
    assert d["contact_phone"] != "13812345678" and d["reporter_name"] == "cadre1"


def test_hotspots_bbox(iclient, itokens):
    assert _report(iclient, itokens["hotline"], where=point(V1, 0)).status_code == 201
    assert _report(iclient, itokens["hotline"], where=point(V2, 1)).status_code == 201

    def total(**params):  # an admin's: an analyst's lone issues are suppressed (test_privacy_review_3)
        r = iclient.get(f"{API}/issues/hotspots", params=params, headers=itokens["admin"])
        assert r.status_code == 200, r.text
        return sum(f["properties"]["issues"] for f in r.json()["features"])

    assert total() == 2
    assert total(bbox=f"{X0},{Y0},{X0 + D},{Y0 + D}") == 1
    assert total(bbox=f"{X0 - 1},{Y0 - 1},{X0 - 0.5},{Y0 - 0.5}") == 0
    r = iclient.get(f"{API}/issues/hotspots", params={"bbox": "1,2,3"}, headers=itokens["analyst"])
    assert r.status_code == 422


def test_auth_me_has_the_user_id(iclient, itokens, user_ids):
    r = iclient.get(f"{API}/auth/me", headers=itokens["cadre1"])
    assert r.status_code == 200 and r.json()["id"] == user_ids["cadre1"]
    assert r.json()["username"] == "cadre1"
