"""Why was I charged: each open or recent fee, its rule, and for a late fee when the installment was paid."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from servicing.errors import InvalidInput
from servicing.explanations.wording import Explanation, Percent, Question, Sentence, money, sentence
from servicing.rules.account import Account, FeeKind
from servicing.rules.ledger import EntryKind
from servicing.rules.money import to_money
from servicing.speaking import say
from servicing.store.models import Fee, Installment, LedgerEntry

RECENT_DAYS = 90  # a fee paid or waived within this many days is still "recent" and explained
MOST_FEES = 3  # an SMS answer explains at most this many fees, newest first

NO_FEES = say("There are no fees on your loan.")
# Translators: {due} is the installment's due date, {grace_end} the last day of its grace period, {days} its length.
LATE_FEE = say(
    "Late fee of {amount} charged {date}: the installment due {due} was not paid in full by {grace_end}, the end "
    "of its {days}-day grace period."
)
# Translators: {rate} is a percentage such as "5%".
LATE_FEE_RATE = say("The fee is {rate} of that installment's principal and interest.")
LATE_FEE_FIXED = say("The fee is your loan's fixed late charge.")
INSTALLMENT_PAID_ON = say("That installment was paid on {date}.")
INSTALLMENT_UNPAID = say("That installment is still unpaid.")
RETURNED_FEE = say("Returned payment fee of {amount} charged {date}: a payment was returned unpaid by the bank.")
OTHER_FEE = say("Fee of {amount} charged {date}.")
STILL_OWED = say("Still owed on it: {amount}.")
FEE_PAID = say("It has been paid.")
FEE_WAIVED = say("It was waived on {date}.")


def explain_fees(session: Session, account: Account, *, today: date, fee_id: int | None = None) -> Explanation:
    """Explain each open or recent fee (or the one asked about), newest first."""
    fees = _fees(session, account, today, fee_id)
    if not fees:
        return Explanation(Question.FEE, account.loan_number, account.currency, (sentence(NO_FEES),))
    waived = _waivers(session, account, [fee.id for fee in fees])
    paid_on = _installments_paid_on(session, account, fees)
    parts: list[Sentence] = []
    for fee in fees:
        parts += _one_fee(account, fee, paid_on, waived.get(fee.id))
    return Explanation(
        Question.FEE, account.loan_number, account.currency, tuple(parts), fee_ids=tuple(fee.id for fee in fees),
        figures={"fees": [(fee.kind, fee.amount, fee.assessed_on) for fee in fees]},
    )  # fmt: skip


def fee_label(fee: Fee) -> str:
    """Return how a notice of error names a fee (the case keeps it; specialists read it)."""
    return f"{fee.kind} fee #{fee.seq} of {fee.amount} charged {fee.assessed_on.isoformat()}"


def _fees(session: Session, account: Account, today: date, fee_id: int | None) -> list[Fee]:
    query = select(Fee).where(Fee.loan_id == account.loan_id).order_by(Fee.assessed_on.desc(), Fee.seq.desc())
    if fee_id is not None:
        fee = session.scalar(query.where(Fee.id == fee_id))
        if fee is None:
            raise InvalidInput(f"loan {account.loan_number} has no fee {fee_id}")
        return [fee]
    recent = or_(Fee.outstanding > 0, Fee.assessed_on >= today - timedelta(days=RECENT_DAYS))
    return list(session.scalars(query.where(recent).limit(MOST_FEES)))


def _waivers(session: Session, account: Account, fee_ids: list[int]) -> dict[int, date]:
    """Return the day each fee was waived or reversed as unearned (ledger references `fee:<id>[:unearned]`)."""
    references = {f"fee:{fee_id}": fee_id for fee_id in fee_ids} | {f"fee:{i}:unearned": i for i in fee_ids}
    rows = session.execute(
        select(LedgerEntry.reference, LedgerEntry.effective_date).where(
            LedgerEntry.loan_id == account.loan_id,
            LedgerEntry.kind == EntryKind.FEE_WAIVED.value,
            LedgerEntry.reference.in_(list(references)),
        )
    ).all()
    return {references[reference]: day for reference, day in rows}


def _installments_paid_on(session: Session, account: Account, fees: list[Fee]) -> dict[date, date]:
    """Return, per due date a late fee names, the day a payment in force paid that installment."""
    dues = [fee.installment_due_date for fee in fees if fee.installment_due_date is not None]
    if not dues:
        return {}
    rows = session.execute(
        select(Installment.due_date, Installment.paid_on).where(
            Installment.loan_id == account.loan_id, Installment.reversed.is_(False), Installment.due_date.in_(dues)
        )
    ).all()
    return {due: paid for due, paid in rows}


def _one_fee(account: Account, fee: Fee, paid_on: dict[date, date], waived_on: date | None) -> list[Sentence]:
    currency = account.currency
    amount = money(to_money(fee.amount, currency), currency)
    parts: list[Sentence]
    if fee.kind == FeeKind.LATE.value and fee.installment_due_date is not None:
        due = fee.installment_due_date
        grace = account.late_fee_grace_days
        parts = [sentence(LATE_FEE, amount=amount, date=fee.assessed_on, due=due,
                          grace_end=due + timedelta(days=grace), days=grace)]  # fmt: skip
        if account.late_fee_amount > 0:
            parts.append(sentence(LATE_FEE_FIXED))
        else:
            parts.append(sentence(LATE_FEE_RATE, rate=Percent(account.late_fee_rate)))
        paid = paid_on.get(due)
        parts.append(sentence(INSTALLMENT_PAID_ON, date=paid) if paid else sentence(INSTALLMENT_UNPAID))
    elif fee.kind == FeeKind.RETURNED_PAYMENT.value:
        parts = [sentence(RETURNED_FEE, amount=amount, date=fee.assessed_on)]
    else:
        parts = [sentence(OTHER_FEE, amount=amount, date=fee.assessed_on)]
    if waived_on is not None:
        parts.append(sentence(FEE_WAIVED, date=waived_on))
    elif fee.outstanding > 0:
        parts.append(sentence(STILL_OWED, amount=money(to_money(fee.outstanding, currency), currency)))
    else:
        parts.append(sentence(FEE_PAID))
    return parts
