"""Logging in to the console in a real browser."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Browsing, LiveConsole, screenshot


def test_a_wrong_password_is_refused_with_one_clear_message(page: Page, live_console: LiveConsole) -> None:
    page.goto(live_console.page_url("/console/login"))
    screenshot(page, "login")
    page.get_by_label("Username").fill("sam")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()

    expect(page.get_by_role("alert")).to_have_text("Invalid username or password.")
    expect(page).to_have_url(re.compile(r"/console/login"))


def test_the_right_password_lands_on_the_home_page(browsing: Browsing, page: Page) -> None:
    browsing.log_in_through_the_form(page, "sam")

    expect(page.get_by_role("heading", name="Today", level=1)).to_be_visible()
    expect(page.get_by_text("Signed in as Sam Specialist (Specialist)")).to_be_visible()
    expect(page.get_by_role("heading", name="Delinquency buckets")).to_be_visible()
    screenshot(page, "home")


def test_a_stranger_is_sent_to_log_in_and_back_to_the_page_asked_for(browsing: Browsing, page: Page) -> None:
    page.goto(browsing.console.page_url("/console/audit/"))
    expect(page).to_have_url(re.compile(r"/console/login\?next="))

    page.get_by_label("Username").fill("sue")
    page.get_by_label("Password").fill(browsing.console.passwords["sue"])
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(r"/console/audit/"))


def test_logging_out_ends_the_session(browsing: Browsing, page: Page) -> None:
    browsing.log_in_through_the_form(page, "sam")
    page.get_by_role("button", name="Log out").click()

    expect(page.get_by_role("status")).to_have_text("You are logged out.")
    page.goto(browsing.console.page_url("/console/"))
    expect(page).to_have_url(re.compile(r"/console/login"))


def test_a_specialist_who_speaks_spanish_gets_the_console_in_spanish(browsing: Browsing, page: Page) -> None:
    browsing.log_in(page, "sofia")

    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.get_by_role("heading", name="Hoy", level=1)).to_be_visible()
    expect(page.get_by_role("navigation").get_by_role("link", name="Cola", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Cerrar sesión")).to_be_visible()
