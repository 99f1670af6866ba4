"""An error toast stays up long enough to read it.  Many of the API's refusals are long
sentences, and the toast went after 3.5 s whatever it said.  Now it stays longer the
longer it is (an error at least 6 s, at most 30 s: js/dialog.js toastMs), is held while
the pointer is on it or the keyboard in it, and goes at once with its close button or
Esc; screen readers are told an error through a role="alert" region."""

from __future__ import annotations

import json

from conftest import login, set_language, shot

#: a refusal as long as many of the API's (no message key: in English, shown as
#: "That failed: <detail>"; in Chinese by its class, js/dialog.js errorMessage)
DETAIL = ("the catalogue of issue categories could not be read for this account just now: "
          "ask the county's administrator to check the account's role and scope, then log out "
          "and in again, or call the county hotline if the map is needed before that")


def _refuse_catalogue(page):
    page.expect_http(403, "/issues/catalogue")
    page.route("**/api/v1/issues/catalogue", lambda route: route.fulfill(
        status=403, content_type="application/json", body=json.dumps({"detail": DETAIL})))


def test_a_long_error_toast_stays_until_read_is_held_on_hover_and_is_announced(page):
    set_language(page, "en")
    _refuse_catalogue(page)
    page.clock.install()
    login(page, "cadre")
    page.wait_for_selector("#toast.error:not([hidden])")
    assert DETAIL in page.inner_text("#toast")
    # for screen readers: the error in the alert region
    page.wait_for_function("(d) => document.getElementById('toast-alert').textContent.includes(d)", arg=DETAIL)
    assert page.get_attribute("#toast-alert", "role") == "alert"
    page.clock.run_for(5_000)
    assert page.is_visible("#toast"), "gone before it could be read"
    page.clock.run_for(5_000)
    assert page.is_visible("#toast")
    shot(page, "toast-long-error")
    # the pointer on it holds it
    page.hover("#toast-text")
    page.clock.run_for(60_000)
    assert page.is_visible("#toast")
    page.mouse.move(700, 100)
    page.clock.run_for(31_000)
    assert page.is_hidden("#toast"), "never goes"


def test_a_toast_is_closed_with_its_button_or_esc_and_held_while_the_keyboard_is_in_it(page):
    _refuse_catalogue(page)
    page.clock.install()
    login(page, "cadre")
    page.wait_for_selector("#toast.error:not([hidden])")
    assert page.get_attribute("#toast-close", "aria-label") == "关闭提示"
    page.click("#toast-close")
    assert page.is_hidden("#toast")

    show = "(m) => import('/js/dialog.js').then((d) => d.toast(m, {error: true}))"
    page.evaluate(show, "第二条错误")
    page.wait_for_selector("#toast:not([hidden])")
    page.keyboard.press("Escape")
    assert page.is_hidden("#toast")

    # the keyboard in it (its close button) holds it; Enter closes it, and the keyboard
    # goes back where it was
    page.evaluate(show, "第三条错误")
    page.focus("#lang-switch")
    page.focus("#toast-close")
    page.clock.run_for(60_000)
    assert page.is_visible("#toast")
    page.keyboard.press("Enter")
    assert page.is_hidden("#toast")
    assert page.evaluate("document.activeElement.id") == "lang-switch"

    page.click("#lang-switch")
    assert page.get_attribute("#toast-close", "aria-label") == "Dismiss"


def test_one_esc_closes_the_toast_and_only_the_next_leaves_report_mode(page):
    """Esc closed a toast and left report mode in the same key press: the toast is the
    topmost, so one Esc closes it alone, as a dialog's does; the next leaves the mode."""
    login(page, "cadre")
    page.click("#iss-report")
    page.wait_for_selector("body.reporting")
    page.evaluate("(m) => import('/js/dialog.js').then((d) => d.toast(m, {error: true}))", "一条错误")
    page.wait_for_selector("#toast:not([hidden])")
    page.keyboard.press("Escape")
    assert page.is_hidden("#toast")
    assert page.evaluate("document.body.classList.contains('reporting')"), "the same Esc left report mode"
    assert page.is_visible("#report-hint")
    page.keyboard.press("Escape")
    page.wait_for_selector("body:not(.reporting)")
    assert page.is_hidden("#report-hint")
