"""Re-running the partition for one micro-grid through the API (needs geogrid.partition)."""

import pytest

from tests.api.conftest import V1, V2


def test_repartition_one_microgrid(client, tokens, world):
    pytest.importorskip("geogrid.partition")
    r = client.post("/api/v1/plans", json={"name": "rerun"}, headers=tokens["planner"])
    plan = r.json()
    mgs = {f["properties"]["microgrid_key"]: f for f in client.get(
        f"/api/v1/microgrids?plan={plan['id']}", headers=tokens["planner"]).json()["features"]}
    before_v2 = client.get(f"/api/v1/cells?plan={plan['id']}&microgrid={mgs[f'{V2}-M01']['id']}",
                           headers=tokens["planner"]).json()
    r = client.post(f"/api/v1/plans/{plan['id']}/repartition",
                    json={"microgrids": [mgs[f"{V1}-M01"]["id"]]},
                    headers={**tokens["planner"], "If-Match": plan["etag"]})
    assert r.status_code == 200, r.text
    assert r.json()["households"] == 6
    after_v2 = client.get(f"/api/v1/cells?plan={plan['id']}&microgrid={mgs[f'{V2}-M01']['id']}",
                          headers=tokens["planner"]).json()
    strip = lambda fc: sorted((f["id"], str(f["geometry"]), f["properties"]["households"]) for f in fc["features"])  # noqa: E731
    assert strip(before_v2) == strip(after_v2)  # the other micro-grid is untouched
    counts = client.get(f"/api/v1/plans/{plan['id']}", headers=tokens["planner"]).json()["counts"]
    assert counts["households"] == 12


def test_a_geos_error_in_an_edit_is_a_422_that_changes_nothing(client, tokens, world, monkeypatch):
    """Whatever polygon GEOS chokes on, a plan edit answers 4xx with what to do, never
    500, and the transaction is rolled back (same ETag, same cells)."""
    pytest.importorskip("geogrid.partition")
    import shapely.errors

    import geogrid.partition

    def broken(*args, **kwargs):
        raise shapely.errors.GEOSException("TopologyException: side location conflict at 1 2")

    monkeypatch.setattr(geogrid.partition, "repartition", broken)
    plan = client.post("/api/v1/plans", json={"name": "rerun"}, headers=tokens["planner"]).json()
    mg = {f["properties"]["microgrid_key"]: f["id"] for f in client.get(
        f"/api/v1/microgrids?plan={plan['id']}", headers=tokens["planner"]).json()["features"]}[f"{V1}-M01"]
    cells = client.get(f"/api/v1/cells?plan={plan['id']}", headers=tokens["planner"]).json()["features"]
    r = client.post(f"/api/v1/plans/{plan['id']}/repartition", json={"microgrids": [mg]},
                    headers={**tokens["planner"], "If-Match": plan["etag"]})
    assert r.status_code == 422, r.text
    assert "side location conflict" in r.json()["detail"] and "nothing was changed" in r.json()["detail"]
    assert client.get(f"/api/v1/plans/{plan['id']}", headers=tokens["planner"]).headers["etag"] == plan["etag"]
    assert client.get(f"/api/v1/cells?plan={plan['id']}", headers=tokens["planner"]).json()["features"] == cells
