"""A promise to pay through the bot, in every language, as borrowers text it: only after verification,
confirmed with the amount in the loan's currency and the date as the borrower's locale writes them, recorded
only on YES with the conversation's channel, and refused with a clear message when a rule does not allow it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import Engine
from bot.i18n import Speaker, catalog_locale
from bot.turn import InboundMessage
from servicing.config import Settings
from servicing.outreach.promises import make_promise
from servicing.store.models import AuditEntry, Promise
from tests.integration.helpers import board

TODAY = date(2026, 3, 20)  # a Friday: "Friday" is the next one
NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)
NEXT_FRIDAY = date(2026, 3, 27)
NEXT_MONDAY = date(2026, 3, 23)
LOAN = "4400012345"
Chat = Callable[[str], str]


@dataclass(frozen=True)
class Promising:
    """A borrower of one locale and how they text a promise to pay and their yes."""

    locale: str
    country: str
    currency: str
    phone: str
    scale: int  # the mortgage's amounts times this, so that figures look like that currency's
    birth_date: str  # 4 May 1980, in the locale's order
    promise: str
    amount: Decimal
    day: date
    yes: str
    asks_birth_date: str


PROMISING = (
    Promising("en_US", "US", "USD", "+15557770001", 1, "05/04/1980", "I can pay 500 on Friday", Decimal(500),
              NEXT_FRIDAY, "yes", "date of birth"),
    Promising("es_US", "US", "USD", "+15557770002", 1, "04/05/1980", "pagaré 500 el viernes", Decimal(500),
              NEXT_FRIDAY, "sí", "fecha de nacimiento"),
    Promising("fr_CA", "CA", "CAD", "+15145550003", 2, "1980-05-04", "je peux payer 500 vendredi", Decimal(500),
              NEXT_FRIDAY, "oui", "date de naissance"),
    Promising("pt_BR", "BR", "BRL", "+5511987650004", 5, "04/05/1980", "posso pagar 1.500 na segunda",
              Decimal(1500), NEXT_MONDAY, "sim", "data de nascimento"),
    Promising("de_DE", "DE", "EUR", "+4915112340005", 1, "04.05.1980", "ich kann am Freitag 450,50 zahlen",
              Decimal("450.50"), NEXT_FRIDAY, "ja", "Geburtsdatum"),
    Promising("it_IT", "IT", "EUR", "+393471230006", 1, "04/05/1980", "posso pagare 500 venerdì", Decimal(500),
              NEXT_FRIDAY, "sì", "data di nascita"),
    Promising("hi_IN", "IN", "INR", "+919876500007", 50, "04/05/1980", "मैं शुक्रवार को 5000 रुपये दे दूंगा",
              Decimal(5000), NEXT_FRIDAY, "हाँ", "जन्मतिथि"),
    Promising("id_ID", "ID", "IDR", "+6281234500008", 10_000, "04/05/1980", "saya bisa bayar 500 ribu hari senin",
              Decimal(500_000), NEXT_MONDAY, "ya", "tanggal lahir"),
    Promising("zh_Hans_US", "US", "USD", "+15557770009", 1, "1980年5月4日", "我周五可以还500美元", Decimal(500),
              NEXT_FRIDAY, "好的", "出生日期"),
    Promising("vi_VN", "VN", "VND", "+84901234510", 25_000, "04/05/1980", "thứ hai tôi trả được 5 triệu",
              Decimal(5_000_000), NEXT_MONDAY, "có", "ngày sinh"),
    Promising("ko_KR", "KR", "KRW", "+821012340011", 1_000, "1980.05.04", "금요일에 50만원 낼게요",
              Decimal(500_000), NEXT_FRIDAY, "네", "생년월일"),
    Promising("fil_PH", "PH", "PHP", "+639171234512", 50, "05/04/1980", "kaya kong magbayad ng 5,000 sa Biyernes",
              Decimal(5000), NEXT_FRIDAY, "oo", "kapanganakan"),
    Promising("ar_EG", "EG", "EGP", "+201001234513", 50, "4/5/1980", "أقدر أدفع ٥٠٠٠ جنيه يوم الاثنين",
              Decimal(5000), NEXT_MONDAY, "نعم", "ميلاد"),
)  # fmt: skip


@pytest.fixture
def bot(sessions: sessionmaker[Session], settings: Settings) -> Engine:
    return Engine(sessions, settings, clock=lambda: NOW)


def board_for(sessions: sessionmaker[Session], who: Promising) -> None:
    def amount(base: int) -> str:
        return f"{base * who.scale}.00"

    with sessions.begin() as session:
        board(session, loan_number=LOAN, phone=who.phone, locale=who.locale, country=who.country,
              currency=who.currency, original_principal=amount(150_000), escrow_monthly=amount(200),
              escrow_balance=amount(300), bank_account_last4="6789")  # fmt: skip


def chat_as(engine: Engine, phone: str) -> Chat:
    counter = iter(range(1, 1000))

    def send(text: str) -> str:
        inbound = InboundMessage("sms", phone, text, provider_id=f"{phone}-{next(counter)}")
        return "\n".join(reply.text for reply in engine.handle(inbound))

    return send


@pytest.fixture
def said(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """Record the catalog and message of everything the bot says, through the real Speaker."""
    spoken: list[tuple[str, str]] = []
    original = Speaker.say

    def say(self: Speaker, message: str, **values: Any) -> str:
        spoken.append((self.catalog, message))
        return original(self, message, **values)

    monkeypatch.setattr(Speaker, "say", say)
    yield spoken


def promises(sessions: sessionmaker[Session]) -> list[Promise]:
    with sessions() as session:
        found = list(session.scalars(select(Promise).order_by(Promise.id)))
        session.expunge_all()
        return found


@pytest.mark.parametrize("who", PROMISING, ids=[who.locale for who in PROMISING])
def test_a_promise_in_the_borrowers_words_is_confirmed_in_their_language_and_recorded_on_yes(
    bot: Engine, sessions: sessionmaker[Session], who: Promising, said: list[tuple[str, str]]
) -> None:
    board_for(sessions, who)
    chat, s = chat_as(bot, who.phone), Speaker(who.locale)
    first = chat(who.promise)
    assert who.asks_birth_date in first
    assert not re.search(r"\d", first), "nothing about the loan before verification"
    confirm = chat(who.birth_date)
    assert s.money(who.amount, who.currency) in confirm and s.day(who.day) in confirm
    assert promises(sessions) == []  # nothing before the explicit yes
    done = chat(who.yes)
    [made] = promises(sessions)
    assert (made.amount, made.promised_for, made.made_on, made.made_by, made.channel, made.status) == (
        who.amount, who.day, TODAY, "bot", "sms", "open",
    )  # fmt: skip
    assert s.money(who.amount, who.currency) in done and s.day(who.day) in done
    assert s.day(who.day + timedelta(days=15)) in done  # what happens next: payments through the grace days count
    assert {catalog for catalog, _ in said} == {catalog_locale(who.locale)}
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuditEntry).where(
            AuditEntry.action == "promise.made", AuditEntry.actor == "bot")) == 1  # fmt: skip


def test_before_verification_the_bot_asks_to_verify_and_records_no_promise(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    [english] = PROMISING[:1]
    board_for(sessions, english)
    chat = chat_as(bot, english.phone)
    first = chat("I can pay 500 on Friday")
    assert "date of birth" in first and "500" not in first
    assert "match" in chat("01/01/1970")  # a wrong date of birth: still not verified
    assert promises(sessions) == []
    assert "date of birth" in chat("I promise to pay 300 tomorrow")
    assert promises(sessions) == []


def verified(bot: Engine, sessions: sessionmaker[Session]) -> Chat:
    [english] = PROMISING[:1]
    board_for(sessions, english)
    chat = chat_as(bot, english.phone)
    chat("balance")
    assert "verified" in chat(english.birth_date)
    return chat


def test_a_past_date_is_refused_with_the_dates_that_may_be_promised_and_then_another_is_taken(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    chat = verified(bot, sessions)
    refused = chat("I can pay 500 on 2026-03-01")
    assert refused == "That date has passed. Please tell me a date from today to April 19, 2026."
    assert promises(sessions) == []
    assert "$500.00 by March 27, 2026" in chat("friday")
    assert "recorded" in chat("yes")
    assert [p.promised_for for p in promises(sessions)] == [NEXT_FRIDAY]


def test_a_zero_amount_is_refused_and_the_date_already_given_is_kept(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    chat = verified(bot, sessions)
    assert chat("I can pay 0 on Friday") == "Please tell me an amount more than zero."
    assert chat("250") == ("Please confirm: you promise to pay $250.00 by March 27, 2026. Reply YES to confirm or "
                           "NO.")  # fmt: skip
    chat("yes")
    assert [(p.amount, p.promised_for) for p in promises(sessions)] == [(Decimal(250), NEXT_FRIDAY)]


def test_a_date_too_far_and_an_amount_over_the_payoff_are_refused_with_clear_messages(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    chat = verified(bot, sessions)
    assert chat("i promise to pay 400 on 2026-05-15") == (
        "A promise can be for a date up to April 19, 2026. Please tell me a date from today to April 19, 2026."
    )
    over = chat("i can pay 400000 on friday")
    assert over.startswith("That is more than the $") and "pay off your loan by March 27, 2026" in over
    assert promises(sessions) == []
    assert "Loan ending 2345" in chat("balance as of friday")  # another question, not the promise's amount


def test_the_bot_asks_for_what_a_promise_lacks_and_reads_the_answer(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    chat = verified(bot, sessions)
    assert chat("I promise to pay") == "How much can you pay, and by what date? For example: 500 on Friday."
    assert chat("1,250.50") == "By what date can you pay $1,250.50? (for example: Friday, tomorrow, the 15th)"
    assert "$1,250.50 by March 25, 2026" in chat("the 25th")
    assert "no promise" in chat("no")
    assert promises(sessions) == []


def test_a_loan_with_an_open_promise_is_told_about_it_instead_of_a_second_one(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    chat = verified(bot, sessions)
    with sessions.begin() as session:
        make_promise(session, LOAN, amount=Decimal(700), promised_for=NEXT_MONDAY, today=TODAY, channel="phone",
                     actor="sam")  # fmt: skip
    answer = chat("i can pay 200 tomorrow")
    assert answer == ("You already promised to pay $700.00 by March 23, 2026. To change it, reply AGENT to talk to "
                      "a specialist.")  # fmt: skip
    assert len(promises(sessions)) == 1
