"""督办 marks work that is overdue and still open: once the issue is finished (resolved,
verified, closed, rated, or not taken up) it is no longer under supervision.

Before, the ``supervised`` flag the sweep set stayed on for good: a resolved or closed
issue still said ``supervised: true`` (the map's 督 badge on its pin, 督办 in its panel)
and ``GET /issues?supervised=true`` (the map's 仅看督办) still listed it beside the work
a cadre had to chase.  The timeline keeps the ``supervise`` step: that it was supervised
is its history.
"""

from __future__ import annotations

from tests.issues.conftest import V1, png_bytes, point

API = "/api/v1"


def _act(client, headers, iid, action, **body):
    r = client.post(f"{API}/issues/{iid}/transitions", json={"action": action, **body}, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["properties"]


def _report(client, headers, description):
    lon, lat = point(V1, 0)
    r = client.post(f"{API}/issues", headers=headers,
                    json={"category": "sanitation", "lon": lon, "lat": lat, "description": description})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _supervised_ids(client, headers):
    r = client.get(f"{API}/issues", params={"supervised": "true"}, headers=headers)
    assert r.status_code == 200, r.text
    return {f["id"] for f in r.json()["features"]}


def _props(client, headers, iid):
    r = client.get(f"{API}/issues/{iid}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["properties"]


def test_a_finished_issue_is_no_longer_under_supervision(iclient, itokens, user_ids, clock):
    cadre, cell1 = itokens["cadre1"], itokens["cell1"]
    done = _report(iclient, cadre, "垃圾堆放在路边")
    _act(iclient, cadre, done, "accept")
    _act(iclient, cadre, done, "dispatch", handler_id=user_ids["cell1"])
    rejected = _report(iclient, cadre, "同一堆垃圾")
    still = _report(iclient, cadre, "路灯不亮")

    clock.advance(days=3, hours=1)  # sanitation is due in 3 days
    r = iclient.post(f"{API}/issues/supervision", headers=itokens["admin"])
    assert set(r.json()["supervised"]) == {done, rejected, still}
    assert _supervised_ids(iclient, cadre) == {done, rejected, still}
    assert _props(iclient, cadre, done)["supervised"] is True

    # the handler finishes one, the cadre declines another
    _act(iclient, cell1, done, "start")
    r = iclient.post(f"{API}/issues/{done}/photos", headers=cell1, data={"kind": "proof"},
                     files={"file": ("fix.png", png_bytes(), "image/png")})
    assert r.status_code == 201, r.text
    p = _act(iclient, cell1, done, "resolve", note="已清理")
    assert p["supervised"] is False and p["supervision_level"] is None, p
    _act(iclient, cadre, rejected, "reject", reason="duplicate", duplicate_of=done, note="同一处")

    # the list, its 仅看督办 filter and the issue itself agree: only the open one
    assert _supervised_ids(iclient, cadre) == {still}
    r = iclient.get(f"{API}/issues", params={"supervised": "false"}, headers=cadre)
    assert {done, rejected} <= {f["id"] for f in r.json()["features"]}
    listed = {f["id"]: f["properties"] for f in iclient.get(f"{API}/issues", headers=cadre).json()["features"]}
    assert [listed[i]["supervised"] for i in (done, rejected, still)] == [False, False, True]
    for action in ("verify", "close"):
        p = _act(iclient, cadre, done, action, note="已清理，谢谢反映")
        assert p["supervised"] is False, (action, p)
    p = _props(iclient, cadre, done)
    assert p["status"] == "closed" and p["supervised"] is False and p["supervision_level"] is None
    # its history still says it was supervised
    assert "supervise" in [e["action"] for e in p["timeline"]]
