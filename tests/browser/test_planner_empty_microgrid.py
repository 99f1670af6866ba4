"""A planner hands a micro-grid whose households all left the register to its
neighbour, on the map: the validation says what to do with its empty cells, the re-run
dialog offers the micro-grid next to it (the first chosen), and the re-run drops it,
its land the neighbour's, which is the micro-grid open after it; the engine's note is
worded in Chinese.  Before, the map re-ran the open micro-grid alone, which kept it
with an empty cell, and the note it could not name."""

from __future__ import annotations

from conftest import login, shot
from shapely.geometry import shape
from test_planner import _open_microgrid, _open_planner_with_draft


def _borders(a, b) -> bool:
    ga, gb = shape(a["geometry"]), shape(b["geometry"])
    return ga.boundary.intersection(gb.buffer(5e-7)).length > 1e-5


def _empty_one(server, pid):
    """Takes every household of the smallest micro-grid with a neighbour of its village
    out of the register: (its key, the keys of its neighbours, micro-grids by key)."""
    with server.api("planner") as api:
        mgs = {f["properties"]["microgrid_key"]: f
               for f in api.get("/microgrids", params={"plan": pid, "limit": 5000}).json()["features"]}
        pairs = [(m, o) for m in sorted(mgs) for o in sorted(mgs) if o != m
                 and mgs[m]["properties"]["village_code"] == mgs[o]["properties"]["village_code"]
                 and _borders(mgs[m], mgs[o])]
        key = min({m for m, _ in pairs}, key=lambda m: (mgs[m]["properties"]["households"], m))
        for c in api.get("/cells", params={"plan": pid, "microgrid": mgs[key]["id"], "limit": 5000}).json()["features"]:
            for h in api.get("/households", params={"plan": pid, "cell": c["id"], "limit": 5000}).json()["features"]:
                etag = api.get(f"/households/{h['id']}").headers["ETag"]
                r = api.post(f"/households/{h['id']}/removal", json={"reason": "moved_out", "date": "2026-11-30"},
                             headers={"If-Match": etag})
                assert r.status_code == 201, r.text
    return key, sorted(o for m, o in pairs if m == key), mgs


def test_a_planner_hands_an_emptied_micro_grid_to_its_neighbour(page, server):
    login(page, "planner")
    pid = _open_planner_with_draft(page)
    key, near, mgs = _empty_one(server, pid)
    page.reload()
    page.wait_for_function("geogrid.planner !== undefined")
    _open_planner_with_draft(page)
    _open_microgrid(page, key)
    page.click("#validate-do")
    page.wait_for_selector("#validation li .fix")
    assert "其所在微网格已没有住户" in page.inner_text("#validation")
    page.click("#mg-rerun")
    page.wait_for_selector("#dialog[open] #rerun-with")
    assert page.input_value("#rerun-with") == mgs[near[0]]["id"]
    shot(page, "planner-rerun-empty-microgrid")
    with page.expect_response(lambda r: r.url.endswith("/repartition"), timeout=90_000) as rerun:
        page.click("#dialog-ok")
    assert rerun.value.status == 200, rerun.value.text()
    assert rerun.value.json()["microgrids_dropped"] == {key: near[0]}
    page.wait_for_selector("#toast:not([hidden])")
    text = page.inner_text("#toast")
    assert f"已划入一同重新划分的相邻微网格 {near[0]}" in text, text
    page.wait_for_function("(k) => geogrid.planner.mg && geogrid.planner.mg.feature.properties.microgrid_key === k",
                           arg=near[0], timeout=30_000)
    keys = page.evaluate("geogrid.planner.mgLayer.getLayers().map((l) => l.feature.properties.microgrid_key)")
    assert key not in keys and near[0] in keys
