"""What is on file about a loan's paper and electronic mail: its addresses, the E-SIGN consent, the preferences and
its documents with their delivery, a page at a time (the console's loan page reads it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.documents.context import Address, mailing_address, property_address
from servicing.documents.delivery import DeliveryState, delivery_state
from servicing.errors import LoanNotFound
from servicing.store.models import Borrower, Document, Loan


@dataclass(frozen=True)
class DocumentLine:
    """One document as the loan page lists it."""

    id: int
    kind: str
    period: str
    business_date: date
    version: int
    replaces_id: int | None
    language: str
    locale: str
    language_fallback: bool
    delivery: str
    delivery_status: str
    flags: list[str]
    pages: int
    print_batch_id: int | None
    delivered_at: datetime | None


@dataclass(frozen=True)
class LoanMail:
    """A loan's addresses, its borrower's consent and preferences, and one page of its documents (newest first)."""

    loan_number: str
    borrower_id: int
    borrower_name: str
    mailing_address: Address
    property_address: Address
    delivery: DeliveryState
    documents: list[DocumentLine]
    page: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        """Tell whether newer documents are on an earlier page."""
        return self.page > 1


def loan_mail(session: Session, loan_number: str, *, page: int = 1, per_page: int = 10) -> LoanMail:
    """Return what is on file about a loan's mail; LoanNotFound for an unknown number."""
    loan = session.scalar(select(Loan).where(Loan.loan_number == loan_number))
    if loan is None:
        raise LoanNotFound(loan_number)
    borrower = session.get_one(Borrower, loan.borrower_id)
    page = max(page, 1)
    rows = session.scalars(
        select(Document)
        .where(Document.loan_id == loan.id)
        .order_by(Document.id.desc())
        .offset((page - 1) * per_page)
        .limit(per_page + 1)
    ).all()
    lines = [_line(document) for document in rows[:per_page]]
    return LoanMail(
        loan.loan_number, borrower.id, f"{borrower.first_name} {borrower.last_name}", mailing_address(borrower),
        property_address(loan), delivery_state(session, borrower.id), lines, page, len(rows) > per_page,
    )  # fmt: skip


def _line(document: Document) -> DocumentLine:
    return DocumentLine(
        document.id, document.kind, document.period, document.business_date, document.version, document.replaces_id,
        document.language, document.locale, "language_fallback" in document.flags, document.delivery,
        document.delivery_status, [flag for flag in document.flags if flag != "language_fallback"], document.pages,
        document.print_batch_id, document.delivered_at,
    )  # fmt: skip
