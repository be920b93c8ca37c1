"""What a borrower writes, understood: dates of birth, dates in every language inside a question or alone,
two questions in one message, one payoff request per good-through date, and the language offer."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import Engine, InboundMessage
from bot.i18n import LANGUAGE_IN_TEXT, Speaker, catalog_locale
from servicing.cases import CaseKind, request_payoff_statement
from servicing.config import Settings
from servicing.queries import summarize
from servicing.rules.payoff import payoff_quote
from servicing.store.accounts import load_account
from servicing.store.models import Case, Conversation, FraudAlert, Loan
from tests.integration.helpers import board

TODAY = date(2026, 3, 20)  # a Friday
NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)  # 11:00 in New York
LOAN = "4400012345"
Chat = Callable[[str], str]


@pytest.fixture
def bot(sessions: sessionmaker[Session], settings: Settings) -> Engine:
    return Engine(sessions, settings, clock=lambda: NOW)


def borrower(sessions: sessionmaker[Session], phone: str, locale: str = "en_US", **fields: str) -> str:
    with sessions.begin() as session:
        return board(session, loan_number=LOAN, phone=phone, locale=locale, bank_account_last4="6789", **fields)


def chat_as(engine: Engine, phone: str) -> Chat:
    counter = iter(range(1, 1000))

    def send(text: str) -> str:
        replies = engine.handle(InboundMessage("sms", phone, text, provider_id=f"{phone}-{next(counter)}"))
        return "\n".join(reply.text for reply in replies)

    return send


def payoff_cases(sessions: sessionmaker[Session]) -> list[Case]:
    with sessions() as session:
        query = select(Case).where(Case.kind == CaseKind.PAYOFF_REQUEST.value).order_by(Case.id)
        return list(session.scalars(query))


def quote_through(sessions: sessionmaker[Session], good_through: date) -> tuple[str, str]:
    """Return the payoff total and per diem through a date, as an en_US borrower reads them."""
    with sessions() as session:
        account = load_account(session, LOAN)
        assert account is not None
        quote = payoff_quote(account, TODAY, good_through)
    us = Speaker("en_US")
    return us.money(quote.total, "USD"), us.money(quote.per_diem, "USD")


# -- item 9: dates of birth -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["08/14/72", "8/14/72", "081472", "August 14, 1972", "14 Aug 1972", "1972-08-14"])
def test_a_date_of_birth_with_a_two_digit_year_is_in_the_past_and_month_names_work_too(
    bot: Engine, sessions: sessionmaker[Session], answer: str
) -> None:
    borrower(sessions, "+15557771001", date_of_birth="1972-08-14")
    chat = chat_as(bot, "+15557771001")
    chat("whats my balance")
    assert "principal balance $150,000.00" in chat(answer)  # 72 is 1972, never 2072


@pytest.mark.parametrize("part", ["1980", "05/04", "May 4", "4 May", "May 1980"])
def test_a_year_alone_or_a_day_and_month_alone_is_asked_again_and_is_not_a_failed_attempt(
    bot: Engine, sessions: sessionmaker[Session], part: str
) -> None:
    borrower(sessions, "+15557771002")
    chat = chat_as(bot, "+15557771002")
    chat("whats my balance")
    for _ in range(4):  # more than the three failures that lock
        reply = chat(part)
        assert "full date of birth" in reply and "doesn't match" not in reply
    with sessions() as session:
        conversation = session.scalar(select(Conversation))
        assert conversation is not None and conversation.locked_until is None
        assert session.scalar(select(func.count()).select_from(FraudAlert)) == 0
    assert "principal balance" in chat("05/04/1980")


def test_a_birth_date_in_the_future_is_a_wrong_answer_not_a_date_a_century_earlier(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    borrower(sessions, "+15557771003", date_of_birth="1926-05-04")
    chat = chat_as(bot, "+15557771003")
    chat("whats my balance")
    assert "doesn't match" in chat("05/04/2026")  # a full date that is not theirs still counts
    assert "principal balance" in chat("05/04/26")  # 26 is 1926: 2026-05-04 is still ahead


# -- item 16: one payoff request per loan and good-through date -------------------------------------------------------


def test_asking_for_the_payoff_four_times_opens_one_payoff_request_and_refers_to_it(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    borrower(sessions, "+15557771011")
    chat = chat_as(bot, "+15557771011")
    chat("payoff amount")
    first = chat("05/04/1980")
    [case] = payoff_cases(sessions)
    assert case.reference in first and "will be sent by" in first
    for text in ["payoff amount", "how much to pay off my loan?", "payoff"]:
        again = chat(text)
        assert f"already asked for a payoff statement good through March 30, 2026: reference {case.reference}" in again
    assert [c.id for c in payoff_cases(sessions)] == [case.id]
    assert case.data["good_through"] == "2026-03-30"


def test_a_payoff_for_another_good_through_date_is_a_request_of_its_own_once(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    borrower(sessions, "+15557771012")
    chat = chat_as(bot, "+15557771012")
    chat("payoff amount")
    chat("05/04/1980")
    chat("April 10")
    chat("payoff for April 10")
    chat("payoff")
    cases = payoff_cases(sessions)
    assert [case.data["good_through"] for case in cases] == ["2026-03-30", "2026-04-10"]


def test_a_payoff_request_is_opened_once_for_a_loan_and_date_whatever_channel_asks(
    sessions: sessionmaker[Session],
) -> None:
    borrower(sessions, "+15557771013")
    asked = []
    for source in ("sms", "telegram"):
        with sessions.begin() as session:
            loan = session.scalar(select(Loan).where(Loan.loan_number == LOAN))
            assert loan is not None
            request = request_payoff_statement(session, loan_id=loan.id, borrower_id=loan.borrower_id,
                                               good_through=date(2026, 4, 1), opened_on=TODAY, country="US",
                                               source=source, actor="bot")  # fmt: skip
            asked.append((request.case.reference, request.opened))
    assert asked == [(asked[0][0], True), (asked[0][0], False)]


def test_two_channels_asking_for_the_same_payoff_at_the_same_moment_open_one_request(
    sessions: sessionmaker[Session],
) -> None:
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("SQLite serialises writers; row locks are a PostgreSQL matter")
    borrower(sessions, "+15557771014")
    with sessions() as session:
        loan = session.scalar(select(Loan).where(Loan.loan_number == LOAN))
        assert loan is not None
        loan_id, borrower_id = loan.id, loan.borrower_id
    barrier = threading.Barrier(2)
    opened: list[bool] = []

    def ask(source: str) -> None:
        with sessions.begin() as session:
            barrier.wait()
            request = request_payoff_statement(session, loan_id=loan_id, borrower_id=borrower_id,
                                               good_through=date(2026, 4, 1), opened_on=TODAY, country="US",
                                               source=source, actor="bot")  # fmt: skip
            opened.append(request.opened)

    threads = [threading.Thread(target=ask, args=(source,)) for source in ("sms", "telegram")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(opened) == [False, True]
    assert len(payoff_cases(sessions)) == 1


# -- item 17: dates in every language, in the question or alone -------------------------------------------------------

APRIL_10 = date(2026, 4, 10)
PAYOFF_BY_APRIL_10 = {
    "en_US": "how much to pay off my loan by April 10?",
    "es_US": "cuánto necesito para liquidar mi préstamo al 10 de abril?",
    "fr_CA": "combien pour solder mon prêt au 10 avril?",
    "pt_BR": "quanto preciso pra quitar meu financiamento até 10 de abril?",
    "de_DE": "was kostet die Ablösung meines Kredits zum 10. April?",
    "it_IT": "quanto devo per estinguere il prestito entro il 10 aprile?",
    "hi_IN": "10 अप्रैल तक लोन पूरा चुकाने के लिए कितना देना होगा?",
    "id_ID": "berapa untuk melunasi pinjaman saya sampai 10 April?",
    "zh_Hans_US": "4月10日前还清贷款要多少钱？",
    "vi_VN": "tất toán khoản vay đến ngày 10 tháng 4 cần bao nhiêu?",
    "ko_KR": "4월 10일까지 대출 다 갚으려면 얼마예요?",
    "fil_PH": "magkano ang payoff ng loan ko sa Abril 10?",
    "ar_EG": "كم مبلغ سداد القرض بالكامل يوم ١٠ أبريل؟",
}
BIRTH_DATES = {"en_US": "05/04/1980", "fr_CA": "1980-05-04", "de_DE": "04.05.1980", "zh_Hans_US": "1980年5月4日",
               "ko_KR": "1980.05.04", "fil_PH": "05/04/1980"}  # others: 04/05/1980  # fmt: skip


@pytest.mark.parametrize("locale", list(PAYOFF_BY_APRIL_10))
def test_a_date_with_a_month_name_in_the_payoff_question_is_the_good_through_date_in_every_language(
    bot: Engine, sessions: sessionmaker[Session], locale: str
) -> None:
    phone = f"+1555777{list(PAYOFF_BY_APRIL_10).index(locale):04d}"
    borrower(sessions, phone, locale=locale)
    chat = chat_as(bot, phone)
    chat(PAYOFF_BY_APRIL_10[locale])
    answer = chat(BIRTH_DATES.get(locale, "04/05/1980"))
    with sessions() as session:
        account = load_account(session, LOAN)
        assert account is not None
        quote = payoff_quote(account, TODAY, APRIL_10)
    s = Speaker(locale)
    assert s.money(quote.total, "USD") in answer and s.day(APRIL_10) in answer
    [case] = payoff_cases(sessions)
    assert case.data["good_through"] == "2026-04-10"


@pytest.mark.parametrize(
    ("locale", "reply"),
    [("en_US", "April 10"), ("es_US", "10 de abril"), ("fr_CA", "le 10 avril"), ("pt_BR", "10 de abril"),
     ("de_DE", "10. April"), ("it_IT", "10 aprile"), ("hi_IN", "10 अप्रैल"), ("id_ID", "10 April"),
     ("zh_Hans_US", "4月10号"), ("vi_VN", "ngày 10 tháng 4"), ("ko_KR", "4월 10일"), ("fil_PH", "Abril 10"),
     ("ar_EG", "١٠ أبريل")],
)  # fmt: skip
def test_a_date_with_a_month_name_alone_answers_the_payoff_date_question_in_every_language(
    bot: Engine, sessions: sessionmaker[Session], locale: str, reply: str
) -> None:
    borrower(sessions, "+15557771021", locale=locale)
    chat = chat_as(bot, "+15557771021")
    chat("payoff")
    chat(BIRTH_DATES.get(locale, "04/05/1980"))
    again = chat(reply)
    assert Speaker(locale).day(APRIL_10) in again


def test_payoff_for_a_date_beyond_reach_says_how_far_it_can_quote_and_quotes_the_usual_date(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    borrower(sessions, "+15557771022")
    chat = chat_as(bot, "+15557771022")
    chat("payoff for December 20")
    answer = chat("05/04/1980")
    total, _ = quote_through(sessions, TODAY + timedelta(days=10))
    assert "any date from today to May 19, 2026" in answer and f"send {total} by March 30, 2026" in answer
    assert "any date from today to May 19, 2026" in chat("December 20")  # and again when it is the answer


@pytest.mark.parametrize(
    ("text", "day"),
    [("I want to pay tomorrow", date(2026, 3, 21)), ("I want to pay next Friday", date(2026, 3, 27)),
     ("can I pay on the 25th", date(2026, 3, 25)), ("I want to pay on April 6", date(2026, 4, 6))],
)  # fmt: skip
def test_a_payment_date_in_the_question_goes_straight_to_the_confirmation(
    bot: Engine, sessions: sessionmaker[Session], text: str, day: date
) -> None:
    borrower(sessions, "+15557771023")
    chat = chat_as(bot, "+15557771023")
    chat(text)
    asked = chat("05/04/1980")
    assert "Please confirm" in asked and Speaker("en_US").day(day) in asked and "On what date" not in asked


def test_a_payment_on_a_saturday_says_it_posts_on_monday_credited_as_of_saturday(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    borrower(sessions, "+15557771024")
    chat = chat_as(bot, "+15557771024")
    chat("I want to pay")
    chat("05/04/1980")
    confirm = chat("tomorrow")  # Saturday, March 21, 2026
    posts = "March 21, 2026 is not a business day: the payment will post on March 23, 2026, credited as of March 21"
    assert posts in confirm
    assert posts in chat("yes")


def test_a_payment_on_a_business_day_says_nothing_of_posting_later(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    borrower(sessions, "+15557771025")
    chat = chat_as(bot, "+15557771025")
    chat("I want to pay on Monday")
    confirm = chat("05/04/1980")
    assert "March 23, 2026" in confirm and "business day" not in confirm


# -- item 19: two questions in one message ----------------------------------------------------------------------------


def test_two_questions_in_one_message_are_both_answered_after_verification(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    borrower(sessions, "+15557771031")
    chat = chat_as(bot, "+15557771031")
    assert "date of birth" in chat("balance and also when is the next payment due")
    answer = chat("05/04/1980")
    with sessions() as session:
        account = load_account(session, LOAN)
        assert account is not None
        due = summarize(account, TODAY).amount_due
    assert "principal balance $150,000.00" in answer
    assert f"Your next payment of {Speaker('en_US').money(due, 'USD')} is due on" in answer


def test_two_questions_in_spanish_get_two_answers_and_a_payoff_asked_with_them_comes_last(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    borrower(sessions, "+15557771032", locale="es_US")
    chat = chat_as(bot, "+15557771032")
    chat("cuánto es la liquidación y cuál es mi saldo")
    answer = chat("04/05/1980")
    assert answer.index("saldo de capital") < answer.index("Para liquidar su préstamo")
    assert answer.rstrip().endswith("Responda con otra fecha para obtener el monto de liquidación a esa fecha.")


# -- item 20: the language offer --------------------------------------------------------------------------------------


def test_the_language_offer_is_made_once_per_conversation(bot: Engine, sessions: sessionmaker[Session]) -> None:
    borrower(sessions, "+15557771041")
    chat = chat_as(bot, "+15557771041")
    chat("cuanto debo")
    assert "¿Desea que le escriba en español?" in chat("05/04/1980")
    chat("no")
    again = chat("cuanto debo")
    assert "principal balance" in again and "¿" not in again
    assert "¿" not in chat("cuál es mi saldo")


def test_after_switching_language_amounts_stay_in_the_borrowers_region_and_the_name_is_written_as_in_it(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    borrower(sessions, "+15557771042")
    chat = chat_as(bot, "+15557771042")
    chat("cuanto debo")
    chat("05/04/1980")
    assert "De acuerdo, le escribiré en español." in chat("sí")
    answer = chat("cuánto debo")
    assert "$150,000.00" in answer and "150.000,00" not in answer  # es_US, not Spain's es
    with sessions() as session:
        assert session.scalar(select(Conversation.locale)) == "es_US"


def test_asking_for_a_language_by_name_keeps_the_borrowers_region(bot: Engine, sessions: sessionmaker[Session]) -> None:
    borrower(sessions, "+15557771043")
    chat = chat_as(bot, "+15557771043")
    assert "français" in chat("in french please")
    with sessions() as session:
        assert session.scalar(select(Conversation.locale)) == "fr"  # CLDR has no fr_US: French as in France


@pytest.mark.parametrize(
    ("question", "yes", "catalog"),
    [("我还欠多少钱", "好的", "zh_CN"), ("toi con no bao nhieu", "có", "vi"), ("잔액 알려주세요", "네", "ko"),
     ("magkano pa ang utang ko", "oo", "fil"), ("كم رصيدي؟", "نعم", "ar")],
)  # fmt: skip
def test_a_question_in_one_of_the_five_new_languages_is_answered_then_offered_and_switched_to(
    bot: Engine, sessions: sessionmaker[Session], question: str, yes: str, catalog: str
) -> None:
    borrower(sessions, "+15557771051")
    chat = chat_as(bot, "+15557771051")
    chat(question)
    answer = chat("05/04/1980")
    speaker = Speaker(catalog)
    language = LANGUAGE_IN_TEXT[catalog]
    assert "$150,000.00" in answer  # answered first, in the language on file
    assert speaker.say("Would you like me to write in {language}? Reply YES or NO.", language=language) in answer
    assert speaker.say("OK, I'll write in {language}.", language=language) in chat(yes)
    with sessions() as session:
        assert catalog_locale(session.scalar(select(Conversation.locale)) or "") == catalog
