"""Consent to the servicer's messages: revoked "by any reasonable means", in any of the 8 languages, at once.

"stop texting me", "no more messages", "ne m'écrivez plus", "pare de me mandar mensagens" (bot.nlu.revocation)
revoke every message the servicer starts on the channel; "no more reminders" only reminders, "stop the past due
messages" only collection messages. The revocation is recorded before anything else happens to the message,
even while a person holds the conversation, and confirmed once, in the borrower's language; said again, it is
not confirmed again. On SMS a revocation of everything is the carriers' STOP: nothing at all is sent until
START. On other channels the bot still answers what the borrower writes (an answer is not outreach), and a
specialist may still reply. START gives back everything. A revocation that raises a sensitive topic too ("stop
contacting me" asks to cease all contact; "...and talk to my attorney") goes to a specialist, silently: the
confirmation is the one message sent, and the specialist may record the cease-communication flag.
"""

from __future__ import annotations

from bot import nlu
from bot.i18n import say
from bot.turn import Turn
from servicing.conversations import EscalationReason, escalate, revoked_purposes
from servicing.outreach.policy import restore_consent, revoke_consent
from servicing.rules.contact import ALL_PURPOSES, Purpose

SMS = "sms"
# Whole-message keywords that revoke everything on any channel (SMS has the carriers' longer list).
STOP_WORDS = frozenset({"stop", "stopall", "unsubscribe", "optout", "revoke"})
START_WORDS = frozenset({"start", "unstop"})
OPTED_OUT = say(
    "You're unsubscribed from {servicer} texts and will receive no more messages. Reply START to resubscribe."
)
REVOKED_ALL = say(
    "Done: {servicer} will send you no more messages on this chat. We will still answer when you write to us. "
    "Write START to receive our messages again."
)
REVOKED_REMINDERS = say(
    "Done: no more payment reminders from {servicer} on this channel. Write START to get them again."
)
REVOKED_COLLECTION = say(
    "Done: no more messages about late payments from {servicer} on this channel. Notices the law requires may "
    "still be sent. Write START to get them again."
)
RESTORED = say("Welcome back: {servicer} will send you messages on this chat again.")
CONFIRMATIONS = {Purpose.REMINDER.value: REVOKED_REMINDERS, Purpose.COLLECTION.value: REVOKED_COLLECTION}


def keyword(text: str) -> str:
    """Return the message as a keyword candidate: lower case, without surrounding spaces or a final . or !."""
    return text.strip().rstrip(".!").strip().casefold()


def revocation_in(text: str) -> str | None:
    """Return what a message revokes (all, reminder, collection), or None."""
    if keyword(text) in STOP_WORDS:
        return ALL_PURPOSES
    return nlu.revocation(text)


def purposes_revoked(channel: str, scope: str) -> tuple[str, ...]:
    """Return the purposes a revocation of `scope` records on a channel: on SMS `all` is the carriers' STOP."""
    if scope != ALL_PURPOSES:
        return (scope,)
    return (ALL_PURPOSES,) if channel == SMS else tuple(purpose.value for purpose in Purpose)


def honour_revocation(turn: Turn, scope: str) -> None:
    """Record the revocation at once, confirm it once in the borrower's language, and hand a request to stop all
    contact to a specialist."""
    conversation = turn.conversation
    channel, address = conversation.channel, conversation.address
    new = revoke_consent(turn.session, channel, address, purposes_revoked(channel, scope), turn.now, actor="bot")
    turn.forget()
    if new:
        servicer = turn.settings.servicer_name
        if scope == ALL_PURPOSES:
            turn.say(OPTED_OUT if channel == SMS else REVOKED_ALL, servicer=servicer)
        else:
            turn.say(CONFIRMATIONS[scope], servicer=servicer)
    if nlu.sensitive_topic(turn.text) is not None:  # "stop contacting me", "...and talk to my attorney"
        escalate(turn.session, conversation, EscalationReason.SENSITIVE, turn.now)
        conversation.waiting_acknowledged = True  # the confirmation was the one message: the bot says no more


def answer_consent(turn: Turn) -> bool:
    """Honour a revocation, or a START after one; return True when the message was about consent."""
    scope = revocation_in(turn.text)
    if scope is not None:
        honour_revocation(turn, scope)
        return True
    conversation = turn.conversation
    if keyword(turn.text) in START_WORDS and revoked_purposes(turn.session, conversation.channel, conversation.address):
        restore_consent(turn.session, conversation.channel, conversation.address, turn.now, actor="bot")
        turn.say(RESTORED, servicer=turn.settings.servicer_name)
        return True
    return False
