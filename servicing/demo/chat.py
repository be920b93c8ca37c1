"""Who a terminal chat speaks as: a demo borrower picked by phone or loan number."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.conversations import find_or_open_conversation
from servicing.errors import InvalidInput, LoanNotFound
from servicing.store.models import BorrowerPhone, Loan


def terminal_address(session: Session, *, phone: str | None, loan_number: str | None, locale: str | None) -> str:
    """Return the phone the chat speaks from (the loan's borrower's, or the one given); set its language."""
    if loan_number:
        borrower_id = session.scalar(select(Loan.borrower_id).where(Loan.loan_number == loan_number))
        if borrower_id is None:
            raise LoanNotFound(loan_number)
        phone = session.scalar(select(BorrowerPhone.e164).where(BorrowerPhone.borrower_id == borrower_id))
    if not phone:
        phone = session.scalar(select(BorrowerPhone.e164).order_by(BorrowerPhone.id).limit(1))
    if not phone:
        raise InvalidInput("no borrower on file: load the demo first (loanline demo)")
    conversation = find_or_open_conversation(session, "chat", phone, datetime.now(UTC))
    if locale:
        conversation.locale = locale
    return phone
