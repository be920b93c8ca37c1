"""The loan page's tabs and four eyes on money in a real browser: a specialist asks, a supervisor approves."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select

from servicing.store.models import AuditEntry, Loan, Payment
from tests.browser.conftest import Browsing, screenshot
from tests.browser.test_loans_in_browser import open_loan, open_tab, second_person

REVERSAL_LOAN = "LN-4004"  # current, pays 5 days early (docs/demo.md): its payments are posted
TABS = ("ledger", "schedule", "escrow", "cases", "workouts", "conversations", "documents", "audit")


def test_the_loan_pages_tabs_are_links_that_work_without_javascript(
    browsing: Browsing, page: Page, browser: Browser
) -> None:
    browsing.log_in(page, "sam")
    no_script = browser.new_context(java_script_enabled=False, base_url=browsing.console.url, locale="en-US",
                                    viewport={"width": 1366, "height": 768})  # fmt: skip
    no_script.add_cookies(browsing.context.cookies())
    plain = no_script.new_page()
    plain.goto(browsing.console.page_url(f"/console/loans/{REVERSAL_LOAN}"))
    expect(plain.get_by_role("heading", name=f"Loan {REVERSAL_LOAN}", level=1)).to_be_visible()
    expect(plain.locator("#amount-due")).to_have_text(re.compile(r"\d[\d,]*\.\d\d"))
    for tab in TABS:
        open_tab(plain, tab)
        expect(plain).to_have_url(re.compile(rf"\?tab={tab}$"))
        expect(plain.locator("#loan-status")).to_have_text("Active")  # the header stays above every tab
        screenshot(plain, f"loan-tab-{tab}")
    open_tab(plain, "ledger")
    expect(plain.locator("table.ledger")).to_contain_text("Disbursement")  # stored codes in words
    expect(plain.locator("table.ledger")).not_to_contain_text("disbursement")
    no_script.close()


def test_a_specialist_asks_for_a_reversal_a_supervisor_approves_it_and_the_ledger_shows_it(
    browsing: Browsing, page: Page
) -> None:
    browsing.log_in(page, "sam")
    open_loan(page, REVERSAL_LOAN, "ledger")
    payments = page.get_by_role("region", name="Payments (latest)")
    row = payments.get_by_role("row").filter(has_text="Posted").first
    reference = row.locator("td").first.inner_text()
    row.get_by_label("Reason").fill("The borrower's bank returned the payment")
    row.get_by_role("button", name="Reverse payment").click()

    expect(page.get_by_role("heading", name=f"Check: Payment reversal on loan {REVERSAL_LOAN}")).to_be_visible()
    expect(page.locator("#needs-approval")).to_be_visible()
    expect(page.locator("#effect-entries")).to_contain_text("Reversal")  # what it books, before anything is done
    expect(page.locator("tr.figure-days_past_due")).to_be_visible()
    screenshot(page, "four-eyes-preview")
    page.locator("#confirm-submit").click()
    expect(page.get_by_role("status").filter(has_text="Sent for approval")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text(re.compile(r"Approvals \(\d+\)"))
    assert payment_status(browsing, reference) == "posted"  # nothing moves until a second person approves

    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile(r"^Approvals")).click()
    page.locator("#approval-requests tbody tr").filter(has_text=REVERSAL_LOAN).last.get_by_role("link").first.click()
    expect(page.locator("#maker-waits")).to_be_visible()  # the maker cannot approve their own
    expect(page.get_by_role("button", name="Approve")).to_have_count(0)

    other = second_person(browsing)  # the supervisor's own browser
    checker = other.new_page()
    other.log_in(checker, "sue")
    checker.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile(r"^Approvals")).click()
    screenshot(checker, "four-eyes-approvals")
    checker.locator("#approval-requests tbody tr").filter(has_text=REVERSAL_LOAN).last.get_by_role(
        "link", name=re.compile(r"^#\d+$")
    ).click()
    expect(checker.locator("#now-entries")).to_contain_text("Reversal")
    screenshot(checker, "four-eyes-request")
    checker.get_by_role("button", name="Approve").click()
    expect(checker.get_by_role("status").filter(has_text="approved and done")).to_be_visible()

    open_loan(checker, REVERSAL_LOAN, "ledger")
    reversed_row = checker.get_by_role("region", name="Payments (latest)").get_by_role("row").filter(has_text=reference)
    expect(reversed_row).to_contain_text("Reversed")
    expect(checker.locator("table.ledger")).to_contain_text("Reversal")
    screenshot(checker, "four-eyes-ledger")
    assert payment_status(browsing, reference) == "reversed"
    assert not other.report.problems(), other.report.problems()
    other.context.close()
    with browsing.console.sessions()() as session:
        approved = session.scalars(select(AuditEntry).where(AuditEntry.action == "approval.approved")).all()
    assert any((a.actor, a.detail["maker"], a.subject_id) == ("sue", "sam", REVERSAL_LOAN) for a in approved)


def test_the_maker_withdraws_their_request_and_the_supervisor_finds_nothing_to_approve(
    browsing: Browsing, page: Page
) -> None:
    browsing.log_in(page, "sam")
    open_loan(page, REVERSAL_LOAN, "ledger")
    row = page.get_by_role("region", name="Payments (latest)").get_by_role("row").filter(has_text="Posted").first
    reference = row.locator("td").first.inner_text()
    row.get_by_label("Reason").fill("The borrower says this payment bounced")
    row.get_by_role("button", name="Reverse payment").click()
    page.locator("#confirm-submit").click()
    expect(page.get_by_role("status").filter(has_text="Sent for approval")).to_be_visible()

    page.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile(r"^Approvals")).click()
    page.locator("#approval-requests tbody tr").filter(has_text=REVERSAL_LOAN).last.get_by_role("link").first.click()
    request_url = page.url
    page.get_by_label("Why (optional)").fill("The bank says it cleared after all")
    page.get_by_role("button", name="Withdraw my request").click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"Request #\d+ withdrawn\."))).to_be_visible()
    assert payment_status(browsing, reference) == "posted"

    other = second_person(browsing)
    checker = other.new_page()
    other.log_in(checker, "sue")
    checker.goto(request_url)
    expect(checker.locator("#request-status")).to_contain_text("Withdrawn")
    expect(checker.locator("#request-status")).to_contain_text("The bank says it cleared after all")
    expect(checker.get_by_role("button", name="Approve")).to_have_count(0)
    checker.get_by_role("navigation", name="Main").get_by_role("link", name=re.compile(r"^Approvals")).click()
    checker.locator("#status-withdrawn").click()
    expect(checker.locator("#approval-requests")).to_contain_text(REVERSAL_LOAN)
    screenshot(checker, "four-eyes-withdrawn")
    assert not other.report.problems(), other.report.problems()
    other.context.close()


def payment_status(browsing: Browsing, reference: str) -> str | None:
    with browsing.console.sessions()() as session:
        return session.scalar(
            select(Payment.status).join(Loan, Loan.id == Payment.loan_id)
            .where(Loan.loan_number == REVERSAL_LOAN, Payment.reference == reference)
        )  # fmt: skip
