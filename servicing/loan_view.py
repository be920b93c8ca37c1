"""Read models for the console's loan pages: finding a loan, and everything its page shows, a page at a time.

Nothing here changes anything; the figures come from the same core functions the bot and the CLI use
(`summarize`, `escrow_summary`, `amortization_schedule`), and long lists (ledger, schedule) are paged in SQL
so a loan with years of history opens as fast as a new one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from servicing.escrow import EscrowSummary, escrow_summary
from servicing.explanations.entries import is_explained
from servicing.queries import LoanSummary, current_date, require_account, summarize
from servicing.rules.account import Account
from servicing.rules.money import to_money
from servicing.rules.schedule import ScheduledInstallment, amortization_schedule
from servicing.store.models import (
    AuditEntry,
    Borrower,
    Case,
    Conversation,
    Fee,
    Installment,
    LedgerEntry,
    Loan,
    Payment,
    Workout,
)

LOANS_PER_PAGE = 25
LEDGER_PER_PAGE = 25
SCHEDULE_PER_PAGE = 12
RECENT = 10


@dataclass(frozen=True)
class Paged:
    """Which page of a list this is, and whether there are more."""

    page: int
    has_previous: bool
    has_next: bool


@dataclass(frozen=True)
class LoanListRow:
    """One loan in the search results."""

    loan_number: str
    borrower_name: str
    product: str
    currency: str
    status: str
    principal_balance: Decimal
    next_due_date: date
    days_past_due: int


@dataclass(frozen=True)
class LoanSearch:
    """A page of loans matching a loan number or a borrower's last name."""

    query: str
    rows: tuple[LoanListRow, ...]
    paged: Paged


@dataclass(frozen=True)
class Terms:
    """A loan's contract as it stands (after any modification), amounts in its currency."""

    product: str
    interest_method: str
    annual_rate: Decimal
    term_months: int
    original_principal: Decimal
    origination_date: date
    maturity_date: date
    borrower_name: str
    borrower_locale: str
    foreclosure_referred_on: date | None = None
    foreclosure_sale_on: date | None = None


@dataclass(frozen=True)
class FeeLine:
    """A fee charged to the loan and what is still owed on it."""

    id: int
    kind: str
    amount: Decimal
    outstanding: Decimal
    assessed_on: date
    installment_due_date: date | None


@dataclass(frozen=True)
class LedgerLineView:
    """One ledger entry as the page lists it."""

    id: int
    kind: str
    effective_date: date
    posted_at: datetime
    principal: Decimal
    interest: Decimal
    escrow: Decimal
    fees: Decimal
    suspense: Decimal
    deferred: Decimal
    reference: str | None
    memo: str
    posted_by: str
    explained: bool = False  # the console links it to its explanation (servicing.explanations, issue 18)


@dataclass(frozen=True)
class PaymentLine:
    """A payment received for the loan."""

    reference: str
    amount: Decimal
    received_on: date
    source: str
    status: str
    reversal_reason: str | None


@dataclass(frozen=True)
class PaidInstallmentLine:
    """An installment a payment satisfied."""

    number: int
    due_date: date
    principal: Decimal
    interest: Decimal
    escrow: Decimal
    paid_on: date


@dataclass(frozen=True)
class DeadlineLine:
    """One legal clock of a case."""

    name: str
    rule: str
    due_on: date
    met_on: date | None


@dataclass(frozen=True)
class CaseLine:
    """A case about the loan, with its deadlines."""

    reference: str
    kind: str
    status: str
    opened_on: date
    due_on: date | None
    overdue: bool
    closed_on: date | None
    deadlines: tuple[DeadlineLine, ...]


@dataclass(frozen=True)
class ConversationLine:
    """A conversation of the loan's borrower."""

    id: int
    channel: str
    state: str
    assigned_to: str | None
    locale: str
    last_message_at: datetime


@dataclass(frozen=True)
class WorkoutLine:
    """A workout on the loan and its terms."""

    id: int
    kind: str
    status: str
    starts_on: date
    ends_on: date | None
    created_by: str
    terms: dict[str, Any]


@dataclass(frozen=True)
class LoanPage:
    """Everything the loan page shows, for one page of the ledger and one of the schedule."""

    summary: LoanSummary
    as_of: date
    terms: Terms
    escrow: EscrowSummary
    fees: tuple[FeeLine, ...]
    schedule: tuple[ScheduledInstallment, ...]
    schedule_paged: Paged
    paid_installments: tuple[PaidInstallmentLine, ...]
    ledger: tuple[LedgerLineView, ...]
    ledger_paged: Paged
    payments: tuple[PaymentLine, ...]
    cases: tuple[CaseLine, ...]
    conversations: tuple[ConversationLine, ...]
    workouts: tuple[WorkoutLine, ...]

    @property
    def active_workout(self) -> WorkoutLine | None:
        """Return the forbearance or repayment plan being kept, if any."""
        return next((w for w in self.workouts if w.status == "active"), None)

    @property
    def open_fees(self) -> tuple[FeeLine, ...]:
        """Return the fees with money still owed (the ones a supervisor may waive)."""
        return tuple(f for f in self.fees if f.outstanding > 0)

    @property
    def reversible_payments(self) -> tuple[PaymentLine, ...]:
        """Return the payments still posted (the ones that may be reversed)."""
        return tuple(p for p in self.payments if p.status == "posted")


# -- finding a loan -----------------------------------------------------------------------------------------


def find_loans(session: Session, query: str, page: int = 1, per_page: int = LOANS_PER_PAGE) -> LoanSearch:
    """Return a page of loans whose number starts with `query` or whose borrower's last name does."""
    text = query.strip()[:64]
    page = max(1, page)
    statement = (
        select(Loan, Borrower.first_name, Borrower.last_name)
        .join(Borrower, Borrower.id == Loan.borrower_id)
        .order_by(Loan.loan_number)
    )
    if text:
        prefix = _like_prefix(text)
        statement = statement.where(
            or_(Loan.loan_number.ilike(prefix, escape="\\"), Borrower.last_name.ilike(prefix, escape="\\"))
        )
    found = list(session.execute(statement.offset((page - 1) * per_page).limit(per_page + 1)))
    rows = tuple(
        LoanListRow(
            loan.loan_number,
            f"{first} {last}",
            loan.product,
            loan.currency,
            loan.status,
            to_money(loan.principal_balance, loan.currency),
            loan.next_due_date,
            loan.days_past_due,
        )
        for loan, first, last in found[:per_page]
    )
    return LoanSearch(text, rows, Paged(page, page > 1, len(found) > per_page))


def _like_prefix(text: str) -> str:
    """Return a LIKE pattern matching values that start with `text` taken literally."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


# -- the loan page ------------------------------------------------------------------------------------------


def loan_page(
    session: Session, loan_number: str, *, today: date, ledger_page: int = 1, schedule_page: int = 1
) -> LoanPage:
    """Return what the loan page shows: balances, terms, escrow, fees, schedule, ledger, cases, conversations."""
    account = require_account(session, loan_number)
    as_of = current_date(session, today)
    loan = session.get_one(Loan, account.loan_id)
    borrower = session.get_one(Borrower, loan.borrower_id)
    schedule, schedule_paged = _schedule_page(account, max(1, schedule_page))
    ledger, ledger_paged = _ledger_page(session, account, max(1, ledger_page))
    return LoanPage(
        summary=summarize(account, as_of),
        as_of=as_of,
        terms=_terms(account, loan, borrower),
        escrow=escrow_summary(session, loan_number),
        fees=_fees(session, account),
        schedule=schedule,
        schedule_paged=schedule_paged,
        paid_installments=_paid_installments(session, account),
        ledger=ledger,
        ledger_paged=ledger_paged,
        payments=_payments(session, account),
        cases=_cases(session, account),
        conversations=_conversations(session, loan),
        workouts=_workouts(session, account),
    )


def _terms(account: Account, loan: Loan, borrower: Borrower) -> Terms:
    return Terms(
        product=loan.product,
        interest_method=loan.interest_method,
        annual_rate=account.annual_rate,
        term_months=account.term_months,
        original_principal=to_money(loan.original_principal, account.currency),
        origination_date=loan.origination_date,
        maturity_date=account.due_date(account.term_months),
        borrower_name=f"{borrower.first_name} {borrower.last_name}",
        borrower_locale=borrower.locale,
        foreclosure_referred_on=loan.foreclosure_referred_on,
        foreclosure_sale_on=loan.foreclosure_sale_on,
    )


def _schedule_page(account: Account, page: int) -> tuple[tuple[ScheduledInstallment, ...], Paged]:
    """Project the installments still to pay, if each arrives on its due date; one page of them."""
    if account.status.value != "active" or account.balances.principal <= 0:
        return (), Paged(1, False, False)
    projected = amortization_schedule(
        account.balances.principal,
        account.annual_rate,
        account.term_months,
        account.monthly_payment,
        account.schedule_anchor,
        account.interest_paid_through,
        account.interest_method,
        account.compounding,
        account.currency,
        first_number=account.next_installment,
    )
    start = (page - 1) * SCHEDULE_PER_PAGE
    lines = tuple(projected[start : start + SCHEDULE_PER_PAGE])
    return lines, Paged(page, page > 1, len(projected) > start + SCHEDULE_PER_PAGE)


def _ledger_page(session: Session, account: Account, page: int) -> tuple[tuple[LedgerLineView, ...], Paged]:
    """Return one page of the ledger, newest first (never the whole ledger)."""
    query = (
        select(LedgerEntry)
        .where(LedgerEntry.loan_id == account.loan_id)
        .order_by(LedgerEntry.id.desc())
        .offset((page - 1) * LEDGER_PER_PAGE)
        .limit(LEDGER_PER_PAGE + 1)
    )
    entries = list(session.scalars(query))
    money = account.currency
    lines = tuple(
        LedgerLineView(
            e.id,
            e.kind,
            e.effective_date,
            e.posted_at,
            to_money(e.principal, money),
            to_money(e.interest, money),
            to_money(e.escrow, money),
            to_money(e.fees, money),
            to_money(e.suspense, money),
            to_money(e.deferred, money),
            e.reference,
            e.memo,
            e.posted_by,
            is_explained(e.kind, e.payment_id, e.reference),
        )
        for e in entries[:LEDGER_PER_PAGE]
    )
    return lines, Paged(page, page > 1, len(entries) > LEDGER_PER_PAGE)


def _fees(session: Session, account: Account) -> tuple[FeeLine, ...]:
    """Return the loan's fees, those still owed first, then the latest."""
    query = (
        select(Fee)
        .where(Fee.loan_id == account.loan_id)
        .order_by((Fee.outstanding > 0).desc(), Fee.assessed_on.desc(), Fee.seq.desc())
        .limit(RECENT * 5)
    )
    money = account.currency
    return tuple(
        FeeLine(
            f.id,
            f.kind,
            to_money(f.amount, money),
            to_money(f.outstanding, money),
            f.assessed_on,
            f.installment_due_date,
        )
        for f in session.scalars(query)
    )


def _paid_installments(session: Session, account: Account) -> tuple[PaidInstallmentLine, ...]:
    query = (
        select(Installment)
        .where(Installment.loan_id == account.loan_id, Installment.reversed.is_(False))
        .order_by(Installment.due_date.desc(), Installment.id.desc())
        .limit(RECENT)
    )
    money = account.currency
    return tuple(
        PaidInstallmentLine(
            i.number,
            i.due_date,
            to_money(i.principal, money),
            to_money(i.interest, money),
            to_money(i.escrow, money),
            i.paid_on,
        )
        for i in session.scalars(query)
    )


def _payments(session: Session, account: Account) -> tuple[PaymentLine, ...]:
    query = (
        select(Payment)
        .where(Payment.loan_id == account.loan_id)
        .order_by(Payment.received_on.desc(), Payment.id.desc())
        .limit(RECENT)
    )
    return tuple(
        PaymentLine(
            p.reference, to_money(p.amount, account.currency), p.received_on, p.source, p.status, p.reversal_reason
        )
        for p in session.scalars(query)
    )


def _cases(session: Session, account: Account) -> tuple[CaseLine, ...]:
    query = (
        select(Case)
        .where(Case.loan_id == account.loan_id)
        .options(selectinload(Case.deadlines))
        .order_by(Case.closed_on.is_not(None), Case.opened_on.desc(), Case.id.desc())
        .limit(RECENT * 2)
    )
    return tuple(
        CaseLine(
            c.reference,
            c.kind,
            c.status,
            c.opened_on,
            c.due_on,
            c.overdue,
            c.closed_on,
            tuple(DeadlineLine(d.name, d.rule, d.due_on, d.met_on) for d in c.deadlines),
        )
        for c in session.scalars(query)
    )


def _conversations(session: Session, loan: Loan) -> tuple[ConversationLine, ...]:
    query = (
        select(Conversation)
        .where(or_(Conversation.loan_id == loan.id, Conversation.borrower_id == loan.borrower_id))
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(RECENT)
    )
    return tuple(
        ConversationLine(c.id, c.channel, c.state, c.assigned_to, c.locale, c.last_message_at)
        for c in session.scalars(query)
    )


def _workouts(session: Session, account: Account) -> tuple[WorkoutLine, ...]:
    query = select(Workout).where(Workout.loan_id == account.loan_id).order_by(Workout.id.desc()).limit(RECENT)
    return tuple(
        WorkoutLine(w.id, w.kind, w.status, w.starts_on, w.ends_on, w.created_by, dict(w.terms))
        for w in session.scalars(query)
    )


# -- a loan's history: the audit entries about it --------------------------------------------------------------

HISTORY_LIMIT = 50


def loan_history(
    session: Session, loan_number: str, *, with_views: bool, limit: int = HISTORY_LIMIT
) -> list[AuditEntry]:
    """Return the latest audit entries about a loan, newest first; page views only when asked (supervisors)."""
    query = select(AuditEntry).where(AuditEntry.subject_type == "loan", AuditEntry.subject_id == loan_number)
    if not with_views:
        query = query.where(AuditEntry.action != "view")
    return list(session.scalars(query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)))
