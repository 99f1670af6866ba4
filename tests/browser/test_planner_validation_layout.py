"""The planner's validation list stays readable in English, whose rule names are long:
the names of what each problem is about are not squeezed to a letter a line."""

from __future__ import annotations

from conftest import login, set_language, shot
from test_planner import _open_microgrid, _open_planner_with_draft


def test_validation_rows_keep_their_objects_readable_in_english(page):
    set_language(page, "en")
    login(page, "planner")
    _open_planner_with_draft(page)
    _open_microgrid(page)  # the fullest: its buildings of more than 20 households are warned of
    page.click("#validate-do")
    page.wait_for_selector("#validation li")
    rows = page.evaluate("""() => [...document.querySelectorAll('#validation li[data-i]')].map((li) => {
        const [rule, what] = li.children;
        const r = what.getBoundingClientRect(), l = li.getBoundingClientRect();
        return {rule: rule.textContent, what: what.textContent, width: r.width,
                inside: r.left >= l.left - 0.5 && r.right <= l.right + 0.5,
                lines: Math.round(r.height / parseFloat(getComputedStyle(what).lineHeight || 16))};
    })""")
    shot(page, "planner-validation-en")
    assert rows, "no validation problem to look at"
    assert any(len(r["rule"]) > 30 for r in rows), rows  # a long English rule name is among them
    for r in rows:
        assert r["inside"], r
        # as wide as a short key ("M03-C05") at least, not a letter a line
        assert r["width"] >= min(40, 7 * len(r["what"])), r
