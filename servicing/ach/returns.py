"""Returns and notifications of change: a bank's NACHA file read and applied whole, once, in one transaction.

Every entry must carry a return (addenda 99) or a notification of change (addenda 98) about one of our drafts,
found by the original entry's trace number. The file is refused whole, naming the line, when it does not fit
the NACHA layout, names a trace number we never sent, repeats one, or returns a draft already returned;
a file already applied (same SHA-256) is refused too. Otherwise, per entry (docs/ach.md has the table):

- R01, R09 (insufficient or uncollected funds): the payment is reversed, a returned-payment fee charged where
  allowed (`returned_payment_fee`), the borrower told; autopay stays on.
- any other return (R02 account closed, R03 no account, R04 invalid number, R10 not authorized, R16 frozen ...):
  the payment is reversed, autopay stopped with the reason, the borrower told.
- C01, C02, C03, C05, C06, C07: the account on file is corrected (a new account replaces it, audited masked);
  other change codes are recorded only.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from servicing.ach.accounts import AccountType, add_bank_account, check_bank_details, mask
from servicing.ach.autopay import active_autopay, end_autopay
from servicing.ach.nacha import Entry, NachaError, read_file
from servicing.ach.vault import Vault
from servicing.audit import record_audit
from servicing.errors import InvalidInput, ServicingError
from servicing.notices import Phrases, notify_borrower
from servicing.payments import PaymentInstruction, post_payments, reverse_payment
from servicing.rules.money import to_money
from servicing.speaking import say
from servicing.store.bulk import chunked
from servicing.store.models import AchDraft, AchFile, AchReturn, BankAccount, Loan, Payment, ScheduledPayment, Workout

INSUFFICIENT_FUNDS = frozenset({"R01", "R09"})
REASONS = {
    "R01": say("insufficient funds"),
    "R02": say("the account is closed"),
    "R03": say("no account was found with that number"),
    "R04": say("the account number is not valid"),
    "R07": say("the authorization was revoked"),
    "R08": say("the payment was stopped"),
    "R09": say("uncollected funds"),
    "R10": say("the account holder says the debit was not authorized"),
    "R16": say("the account is frozen"),
    "R20": say("the account does not allow these payments"),
}
OTHER_REASON = say("the bank could not take the payment")
DESCRIPTIONS = {
    "R01": "insufficient funds", "R02": "account closed", "R03": "no account / unable to locate account",
    "R04": "invalid account number", "R05": "unauthorized debit to consumer account",
    "R06": "returned per ODFI request",
    "R07": "authorization revoked by customer", "R08": "payment stopped", "R09": "uncollected funds",
    "R10": "customer advises not authorized", "R11": "not in accordance with the authorization",
    "R12": "account sold to another bank", "R14": "representative payee deceased", "R15": "account holder deceased",
    "R16": "account frozen", "R20": "non-transaction account", "R29": "corporate customer advises not authorized",
}  # fmt: skip
RETURNED_FUNDS = say(
    "Your bank returned the payment of {date} for your loan ending in {ending}: {reason}. The payment was reversed. "
    "Autopay stays on; please make sure the funds are there for the next draft, or call us at {phone}."
)
RETURNED_FUNDS_FEE = say(
    "Your bank returned the payment of {date} for your loan ending in {ending}: {reason}. The payment was reversed "
    "and a returned-payment fee was charged. Autopay stays on; please make sure the funds are there for the next "
    "draft, or call us at {phone}."
)
RETURNED_AUTOPAY_STOPPED = say(
    "Your bank returned the payment of {date} for your loan ending in {ending}: {reason}. The payment was reversed "
    "and autopay is stopped. Please call us at {phone} to set up your bank account again."
)
RETURNED_UPDATE_ACCOUNT = say(
    "Your bank returned the payment of {date} for your loan ending in {ending}: {reason}. The payment was reversed. "
    "Please call us at {phone} to update your bank account."
)
CHANGE_CODES_APPLIED = frozenset({"C01", "C02", "C03", "C05", "C06", "C07"})


class ReturnsRefused(ServicingError):
    """A returns file that is not applied at all; the reason is the message."""


@dataclass
class ReturnsReport:
    """What a returns file did."""

    returns: list[tuple[str, str, str]] = field(default_factory=list)  # (loan, code, outcome)
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    reversed_payments: int = 0
    autopay_stopped: int = 0
    fees_charged: int = 0
    borrowers_told: int = 0


@dataclass(frozen=True)
class ReturnsContext:
    """What applying a file needs besides the session: the day, who, the fee, the servicer's phone, the vault."""

    business_date: date
    today: date
    now: datetime
    actor: str
    returned_payment_fee: Decimal
    servicer_phone: str
    vault: Vault


def apply_returns_file(session: Session, data: bytes, context: ReturnsContext, *, name: str = "") -> ReturnsReport:
    """Apply a bank's returns and notifications of change; refuse the file whole, with the line, or apply it all."""
    digest = hashlib.sha256(data).hexdigest()
    applied = session.scalar(select(AchFile).where(AchFile.direction == "in", AchFile.sha256 == digest))
    if applied is not None:
        raise ReturnsRefused(f"this file was already applied on {applied.business_date.isoformat()} (same SHA-256)")
    nacha = read_file(data)
    items = [(entry, _addenda_of(entry)) for entry in nacha.entries()]
    drafts = _drafts_by_trace(session, items)
    record = AchFile(direction="in", created_at=context.now, created_by=context.actor,
                     business_date=context.business_date, sha256=digest, entries=len(items),
                     debit_total=sum((Decimal(e.amount_cents) / 100 for e, _ in items if not _is_change(e)),
                                     Decimal(0)), name=name[:200])  # fmt: skip
    session.add(record)
    session.flush()
    report = ReturnsReport()
    for entry, (kind, code, trace) in items:
        draft = drafts[trace]
        try:
            if kind == "return":
                outcome = _apply_return(session, draft, code, context, report)
            else:
                outcome = _apply_change(session, draft, code, entry, context, report)
        except NachaError:
            raise
        except ServicingError as refused:  # the core refuses it (a payment a specialist already reversed ...)
            raise ReturnsRefused(f"line {entry.line + 1}: {code} for trace number {trace}: {refused}") from refused
        session.add(AchReturn(file_id=record.id, draft_id=draft.id, kind=kind, code=code, line=entry.line,
                              business_date=context.business_date, outcome=outcome[:200]))  # fmt: skip
    record_audit(session, context.actor, "ach.returns_applied", "ach_file", str(record.id), {
        "sha256": digest, "returns": len(report.returns), "changes": len(report.changes),
    })  # fmt: skip
    return report


def _is_change(entry: Entry) -> bool:
    return bool(entry.addenda) and entry.addenda[0].addenda_type == "98"


def _addenda_of(entry: Entry) -> tuple[str, str, str]:
    """Return (return | change, its code, the original trace number), or refuse an entry that is neither."""
    kinds = {"99": "return", "98": "change"}
    if len(entry.addenda) != 1 or entry.addenda[0].addenda_type not in kinds:
        raise NachaError(entry.line, "an entry of a returns file needs one return (99) or change (98) addenda")
    addenda = entry.addenda[0]
    kind, code = kinds[addenda.addenda_type], addenda.code
    prefix = "R" if kind == "return" else "C"
    if len(code) != 3 or code[0] != prefix or not code[1:].isdigit():
        raise NachaError(entry.line + 1, f"{code!r} is not a {kind} code ({prefix} and two digits)")
    return kind, code, addenda.original_trace


def _drafts_by_trace(session: Session, items: Sequence[tuple[Entry, tuple[str, str, str]]]) -> dict[str, AchDraft]:
    """Return our drafts by trace number; refuse the file at the first unknown, repeated or already returned one."""
    traces = [trace for _, (_, _, trace) in items]
    found: dict[str, AchDraft] = {}
    for part in chunked(traces):
        query = select(AchDraft).where(AchDraft.trace_number.in_(part)).with_for_update()
        found.update((d.trace_number, d) for d in session.scalars(query))
    seen: dict[str, int] = {}
    for entry, (kind, _, trace) in items:
        line = entry.line + 1  # the addenda record names the trace
        draft = found.get(trace)
        if draft is None:
            raise NachaError(line, f"unknown trace number {trace}: no draft of ours has it")
        key = f"{kind}:{trace}"
        if key in seen:
            raise NachaError(line, f"trace number {trace} has a second {kind} in this file (first on line "
                                   f"{seen[key]})")  # fmt: skip
        seen[key] = line
        if kind == "return" and draft.status == "returned":
            raise NachaError(line, f"the draft {trace} was already returned ({draft.return_code}) on "
                                   f"{draft.returned_on}")  # fmt: skip
    return found


def _apply_return(session: Session, draft: AchDraft, code: str, context: ReturnsContext, report: ReturnsReport) -> str:
    loan = session.get_one(Loan, draft.loan_id)
    if draft.status == "in_transit" and draft.effective_date <= context.today:
        _settle_now(session, draft, loan, context)  # returned on the day it settles: post it, then reverse it
    fee = None
    if draft.status == "posted":
        fee = returned_payment_fee(session, draft.loan_id, code, context.returned_payment_fee, context.business_date)
        reverse_payment(session, draft.reference, reason=f"ACH return {code}: {DESCRIPTIONS.get(code, 'returned')}",
                        today=context.business_date, business_date=context.business_date, actor=context.actor,
                        returned_payment_fee=fee)  # fmt: skip
        report.reversed_payments += 1
        report.fees_charged += 1 if fee else 0
    draft.status, draft.return_code, draft.returned_on = "returned", code, context.business_date
    if draft.kind == "scheduled":
        _mark_one_time(session, draft.source_reference, "returned", f"ACH return {code}")
    stopped = False
    if code not in INSUFFICIENT_FUNDS:
        enrolment = active_autopay(session, draft.loan_id)
        if enrolment is not None:
            end_autopay(session, enrolment, loan.loan_number, actor=context.actor,
                        reason=f"ACH return {code}: {DESCRIPTIONS.get(code, 'returned by the bank')}")  # fmt: skip
            report.autopay_stopped += 1
            stopped = True
    _tell_borrower(session, loan, draft, code, fee is not None, stopped, context, report)
    outcome = (f"payment {draft.reference} reversed" if draft.payment_id else "draft returned before it posted") + (
        "; returned-payment fee charged" if fee else "") + ("; autopay stopped" if stopped else "")  # fmt: skip
    report.returns.append((loan.loan_number, code, outcome))
    return outcome


def returned_payment_fee(session: Session, loan_id: int, code: str, configured: Decimal, on: date) -> Decimal | None:
    """Return the returned-payment fee this return may carry, or None.

    Charged only for insufficient or uncollected funds (R01, R09), only when the servicer set one
    (LOANLINE_ACH_RETURNED_PAYMENT_FEE; none by default, docs/decisions.md), and never while a forbearance or
    repayment plan is active (as late fees are not: the borrower is being helped to catch up).
    """
    if code not in INSUFFICIENT_FUNDS or configured <= 0:
        return None
    in_workout = session.scalar(
        select(Workout.id).where(
            Workout.loan_id == loan_id, Workout.status == "active", Workout.kind.in_(("forbearance", "repayment_plan")),
            Workout.starts_on <= on, or_(Workout.ends_on.is_(None), Workout.ends_on >= on),
        ).limit(1)
    )  # fmt: skip
    return None if in_workout is not None else configured


def _settle_now(session: Session, draft: AchDraft, loan: Loan, context: ReturnsContext) -> None:
    instruction = PaymentInstruction(loan.loan_number, to_money(draft.amount, loan.currency), draft.effective_date,
                                     draft.reference, method="ach", source="ach")  # fmt: skip
    posted = post_payments(session, [instruction], today=context.today, business_date=context.business_date,
                           actor=context.actor)  # fmt: skip
    if posted.posted or posted.already_posted:
        draft.payment_id = session.scalar(select(Payment.id).where(Payment.reference == draft.reference))
        draft.status, draft.settled_on = "posted", context.business_date


def _mark_one_time(session: Session, reference: str, status: str, reason: str) -> None:
    scheduled = session.scalar(select(ScheduledPayment).where(ScheduledPayment.reference == reference))
    if scheduled is not None:
        scheduled.status, scheduled.failure_reason = status, reason


def _tell_borrower(
    session: Session, loan: Loan, draft: AchDraft, code: str, fee: bool, stopped: bool, context: ReturnsContext,
    report: ReturnsReport,
) -> None:  # fmt: skip
    """Tell the borrower in their language; the notice holds no amount, so any channel may carry it."""
    if code in INSUFFICIENT_FUNDS:
        message = RETURNED_FUNDS_FEE if fee else RETURNED_FUNDS
    else:
        message = RETURNED_AUTOPAY_STOPPED if stopped else RETURNED_UPDATE_ACCOUNT
    told = notify_borrower(session, loan, message, now=context.now, date=draft.effective_date,
                           ending=loan.loan_number[-4:], reason=Phrases((REASONS.get(code, OTHER_REASON),)),
                           phone=context.servicer_phone)  # fmt: skip
    report.borrowers_told += 1 if told is not None else 0


# -- notifications of change ------------------------------------------------------------------------------------


def _apply_change(
    session: Session, draft: AchDraft, code: str, entry: Entry, context: ReturnsContext, report: ReturnsReport
) -> str:
    loan = session.get_one(Loan, draft.loan_id)
    account = session.get_one(BankAccount, draft.bank_account_id)
    corrected = entry.addenda[0].fields.get("corrected_data", "")
    if code not in CHANGE_CODES_APPLIED:
        outcome = f"{code} recorded; nothing to change on file"
    elif account.status != "active":
        outcome = f"{code} not applied: account {mask(account.account_last4)} is no longer the one on file"
    else:
        routing, number, kind = _corrected(code, corrected, account, context.vault, entry.line + 1)
        try:
            details = check_bank_details(routing, number, kind)
        except InvalidInput as refused:
            raise NachaError(entry.line + 1, f"{code} corrected data is not usable: {refused}") from refused
        add_bank_account(session, loan.loan_number, details, vault=context.vault, actor=context.actor, source="noc")
        outcome = f"{code}: account {mask(account.account_last4)} corrected to {details.routing} {details.masked} " \
                  f"{details.account_type.value}"  # fmt: skip
    report.changes.append((loan.loan_number, code, outcome))
    return outcome


def _corrected(code: str, data: str, account: BankAccount, vault: Vault, line: int) -> tuple[str, str, str]:
    """Return (routing, account number, checking | savings) after the change (NACHA's corrected data layouts)."""
    routing, number, kind = account.routing, vault.open(account.account_encrypted), account.account_type
    if code == "C01":
        number = data[:17].strip()
    elif code == "C02":
        routing = data[:9].strip()
    elif code == "C03":
        routing, number = data[:9].strip(), data[12:29].strip()
    elif code == "C05":
        kind = _account_kind(data[:2], line)
    elif code == "C06":
        number, kind = data[:17].strip(), _account_kind(data[20:22], line)
    elif code == "C07":
        routing, number, kind = data[:9].strip(), data[9:26].strip(), _account_kind(data[26:28], line)
    return routing, number, kind


def _account_kind(transaction_code: str, line: int) -> str:
    """Return checking or savings from a corrected transaction code (2x checking, 3x savings)."""
    if transaction_code[:1] == "2":
        return AccountType.CHECKING.value
    if transaction_code[:1] == "3":
        return AccountType.SAVINGS.value
    raise NachaError(line, f"corrected transaction code {transaction_code!r} is neither checking nor savings")
