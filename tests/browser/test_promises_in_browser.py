"""A promise to pay in a real browser: a specialist records the one a borrower made by phone on the loan page,
sees it in the loan's promises, and cancels it with a reason."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

from playwright.sync_api import Page, expect
from sqlalchemy import select

from servicing.store.models import AuditEntry, Loan, Promise
from tests.browser.conftest import Browsing, screenshot
from tests.browser.test_loans_in_browser import action_form, open_loan

PROMISE_LOAN = "LN-1013"  # Christopher Bell's personal loan, about 10 days late (docs/demo.md)


def test_a_specialist_records_a_promise_to_pay_on_the_loan_page_and_cancels_it(browsing: Browsing, page: Page) -> None:
    browsing.log_in(page, "sam")
    open_loan(page, PROMISE_LOAN, "conversations")
    promised_for = browsing.console.today + timedelta(days=7)
    form = action_form(page, "Record a promise to pay")

    form.get_by_label("Amount promised").fill("300.00")
    form.get_by_label("Promised for").fill(promised_for.isoformat())
    form.get_by_label("Channel").select_option(label="Phone call")
    form.get_by_role("button", name="Record the promise").click()

    when = f"{promised_for:%b} {promised_for.day}, {promised_for.year}"
    expect(page.get_by_role("status").filter(has_text=f"Promise to pay $300.00 by {when} recorded.")).to_be_visible()
    promises = page.get_by_role("region", name="Promises to pay")
    row = promises.get_by_role("row").filter(has_text="$300.00")
    expect(row).to_contain_text("open")
    expect(row).to_contain_text("sam")
    expect(row).to_contain_text("Phone call")
    screenshot(page, "loan-promise")
    with browsing.console.sessions()() as session:
        loan_id = session.scalar(select(Loan.id).where(Loan.loan_number == PROMISE_LOAN))
        made = session.scalar(select(Promise).where(Promise.loan_id == loan_id, Promise.status == "open"))
        assert made is not None
        assert (made.amount, made.promised_for, made.made_by, made.channel) == (
            Decimal("300.00"), promised_for, "sam", "phone",
        )  # fmt: skip

    row.get_by_label("Reason").fill("Borrower called back: paying by card today instead")
    row.get_by_role("button", name="Cancel the promise").click()

    expect(page.get_by_role("status").filter(has_text="Promise cancelled.")).to_be_visible()
    expect(promises.get_by_role("row").filter(has_text="$300.00")).to_contain_text("cancelled")
    expect(promises.get_by_role("button", name="Cancel the promise")).to_have_count(0)
    with browsing.console.sessions()() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.subject_id == PROMISE_LOAN, AuditEntry.actor == "sam")
        ).all()
        assert {"promise.made", "promise.cancelled"} <= set(actions)


def test_a_promise_for_a_past_date_is_refused_in_the_browser_and_nothing_is_recorded(
    browsing: Browsing, page: Page
) -> None:
    browsing.log_in(page, "sam")
    open_loan(page, PROMISE_LOAN, "conversations")
    form = action_form(page, "Record a promise to pay")
    day = form.get_by_label("Promised for")
    day.evaluate("field => field.removeAttribute('min')")  # the server must refuse what the browser would stop
    form.get_by_label("Amount promised").fill("300.00")
    day.fill((browsing.console.today - timedelta(days=3)).isoformat())
    form.get_by_role("button", name="Record the promise").click()

    refused = re.compile("Refused: the promised date .* has passed")
    expect(page.get_by_role("status").filter(has_text=refused)).to_be_visible()
    promises = page.get_by_role("region", name="Promises to pay")
    expect(promises.get_by_role("row").filter(has_text="open")).to_have_count(0)
