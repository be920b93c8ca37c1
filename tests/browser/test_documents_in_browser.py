"""A loan's documents and mail in a real browser: see the documents, view one, download it, re-send it, print it
again, and change the borrower's mailing address."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect
from sqlalchemy import select

from servicing.documents.delivery import record_consent, set_preference
from servicing.documents.render import Renderer
from servicing.store.models import AuditEntry, Borrower, Document, Loan
from tests.browser.conftest import BorrowerChannels, Browsing, LiveConsole, screenshot
from tests.browser.test_loans_in_browser import next_daytime_in_the_us, open_loan
from tests.integration.document_helpers import keep_notice, render_notices

LOAN = "LN-1012"  # Ashley Turner's escrowed mortgage, current (docs/demo.md)
ASHLEY = "+14045550111"


@pytest.fixture(scope="module")
def documents(live_console: LiveConsole) -> dict[str, int]:
    """Keep two late notices on the loan in the server's documents folder: one on paper, one electronic."""
    root = live_console.log_file.parent / "documents"  # the server's LOANLINE_INSTANCE_PATH/documents
    notices = render_notices(Renderer(), live_console.today)
    now = datetime.now(UTC)
    with live_console.sessions().begin() as session:
        loan = session.scalars(select(Loan).where(Loan.loan_number == LOAN)).one()
        paper = keep_notice(session, root, loan, notices.two_pages, live_console.today, period="browser:1")
        record_consent(session, loan.borrower_id, actor="browser-tests", method="console_phone",
                       evidence="Read the disclosure by phone", now=now)  # fmt: skip
        set_preference(session, loan.borrower_id, "late_notice", "electronic", actor="browser-tests", now=now)
        electronic = keep_notice(session, root, loan, notices.one_page, live_console.today, period="browser:2")
        return {"paper": paper.id, "electronic": electronic.id}


def document_row(page: Page, document_id: int) -> Locator:
    return page.locator(f"#document-{document_id}")


def test_a_specialist_sees_a_loans_documents_views_downloads_and_resends_one(
    browsing: Browsing, page: Page, documents: dict[str, int], borrower_channels: BorrowerChannels
) -> None:
    browsing.log_in(page, "sam")
    open_loan(page, LOAN, "documents")
    paper = document_row(page, documents["paper"])
    expect(paper).to_contain_text("late_notice")
    expect(paper).to_contain_text("paper")
    expect(paper).to_contain_text("pending")
    expect(document_row(page, documents["electronic"])).to_contain_text("electronic")
    screenshot(page, "loan-documents")

    href = paper.get_by_role("link", name="View").get_attribute("href")
    assert href is not None
    shown = page.request.get(href)  # what the new tab receives: the PDF, shown inline
    assert shown.status == 200 and shown.headers["content-type"] == "application/pdf"
    assert shown.headers["content-disposition"].startswith("inline") and shown.body().startswith(b"%PDF")

    with page.expect_download() as downloading:
        paper.get_by_role("link", name="Download").click()
    saved = Path(downloading.value.path())
    assert downloading.value.suggested_filename == f"late_notice-{LOAN}-browser_1.pdf"
    assert saved.read_bytes() == shown.body()

    electronic = document_row(page, documents["electronic"])
    electronic.get_by_label("Reason").fill("Borrower says the notice never reached her phone")
    electronic.get_by_role("button", name="Re-send").click()
    expect(page.get_by_role("status").filter(has_text="is told again that document")).to_be_visible()
    told = [d for d in borrower_channels.deliver_at(next_daytime_in_the_us()) if d.address == ASHLEY]
    assert any("is ready: Late payment notice. Reply DOCUMENTS" in d.body for d in told), told

    paper = document_row(page, documents["paper"])
    paper.get_by_label("Reason").fill("Borrower asked for a copy by mail")
    paper.get_by_role("button", name="Print again").click()
    expect(page.get_by_role("status")).to_contain_text("already waiting for the next print batch")

    with browsing.console.sessions()() as session:
        actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "sam")))
        assert {"document.viewed", "document.downloaded", "document.resent"} <= actions
        assert session.get_one(Document, documents["electronic"]).delivery_status == "notified"


def test_a_specialist_changes_the_borrowers_mailing_address(
    browsing: Browsing, page: Page, documents: dict[str, int]
) -> None:
    browsing.log_in(page, "sam")
    open_loan(page, LOAN, "documents")
    mail = page.get_by_role("region", name="Mail and documents")
    expect(mail.locator("#mailing-address")).to_contain_text("245 Luckie St NW")
    mail.get_by_text("Edit the mailing address").click()
    form = page.locator("#mailing-address-form")
    form.get_by_label("Street line").fill("1180 Peachtree St NE")
    form.get_by_label("Second line").fill("Unit 3012")
    form.get_by_label("Postal code").fill("3030")  # a typo first: refused, nothing changes
    form.get_by_label("Reason").fill("Borrower moved; called on the recorded line")
    form.get_by_role("button", name="Save address").click()
    expect(page.get_by_role("status")).to_contain_text("is not a postal code of US")
    expect(page.locator("#mailing-address")).to_contain_text("245 Luckie St NW")

    page.get_by_text("Edit the mailing address").click()
    form = page.locator("#mailing-address-form")
    form.get_by_label("Street line").fill("1180 Peachtree St NE")
    form.get_by_label("Second line").fill("Unit 3012")
    form.get_by_label("Postal code").fill("30309")
    form.get_by_label("Reason").fill("Borrower moved; called on the recorded line")
    form.get_by_role("button", name="Save address").click()
    expect(page.get_by_role("status").filter(has_text="Address saved.")).to_be_visible()
    expect(page.locator("#mailing-address")).to_contain_text(re.compile(r"1180 Peachtree St NE\s*Unit 3012"))
    expect(page.locator("#mailing-address")).to_contain_text("Atlanta GA 30309")
    screenshot(page, "loan-mailing-address")
    with browsing.console.sessions()() as session:
        borrower_id = session.scalars(select(Loan.borrower_id).where(Loan.loan_number == LOAN)).one()
        assert session.get_one(Borrower, borrower_id).mailing_postal_code == "30309"
        [entry] = session.scalars(select(AuditEntry).where(AuditEntry.action == "address.mailing_changed")).all()
        assert entry.actor == "sam" and "Peachtree" not in str(entry.detail)
