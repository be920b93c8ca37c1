"""Demo conversations: a few borrowers already talking to the bot, so the console's queue is not empty on first start.

Each story is a short transcript (the borrower's words, the bot's replies with their delivery status, an MMS
photo), then what happened to it: escalated for a reason (hardship in Spanish, a dispute, a request for a
person, a sensitive topic, two misunderstandings, a lockout), claimed by the demo specialist `sam`, or left
with the bot. They are stored through the core's own use cases (`record_inbound`, `record_outbound`,
`escalate`, `claim_conversation`), as the bot and the console would have stored them.

Times: a queue shows waits and SLA states, so the stories are timed back from the moment they are loaded
when the demo is anchored on today, and from 15:00 UTC on the anchor date otherwise (deterministic for a
given `as_of`). Loading again adds nothing: each story is keyed by the provider id of its first message.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from servicing.conversations import (
    EscalationReason,
    add_internal_note,
    claim_conversation,
    escalate,
    find_or_open_conversation,
    keep_verified,
    record_inbound,
    record_outbound,
)
from servicing.store.models import BorrowerPhone, Conversation, Loan, Message

DEMO_SPECIALIST = "sam"
ANCHOR_TIME = time(15, 0)


@dataclass(frozen=True)
class Turn:
    """One message of a demo transcript, `minutes_ago` before the load moment."""

    minutes_ago: int
    author: str  # "borrower", "bot" or a specialist's username
    body: str
    status: str = "delivered"  # for outbound messages: delivered, sent, failed, ...
    error_code: str | None = None
    attachments: tuple[dict[str, Any], ...] = ()
    note: bool = False


@dataclass(frozen=True)
class Story:
    """A demo conversation: whose, on which channel, its transcript and where it stands now."""

    loan_number: str
    channel: str
    turns: tuple[Turn, ...]
    reason: EscalationReason | None = None
    queued_minutes_ago: int = 0
    claimed_minutes_ago: int | None = None
    verified_minutes_ago: int | None = None
    failed_attempts: int = 0
    locked: bool = False
    telegram_chat: str | None = None

    def provider_id(self, index: int) -> str:
        """Return the demo provider id of the transcript's `index`-th inbound message."""
        return f"DEMO-{self.loan_number}-{index}"


PHOTO = {
    "url": "https://api.twilio.com/2010-04-01/Accounts/ACdemo/Messages/MMdemo1004/Media/MEdemo1004",
    "content_type": "image/jpeg",
}

STORIES: tuple[Story, ...] = (
    Story("LN-2002", "sms", reason=EscalationReason.HARDSHIP, queued_minutes_ago=24, verified_minutes_ago=25, turns=(
        Turn(28, "borrower", "Hola, perdí mi trabajo el mes pasado y no puedo pagar la hipoteca"),
        Turn(28, "bot", "Siento mucho lo que está pasando. Antes de nada, ¿me indica su código postal?"),
        Turn(26, "borrower", "77002"),
        Turn(25, "bot", "Gracias, ya está verificado. ¿Desde cuándo tiene esta dificultad y cuánto cree que durará?"),
        Turn(24, "borrower", "Desde octubre. No sé cuánto, estoy buscando trabajo. ¿Pueden bajar el pago?"),
        Turn(24, "bot", "Gracias. He registrado su solicitud de ayuda y una persona del equipo le responderá pronto."),
    )),
    Story("LN-1004", "sms", reason=EscalationReason.DISPUTE, queued_minutes_ago=12, verified_minutes_ago=14, turns=(
        Turn(16, "borrower", "you charged me a late fee by mistake, I paid on time"),
        Turn(16, "bot", "I can help with that. To verify it is you, what is your postal code?"),
        Turn(15, "borrower", "60614"),
        Turn(14, "bot", "Thanks, you are verified. I have opened a notice of error and a person will look into it."),
        Turn(12, "borrower", "here is my bank statement showing the payment", attachments=(PHOTO,)),
    )),
    Story("LN-3003", "telegram", reason=EscalationReason.ASKED, queued_minutes_ago=4, telegram_chat="7300003003",
          turns=(
        Turn(5, "borrower", "Bonjour, je voudrais parler à quelqu'un s'il vous plaît"),
        Turn(4, "bot", "Je vous mets en relation avec une personne de notre équipe. Merci de patienter.", "sent"),
    )),
    Story("LN-1005", "sms", reason=EscalationReason.SENSITIVE, queued_minutes_ago=13, turns=(
        Turn(13, "borrower", "My attorney says I should file for bankruptcy. What happens to my house?"),
        Turn(13, "bot", "This deserves a person's attention. A specialist will reply to you here shortly."),
    )),
    Story("LN-5102", "sms", reason=EscalationReason.NOT_UNDERSTOOD, queued_minutes_ago=75, turns=(
        Turn(78, "borrower", "perché la rata è cambiata di nuovo??"),
        Turn(78, "bot", "Non ho capito. Rispondi MENU per vedere cosa posso fare."),
        Turn(76, "borrower", "la rata!! è diversa dal mese scorso"),
        Turn(75, "bot", "Non ho capito di nuovo. Ti metto in contatto con una persona del nostro team."),
    )),
    Story("LN-7002", "telegram", reason=EscalationReason.LOCKED_OUT, queued_minutes_ago=2, failed_attempts=0,
          locked=True, telegram_chat="7300007002", turns=(
        Turn(6, "borrower", "quero ver meu saldo"),
        Turn(6, "bot", "Para confirmar que é você, qual é o seu CEP?", "sent"),
        Turn(5, "borrower", "20040-021"),
        Turn(4, "borrower", "20041-020"),
        Turn(3, "borrower", "22040-020"),
        Turn(2, "bot", "Não foi possível confirmar seus dados. Por segurança, o autoatendimento foi bloqueado por 30 "
                       "minutos. Uma pessoa da nossa equipe vai entrar em contato.", "sent"),
    )),
    Story("LN-2005", "sms", reason=EscalationReason.HARDSHIP, queued_minutes_ago=20, claimed_minutes_ago=8,
          verified_minutes_ago=21, turns=(
        Turn(23, "borrower", "Buenas tardes, tuve una emergencia médica y me atrasé con los pagos"),
        Turn(23, "bot", "Lo siento mucho. Para verificar su identidad, ¿me indica su código postal?"),
        Turn(22, "borrower", "85705"),
        Turn(21, "bot", "Gracias, ya está verificado. Una persona del equipo le ayudará con su solicitud."),
        Turn(7, DEMO_SPECIALIST, "Hola Carmen, le habla Sam. He leído sus mensajes y estoy aquí para ayudarle."),
        Turn(6, DEMO_SPECIALIST, "Asked for hospital bills; check forbearance eligibility.", note=True),
        Turn(3, "borrower", "Gracias Sam. Le envío las facturas del hospital mañana."),
    )),
    Story("LN-1001", "sms", verified_minutes_ago=180, turns=(
        Turn(182, "borrower", "whats my balance"),
        Turn(182, "bot", "Happy to help. To verify it is you, what is your postal code?"),
        Turn(181, "borrower", "20001"),
        Turn(180, "bot", "Thanks, you are verified. You have two loans: reply 1001 or 1002 to pick one."),
        Turn(179, "borrower", "1001"),
        Turn(179, "bot", "Your mortgage ending in 1001 is current. Reply MENU for more options."),
    )),
    Story("LN-4002", "sms", turns=(
        Turn(300, "borrower", "when is my next payment due"),
        Turn(300, "bot", "Happy to help. To verify it is you, what is your postcode?", "failed", "30003"),
    )),
    # Issue 16: a hardship in Vietnamese typed without diacritics, and a request for a person in Arabic on Telegram
    # (the console shows it right to left).
    Story("LN-9002", "sms", reason=EscalationReason.HARDSHIP, queued_minutes_ago=31, verified_minutes_ago=33, turns=(
        Turn(36, "borrower", "chao anh chi, toi bi cat gio lam nen thang nay chua dong tien nha duoc"),
        Turn(36, "bot", "Rất tiếc về khó khăn của Quý khách. Để xác minh, vui lòng cho biết mã bưu chính."),
        Turn(34, "borrower", "92683"),
        Turn(33, "bot", "Cảm ơn Quý khách, thông tin đã được xác minh. Khó khăn này bắt đầu từ khi nào?"),
        Turn(31, "borrower", "tu thang 9, chac khoang 2-3 thang nua moi on"),
        Turn(31, "bot", "Cảm ơn Quý khách. Một chuyên viên sẽ xem xét yêu cầu và trả lời tại đây."),
    )),
    Story("LN-9005", "telegram", reason=EscalationReason.ASKED, queued_minutes_ago=6, telegram_chat="7300009005",
          turns=(
        Turn(7, "borrower", "السلام عليكم، عايز أكلم موظف بخصوص القسط المتأخر"),
        Turn(6, "bot", "أحوّلكم إلى أحد المختصين، وسيرد عليكم هنا قريباً.", "sent"),
    )),
)  # fmt: skip


def load_moment(as_of: date, clock: datetime | None = None) -> datetime:
    """Return when the demo's conversations "happen": now if the demo is anchored on today, else 15:00 UTC."""
    now = clock or datetime.now(UTC)
    return now if now.date() == as_of else datetime.combine(as_of, ANCHOR_TIME, tzinfo=UTC)


def load_demo_conversations(sessions: sessionmaker[Session], as_of: date, *, clock: datetime | None = None) -> int:
    """Store the demo conversations not yet on file; return how many were added."""
    moment = load_moment(as_of, clock)
    added = 0
    for story in STORIES:
        with sessions.begin() as session:
            added += _tell(session, story, moment)
    return added


def _tell(session: Session, story: Story, moment: datetime) -> int:
    loan = session.scalar(select(Loan).where(Loan.loan_number == story.loan_number))
    if loan is None or _told(session, story):
        return 0
    conversation = _open(session, story, loan, moment - timedelta(minutes=story.turns[0].minutes_ago))
    _replay(session, story, conversation, moment)
    _settle(session, story, conversation, moment)
    return 1


def _told(session: Session, story: Story) -> bool:
    query = select(Message.id).where(Message.channel == story.channel, Message.provider_id == story.provider_id(0))
    return session.scalar(query) is not None


def _open(session: Session, story: Story, loan: Loan, at: datetime) -> Conversation:
    phone = session.scalar(
        select(BorrowerPhone.e164).where(BorrowerPhone.borrower_id == loan.borrower_id).order_by(BorrowerPhone.id)
    )
    address = story.telegram_chat if story.channel == "telegram" and story.telegram_chat else phone or ""
    conversation = find_or_open_conversation(session, story.channel, address, at)
    conversation.borrower_id, conversation.loan_id = loan.borrower_id, loan.id
    conversation.locale = loan.borrower.locale
    return conversation


def _replay(session: Session, story: Story, conversation: Conversation, moment: datetime) -> None:
    inbound = 0
    for turn in story.turns:
        at = moment - timedelta(minutes=turn.minutes_ago)
        if turn.author == "borrower":
            provider_id = story.provider_id(inbound)
            media = list(turn.attachments)
            record_inbound(session, story.channel, conversation.address, turn.body, provider_id=provider_id, now=at,
                           attachments=media)  # fmt: skip
            inbound += 1
        elif turn.note:
            add_internal_note(session, conversation.id, turn.author, turn.body, at)
        else:
            _sent(session, conversation, turn, at)
    conversation.last_message_at = moment - timedelta(minutes=story.turns[-1].minutes_ago)


def _sent(session: Session, conversation: Conversation, turn: Turn, at: datetime) -> None:
    message = record_outbound(session, conversation, turn.body, author=turn.author, now=at)
    message.status, message.error_code = turn.status, turn.error_code
    message.provider_id = f"DEMO-OUT-{conversation.id}-{message.id}"
    if turn.status == "delivered":
        message.delivered_at = at + timedelta(seconds=4)


def _settle(session: Session, story: Story, conversation: Conversation, moment: datetime) -> None:
    if story.verified_minutes_ago is not None:
        keep_verified(conversation, moment - timedelta(minutes=story.verified_minutes_ago))
    conversation.failed_attempts = story.failed_attempts
    if story.locked:
        conversation.locked_until = moment + timedelta(minutes=28)
    if story.reason is None:
        return
    escalate(session, conversation, story.reason, moment - timedelta(minutes=story.queued_minutes_ago))
    if story.claimed_minutes_ago is not None:
        session.flush()
        claim_conversation(session, conversation.id, DEMO_SPECIALIST,
                           moment - timedelta(minutes=story.claimed_minutes_ago))  # fmt: skip


def demo_queue(stories: Sequence[Story] = STORIES) -> list[str]:
    """Return the loan numbers of the stories left waiting in the queue (for the docs and tests)."""
    return [story.loan_number for story in stories if story.reason and story.claimed_minutes_ago is None]
