"""The Telegram adapter's small parts: keyboards, phone numbers, send pacing, and the `loanline telegram` command."""

from __future__ import annotations

import asyncio
import time

import pytest
from click.testing import CliRunner

from bot.channels.telegram import SendPacer, e164, keyboard_for
from bot.i18n import Speaker
from bot.turn import Reply
from loanline.cli import main


def test_options_become_an_inline_keyboard_whose_buttons_answer_with_their_value() -> None:
    markup = keyboard_for(Reply("Pay now?", options=(("Yes", "yes"), ("No", "no"))), Speaker("en"))
    assert markup is not None
    rows = markup.model_dump()["inline_keyboard"]
    assert [(row[0]["text"], row[0]["callback_data"]) for row in rows] == [("Yes", "yes"), ("No", "no")]


def test_a_contact_request_becomes_a_one_time_reply_keyboard() -> None:
    markup = keyboard_for(Reply("Link this chat", request_contact=True), Speaker("en"))
    assert markup is not None
    dumped = markup.model_dump()
    assert dumped["keyboard"][0][0]["request_contact"] is True and dumped["one_time_keyboard"] is True
    assert dumped["keyboard"][0][0]["text"] == "📱 Share my phone number"


@pytest.mark.parametrize(
    ("locale", "label"), [("es", "📱 Compartir mi número de teléfono"), ("de", "📱 Meine Telefonnummer teilen")]
)
def test_the_share_phone_button_speaks_the_borrowers_language(locale: str, label: str) -> None:
    markup = keyboard_for(Reply("...", request_contact=True), Speaker(locale))
    assert markup is not None
    assert markup.model_dump()["keyboard"][0][0]["text"] == label


def test_a_plain_reply_has_no_keyboard() -> None:
    assert keyboard_for(Reply("Hello"), Speaker("en")) is None


@pytest.mark.parametrize(
    ("shared", "expected"), [("15557770042", "+15557770042"), ("+1 (555) 777-0042", "+15557770042"), ("", None)]
)
def test_a_shared_phone_is_read_as_e164(shared: str, expected: str | None) -> None:
    assert e164(shared) == expected


def test_sends_to_one_chat_are_spaced_but_other_chats_are_not_held_up() -> None:
    async def timings() -> tuple[float, float]:
        pacer = SendPacer(per_chat=0.3, overall=0.0)
        start = time.monotonic()
        await pacer.wait(1)
        await pacer.wait(2)
        other_chat = time.monotonic() - start
        await pacer.wait(1)
        return other_chat, time.monotonic() - start

    other_chat, same_chat = asyncio.run(asyncio.wait_for(timings(), 5))
    assert other_chat < 0.2 and same_chat >= 0.28


def test_loanline_telegram_without_a_token_exits_1_saying_what_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("LOANLINE_SECRET_KEY", "x")
    monkeypatch.setenv("LOANLINE_INSTANCE_PATH", str(tmp_path))
    result = CliRunner().invoke(main, ["telegram"], prog_name="loanline")
    assert result.exit_code == 1 and "TELEGRAM_BOT_TOKEN is not set" in result.output


def test_loanline_telegram_webhook_without_a_secret_exits_1(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "4242:TEST-token")
    monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    monkeypatch.setenv("LOANLINE_SECRET_KEY", "x")
    monkeypatch.setenv("LOANLINE_INSTANCE_PATH", str(tmp_path))
    result = CliRunner().invoke(main, ["telegram", "--webhook"], prog_name="loanline")
    assert result.exit_code == 1 and "TELEGRAM_WEBHOOK_SECRET is not set" in result.output
