"""Use cases of a loan's escrow account: put a bill on it, run the annual analysis, show where it stands.

Each loads the loan, applies the arithmetic of `servicing.rules.escrow`, and writes the result,
its ledger lines and an audit entry in the caller's transaction. The analysis runs in end of day on
each escrowed loan's analysis date (`analyze_escrow_due`) and on demand (`run_escrow_analysis`),
both through `_analyze_accounts`, which works set-based over the loans it is given.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from dateutil.relativedelta import relativedelta
from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.documents.correspondence import Correspondence
from servicing.documents.escrow_statement import latest_escrow_statement
from servicing.errors import InvalidInput, LoanNotFound
from servicing.rules.account import Account, LoanStatus
from servicing.rules.escrow import (
    DEFAULT_POLICY,
    ESCROWED_PRODUCTS,
    FREQUENCIES,
    AnalysisPolicy,
    EscrowActivity,
    EscrowBill,
    EscrowKind,
    EscrowMovement,
    EscrowStatement,
    analyze_escrow,
    escrow_activity,
    is_current_for_escrow,
    next_analysis_date,
)
from servicing.rules.ledger import EntryKind, LedgerLine
from servicing.rules.money import ZERO, is_money, to_money
from servicing.store.accounts import business_date, ledger_row, load_account, load_accounts, save_accounts
from servicing.store.bulk import chunked, execute_many, insert_rows
from servicing.store.models import AuditEntry, EscrowAnalysis, EscrowItem, LedgerEntry, Loan, utcnow

REFUND_MEMO = "surplus refunded to borrower"
ANNUAL, ON_DEMAND = "annual", "on_demand"  # what started an analysis
_BILL_REFERENCE = re.compile(r"^escrow:(\d+):")  # how end of day references a bill it paid
loans = cast(Table, Loan.__table__)
ledger = cast(Table, LedgerEntry.__table__)
# -- use cases ------------------------------------------------------------------------------------------


def add_escrow_item(
    session: Session,
    loan_number: str,
    *,
    kind: EscrowKind | str,
    payee: str,
    amount: Decimal,
    next_due_date: date,
    frequency_months: int = 12,
    actor: str,
) -> EscrowItem:
    """Put a tax or insurance bill on a loan's escrow account; end of day pays it when due."""
    account = _escrowed_account(session, loan_number, for_update=False)
    bill = EscrowBill(
        kind=_kind(kind),
        payee=_payee(payee),
        amount=_bill_amount(amount, account.currency),
        next_due_date=_future_due_date(session, next_due_date),
        frequency_months=_frequency(frequency_months),
    )
    _refuse_duplicate(session, account, bill)
    item = EscrowItem(
        loan_id=account.loan_id,
        kind=bill.kind.value,
        payee=bill.payee,
        amount=bill.amount,
        next_due_date=bill.next_due_date,
        frequency_months=bill.frequency_months,
    )
    session.add(item)
    session.flush()
    _schedule_first_analysis(session, account)
    record_audit(session, actor, "escrow.item_added", "loan", loan_number, _bill_detail(item.id, bill))
    return item


def _schedule_first_analysis(session: Session, account: Account) -> None:
    """Give a loan whose escrow account starts with this bill its first annual analysis date."""
    boarded_on = session.scalar(
        select(Loan.boarded_on).where(Loan.id == account.loan_id, Loan.escrow_analysis_on.is_(None))
    )
    if boarded_on is None:
        return  # already scheduled
    last_run = business_date(session)
    after = last_run + timedelta(days=1) if last_run else boarded_on
    first = next_analysis_date(account.schedule_anchor, after)
    session.execute(update(Loan).where(Loan.id == account.loan_id).values(escrow_analysis_on=first))


def run_escrow_analysis(
    session: Session,
    loan_number: str,
    *,
    on: date,
    actor: str,
    policy: AnalysisPolicy = DEFAULT_POLICY,
    reason: str | None = None,
    letters: Correspondence | None = None,
) -> EscrowStatement:
    """Analyze a loan's escrow account now: new deposit from the next due date, refund or bill, statement kept.

    With `letters`, the escrow account statement is made for the borrower (servicing/documents/escrow_statement.py).
    """
    account = _escrowed_account(session, loan_number, for_update=True)
    _refuse_backdated(session, on)
    bills = _bills_of_loans(session, [account.loan_id])
    if not _has_escrow(account, bills[account.loan_id]):
        raise InvalidInput(f"loan {loan_number} has no escrow account to analyze")
    (statement,) = _analyze_accounts(
        session, [account], bills, on, business_date(session) or on, _Trigger(ON_DEMAND, actor, reason), policy
    )
    if letters is not None:
        latest_escrow_statement(session, letters, account.loan_id, actor=actor)
    return statement


def analyze_escrow_due(session: Session, day: date, actor: str, policy: AnalysisPolicy = DEFAULT_POLICY) -> int:
    """Run the annual escrow analysis of every loan whose analysis date has come (end of day); return how many.

    Only loans with an analysis date on or before `day` are read (an indexed column), so a day
    without analyses costs one index lookup. A loan no longer active, or with no escrow account left,
    has its date moved a year on instead.
    """
    due = session.execute(select(loans.c.loan_number, loans.c.status).where(loans.c.escrow_analysis_on <= day)).all()
    if not due:
        return 0
    accounts = load_accounts(session, [row.loan_number for row in due if row.status == "active"], for_update=True)
    bills = _bills_of_loans(session, [a.loan_id for a in accounts.values()])
    escrowed = [a for a in accounts.values() if _has_escrow(a, bills[a.loan_id])]
    _postpone_analyses(session, {row.loan_number for row in due} - {a.loan_number for a in escrowed}, day)
    statements = _analyze_accounts(session, escrowed, bills, day, day, _Trigger(ANNUAL, actor, None), policy)
    return len(statements)


def _postpone_analyses(session: Session, loan_numbers: set[str], day: date) -> None:
    """Move the analysis date of loans that have nothing to analyze a year past `day`."""
    if loan_numbers:
        later = day + relativedelta(years=1)
        for part in chunked(sorted(loan_numbers)):
            session.execute(update(loans).where(loans.c.loan_number.in_(part)).values(escrow_analysis_on=later))


@dataclass(frozen=True)
class _Trigger:
    """Who or what started an analysis, and why."""

    kind: str
    actor: str
    reason: str | None


@dataclass
class _Writes:
    """The rows a batch of analyses writes, collected so each table gets one bulk statement."""

    ledger: list[dict[str, Any]] = field(default_factory=list)
    analyses: list[dict[str, Any]] = field(default_factory=list)
    audits: list[dict[str, Any]] = field(default_factory=list)
    schedule: list[dict[str, Any]] = field(default_factory=list)


def _analyze_accounts(
    session: Session,
    accounts: Sequence[Account],
    bills: Mapping[int, list[EscrowBill]],
    on: date,
    business_day: date,
    trigger: _Trigger,
    policy: AnalysisPolicy,
) -> list[EscrowStatement]:
    """Analyze each account on `on`, change its deposit, refund or bill, and keep the statement; in bulk."""
    if not accounts:
        return []
    movements = _escrow_movements_since(session, accounts, on)
    writes = _Writes()
    statements = []
    for account in accounts:
        statement = _analyze(account, bills[account.loan_id], on, policy)
        starts_on, moved = movements[account.loan_id]
        activity = escrow_activity(
            moved, starts_on=starts_on, ends_on=on, balance_now=account.balances.escrow, currency=account.currency
        )
        _apply(account, statement, trigger.actor, writes)
        figures = statement.summary()
        writes.analyses.append(_analysis_row(account, statement, figures, activity, trigger))
        writes.audits.append(_audit_row(account, figures, trigger))
        statements.append(statement)
    insert_rows(session, ledger, writes.ledger)
    insert_rows(session, EscrowAnalysis.__table__, writes.analyses)
    insert_rows(session, AuditEntry.__table__, writes.audits)
    save_accounts(session, accounts, business_day)
    _save_schedule(session, writes.schedule)
    return statements


def _analyze(account: Account, bills: Sequence[EscrowBill], on: date, policy: AnalysisPolicy) -> EscrowStatement:
    """Analyze one account: escrow owed but unpaid (past-due deposits, a shortage billed) counts as expected."""
    return analyze_escrow(
        bills,
        on=on,
        balance=account.balances.escrow,
        current_deposit=account.escrow_monthly,
        is_current=is_current_for_escrow(account.days_past_due(on)),
        schedule_anchor=account.schedule_anchor,
        currency=account.currency,
        next_unpaid_due=account.next_due_date,
        past_due_deposits=account.escrow_past_due(on),
        billed_unpaid=account.escrow_shortage_due,
        policy=policy,
    )


def _apply(account: Account, statement: EscrowStatement, actor: str, writes: _Writes) -> None:
    """Change the deposit from the year's first installment, refund a surplus, bill a shortage, reschedule."""
    _change_deposit(account, statement.computation_year_starts, statement.new_deposit)
    day, number = statement.analyzed_on, account.loan_number
    if statement.refund:
        line = account.book(EntryKind.ESCROW_DISBURSEMENT, day, REFUND_MEMO, escrow=-statement.refund)
        writes.ledger.append(ledger_row(account.loan_id, line, actor, f"escrow-refund:{number}:{day.isoformat()}"))
    if statement.collect_amount:
        account.escrow_shortage_due += statement.collect_amount
        line = LedgerLine(EntryKind.ESCROW_BILLED, day, memo=_billed_memo(statement))
        writes.ledger.append(ledger_row(account.loan_id, line, actor, f"escrow-billed:{number}:{day.isoformat()}"))
    writes.schedule.append({"b_id": account.loan_id, "escrow_analysis_on": statement.next_analysis_on,
                            "b_due_on": statement.collect_due_on})  # fmt: skip


def _change_deposit(account: Account, starts: date, new_deposit: Decimal) -> None:
    """Charge the new deposit from `starts` on; installments due before it keep the deposit they carry."""
    before = [n for n in account.installments_due_by(starts) if account.due_date(n) < starts]
    # only one earlier deposit is kept: the oldest unpaid installment's (see docs/decisions-escrow.md)
    account.escrow_previous_monthly = account.escrow_deposit(before[0]) if before else account.escrow_monthly
    account.escrow_monthly = new_deposit
    account.escrow_monthly_from = starts


def _billed_memo(statement: EscrowStatement) -> str:
    what = " and ".join(
        name for name, amount in (("shortage", statement.shortage), ("deficiency", statement.deficiency))
        if 0 < amount < statement.current_deposit
    )  # fmt: skip
    due_on = statement.collect_due_on.isoformat() if statement.collect_due_on else ""
    return f"escrow {what or 'shortage'} of {statement.collect_amount} billed, due {due_on} (Reg X 1024.17(f))"


def _save_schedule(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write each analyzed loan's next analysis date, and the due date of a shortage it billed."""
    due_on = func.coalesce(bindparam("b_due_on", type_=loans.c.escrow_shortage_due_on.type),
                           loans.c.escrow_shortage_due_on)  # fmt: skip
    statement = (
        update(loans)
        .where(loans.c.id == bindparam("b_id"))
        .values(escrow_analysis_on=bindparam("escrow_analysis_on"), escrow_shortage_due_on=due_on)
    )
    execute_many(session, ("escrow_schedule",), statement, rows)


def _analysis_row(
    account: Account, statement: EscrowStatement, figures: dict[str, Any], activity: EscrowActivity, trigger: _Trigger
) -> dict[str, Any]:
    """Return the stored annual escrow account statement: figures, projection, last year's activity, payments."""
    return {
        "loan_id": account.loan_id,
        "analyzed_on": statement.analyzed_on,
        "computation_year_starts": statement.computation_year_starts,
        "trigger": trigger.kind,
        "analyzed_by": trigger.actor,
        "reason": trigger.reason,
        "statement": {
            "loan_number": account.loan_number,
            "figures": figures,
            "payments": {
                "principal_and_interest": str(account.monthly_payment),
                "escrow_before": str(statement.current_deposit),
                "escrow_from_next_year": str(statement.new_deposit),
                "total_from_next_year": str(account.monthly_payment + statement.new_deposit),
                "new_payment_from": statement.computation_year_starts.isoformat(),
            },
            "projection": statement.projection(),
            "history": activity.to_data(),
        },
        "created_at": utcnow(),
    }


def _audit_row(account: Account, figures: dict[str, Any], trigger: _Trigger) -> dict[str, Any]:
    detail = {**figures, "trigger": trigger.kind}
    if trigger.reason:
        detail["reason"] = trigger.reason
    return {"at": utcnow(), "actor": trigger.actor, "action": "escrow.analyzed", "subject_type": "loan",
            "subject_id": account.loan_number, "detail": detail}  # fmt: skip


def _escrow_movements_since(
    session: Session, accounts: Sequence[Account], on: date
) -> dict[int, tuple[date, list[EscrowMovement]]]:
    """Return, per loan, where its statement's activity starts and the escrow ledger lines from then on.

    The activity runs from the day after the loan's last analysis, or a year back when none is on file.
    """
    ids = [a.loan_id for a in accounts]
    year_back = on - relativedelta(years=1) + timedelta(days=1)
    starts = dict.fromkeys(ids, year_back)
    for part in chunked(ids):
        query = (
            select(EscrowAnalysis.loan_id, func.max(EscrowAnalysis.analyzed_on))
            .where(EscrowAnalysis.loan_id.in_(part))
            .group_by(EscrowAnalysis.loan_id)
        )
        for loan_id, last in session.execute(query):
            starts[loan_id] = min(last + timedelta(days=1), on)
    moved: dict[int, list[EscrowMovement]] = defaultdict(list)
    earliest = min(starts.values())
    disbursement = EntryKind.ESCROW_DISBURSEMENT.value
    for part in chunked(ids):
        query = (
            select(ledger.c.loan_id, ledger.c.effective_date, ledger.c.kind, ledger.c.escrow)
            .where(ledger.c.loan_id.in_(part), ledger.c.escrow != 0, ledger.c.effective_date >= earliest)
            .order_by(ledger.c.loan_id, ledger.c.effective_date, ledger.c.id)
        )
        for loan_id, day, kind, change in session.execute(query):
            if day >= starts[loan_id]:
                moved[loan_id].append(EscrowMovement(day, kind == disbursement, change))
    return {loan_id: (starts[loan_id], moved[loan_id]) for loan_id in ids}


def _has_escrow(account: Account, bills: Sequence[EscrowBill]) -> bool:
    """Tell whether a loan has an escrow account: bills, money in it, a deposit, or a shortage billed."""
    return bool(bills) or any(
        amount != 0 for amount in (account.balances.escrow, account.escrow_monthly, account.escrow_shortage_due)
    )


# -- the summary the bot and console show ------------------------------------------------------------


@dataclass(frozen=True)
class EscrowBillView:
    """A bill on the escrow account as a borrower or specialist sees it."""

    item_id: int
    kind: EscrowKind
    payee: str
    amount: Decimal
    next_due_date: date
    frequency_months: int
    last_paid_on: date | None


@dataclass(frozen=True)
class EscrowPayment:
    """A bill the escrow account paid: when, how much, what and to whom."""

    paid_on: date
    amount: Decimal
    kind: EscrowKind | None
    payee: str | None
    memo: str


@dataclass(frozen=True)
class EscrowSummary:
    """Where a loan's escrow stands: balance, deposit, bills, the last one paid and the next one due."""

    loan_number: str
    currency: str
    balance: Decimal
    monthly_deposit: Decimal
    items: tuple[EscrowBillView, ...]
    last_disbursement: EscrowPayment | None
    next_disbursement: EscrowBillView | None
    shortage_billed: Decimal = ZERO  # billed by an analysis and not yet paid
    shortage_billed_due_on: date | None = None
    next_analysis_on: date | None = None
    last_analysis: EscrowAnalysisView | None = None

    @property
    def advance(self) -> Decimal:
        """Return what the servicer has advanced (a negative balance), or zero."""
        return max(ZERO, -self.balance)

    @property
    def has_escrow(self) -> bool:
        """Tell whether the loan has an escrow account at all."""
        return bool(self.items) or self.balance != 0 or self.monthly_deposit != 0 or self.shortage_billed != 0


@dataclass(frozen=True)
class EscrowAnalysisView:
    """The latest escrow analysis of a loan, as the loan page shows it; `statement` is the stored statement."""

    analyzed_on: date
    trigger: str
    analyzed_by: str
    new_deposit: Decimal
    deposit_from: date
    shortage: Decimal
    deficiency: Decimal
    surplus: Decimal
    refund: Decimal
    collect_amount: Decimal
    monthly_credit: Decimal
    statement: dict[str, Any]


def escrow_summary(session: Session, loan_number: str) -> EscrowSummary:
    """Return a loan's escrow balance, bills, last bill paid and next bill due (were my taxes paid?)."""
    account = load_account(session, loan_number)
    if account is None:
        raise LoanNotFound(loan_number)
    views = tuple(_view(row, account.currency) for row in _item_rows(session, account.loan_id))
    upcoming = min(views, key=lambda v: (v.next_due_date, v.item_id), default=None)
    billed_due_on, next_analysis_on = session.execute(
        select(Loan.escrow_shortage_due_on, Loan.escrow_analysis_on).where(Loan.id == account.loan_id)
    ).one()
    return EscrowSummary(
        loan_number=account.loan_number,
        currency=account.currency,
        balance=account.balances.escrow,
        monthly_deposit=account.escrow_monthly,
        items=views,
        last_disbursement=_last_bill_paid(session, account, {v.item_id: v for v in views}),
        next_disbursement=upcoming if account.status is LoanStatus.ACTIVE else None,
        shortage_billed=account.escrow_shortage_due,
        shortage_billed_due_on=billed_due_on if account.escrow_shortage_due else None,
        next_analysis_on=next_analysis_on if account.status is LoanStatus.ACTIVE else None,
        last_analysis=latest_escrow_analysis(session, account.loan_id),
    )


def latest_escrow_analysis(session: Session, loan_id: int) -> EscrowAnalysisView | None:
    """Return a loan's latest escrow analysis with its stored annual statement, or None before the first."""
    row = session.scalars(
        select(EscrowAnalysis)
        .where(EscrowAnalysis.loan_id == loan_id)
        .order_by(EscrowAnalysis.analyzed_on.desc(), EscrowAnalysis.id.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        return None
    figures = row.statement["figures"]
    return EscrowAnalysisView(
        analyzed_on=row.analyzed_on,
        trigger=row.trigger,
        analyzed_by=row.analyzed_by,
        new_deposit=Decimal(figures["new_deposit"]),
        deposit_from=row.computation_year_starts,
        shortage=Decimal(figures["shortage"]),
        deficiency=Decimal(figures["deficiency"]),
        surplus=Decimal(figures["surplus"]),
        refund=Decimal(figures["refund"]),
        collect_amount=Decimal(figures["collect_amount"]),
        monthly_credit=Decimal(figures["monthly_credit"]),
        statement=row.statement,
    )


def _last_bill_paid(session: Session, account: Account, views: dict[int, EscrowBillView]) -> EscrowPayment | None:
    """Return the latest bill end of day paid from escrow (refunds to the borrower are not bills)."""
    entry = session.execute(
        select(LedgerEntry.effective_date, LedgerEntry.escrow, LedgerEntry.reference, LedgerEntry.memo)
        .where(
            LedgerEntry.loan_id == account.loan_id,
            LedgerEntry.kind == EntryKind.ESCROW_DISBURSEMENT.value,
            LedgerEntry.reference.like("escrow:%"),
        )
        .order_by(LedgerEntry.effective_date.desc(), LedgerEntry.id.desc())
        .limit(1)
    ).one_or_none()
    if entry is None:
        return None
    match = _BILL_REFERENCE.match(entry.reference or "")
    bill = views.get(int(match.group(1))) if match else None
    return EscrowPayment(
        paid_on=entry.effective_date,
        amount=to_money(-entry.escrow, account.currency),
        kind=bill.kind if bill else None,
        payee=bill.payee if bill else None,
        memo=entry.memo,
    )


# -- checks and loading ------------------------------------------------------------------------------


def _escrowed_account(session: Session, loan_number: str, *, for_update: bool) -> Account:
    """Return an active loan that can carry escrow, or refuse with the reason."""
    account = load_account(session, loan_number, for_update=for_update)
    if account is None:
        raise LoanNotFound(loan_number)
    if account.status is not LoanStatus.ACTIVE:
        raise InvalidInput(f"loan {loan_number} is {account.status.value}; its escrow account is closed")
    if account.product not in ESCROWED_PRODUCTS:
        raise InvalidInput(f"loan {loan_number} is a {account.product.value} loan; only mortgages carry escrow")
    return account


def _kind(kind: EscrowKind | str) -> EscrowKind:
    try:
        return EscrowKind(kind)
    except ValueError as error:
        allowed = ", ".join(k.value for k in EscrowKind)
        raise InvalidInput(f"kind: {kind!r} is not one of {allowed}") from error


def _payee(payee: str) -> str:
    cleaned = payee.strip() if isinstance(payee, str) else ""
    if not cleaned:
        raise InvalidInput("payee: missing")
    if len(cleaned) > 100:
        raise InvalidInput("payee: longer than 100 characters")
    return cleaned


def _bill_amount(amount: Decimal, currency: str) -> Decimal:
    if not isinstance(amount, Decimal):
        raise InvalidInput(f"amount: expected a Decimal, got {type(amount).__name__}")
    if not amount.is_finite() or amount <= 0:
        raise InvalidInput(f"amount: {amount} must be positive")
    if not is_money(amount, currency):
        raise InvalidInput(f"amount: {amount} has more decimals than {currency} allows")
    return amount


def _future_due_date(session: Session, due: date) -> date:
    if not isinstance(due, date):
        raise InvalidInput(f"next_due_date: expected a date, got {type(due).__name__}")
    last_run = business_date(session)
    if last_run is not None and due <= last_run:
        raise InvalidInput(f"next_due_date: {due.isoformat()} is not after the business date {last_run.isoformat()}")
    return due


def _refuse_backdated(session: Session, on: date) -> None:
    last_run = business_date(session)
    if last_run is not None and on < last_run:
        raise InvalidInput(f"analysis date {on.isoformat()} is before the business date {last_run.isoformat()}")


def _frequency(months: int) -> int:
    if isinstance(months, bool) or months not in FREQUENCIES:
        allowed = ", ".join(str(f) for f in FREQUENCIES)
        raise InvalidInput(f"frequency_months: {months!r} is not one of {allowed}")
    return months


def _refuse_duplicate(session: Session, account: Account, bill: EscrowBill) -> None:
    """Refuse the same bill twice (same kind, payee and due date): a retried request adds nothing."""
    existing = session.scalar(
        select(EscrowItem.id).where(
            EscrowItem.loan_id == account.loan_id,
            EscrowItem.kind == bill.kind.value,
            EscrowItem.payee == bill.payee,
            EscrowItem.next_due_date == bill.next_due_date,
        )
    )
    if existing is not None:
        raise InvalidInput(
            f"{bill.kind.value} to {bill.payee} due {bill.next_due_date.isoformat()} "
            f"is already on loan {account.loan_number}"
        )


def _bill_detail(item_id: int, bill: EscrowBill) -> dict[str, Any]:
    return {
        "item_id": item_id,
        "kind": bill.kind.value,
        "payee": bill.payee,
        "amount": str(bill.amount),
        "next_due_date": bill.next_due_date.isoformat(),
        "frequency_months": bill.frequency_months,
    }


def _item_rows(session: Session, loan_id: int) -> Sequence[EscrowItem]:
    return session.scalars(
        select(EscrowItem).where(EscrowItem.loan_id == loan_id).order_by(EscrowItem.next_due_date, EscrowItem.id)
    ).all()


def _bills_of_loans(session: Session, loan_ids: Sequence[int]) -> dict[int, list[EscrowBill]]:
    """Return each loan's escrow bills (an empty list for a loan with none)."""
    found: dict[int, list[EscrowBill]] = {loan_id: [] for loan_id in loan_ids}
    for part in chunked(list(loan_ids)):
        rows = session.execute(
            select(EscrowItem.loan_id, EscrowItem.kind, EscrowItem.payee, EscrowItem.amount,
                   EscrowItem.next_due_date, EscrowItem.frequency_months, Loan.currency)
            .join(Loan, Loan.id == EscrowItem.loan_id)
            .where(EscrowItem.loan_id.in_(part))
            .order_by(EscrowItem.loan_id, EscrowItem.next_due_date, EscrowItem.id)
        )  # fmt: skip
        for loan_id, kind, payee, amount, due, frequency, currency in rows:
            found[loan_id].append(EscrowBill(EscrowKind(kind), payee, to_money(amount, currency), due, frequency))
    return found


def _view(row: EscrowItem, currency: str) -> EscrowBillView:
    return EscrowBillView(
        item_id=row.id,
        kind=EscrowKind(row.kind),
        payee=row.payee,
        amount=to_money(row.amount, currency),
        next_due_date=row.next_due_date,
        frequency_months=row.frequency_months,
        last_paid_on=row.last_paid_on,
    )
