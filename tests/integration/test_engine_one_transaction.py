"""One transaction per message: stored and answered together, the message kept when answering fails,
and SQLite writers of several processes taking turns."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.engine import Engine as SqlEngine
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import SORRY, Engine, InboundMessage, Reply, Turn
from servicing.config import Settings
from servicing.errors import ServicingError
from servicing.store.db import WriterTurns, make_engine, make_session_factory
from servicing.store.migrate import upgrade_database
from servicing.store.models import Conversation, Message
from tests.integration.helpers import board

PHONE = "+15557770042"
NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)


@pytest.fixture
def bot(sessions: sessionmaker[Session], settings: Settings) -> Engine:
    with sessions.begin() as session:
        board(session, phone=PHONE)
    engine = Engine(sessions, settings, clock=lambda: NOW)
    engine.handle(InboundMessage("sms", PHONE, "balance", provider_id="SM-1"))
    answers = engine.handle(InboundMessage("sms", PHONE, "05/04/1980", provider_id="SM-2"))
    assert "verified" in answers[0].text and "principal balance" in answers[1].text
    return engine


def commits_while(engine: SqlEngine, action: Callable[[], None]) -> int:
    """Return how many transactions were committed while `action` ran."""
    commits: list[object] = []
    listener = commits.append
    event.listen(engine, "commit", listener)
    try:
        action()
    finally:
        event.remove(engine, "commit", listener)
    return len(commits)


def stored_bodies(sessions: sessionmaker[Session], direction: str) -> list[str]:
    with sessions() as session:
        query = (select(Message.body).join(Conversation).where(Conversation.address == PHONE,
                 Message.direction == direction).order_by(Message.id))  # fmt: skip
        return list(session.scalars(query))


def test_a_verified_balance_question_is_stored_and_answered_in_one_commit(
    bot: Engine, sessions: sessionmaker[Session], engine: SqlEngine
) -> None:
    answers: list[str] = []

    def ask() -> None:
        answers.extend(reply.text for reply in bot.handle(InboundMessage("sms", PHONE, "balance", provider_id="SM-3")))

    assert commits_while(engine, ask) == 1
    assert "principal balance" in answers[0]
    assert stored_bodies(sessions, "in")[-1] == "balance"
    assert stored_bodies(sessions, "out")[-1] == answers[0]


def test_a_message_delivered_again_is_neither_stored_nor_answered_twice(
    bot: Engine, sessions: sessionmaker[Session]
) -> None:
    assert bot.handle(InboundMessage("sms", PHONE, "balance", provider_id="SM-3"))
    assert bot.handle(InboundMessage("sms", PHONE, "balance", provider_id="SM-3")) == []
    assert stored_bodies(sessions, "in").count("balance") == 2  # SM-1 and SM-3


@pytest.mark.parametrize("error", [RuntimeError("a bug"), ServicingError("refused")], ids=["bug", "refused"])
def test_when_answering_fails_the_message_is_still_stored_and_what_the_answer_changed_is_undone(
    sessions: sessionmaker[Session], settings: Settings, error: Exception
) -> None:
    def answer_then_fail(turn: Turn) -> None:
        turn.conversation.misses = 7
        turn.session.add(Message(conversation_id=turn.conversation.id, channel="sms", direction="out", author="bot",
                                 body="half an answer", status="sent", created_at=NOW))  # fmt: skip
        turn.session.flush()
        raise error

    failing = Engine(sessions, settings, clock=lambda: NOW, respond=answer_then_fail)
    [reply] = failing.handle(InboundMessage("sms", PHONE, "hello", provider_id="SM-9"))
    assert reply.text == SORRY
    assert stored_bodies(sessions, "in") == ["hello"]
    assert stored_bodies(sessions, "out") == [SORRY]
    with sessions() as session:
        conversation = session.scalar(select(Conversation).where(Conversation.address == PHONE))
        assert conversation is not None and conversation.misses == 0
        assert conversation.last_message_at is not None


def test_a_verified_balance_question_sends_no_savepoint(bot: Engine, engine: SqlEngine) -> None:
    sent: list[str] = []

    def statement(_connection: object, _cursor: object, sql: str, *_: object) -> None:
        sent.append(sql.split(maxsplit=1)[0].upper())

    event.listen(engine, "before_cursor_execute", statement)
    try:
        assert bot.handle(InboundMessage("sms", PHONE, "balance", provider_id="SM-3"))
    finally:
        event.remove(engine, "before_cursor_execute", statement)
    assert "SAVEPOINT" not in sent and "RELEASE" not in sent
    assert sent.count("UPDATE") == 1  # the conversation's last message and verified window in one UPDATE


def test_when_answering_fails_nothing_is_committed_before_the_message_and_its_sorry(
    sessions: sessionmaker[Session], settings: Settings, engine: SqlEngine
) -> None:
    def fail(turn: Turn) -> None:
        turn.conversation.misses = 7
        raise RuntimeError("a bug")

    failing = Engine(sessions, settings, clock=lambda: NOW, respond=fail)
    assert commits_while(engine, lambda: failing.handle(InboundMessage("sms", PHONE, "hello", provider_id="SM-8"))) == 1
    assert stored_bodies(sessions, "in") == ["hello"] and stored_bodies(sessions, "out") == [SORRY]


def test_when_answering_fails_and_another_worker_stored_the_message_meanwhile_it_is_stored_and_answered_once(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    def fail(turn: Turn) -> None:
        raise RuntimeError("a bug")

    class Racing(Engine):
        """The provider's second delivery of the message, answered by another worker between our two transactions."""

        def _store_with_sorry(self, inbound: InboundMessage, now: datetime) -> list[Reply]:
            Engine(sessions, settings, clock=lambda: NOW, respond=lambda turn: turn.say("answered")).handle(inbound)
            return super()._store_with_sorry(inbound, now)

    with sessions.begin() as session:
        board(session, phone=PHONE)
    assert (
        Racing(sessions, settings, clock=lambda: NOW, respond=fail).handle(
            InboundMessage("sms", PHONE, "hello", provider_id="SM-7")
        )
        == []
    )
    assert stored_bodies(sessions, "in") == ["hello"]
    assert stored_bodies(sessions, "out") == ["answered"]


# -- SQLite: writers take turns -------------------------------------------------------------------------


def test_a_sqlite_writer_waits_for_the_one_before_it_and_starts_as_soon_as_it_commits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'turns.db'}"
    first, second = make_engine(url), make_engine(url)  # two engines: as two worker processes would have
    upgrade_database(first)
    started, committed_at, began_at = threading.Event(), [0.0], [0.0]

    def hold_the_lock() -> None:
        with make_session_factory(first).begin() as session:
            session.execute(select(func.count()).select_from(Message))
            started.set()
            time.sleep(0.3)
            committed_at[0] = time.monotonic()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    started.wait(5)
    with make_session_factory(second).begin() as session:
        session.execute(select(func.count()).select_from(Message))  # BEGIN IMMEDIATE: waits for its turn
        began_at[0] = time.monotonic()
    holder.join()
    first.dispose()
    second.dispose()
    assert 0 <= began_at[0] - committed_at[0] < 0.05  # not one of the busy handler's 100 ms sleeps


def test_a_sqlite_writer_that_cannot_get_its_turn_goes_on_after_the_timeout(tmp_path: Path) -> None:
    turns = WriterTurns(str(tmp_path / "turns.db"), timeout=0.05)
    holder: dict[str, object] = {}
    waiter: dict[str, object] = {}
    turns._take_turn(holder)
    start = time.monotonic()
    turns._take_turn(waiter)  # the same thread: waiting for ever would hang
    assert 0.05 <= time.monotonic() - start < 1
    assert waiter[WriterTurns.KEY][1] is False  # type: ignore[index]
    turns._end_turn(holder)
    turns._take_turn(waiter)
    assert waiter[WriterTurns.KEY][1] is True  # type: ignore[index]


def test_an_in_memory_sqlite_database_needs_no_turns() -> None:
    assert WriterTurns(":memory:", timeout=1).path is None
    assert WriterTurns(None, timeout=1).path is None
