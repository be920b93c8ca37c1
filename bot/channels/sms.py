"""SMS through Twilio: the signed webhooks, the carrier keywords, and replies cut to fit in three segments.

`POST /sms/twilio` receives a borrower's SMS or MMS and answers with TwiML; `POST /sms/twilio/status`
receives Twilio's delivery reports for the messages the outbox sent. Both check `X-Twilio-Signature`
over the public URL (`LOANLINE_PUBLIC_URL` + path when set, else the URL of the request as Flask sees
it) and refuse anything unsigned, wrongly signed, or arriving when no auth token is configured.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, cast

from flask import Blueprint, Flask, Request, current_app, request
from sqlalchemy import ColumnElement, CursorResult, select, update
from sqlalchemy.orm import Session, sessionmaker
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.wrappers.response import Response

from bot import nlu
from bot.channels import links
from bot.channels.segments import MAX_SEGMENTS, fits, pages
from bot.consent import honour_revocation, revocation_in
from bot.engine import Engine
from bot.flood import flood_limit
from bot.flows import ask_to_verify, bot_answers
from bot.flows import respond as answer_the_borrower
from bot.i18n import Speaker, say
from bot.turn import InboundMessage, Reply, Turn
from bot.words import is_no, is_yes
from servicing.config import Settings
from servicing.conversations import bot_may_answer, is_opted_out, is_verified
from servicing.outreach.policy import restore_consent
from servicing.rules.contact import ALL_PURPOSES
from servicing.store.db import column_length, retried_when_disconnected
from servicing.store.models import Conversation, Message

log = logging.getLogger(__name__)
CHANNEL = "sms"
EXTENSION = "loanline.sms"

# Carrier keywords, matched on the whole message (case-insensitive, surrounding spaces and a final . or ! ignored).
OPT_OUT_WORDS = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"})
OPT_IN_WORDS = frozenset({"start", "unstop", "yes"})
HELP_WORDS = frozenset({"help", "info"})
# What carriers require us to honour from anyone, so the flood limit never silences them.
ALWAYS_HEARD = OPT_OUT_WORDS | HELP_WORDS | {"start", "unstop"}
# "please stop texting me", "unsubscribe me", "I want to opt out": not keywords, but the bot asks.
OPT_OUT_IN_A_SENTENCE = re.compile(
    r"\b(stop|quit)\b.*\b(text\w*|txt\w*|messag\w*|sms|send\w*|contact\w*)\b|\bunsubscribe\b|\bopt(ing)?[ -]?out\b",
    re.IGNORECASE | re.DOTALL,
)

# What the adapter itself tells borrowers, in their language (STOP, START and HELP stay the carriers' keywords).
OPTED_IN = say("You're subscribed again to {servicer} texts. Reply HELP for help, STOP to opt out.")
HELP_TEXT = say(
    "{servicer}: for help with your loan call {phone} or reply MENU. Msg&data rates may apply. Reply STOP to opt out."
)
OPT_OUT_OFFER = say("Do you want us to stop texting you? Reply YES to opt out of {servicer} texts, or NO to keep them.")
OPT_OUT_KEPT = say("OK, you'll keep getting our texts. Reply MENU to see what I can do.")
MORE_HINT = say("Reply MORE for the rest")
# MORE in each language's hint (and English MORE everywhere): the word that asks for the next page.
MORE_WORDS = frozenset({
    "more", "más", "mas", "plus", "mais", "mehr", "altro", "और", "lagi", "更多", "thêm", "them", "더보기", "더",
    "المزيد",
})  # fmt: skip

OFFER_NOTE = "sms_opt_out_offered"
PAGES_NOTE = "sms_pages"
PRIVATE_PAGES_NOTE = "sms_pages_verified"  # the pages were written in a verified session

# Twilio's message statuses in the order they happen; a late report never moves a message backwards. A
# delivery outranks a failure: a carrier's receipt can come after an `undelivered`, never the other way round.
STATUS_ORDER = {
    "accepted": 0, "scheduled": 0, "queued": 1, "sending": 2, "sent": 3,
    "undelivered": 4, "failed": 4, "delivered": 5, "read": 6,
}  # fmt: skip
MAX_MEDIA = 10  # Twilio delivers at most 10 media per MMS
# The form fields stored in a column of limited length: a longer one is refused (400), never cut or failed (500).
STORED_LENGTH = {"From": column_length(Conversation.address), "MessageSid": column_length(Message.provider_id)}

bp = Blueprint("sms", __name__, url_prefix="/sms")


@dataclass(frozen=True)
class SmsChannel:
    """What the SMS webhooks of one app share: its engine, its database and its settings."""

    engine: Engine
    sessions: sessionmaker[Session]
    settings: Settings


def register(app: Flask) -> None:
    """Mount the SMS webhooks on the app and build their engine once (the `loanline.blueprints` entry point)."""
    sessions: sessionmaker[Session] = app.extensions["loanline.sessions"]
    settings: Settings = app.extensions["loanline.settings"]
    engine = Engine(sessions, settings, respond=respond_by_sms, flood=flood_limit(settings),
                    heard_while_flooding=is_carrier_keyword)  # fmt: skip
    app.extensions[EXTENSION] = SmsChannel(engine, sessions, settings)
    if not settings.twilio_auth_token:
        log.warning("TWILIO_AUTH_TOKEN is not set: the SMS webhooks refuse every request")
    app.register_blueprint(bp)
    links.register(app)  # documents reach SMS borrowers as single-use links


def _channel() -> SmsChannel:
    channel: SmsChannel = current_app.extensions[EXTENSION]
    return channel


# -- the webhooks -------------------------------------------------------------------------------------


@bp.post("/twilio")
def inbound_sms() -> Response:
    """Answer a borrower's SMS or MMS with TwiML, after checking Twilio signed it."""
    channel = _channel()
    if not signed_by_twilio(request, channel.settings):
        return Response("invalid signature\n", status=403, content_type="text/plain")
    sender, sid = request.form.get("From", "").strip(), request.form.get("MessageSid", "").strip()
    if not sender or not sid:
        return Response("From and MessageSid are required\n", status=400, content_type="text/plain")
    for field, value in (("From", sender), ("MessageSid", sid)):
        if len(value) > STORED_LENGTH[field]:
            return Response(f"{field} is longer than {STORED_LENGTH[field]} characters\n", status=400,
                            content_type="text/plain")  # fmt: skip
    inbound = InboundMessage(CHANNEL, sender, request.form.get("Body", ""), provider_id=sid,
                             attachments=media_of(request.form))  # fmt: skip
    replies = channel.engine.handle(inbound)
    return twiml(replies)


@bp.post("/twilio/status")
def delivery_status() -> Response:
    """Record Twilio's delivery report for a message the outbox sent; unknown messages are ignored."""
    channel = _channel()
    if not signed_by_twilio(request, channel.settings):
        return Response("invalid signature\n", status=403, content_type="text/plain")
    sid = request.form.get("MessageSid") or request.form.get("SmsSid") or ""
    status = (request.form.get("MessageStatus") or request.form.get("SmsStatus") or "").strip().lower()
    if sid and status in STATUS_ORDER:
        error_code, now = request.form.get("ErrorCode") or None, channel.engine.clock()

        def record() -> None:
            with channel.sessions.begin() as session:
                record_delivery_status(session, sid, status, error_code, now)

        retried_when_disconnected(record)
    return Response("", status=200, content_type="text/plain")


def signed_by_twilio(incoming: Request, settings: Settings) -> bool:
    """Tell whether `X-Twilio-Signature` matches the public URL and the form, under the account's auth token."""
    signature = incoming.headers.get("X-Twilio-Signature", "")
    if not settings.twilio_auth_token or not signature:
        return False
    validator = RequestValidator(settings.twilio_auth_token)
    return bool(validator.validate(public_url(incoming, settings), incoming.form, signature))


def public_url(incoming: Request, settings: Settings) -> str:
    """Return the URL Twilio requested: LOANLINE_PUBLIC_URL plus the path and query when set, else the request URL."""
    if not settings.public_url:
        return incoming.url
    query = incoming.query_string.decode("latin-1")
    return settings.public_url.rstrip("/") + incoming.path + (f"?{query}" if query else "")


def media_of(form: Any) -> tuple[dict[str, Any], ...]:
    """Return an MMS's media as attachments: each with its URL and content type."""
    try:
        count = min(int(form.get("NumMedia", "0") or 0), MAX_MEDIA)
    except ValueError:
        return ()
    media = []
    for index in range(max(count, 0)):
        url = form.get(f"MediaUrl{index}")
        if url:
            media.append({"url": url, "content_type": form.get(f"MediaContentType{index}", "")})
    return tuple(media)


def twiml(replies: list[Reply]) -> Response:
    """Return the replies as a TwiML document (empty when the bot stays silent)."""
    document = MessagingResponse()
    for reply in replies:
        document.message(reply.text)
    return Response(str(document), status=200, content_type="application/xml")


def record_delivery_status(session: Session, sid: str, status: str, error_code: str | None, now: datetime) -> bool:
    """Move an outbound message's delivery status forward from a Twilio report; return False for an unknown sid.

    Reports arrive late, out of order, twice, and on two workers at once: one conditional UPDATE changes the
    message only when the report is a later step than the stored status, so a report never moves it
    backwards (`failed` after `delivered`) and a replayed one changes nothing (not even the delivery time).
    """
    not_earlier = [name for name, rank in STATUS_ORDER.items() if rank >= STATUS_ORDER[status]]
    changes: dict[str, Any] = {"status": status}
    if error_code:
        changes["error_code"] = error_code[:16]
    if status == "delivered":
        changes["delivered_at"] = now
    moved = session.execute(
        update(Message)
        .where(*_sent_by_sms(sid), Message.status.not_in(not_earlier))
        .values(changes)
        .execution_options(synchronize_session=False)
    )
    return (
        bool(cast(CursorResult[Any], moved).rowcount)
        or session.scalar(select(Message.id).where(*_sent_by_sms(sid))) is not None
    )


def _sent_by_sms(sid: str) -> tuple[ColumnElement[bool], ...]:
    return Message.channel == CHANNEL, Message.direction == "out", Message.provider_id == sid


# -- keywords, opt-out and paging, before and after the engine ----------------------------------------


def respond_by_sms(turn: Turn) -> None:
    """Answer an SMS: carrier keywords and opt-out first, MORE pages next, then the bot, paged to fit."""
    text = turn.inbound.text
    word = keyword(text)
    offered = bool(turn.remembered(OFFER_NOTE))
    if offered:
        turn.remember(**{OFFER_NOTE: None})
    opted_out = is_opted_out(turn.session, CHANNEL, turn.conversation.address)
    if word in OPT_OUT_WORDS or (offered and is_yes(text) and not opted_out):
        opt_out(turn)
    elif opted_out:
        answer_opted_out(turn, word)
    elif word in HELP_WORDS:
        help_reply(turn)
    elif word in {"start", "unstop"}:
        opt_in(turn)
    elif offered and is_no(text):
        turn.say(OPT_OUT_KEPT)
    elif (scope := revocation_in(text)) is not None:  # "stop texting me", "no more reminders": honoured at once
        drop_pages(turn)
        honour_revocation(turn, scope)
    elif word in MORE_WORDS and turn.remembered(PAGES_NOTE):
        more(turn)
    elif OPT_OUT_IN_A_SENTENCE.search(text):
        offer_opt_out(turn)
    else:
        answer_by_the_bot(turn)


def answer_by_the_bot(turn: Turn) -> None:
    """Let the engine's flows answer, then cut what they said to fit in SMS."""
    drop_pages(turn)
    answer_the_borrower(turn)
    turn.replies = kept_quotes(turn.replies, paged(turn, [as_sms_text(reply) for reply in turn.replies]))


def is_carrier_keyword(inbound: InboundMessage) -> bool:
    """Tell whether a message is STOP, START, HELP or one of their synonyms: answered even from a flooding sender."""
    return keyword(inbound.text) in ALWAYS_HEARD


def more(turn: Turn) -> None:
    """Send the next page only after the checks every message meets: a person's hold, the lock, verification.

    Pages written in a verified session are sent only while it lasts; once it has ended, the rest is dropped
    and the borrower verifies again (then sees the menu to ask anew).
    """
    private = bool(turn.remembered(PRIVATE_PAGES_NOTE))
    if not bot_answers(turn):
        drop_pages(turn)
    elif private and not is_verified(turn.conversation, turn.now):
        drop_pages(turn)
        ask_to_verify(turn, "help")
        turn.replies = paged(turn, [as_sms_text(reply) for reply in turn.replies])
    else:
        next_page(turn)


def drop_pages(turn: Turn) -> None:
    """Forget the pages of an earlier answer that were waiting for MORE."""
    turn.remember(**{PAGES_NOTE: None, PRIVATE_PAGES_NOTE: None})


def keyword(text: str) -> str:
    """Return the message as a keyword candidate: lower case (NFC), without surrounding spaces or a final . or !."""
    return unicodedata.normalize("NFC", text.strip().rstrip(".!。！").strip().casefold())


def offer_opt_out(turn: Turn) -> None:
    """Ask whether to opt out; a sensitive message (an attorney, a complaint) still goes to a person first."""
    if nlu.sensitive_topic(turn.text) is not None:
        answer_by_the_bot(turn)
    else:
        turn.remember(**{PAGES_NOTE: None})
    turn.remember(**{OFFER_NOTE: True})
    turn.say(OPT_OUT_OFFER, servicer=turn.settings.servicer_name)


def opt_out(turn: Turn) -> None:
    """Record the opt-out of everything and confirm it once; a number already opted out hears nothing more."""
    drop_pages(turn)
    honour_revocation(turn, ALL_PURPOSES)
    log.info("conversation %s: opted out of SMS", turn.conversation.id)


def opt_in(turn: Turn) -> None:
    """Give back everything the number revoked (START, UNSTOP, or YES after STOP) and say so."""
    if restore_consent(turn.session, CHANNEL, turn.conversation.address, turn.now, actor="bot"):
        log.info("conversation %s: opted back in to SMS", turn.conversation.id)
    turn.say(OPTED_IN, servicer=turn.settings.servicer_name)


def answer_opted_out(turn: Turn, word: str) -> None:
    """Answer an opted-out number: START, UNSTOP or YES opt back in, HELP is answered, anything else is silence."""
    if word in OPT_IN_WORDS:
        opt_in(turn)
    elif word in HELP_WORDS:
        help_reply(turn)


def help_reply(turn: Turn) -> None:
    """Answer HELP: who is texting, how to reach them, how to opt out."""
    turn.say(HELP_TEXT, servicer=turn.settings.servicer_name, phone=turn.settings.servicer_phone)


def more_suffix(speaker: Speaker) -> str:
    """Return what ends every page but the last: the hint to reply MORE, in the borrower's language."""
    return "\n" + speaker.say(MORE_HINT)


def as_sms_text(reply: Reply) -> str:
    """Return a reply as plain SMS text: its options become a numbered list."""
    lines = [reply.text, *(f"{position} {label}" for position, (label, _) in enumerate(reply.options, start=1))]
    return "\n".join(lines)


QUOTE_PREFIX = 60  # a page whose first characters begin a reply is that reply (or its first page)


def kept_quotes(said: list[Reply], sent: list[Reply]) -> list[Reply]:
    """Give each SMS page that starts a reply the figures that reply quoted (the console's handoff summary reads
    them from the stored message): paging rebuilt the replies as plain text."""
    quotes = {as_sms_text(reply): reply.quoted for reply in said if reply.quoted is not None}
    if not quotes:
        return sent
    kept = []
    for reply in sent:
        quoted = next((q for text, q in quotes.items() if text.startswith(reply.text[:QUOTE_PREFIX])), None)
        kept.append(replace(reply, quoted=quoted) if quoted is not None else reply)
    return kept


def paged(turn: Turn, texts: list[str]) -> list[Reply]:
    """Return the replies to send now; a reply too long for 3 segments is cut and the rest waits for MORE.

    After a handoff the bot no longer answers MORE, so every page is sent at once.
    """
    if not bot_may_answer(turn.conversation):
        return [Reply(page) for text in texts for page in pages(text, "", MAX_SEGMENTS)]
    now: list[Reply] = []
    waiting: list[str] = []
    for text in texts:
        if waiting:
            waiting.append(text)
        elif fits(text, MAX_SEGMENTS):
            now.append(Reply(text))
        else:
            first, *rest = pages(text, more_suffix(turn.speaker), MAX_SEGMENTS)
            now.append(Reply(first))
            waiting.extend(rest)
    if waiting:
        turn.remember(**{PAGES_NOTE: waiting, PRIVATE_PAGES_NOTE: is_verified(turn.conversation, turn.now) or None})
    return now


def next_page(turn: Turn) -> None:
    """Send the next page of a long answer; replies that followed it come after its last page."""
    private = turn.remembered(PRIVATE_PAGES_NOTE)
    page, *rest = list(turn.remembered(PAGES_NOTE) or [""])
    drop_pages(turn)
    if page.endswith(more_suffix(turn.speaker)):
        turn.replies = [Reply(page)]
        turn.remember(**{PAGES_NOTE: rest or None, PRIVATE_PAGES_NOTE: private})
    else:
        turn.replies = [Reply(page), *paged(turn, rest)]
