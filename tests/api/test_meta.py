"""``GET /api/v1/config`` publishes the disclosure limits the aggregates follow, so the web
map reads them from the API instead of keeping copies that could drift
(web_map/js/disclosure.js)."""

from __future__ import annotations

from geogrid.api import disclosure


def test_config_publishes_the_disclosure_limits_the_aggregates_use(client, tokens):
    r = client.get("/api/v1/config")  # no log-in: the map reads it before one
    assert r.status_code == 200, r.text
    published = r.json()["disclosure"]
    assert published == {"min_bin": disclosure.MIN_BIN,
                         "suppression_resolution": disclosure.SUPPRESSION_RESOLUTION}

    # and they are the limits an analyst's aggregate is answered with: asked for a finer
    # resolution, at the published one; a hexagon of fewer than min_bin households withheld
    agg = client.get("/api/v1/households/aggregate", params={"resolution": 10},
                     headers=tokens["analyst"]).json()
    assert agg["resolution"] == published["suppression_resolution"]
    hexes = [f["properties"] for f in agg["features"]]
    assert hexes
    for p in hexes:
        withheld = p["households"] < published["min_bin"]
        assert p["suppressed"] == (p["households"] if withheld else 0), p
