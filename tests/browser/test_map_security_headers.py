"""The web map works under its Content-Security-Policy (geogrid/api/securityheaders.py):
it loads, logs in, draws the grid and houses, and draws each basemap of its menu, with
no violation reported (the page's securitypolicyviolation events, and the console
errors the page fixture counts)."""

from __future__ import annotations

import io

from conftest import login
from test_cadre import _click_house, _zoom_to_a_house


def _png() -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (256, 256), (236, 232, 224)).save(buf, "PNG")
    return buf.getvalue()


def test_the_map_and_its_basemaps_work_under_the_content_security_policy(page):
    page.add_init_script("""
        window.__csp = [];
        document.addEventListener('securitypolicyviolation',
            (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
    """)
    first = page.goto(page.base_url + "/")
    policy = first.headers.get("content-security-policy", "")
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy, policy
    assert first.headers.get("x-frame-options") == "DENY"
    tiles = []
    for glob in ("https://tile.openstreetmap.org/**", "https://webrd0*.is.autonavi.com/**"):
        page.serve_offsite(glob, _png())
    referers = set()
    page.on("request", lambda r: r.resource_type == "image" and r.url.startswith("https://")
            and (tiles.append(r.url), referers.add(r.headers.get("referer"))))
    login(page, "cadre")
    house = _zoom_to_a_house(page)
    for name, host in (("osm", "tile.openstreetmap.org"), ("amap", "is.autonavi.com")):
        page.select_option("#basemap-select", name)
        page.wait_for_function(f"geogrid.basemaps.name === '{name}'")
        page.wait_for_function(
            f"[...document.querySelectorAll('img.leaflet-tile-loaded')].some(i => i.src.includes('{host}'))",
            timeout=10_000)
        assert any(host in u for u in tiles), (name, tiles)
    # the map's origin alone (OpenStreetMap asks for a Referer, Tianditu checks it), no path
    assert referers == {page.base_url + "/"}, referers
    page.select_option("#basemap-select", "none")
    # a house's panel, its residents masked
    _click_house(page, house)
    page.wait_for_selector("#residents li")
    assert page.evaluate("window.__csp") == []
