"""The four explanations in every language (issue 18), asked as a native speaker asks, after verification.

Each borrower of test_journeys_every_locale texts the question, gets only the date-of-birth question (nothing
about the loan), verifies, and reads the explanation with the core's figures formatted by Babel for their locale.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import Engine
from bot.i18n import Speaker
from servicing.config import Settings
from servicing.rules.formatting import rate_text
from servicing.store.accounts import load_account
from servicing.store.models import Case, Conversation, Installment, Payment
from tests.integration import explanation_helpers as scenario
from tests.integration.helpers import board
from tests.integration.test_journeys_every_locale import (
    LOAN,
    NATIVES,
    NOW,
    PAYING,
    Chat,
    Native,
    assert_spoken_in_their_language,
    chat_as,
    spoken,
)

TODAY = date(2026, 3, 20)  # the bot's today (tests/integration/conftest.py)
QUESTIONS = {  # (where did my payment go, why a fee, why did my payment change, why am I late)
    "en_US": ("where did my money go", "why is there a fee?", "why did my payment go up",
              "why does it say im past due"),
    "es_US": ("a dónde se fue mi pago", "por qué hay un cargo?", "por qué subió mi pago",
              "por qué dice que estoy atrasado"),
    "fr_CA": ("où est passé mon paiement", "pourquoi ces frais?", "pourquoi ma mensualité a augmenté",
              "pourquoi suis-je en retard"),
    "pt_BR": ("pra onde foi meu pagamento", "por que tem essa taxa?", "por que minha parcela aumentou",
              "por que estou atrasado"),
    "de_DE": ("wo ist meine Zahlung hin", "warum ist da eine Gebühr?", "warum ist meine Rate gestiegen",
              "warum bin ich im Verzug"),
    "it_IT": ("dove è finito il mio pagamento", "perché c'è una commissione?", "perché la rata è aumentata",
              "perché sono in ritardo"),
    "hi_IN": ("मेरा पेमेंट कहां गया", "यह फीस क्या है?", "मेरी ईएमआई क्यों बढ़ गई", "मैं लेट क्यों हूं"),
    "id_ID": ("pembayaran saya ke mana", "kenapa ada denda?", "kenapa cicilan naik", "kenapa saya telat"),
    "zh_Hans_US": ("我的钱去哪了", "为什么有这笔费用？", "为什么我的月供涨了", "为什么说我逾期了"),
    "vi_VN": ("tiền tôi trả đi đâu rồi", "sao lại có khoản phí này?", "tại sao tiền góp tăng",
              "sao nói tôi bị trễ hạn"),
    "ko_KR": ("제 돈 어디로 갔어요", "이 수수료는 뭐예요?", "왜 월 납부액이 올랐어요", "왜 연체라고 나와요"),
    "fil_PH": ("saan napunta ang bayad ko", "bakit may fee?", "bakit tumaas ang hulog ko", "bakit sabi late ako"),
    "ar_EG": ("فلوسي راحت فين", "ليه فيه رسوم؟", "ليه القسط زاد", "ليه مكتوب اني متأخر"),
}  # fmt: skip
FIXED_LATE_CHARGE = {"CA", "DE", "IT"}  # countries whose mortgages are charged a fixed amount, set per portfolio
__all__ = ["spoken"]  # the fixture recording what the bot says, shared with the journeys


@pytest.fixture(params=NATIVES, ids=[native.locale for native in NATIVES])
def native(request: pytest.FixtureRequest) -> Native:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def bot(sessions: sessionmaker[Session], settings: Settings) -> Engine:
    return Engine(sessions, settings, clock=lambda: NOW)


@pytest.fixture
def loan(sessions: sessionmaker[Session], native: Native) -> str:
    def amount(base: int) -> str:
        return f"{base * native.scale}.00"

    fixed: dict[str, Any] = {"late_fee_amount": amount(25)} if native.country in FIXED_LATE_CHARGE else {}
    with sessions.begin() as session:
        return board(session, loan_number=LOAN, phone=native.phone, locale=native.locale, country=native.country,
                     currency=native.currency, original_principal=amount(150_000), escrow_monthly=amount(200),
                     escrow_balance=amount(300), bank_account_last4="6789", **fixed)  # fmt: skip


def ask_verified(bot: Engine, native: Native, question: str) -> tuple[str, Chat]:
    """Ask a question; check nothing about the loan comes before verification; verify; return the answer."""
    chat = chat_as(bot, native)
    first = chat(question)
    assert native.asks_birth_date in first
    assert not re.search(r"\d", first), "nothing about the loan (no figure, no date) before verification"
    answer = chat(native.birth_date)
    assert native.verified in answer
    return answer, chat


def test_where_did_my_payment_go_a_partial_payment_held_in_suspense(
    bot: Engine, loan: str, native: Native, sessions: sessionmaker[Session], spoken: list[tuple[str, str]]
) -> None:
    half = scenario.partial_payment_held(sessions, loan)
    installment = scenario.installment(sessions, loan)
    answer, _ = ask_verified(bot, native, QUESTIONS[native.locale][0])
    s = Speaker(native.locale)
    for figure in (half, installment, installment - half):
        assert s.money(figure, native.currency) in answer, (figure, answer)
    assert s.day(date(2026, 3, 19)) in answer
    assert_spoken_in_their_language(spoken, native)


def test_where_did_my_payment_go_two_installments_and_a_fee(
    bot: Engine, loan: str, native: Native, sessions: sessionmaker[Session], spoken: list[tuple[str, str]]
) -> None:
    fee, amount = scenario.two_installments_and_a_fee(sessions, loan, native.country)
    answer, _ = ask_verified(bot, native, QUESTIONS[native.locale][0])
    s, c = Speaker(native.locale), native.currency
    with sessions() as session:
        payment = session.scalars(select(Payment).where(Payment.reference == "catch-up")).one()
        paid = session.scalars(select(Installment).where(Installment.payment_id == payment.id)).all()
    assert [i.due_date for i in paid] == [scenario.FEB_1, scenario.MAR_1]
    assert s.money(amount, c) in answer
    for i in paid:
        for figure in (i.interest, i.principal, i.escrow):
            assert s.money(figure, c) in answer
        assert s.day(i.due_date) in answer
    assert s.money(fee.amount, c) in answer
    assert_spoken_in_their_language(spoken, native)


def test_where_did_my_payment_go_a_returned_payment(
    bot: Engine, loan: str, native: Native, sessions: sessionmaker[Session], spoken: list[tuple[str, str]]
) -> None:
    amount = scenario.returned_payment(sessions, loan)
    answer, _ = ask_verified(bot, native, QUESTIONS[native.locale][0])
    s = Speaker(native.locale)
    assert s.money(amount, native.currency) in answer
    assert s.day(date(2026, 1, 30)) in answer and s.day(date(2026, 2, 3)) in answer
    assert "insufficient funds" in answer  # the reason as the specialist recorded it
    assert_spoken_in_their_language(spoken, native)


def test_why_was_i_charged_a_late_fee_its_grace_date_and_rule_then_a_notice_of_error_naming_it(
    bot: Engine, loan: str, native: Native, sessions: sessionmaker[Session], spoken: list[tuple[str, str]]
) -> None:
    fee = scenario.late_fee_charged(sessions, loan, native.country)
    answer, chat = ask_verified(bot, native, QUESTIONS[native.locale][1])
    s = Speaker(native.locale)
    with sessions() as session:
        account = load_account(session, loan)
        assert account is not None
    assert fee.installment_due_date == scenario.FEB_1
    grace_end = scenario.FEB_1 + timedelta(days=account.late_fee_grace_days)
    assert s.money(fee.amount, native.currency) in answer
    assert s.day(fee.assessed_on) in answer and s.day(scenario.FEB_1) in answer and s.day(grace_end) in answer
    if account.late_fee_amount == 0:
        assert rate_text(account.late_fee_rate, s.format_locale) in answer
    chat(PAYING[native.locale][2])  # yes: record a notice of error about this fee
    chat(native.dispute[1])  # what is wrong, in their words
    with sessions() as session:
        [case] = session.scalars(select(Case).where(Case.kind == "notice_of_error")).all()
        conversation = session.scalars(select(Conversation)).one()
    assert case.data["fee_id"] == fee.id and case.data["intake"]["what"] == native.dispute[1]
    assert f"late fee #{fee.seq}" in case.summary
    assert (conversation.state, conversation.escalation_reason) == ("queued", "dispute")
    assert_spoken_in_their_language(spoken, native)


def test_why_did_my_payment_change_an_escrow_shortage_spread_over_twelve_months(
    bot: Engine, loan: str, native: Native, sessions: sessionmaker[Session], spoken: list[tuple[str, str]]
) -> None:
    statement = scenario.escrow_shortage(sessions, loan, native.scale)
    assert statement.spread_months == 12 and statement.shortage > 0
    answer, _ = ask_verified(bot, native, QUESTIONS[native.locale][2])
    s, c = Speaker(native.locale), native.currency
    for figure in (statement.current_deposit, statement.new_deposit, statement.base_deposit,
                   statement.annual_disbursements, statement.recovery_deposit, statement.shortage):  # fmt: skip
        assert s.money(figure, c) in answer, (figure, answer)
    assert s.day(scenario.ANALYZED_ON) in answer and s.day(statement.computation_year_starts) in answer
    assert "12" in answer
    assert_spoken_in_their_language(spoken, native)


def test_why_am_i_late_the_oldest_installment_what_suspense_holds_and_what_is_left(
    bot: Engine, loan: str, native: Native, sessions: sessionmaker[Session], spoken: list[tuple[str, str]]
) -> None:
    part = Decimal(500 * native.scale)
    scenario.pay(sessions, loan, part, date(2026, 3, 10), "part")
    answer, _ = ask_verified(bot, native, QUESTIONS[native.locale][3])
    s, c = Speaker(native.locale), native.currency
    with sessions() as session:
        account = load_account(session, loan)
        assert account is not None
    assert account.balances.suspense == part
    assert s.day(scenario.FEB_1) in answer and str(account.days_past_due(TODAY)) in answer
    assert s.money(part, c) in answer and s.money(account.amount_due(TODAY), c) in answer
    assert s.money(account.amount_due(TODAY) + part, c) in answer
    assert_spoken_in_their_language(spoken, native)
