"""The conversation engine: one inbound message in, stored first; replies and state changes out.

Channel-agnostic: SMS, Telegram and the simulator are thin adapters that build an `InboundMessage`
and deliver the `Reply` objects. The engine never imports a channel library.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.i18n import Speaker, say
from servicing.config import Settings
from servicing.conversations import find_or_open_conversation, record_inbound, record_outbound
from servicing.errors import ServicingError
from servicing.models import Conversation
from servicing.store import business_date

log = logging.getLogger(__name__)
MAX_TEXT = 2000  # longer texts are cut before understanding (stored whole)
SORRY = say("Sorry, I couldn't do that right now. Reply AGENT to reach a person.")


@dataclass(frozen=True)
class InboundMessage:
    """What a channel received from a borrower."""

    channel: str
    address: str
    text: str
    provider_id: str | None = None
    attachments: tuple[dict[str, Any], ...] = ()
    shared_contact_phone: str | None = None  # Telegram: the sender shared their own contact


@dataclass(frozen=True)
class Reply:
    """What the bot says back; `options` become buttons on Telegram and a numbered list on SMS."""

    text: str
    options: tuple[tuple[str, str], ...] = ()
    request_contact: bool = False


@dataclass
class Turn:
    """One inbound message being answered: the database session, the conversation and the replies so far."""

    session: Session
    conversation: Conversation
    inbound: InboundMessage
    now: datetime
    today: date
    settings: Settings
    replies: list[Reply] = field(default_factory=list)

    @property
    def speaker(self) -> Speaker:
        """Return who speaks the conversation's language."""
        return Speaker(self.conversation.locale)

    @property
    def text(self) -> str:
        """Return the borrower's text, cut to what understanding needs."""
        return self.inbound.text[:MAX_TEXT]

    def say(self, message: str, **values: Any) -> None:
        """Add a reply in the borrower's language."""
        self.replies.append(Reply(self.speaker.say(message, **values)))

    def ask(self, message: str, options: tuple[tuple[str, str], ...] = (), **values: Any) -> None:
        """Add a question, with options the channel may show as buttons."""
        labels = tuple((self.speaker.say(label), value) for label, value in options)
        self.replies.append(Reply(self.speaker.say(message, **values), labels))

    @property
    def flow(self) -> dict[str, Any]:
        """Return what the conversation is waiting for (empty when nothing)."""
        return dict(self.conversation.flow or {})

    def expect(self, awaiting: str, **slots: Any) -> None:
        """Remember what the next message should answer."""
        self.conversation.flow = {"await": awaiting, **slots}

    def forget(self) -> None:
        """Stop waiting for anything."""
        self.conversation.flow = {}


Respond = Callable[[Turn], None]


class Engine:
    """Answers borrowers on any channel from the servicing core."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        clock: Callable[[], datetime] | None = None,
        respond: Respond | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock or (lambda: datetime.now(UTC))
        if respond is None:
            from bot.flows import respond as default_respond

            respond = default_respond
        self.respond = respond

    def handle(self, inbound: InboundMessage) -> list[Reply]:
        """Store the message, then answer it; a provider id seen before gets no second answer."""
        now = self.clock()
        with self.sessions.begin() as session:
            stored = record_inbound(
                session, inbound.channel, inbound.address, inbound.text,
                provider_id=inbound.provider_id, now=now, attachments=list(inbound.attachments),
            )  # fmt: skip
            if stored.duplicate:
                return []
            conversation_id = stored.conversation.id
        with self.sessions.begin() as session:
            conversation = session.get(Conversation, conversation_id, with_for_update=True)
            assert conversation is not None
            turn = Turn(session, conversation, inbound, now, self._today(session, now), self.settings)
            try:
                with session.begin_nested():
                    self.respond(turn)
            except ServicingError as error:
                log.warning("conversation %s: refused: %s", conversation_id, type(error).__name__)
                turn.replies = [Reply(turn.speaker.say(SORRY))]
            except Exception:  # the edge: a bug must not leave the borrower without an answer
                log.exception("conversation %s: could not answer", conversation_id)
                turn.replies = [Reply(turn.speaker.say(SORRY))]
            for reply in turn.replies:
                record_outbound(session, conversation, reply.text, author="bot", now=now)
            return turn.replies

    def _today(self, session: Session, now: datetime) -> date:
        if self.settings.today_override:
            return date.fromisoformat(self.settings.today_override)
        from zoneinfo import ZoneInfo

        local = now.astimezone(ZoneInfo(self.settings.timezone)).date()
        return max(local, business_date(session) or local)

    def conversation_for(self, channel: str, address: str) -> int:
        """Return the id of an address's conversation, opening it if needed (for adapters and the simulator)."""
        with self.sessions.begin() as session:
            return find_or_open_conversation(session, channel, address, self.clock()).id
