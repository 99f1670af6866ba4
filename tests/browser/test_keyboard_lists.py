"""The planner's clickable lists are used with the keyboard too: the balance table (a row
picks its cell), the validation list and the engine's notes (a row zooms to what it
names).  Before, their rows were plain list items with a click handler: out of the tab
order, deaf to Enter and Space.  Now each row (a note's sentence, the row holding a tick
box) is a button reached with Tab, Enter or Space does what a click does, the keyboard
stays on the row when the list is redrawn, and the focused row shows a ring."""

from __future__ import annotations

from conftest import login, shot
from test_planner import _open_microgrid, _open_planner_with_draft

ACTIVE = """() => { const a = document.activeElement;
    const row = a.closest('li');
    const s = getComputedStyle(row.matches(':focus-visible') ? row : a.closest('li'));
    return {tag: a.tagName, role: a.getAttribute('role'), list: a.closest('ol, ul') && a.closest('ol, ul').id,
            cell: row.dataset.cell || null, i: row.dataset.i ?? null, pressed: a.getAttribute('aria-pressed'),
            cls: row.className, outline: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }"""


def test_the_planners_lists_are_used_with_the_keyboard(page):
    login(page, "planner")
    _open_planner_with_draft(page)
    _open_microgrid(page)

    # the balance table: Tab from the last tool reaches its first row; Space picks the cell
    page.focus("#mg-rerun")
    page.keyboard.press("Tab")
    first = page.evaluate(ACTIVE)
    assert first["list"] == "balance" and first["role"] == "button", first
    assert first["outline"] != "none" and first["width"] >= 2, first  # a visible focus ring
    assert first["pressed"] == "false"
    page.keyboard.press("Space")
    page.wait_for_function("(id) => geogrid.planner.picked.includes(id)", arg=first["cell"])
    now = page.evaluate(ACTIVE)  # redrawn, the keyboard still on the row
    assert now["cell"] == first["cell"] and now["pressed"] == "true" and "picked" in now["cls"], now
    page.keyboard.press("Tab")
    second = page.evaluate(ACTIVE)
    assert second["list"] == "balance" and second["cell"] != first["cell"], second
    page.keyboard.press("Enter")
    page.wait_for_function("([a, b]) => [a, b].every((id) => geogrid.planner.picked.includes(id))",
                           arg=[first["cell"], second["cell"]])
    page.keyboard.press("Enter")  # again: let go
    page.wait_for_function("(id) => !geogrid.planner.picked.includes(id)", arg=second["cell"])
    shot(page, "keyboard-balance")

    # the validation list: Tab from its button reaches the first problem; Enter zooms to it
    page.click("#validate-do")
    page.wait_for_selector("#validation li[data-i]")
    assert page.locator("#validation li[data-i]").count() >= 2, "two problems to go through"
    page.focus("#validate-do")
    page.keyboard.press("Tab")
    row = page.evaluate(ACTIVE)
    assert row["list"] == "validation" and row["i"] == "0" and row["role"] == "button", row
    assert row["outline"] != "none" and row["width"] >= 2, row
    page.evaluate("() => { geogrid.map.setView([0, 0], 3, {animate: false}); }")
    page.keyboard.press("Enter")
    page.wait_for_selector('#validation li[data-i="0"].active')
    page.wait_for_function("geogrid.map.getZoom() > 12")
    assert page.evaluate(ACTIVE)["i"] == "0"
    page.keyboard.press("Tab")
    page.keyboard.press("Space")
    page.wait_for_selector('#validation li[data-i="1"].active')
    assert page.evaluate(ACTIVE)["i"] == "1" and page.locator('#validation li[data-i="0"].active').count() == 0
    shot(page, "keyboard-validation")

    # the engine's notes: each sentence is a button; Enter zooms, the tick box keeps its Space
    page.wait_for_selector("#pp-notes:not([hidden]) #notes li[data-i]")
    page.focus('#notes li[data-i="0"] input[data-ack]')
    page.keyboard.press("Tab")
    note = page.evaluate(ACTIVE)
    assert note["list"] == "notes" and note["tag"] == "BUTTON" and note["i"] == "0", note
    ring = page.evaluate("""() => { const s = getComputedStyle(document.activeElement.closest('li'));
        return [s.outlineStyle, parseFloat(s.outlineWidth)]; }""")
    assert ring[0] != "none" and ring[1] >= 2, ring
    page.evaluate("() => { geogrid.map.setView([0, 0], 3, {animate: false}); }")
    page.keyboard.press("Enter")
    page.wait_for_selector('#notes li[data-i="0"].active')
    page.wait_for_function("geogrid.map.getZoom() > 12")
    assert page.evaluate(ACTIVE)["i"] == "0"  # still on the note, redrawn
    page.keyboard.press("Shift+Tab")  # back to its tick box: Space ticks it, no zoom
    note_id = page.evaluate("geogrid.planner.notesShown[0].id")
    page.keyboard.press("Space")
    page.wait_for_function("(id) => geogrid.planner.planNotes.find((n) => n.id === id).acknowledged", arg=note_id)
    shot(page, "keyboard-notes")
