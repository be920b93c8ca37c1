"""Rate limits: the console's login limit and the channels' per-sender flood limit, in one process and across
gunicorn workers sharing Redis. A flooding sender is answered once, then not answered, and every message is stored.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
import redis
from limits import RateLimitItemPerSecond
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from bot.engine import Engine, InboundMessage
from bot.flood import Admission, MemoryWithoutTimers, flood_limit
from console import create_app
from servicing.config import Settings
from servicing.conversations import is_opted_out
from servicing.specialists import Role, add_specialist
from servicing.store.db import make_engine, make_session_factory
from servicing.store.models import Conversation, Message
from tests.conftest import SECRET

REPO = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("LOANLINE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TWILIO_TOKEN = "rate-limit-test-token"
FLOODER = "+15557770099"
NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)
WARNING = "faster than we can answer them"
STARTUP_SECONDS = 180.0  # only against a hang: two workers load the app on a busy machine
CSRF_FIELD = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
sids = itertools.count(1)


# -- in one process, on memory ---------------------------------------------------------------------------------


def flooding_engine(sessions: sessionmaker[Session], settings: Settings, *, limit: str, quiet_seconds: int) -> Engine:
    """Return an engine whose flood limit is `limit` per sender, with a short quiet period, on this process's memory."""
    tight = dataclasses.replace(settings, flood_limit=limit, redis_url=None)
    flood = flood_limit(tight, quiet=RateLimitItemPerSecond(1, quiet_seconds))
    return Engine(sessions, tight, clock=lambda: NOW, flood=flood)


def inbound_count(sessions: sessionmaker[Session], address: str) -> int:
    with sessions() as session:
        query = select(func.count()).select_from(Message).join(Conversation)
        return int(session.scalar(query.where(Message.direction == "in", Conversation.address == address)) or 0)


def test_a_flooding_sender_is_warned_once_then_not_answered_and_every_message_is_stored(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    engine = flooding_engine(sessions, settings, limit="3/minute", quiet_seconds=60)

    replies = [engine.handle(InboundMessage("sms", FLOODER, "hello", provider_id=f"f-{n}")) for n in range(7)]

    answered = [bool(reply) for reply in replies]
    assert answered == [True, True, True, True, False, False, False]
    [warning] = replies[3]
    assert WARNING in warning.text and settings.servicer_phone in warning.text
    assert inbound_count(sessions, FLOODER) == 7
    other = engine.handle(InboundMessage("sms", "+15557770098", "hello", provider_id="other-1"))
    assert other and WARNING not in other[0].text  # the limit is per sender


def test_after_the_quiet_period_a_flooding_sender_is_answered_again(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    engine = flooding_engine(sessions, settings, limit="2/second", quiet_seconds=1)
    for n in range(4):
        engine.handle(InboundMessage("telegram", "7001", "hello", provider_id=f"q-{n}"))
    assert engine.handle(InboundMessage("telegram", "7001", "hello", provider_id="q-4")) == []

    time.sleep(1.2)  # the quiet period and the rate's window are over

    assert engine.handle(InboundMessage("telegram", "7001", "hello", provider_id="q-5"))
    assert inbound_count(sessions, "7001") == 6


def test_counting_messages_on_memory_starts_no_thread(
    sessions: sessionmaker[Session], settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = flooding_engine(sessions, settings, limit="100/second", quiet_seconds=60)
    started: list[threading.Thread] = []
    monkeypatch.setattr(threading.Thread, "start", started.append)

    for n in range(5):
        engine.handle(InboundMessage("sms", FLOODER, "hello", provider_id=f"t-{n}"))
        time.sleep(0.02)  # past the 10 ms after which the library's own storage started a timer for the next count

    assert started == []
    assert inbound_count(sessions, FLOODER) == 5


def test_threads_counting_one_sender_at_once_on_memory_answer_the_limit_and_warn_once(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a gunicorn worker answers on several threads (gunicorn.conf.py); the sweep of expired counts runs on every
    # count here, between the threads' counts, as it does once a second in production
    monkeypatch.setattr(MemoryWithoutTimers, "EXPIRE_EVERY", 0.0)
    flood = flood_limit(dataclasses.replace(settings, flood_limit="5/second", redis_url=None))
    for sender in ("+15557770101", "+15557770102", "+15557770103"):
        flood.admit("sms", f"{sender}-other")  # another sender's counts, which every sweep walks
        start = threading.Barrier(12)

        def count(sender: str = sender, start: threading.Barrier = start) -> Admission:
            start.wait()
            return flood.admit("sms", sender)

        with ThreadPoolExecutor(max_workers=12) as pool:
            admissions = Counter(pool.map(lambda _n: count(), range(12)))
        assert admissions == {Admission.ANSWER: 5, Admission.WARN: 1, Admission.IGNORE: 6}


def test_stop_is_heard_from_a_flooding_sms_sender(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = {"LOANLINE_SECRET_KEY": SECRET, "LOANLINE_INSTANCE_PATH": str(tmp_path),
                   "LOANLINE_TODAY": "2026-03-20", "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
                   "LOANLINE_FLOOD_LIMIT": "2/minute"}  # fmt: skip
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    for name in ("LOANLINE_PUBLIC_URL", "LOANLINE_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    app = create_app({"DATABASE_URL": database_url, "TESTING": True})
    try:
        client = app.test_client()

        def text(body: str) -> str:
            form = {"MessageSid": f"SM{next(sids):032x}", "From": FLOODER, "To": "+15550001111", "Body": body}
            signature = RequestValidator(TWILIO_TOKEN).compute_signature("http://localhost/sms/twilio", form)
            answer = client.post("/sms/twilio", data=form, headers={"X-Twilio-Signature": signature})
            assert answer.status_code == 200
            return answer.get_data(as_text=True)

        answers = [text("hello") for _ in range(4)]
        assert [WARNING in answer for answer in answers] == [False, False, True, False]
        assert "<Message>" not in answers[3]

        assert "unsubscribed" in text("STOP")

        sessions = app.extensions["loanline.sessions"]
        with sessions() as session:
            assert is_opted_out(session, "sms", FLOODER)
        assert inbound_count(sessions, FLOODER) == 5
    finally:
        app.extensions["loanline.sessions"].kw["bind"].dispose()


# -- across gunicorn workers, on Redis --------------------------------------------------------------------------


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """Return a key prefix of this test's own on the shared Redis; delete its keys afterwards."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis at {REDIS_URL} ({type(error).__name__}): start redis-server (.ci/run does)")
    prefix = f"test-{uuid.uuid4().hex[:12]}"
    try:
        yield prefix
    finally:
        for key in client.scan_iter(match=f"*{prefix}*"):
            client.delete(key)
        client.close()


@dataclass
class Workers:
    """A gunicorn with two sync workers serving the whole app, and its access log (which names each worker)."""

    base_url: str
    access_log: Path
    sessions: sessionmaker[Session]

    def pids_that_served(self, path: str) -> set[str]:
        """Return the process ids of the workers that answered requests to `path`."""
        lines = self.access_log.read_text().splitlines()
        return {line.split()[0] for line in lines if f" {path} " in line}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def workers(database_url: str, tmp_path: Path, redis_prefix: str) -> Iterator[Workers]:
    """Serve `console:create_app()` from gunicorn with 2 workers, counting rate limits on Redis under a test prefix."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("LOANLINE_", "TWILIO_", "TELEGRAM_"))}
    env |= {
        "LOANLINE_DATABASE_URL": database_url, "LOANLINE_SECRET_KEY": SECRET, "LOANLINE_INSTANCE_PATH": str(tmp_path),
        "LOANLINE_TODAY": "2026-03-20", "LOANLINE_PUBLIC_URL": base_url, "LOANLINE_REDIS_URL": REDIS_URL,
        "LOANLINE_RATE_LIMIT_PREFIX": redis_prefix, "LOANLINE_FLOOD_LIMIT": "5/minute",
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN, "PYTHONPATH": str(REPO), "LOANLINE_GUNICORN_OWN_LOGS": "1",
    }  # fmt: skip
    engine = make_engine(database_url)
    sessions = make_session_factory(engine)
    with sessions.begin() as session:
        add_specialist(session, "sam", "correct horse battery", Role.SPECIALIST, actor="test")
    access_log, error_log = tmp_path / "access.log", tmp_path / "error.log"
    command = [str(Path(sys.executable).parent / "gunicorn"), "--config", str(REPO / "gunicorn.conf.py"),
               "--bind", f"127.0.0.1:{port}", "--workers", "2", "--access-logfile", str(access_log),
               "--access-logformat", "%(p)s %(m)s %(U)s %(s)s", "--error-logfile", str(error_log),
               "console:create_app()"]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=REPO)
    try:
        wait_until_both_workers_answer(base_url, process, error_log)
        yield Workers(base_url, access_log, sessions)
    finally:
        process.terminate()
        process.wait(timeout=30)
        engine.dispose()


def wait_until_both_workers_answer(base_url: str, process: subprocess.Popen[bytes], error_log: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        assert process.poll() is None, error_log.read_text()[-3000:]
        if error_log.exists() and error_log.read_text().count("Booting worker") >= 2:
            try:
                with ThreadPoolExecutor(max_workers=4) as pool:  # at once: a busy worker leaves one to the other
                    answers = list(pool.map(lambda _: _health(base_url), range(4)))
                if all(answers) and _healthz_pids(error_log.parent / "access.log") >= 2:
                    return  # both workers have loaded the app and answered (a loaded machine boots them slowly)
            except OSError:
                pass
        time.sleep(0.2)
    raise AssertionError(f"gunicorn did not start: {error_log.read_text()[-3000:]}")


def _health(base_url: str) -> bool:
    with urllib.request.urlopen(f"{base_url}/healthz", timeout=5) as answer:
        return bool(answer.status == 200)


def _healthz_pids(access_log: Path) -> int:
    lines = access_log.read_text().splitlines() if access_log.exists() else []
    return len({line.split()[0] for line in lines if " /healthz " in line})


def post(
    url: str, form: dict[str, str], headers: dict[str, str], opener: urllib.request.OpenerDirector
) -> tuple[int, str]:
    """POST a form on a new connection; return the status and the body."""
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(), headers=headers)
    try:
        with opener.open(request, timeout=30) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


def test_the_login_limit_holds_across_two_gunicorn_workers_on_redis(workers: Workers) -> None:
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()), NoRedirect())
    with opener.open(f"{workers.base_url}/console/login", timeout=30) as page:
        match = CSRF_FIELD.search(page.read().decode())
    assert match, "no CSRF token on the login page"
    form = {"username": "sam", "password": "wrong password 1", "csrf_token": match.group(1)}

    def attempt(_: int) -> int:
        return post(f"{workers.base_url}/console/login", form, {}, opener)[0]

    with ThreadPoolExecutor(max_workers=4) as pool:  # four at once: both workers are kept busy
        statuses = Counter(pool.map(attempt, range(24)))

    assert statuses == {401: 10, 429: 14}  # 10 per address in all, not 10 per worker
    assert len(workers.pids_that_served("/console/login")) == 2


def test_a_flooding_sender_is_answered_once_across_two_gunicorn_workers_and_every_message_is_stored(
    workers: Workers,
) -> None:
    url = f"{workers.base_url}/sms/twilio"
    opener = urllib.request.build_opener()

    def text(number: int) -> str:
        form = {"MessageSid": f"SM{uuid.uuid4().hex}", "From": FLOODER, "To": "+15550001111", "Body": f"hello {number}"}
        signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
        status, body = post(url, form, {"X-Twilio-Signature": signature}, opener)
        assert status == 200, body
        return body

    # The first message alone opens the conversation (two first messages at once are issue 10's item 1, not this).
    answers = [text(0)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        answers += pool.map(text, range(1, 14))

    warned = [answer for answer in answers if WARNING in answer]
    answered = [answer for answer in answers if "<Message>" in answer and WARNING not in answer]
    assert (len(answered), len(warned)) == (5, 1)  # 5 per sender in all, then one warning, then silence
    assert inbound_count(workers.sessions, FLOODER) == 14
    assert len(workers.pids_that_served("/sms/twilio")) == 2


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Leave redirects to the test: a successful login answers 302."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None
