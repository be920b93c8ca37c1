"""A turn of conversation: the inbound message, the replies, and what the conversation waits for."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from bot.i18n import Speaker
from servicing.config import Settings
from servicing.rules.account import Account
from servicing.store.models import Conversation

MAX_TEXT = 2000  # longer texts are cut before understanding (stored whole)


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
class OutgoingDocument:
    """A document the bot hands over in the chat (a Telegram document): its id, the file's name and bytes."""

    document_id: int
    file_name: str
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Reply:
    """What the bot says back; `options` become buttons on Telegram and a numbered list on SMS.

    With `document`, the text is the caption of a file sent with it (only a channel that sends files gets one).
    """

    text: str
    options: tuple[tuple[str, str], ...] = ()
    request_contact: bool = False
    document: OutgoingDocument | None = None
    quoted: dict[str, Any] | None = None  # the figures the text tells, as data: kept in the message's meta


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
    account: Account | None = None  # the chosen loan's account, once loaded in this turn
    _speaker: Speaker = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._speaker = Speaker(self.conversation.locale)

    @property
    def speaker(self) -> Speaker:
        """Return who speaks the conversation's language (which may change during the turn)."""
        if self._speaker.locale != (self.conversation.locale or "en"):
            self._speaker = Speaker(self.conversation.locale)
        return self._speaker

    @property
    def text(self) -> str:
        """Return the borrower's text, cut to what understanding needs."""
        return self.inbound.text[:MAX_TEXT]

    def say(self, message: str, **values: Any) -> None:
        """Add a reply in the borrower's language."""
        self.replies.append(Reply(self.speaker.say(message, **values)))

    def quote(self, intent: str, loan_number: str, currency: str, figures: dict[str, Decimal | date | int]) -> None:
        """Keep, with the reply just said, the figures it told as data (amounts as exact strings, dates in ISO):
        the console's handoff summary shows what the bot already answered, and as of when."""
        if not self.replies:
            return
        told = {name: (value.isoformat() if isinstance(value, date) else str(value)) for name, value in figures.items()}
        quoted = {"intent": intent, "loan": f"…{loan_number[-4:]}", "currency": currency,
                  "as_of": self.today.isoformat(), "figures": told}  # fmt: skip
        self.replies[-1] = replace(self.replies[-1], quoted=quoted)

    def ask(self, message: str, options: tuple[tuple[str, str], ...] = (), **values: Any) -> None:
        """Add a question, with options the channel may show as buttons."""
        labels = tuple((self.speaker.say(label), value) for label, value in options)
        self.replies.append(Reply(self.speaker.say(message, **values), labels))

    @property
    def flow(self) -> dict[str, Any]:
        """Return what the conversation is waiting for (empty when nothing)."""
        return dict(self.conversation.flow or {})

    def expect(self, awaiting: str, **slots: Any) -> None:
        """Remember what the next message should answer (notes kept with `remember` survive)."""
        self.conversation.flow = {"await": awaiting, **slots, "notes": self.flow.get("notes", {})}

    def forget(self) -> None:
        """Stop waiting for anything (notes kept with `remember` survive)."""
        notes = self.flow.get("notes", {})
        self.conversation.flow = {"notes": notes} if notes else {}

    def remember(self, **notes: Any) -> None:
        """Keep notes across questions and answers (a None value drops the note)."""
        kept = {**self.flow.get("notes", {}), **notes}
        self.conversation.flow = {**self.flow, "notes": {k: v for k, v in kept.items() if v is not None}}

    def remembered(self, name: str) -> Any:
        """Return a note kept with `remember`, or None."""
        return self.flow.get("notes", {}).get(name)


Respond = Callable[[Turn], None]
