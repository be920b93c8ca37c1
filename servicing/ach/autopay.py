"""Autopay: a borrower's standing authorization to debit their bank account every month, and when it drafts.

Enrolment records the authorization exactly as the borrower was shown it (text, version, language, time,
channel) and sends them a copy to keep (NACHA Rules: the authorization must be readily identifiable, its terms
clear, and the receiver given a copy; Reg E 1005.10(b)). The amount is the amount due, a fixed amount, or the
amount due plus extra principal; the draft is on the due date or a chosen number of days before it, moved to
the next business day when that is no business day. A draft is skipped when the loan is paid ahead (its
installment already paid) and paused while a forbearance is active. The borrower may stop autopay at any time
up to 3 business days before a draft (Reg E 1005.10(c)); later it is refused with the date of the draft.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from servicing.ach.accounts import AccountType, active_bank_account, mask
from servicing.audit import record_audit
from servicing.conversations import UnverifiedDisclosure
from servicing.errors import InvalidInput, LoanNotFound, ServicingError
from servicing.notices import notice_needs_confirmation, notify_borrower
from servicing.queries import require_account
from servicing.rules.account import Account, LoanStatus
from servicing.rules.calendar import add_business_days, is_business_day
from servicing.rules.money import ZERO, is_money, to_money
from servicing.rules.payoff import payoff_quote
from servicing.rules.schedule import due_dates_between
from servicing.speaking import Speaker, say
from servicing.store.models import AchDraft, AutopayEnrolment, BankAccount, Borrower, Loan, ScheduledPayment, Workout
from servicing.store.models import utcnow as _utcnow

AUTHORIZATION_VERSION = "ACH-2026-1"
STOP_NOTICE_BUSINESS_DAYS = 3  # Reg E 1005.10(c)(1): a stop-payment order at least three business days before
MAX_DAYS_BEFORE = 10
ACH_CURRENCY = "USD"  # the ACH network moves US dollars only
LOOK_AHEAD_DAYS = 70  # enough to find the next draft past one skipped month
CHANNELS = ("sms", "telegram", "simulator", "console_phone", "console_written")

AUTHORIZATION = say(
    "Autopay authorization ({version}): I authorize {servicer} to debit my {account_type} account ending in "
    "{last4} every month for {amount} for my loan ending in {loan}, {when}. This authorization stays in force "
    "until I cancel it. I can cancel it by telling {servicer} at {phone} at least 3 business days before a "
    "draft. If my bank returns a draft, a returned-payment fee may be charged where the law allows."
)
AMOUNT_DUE = say("the amount due")
AMOUNT_FIXED = say("a fixed amount of {amount}")
AMOUNT_DUE_PLUS = say("the amount due plus {extra} toward principal")
ON_THE_DUE_DATE = say("on each due date")
ONE_DAY_BEFORE = say("one day before each due date")
DAYS_BEFORE = say("{days} days before each due date")
ACCOUNT_TYPES = {AccountType.CHECKING.value: say("checking"), AccountType.SAVINGS.value: say("savings")}
AUTHORIZATION_COPY = say("Your autopay is set up. Please keep this copy of your authorization, recorded {date}: {text}")


class AutopayRefused(ServicingError):
    """An autopay enrolment or stop that cannot be made; the reason is the message."""


class AmountKind(StrEnum):
    """What each draft takes."""

    DUE = "due"
    FIXED = "fixed"
    DUE_PLUS = "due_plus"


@dataclass(frozen=True)
class AutopayTerms:
    """How much each draft takes and how many days before the due date it is drafted."""

    amount_kind: AmountKind
    fixed_amount: Decimal | None = None
    extra_principal: Decimal = ZERO
    days_before: int = 0

    def check(self, currency: str) -> None:
        """Refuse terms that cannot be drafted, naming the part."""
        fixed = self.fixed_amount or ZERO
        if self.amount_kind is AmountKind.FIXED and (fixed <= 0 or not is_money(fixed, currency)):
            raise InvalidInput(f"a fixed autopay amount must be a positive {currency} amount")
        extra = self.extra_principal
        if self.amount_kind is AmountKind.DUE_PLUS and (extra <= 0 or not is_money(extra, currency)):
            raise InvalidInput(f"extra principal must be a positive {currency} amount")
        if not 0 <= self.days_before <= MAX_DAYS_BEFORE:
            raise InvalidInput(f"autopay drafts from 0 to {MAX_DAYS_BEFORE} days before the due date")


def authorization_text(
    speaker: Speaker, terms: AutopayTerms, *, loan_number: str, currency: str, account_type: str, last4: str,
    servicer: str, phone: str,
) -> str:  # fmt: skip
    """Return the authorization in the borrower's language, with the loan and account masked to their last 4."""
    if terms.amount_kind is AmountKind.FIXED:
        amount = speaker.say(AMOUNT_FIXED, amount=speaker.money(terms.fixed_amount or ZERO, currency))
    elif terms.amount_kind is AmountKind.DUE_PLUS:
        amount = speaker.say(AMOUNT_DUE_PLUS, extra=speaker.money(terms.extra_principal, currency))
    else:
        amount = speaker.say(AMOUNT_DUE)
    if terms.days_before == 0:
        when = speaker.say(ON_THE_DUE_DATE)
    elif terms.days_before == 1:
        when = speaker.say(ONE_DAY_BEFORE)
    else:
        when = speaker.say(DAYS_BEFORE, days=terms.days_before)
    return speaker.say(
        AUTHORIZATION, version=AUTHORIZATION_VERSION, servicer=servicer, account_type=speaker.say(
            ACCOUNT_TYPES[account_type]), last4=last4, amount=amount, loan=loan_number[-4:], when=when, phone=phone,
    )  # fmt: skip


@dataclass(frozen=True)
class Offer:
    """What enrolment will record: the loan, its account on file, and the authorization text to show."""

    loan: Loan
    account: BankAccount
    language: str
    text: str


def autopay_offer(
    session: Session, loan_number: str, terms: AutopayTerms, *, servicer: str, phone: str, language: str | None = None
) -> Offer:
    """Return the authorization a borrower must agree to for these terms; refuse a loan that cannot have autopay."""
    account = require_account(session, loan_number)
    loan = session.get_one(Loan, account.loan_id)
    if account.status is not LoanStatus.ACTIVE:
        raise AutopayRefused(f"loan {loan_number} is {account.status.value.replace('_', ' ')}")
    if account.currency != ACH_CURRENCY:
        raise AutopayRefused(f"autopay drafts US dollars through ACH; loan {loan_number} is in {account.currency}")
    terms.check(account.currency)
    bank = active_bank_account(session, loan.id)
    if bank is None:
        raise AutopayRefused("no bank account on file for this loan: add one first")
    if active_autopay(session, loan.id) is not None:
        raise AutopayRefused("autopay is already on for this loan: stop it first to change its terms")
    locale = language or session.get_one(Borrower, loan.borrower_id).locale
    text = authorization_text(
        Speaker(locale), terms, loan_number=loan_number, currency=account.currency, account_type=bank.account_type,
        last4=bank.account_last4, servicer=servicer, phone=phone,
    )  # fmt: skip
    return Offer(loan, bank, locale, text)


def enrol_autopay(
    session: Session, offer: Offer, terms: AutopayTerms, *, channel: str, actor: str, now: datetime,
    send_copy: bool = True, disclosure_confirmed: bool = False,
) -> AutopayEnrolment:  # fmt: skip
    """Record the borrower's authorization as shown to them and send them a copy to keep; audit it."""
    if channel not in CHANNELS:
        raise InvalidInput(f"channel {channel!r}: expected one of {', '.join(CHANNELS)}")
    loan = offer.loan
    needs_confirmation = notice_needs_confirmation(session, loan.loan_number, now)
    if send_copy and needs_confirmation and not disclosure_confirmed:
        raise UnverifiedDisclosure("the authorization copy")
    enrolment = AutopayEnrolment(
        loan_id=loan.id, bank_account_id=offer.account.id, amount_kind=terms.amount_kind.value,
        fixed_amount=terms.fixed_amount, extra_principal=terms.extra_principal, days_before=terms.days_before,
        status="active", authorization_text=offer.text, authorization_version=AUTHORIZATION_VERSION,
        authorization_language=offer.language, authorized_at=now, channel=channel, enrolled_by=actor,
    )  # fmt: skip
    session.add(enrolment)
    session.flush()
    if send_copy:
        notify_borrower(session, loan, AUTHORIZATION_COPY, now=now, disclosure_confirmed=True, date=now.date(),
                        text=offer.text)  # fmt: skip
    record_audit(session, actor, "autopay.enrolled", "loan", loan.loan_number, {
        "enrolment": enrolment.id, "amount": terms.amount_kind.value, "fixed_amount": str(terms.fixed_amount or ""),
        "extra_principal": str(terms.extra_principal), "days_before": terms.days_before, "channel": channel,
        "version": AUTHORIZATION_VERSION, "account": mask(offer.account.account_last4),
    })  # fmt: skip
    return enrolment


def active_autopay(session: Session, loan_id: int) -> AutopayEnrolment | None:
    """Return a loan's active autopay enrolment, if any."""
    return session.scalar(
        select(AutopayEnrolment).where(AutopayEnrolment.loan_id == loan_id, AutopayEnrolment.status == "active")
    )


def autopay_history(session: Session, loan_number: str) -> list[AutopayEnrolment]:
    """Return a loan's autopay enrolments, newest first."""
    loan_id = session.scalar(select(Loan.id).where(Loan.loan_number == loan_number))
    if loan_id is None:
        raise LoanNotFound(loan_number)
    query = select(AutopayEnrolment).where(AutopayEnrolment.loan_id == loan_id).order_by(AutopayEnrolment.id.desc())
    return list(session.scalars(query))


def stop_autopay(
    session: Session, loan_number: str, *, today: date, country: str, actor: str, reason: str
) -> AutopayEnrolment:
    """Stop autopay at the borrower's request: up to 3 business days before a draft, refused later with its date."""
    if not reason.strip():
        raise InvalidInput("a reason is required")
    account = require_account(session, loan_number)
    enrolment = active_autopay(session, account.loan_id)
    if enrolment is None:
        raise AutopayRefused(f"autopay is not on for loan {loan_number}")
    sent = session.scalar(
        select(func.min(AchDraft.effective_date)).where(
            AchDraft.loan_id == account.loan_id, AchDraft.kind == "autopay", AchDraft.status == "in_transit",
            AchDraft.effective_date >= today,
        )
    )  # fmt: skip
    if sent is not None:
        raise AutopayRefused(f"the draft of {sent.isoformat()} is already sent to the bank; autopay can be stopped "
                             "after it")  # fmt: skip
    upcoming = next_draft(session, enrolment, account, today, country)
    latest = add_business_days(today, STOP_NOTICE_BUSINESS_DAYS, country)
    if upcoming is not None and upcoming < latest:
        raise AutopayRefused(
            f"autopay drafts next on {upcoming.isoformat()}: it can be stopped up to {STOP_NOTICE_BUSINESS_DAYS} "
            "business days before a draft, so this draft will be taken; ask again after it to stop the next ones"
        )
    end_autopay(session, enrolment, loan_number, actor=actor, reason=reason)
    return enrolment


def end_autopay(session: Session, enrolment: AutopayEnrolment, loan_number: str, *, actor: str, reason: str) -> None:
    """Stop an enrolment now, for a reason kept with it and audited (a borrower's request, a bank's return)."""
    enrolment.status, enrolment.stopped_at, enrolment.stopped_by = "stopped", _utcnow(), actor
    enrolment.stop_reason = reason[:200]
    record_audit(session, actor, "autopay.stopped", "loan", loan_number,
                 {"enrolment": enrolment.id, "reason": reason})  # fmt: skip


# -- when and how much autopay drafts ---------------------------------------------------------------------------


def draft_day(due: date, days_before: int, country: str) -> date:
    """Return the effective entry date of the draft for an installment: N days before it, or the next business day."""
    day = due - timedelta(days=days_before)
    return day if is_business_day(day, country) else add_business_days(day, 1, country)


def installment_drafted_on(anchor: date, days_before: int, effective: date, country: str) -> date | None:
    """Return the due date whose draft falls on `effective`, or None."""
    for due in due_dates_between(anchor, effective - timedelta(days=7), effective + timedelta(days=days_before + 7)):
        if draft_day(due, days_before, country) == effective:
            return due
    return None


def in_forbearance(session: Session, loan_ids: Iterable[int], day: date) -> set[int]:
    """Return the loans among `loan_ids` with a forbearance active on `day` (autopay pauses).

    Reads every forbearance active that day (few) rather than naming the loans: an export asks for 100,000.
    """
    query = select(Workout.loan_id).where(
        Workout.kind == "forbearance", Workout.status == "active", Workout.starts_on <= day,
        or_(Workout.ends_on.is_(None), Workout.ends_on >= day),
    )  # fmt: skip
    return set(session.scalars(query)) & set(loan_ids)


def draft_amount(terms: AutopayTerms, account: Account, due: date, effective: date, pending: Decimal) -> Decimal:
    """Return what one draft takes (0: skip it): the terms' amount, less one-time payments pending, at most the payoff.

    Paid ahead (the installment of `due` already paid) takes nothing.
    """
    if account.status is not LoanStatus.ACTIVE or account.next_due_date > due:
        return ZERO
    currency = account.currency
    if terms.amount_kind is AmountKind.FIXED:
        amount = to_money(terms.fixed_amount or ZERO, currency)
    else:
        amount = account.amount_due(due) - pending
        if amount > 0 and terms.amount_kind is AmountKind.DUE_PLUS:
            amount += to_money(terms.extra_principal, currency)
    if amount <= 0:
        return ZERO
    balances = account.balances
    if amount <= balances.principal - balances.suspense:  # the payoff is never less: no need to quote it
        return amount
    return min(amount, payoff_quote(account, effective, effective).total)


def next_draft(
    session: Session, enrolment: AutopayEnrolment, account: Account, today: date, country: str
) -> date | None:
    """Return the next day autopay will draft on or after `today` (skipped and paused months passed over)."""
    for due in due_dates_between(account.schedule_anchor, today, today + timedelta(days=LOOK_AHEAD_DAYS)):
        day = draft_day(due, enrolment.days_before, country)
        if day < today or account.next_due_date > due:
            continue
        if account.loan_id in in_forbearance(session, [account.loan_id], day):
            continue
        return day
    return None


def next_autopay_draft(session: Session, loan_number: str, *, today: date, country: str) -> date | None:
    """Return the day autopay next drafts the loan on or after `today`, or None (no autopay, or nothing to draft).

    For reminders and statements ("autopay will draft on ..."): the same rule the export follows.
    """
    account = require_account(session, loan_number)
    enrolment = active_autopay(session, account.loan_id)
    return None if enrolment is None else next_draft(session, enrolment, account, today, country)


def pending_one_time(session: Session, loan_ids: Iterable[int], through: date) -> dict[int, Decimal]:
    """Return, per loan, one-time payments scheduled or in transit up to `through`: autopay takes that much less."""
    wanted = set(loan_ids)
    query = (
        select(ScheduledPayment.loan_id, func.sum(ScheduledPayment.amount))
        .where(ScheduledPayment.status.in_(("scheduled", "in_transit")), ScheduledPayment.scheduled_for <= through)
        .group_by(ScheduledPayment.loan_id)
    )
    return {loan_id: Decimal(total) for loan_id, total in session.execute(query) if loan_id in wanted}
