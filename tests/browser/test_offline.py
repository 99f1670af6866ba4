"""The map works with no internet, and with the AMap basemap its overlays sit on GCJ-02 tiles.

Every page of the browser tests refuses requests that leave our server (conftest.new_page);
the first test checks that this guard really catches one, so the other tests' silence
means the map asked the internet for nothing.
"""

from __future__ import annotations

import io

from conftest import login, shot


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (236, 232, 224)).save(buf, "PNG")
    return buf.getvalue()


def test_the_offline_guard_catches_an_internet_request(page):
    page.goto(page.base_url + "/")
    page.wait_for_selector("#login-form")
    # a tile of a basemap the map offers: its Content-Security-Policy lets the page ask
    # (it refuses a script or a fetch from elsewhere before any request), the guard not
    page.evaluate("() => { new Image().src = 'https://tile.openstreetmap.org/0/0/0.png'; }")
    page.wait_for_timeout(300)
    caught = [p for p in page.log.problems if "openstreetmap.org" in p]
    assert caught and caught[0].startswith("off-line page asked the internet"), page.log.problems
    page.log.problems.clear()  # the request above was this test's own


def test_amap_basemap_shifts_overlays_onto_gcj02_tiles(page, server):
    tiles = []
    page.serve_offsite("https://webrd0*.is.autonavi.com/**", _png())
    page.on("request", lambda r: "autonavi.com" in r.url and tiles.append(r.url))
    login(page, "cadre")
    page.evaluate("geogrid.map.setZoom(17, {animate: false})")
    page.wait_for_function("geogrid.layers.houseById.size > 0", timeout=20_000)
    house = page.evaluate("""() => {
        const m = [...geogrid.layers.houseById.values()][0];
        geogrid.map.setView(m.getLatLng(), 18, {animate: false});
        return m.feature.id;
    }""")
    page.select_option("#basemap-select", "amap")
    page.wait_for_function("geogrid.basemaps.name === 'amap'")
    page.wait_for_timeout(500)
    assert tiles, "the AMap basemap asked for no tiles"
    assert page.evaluate("geogrid.map.options.crs.code") == "GCJ02"
    assert page.is_visible("#amap-note")
    # Where each overlay is drawn, in the tile grid's pixels, against where AMap's tiles
    # show that place: Web Mercator of its GCJ-02 coordinates.
    got = page.evaluate("""async (id) => {
        const { wgs84ToGcj02 } = await import('/js/gcj02.js');
        const map = geogrid.map, z = map.getZoom(), origin = map.getPixelOrigin();
        const merc = (lat, lon) => L.CRS.EPSG3857.latLngToPoint(L.latLng(lat, lon), z);
        const drawnAt = (layerPoint) => layerPoint.add(origin);
        const m = geogrid.layers.houseById.get(id);
        const ll = m.getLatLng();
        const [glon, glat] = wgs84ToGcj02(ll.lng, ll.lat);
        const house = drawnAt(m._point), want = merc(glat, glon), raw = merc(ll.lat, ll.lng);
        // a village outline's first vertex
        const v = geogrid.layers.villages.getLayers()[0];
        let vll = v.getLatLngs();
        while (Array.isArray(vll)) vll = vll[0];  // Polygon or MultiPolygon
        const [vlon, vlat] = wgs84ToGcj02(vll.lng, vll.lat);
        const vpt = drawnAt(v._rings[0][0]);
        return {
            house_err: house.distanceTo(want), shift_px: raw.distanceTo(want),
            metres_per_px: 40075016.686 * Math.cos(ll.lat * Math.PI / 180) / (256 * 2 ** z),
            village_err: vpt.distanceTo(merc(vlat, vlon)),
        };
    }""", house)
    # GCJ-02 is a few hundred metres off WGS84 here: hundreds of pixels at zoom 18
    assert got["shift_px"] * got["metres_per_px"] > 100, got
    assert got["house_err"] < 1.5, got
    assert got["village_err"] < 1.5, got
    shot(page, "16-basemap-amap")

    # a click where the house is drawn still opens that house (the inverse shift)
    xy = page.evaluate("""(id) => {
        const p = geogrid.map.latLngToContainerPoint(geogrid.layers.houseById.get(id).getLatLng());
        const r = document.getElementById('map').getBoundingClientRect();
        return [p.x + r.left, p.y + r.top];
    }""", house)
    page.mouse.click(*xy)
    page.wait_for_selector("#residents li")

    # back to no basemap: plain Web Mercator again, no more tile requests
    page.select_option("#basemap-select", "none")
    assert page.evaluate("geogrid.map.options.crs.code") == "EPSG:3857"
    n = len(tiles)
    page.evaluate("() => { geogrid.map.panBy([300, 200], {animate: false}); }")
    page.wait_for_timeout(400)
    assert len(tiles) == n
