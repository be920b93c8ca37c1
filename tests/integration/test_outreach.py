"""Outreach from end of day through the contact policy, on SQLite and PostgreSQL: reminders in the borrower's
language at their local hour (six time zones), past-due reminders, early-intervention outreach, confirmations,
broken-promise follow-ups; every suppression reason; the worker's check before sending; once per occasion."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import psycopg
import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from servicing.cases import CaseKind
from servicing.conversations import EscalationReason, escalate, find_or_open_conversation, set_opt_out
from servicing.eod import run_business_day, run_eod
from servicing.notices import notify_borrower
from servicing.outbox import deliver_outbox
from servicing.outreach import policy
from servicing.outreach.flags import clear_contact_flag, set_contact_flag
from servicing.outreach.reminders import Outreach, OutreachResult, queue_outreach
from servicing.payments import PaymentInstruction, post_payments
from servicing.rules.contact import DEFAULT_RULES, ContactRules, Kind, Status, Verdict
from servicing.speaking import say
from servicing.store.models import (
    AuditEntry,
    Case,
    CaseDeadline,
    ContactDecision,
    Fee,
    Loan,
    Message,
    OutboxItem,
    Promise,
    ScheduledPayment,
    Workout,
)
from tests.integration.helpers import board

SERVICER, SERVICER_PHONE = "Acme Servicing", "+1 800 555 0199"
DUE = date(2026, 2, 1)  # every loan's first installment (board's mortgage row)
REMINDER_DAY = date(2026, 1, 27)  # a Tuesday, 5 days before
EVENING = datetime(2026, 1, 27, 23, 0, tzinfo=UTC)  # 18:00 in New York, 04:30 on the 28th in Kolkata
PAST_GRACE_DAY = date(2026, 2, 17)  # day 16 of the February installment: past its 15 days of grace
AFTERNOON = datetime(2026, 2, 17, 17, 0, tzinfo=UTC)  # 12:00 in New York
BORROWERS = {  # zone: country, currency, locale, a phone libphonenumber places in that zone
    "America/New_York": ("US", "USD", "en_US", "+12125550101"),
    "America/Los_Angeles": ("US", "USD", "es_US", "+14155550102"),
    "Pacific/Honolulu": ("US", "USD", "en_US", "+18085550103"),
    "Asia/Kolkata": ("IN", "INR", "hi_IN", "+919876543201"),
    "America/Sao_Paulo": ("BR", "BRL", "pt_BR", "+5511987654302"),
    "Asia/Jakarta": ("ID", "IDR", "id_ID", "+6281234567803"),
}
NEW_YORK = "America/New_York"
# Bulk inserts go straight to the driver (COPY on PostgreSQL): its own error, or SQLAlchemy's wrapping it.
UNIQUE_VIOLATIONS = (IntegrityError, psycopg.IntegrityError, sqlite3.IntegrityError)


def board_in(session: Session, zone: str = NEW_YORK, **fields: Any) -> str:
    country, currency, locale, phone = BORROWERS[zone]
    values = {"country": country, "currency": currency, "locale": locale, "phone": phone, "timezone": zone}
    return board(session, **{**values, **fields})


def outreach(now: datetime, rules: ContactRules = DEFAULT_RULES) -> Outreach:
    return Outreach(rules, now, SERVICER, SERVICER_PHONE)


def reach_out(sessions: sessionmaker[Session], day: date, now: datetime) -> OutreachResult:
    with sessions.begin() as session:
        return queue_outreach(session, day, outreach(now))


def age(sessions: sessionmaker[Session], day: date) -> None:
    """Run one day's end of day (without outreach): days past due, late fees and tasks are those of `day`."""
    with sessions.begin() as session:
        run_business_day(session, day, "eod")


def decisions(sessions: sessionmaker[Session], kind: str | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Return each loan's decisions: kind, status, reason and send_after, oldest first."""
    query = (
        select(Loan.loan_number, ContactDecision.kind, ContactDecision.status, ContactDecision.reason,
               ContactDecision.send_after)
        .join(Loan, Loan.id == ContactDecision.loan_id)
        .order_by(ContactDecision.id)
    )  # fmt: skip
    if kind is not None:
        query = query.where(ContactDecision.kind == kind)
    found: dict[str, list[tuple[Any, ...]]] = {}
    with sessions() as session:
        for number, *rest in session.execute(query):
            found.setdefault(number, []).append(tuple(rest))
    return found


def outbox_of(sessions: sessionmaker[Session], loan_number: str) -> list[tuple[str, str, datetime]]:
    """Return the loan's queued messages: channel, body and when they may be sent."""
    with sessions() as session:
        rows = session.execute(
            select(OutboxItem.channel, OutboxItem.body, OutboxItem.next_attempt_at)
            .join(ContactDecision, ContactDecision.outbox_id == OutboxItem.id)
            .join(Loan, Loan.id == ContactDecision.loan_id)
            .where(Loan.loan_number == loan_number)
            .order_by(OutboxItem.id)
        )
        return [(channel, body, at.replace(tzinfo=UTC) if at.tzinfo is None else at) for channel, body, at in rows]


class Sender:
    """Records what the outbox sends."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, address: str, body: str) -> str:
        self.sent.append((address, body))
        return f"SM{len(self.sent):06d}"


# -- reminders at the borrower's hour, in their language ---------------------------------------------------


def test_end_of_day_reminds_borrowers_in_six_time_zones_in_their_language_at_their_hour(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        loans = {zone: board_in(session, zone, boarded_on=date(2026, 1, 20)) for zone in BORROWERS}
    run_eod(sessions, REMINDER_DAY, country="US", outreach=outreach(EVENING))
    queued = {zone: outbox_of(sessions, number) for zone, number in loans.items()}
    at_once = {zone for zone, [(_, _, at)] in queued.items() if at == EVENING}
    assert at_once == {"America/New_York", "America/Los_Angeles", "Pacific/Honolulu", "America/Sao_Paulo"}
    assert queued["Asia/Kolkata"][0][2] == datetime(2026, 1, 28, 2, 30, tzinfo=UTC)  # 08:00 IST
    assert queued["Asia/Jakarta"][0][2] == datetime(2026, 1, 28, 1, 0, tzinfo=UTC)  # 08:00 WIB
    bodies = {zone: body for zone, [(_, body, _)] in queued.items()}
    assert bodies["America/New_York"].startswith(f"{SERVICER}: a reminder that the payment on your loan ending in")
    assert "is due on February 1, 2026. Reply MENU" in bodies["America/New_York"]
    assert bodies["America/New_York"].endswith("Reply STOP to opt out.")
    assert "le recordamos" in bodies["America/Los_Angeles"] and "Responda STOP" in bodies["America/Los_Angeles"]
    assert "याद दिला दें" in bodies["Asia/Kolkata"]
    assert "lembrete" in bodies["America/Sao_Paulo"] and "AJUDA" in bodies["America/Sao_Paulo"]
    assert "pengingat" in bodies["Asia/Jakarta"]
    assert all("$" not in body and "150" not in body for body in bodies.values())  # no figures
    found = decisions(sessions)
    assert sorted(status for [(_, status, _, _)] in found.values()) == ["deferred"] * 2 + ["queued"] * 4
    assert {reason for [(_, status, reason, _)] in found.values() if status == "deferred"} == {"quiet_hours"}


def test_a_reminder_deferred_over_the_fall_back_goes_at_eight_standard_time(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        loan = board_in(session, first_payment_date="2026-02-01", boarded_on=date(2026, 1, 20))
        session.execute(update(Loan).where(Loan.loan_number == loan).values(next_due_date=date(2026, 11, 4)))
    saturday_night = datetime(2026, 11, 1, 2, 0, tzinfo=UTC)  # 22:00 EDT on October 31
    reach_out(sessions, date(2026, 10, 30), saturday_night)
    [(_, _, send_after)] = outbox_of(sessions, loan)
    assert send_after == datetime(2026, 11, 1, 13, 0, tzinfo=UTC)  # 08:00 EST, after the clocks went back
    sender = Sender()
    deliver_outbox(sessions, {"sms": sender}, worker="w", clock=lambda: datetime(2026, 11, 1, 12, 30, tzinfo=UTC))
    assert sender.sent == []  # 07:30 EST
    deliver_outbox(sessions, {"sms": sender}, worker="w", clock=lambda: send_after)
    assert len(sender.sent) == 1
    assert decisions(sessions)[loan] == [("payment_reminder", "sent", "quiet_hours", send_after)]


def test_a_scheduled_payment_covering_the_installment_replaces_the_reminder(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        covered, short, paid_ahead = (board_in(session) for _ in range(3))
        for number, amount in ((covered, Decimal("5000.00")), (short, Decimal("10.00"))):
            loan_id = session.scalar(select(Loan.id).where(Loan.loan_number == number))
            session.add(ScheduledPayment(loan_id=loan_id, reference=f"S-{number}", amount=amount,
                                         scheduled_for=date(2026, 1, 30), bank_account_last4="1234",
                                         created_via="sms"))  # fmt: skip
        session.execute(update(Loan).where(Loan.loan_number == paid_ahead).values(next_due_date=date(2026, 3, 1)))
    reach_out(sessions, REMINDER_DAY, EVENING)
    found = decisions(sessions)
    assert found[covered] == [("payment_reminder", "suppressed", "autopay", None)]
    assert found[short] == [("payment_reminder", "queued", None, None)]
    assert paid_ahead not in found


# -- once per occasion -------------------------------------------------------------------------------------


def test_outreach_run_twice_queues_each_reminder_once(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        loans = [board_in(session, zone) for zone in BORROWERS]
    first = reach_out(sessions, REMINDER_DAY, EVENING)
    second = reach_out(sessions, REMINDER_DAY, EVENING + timedelta(minutes=5))
    third = reach_out(sessions, REMINDER_DAY + timedelta(days=1), EVENING + timedelta(days=1))
    assert (first.queued, second.queued, third.queued) == (6, 0, 0)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxItem)) == 6
    assert all(len(decisions(sessions)[loan]) == 1 for loan in loans)


def test_two_outreach_runs_at_once_never_queue_a_reminder_twice(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("two writers at once is a PostgreSQL matter; SQLite has one writer at a time")
    with sessions.begin() as session:
        loans = [board_in(session, zone) for zone in BORROWERS]
    recipients = policy.recipients

    def slow_recipients(*args: Any, **kwargs: Any) -> dict[int, policy.Recipient]:
        time.sleep(0.5)  # between finding the undecided occasions and recording them: the runs overlap
        return recipients(*args, **kwargs)

    monkeypatch.setattr(policy, "recipients", slow_recipients)
    start_together = threading.Barrier(2, timeout=30)
    results: list[OutreachResult] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            start_together.wait()
            results.append(reach_out(sessions, REMINDER_DAY, EVENING))
        except BaseException as error:  # a worker thread's failure must fail the test
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert sorted(result.queued for result in results) == [0, 6]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxItem)) == 6
        assert session.scalar(select(func.count()).select_from(Message).where(Message.direction == "out")) == 6
    assert all(len(decisions(sessions)[loan]) == 1 for loan in loans)


def test_the_same_occasion_decided_twice_fails_rather_than_queue_twice(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        loan_id = session.scalar(select(Loan.id).where(Loan.loan_number == board_in(session))) or 0
        borrower_id = session.scalar(select(Loan.borrower_id).where(Loan.id == loan_id)) or 0
    wanted = policy.Wanted(Kind.PAYMENT_REMINDER, loan_id, borrower_id, DUE, f"payment_reminder:{loan_id}:{DUE}")
    decided = policy.Decided(wanted, None, Verdict(Status.SUPPRESSED, "no_channel"))
    with sessions.begin() as session:
        policy.record_decisions(session, [decided], EVENING)
    with pytest.raises(UNIQUE_VIOLATIONS), sessions.begin() as session:
        policy.record_decisions(session, [decided], EVENING)


# -- past due, early intervention, confirmations, broken promises -------------------------------------------


def test_a_past_due_reminder_goes_once_the_grace_period_has_ended(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        loan = board_in(session, locale="fr_CA")
    age(sessions, PAST_GRACE_DAY - timedelta(days=1))
    reach_out(sessions, PAST_GRACE_DAY - timedelta(days=1), AFTERNOON - timedelta(days=1))  # day 15: in grace
    assert loan not in decisions(sessions, "past_due")
    age(sessions, PAST_GRACE_DAY)
    reach_out(sessions, PAST_GRACE_DAY, AFTERNOON)
    assert decisions(sessions, "past_due")[loan] == [("past_due", "queued", None, None)]
    [(_, body, _)] = [row for row in outbox_of(sessions, loan) if "reçu" in row[1]]
    assert "nous n'avons pas reçu le paiement dû le" in body and SERVICER_PHONE in body


def test_without_a_grace_period_the_late_fee_and_the_past_due_reminder_come_the_day_after_the_due_date(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        loan = board_in(session, late_fee_grace_days="0")
    age(sessions, DUE)
    reach_out(sessions, DUE, datetime(2026, 2, 1, 17, 0, tzinfo=UTC))  # due today: not late yet
    assert loan not in decisions(sessions, "past_due")
    age(sessions, DUE + timedelta(days=1))
    reach_out(sessions, DUE + timedelta(days=1), datetime(2026, 2, 2, 17, 0, tzinfo=UTC))
    assert [kind for kind, *_ in decisions(sessions, "past_due")[loan]] == ["past_due"]
    with sessions() as session:
        charged = session.scalars(select(Fee.installment_due_date).join(Loan).where(Loan.loan_number == loan)).all()
        assert charged == [DUE]


def test_early_intervention_outreach_invites_the_borrower_and_is_recorded_on_the_open_task(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        loan = board_in(session)
    day = date(2026, 3, 3)  # day 30 of the February delinquency: the task opens, live contact due by March 9
    run_eod(sessions, day, country="US", outreach=outreach(datetime(2026, 3, 3, 17, 0, tzinfo=UTC)))
    found = decisions(sessions)[loan]
    assert ("early_intervention", "queued", None, None) in found
    assert ("past_due", "suppressed", "frequency_cap", None) in found  # one collection message a day: the invitation
    [(_, body, _)] = outbox_of(sessions, loan)
    assert "we would like to talk with you about your loan" in body and "Reply AGENT" in body
    with sessions() as session:
        live_contact = session.scalars(
            select(CaseDeadline).join(Case, Case.id == CaseDeadline.case_id)
            .where(Case.kind == CaseKind.EARLY_INTERVENTION.value, CaseDeadline.name == "live_contact",
                   CaseDeadline.due_on == date(2026, 3, 9))
        ).one()  # fmt: skip
        attempt = session.scalars(select(AuditEntry).where(AuditEntry.action == "case.live_contact_attempted")).one()
        assert (attempt.subject_id, attempt.detail["deadline"]) == (live_contact.case.reference, "2026-03-09")
        assert live_contact.met_on is None and live_contact.case.closed_on is None  # open until live contact
    reach_out(sessions, date(2026, 3, 4), datetime(2026, 3, 4, 17, 0, tzinfo=UTC))
    assert len(decisions(sessions, "early_intervention")[loan]) == 1


def test_a_payment_received_is_confirmed_once_whatever_the_flags(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        loan = board_in(session)
        set_contact_flag(session, loan, "bankruptcy", note="chapter 13 filed", every_loan=True, actor="ana",
                         now=AFTERNOON)  # fmt: skip
        post_payments(session, [PaymentInstruction(loan, Decimal("100.00"), PAST_GRACE_DAY, "P-1")],
                      today=PAST_GRACE_DAY, business_date=PAST_GRACE_DAY, actor="test")  # fmt: skip
    reach_out(sessions, PAST_GRACE_DAY, AFTERNOON)
    reach_out(sessions, PAST_GRACE_DAY + timedelta(days=1), AFTERNOON + timedelta(days=1))
    assert decisions(sessions, "payment_received")[loan] == [("payment_received", "queued", None, None)]
    [(_, body, _)] = outbox_of(sessions, loan)
    assert "thank you, we received your payment of February 17, 2026" in body


def test_a_broken_promise_is_followed_up_once(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        loan = board_in(session)
        loan_id = session.scalar(select(Loan.id).where(Loan.loan_number == loan))
        session.add(Promise(loan_id=loan_id, amount=Decimal("500.00"), promised_for=date(2026, 2, 10),
                            made_on=date(2026, 2, 5), made_by="bot", channel="sms", status="broken",
                            resolved_on=PAST_GRACE_DAY))  # fmt: skip
    reach_out(sessions, PAST_GRACE_DAY, AFTERNOON)
    reach_out(sessions, PAST_GRACE_DAY + timedelta(days=1), AFTERNOON + timedelta(days=1))
    assert decisions(sessions, "broken_promise")[loan] == [("broken_promise", "queued", None, None)]
    [(_, body, _)] = outbox_of(sessions, loan)
    assert "the payment you promised for February 10, 2026" in body


# -- every reason a collection message is suppressed -------------------------------------------------------

Setup = Callable[[Session, str, int], None]


def flag(name: str) -> Setup:
    def setup(session: Session, loan: str, _loan_id: int) -> None:
        set_contact_flag(session, loan, name, note="recorded by phone", every_loan=False, actor="ana", now=AFTERNOON)

    return setup


def workout(kind: str) -> Setup:
    def setup(session: Session, _loan: str, loan_id: int) -> None:
        session.add(Workout(loan_id=loan_id, kind=kind, status="active", starts_on=date(2026, 2, 10),
                            ends_on=date(2026, 5, 10), terms={}, created_by="sofia"))  # fmt: skip

    return setup


def with_a_specialist(session: Session, _loan: str, loan_id: int) -> None:
    borrower_id = session.scalar(select(Loan.borrower_id).where(Loan.id == loan_id))
    conversation = find_or_open_conversation(session, "sms", "+12125550101", AFTERNOON)
    conversation.borrower_id = borrower_id
    escalate(session, conversation, EscalationReason.HARDSHIP, AFTERNOON)


def promised(session: Session, _loan: str, loan_id: int) -> None:
    session.add(Promise(loan_id=loan_id, amount=Decimal("500.00"), promised_for=date(2026, 2, 20),
                        made_on=date(2026, 2, 16), made_by="bot", channel="sms"))  # fmt: skip


def paid_today(session: Session, loan: str, _loan_id: int) -> None:
    post_payments(session, [PaymentInstruction(loan, Decimal("50.00"), PAST_GRACE_DAY, "P-today")],
                  today=PAST_GRACE_DAY, business_date=PAST_GRACE_DAY, actor="test")  # fmt: skip


def three_this_week(session: Session, _loan: str, loan_id: int) -> None:
    borrower_id = session.scalar(select(Loan.borrower_id).where(Loan.id == loan_id))
    for days_ago in (2, 4, 6):
        decided_at = AFTERNOON - timedelta(days=days_ago)
        session.add(ContactDecision(loan_id=loan_id, borrower_id=borrower_id, kind="past_due", purpose="collection",
                                    channel="sms", decided_at=decided_at, status="sent"))  # fmt: skip


def revoked_collection(session: Session, _loan: str, _loan_id: int) -> None:
    set_opt_out(session, "sms", "+12125550101", True, AFTERNOON, "collection")


def stopped(session: Session, _loan: str, _loan_id: int) -> None:
    set_opt_out(session, "sms", "+12125550101", True, AFTERNOON)


SUPPRESSIONS: dict[str, Setup] = {
    "cease_communication": flag("cease_communication"),
    "bankruptcy": flag("bankruptcy"),
    "deceased": flag("deceased"),
    "forbearance": workout("forbearance"),
    "repayment_plan": workout("repayment_plan"),
    "specialist_conversation": with_a_specialist,
    "promise_open": promised,
    "payment_today": paid_today,
    "frequency_cap": three_this_week,
    "opted_out": revoked_collection,
}


@pytest.mark.parametrize("reason", sorted(SUPPRESSIONS))
def test_a_past_due_reminder_is_suppressed_with_its_reason(sessions: sessionmaker[Session], reason: str) -> None:
    with sessions.begin() as session:
        loan = board_in(session)
    age(sessions, PAST_GRACE_DAY)
    with sessions.begin() as session:
        SUPPRESSIONS[reason](session, loan, session.scalar(select(Loan.id).where(Loan.loan_number == loan)) or 0)
    reach_out(sessions, PAST_GRACE_DAY, AFTERNOON)
    assert decisions(sessions, "past_due")[loan][-1] == ("past_due", "suppressed", reason, None)
    assert [body for _, body, _ in outbox_of(sessions, loan) if "not received" in body] == []


def test_a_servicing_notice_goes_out_whatever_the_flags_and_waits_for_the_morning(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        loan = board_in(session, zone="Asia/Kolkata")
        for name in ("cease_communication", "bankruptcy", "deceased"):
            flag(name)(session, loan, 0)
        row = session.scalars(select(Loan).where(Loan.loan_number == loan)).one()
        night_in_india = datetime(2026, 2, 17, 18, 0, tzinfo=UTC)  # 23:30 IST
        notice = notify_borrower(session, row, say("Your payment of {amount} is due on {due}."), now=night_in_india,
                                 amount="—", due=DUE)  # fmt: skip
        assert notice is not None
    [(_, _, send_after)] = outbox_of(sessions, loan)
    assert send_after == datetime(2026, 2, 18, 2, 30, tzinfo=UTC)  # 08:00 IST
    assert decisions(sessions)[loan] == [("servicing_notice", "deferred", "quiet_hours", send_after)]


def test_a_servicing_notice_to_an_address_that_revoked_servicing_messages_is_not_queued(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        loan = board_in(session)
        set_opt_out(session, "sms", "+12125550101", True, AFTERNOON, "servicing")
        row = session.scalars(select(Loan).where(Loan.loan_number == loan)).one()
        assert notify_borrower(session, row, say("Your payment of {amount} is due on {due}."), now=AFTERNOON,
                               amount="—", due=DUE) is None  # fmt: skip
    assert decisions(sessions)[loan] == [("servicing_notice", "suppressed", "opted_out", None)]
    assert outbox_of(sessions, loan) == []


def test_stop_suppresses_every_kind_and_revoking_reminders_only_reminders(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        stopped_loan = board_in(session)
        reminders_off = board_in(session, zone="America/Los_Angeles")
        stopped(session, stopped_loan, 0)
        set_opt_out(session, "sms", "+14155550102", True, AFTERNOON, "reminder")
        for number in (stopped_loan, reminders_off):
            post_payments(session, [PaymentInstruction(number, Decimal("10.00"), REMINDER_DAY, f"P-{number}")],
                          today=REMINDER_DAY, business_date=REMINDER_DAY, actor="test")  # fmt: skip
    reach_out(sessions, REMINDER_DAY, EVENING)
    found = decisions(sessions)
    assert sorted(found[stopped_loan]) == [("payment_received", "suppressed", "opted_out", None),
                                           ("payment_reminder", "suppressed", "opted_out", None)]  # fmt: skip
    assert sorted(found[reminders_off]) == [("payment_received", "queued", None, None),
                                            ("payment_reminder", "suppressed", "opted_out", None)]  # fmt: skip


# -- the worker checks again before sending -------------------------------------------------------------------


@pytest.fixture
def queued_past_due(sessions: sessionmaker[Session]) -> Iterator[str]:
    with sessions.begin() as session:
        loan = board_in(session)
    age(sessions, PAST_GRACE_DAY)
    night = datetime(2026, 2, 18, 3, 0, tzinfo=UTC)  # 22:00 in New York: it waits for the morning
    reach_out(sessions, PAST_GRACE_DAY, night)
    assert decisions(sessions, "past_due")[loan][0][1] == "deferred"
    yield loan


MORNING = datetime(2026, 2, 18, 13, 0, tzinfo=UTC)  # 08:00 EST


def test_a_deferred_reminder_is_sent_in_the_morning_and_recorded_as_sent(
    sessions: sessionmaker[Session], queued_past_due: str
) -> None:
    sender = Sender()
    deliver_outbox(sessions, {"sms": sender}, worker="w", clock=lambda: MORNING)
    assert [address for address, _ in sender.sent] == ["+12125550101"]
    assert decisions(sessions, "past_due")[queued_past_due][0][1] == "sent"


def test_a_flag_set_after_queueing_stops_the_reminder_before_it_is_sent(
    sessions: sessionmaker[Session], queued_past_due: str
) -> None:
    with sessions.begin() as session:
        set_contact_flag(session, queued_past_due, "cease_communication", note="letter received", every_loan=True,
                         actor="ana", now=MORNING)  # fmt: skip
    sender = Sender()
    deliver_outbox(sessions, {"sms": sender}, worker="w", clock=lambda: MORNING)
    assert sender.sent == []
    assert decisions(sessions, "past_due")[queued_past_due][0][1:3] == ("suppressed", "cease_communication")
    with sessions() as session:
        assert session.scalars(select(OutboxItem.status)).all() == ["blocked"]


def test_a_reminder_whose_installment_was_paid_meanwhile_is_not_sent(
    sessions: sessionmaker[Session], queued_past_due: str
) -> None:
    with sessions.begin() as session:
        session.execute(update(Loan).where(Loan.loan_number == queued_past_due).values(next_due_date=date(2026, 3, 1)))
    sender = Sender()
    deliver_outbox(sessions, {"sms": sender}, worker="w", clock=lambda: MORNING)
    assert sender.sent == []
    assert decisions(sessions, "past_due")[queued_past_due][0][1:3] == ("suppressed", "no_longer_due")


def test_clearing_a_flag_lets_the_next_occasion_through(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        loan = board_in(session)
        flag_id = set_contact_flag(session, loan, "deceased", note="a relative called", every_loan=True,
                                   actor="ana", now=EVENING).id  # fmt: skip
    reach_out(sessions, REMINDER_DAY, EVENING)
    with sessions.begin() as session:
        clear_contact_flag(session, loan, flag_id, note="the caller was mistaken", actor="sofia", now=EVENING)
        session.execute(update(Loan).where(Loan.loan_number == loan).values(next_due_date=date(2026, 3, 1)))
    reach_out(sessions, date(2026, 2, 24), datetime(2026, 2, 24, 17, 0, tzinfo=UTC))
    assert [row[1:3] for row in decisions(sessions)[loan]] == [("suppressed", "deceased"), ("queued", None)]
    with sessions() as session:
        actions = session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("contact_flag.%"))).all()
        assert actions == ["contact_flag.set", "contact_flag.cleared"]


def test_on_postgresql_past_due_reminders_and_confirmations_are_found_on_connections_of_their_own(
    sessions: sessionmaker[Session],
) -> None:
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite finds every occasion in the day's own transaction")
    with sessions.begin() as session:
        late, paying = board_in(session), board_in(session, "America/Los_Angeles")
        post_payments(session, [PaymentInstruction(paying, Decimal("100.00"), PAST_GRACE_DAY, "P-2")],
                      today=PAST_GRACE_DAY, business_date=PAST_GRACE_DAY, actor="test")  # fmt: skip
    age(sessions, PAST_GRACE_DAY)
    backends: dict[str, set[int]] = {"turn": set(), "past due": set(), "confirmations": set()}
    engine = sessions.kw["bind"]

    def note_the_backend(connection: Any, _cursor: Any, statement: str, *_: Any) -> None:
        pid = connection.connection.driver_connection.info.backend_pid
        if "pg_advisory_xact_lock" in statement:
            backends["turn"].add(pid)
        elif "loans.days_past_due > loans.late_fee_grace_days" in statement:
            backends["past due"].add(pid)
        elif "payments.received_on >" in statement and "contact_decisions.dedupe_key" in statement:
            backends["confirmations"].add(pid)

    event.listen(engine, "before_cursor_execute", note_the_backend)
    try:
        reach_out(sessions, PAST_GRACE_DAY, AFTERNOON)
    finally:
        event.remove(engine, "before_cursor_execute", note_the_backend)

    assert all(len(pids) == 1 for pids in backends.values()), backends
    assert len(set.union(*backends.values())) == 3, "three connections: the turn's and one for each finder"
    assert decisions(sessions, "past_due")[late] == [("past_due", "queued", None, None)]
    assert decisions(sessions, "payment_received")[paying] == [("payment_received", "queued", None, None)]
