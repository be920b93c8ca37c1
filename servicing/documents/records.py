"""Documents as records: each made once, kept as a file whose SHA-256 is on its row, never changed.

A document is identified by its kind, its loan and its period (a statement's cycle, a letter's event).
Making one that exists returns the one on file; a correction is a new version that names the one it
replaces. Files live under LOANLINE_DOCUMENTS_DIR (default `instance/documents/`), named by kind, date,
loan, period, version and the first hex digits of their hash, written to a temporary name first and
moved into place, so that a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.errors import DocumentNotFound, DocumentTampered, InvalidInput
from servicing.store.models import DeliveryPreference, Document, EsignConsent, Loan

if TYPE_CHECKING:  # rendering imports the layout engine, which keeping a record does not need
    from servicing.documents.render import Rendered

PAPER, ELECTRONIC = "paper", "electronic"
CHANNELS = (PAPER, ELECTRONIC)
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class NewDocument:
    """What a use case made and wants kept: the rendering plus what the row records about it."""

    kind: str
    loan: Loan
    period: str
    rendered: Rendered
    business_date: date
    created_by: str
    flags: list[str] = field(default_factory=list)
    summary: dict[str, Any] = field(default_factory=dict)


def existing_document(session: Session, kind: str, loan_id: int, period: str) -> Document | None:
    """Return the latest version of a loan's document of a kind and period, if one was made."""
    return session.scalars(
        select(Document)
        .where(Document.kind == kind, Document.loan_id == loan_id, Document.period == period)
        .order_by(Document.version.desc())
        .limit(1)
    ).first()


def delivery_for(session: Session, borrower_id: int, kind: str) -> str:
    """Return how a borrower receives a kind of document: electronic only with an E-SIGN consent in force."""
    if not consent_in_force(session, borrower_id):
        return PAPER
    chosen = session.scalars(
        select(DeliveryPreference.channel)
        .where(DeliveryPreference.borrower_id == borrower_id, DeliveryPreference.kind.in_((kind, "*")))
        .order_by(DeliveryPreference.kind.desc())  # the kind's own choice ("s..." > "*") before the default
    ).first()
    return chosen if chosen in CHANNELS else PAPER


def consent_in_force(session: Session, borrower_id: int) -> EsignConsent | None:
    """Return a borrower's E-SIGN consent that is not revoked, if any."""
    return session.scalars(
        select(EsignConsent)
        .where(EsignConsent.borrower_id == borrower_id, EsignConsent.revoked_at.is_(None))
        .order_by(EsignConsent.given_at.desc())
        .limit(1)
    ).first()


def keep_document(session: Session, root: Path, new: NewDocument, *, replaces: Document | None = None) -> Document:
    """Keep a document: write its file, record its row and audit it; return the one on file if it exists.

    With `replaces`, the new document is a correction: the next version of the same kind, loan and period.
    """
    loan = new.loan
    latest = existing_document(session, new.kind, loan.id, new.period)
    if replaces is None and latest is not None:
        return latest
    if replaces is not None and (latest is None or latest.id != replaces.id):
        raise InvalidInput("only the latest version of a document can be corrected")
    version = 1 if latest is None else latest.version + 1
    digest = hashlib.sha256(new.rendered.pdf).hexdigest()
    relative = _file_name(new, version, digest)
    _write_once(root / relative, new.rendered.pdf)
    flags = list(new.flags)
    if new.rendered.fell_back:
        flags.append("language_fallback")
    document = Document(
        kind=new.kind,
        loan_id=loan.id,
        borrower_id=loan.borrower_id,
        period=new.period,
        version=version,
        replaces_id=replaces.id if replaces else None,
        language=new.rendered.language,
        locale=new.rendered.locale,
        created_by=new.created_by,
        business_date=new.business_date,
        sha256=digest,
        size=len(new.rendered.pdf),
        pages=new.rendered.pages,
        storage_path=relative.as_posix(),
        delivery=delivery_for(session, loan.borrower_id, new.kind),
        delivery_status="pending",
        flags=flags,
        summary=new.summary,
    )
    session.add(document)
    session.flush()
    record_audit(
        session, new.created_by, "document.made", "loan", loan.loan_number,
        {"document": document.id, "kind": new.kind, "period": new.period, "version": version,
         "replaces": document.replaces_id, "sha256": digest},
    )  # fmt: skip
    return document


def read_document(root: Path, document: Document) -> bytes:
    """Return a kept document's bytes, refusing a file that changed since it was made."""
    path = root / document.storage_path
    try:
        data = path.read_bytes()
    except FileNotFoundError as missing:
        raise DocumentNotFound(f"document {document.id}: its file is missing") from missing
    if hashlib.sha256(data).hexdigest() != document.sha256:
        raise DocumentTampered(f"document {document.id}: its file does not match its SHA-256")
    return data


def document_by_id(session: Session, document_id: int) -> Document:
    """Return a document by id, or raise DocumentNotFound."""
    document = session.get(Document, document_id)
    if document is None:
        raise DocumentNotFound(f"no document {document_id}")
    return document


def documents_of_loan(session: Session, loan_id: int) -> list[Document]:
    """Return a loan's documents, newest first."""
    return list(session.scalars(select(Document).where(Document.loan_id == loan_id).order_by(Document.id.desc())))


def documents_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(Document)) or 0


def _file_name(new: NewDocument, version: int, digest: str) -> Path:
    period = _SAFE.sub("_", new.period)
    loan_number = _SAFE.sub("_", new.loan.loan_number)
    day = new.business_date
    return Path(new.kind) / f"{day:%Y}" / f"{day:%m}" / f"{loan_number}-{period}-v{version}-{digest[:12]}.pdf"


def _write_once(path: Path, data: bytes) -> None:
    """Write a file under a temporary name and move it into place; an identical file already there is kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        return  # same name means same kind, loan, period, version and hash: the same bytes
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
