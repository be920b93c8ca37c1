"""Delivering documents: E-SIGN consent and preferences, the day's print batch, electronic notices, chat and links.

- **Preferences and consent.** Paper unless the borrower chose electronic delivery for a kind (or `*`, every
  kind) *and* has an E-SIGN consent in force (15 U.S.C. 7001(c)): recorded with who, when, how and what the
  borrower was shown and answered; revocable, which returns every kind to paper at once.
- **Paper.** One print batch per business day: the day's printable paper documents in mailing order in one PDF
  (printed duplex: a document with an odd number of pages is followed by a blank page, so each one starts on a
  new sheet) and a CSV manifest for the mail house. A document whose borrower has no mailable address is held
  (`held`, flag `no_mailing_address`) and listed with its reason. Idempotent per business date.
- **Electronic.** The borrower is told on their channel that a document is ready (naming its kind, no figures);
  after verification the bot sends it: a Telegram document, or elsewhere a single-use link valid 24 hours
  whose token is kept only as its SHA-256.

See docs/documents.md, "Delivery".
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.documents.context import Address, mailing_address
from servicing.documents.records import CHANNELS, ELECTRONIC, PAPER, consent_in_force, read_document
from servicing.errors import DocumentNotFound, DocumentTampered, InvalidInput, LoanNotFound, ServicingError
from servicing.notices import Phrases, notify_borrower
from servicing.reports import csv_text
from servicing.speaking import say
from servicing.store.models import (
    Borrower,
    DeliveryPreference,
    Document,
    DocumentLink,
    EsignConsent,
    Loan,
    PrintBatch,
    utcnow,
)

# delivery_status: paper pending -> printed, or held; electronic pending -> notified -> sent -> downloaded
PENDING, HELD, PRINTED = "pending", "held", "printed"
NOTIFIED, SENT, DOWNLOADED = "notified", "sent", "downloaded"
NO_MAILING_ADDRESS = "no_mailing_address"
FILE_UNREADABLE = "file_unreadable"
NO_CHANNEL = "no_electronic_channel"
EVERY_KIND = "*"
CONSENT_METHODS = ("telegram", "sms", "simulator", "chat", "console_phone", "console_written")
REVOKE_METHODS = ("telegram", "sms", "simulator", "chat", "console_phone", "console_written")
EVIDENCE_LENGTH = 300
LINK_LIFETIME = timedelta(hours=24)
LINK_PATH = "/d/"  # served by bot/channels/links.py
DEVELOPMENT_URL = "http://127.0.0.1:8080"  # `loanline run`'s address, when LOANLINE_PUBLIC_URL is not set
_LINK_TOKEN = re.compile(re.escape(LINK_PATH) + r"[A-Za-z0-9_-]{16,64}")
PRINT_FOLDER = "print"
MANIFEST_COLUMNS = (
    "sequence", "document_id", "loan_number", "kind", "period", "recipient_name", "address_line1", "address_line2",
    "city", "region", "postal_code", "country", "first_page", "pages", "sheets", "sha256",
)  # fmt: skip

# What the borrower reads naming a document: a title in their language (bot catalogs), by kind.
KIND_TITLES = {
    "statement": say("Periodic statement"),
    "mortgage_statement": say("Periodic mortgage statement"),
    "account_statement": say("Account statement"),
    "late_notice": say("Late payment notice"),
    "payoff_statement": say("Payoff statement"),
    "escrow_statement": say("Escrow account statement"),
    "escrow_analysis": say("Escrow account statement"),
    "early_intervention": say("Help for borrowers behind on payments"),
    "lm_acknowledgement": say("Acknowledgement of your request for help"),
    "lm_complete": say("Your application for help is complete"),
    "lm_denial": say("Decision on your application for help"),
    "lm_offer": say("Offer of help with your payments"),
    "denial": say("Decision on your application for help"),
    "offer": say("Offer of help with your payments"),
    "error_acknowledgement": say("Acknowledgement of your notice of error"),
    "error_response": say("Response to your notice of error"),
    "information_acknowledgement": say("Acknowledgement of your request for information"),
    "information_response": say("Response to your request for information"),
}
ANY_DOCUMENT = say("Document from your servicer")
DOCUMENT_READY = say(
    "A new document about your loan ending in {ending} is ready: {title}. Reply DOCUMENTS to receive it here."
)


class ConsentRequired(InvalidInput):
    """Electronic delivery chosen for a borrower with no E-SIGN consent in force."""


class LinkRefused(ServicingError):
    """A download link that cannot be used: unknown, expired or used; its document and borrower when it is known."""

    def __init__(self, why: str, document: Document | None = None) -> None:
        super().__init__(f"link {why}")
        self.why = why
        self.document_id = document.id if document else None
        self.borrower_id = document.borrower_id if document else None


def kind_title(kind: str) -> str:
    """Return the msgid (bot catalogs) naming a kind of document to its borrower."""
    return KIND_TITLES.get(kind, ANY_DOCUMENT)


# -- consent and preferences ----------------------------------------------------------------------------------


def record_consent(
    session: Session, borrower_id: int, *, actor: str, method: str, evidence: str, now: datetime
) -> EsignConsent:
    """Record a borrower's E-SIGN consent: who recorded it, when, how and what they were shown and answered."""
    evidence = " ".join(evidence.split())
    if method not in CONSENT_METHODS:
        raise InvalidInput(f"method: {method!r} is not one of {', '.join(CONSENT_METHODS)}")
    if not evidence:
        raise InvalidInput("evidence: say what the borrower was shown and what they answered")
    if len(evidence) > EVIDENCE_LENGTH:
        raise InvalidInput(f"evidence: longer than {EVIDENCE_LENGTH} characters")
    _lock_borrower(session, borrower_id)
    in_force = consent_in_force(session, borrower_id)
    if in_force is not None:
        raise InvalidInput(f"an E-SIGN consent is already in force (given {in_force.given_at:%Y-%m-%d})")
    consent = EsignConsent(borrower_id=borrower_id, given_at=now, recorded_by=actor, method=method, evidence=evidence)
    session.add(consent)
    session.flush()
    record_audit(session, actor, "esign.consent_recorded", "borrower", str(borrower_id),
                 {"consent": consent.id, "method": method, "evidence": evidence})  # fmt: skip
    return consent


def revoke_consent(
    session: Session, borrower_id: int, *, actor: str, method: str, now: datetime, reason: str = ""
) -> EsignConsent:
    """Revoke a borrower's E-SIGN consent: every kind returns to paper, and so do documents not yet announced."""
    if method not in REVOKE_METHODS:
        raise InvalidInput(f"method: {method!r} is not one of {', '.join(REVOKE_METHODS)}")
    _lock_borrower(session, borrower_id)
    consent = consent_in_force(session, borrower_id)
    if consent is None:
        raise InvalidInput("no E-SIGN consent is in force")
    consent.revoked_at, consent.revoked_by, consent.revoke_method = now, actor, method
    not_announced = session.scalars(
        select(Document).where(
            Document.borrower_id == borrower_id, Document.delivery == ELECTRONIC, Document.delivery_status == PENDING
        )
    ).all()
    for document in not_announced:
        document.delivery = PAPER
    moved = len(not_announced)
    record_audit(session, actor, "esign.consent_revoked", "borrower", str(borrower_id),
                 {"consent": consent.id, "method": method, "documents_to_paper": moved,
                  **({"reason": reason.strip()} if reason.strip() else {})})  # fmt: skip
    return consent


def set_preference(
    session: Session, borrower_id: int, kind: str, channel: str, *, actor: str, now: datetime, reason: str = ""
) -> DeliveryPreference:
    """Choose how a borrower receives a kind of document (or `*`, every kind); electronic needs a consent in force."""
    kind = kind.strip()
    if not kind or len(kind) > 32 or not (kind == EVERY_KIND or kind.replace("_", "").isalnum()):
        raise InvalidInput(f"kind: {kind!r} is not a document kind or *")
    if channel not in CHANNELS:
        raise InvalidInput(f"channel: {channel!r} is not one of {', '.join(CHANNELS)}")
    _lock_borrower(session, borrower_id)
    if channel == ELECTRONIC and consent_in_force(session, borrower_id) is None:
        raise ConsentRequired("electronic delivery needs the borrower's E-SIGN consent first")
    preference = session.get(DeliveryPreference, (borrower_id, kind))
    before = preference.channel if preference else None
    if preference is None:
        preference = DeliveryPreference(borrower_id=borrower_id, kind=kind, channel=channel, changed_by=actor,
                                        changed_at=now)  # fmt: skip
        session.add(preference)
    else:
        preference.channel, preference.changed_by, preference.changed_at = channel, actor, now
    session.flush()
    record_audit(session, actor, "delivery.preference_set", "borrower", str(borrower_id),
                 {"kind": kind, "before": before, "after": channel,
                  **({"reason": reason.strip()} if reason.strip() else {})})  # fmt: skip
    return preference


@dataclass(frozen=True)
class DeliveryState:
    """A borrower's consent in force (if any), their latest consent, and their preferences by kind."""

    consent: EsignConsent | None
    latest_consent: EsignConsent | None
    preferences: list[DeliveryPreference]


def delivery_state(session: Session, borrower_id: int) -> DeliveryState:
    """Return what the console shows of a borrower's delivery: consent status and preferences."""
    latest = session.scalars(
        select(EsignConsent)
        .where(EsignConsent.borrower_id == borrower_id)
        .order_by(EsignConsent.given_at.desc(), EsignConsent.id.desc())
        .limit(1)
    ).first()
    preferences = list(
        session.scalars(
            select(DeliveryPreference)
            .where(DeliveryPreference.borrower_id == borrower_id)
            .order_by(DeliveryPreference.kind)
        )
    )
    return DeliveryState(consent_in_force(session, borrower_id), latest, preferences)


def borrower_of_loan(session: Session, loan_number: str) -> int:
    """Return the id of a loan's borrower; LoanNotFound for an unknown number."""
    borrower_id = session.scalar(select(Loan.borrower_id).where(Loan.loan_number == loan_number))
    if borrower_id is None:
        raise LoanNotFound(loan_number)
    return borrower_id


def _lock_borrower(session: Session, borrower_id: int) -> Borrower:
    """Take the borrower's row (PostgreSQL: locked) so that two consents or revocations do not race."""
    borrower = session.get(Borrower, borrower_id, with_for_update=True)
    if borrower is None:
        raise InvalidInput(f"no borrower {borrower_id}")
    return borrower


# -- the day's delivery: electronic notices, then the print batch -----------------------------------------------


@dataclass(frozen=True)
class HeldDocument:
    """A paper document left out of a print batch, and why."""

    document_id: int
    loan_number: str
    kind: str
    reason: str


@dataclass
class PrintBatchReport:
    """A business day's print batch: what it holds, in mailing order, and what was held back."""

    business_date: date
    made: bool  # False: the batch existed (a rerun), or there was nothing to print
    batch_id: int | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)  # the manifest's rows
    held: list[HeldDocument] = field(default_factory=list)
    pages: int = 0  # of the combined PDF, blank backs included
    sheets: int = 0
    pdf_path: Path | None = None
    manifest_path: Path | None = None


@dataclass(frozen=True)
class DeliveryPlace:
    """Where end of day delivers from: the documents' folder, and the servicer's country (first in mailing order)."""

    root: Path
    home_country: str


@dataclass
class DayDelivery:
    """What delivering a day's documents did."""

    notified: int = 0
    to_paper: int = 0  # electronic documents whose borrower has no channel left: sent on paper instead
    batch: PrintBatchReport | None = None


def deliver_day(session: Session, day: date, place: DeliveryPlace, actor: str) -> DayDelivery:
    """Deliver a business day's documents at its end of day (see `deliver_documents`)."""
    return deliver_documents(session, day, root=place.root, home_country=place.home_country, actor=actor,
                             now=utcnow())  # fmt: skip


def deliver_documents(
    session: Session, day: date, *, root: Path, home_country: str, actor: str, now: datetime
) -> DayDelivery:
    """Deliver what the day made: tell borrowers of their electronic documents, then make the print batch."""
    result = DayDelivery()
    result.notified, result.to_paper = notify_ready_documents(session, day, actor=actor, now=now)
    result.batch = make_print_batch(session, day, root=root, home_country=home_country, actor=actor, now=now)
    return result


def notify_ready_documents(session: Session, day: date, *, actor: str, now: datetime) -> tuple[int, int]:
    """Tell each borrower with an electronic document pending that it is ready; return (notified, sent to paper).

    A borrower with no channel at all (no conversation, no phone) gets the document on paper instead.
    """
    pending = session.scalars(
        select(Document)
        .where(Document.delivery == ELECTRONIC, Document.delivery_status == PENDING, Document.business_date <= day)
        .order_by(Document.id)
    ).all()
    notified = to_paper = 0
    for document in pending:
        if _notify(session, document, actor=actor, now=now):
            notified += 1
        else:
            document.delivery, document.flags = PAPER, [*document.flags, NO_CHANNEL]
            to_paper += 1
    return notified, to_paper


def _notify(session: Session, document: Document, *, actor: str, now: datetime) -> bool:
    """Queue the "document ready" notice; mark the document notified. Return False when the borrower has no channel."""
    loan = session.get_one(Loan, document.loan_id)
    message = notify_borrower(session, loan, DOCUMENT_READY, now=now, ending=loan.loan_number[-4:],
                              title=Phrases((kind_title(document.kind),)))  # fmt: skip
    if message is None:
        return False
    if document.delivery_status == PENDING:
        document.delivery_status = NOTIFIED
    record_audit(session, actor, "document.notified", "loan", loan.loan_number,
                 {"document": document.id, "kind": document.kind, "message": message.id})  # fmt: skip
    return True


# -- paper ------------------------------------------------------------------------------------------------------


def make_print_batch(
    session: Session, day: date, *, root: Path, home_country: str, actor: str, now: datetime
) -> PrintBatchReport:
    """Make the business day's print batch once: combined PDF and manifest in mailing order; hold the unmailable.

    Mailing order: the servicer's own country first, then by country code; within a country by postal code,
    then loan number (and document id). A rerun for the same day makes nothing and reports the batch on file.
    """
    existing = session.scalar(select(PrintBatch).where(PrintBatch.business_date == day))
    if existing is not None:
        return _existing_batch(session, existing, root)
    report = PrintBatchReport(day, made=False)
    candidates = session.execute(
        select(Document, Loan.loan_number, Borrower)
        .join(Loan, Loan.id == Document.loan_id)
        .join(Borrower, Borrower.id == Document.borrower_id)
        .where(Document.delivery == PAPER, Document.delivery_status == PENDING, Document.business_date <= day)
        .with_for_update(of=Document)
    ).all()
    printable: list[tuple[Document, str, Borrower, Address]] = []
    for document, loan_number, borrower in candidates:
        address = mailing_address(borrower)
        if NO_MAILING_ADDRESS in document.flags or not address.is_mailable():
            _hold(session, document, loan_number, NO_MAILING_ADDRESS, actor, report)
        else:
            printable.append((document, loan_number, borrower, address))
    printable.sort(key=lambda item: _mailing_order(item[3], item[1], item[0].id, home_country))
    _combine(session, printable, root, day, actor, now, report)
    report.held.extend(_held_before(session, day, exclude={h.document_id for h in report.held}))
    return report


def _mailing_order(address: Address, loan_number: str, document_id: int, home_country: str) -> tuple[Any, ...]:
    country = address.country or home_country
    postal = "".join((address.postal_code or "").split()).upper()
    return (country != home_country, country, postal, loan_number, document_id)


def _hold(
    session: Session, document: Document, loan_number: str, reason: str, actor: str, report: PrintBatchReport
) -> None:
    document.delivery_status = HELD
    if reason not in document.flags:
        document.flags = [*document.flags, reason]
    record_audit(session, actor, "document.held", "loan", loan_number, {"document": document.id, "reason": reason})
    report.held.append(HeldDocument(document.id, loan_number, document.kind, reason))


def _combine(
    session: Session,
    printable: Sequence[tuple[Document, str, Borrower, Address]],
    root: Path,
    day: date,
    actor: str,
    now: datetime,
    report: PrintBatchReport,
) -> None:
    """Write the combined PDF and the manifest, record the batch and mark its documents printed."""
    import pypdf  # noqa: PLC0415 (only a print batch reads PDFs: the web app and the bot never load it)

    writer = pypdf.PdfWriter()
    included: list[Document] = []
    for document, loan_number, borrower, address in printable:
        try:
            pdf = pypdf.PdfReader(io.BytesIO(read_document(root, document)))
        except (DocumentNotFound, DocumentTampered):
            _hold(session, document, loan_number, FILE_UNREADABLE, actor, report)
            continue
        first_page = len(writer.pages) + 1
        for page in pdf.pages:
            writer.add_page(page)
        if len(pdf.pages) % 2:  # duplex: the next document starts on the front of a new sheet
            last = pdf.pages[-1].mediabox
            writer.add_blank_page(width=float(last.width), height=float(last.height))
        sheets = (len(pdf.pages) + 1) // 2
        report.rows.append(_manifest_row(len(report.rows) + 1, document, loan_number, borrower, address,
                                         first_page, sheets))  # fmt: skip
        included.append(document)
    if not included:
        return
    buffer = io.BytesIO()
    writer.write(buffer)
    combined = buffer.getvalue()
    folder = Path(PRINT_FOLDER) / f"{day:%Y}" / f"{day:%m}"
    pdf_path, manifest_path = folder / f"{day.isoformat()}-print.pdf", folder / f"{day.isoformat()}-manifest.csv"
    _write(root / pdf_path, combined)
    _write(root / manifest_path, csv_text(report.rows).encode("utf-8"))
    report.pages, report.sheets = len(writer.pages), sum(int(row["sheets"]) for row in report.rows)
    batch = PrintBatch(
        business_date=day, created_at=now, created_by=actor, documents=len(included), sheets=report.sheets,
        pdf_path=pdf_path.as_posix(), pdf_sha256=hashlib.sha256(combined).hexdigest(),
        manifest_path=manifest_path.as_posix(),
    )  # fmt: skip
    session.add(batch)
    session.flush()
    for document in included:
        document.delivery_status, document.print_batch_id, document.delivered_at = PRINTED, batch.id, now
    report.made, report.batch_id = True, batch.id
    report.pdf_path, report.manifest_path = root / pdf_path, root / manifest_path
    record_audit(session, actor, "print_batch.made", "print_batch", day.isoformat(),
                 {"batch": batch.id, "documents": len(included), "pages": report.pages, "sheets": report.sheets,
                  "held": len(report.held), "sha256": batch.pdf_sha256})  # fmt: skip


def _manifest_row(
    sequence: int, document: Document, loan_number: str, borrower: Borrower, address: Address, first: int, sheets: int
) -> dict[str, Any]:
    values = [
        sequence, document.id, loan_number, document.kind, document.period,
        f"{borrower.first_name} {borrower.last_name}", address.line1, address.line2, address.city, address.region,
        address.postal_code, address.country, first, document.pages, sheets, document.sha256,
    ]  # fmt: skip
    return dict(zip(MANIFEST_COLUMNS, values, strict=True))


def _existing_batch(session: Session, batch: PrintBatch, root: Path) -> PrintBatchReport:
    """Report a batch made before (a rerun): its manifest's rows as written, and what is held up to its day."""
    manifest = root / batch.manifest_path
    rows = _read_manifest(manifest) if manifest.exists() else []
    report = PrintBatchReport(batch.business_date, made=False, batch_id=batch.id, rows=rows, sheets=batch.sheets,
                              pdf_path=root / batch.pdf_path, manifest_path=manifest)  # fmt: skip
    report.pages = sum(2 * int(row["sheets"]) for row in rows)
    report.held = _held_before(session, batch.business_date, exclude=set())
    return report


def _read_manifest(path: Path) -> list[dict[str, Any]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _held_before(session: Session, day: date, exclude: set[int]) -> list[HeldDocument]:
    rows = session.execute(
        select(Document.id, Loan.loan_number, Document.kind, Document.flags)
        .join(Loan, Loan.id == Document.loan_id)
        .where(Document.delivery == PAPER, Document.delivery_status == HELD, Document.business_date <= day)
        .order_by(Document.id)
    ).all()
    return [
        HeldDocument(document_id, loan_number, kind, _held_reason(flags))
        for document_id, loan_number, kind, flags in rows
        if document_id not in exclude
    ]


def _held_reason(flags: Sequence[str]) -> str:
    for reason in (FILE_UNREADABLE, NO_MAILING_ADDRESS):
        if reason in flags:
            return reason
    return "held"


def _write(path: Path, data: bytes) -> None:
    """Write a file under a temporary name and move it into place (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


# -- electronic: the bot hands documents over -------------------------------------------------------------------


def latest_documents(session: Session, loan_id: int, limit: int = 5) -> list[Document]:
    """Return a loan's latest documents (the latest version of each), newest first."""
    documents = session.scalars(
        select(Document).where(Document.loan_id == loan_id).order_by(Document.id.desc()).limit(limit * 3)
    ).all()
    replaced = {document.replaces_id for document in documents if document.replaces_id}
    return [document for document in documents if document.id not in replaced][:limit]


def file_name(document: Document, loan_label: str) -> str:
    """Return the name a copy of a document is saved under: kind, loan (a borrower's copy: its last 4), period."""
    period = "".join(c if c.isalnum() or c in "-_" else "_" for c in document.period)
    label = "".join(c if c.isalnum() or c == "-" else "_" for c in loan_label)
    version = f"-v{document.version}" if document.version > 1 else ""
    return f"{document.kind}-{label}-{period}{version}.pdf"


def mark_sent(session: Session, document_id: int, *, channel: str, actor: str, now: datetime) -> Document:
    """Record that a document was handed to its borrower in a chat (a Telegram document): status sent."""
    document = _document(session, document_id)
    _delivered(document, SENT, now)
    record_audit(session, actor, "document.sent", "loan", _loan_number(session, document),
                 {"document": document.id, "kind": document.kind, "channel": channel})  # fmt: skip
    return document


def issue_link(session: Session, document: Document, *, channel: str, now: datetime, base_url: str | None) -> str:
    """Make a single-use download link valid 24 hours; keep only its token's SHA-256; return the URL."""
    token = secrets.token_urlsafe(24)
    session.add(DocumentLink(token_hash=_token_hash(token), document_id=document.id, created_at=now,
                             expires_at=now + LINK_LIFETIME))  # fmt: skip
    _delivered(document, SENT, now)
    record_audit(session, "bot", "document.link_sent", "loan", _loan_number(session, document),
                 {"document": document.id, "kind": document.kind, "channel": channel,
                  "expires_at": (now + LINK_LIFETIME).isoformat()})  # fmt: skip
    return f"{(base_url or DEVELOPMENT_URL).rstrip('/')}{LINK_PATH}{token}"


def check_link(session: Session, token: str, *, now: datetime) -> tuple[DocumentLink, Document]:
    """Return a usable link and its document, or raise LinkRefused (unknown, used or expired). Changes nothing."""
    link = session.get(DocumentLink, _token_hash(token)) if 16 <= len(token) <= 64 else None
    if link is None:
        raise LinkRefused("unknown")
    document = session.get_one(Document, link.document_id)
    if link.used_at is not None:
        raise LinkRefused("used", document)
    if now >= link.expires_at:
        raise LinkRefused("expired", document)
    return link, document


def redeem_link(session: Session, token: str, *, now: datetime) -> Document:
    """Use a link once: mark it used, the document downloaded, audit `document.downloaded`; refuse it after."""
    link_hash = _token_hash(token) if 16 <= len(token) <= 64 else ""
    link = session.get(DocumentLink, link_hash, with_for_update=True) if link_hash else None
    if link is None:
        raise LinkRefused("unknown")
    _, document = check_link(session, token, now=now)
    link.used_at = now
    _delivered(document, DOWNLOADED, now)
    record_audit(session, "borrower", "document.downloaded", "loan", _loan_number(session, document),
                 {"document": document.id, "kind": document.kind, "via": "link"})  # fmt: skip
    return document


def without_link_tokens(text: str) -> str:
    """Return a text with the tokens of download links blanked (a transcript keeps no usable link)."""
    return _LINK_TOKEN.sub(f"{LINK_PATH}…", text)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _delivered(document: Document, status: str, now: datetime) -> None:
    """Move an electronic document's status forward (never back) and set when it reached the borrower."""
    order = (PENDING, NOTIFIED, SENT, DOWNLOADED)
    if document.delivery == ELECTRONIC and order.index(status) > _rank(document.delivery_status, order):
        document.delivery_status = status
    if document.delivery == ELECTRONIC and document.delivered_at is None:
        document.delivered_at = now


def _rank(status: str, order: Sequence[str]) -> int:
    return order.index(status) if status in order else -1


# -- the console: view, download, re-send, print again ----------------------------------------------------------


def document_of_loan(session: Session, loan_number: str, document_id: int) -> tuple[Loan, Document]:
    """Return a loan and one of its documents; DocumentNotFound when the document is another loan's or none."""
    loan = session.scalar(select(Loan).where(Loan.loan_number == loan_number))
    if loan is None:
        raise LoanNotFound(loan_number)
    document = session.get(Document, document_id)
    if document is None or document.loan_id != loan.id:
        raise DocumentNotFound(f"no document {document_id} on loan {loan_number}")
    return loan, document


def open_for_specialist(
    session: Session, root: Path, loan_number: str, document_id: int, *, actor: str, downloaded: bool
) -> tuple[Document, bytes]:
    """Return a document's bytes for a specialist to view or download; audit it (`document.viewed`/`downloaded`)."""
    loan, document = document_of_loan(session, loan_number, document_id)
    data = read_document(root, document)
    action = "document.downloaded" if downloaded else "document.viewed"
    record_audit(session, actor, action, "loan", loan.loan_number,
                 {"document": document.id, "kind": document.kind, "period": document.period,
                  "version": document.version})  # fmt: skip
    return document, data


def resend_document(
    session: Session, loan_number: str, document_id: int, *, actor: str, reason: str, now: datetime
) -> Document:
    """Tell the borrower again that an electronic document is ready (a specialist's re-send); audit it."""
    _check_reason(reason)
    loan, document = document_of_loan(session, loan_number, document_id)
    if document.delivery != ELECTRONIC:
        raise InvalidInput("this document goes on paper: print it again instead")
    if not _notify(session, document, actor=actor, now=now):
        raise InvalidInput("the borrower has no channel to be told on (no conversation and no phone)")
    record_audit(session, actor, "document.resent", "loan", loan.loan_number,
                 {"document": document.id, "kind": document.kind, "reason": reason.strip()})  # fmt: skip
    return document


def print_again(
    session: Session, loan_number: str, document_id: int, *, actor: str, reason: str, now: datetime
) -> Document:
    """Put a document back into the next print batch, on paper; audit it with the batch it was in before.

    Refused for a document made without a mailing address (its envelope window would be empty: download it and
    address it by hand, or make a correction) and for a borrower with no mailable address on file.
    """
    _check_reason(reason)
    loan, document = document_of_loan(session, loan_number, document_id)
    if NO_MAILING_ADDRESS in document.flags:
        raise InvalidInput("this document was made without a mailing address: download it to print and address it "
                           "by hand, or make a corrected one")  # fmt: skip
    if not mailing_address(session.get_one(Borrower, document.borrower_id)).is_mailable():
        raise InvalidInput("the borrower has no mailing address on file")
    if document.delivery == PAPER and document.delivery_status == PENDING:
        raise InvalidInput("this document is already waiting for the next print batch")
    before = {"delivery": document.delivery, "status": document.delivery_status, "batch": document.print_batch_id}
    document.delivery, document.delivery_status, document.print_batch_id = PAPER, PENDING, None
    document.flags = [flag for flag in document.flags if flag != FILE_UNREADABLE]
    detail = {"document": document.id, "kind": document.kind, "before": before, "reason": reason.strip()}
    record_audit(session, actor, "document.print_again", "loan", loan.loan_number, detail)
    return document


def _check_reason(reason: str) -> None:
    if not reason.strip():
        raise InvalidInput("reason: missing")


def _document(session: Session, document_id: int) -> Document:
    document = session.get(Document, document_id)
    if document is None:
        raise DocumentNotFound(f"no document {document_id}")
    return document


def _loan_number(session: Session, document: Document) -> str:
    return session.get_one(Loan, document.loan_id).loan_number
