"""The plan's quality figures in the planner's panel, in a real browser.

Before, a planner never saw the engine's figures (fill, compactness, small hamlets kept
whole...) for a plan, nor what hand edits did to them.  Checked against the figures the
engine's own function gives for the plan in the database, not against the page's API."""

from __future__ import annotations

import math

from conftest import login, shot
from test_planner import _move_two, _open_microgrid, _open_planner_with_draft


def _figures(server, plan_id, village=None):
    """The engine's figures for ``plan_id`` (of ``village`` only), from the database."""
    from geogrid.db.engine import make_engine, session_scope
    from geogrid.db.plans import load_plan
    from geogrid.partition.report import result_figures
    from geogrid.partition.result import PartitionResult

    eng = make_engine(server.register.db_url)
    try:
        with session_scope(eng) as s:
            f = load_plan(s, plan_id, None if village is None else [village])
        return result_figures(PartitionResult(households=f.households, microgrids=f.microgrids, cells=f.cells))
    finally:
        eng.dispose()


def _table(page) -> dict[str, list[str]]:
    """The quality table: {figure: [this plan, (published,) target]} as shown."""
    return page.evaluate("""() => Object.fromEntries([...document.querySelectorAll('#quality tr[data-figure]')]
        .map((tr) => [tr.dataset.figure, [...tr.querySelectorAll('td')].map((td) => td.textContent.trim())]))""")


def _wait_measured(page, village=""):
    page.wait_for_function("""(v) => { const q = geogrid.planner.quality;
        return q && !q.loading && q.data && q.village === v; }""", arg=village, timeout=30_000)
    page.wait_for_selector("#pp-quality:not([hidden]) #quality tr[data-figure]")


def _pct(v):
    return f"{100 * v:.1f}%"


def test_the_quality_figures_follow_the_plan_its_villages_and_hand_edits(page, server):
    login(page, "planner")
    plan_id = _open_planner_with_draft(page)
    _wait_measured(page)
    want = _figures(server, plan_id)
    assert page.inner_text("#quality-title") == "方案质量（您的范围内）"
    table = _table(page)
    # this plan, the published one beside it (a fresh draft: the same), the target
    assert table["households_assigned"][:2] == [str(want["households_assigned"])] * 2
    assert table["mean_fill"][0].endswith(_pct(want["mean_fill"]))
    assert table["mean_fill"][2] == "≥ 90.0%"
    labels = page.inner_text("#quality")
    assert "超过20户的户团" in labels and "{cap}" not in labels  # the plan's own cap, filled in
    assert table["within_cell_msd_m2"][0] == f"{math.sqrt(want['within_cell_msd_m2']):.1f} m"
    assert table["small_hamlets_unsplit"][0].endswith(_pct(want["small_hamlets_unsplit"]))
    # met targets are ticked, unmet ones crossed, as the figures say
    for k, target in (("mean_fill", 0.9), ("polsby_popper_median", 0.6)):
        assert table[k][0].startswith("✓" if want[k] >= target else "✗"), (k, table[k])
    assert page.locator("#quality .delta").count() == 0  # nothing changed yet

    # a micro-grid opened: its village's figures
    _open_microgrid(page)
    village = page.evaluate("String(geogrid.planner.mg.feature.properties.village_code)")
    _wait_measured(page, village)
    assert page.inner_text("#quality-title").startswith(f"本村质量：{village}（")
    vwant = _figures(server, plan_id, village)
    assert _table(page)["households_assigned"][0] == str(vwant["households_assigned"])
    before = _table(page)["within_cell_msd_m2"]
    assert before[0] == before[1]

    # two households moved by hand and saved: the figures are measured again, and the
    # change against the published plan is marked
    _move_two(page)
    old = page.evaluate("geogrid.planner.quality.data.figures.within_cell_msd_m2")
    page.click("#save")
    page.wait_for_function("geogrid.planner.history.pending === 0 && !document.getElementById('save').textContent.includes('…')")
    page.wait_for_function("""(old) => { const q = geogrid.planner.quality;
        return q && q.data && !q.loading && q.data.figures.within_cell_msd_m2 !== old; }""", arg=old,
                           timeout=30_000)
    _wait_measured(page, village)
    after = _table(page)["within_cell_msd_m2"]
    vafter = _figures(server, plan_id, village)
    assert after[0].startswith(f"{math.sqrt(vafter['within_cell_msd_m2']):.1f} m")
    assert after[1] == before[1]  # the published plan's
    marks = page.locator('#quality tr[data-figure="within_cell_msd_m2"] .delta')
    assert marks.count() == 1
    worse = vafter["within_cell_msd_m2"] > vwant["within_cell_msd_m2"]
    assert marks.first.inner_text() == ("▲" if worse else "▼")
    assert "worse" in marks.first.get_attribute("class") if worse else "better" in marks.first.get_attribute("class")
    shot(page, "23-planner-quality")

    page.click("#lang-switch")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.inner_text("#quality-title").startswith(f"Quality of village {village}")
    assert "Mean cell fill" in page.inner_text("#quality")


def _publish_another_county(server) -> str:
    """A published plan of another county (one micro-grid, one empty cell, near
    Beijing), made now: the newest plan, first in the list every planner gets."""
    import geopandas as gpd
    from shapely.geometry import box

    from geogrid.db.engine import make_engine, session_scope
    from geogrid.db.plans import save_partition

    sq = box(116.30, 39.90, 116.31, 39.91)

    class Result:
        households = gpd.GeoDataFrame({"household_id": [], "microgrid_id": [], "cell_id": []},
                                      geometry=[], crs=4326)
        microgrids = gpd.GeoDataFrame({"microgrid_id": ["110101001001-M01"], "village_code": ["110101001001"],
                                       "households": [0], "area_km2": [1.2]}, geometry=[sq], crs=4326)
        cells = gpd.GeoDataFrame({"cell_id": ["110101001001-M01-C01"], "microgrid_id": ["110101001001-M01"],
                                  "village_code": ["110101001001"], "households": [0]}, geometry=[sq], crs=4326)

    eng = make_engine(server.register.db_url)
    try:
        with session_scope(eng, write=True) as s:
            return save_partition(s, Result, "东城区方案", {"max_households": 20}, county_code="110101",
                                  status="published").id
    finally:
        eng.dispose()


def test_a_draft_is_measured_beside_its_own_countys_published_plan(page, server):
    """Plans of two counties: the draft's figures stand beside the published plan it was
    made from, not beside the newest published plan of any county.  Before, the panel
    compared with the first published plan of the list (another county's, holding none
    of the draft's villages): no published column, no better/worse marks."""
    with server.api("planner") as api:
        r = api.post("/plans", json={"name": "草案"})
        assert r.status_code == 201, r.text
        parent = r.json()["parent_plan_id"]
    other = _publish_another_county(server)
    login(page, "planner")
    page.click("#tab-planner")
    page.wait_for_function("geogrid.planner.plan && geogrid.planner.plan.status === 'draft'", timeout=20_000)
    assert page.evaluate("geogrid.planner.plans.find((p) => p.status === 'published').id") == other
    _wait_measured(page)
    assert page.evaluate("geogrid.planner.quality.data.compare.plan_id") == parent
    table = _table(page)
    assert len(table["mean_fill"]) == 3  # this plan, the published one, the target
    assert table["households_assigned"][0] == table["households_assigned"][1]
    # and a new draft is made from the published plan of the county shown, not the newest
    before = page.evaluate("geogrid.planner.plan.id")
    page.click("#plan-new-draft")
    page.wait_for_function("(id) => geogrid.planner.plan && geogrid.planner.plan.status === 'draft' "
                           "&& geogrid.planner.plan.id !== id", arg=before, timeout=30_000)
    assert page.evaluate("geogrid.planner.plan.parent_plan_id") == parent
