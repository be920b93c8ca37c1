"""Why did my payment change: the latest escrow analysis, modification or repayment plan's end behind it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.explanations.wording import Explanation, Question, Sentence, money, sentence
from servicing.rules.account import Account
from servicing.rules.ledger import EntryKind
from servicing.rules.money import ZERO, to_money
from servicing.speaking import say
from servicing.store.models import EscrowAnalysis, EscrowItem, LedgerEntry, Workout

LOOK_BACK_DAYS = 400  # a change older than about a year is no longer "why did my payment change"
MOST_BILLS = 2  # bills named as having moved, the largest moves first

UNCHANGED = say("Your monthly payment is {payment} and has not changed in the last year.")
# Translators: {date} is the due date of the first installment with the new payment; {analyzed} the analysis day.
ESCROW_CHANGE = say("From {date} your monthly payment is {new} instead of {old}, after the escrow analysis of "
                    "{analyzed}.")  # fmt: skip
ESCROW_DEPOSIT = say("Your escrow deposit goes from {old} to {new}: {base} a month pays the year's bills of {annual}.")
SHORTAGE_SPREAD = say("{recovery} a month makes up an escrow shortage of {shortage} over {months} months.")
SHORTAGE_AND_DEFICIENCY_SPREAD = say(
    "{recovery} a month makes up an escrow shortage of {shortage} and a deficiency of {deficiency} over {months} "
    "months."
)
SHORTAGE_BILLED = say("An escrow shortage of {amount} is billed once, due {date}.")
SURPLUS_REFUNDED = say("An escrow surplus of {amount} is refunded to you.")
# Translators: {payee} is the tax office or insurer as on file (not translated).
BILL_MOVED = say("{payee}: {old} last year, {new} this year.")
MODIFIED = say("Your loan was modified on {date}: your monthly principal and interest went from {old} to {new}, from "
               "the installment due {first_due}.")  # fmt: skip
PLAN_ENDED = say("Your repayment plan ended on {date}: your payment is back to your regular {regular} instead of "
                 "{plan}.")  # fmt: skip


@dataclass(frozen=True)
class _Change:
    """A change to the monthly payment: when it happened and what to say about it."""

    on: date
    sentences: tuple[Sentence, ...]
    figures: dict[str, Any]


def explain_payment_change(
    session: Session, account: Account, *, today: date, analysis_id: int | None = None
) -> Explanation:
    """Explain the latest change to the monthly payment (or a given escrow analysis); say so when none."""
    since = today - timedelta(days=LOOK_BACK_DAYS)
    changes = [*_escrow_changes(session, account, since, analysis_id)]
    if analysis_id is None:
        changes += [*_workout_changes(session, account, since, today)]
    if not changes:
        payment = money(account.monthly_payment + account.escrow_monthly, account.currency)
        return Explanation(Question.PAYMENT_CHANGE, account.loan_number, account.currency,
                           (sentence(UNCHANGED, payment=payment),))  # fmt: skip
    latest = max(changes, key=lambda change: change.on)
    return Explanation(Question.PAYMENT_CHANGE, account.loan_number, account.currency, latest.sentences,
                       figures=latest.figures)  # fmt: skip


# -- escrow analyses ------------------------------------------------------------------------------------------


def _escrow_changes(session: Session, account: Account, since: date, analysis_id: int | None) -> Iterable[_Change]:
    """Yield the latest escrow analysis that changed the deposit, billed or refunded (or the one asked about)."""
    query = select(EscrowAnalysis).where(EscrowAnalysis.loan_id == account.loan_id)
    if analysis_id is not None:
        query = query.where(EscrowAnalysis.id == analysis_id)
    else:
        query = query.where(EscrowAnalysis.analyzed_on >= since)
    analyses = list(session.scalars(query.order_by(EscrowAnalysis.analyzed_on.desc(), EscrowAnalysis.id.desc())))
    for analysis in analyses:
        figures = analysis.statement["figures"]
        moved = (Decimal(figures["new_deposit"]) != Decimal(figures["current_deposit"])
                 or Decimal(figures["collect_amount"]) > 0 or Decimal(figures["refund"]) > 0)  # fmt: skip
        if moved or analysis_id is not None:
            earlier = _earlier_analysis(session, account, analysis)
            yield _Change(analysis.analyzed_on, _escrow_sentences(session, account, analysis, earlier), figures)
            return


def _earlier_analysis(session: Session, account: Account, analysis: EscrowAnalysis) -> EscrowAnalysis | None:
    return session.scalar(
        select(EscrowAnalysis)
        .where(EscrowAnalysis.loan_id == account.loan_id, EscrowAnalysis.analyzed_on < analysis.analyzed_on)
        .order_by(EscrowAnalysis.analyzed_on.desc(), EscrowAnalysis.id.desc())
        .limit(1)
    )


def _escrow_sentences(
    session: Session, account: Account, analysis: EscrowAnalysis, earlier: EscrowAnalysis | None
) -> tuple[Sentence, ...]:
    """Say what the analysis changed: the payment, the deposit and its parts, the bills that moved."""
    c = account.currency
    figures = analysis.statement["figures"]
    payments = analysis.statement.get("payments") or _payments_of(account, figures)

    def amount(name: str) -> Decimal:
        return to_money(Decimal(figures[name]), c)

    old_total = Decimal(payments["principal_and_interest"]) + Decimal(payments["escrow_before"])
    parts = [
        sentence(ESCROW_CHANGE, date=date.fromisoformat(payments["new_payment_from"]),
                 new=money(Decimal(payments["total_from_next_year"]), c), old=money(old_total, c),
                 analyzed=analysis.analyzed_on),
        sentence(ESCROW_DEPOSIT, old=money(amount("current_deposit"), c), new=money(amount("new_deposit"), c),
                 base=money(amount("base_deposit"), c), annual=money(amount("annual_disbursements"), c)),
    ]  # fmt: skip
    parts += _recovery(figures, c)
    parts += _bills_moved(session, account, analysis, earlier)
    return tuple(parts)


def _payments_of(account: Account, figures: dict[str, Any]) -> dict[str, str]:
    """Return the payment before and after an analysis stored without them (principal and interest as today)."""
    principal_and_interest = account.monthly_payment
    return {
        "principal_and_interest": str(principal_and_interest),
        "escrow_before": figures["current_deposit"],
        "total_from_next_year": str(principal_and_interest + Decimal(figures["new_deposit"])),
        "new_payment_from": figures["computation_year_starts"],
    }


def _recovery(figures: dict[str, Any], currency: str) -> list[Sentence]:
    """Say how a shortage or deficiency is made up (spread or billed) and a surplus refunded."""

    def amount(name: str) -> Decimal:
        return to_money(Decimal(figures[name]), currency)

    parts = []
    recovery, shortage, deficiency = amount("recovery_deposit"), amount("shortage"), amount("deficiency")
    if recovery > 0 and deficiency > 0:
        parts.append(sentence(SHORTAGE_AND_DEFICIENCY_SPREAD, recovery=money(recovery, currency),
                              shortage=money(shortage, currency), deficiency=money(deficiency, currency),
                              months=figures["spread_months"]))  # fmt: skip
    elif recovery > 0:
        parts.append(sentence(SHORTAGE_SPREAD, recovery=money(recovery, currency), shortage=money(shortage, currency),
                              months=figures["spread_months"]))  # fmt: skip
    if amount("collect_amount") > 0 and figures.get("collect_due_on"):
        parts.append(sentence(SHORTAGE_BILLED, amount=money(amount("collect_amount"), currency),
                              date=date.fromisoformat(figures["collect_due_on"])))  # fmt: skip
    if amount("refund") > 0:
        parts.append(sentence(SURPLUS_REFUNDED, amount=money(amount("refund"), currency)))
    return parts


def _bills_moved(
    session: Session, account: Account, analysis: EscrowAnalysis, earlier: EscrowAnalysis | None
) -> list[Sentence]:
    """Say which tax or insurance bills cost more or less this year than last, the largest moves first."""
    this_year = _projected_by_payee(analysis)
    last_year = _projected_by_payee(earlier) if earlier is not None else _paid_by_payee(session, account, analysis)
    c = account.currency
    moved = [
        (payee, last_year.get(payee, ZERO), amount)
        for payee, amount in this_year.items()
        if amount != last_year.get(payee, ZERO) and (last_year or earlier is not None)
    ]
    moved.sort(key=lambda row: -abs(row[2] - row[1]))
    return [sentence(BILL_MOVED, payee=payee, old=money(old, c), new=money(new, c))
            for payee, old, new in moved[:MOST_BILLS]]  # fmt: skip


def _projected_by_payee(analysis: EscrowAnalysis) -> dict[str, Decimal]:
    """Return the bills an analysis projects for its computation year, summed by payee."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for month in analysis.statement["projection"]["months"]:
        for bill in month["disbursements"]:
            totals[bill["payee"]] += Decimal(bill["amount"])
    return dict(totals)


def _paid_by_payee(session: Session, account: Account, analysis: EscrowAnalysis) -> dict[str, Decimal]:
    """Return what escrow paid each payee in the year before an analysis (references `escrow:<item>:<date>`)."""
    rows = session.execute(
        select(LedgerEntry.reference, LedgerEntry.escrow).where(
            LedgerEntry.loan_id == account.loan_id,
            LedgerEntry.kind == EntryKind.ESCROW_DISBURSEMENT.value,
            LedgerEntry.effective_date >= analysis.analyzed_on - timedelta(days=366),
            LedgerEntry.effective_date < analysis.analyzed_on,
            LedgerEntry.reference.like("escrow:%"),
        )
    ).all()
    item_ids = {int(reference.split(":")[1]) for reference, _ in rows if reference.split(":")[1].isdigit()}
    found = session.execute(select(EscrowItem.id, EscrowItem.payee).where(EscrowItem.id.in_(item_ids)))
    payees: dict[int, str] = {item_id: payee for item_id, payee in found}
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for reference, change in rows:
        item = reference.split(":")[1]
        if item.isdigit() and int(item) in payees:
            totals[payees[int(item)]] += -change
    return dict(totals)


# -- workouts ------------------------------------------------------------------------------------------------


def _workout_changes(session: Session, account: Account, since: date, today: date) -> Iterable[_Change]:
    """Yield modifications booked and repayment plans ended since a date."""
    c = account.currency
    workouts = session.scalars(
        select(Workout).where(Workout.loan_id == account.loan_id, Workout.kind.in_(("modification", "repayment_plan")))
    ).all()
    for workout in workouts:
        terms = workout.terms
        if workout.kind == "modification" and workout.starts_on >= since and terms.get("steps"):
            new = Decimal(terms["steps"][-1]["payment"])
            yield _Change(workout.starts_on, (sentence(
                MODIFIED, date=workout.starts_on, old=money(Decimal(terms["payment_before"]), c), new=money(new, c),
                first_due=date.fromisoformat(terms["first_due_date"])),), {"modification": workout.id})  # fmt: skip
        elif workout.kind == "repayment_plan" and workout.status in ("completed", "ended") and terms.get("lines"):
            ended = date.fromisoformat(terms["ended_on"]) if terms.get("ended_on") else workout.ends_on
            if ended is None or not since <= ended <= today:
                continue
            first = terms["lines"][0]
            yield _Change(ended, (sentence(
                PLAN_ENDED, date=ended, regular=money(Decimal(first["regular_payment"]), c),
                plan=money(Decimal(first["total"]), c)),), {"repayment_plan": workout.id})  # fmt: skip
