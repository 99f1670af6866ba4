"""With two counties in one database, a county's planners copy and publish their own
county's plans only.

Every county's plans are listed to everyone (their names and counts), but before, a
county-wide planner of one county could publish another county's draft, which
archived that county's published plan, and a new draft without ``from_plan`` copied
the newest published plan of any county (noticed by the second privacy review).
Now both are refused by name (403: the plan is listed, so its existence is no secret),
and a new draft copies the newest published plan of the caller's own county.
"""

from __future__ import annotations

from tests.api.conftest import COUNTY
from tests.api.test_privacy_review_2 import OTHER, OTHER_VILLAGE, _token, other_county  # noqa: F401

API = "/api/v1"


def _plan_of_the_other_county(engine, status: str, household: str) -> str:
    """A plan of county OTHER (one micro-grid, one cell of its one household), saved
    now: the newest."""
    import geopandas as gpd
    from shapely.geometry import box

    from geogrid.db.engine import session_scope
    from geogrid.db.plans import save_partition

    from shapely.geometry import Point

    sq = box(116.30, 39.90, 116.31, 39.91)

    class Result:
        households = gpd.GeoDataFrame({"household_id": [household], "microgrid_id": [f"{OTHER_VILLAGE}-M01"],
                                       "cell_id": [f"{OTHER_VILLAGE}-M01-C01"]},
                                      geometry=[Point(116.305, 39.905)], crs=4326)
        microgrids = gpd.GeoDataFrame({"microgrid_id": [f"{OTHER_VILLAGE}-M01"], "village_code": [OTHER_VILLAGE],
                                       "households": [1], "area_km2": [1.2]}, geometry=[sq], crs=4326)
        cells = gpd.GeoDataFrame({"cell_id": [f"{OTHER_VILLAGE}-M01-C01"], "microgrid_id": [f"{OTHER_VILLAGE}-M01"],
                                  "village_code": [OTHER_VILLAGE], "households": [1]}, geometry=[sq], crs=4326)

    with session_scope(engine, write=True) as s:
        return save_partition(s, Result, f"东城区 {status}", {"max_households": 20}, county_code=OTHER,
                              status=status).id


def _status(client, headers, pid) -> str:
    r = client.get(f"{API}/plans/{pid}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()["status"]


def test_a_planner_copies_and_publishes_only_their_own_countys_plans(client, tokens, engine, world,
                                                                     other_county):
    ours = world.plan_id
    household = other_county[0]
    theirs = _plan_of_the_other_county(engine, "published", household)
    their_draft = _plan_of_the_other_county(engine, "draft", household)
    planner = tokens["planner"]  # area:431227, county-wide
    # a new draft is a copy of the planner's own county's published plan, though the
    # other county's was published later
    r = client.post(f"{API}/plans", json={"name": "ours"}, headers=planner)
    assert r.status_code == 201, r.text
    assert r.json()["parent_plan_id"] == ours and r.json()["county_code"] == COUNTY
    # the other county's plans: neither copied nor published, by name
    r = client.post(f"{API}/plans", json={"name": "theirs", "from_plan": theirs}, headers=planner)
    assert r.status_code == 403 and f"county {OTHER}" in r.text, r.text
    etag = client.get(f"{API}/plans/{their_draft}", headers=planner).headers["ETag"]
    r = client.post(f"{API}/plans/{their_draft}/publish", headers={**planner, "If-Match": etag})
    assert r.status_code == 403 and f"county {OTHER}" in r.text, r.text
    assert _status(client, planner, their_draft) == "draft" and _status(client, planner, theirs) == "published"
    # the other county's own planner does both; so does an admin
    theirs_planner = _token(engine, "dongcheng", "planner", [f"area:{OTHER}"])
    r = client.post(f"{API}/plans", json={"name": "theirs"}, headers=theirs_planner)
    assert r.status_code == 201 and r.json()["parent_plan_id"] == theirs, r.text
    r = client.post(f"{API}/plans/{their_draft}/publish", headers={**theirs_planner, "If-Match": etag})
    assert r.status_code == 200, r.text
    assert _status(client, planner, their_draft) == "published" and _status(client, planner, theirs) == "archived"
    assert _status(client, planner, ours) == "published"  # our county's plan stays
    r = client.post(f"{API}/plans", json={"name": "any", "from_plan": their_draft}, headers=tokens["admin"])
    assert r.status_code == 201, r.text


def test_a_village_planner_copies_their_countys_plan():
    """A planner of some villages (no county-wide scope) covers their villages' county."""
    from geogrid.api.scope import Scope

    village = Scope(village_codes=frozenset({"431227101001"}))
    assert village.covers_county("431227") and not village.covers_county(OTHER)
    leader = Scope(microgrid_keys=frozenset({"431227101001-M02"}))
    assert leader.covers_county("431227") and not leader.covers_county(OTHER)
    county = Scope(unrestricted=True, outside=frozenset({OTHER, OTHER_VILLAGE}))
    assert county.covers_county("431227") and not county.covers_county(OTHER)
    assert Scope(unrestricted=True).covers_county(OTHER)  # an admin's, or one county stored
    assert county.covers_county("")  # a plan saved before counties were kept
