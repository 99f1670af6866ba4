"""The partition engine's notes in the planner's view, in a real browser: a re-run's
notes and refusals worded in the planner's language, the plan's own notes listed,
acknowledged and brought up to date by hand edits (split from test_planner.py)."""

from __future__ import annotations

from conftest import login, shot
from test_planner import _counts, _open_microgrid, _open_planner_with_draft


#: notes as the API gives them (tests/api/test_rerun_notes.py), with markup in an id and
#: in a message: the toast must show it as typed
NOTES = [
    {"kind": "microgrid_area_changed", "households": 0, "village_code": "431227103001",
     "microgrids": ["431227103001-M<b>05</b>"],
     "params": {"gained_m2": 512000.0, "lost_m2": 1234.4, "passed_m2": 30000.0},
     "message": "micro-grid(s) 431227103001-M<b>05</b> gained 0.512 km² and lost 0.001 km² in all to follow "
                "the outline of village 431227103001, and 0.030 km² passed from one of them to another: ..."},
    {"kind": "microgrid_in_pieces", "households": 0, "village_code": "431227103001",
     "microgrids": ["431227103001-M05"], "cells": ["431227103001-M05-C02"], "params": {"pieces": 3},
     "message": "the new outline of village 431227103001 leaves micro-grid 431227103001-M05 in 3 pieces; ..."},
    {"kind": "oversize_building", "households": 23, "village_code": "431227103001",
     "message": "building 7 in village 431227103001 has 23 households, more than 20; ..."},
    {"kind": "a_kind_the_map_has_no_words_for", "households": 2, "village_code": None,
     "message": "a new note of the engine with <i>markup</i> in it"},
]


def _rerun_with(page, handler, status=200):
    """Re-run the open micro-grid, its answer changed on the way by ``handler``."""
    page.route("**/repartition", handler)
    page.click("#mg-rerun")
    page.wait_for_selector("#dialog[open]")
    with page.expect_response(lambda r: r.url.endswith("/repartition"), timeout=90_000) as rerun:
        page.click("#dialog-ok")
    assert rerun.value.status == status
    page.wait_for_selector("#toast:not([hidden])")
    text = page.inner_text("#toast")
    assert page.evaluate("document.querySelector('#toast-text *')") is None  # text, never markup
    page.unroute("**/repartition")
    return text


def test_a_reruns_notes_are_shown_to_the_planner_in_the_planners_language(page):
    """The engine's notes on a re-run (here put into the server's answer on its way: the
    API's own are tested in tests/api) are shown, as text, and stay up.  In the Chinese
    interface each note of a kind the map knows is worded from its Chinese template with
    the note's ids and numbers, and no English sentence of the engine's is shown; in
    English, from the English template; a kind with no template is shown in the engine's
    words.  Before, every note was the engine's English message."""
    login(page, "planner")
    _open_planner_with_draft(page)
    _open_microgrid(page)

    def with_notes(route):
        answer = route.fetch()
        body = answer.json()
        body["notes"] = NOTES
        route.fulfill(response=answer, json=body)

    text = _rerun_with(page, with_notes)
    assert text.startswith("操作完成，划分引擎提示 4 条：为贴合村")
    assert ("为贴合村 431227103001（凉伞社区）的村界，微网格 431227103001-M<b>05</b> 共增加面积 0.512 平方公里、"
            "减少 1234 平方米，另有 0.030 平方公里 在这些微网格之间转移") in text
    assert ("村 431227103001（凉伞社区）的新村界把微网格 431227103001-M05 分成了 3 块，"
            "在此之前网格 431227103001-M05-C02 也随之分成多块。") in text
    assert "村 431227103001（凉伞社区）有一栋楼（或同一地址）共 23 户，超过每个网格的户数上限" in text
    assert "a new note of the engine with <i>markup</i> in it" in text  # no template: as the engine says
    for note in NOTES[:3]:
        assert note["message"] not in text
    assert "gained" not in text and "pieces" not in text and "building 7" not in text
    page.wait_for_timeout(4000)  # longer than a plain toast's 3.5 s
    assert page.is_visible("#toast")
    shot(page, "19-planner-rerun-notes-zh")

    page.click("#lang-switch")
    page.wait_for_function("document.documentElement.lang === 'en'")
    text = _rerun_with(page, with_notes)
    assert text.startswith("Done, with 4 note(s) from the partition engine: Micro-grid(s)")
    assert ("Micro-grid(s) 431227103001-M<b>05</b> gained 0.512 km² and lost 1234 m² in all to follow the "
            "outline of village 431227103001 (凉伞社区), and 0.030 km² passed from one of them to another") in text
    assert ("The new outline of village 431227103001 (凉伞社区) leaves micro-grid 431227103001-M05 in 3 pieces, "
            "and cell(s) 431227103001-M05-C02 with it until then.") in text
    assert "A building (or one address) in village 431227103001 (凉伞社区) has 23 households" in text
    assert "a new note of the engine with <i>markup</i> in it" in text
    # no Chinese left in, but the village's own name
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in text.replace("凉伞社区", ""))
    page.click("#lang-switch")


def test_a_refused_rerun_is_explained_in_the_planners_language(page):
    """A re-run the API refuses (a household would be left in no cell) is explained from
    the error's structured payload: in Chinese, with the micro-grids, households and the
    engine's notes worded in Chinese; the English detail is not shown.  Before, the
    planner read the English detail."""
    login(page, "planner")
    _open_planner_with_draft(page)
    _open_microgrid(page)
    detail = ("re-running 431227103001-M03 would leave 2 household(s) in no cell (h<b>1</b>, h2); they lie "
              "in micro-grid(s) 431227103001-M04: re-run those as well, or move them back. Nothing was "
              "changed. The engine says: 2 household(s) were added or moved outside ...")
    body = {"detail": detail, "code": "invalid", "errors": [{
        "type": "rerun_leaves_households", "reason": detail, "params": {
            "microgrids": ["431227103001-M03"], "n": 2, "households": ["h<b>1</b>", "h2"], "more": 0,
            "lie_in": ["431227103001-M04"], "nowhere": 0,
            "notes": [{"kind": "not_repartitioned", "households": 2, "village_code": None,
                       "message": "2 household(s) were added or moved outside ..."}]}}]}
    page.expect_http(422, "/repartition")
    text = _rerun_with(page, lambda route: route.fulfill(status=422, json=body), status=422)
    assert page.evaluate("document.getElementById('toast').classList.contains('error')")
    assert ("重新划分微网格 431227103001-M03 会使 2 户（h<b>1</b>、h2）不属于任何网格，因此未作任何修改。"
            "它们位于微网格 431227103001-M04，请将这些微网格一并重新划分；也可以把它们移回原来的网格。"
            "划分引擎提示：2 户是新增的") in text
    assert "re-running" not in text and "The engine says" not in text


def test_a_rerun_refused_for_a_villages_new_outline_is_explained_in_the_planners_language(page):
    """A re-run the partition engine refuses for a village's new outline (errors[0].type
    outline_leaves_no_land, outline_leaves_no_households or outline_has_no_area, with the
    village and the micro-grids as params) is worded from the planner's language's
    template with the ids filled in, as text; the English detail is not shown in the
    Chinese interface.  Before, the planner read the engine's English message."""
    login(page, "planner")
    _open_planner_with_draft(page)
    _open_microgrid(page)
    v, m3, m4 = "431227103001", "431227103001-M<b>03</b>", "431227103001-M04"

    def refusal(*errors):
        detail = "the new outline of village 431227103001 leaves micro-grid(s) ... (as the engine words it)"
        body = {"detail": detail, "code": "invalid",
                "errors": [{"type": kind, "reason": detail, "params": params} for kind, params in errors]}
        page.expect_http(422, "/repartition")
        text = _rerun_with(page, lambda route: route.fulfill(status=422, json=body), status=422)
        assert page.evaluate("document.getElementById('toast').classList.contains('error')")
        assert "as the engine words it" not in text  # the detail is not shown
        return text

    text = refusal(("outline_leaves_no_land", {"village": v, "microgrids": [m3, m4]}))
    assert ("村 431227103001（凉伞社区）的新村界使微网格 431227103001-M<b>03</b>、431227103001-M04 没有任何土地"
            "（其土地全部在新村界之外，或在本村其他微网格之下或旁边），因此未作任何修改。"
            "请将它们与本村相邻的微网格一起重新划分") in text
    text = refusal(("outline_leaves_no_households", {"village": v, "microgrids": [m4]}))
    assert ("村 431227103001（凉伞社区）的新村界使微网格 431227103001-M04 内没有任何住户，只剩无人居住的土地，"
            "会成为空网格，因此未作任何修改。") in text
    # one error per village whose outline has no area: the villages together
    text = refusal(("outline_has_no_area", {"village": "4312271<i>0</i>3001"}),
                   ("outline_has_no_area", {"village": "431227103202"}))
    assert ("村 4312271<i>0</i>3001、431227103202（长洲村）的村界没有面积（为空、一条线、一个点或极窄的细条），"
            "因此未作任何修改。请重新导入村界（须为多边形）后再重新划分。") in text
    shot(page, "19-planner-rerun-outline-refused-zh")

    page.click("#lang-switch")
    page.wait_for_function("document.documentElement.lang === 'en'")
    text = refusal(("outline_leaves_no_land", {"village": v, "microgrids": [m3, m4]}))
    assert ("The new outline of village 431227103001 (凉伞社区) leaves micro-grid(s) 431227103001-M<b>03</b>, "
            "431227103001-M04 no land (all of it lies outside the new outline") in text
    assert not any("\u4e00" <= ch <= "\u9fff" for ch in text.replace("凉伞社区", ""))
    page.click("#lang-switch")


def _stored_notes(server, plan_id):
    """The plan's notes as the database holds them: {id: (kind, village, households)}."""
    import json

    from sqlalchemy import create_engine, text

    eng = create_engine(server.register.db_url)
    try:
        with eng.connect() as c:
            return {i: (k, v, len(json.loads(h) if isinstance(h, str) else h)) for i, k, v, h in c.execute(
                text("SELECT id, kind, village_code, households FROM plan_notes WHERE plan_id = :p"),
                {"p": plan_id})}
    finally:
        eng.dispose()


def _acknowledged(server, note_id):
    from sqlalchemy import create_engine, text

    eng = create_engine(server.register.db_url)
    try:
        with eng.connect() as c:
            return c.execute(text("SELECT acknowledged_by FROM plan_notes WHERE id = :i"), {"i": note_id}).scalar_one()
    finally:
        eng.dispose()


def test_the_plans_own_notes_are_listed_in_the_planners_language_and_zoom_to_their_cell(page, server):
    """The engine's notes about the plan (kept with it: before, only the terminal that
    ran the partition saw them) are listed in the planner's panel, worded in Chinese,
    headed by their kind; a kind filter narrows them; a click zooms to and outlines
    the building's cell; a tick marks one dealt with; with a micro-grid open, only its
    notes are listed."""
    login(page, "planner")
    plan_id = _open_planner_with_draft(page)
    stored = _stored_notes(server, plan_id)
    kinds = {k for k, _, _ in stored.values()}
    assert {"oversize_building", "isolated"} <= kinds, stored
    page.wait_for_selector("#pp-notes:not([hidden]) #notes li[data-i]")
    assert page.inner_text("#notes-title") == f"划分提示（{len(stored)} 条未处理，共 {len(stored)} 条）"
    rows = page.locator("#notes li[data-i]")
    assert rows.count() == len(stored)
    texts = [t.replace("已处理", "", 1).strip() for t in rows.all_inner_texts()]
    building = [t for t in texts if t.startswith("整栋超过上限")]
    assert len(building) == sum(k == "oversize_building" for k, _, _ in stored.values())
    sizes = sorted(n for k, _, n in stored.values() if k == "oversize_building")
    assert sorted(int(t.split("共 ")[1].split(" 户")[0]) for t in building) == sizes
    assert any(t.startswith("孤立住户") for t in texts)
    assert not any("building" in t or "household" in t for t in texts)  # the engine's English is not shown

    # the kind filter
    page.select_option("#notes-kind", "isolated")
    assert all(t.startswith("孤立住户") for t in page.locator("#notes li[data-i]").all_inner_texts())
    page.select_option("#notes-kind", "")
    assert page.locator("#notes li[data-i]").count() == len(stored)

    # ticked as dealt with: kept on the server with who ticked it, listed last, greyed;
    # the title counts what is left; unticked, it is open again
    first = page.evaluate("geogrid.planner.notesShown[0].id")
    page.locator('#notes li[data-i="0"] input[data-ack]').check()
    page.wait_for_function("(id) => geogrid.planner.planNotes.find((n) => n.id === id).acknowledged", arg=first)
    assert _acknowledged(server, first) == "planner"
    assert page.inner_text("#notes-title") == f"划分提示（{len(stored) - 1} 条未处理，共 {len(stored)} 条）"
    last = page.locator(f'#notes li[data-i="{len(stored) - 1}"]')
    assert "done" in last.get_attribute("class") and last.locator("input").is_checked()
    assert page.evaluate(f"geogrid.planner.notesShown[{len(stored) - 1}].id") == first
    last.locator("input").uncheck()
    page.wait_for_function("(id) => !geogrid.planner.planNotes.find((n) => n.id === id).acknowledged", arg=first)
    assert _acknowledged(server, first) is None
    texts = [t.replace("已处理", "", 1).strip() for t in page.locator("#notes li[data-i]").all_inner_texts()]

    # a click on the biggest building's note: the map goes to its cell and outlines it
    biggest = max(range(len(texts)), key=lambda i: int(texts[i].split("共 ")[1].split(" 户")[0])
                  if texts[i].startswith("整栋超过上限") else -1)
    note = page.evaluate("(i) => geogrid.planner.notesShown[i]", biggest)
    cell = next(o for o in note["objects"] if o["type"] == "cell")
    page.evaluate("geogrid.map.setView([0, 0], 3, {animate: false})")
    page.click(f'#notes li[data-i="{biggest}"]')
    page.wait_for_selector(f'#notes li[data-i="{biggest}"].active')
    page.wait_for_function("geogrid.map.getZoom() > 12 && geogrid.planner.issueLayer.getLayers().length > 0")
    with server.api("planner") as api:
        r = api.get(f"/cells/{cell['id']}")
        assert r.status_code == 200, r.text
        houses = api.get("/households", params={"plan": plan_id, "cell": cell["id"], "limit": 500}).json()
    assert len(houses["features"]) == note["households"]  # the building is the cell, whole
    from shapely.geometry import shape

    b = shape(r.json()["geometry"]).bounds
    view = page.evaluate("""(b) => {
        const cell = L.latLngBounds([b[1], b[0]], [b[3], b[2]]);
        return {contains: geogrid.map.getBounds().contains(cell),
                outlined: geogrid.planner.issueLayer.getLayers().some((l) => l.getBounds && l.getBounds().equals(cell, 1e-5))};
    }""", list(b))
    assert view == {"contains": True, "outlined": True}, view
    shot(page, "24-planner-plan-notes")

    # with that building's micro-grid open, its notes only
    mg_key = cell["key"].rsplit("-", 1)[0]
    _open_microgrid(page, mg_key)
    page.wait_for_function("(k) => document.getElementById('notes-title').textContent.startsWith('本微网格')", arg=mg_key)
    here = page.evaluate("geogrid.planner.planNotes.filter((n) => geogrid.planner.noteInMicrogrid(n)).length")
    assert page.inner_text("#notes-title") == f"本微网格的划分提示（{here} 条未处理，共 {here} 条；全方案 {len(stored)} 条）"
    assert 1 <= here < len(stored)
    for o in page.evaluate("geogrid.planner.notesShown.flatMap((n) => n.objects)"):
        if o["type"] == "cell":
            assert o["key"].startswith(mg_key + "-"), o

    page.click("#lang-switch")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.inner_text("#notes-title").startswith("Engine notes on this micro-grid")
    texts = page.locator("#notes li[data-i]").all_inner_texts()
    assert any(t.startswith("Building over the cap") and "households, more than a cell may" in t for t in texts)
    page.click("#lang-switch")


def test_a_saved_hand_move_brings_the_notes_up_to_date(page, server):
    """Half of the biggest building over the cap moved out of its cell and saved: the
    notes list says at once, without a reload, that the building is split, and no
    longer that it is over the cap and kept whole (before, the list kept the old note
    until a re-run; its hint said hand edits did not update it)."""
    login(page, "planner")
    plan_id = _open_planner_with_draft(page)
    page.wait_for_selector("#pp-notes:not([hidden]) #notes li[data-i]")
    assert "移动住户、拆分或合并网格、锁定或解锁网格后" in page.inner_text("#pp-notes .hint")
    notes = page.evaluate("geogrid.planner.planNotes")
    building = max((n for n in notes if n["kind"] == "oversize_building"), key=lambda n: n["households"])
    assert not any(n["kind"] == "building_split" for n in notes)
    cell = next(o for o in building["objects"] if o["type"] == "cell")
    houses = [o["id"] for o in building["objects"] if o["type"] == "household"]
    _open_microgrid(page, cell["key"].rsplit("-", 1)[0])
    target = next(c for c in _counts(page) if c != cell["id"])
    page.evaluate("(ids) => { for (const id of ids) geogrid.planner.selected.add(id); geogrid.planner.renderSelection(); }",
                  houses[: len(houses) // 2])
    page.select_option("#assign-target", target)
    page.click("#assign-do")
    page.click("#save")
    page.wait_for_function("geogrid.planner.planNotes.some((n) => n.kind === 'building_split')", timeout=20_000)
    now = page.evaluate("geogrid.planner.planNotes")
    split = [n for n in now if n["kind"] == "building_split"]
    assert len(split) == 1 and split[0]["households"] == building["households"], split
    assert building["id"] not in {n["id"] for n in now}
    assert len(now) == len(notes)  # one note for another
    assert {o["id"] for o in split[0]["objects"] if o["type"] == "cell"} == {cell["id"], target}
    texts = page.locator("#notes li[data-i]").all_inner_texts()
    # worded as a split made by hand, not with the engine's reasons for one of its own
    assert any(t.startswith("楼栋被拆分") and f"{building['households']} 户经手工调整后分在了不同网格" in t
               for t in texts), texts
    assert not any("微网格边界从中穿过" in t for t in texts if t.startswith("楼栋被拆分")), texts
    with server.api("planner") as api:
        stored = {n["id"] for n in api.get(f"/plans/{plan_id}/notes").json()["notes"]}
    assert stored == {n["id"] for n in now}
    shot(page, "25-planner-notes-follow-a-hand-move")


def test_a_plan_saved_before_notes_were_kept_is_not_said_to_have_none(page):
    """A plan older than the notes (the API's ``recorded: false``) shows that none were
    recorded, not that the engine had nothing to say."""
    def unrecorded(route):
        answer = route.fetch()
        route.fulfill(response=answer, json={**answer.json(), "notes": [], "by_kind": {}, "open": 0,
                                             "recorded": False})

    page.route("**/notes", unrecorded)
    login(page, "planner")
    _open_planner_with_draft(page)
    page.wait_for_selector("#pp-notes:not([hidden]) #notes li")
    text = page.inner_text("#notes")
    assert text.startswith("此方案保存于记录划分提示之前") and "没有问题" not in text.replace("并非没有问题", "")
    assert "每条规则都已满足" not in text
    page.unroute("**/notes")


#: the API's register_changes (tests/api/test_register_changes_what.py): the villages
#: whose register changed after the plan read them, what changed counted apart
_AT = {"read_at": "2026-12-01T08:00:00+00:00", "changed_at": "2026-12-06T09:30:00+00:00"}
CHANGES = [{"village_code": "431227103001", "households": 6, "added": 3, "moved": 1, "removed": 2,
            "outline": True, **_AT, "message": "village 431227103001: its outline was redrawn and 3 household(s) "
                                               "added and ... since the plan read it; ..."},
           {"village_code": "431227999<b>9</b>", "households": 0, "added": 0, "moved": 0, "removed": 0,
            "outline": True, **_AT, "message": "village 431227999<b>9</b>: its outline was redrawn since ..."},
           {"village_code": "431227103202", "households": 1, "added": 0, "moved": 1, "removed": 0,
            "outline": False, **_AT, "message": "village 431227103202: 1 household(s) moved ... since ..."}]
#: the same as an analyst is given it: no counts (tests/api/test_register_changes_what.py)
CHANGES_UNCOUNTED = [{**c, "households": None, "added": None, "moved": None, "removed": None}
                     for c in CHANGES if c["households"]]


def _register_lines(page, list_id="notes"):
    """The register notice above ``list_id``: its heading and its lines, one per village."""
    page.wait_for_selector(f"#{list_id}-register:not([hidden])")
    return (page.inner_text(f"#{list_id}-register p"),
            page.locator(f"#{list_id}-register li").all_inner_texts())


def test_the_planner_is_told_what_changed_in_each_villages_register(page):
    """The notes and the validation answer ``register_changes`` (here put into the
    answers on their way): above the notes and above the validation's list, the panel
    says in the planner's language that the notes and validation of these villages may
    be out of date, then one line per village (by name where the map has it) saying
    what changed (households added, moved, taken out of the register, counted apart;
    the outline redrawn) and to re-run its micro-grids.  Before, each village read
    "{village} {n} 户" from the total alone: an outline redrawn read "0 户" and a move
    read like households added.  An analyst's entry (no counts) is worded without
    numbers.  Where nothing changed (the server's own answer), no such notice."""
    changes = CHANGES

    def with_changes(route):
        answer = route.fetch()
        route.fulfill(response=answer, json={**answer.json(), "register_changes": changes})

    login(page, "planner")
    _open_planner_with_draft(page)
    page.wait_for_function("Array.isArray(geogrid.planner.planNotes)")  # the draft's, not the plan's before
    page.wait_for_selector("#pp-notes:not([hidden]) #notes li")
    assert not page.is_visible("#notes-register")  # nothing changed since the draft's plan was drawn
    page.route("**/notes", with_changes)
    page.route("**/validation*", with_changes)
    page.evaluate("geogrid.planner.loadNotes()")
    page.wait_for_selector("#notes-register:not([hidden])")
    text = page.inner_text("#notes-register")
    assert "0 户" not in text and "新增 3 户" in text, text  # before: "431227999<b>9</b> 0 户"
    head, lines = _register_lines(page)
    assert head == "登记册在本方案绘制或上次重新划分之后有变动，以下各村的划分提示和校验结果可能已过时："
    assert lines == ["431227103001（凉伞社区）：新增 3 户、迁移 1 户、移出登记 2 户；村界已改。请对该村的微网格重新划分。",
                     "431227999<b>9</b>：村界已改。请对该村的微网格重新划分。",
                     "431227103202（长洲村）：迁移 1 户。请对该村的微网格重新划分。"]
    # text, never markup: the notice's own heading and list only
    assert page.evaluate("[...document.querySelectorAll('#notes-register *')].map((e) => e.tagName)") == [
        "P", "UL", "LI", "LI", "LI"]
    page.click("#validate-do")
    assert _register_lines(page, "validation") == (head, lines)
    shot(page, "26-planner-register-changes-zh")

    page.click("#lang-switch")
    page.wait_for_function("document.documentElement.lang === 'en'")
    head, lines = _register_lines(page)
    assert head == ("The register changed after this plan was drawn or last re-run; the notes and validation of "
                    "these villages may be out of date:")
    assert lines == [
        "431227103001 (凉伞社区): 3 household(s) added, 1 household(s) moved (point, village, building or hamlet), "
        "2 household(s) taken out of the register; its outline was redrawn. Re-run its micro-grids.",
        "431227999<b>9</b>: its outline was redrawn. Re-run its micro-grids.",
        "431227103202 (长洲村): 1 household(s) moved (point, village, building or hamlet). Re-run its micro-grids."]
    assert _register_lines(page, "validation") == (head, lines)

    # as an analyst is told it: what changed, never how many
    changes = CHANGES_UNCOUNTED
    page.evaluate("geogrid.planner.loadNotes()")
    page.wait_for_function("document.querySelectorAll('#notes-register li').length === 2")
    assert _register_lines(page)[1] == [
        "431227103001 (凉伞社区): its outline was redrawn; households may have been added, moved or taken out of "
        "the register too. Re-run its micro-grids.",
        "431227103202 (长洲村): households were added, moved or taken out of the register. Re-run its micro-grids."]
    page.click("#lang-switch")
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    assert _register_lines(page)[1] == [
        "431227103001（凉伞社区）：村界已改；住户也可能有新增、迁移或移出登记。请对该村的微网格重新划分。",
        "431227103202（长洲村）：有住户新增、迁移或移出登记。请对该村的微网格重新划分。"]
    assert not any(ch.isdigit() for ch in "".join(_register_lines(page)[1]).replace("431227103001", "")
                   .replace("431227103202", ""))
    page.unroute("**/notes")
    page.unroute("**/validation*")


def _mg(key, households=False, outline=False):
    return {"id": f"id-{key}", "key": key, "households": households, "outline": outline, **_AT}


#: register_changes naming the micro-grids still to re-run (tests/api/test_register_changes_microgrids.py):
#: households in two micro-grids; the outline beside one; a household in none of them
CHANGES_MG = [{"village_code": "431227103001", "households": 2, "added": 1, "moved": 1, "removed": 0,
               "households_changed": True, "outline": False, **_AT, "message": "...",
               "microgrids": [_mg("431227103001-M01", households=True), _mg("431227103001-M<b>03</b>", households=True)]},
              {"village_code": "431227103202", "households": 0, "added": 0, "moved": 0, "removed": 0,
               "households_changed": False, "outline": True, **_AT, "message": "...",
               "microgrids": [_mg("431227103202-M02", outline=True)]},
              {"village_code": "431227999001", "households": 1, "added": 0, "moved": 1, "removed": 0,
               "households_changed": True, "outline": False, **_AT, "message": "...", "microgrids": []}]


def test_the_planner_is_told_which_microgrids_to_rerun_and_an_analyst_whether_households_changed(page):
    """Each village's line of the register notice names the micro-grids its entry says
    are still to re-run (those that have not read the register since: a re-run of
    another micro-grid of the village leaves them to do), or says to re-run the
    village's where it names none.  An entry without counts (an analyst's) says whether
    households changed from ``households_changed``: an outline redrawn alone reads so.
    Before, every line said to re-run the village's micro-grids, and an analyst's
    redrawn outline read '住户也可能有新增、迁移或移出登记' whatever had changed."""
    changes = CHANGES_MG

    def with_changes(route):
        answer = route.fetch()
        route.fulfill(response=answer, json={**answer.json(), "register_changes": changes})

    login(page, "planner")
    _open_planner_with_draft(page)
    page.wait_for_function("Array.isArray(geogrid.planner.planNotes)")
    page.route("**/notes", with_changes)
    page.route("**/validation*", with_changes)
    page.evaluate("geogrid.planner.loadNotes()")
    _, lines = _register_lines(page)
    assert lines == [
        "431227103001（凉伞社区）：新增 1 户、迁移 1 户。请对微网格 431227103001-M01、431227103001-M<b>03</b> 重新划分。",
        "431227103202（长洲村）：村界已改。请对微网格 431227103202-M02 重新划分。",
        "431227999001：迁移 1 户。请对该村的微网格重新划分。"], lines
    assert page.evaluate("[...document.querySelectorAll('#notes-register *')].map((e) => e.tagName)") == [
        "P", "UL", "LI", "LI", "LI"]  # text, never markup
    page.click("#validate-do")
    assert _register_lines(page, "validation")[1] == lines

    page.click("#lang-switch")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert _register_lines(page)[1] == [
        "431227103001 (凉伞社区): 1 household(s) added, 1 household(s) moved (point, village, building or hamlet). "
        "Re-run micro-grid(s) 431227103001-M01, 431227103001-M<b>03</b>.",
        "431227103202 (长洲村): its outline was redrawn. Re-run micro-grid(s) 431227103202-M02.",
        "431227999001: 1 household(s) moved (point, village, building or hamlet). Re-run its micro-grids."]

    # as an analyst is given them: no counts, the booleans and the micro-grids
    changes = [{**c, "households": None, "added": None, "moved": None, "removed": None} for c in CHANGES_MG]
    changes[1] = {**changes[1], "microgrids": []}
    changes.append({**changes[1], "village_code": "431227999002", "households_changed": True,
                    "microgrids": [_mg("431227999002-M01", households=True, outline=True)]})
    page.evaluate("geogrid.planner.loadNotes()")
    page.wait_for_function("document.querySelectorAll('#notes-register li').length === 4")
    assert _register_lines(page)[1] == [
        "431227103001 (凉伞社区): households were added, moved or taken out of the register. "
        "Re-run micro-grid(s) 431227103001-M01, 431227103001-M<b>03</b>.",
        "431227103202 (长洲村): its outline was redrawn. Re-run its micro-grids.",  # before: "... may have been ..."
        "431227999001: households were added, moved or taken out of the register. Re-run its micro-grids.",
        "431227999002: its outline was redrawn; households were added, moved or taken out of the register. "
        "Re-run micro-grid(s) 431227999002-M01."]
    page.click("#lang-switch")
    page.wait_for_function("document.documentElement.lang === 'zh-CN'")
    assert _register_lines(page)[1][1:] == [
        "431227103202（长洲村）：村界已改。请对该村的微网格重新划分。",
        "431227999001：有住户新增、迁移或移出登记。请对该村的微网格重新划分。",
        "431227999002：村界已改；有住户新增、迁移或移出登记。请对微网格 431227999002-M01 重新划分。"]
    page.unroute("**/notes")
    page.unroute("**/validation*")


def test_a_rerun_shows_the_plans_notes_from_its_own_answer(page, server):
    """A re-run answers ``plan_notes``, the plan's notes as GET plans/{id}/notes gives
    them after it: the map shows those (here with a village's register change put into
    them on the way) and asks for the notes no more.  Before, it asked GET notes again
    after every re-run (one request more) and the answer's plan_notes went unread: the
    change put into them was never shown."""
    login(page, "planner")
    plan_id = _open_planner_with_draft(page)
    page.wait_for_function("Array.isArray(geogrid.planner.planNotes)")  # the draft's, not the plan's before
    _open_microgrid(page)
    page.wait_for_selector("#pp-notes:not([hidden]) #notes li")
    code = page.evaluate("String(geogrid.planner.mg.feature.properties.village_code)")
    change = {"village_code": code, "households": 0, "added": 0, "moved": 0, "removed": 0, "outline": True,
              **_AT, "message": f"village {code}: its outline was redrawn since ..."}
    asked = []
    page.on("request", lambda r: asked.append(r.url) if r.method == "GET" and "/notes" in r.url else None)

    def with_change(route):
        answer = route.fetch()
        body = answer.json()
        assert body["plan_notes"]["plan_id"] == plan_id
        body["plan_notes"]["register_changes"] = [change]
        route.fulfill(response=answer, json=body)

    _rerun_with(page, with_change)
    head, lines = _register_lines(page)
    assert len(lines) == 1 and lines[0].startswith(code), lines
    assert lines[0].endswith("：村界已改。请对该村的微网格重新划分。"), lines
    assert asked == []  # the re-run's answer was enough
    # what the map lists is what GET notes gives now
    with server.api("planner") as api:
        got = api.get(f"/plans/{plan_id}/notes").json()
    assert page.evaluate("geogrid.planner.planNotes") == got["notes"]
    assert page.evaluate("geogrid.planner.notesRecorded") == (got.get("recorded") is not False)
    assert page.locator("#notes li[data-i]").count() == page.evaluate(
        "geogrid.planner.planNotes.filter((n) => geogrid.planner.noteInMicrogrid(n)).length")
