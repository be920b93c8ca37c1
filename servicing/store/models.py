"""The database: typed SQLAlchemy 2.0 models of borrowers, loans, the ledger, cases and the audit log."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    case,
    event,
    false,
    literal_column,
    or_,
    text,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from servicing.rules.money import ZERO
from servicing.rules.searching import borrower_search_key
from servicing.store.types import Money, Rate, UTCDateTime


def utcnow() -> datetime:
    """Return the current UTC time, timezone-aware."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Base of every Loanline table."""


def table_of(model: type[Base]) -> Table:
    """Return a model's table, typed for Core insert/update statements."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class Borrower(Base):
    """A person who owes on one or more loans. Knowledge factors are stored only as keyed hashes."""

    __tablename__ = "borrowers"

    id: Mapped[int] = mapped_column(primary_key=True)
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str | None] = mapped_column(String(254))
    postal_code: Mapped[str] = mapped_column(String(20))
    country: Mapped[str] = mapped_column(String(2))
    locale: Mapped[str] = mapped_column(String(10))
    timezone: Mapped[str] = mapped_column(String(64))
    # False when boarding had no zone and took the country's main one: the contact policy then does not trust it
    timezone_given: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    factor_salt: Mapped[str] = mapped_column(String(32))
    date_of_birth_hash: Mapped[str] = mapped_column(String(64))
    tax_id_last4_hash: Mapped[str] = mapped_column(String(64))
    postal_code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Where paper goes (docs/documents.md): all optional; a borrower without line1 gets no paper.
    mailing_line1: Mapped[str | None] = mapped_column(String(100))
    mailing_line2: Mapped[str | None] = mapped_column(String(100))
    mailing_city: Mapped[str | None] = mapped_column(String(64))
    mailing_region: Mapped[str | None] = mapped_column(String(64))
    mailing_postal_code: Mapped[str | None] = mapped_column(String(20))
    mailing_country: Mapped[str | None] = mapped_column(String(2))
    # The name and email folded for search (servicing.rules.searching.borrower_search_key), kept by the write
    # path: boarding sets it, `keep_search_key` below on every ORM insert and update (docs/console-search.md).
    search_key: Mapped[str] = mapped_column(String(400), default="", server_default="")

    phones: Mapped[list[BorrowerPhone]] = relationship(back_populates="borrower")
    loans: Mapped[list[Loan]] = relationship(back_populates="borrower")


@event.listens_for(Borrower, "before_insert")
@event.listens_for(Borrower, "before_update")
def keep_search_key(_mapper: Any, _connection: Any, borrower: Borrower) -> None:
    """Fold a borrower's name and email into the key search matches on, whenever the ORM writes them."""
    borrower.search_key = borrower_search_key(borrower.first_name, borrower.last_name, borrower.email)


class BorrowerPhone(Base):
    """A phone number on file for a borrower, in E.164."""

    __tablename__ = "borrower_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    e164: Mapped[str] = mapped_column(String(16), unique=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=True)

    borrower: Mapped[Borrower] = relationship(back_populates="phones")


class Loan(Base):
    """A loan: its terms, and cached balances that always equal the sum of its ledger."""

    __tablename__ = "loans"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_number: Mapped[str] = mapped_column(String(32), unique=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    product: Mapped[str] = mapped_column(String(16))
    country: Mapped[str] = mapped_column(String(2))  # its jurisdiction and business-day calendar
    foreclosure_referred_on: Mapped[date | None] = mapped_column(Date)  # the first notice or filing (1024.41(f))
    foreclosure_sale_on: Mapped[date | None] = mapped_column(Date)  # a scheduled foreclosure sale
    currency: Mapped[str] = mapped_column(String(3))
    minor_units: Mapped[int] = mapped_column(Integer)
    interest_method: Mapped[str] = mapped_column(String(12))
    compounding: Mapped[str] = mapped_column(String(12), default="monthly")
    original_principal: Mapped[Decimal] = mapped_column(Money())
    annual_rate: Mapped[Decimal] = mapped_column(Rate())
    original_term_months: Mapped[int] = mapped_column(Integer)
    term_months: Mapped[int] = mapped_column(Integer)
    origination_date: Mapped[date] = mapped_column(Date)
    first_payment_date: Mapped[date] = mapped_column(Date)
    schedule_anchor: Mapped[date] = mapped_column(Date)
    monthly_payment: Mapped[Decimal] = mapped_column(Money())
    late_fee_rate: Mapped[Decimal] = mapped_column(Rate())
    late_fee_amount: Mapped[Decimal] = mapped_column(Money(), default=ZERO, server_default="0")
    late_fee_grace_days: Mapped[int] = mapped_column(Integer, default=15)
    escrow_monthly: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    bank_account_last4: Mapped[str | None] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(12), default="active", index=True)
    boarded_on: Mapped[date] = mapped_column(Date)
    servicing_from: Mapped[date] = mapped_column(Date)
    source_fingerprint: Mapped[str] = mapped_column(String(32), default="")
    closed_on: Mapped[date | None] = mapped_column(Date)

    principal_balance: Mapped[Decimal] = mapped_column(Money())
    interest_balance: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    escrow_balance: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    fees_balance: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    suspense_balance: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    deferred_balance: Mapped[Decimal] = mapped_column(Money(), default=ZERO)

    interest_paid_through: Mapped[date] = mapped_column(Date)
    installments_paid: Mapped[int] = mapped_column(Integer, default=0)
    dsi_credit: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    late_fee_through: Mapped[date | None] = mapped_column(Date)
    fee_seq: Mapped[int] = mapped_column(Integer, default=0)
    next_due_date: Mapped[date] = mapped_column(Date, index=True)
    days_past_due: Mapped[int] = mapped_column(Integer, default=0)
    accrued_interest: Mapped[Decimal] = mapped_column(Money(), default=ZERO)

    # The escrow analysis (docs/decisions-escrow.md): installments due from `escrow_monthly_from` on
    # carry `escrow_monthly`, earlier ones `escrow_previous_monthly`; a shortage billed and not yet paid;
    # the day end of day runs the next annual analysis (none: the loan has no escrow account).
    escrow_previous_monthly: Mapped[Decimal] = mapped_column(Money(), default=ZERO, server_default="0")
    escrow_monthly_from: Mapped[date | None] = mapped_column(Date)
    escrow_shortage_due: Mapped[Decimal] = mapped_column(Money(), default=ZERO, server_default="0")
    escrow_shortage_due_on: Mapped[date | None] = mapped_column(Date)
    escrow_analysis_on: Mapped[date | None] = mapped_column(Date, index=True)
    # The property the loan is secured by (mortgages): printed on statements, optional.
    property_line1: Mapped[str | None] = mapped_column(String(100))
    property_line2: Mapped[str | None] = mapped_column(String(100))
    property_city: Mapped[str | None] = mapped_column(String(64))
    property_region: Mapped[str | None] = mapped_column(String(64))
    property_postal_code: Mapped[str | None] = mapped_column(String(20))
    property_country: Mapped[str | None] = mapped_column(String(2))

    borrower: Mapped[Borrower] = relationship(back_populates="loans")


class Installment(Base):
    """An installment a payment satisfied, with the split it was paid with."""

    __tablename__ = "installments"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"))
    number: Mapped[int] = mapped_column(Integer)
    due_date: Mapped[date] = mapped_column(Date)
    principal: Mapped[Decimal] = mapped_column(Money())
    interest: Mapped[Decimal] = mapped_column(Money())
    escrow: Mapped[Decimal] = mapped_column(Money())
    paid_on: Mapped[date] = mapped_column(Date)
    reversed: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_installments_loan", "loan_id", "due_date"),
        Index("ix_installments_payment", "payment_id"),  # a reversal marks a payment's installments
    )


class Fee(Base):
    """A fee charged to a loan; `outstanding` is what is still owed on it."""

    __tablename__ = "fees"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    amount: Mapped[Decimal] = mapped_column(Money())
    outstanding: Mapped[Decimal] = mapped_column(Money())
    assessed_on: Mapped[date] = mapped_column(Date)
    installment_due_date: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        UniqueConstraint("loan_id", "seq"),
        Index("ix_fees_open", "loan_id", "outstanding"),
        Index("ix_fees_assessed_on", "assessed_on", "kind"),  # end of day's late notices: today's fees
    )


class Payment(Base):
    """Money received for a loan, identified by its external reference."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    received_on: Mapped[date] = mapped_column(Date)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    method: Mapped[str | None] = mapped_column(String(8))
    source: Mapped[str] = mapped_column(String(16), default="import")
    status: Mapped[str] = mapped_column(String(12), default="posted")
    application: Mapped[dict[str, Any]] = mapped_column(JSON)
    reversed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reversal_reason: Mapped[str | None] = mapped_column(String(200))


class LedgerEntry(Base):
    """An immutable money movement on a loan, split by bucket. Never updated, never deleted."""

    __tablename__ = "ledger_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    kind: Mapped[str] = mapped_column(String(24))
    effective_date: Mapped[date] = mapped_column(Date)
    posted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    principal: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    interest: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    escrow: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    fees: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    suspense: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    deferred: Mapped[Decimal] = mapped_column(Money(), default=ZERO)
    reference: Mapped[str | None] = mapped_column(String(64))
    memo: Mapped[str] = mapped_column(String(200), default="")
    posted_by: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_ledger_loan", "loan_id", "id"),
        Index("ix_ledger_payment", "payment_id"),  # a reversal reads a payment's lines (ACH returns at volume)
    )


class ScheduledPayment(Base):
    """A one-time payment a borrower scheduled from the bank account on file; end of day posts it."""

    __tablename__ = "scheduled_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)
    amount: Mapped[Decimal] = mapped_column(Money())
    scheduled_for: Mapped[date] = mapped_column(Date, index=True)
    bank_account_last4: Mapped[str] = mapped_column(String(4))
    status: Mapped[str] = mapped_column(String(12), default="scheduled")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_via: Mapped[str] = mapped_column(String(16))
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    failure_reason: Mapped[str | None] = mapped_column(String(200))


class EscrowItem(Base):
    """A bill paid from escrow (tax, insurance) with its payee and next due date."""

    __tablename__ = "escrow_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    payee: Mapped[str] = mapped_column(String(100))
    amount: Mapped[Decimal] = mapped_column(Money())
    next_due_date: Mapped[date] = mapped_column(Date, index=True)
    frequency_months: Mapped[int] = mapped_column(Integer, default=12)
    last_paid_on: Mapped[date | None] = mapped_column(Date)


class EscrowAnalysis(Base):
    """An escrow analysis and the annual escrow account statement it produced, as data the statements print."""

    __tablename__ = "escrow_analyses"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    analyzed_on: Mapped[date] = mapped_column(Date)
    computation_year_starts: Mapped[date] = mapped_column(Date)
    trigger: Mapped[str] = mapped_column(String(12))  # annual (end of day) or on_demand
    analyzed_by: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(200))
    statement: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        Index("ix_escrow_analyses_loan", "loan_id", "analyzed_on"),
        Index("ix_escrow_analyses_analyzed_on", "analyzed_on"),  # end of day's escrow statements: today's analyses
    )


class Workout(Base):
    """A loss-mitigation arrangement on a loan: forbearance, repayment plan, deferral, modification."""

    __tablename__ = "workouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(12), default="active")
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))


class Case(Base):
    """A regulated request or task with legal deadlines: payoff, error notice, information, loss mitigation."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(24), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(24))
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"), index=True)
    borrower_id: Mapped[int | None] = mapped_column(ForeignKey("borrowers.id"))
    opened_on: Mapped[date] = mapped_column(Date)
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    source: Mapped[str] = mapped_column(String(16))
    summary: Mapped[str] = mapped_column(String(300), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    due_on: Mapped[date | None] = mapped_column(Date, index=True)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_on: Mapped[date | None] = mapped_column(Date)
    delinquency_since: Mapped[date | None] = mapped_column(Date)

    deadlines: Mapped[list[CaseDeadline]] = relationship(back_populates="case", order_by="CaseDeadline.due_on")


class CaseDeadline(Base):
    """One legal clock on a case: what must happen by when, and when it did."""

    __tablename__ = "case_deadlines"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    rule: Mapped[str] = mapped_column(String(40))
    due_on: Mapped[date] = mapped_column(Date)
    met_on: Mapped[date | None] = mapped_column(Date)

    case: Mapped[Case] = relationship(back_populates="deadlines")


class AuditEntry(Base):
    """Who saw or changed what, and when. Details never hold unmasked personal data."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    # a case's or a conversation's history, and the audit search by subject
    __table_args__ = (Index("ix_audit_subject", "subject_type", "subject_id", "at"),)


class BusinessDay(Base):
    """A business date end of day has run through; the latest is the system's business date."""

    __tablename__ = "business_days"

    business_date: Mapped[date] = mapped_column(Date, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    loans_processed: Mapped[int] = mapped_column(Integer, default=0)


class Conversation(Base):
    """A borrower's thread on one channel and address, with who owns it and how far verification went."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(12))
    address: Mapped[str] = mapped_column(String(64), index=True)  # search by phone (unique index leads with channel)
    borrower_id: Mapped[int | None] = mapped_column(ForeignKey("borrowers.id"), index=True)
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"), index=True)  # the loan page's conversations
    state: Mapped[str] = mapped_column(String(12), default="bot")
    escalation_reason: Mapped[str | None] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locale: Mapped[str] = mapped_column(String(10), default="en")
    # The skill queue it waits in when a specialist chose one (a transfer); else its reason's skill.
    skill: Mapped[str | None] = mapped_column(String(20))
    verified_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    misses: Mapped[int] = mapped_column(Integer, default=0)
    waiting_acknowledged: Mapped[bool] = mapped_column(Boolean, default=False)
    flow: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (
        UniqueConstraint("channel", "address"),
        Index("ix_conversations_queue", "state", "priority", "queued_at"),
        Index("ix_conversations_assigned", "assigned_to", "state", "assigned_at"),
    )


class Message(Base):
    """One message in or out, stored before anything else happens to it."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    channel: Mapped[str] = mapped_column(String(12))
    direction: Mapped[str] = mapped_column(String(3))
    author: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    provider_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(16))
    attachments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # What a bot answer quoted, as data (figures with their currency and dates: docs/console-conversations.md)
    meta: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))

    __table_args__ = (
        UniqueConstraint("channel", "direction", "provider_id"),
        Index("ix_messages_conversation", "conversation_id", "id"),
    )


class InboundReceipt(Base):
    """A provider's id for an inbound message, stored once: it is what stores each inbound message exactly once.

    Inserted first, in the message's transaction (`INSERT ... ON CONFLICT DO NOTHING`). Kept out of `messages` so
    that messages can be partitioned by month on PostgreSQL, whose partitioned tables hold no unique key without
    the partition key (docs/operations.md, "Past one database server").
    """

    __tablename__ = "inbound_receipts"

    channel: Mapped[str] = mapped_column(String(12), primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class OutboxItem(Base):
    """A message waiting to be sent by a worker, with its attempts and the provider's id once sent."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    # The message's created_at: with messages partitioned by month, the foreign key is (message_id, this)
    message_created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    channel: Mapped[str] = mapped_column(String(12))
    address: Mapped[str] = mapped_column(String(64))
    body: Mapped[str] = mapped_column(Text)
    proactive: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(String(300))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_outbox_due", "status", "next_attempt_at"),)


class OptOut(Base):
    """What an address revoked: `all` (the SMS STOP: nothing at all until START), or one purpose of the servicer's
    own messages (servicing, reminder, collection: docs/contact-policy.md)."""

    __tablename__ = "opt_outs"

    channel: Mapped[str] = mapped_column(String(12), primary_key=True)
    address: Mapped[str] = mapped_column(String(64), primary_key=True)
    purpose: Mapped[str] = mapped_column(String(12), primary_key=True, default="all", server_default="all")
    opted_out: Mapped[bool] = mapped_column(Boolean, default=True)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class FraudAlert(Base):
    """Raised when an address fails verification three times; specialists review it in the console."""

    __tablename__ = "fraud_alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(12))
    address_masked: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    reason: Mapped[str] = mapped_column(String(100))
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ClaimedIdentity(Base):
    """Who verification attempts claimed to be (a borrower, a loan number, a phone), with their failures
    counted across every chat and channel and the lockout they lead to.

    A borrower is named by id; a loan number or a phone by a keyed hash, so that numbers that match no
    loan or borrower are counted (and locked) exactly like real ones.
    """

    __tablename__ = "claimed_identities"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Specialist(Base):
    """A person who works in the console: a role, a language, a password kept only as a hash, a lockout clock."""

    __tablename__ = "specialists"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(12))
    password_hash: Mapped[str] = mapped_column(String(255))
    locale: Mapped[str] = mapped_column(String(10), default="en")
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Raised by a logout: a console session remembers the generation it began in and is refused once it moved.
    session_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Assignment (docs/console-assignment.md): available | away | offline, how many conversations at once,
    # the borrower languages (codes: en, es, pt...) and the skills they handle.
    presence: Mapped[str] = mapped_column(String(12), default="offline", server_default="offline")
    capacity: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    languages: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["en"])
    skills: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["general"])
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set by an administrator's reset (and a console-created account): the next login must choose a password.
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class SavedQueueView(Base):
    """A specialist's named set of queue filters (channel, language, reason, SLA state, skill)."""

    __tablename__ = "saved_queue_views"

    id: Mapped[int] = mapped_column(primary_key=True)
    specialist_id: Mapped[int] = mapped_column(ForeignKey("specialists.id"))
    name: Mapped[str] = mapped_column(String(60))
    filters: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("specialist_id", "name"),)


class DeliveryPreference(Base):
    """How a borrower receives one kind of document: paper (the default, no row) or electronic.

    Electronic needs an E-SIGN consent in force; revoking the consent returns every kind to paper.
    """

    __tablename__ = "delivery_preferences"

    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), primary_key=True)  # a document kind
    channel: Mapped[str] = mapped_column(String(12))  # paper | electronic
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changed_by: Mapped[str] = mapped_column(String(64))


class EsignConsent(Base):
    """A borrower's consent to electronic documents (E-SIGN Act, 15 U.S.C. 7001(c)): who, when, how; revocable."""

    __tablename__ = "esign_consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    given_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by: Mapped[str] = mapped_column(String(64))  # the specialist, or "bot" when the borrower said so
    method: Mapped[str] = mapped_column(String(32))  # telegram, sms, console_phone, console_written, web
    evidence: Mapped[str] = mapped_column(String(300))  # what the borrower was shown and answered
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoke_method: Mapped[str | None] = mapped_column(String(32))


class PrintBatch(Base):
    """One day's paper: a combined PDF in mailing order and the mail house's CSV manifest."""

    __tablename__ = "print_batches"

    id: Mapped[int] = mapped_column(primary_key=True)
    business_date: Mapped[date] = mapped_column(Date, unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    documents: Mapped[int] = mapped_column(Integer)
    sheets: Mapped[int] = mapped_column(Integer)
    pdf_path: Mapped[str] = mapped_column(String(300))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    manifest_path: Mapped[str] = mapped_column(String(300))


class Document(Base):
    """A statement, notice or letter as sent: immutable once made; a correction is a new one naming it."""

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"), index=True)
    # What the document is for: a statement's cycle (its due date, ISO), or the event's reference (a case).
    period: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1)  # 2, 3 ... for corrections
    replaces_id: Mapped[int | None] = mapped_column(ForeignKey("documents.id"))
    language: Mapped[str] = mapped_column(String(10))  # the catalog it was written in (en when it fell back)
    locale: Mapped[str] = mapped_column(String(10))  # the locale its money and dates were formatted in
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(64))
    business_date: Mapped[date] = mapped_column(Date, index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    pages: Mapped[int] = mapped_column(Integer)
    storage_path: Mapped[str] = mapped_column(String(300))  # relative to LOANLINE_DOCUMENTS_DIR
    delivery: Mapped[str] = mapped_column(String(12))  # paper | electronic
    # paper: pending, held (not printable, see flags), printed; electronic: pending, notified, sent, downloaded
    delivery_status: Mapped[str] = mapped_column(String(12), default="pending")
    print_batch_id: Mapped[int | None] = mapped_column(ForeignKey("print_batches.id"))
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # why it is held or how it was made: no_mailing_address, language_fallback ...
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # the figures a manifest lists

    __table_args__ = (
        UniqueConstraint("kind", "loan_id", "period", "version", name="uq_documents_kind_loan_period_version"),
        Index("ix_documents_loan", "loan_id", "created_at"),
        Index("ix_documents_delivery", "delivery", "delivery_status"),
    )


class DocumentLink(Base):
    """A single-use download link sent by SMS: only the token's hash is kept; valid 24 hours."""

    __tablename__ = "document_links"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Promise(Base):
    """A borrower's promise to pay an amount by a date; end of day marks it kept or broken from the ledger."""

    __tablename__ = "promises"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    amount: Mapped[Decimal] = mapped_column(Money())
    promised_for: Mapped[date] = mapped_column(Date)
    made_on: Mapped[date] = mapped_column(Date)  # the business date it was made: payments count from this day
    made_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    made_by: Mapped[str] = mapped_column(String(64))  # the specialist, or "bot"
    channel: Mapped[str] = mapped_column(String(12))  # sms, telegram, phone, console ...
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | kept | broken | cancelled (0013)
    resolved_on: Mapped[date | None] = mapped_column(Date)
    paid: Mapped[Decimal] = mapped_column(Money(), default=ZERO, server_default="0")  # counted when resolved

    __table_args__ = (
        Index("ix_promises_loan", "loan_id", "status"),
        Index("ix_promises_open", "status", "promised_for"),
    )


class ContactFlag(Base):
    """A specialist's flag that silences reminders and collection messages (cease communication, bankruptcy,
    deceased): on the borrower's every loan, or on one loan; cleared, never deleted."""

    __tablename__ = "contact_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"))
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"))  # None: every loan of the borrower
    flag: Mapped[str] = mapped_column(String(24))
    note: Mapped[str] = mapped_column(String(200))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    set_by: Mapped[str] = mapped_column(String(64))
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cleared_by: Mapped[str | None] = mapped_column(String(64))
    clear_note: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_contact_flags_borrower", "borrower_id", "cleared_at"),)


class ContactDecision(Base):
    """What the contact policy decided for one message the servicer starts, and what became of it.

    `dedupe_key` names the occasion (a loan's reminder for one due date, one payment's confirmation): unique, so
    end of day run twice, or two runs at once, never queue the same reminder twice. None for one-off notices.
    """

    __tablename__ = "contact_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int | None] = mapped_column(ForeignKey("loans.id"))
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"))
    kind: Mapped[str] = mapped_column(String(24))
    purpose: Mapped[str] = mapped_column(String(12))
    channel: Mapped[str | None] = mapped_column(String(12))
    occasion: Mapped[date | None] = mapped_column(Date)  # the due date, payment date or deadline it is about
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(12))  # queued | deferred | sent | suppressed | failed
    reason: Mapped[str | None] = mapped_column(String(32))
    send_after: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id"), unique=True)
    dedupe_key: Mapped[str | None] = mapped_column(String(80), unique=True)

    __table_args__ = (
        Index("ix_contact_decisions_loan", "loan_id", "kind", "occasion"),
        Index("ix_contact_decisions_borrower", "borrower_id", "purpose", "decided_at"),
        Index("ix_contact_decisions_decided", "decided_at"),
    )


# -- ACH: bank accounts on file, autopay, drafts and NACHA files (docs/ach.md) -----------------------------------


class BankAccount(Base):
    """A borrower's bank account on file for a loan: the number kept only encrypted, shown by its last 4."""

    __tablename__ = "bank_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    routing: Mapped[str] = mapped_column(String(9))  # the bank's ABA routing number (public, not secret)
    account_encrypted: Mapped[str] = mapped_column(Text)  # Fernet token of the account number
    account_last4: Mapped[str] = mapped_column(String(4))
    account_type: Mapped[str] = mapped_column(String(8))  # checking | savings
    status: Mapped[str] = mapped_column(String(8), default="active")  # active | replaced | removed
    source: Mapped[str] = mapped_column(String(16))  # console, boarding, noc (a bank's notification of change)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    added_by: Mapped[str] = mapped_column(String(64))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(64))
    ended_reason: Mapped[str | None] = mapped_column(String(200))


class AutopayEnrolment(Base):
    """A borrower's standing authorization to debit their bank account each month (NACHA PPD, Reg E 1005.10)."""

    __tablename__ = "autopay_enrolments"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_accounts.id"))
    amount_kind: Mapped[str] = mapped_column(String(12))  # due | fixed | due_plus
    fixed_amount: Mapped[Decimal | None] = mapped_column(Money())
    extra_principal: Mapped[Decimal] = mapped_column(Money(), default=ZERO, server_default="0")
    days_before: Mapped[int] = mapped_column(Integer, default=0)  # drafts this many days before the due date
    status: Mapped[str] = mapped_column(String(8), default="active")  # active | stopped
    authorization_text: Mapped[str] = mapped_column(Text)  # exactly what the borrower was shown and agreed to
    authorization_version: Mapped[str] = mapped_column(String(16))
    authorization_language: Mapped[str] = mapped_column(String(10))
    authorized_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    channel: Mapped[str] = mapped_column(String(16))  # sms, telegram, console_phone, console_written ...
    enrolled_by: Mapped[str] = mapped_column(String(64))  # the specialist, or "bot"
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    stopped_by: Mapped[str | None] = mapped_column(String(64))
    stop_reason: Mapped[str | None] = mapped_column(String(200))


class AchFile(Base):
    """A NACHA file we made (an origination file for one effective date) or read (returns and NOCs), by hash."""

    __tablename__ = "ach_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    direction: Mapped[str] = mapped_column(String(8))  # out: origination | in: returns and notifications of change
    effective_date: Mapped[date | None] = mapped_column(Date)  # out: the drafts' effective entry date
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)  # out: the file header's time
    created_by: Mapped[str] = mapped_column(String(64))
    business_date: Mapped[date] = mapped_column(Date)
    sha256: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(Integer)
    debit_total: Mapped[Decimal] = mapped_column(Money())
    name: Mapped[str] = mapped_column(String(200), default="")
    content_encrypted: Mapped[str | None] = mapped_column(Text)  # out: the file itself, Fernet (it holds accounts)

    __table_args__ = (
        UniqueConstraint("direction", "effective_date", name="uq_ach_files_direction_effective_date"),
        UniqueConstraint("direction", "sha256", name="uq_ach_files_direction_sha256"),
    )


class AchDraft(Base):
    """One debit of a borrower's bank account in an origination file: in transit until it settles, then posted."""

    __tablename__ = "ach_drafts"

    id: Mapped[int] = mapped_column(primary_key=True)
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"))
    kind: Mapped[str] = mapped_column(String(12))  # autopay | scheduled (a one-time payment)
    source_reference: Mapped[str] = mapped_column(String(64))  # AP-<enrolment id>, or the scheduled payment's
    effective_date: Mapped[date] = mapped_column(Date, index=True)
    bank_account_id: Mapped[int] = mapped_column(ForeignKey("bank_accounts.id"))
    amount: Mapped[Decimal] = mapped_column(Money())
    transaction_code: Mapped[str] = mapped_column(String(2))
    trace_number: Mapped[str] = mapped_column(String(15), unique=True)
    reference: Mapped[str] = mapped_column(String(64), unique=True)  # the payment's reference once posted
    status: Mapped[str] = mapped_column(String(12), default="in_transit")  # in_transit | posted | returned
    file_id: Mapped[int] = mapped_column(ForeignKey("ach_files.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"))
    settled_on: Mapped[date | None] = mapped_column(Date)
    return_code: Mapped[str | None] = mapped_column(String(3))
    returned_on: Mapped[date | None] = mapped_column(Date)

    __table_args__ = (
        UniqueConstraint("loan_id", "effective_date", "kind", "source_reference", name="uq_ach_drafts_once"),
        Index("ix_ach_drafts_loan", "loan_id", "effective_date"),
    )


class AchReturn(Base):
    """A return (R..) or notification of change (C..) read from a bank's file, and what it did."""

    __tablename__ = "ach_returns"

    id: Mapped[int] = mapped_column(primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("ach_files.id"), index=True)
    draft_id: Mapped[int] = mapped_column(ForeignKey("ach_drafts.id"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # return | change
    code: Mapped[str] = mapped_column(String(3))
    line: Mapped[int] = mapped_column(Integer)
    business_date: Mapped[date] = mapped_column(Date, index=True)
    outcome: Mapped[str] = mapped_column(String(200))  # what was done, in the servicer's words (account masked)


# -- the specialists' desk: macros, mentions, satisfaction surveys (docs/console-working-faster.md) --------------


class Macro(Base):
    """A supervisor's macro: a canned reply and actions (a note, a reason, a transfer to a skill queue, or resolve
    and the survey) applied in one click.

    `shortcut` is one digit: Alt+digit applies the macro on a conversation page. Retired, never deleted.
    """

    __tablename__ = "macros"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    shortcut: Mapped[str | None] = mapped_column(String(1), unique=True)
    canned_key: Mapped[str | None] = mapped_column(String(32))  # a canned response (servicing.canned), or none
    note: Mapped[str | None] = mapped_column(Text)  # an internal note added with it
    reason: Mapped[str | None] = mapped_column(String(16))  # an escalation reason the conversation is filed under
    transfer_to: Mapped[str | None] = mapped_column(String(16))  # a skill queue it is sent to (migration 0022)
    resolve: Mapped[bool] = mapped_column(Boolean, default=False)
    survey: Mapped[bool] = mapped_column(Boolean, default=False)  # on resolve, ask the satisfaction question
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Notification(Base):
    """Something a specialist should look at: a note that mentions them (`@username`). Read, never deleted."""

    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    specialist: Mapped[str] = mapped_column(String(64))  # the username notified
    kind: Mapped[str] = mapped_column(String(16))  # mention
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    message_id: Mapped[int] = mapped_column(ForeignKey("messages.id"))
    message_created_at: Mapped[datetime] = mapped_column(UTCDateTime())  # see OutboxItem.message_created_at
    by: Mapped[str] = mapped_column(String(64))  # who wrote the note
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("message_id", "specialist", name="uq_notifications_once"),
        Index("ix_notifications_unread", "specialist", "read_at", "id"),
    )


class SatisfactionSurvey(Base):
    """The one-question survey after a specialist resolved a conversation, and the borrower's score (1 to 5)."""

    __tablename__ = "satisfaction_surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"))
    specialist: Mapped[str] = mapped_column(String(64))  # who resolved the conversation: the score is theirs
    borrower_id: Mapped[int] = mapped_column(ForeignKey("borrowers.id"))
    channel: Mapped[str] = mapped_column(String(12))
    locale: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(12))  # asked | answered | suppressed
    reason: Mapped[str | None] = mapped_column(String(32))  # why the contact policy suppressed it
    decision_id: Mapped[int | None] = mapped_column(ForeignKey("contact_decisions.id"))
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    message_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # see OutboxItem.message_created_at
    resolved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    asked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # when it goes out (later in quiet hours)
    score: Mapped[int | None] = mapped_column(Integer)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    answer_message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    answer_message_created_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_satisfaction_conversation", "conversation_id", "status"),
        Index("ix_satisfaction_specialist", "specialist", "resolved_at"),
    )


# -- four eyes on money: a maker's request a second person approves (docs/console-loans.md) ----------------------


class ApprovalRequest(Base):
    """A money-moving action a maker previewed and asked for; a checker approves (it runs then) or rejects it."""

    __tablename__ = "approval_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    request_key: Mapped[str] = mapped_column(String(40), unique=True)  # the preview page's: a double submit asks once
    loan_id: Mapped[int] = mapped_column(ForeignKey("loans.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # reversal | fee_waiver | forbearance | modification ...
    terms: Mapped[dict[str, Any]] = mapped_column(JSON)  # the action's fields, as the form gave them
    reason: Mapped[str] = mapped_column(String(200))
    effect: Mapped[dict[str, Any]] = mapped_column(JSON)  # the preview the maker saw
    loan_state: Mapped[str] = mapped_column(String(64))  # the loan's state when previewed (servicing.approvals)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending | approved | rejected
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_approval_requests_status", "status", "requested_at"),)


def _partial(name: str, *columns: Any, where: str | None = None) -> Index:
    """An index on both dialects, partial (only the rows `where` selects) when given a condition."""
    condition = text(where) if where else None
    return Index(name, *columns, sqlite_where=condition, postgresql_where=condition)


# The indexes end of day, reversals and rewinds need at a million loans (migration 0020, docs/performance.md).
SCALE_INDEXES = (
    _partial("ix_payments_loan_posted", Payment.loan_id, Payment.received_on, where="status = 'posted'"),
    _partial("ix_scheduled_payments_due", ScheduledPayment.scheduled_for, where="status = 'scheduled'"),
    _partial("ix_cases_loan_kind_delinquency", Case.loan_id, Case.kind, Case.delinquency_since),
    _partial("ix_case_deadlines_open", CaseDeadline.case_id, CaseDeadline.due_on, where="met_on IS NULL"),
    _partial("ix_workouts_active", Workout.loan_id, where="status = 'active'"),
    _partial("ix_fees_outstanding", Fee.loan_id, Fee.assessed_on, Fee.seq, where="outstanding > 0"),
    _partial("ix_loans_active_due", Loan.next_due_date, where="status = 'active'"),
    # outreach's confirmations of the payments received in the last days (migration 0026)
    _partial("ix_payments_posted_received", Payment.received_on, where="status = 'posted'"),
)

# The first day a loan may owe a late fee: its oldest unpaid installment's due date plus the grace period, and 28
# days more (the shortest month) once that installment was charged, when only the next one can be owed for. End of
# day's late fees read the loans whose day has come (`assess_late_fees`) from this index, on PostgreSQL, instead of
# every delinquent loan (migration 0027, which writes the same expression). The literals are written in the SQL,
# so the query's expression is the index's.
LATE_FEE_FROM = (
    Loan.next_due_date
    + Loan.late_fee_grace_days
    + case(
        (or_(Loan.late_fee_through.is_(None), Loan.next_due_date > Loan.late_fee_through), literal_column("0")),
        else_=literal_column("28"),
    )
)
# Indexes only the migrations declare, which Alembic's comparison cannot reflect: PostgreSQL's on LATE_FEE_FROM
# (migration 0027: an expression, partial, on one dialect).
MIGRATION_ONLY_INDEXES = frozenset({"ix_loans_late_fee_from"})
