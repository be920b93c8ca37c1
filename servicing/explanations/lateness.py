"""Why am I late: the oldest unpaid installment, what brings the loan current (less suspense), the options."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from servicing.explanations.wording import Explanation, Question, Sentence, money, sentence
from servicing.rules.account import Account
from servicing.rules.money import ZERO, to_money
from servicing.speaking import say

NOT_LATE = say("Your loan is not past due. Your next payment of {amount} is due {date}.")
OLDEST_UNPAID = say("Your oldest unpaid installment was due {due}, {days} days ago.")
OWED_INSTALLMENTS = say("To bring your loan current you owe {owed} in installments.")
# Translators: {other} is unpaid fees and escrow shortage billed.
OWED_WITH_OTHER = say("To bring your loan current you owe {owed}: {installments} in installments and {other} in fees "
                      "and escrow billed.")  # fmt: skip
SUSPENSE_COUNTS = say("{suspense} you already paid is held in suspense and counts toward it: {amount} is left to pay.")
# Translators: 3 and 7 are the menu numbers of "make a payment" and "hardship help".
OPTIONS = say(
    "You can reply 3 to pay now, tell me when you can pay (for example: 500 on Friday), or reply 7 if you are "
    "having trouble paying."
)


@dataclass(frozen=True)
class Arrears:
    """What a past-due loan owes to be current, in its currency."""

    oldest_due: date
    days_past_due: int
    installments: Decimal
    other: Decimal  # unpaid fees and escrow shortage billed
    suspense: Decimal
    to_pay: Decimal  # installments + other - suspense: the amount due


def arrears_of(account: Account, today: date) -> Arrears:
    """Return what the loan owes to be current on a day: the same figure as the amount due."""
    currency = account.currency
    due = account.installments_due_by(today)
    installments, principal = ZERO, account.balances.principal
    for number in due:
        if account.is_scheduled:
            payment, paid_principal, _ = account.principal_and_interest(number, principal)
            principal -= paid_principal
            installments += payment + account.escrow_deposit(number)
    if not account.is_scheduled:
        installments = max(ZERO, account.monthly_payment * len(due) - account.dsi_credit)
    other = account.escrow_shortage_due + account.balances.fees
    return Arrears(
        account.next_due_date,
        account.days_past_due(today),
        to_money(installments, currency),
        to_money(other, currency),
        to_money(account.balances.suspense, currency),
        account.amount_due(today),
    )


def explain_late(account: Account, *, today: date) -> Explanation:
    """Explain why the loan shows late: its oldest unpaid installment, what is missing, and what to do."""
    currency = account.currency
    owed = arrears_of(account, today)
    if owed.days_past_due <= 0:
        parts: tuple[Sentence, ...] = (
            sentence(NOT_LATE, amount=money(account.amount_due(today), currency), date=account.next_due_date),
        )
        return Explanation(Question.LATE, account.loan_number, currency, parts, figures={"days_past_due": 0})
    total = owed.installments + owed.other
    listed = [sentence(OLDEST_UNPAID, due=owed.oldest_due, days=owed.days_past_due)]
    if owed.other > 0:
        listed.append(sentence(OWED_WITH_OTHER, owed=money(total, currency),
                               installments=money(owed.installments, currency),
                               other=money(owed.other, currency)))  # fmt: skip
    else:
        listed.append(sentence(OWED_INSTALLMENTS, owed=money(total, currency)))
    if owed.suspense > 0:
        listed.append(sentence(SUSPENSE_COUNTS, suspense=money(owed.suspense, currency),
                               amount=money(owed.to_pay, currency)))  # fmt: skip
    listed.append(sentence(OPTIONS))
    return Explanation(
        Question.LATE, account.loan_number, currency, tuple(listed),
        figures={"days_past_due": owed.days_past_due, "oldest_due": owed.oldest_due, "owed": total,
                 "suspense": owed.suspense, "to_pay": owed.to_pay},
    )  # fmt: skip
