"""The analysts' folium map (``geogrid.viz.explore``) in a real browser with no internet.

The page is saved as a file and opened in Chromium with every request that leaves it
refused: Leaflet must come from the page itself.  Then the map is used as an analyst
would: its layers are drawn, the layer control hides the households, hovering a cell
shows its id, and clicking a diagnostic's marker opens its message.  Ids and messages
carry the user's text (village codes, building keys), so they hold HTML and JavaScript
template characters here, and must show as typed without running.
"""

from __future__ import annotations

import re

import geopandas as gpd
import shapely
from shapely.geometry import box

from conftest import CHROMIUM_ARGS  # noqa: F401  (the browser fixture's launch flags)

UTM = "EPSG:32649"
X0, Y0 = 380_000.0, 3_025_000.0
CODE = '<img src=x onerror="window.__pwned=1">'
KEY = "T&1`${window.__pwned=2}<b>x</b>"


def _plan():
    from geogrid.partition import partition

    villages = gpd.GeoDataFrame({"village_code": [CODE, "B"]},
                                geometry=[box(X0, Y0, X0 + 1000, Y0 + 1000),
                                          box(X0 + 1000, Y0, X0 + 2000, Y0 + 1000)], crs=UTM)
    xy = [(X0 + 500, Y0 + 500)] * 45 + [(X0 + 100 + 25 * i, Y0 + 200) for i in range(30)]
    hh = gpd.GeoDataFrame({"village_code": [CODE] * 75, "building": [KEY] * 45 + [None] * 30},
                          geometry=gpd.points_from_xy(*zip(*xy)), crs=UTM)
    return partition(hh, villages, min_microgrids=1)


def _open(browser, path):
    ctx = browser.new_context(viewport={"width": 1000, "height": 800})
    asked, problems = [], []

    def refuse(route):
        asked.append(route.request.url)
        route.abort("internetdisconnected")

    ctx.route(re.compile(r"^(?!file:|data:|blob:|about:)"), refuse)
    page = ctx.new_page()
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: m.type == "error" and problems.append(f"console: {m.text}"))
    page.goto(path.as_uri())
    return ctx, page, asked, problems


def _at(page, lon, lat):
    """The page pixel of a WGS84 point on the folium map."""
    p = page.evaluate("""([lat, lon]) => {
        const map = Object.values(window).find(v => v instanceof L.Map);
        const p = map.latLngToContainerPoint([lat, lon]);
        return [p.x, p.y];
    }""", [lat, lon])
    return p[0], p[1]


def test_the_folium_map_works_offline_and_shows_user_text_as_typed(browser, tmp_path):
    from geogrid.viz import explore

    r = _plan()
    assert sorted(d["kind"] for d in r.diagnostics) == ["empty_village", "oversize_building"]
    path = tmp_path / "map.html"
    explore(r).save(str(path))
    ctx, page, asked, problems = _open(browser, path)
    try:
        page.wait_for_function("typeof L !== 'undefined' && L.version === '1.9.4'", timeout=10_000)
        # every visible feature is drawn: cells, micro-grids and households (the
        # diagnostics' layers start hidden)
        paths = page.locator(".leaflet-overlay-pane path.leaflet-interactive")
        assert paths.count() == len(r.cells) + len(r.microgrids) + len(r.households)
        # in Chinese by default, the web map's words
        control = page.inner_text(".leaflet-control-layers")
        for name in ("网格（户团）", "微网格", "住户", "空村（1）", "整栋超过上限（1）"):
            assert name in control

        # the layer control hides the households
        page.locator(".leaflet-control-layers label", has_text="住户").locator("input").uncheck()
        assert paths.count() == len(r.cells) + len(r.microgrids)

        # hovering a cell shows its id, the village code in it as text
        cell = r.cells[r.cells["village_code"] == CODE].to_crs(4326).iloc[0]
        inside = cell.geometry.representative_point()
        page.mouse.move(*_at(page, inside.x, inside.y))
        tip = page.locator(".leaflet-tooltip")
        tip.wait_for(timeout=5_000)
        assert cell["cell_id"] in tip.inner_text() and "户数" in tip.inner_text()
        assert page.locator(".leaflet-tooltip img").count() == 0

        # the tower's diagnostic: its layer shown, its marker clicked, its note read in
        # the web map's words, the village code in it as typed
        page.locator(".leaflet-control-layers label", has_text="整栋超过上限").locator("input").check()
        tower = gpd.GeoSeries([shapely.Point(X0 + 500, Y0 + 500)], crs=UTM).to_crs(4326).iloc[0]
        page.mouse.move(0, 0)
        page.mouse.click(*_at(page, tower.x, tower.y))
        popup = page.locator(".leaflet-popup-content")
        popup.wait_for(timeout=5_000)
        text = popup.inner_text()
        assert f"村 {CODE} 有一栋楼（或同一地址）共 45 户" in text and "45 households" not in text
        assert page.locator(".leaflet-popup-content img, .leaflet-popup-content b").count() == 0
        assert page.evaluate("window.__pwned") is None
    finally:
        ctx.close()
    assert asked == [], f"the map asked the internet for {asked}"
    assert problems == []
