"""Autopay in a real browser: a specialist shows the borrower the authorization and records their agreement."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy import select

from servicing.store.models import AutopayEnrolment, BankAccount, Loan
from tests.browser.conftest import Browsing, screenshot
from tests.browser.test_loans_in_browser import open_loan


def a_loan_with_an_account_and_no_autopay(browsing: Browsing) -> str:
    """Return a demo loan in US dollars with a bank account on file and no autopay (the demo enrols a few)."""
    with browsing.console.sessions()() as session:
        enrolled = select(AutopayEnrolment.loan_id)
        number = session.scalar(
            select(Loan.loan_number).join(BankAccount, BankAccount.loan_id == Loan.id)
            .where(Loan.currency == "USD", Loan.status == "active", BankAccount.status == "active",
                   Loan.id.not_in(enrolled))
            .order_by(Loan.loan_number).limit(1)
        )  # fmt: skip
    assert number is not None
    return number


def test_a_specialist_enrols_a_borrower_in_autopay_with_the_authorization_shown(browsing: Browsing, page: Page) -> None:
    number = a_loan_with_an_account_and_no_autopay(browsing)
    browsing.log_in(page, "sam")
    open_loan(page, number)
    page.get_by_role("link", name="Bank accounts and autopay").click()
    expect(page.get_by_role("heading", name=f"Bank accounts and autopay: loan {number}")).to_be_visible()
    expect(page.locator("td.masked").first).to_have_text(re.compile(r"^\*\*\*\*\d{4}$"))
    expect(page.locator("#autopay-status")).to_have_text("Autopay is off.")

    page.get_by_label("Amount", exact=True).select_option("due_plus")
    page.get_by_label("Extra principal").fill("100.00")
    page.get_by_label("Days before the due date").fill("2")
    page.get_by_role("button", name="Show the authorization").click()
    authorization = page.locator("#authorization-text")
    expect(authorization).to_contain_text("plus $100.00 toward principal")
    expect(authorization).to_contain_text("2 days before each due date")
    page.get_by_label("How the borrower agreed").select_option("console_written")
    page.get_by_label("The borrower heard or read this authorization and agreed to it.").check()
    confirm = page.locator("#autopay-confirm")
    if confirm.count():
        confirm.check()
    screenshot(page, "autopay-authorization")
    page.get_by_role("button", name="Record the authorization").click()

    expect(page.get_by_text("Autopay is on; the borrower was sent a copy of the authorization.")).to_be_visible()
    expect(page.locator("#autopay-status")).to_contain_text("Autopay is on since")
    expect(page.locator("blockquote.authorization")).to_contain_text("plus $100.00 toward principal")
    screenshot(page, "autopay-on")
    with browsing.console.sessions()() as session:
        enrolment = session.scalars(select(AutopayEnrolment).join(Loan).where(Loan.loan_number == number)).one()
        assert (enrolment.channel, enrolment.enrolled_by, enrolment.days_before) == ("console_written", "sam", 2)
