"""ACH end to end in the core: autopay drafts into a NACHA file once, settle at end of day, returns reverse them."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from achkit import validate
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.ach.accounts import bank_accounts
from servicing.ach.autopay import (
    AmountKind,
    AutopayRefused,
    AutopayTerms,
    active_autopay,
    next_autopay_draft,
    stop_autopay,
)
from servicing.ach.nacha import NachaError, read_file
from servicing.ach.origination import ExportRefused, settle_drafts
from servicing.ach.report import ach_report
from servicing.ach.returns import ReturnsRefused, apply_returns_file
from servicing.eod import run_business_day
from servicing.payments import reverse_payment
from servicing.queries import require_account
from servicing.scheduled import schedule_payment
from servicing.store.models import (
    AchDraft,
    AchFile,
    AuditEntry,
    AutopayEnrolment,
    Fee,
    Loan,
    Message,
    Payment,
    ScheduledPayment,
    Workout,
)
from tests.integration.ach_helpers import (
    ACCOUNT,
    BUSINESS_DATE,
    EFFECTIVE,
    VAULT,
    context,
    export,
    loan_on_autopay,
    returns_file,
)
from tests.integration.helpers import board

D = Decimal


def drafts(session: Session) -> list[AchDraft]:
    return list(session.scalars(select(AchDraft).order_by(AchDraft.id)))


def test_enrolment_records_the_authorization_and_sends_the_borrower_a_copy(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        number = loan_on_autopay(session, AutopayTerms(AmountKind.DUE_PLUS, extra_principal=D("50.00"), days_before=3))
    with sessions() as session:
        enrolment = session.scalars(select(AutopayEnrolment)).one()
        assert enrolment.authorization_version == "ACH-2026-1" and enrolment.channel == "console_phone"
        assert "ending in 6789" in enrolment.authorization_text and "$50.00" in enrolment.authorization_text
        assert "3 days before each due date" in enrolment.authorization_text
        (copy,) = session.scalars(select(Message.body)).all()
        assert enrolment.authorization_text in copy and ACCOUNT not in copy
        assert f"for my loan ending in {number[-4:]}," in copy
        details = [e.detail for e in session.scalars(select(AuditEntry).where(AuditEntry.action == "autopay.enrolled"))]
        assert details[0]["account"] == "****6789"


def test_autopay_drafts_the_amount_due_into_a_balanced_ppd_file_once(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        first, second = loan_on_autopay(session), loan_on_autopay(session, account="5544332211")
        made = export(session)
    with sessions.begin() as session:
        again = export(session)
        assert len(drafts(session)) == 2
    assert made.new and not again.new and again.content == made.content
    assert validate(made.content.decode("ascii")) == {"ok": True, "errors": []}  # an independent validator
    nacha = read_file(made.content)
    entries = list(nacha.entries())
    assert [e.individual_id for e in entries] == [first, second]
    assert [e.account_number.strip() for e in entries] == [ACCOUNT, "5544332211"]
    assert {e.transaction_code for e in entries} == {"27"} and nacha.batches[0].sec_code == "PPD"
    assert nacha.batches[0].effective_date == EFFECTIVE
    assert entries[0].amount_cents == int((made.debit_total / 2) * 100)
    assert len(made.content.splitlines()) % 10 == 0


def test_the_file_is_never_for_a_weekend_or_the_business_date(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session, pytest.raises(ExportRefused, match="not a business day"):
        export(session, date(2026, 2, 1))
    with sessions.begin() as session, pytest.raises(ExportRefused, match="after the business date"):
        export(session, BUSINESS_DATE)


def test_a_draft_is_in_transit_until_its_effective_date_then_posted_as_received_that_day(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        loan_on_autopay(session)
        export(session)
    with sessions.begin() as session:
        assert settle_drafts(session, BUSINESS_DATE, "eod") == 0
        assert session.scalar(select(Payment.id)) is None
    with sessions.begin() as session:
        result = run_business_day(session, EFFECTIVE, "eod")
        assert result.ach_settled == 1
    with sessions() as session:
        payment = session.scalars(select(Payment)).one()
        (draft,) = drafts(session)
        assert (payment.received_on, payment.method, payment.reference) == (EFFECTIVE, "ach", draft.reference)
        assert (draft.status, draft.payment_id) == ("posted", payment.id)


def test_a_paid_ahead_loan_is_skipped_and_a_forbearance_pauses_autopay(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        paid = loan_on_autopay(session)
        paused = loan_on_autopay(session)
        loan = session.scalars(select(Loan).where(Loan.loan_number == paid)).one()
        loan.installments_paid = 1  # the installment due 1 February is paid: paid ahead
        paused_id = session.scalar(select(Loan.id).where(Loan.loan_number == paused))
        session.add(Workout(loan_id=paused_id, kind="forbearance", status="active", starts_on=date(2026, 1, 15),
                            ends_on=date(2026, 4, 15), terms={}, created_by="test"))  # fmt: skip
        made = export(session)
    assert made.entries == 0
    assert sorted(made.skipped) == sorted(
        [f"{paid}: paid ahead or nothing due", f"{paused}: paused during forbearance"]
    )


def test_a_one_time_payment_is_drafted_and_autopay_takes_that_much_less(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        number = loan_on_autopay(session)
        schedule_payment(session, number, amount=D("500.00"), pay_on=EFFECTIVE, today=BUSINESS_DATE, via="sms",
                         actor="bot")  # fmt: skip
        due = require_account(session, number).amount_due(date(2026, 2, 1))
        made = export(session)
    with sessions() as session:
        kinds = {d.kind: d.amount for d in drafts(session)}
        assert kinds == {"scheduled": D("500.00"), "autopay": due - D("500.00")} and made.debit_total == due
        assert session.scalars(select(ScheduledPayment.status)).one() == "in_transit"


def test_stopping_autopay_is_refused_within_three_business_days_of_a_draft(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        number = loan_on_autopay(session)
        with pytest.raises(AutopayRefused, match="autopay drafts next on 2026-02-02: it can be stopped up to 3"):
            stop_autopay(session, number, today=date(2026, 1, 29), country="US", actor="ana", reason="asked by phone")
        assert next_autopay_draft(session, number, today=date(2026, 1, 28), country="US") == EFFECTIVE
        stop_autopay(session, number, today=date(2026, 1, 28), country="US", actor="ana", reason="asked by phone")
        loan_id = session.scalar(select(Loan.id).where(Loan.loan_number == number))
        assert loan_id is not None and active_autopay(session, loan_id) is None
        assert export(session).entries == 0


def test_returns_reverse_two_payments_charge_the_fee_for_insufficient_funds_and_stop_one_autopay(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        broke, closed, fine = loan_on_autopay(session), loan_on_autopay(session), loan_on_autopay(session)
        made = export(session)
    with sessions.begin() as session:
        run_business_day(session, EFFECTIVE, "eod")
        traces = {d.loan_id: d.trace_number for d in drafts(session)}
        ids = dict(session.execute(select(Loan.loan_number, Loan.id)).tuples().all())
    data = returns_file(made.content, {traces[ids[broke]]: "R01", traces[ids[closed]]: "R03"})
    returned_on = EFFECTIVE + timedelta(days=2)
    with sessions.begin() as session:
        report = apply_returns_file(session, data, context(returned_on), name="returns.ach")
    assert (report.reversed_payments, report.fees_charged, report.autopay_stopped) == (2, 1, 1)
    assert report.borrowers_told == 2
    with sessions() as session:
        status = dict(session.execute(select(Payment.loan_id, Payment.status)).tuples().all())
        assert status == {ids[broke]: "reversed", ids[closed]: "reversed", ids[fine]: "posted"}
        assert session.scalars(select(Fee.amount).where(Fee.kind == "returned_payment")).all() == [D("25.00")]
        assert active_autopay(session, ids[broke]) is not None
        stopped = session.scalars(select(AutopayEnrolment).where(AutopayEnrolment.loan_id == ids[closed])).one()
        assert (
            stopped.status == "stopped"
            and stopped.stop_reason == "ACH return R03: no account / unable to locate account"
        )
        told = session.scalars(select(Message.body).where(Message.body.like("%returned the payment%"))).all()
        assert any("insufficient funds" in t and "returned-payment fee" in t for t in told)
        assert any("no account was found" in t and "autopay is stopped" in t for t in told)
        rows = ach_report(session, returned_on)
    assert [(r["exported"], r["returned"], r["returns_by_code"], r["return_rate_percent"]) for r in rows] == [
        (3, 2, "R01:1 R03:1", D("66.67"))]  # fmt: skip
    with sessions.begin() as session, pytest.raises(ReturnsRefused, match="already applied"):
        apply_returns_file(session, data, context(returned_on))


def test_a_notification_of_change_corrects_the_account_on_file(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        number = loan_on_autopay(session)
        made = export(session)
        trace = drafts(session)[0].trace_number
    data = returns_file(made.content, {trace: "C01"}, {trace: "99887766"})
    with sessions.begin() as session:
        report = apply_returns_file(session, data, context(EFFECTIVE + timedelta(days=3)))
        assert report.changes == [(number, "C01", "C01: account ****6789 corrected to 121042882 ****7766 checking")]
    with sessions() as session:
        active = bank_accounts(session, number)[0]
        assert (active.masked, active.source, active.status) == ("****7766", "noc", "active")
        enrolment = session.scalars(select(AutopayEnrolment)).one()
        assert enrolment.bank_account_id == active.id and enrolment.status == "active"
        assert "99887766" not in str([e.detail for e in session.scalars(select(AuditEntry))])


def test_an_unknown_trace_number_refuses_the_whole_file_and_changes_nothing(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        loan_on_autopay(session), loan_on_autopay(session)
        made = export(session)
        first, second = (d.trace_number for d in drafts(session))
    data = returns_file(made.content, {first: "R01", second: "R02"}).replace(second.encode(), b"091000019999999", 1)
    with sessions.begin() as session, pytest.raises(NachaError, match="line 6: unknown trace number 091000019999999"):
        apply_returns_file(session, data, context(EFFECTIVE))
    with sessions() as session:
        assert {d.status for d in drafts(session)} == {"in_transit"}
        assert session.scalar(select(Payment.id)) is None


def test_a_malformed_returns_file_is_refused_with_its_line_and_reason(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        loan_on_autopay(session)
        made = export(session)
        trace = drafts(session)[0].trace_number
    lines = returns_file(made.content, {trace: "R01"}).decode().splitlines()
    lines[2] = lines[2][:30] + "x" + lines[2][31:]
    with sessions.begin() as session, pytest.raises(NachaError, match="line 3: amount"):
        apply_returns_file(session, "\n".join(lines).encode(), context(EFFECTIVE))


def test_an_account_number_never_reaches_the_audit_log_or_the_stored_file_in_the_clear(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        board(session)
        loan_on_autopay(session)
        export(session)
    with sessions() as session:
        stored = session.scalars(select(AchFile)).one()
        assert stored.content_encrypted and ACCOUNT not in stored.content_encrypted
        assert ACCOUNT in VAULT.open(stored.content_encrypted)
        assert ACCOUNT not in str([e.detail for e in session.scalars(select(AuditEntry))])


def test_a_return_the_core_refuses_refuses_the_file_with_its_line(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        loan_on_autopay(session)
        made = export(session)
    with sessions.begin() as session:
        run_business_day(session, EFFECTIVE, "eod")
        (draft,) = drafts(session)
        reverse_payment(session, draft.reference, reason="reversed by hand", today=EFFECTIVE, business_date=EFFECTIVE,
                        actor="sue")  # fmt: skip
    data = returns_file(made.content, {draft.trace_number: "R01"})
    with sessions.begin() as session, pytest.raises(ReturnsRefused, match=r"line 4: R01 for trace number \d{15}: .*"):
        apply_returns_file(session, data, context(EFFECTIVE + timedelta(days=1)))
    with sessions() as session:
        assert drafts(session)[0].status == "posted"


@pytest.mark.parametrize(
    ("code", "corrected", "expected"),
    [
        ("C02", "231380104", ("231380104", "****6789", "checking")),
        ("C03", "231380104   55667788", ("231380104", "****7788", "checking")),
        ("C05", "37", ("121042882", "****6789", "savings")),
        ("C06", "55667788".ljust(20) + "32", ("121042882", "****7788", "savings")),
        ("C07", "231380104" + "55667788".ljust(17) + "37", ("231380104", "****7788", "savings")),
    ],
)
def test_each_notification_of_change_corrects_what_it_names(
    sessions: sessionmaker[Session], code: str, corrected: str, expected: tuple[str, str, str]
) -> None:
    with sessions.begin() as session:
        number = loan_on_autopay(session)
        made = export(session)
        trace = drafts(session)[0].trace_number
    with sessions.begin() as session:
        apply_returns_file(session, returns_file(made.content, {trace: code}, {trace: corrected}), context(EFFECTIVE))
    with sessions() as session:
        active = bank_accounts(session, number)[0]
        assert (active.routing, active.masked, active.account_type) == expected


def test_a_change_with_an_unusable_routing_number_refuses_the_file(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        loan_on_autopay(session)
        made = export(session)
        trace = drafts(session)[0].trace_number
    data = returns_file(made.content, {trace: "C02"}, {trace: "231380105"})
    with sessions.begin() as session, pytest.raises(NachaError, match="line 4: C02 corrected data is not usable"):
        apply_returns_file(session, data, context(EFFECTIVE))
