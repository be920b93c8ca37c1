"""Search, the handoff summary, the borrower profile and caller verification in a real browser (issue 15B).

Demo borrowers (docs/demo.md): Jean-François Côté LN-3004, Mathieu Gagnon LN-3002 (fr_CA), Sophie Tremblay LN-3001,
Lukas Müller LN-5001 (born 1980-10-03, tax ID ending 8034).
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Browsing, LiveConsole, screenshot

MATHIEU = "+14185550132"  # Mathieu Gagnon, LN-3002, fr_CA, born 1976-01-09


def search_for(page: Page, typed: str) -> None:
    """Open search from the nav and search for `typed`."""
    page.get_by_role("navigation").get_by_role("link", name="Search").click()
    page.get_by_label("Loan number, name, phone or its last 4 digits").fill(typed)
    page.get_by_role("button", name="Search").click()


def test_a_name_typed_without_accents_finds_the_borrower_and_their_loans(browsing: Browsing, page: Page) -> None:
    browsing.log_in(page, "sam")
    search_for(page, "jean-francois cote")

    borrowers = page.get_by_role("region", name="Borrowers")
    expect(borrowers.get_by_role("link", name="Jean-François Côté")).to_be_visible()
    expect(borrowers.get_by_role("link", name="LN-3004")).to_be_visible()
    screenshot(page, "search")

    search_for(page, "(819) 555-0134")
    expect(page.get_by_role("region", name="Borrowers").get_by_role("link", name="Jean-François Côté")).to_be_visible()
    search_for(page, "ln-3004")
    loans = page.get_by_role("region", name="Loans")
    loans.get_by_role("link", name="LN-3004").click()
    expect(page).to_have_url(re.compile(r"/console/loans/LN-3004$"))


def test_a_claimed_conversation_opens_on_its_handoff_summary(browsing: Browsing, page: Page) -> None:
    console: LiveConsole = browsing.console
    console.text_from_borrower(MATHIEU, "solde")
    console.text_from_borrower(MATHIEU, "1976-01-09")
    console.text_from_borrower(MATHIEU, "Je veux parler à un conseiller, AGENT")

    browsing.log_in(page, "sam")
    page.goto(console.page_url("/console/queue/"))
    row = page.get_by_role("row").filter(has=page.get_by_role("link", name="Mathieu Gagnon"))
    row.get_by_role("button", name="Claim").click()
    expect(page).to_have_url(re.compile(r"/console/conversations/\d+$"))

    summary = page.get_by_role("region", name="Handoff summary")
    expect(summary).to_contain_text("Asked for a person")
    expect(summary).to_contain_text("Je veux parler à un conseiller, AGENT")
    expect(summary).to_contain_text("Verified until")
    expect(summary).to_contain_text("What the assistant already answered")
    expect(summary).to_contain_text("loan …3002")
    expect(summary).to_contain_text("principal balance")
    expect(summary.get_by_role("button", name="Send this reply").first).to_be_visible()
    screenshot(page, "handoff-summary")


def test_a_specialist_edits_a_profile_with_a_reason(browsing: Browsing, page: Page) -> None:
    browsing.log_in(page, "sam")
    search_for(page, "sophie tremblay")
    page.get_by_role("region", name="Borrowers").get_by_role("link", name="Sophie Tremblay").click()
    expect(page.get_by_role("heading", name="Sophie Tremblay", level=1)).to_be_visible()

    zone = page.locator("#zone-form")
    zone.get_by_label("Time zone (e.g. America/Chicago)").fill("America/Toronto")
    zone.get_by_label("Reason (required)").fill("Moved to Toronto, said on the phone")
    zone.get_by_role("button", name="Change time zone").click()
    expect(page.get_by_text("Time zone changed.")).to_be_visible()

    phones = page.locator("#phone-form")
    phones.get_by_label("New phone (any format)").fill("(514) 555-0199")
    phones.get_by_label("Reason (required)").fill("New mobile number")
    phones.get_by_role("button", name="Add phone").click()
    expect(page.get_by_text("Phone added.")).to_be_visible()
    expect(page.get_by_role("region", name="Phones")).to_contain_text("+15145550199")

    phones = page.locator("#phone-form")
    phones.get_by_label("New phone (any format)").fill("not a phone")
    phones.get_by_label("Reason (required)").fill("typo")
    phones.get_by_role("button", name="Add phone").click()
    expect(page.get_by_text("Not changed: phone: not a phone number.")).to_be_visible()

    email = page.locator("#email-form")
    email.get_by_label("Email (blank removes it)").fill("sophie.tremblay@")
    email.get_by_label("Reason (required)").fill("New address, said on the phone")
    email.get_by_role("button", name="Change email").click()
    expect(page.get_by_text("Not changed: email: nothing after the @ (name@example.com).")).to_be_visible()
    email = page.locator("#email-form")
    email.get_by_label("Email (blank removes it)").fill("sophie.tremblay@courriel.example")
    email.get_by_label("Reason (required)").fill("New address, said on the phone")
    email.get_by_role("button", name="Change email").click()
    expect(page.get_by_text("Email changed.")).to_be_visible()

    name = page.locator("#name-form")
    name.get_by_label("First name").fill("Sophie-Anne")
    name.get_by_label("Reason (required)").fill("Her full first name, from the deed")
    name.get_by_role("button", name="Change name").click()
    expect(page.get_by_role("heading", name="Sophie-Anne Tremblay", level=1)).to_be_visible()

    home = page.get_by_role("form", name="Property of loan LN-3001")
    home.get_by_label("Line 1").fill("1200 Rue Sherbrooke Ouest")
    home.get_by_label("City").fill("Montréal")
    home.get_by_label("Region").fill("QC")
    home.get_by_label("Postal code").fill("H3A 0A1")  # ... a Canadian code
    home.get_by_label("Country").fill("CA")
    home.get_by_label("Reason (required)").fill("The deed gives the property's address")
    home.get_by_role("button", name="Save property address").click()
    expect(page.get_by_text("Address saved.")).to_be_visible()
    home = page.get_by_role("form", name="Property of loan LN-3001")
    home.get_by_label("Postal code").fill("90210")  # ... not a Canadian code: refused, nothing changed
    home.get_by_label("Reason (required)").fill("typo")
    home.get_by_role("button", name="Save property address").click()
    expect(page.get_by_text("is not a postal code of CA")).to_be_visible()
    kept = page.get_by_role("form", name="Property of loan LN-3001").get_by_label("Postal code")
    expect(kept).to_have_value("H3A 0A1")
    screenshot(page, "borrower-profile")


def test_a_specialist_verifies_a_caller_match_and_no_match(browsing: Browsing, page: Page) -> None:
    browsing.log_in(page, "sam")
    search_for(page, "lukas muller")
    page.get_by_role("region", name="Borrowers").get_by_role("link", name="Lukas Müller").click()

    caller = page.locator("#caller-form")
    caller.get_by_label("Date of birth").fill("1980-10-03")
    caller.get_by_label("Last 4 digits of the tax ID").fill("8034")
    caller.get_by_role("button", name="Check").click()
    expect(page.get_by_text("Match: the caller's date of birth and tax ID digits are those on file.")).to_be_visible()

    caller = page.locator("#caller-form")
    caller.get_by_label("Date of birth").fill("1980-10-04")
    caller.get_by_label("Last 4 digits of the tax ID").fill("8034")
    caller.get_by_role("button", name="Check").click()
    no_match = "No match. The failure counts with the borrower's failed attempts in chats."
    expect(page.get_by_text(no_match)).to_be_visible()
    expect(page.get_by_role("region", name="Verify a caller")).to_contain_text("Failed attempts now: 1")
    screenshot(page, "caller-verification")
