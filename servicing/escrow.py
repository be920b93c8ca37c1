"""Escrow: the bills a loan's escrow account pays, and the annual escrow analysis (Reg X 1024.17).

The analysis projects the computation year (the twelve installments due on or after the analysis
date) month by month with the base deposit (one twelfth of the year's disbursements), finds the
lowest month-end balance, and compares it with the cushion: below it is a shortage, above it a
surplus; a negative balance today is a deficiency. See docs/decisions-escrow.md for the choices
where Reg X leaves room.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from dateutil.relativedelta import relativedelta
from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.account import Account, LoanStatus, Product
from servicing.audit import record_audit
from servicing.errors import InvalidInput, LoanNotFound
from servicing.ledger import EntryKind
from servicing.models import EscrowItem, LedgerEntry
from servicing.money import ZERO, is_money, to_money
from servicing.schedule import due_date_of
from servicing.store import business_date, insert_rows, ledger_row, load_account, save_accounts

FREQUENCIES = (1, 2, 3, 4, 6, 12)  # months between bills; each divides a year, so every year costs the same
MAX_CUSHION_MONTHS = 2  # Reg X 1024.17(c)(1)(ii): at most one sixth of the annual disbursements
MIN_SPREAD_MONTHS = 12  # Reg X 1024.17(f)(3): a shortage is spread over at least 12 months
CURRENT_WITHIN_DAYS = 30  # Reg X 1024.17(b): current = payments received within 30 days of the due date
REFUND_WITHIN = timedelta(days=30)  # Reg X 1024.17(f)(2)(i)
COLLECT_WITHIN = timedelta(days=30)  # Reg X 1024.17(f)(3)(i)(B)
ESCROWED_PRODUCTS = (Product.MORTGAGE, Product.BUSINESS)
REFUND_MEMO = "surplus refunded to borrower"
_BILL_REFERENCE = re.compile(r"^escrow:(\d+):")  # how end of day references a bill it paid


class EscrowKind(StrEnum):
    """What an escrow bill is for."""

    PROPERTY_TAX = "property_tax"
    HAZARD_INSURANCE = "hazard_insurance"
    FLOOD_INSURANCE = "flood_insurance"
    MORTGAGE_INSURANCE = "mortgage_insurance"


# -- the analysis, pure ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EscrowBill:
    """A bill the escrow account pays: what, to whom, how much, when next and how many months apart."""

    kind: EscrowKind
    payee: str
    amount: Decimal
    next_due_date: date
    frequency_months: int = 12

    def due_dates_before(self, end: date) -> list[date]:
        """Return this bill's due dates from the next one up to, not including, `end`."""
        dates: list[date] = []
        step = 0
        while (due := self.next_due_date + relativedelta(months=step * self.frequency_months)) < end:
            dates.append(due)
            step += 1
        return dates


@dataclass(frozen=True)
class ProjectedDisbursement:
    """One bill the projection pays, in the loan's currency."""

    kind: EscrowKind
    payee: str
    due_date: date
    amount: Decimal


@dataclass(frozen=True)
class ProjectedMonth:
    """One month of the computation year: its installment's deposit, the bills due, the month-end balance."""

    month: int
    starts_on: date
    deposit: Decimal
    disbursements: tuple[ProjectedDisbursement, ...]
    disbursed: Decimal
    balance: Decimal


@dataclass(frozen=True)
class AnalysisPolicy:
    """The product settings of an escrow analysis; the defaults are the servicer's."""

    cushion_months: int = MAX_CUSHION_MONTHS
    spread_months: int = MIN_SPREAD_MONTHS
    collect_small_shortage: bool = False
    refund_threshold: Decimal = Decimal(50)

    def check(self) -> None:
        """Refuse settings Reg X does not allow."""
        if not 0 <= self.cushion_months <= MAX_CUSHION_MONTHS:
            raise InvalidInput(
                f"cushion of {self.cushion_months} months: Reg X allows at most {MAX_CUSHION_MONTHS} "
                "(one sixth of the annual disbursements)"
            )
        if self.spread_months < MIN_SPREAD_MONTHS:
            raise InvalidInput(
                f"a shortage is spread over at least {MIN_SPREAD_MONTHS} months, not {self.spread_months}"
            )
        if not isinstance(self.refund_threshold, Decimal) or self.refund_threshold < 0:
            raise InvalidInput("refund threshold must be a non-negative Decimal")


DEFAULT_POLICY = AnalysisPolicy()


@dataclass(frozen=True)
class EscrowStatement:
    """The annual escrow account statement; every amount in `currency`."""

    currency: str
    analyzed_on: date
    is_current: bool
    starting_balance: Decimal
    bills_before_year: tuple[ProjectedDisbursement, ...]
    opening_balance: Decimal
    months: tuple[ProjectedMonth, ...]
    annual_disbursements: Decimal
    cushion: Decimal
    lowest_balance: Decimal
    lowest_month: date
    shortage: Decimal
    deficiency: Decimal
    surplus: Decimal
    current_deposit: Decimal
    base_deposit: Decimal
    spread_months: int
    recovery_deposit: Decimal
    new_deposit: Decimal
    collect_amount: Decimal
    collect_due_on: date | None
    refund: Decimal
    refund_due_on: date | None
    kept_surplus: Decimal

    @property
    def computation_year_starts(self) -> date:
        """Return the due date of the first installment the new deposit is figured for."""
        return self.months[0].starts_on

    def summary(self) -> dict[str, Any]:
        """Return the statement's figures as JSON-ready strings (for the audit log and --json)."""
        figures: dict[str, Any] = {
            "currency": self.currency,
            "analyzed_on": self.analyzed_on.isoformat(),
            "is_current": self.is_current,
            "computation_year_starts": self.computation_year_starts.isoformat(),
            "lowest_month": self.lowest_month.isoformat(),
            "spread_months": self.spread_months,
            "collect_due_on": _iso(self.collect_due_on),
            "refund_due_on": _iso(self.refund_due_on),
        }
        for name in (
            "starting_balance", "opening_balance", "annual_disbursements", "cushion", "lowest_balance",
            "shortage", "deficiency", "surplus", "current_deposit", "base_deposit", "recovery_deposit",
            "new_deposit", "collect_amount", "refund", "kept_surplus",
        ):  # fmt: skip
            figures[name] = str(getattr(self, name))
        return figures


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def computation_year(schedule_anchor: date, on: date) -> list[date]:
    """Return the due dates of the twelve installments from the first due on or after `on`, and the 13th."""
    number = 1
    while due_date_of(schedule_anchor, number) < on:
        number += 1
    return [due_date_of(schedule_anchor, number + month) for month in range(13)]


def is_current_for_escrow(days_past_due: int) -> bool:
    """Tell whether a loan counts as current for Reg X: its payments arrive within 30 days of due."""
    return days_past_due <= CURRENT_WITHIN_DAYS


def analyze_escrow(
    bills: Sequence[EscrowBill],
    *,
    on: date,
    balance: Decimal,
    current_deposit: Decimal,
    is_current: bool,
    schedule_anchor: date,
    currency: str,
    next_unpaid_due: date | None = None,
    policy: AnalysisPolicy = DEFAULT_POLICY,
) -> EscrowStatement:
    """Project the computation year; return the cushion, low point, shortage or surplus and new deposit.

    `next_unpaid_due` is the due date of the oldest installment not yet paid: installments of the
    computation year before it have already put their deposit into `balance`.
    """
    policy.check()
    balance, current_deposit = to_money(balance, currency), to_money(current_deposit, currency)
    year = computation_year(schedule_anchor, on)
    before, by_month = _bills_by_month(bills, year, currency)
    annual = _total([d for month in by_month for d in month], currency)
    base = to_money(annual / 12, currency)
    opening = balance - _total(before, currency)
    months = _project(year, by_month, opening, base, next_unpaid_due or year[0], currency)
    low = min(months, key=lambda m: m.balance)  # min keeps the first of equal months
    cushion = to_money(annual * policy.cushion_months / 12, currency)
    deficiency = to_money(max(ZERO, -balance), currency)
    shortage = to_money(max(ZERO, cushion - low.balance - deficiency), currency)
    surplus = to_money(max(ZERO, low.balance - cushion), currency)
    collected = to_money(
        _collected_now(shortage, current_deposit, policy) + _collected_now(deficiency, current_deposit, policy),
        currency,
    )
    spread = to_money((shortage + deficiency - collected) / policy.spread_months, currency)
    refund = to_money(_refund(surplus, balance, is_current, policy), currency)
    return EscrowStatement(
        currency=currency,
        analyzed_on=on,
        is_current=is_current,
        starting_balance=balance,
        bills_before_year=before,
        opening_balance=opening,
        months=months,
        annual_disbursements=annual,
        cushion=cushion,
        lowest_balance=low.balance,
        lowest_month=low.starts_on,
        shortage=shortage,
        deficiency=deficiency,
        surplus=surplus,
        current_deposit=current_deposit,
        base_deposit=base,
        spread_months=policy.spread_months,
        recovery_deposit=spread,
        new_deposit=base + spread,
        collect_amount=collected,
        collect_due_on=on + COLLECT_WITHIN if collected else None,
        refund=refund,
        refund_due_on=on + REFUND_WITHIN if refund else None,
        kept_surplus=surplus - refund,
    )


def _total(disbursements: Sequence[ProjectedDisbursement], currency: str) -> Decimal:
    return to_money(sum((d.amount for d in disbursements), ZERO), currency)


def _bills_by_month(
    bills: Sequence[EscrowBill], year: list[date], currency: str
) -> tuple[tuple[ProjectedDisbursement, ...], list[list[ProjectedDisbursement]]]:
    """Place each bill due before the year ends: before the first installment, or in its month."""
    before: list[ProjectedDisbursement] = []
    by_month: list[list[ProjectedDisbursement]] = [[] for _ in range(12)]
    for bill in bills:
        for due in bill.due_dates_before(year[12]):
            paid = ProjectedDisbursement(bill.kind, bill.payee, due, to_money(bill.amount, currency))
            if due < year[0]:
                before.append(paid)
            else:
                by_month[sum(1 for start in year[1:12] if start <= due)].append(paid)
    for month in by_month:
        month.sort(key=lambda d: d.due_date)
    return tuple(sorted(before, key=lambda d: d.due_date)), by_month


def _project(
    year: list[date],
    by_month: list[list[ProjectedDisbursement]],
    opening: Decimal,
    base: Decimal,
    paid_from: date,
    currency: str,
) -> tuple[ProjectedMonth, ...]:
    """Run the balance month by month: each unpaid installment deposits `base`, the month's bills go out."""
    months: list[ProjectedMonth] = []
    running = opening
    for number, (starts_on, bills) in enumerate(zip(year[:12], by_month, strict=True), start=1):
        deposit = base if starts_on >= paid_from else to_money(ZERO, currency)
        disbursed = _total(bills, currency)
        running += deposit - disbursed
        months.append(ProjectedMonth(number, starts_on, deposit, tuple(bills), disbursed, running))
    return tuple(months)


def _collected_now(amount: Decimal, current_deposit: Decimal, policy: AnalysisPolicy) -> Decimal:
    """Return what is collected within 30 days: all, if the policy asks and it is under a month's deposit."""
    if policy.collect_small_shortage and ZERO < amount < current_deposit:
        return amount
    return ZERO


def _refund(surplus: Decimal, balance: Decimal, is_current: bool, policy: AnalysisPolicy) -> Decimal:
    """Return the surplus refunded: all of it when at least the threshold and the loan is current."""
    if not is_current or surplus <= 0 or surplus < policy.refund_threshold:
        return ZERO
    return min(surplus, max(balance, ZERO))  # never refund money the account does not hold


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
    record_audit(session, actor, "escrow.item_added", "loan", loan_number, _bill_detail(item.id, bill))
    return item


def run_escrow_analysis(
    session: Session,
    loan_number: str,
    *,
    on: date,
    actor: str,
    policy: AnalysisPolicy = DEFAULT_POLICY,
) -> EscrowStatement:
    """Analyze a loan's escrow account: set the new monthly deposit, refund a surplus due, audit it."""
    account = _escrowed_account(session, loan_number, for_update=True)
    _refuse_backdated(session, on)
    bills = _bills_of(session, account)
    if not bills and account.balances.escrow == 0 and account.escrow_monthly == 0:
        raise InvalidInput(f"loan {loan_number} has no escrow account to analyze")
    statement = analyze_escrow(
        bills,
        on=on,
        balance=account.balances.escrow,
        current_deposit=account.escrow_monthly,
        is_current=is_current_for_escrow(account.days_past_due(on)),
        schedule_anchor=account.schedule_anchor,
        currency=account.currency,
        next_unpaid_due=account.next_due_date,
        policy=policy,
    )
    account.escrow_monthly = statement.new_deposit
    if statement.refund:
        _refund_surplus(session, account, statement, actor)
    save_accounts(session, [account], business_date(session) or on)
    record_audit(session, actor, "escrow.analyzed", "loan", loan_number, statement.summary())
    return statement


def _refund_surplus(session: Session, account: Account, statement: EscrowStatement, actor: str) -> None:
    """Book the surplus going back to the borrower, dated the analysis day (well within the 30 days)."""
    day = statement.analyzed_on
    line = account.book(EntryKind.ESCROW_DISBURSEMENT, day, REFUND_MEMO, escrow=-statement.refund)
    reference = f"escrow-refund:{account.loan_number}:{day.isoformat()}"
    insert_rows(session, LedgerEntry.__table__, [ledger_row(account.loan_id, line, actor, reference)])


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

    @property
    def advance(self) -> Decimal:
        """Return what the servicer has advanced (a negative balance), or zero."""
        return max(ZERO, -self.balance)

    @property
    def has_escrow(self) -> bool:
        """Tell whether the loan has an escrow account at all."""
        return bool(self.items) or self.balance != 0 or self.monthly_deposit != 0


def escrow_summary(session: Session, loan_number: str) -> EscrowSummary:
    """Return a loan's escrow balance, bills, last bill paid and next bill due (were my taxes paid?)."""
    account = load_account(session, loan_number)
    if account is None:
        raise LoanNotFound(loan_number)
    views = tuple(_view(row, account.currency) for row in _item_rows(session, account.loan_id))
    upcoming = min(views, key=lambda v: (v.next_due_date, v.item_id), default=None)
    return EscrowSummary(
        loan_number=account.loan_number,
        currency=account.currency,
        balance=account.balances.escrow,
        monthly_deposit=account.escrow_monthly,
        items=views,
        last_disbursement=_last_bill_paid(session, account, {v.item_id: v for v in views}),
        next_disbursement=upcoming if account.status is LoanStatus.ACTIVE else None,
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


def _bills_of(session: Session, account: Account) -> list[EscrowBill]:
    return [
        EscrowBill(
            EscrowKind(row.kind),
            row.payee,
            to_money(row.amount, account.currency),
            row.next_due_date,
            row.frequency_months,
        )
        for row in _item_rows(session, account.loan_id)
    ]


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
