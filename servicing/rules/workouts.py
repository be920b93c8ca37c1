"""The workout calculators: forbearance, repayment plans, payment deferral and the modification waterfall.

Pure functions over an `Account`: the use cases in `servicing.workouts` apply them to a loan, and
the console and the demo call them to show a borrower the figures.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal
from enum import StrEnum
from typing import Any

from dateutil.relativedelta import relativedelta

from servicing.errors import WorkoutRefused
from servicing.rules.account import Account, FeeKind, LoanStatus, paid_through_for_due
from servicing.rules.interest import Compounding, level_payment, periodic_rate
from servicing.rules.ledger import EntryKind, LedgerLine
from servicing.rules.money import ZERO, is_money, minor_unit, precise_power, to_money

FORBEARANCE_MONTHS = range(3, 13)
REPAYMENT_PLAN_MONTHS = range(2, 13)
DEFERRAL_MONTHS = range(1, 13)
MAX_TERM_MONTHS = 480
TARGET_REDUCTION = Decimal("0.20")
MAX_FORBORNE_SHARE = Decimal("0.30")  # Fannie Mae Flex Modification: at most 30% of the capitalized UPB


class WorkoutKind(StrEnum):
    """The loss-mitigation options a servicer can offer."""

    FORBEARANCE = "forbearance"
    REPAYMENT_PLAN = "repayment_plan"
    PAYMENT_DEFERRAL = "payment_deferral"
    MODIFICATION = "modification"


class WorkoutStatus(StrEnum):
    """Where a workout stands: being kept, done, ended early, or broken by the borrower."""

    ACTIVE = "active"
    COMPLETED = "completed"
    ENDED = "ended"
    BROKEN = "broken"


# -- what every option needs ----------------------------------------------------------------------


def check_workable(account: Account) -> None:
    """Refuse a workout on a loan that is paid off or charged off."""
    if account.status is not LoanStatus.ACTIVE:
        raise WorkoutRefused(f"loan {account.loan_number} is {account.status.value.replace('_', ' ')}")


def _check_months(option: str, months: int, allowed: range) -> None:
    if months not in allowed:
        raise WorkoutRefused(f"a {option} runs {allowed.start} to {allowed.stop - 1} months, not {months}")


def regular_installment(account: Account) -> Decimal:
    """Return the regular monthly installment, principal and interest plus escrow, in the loan's currency."""
    return account.monthly_payment + account.escrow_monthly


def arrears(account: Account, as_of: date) -> Decimal:
    """Return the arrears on `as_of` (loan currency): unpaid installments due plus fees, less suspense."""
    if not account.installments_due_by(as_of):
        return max(ZERO, account.balances.fees - account.balances.suspense)
    return account.amount_due(as_of)


def _first_installment_on_or_after(account: Account, day: date) -> int:
    """Return the number of the first unpaid installment due on or after `day`."""
    number = account.installments_paid + 1
    while account.due_date(number) < day:
        number += 1
    return number


def _unpaid_due_dates(account: Account, start: date, end: date) -> list[date]:
    """Return the due dates of unpaid installments falling due from `start` through `end`."""
    dates = []
    for number in range(account.installments_paid + 1, account.term_months + 1):
        due = account.due_date(number)
        if due > end:
            break
        if due >= start:
            dates.append(due)
    return dates


def _floor_money(amount: Decimal, currency: str) -> Decimal:
    """Round an amount down to the currency's minor units (a ceiling a payment must not exceed)."""
    return amount.quantize(minor_unit(currency), rounding=ROUND_FLOOR)


# -- forbearance --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForbearanceTerms:
    """A forbearance's figures, amounts in the loan's currency."""

    loan_number: str
    currency: str
    starts_on: date
    ends_on: date
    months: int
    regular_payment: Decimal
    reduced_payment: Decimal
    due_dates: tuple[date, ...]
    arrears_at_start: Decimal

    @property
    def shortfall_per_month(self) -> Decimal:
        """Return how much less than the regular installment the borrower pays each month."""
        return self.regular_payment - self.reduced_payment

    @property
    def projected_arrears(self) -> Decimal:
        """Return the arrears left at the end if every reduced payment is made."""
        return self.arrears_at_start + self.shortfall_per_month * len(self.due_dates)

    def to_terms(self) -> dict[str, Any]:
        """Return the terms as JSON-friendly data for the workout row."""
        return {
            "months": self.months,
            "regular_payment": str(self.regular_payment),
            "reduced_payment": str(self.reduced_payment),
            "due_dates": [d.isoformat() for d in self.due_dates],
            "arrears_at_start": str(self.arrears_at_start),
            "projected_arrears": str(self.projected_arrears),
            "planned_ends_on": self.ends_on.isoformat(),
        }


def forbearance_terms(account: Account, months: int, reduced_payment: Decimal, starts_on: date) -> ForbearanceTerms:
    """Work out a forbearance: the due dates it covers, the reduced payment and the arrears it leaves."""
    check_workable(account)
    _check_months("forbearance", months, FORBEARANCE_MONTHS)
    regular = regular_installment(account)
    if reduced_payment < 0 or not is_money(reduced_payment, account.currency):
        raise WorkoutRefused(f"reduced payment {reduced_payment} is not an amount of {account.currency}")
    if reduced_payment >= regular:
        raise WorkoutRefused(f"reduced payment {reduced_payment} is not below the regular installment {regular}")
    ends_on = starts_on + relativedelta(months=months) - timedelta(days=1)
    due_dates = tuple(_unpaid_due_dates(account, starts_on, ends_on))
    if not due_dates:
        raise WorkoutRefused(f"no installment of loan {account.loan_number} falls due during the forbearance")
    return ForbearanceTerms(
        loan_number=account.loan_number,
        currency=account.currency,
        starts_on=starts_on,
        ends_on=ends_on,
        months=months,
        regular_payment=regular,
        reduced_payment=reduced_payment,
        due_dates=due_dates,
        arrears_at_start=arrears(account, starts_on - timedelta(days=1)),
    )


def forgive_forbearance_late_fees(account: Account, starts_on: date, through: date) -> None:
    """Spare every unpaid installment due by `through` a late fee: it fell due during a forbearance."""
    if through < starts_on:
        return
    covered = _unpaid_due_dates(account, date.min, through)
    if covered and (account.late_fee_through is None or covered[-1] > account.late_fee_through):
        account.late_fee_through = covered[-1]


# -- repayment plan ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RepaymentPlanLine:
    """One month of a repayment plan, amounts in the loan's currency."""

    month: int
    due_date: date
    regular_payment: Decimal
    arrears_share: Decimal

    @property
    def total(self) -> Decimal:
        """Return what the borrower pays that month."""
        return self.regular_payment + self.arrears_share


@dataclass(frozen=True)
class RepaymentPlan:
    """Arrears spread over some months on top of the regular installment, in the loan's currency."""

    loan_number: str
    currency: str
    starts_on: date
    arrears: Decimal
    lines: tuple[RepaymentPlanLine, ...]

    @property
    def months(self) -> int:
        """Return how many months the plan runs."""
        return len(self.lines)

    @property
    def ends_on(self) -> date:
        """Return the due date of the plan's last payment."""
        return self.lines[-1].due_date

    def to_terms(self) -> dict[str, Any]:
        """Return the plan as JSON-friendly data for the workout row."""
        return {
            "months": self.months,
            "arrears": str(self.arrears),
            "lines": [
                {
                    "month": line.month,
                    "due_date": line.due_date.isoformat(),
                    "regular_payment": str(line.regular_payment),
                    "arrears_share": str(line.arrears_share),
                    "total": str(line.total),
                }
                for line in self.lines
            ],
        }


def repayment_plan(account: Account, months: int, starts_on: date) -> RepaymentPlan:
    """Spread the arrears over `months` on top of the regular installment; the last share absorbs rounding."""
    check_workable(account)
    _check_months("repayment plan", months, REPAYMENT_PLAN_MONTHS)
    first = _first_installment_on_or_after(account, starts_on)
    if first + months - 1 > account.term_months:
        raise WorkoutRefused(f"a {months}-month plan would run past the last installment of {account.loan_number}")
    as_of = account.due_date(first) - timedelta(days=1)
    owed = arrears(account, as_of)
    if not account.installments_due_by(as_of) or owed <= 0:
        raise WorkoutRefused(f"loan {account.loan_number} has no arrears to repay")
    shares = _arrears_shares(owed, months, account.currency)
    regular = regular_installment(account)
    lines = tuple(
        RepaymentPlanLine(month, account.due_date(first + month - 1), regular, share)
        for month, share in enumerate(shares, start=1)
    )
    return RepaymentPlan(account.loan_number, account.currency, starts_on, owed, lines)


def _arrears_shares(owed: Decimal, months: int, currency: str) -> list[Decimal]:
    """Split the arrears into equal monthly shares, the last one taking the rounding difference."""
    share = to_money(owed / months, currency)
    last = owed - share * (months - 1)
    if last < 0:
        raise WorkoutRefused(f"arrears of {owed} are too small to spread over {months} months")
    return [share] * (months - 1) + [last]


# -- payment deferral ---------------------------------------------------------------------------------


def deferral(account: Account, months: int, on: date) -> list[LedgerLine]:
    """Move the past-due principal and interest of up to `months` installments to the deferred balance."""
    check_workable(account)
    _check_months("payment deferral", months, DEFERRAL_MONTHS)
    due = account.installments_due_by(on)
    if not due:
        raise WorkoutRefused(f"loan {account.loan_number} is current on {on.isoformat()}: nothing to defer")
    if due[-1] >= account.term_months:
        raise WorkoutRefused(f"loan {account.loan_number} has reached its last installment: nothing to defer to")
    if len(due) > months:
        raise WorkoutRefused(
            f"{len(due)} installments are past due; deferring {months} would not make the loan current"
        )
    if account.is_scheduled:
        return _defer_scheduled(account, due, on)
    return _defer_daily_simple(account, due, on)


def _defer_scheduled(account: Account, numbers: list[int], on: date) -> list[LedgerLine]:
    """Defer whole installments exactly as paying them would split them: interest, then principal (30/360)."""
    lines: list[LedgerLine] = []
    for number in numbers:
        _, principal, interest = account.principal_and_interest(number, account.balances.principal)
        if interest:
            lines.append(
                account.book(EntryKind.INTEREST_ACCRUAL, on, f"interest, installment {number}", interest=interest)
            )
        lines.append(
            account.book(
                EntryKind.DEFERRAL,
                on,
                f"installment {number} deferred",
                principal=-principal,
                interest=-interest,
                deferred=principal + interest,
            )
        )
        account.interest_paid_through = paid_through_for_due(account.due_date(number))
        account.installments_paid = number
    return lines


def _defer_daily_simple(account: Account, numbers: list[int], on: date) -> list[LedgerLine]:
    """Defer what the past-due installments still owe: interest to the last due date first, then principal."""
    last_due = account.due_date(numbers[-1])
    past_due = max(ZERO, account.monthly_payment * len(numbers) - account.dsi_credit)
    lines: list[LedgerLine] = []
    accrued = account.interest_through(last_due)
    if accrued:
        lines.append(
            account.book(EntryKind.INTEREST_ACCRUAL, on, f"interest to {last_due.isoformat()}", interest=accrued)
        )
    account.interest_paid_through = max(account.interest_paid_through, last_due)
    interest = min(past_due, account.balances.interest)
    principal = min(past_due - interest, account.balances.principal)
    lines.append(
        account.book(
            EntryKind.DEFERRAL,
            on,
            f"installments {numbers[0]}-{numbers[-1]} deferred",
            principal=-principal,
            interest=-interest,
            deferred=principal + interest,
        )
    )
    account.installments_paid = numbers[-1]
    account.dsi_credit = ZERO
    return lines


# -- modification -----------------------------------------------------------------------------------


class ModificationStepName(StrEnum):
    """The modification waterfall's steps, in the order they are tried."""

    CAPITALIZE_ARREARS = "capitalize_arrears"
    REDUCE_RATE = "reduce_rate"
    EXTEND_TERM = "extend_term"
    FORBEAR_PRINCIPAL = "forbear_principal"


@dataclass(frozen=True)
class ModificationStep:
    """The loan's terms after one waterfall step and the monthly P&I they give, in the loan's currency."""

    name: ModificationStepName
    applied: bool
    principal: Decimal
    annual_rate: Decimal
    term_months: int
    forborne: Decimal
    payment: Decimal


@dataclass(frozen=True)
class ModificationPlan:
    """A modification worked out step by step; the last step holds the new terms."""

    loan_number: str
    currency: str
    modified_on: date
    first_due_date: date
    interest_paid_through: date
    principal_before: Decimal
    payment_before: Decimal
    target_payment: Decimal
    capitalized_interest: Decimal
    capitalized_escrow_advance: Decimal
    waived_late_fees: Decimal
    steps: tuple[ModificationStep, ...]

    @property
    def final(self) -> ModificationStep:
        """Return the terms the modification ends with."""
        return self.steps[-1]

    @property
    def payment(self) -> Decimal:
        """Return the new monthly principal-and-interest payment."""
        return self.final.payment

    @property
    def meets_target(self) -> bool:
        """Tell whether the new payment is at least the target reduction lower than before."""
        return self.payment <= self.target_payment

    def to_terms(self) -> dict[str, Any]:
        """Return the plan as JSON-friendly data for the workout row."""
        return {
            "first_due_date": self.first_due_date.isoformat(),
            "interest_paid_through": self.interest_paid_through.isoformat(),
            "payment_before": str(self.payment_before),
            "target_payment": str(self.target_payment),
            "capitalized_interest": str(self.capitalized_interest),
            "capitalized_escrow_advance": str(self.capitalized_escrow_advance),
            "waived_late_fees": str(self.waived_late_fees),
            "meets_target": self.meets_target,
            "steps": [
                {
                    "name": s.name.value,
                    "applied": s.applied,
                    "principal": str(s.principal),
                    "annual_rate": str(s.annual_rate),
                    "term_months": s.term_months,
                    "forborne": str(s.forborne),
                    "payment": str(s.payment),
                }
                for s in self.steps
            ],
        }


@dataclass(frozen=True)
class _Waterfall:
    """What the waterfall's steps need besides the previous step."""

    currency: str
    compounding: Compounding
    modification_rate: Decimal
    max_term_months: int
    max_forborne_share: Decimal
    target_payment: Decimal

    def payment(self, principal: Decimal, annual_rate: Decimal, term_months: int) -> Decimal:
        """Return the level monthly P&I of some terms."""
        return level_payment(principal, annual_rate, term_months, self.currency, self.compounding)


def modification_waterfall(
    account: Account,
    modification_rate: Decimal,
    on: date,
    max_term_months: int = MAX_TERM_MONTHS,
    target_reduction: Decimal = TARGET_REDUCTION,
    max_forborne_share: Decimal = MAX_FORBORNE_SHARE,
) -> ModificationPlan:
    """Work out a modification step by step, stopping as soon as the payment is low enough."""
    check_workable(account)
    if not ZERO <= modification_rate < 1:
        raise WorkoutRefused(f"modification rate {modification_rate} is not a rate (write 0.04 for 4%)")
    first = _first_installment_after(account, on)
    paid_through = _capitalized_through(account, first, on)
    interest = account.balances.interest + account.interest_through(paid_through)
    advance = max(ZERO, -account.balances.escrow)
    rules = _Waterfall(
        account.currency,
        account.compounding,
        modification_rate,
        max_term_months,
        max_forborne_share,
        _floor_money(account.monthly_payment * (1 - target_reduction), account.currency),
    )
    steps = [_capitalize_arrears(account, interest + advance, max(1, account.term_months - first + 1), rules)]
    for next_step in (_reduce_rate, _extend_term, _forbear_principal):
        if steps[-1].payment <= rules.target_payment:
            break
        steps.append(next_step(steps[-1], rules))
    return ModificationPlan(
        loan_number=account.loan_number,
        currency=account.currency,
        modified_on=on,
        first_due_date=account.due_date(first),
        interest_paid_through=paid_through,
        principal_before=account.balances.principal,
        payment_before=account.monthly_payment,
        target_payment=rules.target_payment,
        capitalized_interest=interest,
        capitalized_escrow_advance=advance,
        waived_late_fees=_open_late_fees(account),
        steps=tuple(steps),
    )


def _first_installment_after(account: Account, on: date) -> int:
    """Return the number, on the current schedule, of the first installment due after `on`."""
    return _first_installment_on_or_after(account, on + timedelta(days=1))


def _capitalized_through(account: Account, first: int, on: date) -> date:
    """Return the date unpaid interest is capitalized through (the new interest-paid-through date)."""
    if not account.is_scheduled:
        return max(on, account.interest_paid_through)
    if first - 1 > account.installments_paid:
        return paid_through_for_due(account.due_date(first - 1))
    return account.interest_paid_through


def _open_late_fees(account: Account) -> Decimal:
    return sum((f.outstanding for f in account.open_fees if f.kind is FeeKind.LATE), ZERO)


def _capitalize_arrears(
    account: Account, capitalized: Decimal, remaining_term: int, rules: _Waterfall
) -> ModificationStep:
    """Add unpaid interest and escrow advances to principal and re-amortize over the remaining term."""
    principal = account.balances.principal + capitalized
    return ModificationStep(
        ModificationStepName.CAPITALIZE_ARREARS,
        capitalized > 0,
        principal,
        account.annual_rate,
        remaining_term,
        ZERO,
        rules.payment(principal, account.annual_rate, remaining_term),
    )


def _reduce_rate(previous: ModificationStep, rules: _Waterfall) -> ModificationStep:
    """Set the rate to the modification rate when that is lower."""
    if rules.modification_rate >= previous.annual_rate:
        return replace(previous, name=ModificationStepName.REDUCE_RATE, applied=False)
    return replace(
        previous,
        name=ModificationStepName.REDUCE_RATE,
        applied=True,
        annual_rate=rules.modification_rate,
        payment=rules.payment(previous.principal, rules.modification_rate, previous.term_months),
    )


def _extend_term(previous: ModificationStep, rules: _Waterfall) -> ModificationStep:
    """Extend the term to the longest allowed, counted from the first new due date."""
    if rules.max_term_months <= previous.term_months:
        return replace(previous, name=ModificationStepName.EXTEND_TERM, applied=False)
    return replace(
        previous,
        name=ModificationStepName.EXTEND_TERM,
        applied=True,
        term_months=rules.max_term_months,
        payment=rules.payment(previous.principal, previous.annual_rate, rules.max_term_months),
    )


def _forbear_principal(previous: ModificationStep, rules: _Waterfall) -> ModificationStep:
    """Move principal to the interest-free balance until the payment meets the target, within the cap."""
    keep = principal_for_payment(
        rules.target_payment, previous.annual_rate, previous.term_months, rules.currency, rules.compounding
    )
    cap = to_money(previous.principal * rules.max_forborne_share, rules.currency)
    forborne = max(ZERO, min(previous.principal - keep, cap))
    principal = previous.principal - forborne
    return replace(
        previous,
        name=ModificationStepName.FORBEAR_PRINCIPAL,
        applied=forborne > 0,
        principal=principal,
        forborne=forborne,
        payment=rules.payment(principal, previous.annual_rate, previous.term_months),
    )


def principal_for_payment(
    payment: Decimal, annual_rate: Decimal, term_months: int, currency: str, compounding: Compounding
) -> Decimal:
    """Return the largest principal (loan currency) whose level monthly payment is at most `payment`."""
    rate = periodic_rate(annual_rate, compounding)
    factor = Decimal(term_months) if rate == 0 else (1 - precise_power(1 + rate, Decimal(-term_months))) / rate
    unit = minor_unit(currency)
    # a payment rounds half-up, so any principal below (payment + half a unit) x factor still fits
    principal = _floor_money((payment + unit / 2) * factor, currency)
    while principal > 0 and level_payment(principal, annual_rate, term_months, currency, compounding) > payment:
        principal -= unit
    return max(principal, ZERO)


def apply_modification(account: Account, plan: ModificationPlan, on: date) -> list[LedgerLine]:
    """Book a modification plan: waive late fees, capitalize arrears, forbear principal, set the new terms."""
    check_workable(account)
    _check_plan_fits(account, plan, on)
    lines = _waive_late_fees(account, on)
    accrued = account.interest_through(plan.interest_paid_through)
    if accrued:
        lines.append(account.book(EntryKind.INTEREST_ACCRUAL, on, "interest to modification", interest=accrued))
    if plan.capitalized_interest:
        interest = plan.capitalized_interest
        lines.append(
            account.book(
                EntryKind.CAPITALIZATION,
                on,
                "unpaid interest capitalized",
                principal=interest,
                interest=-interest,
            )
        )
    if plan.capitalized_escrow_advance:
        advance = plan.capitalized_escrow_advance
        lines.append(
            account.book(EntryKind.CAPITALIZATION, on, "escrow advance capitalized", principal=advance, escrow=advance)
        )
    final = plan.final
    if final.forborne:
        lines.append(
            account.book(
                EntryKind.DEFERRAL,
                on,
                "principal forbearance",
                principal=-final.forborne,
                deferred=final.forborne,
            )
        )
    _set_modified_terms(account, plan)
    return lines


def _check_plan_fits(account: Account, plan: ModificationPlan, on: date) -> None:
    """Refuse a plan worked out for another loan, another day, or balances that have since moved."""
    if plan.loan_number != account.loan_number or plan.modified_on != on:
        raise WorkoutRefused(f"the plan was worked out for {plan.loan_number} on {plan.modified_on.isoformat()}")
    fits = (
        account.balances.principal == plan.principal_before
        and account.balances.interest + account.interest_through(plan.interest_paid_through)
        == plan.capitalized_interest
        and max(ZERO, -account.balances.escrow) == plan.capitalized_escrow_advance
        and _open_late_fees(account) == plan.waived_late_fees
    )
    if not fits:
        raise WorkoutRefused(f"loan {account.loan_number} changed since the plan was worked out; work it out again")


def _waive_late_fees(account: Account, on: date) -> list[LedgerLine]:
    """Waive every open late fee, one ledger line per fee."""
    waived = account.take_fees(_open_late_fees(account), (FeeKind.LATE,))
    return [
        account.book(EntryKind.FEE_WAIVED, on, f"late fee #{seq} waived in modification", fees=-amount)
        for seq, amount in waived
    ]


def _set_modified_terms(account: Account, plan: ModificationPlan) -> None:
    """Start the new schedule: rate, term, payment, first due date, nothing paid on it yet."""
    final = plan.final
    account.annual_rate = final.annual_rate
    account.term_months = final.term_months
    account.monthly_payment = final.payment
    account.schedule_anchor = plan.first_due_date
    account.installments_paid = 0
    account.interest_paid_through = plan.interest_paid_through
    account.dsi_credit = ZERO
