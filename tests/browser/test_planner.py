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
    page.evaluate("""async (key) => {
        const p = geogrid.planner;
        const layers = p.mgLayer.getLayers();
        const l = key ? layers.find((x) => x.feature.properties.microgrid_key === key)
                      : layers.sort((a, b) => b.feature.properties.households - a.feature.properties.households)[0];
        await p.openMicrogrid(l.feature, l);
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
    source = source or max(counts, key=counts.get)
    target = target or min((c for c in counts if c != source), key=counts.get)
    # two households standing alone (households of one building share a point)
    ids = page.evaluate("""(src) => {
        const all = [...geogrid.planner.houses.values()];
        const alone = (h) => all.every((o) => o === h || geogrid.map.distance(o.marker.getLatLng(), h.marker.getLatLng()) > 3);
        return all.filter((h) => h.cellId === src && alone(h)).slice(0, 2).map((h) => h.id);
    }""", source)
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
    page.click("#validate-do")
    page.wait_for_selector("#validation li")
    shot(page, "15-planner-validation")
    first = page.locator("#validation li[data-i]")
    if first.count():
        first.first.click()
        page.wait_for_timeout(300)
