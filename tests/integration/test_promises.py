"""Promises to pay on a real database: the rules a promise must meet, cancelling it, end of day marking it kept
or broken from the payments received (partial ones summed, reversed ones not counted), the follow-up a broken
one opens, idempotence, the promises report, and the loan's promises and contact flags in `loanline loan --json`.

The mortgage of these tests: originated 2026-02-02 (end of day runs from then: a short history keeps the tests
fast), first due 2026-03-01, 15 days of grace, so a promise for Friday 2026-03-06 counts the payments received
through Saturday 2026-03-21 and is broken at the end of Monday 2026-03-23.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from decimal import Decimal as D
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from loanline.cli import main
from servicing.cases import CaseKind, open_cases_of_kind
from servicing.decisions import record_promise_follow_up
from servicing.eod import run_eod
from servicing.errors import PromiseRefused
from servicing.outreach.flags import clear_contact_flag, contact_flags_of, set_contact_flag
from servicing.outreach.promises import (
    PromiseRule,
    cancel_promise,
    make_promise,
    open_promise,
    open_promise_exists,
    promises_broken_on,
    promises_of,
    promises_report,
    resolve_promises,
)
from servicing.payments import PaymentInstruction, post_payments, reverse_payment
from servicing.queries import payoff_for
from servicing.store.models import AuditEntry, Case, Loan, Promise
from tests.integration.helpers import board

MONDAY = date(2026, 3, 2)
FRIDAY = date(2026, 3, 6)
LAST_DAY = date(2026, 3, 21)  # Friday + 15 days of grace (a Saturday)
FIRST_EOD_AFTER = date(2026, 3, 23)  # the Monday after: the promise is broken at its end


def mortgage(session: Session) -> str:
    """Board a mortgage originated 2026-02-02, first due 2026-03-01; return its number."""
    return board(session, date(2026, 2, 2), origination_date="2026-02-02", first_payment_date="2026-03-01")


@pytest.fixture
def loan(sessions: sessionmaker[Session]) -> str:
    """A mortgage whose first installment fell due the day before the promises are made."""
    with sessions.begin() as session:
        return mortgage(session)


def promise(
    sessions: sessionmaker[Session],
    number: str,
    amount: str = "600.00",
    promised_for: date = FRIDAY,
    *,
    today: date = MONDAY,
    actor: str = "sam",
    channel: str = "phone",
) -> int:
    with sessions.begin() as session:
        made = make_promise(session, number, amount=D(amount), promised_for=promised_for, today=today,
                            channel=channel, actor=actor)  # fmt: skip
        return made.id


def pay(sessions: sessionmaker[Session], number: str, amount: str, received_on: date, reference: str) -> None:
    with sessions.begin() as session:
        report = post_payments(session, [PaymentInstruction(number, D(amount), received_on, reference)],
                               today=received_on, business_date=received_on, actor="test")  # fmt: skip
        assert report.posted == [reference], report


def eod(sessions: sessionmaker[Session], through: date) -> None:
    run_eod(sessions, through, country="US")


def promise_row(sessions: sessionmaker[Session], promise_id: int) -> Promise:
    with sessions() as session:
        found = session.get(Promise, promise_id)
        assert found is not None
        session.expunge(found)
        return found


def actions(sessions: sessionmaker[Session], action: str) -> list[AuditEntry]:
    with sessions() as session:
        return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


# -- making, refusing, cancelling ----------------------------------------------------------------------------


def test_a_promise_is_recorded_open_with_who_made_it_and_how_and_audited(
    sessions: sessionmaker[Session], loan: str
) -> None:
    made = promise_row(sessions, promise(sessions, loan, "600.00", FRIDAY, channel="phone", actor="sam"))
    assert (made.amount, made.promised_for, made.made_on, made.made_by, made.channel, made.status, made.paid) == (
        D("600.00"), FRIDAY, MONDAY, "sam", "phone", "open", D("0"),
    )  # fmt: skip
    [audit] = actions(sessions, "promise.made")
    assert (audit.actor, audit.subject_id) == ("sam", loan)
    assert audit.detail == {"promise": made.id, "amount": "600.00", "currency": "USD",
                            "promised_for": "2026-03-06", "channel": "phone"}  # fmt: skip
    with sessions() as session:
        loan_id = session.scalar(select(Loan.id).where(Loan.loan_number == loan))
        current = open_promise(session, loan_id or 0)
        assert current is not None and current.id == made.id
        waiting = session.scalar(select(func.count()).select_from(Loan).where(open_promise_exists(Loan.id)))
        assert waiting == 1


@pytest.mark.parametrize(
    ("amount", "promised_for", "rule"),
    [
        ("0", FRIDAY, PromiseRule.AMOUNT_NOT_POSITIVE),
        ("-5.00", FRIDAY, PromiseRule.AMOUNT_NOT_POSITIVE),
        ("10.005", FRIDAY, PromiseRule.AMOUNT_NOT_MONEY),
        ("900000.00", FRIDAY, PromiseRule.AMOUNT_OVER_PAYOFF),
        ("600.00", date(2026, 3, 1), PromiseRule.DATE_PASSED),
        ("600.00", date(2026, 4, 2), PromiseRule.DATE_TOO_FAR),  # Monday + 31 days
    ],
)
def test_a_promise_the_rules_do_not_allow_is_refused_with_its_rule_and_changes_nothing(
    sessions: sessionmaker[Session], loan: str, amount: str, promised_for: date, rule: PromiseRule
) -> None:
    with pytest.raises(PromiseRefused) as refused:
        promise(sessions, loan, amount, promised_for)
    assert refused.value.rule == rule
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Promise)) == 0
    assert actions(sessions, "promise.made") == []


def test_a_promise_may_be_for_today_for_30_days_ahead_and_for_the_whole_payoff(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        first, second, third = mortgage(session), mortgage(session), mortgage(session)
    with sessions() as session:
        payoff = payoff_for(session, third, date(2026, 4, 1), today=MONDAY).total
    promise(sessions, first, "100.00", MONDAY)
    promise(sessions, second, "100.00", date(2026, 4, 1))
    promise(sessions, third, str(payoff), date(2026, 4, 1))
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Promise)) == 3


def test_a_loan_has_one_open_promise_at_a_time(sessions: sessionmaker[Session], loan: str) -> None:
    promise(sessions, loan)
    with pytest.raises(PromiseRefused) as refused:
        promise(sessions, loan, "300.00", date(2026, 3, 13), channel="sms", actor="bot")
    assert refused.value.rule == PromiseRule.ALREADY_OPEN
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Promise)) == 1


def test_a_promise_through_an_unknown_channel_is_refused(sessions: sessionmaker[Session], loan: str) -> None:
    with pytest.raises(PromiseRefused) as refused:
        promise(sessions, loan, channel="Carrier pigeon")
    assert refused.value.rule == PromiseRule.UNKNOWN_CHANNEL


def test_cancelling_a_promise_closes_it_with_the_reason_audited_and_a_new_one_may_follow(
    sessions: sessionmaker[Session], loan: str
) -> None:
    promise_id = promise(sessions, loan)
    with sessions.begin() as session:
        cancel_promise(session, loan, promise_id, on=MONDAY, actor="ana", reason="Recorded on the wrong loan")
    cancelled = promise_row(sessions, promise_id)
    assert (cancelled.status, cancelled.resolved_on) == ("cancelled", MONDAY)
    [audit] = actions(sessions, "promise.cancelled")
    assert (audit.actor, audit.detail) == ("ana", {"promise": promise_id, "reason": "Recorded on the wrong loan"})
    promise(sessions, loan, "300.00", date(2026, 3, 13))
    with sessions() as session:
        assert [p.status for p in promises_of(session, loan)] == ["open", "cancelled"]


@pytest.mark.parametrize(
    ("reason", "which", "rule"),
    [("", "it", PromiseRule.NO_REASON), ("why not", "another loan's", PromiseRule.NOT_FOUND),
     ("again", "cancelled", PromiseRule.NOT_OPEN)],
)  # fmt: skip
def test_a_cancellation_without_reason_of_another_loans_or_a_closed_promise_is_refused(
    sessions: sessionmaker[Session], loan: str, reason: str, which: str, rule: PromiseRule
) -> None:
    with sessions.begin() as session:
        other = mortgage(session)
    promise_id = promise(sessions, other if which == "another loan's" else loan)
    if which == "cancelled":
        with sessions.begin() as session:
            cancel_promise(session, loan, promise_id, on=MONDAY, actor="ana", reason="withdrawn")
    before = promise_row(sessions, promise_id).status
    with pytest.raises(PromiseRefused) as refused, sessions.begin() as session:
        cancel_promise(session, loan, promise_id, on=MONDAY, actor="ana", reason=reason)
    assert refused.value.rule == rule
    assert promise_row(sessions, promise_id).status == before


# -- end of day -------------------------------------------------------------------------------------------------


def test_partial_payments_within_the_grace_days_that_reach_the_amount_keep_the_promise(
    sessions: sessionmaker[Session], loan: str
) -> None:
    promise_id = promise(sessions, loan, "600.00")
    pay(sessions, loan, "200.00", date(2026, 3, 3), "P-1")
    eod(sessions, date(2026, 3, 17))
    assert (promise_row(sessions, promise_id).status, promise_row(sessions, promise_id).paid) == ("open", D("0"))
    pay(sessions, loan, "400.00", date(2026, 3, 18), "P-2")  # after Friday, within the 15 days of grace
    eod(sessions, date(2026, 3, 18))
    kept = promise_row(sessions, promise_id)
    assert (kept.status, kept.resolved_on, kept.paid) == ("kept", date(2026, 3, 18), D("600.00"))
    eod(sessions, date(2026, 3, 31))
    assert promise_row(sessions, promise_id).status == "kept"
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Case).where(Case.kind == "broken_promise")) == 0


def test_a_promise_not_reached_by_its_last_day_is_broken_the_next_end_of_day_and_opens_a_follow_up(
    sessions: sessionmaker[Session], loan: str
) -> None:
    promise_id = promise(sessions, loan, "600.00")
    pay(sessions, loan, "200.00", date(2026, 3, 3), "P-1")
    pay(sessions, loan, "400.00", date(2026, 3, 22), "P-late")  # the Sunday after its last day: too late
    eod(sessions, date(2026, 3, 20))
    assert promise_row(sessions, promise_id).status == "open"
    eod(sessions, FIRST_EOD_AFTER)
    broken = promise_row(sessions, promise_id)
    assert (broken.status, broken.resolved_on, broken.paid) == ("broken", FIRST_EOD_AFTER, D("200.00"))
    with sessions() as session:
        [follow_up], total = open_cases_of_kind(session, CaseKind.BROKEN_PROMISE)
        case, number = follow_up
        assert (total, number, case.reference[:3], case.source) == (1, loan, "BP-", "eod")
        assert case.data["promise_id"] == promise_id
        assert "600.00 USD promised for 2026-03-06; 200.00 received" in case.summary
        assert [(d.name, d.due_on) for d in case.deadlines] == [("follow_up", date(2026, 3, 25))]  # 2 business days
        [told] = promises_broken_on(session, FIRST_EOD_AFTER)
        assert (told.loan_number, told.amount, told.paid, told.channel) == (loan, D("600.00"), D("200.00"), "phone")
        assert promises_broken_on(session, date(2026, 3, 24)) == []
        reference = case.reference
    with sessions.begin() as session:
        record_promise_follow_up(session, reference, on=date(2026, 3, 24), actor="sam", note="Called, new promise")
    with sessions() as session:
        assert open_cases_of_kind(session, CaseKind.BROKEN_PROMISE)[1] == 0


def test_payments_received_before_the_promise_was_made_do_not_count(sessions: sessionmaker[Session], loan: str) -> None:
    pay(sessions, loan, "600.00", date(2026, 2, 27), "P-before")  # paid ahead, before the promise
    promise_id = promise(sessions, loan, "600.00")
    eod(sessions, FIRST_EOD_AFTER)
    assert (promise_row(sessions, promise_id).status, promise_row(sessions, promise_id).paid) == ("broken", D("0"))


def test_a_reversed_payment_does_not_count_and_a_promise_it_kept_is_open_again_until_its_last_day(
    sessions: sessionmaker[Session], loan: str
) -> None:
    promise_id = promise(sessions, loan, "600.00")
    pay(sessions, loan, "600.00", date(2026, 3, 4), "P-returned")
    eod(sessions, date(2026, 3, 4))
    assert promise_row(sessions, promise_id).status == "kept"
    with sessions.begin() as session:  # the ACH debit came back two days later
        reverse_payment(session, "P-returned", reason="NSF", today=date(2026, 3, 6), business_date=date(2026, 3, 5),
                        actor="test")  # fmt: skip
    eod(sessions, date(2026, 3, 6))
    reopened = promise_row(sessions, promise_id)
    assert (reopened.status, reopened.resolved_on, reopened.paid) == ("open", None, D("0"))
    eod(sessions, FIRST_EOD_AFTER)
    broken = promise_row(sessions, promise_id)
    assert (broken.status, broken.paid) == ("broken", D("0"))


def test_a_payment_reversed_after_the_last_day_leaves_the_kept_promise_kept(
    sessions: sessionmaker[Session], loan: str
) -> None:
    promise_id = promise(sessions, loan, "600.00")
    pay(sessions, loan, "600.00", date(2026, 3, 4), "P-1")
    eod(sessions, FIRST_EOD_AFTER)
    with sessions.begin() as session:
        reverse_payment(session, "P-1", reason="disputed", today=date(2026, 3, 24), business_date=FIRST_EOD_AFTER,
                        actor="test")  # fmt: skip
    eod(sessions, date(2026, 3, 25))
    assert promise_row(sessions, promise_id).status == "kept"


def test_end_of_day_twice_changes_nothing_the_second_time(sessions: sessionmaker[Session], loan: str) -> None:
    kept_id = promise(sessions, loan, "600.00")
    with sessions.begin() as session:
        other = mortgage(session)
    broken_id = promise(sessions, other, "600.00")
    pay(sessions, loan, "600.00", date(2026, 3, 4), "P-1")
    eod(sessions, FIRST_EOD_AFTER)

    def snapshot() -> tuple[Any, ...]:
        with sessions() as session:
            promises = tuple(session.execute(select(Promise.id, Promise.status, Promise.resolved_on, Promise.paid)))
            cases = session.scalar(select(func.count()).select_from(Case).where(Case.kind == "broken_promise"))
            return promises, cases

    first = snapshot()
    eod(sessions, FIRST_EOD_AFTER)
    with sessions.begin() as session:  # the step itself, run again on the same day
        again = resolve_promises(session, FIRST_EOD_AFTER)
    assert (again.kept, again.broken, again.reopened, again.follow_ups) == (0, 0, 0, [])
    assert snapshot() == first
    assert {row[0]: row[1] for row in first[0]} == {kept_id: "kept", broken_id: "broken"}
    assert first[1] == 1


def test_end_of_day_reports_the_promises_it_kept_and_broke(sessions: sessionmaker[Session], loan: str) -> None:
    promise(sessions, loan, "600.00")
    pay(sessions, loan, "600.00", date(2026, 3, 4), "P-1")
    days = run_eod(sessions, FIRST_EOD_AFTER, country="US").days
    assert sum(day.promises_kept for day in days) == 1
    assert sum(day.promises_broken for day in days) == 0


# -- the report and the command line ------------------------------------------------------------------------------


def test_the_report_counts_made_kept_broken_and_the_kept_rate_by_specialist_and_by_channel(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        numbers = [mortgage(session) for _ in range(5)]
    promise(sessions, numbers[0], actor="sam", channel="phone")  # kept
    promise(sessions, numbers[1], actor="sam", channel="phone")  # broken
    promise(sessions, numbers[2], actor="bot", channel="sms")  # kept
    promise(sessions, numbers[3], actor="bot", channel="telegram")  # still open (made later)
    cancelled = promise(sessions, numbers[4], actor="ana", channel="phone")
    with sessions.begin() as session:
        cancel_promise(session, numbers[4], cancelled, on=MONDAY, actor="ana", reason="wrong amount")
    pay(sessions, numbers[0], "600.00", date(2026, 3, 4), "P-0")
    pay(sessions, numbers[2], "700.00", date(2026, 3, 5), "P-2")
    eod(sessions, date(2026, 3, 16))
    with sessions.begin() as session:
        session.execute(
            select(Promise).where(Promise.made_by == "bot", Promise.channel == "telegram")
        ).scalar_one().promised_for = date(2026, 4, 10)
    eod(sessions, FIRST_EOD_AFTER)
    with sessions() as session:
        rows = promises_report(session, FIRST_EOD_AFTER)
        assert promises_report(session, FIRST_EOD_AFTER, since=date(2026, 3, 3)) == [
            {"group": "all", "name": "", "made": 0, "kept": 0, "broken": 0, "open": 0, "cancelled": 0,
             "kept_rate": None}
        ]  # fmt: skip
    figures = {(r["group"], r["name"]): (r["made"], r["kept"], r["broken"], r["open"], r["cancelled"], r["kept_rate"])
               for r in rows}  # fmt: skip
    assert figures == {
        ("all", ""): (5, 2, 1, 1, 1, D("0.667")),
        ("specialist", "ana"): (1, 0, 0, 0, 1, None),
        ("specialist", "bot"): (2, 1, 0, 1, 0, D("1.000")),
        ("specialist", "sam"): (2, 1, 1, 0, 0, D("0.500")),
        ("channel", "phone"): (3, 1, 1, 0, 1, D("0.500")),
        ("channel", "sms"): (1, 1, 0, 0, 0, D("1.000")),
        ("channel", "telegram"): (1, 0, 0, 1, 0, None),
    }
    assert [r["group"] for r in rows] == ["all", "specialist", "specialist", "specialist", "channel", "channel",
                                          "channel"]  # fmt: skip


def test_loanline_report_promises_prints_csv_and_json(
    sessions: sessionmaker[Session], loan: str, cli_env: dict[str, str]
) -> None:
    promise(sessions, loan, "600.00")
    pay(sessions, loan, "600.00", date(2026, 3, 4), "P-1")
    eod(sessions, date(2026, 3, 4))
    runner = CliRunner()
    as_json = runner.invoke(main, ["report", "promises", "--format", "json", "--from", "2026-03-01"])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)[0] == {"group": "all", "name": "", "made": 1, "kept": 1, "broken": 0,
                                             "open": 0, "cancelled": 0, "kept_rate": "1.000"}  # fmt: skip
    as_csv = runner.invoke(main, ["report", "promises"])
    assert as_csv.exit_code == 0
    assert as_csv.output.splitlines()[:2] == ["group,name,made,kept,broken,open,cancelled,kept_rate",
                                              "all,,1,1,0,0,0,1.000"]  # fmt: skip


def test_loanline_loan_json_lists_the_promises_and_the_contact_flags(
    sessions: sessionmaker[Session], loan: str, cli_env: dict[str, str]
) -> None:
    kept = promise(sessions, loan, "600.00")
    pay(sessions, loan, "600.00", date(2026, 3, 4), "P-1")
    eod(sessions, date(2026, 3, 4))
    promise(sessions, loan, "250.50", date(2026, 3, 13), today=date(2026, 3, 5), actor="bot", channel="sms")
    result = CliRunner().invoke(main, ["loan", loan, "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert shown["loan_number"] == loan
    assert [(p["amount"], p["promised_for"], p["status"], p["made_by"], p["channel"]) for p in shown["promises"]] == [
        ("250.50", "2026-03-13", "open", "bot", "sms"),
        ("600.00", "2026-03-06", "kept", "sam", "phone"),
    ]
    assert shown["promises"][1]["id"] == kept and shown["promises"][1]["paid"] == "600.00"
    assert shown["contact_flags"] == []


def test_loan_json_lists_the_contact_flags_in_force_on_the_loan_or_its_borrower(
    sessions: sessionmaker[Session], loan: str
) -> None:
    now = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
    with sessions.begin() as session:
        set_contact_flag(session, loan, "cease_communication", note="asked by letter", every_loan=True, actor="sam",
                         now=now)  # fmt: skip
        bankruptcy = set_contact_flag(session, loan, "bankruptcy", note="chapter 13", every_loan=False, actor="sam",
                                      now=now)  # fmt: skip
        clear_contact_flag(session, loan, bankruptcy.id, note="dismissed", actor="sam", now=now)
    with sessions() as session:
        record = session.scalar(select(Loan).where(Loan.loan_number == loan))
        assert record is not None
        flags = contact_flags_of(session, record)
    assert [(flag["flag"], flag["every_loan"], flag["set_by"]) for flag in flags] == [
        ("cease_communication", True, "sam")
    ]
