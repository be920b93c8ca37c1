"""The origination file: the day's ACH debits as a NACHA PPD file, once per effective date; and their settlement.

`export_drafts` collects, for one effective entry date, the autopay drafts that fall on it and the one-time
scheduled payments dated after the business date up to it, records one `AchDraft` each (unique per loan,
date, kind and source: never drafted twice) and writes the file. The file is kept encrypted (it holds account
numbers): exporting the same date again returns the same bytes and drafts nothing new. Each draft is "in
transit" until its effective date, when end of day (`settle_drafts`) posts it as received on that date.

One PPD batch per file, company entry description LOANPAYMNT. No offsetting credit unless the originator
names a settlement account (LOANLINE_ACH_OFFSET_ROUTING/_ACCOUNT): most ODFIs offset the batch themselves.
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from servicing.ach.accounts import AccountType
from servicing.ach.autopay import (
    AmountKind,
    AutopayTerms,
    draft_amount,
    in_forbearance,
    installment_drafted_on,
    pending_one_time,
)
from servicing.ach.nacha import CHECKING_CREDIT, Batch, Entry, FileHeader, NachaFile, write_file
from servicing.ach.vault import Vault
from servicing.audit import record_audit
from servicing.config import AchSettings
from servicing.errors import ServicingError
from servicing.payments import PaymentInstruction, post_payments
from servicing.rules.calendar import add_business_days, is_business_day
from servicing.rules.money import to_money
from servicing.store.accounts import load_accounts
from servicing.store.bulk import chunked, execute_many, insert_rows_returning_ids
from servicing.store.models import (
    AchDraft,
    AchFile,
    AutopayEnrolment,
    BankAccount,
    Borrower,
    Loan,
    Payment,
    ScheduledPayment,
    table_of,
)

ENTRY_DESCRIPTION = "LOANPAYMNT"
CENTS = Decimal(100)
TRACE_SEQUENCE = 10**7  # the trace number's last 7 digits
OFFSET_SEQUENCE = "9999999"


class ExportRefused(ServicingError):
    """An origination file that cannot be made; the reason is the message."""


@dataclass(frozen=True)
class BankRef:
    """The account a draft debits, as the file needs it (the number still sealed)."""

    id: int
    routing: str
    account_encrypted: str
    account_type: str


@dataclass(frozen=True)
class PlannedDraft:
    """A debit the file will carry, before it is recorded."""

    loan_id: int
    loan_number: str
    kind: str  # autopay | scheduled
    source_reference: str
    amount: Decimal
    bank: BankRef


@dataclass
class Export:
    """An origination file and what it holds."""

    effective_date: date
    content: bytes
    entries: int
    debit_total: Decimal
    sha256: str
    new: bool  # False: the date was exported before and this is the same file again
    skipped: list[str] = field(default_factory=list)  # why planned debits were left out (paid ahead, paused...)


def default_effective_date(business_date: date, country: str) -> date:
    """Return the next business day after the business date: the usual effective date of tonight's file."""
    return add_business_days(business_date, 1, country)


def export_drafts(
    session: Session, effective: date, *, settings: AchSettings, vault: Vault, business_date: date, country: str,
    actor: str, now: datetime,
) -> Export:  # fmt: skip
    """Return the origination file of `effective`: made and recorded the first time, the same bytes after."""
    if not is_business_day(effective, country):
        raise ExportRefused(f"{effective.isoformat()} is not a business day: no effective entry date")
    if effective <= business_date:
        raise ExportRefused(f"the effective entry date must be after the business date {business_date.isoformat()}")
    existing = session.scalar(
        select(AchFile).where(AchFile.direction == "out", AchFile.effective_date == effective).with_for_update()
    )
    if existing is not None:
        return _stored(existing, vault)
    skipped: list[str] = []
    planned = plan_autopay(session, effective, country, skipped) + plan_one_time(session, effective, business_date)
    created = now.replace(second=0, microsecond=0, tzinfo=None)
    record = AchFile(direction="out", effective_date=effective, created_at=now, created_by=actor,
                     business_date=business_date, sha256="", entries=len(planned), debit_total=Decimal(0),
                     name=f"ach-{effective.isoformat()}.ach")  # fmt: skip
    session.add(record)
    session.flush()
    drafts = _record_drafts(session, planned, record.id, effective, settings.odfi)
    content = write_file(_nacha_file(session, drafts, planned, effective, settings, vault, created))
    record.sha256 = hashlib.sha256(content).hexdigest()
    record.debit_total = sum((p.amount for p in planned), Decimal(0))
    record.content_encrypted = vault.seal(content.decode("ascii"))  # it holds account numbers: kept encrypted
    _mark_one_time_in_transit(session, [p.source_reference for p in planned if p.kind == "scheduled"])
    record_audit(session, actor, "ach.exported", "ach_file", str(record.id), {
        "effective_date": effective.isoformat(), "entries": len(planned), "debit_total": str(record.debit_total),
        "sha256": record.sha256,
    })  # fmt: skip
    return Export(effective, content, len(planned), record.debit_total, record.sha256, True, skipped)


def _stored(existing: AchFile, vault: Vault) -> Export:
    content = vault.open(existing.content_encrypted or "").encode("ascii")
    if hashlib.sha256(content).hexdigest() != existing.sha256:
        raise ExportRefused(f"the stored file of {existing.effective_date} no longer matches its SHA-256")
    assert existing.effective_date is not None
    return Export(existing.effective_date, content, existing.entries, existing.debit_total, existing.sha256, False)


def plan_autopay(session: Session, effective: date, country: str, skipped: list[str]) -> list[PlannedDraft]:
    """Return the autopay drafts falling on `effective`; say in `skipped` which were left out and why."""
    rows = session.execute(
        select(AutopayEnrolment.id, AutopayEnrolment.loan_id, AutopayEnrolment.amount_kind,
               AutopayEnrolment.fixed_amount, AutopayEnrolment.extra_principal, AutopayEnrolment.days_before,
               Loan.loan_number, Loan.schedule_anchor, *BANK_COLUMNS)
        .join(Loan, Loan.id == AutopayEnrolment.loan_id)
        .join(BankAccount, BankAccount.id == AutopayEnrolment.bank_account_id)
        .where(AutopayEnrolment.status == "active", Loan.status == "active", BankAccount.status == "active")
        .order_by(AutopayEnrolment.loan_id)
    ).all()  # fmt: skip
    due = {
        row.loan_id: d
        for row in rows
        if (d := installment_drafted_on(row.schedule_anchor, row.days_before, effective, country)) is not None
    }
    if not due:
        return []
    accounts = {
        a.loan_id: a for a in load_accounts(session, [r.loan_number for r in rows if r.loan_id in due]).values()
    }
    paused = in_forbearance(session, due, effective)
    pending = pending_one_time(session, due, effective)
    planned = []
    for row in rows:
        if row.loan_id not in due:
            continue
        if row.loan_id in paused:
            skipped.append(f"{row.loan_number}: paused during forbearance")
            continue
        terms = AutopayTerms(AmountKind(row.amount_kind), row.fixed_amount, row.extra_principal, row.days_before)
        amount = draft_amount(terms, accounts[row.loan_id], due[row.loan_id], effective,
                              pending.get(row.loan_id, Decimal(0)))  # fmt: skip
        if amount <= 0:
            skipped.append(f"{row.loan_number}: paid ahead or nothing due")
            continue
        planned.append(PlannedDraft(row.loan_id, row.loan_number, "autopay", f"AP-{row.id}", amount, _bank(row)))
    return planned


BANK_COLUMNS = (BankAccount.id.label("bank_id"), BankAccount.routing, BankAccount.account_encrypted,
                BankAccount.account_type)  # fmt: skip


def _bank(row: Any) -> BankRef:
    return BankRef(row.bank_id, row.routing, row.account_encrypted, row.account_type)


def plan_one_time(session: Session, effective: date, business_date: date) -> list[PlannedDraft]:
    """Return the one-time scheduled payments dated after the business date up to `effective`, with an account."""
    rows = session.execute(
        select(ScheduledPayment.loan_id, ScheduledPayment.reference, ScheduledPayment.amount, Loan.loan_number,
               Loan.currency, *BANK_COLUMNS)
        .join(Loan, Loan.id == ScheduledPayment.loan_id)
        .join(BankAccount, (BankAccount.loan_id == Loan.id) & (BankAccount.status == "active"))
        .where(ScheduledPayment.status == "scheduled", ScheduledPayment.scheduled_for > business_date,
               ScheduledPayment.scheduled_for <= effective)
        .order_by(ScheduledPayment.id)
    ).all()  # fmt: skip
    return [
        PlannedDraft(
            row.loan_id, row.loan_number, "scheduled", row.reference, to_money(row.amount, row.currency), _bank(row)
        )
        for row in rows
    ]


def _record_drafts(
    session: Session, planned: Sequence[PlannedDraft], file_id: int, effective: date, odfi: str
) -> list[dict[str, Any]]:
    """Insert one draft per planned debit, each with the next trace number (the ODFI and a 7-digit sequence)."""
    last = session.scalar(select(func.max(AchDraft.trace_number)).where(AchDraft.trace_number.like(f"{odfi}%")))
    first = int(last[8:]) + 1 if last else 1
    rows = []
    for n, p in enumerate(planned):
        trace = f"{odfi}{(first + n) % TRACE_SEQUENCE:07d}"
        rows.append({
            "loan_id": p.loan_id, "kind": p.kind, "source_reference": p.source_reference, "effective_date": effective,
            "bank_account_id": p.bank.id, "amount": p.amount, "trace_number": trace,
            "transaction_code": AccountType(p.bank.account_type).debit_code, "reference": f"ACH-{trace}",
            "status": "in_transit", "file_id": file_id,
        })  # fmt: skip
    insert_rows_returning_ids(session, table_of(AchDraft), rows)
    return rows


def _ascii(text: str) -> str:
    """Return text as the file's plain ASCII (accents dropped: José -> Jose)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").upper()


def _nacha_file(
    session: Session, drafts: Sequence[dict[str, Any]], planned: Sequence[PlannedDraft], effective: date,
    settings: AchSettings, vault: Vault, created: datetime,
) -> NachaFile:  # fmt: skip
    names = _borrower_names(session, [p.loan_id for p in planned])
    entries = [
        Entry(d["transaction_code"], p.bank.routing, vault.open(p.bank.account_encrypted),
              int(p.amount * CENTS), p.loan_number[:15], names.get(p.loan_id, "")[:22], d["trace_number"])
        for d, p in zip(drafts, planned, strict=True)
    ]  # fmt: skip
    if settings.offset_routing and settings.offset_account and entries:
        total = sum(e.amount_cents for e in entries)
        entries.append(Entry(CHECKING_CREDIT, settings.offset_routing, settings.offset_account, total, "OFFSET",
                             settings.company_name[:22], f"{settings.odfi}{OFFSET_SEQUENCE}"))  # fmt: skip
    batch = Batch(settings.company_name, settings.company_id, "PPD", ENTRY_DESCRIPTION, effective, settings.odfi, 1,
                  tuple(entries))  # fmt: skip
    header = FileHeader(settings.immediate_destination, settings.immediate_origin, created, "A",
                        settings.destination_name, settings.company_name)  # fmt: skip
    return NachaFile(header, (batch,) if entries else ())


def _borrower_names(session: Session, loan_ids: Sequence[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for start in range(0, len(loan_ids), 5000):
        part = list(loan_ids[start : start + 5000])
        query = select(Loan.id, Borrower.first_name, Borrower.last_name).join(Borrower).where(Loan.id.in_(part))
        names.update({i: _ascii(f"{first} {last}") for i, first, last in session.execute(query)})
    return names


def _mark_one_time_in_transit(session: Session, references: Sequence[str]) -> None:
    if references:
        statement = update(table_of(ScheduledPayment)).where(
            table_of(ScheduledPayment).c.reference == bindparam("b_reference")).values(status="in_transit")  # fmt: skip
        execute_many(session, ("scheduled_in_transit",), statement, [{"b_reference": r} for r in references])


# -- settlement: end of day posts the drafts whose effective date has come ------------------------------------


def settle_drafts(session: Session, day: date, actor: str) -> int:
    """Post every draft in transit whose effective date is on or before `day`, received on its effective date.

    A draft the core refuses (the loan was paid off meanwhile) stays in transit with the reason in the audit log:
    a specialist refunds it. Returns how many were posted.
    """
    due = session.execute(
        select(AchDraft.id, AchDraft.reference, AchDraft.amount, AchDraft.effective_date, AchDraft.kind,
               AchDraft.source_reference, Loan.loan_number, Loan.currency)
        .join(Loan, Loan.id == AchDraft.loan_id)
        .where(AchDraft.status == "in_transit", AchDraft.effective_date <= day)
        .order_by(AchDraft.id)
    ).all()  # fmt: skip
    if not due:
        return 0
    instructions = [
        PaymentInstruction(row.loan_number, to_money(row.amount, row.currency), row.effective_date, row.reference,
                           method="ach", source="ach")
        for row in due
    ]  # fmt: skip
    report = post_payments(session, instructions, today=day, business_date=day, actor=actor)
    posted = set(report.posted) | set(report.already_posted)
    for refusal in report.refused:
        record_audit(session, actor, "ach.settlement_refused", "ach_draft", refusal.key, {"reason": refusal.reason})
    return _record_settlement(session, [row for row in due if row.reference in posted], day)


def _record_settlement(session: Session, settled: Sequence[Any], day: date) -> int:
    if not settled:
        return 0
    ids: dict[str, int] = {}
    for part in chunked([row.reference for row in settled]):
        query = select(Payment.reference, Payment.id).where(Payment.reference.in_(part))
        ids.update(session.execute(query).tuples().all())
    drafts = table_of(AchDraft)
    statement = update(drafts).where(drafts.c.id == bindparam("b_id")).values(
        status="posted", settled_on=day, payment_id=bindparam("payment_id"))  # fmt: skip
    execute_many(session, ("ach_settled",), statement,
                 [{"b_id": row.id, "payment_id": ids[row.reference]} for row in settled])  # fmt: skip
    one_time = [{"b_reference": row.source_reference, "payment_id": ids[row.reference]}
                for row in settled if row.kind == "scheduled"]  # fmt: skip
    if one_time:
        scheduled = table_of(ScheduledPayment)
        statement = update(scheduled).where(scheduled.c.reference == bindparam("b_reference")).values(
            status="posted", payment_id=bindparam("payment_id"))  # fmt: skip
        execute_many(session, ("scheduled_settled",), statement, one_time)
    return len(settled)
