"""``geogrid.viz.explore``'s basemaps: geogrid's own names (those of ``GEOGRID_BASEMAP``
and the web map), a configured one drawn when no ``tiles`` is given, and AMap's tiles with
every layer shifted to GCJ-02.  Nothing is fetched: the tests read the page's script."""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geogrid.partition import partition

from .test_viz_cli import _decoded, _no_basemap_configured, small  # noqa: F401 (fixtures)


def _tile_layers(page):
    """``(url, options)`` of each L.tileLayer of the page."""
    import json

    return [(json.loads(url), opts) for url, opts in
            re.findall(r'L\.tileLayer\(\s*("[^"]*"),\s*(\{.*?\})\s*\)', page, re.S)]


def test_explore_knows_geogrids_basemaps(small, tmp_path, monkeypatch):
    """Before: explore(tiles=...) knew folium's names only: "none" and "amap", geogrid's
    own basemap names (GEOGRID_BASEMAP, the web map's), failed with folium's "Custom
    tiles must have an attribution", and so did any tile URL, with no word of what to
    pass.  "none" is no basemap; "osm" and "tianditu" (with its key) the web map's tiles;
    a URL needs its attr."""
    from geogrid.errors import InputError
    from geogrid.viz import explore

    monkeypatch.chdir(tmp_path)  # no .env of the checkout's
    monkeypatch.delenv("GEOGRID_TIANDITU_KEY", raising=False)
    r = partition(small.households, small.villages, engine="serial")
    for none in ("none", "None ", "NONE"):
        assert _tile_layers(explore(r, tiles=none).get_root().render()) == []
    osm = _tile_layers(explore(r, tiles="osm").get_root().render())
    assert [url for url, _ in osm] == ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"]
    assert "openstreetmap.org/copyright" in osm[0][1]
    with pytest.raises(InputError, match="GEOGRID_TIANDITU_KEY"):
        explore(r, tiles="tianditu")
    monkeypatch.setenv("GEOGRID_TIANDITU_KEY", "k3y")
    tdt = _tile_layers(explore(r, tiles="tianditu").get_root().render())
    assert [url.split("/")[3] for url, _ in tdt] == ["vec_w", "cva_w"]  # the map, its labels over it
    assert all(url.startswith("https://t{s}.tianditu.gov.cn/") and url.endswith("&tk=k3y") for url, _ in tdt)
    assert all('"subdomains": "01234567"' in opts and "天地图" in _decoded(opts) for _, opts in tdt)
    url = "https://tiles.example.org/{z}/{x}/{y}.png"
    with pytest.raises(InputError, match=r"needs its attribution: pass attr=.*'none'.*'amap'"):
        explore(r, tiles=url)
    with pytest.raises(InputError, match=r"attr="):
        explore(r, tiles="nonesuch")
    assert [u for u, _ in _tile_layers(explore(r, tiles=url, attr="© example").get_root().render())] == [url]
    assert len(_tile_layers(explore(r, tiles="OpenTopoMap").get_root().render())) == 1  # folium's own


def test_explore_draws_the_configured_basemap_when_given_no_tiles(small, tmp_path, monkeypatch):
    """Before: explore() drew no basemap whatever GEOGRID_BASEMAP said, though the
    server's web map opens with it: an analyst who had set GEOGRID_BASEMAP=amap had to
    pass tiles= every time.  With no tiles, explore() draws the configured basemap
    (from the environment or .env, AMap shifting the layers to GCJ-02); with none
    configured, none and nothing fetched; tiles= wins; a setting it cannot draw gives a
    blank map and a warning saying what to set."""
    from geogrid.viz import explore

    monkeypatch.chdir(tmp_path)  # no .env of the checkout's
    monkeypatch.delenv("GEOGRID_TIANDITU_KEY", raising=False)
    r = partition(small.households, small.villages, engine="serial")
    assert _tile_layers(explore(r).get_root().render()) == []  # none set: none, nothing fetched
    monkeypatch.setenv("GEOGRID_BASEMAP", "osm")
    osm = [url for url, _ in _tile_layers(explore(r).get_root().render())]
    assert osm == ["https://tile.openstreetmap.org/{z}/{x}/{y}.png"]
    assert _tile_layers(explore(r, tiles="none").get_root().render()) == []
    monkeypatch.setenv("GEOGRID_BASEMAP", "amap")
    page = explore(r).get_root().render()
    assert [url for url, _ in _tile_layers(page)] == [url for url, _ in _tile_layers(
        explore(r, tiles="amap").get_root().render())] and "autonavi.com" in page
    assert page.count('"coordinates"') and re.findall(r'"coordinates": \[([-0-9.]+)', page) == re.findall(
        r'"coordinates": \[([-0-9.]+)', explore(r, tiles="amap").get_root().render())  # shifted as for tiles="amap"
    monkeypatch.setenv("GEOGRID_BASEMAP", "tianditu")
    with pytest.warns(UserWarning, match=r"GEOGRID_BASEMAP='tianditu'.*GEOGRID_TIANDITU_KEY"):
        assert _tile_layers(explore(r).get_root().render()) == []
    monkeypatch.setenv("GEOGRID_TIANDITU_KEY", "k3y")
    assert [url.split("/")[3] for url, _ in _tile_layers(explore(r).get_root().render())] == ["vec_w", "cva_w"]
    monkeypatch.delenv("GEOGRID_BASEMAP")
    monkeypatch.delenv("GEOGRID_TIANDITU_KEY")
    (tmp_path / ".env").write_text("GEOGRID_BASEMAP=osm\n", encoding="utf-8")
    assert [url for url, _ in _tile_layers(explore(r).get_root().render())] == osm  # .env, as the server reads it
    (tmp_path / ".env").write_text("GEOGRID_BASEMAP=google\n", encoding="utf-8")
    with pytest.warns(UserWarning, match=r"GEOGRID_BASEMAP='google'.*none, osm, tianditu, amap"):
        assert _tile_layers(explore(r).get_root().render()) == []


def test_explore_over_amap_shifts_every_layer_to_gcj02():
    """AMap's tiles are GCJ-02: WGS84 layers drawn on them sit about 500 m off their
    roofs.  With tiles="amap" the cells, micro-grids, households and the diagnostics'
    markers go into the page in GCJ-02, as the web map draws them over AMap."""
    from shapely.geometry import box

    from geogrid.crs import from_wgs84
    from geogrid.viz import diagnostic_layers, explore

    from .conftest import X0, Y0, households_gdf, village_gdf

    v = village_gdf({"A": box(X0, Y0, X0 + 1000, Y0 + 1000), "B": box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)})
    xy = [(X0 + 500, Y0 + 500)] * 45 + [(X0 + 100 + 25 * i, Y0 + 200) for i in range(30)]
    r = partition(households_gdf(xy, "A"), v, min_microgrids=1)
    page = explore(r, tiles="amap").get_root().render()
    (url, opts), = _tile_layers(page)
    assert "autonavi.com" in url and '"subdomains": "1234"' in opts and "高德地图" in _decoded(opts)
    wgs = explore(r).get_root().render()

    def points(page):
        return [tuple(map(float, p)) for p in re.findall(r'"coordinates": \[([-0-9.]+), ([-0-9.]+)\]', page)]

    drawn, plain = np.array(points(page)), np.array(points(wgs))
    assert len(drawn) == len(plain) >= len(r.households)
    gx, gy = from_wgs84(plain[:, 0], plain[:, 1], "gcj02")
    assert np.abs(drawn - np.column_stack([gx, gy])).max() < 2e-6  # each point, shifted
    assert np.abs(drawn - plain).max() > 1e-3  # hundreds of metres
    ring = re.search(r'"coordinates": \[\[\[([-0-9.]+), ([-0-9.]+)\]', page)
    ring0 = re.search(r'"coordinates": \[\[\[([-0-9.]+), ([-0-9.]+)\]', wgs)
    (rx,), (ry,) = from_wgs84(np.array([float(ring0[1])]), np.array([float(ring0[2])]), "gcj02")
    assert abs(float(ring[1]) - rx) < 2e-6 and abs(float(ring[2]) - ry) < 2e-6
    # the tower's marker, on the tower's GCJ-02 point
    tower = gpd.GeoSeries([shapely.Point(X0 + 500, Y0 + 500)], crs=r.households.crs).to_crs(4326).iloc[0]
    (tx,), (ty,) = from_wgs84(np.array([tower.x]), np.array([tower.y]), "gcj02")
    layer = {g.layer_name: g for g in diagnostic_layers(r, lang="en", crs="gcj02")}["oversize_building (1)"]
    (gj,) = layer._children.values()
    assert gj.data["features"][0]["geometry"]["coordinates"] == pytest.approx([tx, ty], abs=1e-6)


def test_geogrids_basemaps_are_the_web_maps():
    """geogrid.basemaps holds the tiles web_map/js/basemaps.js draws (the JavaScript
    cannot import Python): the same URLs, subdomains and attributions, so the two do not
    drift apart."""
    from geogrid import basemaps, webassets

    js = (webassets.web_map_dir(holding="js/basemaps.js") / "js" / "basemaps.js").read_text(encoding="utf-8")
    js = re.sub(r"`\s*\+\s*`", "", js).replace("${layer}", "{layer}").replace("${encodeURIComponent(key)}", "{key}")
    assert re.search(r'BASEMAPS = \[(.*?)\]', js)[1].replace('"', "").replace(" ", "").split(",") == list(basemaps.NAMES)
    osm, amap = basemaps.basemap("osm").layers[0], basemaps.basemap("amap").layers[0]
    assert f'"{osm.url}"' in js and osm.attribution in js and f"maxZoom: {osm.max_zoom}" in js
    assert f'"{amap.url}"' in js and amap.attribution in js and f'subdomains: "{amap.subdomains}"' in js
    assert basemaps.basemap("amap").crs == "gcj02" and 'name === "amap" ? this.gcj' in js
    tianditu = basemaps.basemap("tianditu", tianditu_key="KEY").layers
    assert basemaps._TIANDITU in js and [t.url for t in tianditu] == [
        basemaps._TIANDITU.replace("{layer}", layer).replace("{key}", "KEY") for layer in ("vec", "cva")]
    assert 'wmts("vec"), opts), L.tileLayer(wmts("cva")' in js
    assert all(t.attribution in js and f'subdomains: "{t.subdomains}"' in js for t in tianditu)
