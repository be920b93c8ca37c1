"""Use cases: post received payments (in bulk, idempotent by reference) and reverse a returned one."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, update
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.errors import PaymentRefused, ReversalRefused
from servicing.fees import reverse_unearned_late_fees
from servicing.rules.account import Account, FeeKind
from servicing.rules.ledger import Balances
from servicing.rules.money import to_money
from servicing.rules.posting import Application, FeeRef, check_payment, post_payment, reverse_application
from servicing.store.accounts import (
    balances_of,
    bucket_sums,
    ledger_row,
    load_account,
    load_accounts,
    save_accounts,
    save_open_fees,
)
from servicing.store.bulk import among, chunked, insert_rows, insert_rows_returning_ids
from servicing.store.models import Fee, Installment, LedgerEntry, Loan, Payment, Workout, utcnow

payments = cast(Table, Payment.__table__)
installments = cast(Table, Installment.__table__)
ledger = cast(Table, LedgerEntry.__table__)
fees = cast(Table, Fee.__table__)


@dataclass(frozen=True)
class PaymentInstruction:
    """Money received for a loan, as a file row, the console or end of day reports it."""

    loan_number: str
    amount: Decimal
    received_on: date
    reference: str
    method: str | None = None
    source: str = "import"
    line: int | None = None


@dataclass(frozen=True)
class Refusal:
    """A row that was not taken, with where it came from and why."""

    line: int | None
    key: str
    reason: str


@dataclass
class PostingReport:
    """What a batch of payments did."""

    posted: list[str] = field(default_factory=list)
    already_posted: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)
    paid_off: list[str] = field(default_factory=list)


@dataclass
class _Batch:
    """Rows a batch of postings will write, collected so each table gets one bulk insert."""

    payment_rows: list[dict[str, Any]] = field(default_factory=list)
    applications: list[tuple[Account, Application]] = field(default_factory=list)
    touched_fees: dict[int, set[int]] = field(default_factory=lambda: defaultdict(set))


def post_payments(
    session: Session,
    instructions: Sequence[PaymentInstruction],
    *,
    today: date,
    business_date: date,
    actor: str,
) -> PostingReport:
    """Credit each payment as of the day it was received; refuse bad ones with a reason."""
    report = PostingReport()
    # lock the loans first: a concurrent poster of the same reference commits before we look it up
    accounts = load_accounts(session, {i.loan_number for i in instructions}, for_update=True)
    known = _known_references(session, [i.reference for i in instructions])
    latest = _latest_received(session, [a.loan_id for a in accounts.values()])
    latest.update(_latest_workouts(session, [a.loan_id for a in accounts.values()], latest))
    originated = _origination_dates(session, list(accounts))
    repeated = repeated_in_file(instructions)
    batch = _Batch()
    seen: dict[str, int | None] = {}
    earliest: dict[int, date] = {}  # per loan, the earliest receipt posted now
    for instruction in sorted(instructions, key=lambda i: (i.received_on, i.line or 0)):
        refusal = repeated.get(instruction) or _screen(instruction, known, seen, accounts, today)
        refusal = refusal or _before_origination(instruction, originated)
        if refusal == "already posted":
            report.already_posted.append(instruction.reference)
            continue
        if refusal:
            report.refused.append(Refusal(instruction.line, instruction.reference, refusal))
            continue
        seen[instruction.reference] = instruction.line
        account = accounts[instruction.loan_number]
        try:
            check_payment(account, instruction.amount, instruction.received_on, today)
        except PaymentRefused as refused:
            report.refused.append(Refusal(instruction.line, instruction.reference, str(refused)))
            continue
        if instruction.received_on < latest.get(account.loan_id, date.min):
            _flush(session, batch, business_date, actor)
            batch = _Batch()
            try:
                _post_backdated(session, account, instruction, today, business_date, actor)
            except ReversalRefused as refused:
                report.refused.append(Refusal(instruction.line, instruction.reference, str(refused)))
                continue
        else:
            application = post_payment(account, instruction.amount, instruction.received_on)
            batch.payment_rows.append(_payment_row(account, instruction, application))
            batch.applications.append((account, application))
            for seq, _ in application.fees_paid:
                batch.touched_fees[account.loan_id].add(seq)
            latest[account.loan_id] = instruction.received_on
        report.posted.append(instruction.reference)
        earliest.setdefault(account.loan_id, instruction.received_on)  # instructions run in date order
        if account.status.value != "active":
            report.paid_off.append(account.loan_number)
    _flush(session, batch, business_date, actor)
    reverse_unearned_late_fees(session, list(accounts.values()), earliest, business_date, actor)
    save_accounts(session, list(accounts.values()), business_date)
    return report


def _screen(
    instruction: PaymentInstruction,
    known: dict[str, tuple[str, Decimal, date]],
    seen: dict[str, int | None],
    accounts: dict[str, Account],
    today: date,
) -> str | None:
    """Return why an instruction cannot be posted, "already posted" for a harmless repeat, or None."""
    if instruction.reference in seen:
        first = seen[instruction.reference]
        return f"duplicate reference {instruction.reference}" + (f" (first on line {first})" if first else "")
    if instruction.reference in known:
        if known[instruction.reference] == (
            instruction.loan_number,
            instruction.amount,
            instruction.received_on,
        ):
            return "already posted"
        return f"duplicate reference {instruction.reference}: already used for a different payment"
    if instruction.loan_number not in accounts:
        return f"unknown loan {instruction.loan_number}"
    if instruction.received_on > today:
        return f"received date {instruction.received_on} is in the future"
    return None


def repeated_in_file(instructions: Sequence[PaymentInstruction]) -> dict[PaymentInstruction, str]:
    """Return why each file row reusing a reference from an earlier line is refused (file order, not date)."""
    first: dict[str, int] = {}
    repeated: dict[PaymentInstruction, str] = {}
    for instruction in sorted((i for i in instructions if i.line is not None), key=lambda i: i.line or 0):
        line = first.setdefault(instruction.reference, instruction.line or 0)
        if line != instruction.line:
            repeated[instruction] = f"duplicate reference {instruction.reference} (first on line {line})"
    return repeated


def _before_origination(instruction: PaymentInstruction, originated: dict[str, tuple[date, date]]) -> str | None:
    """Return why a payment dated before the loan existed, or before we began servicing it, cannot be posted."""
    dates = originated.get(instruction.loan_number)
    if dates is None:
        return None
    opened, serviced_from = dates
    if instruction.received_on < opened:
        return f"received date {instruction.received_on} is before the loan was originated ({opened})"
    if instruction.received_on < serviced_from:
        return f"received date {instruction.received_on} is before our servicing of the loan began ({serviced_from})"
    return None


def _origination_dates(session: Session, loan_numbers: Sequence[str]) -> dict[str, tuple[date, date]]:
    """Return, per loan, when it was originated and when its servicing here began (later when boarded mid-life)."""
    found: dict[str, tuple[date, date]] = {}
    for part in chunked(sorted(loan_numbers)):
        query = select(Loan.loan_number, Loan.origination_date, Loan.servicing_from).where(
            among(session, Loan.loan_number, part)
        )
        found.update({number: (opened, serviced) for number, opened, serviced in session.execute(query)})
    return found


def _known_references(session: Session, references: Sequence[str]) -> dict[str, tuple[str, Decimal, date]]:
    found: dict[str, tuple[str, Decimal, date]] = {}
    for part in chunked(sorted(set(references))):
        query = (
            select(payments.c.reference, Loan.loan_number, payments.c.amount, payments.c.received_on)
            .join(Loan, Loan.id == payments.c.loan_id)
            .where(among(session, payments.c.reference, part))
        )
        for row in session.execute(query):
            found[row.reference] = (row.loan_number, row.amount, row.received_on)
    return found


def _latest_received(session: Session, loan_ids: Sequence[int]) -> dict[int, date]:
    latest: dict[int, date] = {}
    for part in chunked(sorted(loan_ids)):
        query = (
            select(payments.c.loan_id, func.max(payments.c.received_on))
            .where(among(session, payments.c.loan_id, part), payments.c.status == "posted")
            .group_by(payments.c.loan_id)
        )
        latest.update({row[0]: row[1] for row in session.execute(query)})
    return latest


def _latest_workouts(session: Session, loan_ids: Sequence[int], latest: dict[int, date]) -> dict[int, date]:
    """Return, per loan, the day after its last deferral or modification when that is later than its last payment.

    A payment received before such a workout then takes the backdating path, which refuses it.
    """
    found: dict[int, date] = {}
    for part in chunked(sorted(loan_ids)):
        query = (
            select(Workout.loan_id, func.max(Workout.starts_on))
            .where(among(session, Workout.loan_id, part), Workout.kind.in_(("deferral", "modification")))
            .group_by(Workout.loan_id)
        )
        for loan_id, starts_on in session.execute(query):
            if starts_on + timedelta(days=1) > latest.get(loan_id, date.min):
                found[loan_id] = starts_on + timedelta(days=1)
    return found


def _payment_row(account: Account, instruction: PaymentInstruction, application: Application) -> dict[str, Any]:
    return {
        "loan_id": account.loan_id,
        "reference": instruction.reference,
        "amount": instruction.amount,
        "received_on": instruction.received_on,
        "processed_at": utcnow(),
        "method": instruction.method,
        "source": instruction.source,
        "status": "posted",
        "application": application.to_record(),
    }


def _flush(session: Session, batch: _Batch, business_date: date, actor: str) -> None:
    """Insert the batch's payments, then their ledger lines and installments."""
    if not batch.payment_rows:
        return
    ids = insert_rows_returning_ids(session, payments, batch.payment_rows)
    ledger_rows: list[dict[str, Any]] = []
    installment_rows: list[dict[str, Any]] = []
    for payment_id, row, (account, application) in zip(ids, batch.payment_rows, batch.applications, strict=True):
        lines, paid = _application_rows(account, application, payment_id, row["reference"], actor)
        ledger_rows.extend(lines)
        installment_rows.extend(paid)
    insert_rows(session, ledger, ledger_rows)
    insert_rows(session, installments, installment_rows)
    save_open_fees(session, [a for a, _ in batch.applications], batch.touched_fees)


def _application_rows(
    account: Account, application: Application, payment_id: int, reference: str, actor: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    lines = [ledger_row(account.loan_id, line, actor, reference, payment_id) for line in application.lines]
    paid = [
        {
            "loan_id": account.loan_id,
            "payment_id": payment_id,
            "number": i.number,
            "due_date": i.due_date,
            "principal": i.principal,
            "interest": i.interest,
            "escrow": i.escrow,
            "paid_on": application.received_on,
            "reversed": False,
        }
        for i in application.installments
    ]
    return lines, paid


# -- reversal and backdating, both by rewinding later payments and replaying them --------------------


@dataclass
class _PostedPayment:
    id: int
    reference: str
    amount: Decimal
    received_on: date
    application: dict[str, Any]


def _payments_since(session: Session, loan_id: int, received_on: date, after_id: int = 0) -> list[_PostedPayment]:
    """Return posted payments received on or after a date (same date: later ids), newest first."""
    query = (
        select(
            payments.c.id,
            payments.c.reference,
            payments.c.amount,
            payments.c.received_on,
            payments.c.application,
        )
        .where(
            payments.c.loan_id == loan_id,
            payments.c.status == "posted",
            payments.c.received_on >= received_on,
        )
        .order_by(payments.c.received_on.desc(), payments.c.id.desc())
    )
    rows = [_PostedPayment(*row) for row in session.execute(query)]
    return [p for p in rows if p.received_on > received_on or p.id > after_id]


def _undo(session: Session, account: Account, payment: _PostedPayment, day: date, memo: str, actor: str) -> None:
    change = _net_change(session, payment.id)
    fee_refs = _fee_refs(session, account.loan_id, payment.application["fees"])
    line = reverse_application(account, payment.application, change, fee_refs, day, memo)
    insert_rows(session, ledger, [ledger_row(account.loan_id, line, actor, payment.reference, payment.id)])
    session.execute(update(installments).where(installments.c.payment_id == payment.id).values(reversed=True))
    _save_fee_amounts(session, account, {f.seq for f in fee_refs})


def _redo(session: Session, account: Account, payment: _PostedPayment, actor: str) -> None:
    application = post_payment(account, to_money(payment.amount, account.currency), payment.received_on)
    lines, paid = _application_rows(account, application, payment.id, payment.reference, actor)
    insert_rows(session, ledger, lines)
    insert_rows(session, installments, paid)
    session.execute(update(payments).where(payments.c.id == payment.id).values(application=application.to_record()))
    _save_fee_amounts(session, account, {seq for seq, _ in application.fees_paid})


def _net_change(session: Session, payment_id: int) -> Balances:
    """Return what a payment's ledger lines add up to (its application, reversals and replays)."""
    return balances_of(session.execute(select(*bucket_sums()).where(ledger.c.payment_id == payment_id)).one())


def _fee_refs(session: Session, loan_id: int, paid: list[list[Any]]) -> list[FeeRef]:
    if not paid:
        return []
    seqs = [int(seq) for seq, _ in paid]
    rows = {
        r.seq: r
        for r in session.execute(
            select(fees.c.seq, fees.c.kind, fees.c.assessed_on).where(fees.c.loan_id == loan_id, fees.c.seq.in_(seqs))
        )
    }
    return [
        FeeRef(int(seq), Decimal(amount), FeeKind(rows[int(seq)].kind), rows[int(seq)].assessed_on)
        for seq, amount in paid
    ]


def _save_fee_amounts(session: Session, account: Account, seqs: set[int]) -> None:
    save_open_fees(session, [account], {account.loan_id: seqs})


def _post_backdated(
    session: Session,
    account: Account,
    instruction: PaymentInstruction,
    today: date,
    business_date: date,
    actor: str,
) -> None:
    """Post a payment received before later ones: rewind them, post it, replay them in date order."""
    refuse_rewind_across_workout(
        session, account.loan_id, instruction.received_on, f"a payment received {instruction.received_on}"
    )
    later = _payments_since(session, account.loan_id, instruction.received_on + timedelta(days=1))
    for payment in later:
        _undo(session, account, payment, today, f"rewound for backdated {instruction.reference}", actor)
    application = post_payment(account, instruction.amount, instruction.received_on)
    result = session.connection().execute(
        insert(payments).returning(payments.c.id), [_payment_row(account, instruction, application)]
    )
    payment_id = result.scalar_one()
    lines, paid = _application_rows(account, application, payment_id, instruction.reference, actor)
    insert_rows(session, ledger, lines)
    insert_rows(session, installments, paid)
    _save_fee_amounts(session, account, {seq for seq, _ in application.fees_paid})
    for payment in reversed(later):
        _redo(session, account, payment, actor)


def refuse_rewind_across_workout(session: Session, loan_id: int, since: date, what: str) -> None:
    """Refuse to rewind payments past a deferral or modification: replay cannot undo changed terms."""
    booked = session.execute(
        select(Workout.kind, Workout.starts_on)
        .where(
            Workout.loan_id == loan_id,
            Workout.kind.in_(("deferral", "modification")),
            Workout.starts_on >= since,
        )
        .order_by(Workout.starts_on)
        .limit(1)
    ).one_or_none()
    if booked is not None:
        raise ReversalRefused(
            f"{what} predates the {booked.kind} booked on {booked.starts_on.isoformat()}; "
            "a supervisor must correct it with an adjustment"
        )


def reverse_payment(
    session: Session,
    reference: str,
    *,
    reason: str,
    today: date,
    business_date: date,
    actor: str,
    returned_payment_fee: Decimal | None = None,
) -> Account:
    """Reverse a returned payment exactly and replay every later payment in date order."""
    row = session.execute(
        select(payments.c.id, payments.c.loan_id, payments.c.status, payments.c.received_on).where(
            payments.c.reference == reference
        )
    ).one_or_none()
    if row is None:
        raise ReversalRefused(f"no payment with reference {reference}")
    if row.status != "posted":
        raise ReversalRefused(f"payment {reference} is already {row.status}")
    loan_number = session.scalar(select(Loan.loan_number).where(Loan.id == row.loan_id))
    assert loan_number is not None
    account = load_account(session, loan_number, for_update=True)
    assert account is not None
    refuse_rewind_across_workout(session, account.loan_id, row.received_on, f"payment {reference}")
    chain = [
        p
        for p in _payments_since(session, account.loan_id, row.received_on)
        if (p.received_on, p.id) >= (row.received_on, row.id)
    ]
    for payment in chain:
        memo = f"returned: {reason}" if payment.id == row.id else f"rewound for reversal of {reference}"
        _undo(session, account, payment, today, memo, actor)
    session.execute(
        update(payments)
        .where(payments.c.id == row.id)
        .values(status="reversed", reversed_at=utcnow(), reversal_reason=reason[:200])
    )
    for payment in reversed(chain):
        if payment.id != row.id:
            _redo(session, account, payment, actor)
    if returned_payment_fee:
        line = account.assess_fee(FeeKind.RETURNED_PAYMENT, returned_payment_fee, today)
        insert_rows(session, ledger, [ledger_row(account.loan_id, line, actor, reference)])
        session.execute(
            insert(fees),
            [
                {
                    "loan_id": account.loan_id,
                    "seq": account.fee_seq,
                    "kind": FeeKind.RETURNED_PAYMENT.value,
                    "amount": returned_payment_fee,
                    "outstanding": returned_payment_fee,
                    "assessed_on": today,
                    "installment_due_date": None,
                }
            ],
        )
    save_accounts(session, [account], business_date)
    record_audit(session, actor, "payment.reversed", "payment", reference, {"reason": reason})
    return account
