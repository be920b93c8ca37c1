"""Worklists: open cases with business-day due dates, overdue marked; decisions change the case, audit, tell."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.cases import (
    CaseKind,
    early_intervention_due,
    get_case,
    open_arrears_information,
    open_case,
    open_early_intervention,
)
from servicing.conversations import find_or_open_conversation
from servicing.decisions import mark_application_complete
from servicing.store.models import AuditEntry, Case, Loan, OutboxItem
from tests.integration.console_helpers import sessions_of, signed_in, staffed_console
from tests.integration.helpers import board
from tests.integration.test_console_auth import csrf_token

TODAY = date(2026, 6, 2)  # a Tuesday; Monday 2026-05-25 was Memorial Day


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    with staffed_console(database_url, TODAY.isoformat(), monkeypatch) as app:
        yield app


@pytest.fixture
def sessions(app: Flask) -> sessionmaker[Session]:
    return sessions_of(app)


def client_of(app: Flask, username: str = "sam") -> FlaskClient:
    return signed_in(app, username)


def open_one(
    sessions: sessionmaker[Session], kind: CaseKind, opened_on: date, *, locale: str = "en_US", **extra: object
) -> str:
    """Board a loan and open a case of `kind` on it; return the case reference."""
    with sessions.begin() as session:
        number = board(session, locale=locale)
        loan = session.scalars(select(Loan).where(Loan.loan_number == number)).one()
        case = open_case(session, kind, opened_on=opened_on, country="US", source="console", actor="test",
                         loan_id=loan.id, borrower_id=loan.borrower_id, summary="from a test", **extra)  # type: ignore[arg-type]  # fmt: skip
        return case.reference


def decide(client: FlaskClient, reference: str, decision: str, **fields: str | list[str]) -> str:
    """Post a decision form as the browser would (fields carry the form's prefix); return the page after it."""
    data: dict[str, str | list[str]] = {f"{decision}-{name}": value for name, value in fields.items()}
    data[f"{decision}-csrf_token"] = csrf_token(client, "/console/")
    response = client.post(f"/console/worklists/cases/{reference}/{decision}", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client.get(response.headers["Location"]).get_data(as_text=True)


def case_of(sessions: sessionmaker[Session], reference: str) -> Case:
    with sessions() as session:
        case = get_case(session, reference)
        _ = case.deadlines
        session.expunge_all()
        return case


def notices(sessions: sessionmaker[Session]) -> list[OutboxItem]:
    with sessions() as session:
        return list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def decisions_of(sessions: sessionmaker[Session], reference: str) -> list[dict[str, object]]:
    with sessions() as session:
        query = select(AuditEntry.detail).where(
            AuditEntry.action == "case.decision", AuditEntry.subject_id == reference
        )
        return list(session.scalars(query))


def row_of(page: str, reference: str) -> str:
    match = re.search(rf'<tr class="([^"]*)">\s*<td[^>]*><a href="/console/worklists/cases/{reference}">', page)
    assert match, f"{reference} is not listed"
    return match.group(1)


# -- the lists ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("worklist", "kind"),
    [
        ("loss_mitigation", CaseKind.LOSS_MITIGATION),
        ("notice_of_error", CaseKind.NOTICE_OF_ERROR),
        ("information_request", CaseKind.REQUEST_FOR_INFORMATION),
        ("payoff_request", CaseKind.PAYOFF_REQUEST),
    ],
)
def test_each_worklist_lists_its_own_open_cases(
    app: Flask, sessions: sessionmaker[Session], worklist: str, kind: CaseKind
) -> None:
    mine = open_one(sessions, kind, date(2026, 5, 29))
    other_kind = CaseKind.PAYOFF_REQUEST if kind is not CaseKind.PAYOFF_REQUEST else CaseKind.NOTICE_OF_ERROR
    other = open_one(sessions, other_kind, date(2026, 5, 29))
    page = client_of(app).get(f"/console/worklists/{worklist}").get_data(as_text=True)
    assert mine in page
    assert other not in page


def test_a_holiday_moves_the_due_date_and_a_missed_deadline_is_marked_overdue(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    # opened Friday 2026-05-22: five business days skip Memorial Day, so acknowledge by Monday 2026-06-01
    late = open_one(sessions, CaseKind.NOTICE_OF_ERROR, date(2026, 5, 22))
    on_time = open_one(sessions, CaseKind.NOTICE_OF_ERROR, date(2026, 5, 29))  # acknowledge by 2026-06-05
    page = client_of(app).get("/console/worklists/notice_of_error").get_data(as_text=True)
    assert '<td class="due">2026-06-01</td>' in page
    assert '<td class="due">2026-05-29</td>' not in page  # what the date would be without the holiday
    assert "overdue" in row_of(page, late).split()
    assert "overdue" not in row_of(page, on_time).split()
    assert page.index(late) < page.index(on_time)  # nearest deadline first
    assert "style=" not in page and "<script" not in page


def test_the_index_counts_open_and_overdue_cases_per_worklist(app: Flask, sessions: sessionmaker[Session]) -> None:
    open_one(sessions, CaseKind.NOTICE_OF_ERROR, date(2026, 5, 22))
    open_one(sessions, CaseKind.NOTICE_OF_ERROR, date(2026, 5, 29))
    page = client_of(app).get("/console/worklists/").get_data(as_text=True)
    row = re.search(r'<tr class="overdue">\s*<td><a href="/console/worklists/notice_of_error">.*?</tr>', page, re.S)
    assert row, page
    assert re.findall(r'<td class="count">(\d+)</td>', row.group(0)) == ["2", "1"]


def test_early_intervention_tasks_from_end_of_day_are_listed_with_their_day_36_and_45_deadlines(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        loan = session.scalars(select(Loan).where(Loan.loan_number == board(session))).one()
        [reference] = open_early_intervention(session, early_intervention_due(
            loan.id, loan.borrower_id, date(2026, 5, 1), [], contacts_asked=frozenset(), delinquency_known=False,
            last_notice=None), TODAY)  # fmt: skip
    page = client_of(app).get("/console/worklists/early_intervention").get_data(as_text=True)
    assert reference in page
    assert "2026-06-06" in page and "2026-06-15" in page  # 36 and 45 days after 2026-05-01


def test_viewing_a_worklist_and_a_case_is_audited(app: Flask, sessions: sessionmaker[Session]) -> None:
    reference = open_one(sessions, CaseKind.PAYOFF_REQUEST, date(2026, 5, 29))
    client = client_of(app)
    client.get("/console/worklists/payoff_request")
    page = client.get(f"/console/worklists/cases/{reference}").get_data(as_text=True)
    assert 'href="/console/loans/L-' in page
    assert "case.opened" in page  # the history
    with sessions() as session:
        views = session.execute(select(AuditEntry.subject_type, AuditEntry.subject_id)
                                .where(AuditEntry.action == "view", AuditEntry.actor == "sam")).all()  # fmt: skip
    assert ("worklist", "payoff_request") in views
    assert ("case", reference) in views


def test_an_unknown_worklist_or_case_is_not_found(app: Flask) -> None:
    client = client_of(app)
    assert client.get("/console/worklists/everything").status_code == 404
    assert client.get("/console/worklists/cases/NE-999999").status_code == 404


# -- decisions ------------------------------------------------------------------------------------------


def test_acknowledging_a_notice_of_error_meets_the_deadline_and_tells_a_spanish_borrower_by_sms(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    reference = open_one(sessions, CaseKind.NOTICE_OF_ERROR, date(2026, 5, 29), locale="es_US")
    page = decide(client_of(app), reference, "acknowledge", note="Letter scanned, fee under review")
    assert f"Decision recorded on {reference}; the borrower will be told." in page
    case = case_of(sessions, reference)
    assert {d.name: d.met_on for d in case.deadlines}["acknowledge"] == TODAY
    [notice] = notices(sessions)
    assert notice.channel == "sms"
    assert notice.body.startswith(f"Recibimos su solicitud {reference}")
    assert notice.body.endswith("Responda STOP para darse de baja.")
    [detail] = decisions_of(sessions, reference)
    assert detail["decision"] == "acknowledged" and detail["note"] == "Letter scanned, fee under review"


def test_an_incomplete_application_lists_the_missing_documents_to_a_french_borrower_on_telegram(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    reference = open_one(sessions, CaseKind.LOSS_MITIGATION, date(2026, 5, 29), locale="fr_FR")
    with sessions.begin() as session:
        case = get_case(session, reference)
        telegram = find_or_open_conversation(session, "telegram", "777", datetime_now())
        telegram.borrower_id, telegram.locale = case.borrower_id, "fr"
    decide(client_of(app), reference, "incomplete", note="No pay stubs", missing=["income", "tax"])
    case = case_of(sessions, reference)
    assert case.status == "submitted_incomplete"
    assert case.data["missing_documents"] == ["income", "tax"]
    [notice] = notices(sessions)
    assert (notice.channel, notice.address) == ("telegram", "777")
    assert "justificatif de revenus, votre dernière déclaration de revenus" in notice.body


def test_a_supervisor_denies_an_application_with_the_reason_and_the_appeal_window(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    reference = open_one(sessions, CaseKind.LOSS_MITIGATION, date(2026, 5, 29), locale="es_US")
    supervisor = client_of(app, "sue")
    decide(supervisor, reference, "complete", note="All documents in")
    decide(supervisor, reference, "deny", note="DTI 61%", reason="income")
    case = case_of(sessions, reference)
    assert case.status == "denied"
    assert {d.name: d.due_on for d in case.deadlines}["appeal_window"] == date(2026, 6, 16)
    complete, denied = notices(sessions)
    assert "Decidiremos a más tardar" in complete.body
    assert "no fue aprobada: sus ingresos no permiten un pago modificado" in denied.body
    assert [d["decision"] for d in decisions_of(sessions, reference)] == ["complete", "denied"]


def test_a_specialist_may_not_approve_or_deny_an_application(app: Flask, sessions: sessionmaker[Session]) -> None:
    reference = open_one(sessions, CaseKind.LOSS_MITIGATION, date(2026, 5, 29))
    client = client_of(app)
    decide(client, reference, "complete", note="All documents in")
    token = csrf_token(client, "/console/")
    response = client.post(f"/console/worklists/cases/{reference}/approve",
                           data={"approve-note": "fine", "approve-csrf_token": token})  # fmt: skip
    assert response.status_code == 403
    assert case_of(sessions, reference).status == "submitted_complete"
    assert "approve-note" not in client.get(f"/console/worklists/cases/{reference}").get_data(as_text=True)


def test_a_decision_without_a_note_is_refused_and_changes_nothing(app: Flask, sessions: sessionmaker[Session]) -> None:
    reference = open_one(sessions, CaseKind.NOTICE_OF_ERROR, date(2026, 5, 29))
    page = decide(client_of(app), reference, "acknowledge", note="  ")
    assert "Note: This field is required." in page
    assert all(d.met_on is None for d in case_of(sessions, reference).deadlines)
    assert notices(sessions) == []
    assert decisions_of(sessions, reference) == []


def test_a_decision_without_the_csrf_token_is_refused(app: Flask, sessions: sessionmaker[Session]) -> None:
    reference = open_one(sessions, CaseKind.NOTICE_OF_ERROR, date(2026, 5, 29))
    response = client_of(app).post(f"/console/worklists/cases/{reference}/acknowledge",
                                   data={"acknowledge-note": "ok"})  # fmt: skip
    assert response.status_code == 400
    assert all(d.met_on is None for d in case_of(sessions, reference).deadlines)


def test_a_decision_the_core_refuses_is_flashed_and_changes_nothing(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    reference = open_one(sessions, CaseKind.PAYOFF_REQUEST, date(2026, 5, 29))
    page = decide(client_of(app), reference, "acknowledge", note="wrong kind")
    assert "Refused: case" in page
    assert case_of(sessions, reference).closed_on is None
    assert decisions_of(sessions, reference) == []


def test_a_notice_of_error_is_extended_once_then_resolved_with_no_error(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    reference = open_one(sessions, CaseKind.NOTICE_OF_ERROR, date(2026, 5, 29), locale="fr_FR")
    client = client_of(app)
    before = {d.name: d.due_on for d in case_of(sessions, reference).deadlines}["resolve"]
    decide(client, reference, "extend", note="Waiting on the bank", reason="third_party")
    after = {d.name: d.due_on for d in case_of(sessions, reference).deadlines}["resolve"]
    assert after > before
    assert "extend-note" not in client.get(f"/console/worklists/cases/{reference}").get_data(as_text=True)
    page = decide(client, reference, "resolve", note="Fee per note", outcome="no_error")
    assert "Refused: say why there was no error" in page
    decide(client, reference, "resolve", note="Fee per note", outcome="no_error", reason="terms")
    case = case_of(sessions, reference)
    assert case.status == "closed" and case.data["outcome"] == "no_error"
    extended, resolved = notices(sessions)
    assert after.strftime("%Y") in extended.body and "plus de temps" in extended.body
    assert "nous attendons des documents d'une autre société" in extended.body  # the reason, in their language
    assert "aucune erreur : les frais sont conformes aux conditions de votre contrat de prêt" in resolved.body


@pytest.mark.parametrize(
    ("kind", "decision", "outcome", "words"),
    [
        (CaseKind.REQUEST_FOR_INFORMATION, "answer", "answered", "We answered your request for information"),
        (CaseKind.PAYOFF_REQUEST, "statement_sent", "statement_sent", "We sent your payoff statement"),
    ],
)
def test_answering_a_request_closes_it_and_tells_the_borrower(
    app: Flask, sessions: sessionmaker[Session], kind: CaseKind, decision: str, outcome: str, words: str
) -> None:
    reference = open_one(sessions, kind, date(2026, 5, 29))
    decide(client_of(app), reference, decision, note="done")
    case = case_of(sessions, reference)
    assert case.closed_on == TODAY and case.data["outcome"] == outcome
    assert all(d.met_on == TODAY for d in case.deadlines)
    [notice] = notices(sessions)
    assert words in notice.body and notice.body.endswith("Reply STOP to opt out.")
    worklist = "information_request" if kind is CaseKind.REQUEST_FOR_INFORMATION else "payoff_request"
    assert reference not in client_of(app).get(f"/console/worklists/{worklist}").get_data(as_text=True)


def test_early_intervention_closes_once_live_contact_and_written_notice_are_recorded(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        loan = session.scalars(select(Loan).where(Loan.loan_number == board(session))).one()
        [reference] = open_early_intervention(session, early_intervention_due(
            loan.id, loan.borrower_id, date(2026, 5, 1), [], contacts_asked=frozenset(), delinquency_known=False,
            last_notice=None), TODAY)  # fmt: skip
    client = client_of(app)
    decide(client, reference, "live_contact", note="Spoke to borrower, promise to pay")
    assert case_of(sessions, reference).closed_on is None
    decide(client, reference, "written_notice", note="Letter 39(b) mailed")
    case = case_of(sessions, reference)
    assert case.closed_on == TODAY
    assert notices(sessions) == []  # recorded, not announced


def test_a_uk_arrears_information_task_is_listed_and_closes_once_the_information_is_sent(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    # opened Tue 2026-06-02; + 15 UK business days: Jun 3-5 (3), 8-12 (8), 15-19 (13), 22 (14), 23 (15)
    with sessions.begin() as session:
        number = board(session, country="GB", locale="en_GB", currency="GBP", postal_code="SW1A 1AA")
        loan = session.scalars(select(Loan).where(Loan.loan_number == number)).one()
        [reference] = open_arrears_information(session, [(loan.id, loan.borrower_id, date(2026, 4, 1))], TODAY, "GB")
    client = client_of(app)
    page = client.get("/console/worklists/arrears_information").get_data(as_text=True)
    assert reference in page and "Send arrears information" in page and "2026-06-23" in page
    decide(client, reference, "arrears_information_sent", note="MCOB 13 pack and FCA sheet posted")
    case = case_of(sessions, reference)
    assert case.closed_on == TODAY
    assert [d.met_on for d in case.deadlines] == [TODAY]


def datetime_now() -> datetime:
    return datetime.now(UTC)


def test_a_complete_applications_page_shows_the_reg_x_protections_it_earned(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    # complete on 2026-06-02 with a sale on 2026-07-02 (30 days later): no evaluation duty, no appeal,
    # and no acceptance period required (an approval would still give 7 days)
    reference = open_one(sessions, CaseKind.LOSS_MITIGATION, TODAY)
    with sessions.begin() as session:
        case = get_case(session, reference)
        session.get_one(Loan, case.loan_id).foreclosure_sale_on = date(2026, 7, 2)
    with sessions.begin() as session:
        mark_application_complete(session, reference, on=TODAY, now=datetime_now(), actor="sam", note="all in")
    page = client_of(app).get(f"/console/worklists/cases/{reference}").get_data(as_text=True)
    assert "Complete 30 days before the scheduled sale:" in page
    assert "no evaluation required (37 days or less)" in page and "no appeal (under 90 days)" in page
    assert "0 days to accept an offer" in page
