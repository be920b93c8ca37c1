"""Four eyes on money in the core: a preview equals the result, the maker never approves, approval runs once."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from servicing.approvals.actions import ActionKind, Circumstances, MoneyAction, needs_approval, perform
from servicing.approvals.effects import loan_figures, loan_state, preview, workouts_after
from servicing.approvals.requests import (
    ApprovalRefused,
    StaleRequest,
    approve_request,
    pending_count,
    recompute,
    reject_request,
    request_approval,
    withdraw_request,
)
from servicing.eod import run_business_day
from servicing.manual_payments import post_manual_payment
from servicing.specialists import Role, add_specialist
from servicing.store.accounts import ledger_balances
from servicing.store.models import ApprovalRequest, AuditEntry, Fee, LedgerEntry, Loan, OutboxItem, Payment, Workout
from tests.integration.helpers import board

TODAY = date(2026, 2, 20)
LATE_FEE_DAY = date(2026, 2, 17)
NOW = datetime(2026, 2, 20, 15, 0, tzinfo=UTC)


@pytest.fixture
def loan(sessions: sessionmaker[Session]) -> str:
    """A mortgage a month behind with a late fee, 100.00 in suspense, a specialist and two checkers."""
    with sessions() as session, session.begin():
        number = board(session)
        for username, role in (("sam", Role.SPECIALIST), ("sue", Role.SUPERVISOR), ("ada", Role.ADMIN)):
            add_specialist(session, username, "a long password", role, actor="test")
    with sessions() as session, session.begin():
        run_business_day(session, LATE_FEE_DAY, "eod")
    with sessions() as session, session.begin():
        post_manual_payment(session, number, amount=Decimal("100.00"), received_on=TODAY, reference="phone-1",
                            reason="paid by phone", actor="sam", today=TODAY)  # fmt: skip
    return number


def as_(actor: str) -> Circumstances:
    return Circumstances(actor=actor, today=TODAY, now=NOW)


def everything(session: Session) -> tuple[Any, ...]:
    """Everything an action could change."""
    return (
        tuple(
            session.execute(
                select(
                    Loan.principal_balance,
                    Loan.interest_balance,
                    Loan.escrow_balance,
                    Loan.fees_balance,
                    Loan.suspense_balance,
                    Loan.deferred_balance,
                    Loan.next_due_date,
                    Loan.monthly_payment,
                )
            )
        ),
        session.scalar(select(func.count()).select_from(LedgerEntry)),
        tuple(session.execute(select(Payment.reference, Payment.status))),
        tuple(session.execute(select(Fee.id, Fee.outstanding))),
        tuple(session.execute(select(Workout.id, Workout.status))),
        session.scalar(select(func.count()).select_from(OutboxItem)),
        session.scalar(select(func.count()).select_from(AuditEntry)),
    )


def reversal(number: str) -> MoneyAction:
    return MoneyAction(ActionKind.REVERSAL, number, {"reference": "phone-1"}, "check bounced")


ACTIONS = {
    "payment": lambda n: MoneyAction(
        ActionKind.PAYMENT, n, {"amount": "1500.00", "received_on": TODAY.isoformat(), "reference": "p-2"}, "phone"
    ),
    "reversal": reversal,
    "modification": lambda n: MoneyAction(
        ActionKind.MODIFICATION, n, {"modification_rate": "0.03", "confirm_disclosure": "y"}, "hardship"
    ),
    "deferral": lambda n: MoneyAction(
        ActionKind.PAYMENT_DEFERRAL, n, {"months": "1", "confirm_disclosure": "y"}, "hardship"
    ),
    "forbearance": lambda n: MoneyAction(
        ActionKind.FORBEARANCE,
        n,
        {"months": "3", "reduced_payment": "0", "starts_on": "2026-03-01", "confirm_disclosure": "y"},
        "job loss",
    ),
}


@pytest.mark.parametrize("kind", sorted(ACTIONS))
def test_a_preview_changes_nothing_and_equals_what_the_action_then_does(
    sessions: sessionmaker[Session], loan: str, kind: str
) -> None:
    action = ACTIONS[kind](loan)
    with sessions() as session:
        before = everything(session)
    with sessions() as session, session.begin():
        effect = preview(session, action, as_("sue"))
    with sessions() as session:
        assert everything(session) == before
    with sessions() as session, session.begin():
        last = session.scalar(select(func.max(LedgerEntry.id))) or 0
        perform(session, action, as_("sue"))
    with sessions() as session:
        done = loan_figures(session, loan, effect.as_of)
        started = workouts_after(session, loan, 0)
        booked = session.execute(select(LedgerEntry.kind, LedgerEntry.principal, LedgerEntry.interest,
                                        LedgerEntry.escrow, LedgerEntry.fees, LedgerEntry.suspense,
                                        LedgerEntry.deferred).where(LedgerEntry.id > last)
                                 .order_by(LedgerEntry.id)).all()  # fmt: skip
    assert done == effect.after and (effect.after != effect.before or effect.workouts)
    assert started == effect.workouts
    assert [(e.kind, *e.amounts.values()) for e in effect.entries] == [tuple(row) for row in booked]


def test_a_payment_preview_shows_its_allocation_by_the_waterfall(sessions: sessionmaker[Session], loan: str) -> None:
    with sessions() as session, session.begin():
        effect = preview(session, ACTIONS["payment"](loan), as_("sam"))
    paid = [e for e in effect.entries if e.kind == "payment"]
    assert {e.memo for e in paid} >= {"fees"}  # the waterfall's steps: the installment, then the late fee
    assert sum(e.amounts["principal"] for e in paid) < 0 and sum(e.amounts["interest"] for e in paid) < 0
    assert sum(e.amounts["fees"] for e in paid) == -Decimal(effect.before["unpaid_fees"])
    assert (effect.before["next_due_date"], effect.after["next_due_date"]) == ("2026-02-01", "2026-03-01")
    assert effect.after["days_past_due"] == "0"


def test_reversals_and_workouts_need_approval_and_a_fee_waiver_only_above_the_threshold(
    sessions: sessionmaker[Session], loan: str
) -> None:
    with sessions() as session:
        fee = session.scalars(select(Fee)).one()
        waiver = MoneyAction(ActionKind.FEE_WAIVER, loan, {"fee_id": str(fee.id)}, "goodwill")
        assert needs_approval(session, reversal(loan), Decimal("50"))
        assert needs_approval(session, ACTIONS["modification"](loan), Decimal("50"))
        assert not needs_approval(session, ACTIONS["payment"](loan), Decimal("50"))
        assert needs_approval(session, waiver, fee.outstanding - Decimal("0.01"))
        assert not needs_approval(session, waiver, fee.outstanding)


def ask(sessions: sessionmaker[Session], action: MoneyAction, maker: str, key: str = "request-key-1") -> int:
    with sessions() as session, session.begin():
        effect = preview(session, action, as_(maker))
        request, made = request_approval(session, action, effect, maker=maker, request_key=key, now=NOW)
        assert made
        return request.id


def test_a_requested_reversal_changes_nothing_until_a_supervisor_approves_it(
    sessions: sessionmaker[Session], loan: str
) -> None:
    with sessions() as session:
        before = everything(session)[:5]
    request_id = ask(sessions, reversal(loan), "sam")
    with sessions() as session:
        assert everything(session)[:5] == before and pending_count(session) == 1
        state = loan_state(session, loan)
    with sessions() as session, session.begin():
        decision = approve_request(session, request_id, seen_state=state, who=as_("sue"))
    assert (decision.status, decision.decided_now) == ("approved", True)
    with sessions() as session:
        assert session.scalar(select(Payment.status)) == "reversed"
        assert pending_count(session) == 0
        [approved] = session.scalars(select(AuditEntry).where(AuditEntry.action == "approval.approved"))
        assert (approved.actor, approved.detail["maker"], approved.detail["recomputed"]) == ("sue", "sam", False)
        assert session.scalar(select(AuditEntry.actor).where(AuditEntry.action == "payment.reversed")) == "sue"
        sums = ledger_balances(session)
        for row in session.scalars(select(Loan)):
            assert row.principal_balance == sums[row.id].principal and row.fees_balance == sums[row.id].fees


def test_the_maker_cannot_approve_their_own_request_nor_a_specialist_anyones(
    sessions: sessionmaker[Session], loan: str
) -> None:
    request_id = ask(sessions, reversal(loan), "sue")
    with sessions() as session:
        state = loan_state(session, loan)
    for checker in ("sue", "sam"):
        with sessions() as session, session.begin(), pytest.raises(ApprovalRefused):
            approve_request(session, request_id, seen_state=state, who=as_(checker))
        with sessions() as session, session.begin(), pytest.raises(ApprovalRefused):
            reject_request(session, request_id, checker=checker, note="no", now=NOW)
    with sessions() as session:
        assert session.get_one(ApprovalRequest, request_id).status == "pending"
        assert session.scalar(select(Payment.status)) == "posted"
    with sessions() as session, session.begin():
        assert approve_request(session, request_id, seen_state=state, who=as_("ada")).decided_now


def test_a_second_approval_of_the_same_request_changes_nothing(sessions: sessionmaker[Session], loan: str) -> None:
    request_id = ask(sessions, ACTIONS["deferral"](loan), "sam")
    with sessions() as session:
        state = loan_state(session, loan)
    with sessions() as session, session.begin():
        approve_request(session, request_id, seen_state=state, who=as_("sue"))
    with sessions() as session:
        after_first = everything(session)
    with sessions() as session, session.begin():
        again = approve_request(session, request_id, seen_state=state, who=as_("ada"))
    assert (again.status, again.decided_now, again.decided_by) == ("approved", False, "sue")
    with sessions() as session:
        assert everything(session) == after_first
        assert session.scalar(select(func.count()).select_from(Workout)) == 1


def test_two_checkers_approving_at_once_run_the_action_once(sessions: sessionmaker[Session], loan: str) -> None:
    request_id = ask(sessions, reversal(loan), "sam")
    with sessions() as session:
        state = loan_state(session, loan)
    results: list[Any] = []

    def approve(checker: str) -> None:
        try:
            with sessions() as session, session.begin():
                results.append(approve_request(session, request_id, seen_state=state, who=as_(checker)).decided_now)
        except ApprovalRefused as refused:  # the loser may find the loan changed under it: refused, not run twice
            results.append(type(refused).__name__)

    threads = [threading.Thread(target=approve, args=(name,)) for name in ("sue", "ada")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results.count(True) == 1
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "payment.reversed")) == 1  # fmt: skip


def test_a_request_on_a_loan_that_changed_is_refused_until_the_checker_sees_the_effect_again(
    sessions: sessionmaker[Session], loan: str
) -> None:
    request_id = ask(sessions, ACTIONS["modification"](loan), "sam")
    with sessions() as session:
        seen = loan_state(session, loan)
    with sessions() as session, session.begin():
        post_manual_payment(session, loan, amount=Decimal("100.00"), received_on=TODAY, reference="phone-2",
                            reason="paid more", actor="sam", today=TODAY)  # fmt: skip
    with sessions() as session:
        before = everything(session)
    with sessions() as session, session.begin(), pytest.raises(StaleRequest):
        approve_request(session, request_id, seen_state=seen, who=as_("sue"))
    with sessions() as session:
        assert everything(session) == before
        request = session.get_one(ApprovalRequest, request_id)
        assert request.status == "pending"
    with sessions() as session, session.begin():
        fresh = recompute(session, request, as_("sue"))
    assert fresh.loan_state != request.loan_state and fresh.before != request.effect["before"]
    with sessions() as session, session.begin():
        assert approve_request(session, request_id, seen_state=fresh.loan_state, who=as_("sue")).decided_now
    with sessions() as session:
        assert session.scalar(select(AuditEntry.detail).where(AuditEntry.action == "approval.approved"))["recomputed"]


def test_a_request_asked_twice_with_the_same_key_is_kept_once(sessions: sessionmaker[Session], loan: str) -> None:
    ask(sessions, reversal(loan), "sam", key="same-key-123")
    with sessions() as session, session.begin():
        effect = preview(session, reversal(loan), as_("sam"))
        _, made = request_approval(session, reversal(loan), effect, maker="sam", request_key="same-key-123", now=NOW)
    assert not made
    with sessions() as session:
        assert pending_count(session) == 1


def test_a_rejected_request_changes_nothing_and_is_kept_with_its_note(
    sessions: sessionmaker[Session], loan: str
) -> None:
    request_id = ask(sessions, reversal(loan), "sam")
    with sessions() as session:
        before = everything(session)[:5]
    with sessions() as session, session.begin(), pytest.raises(ApprovalRefused):
        reject_request(session, request_id, checker="sue", note="  ", now=NOW)
    with sessions() as session, session.begin():
        reject_request(session, request_id, checker="sue", note="the check cleared", now=NOW)
    with sessions() as session:
        assert everything(session)[:5] == before
        request = session.get_one(ApprovalRequest, request_id)
        assert (request.status, request.decided_by, request.decision_note) == ("rejected", "sue", "the check cleared")
    with sessions() as session, session.begin():
        assert not approve_request(session, request_id, seen_state="x", who=as_("ada")).decided_now


def test_the_maker_withdraws_a_pending_request_and_then_nobody_can_approve_it(
    sessions: sessionmaker[Session], loan: str
) -> None:
    request_id = ask(sessions, reversal(loan), "sam")
    with sessions() as session:
        state, before = loan_state(session, loan), everything(session)[:5]
    with sessions() as session, session.begin():
        withdrawn = withdraw_request(session, request_id, maker="sam", note="  asked on the wrong loan ", now=NOW)
    assert (withdrawn.status, withdrawn.decided_now, withdrawn.decided_by) == ("withdrawn", True, "sam")
    with sessions() as session, session.begin():
        assert not approve_request(session, request_id, seen_state=state, who=as_("sue")).decided_now
        assert not reject_request(session, request_id, checker="ada", note="no", now=NOW).decided_now
        assert not withdraw_request(session, request_id, maker="sam", note="", now=NOW).decided_now  # a double click
    with sessions() as session:
        assert everything(session)[:5] == before and pending_count(session) == 0
        request = session.get_one(ApprovalRequest, request_id)
        assert (request.status, request.decided_by, request.decision_note) == (
            "withdrawn",
            "sam",
            "asked on the wrong loan",
        )
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "approval.withdrawn")).one()
        assert (entry.actor, entry.subject_id, entry.detail["request_id"]) == ("sam", loan, request_id)
        decisions = select(func.count()).where(AuditEntry.action.in_(("approval.approved", "approval.rejected")))
        assert session.scalar(decisions) == 0


def test_nobody_but_the_maker_withdraws_a_request_and_a_decided_one_stays_decided(
    sessions: sessionmaker[Session], loan: str
) -> None:
    request_id = ask(sessions, reversal(loan), "sam")
    for other in ("sue", "ada", "nobody"):
        with sessions() as session, session.begin(), pytest.raises(ApprovalRefused, match="only the person who asked"):
            withdraw_request(session, request_id, maker=other, note="", now=NOW)
    with sessions() as session, session.begin(), pytest.raises(ApprovalRefused, match="at most 200"):
        withdraw_request(session, request_id, maker="sam", note="x" * 201, now=NOW)
    with sessions() as session:
        assert session.get_one(ApprovalRequest, request_id).status == "pending"
        state = loan_state(session, loan)
    with sessions() as session, session.begin():
        approve_request(session, request_id, seen_state=state, who=as_("sue"))
    with sessions() as session, session.begin():
        late = withdraw_request(session, request_id, maker="sam", note="too late", now=NOW)
    assert (late.status, late.decided_now, late.decided_by) == ("approved", False, "sue")
    with sessions() as session:
        assert session.scalar(select(Payment.status)) == "reversed"
        assert session.scalar(select(func.count()).select_from(AuditEntry)
                              .where(AuditEntry.action == "approval.withdrawn")) == 0  # fmt: skip
