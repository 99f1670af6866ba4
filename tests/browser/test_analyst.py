"""What an analyst sees on the map: counts, and where a place holds too few to be
counted, a hexagon that says so.

Analysts read no household and no issue.  The API answers their household aggregate and
issue hotspots from resolution-8 hexagons, and one holding fewer than five households, or
issues of fewer than five households or residents (in each micro-grid), gives them as
``suppressed`` (geogrid/api/disclosure.py).  The map draws such a
hexagon hatched grey, not in the colour of a count it was not told, its tooltip says in
the user's language that fewer than five are there and what is withheld, and the legend
explains the hatching.

Analysts may not read households either (GET /households answers them 403), so the
map never asks for one: zoomed in to where a cadre sees each house, it keeps showing
the hexagons, at the finest resolution the API answers them.

Users (tests/browser/register.py): ``analyst`` (the whole county) and ``cadre`` (the
first village, who reports the issues the analyst then sees as hotspots).
"""

from __future__ import annotations

from collections import defaultdict
from urllib.parse import urlparse

import h3

from conftest import login, shot
from geogrid.api.disclosure import MIN_BIN, SUPPRESSION_RESOLUTION
#: The hotspot ramp's first colour: a hexagon of no issue matching the filter.
HOT_ZERO = "#fff3bf"


def _rgb(hex_colour):
    h = hex_colour.lstrip("#")
    return [int(h[i:i + 2], 16) for i in (0, 2, 4)]


def _near(rgb, colour, tol=6):
    return all(abs(a - b) <= tol for a, b in zip(rgb, _rgb(colour)))


def _grey(rgb, tol=20):
    return max(rgb) - min(rgb) <= tol


def _drawn(page, layer_js):
    """Every hexagon of a layer (``layer_js``, a dotted path from ``window``: no ``eval``,
    which the map's Content-Security-Policy refuses): its properties, how it is drawn, the
    pixel of its canvas at its centre and where that centre is on the page (null outside
    the free map)."""
    return page.evaluate("""async (expr) => {
        await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
        const layer = expr.split('.').reduce((o, k) => o[k], window), map = geogrid.map;
        const box = document.getElementById('map').getBoundingClientRect();
        const cards = document.getElementById('left-stack').getBoundingClientRect();
        const dpr = window.devicePixelRatio || 1, size = map.getSize();
        return layer.getLayers().map((l) => {
            const c = l.getCenter(), cp = map.latLngToContainerPoint(c), r = l._renderer;
            const free = cp.x > cards.right - box.left + 10 && cp.y > 10 && cp.x < size.x - 10 && cp.y < size.y - 10;
            let pixel = null;
            if (free) {
                const q = map.latLngToLayerPoint(c).subtract(r._bounds.min).multiplyBy(dpr).round();
                pixel = [...r._ctx.getImageData(q.x, q.y, 1, 1).data];
            }
            const fill = l.options.fillColor;
            return {id: l.feature.id, p: l.feature.properties, withheld: l.options.withheld || null,
                    fill: typeof fill === 'string' ? fill : 'pattern', dash: l.options.dashArray || null,
                    pixel, at: free ? [cp.x + box.left, cp.y + box.top] : null};
        });
    }""", layer_js)


def _hover_tip(page, at):
    """Move the mouse onto a point of the map; the text of the tooltip it opens (left open)."""
    page.mouse.move(at[0], at[1])
    page.wait_for_timeout(100)
    page.mouse.move(at[0] + 1, at[1] + 1)  # Leaflet's canvas reads the pointer every 32 ms
    page.wait_for_timeout(100)
    page.wait_for_selector(".leaflet-tooltip.tip", timeout=5_000)
    return page.inner_text(".leaflet-tooltip.tip")


def _tooltip_text(page, layer_js, hex_id):
    """The tooltip a hexagon would open, in the interface's language now."""
    return page.evaluate("""([expr, id]) => {
        const l = expr.split('.').reduce((o, k) => o[k], window).getLayers().find((x) => x.feature.id === id);
        const c = l.getTooltip()._content;
        return typeof c === 'function' ? c(l) : String(c);
    }""", [layer_js, hex_id])


def _go(page, lat, lon, zoom):
    page.evaluate("([lat, lon, z]) => { geogrid.map.setView([lat, lon], z, {animate: false}); }", [lat, lon, zoom])
    page.wait_for_timeout(400)


def _resolution_8_at_centre(page):
    """The map at zoom 13 on its centre, once its resolution-8 hexagons are drawn."""
    centre = page.evaluate("(() => { const c = geogrid.map.getCenter(); return [c.lat, c.lng]; })()")
    _go(page, *centre, 13)
    page.evaluate("geogrid.layers.update()")
    page.wait_for_function("geogrid.layers.hex.getLayers().some((l) => l.feature.id.startsWith('88'))",
                           timeout=20_000)


def test_an_analyst_sees_a_withheld_household_hexagon_as_withheld_not_as_a_count(page):
    login(page, "analyst")
    assert page.inner_text("#user-role") == "分析员"
    page.uncheck("#lyr-labels")  # a village's name over a hexagon would take the hover
    # resolution 8 (zoom 13), a hexagon of fewer than five households in the map's middle
    _resolution_8_at_centre(page)
    few = [h for h in _drawn(page, "geogrid.layers.hex")
           if 0 < h["p"]["suppressed"] == h["p"]["households"] < MIN_BIN]
    assert few, "the sample has hexagons of fewer than five households at a village's edge"
    lat, lon = h3.cell_to_latlng(few[0]["id"])
    _go(page, lat, lon, 13)
    page.evaluate("geogrid.layers.update()")
    page.wait_for_function("(id) => geogrid.layers.hex.getLayers().some((l) => l.feature.id === id)",
                           arg=few[0]["id"], timeout=20_000)
    hexes = _drawn(page, "geogrid.layers.hex")
    classes = page.evaluate("""() => [...document.querySelectorAll('#hex-classes li[data-lo]')].map((li) => ({
        lo: +li.dataset.lo, hi: +li.dataset.hi, colour: li.dataset.colour}))""")
    withheld = [h for h in hexes if h["p"]["suppressed"] > 0 and h["pixel"]]
    counted = [h for h in hexes if h["p"]["suppressed"] == 0 and h["pixel"]]
    assert withheld and counted, hexes
    for h in withheld:
        # not the colour of its count, as if its households' care levels were known
        cls = [c for c in classes if c["lo"] <= h["p"]["households"] <= c["hi"]][0]
        assert h["withheld"] == "all" and h["dash"], h
        *rgb, alpha = h["pixel"]
        assert alpha > 100 and _grey(rgb) and not _near(rgb, cls["colour"]), (h, cls)
    for h in counted:
        cls = [c for c in classes if c["lo"] <= h["p"]["households"] <= c["hi"]][0]
        assert h["withheld"] is None and h["fill"] == cls["colour"], (h, cls)

    mine = next(h for h in withheld if h["id"] == few[0]["id"])
    tip = _hover_tip(page, mine["at"])
    assert f"少于 {MIN_BIN} 户" in tip and "保护" in tip and "户类别" in tip, tip
    assert "放心 0" not in tip, tip
    item = page.locator("#hex-classes li.hex-withheld")
    assert item.is_visible() and f"少于 {MIN_BIN} 户" in item.inner_text()
    shot(page, "40-analyst-households-withheld")

    page.click("#lang-switch")
    tip = _tooltip_text(page, "geogrid.layers.hex", mine["id"])
    assert f"fewer than {MIN_BIN}" in tip and "withheld" in tip and "care levels" in tip, tip
    assert "withheld" in page.inner_text("#hex-classes li.hex-withheld")
    page.click("#lang-switch")

    # a coarser hexagon holding small parts: counted, with an outline saying part is withheld
    _go(page, lat, lon, 11)
    page.evaluate("geogrid.layers.update()")
    page.wait_for_function("geogrid.layers.hex.getLayers().some((l) => l.feature.id.startsWith('87'))",
                           timeout=20_000)
    hexes = _drawn(page, "geogrid.layers.hex")
    part = [h for h in hexes if 0 < h["p"]["suppressed"] < h["p"]["households"]]
    assert part, hexes
    for h in part:
        assert h["withheld"] == "part" and h["dash"] and h["fill"] != "pattern", h
    tip = _tooltip_text(page, "geogrid.layers.hex", part[0]["id"])
    assert f"不足 {MIN_BIN} 户" in tip and "保护" in tip and str(part[0]["p"]["suppressed"]) in tip, tip
    assert page.locator("#hex-classes li.hex-partly").is_visible()


def _issue_points(server):
    """Points of the cadre's village: five households of one cell in its resolution-8
    hexagon (the API counts a hexagon's part in each micro-grid), and one household of
    another hexagon."""
    village = server.register.village_codes[0]
    with server.api("admin") as api:
        fc = api.get("/households", params={"village": village, "limit": 5000}).json()
    by_part = defaultdict(list)
    for f in fc["features"]:
        lon, lat = f["geometry"]["coordinates"]
        by_part[h3.latlng_to_cell(lat, lon, 8), f["properties"]["cell_key"]].append((lon, lat))
    fullest = min(by_part, key=lambda p: (-len(by_part[p]), p))
    lone = min((p for p in by_part if p[0] != fullest[0]), key=lambda p: (-len(by_part[p]), p))
    assert len(by_part[fullest]) >= MIN_BIN
    return fullest[0], by_part[fullest][:MIN_BIN], lone[0], by_part[lone][0]


def test_an_analyst_sees_a_hotspot_of_fewer_than_five_issues_as_withheld_not_as_zero(page, server):
    busy, five, lone, one = _issue_points(server)
    categories = ["sanitation", "roads_lights", "safety", "sanitation", "roads_lights"]
    with server.api("cadre") as api:
        for i, ((lon, lat), cat) in enumerate(zip([*five, one], [*categories, "safety"])):
            # each of another resident: the API counts a hexagon's issues by whom they are of
            r = api.post("/issues", json={"category": cat, "lon": lon, "lat": lat, "description": f"测试问题 {i}",
                                          "contact_phone": f"1990000000{i}"})
            assert r.status_code == 201, r.text

    login(page, "analyst")
    assert page.is_visible("#issue-card") and page.is_hidden("#iss-report")
    page.uncheck("#lyr-labels")  # a village's name over a hexagon would take the hover
    (blat, blon), (llat, llon) = h3.cell_to_latlng(busy), h3.cell_to_latlng(lone)
    _go(page, (blat + llat) / 2, (blon + llon) / 2, 13)
    page.check("#iss-hot")
    page.wait_for_function("(ids) => ids.every((id) => geogrid.issues.hot.getLayers().some((l) => l.feature.id === id))",
                           arg=[busy, lone], timeout=20_000)
    hexes = {h["id"]: h for h in _drawn(page, "geogrid.issues.hot")}
    counted, withheld = hexes[busy], hexes[lone]
    assert counted["p"]["issues"] == MIN_BIN and counted["p"]["suppressed"] == 0, counted
    assert withheld["p"]["issues"] == 0 and withheld["p"]["suppressed"] == 1, withheld
    assert counted["withheld"] is None and counted["fill"] != "pattern", counted
    # the hexagon of one issue is not drawn as a hexagon of none
    assert withheld["withheld"] == "all" and withheld["dash"], withheld
    assert withheld["pixel"] and withheld["at"], withheld
    *rgb, alpha = withheld["pixel"]
    assert alpha > 100 and _grey(rgb) and not _near(rgb, HOT_ZERO), withheld

    tip = _hover_tip(page, withheld["at"])
    assert f"涉及少于 {MIN_BIN} 户（人）" in tip and "保护" in tip, tip
    assert "问题 0 件" not in tip, tip
    legend = page.locator("#hot-legend li.withheld")
    assert legend.is_visible() and f"涉及少于 {MIN_BIN} 户（人）" in legend.inner_text()
    shot(page, "41-analyst-hotspots-withheld")

    page.click("#lang-switch")
    tip = _hover_tip(page, withheld["at"])
    assert f"of fewer than {MIN_BIN} households or residents" in tip and "withheld" in tip and "protect" in tip, tip
    assert "0 issues" not in tip, tip
    assert "withheld" in page.inner_text("#hot-legend li.withheld")
    page.click("#lang-switch")

    # a category filter: the withheld hexagon stays withheld, whatever the filter matches;
    # the busy one's one safety issue is one household's, not given (test_issue_small_rows)
    page.select_option("#iss-category", "safety")
    page.wait_for_function("(id) => !geogrid.issues.hot.getLayers().some((x) => x.feature.id === id)",
                           arg=busy, timeout=20_000)
    hexes = {h["id"]: h for h in _drawn(page, "geogrid.issues.hot")}
    assert hexes[lone]["withheld"] == "all", hexes[lone]


def _watch_error_toasts(page):
    """Keep every error toast the page shows from now on in ``window.__errorToasts`` (a
    toast hides itself after a few seconds)."""
    page.evaluate("""() => {
        window.__errorToasts = [];
        const el = document.getElementById('toast');
        new MutationObserver(() => {
            if (!el.hidden && el.classList.contains('error')) window.__errorToasts.push(el.textContent);
        }).observe(el, {attributes: true, childList: true, characterData: true, subtree: true});
    }""")


def test_an_analyst_zoomed_in_to_houses_still_sees_hexagons_and_asks_for_no_house(page):
    asked = []
    page.on("request", lambda r: asked.append(r.url))
    login(page, "analyst")
    _watch_error_toasts(page)
    page.uncheck("#lyr-labels")  # a micro-grid's name over the map's middle would take the click
    # a hexagon counted in full (at least MIN_BIN households), seen at zoom 13
    _resolution_8_at_centre(page)
    full = [h for h in _drawn(page, "geogrid.layers.hex")
            if h["p"]["suppressed"] == 0 and h["p"]["households"] >= MIN_BIN]
    assert full, "the sample has resolution-8 hexagons of five households or more"
    target = max(full, key=lambda h: (h["p"]["households"], h["id"]))["id"]
    lat, lon = h3.cell_to_latlng(target)

    # zoom 16: where a cadre's map shows each house
    _go(page, lat, lon, 16)
    page.evaluate("geogrid.layers.update()")
    houses = [u for u in asked if urlparse(u).path == "/api/v1/households"]
    assert not houses, houses
    assert page.evaluate("window.__errorToasts") == []
    page.wait_for_function("(id) => geogrid.layers.hex.getLayers().some((l) => l.feature.id === id)",
                           arg=target, timeout=20_000)
    hexes = _drawn(page, "geogrid.layers.hex")
    # at the finest resolution the API answers an analyst (it publishes it at /api/v1/config)
    assert {h3.get_resolution(h["id"]) for h in hexes} == {SUPPRESSION_RESOLUTION}, hexes
    aggregate = [u for u in asked if urlparse(u).path == "/api/v1/households/aggregate"]
    assert f"resolution={SUPPRESSION_RESOLUTION}" in aggregate[-1], aggregate
    mine = next(h for h in hexes if h["id"] == target)
    classes = page.evaluate("""() => [...document.querySelectorAll('#hex-classes li[data-lo]')].map((li) => ({
        lo: +li.dataset.lo, hi: +li.dataset.hi, colour: li.dataset.colour}))""")
    cls = [c for c in classes if c["lo"] <= mine["p"]["households"] <= c["hi"]][0]
    assert mine["fill"] == cls["colour"] and mine["pixel"], mine
    *rgb, alpha = mine["pixel"]
    assert alpha > 100 and _near(rgb, cls["colour"], tol=12), (mine, cls)
    # the hexagons' legend, not the houses' care levels, and no promise of houses further in
    assert page.is_visible("#hex-legend") and page.is_hidden("#care-legend") and page.is_hidden("#zoom-hint")
    assert page.evaluate("geogrid.layers.houses.getLayers().length") == 0
    # a click where a cadre would find a house opens nothing
    page.mouse.click(*mine["at"])
    page.wait_for_timeout(300)
    assert page.is_hidden("#side-panel")
    # nor does the search, which finds houses and residents
    assert page.is_hidden("#search")
    tip = _tooltip_text(page, "geogrid.layers.hex", target)
    assert str(mine["p"]["households"]) in tip, tip
    shot(page, "42-analyst-zoom-16-hexagons")

    # zoom 19, off the hexagon's centre towards a corner: the hexagon the view is in is
    # drawn though its centre lies outside the view
    corner = max(h3.cell_to_boundary(target), key=lambda v: abs(v[0] - lat))
    off = (lat + 0.8 * (corner[0] - lat), lon + 0.8 * (corner[1] - lon))
    assert h3.latlng_to_cell(*off, SUPPRESSION_RESOLUTION) == target
    _go(page, *off, 19)
    page.evaluate("geogrid.layers.update()")
    page.wait_for_function("(id) => geogrid.layers.hex.getLayers().some((l) => l.feature.id === id)",
                           arg=target, timeout=20_000)
    assert not page.evaluate("geogrid.map.getBounds().contains(L.latLng(%r, %r))" % (lat, lon))
    assert not [u for u in asked if urlparse(u).path == "/api/v1/households"]
    assert page.evaluate("window.__errorToasts") == []


def _layer_choices(page):
    """The layer card's and the issue card's switches the user sees: {input id: words}."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll(
        '#layer-panel label, #issue-card label')].filter((l) => l.offsetParent !== null)
        .map((l) => [l.querySelector('input').id, l.innerText.trim()]))""")


def test_an_analyst_is_offered_only_the_layers_they_get(page):
    """The layer card offered an analyst houses and cells (住户, 网格（户团）), which they
    never get: now the households' hexagons, the boundaries, the names and the issue
    hotspots, in both languages, and no cell is asked for."""
    asked = []
    page.on("request", lambda r: asked.append(urlparse(r.url).path))
    login(page, "analyst")
    shown = _layer_choices(page)
    assert set(shown) == {"lyr-village", "lyr-microgrid", "lyr-hex", "lyr-labels", "iss-hot"}, shown
    assert shown["lyr-hex"] == "户数六边形", shown
    assert not any(w in " ".join(shown.values()) for w in ("住户", "户团")), shown
    shot(page, "43-analyst-layers")
    page.click("#lang-switch")
    shown = _layer_choices(page)
    assert shown["lyr-hex"] == "Household hexagons", shown
    assert not any(w in " ".join(shown.values()) for w in ("Houses", "Cells")), shown
    page.click("#lang-switch")

    # the hexagons' switch hides and shows them
    page.wait_for_function("geogrid.layers.hex.getLayers().length > 0", timeout=20_000)
    page.uncheck("#lyr-hex")
    assert not page.evaluate("geogrid.map.hasLayer(geogrid.layers.hex)")
    page.wait_for_selector("#hex-legend", state="hidden")
    page.check("#lyr-hex")
    page.wait_for_function("geogrid.map.hasLayer(geogrid.layers.hex) && geogrid.layers.hex.getLayers().length > 0",
                           timeout=20_000)
    # zoomed in to where a cadre sees cells: none asked for
    centre = page.evaluate("(() => { const c = geogrid.map.getCenter(); return [c.lat, c.lng]; })()")
    _go(page, *centre, 16)
    page.evaluate("geogrid.layers.update()")
    assert "/api/v1/cells" not in asked, asked


def test_a_cadre_is_still_offered_houses_and_cells(page):
    login(page, "cadre")
    shown = _layer_choices(page)
    assert {"lyr-houses", "lyr-cell", "lyr-village", "lyr-microgrid", "lyr-labels"} <= set(shown), shown
    assert "lyr-hex" not in shown and shown["lyr-houses"] == "住户", shown
