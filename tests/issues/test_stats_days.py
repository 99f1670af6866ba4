"""``since`` and ``until`` of the issue statistics are days of China time, as the
periods are: an issue reported at 01:00 in China on 4 March (17:00 UTC on the 3rd) is
of 4 March, both in ``period=day`` and in ``since=2025-03-04``."""

from __future__ import annotations

from tests.issues.conftest import V1, point

API = "/api/v1"


def _report(client, headers):
    lon, lat = point(V1, 0)
    r = client.post(f"{API}/issues", json={"category": "sanitation", "lon": lon, "lat": lat,
                                            "description": "垃圾堆放在路边"}, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _total(client, headers, **params):
    r = client.get(f"{API}/issues/stats", params={"by": "", **params}, headers=headers)
    assert r.status_code == 200, r.text
    return sum(row["count"] for row in r.json()["counts"]), r.json()


def test_since_and_until_are_china_days(iclient, itokens, clock):
    cadre = itokens["cadre1"]
    _report(iclient, cadre)  # T0: Monday 3 March, 09:00 in China (01:00 UTC)
    clock.advance(hours=16)  # Tuesday 4 March, 01:00 in China (17:00 UTC on the 3rd)
    _report(iclient, cadre)
    assert _total(iclient, cadre)[0] == 2
    # the second is of 4 March, as period=day labels it
    _, got = _total(iclient, cadre, period="day")
    assert sorted(row["period"] for row in got["counts"]) == ["2025-03-03", "2025-03-04"]
    assert _total(iclient, cadre, since="2025-03-04")[0] == 1
    assert _total(iclient, cadre, until="2025-03-04")[0] == 1
    assert _total(iclient, cadre, since="2025-03-03", until="2025-03-04")[0] == 1
    assert _total(iclient, cadre, since="2025-03-05")[0] == 0
