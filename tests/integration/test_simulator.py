"""The borrower simulator: off unless enabled, a channel on the real engine, the outbox delivering to it, CSP-clean."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot import nlu
from bot.channels import configured_senders
from bot.channels.simulator import CHANNEL, QUICK_INTENTS, address_of, demo_borrowers, quick_replies
from bot.flows import FACTOR_QUESTIONS
from bot.i18n import Speaker
from servicing.boarding import board_loans, parse_loan_row
from servicing.config import Settings
from servicing.conversations import EscalationReason, claim_conversation, escalate, record_outbound
from servicing.demo.portfolio import demo_plan
from servicing.outbox import deliver_outbox
from servicing.queries import summarize
from servicing.rules.factors import Factor
from servicing.store.accounts import load_account
from servicing.store.models import Conversation, Loan, Message
from tests.conftest import SECRET
from tests.integration.helpers import board
from tests.integration.test_console_auth import dispose, make_console

TODAY = "2026-03-20"
CARTER, GARCIA = "LN-1001", "LN-2001"  # Emily Carter writes in en_US, María García in es_US
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')
PROVIDER_FIELD = re.compile(r'name="provider_id" value="([^"]+)"')


@pytest.fixture
def demo_env(cli_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Pin today and make sure the environment does not turn the simulator on by itself."""
    monkeypatch.setenv("LOANLINE_TODAY", TODAY)
    monkeypatch.delenv("LOANLINE_SIMULATOR", raising=False)
    return cli_env


@pytest.fixture
def app(database_url: str, demo_env: dict[str, str]) -> Iterator[Flask]:
    """Return the app with the simulator on and two demo borrowers boarded (their loans as the demo boards them)."""
    app = make_console(database_url, LOANLINE_SIMULATOR=True)
    board_demo_loans(app.extensions["loanline.sessions"], CARTER, GARCIA)
    yield app
    dispose(app)


def board_demo_loans(sessions: sessionmaker[Session], *numbers: str) -> None:
    """Board some of the demo's loans with the demo's borrowers, phones and knowledge factors."""
    plan = demo_plan(date.fromisoformat(TODAY))
    rows = [(n, parse_loan_row(row)) for n, row in enumerate(plan.rows) if row["loan_number"] in numbers]
    with sessions.begin() as session:
        report = board_loans(session, rows, secret=SECRET, boarded_on=plan.boarded_on, actor="test")
    assert sorted(report.boarded) == sorted(numbers), report


def borrower_id(app: Flask, loan_number: str) -> int:
    """Return the id of the demo borrower of a loan, as the simulator lists them."""
    with app.extensions["loanline.sessions"]() as session:
        return next(b.id for b in demo_borrowers(session) if loan_number in b.loan_numbers)


class Chat:
    """A browser tab on the simulator's chat page of one demo borrower."""

    def __init__(self, app: Flask, loan_number: str, flavour: str = "phone") -> None:
        self.client: FlaskClient = app.test_client()
        self.base = f"/simulator/chat/{borrower_id(app, loan_number)}/{flavour}"
        page = self.client.get(self.base)
        assert page.status_code == 200
        self.page = page.get_data(as_text=True)
        self.token = CSRF_FIELD.search(self.page).group(1)  # type: ignore[union-attr]
        self.sent = 0

    def send(self, text: str, provider_id: str | None = None) -> list[str]:
        """Type a message and send it as the page's script does; return the bot's replies."""
        self.sent += 1
        data = {"csrf_token": self.token, "text": text, "provider_id": provider_id or f"test-message-{self.sent:04d}"}
        response = self.client.post(f"{self.base}/send", data=data, headers={"Accept": "application/json"})
        assert response.status_code == 200, response.get_data(as_text=True)
        replies: list[str] = response.get_json()["replies"]
        return replies

    def messages(self, after: int = 0) -> dict[str, Any]:
        """Poll the conversation as the page's script does."""
        response = self.client.get(f"{self.base}/messages?after={after}", headers={"Accept": "application/json"})
        assert response.status_code == 200
        payload: dict[str, Any] = response.get_json()
        return payload


class InlineCode(HTMLParser):
    """Collects what `script-src 'self'; style-src 'self'` would block: inline scripts, styles and handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name for name, _ in attrs}
        if tag == "style" or "style" in names or any(name.startswith("on") for name in names):
            self.found.append(self.get_starttag_text() or tag)
        if tag == "script":
            self._in_script = True
            if "src" not in names:
                self.found.append(self.get_starttag_text() or tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.found.append(data)


def inline_code(page: str) -> list[str]:
    """Return the inline scripts, styles and event handlers of a page (text that only looks like them is fine)."""
    parser = InlineCode()
    parser.feed(page)
    return parser.found


# -- off unless enabled -----------------------------------------------------------------------------------


def test_the_simulator_is_off_by_default(database_url: str, demo_env: dict[str, str]) -> None:
    app = make_console(database_url)
    try:
        assert app.test_client().get("/simulator/").status_code == 404
        assert "simulator" not in app.blueprints
    finally:
        dispose(app)


def test_the_environment_turns_it_on_and_the_config_key_overrides_the_environment(
    database_url: str, demo_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOANLINE_SIMULATOR", "true")
    assert Settings.from_env().simulator
    on, off = make_console(database_url), make_console(database_url, LOANLINE_SIMULATOR=False)
    try:
        assert on.test_client().get("/simulator/").status_code == 200
        assert off.test_client().get("/simulator/").status_code == 404
    finally:
        dispose(on)
        dispose(off)


def test_the_index_lists_the_demo_borrowers_with_their_loans_language_and_phone(app: Flask) -> None:
    page = app.test_client().get("/simulator/").get_data(as_text=True)
    assert "Emily Carter" in page and "+12025550101" in page and "LN-1001" in page and "en_US" in page
    assert "María García" in page and "es_US" in page


def test_only_demo_borrowers_can_be_simulated(app: Flask) -> None:
    with app.extensions["loanline.sessions"].begin() as session:
        number = board(session, borrower_first_name="Real", borrower_last_name="Person")
        real = session.scalars(select(Loan.borrower_id).where(Loan.loan_number == number)).one()
    client = app.test_client()
    assert "Real Person" not in client.get("/simulator/").get_data(as_text=True)
    assert client.get(f"/simulator/chat/{real}/phone").status_code == 404
    assert client.get(f"/simulator/chat/{real}/phone/messages").status_code == 404
    assert client.get("/simulator/chat/999999/phone").status_code == 404
    assert client.get(f"/simulator/chat/{borrower_id(app, CARTER)}/elsewhere").status_code == 404


# -- a channel on the real engine -----------------------------------------------------------------------


def test_a_spanish_borrower_verifies_and_gets_their_balance_in_spanish(app: Flask) -> None:
    chat = Chat(app, GARCIA)
    spanish = Speaker("es_US")
    asked = chat.send("cuanto debo")
    assert asked == [spanish.say(FACTOR_QUESTIONS[Factor.DATE_OF_BIRTH.value])]
    assert asked[0] != Speaker("en").say(FACTOR_QUESTIONS[Factor.DATE_OF_BIRTH.value])
    answered = chat.send("1978-02-14")
    assert answered == [spanish.say("Thanks, you're verified."), expected_balance(app, GARCIA, spanish)]
    shown = chat.messages()
    assert [m["from"] for m in shown["messages"]] == ["you", "bot", "you", "bot", "bot"]
    assert shown["messages"][-1]["text"] == answered[-1]
    assert shown["status"] == "The bot answers · verified"
    with app.extensions["loanline.sessions"]() as session:
        conversation = session.scalars(select(Conversation)).one()
        assert (conversation.channel, conversation.address) == (CHANNEL, "+13055550121")


def expected_balance(app: Flask, loan_number: str, speaker: Speaker) -> str:
    """Return the balance answer the bot's flows give for a loan today, in the speaker's language."""
    with app.extensions["loanline.sessions"]() as session:
        account = load_account(session, loan_number)
    summary = summarize(account, date.fromisoformat(TODAY))
    values = {
        "ending": loan_number[-4:],
        "principal": speaker.money(summary.principal_balance, account.currency),
        "amount_due": speaker.money(summary.amount_due, account.currency),
        "due_date": speaker.day(account.next_due_date),
    }
    if summary.days_past_due > 0:
        return speaker.say(
            "Loan ending {ending}: principal balance {principal}. Amount due {amount_due}, past due since {due_date}.",
            **values,
        )
    return speaker.say("Loan ending {ending}: principal balance {principal}. Amount due {amount_due} by {due_date}.",
                       **values)  # fmt: skip


def test_from_a_number_not_on_file_the_right_answer_does_not_verify(app: Flask) -> None:
    chat = Chat(app, CARTER, flavour="stranger")
    chat.send("how much do I owe")
    refused = chat.send("1981-04-12")
    assert refused[0] == Speaker("en").say("That doesn't match our records.")
    assert "LN-1001" not in " ".join(refused) and "1001" not in " ".join(refused)
    with app.extensions["loanline.sessions"]() as session:
        conversation = session.scalars(select(Conversation)).one()
        assert conversation.borrower_id is None and not conversation.address.startswith("+1202")


def test_the_same_provider_id_twice_is_stored_once(app: Flask) -> None:
    chat = Chat(app, CARTER)
    first = chat.send("hello", provider_id="same-id-0001")
    again = chat.send("hello", provider_id="same-id-0001")
    assert first and again == []
    with app.extensions["loanline.sessions"]() as session:
        inbound = session.scalars(select(Message).where(Message.direction == "in")).all()
    assert [(m.body, m.provider_id, m.channel) for m in inbound] == [("hello", "same-id-0001", CHANNEL)]


def test_a_form_posted_without_javascript_is_answered_and_shown_on_the_page(app: Flask) -> None:
    chat = Chat(app, CARTER)
    provider_id = PROVIDER_FIELD.search(chat.page).group(1)  # type: ignore[union-attr]
    data = {"csrf_token": chat.token, "quick": "how much do i owe", "text": "", "provider_id": provider_id}
    response = chat.client.post(f"{chat.base}/send", data=data)
    assert response.status_code == 303 and response.headers["Location"].endswith(chat.base)
    page = chat.client.get(chat.base).get_data(as_text=True)
    assert "how much do i owe" in page
    assert Speaker("en").say(FACTOR_QUESTIONS[Factor.DATE_OF_BIRTH.value]) in page


def test_an_empty_message_or_a_bad_message_id_is_refused_and_changes_nothing(app: Flask) -> None:
    chat = Chat(app, CARTER)
    json = {"Accept": "application/json"}
    for data in ({"text": "   "}, {"text": "hi", "provider_id": "<bad>"}, {"text": "x" * 2001}):
        response = chat.client.post(f"{chat.base}/send", data={"csrf_token": chat.token, **data}, headers=json)
        assert response.status_code == 400 and response.get_json()["error"]
    assert chat.client.get(f"{chat.base}/messages?after=abc").status_code == 400
    with app.extensions["loanline.sessions"]() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_quick_replies_are_in_the_borrowers_language_and_each_asks_its_intent() -> None:
    locales = ("en_US", "es_US", "fr_CA", "pt_BR", "de_DE", "it_IT", "hi_IN", "id_ID", "zh_Hans_US", "vi_VN", "ko_KR",
               "fil_PH", "ar_EG")  # fmt: skip
    for locale in locales:
        replies = quick_replies(locale)
        assert [nlu.classify(text, locale=locale).intent for text in replies] == list(QUICK_INTENTS), locale
    assert quick_replies("es_US")[0] == "cuanto debo"


def test_the_chat_page_shows_the_demo_borrowers_verification_answers(app: Flask) -> None:
    page = Chat(app, CARTER).page
    for answer in ("1981-04-12", "4821", "20001"):
        assert f'data-fill="{answer}"' in page


# -- the outbox delivers specialist replies to the page -------------------------------------------------


def test_a_specialist_reply_is_delivered_by_the_simulator_sender_and_then_shown(app: Flask) -> None:
    sessions: sessionmaker[Session] = app.extensions["loanline.sessions"]
    chat = Chat(app, CARTER)
    chat.send("talk to a person")
    now = datetime.now(UTC)
    with sessions.begin() as session:
        conversation = session.scalars(select(Conversation)).one()
        escalate(session, conversation, EscalationReason.ASKED, now)  # already queued by the bot: kept
        claim_conversation(session, conversation.id, "sam", now)
        reply = record_outbound(session, conversation, "Hi Emily, Sam here.", author="sam", now=now,
                                deliver_later=True)  # fmt: skip
        reply_id = reply.id
    before = chat.messages()
    assert "Hi Emily, Sam here." not in [m["text"] for m in before["messages"]]
    assert before["next"] < reply_id  # the page keeps asking from below the message still in the outbox
    settings = Settings.from_env()
    report = deliver_outbox(sessions, configured_senders(settings), worker="w1", clock=lambda: datetime.now(UTC))
    assert report.sent == 1
    after = chat.messages(before["next"])
    assert [(m["from"], m["text"]) for m in after["messages"] if m["id"] == reply_id] == [
        ("servicer", "Hi Emily, Sam here.")
    ]
    assert after["status"].startswith("A specialist has the conversation")
    with sessions() as session:
        delivered = session.get_one(Message, reply_id)
        assert (delivered.status, delivered.provider_id.startswith("sim-")) == ("delivered", True)  # type: ignore[union-attr]
        assert delivered.delivered_at is not None


# -- safe pages -----------------------------------------------------------------------------------------


def test_a_script_typed_by_the_borrower_comes_back_as_text(app: Flask) -> None:
    chat = Chat(app, CARTER)
    typed = "<script>alert(1)</script>"
    chat.send(typed)
    assert chat.messages()["messages"][0]["text"] == typed
    page = chat.client.get(chat.base).get_data(as_text=True)
    assert typed not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_a_post_without_the_csrf_token_is_refused(app: Flask) -> None:
    chat = Chat(app, CARTER)
    response = chat.client.post(f"{chat.base}/send", data={"text": "hello", "provider_id": "no-token-0001"})
    assert response.status_code == 400
    with app.extensions["loanline.sessions"]() as session:
        assert session.scalar(select(func.count()).select_from(Message)) == 0


def test_pages_send_the_csp_header_and_have_no_inline_scripts_or_styles(app: Flask) -> None:
    chat = Chat(app, CARTER)
    chat.send("<b style='x' onclick='y'>hi</b>")
    client = chat.client
    for path in ("/simulator/", chat.base, f"{chat.base}/messages"):
        response = client.get(path)
        policy = response.headers["Content-Security-Policy"]
        assert "script-src 'self'" in policy and "'unsafe-inline'" not in policy
        if response.mimetype == "application/json":
            assert response.headers["X-Content-Type-Options"] == "nosniff"  # never read as HTML
        else:
            assert inline_code(response.get_data(as_text=True)) == [], path
    with client.get("/simulator/static/simulator.js") as script:
        assert script.status_code == 200 and "textContent" in script.get_data(as_text=True)
        assert "innerHTML" not in script.get_data(as_text=True)
    with client.get("/simulator/static/simulator.css") as style:
        assert style.status_code == 200


def test_the_address_of_a_stranger_is_never_a_phone_on_file(app: Flask) -> None:
    with app.extensions["loanline.sessions"]() as session:
        for borrower in demo_borrowers(session):
            assert address_of(borrower, "stranger").startswith("+999")
            assert address_of(borrower, "phone") == borrower.phone


def test_pressing_enter_sends_what_was_typed_not_a_quick_reply(app: Flask) -> None:
    page = Chat(app, GARCIA).page
    form = page[page.index('<form id="composer"') :]
    first_button = re.search(r"<button[^>]*>", form).group(0)  # type: ignore[union-attr]
    assert 'type="submit"' in first_button and 'name="quick"' not in first_button  # the browser's default button
    assert 'value="cuanto debo"' in form  # the quick replies follow, in the borrower's language


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.text(max_size=2100),
    provider_id=st.one_of(st.text(max_size=60), st.from_regex(r"[A-Za-z0-9_-]{8,48}", fullmatch=True)),
    after=st.text(max_size=20),
)
def test_any_form_or_cursor_gets_an_answer_or_a_400_never_a_500(
    app: Flask, text: str, provider_id: str, after: str
) -> None:
    chat = Chat(app, CARTER)
    data = {"csrf_token": chat.token, "text": text, "provider_id": provider_id}
    response = chat.client.post(f"{chat.base}/send", data=data, headers={"Accept": "application/json"})
    assert response.status_code in (200, 400), response.get_data(as_text=True)
    polled = chat.client.get(f"{chat.base}/messages", query_string={"after": after})
    assert polled.status_code in (200, 400)
