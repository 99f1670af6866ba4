"""The issue panel says how long an issue is overdue, or has left, rounded down.

It wrote 超期 N 天 rounding up from the phone's clock: an issue two hours overdue read
超期 1 天, as if a full day late; one due in two hours read 剩余 1 天.  It now words the
API's due_in_s: 超期 2 小时 under a day, days and hours beyond (超期 3 天 5 小时), and the
inbox says the same beside the deadline.
"""

from __future__ import annotations

from conftest import login
from test_issues import _db, _dispatched_to_cellhead


def _due(server, iid, shift):
    """Set the issue's deadline to now shifted by ``shift`` (SQLite modifiers)."""
    with _db(server) as db:
        db.execute("UPDATE issues SET due_at = strftime('%Y-%m-%d %H:%M:%S.000000', 'now', "
                   + ", ".join("?" for _ in shift) + ") WHERE id = ?", (*shift, iid))


def _due_text(page, iid):
    page.evaluate("(id) => geogrid.issuePanel.openIssue(id)", iid)
    page.wait_for_selector("#issue-head")
    page.wait_for_function("(id) => geogrid.issuePanel.issue && geogrid.issuePanel.issue.id === id", arg=iid)
    # the words after the deadline, in its field (办理期限)
    return page.evaluate("""() => {
        const dt = [...document.querySelectorAll("dl.fields dt")].find((e) => e.textContent === "办理期限");
        const span = dt.nextElementSibling.querySelector("span");
        return span ? span.textContent : "";
    }""")


def test_overdue_by_hours_reads_hours_not_a_day(page, server):
    late = _dispatched_to_cellhead(server, "超期两小时的垃圾")
    _due(server, late, ["-2 hours", "-5 minutes"])
    later = _dispatched_to_cellhead(server, "超期三天多的垃圾")
    _due(server, later, ["-3 days", "-5 hours", "-5 minutes"])
    soon = _dispatched_to_cellhead(server, "两小时后到期的垃圾")
    _due(server, soon, ["+2 hours", "+5 minutes"])

    login(page, "cadre")
    assert _due_text(page, late) == "（超期 2 小时）"
    assert _due_text(page, later) == "（超期 3 天 5 小时）"
    assert _due_text(page, soon) == "（剩余 2 小时）"

    # the inbox (the village cadre supervises the cell's overdue work) says the same
    page.click("#iss-inbox")
    page.wait_for_selector(f'.inbox [data-issue="{late}"]')
    assert "超期 2 小时" in page.inner_text(f'.inbox [data-issue="{late}"] .ib-sub')
