"""A periodic statement's figures, gathered from the core for many loans at once (Reg Z 12 CFR 1026.41(d)).

Every amount comes from the account the posting rules keep (`Account.amount_due`, `principal_and_interest`,
`escrow_deposit`, `late_fees_due`) and from the ledger; nothing is worked out a second way. A statement bills
one cycle: the installment due on its due date, with whatever is past due before it.

"Since the last statement" means what was booked after the loan's previous statement was made: that
statement's row remembers the last ledger entry and the last payment it saw (`ledger_through`,
`payments_through` in its summary), so a payment posted late, even backdated, is reported once. A loan's
first statement reports what happened since the previous cycle's due date (or since boarding, if later).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, func, or_, select
from sqlalchemy.orm import Session

from servicing.config import Settings
from servicing.documents.context import servicer_block
from servicing.rules.account import Account, FeeKind, LoanStatus
from servicing.rules.delinquency import late_fees_due
from servicing.rules.ledger import EntryKind
from servicing.rules.money import ZERO, to_money
from servicing.rules.schedule import add_months
from servicing.store.bulk import chunked
from servicing.store.models import Document, Installment, LedgerEntry, Loan, Payment, Workout

STATEMENT = "statement"  # the documents' kind
DELINQUENCY_NOTICE_DAYS = 45  # 1026.41(d)(8): the delinquency box, from 45 days late (the rule: more than 45)
HISTORY_CYCLES = 6  # 1026.41(d)(8)(iii): the account history covers at most the last six months
AGREED_PROGRAMS = ("forbearance", "repayment_plan", "modification", "payment_deferral")
ledger = cast(Table, LedgerEntry.__table__)
payments = cast(Table, Payment.__table__)
# What a transaction line of the statement says (1026.41(d)(4)): only what credits or debits the amount due.
ACTIVITY_KINDS = (
    EntryKind.PAYMENT, EntryKind.SUSPENSE_IN, EntryKind.SUSPENSE_OUT, EntryKind.CURTAILMENT, EntryKind.PAYOFF,
    EntryKind.REVERSAL, EntryKind.ESCROW_DEPOSIT, EntryKind.FEE_ASSESSED, EntryKind.FEE_WAIVED,
    EntryKind.ESCROW_BILLED, EntryKind.DEFERRAL,
)  # fmt: skip
_BILLED_AMOUNT = re.compile(r" of (\d+(?:\.\d+)?) billed")  # servicing.escrow writes the amount in its memo


@dataclass(frozen=True)
class StatementOptions:
    """What making statements needs besides the database: where files go, the letterhead, when end of day makes them."""

    root: Path
    servicer: dict[str, Any]
    country: str
    days_before_due: int = 15
    actor: str = "statements"

    @classmethod
    def from_settings(cls, settings: Settings, actor: str = "statements") -> StatementOptions:
        """Return the options of this deployment's settings."""
        return cls(
            root=settings.documents_dir,
            servicer=servicer_block(settings.servicer_name, settings.servicer_phone, settings.servicer_address),
            country=settings.country,
            days_before_due=settings.statement_days_before_due,
            actor=actor,
        )


@dataclass(frozen=True)
class Applied:
    """Money received, as it was applied: to principal, interest, escrow, fees, and held in suspense."""

    principal: Decimal = ZERO
    interest: Decimal = ZERO
    escrow: Decimal = ZERO
    fees: Decimal = ZERO
    suspense: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        """Return the money received in all."""
        return self.principal + self.interest + self.escrow + self.fees + self.suspense

    def plus(self, other: Applied) -> Applied:
        """Return both applications added together."""
        return Applied(self.principal + other.principal, self.interest + other.interest,
                       self.escrow + other.escrow, self.fees + other.fees, self.suspense + other.suspense)  # fmt: skip


@dataclass(frozen=True)
class Activity:
    """One line of transaction activity: a charge to the amount due, or a credit to it (a payment)."""

    day: date
    kind: str  # payment, partial_payment, payment_returned, late_fee, returned_payment_fee, fee, fee_waived,
    #            escrow_billed, deferral
    charge: Decimal | None = None
    credit: Decimal | None = None


@dataclass(frozen=True)
class CycleHistory:
    """One billing cycle of the delinquency history: what was due and what is still unpaid (or when it was paid)."""

    due_date: date
    amount_due: Decimal
    unpaid: Decimal
    paid_on: date | None


@dataclass(frozen=True)
class Delinquency:
    """What a statement says when the borrower is 45 days or more late (1026.41(d)(8))."""

    since: date
    days: int
    history: tuple[CycleHistory, ...]
    to_bring_current: Decimal
    program: str | None  # the loss-mitigation program agreed and being kept, if any
    program_since: date | None
    foreclosure_started_on: date | None


@dataclass(frozen=True)
class StatementFigures:
    """Everything a periodic statement prints, in the loan's currency."""

    loan_id: int
    loan_number: str
    product: str
    currency: str
    scheduled: bool  # 30/360 installments billed in arrears: principal, interest and escrow are known ahead
    statement_date: date
    due_date: date
    amount_due: Decimal
    late_fee: Decimal | None
    late_fee_after: date | None  # the last day of the grace period: received after it, the late fee is charged
    # the explanation of amount due (1026.41(d)(2))
    principal: Decimal
    interest: Decimal
    escrow: Decimal
    regular_payment: Decimal
    past_due: Decimal
    fees_due: Decimal
    escrow_shortage: Decimal
    suspense_applied: Decimal  # partial payments held, counted toward the amount due
    fees_since_last: Decimal
    # the past payment breakdown (d)(3) and the transaction activity (d)(4) since the last statement
    activity_since: date
    paid_since_last: Applied
    paid_year_to_date: Applied
    activity: tuple[Activity, ...]
    # the account (d)(7)
    principal_balance: Decimal
    annual_rate: Decimal
    escrow_balance: Decimal
    suspense_balance: Decimal
    deferred_balance: Decimal
    days_past_due: int
    delinquency: Delinquency | None
    # where the next statement's "since the last statement" starts
    ledger_through: int
    payments_through: int
    partial_payment_reflected: bool = field(default=False)

    def summary(self) -> dict[str, Any]:
        """Return what the document's row keeps: the manifest's figures and the next statement's starting point."""
        return {
            "amount_due": str(self.amount_due),
            "currency": self.currency,
            "due_date": self.due_date.isoformat(),
            "statement_date": self.statement_date.isoformat(),
            "days_past_due": self.days_past_due,
            "ledger_through": self.ledger_through,
            "payments_through": self.payments_through,
        }


@dataclass(frozen=True)
class _Previous:
    """Where "since the last statement" starts for one loan."""

    made_on: date | None
    ledger_through: int | None
    payments_through: int | None


@dataclass
class _LoanRecords:
    """The rows of one loan the figures read."""

    ledger: list[Any] = field(default_factory=list)
    payments: list[Any] = field(default_factory=list)
    applied: dict[int, Any] = field(default_factory=dict)
    installments_paid: dict[int, tuple[date, Decimal]] = field(default_factory=dict)  # number: (paid on, amount)
    workout: Any = None
    ledger_through: int = 0
    payments_through: int = 0


def statement_due_date(account: Account, as_of: date) -> date | None:
    """Return the due date of the cycle a statement made on `as_of` bills: the first unpaid one due on or after it.

    A borrower behind on payments is billed for the upcoming due date, with what is past due; one paid ahead,
    for the oldest installment not yet paid. A loan that is not active has no statement.
    """
    if account.status is not LoanStatus.ACTIVE or account.balances.principal <= 0:
        return None
    number = account.next_installment
    while number < account.term_months and account.due_date(number) < as_of:
        number += 1
    return account.due_date(number)


def gather_figures(
    session: Session, loans: Sequence[tuple[Loan, Account, date]], as_of: date
) -> dict[int, StatementFigures]:
    """Return each loan's statement figures for the cycle due on its date, as of `as_of`, reading in bulk."""
    if not loans:
        return {}
    loan_ids = [loan.id for loan, _, _ in loans]
    previous = _previous_statements(session, loan_ids, {loan.id: due for loan, _, due in loans})
    starts = {
        loan.id: _window_start(loan, due, previous.get(loan.id)) for loan, _, due in loans
    }  # fmt: skip
    records = _records(session, loans, as_of, previous, starts)
    return {
        loan.id: _figures(loan, account, due, as_of, previous.get(loan.id), starts[loan.id], records[loan.id])
        for loan, account, due in loans
    }


def _window_start(loan: Loan, due: date, previous: _Previous | None) -> date:
    """Return the first day "since the last statement" covers: the last statement's date, else the previous cycle."""
    if previous is not None and previous.made_on is not None:
        return previous.made_on
    return max(loan.boarded_on, add_months(due, -1))


def _previous_statements(session: Session, loan_ids: Sequence[int], due: dict[int, date]) -> dict[int, _Previous]:
    """Return each loan's latest statement of an earlier cycle: its date and the watermarks it kept."""
    found: dict[int, tuple[str, int, _Previous]] = {}
    for part in chunked(loan_ids):
        rows = session.execute(
            select(Document.loan_id, Document.period, Document.version, Document.business_date, Document.summary)
            .where(Document.kind == STATEMENT, Document.loan_id.in_(part))
        )  # fmt: skip
        for loan_id, period, version, made_on, summary in rows:
            if period >= due[loan_id].isoformat():
                continue
            best = found.get(loan_id)
            if best is None or (period, version) > best[:2]:
                kept = summary or {}
                found[loan_id] = (period, version, _Previous(made_on, kept.get("ledger_through"),
                                                             kept.get("payments_through")))  # fmt: skip
    return {loan_id: entry[2] for loan_id, entry in found.items()}


def _records(
    session: Session,
    loans: Sequence[tuple[Loan, Account, date]],
    as_of: date,
    previous: dict[int, _Previous],
    starts: dict[int, date],
) -> dict[int, _LoanRecords]:
    """Read the ledger, payments, installments and workouts the figures need, a few queries per chunk of loans."""
    records: dict[int, _LoanRecords] = defaultdict(_LoanRecords)
    year_start = date(as_of.year, 1, 1)
    by_id = {loan.id: (loan, account, due) for loan, account, due in loans}
    for part in chunked(list(by_id), 500):
        earliest = min([year_start, *(starts[i] for i in part)])
        ledger_marks = [previous[i].ledger_through or 0 for i in part if i in previous]
        payment_marks = [previous[i].payments_through or 0 for i in part if i in previous]
        _read_ledger(session, part, earliest, min(ledger_marks, default=None), records)
        _read_payments(session, part, earliest, min(payment_marks, default=None), records)
        _read_watermarks(session, part, records)
        delinquent = [i for i in part if by_id[i][1].days_past_due(as_of) >= DELINQUENCY_NOTICE_DAYS]
        _read_installments(session, delinquent, as_of, records)
        _read_workouts(session, part, as_of, records)
    return records


def _read_ledger(
    session: Session, part: Sequence[int], earliest: date, mark: int | None, records: dict[int, _LoanRecords]
) -> None:
    window = ledger.c.effective_date >= earliest if mark is None else or_(
        ledger.c.effective_date >= earliest, ledger.c.id > mark
    )  # fmt: skip
    query = (
        select(ledger.c.id, ledger.c.loan_id, ledger.c.payment_id, ledger.c.kind, ledger.c.effective_date,
               ledger.c.principal, ledger.c.fees, ledger.c.deferred, ledger.c.memo)
        .where(ledger.c.loan_id.in_(part), ledger.c.kind.in_([k.value for k in ACTIVITY_KINDS]), window)
        .order_by(ledger.c.loan_id, ledger.c.id)
    )  # fmt: skip
    for row in session.execute(query):
        records[row.loan_id].ledger.append(row)


def _read_payments(
    session: Session, part: Sequence[int], earliest: date, mark: int | None, records: dict[int, _LoanRecords]
) -> None:
    """Read the payments the statement may report, each with what its ledger lines add up to now."""
    window = payments.c.received_on >= earliest if mark is None else or_(
        payments.c.received_on >= earliest, payments.c.id > mark
    )  # fmt: skip
    listed = list(
        session.execute(
            select(payments.c.id, payments.c.loan_id, payments.c.amount, payments.c.received_on, payments.c.status)
            .where(payments.c.loan_id.in_(part), window)
            .order_by(payments.c.loan_id, payments.c.id)
        )
    )
    for row in listed:
        records[row.loan_id].payments.append(row)
    ids = [row.id for row in listed if row.status == "posted"]
    for ids_part in chunked(ids, 1000):
        sums = session.execute(
            select(ledger.c.payment_id, func.sum(ledger.c.principal), func.sum(ledger.c.escrow),
                   func.sum(ledger.c.fees), func.sum(ledger.c.suspense), func.sum(ledger.c.deferred),
                   func.min(ledger.c.loan_id))
            .where(ledger.c.payment_id.in_(ids_part))
            .group_by(ledger.c.payment_id)
        )  # fmt: skip
        for payment_id, principal, escrow, fees, suspense, deferred, loan_id in sums:
            records[loan_id].applied[payment_id] = (principal, escrow, fees, suspense, deferred)


def _read_watermarks(session: Session, part: Sequence[int], records: dict[int, _LoanRecords]) -> None:
    """Read each loan's last ledger entry and last payment: where its next statement's activity starts."""
    for loan_id, last in session.execute(
        select(ledger.c.loan_id, func.max(ledger.c.id)).where(ledger.c.loan_id.in_(part)).group_by(ledger.c.loan_id)
    ):
        records[loan_id].ledger_through = last or 0
    for loan_id, last in session.execute(
        select(payments.c.loan_id, func.max(payments.c.id))
        .where(payments.c.loan_id.in_(part))
        .group_by(payments.c.loan_id)
    ):
        records[loan_id].payments_through = last or 0


def _read_installments(
    session: Session, loan_ids: Sequence[int], as_of: date, records: dict[int, _LoanRecords]
) -> None:
    """Read when each installment of the last six months was paid, for the delinquent loans' account history."""
    if not loan_ids:
        return
    since = add_months(as_of, -HISTORY_CYCLES)
    for loan_id, number, paid_on, principal, interest, escrow in session.execute(
        select(Installment.loan_id, Installment.number, Installment.paid_on, Installment.principal,
               Installment.interest, Installment.escrow)
        .where(Installment.loan_id.in_(loan_ids), Installment.reversed.is_(False), Installment.due_date > since)
        .order_by(Installment.id)
    ):  # fmt: skip
        records[loan_id].installments_paid[number] = (paid_on, principal + interest + escrow)


def _read_workouts(session: Session, part: Sequence[int], as_of: date, records: dict[int, _LoanRecords]) -> None:
    """Read the loss-mitigation program each loan's borrower agreed to and is keeping, if any."""
    for workout in session.scalars(
        select(Workout)
        .where(Workout.loan_id.in_(part), Workout.status == "active", Workout.kind.in_(AGREED_PROGRAMS),
               Workout.starts_on <= as_of)
        .order_by(Workout.starts_on)
    ):  # fmt: skip
        records[workout.loan_id].workout = workout


# -- one loan's figures ----------------------------------------------------------------------------------------


def _figures(
    loan: Loan,
    account: Account,
    due: date,
    as_of: date,
    previous: _Previous | None,
    start: date,
    records: _LoanRecords,
) -> StatementFigures:
    money = account.currency
    billed = _billed_installments(account, due)
    current = billed[-1] if billed and billed[-1][0] == due else None
    past_due = sum((sum(parts, ZERO) for day, *parts in billed if day < due), ZERO)
    principal, interest, escrow = (current[1], current[2], current[3]) if current else (ZERO, ZERO, ZERO)
    if not account.is_scheduled:  # daily simple interest: only the payment is known ahead, not its split
        owed = max(ZERO, account.monthly_payment * len(billed) - account.dsi_credit)
        principal, interest, escrow = ZERO, ZERO, ZERO
        regular = min(owed, account.monthly_payment)
        past_due = owed - regular
    else:
        regular = principal + interest + escrow
    owed_before_suspense = regular + past_due + account.escrow_shortage_due + account.balances.fees
    amount_due = account.amount_due(due)
    is_new = _is_new(previous, start)
    since_last, year_to_date = _payments_applied(records, as_of, is_new, money)
    late = _late_fee(account, due, records.workout)
    return StatementFigures(
        loan_id=loan.id,
        loan_number=loan.loan_number,
        product=loan.product,
        currency=money,
        scheduled=account.is_scheduled,
        statement_date=as_of,
        due_date=due,
        amount_due=amount_due,
        late_fee=late[0] if late else None,
        late_fee_after=late[1] if late else None,
        principal=principal,
        interest=interest,
        escrow=escrow,
        regular_payment=regular,
        past_due=to_money(past_due, money),
        fees_due=account.balances.fees,
        escrow_shortage=account.escrow_shortage_due,
        suspense_applied=min(account.balances.suspense, owed_before_suspense),
        fees_since_last=_fees_charged(records, is_new),
        activity_since=start,
        paid_since_last=since_last,
        paid_year_to_date=year_to_date,
        activity=tuple(_activity(records, is_new, money)),
        principal_balance=account.balances.principal,
        annual_rate=account.annual_rate,
        escrow_balance=account.balances.escrow,
        suspense_balance=account.balances.suspense,
        deferred_balance=account.balances.deferred,
        days_past_due=account.days_past_due(as_of),
        delinquency=_delinquency(loan, account, billed, as_of, records),
        ledger_through=records.ledger_through,
        payments_through=records.payments_through,
        partial_payment_reflected=account.balances.suspense > 0 or since_last.suspense > 0,
    )


def _billed_installments(account: Account, due: date) -> list[tuple[date, Decimal, Decimal, Decimal]]:
    """Return (due date, principal, interest, escrow) of each installment the amount due on `due` bills.

    The same installments, in the same order and on the same shrinking principal, as `Account.amount_due`.
    """
    numbers = account.installments_due_by(due) or [account.next_installment]
    lines = []
    principal = account.balances.principal
    for number in numbers:
        if account.is_scheduled:
            _, paid_principal, interest = account.principal_and_interest(number, principal)
            principal -= paid_principal
            lines.append((account.due_date(number), paid_principal, interest, account.escrow_deposit(number)))
        else:
            lines.append((account.due_date(number), account.monthly_payment, ZERO, ZERO))
    return lines


def _late_fee(account: Account, due: date, workout: Any) -> tuple[Decimal, date] | None:
    """Return the late fee the cycle's installment is charged if unpaid at the end of its grace, and that last day."""
    last_day = due + timedelta(days=account.late_fee_grace_days)
    charged_on = last_day + timedelta(days=1)
    kept = workout is not None and workout.kind in ("forbearance", "repayment_plan")
    if kept and (workout.ends_on is None or workout.ends_on >= charged_on):
        return None  # end of day charges no late fee while a forbearance or repayment plan is kept
    for installment_due, fee in late_fees_due(account, charged_on):
        if installment_due == due and fee > 0:
            return fee, last_day
    return None


def _is_new(previous: _Previous | None, start: date) -> Any:
    """Return the test telling whether a ledger line or payment came after the last statement."""
    if previous is not None and previous.ledger_through is not None:
        ledger_mark, payment_mark = previous.ledger_through, previous.payments_through or 0
        return lambda row, payment=False: row.id > (payment_mark if payment else ledger_mark)
    return lambda row, payment=False: (row.received_on if payment else row.effective_date) >= start


def _applied(records: _LoanRecords, payment: Any, money: str) -> Applied:
    """Return how a posted payment stands applied now (after any replay); interest is what the rest leaves."""
    sums = records.applied.get(payment.id)
    if payment.status != "posted" or sums is None:
        return Applied()
    principal, escrow, fees, suspense, deferred = (ZERO if value is None else value for value in sums)
    amount = to_money(payment.amount, money)
    principal_paid = to_money(-(principal + deferred), money)
    escrow_paid, fees_paid, held = to_money(escrow, money), to_money(-fees, money), to_money(suspense, money)
    interest_paid = amount - principal_paid - escrow_paid - fees_paid - held
    return Applied(principal_paid, interest_paid, escrow_paid, fees_paid, held)


def _payments_applied(records: _LoanRecords, as_of: date, is_new: Any, money: str) -> tuple[Applied, Applied]:
    """Return the payments received since the last statement and this calendar year, as they stand applied."""
    since, year = Applied(), Applied()
    year_start = date(as_of.year, 1, 1)
    for payment in records.payments:
        applied = _applied(records, payment, money)
        if is_new(payment, payment=True):
            since = since.plus(applied)
        if year_start <= payment.received_on <= as_of:
            year = year.plus(applied)
    return since, year


def _fees_charged(records: _LoanRecords, is_new: Any) -> Decimal:
    return sum((row.fees for row in records.ledger if row.kind == EntryKind.FEE_ASSESSED and is_new(row)), ZERO)


def _activity(records: _LoanRecords, is_new: Any, money: str) -> Iterable[Activity]:
    """Yield the transactions since the last statement that credited or debited the amount due, in date order."""
    lines: list[Activity] = []
    by_payment: dict[int, list[Any]] = defaultdict(list)
    for row in records.ledger:
        if not is_new(row):
            continue
        if row.payment_id is not None:
            by_payment[row.payment_id].append(row)
        elif row.kind == EntryKind.FEE_ASSESSED:
            lines.append(Activity(row.effective_date, _fee_kind(row.memo), charge=to_money(row.fees, money)))
        elif row.kind == EntryKind.FEE_WAIVED:
            lines.append(Activity(row.effective_date, "fee_waived", credit=to_money(-row.fees, money)))
        elif row.kind == EntryKind.ESCROW_BILLED and (found := _BILLED_AMOUNT.search(row.memo)):
            lines.append(Activity(row.effective_date, "escrow_billed", charge=to_money(Decimal(found[1]), money)))
        elif row.kind == EntryKind.DEFERRAL:
            lines.append(Activity(row.effective_date, "deferral", credit=to_money(row.deferred, money)))
    for payment in records.payments:
        rows = by_payment.get(payment.id, [])
        amount = to_money(payment.amount, money)
        if is_new(payment, payment=True):
            held_only = _applied(records, payment, money)
            kind = "partial_payment" if held_only.suspense == held_only.total > 0 else "payment"
            lines.append(Activity(payment.received_on, kind, credit=amount))
        if payment.status == "reversed" and rows and rows[-1].kind == EntryKind.REVERSAL:
            lines.append(Activity(rows[-1].effective_date, "payment_returned", charge=amount))
    return sorted(lines, key=lambda line: line.day)


def _fee_kind(memo: str) -> str:
    """Return the kind of fee a fee line charged (its memo starts with it: "late fee, ...", "returned_payment fee")."""
    first = memo.split(" ", 1)[0].rstrip(",")
    if first == FeeKind.LATE.value:
        return "late_fee"
    if first == FeeKind.RETURNED_PAYMENT.value:
        return "returned_payment_fee"
    return "fee"


def _delinquency(
    loan: Loan, account: Account, billed: list[tuple[date, Decimal, Decimal, Decimal]], as_of: date,
    records: _LoanRecords,
) -> Delinquency | None:  # fmt: skip
    """Return the delinquency box's figures when the borrower is 45 days or more late on `as_of`."""
    days = account.days_past_due(as_of)
    if days < DELINQUENCY_NOTICE_DAYS:
        return None
    unpaid = {day: sum(parts, ZERO) for day, *parts in billed}
    if not account.is_scheduled and billed:  # what was credited toward the oldest unpaid installment reduces it
        unpaid[billed[0][0]] = max(ZERO, account.monthly_payment - account.dsi_credit)
    history = []
    since = add_months(as_of, -HISTORY_CYCLES)
    first = max(1, account.next_installment - HISTORY_CYCLES)
    for number in range(first, account.term_months + 1):
        day = account.due_date(number)
        if day > as_of:
            break
        if day <= since:
            continue
        if number < account.next_installment:
            paid_on, amount = records.installments_paid.get(number, (None, ZERO))
            if amount <= 0:  # daily simple installments are counted paid without a split
                amount = account.monthly_payment
            history.append(CycleHistory(day, to_money(amount, account.currency), ZERO, paid_on))
        else:
            owed = to_money(unpaid.get(day, ZERO), account.currency)
            regular = account.monthly_payment if not account.is_scheduled else owed
            history.append(CycleHistory(day, to_money(regular, account.currency), owed, None))
    workout = records.workout
    return Delinquency(
        since=account.next_due_date,
        days=days,
        history=tuple(history[-HISTORY_CYCLES:]),
        to_bring_current=account.amount_due(as_of),
        program=workout.kind if workout is not None else None,
        program_since=workout.starts_on if workout is not None else None,
        foreclosure_started_on=loan.foreclosure_referred_on,
    )
