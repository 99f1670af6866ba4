"""Issues on the map in a real browser: the closed loop from a click on the map to the
reporter's rating, the pin changing colour at each step; conflicts; filters, overdue and
supervised pins, hotspots, the inbox.

Users (tests/browser/register.py): ``cadre`` (village level: reports, accepts, dispatches,
verifies, closes, rates) and ``cellhead`` (cell level, the 户团长 of ``handler_cell``:
starts and resolves with a proof photo).
"""

from __future__ import annotations

import io
import sqlite3

from conftest import login, new_page, shot

STATUS_COLOURS = {
    "reported": "rgb(240, 140, 0)", "accepted": "rgb(28, 126, 214)", "dispatched": "rgb(95, 61, 196)",
    "in_progress": "rgb(174, 62, 201)", "resolved": "rgb(12, 166, 120)", "verified": "rgb(43, 138, 62)",
    "closed": "rgb(73, 80, 87)", "rated": "rgb(134, 142, 150)",
}


def png(colour=(60, 140, 70), size=(96, 72)) -> dict:
    from PIL import Image, ImageDraw

    img = Image.new("RGB", size, colour)
    ImageDraw.Draw(img).rectangle([10, 10, size[0] - 10, size[1] - 10], outline=(255, 255, 255), width=4)
    buf = io.BytesIO()
    img.save(buf, "PNG")
    return {"name": "photo.png", "mimeType": "image/png", "buffer": buf.getvalue()}


def _house_in_handler_cell(server):
    """A point of cellhead's cell to report at: the household deepest inside the cell's
    polygon, or, where every household is within 3 m of its border (the cell of one
    big building, whose border can pass 0.2 m from it), the point of the cell farthest
    from its border.  A click is rounded to a pixel (0.6 m at zoom 18), so a point
    right on a border can land in the neighbouring cell."""
    import geopandas as gpd
    from shapely.geometry import shape
    from shapely.ops import polylabel

    from geogrid.crs import local_metric_crs, reproject

    cell_id, cell_key = server.register.handler_cell
    with server.api("admin") as api:
        fc = api.get("/households", params={"cell": cell_id, "limit": 100}).json()
        cell = api.get(f"/cells/{cell_id}").json()
    pts = [f["geometry"]["coordinates"] for f in fc["features"]]
    assert pts, f"no households in cell {cell_key}"
    poly = shape(cell["geometry"])
    # depths in metres, in the local UTM zone
    metric = local_metric_crs(*pts[0])
    poly_m = reproject(gpd.GeoSeries([poly], crs=4326), metric).iloc[0]
    pts_m = gpd.GeoSeries(gpd.points_from_xy(*zip(*pts)), crs=4326).to_crs(metric)
    depth = pts_m.distance(poly_m.boundary).to_numpy()
    if depth.max() >= 3.0:
        lon, lat = pts[int(depth.argmax())]
        return lon, lat, cell_key
    inner = polylabel(poly, tolerance=1e-7)
    return inner.x, inner.y, cell_key


def _go(page, lon, lat, zoom=18):
    page.evaluate("([lat, lon, z]) => { geogrid.map.setView([lat, lon], z, {animate: false}); }", [lat, lon, zoom])
    page.wait_for_timeout(400)


def _xy(page, lon, lat):
    return page.evaluate("""([lat, lon]) => {
        const p = geogrid.map.latLngToContainerPoint([lat, lon]);
        const r = document.getElementById('map').getBoundingClientRect();
        return [p.x + r.left, p.y + r.top];
    }""", [lat, lon])


def _pin(page, issue_id, status, timeout=15_000):
    """Wait until the issue's pin shows `status`; return the pin's fill colour."""
    page.wait_for_function("""([id, s]) => {
        const el = document.querySelector(`.im[data-id="${id}"]`);
        return el && el.dataset.status === s;
    }""", arg=[issue_id, status], timeout=timeout)
    return page.evaluate("""(id) => getComputedStyle(document.querySelector(`.im[data-id="${id}"] .im-pin`))
        .backgroundColor""", issue_id)


def _open_pin(page, issue_id):
    # nothing drawn over a pin takes its click: area labels lie under the issue pane
    # (a cell's name over a pin near its border once did, and the click missed it)
    assert page.evaluate("""(id) => {
        const el = document.querySelector(`.im[data-id="${id}"]`);
        const r = el.getBoundingClientRect();
        const top = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
        return !!top && !!top.closest(`.im[data-id="${id}"]`);
    }""", issue_id)
    page.locator(f'.im[data-id="{issue_id}"]').click()
    page.wait_for_selector(f'#issue-head')


def _act(page, action, fill=None):
    """Click an action button of the issue panel, fill its form, confirm."""
    version = page.get_attribute("#issue-head", "data-version")
    page.click(f'#issue-actions [data-action="{action}"]')
    page.wait_for_selector("#dialog[open]")
    if fill:
        fill()
    page.click("#dialog-ok")
    page.wait_for_selector("#dialog", state="hidden")
    page.wait_for_function("(v) => { const h = document.getElementById('issue-head'); return h && h.dataset.version !== v; }",
                           arg=version)


def _report_form_at_a_house(page, server, category="sanitation"):
    """The cadre's report form opened on a house of the handler's cell, its category
    picked: ``(lon, lat, cell_key)`` of the house."""
    lon, lat, cell_key = _house_in_handler_cell(server)
    login(page, "cadre")
    _go(page, lon, lat)
    page.click("#iss-report")
    page.mouse.click(*_xy(page, lon, lat))
    page.wait_for_selector("#report-form")
    page.select_option("#report-category", category)
    return lon, lat, cell_key


def _problems(ctx, page):
    problems = list(page.log.problems)
    ctx.close()
    assert not problems, "the page had errors:\n" + "\n".join(problems)


def test_issue_closed_loop_on_the_map(page, server, browser):
    lon, lat, cell_key = _house_in_handler_cell(server)
    handler_id = server.user_id("cellhead")
    colours = {}

    # -- a village cadre reports it with a click on the map ---------------------------------
    login(page, "cadre")
    page.wait_for_selector("#issue-card:not([hidden])")
    _go(page, lon, lat)
    page.click("#iss-report")
    page.wait_for_selector("#report-hint:not([hidden])")
    page.mouse.click(*_xy(page, lon, lat))
    page.wait_for_selector("#report-form")
    assert "." in page.inner_text("#report-point")
    page.select_option("#report-category", "sanitation")
    page.fill("#report-description", "村道旁垃圾堆放，已散发异味（浏览器测试）")
    page.select_option("#report-priority", "high")
    page.set_input_files("#report-photo", png((150, 110, 60)))
    page.wait_for_selector("#report-dups:not([hidden])")
    shot(page, "20-issue-report-form")
    page.click("#report-submit")
    page.wait_for_selector("#report-done")
    routing = page.locator("#report-routing")
    assert routing.get_attribute("data-cell") == cell_key
    assert cell_key in routing.inner_text()
    issue_id = page.evaluate("geogrid.issues.selectedId")
    colours["reported"] = _pin(page, issue_id, "reported")
    shot(page, "20-issue-report")

    # -- the cadre accepts and dispatches it to the cell leader ------------------------------
    page.click("#report-open")
    page.wait_for_selector("#issue-head[data-status='reported']")
    assert page.locator("#issue-photos figure[data-kind='report'] img[src^='blob:']").count() == 1 or \
        page.wait_for_selector("#issue-photos figure[data-kind='report'] img[src^='blob:']")
    _act(page, "accept")
    colours["accepted"] = _pin(page, issue_id, "accepted")

    def dispatch_form():
        # a village cadre may dispatch to no department: a person is the only choice
        assert page.locator("input[name=mode][value=department]").count() == 0
        page.select_option("#act-handler", handler_id)  # the picker (GET /issues/{id}/handlers)

    _act(page, "dispatch", dispatch_form)
    colours["dispatched"] = _pin(page, issue_id, "dispatched")
    assert page.locator("#issue-actions [data-action]").evaluate_all("els => els.map(e => e.dataset.action)") \
        == [a for a in ["dispatch", "escalate"]]  # the cadre may re-dispatch or escalate; not start

    # -- the cell leader finds it in the inbox, starts and resolves with a proof photo -----------
    ctx2, hp = new_page(browser, server)
    login(hp, "cellhead")
    hp.wait_for_selector("#iss-inbox-n:not([hidden])")
    hp.click("#iss-inbox")
    hp.wait_for_selector(f'.inbox[data-reason="handle"] [data-issue="{issue_id}"]')
    shot(hp, "21-issue-inbox")
    hp.click(f'.inbox [data-issue="{issue_id}"]')
    hp.wait_for_selector("#issue-head[data-status='dispatched']")
    assert "本人" in hp.inner_text("#side-body")  # dispatched to me
    _act(hp, "start")
    colours["in_progress"] = _pin(hp, issue_id, "in_progress")

    # resolving without a proof photo is refused in the form, before any request
    hp.click('#issue-actions [data-action="resolve"]')
    hp.wait_for_selector("#dialog[open]")
    hp.click("#dialog-ok")
    hp.wait_for_selector("#dialog-error:not([hidden])")
    assert "照片" in hp.inner_text("#dialog-error")
    hp.click("#dialog-cancel")
    hp.wait_for_selector("#dialog", state="hidden")

    def resolve_form():
        hp.set_input_files("#act-proof", png((40, 160, 90)))
        hp.fill("#act-note", "已清运垃圾并消杀")

    _act(hp, "resolve", resolve_form)
    colours["resolved"] = _pin(hp, issue_id, "resolved")
    hp.wait_for_selector("#issue-photos figure[data-kind='proof'] img[src^='blob:']")
    handler_actions = hp.locator("#issue-actions [data-action]").evaluate_all("els => els.map(e => e.dataset.action)")
    assert "verify" not in handler_actions, handler_actions  # the resolver may not verify
    shot(hp, "21-issue-panel")
    _problems(ctx2, hp)

    # -- the village cadre verifies, closes with a reply, and (as the reporter) rates ----------
    page.evaluate("(id) => geogrid.issuePanel.openIssue(id)", issue_id)
    page.wait_for_selector("#issue-head[data-status='resolved']")
    assert _pin(page, issue_id, "resolved") == colours["resolved"]
    _act(page, "verify")
    colours["verified"] = _pin(page, issue_id, "verified")
    # closing needs the reply to the reporter
    page.click('#issue-actions [data-action="close"]')
    page.wait_for_selector("#dialog[open]")
    page.click("#dialog-ok")
    page.wait_for_selector("#dialog-error:not([hidden])")
    page.fill("#act-note", "垃圾已清运，感谢反映。")
    page.click("#dialog-ok")
    page.wait_for_selector("#issue-head[data-status='closed']")
    colours["closed"] = _pin(page, issue_id, "closed")
    shot(page, "22-issue-closed")
    _act(page, "rate", lambda: page.check("input[name=rating][value='5']"))
    colours["rated"] = _pin(page, issue_id, "rated")
    assert "★★★★★" in page.inner_text("#side-body")

    timeline = page.locator("#issue-timeline li").evaluate_all("els => els.map(e => e.dataset.action).reverse()")
    assert timeline == ["report", "photo", "accept", "dispatch", "start", "photo", "resolve", "verify",
                        "close", "rate"], timeline
    # a distinct colour at every step, the legend's
    assert colours == STATUS_COLOURS, colours
    assert len(set(colours.values())) == len(colours)


def _db(server):
    return sqlite3.connect(server.register.db_url.removeprefix("sqlite:///"), timeout=30)


def test_issue_conflict_filters_overdue_and_hotspots(page, server):
    lon, lat, _ = _house_in_handler_cell(server)
    with server.api("cadre") as api:
        made = []
        for i, (cat, dx) in enumerate([("sanitation", 0.0), ("roads_lights", 0.0004), ("safety", -0.0004)]):
            r = api.post("/issues", json={"category": cat, "lon": lon + dx, "lat": lat + 0.0002 * i,
                                          "description": f"测试问题 {i}"})
            assert r.status_code == 201, r.text
            made.append(r.json()["id"])
    first, second, third = made
    # the second is overdue and supervised (督办): its deadline passed three days ago
    with _db(server) as db:
        db.execute("UPDATE issues SET due_at = strftime('%Y-%m-%d %H:%M:%S.000000', 'now', '-3 days'), "
                   "supervised = 1, supervision_level = 'village' WHERE id = ?", (second,))

    login(page, "cadre")
    _go(page, lon, lat, 17)
    page.wait_for_selector(f'.im[data-id="{second}"].overdue.supervised .im-badge')
    assert page.locator(f'.im[data-id="{first}"].overdue').count() == 0

    # -- someone else acts first: the stale click gets 412 and a clear message ----------------
    _open_pin(page, first)
    page.wait_for_selector("#issue-head[data-status='reported'][data-version='1']")
    with server.api("cadre") as api:
        assert api.post(f"/issues/{first}/transitions", json={"action": "accept", "version": 1}).status_code == 200
    page.expect_http(412, f"/issues/{first}/transitions")
    page.click('#issue-actions [data-action="reject"]')
    page.check("input[name=reason][value=invalid]")
    page.click("#dialog-ok")
    page.wait_for_selector("#issue-conflict")
    assert "其他人" in page.inner_text("#issue-conflict")
    page.wait_for_selector("#issue-head[data-status='accepted']")
    _pin(page, first, "accepted")
    shot(page, "23-issue-conflict")

    # -- filters: overdue only, a status off, a category -----------------------------------
    page.check("#iss-overdue")
    page.wait_for_function("(ids) => !document.querySelector(`.im[data-id='${ids[0]}']`) && "
                           "!!document.querySelector(`.im[data-id='${ids[1]}']`)", arg=[first, second])
    page.uncheck("#iss-overdue")
    page.wait_for_selector(f'.im[data-id="{first}"]')
    page.click('#iss-status [data-status="accepted"]')
    page.wait_for_selector(f'.im[data-id="{first}"]', state="detached")
    assert page.locator(f'.im[data-id="{third}"]').count() == 1
    page.click('#iss-status [data-status="accepted"]')
    page.select_option("#iss-category", "safety")
    page.wait_for_function("(ids) => !document.querySelector(`.im[data-id='${ids[0]}']`) && "
                           "!!document.querySelector(`.im[data-id='${ids[1]}']`)", arg=[first, third])
    page.select_option("#iss-category", "")
    page.wait_for_selector(f'.im[data-id="{first}"]')

    # -- the H3 hotspot layer ----------------------------------------------------------------
    _go(page, lon, lat, 15)
    page.check("#iss-hot")
    page.wait_for_function("geogrid.issues.hot.getLayers().length > 0")
    counts = page.evaluate("geogrid.issues.hot.getLayers().map(l => l.feature.properties.issues)")
    assert sum(counts) == 3, counts

    # -- the inbox: what needs the cadre, the supervised one first --------------------------------
    page.click("#iss-inbox")
    page.wait_for_selector(".inbox [data-issue]")
    reasons = page.locator(".inbox").evaluate_all("els => els.map(e => e.dataset.reason)")
    assert "triage" in reasons
    assert page.locator(f'.inbox [data-issue="{second}"]').count() >= 1
    shot(page, "24-issue-hotspots-inbox")

    # -- the issue card follows the language switch ------------------------------------------
    page.click("#lang-switch")
    assert page.inner_text("#iss-report") == "Report an issue"
    assert "Accepted" in page.inner_text("#iss-status")
    page.click("#lang-switch")
    assert page.inner_text("#iss-report") == "上报问题"


def _near_boundary_point(server):
    """A point 2 m inside a neighbour of cellhead's cell (same village), so routing puts it
    in the neighbour and flags it; returns (lon, lat, neighbour key, handler cell key)."""
    import math

    import shapely
    from sqlalchemy import text

    from geogrid.db.engine import make_engine

    reg = server.register
    engine = make_engine(reg.db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT cell_key, ST_AsBinary(geom) FROM cells WHERE plan_id = :p AND village_code = :v"),
                {"p": reg.plan_id, "v": reg.village_codes[0]}).all()
    finally:
        engine.dispose()
    cells = {k: shapely.from_wkb(bytes(w)) for k, w in rows}
    hkey = reg.handler_cell[1]
    home = cells[hkey]
    for key, other in sorted(cells.items()):
        if key == hkey:
            continue
        shared = home.boundary.intersection(other.boundary)
        if shared.is_empty or shared.length == 0:
            continue
        p = shared.representative_point()
        dy = 2.0 / 111_320
        dx = 2.0 / (111_320 * math.cos(math.radians(p.y)))
        for ux, uy in [(1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (1, -1), (-1, 1), (-1, -1)]:
            q = shapely.Point(p.x + ux * dx, p.y + uy * dy)
            if other.contains(q) and not home.contains(q) and all(
                    not g.contains(q) for k, g in cells.items() if k != key):
                return q.x, q.y, key, hkey
    raise AssertionError(f"no neighbour of {hkey} shares a boundary with it")


def test_issue_reroute_and_dispatch_from_the_picker(page, server):
    lon, lat, neighbour, hkey = _near_boundary_point(server)
    handler_id = server.user_id("cellhead")
    with server.api("cadre") as api:
        r = api.post("/issues", json={"category": "sanitation", "lon": lon, "lat": lat,
                                      "description": "边界附近的垃圾（改派测试）"})
        assert r.status_code == 201, r.text
        p = r.json()["properties"]
        assert p["near_boundary"] is True and p["cell_key"] == neighbour, p
        issue_id = r.json()["id"]

    login(page, "cadre")
    _go(page, lon, lat, 18)
    page.wait_for_selector(f'.im[data-id="{issue_id}"]')
    _open_pin(page, issue_id)
    page.wait_for_selector("#issue-head[data-status='reported'][data-version='1']")
    assert neighbour in page.inner_text("#issue-routing")
    assert "cadre" in page.inner_text("#side-body")  # the reporter's name

    # -- re-route by hand: the dialog lists the candidate cells, the current one disabled --------
    page.click("#issue-near-boundary #issue-reroute")
    page.wait_for_selector("#dialog[open] #reroute-cells")
    offered = page.locator("#reroute-cells input[name=cell_key]").evaluate_all(
        "els => els.map(e => [e.value, e.disabled])")
    assert [neighbour, True] in offered and [hkey, False] in offered, offered
    page.check(f"#reroute-cells input[value='{hkey}']")
    page.fill("#act-note", "核对后属于该户团")
    page.click("#dialog-ok")
    page.wait_for_selector("#dialog", state="hidden")
    page.wait_for_selector("#issue-head[data-version='2']")
    assert hkey in page.inner_text("#issue-routing")
    assert page.locator("#issue-near-boundary").count() == 0  # the flag is cleared
    page.wait_for_selector("#issue-timeline li[data-action='reroute']")
    tl = page.inner_text("#issue-timeline li[data-action='reroute']")
    assert f"{neighbour} → {hkey}" in tl and "核对后属于该户团" in tl
    shot(page, "25-issue-reroute")

    # -- accept, then dispatch to the cell leader chosen from the picker ------------------------
    _act(page, "accept")

    def dispatch_form():
        # a village cadre may dispatch to no department: a person is the only choice
        assert page.locator("input[name=mode][value=department]").count() == 0
        names = page.locator("#act-handler option").evaluate_all("els => els.map(e => e.dataset.username)")
        assert "cellhead" in names and "cadre" in names, names
        page.select_option("#act-handler", handler_id)

    _act(page, "dispatch", dispatch_form)
    _pin(page, issue_id, "dispatched")
    assert "cellhead" in page.inner_text("#side-body")  # the handler's name, not an id
    with server.api("cadre") as api:
        p = api.get(f"/issues/{issue_id}").json()["properties"]
    assert p["handler_id"] == handler_id and p["handler_name"] == "cellhead" and p["cell_key"] == hkey


def _dispatched_to_cellhead(server, description):
    lon, lat, _ = _house_in_handler_cell(server)
    with server.api("cadre") as api:
        r = api.post("/issues", json={"category": "sanitation", "lon": lon, "lat": lat,
                                      "description": description})
        assert r.status_code == 201, r.text
        iid = r.json()["id"]
        assert api.post(f"/issues/{iid}/transitions", json={"action": "accept", "version": 1}).status_code == 200
        r = api.post(f"/issues/{iid}/transitions",
                     json={"action": "dispatch", "version": 2, "handler_id": server.user_id("cellhead")})
        assert r.status_code == 200, r.text
    return iid


def test_supervision_step_says_who_supervises_in_chinese(page, server):
    """The timeline's 督办 step said "system" (the sweep's name in the database) to a
    Chinese cadre, and not which level supervises; it now names the level (乡镇级)."""
    iid = _dispatched_to_cellhead(server, "超期未处置的垃圾（督办测试）")
    # due four days ago: sanitation's deadline is three days, so the town supervises
    with _db(server) as db:
        db.execute("UPDATE issues SET due_at = strftime('%Y-%m-%d %H:%M:%S.000000', 'now', '-4 days') "
                   "WHERE id = ?", (iid,))
    with server.api("admin") as api:
        assert api.post("/issues/supervision").json()["supervised"] == [iid]

    login(page, "cadre")
    page.evaluate("(id) => geogrid.issuePanel.openIssue(id)", iid)
    page.wait_for_selector("#issue-timeline li[data-action='supervise']")
    step = page.inner_text("#issue-timeline li[data-action='supervise']")
    assert "督办" in step and "乡镇级" in step, step
    assert "system" not in step, step


def test_dispatch_offers_only_departments_the_cadre_may_send_to(page, server):
    """A village cadre's dispatch form offered every department of the catalogue, the
    town's 综治中心 and the county's bureaus, and the API refused each one (403: a
    village cadre cannot dispatch above the village; escalate instead).  The form now
    offers only the departments the caller may dispatch to: none for a village cadre,
    whose form has the person picker only."""
    lon, lat, _ = _house_in_handler_cell(server)
    with server.api("cadre") as api:
        r = api.post("/issues", json={"category": "sanitation", "lon": lon, "lat": lat,
                                      "description": "派遣部门测试"})
        iid = r.json()["id"]
        assert api.post(f"/issues/{iid}/transitions", json={"action": "accept", "version": 1}).status_code == 200

    login(page, "cadre")
    page.evaluate("(id) => geogrid.issuePanel.openIssue(id)", iid)
    page.wait_for_selector("#issue-head[data-status='accepted']")
    page.click('#issue-actions [data-action="dispatch"]')
    page.wait_for_selector("#dialog[open] #act-handler")
    offered = page.locator("#act-department option").evaluate_all("els => els.map(e => e.value).filter(Boolean)")
    assert offered == [], offered
    assert page.locator("input[name=mode][value=department]").count() == 0
    assert page.locator(".mode-person").is_visible()
    page.click("#dialog-cancel")
    page.wait_for_selector("#dialog", state="hidden")

    # an administrator may send it to any department
    with server.api("admin") as api:
        p = api.get(f"/issues/{iid}").json()["properties"]
        deps = [d["code"] for d in api.get("/issues/catalogue").json()["departments"]]
    assert p["dispatch_departments"] == deps


def _phone_photo() -> dict:
    """A phone camera's JPEG: 12 megapixels of fine detail, 11.6 MB (over the server's
    8 MB photo limit, under its 12 MB request limit), taken upright but stored on its
    side with EXIF orientation 6, as phones do."""
    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(1).integers(0, 255, (3000, 4000, 3), dtype=np.uint8)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to show
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=92, exif=exif)
    assert 8.4e6 < len(buf.getvalue()) < 12e6
    return {"name": "IMG_20261207_093000.jpg", "mimeType": "image/jpeg", "buffer": buf.getvalue()}


def test_a_phone_cameras_photo_is_kept_with_the_report(page, server):
    """A cadre's photo straight from a phone camera (11.6 MB) was refused by the server
    (413, over the 8 MB photo limit) after the issue was made: the report went without
    it.  The map now makes a large photo smaller before sending it (at most 2560 px a
    side, JPEG), upright by its EXIF orientation."""
    _report_form_at_a_house(page, server)
    page.fill("#report-description", "手机拍的现场照片")
    page.set_input_files("#report-photo", _phone_photo())
    page.click("#report-submit")
    page.wait_for_selector("#report-done")
    assert page.locator("#side-body .error").count() == 0, page.inner_text("#side-body")
    issue_id = page.evaluate("geogrid.issues.selectedId")
    with server.api("cadre") as api:
        photos = api.get(f"/issues/{issue_id}").json()["properties"]["photos"]
    assert [p["kind"] for p in photos] == ["report"], photos
    assert photos[0]["height"] > photos[0]["width"], photos  # upright: portrait
    assert max(photos[0]["width"], photos[0]["height"]) <= 2560, photos


def test_the_inbox_count_follows_work_sent_while_the_map_is_open(page, server):
    """The 待办 count was read once, at login: a cell leader who kept the map open all
    day (on a phone, in a background tab) was never shown the issue the village cadre
    dispatched to them, until they reloaded the page.  The count is now read again
    every minute while the page is in sight, and when it comes back into sight."""
    page.clock.install()
    login(page, "cellhead")
    page.wait_for_selector("#iss-inbox-n", state="attached")
    assert page.locator("#iss-inbox-n").is_hidden()

    first = _dispatched_to_cellhead(server, "地图开着时派来的（待办测试）")
    page.clock.fast_forward(61_000)
    page.wait_for_function("document.getElementById('iss-inbox-n').textContent === '1'", timeout=10_000)
    assert page.locator("#iss-inbox-n").is_visible()

    # back from another app: the count is read again at once
    _dispatched_to_cellhead(server, "切回地图时的待办（待办测试）")
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    page.wait_for_function("document.getElementById('iss-inbox-n').textContent === '2'", timeout=10_000)
    assert first
