"""Operations' view of the web process: request ids, metrics by route, /metrics guarded, /readyz, no personal data
in the logs (docs/operations.md)."""

from __future__ import annotations

import io
import json
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from console import create_app
from servicing.operations.logs import configure_logging, masked
from servicing.operations.metrics import metric_value
from servicing.store.models import OutboxItem
from tests.conftest import SECRET
from tests.integration.helpers import board
from tests.integration.test_sms_webhook import PHONE, AppFactory, make_app, signed_post, sms  # noqa: F401
from tests.live_gunicorn import serve_with_gunicorn

ACCOUNT = "4400012345"
CARD = "4111 1111 1111 1111"


@pytest.fixture
def app(make_app: AppFactory) -> Flask:  # noqa: F811
    return make_app()


@pytest.fixture
def sessions(app: Flask) -> sessionmaker[Session]:
    factory: sessionmaker[Session] = app.extensions["loanline.sessions"]
    return factory


@pytest.fixture
def logs() -> Iterator[io.StringIO]:
    """Capture what the process logs, through the handler every Loanline process installs."""
    buffer = io.StringIO()
    handler = configure_logging("json", "INFO", stream=buffer)
    try:
        yield buffer
    finally:
        logging.getLogger().removeHandler(handler)


def scrape(app: Flask, **headers: str) -> str:
    answer = app.test_client().get("/metrics", headers=headers)
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_data(as_text=True)


def grown(before: str, after: str, name: str, labels: dict[str, str]) -> float:
    """Return how much a counter grew between two scrapes (this process counts every test's requests)."""
    return (metric_value(after, name, labels) or 0) - (metric_value(before, name, labels) or 0)


def test_every_answer_carries_a_request_id_and_a_well_formed_one_from_the_proxy_is_kept(app: Flask) -> None:
    client = app.test_client()
    made = client.get("/healthz").headers["X-Request-Id"]
    assert len(made) == 32
    kept = client.get("/healthz", headers={"X-Request-Id": "proxy-req-0001"}).headers["X-Request-Id"]
    assert kept == "proxy-req-0001"
    forged = client.get("/healthz", headers={"X-Request-Id": "bad id; <script>"}).headers["X-Request-Id"]
    assert forged != "bad id; <script>" and len(forged) == 32


def test_requests_are_counted_by_their_url_rule_not_their_path(app: Flask, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        loan = board(session, loan_number=ACCOUNT)
    client = app.test_client()
    route = {"route": "/console/loans/<loan_number>"}
    before = scrape(app)
    for _ in range(3):
        client.get(f"/console/loans/{loan}")  # anonymous: sent to the login page
    after = scrape(app)
    assert ACCOUNT not in after
    answered = {**route, "method": "GET", "status": "302"}
    assert grown(before, after, "loanline_http_requests_total", answered) == 3
    assert grown(before, after, "loanline_http_request_seconds_count", route) == 3


def test_the_webhooks_answers_are_counted_by_channel_and_status(app: Flask, sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        board(session, phone=PHONE)
    client = app.test_client()
    before = scrape(app)
    signed_post(client, sms("balance"))
    client.post("/sms/twilio", data=sms("balance"))  # unsigned: refused
    after = scrape(app)
    assert grown(before, after, "loanline_webhook_answers_total", {"channel": "sms", "status": "200"}) == 1
    assert grown(before, after, "loanline_webhook_answers_total", {"channel": "sms", "status": "403"}) == 1


def test_the_outbox_and_the_queue_are_read_from_the_database_at_each_scrape(
    app: Flask, sessions: sessionmaker[Session]
) -> None:
    client = app.test_client()
    signed_post(client, sms("agent"))  # asks for a person: the conversation waits in the queue
    with sessions.begin() as session:
        waiting = session.query(OutboxItem).filter(OutboxItem.status == "pending").count()
    text = scrape(app)
    assert metric_value(text, "loanline_database_up") == 1
    assert metric_value(text, "loanline_queue_waiting") == 1
    assert metric_value(text, "loanline_queue_sla_breached") == 0
    assert (metric_value(text, "loanline_outbox_waiting", {"channel": "sms"}) or 0) == waiting


def test_metrics_are_refused_to_a_remote_address_without_a_token(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"}).status_code == 403
    assert client.get("/metrics").status_code == 200  # the test client is 127.0.0.1


def test_with_a_token_metrics_want_it_from_everyone(make_app: AppFactory) -> None:  # noqa: F811
    app = make_app(LOANLINE_METRICS_TOKEN="scrape-token-123")
    client = app.test_client()
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    answer = client.get("/metrics", headers={"Authorization": "Bearer scrape-token-123"},
                        environ_base={"REMOTE_ADDR": "203.0.113.9"})  # fmt: skip
    assert answer.status_code == 200 and "loanline_database_up 1.0" in answer.get_data(as_text=True)


def test_ready_when_the_database_answers_at_the_newest_schema(app: Flask) -> None:
    answer = app.test_client().get("/readyz")
    assert (answer.status_code, answer.get_data(as_text=True)) == (200, "ready\n")


def test_not_ready_when_the_schema_is_behind_the_code(database_url: str, make_app: AppFactory) -> None:  # noqa: F811
    app = make_app()
    engine = app.extensions["loanline.sessions"].kw["bind"]
    with engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0015'")
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    assert "migrations not current: database at 0015" in answer.get_data(as_text=True)


def test_not_ready_when_the_database_is_unreachable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOANLINE_SECRET_KEY", SECRET)
    monkeypatch.setenv("LOANLINE_INSTANCE_PATH", str(tmp_path))
    missing = tmp_path / "no-such-folder" / "loanline.db"
    app = create_app({"DATABASE_URL": f"sqlite:///{missing}", "TESTING": True})
    answer = app.test_client().get("/readyz")
    assert (answer.status_code, answer.get_data(as_text=True)) == (503, "database unreachable\n")
    assert app.test_client().get("/healthz").status_code == 503


def test_a_conversation_with_a_phone_a_name_and_an_account_number_leaves_none_of_them_in_the_logs(
    app: Flask, sessions: sessionmaker[Session], logs: io.StringIO
) -> None:
    with sessions.begin() as session:
        board(session, loan_number=ACCOUNT, phone=PHONE, borrower_first_name="Marguerite",
              borrower_last_name="Oyelaran-Whitcombe", date_of_birth="1980-05-04")  # fmt: skip
    client = app.test_client()
    for body in ("balance", "05/04/1980", "1234", "10001", f"I am Marguerite Oyelaran-Whitcombe, account {ACCOUNT}",
                 f"my card is {CARD}, call me on {PHONE}", "agent"):  # fmt: skip
        assert signed_post(client, sms(body)).status_code == 200
    client.post("/sms/twilio", data=sms(f"unsigned from {PHONE} about {ACCOUNT}"))  # refused and logged as such
    client.get(f"/console/loans/{ACCOUNT}")
    logging.getLogger("loanline.test").warning("borrower %s wrote from %s", ACCOUNT, PHONE)  # the masking guard
    lines = [json.loads(line) for line in logs.getvalue().splitlines()]
    assert len(lines) >= 10
    assert all("request_id" in line for line in lines[:-1])  # every line of a request names it
    # request ids are random hex: one may hold "4111" or "1980" by chance (d2973411106140749daae45be088ed2c did)
    text = "\n".join(json.dumps({key: value for key, value in line.items() if key != "request_id"}) for line in lines)
    for personal in (PHONE, PHONE[2:], PHONE[-7:], ACCOUNT, "Marguerite", "Oyelaran", "1980", "4111", "1111 1111"):
        assert personal not in text, personal
    assert any(line.get("route") == "/console/loans/<loan_number>" for line in lines)


def test_masking_keeps_dates_times_loan_numbers_and_small_ids() -> None:
    assert masked("end of day 2026-12-04 23:00:00 LN-1001 outbox 12345") == (
        "end of day 2026-12-04 23:00:00 LN-1001 outbox 12345"
    )
    assert masked("from +1 (415) 555-0100 acct 123456789 mail a.b@c.org") == "from ****00 acct ****89 mail [email]"


def test_under_gunicorn_the_workers_counts_add_up_on_one_page_even_after_a_worker_dies(
    database_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "metrics"
    healthz = {"route": "/healthz", "status": "200"}
    with serve_with_gunicorn(database_url, tmp_path, workers=2, PROMETHEUS_MULTIPROC_DIR=str(folder)) as live:
        for _ in range(20):
            assert live.get("/healthz").status == 200
        first_pids = {int(path.stem.rsplit("_", 1)[-1]) for path in folder.glob("counter_*.db")}
        for pid in first_pids:
            os.kill(pid, signal.SIGKILL)  # gunicorn starts new workers; the dead ones' counts stay in their files
        deadline = time.monotonic() + 120
        while live.get("/healthz").status != 200 and time.monotonic() < deadline:
            time.sleep(0.2)
        for _ in range(20):
            assert live.get("/healthz").status == 200
        text = live.get("/metrics").body
        pids = {int(path.stem.rsplit("_", 1)[-1]) for path in folder.glob("counter_*.db")}
        assert live.logged_errors() == []
    assert (metric_value(text, "loanline_http_requests_total", healthz) or 0) >= 40
    assert pids > first_pids  # the new workers wrote files of their own beside the dead ones'
    log_lines = next(iter(tmp_path.glob("gunicorn-*.log"))).read_text().splitlines()
    assert log_lines and all(json.loads(line)["level"] for line in log_lines)
