"""Reports: charts drawn as inline SVG, CSV that parses back to the core's figures, the audit search for supervisors."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from loanline.cli import main
from servicing.audit import record_audit
from servicing.cases import CaseKind, close_case, open_case
from servicing.conversations import (
    EscalationReason,
    claim_conversation,
    escalate,
    find_or_open_conversation,
    resolve_conversation,
)
from servicing.payments import PaymentInstruction, post_payments
from servicing.reports import REPORTS, csv_text, queue_report
from servicing.store.models import AuditEntry
from tests.integration.console_helpers import sessions_of, signed_in, staffed_console
from tests.integration.helpers import board

TODAY = date(2026, 3, 20)
MARCH = {"from": "2026-03-01", "to": "2026-03-31"}


@pytest.fixture
def app(database_url: str, cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    with staffed_console(database_url, TODAY.isoformat(), monkeypatch) as app:
        yield app


@pytest.fixture
def sessions(app: Flask) -> sessionmaker[Session]:
    return sessions_of(app)


def client_of(app: Flask, username: str = "sue") -> FlaskClient:
    return signed_in(app, username)


def post_some_payments(sessions: sessionmaker[Session]) -> None:
    """Post three payments on two loans over two days of March 2026."""
    with sessions.begin() as session:
        first, second = board(session), board(session)
        instructions = [
            PaymentInstruction(first, Decimal("1051.69"), date(2026, 3, 2), "R-1"),
            PaymentInstruction(second, Decimal("500.00"), date(2026, 3, 2), "R-2"),
            PaymentInstruction(second, Decimal("200.10"), date(2026, 3, 3), "R-3"),
        ]
        post_payments(session, instructions, today=TODAY, business_date=TODAY, actor="test")


def csv_rows(client: FlaskClient, path: str) -> list[dict[str, str]]:
    """Download a CSV export and return its rows, checking it is sent as a CSV attachment."""
    response = client.get(path)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def add_queue_history(sessions: sessionmaker[Session]) -> None:
    """Write the audit trail of three escalations, as the conversation use cases write it, at chosen times."""

    def entry(action: str, conversation: int, at: datetime, **detail: str) -> AuditEntry:
        return AuditEntry(at=at, actor="x", action=f"conversation.{action}", subject_type="conversation",
                          subject_id=str(conversation), detail=detail)  # fmt: skip

    day1, day2 = datetime(2026, 3, 16, 10, 0, tzinfo=UTC), datetime(2026, 3, 17, 9, 0, tzinfo=UTC)
    minutes = timedelta(minutes=1)
    with sessions.begin() as session:
        session.add_all([
            entry("escalated", 1, day1, reason="hardship"),  # waits 20 (target 30), handled in 30
            entry("claimed", 1, day1 + 20 * minutes),
            entry("resolved", 1, day1 + 50 * minutes),
            entry("escalated", 2, day1 + 60 * minutes, reason="locked_out"),  # waits 40 (target 15): breach
            entry("claimed", 2, day1 + 100 * minutes),
            entry("resolved", 2, day1 + 120 * minutes),
            entry("escalated", 3, day2, reason="asked"),  # nobody claims it: a breach by now
            entry("escalated", 1, day2 + 5 * minutes, reason="dispute"),  # conversation 1 again: waits 10
            entry("claimed", 1, day2 + 15 * minutes),
        ])  # fmt: skip


# -- each report ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["delinquency", "payments", "queue", "cases", "audit"])
def test_every_report_draws_its_charts_as_inline_svg_without_inline_styles(
    app: Flask, sessions: sessionmaker[Session], name: str
) -> None:
    post_some_payments(sessions)
    add_queue_history(sessions)
    with sessions.begin() as session:
        open_case(session, CaseKind.LOSS_MITIGATION, opened_on=date(2026, 3, 2), country="US", source="bot",
                  actor="bot")  # fmt: skip
    page = client_of(app).get(f"/console/reports/{name}", query_string=MARCH).get_data(as_text=True)
    assert "<svg" in page and ('<rect x="' in page or "<polyline" in page)
    assert "style=" not in page and "<style" not in page and "<script" not in page
    assert "Download CSV" in page


def test_payments_csv_parses_back_to_the_core_sums_per_day_and_currency(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    post_some_payments(sessions)
    rows = csv_rows(client_of(app), "/console/reports/payments?format=csv&from=2026-03-01&to=2026-03-31")
    with sessions() as session:
        core = REPORTS["payments"](session, TODAY, since=date(2026, 3, 1), until=date(2026, 3, 31))
    assert [(r["received_on"], r["currency"], int(r["payments"]), Decimal(r["amount"])) for r in rows] == [
        (c["received_on"].isoformat(), c["currency"], c["payments"], c["amount"]) for c in core
    ]
    assert [r["amount"] for r in rows] == ["1551.69", "200.10"]  # plain decimals, no symbol or separator


def test_the_period_limits_the_payments_report(app: Flask, sessions: sessionmaker[Session]) -> None:
    post_some_payments(sessions)
    rows = csv_rows(client_of(app), "/console/reports/payments?format=csv&from=2026-03-03&to=2026-03-03")
    assert [(r["received_on"], r["amount"]) for r in rows] == [("2026-03-03", "200.10")]
    page = client_of(app).get("/console/reports/payments?from=not-a-date").get_data(as_text=True)
    assert "not-a-date is not a date" in page


def test_the_queue_report_counts_waits_handle_times_and_sla_breaches_per_day(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    add_queue_history(sessions)
    with sessions() as session:
        day1, day2 = queue_report(session, TODAY, since=date(2026, 3, 16), until=date(2026, 3, 17))
    assert (day1["day"], day1["escalated"], day1["claimed"], day1["resolved"]) == (date(2026, 3, 16), 2, 2, 2)
    assert (day1["mean_wait_minutes"], day1["median_wait_minutes"]) == (Decimal("30.0"), Decimal("30.0"))
    assert (day1["mean_handle_minutes"], day1["median_handle_minutes"]) == (Decimal("25.0"), Decimal("25.0"))
    assert day1["sla_breaches"] == 1
    assert (day2["escalated"], day2["claimed"], day2["resolved"], day2["sla_breaches"]) == (2, 1, 0, 1)
    assert day2["median_wait_minutes"] == Decimal("10.0") and day2["mean_handle_minutes"] is None
    rows = csv_rows(client_of(app), "/console/reports/queue?format=csv&from=2026-03-16&to=2026-03-17")
    assert [(r["day"], r["escalated"], r["mean_wait_minutes"], r["sla_breaches"]) for r in rows] == [
        ("2026-03-16", "2", "30.0", "1"),
        ("2026-03-17", "2", "10.0", "1"),
    ]


def test_the_queue_report_reads_what_the_conversation_use_cases_audit(sessions: sessionmaker[Session]) -> None:
    now = datetime.now(UTC)
    with sessions.begin() as session:
        conversation = find_or_open_conversation(session, "sms", "+15550001111", now)
        escalate(session, conversation, EscalationReason.ASKED, now)
        claim_conversation(session, conversation.id, "sam", now)
        resolve_conversation(session, conversation.id, "sam")
    with sessions() as session:
        [day] = queue_report(session, now.date())
    assert (day["escalated"], day["claimed"], day["resolved"], day["sla_breaches"]) == (1, 1, 1, 0)


def test_the_case_pipeline_counts_open_closed_and_overdue_by_kind_and_stage(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        for opened_on in (date(2026, 3, 2), date(2026, 3, 18)):  # the first is past its acknowledgement
            open_case(session, CaseKind.NOTICE_OF_ERROR, opened_on=opened_on, country="US", source="console",
                      actor="test")  # fmt: skip
        payoff = open_case(session, CaseKind.PAYOFF_REQUEST, opened_on=date(2026, 3, 2), country="US",
                           source="bot", actor="bot")  # fmt: skip
        close_case(session, payoff.reference, date(2026, 3, 4), "test", "statement_sent")
    rows = csv_rows(client_of(app, "sam"), "/console/reports/cases?format=csv")
    assert [(r["kind"], r["stage"], r["open"], r["closed"], r["overdue"]) for r in rows] == [
        ("notice_of_error", "open", "2", "0", "1"),
        ("payoff_request", "closed", "0", "1", "0"),
    ]


def test_the_delinquency_csv_matches_the_home_pages_buckets(app: Flask, sessions: sessionmaker[Session]) -> None:
    post_some_payments(sessions)
    rows = csv_rows(client_of(app, "sam"), "/console/reports/delinquency?format=csv")
    with sessions() as session:
        core = REPORTS["delinquency"](session, TODAY)
    assert [(r["bucket"], int(r["loans"]), Decimal(r["principal"])) for r in rows] == [
        (c["bucket"], c["loans"], c["principal"]) for c in core
    ]


def test_opening_a_report_is_audited(app: Flask) -> None:
    client_of(app, "sam").get("/console/reports/cases?format=csv")
    with app.extensions["loanline.sessions"]() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "view", AuditEntry.actor == "sam")
                                .order_by(AuditEntry.id.desc())).first()  # fmt: skip
    assert entry is not None and (entry.subject_type, entry.subject_id) == ("report", "cases")


# -- the audit log --------------------------------------------------------------------------------------


def test_a_specialist_gets_403_on_the_audit_search_and_the_audit_report(app: Flask) -> None:
    client = client_of(app, "sam")
    assert client.get("/console/audit/").status_code == 403
    assert client.get("/console/audit/?format=csv").status_code == 403
    assert client.get("/console/reports/audit").status_code == 403
    assert "/console/reports/audit" not in client.get("/console/reports/").get_data(as_text=True)
    assert client.get("/console/reports/queue").status_code == 200


def test_a_supervisor_searches_the_audit_log_by_subject_and_period_and_exports_it(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        for n in range(130):
            record_audit(session, "ana", "case.decision", "case", f"NE-{n % 3:06d}", {"n": n})
        session.add(AuditEntry(at=datetime(2026, 1, 5, 12, tzinfo=UTC), actor="ana", action="case.decision",
                               subject_type="case", subject_id="NE-000000", detail={"old": True}))  # fmt: skip
    client = client_of(app)
    page = client.get("/console/audit/?subject_type=case&subject_id=NE-000000").get_data(as_text=True)
    assert "45 entries." in page and "NE-000001" not in page
    first = client.get("/console/audit/?actor=ana").get_data(as_text=True)
    assert "131 entries." in first and "Page 1 of 2" in first
    second = client.get("/console/audit/?actor=ana&page=2").get_data(as_text=True)
    assert second.count("<td>ana</td>") == 31
    rows = csv_rows(client, "/console/audit/?format=csv&subject_id=NE-000000&from=2026-01-01&to=2026-01-31")
    assert [(r["actor"], r["subject_id"], json.loads(r["detail"])) for r in rows] == [
        ("ana", "NE-000000", {"old": True})
    ]
    with sessions() as session:
        query = select(AuditEntry.detail).where(AuditEntry.action == "view", AuditEntry.subject_type == "audit_log")
        searches = session.scalars(query).all()
    assert any(d["path"] == "/console/audit/" for d in searches)


FORMULAS = ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]


def test_csv_exports_neutralise_cells_a_spreadsheet_would_run_as_formulas(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        for text in FORMULAS:
            record_audit(session, text, "login.failed", "specialist", text, {"why": "unknown"})
    rows = csv_rows(client_of(app), "/console/audit/?format=csv&action=login.failed")
    assert sorted((row["actor"], row["subject_id"]) for row in rows) == sorted((f"'{t}", f"'{t}") for t in FORMULAS)
    cli = CliRunner().invoke(main, ["report", "audit"])
    assert cli.exit_code == 0, cli.output
    assert sorted(row["actor"] for row in csv.DictReader(io.StringIO(cli.output)) if row["action"] == "login.failed") \
        == sorted(f"'{t}" for t in FORMULAS)  # fmt: skip


def test_csv_exports_keep_negative_amounts_as_numbers() -> None:
    rows = [{"reference": "-R-1", "amount": Decimal("-12.50"), "count": -1}]
    assert csv_text(rows).splitlines() == ["reference,amount,count", "'-R-1,-12.50,-1"]


# -- the CLI --------------------------------------------------------------------------------------------


def test_loanline_report_prints_the_queue_and_payments_for_a_period(
    sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    post_some_payments(sessions)
    add_queue_history(sessions)
    runner = CliRunner()
    queue = runner.invoke(main, ["report", "queue", "--from", "2026-03-16", "--to", "2026-03-16", "--format", "json"])
    assert queue.exit_code == 0, queue.output
    [day] = json.loads(queue.output)
    assert (day["day"], day["escalated"], day["sla_breaches"]) == ("2026-03-16", 2, 1)
    payments = runner.invoke(main, ["report", "payments", "--from", "2026-03-03"])
    assert payments.exit_code == 0, payments.output
    assert payments.output.splitlines() == ["received_on,currency,status,payments,amount",
                                            "2026-03-03,USD,posted,1,200.10"]  # fmt: skip
