"""Delivering documents: E-SIGN consent and preferences, the day's print batch, electronic notices and links."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pypdf
import pytest
from click.testing import CliRunner
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from loanline.cli import main
from servicing.config import Settings
from servicing.documents.delivery import (
    MANIFEST_COLUMNS,
    ConsentRequired,
    DeliveryPlace,
    LinkRefused,
    check_link,
    issue_link,
    make_print_batch,
    notify_ready_documents,
    record_consent,
    redeem_link,
    revoke_consent,
    set_preference,
    without_link_tokens,
)
from servicing.documents.records import delivery_for
from servicing.documents.render import Renderer
from servicing.eod import run_business_day
from servicing.errors import InvalidInput
from servicing.store.models import (
    AuditEntry,
    BorrowerPhone,
    Document,
    DocumentLink,
    EsignConsent,
    Loan,
    OutboxItem,
    PrintBatch,
)
from tests.integration.document_helpers import NO_ADDRESS, Notices, a_loan, keep_notice, render_notices

TODAY = date(2026, 3, 2)  # a Monday
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def notices() -> Notices:
    return render_notices(Renderer(), TODAY)


def actions(session: Session, action: str) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def consent(session: Session, borrower_id: int) -> EsignConsent:
    return record_consent(session, borrower_id, actor="sam", method="console_phone",
                          evidence="Read the disclosure by phone; borrower said yes", now=NOW)  # fmt: skip


# -- consent and preferences ----------------------------------------------------------------------------------


def test_electronic_delivery_is_refused_without_an_e_sign_consent_and_nothing_is_recorded(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
        with pytest.raises(ConsentRequired, match="E-SIGN consent first"):
            set_preference(session, loan.borrower_id, "*", "electronic", actor="sam", now=NOW)
        set_preference(session, loan.borrower_id, "statement", "paper", actor="sam", now=NOW)
        assert delivery_for(session, loan.borrower_id, "statement") == "paper"
        assert [e.detail["after"] for e in actions(session, "delivery.preference_set")] == ["paper"]
        for kind, channel, reason in (("st atement", "paper", "kind"), ("*", "fax", "channel")):
            with pytest.raises(InvalidInput, match=reason):
                set_preference(session, loan.borrower_id, kind, channel, actor="sam", now=NOW)


def test_a_consent_allows_electronic_delivery_and_its_withdrawal_returns_every_kind_to_paper(
    sessions: sessionmaker[Session], notices: Notices, tmp_path: Path
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
        given = consent(session, loan.borrower_id)
        set_preference(session, loan.borrower_id, "*", "electronic", actor="sam", now=NOW)
        announced = keep_notice(session, tmp_path, loan, notices.one_page, TODAY, period="fee:1")
        waiting = keep_notice(session, tmp_path, loan, notices.one_page, TODAY, period="fee:2")
        assert (announced.delivery, waiting.delivery) == ("electronic", "electronic")
        announced.delivery_status = "notified"
        with pytest.raises(InvalidInput, match="already in force"):
            consent(session, loan.borrower_id)
        revoke_consent(session, loan.borrower_id, actor="sam", method="console_written", now=NOW, reason="Letter")
        assert (given.revoked_at, given.revoked_by, given.revoke_method) == (NOW, "sam", "console_written")
        assert delivery_for(session, loan.borrower_id, "late_notice") == "paper"
        assert (waiting.delivery, announced.delivery) == ("paper", "electronic")  # the announced one stays
        with pytest.raises(InvalidInput, match="no E-SIGN consent is in force"):
            revoke_consent(session, loan.borrower_id, actor="sam", method="console_phone", now=NOW)
        [revoked] = actions(session, "esign.consent_revoked")
        assert revoked.detail == {"consent": given.id, "method": "console_written", "documents_to_paper": 1,
                                  "reason": "Letter"}  # fmt: skip
        recorded = actions(session, "esign.consent_recorded")[0]
        assert (recorded.actor, recorded.detail["method"]) == ("sam", "console_phone")


@pytest.mark.parametrize(
    ("method", "evidence", "reason"),
    [("carrier pigeon", "yes", "method"), ("console_phone", "   ", "evidence"), ("sms", "x" * 301, "evidence")],
)
def test_a_consent_needs_a_known_method_and_its_evidence(
    sessions: sessionmaker[Session], method: str, evidence: str, reason: str
) -> None:
    with sessions.begin() as session:
        loan = a_loan(session)
        with pytest.raises(InvalidInput, match=reason):
            record_consent(session, loan.borrower_id, actor="sam", method=method, evidence=evidence, now=NOW)
        assert session.scalar(select(func.count()).select_from(EsignConsent)) == 0


# -- paper: the print batch -----------------------------------------------------------------------------------


def pages_of(path: Path) -> list[str]:
    return [page.extract_text() for page in pypdf.PdfReader(path).pages]


def test_the_recipients_address_prints_where_a_number_10_window_envelope_shows_it(notices: Notices) -> None:
    page = pypdf.PdfReader(io.BytesIO(notices.one_page.pdf)).pages[0]
    height = float(page.mediabox.height)
    found: dict[str, tuple[float, float]] = {}

    def inches(text: str, matrix: list[float], transform: list[float], *_: object) -> None:
        if text.strip() in ("ANA SILVA", "12 MAIN ST"):
            x = matrix[4] * transform[0] + transform[4]
            y = matrix[5] * transform[3] + transform[5]
            found[text.strip()] = (x / 72, (height - y) / 72)

    page.extract_text(visitor_text=lambda text, cm, tm, *rest: inches(text, tm, cm))
    left, first_baseline = found["ANA SILVA"]
    assert round(left, 3) == 0.875  # the window: 0.875 in from the left edge ...
    assert 2.125 < first_baseline < found["12 MAIN ST"][1] < 2.125 + 1  # ... 2.125 in from the top, 1 in high


def test_the_print_batch_puts_the_days_paper_in_mailing_order_each_document_on_a_new_sheet(
    sessions: sessionmaker[Session], notices: Notices, tmp_path: Path
) -> None:
    with sessions.begin() as session:
        boston = a_loan(session, loan_number="B-200", mailing_postal_code="02139", mailing_city="Cambridge",
                        mailing_region="MA")  # fmt: skip
        new_york = a_loan(session, loan_number="B-300")
        new_york_first = a_loan(session, loan_number="B-100")
        montreal = a_loan(session, loan_number="B-050", mailing_line1="3575 avenue du Parc", mailing_city="Montréal",
                          mailing_region="QC", mailing_postal_code="H2X 1Y4", mailing_country="CA")  # fmt: skip
        nowhere = a_loan(session, loan_number="B-400", **NO_ADDRESS)
        kept = {
            "boston": keep_notice(session, tmp_path, boston, notices.two_pages, TODAY),
            "new_york": keep_notice(session, tmp_path, new_york, notices.one_page, TODAY),
            "new_york_first": keep_notice(session, tmp_path, new_york_first, notices.one_page, TODAY - timedelta(3)),
            "montreal": keep_notice(session, tmp_path, montreal, notices.one_page, TODAY),
            "nowhere": keep_notice(session, tmp_path, nowhere, notices.one_page, TODAY),
            "tomorrow": keep_notice(session, tmp_path, boston, notices.one_page, TODAY + timedelta(1), period="fee:2"),
        }
        report = make_print_batch(session, TODAY, root=tmp_path, home_country="US", actor="eod", now=NOW)
        ids = {name: document.id for name, document in kept.items()}
    assert report.made and report.batch_id is not None and report.pdf_path and report.manifest_path
    # mailing order: the servicer's country first, by postal code, then loan number; then abroad
    assert [row["loan_number"] for row in report.rows] == ["B-200", "B-100", "B-300", "B-050"]
    # duplex: 2 + (1 + blank) * 3 pages; each document starts on the front of a new sheet
    texts = pages_of(report.pdf_path)
    assert len(texts) == report.pages == 8 and report.sheets == 4
    assert [row["first_page"] for row in report.rows] == [1, 3, 5, 7]
    assert [bool(text.strip()) for text in texts] == [True, True, True, False, True, False, True, False]
    with report.manifest_path.open(newline="", encoding="utf-8") as handle:
        manifest = list(csv.DictReader(handle))
    assert tuple(manifest[0]) == MANIFEST_COLUMNS
    montreal_row = manifest[3]
    shown = ("recipient_name", "address_line1", "city", "postal_code", "country", "pages", "sheets")
    assert [montreal_row[column] for column in shown] == [
        "Ana Silva", "3575 avenue du Parc", "Montréal", "H2X 1Y4", "CA", "1", "1"]  # fmt: skip
    assert manifest[0]["sha256"] == hashlib.sha256((tmp_path / kept["boston"].storage_path).read_bytes()).hexdigest()
    assert [(held.document_id, held.reason) for held in report.held] == [(ids["nowhere"], "no_mailing_address")]
    with sessions() as session:
        by_id = {document.id: document for document in session.scalars(select(Document))}
        printed = [by_id[ids[name]] for name in ("boston", "new_york", "new_york_first", "montreal")]
        assert {(d.delivery_status, d.print_batch_id) for d in printed} == {("printed", report.batch_id)}
        assert all(d.delivered_at is not None for d in printed)
        held = by_id[ids["nowhere"]]
        assert (held.delivery_status, held.flags, held.print_batch_id) == ("held", ["no_mailing_address"], None)
        assert by_id[ids["tomorrow"]].delivery_status == "pending"  # made after the batch's day: tomorrow's batch
        [made] = actions(session, "print_batch.made")
        assert made.detail["documents"] == 4 and made.detail["held"] == 1


def test_the_print_batch_is_made_once_per_business_day_and_a_rerun_reports_it(
    sessions: sessionmaker[Session], notices: Notices, tmp_path: Path
) -> None:
    with sessions.begin() as session:
        keep_notice(session, tmp_path, a_loan(session), notices.one_page, TODAY)
        first = make_print_batch(session, TODAY, root=tmp_path, home_country="US", actor="eod", now=NOW)
    assert first.pdf_path is not None
    written = first.pdf_path.read_bytes()
    with sessions.begin() as session:
        keep_notice(session, tmp_path, a_loan(session, locale="es_US"), notices.one_page, TODAY, period="fee:9")
        again = make_print_batch(session, TODAY, root=tmp_path, home_country="US", actor="cli", now=NOW)
    assert (again.made, again.batch_id, again.pages, again.sheets) == (False, first.batch_id, 2, 1)
    assert [row["document_id"] for row in again.rows] == [str(row["document_id"]) for row in first.rows]
    assert first.pdf_path.read_bytes() == written
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(PrintBatch)) == 1
        assert len(actions(session, "print_batch.made")) == 1
        assert session.scalar(select(func.count()).where(Document.delivery_status == "pending")) == 1
    with sessions.begin() as session:  # the next business day prints what came after
        tomorrow = make_print_batch(session, TODAY + timedelta(1), root=tmp_path, home_country="US", actor="eod",
                                    now=NOW)  # fmt: skip
    assert tomorrow.made and len(tomorrow.rows) == 1


def test_a_document_whose_file_changed_is_held_out_of_the_batch_with_its_reason(
    sessions: sessionmaker[Session], notices: Notices, tmp_path: Path
) -> None:
    with sessions.begin() as session:
        document = keep_notice(session, tmp_path, a_loan(session), notices.one_page, TODAY)
        (tmp_path / document.storage_path).write_bytes(notices.one_page.pdf + b"%changed")
        report = make_print_batch(session, TODAY, root=tmp_path, home_country="US", actor="eod", now=NOW)
        assert (report.made, report.rows) == (False, [])
        assert [(h.document_id, h.reason) for h in report.held] == [(document.id, "file_unreadable")]
        assert document.delivery_status == "held"


def test_end_of_day_delivers_the_days_documents(
    sessions: sessionmaker[Session], notices: Notices, tmp_path: Path
) -> None:
    with sessions.begin() as session:
        keep_notice(session, tmp_path, a_loan(session), notices.one_page, TODAY)
    with sessions.begin() as session:
        result = run_business_day(session, TODAY, "eod", delivery=DeliveryPlace(tmp_path, "US"))
    assert result.delivered is not None and result.delivered.batch is not None
    assert result.delivered.batch.made and len(result.delivered.batch.rows) == 1
    with sessions() as session:
        assert session.scalar(select(PrintBatch.business_date)) == TODAY


def test_loanline_print_batch_makes_the_batch_and_copies_it_out(
    sessions: sessionmaker[Session], notices: Notices, cli_env: dict[str, str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.setenv("LOANLINE_TODAY", TODAY.isoformat())
    root = Settings.from_env().documents_dir
    with sessions.begin() as session:
        keep_notice(session, root, a_loan(session), notices.two_pages, TODAY)
        keep_notice(session, root, a_loan(session, **NO_ADDRESS), notices.one_page, TODAY)
    out = tmp_path / "mail-house"
    runner = CliRunner()
    made = runner.invoke(main, ["print-batch", "--out", str(out)], catch_exceptions=False)
    assert made.exit_code == 0, made.output
    assert "made: 1 documents, 2 pages on 1 sheets (duplex)" in made.output
    assert "no_mailing_address" in made.output
    assert sorted(path.name for path in out.iterdir()) == ["2026-03-02-manifest.csv", "2026-03-02-print.pdf"]
    rerun = runner.invoke(main, ["print-batch", "--date", "2026-03-02"], catch_exceptions=False)
    assert rerun.exit_code == 0 and "already made: 1 documents" in rerun.output
    nothing = runner.invoke(main, ["print-batch", "--date", "2026-03-03"], catch_exceptions=False)
    assert "nothing to print for 2026-03-03" in nothing.output


# -- electronic: the notice, and the links -------------------------------------------------------------------


def electronic_loan(session: Session, **fields: str) -> Loan:
    loan = a_loan(session, **fields)
    consent(session, loan.borrower_id)
    set_preference(session, loan.borrower_id, "*", "electronic", actor="sam", now=NOW)
    return loan


def test_an_electronic_document_is_announced_on_the_borrowers_channel_by_its_kind_without_figures(
    sessions: sessionmaker[Session], notices: Notices, tmp_path: Path
) -> None:
    with sessions.begin() as session:
        english = electronic_loan(session)
        spanish = electronic_loan(session, locale="es_US")
        documents = [keep_notice(session, tmp_path, loan, notices.one_page, TODAY) for loan in (english, spanish)]
        numbers = (english.loan_number, spanish.loan_number)
        assert notify_ready_documents(session, TODAY, actor="eod", now=NOW) == (2, 0)
        assert [document.delivery_status for document in documents] == ["notified", "notified"]
    with sessions() as session:
        bodies = list(session.scalars(select(OutboxItem.body).order_by(OutboxItem.id)))
        assert bodies[0].startswith(f"A new document about your loan ending in {numbers[0][-4:]} is ready: Late "
                                    "payment notice. Reply DOCUMENTS to receive it here.")  # fmt: skip
        assert "Aviso de pago atrasado" in bodies[1] and "DOCUMENTOS" in bodies[1]
        assert all("$" not in body and "1,534" not in body for body in bodies)
        assert len(actions(session, "document.notified")) == 2
        assert notify_ready_documents(session, TODAY, actor="eod", now=NOW) == (0, 0)  # told once


def test_an_electronic_document_goes_on_paper_when_the_borrower_has_no_channel(
    sessions: sessionmaker[Session], notices: Notices, tmp_path: Path
) -> None:
    with sessions.begin() as session:
        loan = electronic_loan(session)
        session.execute(delete(BorrowerPhone).where(BorrowerPhone.borrower_id == loan.borrower_id))
        document = keep_notice(session, tmp_path, loan, notices.one_page, TODAY)
        assert notify_ready_documents(session, TODAY, actor="eod", now=NOW) == (0, 1)
        assert (document.delivery, document.delivery_status, document.flags) == (
            "paper",
            "pending",
            ["no_electronic_channel"],
        )
        report = make_print_batch(session, TODAY, root=tmp_path, home_country="US", actor="eod", now=NOW)
        assert [row["document_id"] for row in report.rows] == [document.id]


def test_a_link_keeps_only_its_hash_works_once_and_is_then_refused(
    sessions: sessionmaker[Session], notices: Notices, tmp_path: Path
) -> None:
    with sessions.begin() as session:
        document = keep_notice(session, tmp_path, electronic_loan(session), notices.one_page, TODAY)
        url = issue_link(session, document, channel="sms", now=NOW, base_url="https://loans.example.com/")
        document_id = document.id
    assert url.startswith("https://loans.example.com/d/")
    token = url.rsplit("/", 1)[1]
    assert without_link_tokens(f"Open {url} now") == "Open https://loans.example.com/d/… now"
    with sessions.begin() as session:
        [link] = session.scalars(select(DocumentLink)).all()
        assert link.token_hash == hashlib.sha256(token.encode()).hexdigest() and token not in link.token_hash
        assert link.expires_at == NOW + timedelta(hours=24)
        assert check_link(session, token, now=NOW)[1].id == document_id  # looking does not use it
        assert redeem_link(session, token, now=NOW + timedelta(hours=1)).delivery_status == "downloaded"
    with sessions.begin() as session:
        with pytest.raises(LinkRefused) as used:
            redeem_link(session, token, now=NOW + timedelta(hours=2))
        assert used.value.why == "used"
        [downloaded] = actions(session, "document.downloaded")
        assert (downloaded.actor, downloaded.detail["via"], downloaded.detail["document"]) == (
            "borrower",
            "link",
            document_id,
        )
        with pytest.raises(LinkRefused) as unknown:
            redeem_link(session, "x" * 32, now=NOW)
        assert (unknown.value.why, unknown.value.document_id) == ("unknown", None)


def test_a_link_expires_after_24_hours(sessions: sessionmaker[Session], notices: Notices, tmp_path: Path) -> None:
    with sessions.begin() as session:
        document = keep_notice(session, tmp_path, electronic_loan(session), notices.one_page, TODAY)
        token = issue_link(session, document, channel="sms", now=NOW, base_url=None).rsplit("/", 1)[1]
    with sessions.begin() as session:
        with pytest.raises(LinkRefused) as expired:
            redeem_link(session, token, now=NOW + timedelta(hours=24))
        assert expired.value.why == "expired"
        assert session.scalars(select(DocumentLink.used_at)).one() is None
        assert session.get_one(Document, document.id).delivery_status == "sent"
