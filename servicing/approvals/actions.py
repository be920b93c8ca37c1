"""The money-moving actions a specialist can take on a loan, as data, and running one through its use case."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.documents.correspondence import Correspondence
from servicing.errors import InvalidInput
from servicing.escrow import run_escrow_analysis
from servicing.fees import FeeWaiverRefused, waive_fee
from servicing.manual_payments import post_manual_payment, reverse_loan_payment
from servicing.queries import current_date
from servicing.rules.escrow import AnalysisPolicy
from servicing.rules.money import parse_amount, parse_rate
from servicing.rules.workouts import WorkoutKind
from servicing.store.models import Fee, Loan
from servicing.workouts import approve_forbearance, approve_workout


class ActionKind(StrEnum):
    """A money-moving action on a loan."""

    PAYMENT = "payment"
    REVERSAL = "reversal"
    FEE_WAIVER = "fee_waiver"
    FORBEARANCE = "forbearance"
    REPAYMENT_PLAN = "repayment_plan"
    PAYMENT_DEFERRAL = "payment_deferral"
    MODIFICATION = "modification"
    ESCROW_ANALYSIS = "escrow_analysis"


ALWAYS_APPROVED = frozenset(
    {ActionKind.REVERSAL, ActionKind.FORBEARANCE, ActionKind.REPAYMENT_PLAN, ActionKind.PAYMENT_DEFERRAL,
     ActionKind.MODIFICATION}
)  # fmt: skip
DEFAULT_FEE_WAIVER_APPROVAL_ABOVE = Decimal("50.00")


@dataclass(frozen=True)
class MoneyAction:
    """One action on one loan: its kind, its terms as the form gave them (text), and the maker's reason."""

    kind: ActionKind
    loan_number: str
    terms: Mapping[str, str]
    reason: str


@dataclass(frozen=True)
class Circumstances:
    """Who does the action and when; `letters` makes the borrower's letters (none in a preview)."""

    actor: str
    today: date
    now: datetime
    letters: Correspondence | None = None
    escrow_policy: AnalysisPolicy = field(default_factory=AnalysisPolicy)


def needs_approval(session: Session, action: MoneyAction, fee_waiver_above: Decimal) -> bool:
    """Tell whether the action waits for a second person: always for some kinds, above a threshold for a waiver."""
    if action.kind in ALWAYS_APPROVED:
        return True
    if action.kind is ActionKind.FEE_WAIVER:
        return _fee_outstanding(session, action) > fee_waiver_above
    return False


@dataclass(frozen=True)
class Outcome:
    """What running an action did, in a word (posted, already_posted, reversed...), and its use case's result."""

    word: str
    result: object = None


def perform(session: Session, action: MoneyAction, who: Circumstances) -> Outcome:
    """Run the action through its use case in the caller's transaction; return what it did."""
    if not action.reason.strip():
        raise InvalidInput("a reason is required")
    return _PERFORMERS[action.kind](session, action, who)


def _fee_outstanding(session: Session, action: MoneyAction) -> Decimal:
    fee = session.scalar(
        select(Fee.outstanding).join(Loan, Loan.id == Fee.loan_id)
        .where(Loan.loan_number == action.loan_number, Fee.id == _whole(action, "fee_id"))
    )  # fmt: skip
    if fee is None:
        raise FeeWaiverRefused(f"loan {action.loan_number} has no fee {action.terms.get('fee_id')}")
    return fee


def _text(action: MoneyAction, name: str) -> str:
    return str(action.terms.get(name) or "").strip()


def _whole(action: MoneyAction, name: str) -> int:
    text = _text(action, name)
    if not text.isdigit():
        raise InvalidInput(f"{name.replace('_', ' ')} must be a whole number")
    return int(text)


def _day(action: MoneyAction, name: str) -> date:
    try:
        return date.fromisoformat(_text(action, name))
    except ValueError as refused:
        raise InvalidInput(f"{name.replace('_', ' ')} must be a date like 2026-03-01") from refused


def _confirmed(action: MoneyAction) -> bool:
    return _text(action, "confirm_disclosure") == "y"


def _post_payment(session: Session, action: MoneyAction, who: Circumstances) -> Outcome:
    posted = post_manual_payment(
        session, action.loan_number, amount=parse_amount(_text(action, "amount")),
        received_on=_day(action, "received_on"), reference=_text(action, "reference"), reason=action.reason,
        actor=who.actor, today=who.today,
    )  # fmt: skip
    return Outcome("posted" if posted.posted else "already_posted", posted)


def _reverse(session: Session, action: MoneyAction, who: Circumstances) -> Outcome:
    account = reverse_loan_payment(session, action.loan_number, _text(action, "reference"), reason=action.reason,
                                   actor=who.actor, today=who.today)  # fmt: skip
    return Outcome("reversed", account)


def _waive(session: Session, action: MoneyAction, who: Circumstances) -> Outcome:
    fee = waive_fee(session, action.loan_number, _whole(action, "fee_id"), actor=who.actor, reason=action.reason,
                    on=current_date(session, who.today))  # fmt: skip
    return Outcome("waived", fee)


def _forbear(session: Session, action: MoneyAction, who: Circumstances) -> Outcome:
    workout = approve_forbearance(
        session, action.loan_number, months=_whole(action, "months"),
        reduced_payment=parse_amount(_text(action, "reduced_payment")), starts_on=_day(action, "starts_on"),
        reason=action.reason, actor=who.actor, now=who.now, case_reference=_text(action, "case_reference") or None,
        disclosure_confirmed=_confirmed(action), letters=who.letters,
    )  # fmt: skip
    return Outcome("placed", workout)


def _workout(session: Session, action: MoneyAction, who: Circumstances) -> Outcome:
    kind = WorkoutKind(action.kind.value)
    rate = parse_rate(_text(action, "modification_rate")) if _text(action, "modification_rate") else None
    months = _whole(action, "months") if _text(action, "months") else None
    workout = approve_workout(
        session, action.loan_number, kind, on=current_date(session, who.today), reason=action.reason,
        actor=who.actor, now=who.now, months=months, modification_rate=rate,
        case_reference=_text(action, "case_reference") or None, disclosure_confirmed=_confirmed(action),
        letters=who.letters,
    )  # fmt: skip
    return Outcome("booked", workout)


def _analyze_escrow(session: Session, action: MoneyAction, who: Circumstances) -> Outcome:
    statement = run_escrow_analysis(
        session, action.loan_number, on=current_date(session, who.today), actor=who.actor, policy=who.escrow_policy,
        reason=action.reason, letters=who.letters,
    )  # fmt: skip
    return Outcome("analyzed", statement)


_PERFORMERS: dict[ActionKind, Callable[[Session, MoneyAction, Circumstances], Outcome]] = {
    ActionKind.PAYMENT: _post_payment,
    ActionKind.REVERSAL: _reverse,
    ActionKind.FEE_WAIVER: _waive,
    ActionKind.FORBEARANCE: _forbear,
    ActionKind.REPAYMENT_PLAN: _workout,
    ActionKind.PAYMENT_DEFERRAL: _workout,
    ActionKind.MODIFICATION: _workout,
    ActionKind.ESCROW_ANALYSIS: _analyze_escrow,
}
