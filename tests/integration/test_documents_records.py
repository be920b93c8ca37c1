"""Documents as records: rendered in the borrower's language, kept once, never changed, corrected by a new one."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pypdf
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.documents.context import loan_block, recipient_block, servicer_block
from servicing.documents.records import NewDocument, delivery_for, keep_document, read_document
from servicing.documents.render import Renderer
from servicing.errors import DocumentTampered, InvalidInput
from servicing.store.models import AuditEntry, Borrower, DeliveryPreference, Document, EsignConsent, Loan
from tests.integration.helpers import board

TODAY = date(2026, 12, 4)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def late_notice_context(session: Session, loan: Loan) -> dict[str, Any]:
    return {
        "servicer": servicer_block("Loanline Demo Servicing", "+1 800 555 0100", "PO Box 1000, Springfield, IL 62701"),
        "recipient": recipient_block(session.get_one(Borrower, loan.borrower_id), "US"),
        "document_date": TODAY,
        "loan": loan_block(loan, "US"),
        "notice": {
            "amount_to_bring_current": Decimal("1534.20"), "due_date": date(2026, 11, 1),
            "past_due": Decimal("1500.00"), "fee_on": date(2026, 11, 17),
            "fees": [{"installment_due": date(2026, 11, 1), "amount": Decimal("34.20")}],
            "other_fees": Decimal("0.00"), "escrow_billed": Decimal("0.00"), "suspense": Decimal("0.00"),
            "days_past_due": 33,
        },
    }  # fmt: skip


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def a_loan(session: Session, **fields: Any) -> Loan:
    number = board(session, **fields)
    return session.scalars(select(Loan).where(Loan.loan_number == number)).one()


def test_a_hindi_notice_is_written_in_devanagari_with_indian_figures(
    renderer: Renderer, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session, locale="hi_IN")
        rendered = renderer.render("late_notice.html", late_notice_context(session, loan), "hi_IN")
    text = text_of(rendered.pdf)
    assert (rendered.language, rendered.locale, rendered.fell_back) == ("hi", "hi_IN", False)
    for word in ("भुगतान", "बकाया", "तारीख", "सूचना"):  # Devanagari words whose letters extract in reading order
        assert word in text
    assert "$1,534.20" in text and "4 दिसंबर 2026" in text
    assert "\ufffd" not in text


def test_a_spanish_notice_formats_money_and_dates_in_the_borrowers_locale(
    renderer: Renderer, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session, locale="es_US")
        rendered = renderer.render("late_notice.html", late_notice_context(session, loan), "es_US")
    text = text_of(rendered.pdf)
    assert "Aviso de pago atrasado" in text
    assert "US$1,534.20" in text or "$1,534.20" in text
    assert "4 de diciembre de 2026" in text


def test_a_language_without_the_template_gets_it_in_english_and_says_so(
    renderer: Renderer, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session, locale="ja_JP")  # no Japanese catalog
        rendered = renderer.render("late_notice.html", late_notice_context(session, loan), "ja_JP")
        document = keep_document(session, tmp_path, NewDocument("late_notice", loan, "fee:1", rendered, TODAY, "test"))
        assert (document.language, document.flags) == ("en", ["language_fallback"])
    assert "Late payment notice" in text_of(rendered.pdf)


def test_a_document_is_kept_once_with_its_hash_and_a_second_make_returns_it(
    renderer: Renderer, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
        rendered = renderer.render("late_notice.html", late_notice_context(session, loan), "en_US")
        first = keep_document(session, tmp_path, NewDocument("late_notice", loan, "fee:1", rendered, TODAY, "test"))
        again = keep_document(session, tmp_path, NewDocument("late_notice", loan, "fee:1", rendered, TODAY, "test"))
        assert again.id == first.id
        assert read_document(tmp_path, first) == rendered.pdf
        assert (first.size, first.pages, first.delivery, first.version) == (len(rendered.pdf), 1, "paper", 1)
        audits = session.scalars(select(AuditEntry.action).where(AuditEntry.action == "document.made")).all()
        assert audits == ["document.made"]
    with sessions() as session:
        assert len(session.scalars(select(Document)).all()) == 1


def test_a_correction_is_a_new_version_naming_the_one_it_replaces_and_the_original_stays(
    renderer: Renderer, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
        context = late_notice_context(session, loan)
        first = renderer.render("late_notice.html", context, "en_US")
        original = keep_document(session, tmp_path, NewDocument("late_notice", loan, "fee:1", first, TODAY, "test"))
        context["notice"]["fees"][0]["amount"] = Decimal("30.00")
        fixed = renderer.render("late_notice.html", context, "en_US")
        corrected = keep_document(
            session, tmp_path, NewDocument("late_notice", loan, "fee:1", fixed, TODAY, "test"), replaces=original
        )
        assert (corrected.version, corrected.replaces_id) == (2, original.id)
        assert read_document(tmp_path, original) != read_document(tmp_path, corrected)
        with pytest.raises(InvalidInput):
            keep_document(
                session, tmp_path, NewDocument("late_notice", loan, "fee:1", fixed, TODAY, "test"), replaces=original
            )


def test_a_changed_file_is_refused_when_read(
    renderer: Renderer, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
        rendered = renderer.render("late_notice.html", late_notice_context(session, loan), "en_US")
        document = keep_document(session, tmp_path, NewDocument("late_notice", loan, "fee:1", rendered, TODAY, "test"))
        (tmp_path / document.storage_path).write_bytes(rendered.pdf + b"%")
        with pytest.raises(DocumentTampered):
            read_document(tmp_path, document)


def test_electronic_delivery_needs_a_consent_in_force_and_revoking_it_returns_to_paper(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
        session.add(DeliveryPreference(borrower_id=loan.borrower_id, kind="*", channel="electronic", changed_by="test"))
        session.flush()
        assert delivery_for(session, loan.borrower_id, "statement") == "paper"  # no consent yet
        consent = EsignConsent(borrower_id=loan.borrower_id, recorded_by="bot", method="telegram", evidence="YES")
        session.add(consent)
        session.flush()
        assert delivery_for(session, loan.borrower_id, "statement") == "electronic"
        session.add(
            DeliveryPreference(borrower_id=loan.borrower_id, kind="statement", channel="paper", changed_by="test")
        )
        session.flush()
        assert delivery_for(session, loan.borrower_id, "statement") == "paper"  # the kind's own choice wins
        assert delivery_for(session, loan.borrower_id, "late_notice") == "electronic"
        consent.revoked_at = datetime(2026, 12, 4, tzinfo=UTC)
        session.flush()
        assert delivery_for(session, loan.borrower_id, "late_notice") == "paper"
