"""How long an open issue has left, or how long it is overdue, on the server's clock.

The map wrote "超期 N 天" from the deadline and the phone's own clock, rounding up: an
issue two hours overdue read 超期 1 天, one due in two hours 剩余 1 天.  The API now says
``due_in_s`` (seconds to the deadline while open, negative when overdue, None once the
issue is no longer open), on the same clock as its ``overdue`` flag, and the map words it
rounded down (tests/browser/test_issue_overdue_time.py).
"""

from __future__ import annotations

from tests.issues.conftest import V1, point

API = "/api/v1"


def test_due_in_s_counts_the_time_to_the_deadline_and_past_it(iclient, itokens, clock):
    lon, lat = point(V1, 0)
    h = itokens["cadre1"]
    r = iclient.post(f"{API}/issues", headers=h,
                     json={"category": "sanitation", "lon": lon, "lat": lat, "description": "垃圾"})
    assert r.status_code == 201, r.text
    iid, p = r.json()["id"], r.json()["properties"]
    assert p["due_in_s"] == 3 * 86400 and p["overdue"] is False  # sanitation: 3 days

    clock.advance(days=3, hours=2)
    p = iclient.get(f"{API}/issues/{iid}", headers=h).json()["properties"]
    assert p["overdue"] is True and p["due_in_s"] == -2 * 3600, p
    listed = iclient.get(f"{API}/issues", headers=h).json()["features"]
    assert [f["properties"]["due_in_s"] for f in listed if f["id"] == iid] == [-7200]

    clock.advance(seconds=-7200)  # due this very second: not yet overdue
    p = iclient.get(f"{API}/issues/{iid}", headers=h).json()["properties"]
    assert p["overdue"] is False and p["due_in_s"] == 0
    clock.advance(microseconds=500_000)  # half a second late: overdue, and negative
    p = iclient.get(f"{API}/issues/{iid}", headers=h).json()["properties"]
    assert p["overdue"] is True and p["due_in_s"] == -1

    r = iclient.post(f"{API}/issues/{iid}/transitions", headers=h,
                     json={"action": "reject", "reason": "invalid", "note": "不属于受理范围"})
    assert r.status_code == 200, r.text
    assert r.json()["properties"]["due_in_s"] is None  # no longer open: no time runs
