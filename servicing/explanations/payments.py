"""Where did my payment go: how one payment was applied, read back from its ledger lines and installments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.errors import InvalidInput
from servicing.explanations.wording import Explanation, Money, Question, Sentence, money, sentence
from servicing.rules.account import Account, LoanStatus
from servicing.rules.ledger import EntryKind
from servicing.rules.money import ZERO, to_money
from servicing.speaking import say
from servicing.store.models import Installment, LedgerEntry, Payment

# Translators: the first line of "where did my payment go". {amount} is money, {date} the day it was received.
HEADER = say("Your payment of {amount} received {date} was applied like this:")
# Translators: a payment the bank returned. {reason} is the specialist's note (may stay in English).
RETURNED = say(
    "Your payment of {amount} received {date} was returned on {returned} ({reason}), so everything it paid was "
    "put back on your loan."
)
# Translators: one installment a payment paid. {due} is the installment's due date.
INSTALLMENT = say("Installment due {due}: {interest} interest, {principal} principal, {escrow} escrow.")
# Translators: a daily-interest loan (no escrow): how much of the payment went to interest and to principal.
INTEREST_AND_PRINCIPAL = say("{interest} to interest and {principal} to principal.")
FEES_PAID = say("{amount} to fees.")
SHORTAGE_PAID = say("{amount} to the escrow shortage you were billed.")
CURTAILMENT = say("{amount} extra to principal.")
# Translators: a partial payment held in suspense. {installment} is a full installment, {missing} what completes it.
HELD_PARTIAL = say(
    "{amount} is held in suspense: it is less than a full installment of {installment}. We apply it as soon as "
    "{missing} more arrives."
)
HELD = say("{amount} is held in suspense and will be applied to what you owe next.")
SUSPENSE_USED = say("{amount} you had paid before, held in suspense, was added to it.")
PAID_OFF = say("It paid off your loan.")
# Translators: {what} is a date or an amount the borrower named.
NOT_FOUND = say("I found no payment matching {what}. Here is your last one.")
NO_PAYMENTS = say("We have not received any payments on this loan yet.")


@dataclass(frozen=True)
class _Line:
    id: int
    kind: str
    principal: Decimal
    interest: Decimal
    escrow: Decimal
    fees: Decimal
    suspense: Decimal


def explain_payment(
    session: Session,
    account: Account,
    *,
    received_on: date | None = None,
    amount: Decimal | None = None,
    payment_id: int | None = None,
) -> Explanation:
    """Explain how a payment was applied: the last one, or the one received on a date or of an amount."""
    found, missed = _find_payment(session, account, received_on, amount, payment_id)
    if found is None:
        return Explanation(Question.PAYMENT, account.loan_number, account.currency, (sentence(NO_PAYMENTS),))
    opening = [sentence(NOT_FOUND, what=missed)] if missed is not None else []
    lines = _application_lines(session, found)
    parts = opening + (_returned(session, account, found) if found.status == "reversed" else
                       _applied(session, account, found, lines))  # fmt: skip
    return Explanation(
        Question.PAYMENT, account.loan_number, account.currency, tuple(parts),
        entry_ids=tuple(line.id for line in lines),
        figures={"payment": found.reference, "amount": found.amount, **_totals(lines, account.currency)},
    )  # fmt: skip


def _find_payment(
    session: Session, account: Account, received_on: date | None, amount: Decimal | None, payment_id: int | None
) -> tuple[Payment | None, date | Money | None]:
    """Return the payment asked about (else the last one) and, when none matched, what the borrower named."""
    query = select(Payment).where(Payment.loan_id == account.loan_id).order_by(Payment.received_on.desc(),
                                                                                Payment.id.desc())  # fmt: skip
    if payment_id is not None:
        chosen = session.scalar(query.where(Payment.id == payment_id))
        if chosen is None:
            raise InvalidInput(f"loan {account.loan_number} has no payment {payment_id}")
        return chosen, None
    if received_on is not None:
        chosen = session.scalar(query.where(Payment.received_on == received_on).limit(1))
        if chosen is not None:
            return chosen, None
    if amount is not None:
        chosen = session.scalar(query.where(Payment.amount == to_money(amount, account.currency)).limit(1))
        if chosen is not None:
            return chosen, None
    missed: date | Money | None = None
    if received_on is not None:
        missed = received_on
    elif amount is not None:
        missed = money(amount, account.currency)
    last = session.scalar(query.limit(1))
    return last, (missed if last is not None else None)


def _application_lines(session: Session, payment: Payment) -> list[_Line]:
    """Return the ledger lines of a payment's application in force (or, when reversed, the one the reversal undid).

    A payment rewound and replayed (a backdated payment, another one returned) has its first lines, a reversal
    and its lines again: the application in force is the lines after the last reversal.
    """
    rows = session.execute(
        select(LedgerEntry.id, LedgerEntry.kind, LedgerEntry.principal, LedgerEntry.interest, LedgerEntry.escrow,
               LedgerEntry.fees, LedgerEntry.suspense)
        .where(LedgerEntry.payment_id == payment.id)
        .order_by(LedgerEntry.id)
    ).all()  # fmt: skip
    segments: list[list[_Line]] = [[]]
    for row in rows:
        if row.kind == EntryKind.REVERSAL.value:
            segments.append([])
        else:
            segments[-1].append(_Line(*row))
    if payment.status == "reversed" and len(segments) > 1:
        return segments[-2]
    return segments[-1]


def _totals(lines: list[_Line], currency: str) -> dict[str, Decimal]:
    """Return where the money went, by destination, in the loan's currency."""

    def total(kinds: tuple[EntryKind, ...], bucket: str, sign: int) -> Decimal:
        values = (getattr(line, bucket) for line in lines if line.kind in {k.value for k in kinds})
        return to_money(sign * sum(values, ZERO), currency) + ZERO  # never "-0.00"

    paying = (EntryKind.PAYMENT, EntryKind.PAYOFF)
    return {
        "interest": total(paying, "interest", -1),
        "principal": total(paying, "principal", -1),
        "escrow": total(paying, "escrow", 1),
        "fees": total(paying, "fees", -1),
        "escrow_shortage": total((EntryKind.ESCROW_DEPOSIT,), "escrow", 1),
        "curtailment": total((EntryKind.CURTAILMENT,), "principal", -1),
        "suspense": total((EntryKind.SUSPENSE_IN, EntryKind.SUSPENSE_OUT, EntryKind.PAYOFF), "suspense", 1),
    }


def _applied(session: Session, account: Account, payment: Payment, lines: list[_Line]) -> list[Sentence]:
    """Say where each part of a posted payment went: installments, fees, shortage, principal, suspense."""
    currency = account.currency
    totals = _totals(lines, currency)
    parts = [sentence(HEADER, amount=money(payment.amount, currency), date=payment.received_on)]
    parts += _installments(session, account, payment, totals)
    for name, msgid in (("escrow_shortage", SHORTAGE_PAID), ("fees", FEES_PAID), ("curtailment", CURTAILMENT)):
        if totals[name] > 0:
            parts.append(sentence(msgid, amount=money(totals[name], currency)))
    parts += _suspense(account, payment, totals["suspense"])
    if any(line.kind == EntryKind.PAYOFF.value for line in lines):
        parts.append(sentence(PAID_OFF))
    return parts


def _installments(session: Session, account: Account, payment: Payment, totals: dict[str, Decimal]) -> list[Sentence]:
    """Say what each installment the payment paid took (a daily-interest loan: interest and principal)."""
    currency = account.currency
    if not account.is_scheduled:
        if totals["interest"] or totals["principal"]:
            return [sentence(INTEREST_AND_PRINCIPAL, interest=money(totals["interest"], currency),
                             principal=money(totals["principal"], currency))]  # fmt: skip
        return []
    paid = session.scalars(
        select(Installment)
        .where(Installment.payment_id == payment.id, Installment.reversed.is_(False))
        .order_by(Installment.number)
    ).all()
    return [
        sentence(INSTALLMENT, due=i.due_date, interest=money(i.interest, currency),
                 principal=money(i.principal, currency), escrow=money(i.escrow, currency))
        for i in paid
    ]  # fmt: skip


def _suspense(account: Account, payment: Payment, change: Decimal) -> list[Sentence]:
    """Say what the payment left in suspense and why, or what it took from suspense."""
    currency = account.currency
    if change < 0:
        return [sentence(SUSPENSE_USED, amount=money(-change, currency))]
    if change == 0:
        return []
    held = account.balances.suspense
    if account.status is LoanStatus.ACTIVE and held > 0:
        installment = to_money(account.installment_amount(account.next_installment), currency)
        missing = installment - held
        if missing > 0 and account.is_scheduled:
            return [sentence(HELD_PARTIAL, amount=money(change, currency), installment=money(installment, currency),
                             missing=money(missing, currency))]  # fmt: skip
    return [sentence(HELD, amount=money(change, currency))]


def _returned(session: Session, account: Account, payment: Payment) -> list[Sentence]:
    """Say that a payment was returned, when (its reversal's ledger date) and why."""
    returned = session.scalar(
        select(LedgerEntry.effective_date)
        .where(LedgerEntry.payment_id == payment.id, LedgerEntry.kind == EntryKind.REVERSAL.value)
        .order_by(LedgerEntry.id.desc())
        .limit(1)
    )
    returned = returned or payment.received_on
    return [sentence(RETURNED, amount=money(payment.amount, account.currency), date=payment.received_on,
                     returned=returned, reason=payment.reversal_reason or "-")]  # fmt: skip
