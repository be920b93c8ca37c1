"""The conversation engine: one inbound message in, stored first; replies and state changes out.

Channel-agnostic: SMS, Telegram and the simulator are thin adapters that build an `InboundMessage`
and deliver the `Reply` objects. The engine never imports a channel library.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from bot.flood import Admission, FloodLimit
from bot.flows import respond as answer_the_borrower
from bot.i18n import say
from bot.turn import InboundMessage, Reply, Respond, Turn
from servicing.config import Settings
from servicing.conversations import (
    Inbound,
    bot_may_answer,
    find_or_open_conversation,
    is_opted_out,
    record_bot_reply,
    record_inbound,
    record_outbound,
)
from servicing.documents.delivery import mark_sent, without_link_tokens
from servicing.errors import ServicingError
from servicing.store.accounts import business_date
from servicing.store.db import connection_dropped, retried_when_disconnected

__all__ = ["Engine", "InboundMessage", "Reply", "Respond", "Turn"]
log = logging.getLogger(__name__)
SORRY = say("Sorry, I couldn't do that right now. Reply AGENT to reach a person.")
FLOODING = say(
    "You are sending messages faster than we can answer them. We have kept them all and will answer again in "
    "{minutes} minutes. To talk to someone now, call {phone}."
)


class _AnswerFailed(Exception):
    """Answering a stored message failed (a refusal or a bug): its transaction rolls back, then a sorry is stored."""


def _record(session: Session, inbound: InboundMessage, now: datetime) -> Inbound:
    """Store the inbound message on its locked conversation (the webhooks' path); a provider id seen is a duplicate."""
    return record_inbound(
        session, inbound.channel, inbound.address, inbound.text, provider_id=inbound.provider_id,
        now=now, attachments=list(inbound.attachments), lock=True,
    )  # fmt: skip


class Engine:
    """Answers borrowers on any channel from the servicing core."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        clock: Callable[[], datetime] | None = None,
        respond: Respond | None = None,
        flood: FloodLimit | None = None,
        heard_while_flooding: Callable[[InboundMessage], bool] | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        self.respond = respond or answer_the_borrower
        self.flood = flood  # the channels' per-sender flood limit (none for the terminal chat and the simulator)
        self.heard_while_flooding = heard_while_flooding or (lambda _inbound: False)  # SMS: STOP and START

    def handle(self, inbound: InboundMessage) -> list[Reply]:
        """Store the message, then answer it, in one transaction; a provider id seen before gets no second answer.

        The inbound message is written first, with the conversation's row locked (PostgreSQL; SQLite's
        transactions hold the write lock from BEGIN). When answering fails, the whole transaction rolls back
        (nothing the answer wrote is kept), and a fresh one stores the message with a sorry to the borrower:
        nothing is committed without the message. When the database server dropped the connection (a restart,
        a failover, an idle timeout), the whole transaction runs again on a fresh connection
        (`retried_when_disconnected`); nothing is committed when it fails for any other reason, and the channel
        answers with an error. A sender over the flood limit is told so once, then not answered for a while;
        their messages are stored all the same.
        """
        now = self.clock()
        try:
            return retried_when_disconnected(lambda: self._store_and_answer(inbound, now))
        except _AnswerFailed:
            return retried_when_disconnected(lambda: self._store_with_sorry(inbound, now))

    def _store_and_answer(self, inbound: InboundMessage, now: datetime) -> list[Reply]:
        """Store the message and answer it in one transaction, without a savepoint: a failed answer raises
        `_AnswerFailed` out of the transaction, which rolls it back whole."""
        with self.sessions.begin() as session:
            stored = _record(session, inbound, now)
            if stored.duplicate:
                return []
            conversation = stored.conversation
            admission = self._admission(inbound)
            if admission is Admission.IGNORE:
                log.info("conversation %s: flooding, stored and not answered", conversation.id)
                return []
            turn = Turn(session, conversation, inbound, now, self._today(session, now), self.settings)
            if admission is Admission.WARN:
                log.warning("conversation %s: over the flood limit, not answered for a while", conversation.id)
                return self._warn_flooding(turn)
            try:
                self.respond(turn)
            except ServicingError as error:
                log.warning("conversation %s: refused: %s", conversation.id, type(error).__name__)
                raise _AnswerFailed from error
            except Exception as error:  # the edge: a bug must not leave the borrower without an answer
                if connection_dropped(error):
                    raise  # not a bug: the whole turn runs again on a fresh connection
                log.exception("conversation %s: could not answer", conversation.id)
                raise _AnswerFailed from error
            self._store_replies(turn)
            return turn.replies

    def _store_with_sorry(self, inbound: InboundMessage, now: datetime) -> list[Reply]:
        """Store the message whose answer failed, and a sorry, in a fresh transaction (the flood limit counted it
        already); nothing if another worker stored it meanwhile."""
        with self.sessions.begin() as session:
            stored = _record(session, inbound, now)
            if stored.duplicate:
                return []
            turn = Turn(session, stored.conversation, inbound, now, self._today(session, now), self.settings)
            turn.replies = [Reply(turn.speaker.say(SORRY))]
            self._store_replies(turn)
            return turn.replies

    def _store_replies(self, turn: Turn) -> None:
        """Store each reply in one INSERT, what it quoted and attached included."""
        for reply in turn.replies:
            quoted = {"quoted": reply.quoted} if reply.quoted is not None else None
            document = reply.document
            attached = [{"kind": "document", "document_id": document.document_id,
                         "file_name": document.file_name}] if document is not None else None  # fmt: skip
            record_bot_reply(turn.session, turn.conversation, without_link_tokens(reply.text), now=turn.now,
                             meta=quoted, attachments=attached)  # fmt: skip

    def _admission(self, inbound: InboundMessage) -> Admission:
        """Count the message against the sender's flood limit, unless it is one a channel must always hear."""
        if self.flood is None or self.heard_while_flooding(inbound):
            return Admission.ANSWER
        return self.flood.admit(inbound.channel, inbound.address)

    def _warn_flooding(self, turn: Turn) -> list[Reply]:
        """Tell a flooding sender, once, that they will be answered later (not while a person or STOP holds it)."""
        conversation = turn.conversation
        if not bot_may_answer(conversation) or is_opted_out(turn.session, conversation.channel, conversation.address):
            return []
        assert self.flood is not None  # only the flood limit warns
        warning = Reply(
            turn.speaker.say(FLOODING, minutes=self.flood.quiet_minutes, phone=self.settings.servicer_phone)
        )
        record_outbound(turn.session, conversation, warning.text, author="bot", now=turn.now)
        return [warning]

    def _today(self, session: Session, now: datetime) -> date:
        if self.settings.today_override:
            return date.fromisoformat(self.settings.today_override)
        local = now.astimezone(ZoneInfo(self.settings.timezone)).date()
        return max(local, business_date(session) or local)

    def document_delivered(self, document_id: int, channel: str) -> None:
        """Record that a channel handed a document to its borrower (Telegram accepted the file)."""

        def record() -> None:
            with self.sessions.begin() as session:
                mark_sent(session, document_id, channel=channel, actor="bot", now=self.clock())

        retried_when_disconnected(record)

    def conversation_for(self, channel: str, address: str) -> int:
        """Return the id of an address's conversation, opening it if needed (for adapters and the simulator)."""
        with self.sessions.begin() as session:
            return find_or_open_conversation(session, channel, address, self.clock()).id
