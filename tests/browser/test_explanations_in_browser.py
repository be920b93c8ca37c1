"""The explanation behind a ledger entry in a real browser: from the loan page's ledger to its page (issue 18)."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.browser.conftest import Browsing


def test_a_payment_in_the_ledger_opens_where_it_went_under_the_content_security_policy(
    browsing: Browsing, page: Page
) -> None:
    browsing.log_in(page, "sam")
    page.goto(browsing.console.page_url("/console/loans/LN-1001"))
    ledger = page.locator("table.ledger")
    ledger.get_by_role("link", name="Explain").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        re.compile("Where the payment went|Why the fee was charged|Why the payment changed")
    )
    first = page.locator("ul.explanation li").first
    expect(first).to_have_text(re.compile(r"\$[\d,]+\.\d\d"))
    page.get_by_role("link", name="Back to loan LN-1001").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("LN-1001")
    assert not browsing.report.problems(), browsing.report.problems()
