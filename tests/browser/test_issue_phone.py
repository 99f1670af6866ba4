"""The issue panels on a phone (390 x 844), as a cadre uses them in the villages."""

from __future__ import annotations

from conftest import login
from test_issues import _dispatched_to_cellhead


def _open_issue(page, iid):
    page.evaluate("(id) => geogrid.issuePanel.openIssue(id)", iid)
    page.wait_for_function("(id) => geogrid.issuePanel.issue && geogrid.issuePanel.issue.id === id", arg=iid)


def test_from_an_open_issue_the_cards_toggle_reaches_the_inbox(phone, server):
    """With an issue's panel open (a sheet over the lower map), the 图层与问题 toggle
    opened the cards under that sheet: the issue card's 待办, 统计与导出 and filters lay
    behind the panel and a tap on them hit the panel, so a cadre had to close the issue
    first.  The opened cards now lie over the sheet; 待办 opens the inbox (and folds the
    cards away again)."""
    page = phone
    iid = _dispatched_to_cellhead(server, "手机上从问题详情去待办")
    login(page, "cadre")
    _open_issue(page, iid)
    page.click("#left-toggle")
    page.click("#iss-inbox", timeout=5_000)
    page.wait_for_selector("#inbox-empty, .inbox")
    assert page.evaluate("!document.body.classList.contains('left-open')")


def test_a_long_unbroken_description_wraps_inside_the_phones_screen(phone, server):
    """A description holding a long unbroken run (a web address, a number pasted from a
    message) ran past the right edge of the issue panel on a phone: the cadre read it cut
    off, and the whole panel scrolled sideways.  It wraps now, as do the timeline's notes
    and the inbox's lines."""
    page = phone
    link = "https://example.com/notice/" + "a1b2c3d4" * 10
    iid = _dispatched_to_cellhead(server, "群众反映见链接 " + link)
    login(page, "cadre")
    _open_issue(page, iid)
    body = page.evaluate("""() => {
        const b = document.getElementById('side-body');
        const d = document.querySelector('#side-body .iss-desc');
        return [b.scrollWidth, b.clientWidth, d.scrollWidth, d.clientWidth];
    }""")
    assert body[0] <= body[1] + 1 and body[2] <= body[3] + 1, body
    assert link in page.inner_text(".iss-desc").replace("\n", "")
