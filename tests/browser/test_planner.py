"""The planner's view in a real browser: move households, balance, undo, save, conflict."""

from __future__ import annotations

from conftest import login, new_page, shot


def _open_planner_with_draft(page):
    page.click("#tab-planner")
    page.wait_for_selector("#planner-panel:not([hidden])")
    page.wait_for_function("geogrid.planner.plan !== null", timeout=20_000)
    if page.evaluate("geogrid.planner.plan.status") != "draft":
        page.click("#plan-new-draft")
        page.wait_for_function("geogrid.planner.plan && geogrid.planner.plan.status === 'draft'", timeout=30_000)
    page.wait_for_function("geogrid.planner.mgLayer.getLayers().length > 0", timeout=20_000)
    return page.evaluate("geogrid.planner.plan.id")


def _open_microgrid(page, key=None):
    """Open the micro-grid with `key` (default: the one with the most cells)."""
    if key:
        page.wait_for_function("""(key) => geogrid.planner.mgLayer.getLayers()
            .some((x) => x.feature.properties.microgrid_key === key)""", arg=key, timeout=20_000)
    # (a plan switch still in flight may clear and refill mgLayer: look again until it is there)
    page.evaluate("""async (key) => {
        const p = geogrid.planner;
        for (let tries = 0; tries < 100; tries++) {
            const layers = p.mgLayer.getLayers();
            const l = key ? layers.find((x) => x.feature.properties.microgrid_key === key)
                          : layers.sort((a, b) => b.feature.properties.households - a.feature.properties.households)[0];
            if (l) return await p.openMicrogrid(l.feature, l);
            await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`micro-grid ${key} never appeared on the planner's map`);
    }""", key)
    page.wait_for_selector("#balance li", state="attached")
    return page.evaluate("geogrid.planner.mg.feature.properties.microgrid_key")


def _counts(page):
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#balance li')]
        .map((li) => [li.dataset.cell, +li.dataset.count]))""")


def _cells_by_key(page):
    return page.evaluate("Object.fromEntries([...geogrid.planner.cells.values()].map(c => [c.key, c.id]))")


def _click_households(page, ids):
    for hid in ids:
        xy = page.evaluate("""(id) => {
            const h = geogrid.planner.houses.get(id);
            geogrid.map.setView(h.marker.getLatLng(), 19, {animate: false});
            const p = geogrid.map.latLngToContainerPoint(h.marker.getLatLng());
            const r = document.getElementById('map').getBoundingClientRect();
            return [p.x + r.left, p.y + r.top];
        }""", hid)
        page.wait_for_timeout(100)
        page.mouse.click(*xy)
    page.wait_for_function("(ids) => ids.every((id) => geogrid.planner.selected.has(id)) && geogrid.planner.selected.size === ids.length", arg=ids)


def _move_two(page, source=None, target=None):
    """Select two households of the fullest cell and assign them to the emptiest one."""
    counts = _counts(page)
    # households standing alone, per cell (households of one building share a point)
    alone = page.evaluate("""() => {
        const all = [...geogrid.planner.houses.values()];
        const alone = (h) => all.every((o) => o === h || geogrid.map.distance(o.marker.getLatLng(), h.marker.getLatLng()) > 3);
        const out = {};
        for (const h of all.filter(alone)) (out[h.cellId] = out[h.cellId] || []).push(h.id);
        return out;
    }""")
    source = source or max((c for c in counts if len(alone.get(c, [])) >= 2), key=counts.get)
    target = target or min((c for c in counts if c != source), key=counts.get)
    ids = alone.get(source, [])[:2]
    assert len(ids) == 2
    # keep the map on the micro-grid for the clicks
    page.evaluate("() => { geogrid.map.fitBounds(geogrid.planner.mg.layer.getBounds(), {animate: false}); }")
    _click_households(page, ids)
    page.select_option("#assign-target", target)
    page.click("#assign-do")
    return source, target, ids


def test_planner_moves_households_saves_and_reload_keeps_it(page, server):
    login(page, "planner")
    plan_id = _open_planner_with_draft(page)
    mg_key = _open_microgrid(page)
    before = _counts(page)
    shot(page, "10-planner-microgrid")
    source, target, ids = _move_two(page)
    after = _counts(page)
    assert after[source] == before[source] - 2
    assert after[target] == before[target] + 2
    assert "1" in page.inner_text("#dirty")  # one edit (moving two households)
    shot(page, "11-planner-moved")
    page.click("#save")
    page.wait_for_function("geogrid.planner.history.pending === 0 && !document.getElementById('save').textContent.includes('…')")
    page.wait_for_selector("#balance li")
    assert _counts(page)[target] == before[target] + 2

    # a fresh page load: the change is on the server
    page.reload()
    page.wait_for_function("document.body.dataset.ready === '1'", timeout=30_000)
    page.click("#tab-planner")
    page.wait_for_function("geogrid.planner.plan !== null", timeout=20_000)
    page.select_option("#plan-select", plan_id)
    page.wait_for_function("(id) => geogrid.planner.plan.id === id && geogrid.planner.mgLayer.getLayers().length > 0", arg=plan_id)
    _open_microgrid(page, mg_key)
    reloaded = _counts(page)
    assert reloaded[source] == before[source] - 2
    assert reloaded[target] == before[target] + 2
    with server.api("planner") as api:
        for hid in ids:
            fc = api.get("/households", params={"cell": target, "plan": plan_id, "limit": 100}).json()
            assert hid in {f["id"] for f in fc["features"]}
    shot(page, "12-planner-after-reload")


def test_plan_choices_in_flight_do_not_undo_each_other(page):
    """The plan on its way, chosen again, is not fetched again (that closed a
    micro-grid opened meanwhile: a failure of the reload test under load); of two
    plans chosen in quick succession the later is shown, even when the answer for the
    earlier comes back last."""
    login(page, "planner")
    draft = _open_planner_with_draft(page)
    other = page.evaluate("(d) => geogrid.planner.plans.find((p) => p.id !== d && p.status !== 'archived').id", draft)
    fetched = []

    def slow(route):
        fetched.append(route.request.url)
        page.wait_for_timeout(800)
        route.continue_()

    page.route(f"**/api/v1/plans/{other}", slow)
    page.route(f"**/api/v1/plans/{draft}", lambda route: (fetched.append(route.request.url), route.continue_()))
    # the other plan (slow) then the draft again: the draft stays although the other
    # plan's answer comes back last
    shown = page.evaluate("""async ([a, b]) => {
        const p = geogrid.planner;
        await Promise.all([p.choosePlan(a), p.choosePlan(b)]);
        return [p.plan.id, document.getElementById('plan-select').value];
    }""", [other, draft])
    assert shown == [draft, draft] and len(fetched) == 2 and fetched[0].endswith(other), (shown, fetched)
    # the other plan chosen twice while on its way: one fetch
    fetched.clear()
    page.evaluate("""(o) => Promise.all([geogrid.planner.choosePlan(o), geogrid.planner.choosePlan(o)])""", other)
    assert len(fetched) == 1 and page.evaluate("geogrid.planner.plan.id") == other, fetched
    # the draft chosen, then chosen again while on its way: a micro-grid opened as soon
    # as its micro-grids are on the map stays open
    fetched.clear()
    page.evaluate("""(d) => { const p = geogrid.planner; p.choosePlan(d); p.choosePlan(d); }""", draft)
    page.wait_for_function("(d) => geogrid.planner.plan.id === d && geogrid.planner.mgLayer.getLayers().length > 0", arg=draft)
    _open_microgrid(page)
    page.evaluate("(d) => geogrid.planner.choosePlan(d)", draft)
    page.wait_for_timeout(1000)
    assert len(fetched) == 1, fetched
    assert page.evaluate("geogrid.planner.mg !== null && geogrid.planner.plan.id") == draft


def test_undo_and_redo_restore_counts(page):
    login(page, "planner")
    _open_planner_with_draft(page)
    _open_microgrid(page)
    before = _counts(page)
    source, target, _ = _move_two(page)
    moved = _counts(page)
    assert moved != before
    page.click("#undo")
    assert _counts(page) == before
    assert page.inner_text("#dirty") == ""
    page.click("#redo")
    assert _counts(page) == moved
    page.keyboard.press("Control+z")
    assert _counts(page) == before
    shot(page, "13-planner-undo")


def test_second_editor_gets_the_conflict_dialog(page, browser, server):
    login(page, "planner")
    plan_id = _open_planner_with_draft(page)
    mg_key = _open_microgrid(page)

    ctx2, page2 = new_page(browser, server)
    try:
        page2.expect_http(412, f"/api/v1/plans/{plan_id}/")
        login(page2, "planner2")
        page2.click("#tab-planner")
        page2.wait_for_function("geogrid.planner.plan !== null", timeout=20_000)
        page2.select_option("#plan-select", plan_id)
        page2.wait_for_function("(id) => geogrid.planner.plan.id === id && geogrid.planner.mgLayer.getLayers().length > 0", arg=plan_id)
        _open_microgrid(page2, mg_key)

        # both edit; the first one saves first
        _move_two(page)
        _move_two(page2)
        page.click("#save")
        page.wait_for_function("geogrid.planner.history.pending === 0")
        page2.click("#save")
        try:
            page2.wait_for_selector("dialog.conflict[open]")
        finally:
            shot(page2, "14-planner-conflict")
        assert "其他人" in page2.inner_text("#conflict-text")
        shot(page2, "14-planner-conflict")
        # reload brings the other editor's change in and drops the stale one
        page2.click("#dialog-ok")
        page2.wait_for_function("geogrid.planner.history.pending === 0")
        page2.wait_for_selector("#balance li")
        assert _counts(page2) == _counts(page)
        problems = list(page2.log.problems)
    finally:
        ctx2.close()
    assert not problems, problems


def test_validation_list_and_balance_panel(page):
    login(page, "planner")
    _open_planner_with_draft(page)
    _open_microgrid(page)
    counts = _counts(page)
    assert len(counts) >= 2, counts
    # overfill one cell past the cap of 20 from another (the fullest other cell): its
    # balance row turns red.  (Cells may all hold exactly 20, so pick two distinct ones.)
    target = min(counts, key=counts.get)
    source = max((c for c in counts if c != target), key=counts.get)
    need = 21 - counts[target]
    assert 0 < need <= counts[source], counts
    ids = page.evaluate("""([src, n]) => [...geogrid.planner.houses.values()]
        .filter((h) => h.cellId === src).slice(0, n).map((h) => h.id)""", [source, need])
    page.evaluate("(ids) => { for (const id of ids) geogrid.planner.selected.add(id); geogrid.planner.renderSelection(); }", ids)
    page.select_option("#assign-target", target)
    page.click("#assign-do")
    # the panel re-renders asynchronously: wait for the red row rather than race it
    page.wait_for_selector(f'#balance li[data-cell="{target}"].over', timeout=10_000)
    assert _counts(page)[target] == 21
    # validation checks the stored plan: save, and it names the over-full cell
    page.click("#save")
    page.wait_for_function("geogrid.planner.history.pending === 0 && !document.getElementById('save').textContent.includes('…')")
    page.click("#validate-do")
    page.wait_for_selector("#validation li")
    row = page.evaluate("""(cell) => geogrid.planner.validationIssues.findIndex((v) =>
        v.rule === 'over_capacity' && v.objects.some((o) => o.type === 'cell' && o.id === cell))""", target)
    assert row >= 0, page.evaluate("geogrid.planner.validationIssues")
    # the row names the cell shortly ("M01-C03"); the full key is in its tooltip
    key = page.evaluate("(id) => geogrid.planner.cells.get(id).key", target)
    li = page.locator(f'#validation li[data-i="{row}"]')
    assert key.split("-", 1)[1] in li.inner_text() and key not in li.inner_text(), li.inner_text()
    assert key in li.get_attribute("title")

    # look elsewhere first, then click the problem: the map goes to the over-full cell
    page.evaluate("""() => { const c = geogrid.planner.mg.layer.getBounds().getCenter();
        geogrid.map.setView([c.lat + 0.05, c.lng + 0.05], 12, {animate: false}); }""")
    cell_bounds = page.evaluate("""(id) => { const b = geogrid.planner.findCellLayer(id).getBounds();
        return [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()]; }""", target)
    page.click(f'#validation li[data-i="{row}"]')
    page.wait_for_selector(f'#validation li[data-i="{row}"].active')
    page.wait_for_function("geogrid.map.getZoom() > 12 && geogrid.planner.issueLayer.getLayers().length > 0")
    view = page.evaluate("""(cb) => {
        const map = geogrid.map, cell = L.latLngBounds([cb[0], cb[1]], [cb[2], cb[3]]);
        const hl = geogrid.planner.issueLayer.getLayers().map((l) => l.getBounds());
        // where the cell lands on screen, and where the planner panel ends
        const mapBox = map.getContainer().getBoundingClientRect();
        const nw = map.latLngToContainerPoint(cell.getNorthWest()), se = map.latLngToContainerPoint(cell.getSouthEast());
        return {zoom: map.getZoom(), contains: map.getBounds().contains(cell),
                highlighted: hl.some((b) => b.equals(cell, 1e-5)),  // (GeoJSON keeps 6 decimals)
                left: nw.x + mapBox.left, right: se.x + mapBox.left,
                panel: document.getElementById('planner-panel').getBoundingClientRect().right,
                width: mapBox.right};
    }""", cell_bounds)
    assert view["zoom"] >= 15, view
    assert view["contains"] and view["highlighted"], view
    # not hidden under the planner panel
    assert view["panel"] < view["left"] < view["right"] <= view["width"], view
    shot(page, "15-planner-validation")


def _vertices(page):
    """The edited micro-grid's Geoman vertex markers: [[i, x, y, lat, lon], ...] on screen."""
    return page.evaluate("""() => {
        const layer = geogrid.planner.mg.layer, r = document.getElementById('map').getBoundingClientRect();
        return layer.pm._markers.flat(3).map((m, i) => {
            const p = geogrid.map.latLngToContainerPoint(m.getLatLng()), ll = m.getLatLng();
            return [i, p.x + r.left, p.y + r.top, ll.lat, ll.lng];
        });
    }""")


def _ring(page):
    return page.evaluate("geogrid.planner.mg.layer.toGeoJSON().geometry.coordinates")


def _drag(page, x, y, dx, dy):
    page.mouse.move(x, y)
    page.mouse.down()
    for k in range(1, 6):
        page.mouse.move(x + dx * k / 5, y + dy * k / 5)
    page.mouse.up()
    page.wait_for_timeout(200)


def _utm(transformer, xy):
    import numpy as np

    x, y = transformer.transform(xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def _microgrid_inside_its_village(server, plan_id):
    """The key of a micro-grid of `plan_id` within 1 m² of its village (the API refuses
    boundaries that reach further out; see the report of this audit about the sample plan)."""
    import shapely
    from pyproj import Transformer
    from shapely.geometry import shape

    utm = Transformer.from_crs(4326, 32649, always_xy=True)
    with server.api("planner") as api:
        villages = {f["properties"]["code"]: shape(f["geometry"])
                    for f in api.get("/areas", params={"level": "village", "limit": 5000}).json()["features"]}
        mgs = api.get("/microgrids", params={"plan": plan_id, "limit": 5000}).json()["features"]
    for f in sorted(mgs, key=lambda f: -f["properties"]["households"]):
        out = shape(f["geometry"]).difference(villages[f["properties"]["village_code"]])
        if out.is_empty or shapely.transform(out, lambda xy: _utm(utm, xy)).area <= 1.0:
            return f["properties"]["microgrid_key"]
    return None


def test_boundary_drag_snaps_refuses_self_intersection_undoes_and_saves(page, server):
    login(page, "planner")
    plan_id = _open_planner_with_draft(page)
    key = _microgrid_inside_its_village(server, plan_id)
    assert key, "no micro-grid of the sample plan lies inside its village"
    _open_microgrid(page, key)
    page.evaluate("() => { geogrid.map.fitBounds(geogrid.planner.mg.layer.getBounds(), {animate: false, padding: [120, 120]}); }")
    page.click('#tool-seg [data-tool="boundary"]')
    page.wait_for_function("geogrid.planner.mg.layer.pm.enabled() && geogrid.planner.mg.layer.pm._markers.flat(3).length >= 3")
    assert page.evaluate("geogrid.planner.mg.layer.pm.options.allowSelfIntersection") is False
    assert page.evaluate("geogrid.planner.mg.layer.pm.options.snappable") is True
    original = _ring(page)
    verts = _vertices(page)
    # a vertex the neighbours share (micro-grids tile the village)
    shared = page.evaluate("""(pts) => {
        const own = geogrid.planner.mg.layer;
        const others = geogrid.planner.mgLayer.getLayers().filter((l) => l !== own);
        const on = (ll) => others.some((l) => l.getLatLngs().flat(3).some((o) => o.lat === ll[0] && o.lng === ll[1]));
        return pts.filter((p) => on([p[3], p[4]])).map((p) => p[0]);
    }""", verts)

    # 1. snapping: a vertex dragged 7 px off a shared corner snaps back onto the neighbour's.
    #    Zoomed in on the corner first: at the zoom that fits the whole micro-grid another
    #    outline's vertex (the village's, which the ring follows closely) can lie within the
    #    15 px snap distance too, and the drag snaps to whichever is nearer
    assert shared, "no corner of the micro-grid is shared with a neighbour"
    if shared:
        i, _, _, lat, lon = verts[shared[0]]
        page.evaluate("([lat, lon]) => { geogrid.map.setView([lat, lon], Math.min(geogrid.map.getZoom() + 3, 20), {animate: false}); }", [lat, lon])
        page.wait_for_timeout(300)
        _, x, y, lat2, lon2 = _vertices(page)[i]
        assert (lat2, lon2) == (lat, lon)
        _drag(page, x, y, 7, 5)
        ll = page.evaluate("(i) => { const m = geogrid.planner.mg.layer.pm._markers.flat(3)[i].getLatLng(); return [m.lat, m.lng]; }", i)
        assert abs(ll[0] - lat) < 1e-9 and abs(ll[1] - lon) < 1e-9, (ll, lat, lon)
        page.evaluate("() => { while (geogrid.planner.history.canUndo) geogrid.planner.history.undo(); }")
        page.evaluate("() => { geogrid.map.fitBounds(geogrid.planner.mg.layer.getBounds(), {animate: false, padding: [120, 120]}); }")
        page.wait_for_timeout(300)

    # 2. a wild drag (vertex 0 to just outside the vertex farthest from it) never leaves a
    #    ring that crosses itself: Geoman refuses the crossing drag, or the ring stays simple
    verts = _vertices(page)
    _, x0, y0, *_ = verts[0]
    cx = sum(v[1] for v in verts) / len(verts)
    cy = sum(v[2] for v in verts) / len(verts)
    _, xk, yk, *_ = max(verts, key=lambda v: (v[1] - x0) ** 2 + (v[2] - y0) ** 2)
    px, py = xk + (xk - cx) * 0.15, yk + (yk - cy) * 0.15
    _drag(page, x0, y0, px - x0, py - y0)
    from shapely.geometry import shape

    ring = _ring(page)
    assert shape({"type": "Polygon" if len(ring[0][0]) == 2 else "MultiPolygon", "coordinates": ring}).is_valid
    assert page.evaluate("geogrid.planner.mg.layer.pm.hasSelfIntersection()") is False
    page.evaluate("() => { while (geogrid.planner.history.canUndo) geogrid.planner.history.undo(); }")
    assert _ring(page) == original

    # 3. a plain drag inwards is one undoable edit
    # (a vertex inside the village, between two shared edges: moved towards the centre it
    #  opens a gap, which the API accepts, rather than reaching outside the village)
    verts = _vertices(page)
    inner = [k for k in shared if (k - 1) % len(verts) in shared and (k + 1) % len(verts) in shared]

    def room(k):  # on screen, to the nearer of its two ring neighbours: rings follow the
        # village outline closely (edges split to 100 m), so some vertices sit pixels apart
        n = len(verts)
        return min(((verts[k][1] - verts[j][1]) ** 2 + (verts[k][2] - verts[j][2]) ** 2) ** 0.5
                   for j in ((k - 1) % n, (k + 1) % n))

    pick = max(inner or range(len(verts)), key=room)
    assert room(pick) > 20, "no vertex of the micro-grid has room to be dragged"
    i, x, y, *_ = verts[pick]
    cx, cy = page.evaluate("""() => { const c = geogrid.planner.mg.layer.getBounds().getCenter();
        const p = geogrid.map.latLngToContainerPoint(c), r = document.getElementById('map').getBoundingClientRect();
        return [p.x + r.left, p.y + r.top]; }""")
    norm = max(1.0, ((cx - x) ** 2 + (cy - y) ** 2) ** 0.5)
    _drag(page, x, y, (cx - x) / norm * 30, (cy - y) / norm * 30)  # beyond the 15 px snap
    moved = _ring(page)
    assert moved != original
    # one drag is one undo step; a drag that starts on Geoman's middle marker (dense rings
    # put them within pixels of a vertex) inserts a vertex first, which is a second step
    steps = page.evaluate("geogrid.planner.history.pending")
    assert steps in (1, 2), steps
    shot(page, "17-planner-boundary")
    for _ in range(steps):
        page.click("#undo")
    assert _ring(page) == original
    for _ in range(steps - 1):
        page.click("#redo")
    page.click("#redo")
    assert _ring(page) == moved
    page.click('#tool-seg [data-tool="select"]')
    mg_id = page.evaluate("geogrid.planner.mg.id")
    # the save is one all-or-nothing batch (POST /plans/{id}/edits) carrying the boundary
    page.expect_http(422, "/edits")
    with page.expect_response(lambda r: r.url.endswith("/edits")) as put:
        page.click("#save")
    page.wait_for_function("!document.getElementById('save').textContent.includes('…')")
    if put.value.status == 200:
        page.wait_for_function("geogrid.planner.history.pending === 0")
        with server.api("planner") as api:
            saved = api.get(f"/microgrids/{mg_id}").json()["geometry"]
        flat = str(saved["coordinates"])
        assert str(round(moved[0][0][0][0] if len(moved[0][0]) != 2 else moved[0][0][0], 5))[:7] in flat
    else:
        # the API refuses a boundary that leaves the village or overlaps a neighbour: the
        # planner is told why and keeps the edit (nothing lost, nothing half-saved)
        assert put.value.status == 422, put.value.text()
        page.wait_for_selector("#toast.error:not([hidden])")
        # (in the planner's language: geometry.outside / geometry.overlaps)
        assert "超出上级范围" in page.inner_text("#toast") or "重叠" in page.inner_text("#toast")
        assert page.evaluate("geogrid.planner.history.pending") == steps
        assert _ring(page) == moved
    assert plan_id


def test_lock_merge_split_rerun_and_publish(page):
    login(page, "planner")
    _open_planner_with_draft(page)
    _open_microgrid(page)
    cells = _cells_by_key(page)
    keys = sorted(cells)
    a = cells[keys[0]]

    def pick(cell_id):
        page.click(f'#balance li[data-cell="{cell_id}"]')

    # lock: one undoable local edit, shown in the balance row, saved
    pick(a)
    page.click("#cell-lock")
    page.wait_for_function("(id) => geogrid.planner.cells.get(id).locked", arg=a)
    assert "🔒" in page.inner_text(f'#balance li[data-cell="{a}"]')
    page.click("#save")
    page.wait_for_function("geogrid.planner.history.pending === 0 && !document.getElementById('save').textContent.includes('…')")
    page.wait_for_function("(id) => geogrid.planner.cells.get(id) && geogrid.planner.cells.get(id).baseLocked", arg=a)

    # re-run the partition of this micro-grid: asks first, keeps every household and the
    # locked cell, none over the cap
    n_houses = page.evaluate("geogrid.planner.houses.size")
    page.click("#mg-rerun")
    page.wait_for_selector("#dialog[open]")
    with page.expect_response(lambda r: r.url.endswith("/repartition"), timeout=90_000) as rerun:
        page.click("#dialog-ok")
    assert rerun.value.status == 200, rerun.value.text()
    page.wait_for_function("(n) => geogrid.planner.houses.size === n && !geogrid.planner.history.pending", arg=n_houses, timeout=60_000)
    page.wait_for_timeout(500)
    # over the cap only a cell that is one building, as the engine documents
    over = page.evaluate("""() => {
        const byCell = {};
        for (const h of geogrid.planner.houses.values()) (byCell[h.cellId] = byCell[h.cellId] || []).push(h);
        return Object.entries(byCell).filter(([, hs]) => hs.length > 20).map(([id, hs]) => [id, hs.length,
            hs.every((h) => geogrid.map.distance(h.marker.getLatLng(), hs[0].marker.getLatLng()) < 1)
            || new Set(hs.map((h) => h.feature.properties.building)).size === 1]);
    }""")
    assert all(one for _, _, one in over), over
    # (re-run gives every cell a new id; the locked one keeps its key, its lock and its households)
    assert page.evaluate("(k) => [...geogrid.planner.cells.values()].some((c) => c.key === k && c.locked)", keys[0])
    cells = {k: v for k, v in _cells_by_key(page).items() if k != keys[0]}
    keys = sorted(cells)

    # merge two cells (the server does it): one cell fewer, households kept
    n_cells = page.evaluate("geogrid.planner.cells.size")
    page.evaluate("() => { geogrid.planner.picked = []; geogrid.planner.renderAll(); }")
    c, d = cells[keys[0]], cells[keys[1]]
    pick(c)
    pick(d)
    assert page.evaluate("geogrid.planner.picked.length") == 2
    page.click("#cell-merge")
    page.wait_for_function("([c, h]) => geogrid.planner.cells.size === c - 1 && geogrid.planner.houses.size === h",
                           arg=[n_cells, n_houses], timeout=20_000)

    # split: the selected households of the picked cell become a new cell
    merged = page.evaluate("""() => { const c = {}; for (const h of geogrid.planner.houses.values()) c[h.cellId] = (c[h.cellId] || 0) + 1;
        return Object.entries(c).sort((x, y) => y[1] - x[1])[0][0]; }""")
    ids = page.evaluate("(cid) => [...geogrid.planner.houses.values()].filter((h) => h.cellId === cid).slice(0, 3).map((h) => h.id)", merged)
    page.evaluate("(ids) => { for (const id of ids) geogrid.planner.selected.add(id); geogrid.planner.renderSelection(); }", ids)
    page.evaluate("() => { geogrid.planner.picked = []; }")
    pick(merged)
    page.click("#cell-split")
    page.wait_for_function("([c, h]) => geogrid.planner.cells.size === c && geogrid.planner.houses.size === h",
                           arg=[n_cells, n_houses], timeout=20_000)
    same = page.evaluate("(ids) => new Set(ids.map((id) => geogrid.planner.houses.get(id).cellId)).size", ids)
    assert same == 1
    assert page.evaluate("(ids) => geogrid.planner.houses.get(ids[0]).cellId", ids) != merged

    # publish: asks first; the server publishes only a plan that breaks no rule, and says
    # why not otherwise (the sample plan breaks nesting rules: see the audit report)
    page.click("#publish")
    page.wait_for_selector("#dialog[open]")
    # it names the engine's notes on the plan, which the planner should have read
    n_notes = page.evaluate("geogrid.planner.planNotes.length")
    assert n_notes > 0
    assert f"本方案有 {n_notes} 条划分提示尚未处理" in page.inner_text("#dialog")
    page.expect_http(422, "/publish")
    with page.expect_response(lambda r: r.url.endswith("/publish"), timeout=90_000) as pub:
        page.click("#dialog-ok")
    if pub.value.status == 200:
        page.wait_for_function("geogrid.planner.plan.status === 'published'", timeout=30_000)
        assert page.is_hidden("#pp-edit")
    else:
        assert pub.value.status == 422, pub.value.text()
        page.wait_for_selector("#toast.error:not([hidden])")
        # in the planner's language (the API's message key), not the API's English
        assert "不能发布" in page.inner_text("#toast") and page.evaluate("geogrid.planner.plan.status") == "draft"
    shot(page, "18-planner-published")
