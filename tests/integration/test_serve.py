"""`loanline run` as a process: console, SMS webhook, Telegram polling (against a local fake Bot API) and the
outbox worker together, stopped by SIGINT or SIGTERM with nothing lost."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from loanline.runtime import Runtime
from servicing.config import Settings
from servicing.conversations import find_or_open_conversation, record_outbound
from servicing.store.models import Conversation, Message, OutboxItem, Specialist
from tests.conftest import SECRET
from tests.fake_bot_api import FakeBotAPI, text_update

TOKEN = "4242:TEST-token"
TWILIO_TOKEN = "twilio-auth-token-for-tests"
CHAT = 7001
STARTUP_SECONDS = 180.0  # only against a hang: importing aiogram alone takes seconds of CPU on a busy machine
STOP_SECONDS = 10.0


@dataclass
class FakeTelegram:
    """The fake Bot API served from an event loop in a thread, so a test can talk to it synchronously."""

    api: FakeBotAPI
    loop: asyncio.AbstractEventLoop

    def push(self, update: dict[str, Any]) -> None:
        """Queue an update for the bot's next getUpdates."""
        self.loop.call_soon_threadsafe(self.api.push, update)

    def wait_for_sent(self, count: int, chat_id: int, timeout: float = 15.0) -> list[str]:
        """Wait until `count` messages were sent to the chat; return their texts."""
        future = asyncio.run_coroutine_threadsafe(self.api.wait_for_sent(count, chat_id, timeout), self.loop)
        return [str(call.fields["text"]) for call in future.result(timeout + 5)]


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-bot-api", daemon=True)
    thread.start()
    api = asyncio.run_coroutine_threadsafe(FakeBotAPI().start(), loop).result(10)
    yield FakeTelegram(api, loop)
    asyncio.run_coroutine_threadsafe(api.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


@dataclass
class Running:
    """A `loanline run` process and how to reach it."""

    process: subprocess.Popen[str]
    base_url: str
    settings: Settings
    stdout: str = ""

    def stop(self, signal_number: int) -> tuple[int, str]:
        """Send the signal; return the exit code and what the process wrote on stderr (stdout is kept)."""
        self.process.send_signal(signal_number)
        started = time.monotonic()
        self.stdout, stderr = self.process.communicate(timeout=STOP_SECONDS)
        assert time.monotonic() - started < STOP_SECONDS
        return self.process.returncode, stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def environment(database_url: str, tmp_path: Path, telegram: FakeTelegram) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("TWILIO_", "TELEGRAM_", "LOANLINE_"))}  # fmt: skip
    return env | {
        "LOANLINE_DATABASE_URL": database_url, "LOANLINE_INSTANCE_PATH": str(tmp_path),
        "LOANLINE_SECRET_KEY": SECRET, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TELEGRAM_BOT_TOKEN": TOKEN, "TELEGRAM_API_URL": telegram.api.base_url,
    }  # fmt: skip


@contextmanager
def loanline_run(environment: dict[str, str]) -> Iterator[Running]:
    """Start `loanline run` on a free port and wait until it is healthy; kill it if a test left it running."""
    port = free_port()
    command = [str(Path(sys.executable).parent / "loanline"), "run", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    running = Running(process, f"http://127.0.0.1:{port}", Settings.from_env(environment))
    try:
        wait_until_healthy(running)
        yield running
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)


@pytest.fixture
def running(environment: dict[str, str]) -> Iterator[Running]:
    with loanline_run(environment) as running:
        yield running


def wait_until_healthy(running: Running) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if running.process.poll() is not None:
            raise AssertionError(f"loanline run exited early: {running.process.communicate()[1][-2000:]}")
        try:
            with urllib.request.urlopen(f"{running.base_url}/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("loanline run did not become healthy")


def post_signed_sms(running: Running, sender: str, body: str, sid: str) -> str:
    url = f"{running.base_url}/sms/twilio"
    form = {"From": sender, "To": "+15550000000", "Body": body, "MessageSid": sid}
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
    request = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode(),
                                     headers={"X-Twilio-Signature": signature})  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
        return str(response.read().decode())


def queue_unsendable_sms(settings: Settings) -> int:
    """Queue a specialist's SMS; without Twilio credentials no worker can send it."""
    rt = Runtime.start(settings)
    now = datetime.now(UTC)
    try:
        with rt.sessions.begin() as session:
            conversation = find_or_open_conversation(session, "sms", "+15550103030", now)
            message = record_outbound(session, conversation, "Hi from Ana", author="specialist:ana", now=now,
                                      deliver_later=True)  # fmt: skip
            return int(message.id)
    finally:
        rt.close()


def outbox_statuses(settings: Settings) -> list[str]:
    rt = Runtime.start(settings)
    try:
        with rt.sessions() as session:
            return list(session.scalars(select(OutboxItem.status)))
    finally:
        rt.close()


def test_run_answers_telegram_and_sms_serves_the_simulator_and_stops_on_ctrl_c_keeping_the_outbox(
    environment: dict[str, str], telegram: FakeTelegram
) -> None:
    with loanline_run(environment | {"LOANLINE_SIMULATOR": "1"}) as running:
        telegram.push(text_update(CHAT, "hello"))
        assert telegram.wait_for_sent(1, CHAT)
        assert "<Message>" in post_signed_sms(running, "+15550102020", "hello", "SM" + "1" * 32)
        queue_unsendable_sms(running.settings)
        assert simulator_status(running) == 200  # LOANLINE_SIMULATOR=1 mounts it on any database

        code, stderr = running.stop(signal.SIGINT)

    assert code == 0, stderr[-2000:]
    assert "Task was destroyed but it is pending" not in stderr
    assert "Traceback" not in stderr
    assert outbox_statuses(running.settings) == ["pending"]


def simulator_status(running: Running) -> int:
    """Return the status of the simulator's page: 200 when mounted, 404 when not."""
    try:
        with urllib.request.urlopen(f"{running.base_url}/simulator/", timeout=10) as page:
            return int(page.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def specialists_on_file(settings: Settings) -> list[str]:
    rt = Runtime.start(settings)
    try:
        with rt.sessions() as session:
            return list(session.scalars(select(Specialist.username)))
    finally:
        rt.close()


def test_run_on_a_database_without_the_demo_adds_no_login_says_how_to_add_one_and_mounts_no_simulator(
    running: Running,
) -> None:
    assert simulator_status(running) == 404

    code, stderr = running.stop(signal.SIGTERM)

    assert code == 0, stderr[-2000:]
    assert specialists_on_file(running.settings) == []
    assert "loanline specialist add USERNAME --role admin" in running.stdout
    assert "password" not in running.stdout.lower()
    assert "/simulator/" not in running.stdout


def test_run_on_a_demo_database_mounts_the_simulator_and_prints_no_password(environment: dict[str, str]) -> None:
    demo = subprocess.run([str(Path(sys.executable).parent / "loanline"), "demo"], env=environment,
                          capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "password:" in demo.stdout  # the demo's logins come with `loanline demo`
    without_flag = {key: value for key, value in environment.items() if key != "LOANLINE_SIMULATOR"}
    with loanline_run(without_flag) as running:
        assert simulator_status(running) == 200

        code, stderr = running.stop(signal.SIGTERM)

    assert code == 0, stderr[-2000:]
    assert "password" not in running.stdout.lower()
    assert "loanline specialist add" not in running.stdout  # the demo's logins exist
    assert "/simulator/" in running.stdout


def inbound_from(settings: Settings, address: str) -> int:
    rt = Runtime.start(settings)
    try:
        with rt.sessions() as session:
            query = select(func.count()).select_from(Message).join(Conversation)
            return int(session.scalar(query.where(Message.direction == "in", Conversation.address == address)) or 0)
    finally:
        rt.close()


def test_run_answers_a_flooding_telegram_chat_once_then_stays_quiet_and_stores_every_message(
    environment: dict[str, str], telegram: FakeTelegram
) -> None:
    with loanline_run(environment | {"LOANLINE_FLOOD_LIMIT": "2/minute"}) as running:
        for _ in range(4):
            telegram.push(text_update(CHAT, "hello"))
        deadline = time.monotonic() + 20
        while inbound_from(running.settings, str(CHAT)) < 4 and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(0.5)  # a reply to the last update would be on its way by now
        sent = [str(call.fields["text"]) for call in telegram.api.sent(CHAT)]

        code, stderr = running.stop(signal.SIGTERM)

    assert code == 0, stderr[-2000:]
    assert inbound_from(running.settings, str(CHAT)) == 4
    warnings = [text for text in sent if "faster than we can answer them" in text]
    assert len(warnings) == 1 and sent[-1] == warnings[0]  # answered twice, warned once, then nothing


def test_run_stops_cleanly_on_sigterm(running: Running, telegram: FakeTelegram) -> None:
    telegram.push(text_update(CHAT, "hello"))
    assert telegram.wait_for_sent(1, CHAT)

    code, stderr = running.stop(signal.SIGTERM)

    assert code == 0, stderr[-2000:]
    assert "Task was destroyed but it is pending" not in stderr
    assert "Traceback" not in stderr


def test_a_turn_in_hand_at_ctrl_c_is_still_answered(running: Running, telegram: FakeTelegram) -> None:
    telegram.push(text_update(CHAT, "hello"))
    assert telegram.wait_for_sent(1, CHAT)
    telegram.push(text_update(CHAT, "balance"))
    time.sleep(0.3)  # the update is fetched; its answer may still be on its way

    code, stderr = running.stop(signal.SIGINT)

    assert code == 0, stderr[-2000:]
    assert len(telegram.wait_for_sent(2, CHAT, timeout=1)) >= 2


def test_without_a_telegram_token_run_serves_the_rest_and_stops_on_sigterm(environment: dict[str, str]) -> None:
    without_telegram = {key: value for key, value in environment.items() if not key.startswith("TELEGRAM_")}
    with loanline_run(without_telegram) as running:
        assert "<Message>" in post_signed_sms(running, "+15550102020", "hello", "SM" + "2" * 32)

        code, stderr = running.stop(signal.SIGTERM)

    assert code == 0, stderr[-2000:]
    assert "Traceback" not in stderr
