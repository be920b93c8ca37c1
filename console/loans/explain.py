"""The explanation behind a ledger entry (issue 18): the same sentences the bot tells the borrower.

`/console/loans/<number>/explain/<entry_id>` is linked from each payment, fee and escrow-analysis row of the loan
page's ledger. The explanation is built once by the core (servicing.explanations) and shown twice: in the
specialist's language, and as the borrower reads it, in theirs.
"""

from __future__ import annotations

from flask import abort, render_template
from sqlalchemy import select

from console.arguments import servicer_today
from console.explaining import spoken_both_ways
from console.loans import READ_ROLE, bp
from console.security import audits_view, requires_role, sessions
from servicing.errors import InvalidInput, LoanNotFound
from servicing.explanations import explain_entry
from servicing.queries import current_date
from servicing.store.models import Borrower, Loan


@bp.get("/<loan_number>/explain/<int:entry_id>")
@requires_role(READ_ROLE)
@audits_view("loan", id_argument="loan_number")
def explain(loan_number: str, entry_id: int) -> str:
    """Show why a payment went where it did, why a fee was charged, or why the payment changed."""
    with sessions()() as session:
        try:
            explained = explain_entry(session, loan_number, entry_id, today=current_date(session, servicer_today()))
        except (LoanNotFound, InvalidInput):
            abort(404)
        locale = session.scalar(
            select(Borrower.locale).join(Loan, Loan.borrower_id == Borrower.id).where(Loan.loan_number == loan_number)
        )
        mine, theirs = spoken_both_ways(explained.explanation, locale or "en")
        entry = explained.entry
        session.expunge(entry)
    return render_template("loans/explain.html", loan_number=loan_number, entry=entry,
                           question=explained.explanation.question, lines=mine, borrower_lines=theirs,
                           borrower_lang=(locale or "en").replace("_", "-"))  # fmt: skip
