"""The deployment's processes from deploy/Procfile on PostgreSQL, each kind SIGKILLed once under SMS, Telegram and
console traffic: every inbound message stored once, every outbound one sent at least once and at most once per
lease, end of day once per business date (docs/operations.md, docs/reliability.md).

Started: the release (migrations), gunicorn with 2 workers, 2 outbox workers, 2 schedulers and the Telegram bot in
webhook mode. Twilio's REST API and Telegram's Bot API are stand-ins on 127.0.0.1 (TWILIO_API_URL,
TELEGRAM_API_URL) that count every send. Killed: a gunicorn worker mid-traffic (Twilio's retries of what it dropped
arrive at the other), the Telegram bot mid-traffic (restarted, as its unit would be; Telegram retries the updates
it had no answer to), the outbox worker holding a message while its send is in flight (the other one sends it
again once the lease ends), and the scheduler that leads while it runs end of day.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator

from servicing.conversations import ConversationState
from servicing.specialists import Role, add_specialist
from servicing.store.models import BusinessDay, Conversation, Message, OutboxItem
from tests.conftest import SECRET
from tests.fake_bot_api import FakeBotAPI, text_update
from tests.integration.helpers import board
from tests.integration.test_deploy import procfile
from tests.live_gunicorn import free_port
from tests.twilio_double import ACCOUNT_SID, FakeTwilioAPI

pytestmark = pytest.mark.postgres
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "topology-twilio-token"
BOT_TOKEN = "4242:topology-bot-token"
WEBHOOK_SECRET = "topology-webhook-secret"
TODAY = date(2026, 3, 20)
PHONES = [f"+1555321{n:04d}" for n in range(4)]
CHATS = [7_100_000 + n for n in range(4)]
LEASE_SECONDS = 6  # the outbox lease: what the killed worker held is sent again this long after it claimed it
SEND_SECONDS = 0.25  # how long the Twilio stand-in takes to accept a message: the kill lands mid-send
PASSWORD = "topology horse battery"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')
BIN = Path(sys.executable).parent


@dataclass
class Process:
    kind: str
    process: subprocess.Popen[bytes]
    log: Path

    def said(self, words: str) -> bool:
        return words in self.log.read_text()


class Topology:
    """The processes of one deployment, started from the Procfile's commands in the test's environment."""

    def __init__(self, env: dict[str, str], folder: Path, web_port: int, telegram_port: int) -> None:
        self.env, self.folder = env, folder
        self.commands = procfile()
        self.ports = {"0.0.0.0:8000": f"127.0.0.1:{web_port}", "--host 0.0.0.0 --port 8081":
                      f"--host 127.0.0.1 --port {telegram_port}"}  # fmt: skip
        self.started: dict[str, list[Process]] = {}

    def argv(self, kind: str) -> list[str]:
        command = self.commands[kind]
        for public, local in self.ports.items():
            command = command.replace(public, local)
        program, *arguments = shlex.split(command)
        return [str(BIN / program), *arguments]

    def release(self) -> None:
        release = subprocess.run(self.argv("release"), env=self.env, cwd=ROOT, capture_output=True, timeout=300,
                                 check=False)  # fmt: skip
        assert release.returncode == 0, release.stderr[-2000:]

    def start(self, kind: str) -> Process:
        """Start one more process of a kind (a restart, when one of its kind died)."""
        kin = self.started.setdefault(kind, [])
        log = self.folder / f"{kind}-{len(kin)}.log"
        extra = ["--tick", "0.5"] if kind == "scheduler" else []
        with log.open("w") as output:
            process = subprocess.Popen([*self.argv(kind), *extra], env=self.env, cwd=ROOT, stdout=output,
                                       stderr=output)  # fmt: skip
        kin.append(Process(kind, process, log))
        return kin[-1]

    def stop(self) -> None:
        everyone = [p for kind in self.started.values() for p in kind]
        for each in everyone:
            if each.process.poll() is None:
                each.process.terminate()
        for each in everyone:
            try:
                each.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                each.process.kill()
                each.process.wait()


@contextmanager
def topology(env: dict[str, str], folder: Path, web_port: int, telegram_port: int) -> Iterator[Topology]:
    """Run the release, then web (gunicorn, 2 workers), 2 outbox workers, 2 schedulers and the Telegram webhook."""
    processes = Topology(env, folder, web_port, telegram_port)
    processes.release()
    try:
        for kind, count in (("web", 1), ("worker", 2), ("scheduler", 2), ("telegram", 1)):
            for _ in range(count):
                processes.start(kind)
        yield processes
    finally:
        processes.stop()


@contextmanager
def bot_api() -> Iterator[FakeBotAPI]:
    """Serve the Bot API stand-in from its own event loop in a thread."""
    loop = asyncio.new_event_loop()
    api = FakeBotAPI()
    thread = threading.Thread(target=loop.run_forever, name="fake-bot-api", daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(api.start(), loop).result(timeout=10)
    try:
        yield api
    finally:
        asyncio.run_coroutine_threadsafe(api.stop(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 240) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def http(request: urllib.request.Request | str, opener: urllib.request.OpenerDirector | None = None) -> tuple[int, str]:
    """Return the status and body of a request; status 0 when the connection failed (the sender would retry)."""
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=30) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), ""
    except OSError:
        return 0, ""


def post_sms(base: str, form: dict[str, str]) -> int:
    """Post a form signed as Twilio signs."""
    url = base + "/sms/twilio"
    signature = RequestValidator(TOKEN).compute_signature(url, form)
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(),
                                     headers={"X-Twilio-Signature": signature})  # fmt: skip
    return http(request)[0]


def post_update(base: str, update: dict[str, Any]) -> int:
    """Post an update as Telegram posts it to a webhook, with the secret token."""
    request = urllib.request.Request(base + "/telegram/webhook", data=json.dumps(update).encode(),
                                     headers={"Content-Type": "application/json",
                                              "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})  # fmt: skip
    return http(request)[0]


class Specialist:
    """A specialist at the console in a browser: a cookie jar, the CSRF token of the session, forms posted."""

    def __init__(self, base: str, username: str) -> None:
        self.base = base
        self.browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))
        self.token = self._token("/console/login")
        status, page = self.post("/console/login", {"username": username, "password": PASSWORD})
        assert status == 200 and 'class="logout"' in page, f"{username} is not logged in"
        self.token = self._token("/console/queue/")

    def _token(self, path: str) -> str:
        status, page = http(self.base + path, self.browser)
        match = CSRF.search(page)
        assert status == 200 and match, f"{path}: {status}"
        return match.group(1) or match.group(2)

    def post(self, path: str, form: dict[str, str]) -> tuple[int, str]:
        data = urllib.parse.urlencode({**form, "csrf_token": self.token}).encode()
        return http(urllib.request.Request(self.base + path, data=data), self.browser)


def gunicorn_workers(master: int) -> list[int]:
    children = Path(f"/proc/{master}/task/{master}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def inbound_by_id(sessions: sessionmaker[Session], channel: str) -> Counter[str]:
    with sessions() as session:
        rows = session.scalars(select(Message.provider_id).where(Message.direction == "in", Message.channel == channel))
        return Counter(str(provider_id) for provider_id in rows)


def queued_conversations(sessions: sessionmaker[Session]) -> list[int]:
    with sessions() as session:
        query = select(Conversation.id).where(Conversation.state == ConversationState.QUEUED.value)
        return sorted(session.scalars(query))


def outbox(sessions: sessionmaker[Session]) -> list[OutboxItem]:
    with sessions() as session:
        return list(session.scalars(select(OutboxItem).order_by(OutboxItem.id)))


def sms_forms() -> list[dict[str, str]]:
    """Return the borrowers' texts: balance, help, payoff and dates of birth, then each asks for a person."""
    texts = [("balance", "help", "payoff", "1980-05-04")[n % 4] for n in range(32)] + ["agent"] * 4
    return [{"MessageSid": "SM" + uuid.uuid4().hex, "AccountSid": ACCOUNT_SID, "From": PHONES[n % 4],
             "To": "+15550001111", "Body": text, "NumMedia": "0"} for n, text in enumerate(texts)]  # fmt: skip


def telegram_updates() -> list[dict[str, Any]]:
    """Return each chat's updates in order: hello, balance, help, then asking for a person."""
    texts = ("hello", "balance", "help", "agent")
    return [{"update_id": 500_000 + 10 * n + turn, **text_update(chat, text)}
            for turn, text in enumerate(texts) for n, chat in enumerate(CHATS)]  # fmt: skip


def test_every_kind_of_process_killed_once_loses_and_duplicates_nothing(
    database_url: str, engine: Engine, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("the topology runs on PostgreSQL")
    with sessions.begin() as session:
        for number, phone in enumerate(PHONES):
            board(session, loan_number=f"TOPO-{number}", phone=phone, origination_date="2025-10-10",
                  first_payment_date="2025-12-01", boarded_on=date(2025, 11, 1))  # fmt: skip
    web_port, telegram_port = free_port(), free_port()
    base, telegram_base = f"http://127.0.0.1:{web_port}", f"http://127.0.0.1:{telegram_port}"
    with FakeTwilioAPI(delay=SEND_SECONDS) as twilio_api, bot_api() as telegram_api:
        env = {**os.environ, "PYTHONPATH": str(ROOT), "LOANLINE_DATABASE_URL": database_url,
               "LOANLINE_SECRET_KEY": SECRET, "LOANLINE_INSTANCE_PATH": str(tmp_path / "instance"),
               "LOANLINE_TODAY": TODAY.isoformat(), "LOANLINE_PUBLIC_URL": base, "LOANLINE_SCHEDULE": "eod=00:00",
               "LOANLINE_FLOOD_LIMIT": "100000/second", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
               "LOANLINE_WEB_WORKERS": "2", "LOANLINE_OUTBOX_LEASE_SECONDS": str(LEASE_SECONDS),
               "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_FROM_NUMBER": "+15550001111",
               "TWILIO_API_URL": twilio_api.base_url, "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
               "TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET, "TELEGRAM_API_URL": telegram_api.base_url}  # fmt: skip
        env.pop("LOANLINE_REDIS_URL", None)
        with topology(env, tmp_path, web_port, telegram_port) as processes:
            [web], [telegram] = processes.started["web"], processes.started["telegram"]
            wait_for(lambda: http(base + "/readyz")[0] == 200, "the web workers")
            wait_for(lambda: len(gunicorn_workers(web.process.pid)) == 2, "both gunicorn workers")
            wait_for(lambda: http(telegram_base + "/")[0] == 404, "the Telegram bot")
            with sessions.begin() as session:
                add_specialist(session, "sam", PASSWORD, Role.SPECIALIST, display_name="Sam", locale="en",
                               actor="test")  # fmt: skip

            # SMS and Telegram at once; a gunicorn worker and the Telegram bot die mid-traffic
            forms, updates = sms_forms(), telegram_updates()
            answered: dict[str, int] = {}
            delivered: dict[int, int] = {}

            def text_by_sms() -> None:
                for number, form in enumerate(forms):
                    if number == 15:
                        os.kill(gunicorn_workers(web.process.pid)[0], signal.SIGKILL)
                    answered[form["MessageSid"]] = post_sms(base, form)

            def chat_on_telegram() -> None:
                with ThreadPoolExecutor(len(CHATS)) as chats:  # the chats at once, each chat's updates in order
                    for turn in range(0, len(updates), len(CHATS)):
                        if turn == 2 * len(CHATS):  # while this turn's updates are being answered
                            threading.Timer(0.05, telegram.process.send_signal, (signal.SIGKILL,)).start()
                        batch = updates[turn : turn + len(CHATS)]
                        for update, status in zip(batch, chats.map(lambda u: post_update(telegram_base, u), batch),
                                                  strict=True):  # fmt: skip
                            delivered[update["update_id"]] = status

            with ThreadPoolExecutor(2) as channels:
                for done in [channels.submit(text_by_sms), channels.submit(chat_on_telegram)]:
                    done.result()
            restarted = processes.start("telegram")  # its unit restarts it
            wait_for(lambda: http(telegram_base + "/")[0] == 404, "the Telegram bot to be back")
            for form in forms:  # Twilio retries what failed, and some of what it already had an answer to
                if answered[form["MessageSid"]] != 200 or form["Body"] == "help":
                    answered[form["MessageSid"]] = post_sms(base, form)

            def retry_chat(chat: int) -> None:  # so does Telegram, until the webhook answers 200, each chat in order
                for update in updates:
                    if update["message"]["chat"]["id"] == chat and (
                        delivered[update["update_id"]] != 200 or update["message"]["text"] == "help"
                    ):
                        delivered[update["update_id"]] = post_update(telegram_base, update)

            with ThreadPoolExecutor(len(CHATS)) as chats:
                list(chats.map(retry_chat, CHATS))
            assert set(answered.values()) == {200}, Counter(answered.values())
            assert set(delivered.values()) == {200}, Counter(delivered.values())

            # the console: a specialist answers every borrower who asked for a person, three replies each
            waiting = queued_conversations(sessions)
            assert len(waiting) == len(PHONES) + len(CHATS)
            sam = Specialist(base, "sam")
            replies = []
            for conversation in waiting:
                assert sam.post(f"/console/queue/{conversation}/claim", {})[0] == 200
                for number in range(3):
                    replies.append(f"Reply {number} from Sam in conversation {conversation}.")
                    assert sam.post(f"/console/conversations/{conversation}/reply", {"body": replies[-1]})[0] == 200
            # the outbox worker holding messages dies while one of its sends is in flight
            wait_for(lambda: any(item.status == "sending" for item in outbox(sessions)), "an outbox claim", 30)
            holder = next(str(item.claimed_by) for item in outbox(sessions) if item.status == "sending")
            [doomed] = [p for p in processes.started["worker"] if f":{p.process.pid}:" in holder]
            doomed.process.send_signal(signal.SIGKILL)
            doomed.process.wait()
            held = [item.body for item in outbox(sessions) if item.status == "sending" and item.claimed_by == holder]
            assert held, "the outbox worker died holding messages"
            wait_for(lambda: all(item.status == "sent" for item in outbox(sessions)), "the outbox to be sent", 60)

            wait_for(lambda: any(p.said("eod for") for p in processes.started["scheduler"]), "end of day to start")
            [leader] = [p for p in processes.started["scheduler"] if p.said("eod for")]
            leader.process.send_signal(signal.SIGKILL)
            wait_for(lambda: _last_date(engine) == TODAY, "end of day through today, by the other scheduler")
            metrics = http(base + "/metrics")[1]
            assert restarted.process.poll() is None

    # every inbound message stored once
    assert inbound_by_id(sessions, "sms") == Counter({sid: 1 for sid in answered})
    assert inbound_by_id(sessions, "telegram") == Counter({str(update_id): 1 for update_id in delivered})
    # every outbound one sent at least once, and again only after its lease ended
    items = outbox(sessions)
    assert sorted(item.body for item in items) == sorted(replies)
    sends: dict[str, list[float]] = {body: [] for body in replies}
    for _to, body, at in twilio_api.sent:
        sends[body].append(at)
    for call in telegram_api.sent():
        if call.fields.get("text") in sends:
            sends[call.fields["text"]].append(call.at)
    assert all(sends.values()), [body for body, times in sends.items() if not times]
    for body, times in sends.items():
        gaps = [later - earlier for earlier, later in itertools.pairwise(times)]
        assert all(gap >= LEASE_SECONDS - 1 for gap in gaps), (body, gaps)
    # the bot's own answers on Telegram: a retried update is not answered twice
    with sessions() as session:
        bot_answers = Counter(session.scalars(select(Conversation.address).join(Message).where(
            Message.direction == "out", Message.author == "bot", Conversation.channel == "telegram")))  # fmt: skip
    for chat in CHATS:
        told = [call for call in telegram_api.sent(chat) if call.fields.get("text") not in sends]
        assert 0 < len(told) <= bot_answers[str(chat)], (chat, len(told), bot_answers[str(chat)])
    # end of day once per business date
    with sessions() as session:
        dates = list(session.scalars(select(BusinessDay.business_date)))
        assert len(dates) == len(set(dates)) == session.scalar(select(func.count()).select_from(BusinessDay))
    assert "loanline_webhook_answers_total" in metrics
    lines = [json.loads(line) for line in (tmp_path / "web-0.log").read_text().splitlines() if line.startswith("{")]
    assert not [line for line in lines if line.get("level") == "error" and "Traceback" in str(line.get("error"))]


def _last_date(engine: Engine) -> date | None:
    with engine.connect() as connection:
        return connection.scalar(select(func.max(BusinessDay.business_date)))
