"""The deployment's processes from deploy/Procfile on PostgreSQL, each kind SIGKILLed once under SMS and console
traffic: every inbound message stored once, end of day once per business date (docs/operations.md).

Started: the release (migrations), gunicorn with 2 workers, 2 outbox workers, 2 schedulers. Killed: a gunicorn
worker mid-traffic (Twilio's retries of what it dropped arrive at the other), an outbox worker, and the
scheduler that leads while it runs end of day. Not here yet: Telegram traffic, and outbound counting (the
outbox's SMS sender speaks to Twilio's API, which has no test double outside this process).
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from servicing.store.models import BusinessDay, Message
from tests.conftest import SECRET
from tests.integration.helpers import board
from tests.integration.test_deploy import procfile
from tests.live_gunicorn import free_port

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "topology-twilio-token"
TODAY = date(2026, 3, 20)
PHONES = [f"+1555321{n:04d}" for n in range(4)]
BIN = Path(sys.executable).parent


@dataclass
class Process:
    kind: str
    process: subprocess.Popen[bytes]
    log: Path

    def said(self, words: str) -> bool:
        return words in self.log.read_text()


@contextmanager
def topology(database_url: str, folder: Path, port: int) -> Iterator[dict[str, list[Process]]]:
    """Start the Procfile's processes (release first), each web, worker and scheduler as configured here."""
    commands = procfile()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LOANLINE_DATABASE_URL": database_url,
           "LOANLINE_SECRET_KEY": SECRET, "LOANLINE_INSTANCE_PATH": str(folder / "instance"),
           "LOANLINE_TODAY": TODAY.isoformat(), "LOANLINE_PUBLIC_URL": f"http://127.0.0.1:{port}",
           "TWILIO_AUTH_TOKEN": TOKEN, "LOANLINE_SCHEDULE": "eod=00:00", "LOANLINE_FLOOD_LIMIT": "100000/second",
           "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"), "LOANLINE_WEB_WORKERS": "2"}  # fmt: skip
    for name in ("TWILIO_ACCOUNT_SID", "TWILIO_FROM_NUMBER", "TELEGRAM_BOT_TOKEN", "LOANLINE_REDIS_URL"):
        env.pop(name, None)

    def argv(kind: str) -> list[str]:
        program, *arguments = shlex.split(commands[kind].replace("0.0.0.0:8000", f"127.0.0.1:{port}"))
        return [str(BIN / program), *arguments]

    release = subprocess.run(argv("release"), env=env, cwd=ROOT, capture_output=True, timeout=300, check=False)
    assert release.returncode == 0, release.stderr[-2000:]
    started: dict[str, list[Process]] = {"web": [], "worker": [], "scheduler": []}
    try:
        for kind, count in (("web", 1), ("worker", 2), ("scheduler", 2)):
            for number in range(count):
                log = folder / f"{kind}-{number}.log"
                with log.open("w") as stderr:
                    extra = ["--tick", "0.5"] if kind == "scheduler" else []
                    process = subprocess.Popen([*argv(kind), *extra], env=env, cwd=ROOT, stdout=stderr, stderr=stderr)
                started[kind].append(Process(kind, process, log))
        yield started
    finally:
        for each in [p for kind in started.values() for p in kind]:
            if each.process.poll() is None:
                each.process.terminate()
        for each in [p for kind in started.values() for p in kind]:
            try:
                each.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                each.process.kill()
                each.process.wait()


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def post_sms(base: str, form: dict[str, str]) -> int:
    """Post a form signed as Twilio signs; 0 when the connection failed (Twilio would retry)."""
    url = base + "/sms/twilio"
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(),
                                     headers={"X-Twilio-Signature": signature})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def gunicorn_workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def inbound_by_sid(sessions: sessionmaker[Session]) -> Counter[str]:
    with sessions() as session:
        rows = session.scalars(select(Message.provider_id).where(Message.direction == "in", Message.channel == "sms"))
        return Counter(str(sid) for sid in rows)


def test_every_kind_of_process_killed_once_loses_and_duplicates_nothing(
    database_url: str, engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the topology runs on PostgreSQL")
    with sessions.begin() as session:
        for number, phone in enumerate(PHONES):
            board(session, loan_number=f"TOPO-{number}", phone=phone, origination_date="2025-10-10",
                  first_payment_date="2025-12-01", boarded_on=date(2025, 11, 1))  # fmt: skip
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    forms = [{"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": "AC" + "0" * 32, "From": PHONES[n % 4],
              "To": "+15550001111", "Body": ("balance", "help", "payoff", "1980-05-04")[n % 4], "NumMedia": "0"}
             for n in range(60)]  # fmt: skip
    with topology(database_url, tmp_path, port) as processes:
        wait_for(lambda: get(base + "/readyz") == 200, "the web workers")
        [web] = processes["web"]
        wait_for(lambda: len(gunicorn_workers(web.process.pid)) == 2, "both gunicorn workers")
        answered: dict[str, int] = {}
        for number, form in enumerate(forms):
            if number == 20:  # a gunicorn worker dies mid-traffic
                os.kill(gunicorn_workers(web.process.pid)[0], signal.SIGKILL)
            if number == 30:  # and an outbox worker
                processes["worker"][0].process.send_signal(signal.SIGKILL)
            answered[form["MessageSid"]] = post_sms(base, form)
            if number % 10 == 0:
                get(base + "/console/login")
        wait_for(lambda: any(p.said("eod for") for p in processes["scheduler"]), "end of day to start")
        [leader] = [p for p in processes["scheduler"] if p.said("eod for")]
        leader.process.send_signal(signal.SIGKILL)
        for form in forms:  # Twilio retries what failed, and some of what it already had an answer to
            if answered[form["MessageSid"]] != 200 or form["Body"] == "help":
                answered[form["MessageSid"]] = post_sms(base, form)
        assert set(answered.values()) == {200}, Counter(answered.values())
        wait_for(lambda: _last_date(engine) == TODAY, "end of day through today, by the other scheduler")
        metrics = urllib.request.urlopen(base + "/metrics", timeout=30).read().decode()
    stored = inbound_by_sid(sessions)
    assert set(stored) == set(answered)
    assert max(stored.values()) == 1
    with sessions() as session:
        dates = list(session.scalars(select(BusinessDay.business_date)))
        assert len(dates) == len(set(dates)) == session.scalar(select(func.count()).select_from(BusinessDay))
    assert "loanline_webhook_answers_total" in metrics
    lines = [json.loads(line) for line in (tmp_path / "web-0.log").read_text().splitlines() if line.startswith("{")]
    assert not [line for line in lines if line.get("level") == "error" and "Traceback" in str(line.get("error"))]


def _last_date(engine: Engine) -> date | None:
    with engine.connect() as connection:
        return connection.scalar(select(func.max(BusinessDay.business_date)))
