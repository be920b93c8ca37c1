"""What end of day says to borrowers before they are asked: reminders, outreach, confirmations, follow-ups.

One call per business day (`queue_outreach`), at the end of end of day, set-based: a few queries find the
occasions, the contact policy (`policy.decide_and_queue`) decides and queues them all at once.

- a payment reminder N days before the due date (`LOANLINE_REMINDER_DAYS_BEFORE_DUE`, default 5), unless a
  scheduled payment by the due date covers the installment (recorded as suppressed, `autopay`); a loan paid
  ahead has its next due date further out and gets none;
- a past-due reminder once an installment is past its grace period, one per installment;
- early-intervention outreach for the live-contact deadlines of open early-intervention tasks, from day 30 of
  the delinquency (or of each later missed installment) to day 36 (Reg X 1024.39(a)), inviting the borrower to
  talk about options; each one queued is recorded on its tasks as a good-faith attempt at live contact (the
  tasks stay open until live contact);
- a confirmation of each payment received in the last 3 days (a weekend's too), once per payment;
- a follow-up of each promise to pay end of day found broken in the last 7 days, once per promise.

Each occasion has a unique key, and one outreach run looks for undecided occasions at a time
(`policy.take_outreach_turn`): end of day run twice, or two runs at once, queue nothing twice. The windows
let a day end of day skipped still be caught up by the next; a reminder whose installment was paid in between
is stopped before sending (`policy.still_due`). Texts name the loan by its last 4 digits and tell no figures:
the borrower asks the bot for them after verifying.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any, cast

from sqlalchemy import Date, String, Table, exists, func, literal, select
from sqlalchemy import cast as sql_cast
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.cases import CaseKind
from servicing.notices import OPT_OUT_LINE
from servicing.outreach.policy import Recipient, Recorded, Wanted, decide_and_queue, take_outreach_turn
from servicing.rules.contact import PURPOSE_OF, ContactRules, Kind, Purpose, Status
from servicing.rules.schedule import due_dates_between
from servicing.speaking import Speaker, say
from servicing.store.bulk import among, chunked, planned_for_end_of_day
from servicing.store.models import Case, CaseDeadline, ContactDecision, Loan, Payment, Promise, ScheduledPayment

loans = cast(Table, Loan.__table__)
CONFIRM_DAYS = 3  # payments received on the day and the two before (a weekend's) are confirmed
FOLLOW_UP_DAYS = 7  # promises broken in the last week are followed up
SHORTEST_MONTH_DAYS = 28
INVITE_DAYS_BEFORE_DEADLINE = 6  # live contact is due on day 36 of a delinquency; the task opens on day 30
INVITE_DAYS_AFTER_DEADLINE = 30  # a deadline missed (end of day did not run) is still worth an attempt
# No figures in these texts: a reminder reaches the phone on file, which may not be the borrower's hands.
TEXTS = {
    Kind.PAYMENT_REMINDER: say(
        "{servicer}: a reminder that the payment on your loan ending in {loan_last4} is due on {due}. "
        "Reply MENU to pay or to see the amount."
    ),
    Kind.PAST_DUE: say(
        "{servicer}: we have not received the payment due on {due} on your loan ending in {loan_last4}. "
        "Reply MENU to pay, or AGENT if you need help. You can also call us at {phone}."
    ),
    Kind.EARLY_INTERVENTION: say(
        "{servicer}: we would like to talk with you about your loan ending in {loan_last4}. If paying is hard "
        "right now, options such as a payment plan or a forbearance may be available. Reply AGENT to talk with "
        "a specialist, or call us at {phone}."
    ),
    Kind.BROKEN_PROMISE: say(
        "{servicer}: we have not received the payment you promised for {due} on your loan ending in {loan_last4}. "
        "Reply MENU to pay now, or AGENT to talk with us."
    ),
    Kind.PAYMENT_RECEIVED: say(
        "{servicer}: thank you, we received your payment of {due} on your loan ending in {loan_last4}."
    ),
}
# Outside SMS (where the carriers' STOP line is added) a reminder or collection message says how to stop them.
STOP_LINE = say("Write STOP to stop these messages.")


@dataclass(frozen=True)
class Outreach:
    """What end of day needs to reach out: the portfolio's contact rules, the moment it runs, who is writing."""

    rules: ContactRules
    now: datetime
    servicer: str
    phone: str


@dataclass
class OutreachResult:
    """What one day's outreach decided, by status and by kind."""

    statuses: Counter[str] = field(default_factory=Counter)
    kinds: Counter[str] = field(default_factory=Counter)

    @property
    def queued(self) -> int:
        """Return how many messages were queued, now or for later."""
        return self.statuses[Status.QUEUED.value] + self.statuses[Status.DEFERRED.value]


def queue_outreach(session: Session, day: date, outreach: Outreach) -> OutreachResult:
    """Decide and queue the day's reminders, outreach, confirmations and follow-ups, in the caller's transaction.

    Collection messages come first (the early-intervention outreach before the others), so that when the
    frequency cap leaves room for only some, the one the rules require is the one sent.
    """
    rules = outreach.rules
    take_outreach_turn(session)
    with _found_apart(session, (past_due_reminders, payment_confirmations), day) as (past_due, confirmations):
        wanted = [  # in this order; past-due reminders and confirmations are found meanwhile
            *early_intervention_outreach(session, day),
            *broken_promise_follow_ups(session, day),
            *past_due.result(),
            *payment_reminders(session, day, rules.reminder_days_before_due),
            *confirmations.result(),
        ]
    recorded = decide_and_queue(session, wanted, renderer(outreach), day=day, now=outreach.now, rules=rules)
    record_live_contact_attempts(session, recorded)
    result = OutreachResult()
    for r in recorded:
        result.statuses[r.decided.verdict.status.value] += 1
        result.kinds[r.decided.wanted.kind.value] += 1
    return result


Finder = Callable[[Session, date], list[Wanted]]
Found = tuple[Future[list[Wanted]], ...]


@contextmanager
def _found_apart(session: Session, finders: tuple[Finder, Finder], day: date) -> Iterator[Found]:
    """Find these occasions while the caller finds the others: on PostgreSQL each on a connection of its own, at once.

    Only for finders that read what the caller's transaction has not written: committed payments, loans as the
    accrual left them, and decisions, which only an outreach turn writes (and the caller holds the turn, so none
    is committed meanwhile). They then see what the caller's transaction would. SQLite, or a session bound to one
    connection: in the caller's session, one after the other.
    """
    bind = session.get_bind()
    if bind.dialect.name != "postgresql" or not isinstance(bind, Engine):
        done = []
        for find in finders:
            future: Future[list[Wanted]] = Future()
            future.set_result(find(session, day))
            done.append(future)
        yield tuple(done)
        return

    def apart(find: Finder) -> list[Wanted]:
        with Session(bind=bind) as other, other.begin():
            planned_for_end_of_day(other)  # as end of day's own transactions
            return find(other, day)

    with ThreadPoolExecutor(max_workers=len(finders), thread_name_prefix="outreach") as pool:
        yield tuple(pool.submit(apart, find) for find in finders)


# -- the occasions -------------------------------------------------------------------------------------------


def _decided(kind: Kind, occasion: Any) -> Any:
    """Return the SQL test that a loan already has a decision of `kind` for an occasion."""
    return exists().where(
        ContactDecision.loan_id == loans.c.id, ContactDecision.kind == kind.value, ContactDecision.occasion == occasion
    )


def _undecided_key(kind: Kind, occasion_id: Any) -> Any:
    """Return the SQL test that no decision is on file under the key `<kind>:<id>` (as `Wanted.dedupe_key`
    names a payment's confirmation or a promise's follow-up): the unique index on the key answers it, so the
    occasions already decided are not even loaded."""
    key = literal(f"{kind.value}:", String()) + sql_cast(occasion_id, String())
    return ~exists().where(ContactDecision.dedupe_key == key)


def payment_reminders(session: Session, day: date, days_before: int) -> list[Wanted]:
    """Return a reminder for each active loan whose next installment falls due within `days_before` days.

    A scheduled payment from the bank account on file, by the due date and of at least the installment, covers
    it: the reminder is recorded as suppressed (`autopay`).
    """
    if days_before <= 0:
        return []
    installment = loans.c.monthly_payment + loans.c.escrow_monthly
    autopay = exists().where(
        ScheduledPayment.loan_id == loans.c.id, ScheduledPayment.status == "scheduled",
        ScheduledPayment.scheduled_for <= loans.c.next_due_date, ScheduledPayment.amount >= installment,
    )  # fmt: skip
    rows = session.execute(
        select(loans.c.id, loans.c.borrower_id, loans.c.loan_number, loans.c.next_due_date, autopay.label("autopay"))
        .where(
            loans.c.status == "active", loans.c.principal_balance > 0, loans.c.next_due_date > day,
            loans.c.next_due_date <= day + timedelta(days=days_before),
            ~_decided(Kind.PAYMENT_REMINDER, loans.c.next_due_date),
        )
    )  # fmt: skip
    return [
        Wanted(Kind.PAYMENT_REMINDER, row.id, row.borrower_id, row.next_due_date,
               f"{Kind.PAYMENT_REMINDER.value}:{row.id}:{row.next_due_date.isoformat()}",
               {"loan_last4": row.loan_number[-4:], "due": row.next_due_date},
               known_reason="autopay" if row.autopay else None)
        for row in rows
    ]  # fmt: skip


def past_due_reminders(session: Session, day: date) -> list[Wanted]:
    """Return a reminder for each installment that passed its grace period and was not reminded of yet.

    The installment is the latest one past grace (a borrower two payments behind hears of the second when its
    grace ends). Loans reminded of an installment due within grace + 28 days are not even loaded: the next one
    cannot be past grace yet.
    """
    if session.get_bind().dialect.name == "sqlite":
        since_last = func.julianday(day.isoformat()) - func.julianday(ContactDecision.occasion)
    else:
        since_last = literal(day, Date()) - ContactDecision.occasion
    reminded_lately = exists().where(
        ContactDecision.loan_id == loans.c.id, ContactDecision.kind == Kind.PAST_DUE.value,
        since_last <= loans.c.late_fee_grace_days + SHORTEST_MONTH_DAYS,
    )  # fmt: skip
    rows = session.execute(
        select(loans.c.id, loans.c.borrower_id, loans.c.loan_number, loans.c.schedule_anchor, loans.c.next_due_date,
               loans.c.late_fee_grace_days)
        .where(loans.c.status == "active", loans.c.principal_balance > 0,
               loans.c.days_past_due > loans.c.late_fee_grace_days, ~reminded_lately,
               # implied by the days past due (grace >= 0): the delinquent loans are read through
               # ix_loans_active_due, not every loan the accrual has just rewritten
               loans.c.next_due_date < day)
    ).all()  # fmt: skip
    wanted = []
    for row in rows:
        past_grace = due_dates_between(row.schedule_anchor, row.next_due_date,
                                       day - timedelta(days=row.late_fee_grace_days + 1))  # fmt: skip
        due = past_grace[-1] if past_grace else row.next_due_date
        wanted.append(Wanted(Kind.PAST_DUE, row.id, row.borrower_id, due, f"{Kind.PAST_DUE.value}:{row.id}:{due}",
                             {"loan_last4": row.loan_number[-4:], "due": due}))  # fmt: skip
    return _not_yet(session, wanted)


def early_intervention_outreach(session: Session, day: date) -> list[Wanted]:
    """Return one invitation to talk per loan with an open early-intervention task whose live contact is due.

    A live-contact deadline is due from day 30 of its delinquency (6 days before it, when the task opens) and
    stays due, unmet, up to 30 days after it. One invitation covers every deadline of the loan up to the
    latest (its occasion); it is recorded on each of their tasks as a good-faith attempt.
    """
    covered = exists().where(
        ContactDecision.loan_id == Case.loan_id, ContactDecision.kind == Kind.EARLY_INTERVENTION.value,
        ContactDecision.occasion >= CaseDeadline.due_on,
    )  # fmt: skip
    rows = session.execute(
        select(Case.loan_id, Case.reference, CaseDeadline.due_on, Loan.borrower_id, Loan.loan_number)
        .join(CaseDeadline, CaseDeadline.case_id == Case.id)
        .join(Loan, Loan.id == Case.loan_id)
        .where(
            Case.kind == CaseKind.EARLY_INTERVENTION.value, Case.closed_on.is_(None),
            CaseDeadline.name == "live_contact", CaseDeadline.met_on.is_(None),
            CaseDeadline.due_on >= day - timedelta(days=INVITE_DAYS_AFTER_DEADLINE),
            CaseDeadline.due_on <= day + timedelta(days=INVITE_DAYS_BEFORE_DEADLINE),
            Loan.status == "active", Loan.days_past_due > 0, ~covered,
        )
        .order_by(Case.loan_id, CaseDeadline.due_on)
    )  # fmt: skip
    deadlines: dict[int, list[Any]] = {}
    for row in rows:
        deadlines.setdefault(row.loan_id, []).append(row)
    wanted = []
    for loan_id, due in deadlines.items():
        latest = due[-1]
        wanted.append(Wanted(
            Kind.EARLY_INTERVENTION, loan_id, latest.borrower_id, latest.due_on,
            f"{Kind.EARLY_INTERVENTION.value}:{loan_id}:{latest.due_on}",
            {"loan_last4": latest.loan_number[-4:], "tasks": tuple((row.reference, row.due_on) for row in due)},
        ))  # fmt: skip
    return wanted


def broken_promise_follow_ups(session: Session, day: date) -> list[Wanted]:
    """Return a follow-up for each promise to pay end of day found broken in the last week."""
    rows = session.execute(
        select(Promise.id, Promise.loan_id, Promise.promised_for, Loan.borrower_id, Loan.loan_number)
        .join(Loan, Loan.id == Promise.loan_id)
        .where(Promise.status == "broken", Promise.resolved_on > day - timedelta(days=FOLLOW_UP_DAYS),
               Promise.resolved_on <= day, Loan.status == "active", _undecided_key(Kind.BROKEN_PROMISE, Promise.id))
        .order_by(Promise.id)
    )  # fmt: skip
    return _not_yet(session, [
        Wanted(Kind.BROKEN_PROMISE, row.loan_id, row.borrower_id, row.promised_for,
               f"{Kind.BROKEN_PROMISE.value}:{row.id}", {"loan_last4": row.loan_number[-4:], "due": row.promised_for})
        for row in rows
    ])  # fmt: skip


def payment_confirmations(session: Session, day: date) -> list[Wanted]:
    """Return a confirmation for each payment received in the last 3 days and still posted."""
    rows = session.execute(
        select(Payment.id, Payment.loan_id, Payment.received_on, Loan.borrower_id, Loan.loan_number)
        .join(Loan, Loan.id == Payment.loan_id)
        .where(Payment.status == "posted", Payment.received_on > day - timedelta(days=CONFIRM_DAYS),
               Payment.received_on <= day, _undecided_key(Kind.PAYMENT_RECEIVED, Payment.id))
        .order_by(Payment.id)
    )  # fmt: skip
    return _not_yet(session, [
        Wanted(Kind.PAYMENT_RECEIVED, row.loan_id, row.borrower_id, row.received_on,
               f"{Kind.PAYMENT_RECEIVED.value}:{row.id}", {"loan_last4": row.loan_number[-4:], "due": row.received_on})
        for row in rows
    ])  # fmt: skip


def _not_yet(session: Session, wanted: list[Wanted]) -> list[Wanted]:
    """Drop the occasions already decided (their keys are on file)."""
    keys = [w.dedupe_key for w in wanted if w.dedupe_key]
    done: set[str] = set()
    for part in chunked(keys):
        done.update(
            session.scalars(select(ContactDecision.dedupe_key).where(among(session, ContactDecision.dedupe_key, part)))
        )
    return [w for w in wanted if w.dedupe_key not in done]


# -- texts and the record of attempts ---------------------------------------------------------------------------


def renderer(outreach: Outreach) -> Callable[[Wanted, Recipient], str]:
    """Return what writes each message in its borrower's language (translations and dates formatted once)."""

    @lru_cache(maxsize=64)
    def speaker(locale: str) -> Speaker:
        return Speaker(locale)

    @lru_cache(maxsize=4096)
    def day(locale: str, when: date) -> str:
        return speaker(locale).day(when)

    @lru_cache(maxsize=256)
    def ending(locale: str, channel: str, purpose: Purpose) -> str:
        if channel == "sms":
            return " " + speaker(locale).say(OPT_OUT_LINE)
        return "" if purpose is Purpose.SERVICING else " " + speaker(locale).say(STOP_LINE)

    def render(wanted: Wanted, recipient: Recipient) -> str:
        values = {name: day(recipient.locale, value) if isinstance(value, date) else value
                  for name, value in wanted.values.items()}  # fmt: skip
        text = speaker(recipient.locale).say(TEXTS[wanted.kind], servicer=outreach.servicer, phone=outreach.phone,
                                             **values)  # fmt: skip
        return text + ending(recipient.locale, recipient.channel or "", PURPOSE_OF[wanted.kind])

    return render


def record_live_contact_attempts(session: Session, recorded: list[Recorded]) -> int:
    """Record on each early-intervention task the outreach queued for it: a good-faith attempt at live contact
    (Reg X 1024.39(a)); the live-contact deadline stays unmet until a person reaches the borrower."""
    attempts = 0
    for r in recorded:
        wanted, verdict = r.decided.wanted, r.decided.verdict
        if wanted.kind is not Kind.EARLY_INTERVENTION or not verdict.goes_out:
            continue
        channel = r.decided.recipient.channel if r.decided.recipient else None
        for reference, deadline in wanted.values["tasks"]:
            detail = {"decision": r.decision_id, "channel": channel, "status": verdict.status.value,
                      "deadline": deadline.isoformat()}  # fmt: skip
            record_audit(session, "eod", "case.live_contact_attempted", "case", reference, detail)
            attempts += 1
    return attempts
