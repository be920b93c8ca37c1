"""Workouts as use cases: forbearance, repayment plans, payment deferral and modification.

Each loads the loan, runs one of the calculators of `servicing.rules.workouts`, and stores the
workout, its ledger lines and an audit entry in the caller's transaction; a specialist's approvals
and denials tell the borrower in their language.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.cases import CaseKind, get_case
from servicing.documents.case_letters import offer_notice
from servicing.documents.correspondence import Correspondence
from servicing.errors import LoanNotFound, WorkoutRefused
from servicing.notices import Amount, notify_borrower
from servicing.rules.account import Account, FeeKind
from servicing.rules.ledger import EntryKind, LedgerLine
from servicing.rules.money import ZERO
from servicing.rules.workouts import (
    MAX_TERM_MONTHS,
    WorkoutKind,
    WorkoutStatus,
    apply_modification,
    arrears,
    check_workable,
    deferral,
    forbearance_terms,
    forgive_forbearance_late_fees,
    modification_waterfall,
    repayment_plan,
)
from servicing.speaking import say
from servicing.store.accounts import ledger_row, load_account, save_accounts, save_open_fees
from servicing.store.bulk import insert_rows
from servicing.store.models import LedgerEntry, Loan, Workout

# -- use cases: one transaction each, the caller commits ----------------------------------------------


def place_forbearance(
    session: Session,
    loan_number: str,
    *,
    months: int,
    reduced_payment: Decimal,
    starts_on: date,
    actor: str,
    case_reference: str | None = None,
) -> Workout:
    """Place a loan in forbearance: reduced or no payments for some months, interest accruing, no late fee."""
    account = _account_for_workout(session, loan_number)
    terms = forbearance_terms(account, months, reduced_payment, starts_on)
    case_id = _case_id(session, account, case_reference)
    workout = _record_workout(
        session, account, WorkoutKind.FORBEARANCE, WorkoutStatus.ACTIVE, starts_on, terms.ends_on,
        terms.to_terms(), case_id, actor,
    )  # fmt: skip
    _audit(session, actor, "workout.forbearance_placed", account, workout)
    return workout


def end_forbearance(session: Session, loan_number: str, *, on: date, actor: str) -> Workout:
    """End a loan's forbearance and record the arrears it leaves to resolve by another option."""
    account = _load(session, loan_number)
    workout = _active_workout(session, account.loan_id)
    if workout is None or workout.kind != WorkoutKind.FORBEARANCE:
        raise WorkoutRefused(f"loan {loan_number} has no active forbearance")
    planned_end = date.fromisoformat(workout.terms["planned_ends_on"])
    spared_through = account.late_fee_through
    forgive_forbearance_late_fees(account, workout.starts_on, min(on, planned_end))
    if account.late_fee_through != spared_through:
        save_accounts(session, [account], on)
    workout.status = WorkoutStatus.COMPLETED if on >= planned_end else WorkoutStatus.ENDED
    workout.ends_on = on
    workout.terms = {**workout.terms, "ended_on": on.isoformat(), "arrears_at_end": str(arrears(account, on))}
    session.flush()
    _audit(session, actor, "workout.forbearance_ended", account, workout)
    return workout


def start_repayment_plan(
    session: Session,
    loan_number: str,
    *,
    months: int,
    starts_on: date,
    actor: str,
    case_reference: str | None = None,
) -> Workout:
    """Put a delinquent loan on a repayment plan: arrears spread over months on top of the installment."""
    account = _account_for_workout(session, loan_number)
    plan = repayment_plan(account, months, starts_on)
    case_id = _case_id(session, account, case_reference)
    workout = _record_workout(
        session, account, WorkoutKind.REPAYMENT_PLAN, WorkoutStatus.ACTIVE, starts_on, plan.ends_on,
        plan.to_terms(), case_id, actor,
    )  # fmt: skip
    _audit(session, actor, "workout.repayment_plan_started", account, workout)
    return workout


def defer_payments(
    session: Session,
    loan_number: str,
    *,
    months: int,
    on: date,
    actor: str,
    case_reference: str | None = None,
) -> Workout:
    """Defer a delinquent loan's past-due principal and interest, interest-free; it becomes current."""
    account = _account_for_workout(session, loan_number)
    case_id = _case_id(session, account, case_reference)
    first_deferred = account.installments_paid + 1
    lines = deferral(account, months, on)
    deferred = [line.change for line in lines if line.kind is EntryKind.DEFERRAL]
    terms = {
        "months_approved": months,
        "installments": list(range(first_deferred, account.installments_paid + 1)),
        "principal": str(-sum((c.principal for c in deferred), ZERO)),
        "interest": str(-sum((c.interest for c in deferred), ZERO)),
        "deferred": str(sum((c.deferred for c in deferred), ZERO)),
    }
    workout = _record_workout(
        session, account, WorkoutKind.PAYMENT_DEFERRAL, WorkoutStatus.COMPLETED, on, on, terms, case_id, actor
    )
    _store_lines(session, account, lines, workout, actor)
    save_accounts(session, [account], on)
    _audit(session, actor, "workout.payments_deferred", account, workout)
    return workout


def modify_loan(
    session: Session,
    loan_number: str,
    *,
    modification_rate: Decimal,
    on: date,
    actor: str,
    case_reference: str | None = None,
    max_term_months: int = MAX_TERM_MONTHS,
) -> Workout:
    """Modify a loan: capitalize arrears, lower the rate, extend the term, forbear principal, in order."""
    account = _account_for_workout(session, loan_number)
    plan = modification_waterfall(account, modification_rate, on, max_term_months)
    if plan.payment >= plan.payment_before:
        raise WorkoutRefused(
            f"the modification would not lower the payment of {loan_number}: "
            f"{plan.payment_before} before, {plan.payment} after"
        )
    case_id = _case_id(session, account, case_reference)
    late_fees = {f.seq for f in account.open_fees if f.kind is FeeKind.LATE}
    lines = apply_modification(account, plan, on)
    workout = _record_workout(
        session,
        account,
        WorkoutKind.MODIFICATION,
        WorkoutStatus.COMPLETED,
        on,
        on,
        plan.to_terms(),
        case_id,
        actor,
    )
    _store_lines(session, account, lines, workout, actor)
    save_open_fees(session, [account], {account.loan_id: late_fees})
    save_accounts(session, [account], on)
    _audit(session, actor, "workout.loan_modified", account, workout)
    return workout


def _load(session: Session, loan_number: str) -> Account:
    account = load_account(session, loan_number, for_update=True)
    if account is None:
        raise LoanNotFound(loan_number)
    return account


def _account_for_workout(session: Session, loan_number: str) -> Account:
    """Lock the loan and refuse it while it is paid off, charged off, or already in a forbearance or plan."""
    account = _load(session, loan_number)
    check_workable(account)
    active = _active_workout(session, account.loan_id)
    if active is not None:
        kind = active.kind.replace("_", " ")
        raise WorkoutRefused(f"loan {loan_number} is in an active {kind} since {active.starts_on}; end it first")
    return account


def _active_workout(session: Session, loan_id: int) -> Workout | None:
    return session.scalars(
        select(Workout)
        .where(Workout.loan_id == loan_id, Workout.status == WorkoutStatus.ACTIVE.value)
        .order_by(Workout.id.desc())
        .limit(1)
    ).first()


def _case_id(session: Session, account: Account, case_reference: str | None) -> int | None:
    """Return the id of the loss-mitigation case the workout answers; refuse a case about another loan."""
    if case_reference is None:
        return None
    case = get_case(session, case_reference)
    if case.loan_id is not None and case.loan_id != account.loan_id:
        raise WorkoutRefused(f"case {case_reference} is about another loan")
    return case.id


def _record_workout(
    session: Session,
    account: Account,
    kind: WorkoutKind,
    status: WorkoutStatus,
    starts_on: date,
    ends_on: date | None,
    terms: dict[str, Any],
    case_id: int | None,
    actor: str,
) -> Workout:
    workout = Workout(
        loan_id=account.loan_id,
        kind=kind.value,
        status=status.value,
        starts_on=starts_on,
        ends_on=ends_on,
        terms=terms,
        case_id=case_id,
        created_by=actor,
    )
    session.add(workout)
    session.flush()
    return workout


def _store_lines(session: Session, account: Account, lines: list[LedgerLine], workout: Workout, actor: str) -> None:
    reference = f"workout:{workout.id}"
    insert_rows(
        session,
        LedgerEntry.__table__,
        [ledger_row(account.loan_id, line, actor, reference) for line in lines],
    )


def _audit(session: Session, actor: str, action: str, account: Account, workout: Workout) -> None:
    record_audit(
        session, actor, action, "loan", account.loan_number,
        {"workout_id": workout.id, "kind": workout.kind, "status": workout.status},
    )  # fmt: skip


# -- decisions a specialist records from the console: approve with terms, deny with a reason ------------

# The loan is named by its last 4 digits, as the bot names it: a notice may reach a phone someone else holds now.
FORBEARANCE_APPROVED = say(
    "Your forbearance on the loan ending in {loan_last4} is approved: from {starts_on} to {ends_on} your monthly "
    "payment is {payment}."
)
REPAYMENT_PLAN_APPROVED = say(
    "Your repayment plan on the loan ending in {loan_last4} is approved: {months} monthly payments, the first of "
    "{payment} due on {due_date}."
)
PAYMENT_DEFERRAL_APPROVED = say(
    "Your payment deferral on the loan ending in {loan_last4} is approved: {amount} is moved to the end of your "
    "loan and your loan is now current."
)
MODIFICATION_APPROVED = say(
    "Your loan modification on the loan ending in {loan_last4} is approved: your new monthly payment of "
    "principal and interest is {payment}, the first due on {due_date}."
)


def approve_forbearance(
    session: Session,
    loan_number: str,
    *,
    months: int,
    reduced_payment: Decimal,
    starts_on: date,
    reason: str,
    actor: str,
    now: datetime,
    case_reference: str | None = None,
    disclosure_confirmed: bool = False,
    letters: Correspondence | None = None,
) -> Workout:
    """Place an approved forbearance, record the decision and its reason, and tell the borrower.

    The notice tells the new payment: to a conversation that has not verified, only if `disclosure_confirmed`.
    With `letters`, a forbearance booked on an approved application is offered in writing with its terms.
    """
    _require_reason(reason)
    workout = place_forbearance(
        session, loan_number, months=months, reduced_payment=reduced_payment, starts_on=starts_on, actor=actor,
        case_reference=case_reference,
    )  # fmt: skip
    loan = _loan_row(session, loan_number)
    _record_decision(
        session, actor, loan_number, "approved", WorkoutKind.FORBEARANCE, reason, workout,
        case_reference=case_reference,
    )  # fmt: skip
    notify_borrower(
        session, loan, FORBEARANCE_APPROVED, now=now, disclosure_confirmed=disclosure_confirmed,
        loan_last4=loan_number[-4:], starts_on=starts_on, ends_on=workout.ends_on,
        payment=Amount(reduced_payment, loan.currency),
    )  # fmt: skip
    _offer_in_writing(session, letters, case_reference, workout, starts_on, actor)
    return workout


def end_forbearance_for_reason(session: Session, loan_number: str, *, on: date, reason: str, actor: str) -> Workout:
    """End a loan's forbearance and record why, with the arrears it leaves."""
    _require_reason(reason)
    workout = end_forbearance(session, loan_number, on=on, actor=actor)
    _record_decision(session, actor, loan_number, "ended", WorkoutKind.FORBEARANCE, reason, workout)
    return workout


def approve_workout(
    session: Session,
    loan_number: str,
    kind: WorkoutKind,
    *,
    on: date,
    reason: str,
    actor: str,
    now: datetime,
    months: int | None = None,
    modification_rate: Decimal | None = None,
    case_reference: str | None = None,
    disclosure_confirmed: bool = False,
    letters: Correspondence | None = None,
) -> Workout:
    """Book an approved repayment plan, deferral or modification, record the decision and tell the borrower.

    The notice tells the new payment: to a conversation that has not verified, only if `disclosure_confirmed`.
    With `letters`, a workout booked on an approved application is offered in writing with its terms.
    """
    _require_reason(reason)
    if kind is WorkoutKind.MODIFICATION:
        if modification_rate is None:
            raise WorkoutRefused("a modification needs a modification rate")
        workout = modify_loan(
            session, loan_number, modification_rate=modification_rate, on=on, actor=actor,
            case_reference=case_reference,
        )  # fmt: skip
    elif kind in (WorkoutKind.REPAYMENT_PLAN, WorkoutKind.PAYMENT_DEFERRAL):
        if months is None:
            raise WorkoutRefused(f"a {kind.value.replace('_', ' ')} needs a number of months")
        begin = start_repayment_plan if kind is WorkoutKind.REPAYMENT_PLAN else _defer_on
        workout = begin(session, loan_number, months=months, starts_on=on, actor=actor, case_reference=case_reference)
    else:
        raise WorkoutRefused(f"a {kind.value.replace('_', ' ')} is not decided here")
    _record_decision(session, actor, loan_number, "approved", kind, reason, workout, case_reference=case_reference)
    _notify_approval(session, _loan_row(session, loan_number), workout, now, disclosure_confirmed)
    _offer_in_writing(session, letters, case_reference, workout, on, actor)
    return workout


def _offer_in_writing(
    session: Session,
    letters: Correspondence | None,
    case_reference: str | None,
    workout: Workout,
    on: date,
    actor: str,
) -> None:
    """Make the offer letter of a workout booked on an application already approved (Reg X 1024.41(e)).

    A workout booked before the application is approved is in the approval's own letter.
    """
    if letters is None or case_reference is None:
        return
    case = get_case(session, case_reference)
    if case.kind == CaseKind.LOSS_MITIGATION.value and case.status == "approved":
        offer_notice(session, letters, case, on=on, actor=actor, workout=workout)


def deny_workout(
    session: Session,
    loan_number: str,
    kind: WorkoutKind,
    *,
    on: date,
    reason: str,
    actor: str,
    case_reference: str | None = None,
) -> None:
    """Record a denied workout and its reason, against the loan's loss-mitigation case when one is named.

    The case's own decision (its state, the written notice with the appeal window) is made on the case
    (`servicing.decisions.deny_application`); this records what was denied on the loan and why.
    """
    _require_reason(reason)
    account = _load(session, loan_number)
    _case_id(session, account, case_reference)
    _record_decision(session, actor, loan_number, "denied", kind, reason, None, case_reference=case_reference)


def _defer_on(
    session: Session, loan_number: str, *, months: int, starts_on: date, actor: str, case_reference: str | None
) -> Workout:
    return defer_payments(session, loan_number, months=months, on=starts_on, actor=actor, case_reference=case_reference)


def _require_reason(reason: str) -> None:
    if not reason.strip():
        raise WorkoutRefused("a decision needs a reason")


def _loan_row(session: Session, loan_number: str) -> Loan:
    loan = session.scalar(select(Loan).where(Loan.loan_number == loan_number))
    if loan is None:
        raise LoanNotFound(loan_number)
    return loan


def _record_decision(
    session: Session,
    actor: str,
    loan_number: str,
    decision: str,
    kind: WorkoutKind,
    reason: str,
    workout: Workout | None,
    *,
    case_reference: str | None = None,
) -> None:
    detail: dict[str, Any] = {"decision": decision, "kind": kind.value, "reason": reason, "case": case_reference}
    if workout is not None:
        detail |= {"workout_id": workout.id, "status": workout.status, "terms": _decision_figures(workout)}
    record_audit(session, actor, "workout.decision", "loan", loan_number, detail)


def _decision_figures(workout: Workout) -> dict[str, Any]:
    """Return the amounts and dates of a workout's terms worth keeping in the audit (not its full schedule)."""
    kept = ("months", "reduced_payment", "regular_payment", "arrears", "deferred", "payment_before",
            "target_payment", "planned_ends_on", "arrears_at_end", "first_due_date", "months_approved")  # fmt: skip
    return {key: workout.terms[key] for key in kept if key in workout.terms}


def _notify_approval(session: Session, loan: Loan, workout: Workout, now: datetime, confirmed: bool) -> None:
    """Tell the borrower, in their language, what the approved workout means for their payments."""
    terms, currency, last4 = workout.terms, loan.currency, loan.loan_number[-4:]
    if workout.kind == WorkoutKind.REPAYMENT_PLAN:
        first = terms["lines"][0]
        notify_borrower(
            session, loan, REPAYMENT_PLAN_APPROVED, now=now, disclosure_confirmed=confirmed, loan_last4=last4,
            months=terms["months"], payment=Amount(Decimal(first["total"]), currency),
            due_date=date.fromisoformat(first["due_date"]),
        )  # fmt: skip
    elif workout.kind == WorkoutKind.PAYMENT_DEFERRAL:
        notify_borrower(
            session, loan, PAYMENT_DEFERRAL_APPROVED, now=now, disclosure_confirmed=confirmed, loan_last4=last4,
            amount=Amount(Decimal(terms["deferred"]), currency),
        )  # fmt: skip
    else:
        final = terms["steps"][-1]
        notify_borrower(
            session, loan, MODIFICATION_APPROVED, now=now, disclosure_confirmed=confirmed, loan_last4=last4,
            payment=Amount(Decimal(final["payment"]), currency), due_date=date.fromisoformat(terms["first_due_date"]),
        )  # fmt: skip
