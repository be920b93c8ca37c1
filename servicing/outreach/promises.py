"""Promises to pay: a borrower's word to pay an amount by a date, kept or broken from the payments received.

A promise is made by the bot (after verification) or by a specialist in the console: an amount in the
loan's currency, more than zero and at most the payoff on its date, for a date from today to 30 days
ahead, one open promise per loan (docs/contact-policy.md, "Promises to pay"). End of day
(`resolve_promises`) marks a promise kept once the payments received from the day it was made through its
date plus the loan's grace days reach its amount, and broken at the first end of day after that last day
without them; a broken promise opens a follow-up task for the specialists (`CaseKind.BROKEN_PROMISE`).
While a promise is open, collection reminders wait (`open_promise`, `open_promise_exists`).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Date, and_, bindparam, exists, func, literal, or_, select, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from servicing.audit import record_audit
from servicing.cases import BrokenPromiseFollowUp, open_broken_promise_follow_ups
from servicing.errors import PromiseRefused
from servicing.queries import require_account
from servicing.rules.account import Account, LoanStatus
from servicing.rules.money import ZERO, is_money, to_money
from servicing.rules.payoff import payoff_quote
from servicing.store.bulk import execute_many
from servicing.store.models import Loan, Payment, Promise, table_of

MAX_DAYS_AHEAD = 30  # a promise is for a date at most this many days ahead (docs/contact-policy.md)
KEPT_RATE_PLACES = Decimal("0.001")
REASON_LENGTH = 200
_CHANNEL = re.compile(r"^[a-z_]{1,12}$")


class PromiseStatus(StrEnum):
    """Where a promise stands: open until end of day finds it kept or broken, or someone cancels it."""

    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"


class PromiseRule(StrEnum):
    """The rule that refused a promise, for each edge to say in its own words."""

    LOAN_NOT_ACTIVE = "loan_not_active"
    AMOUNT_NOT_POSITIVE = "amount_not_positive"
    AMOUNT_NOT_MONEY = "amount_not_money"
    AMOUNT_OVER_PAYOFF = "amount_over_payoff"
    DATE_PASSED = "date_passed"
    DATE_TOO_FAR = "date_too_far"
    ALREADY_OPEN = "already_open"
    UNKNOWN_CHANNEL = "unknown_channel"
    NOT_FOUND = "not_found"
    NOT_OPEN = "not_open"
    NO_REASON = "no_reason"


@dataclass(frozen=True)
class PromiseLine:
    """A promise as the console, the bot and `loanline loan --json` show it."""

    id: int
    loan_number: str
    currency: str
    amount: Decimal
    promised_for: date
    last_day: date  # the last day whose payments count: promised_for plus the loan's grace days
    made_on: date
    made_by: str
    channel: str
    status: str
    resolved_on: date | None
    paid: Decimal


@dataclass(frozen=True)
class PromiseOutcome:
    """What one end of day found: how many promises were kept, broken or open again, and the follow-ups it opened."""

    kept: int
    broken: int
    reopened: int  # kept ones open again: a payment they counted was reversed before their last day
    follow_ups: list[str]


@dataclass(frozen=True)
class BrokenPromise:
    """A promise end of day found broken: enough for the follow-up message to the borrower."""

    promise_id: int
    loan_id: int
    loan_number: str
    borrower_id: int
    currency: str
    amount: Decimal
    promised_for: date
    paid: Decimal
    channel: str


# -- the rules ------------------------------------------------------------------------------------------


def latest_promise_date(today: date) -> date:
    """Return the last date a promise made today may be for."""
    return today + timedelta(days=MAX_DAYS_AHEAD)


def check_promise(account: Account, amount: Decimal, promised_for: date, today: date) -> None:
    """Refuse a promise the rules do not allow: a closed loan, an amount out of range, a date out of reach."""
    if account.status is not LoanStatus.ACTIVE:
        raise PromiseRefused(f"loan {account.loan_number} is {account.status.value.replace('_', ' ')}",
                             PromiseRule.LOAN_NOT_ACTIVE)  # fmt: skip
    check_promised_date(promised_for, today)
    check_promised_amount(account, amount)
    payoff = payoff_quote(account, today, promised_for).total
    if amount > payoff:
        raise PromiseRefused(f"{amount} {account.currency} is more than the payoff on {promised_for.isoformat()} "
                             f"({to_money(payoff, account.currency)})", PromiseRule.AMOUNT_OVER_PAYOFF)  # fmt: skip


def check_promised_date(promised_for: date, today: date) -> None:
    """Refuse a date a promise made today may not be for: one passed, or more than 30 days ahead."""
    if promised_for < today:
        raise PromiseRefused(f"the promised date {promised_for.isoformat()} has passed", PromiseRule.DATE_PASSED)
    if promised_for > latest_promise_date(today):
        raise PromiseRefused(f"a promise is for a date at most {MAX_DAYS_AHEAD} days ahead "
                             f"({latest_promise_date(today).isoformat()})", PromiseRule.DATE_TOO_FAR)  # fmt: skip


def check_promised_amount(account: Account, amount: Decimal) -> None:
    """Refuse an amount no promise may be for: zero or less, or finer than the currency's minor units."""
    if amount <= 0:
        raise PromiseRefused("a promise is for an amount more than zero", PromiseRule.AMOUNT_NOT_POSITIVE)
    if not is_money(amount, account.currency):
        raise PromiseRefused(f"{amount} is not an amount in {account.currency}'s minor units",
                             PromiseRule.AMOUNT_NOT_MONEY)  # fmt: skip


def most_promised(account: Account, promised_for: date, today: date) -> Decimal:
    """Return the most a promise for a date may be: the payoff on that date, in the loan's currency."""
    return to_money(payoff_quote(account, today, promised_for).total, account.currency)


# -- making and cancelling ------------------------------------------------------------------------------


def make_promise(
    session: Session,
    loan_number: str,
    *,
    amount: Decimal,
    promised_for: date,
    today: date,
    channel: str,
    actor: str,
) -> Promise:
    """Record a promise to pay `amount` by `promised_for`, made today by `actor` (a specialist, or "bot")."""
    if not _CHANNEL.match(channel):
        raise PromiseRefused(f"unknown channel {channel[:20]!r}", PromiseRule.UNKNOWN_CHANNEL)
    account = require_account(session, loan_number)
    # the loan's row lock makes two channels promising at once find one promise rather than record two
    session.execute(select(Loan.id).where(Loan.id == account.loan_id).with_for_update())
    check_promise(account, amount, promised_for, today)
    current = open_promise(session, account.loan_id)
    if current is not None:
        raise PromiseRefused(f"loan {loan_number} already has an open promise, for {current.promised_for.isoformat()}",
                             PromiseRule.ALREADY_OPEN)  # fmt: skip
    promise = Promise(loan_id=account.loan_id, amount=amount, promised_for=promised_for, made_on=today,
                      made_by=actor, channel=channel, status=PromiseStatus.OPEN.value, paid=ZERO)  # fmt: skip
    session.add(promise)
    session.flush()
    record_audit(session, actor, "promise.made", "loan", loan_number,
                 {"promise": promise.id, "amount": str(amount), "currency": account.currency,
                  "promised_for": promised_for.isoformat(), "channel": channel})  # fmt: skip
    return promise


def cancel_promise(
    session: Session, loan_number: str, promise_id: int, *, on: date, actor: str, reason: str
) -> Promise:
    """Cancel a loan's open promise (the borrower withdrew it, or it was recorded by mistake), with the reason."""
    if not reason.strip():
        raise PromiseRefused("say why the promise is cancelled", PromiseRule.NO_REASON)
    account = require_account(session, loan_number)
    promise = session.scalar(
        select(Promise).where(Promise.id == promise_id, Promise.loan_id == account.loan_id).with_for_update()
    )
    if promise is None:
        raise PromiseRefused(f"loan {loan_number} has no promise {promise_id}", PromiseRule.NOT_FOUND)
    if promise.status != PromiseStatus.OPEN.value:
        raise PromiseRefused(f"promise {promise_id} is already {promise.status}", PromiseRule.NOT_OPEN)
    promise.status = PromiseStatus.CANCELLED.value
    promise.resolved_on = on
    record_audit(session, actor, "promise.cancelled", "loan", loan_number,
                 {"promise": promise.id, "reason": reason.strip()[:REASON_LENGTH]})  # fmt: skip
    return promise


# -- reading --------------------------------------------------------------------------------------------


def open_promise(session: Session, loan_id: int) -> Promise | None:
    """Return the loan's open promise, if any: while it is open, collection reminders wait."""
    query = select(Promise).where(Promise.loan_id == loan_id, Promise.status == PromiseStatus.OPEN.value)
    return session.scalars(query.order_by(Promise.id.desc()).limit(1)).first()


def open_promise_exists(loan_id: ColumnElement[int]) -> ColumnElement[bool]:
    """Return the SQL test that the loan whose id is `loan_id` has an open promise (for set-based outreach)."""
    return exists().where(Promise.loan_id == loan_id, Promise.status == PromiseStatus.OPEN.value)


def promises_of(session: Session, loan_number: str, *, limit: int = 20) -> list[PromiseLine]:
    """Return a loan's promises, the open one first, then the latest."""
    return _lines(session, Loan.loan_number == loan_number, limit)


def promises_of_borrower(session: Session, borrower_id: int, *, limit: int = 10) -> list[PromiseLine]:
    """Return the promises on every loan of a borrower, open ones first, then the latest."""
    return _lines(session, Loan.borrower_id == borrower_id, limit)


def _lines(session: Session, which: ColumnElement[bool], limit: int) -> list[PromiseLine]:
    query = (
        select(Promise, Loan.loan_number, Loan.currency, Loan.late_fee_grace_days)
        .join(Loan, Loan.id == Promise.loan_id)
        .where(which)
        .order_by((Promise.status == PromiseStatus.OPEN.value).desc(), Promise.made_at.desc(), Promise.id.desc())
        .limit(limit)
    )
    return [
        PromiseLine(p.id, number, currency, to_money(p.amount, currency), p.promised_for,
                    p.promised_for + timedelta(days=grace), p.made_on, p.made_by, p.channel, p.status, p.resolved_on,
                    to_money(p.paid, currency))
        for p, number, currency, grace in session.execute(query)
    ]  # fmt: skip


def promise_rows(session: Session, loan_number: str) -> list[dict[str, Any]]:
    """Return a loan's promises as plain rows (`loanline loan --json`)."""
    return [
        {"id": p.id, "amount": p.amount, "currency": p.currency, "promised_for": p.promised_for, "status": p.status,
         "made_on": p.made_on, "made_by": p.made_by, "channel": p.channel, "resolved_on": p.resolved_on,
         "paid": p.paid}
        for p in promises_of(session, loan_number, limit=1000)
    ]  # fmt: skip


# -- end of day -----------------------------------------------------------------------------------------


def resolve_promises(session: Session, day: date) -> PromiseOutcome:
    """Mark each open promise kept or broken from the payments received; open a follow-up per broken one.

    Kept: the payments received (status posted: a reversed payment does not count) from the day the promise
    was made through its last day (its date plus the loan's grace days) reach its amount. Broken: its last day
    has passed (it is before `day`) and they do not. Until its last day has passed, a kept promise is watched
    too: when a payment it counted is reversed (a returned ACH debit comes days later), it is open again.
    One query sums, in SQL, the payments of the promises watched and returns only those whose status changes;
    one update writes them.
    """
    received = func.coalesce(func.sum(Payment.amount), ZERO)
    counted = and_(
        Payment.loan_id == Promise.loan_id,
        Payment.status == "posted",
        Payment.received_on >= Promise.made_on,
        Payment.received_on <= day,
        _days_between(session, Payment.received_on, Promise.promised_for) <= Loan.late_fee_grace_days,
    )
    past_last_day = _days_between(session, literal(day, Date()), Promise.promised_for) > Loan.late_fee_grace_days
    changes = or_(
        and_(Promise.status == PromiseStatus.KEPT.value, received < Promise.amount),
        and_(Promise.status == PromiseStatus.OPEN.value, or_(received >= Promise.amount, past_last_day)),
    )
    rows = session.execute(
        select(Promise.id, Promise.loan_id, Promise.amount, Promise.promised_for, Promise.status,
               received.label("received"), Loan.currency, Loan.borrower_id, Loan.country,
               Loan.status.label("loan_status"))
        .join(Loan, Loan.id == Promise.loan_id)
        .outerjoin(Payment, counted)
        .where(_watched(session, day))
        .group_by(Promise.id, Loan.id)
        .having(changes)
    ).all()  # fmt: skip
    kept, broken, reopened = [], [], []
    for p in rows:
        paid = to_money(p.received, p.currency)
        if p.status == PromiseStatus.KEPT.value:
            reopened.append(_resolution(p.id, PromiseStatus.OPEN, None, paid))
        elif paid >= p.amount:
            kept.append(_resolution(p.id, PromiseStatus.KEPT, day, paid))
        else:
            broken.append(_resolution(p.id, PromiseStatus.BROKEN, day, paid))
    promise_table = table_of(Promise)
    statement = (
        update(promise_table)
        .where(promise_table.c.id == bindparam("b_id"))
        .values(status=bindparam("status"), resolved_on=bindparam("resolved_on"), paid=bindparam("paid"))
    )
    execute_many(session, ("promise_resolved",), statement, kept + broken + reopened)
    by_id = {p.id: p for p in rows}
    follow_ups = [
        BrokenPromiseFollowUp(row["b_id"], by_id[row["b_id"]].loan_id, by_id[row["b_id"]].borrower_id,
                              by_id[row["b_id"]].country, _what_was_promised(by_id[row["b_id"]], row["paid"]))
        for row in broken
        if by_id[row["b_id"]].loan_status == LoanStatus.ACTIVE.value
    ]  # fmt: skip
    opened = open_broken_promise_follow_ups(session, follow_ups, day)
    return PromiseOutcome(len(kept), len(broken), len(reopened), opened)


def _resolution(promise_id: int, status: PromiseStatus, on: date | None, paid: Decimal) -> dict[str, Any]:
    return {"b_id": promise_id, "status": status.value, "resolved_on": on, "paid": paid}


def _watched(session: Session, day: date) -> ColumnElement[bool]:
    """Return the SQL test of the promises end of day looks at: open ones, and kept ones still in their window."""
    in_window = _days_between(session, literal(day, Date()), Promise.promised_for) <= Loan.late_fee_grace_days
    return or_(
        and_(Promise.status == PromiseStatus.OPEN.value, Promise.made_on <= day),
        and_(Promise.status == PromiseStatus.KEPT.value, in_window),
    )


DateColumn = ColumnElement[date] | InstrumentedAttribute[date]


def _days_between(session: Session, later: DateColumn, earlier: DateColumn) -> ColumnElement[Any]:
    """Return the SQL count of days from one date to another, in the database's own date arithmetic."""
    if session.get_bind().dialect.name == "sqlite":
        return func.julianday(later) - func.julianday(earlier)
    return later - earlier


def _what_was_promised(promise: Any, paid: Decimal) -> str:
    amount = to_money(promise.amount, promise.currency)
    return f"{amount} {promise.currency} promised for {promise.promised_for.isoformat()}; {paid} received"


def promises_broken_on(session: Session, day: date) -> list[BrokenPromise]:
    """Return the promises end of day found broken on `day` (for the broken-promise follow-up message)."""
    query = (
        select(Promise.id, Promise.loan_id, Loan.loan_number, Loan.borrower_id, Loan.currency, Promise.amount,
               Promise.promised_for, Promise.paid, Promise.channel)
        .join(Loan, Loan.id == Promise.loan_id)
        .where(Promise.status == PromiseStatus.BROKEN.value, Promise.resolved_on == day)
        .order_by(Promise.id)
    )  # fmt: skip
    return [
        BrokenPromise(r.id, r.loan_id, r.loan_number, r.borrower_id, r.currency, to_money(r.amount, r.currency),
                      r.promised_for, to_money(r.paid, r.currency), r.channel)
        for r in session.execute(query)
    ]  # fmt: skip


# -- the report -----------------------------------------------------------------------------------------


def promises_report(
    session: Session, today: date, *, since: date | None = None, until: date | None = None
) -> list[dict[str, Any]]:
    """Count the promises made in the period and what became of them, in all, by specialist and by channel.

    A promise counts in the period it was made, whenever it was resolved; the kept rate is kept / (kept +
    broken): open and cancelled promises are not yet (or never) a result.
    """
    query = select(Promise.made_by, Promise.channel, Promise.status, func.count()).group_by(
        Promise.made_by, Promise.channel, Promise.status
    )
    if since is not None:
        query = query.where(Promise.made_on >= since)
    if until is not None:
        query = query.where(Promise.made_on <= until)
    groups: dict[tuple[str, str], Counter[str]] = {("all", ""): Counter()}
    for made_by, channel, status, count in session.execute(query):
        for key in (("all", ""), ("specialist", made_by), ("channel", channel)):
            groups.setdefault(key, Counter())[status] += count
    order = {"all": 0, "specialist": 1, "channel": 2}
    return [_report_row(group, name, counts) for (group, name), counts in sorted(
        groups.items(), key=lambda item: (order[item[0][0]], item[0][1]))]  # fmt: skip


def _report_row(group: str, name: str, counts: Counter[str]) -> dict[str, Any]:
    kept, broken = counts[PromiseStatus.KEPT.value], counts[PromiseStatus.BROKEN.value]
    rate = (Decimal(kept) / Decimal(kept + broken)).quantize(KEPT_RATE_PLACES) if kept + broken else None
    return {
        "group": group,
        "name": name,
        "made": sum(counts.values()),
        "kept": kept,
        "broken": broken,
        "open": counts[PromiseStatus.OPEN.value],
        "cancelled": counts[PromiseStatus.CANCELLED.value],
        "kept_rate": rate,
    }
