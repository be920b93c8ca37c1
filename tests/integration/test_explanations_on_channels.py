"""The explanations over each channel (issue 18): SMS through Twilio's signed webhook (paged with MORE), Telegram
through the real aiogram polling loop and the fake Bot API, and the simulator; a borrower with two loans picks one."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.channels.segments import segment_count
from bot.channels.sms import MORE_HINT
from bot.engine import Engine
from bot.i18n import Speaker
from servicing.config import Settings
from servicing.explanations import Question, explain_loan
from servicing.store.accounts import load_account
from servicing.store.models import Installment, Payment
from tests.fake_bot_api import FakeBotAPI, contact_update, text_update
from tests.integration import explanation_helpers as scenario
from tests.integration.helpers import board
from tests.integration.test_console_auth import dispose, make_console
from tests.integration.test_journeys_every_locale import NATIVES, chat_as
from tests.integration.test_simulator import GARCIA, Chat, board_demo_loans, demo_env  # noqa: F401
from tests.integration.test_sms_webhook import PHONE, Texter, make_app, replies_in, signed_post, sms  # noqa: F401
from tests.integration.test_telegram_bot import CHAT, NOW, CountingEngine, run_polling_scenario, say
from tests.integration.test_telegram_bot import LOAN as TELEGRAM_LOAN
from tests.integration.test_telegram_bot import PHONE as TELEGRAM_PHONE
from tests.integration.test_telegram_bot import settings as telegram_settings  # noqa: F401

TODAY = date(2026, 3, 20)


def test_over_sms_a_hindi_borrower_reads_a_long_explanation_in_pages_that_fit_and_asks_for_more(
    make_app: object,  # noqa: F811
) -> None:
    app: Flask = make_app()  # type: ignore[operator]
    sessions: sessionmaker[Session] = app.extensions["loanline.sessions"]
    with sessions.begin() as session:
        loan = board(session, phone=PHONE, locale="hi_IN", country="IN", currency="INR",
                     original_principal="7500000.00", escrow_monthly="10000.00", escrow_balance="15000.00")  # fmt: skip
    fee, amount = scenario.two_installments_and_a_fee(sessions, loan, "IN")
    text = Texter(app.test_client())
    asked = text("मेरा पेमेंट कहां गया")
    assert "जन्मतिथि" in asked and not any(ch.isdigit() for ch in asked)
    client = app.test_client()
    verified, first = replies_in(signed_post(client, sms("04/05/1980")))
    hindi = Speaker("hi_IN")
    assert verified == hindi.say("Thanks, you're verified.")
    more = "\n" + hindi.say(MORE_HINT)
    assert first.endswith(more), "a Devanagari explanation is longer than 3 segments: it is paged"
    pages = [first]
    while pages[-1].endswith(more):
        [page] = replies_in(signed_post(client, sms("और")))  # MORE in Hindi
        pages.append(page)
    assert len(pages) >= 2 and all(segment_count(page) <= 3 for page in pages)
    whole = " ".join(page.removesuffix(more) for page in pages)
    with sessions() as session:
        payment = session.scalars(select(Payment).where(Payment.reference == "catch-up")).one()
        paid = session.scalars(select(Installment).where(Installment.payment_id == payment.id)).all()
    for figure in (amount, fee.amount, *(i.interest for i in paid), *(i.principal for i in paid)):
        assert hindi.money(figure, "INR") in whole, figure


def test_over_sms_an_arabic_borrower_reads_why_the_payment_went_up_in_pages_and_asks_for_more(
    make_app: object,  # noqa: F811
) -> None:
    app: Flask = make_app()  # type: ignore[operator]
    sessions: sessionmaker[Session] = app.extensions["loanline.sessions"]
    with sessions.begin() as session:
        loan = board(session, phone=PHONE, locale="ar_EG", country="EG", currency="EGP",
                     original_principal="7500000.00", escrow_monthly="10000.00", escrow_balance="15000.00")  # fmt: skip
    statement = scenario.escrow_shortage(sessions, loan, 50)
    text = Texter(app.test_client())
    asked = text("ليه القسط زاد")
    arabic = Speaker("ar_EG")
    assert asked.startswith(arabic.say("To protect your account, please reply with your date of birth."))
    assert not any(ch.isdigit() for ch in asked)
    client = app.test_client()
    verified, first = replies_in(signed_post(client, sms("4/5/1980")))
    assert verified == arabic.say("Thanks, you're verified.")
    more = "\n" + arabic.say(MORE_HINT)
    assert first.endswith(more), "an Arabic explanation travels as UCS-2, longer than 3 segments: it is paged"
    pages = [first]
    while pages[-1].endswith(more):
        [page] = replies_in(signed_post(client, sms("المزيد")))  # MORE in Arabic
        pages.append(page)
    assert len(pages) >= 2 and all(segment_count(page) <= 3 for page in pages)
    whole = " ".join(page.removesuffix(more) for page in pages)
    for figure in (statement.current_deposit, statement.new_deposit, statement.recovery_deposit, statement.shortage):
        assert arabic.money(figure, "EGP") in whole, (figure, pages)


def test_over_telegram_a_linked_chat_asks_why_it_is_late_and_hears_the_figures(
    sessions: sessionmaker[Session],
    telegram_settings: Settings,  # noqa: F811
) -> None:
    with sessions.begin() as session:
        board(session, loan_number=TELEGRAM_LOAN, phone=TELEGRAM_PHONE)
    scenario.pay(sessions, TELEGRAM_LOAN, Decimal("500.00"), date(2026, 3, 10), "part")
    loanline = CountingEngine(sessions, telegram_settings, clock=lambda: NOW)

    async def talk(api: FakeBotAPI) -> None:
        assert "share your phone number" in await say(api, loanline, text_update(CHAT, "why am i past due?"))
        assert "date of birth" in await say(api, loanline, contact_update(CHAT, TELEGRAM_PHONE.lstrip("+"), CHAT))
        before = len(api.sent(CHAT))
        await say(api, loanline, text_update(CHAT, "05/04/1980"))
        verified, explained = (await api.wait_for_sent(before + 2, CHAT))[before:]  # a busy machine: the second later
        answer = f"{verified.fields['text']}\n{explained.fields['text']}"
        assert "verified" in answer
        assert "Your oldest unpaid installment was due February 1, 2026, 47 days ago." in answer
        assert "To bring your loan current you owe $2,103.36 in installments." in answer
        assert "$500.00 you already paid is held in suspense and counts toward it: $1,603.36 is left to pay." in answer

    run_polling_scenario(loanline, talk)


def test_in_the_simulator_a_demo_borrower_hears_the_same_explanation_the_core_builds(
    database_url: str,
    demo_env: dict[str, str],  # noqa: F811
) -> None:
    app = make_console(database_url, LOANLINE_SIMULATOR=True)
    try:
        board_demo_loans(app.extensions["loanline.sessions"], GARCIA)
        chat = Chat(app, GARCIA)
        asked = chat.send("por qué dice que estoy atrasado")
        assert len(asked) == 1 and not any(ch.isdigit() for ch in asked[0])
        answered = chat.send("1978-02-14")
        with app.extensions["loanline.sessions"]() as session:
            expected = explain_loan(session, GARCIA, Question.LATE, today=TODAY).text(Speaker("es_US"))
        assert answered[-1] == expected
    finally:
        dispose(app)


def test_a_borrower_with_two_loans_picks_one_before_the_explanation(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    english = NATIVES[0]
    with sessions.begin() as session:
        first = board(session, loan_number="4400011111", phone=english.phone)
        second = board(session, loan_number="4400022222", phone=english.phone)
    scenario.pay(sessions, second, Decimal("500.00"), date(2026, 3, 19), "second")
    chat = chat_as(Engine(sessions, settings, clock=lambda: NOW), english)
    chat("where did my money go")
    choose = chat(english.birth_date)
    assert "several loans" in choose and "1111" in choose and "2222" in choose and "$" not in choose
    answer = chat("2222")
    assert "Your payment of $500.00 received March 19, 2026" in answer
    with sessions() as session:
        assert load_account(session, first) is not None


def test_a_payment_named_by_its_date_or_amount_in_the_question_is_the_one_explained_after_verification(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    english = NATIVES[0]
    with sessions.begin() as session:
        loan = board(session, loan_number="4400033333", phone=english.phone)
    scenario.pay(sessions, loan, Decimal("1051.68"), date(2026, 1, 30), "jan")
    scenario.pay(sessions, loan, Decimal("1100.00"), date(2026, 2, 27), "feb")
    engine = Engine(sessions, settings, clock=lambda: NOW)
    chat = chat_as(engine, english)
    chat("how was my payment of january 30 applied")  # January 30 lies behind: last January's, not next year's
    by_date = chat(english.birth_date)
    assert "Your payment of $1,051.68 received January 30, 2026" in by_date and "1,100.00" not in by_date
    by_amount = chat("where did my 1100 go")
    assert "Your payment of $1,100.00 received February 27, 2026" in by_amount
    assert "$48.32 extra to principal." in by_amount
