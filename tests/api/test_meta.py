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


def test_config_gives_the_web_map_the_basemap_by_its_name(db_url, api_settings):
    """GEOGRID_BASEMAP=OSM (or OpenStreetMap) drew OpenStreetMap under explore() but no
    basemap at all on the web map, which knows only the lower-case names: the config
    gives the name as geogrid.basemaps reads it."""
    from fastapi.testclient import TestClient

    from geogrid.api import create_app
    from geogrid.settings import Settings

    from tests.api.conftest import SECRET

    for setting, given in (("OSM", "osm"), (" openstreetmap ", "osm"), ("AMap", "amap"),
                           ("none", "none"), ("tianditu", "none")):  # tianditu: no key
        app = create_app(Settings(database_url=db_url, secret_key=SECRET, basemap=setting),
                         api_settings=api_settings)
        with TestClient(app) as client:
            assert client.get("/api/v1/config").json()["basemap"] == given, setting
    app = create_app(Settings(database_url=db_url, secret_key=SECRET, basemap="Tianditu",
                              tianditu_key="k"), api_settings=api_settings)
    with TestClient(app) as client:
        assert client.get("/api/v1/config").json()["basemap"] == "tianditu"
