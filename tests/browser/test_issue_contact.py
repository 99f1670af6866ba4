"""The report form takes the resident who raised the problem: the map offered no field
for their name and phone, though the API keeps them (the answer goes to them, and their
phone is whom the issue is of in the statistics), so a cadre reporting for a resident
could not say who.  A landline written as on a form, (0743)1234567, was refused (422)."""

from __future__ import annotations

from test_issues import _report_form_at_a_house


def test_a_cadre_reports_for_a_resident_with_their_name_and_landline(page, server):
    _report_form_at_a_house(page, server)
    page.fill("#report-description", "路灯坏了，村民来电反映")
    page.fill("#report-contact-name", "王小明")
    page.fill("#report-contact-phone", "0743-12345ab")
    page.click("#report-submit")
    error = page.locator("#report-error")
    error.wait_for(state="visible")
    assert "联系电话" in error.inner_text() and page.locator("#report-done").count() == 0
    page.fill("#report-contact-phone", "(0743)1234567")
    page.click("#report-submit")
    page.wait_for_selector("#report-done")
    assert page.locator("#side-body .error").count() == 0, page.inner_text("#side-body")
    issue_id = page.evaluate("geogrid.issues.selectedId")
    with server.api("cadre") as api:
        p = api.get(f"/issues/{issue_id}").json()["properties"]
    assert p["contact_name"] == "王**"  # kept, and masked as every resident's name is
    assert p["contact_phone"] != "(0743)1234567" and p["contact_phone"].endswith("4567"), p["contact_phone"]
