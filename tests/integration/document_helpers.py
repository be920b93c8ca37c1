"""Documents for delivery tests: late notices rendered once per test module and kept for any loan.

Rendering costs about 0.1 s a page, so a module renders one late notice (one page) and builds a two-page
variant from it; each test keeps those same PDFs as the documents of its own loans (the address printed in
their window is the first borrower's: the delivery tests read the manifest and the rows, not the window).
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pypdf
from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.documents.context import loan_block, recipient_block, servicer_block
from servicing.documents.records import NewDocument, keep_document
from servicing.documents.render import Rendered, Renderer
from servicing.store.models import Borrower, Document, Loan
from tests.integration.helpers import board

US_ADDRESS = {"mailing_line1": "12 Main St", "mailing_city": "New York", "mailing_region": "NY",
              "mailing_postal_code": "10001"}  # fmt: skip
NO_ADDRESS = dict.fromkeys(US_ADDRESS, "")


@dataclass(frozen=True)
class Notices:
    """A one-page late notice and a two-page one, rendered once."""

    one_page: Rendered
    two_pages: Rendered


def notice_context(borrower: Borrower | None, loan: Loan | None, day: date) -> dict[str, Any]:
    """Return a late notice's context (a loan and borrower of the test's, or a made-up one)."""
    return {
        "servicer": servicer_block("Loanline Demo Servicing", "+1 800 555 0100", "PO Box 1000, Springfield, IL 62701"),
        "recipient": recipient_block(borrower, "US") if borrower else ["ANA SILVA", "12 MAIN ST", "NEW YORK NY 10001"],
        "document_date": day,
        "loan": loan_block(loan, "US") if loan else {"number": "L-0", "product": "mortgage", "currency": "USD",
                                                     "property": None},
        "notice": {
            "amount_to_bring_current": Decimal("1534.20"), "due_date": date(2026, 2, 1),
            "past_due": Decimal("1500.00"), "fee_on": date(2026, 2, 17),
            "fees": [{"installment_due": date(2026, 2, 1), "amount": Decimal("34.20")}],
            "other_fees": Decimal("0.00"), "escrow_billed": Decimal("0.00"), "suspense": Decimal("0.00"),
            "days_past_due": 33,
        },
    }  # fmt: skip


def render_notices(renderer: Renderer, day: date) -> Notices:
    """Render the late notice once and make a two-page variant of it (the page twice)."""
    one = renderer.render("late_notice.html", notice_context(None, None, day), "en_US")
    writer = pypdf.PdfWriter()
    page = pypdf.PdfReader(io.BytesIO(one.pdf)).pages[0]
    writer.add_page(page)
    writer.add_page(page)
    buffer = io.BytesIO()
    writer.write(buffer)
    return Notices(one, replace(one, pdf=buffer.getvalue(), pages=2))


def loan_numbered(session: Session, number: str) -> Loan:
    """Return the loan with that number."""
    return session.scalars(select(Loan).where(Loan.loan_number == number)).one()


def a_loan(session: Session, **fields: Any) -> Loan:
    """Board a mortgage (a US mailing address unless the fields say otherwise) and return it."""
    return loan_numbered(session, board(session, **{**US_ADDRESS, **fields}))


def keep_notice(
    session: Session, root: Path, loan: Loan, rendered: Rendered, day: date, *, period: str = "fee:1", **extra: Any
) -> Document:
    """Keep a rendered late notice as one of the loan's documents (delivered by the borrower's preference)."""
    return keep_document(session, root, NewDocument("late_notice", loan, period, rendered, day, "test", **extra))
