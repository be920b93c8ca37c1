"""Notices and letters made when their event happens: payoff statement, late notice, early-intervention notice.

Each is a document (`records.keep_document`) of its kind for the event's reference (its period), so a rerun or a
second trigger of the same event returns the one on file and renders nothing. Figures come from the core's own
functions (the payoff quote, the account's amount due); wording from the templates in the borrower's language.
The case letters (notices of error, information requests, loss mitigation) are in `case_letters`, the escrow
account statement in `escrow_statement`. See docs/documents.md, "Notices and letters".
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.cases import CaseKind, close_case, meet_deadline, open_deadline
from servicing.documents.context import loan_block, recipient_block
from servicing.documents.correspondence import Correspondence
from servicing.documents.records import NewDocument, existing_document, keep_document
from servicing.documents.wording import wording
from servicing.errors import LoanClosed
from servicing.queries import payoff_for
from servicing.rules.account import Account, FeeKind
from servicing.rules.payoff import PayoffQuote
from servicing.store.accounts import load_accounts
from servicing.store.bulk import chunked
from servicing.store.models import Borrower, Case, CaseDeadline, Document, Fee, Loan

PAYOFF_STATEMENT = "payoff_statement"
LATE_NOTICE = "late_notice"
EARLY_INTERVENTION = "early_intervention"
NO_MAILING_ADDRESS = "no_mailing_address"  # the flag delivery reads: paper cannot be addressed
PAYOFF_GOOD_FOR_DAYS = 10  # a statement asked for a date already past is good through this many days instead
# The written early-intervention notice is made this many days before it is due (day 45 of the delinquency):
# on day 35, so that a borrower who catches up in the first weeks gets none, with ten days left for the mail.
WRITTEN_NOTICE_LEAD_DAYS = 10
# Reg X 1024.39(b)(2)(v): where to find a housing counselor (the Bureau's list) and HUD's toll-free number
COUNSELOR_WEBSITE = "www.consumerfinance.gov/find-a-housing-counselor"
COUNSELOR_PHONE = "1-800-569-4287"
# Reg X 1024.39(b)(2)(iii): examples of the options this servicer offers (servicing/workouts.py)
LOSS_MITIGATION_EXAMPLES = (
    wording("Repayment plan: you pay the past-due amount over several months, on top of your regular payment."),
    wording("Forbearance: a reduced or suspended payment for a few months while you recover from a hardship."),
    wording("Payment deferral: the past-due payments are moved to the end of your loan, and your loan is current."),
    wording(
        "Loan modification: a lasting change to your loan's terms, such as its rate or term, to lower your payment."
    ),
)
# What an application usually needs (the documents `servicing.decisions.MISSING_DOCUMENTS` names)
APPLICATION_DOCUMENTS = {
    "income": wording("proof of income"),
    "hardship": wording("a letter explaining your hardship"),
    "bank": wording("your last two bank statements"),
    "tax": wording("your latest tax return"),
}


# -- making one letter -------------------------------------------------------------------------------------


def keep_letter(
    session: Session,
    letters: Correspondence,
    loan: Loan,
    *,
    kind: str,
    period: str,
    values: dict[str, Any],
    summary: dict[str, Any],
    on: date,
    actor: str,
    borrower: Borrower | None = None,
) -> Document:
    """Render a letter of a kind (template `<kind>.html`) to a loan's borrower and keep it for its period.

    A borrower without a mailing address still gets the letter, flagged `no_mailing_address` for delivery.
    """
    borrower = borrower or session.get_one(Borrower, loan.borrower_id)
    recipient = recipient_block(borrower, letters.home_country)
    context = {
        "servicer": letters.servicer,
        "recipient": recipient,
        "document_date": on,
        "loan": loan_block(loan, letters.home_country),
        **values,
    }
    rendered = letters.render(f"{kind}.html", context, borrower.locale)
    flags = [] if recipient else [NO_MAILING_ADDRESS]
    return keep_document(session, letters.root, NewDocument(kind, loan, period, rendered, on, actor, flags, summary))


def money_summary(**figures: Decimal | date | str | int | None) -> dict[str, Any]:
    """Return a document's summary as JSON: money as strings, dates in ISO."""
    return {
        name: value.isoformat() if isinstance(value, date) else str(value) if isinstance(value, Decimal) else value
        for name, value in figures.items()
    }


# -- payoff statement (Reg Z 1026.36(c)(3)) ------------------------------------------------------------------


@dataclass(frozen=True)
class PayoffStatement:
    """A payoff statement kept as a document, and the quote it prints (None when it was already on file)."""

    document: Document
    quote: PayoffQuote | None


def make_payoff_statement(
    session: Session,
    letters: Correspondence,
    loan_number: str,
    good_through: date | None,
    *,
    today: date,
    actor: str,
    period: str | None = None,
    request: Case | None = None,
) -> PayoffStatement:
    """Make a loan's payoff statement from the core's payoff quote (the figures of `loanline payoff --json`).

    `period` names the event: a payoff request's reference, or by default the quote date and good-through
    date (`payoff:2026-12-04:2026-12-14`), so the same statement asked twice the same day is made once.
    """
    quote = payoff_for(session, loan_number, good_through, today=today)
    period = period or f"payoff:{quote.quote_date.isoformat()}:{quote.good_through.isoformat()}"
    loan = session.scalars(select(Loan).where(Loan.loan_number == loan_number)).one()
    found = existing_document(session, PAYOFF_STATEMENT, loan.id, period)
    if found is not None:
        return PayoffStatement(found, None)
    requested = {"reference": request.reference, "received_on": request.opened_on} if request else None
    document = keep_letter(
        session, letters, loan, kind=PAYOFF_STATEMENT, period=period, on=quote.quote_date, actor=actor,
        values={"quote": quote, "request": requested},
        summary=money_summary(total=quote.total, per_diem=quote.per_diem, good_through=quote.good_through,
                              quote_date=quote.quote_date),
    )  # fmt: skip
    return PayoffStatement(document, quote)


def payoff_statement_for_request(
    session: Session, letters: Correspondence, case: Case, *, on: date, actor: str
) -> Document | None:
    """Make the payoff statement a payoff request asks for (Reg Z 1026.36(c)(3)), or return the one on file.

    Its 7-business-day clock is met when the statement is recorded as sent (`decisions.record_payoff_statement_sent`),
    not when it is made. A good-through date already past is replaced by one `PAYOFF_GOOD_FOR_DAYS` ahead; a loan
    paid off meanwhile gets none.
    """
    loan = session.get(Loan, case.loan_id) if case.loan_id is not None else None
    if loan is None:
        return None
    asked = case.data.get("good_through")
    through = date.fromisoformat(asked) if asked else None
    if through is not None and through < on:
        through = on + timedelta(days=PAYOFF_GOOD_FOR_DAYS)
    try:
        made = make_payoff_statement(session, letters, loan.loan_number, through, today=on, actor=actor,
                                     period=case.reference, request=case)  # fmt: skip
    except LoanClosed:
        return None
    return made.document


# -- late notice: end of day charged a late fee ------------------------------------------------------------


def make_late_notices(session: Session, letters: Correspondence, day: date, actor: str) -> int:
    """Make a late notice for each loan end of day charged a late fee on `day`; return how many were made.

    One notice per loan and day, naming every late fee charged that day; its period is the day's last fee
    (`fee:<id>`). Read in a few set-based queries: today's late fees (indexed by day), their loans, borrowers
    and accounts, and the notices already made.
    """
    charged: dict[int, list[Fee]] = defaultdict(list)
    for fee in session.scalars(
        select(Fee).where(Fee.assessed_on == day, Fee.kind == FeeKind.LATE.value).order_by(Fee.loan_id, Fee.id)
    ):
        charged[fee.loan_id].append(fee)
    if not charged:
        return 0
    made = periods_on_file(session, LATE_NOTICE, list(charged))
    todo = {loan_id: fees for loan_id, fees in charged.items() if (loan_id, f"fee:{fees[-1].id}") not in made}
    loans = loans_and_borrowers(session, list(todo))
    accounts = load_accounts(session, [loan.loan_number for loan, _ in loans.values()])
    for loan_id, fees in todo.items():
        loan, borrower = loans[loan_id]
        account = accounts[loan.loan_number]
        keep_letter(
            session, letters, loan, kind=LATE_NOTICE, period=f"fee:{fees[-1].id}", on=day, actor=actor,
            borrower=borrower, values={"notice": late_notice_figures(account, fees, day)},
            summary=money_summary(amount_due=account.amount_due(day), due_date=account.next_due_date,
                                  fee=sum((fee.amount for fee in fees), Decimal(0))),
        )  # fmt: skip
    return len(todo)


def late_notice_figures(account: Account, fees: list[Fee], day: date) -> dict[str, Any]:
    """Return what a late notice prints: the amount to bring the loan current (the account's amount due) explained.

    The past-due installments are what the amount due holds besides fees and a billed escrow shortage, less
    suspense: the same figure, never worked out another way.
    """
    total = account.amount_due(day)
    owed_fees, billed, suspense = account.balances.fees, account.escrow_shortage_due, account.balances.suspense
    charged = sum((fee.amount for fee in fees), Decimal(0))
    return {
        "amount_to_bring_current": total,
        "due_date": account.next_due_date,
        "days_past_due": account.days_past_due(day),
        "past_due": total - owed_fees - billed + suspense,
        "fees": [{"installment_due": fee.installment_due_date, "amount": fee.amount} for fee in fees],
        "fee_on": day,
        "other_fees": owed_fees - charged,
        "escrow_billed": billed,
        "suspense": suspense,
    }


# -- early intervention: the written notice by day 45 (Reg X 1024.39(b)) -------------------------------------


def make_early_intervention_notices(session: Session, letters: Correspondence, day: date, actor: str) -> int:
    """Make the written early-intervention notice of each task whose notice falls due within the lead days.

    The notice is the written notice itself: its deadline is met on `day` (and the task closes when its live
    contact was met too). A loan no longer delinquent, or no longer active, gets none.
    """
    tasks = session.scalars(
        select(Case)
        .join(CaseDeadline, CaseDeadline.case_id == Case.id)
        .where(
            Case.kind == CaseKind.EARLY_INTERVENTION.value,
            Case.closed_on.is_(None),
            CaseDeadline.name == "written_notice",
            CaseDeadline.met_on.is_(None),
            CaseDeadline.due_on <= day + timedelta(days=WRITTEN_NOTICE_LEAD_DAYS),
        )
        .order_by(Case.id)
    ).all()
    if not tasks:
        return 0
    loans = loans_and_borrowers(session, sorted({case.loan_id for case in tasks if case.loan_id is not None}))
    accounts = load_accounts(session, [loan.loan_number for loan, _ in loans.values()])
    made = 0
    for case in tasks:
        if case.loan_id not in loans:
            continue
        loan, borrower = loans[case.loan_id]
        if accounts[loan.loan_number].days_past_due(day) == 0:
            continue  # caught up since the task opened: no notice
        early_intervention_notice(session, letters, case, accounts[loan.loan_number], on=day, actor=actor,
                                  loan=loan, borrower=borrower)  # fmt: skip
        made += 1
    return made


def early_intervention_notice(
    session: Session,
    letters: Correspondence,
    case: Case,
    account: Account | None = None,
    *,
    on: date,
    actor: str,
    loan: Loan | None = None,
    borrower: Borrower | None = None,
) -> Document | None:
    """Make an early-intervention task's written notice (Reg X 1024.39(b)(2)) and meet its deadline."""
    loan = loan or (session.get(Loan, case.loan_id) if case.loan_id is not None else None)
    if loan is None:
        return None
    document = existing_document(session, EARLY_INTERVENTION, loan.id, case.reference)
    if document is None:
        account = account or load_accounts(session, [loan.loan_number])[loan.loan_number]
        document = keep_letter(
            session, letters, loan, kind=EARLY_INTERVENTION, period=case.reference, on=on, actor=actor,
            borrower=borrower, values={"notice": _early_intervention_figures(account, loan, on)},
            summary=money_summary(amount_due=account.amount_due(on), due_date=account.next_due_date,
                                  days_past_due=account.days_past_due(on)),
        )  # fmt: skip
    if open_deadline(case, "written_notice") is not None:
        meet_deadline(session, case.reference, "written_notice", on, actor)
        if all(d.met_on is not None for d in case.deadlines):
            close_case(session, case.reference, on, actor, "done")
    return document


def _early_intervention_figures(account: Account, loan: Loan, on: date) -> dict[str, Any]:
    return {
        "days_past_due": account.days_past_due(on),
        "due_date": account.next_due_date,
        "amount_to_bring_current": account.amount_due(on),
        "options": LOSS_MITIGATION_EXAMPLES,
        "documents": tuple(APPLICATION_DOCUMENTS.values()),
        "counselor_website": COUNSELOR_WEBSITE,
        "counselor_phone": COUNSELOR_PHONE,
        "secured_by_home": loan.product == "mortgage",
        "referred_on": loan.foreclosure_referred_on,
        "sale_on": loan.foreclosure_sale_on,
    }


# -- reading in bulk -----------------------------------------------------------------------------------------


def periods_on_file(session: Session, kind: str, loan_ids: list[int]) -> set[tuple[int, str]]:
    """Return the (loan, period) of the documents of a kind already made for these loans."""
    found: set[tuple[int, str]] = set()
    for part in chunked(loan_ids):
        query = select(Document.loan_id, Document.period).where(Document.kind == kind, Document.loan_id.in_(part))
        found.update((loan_id, period) for loan_id, period in session.execute(query))
    return found


def loans_and_borrowers(session: Session, loan_ids: list[int]) -> dict[int, tuple[Loan, Borrower]]:
    """Return each loan with its borrower, read together."""
    found: dict[int, tuple[Loan, Borrower]] = {}
    for part in chunked(loan_ids):
        query = select(Loan, Borrower).join(Borrower, Borrower.id == Loan.borrower_id).where(Loan.id.in_(part))
        found.update({loan.id: (loan, borrower) for loan, borrower in session.execute(query).tuples()})
    return found
