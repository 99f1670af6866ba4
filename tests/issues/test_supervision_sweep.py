"""Overdue issues are supervised (督办) by the server itself, without anyone asking.

Before, the sweep that flags them ran only when an administrator called
``POST /issues/supervision`` (its summary said "run by a scheduler", but there was none:
no command, no timer, no button on the map), so a deployed county never saw an issue
supervised: no 督 badge, no supervising level, no ``supervise`` step in the timeline.
"""

from __future__ import annotations

import time

import pytest

from tests.issues.conftest import SECRET, V1, point

API = "/api/v1"


@pytest.fixture
def sweeping_app(engine, db_url, iworld, clock, tmp_path):
    from geogrid.api import create_app
    from geogrid.issues.config import IssueSettings
    from geogrid.settings import Settings

    settings = Settings(database_url=db_url, secret_key=SECRET, demo=False,
                        sqlite_busy_timeout_ms=10_000, data_dir=tmp_path / "data")
    return create_app(settings, engine=engine, clock=clock,
                      issue_settings=IssueSettings(supervision_interval_s=0.2))


def _props(client, headers, iid):
    r = client.get(f"{API}/issues/{iid}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["properties"]


def test_the_server_supervises_overdue_issues_on_its_own(sweeping_app, itokens, user_ids, clock):
    from fastapi.testclient import TestClient

    with TestClient(sweeping_app) as c:
        lon, lat = point(V1, 0)
        r = c.post(f"{API}/issues", headers=itokens["cadre1"],
                   json={"category": "sanitation", "lon": lon, "lat": lat, "description": "垃圾"})
        assert r.status_code == 201, r.text
        iid = r.json()["id"]
        for action, extra in (("accept", {}), ("dispatch", {"handler_id": user_ids["cell1"]})):
            r = c.post(f"{API}/issues/{iid}/transitions", headers=itokens["cadre1"],
                       json={"action": action, **extra})
            assert r.status_code == 200, r.text
        time.sleep(0.5)  # a sweep or two: nothing is due yet
        assert _props(c, itokens["cadre1"], iid)["supervised"] is False

        clock.advance(days=3, hours=1)  # sanitation is due in 3 days
        deadline = time.monotonic() + 15
        while not (p := _props(c, itokens["cadre1"], iid))["supervised"] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert p["supervised"] is True and p["supervision_level"] == "village", p
        time.sleep(0.5)  # later sweeps add nothing while the level stays the same
        steps = [e["action"] for e in _props(c, itokens["cadre1"], iid)["timeline"]]
        assert steps.count("supervise") == 1, steps
        inbox = c.get(f"{API}/issues/inbox", headers=itokens["cadre1"]).json()
        assert ("supervise", iid) in {(f["properties"]["reason"], f["id"]) for f in inbox["features"]}

