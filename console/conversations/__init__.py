"""One conversation: transcript, verification state, replies, notes, resolve, unassign and transfer.

The page polls `conversations.messages` (console/static/conversation.js) for messages newer than the last
one it shows; the script builds them with `textContent`, so borrower text is never parsed as HTML.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from werkzeug.wrappers.response import Response

from console.arguments import servicer_today, settings
from console.contact import contact_helpers
from console.explaining import asked_in_conversation, explanation_helpers
from console.loans.promises import PromiseLabels
from console.queue import offer_waiting_conversations
from console.queue.labels import Words, skill_label, template_helpers
from console.security import audits_view, requires_role, sessions, user
from servicing.audit import record_audit
from servicing.canned import canned_responses, reply_with_canned
from servicing.conversations import (
    BorrowerOptedOut,
    ConversationError,
    ConversationState,
    UnverifiedDisclosure,
    borrower_paused_until,
    has_messages_before,
    is_locked,
    is_opted_out,
    is_verified,
    mask_address,
    messages_after,
    reply_to_borrower,
    sla_state,
    sla_target,
    transcript_page,
    transfer_to_specialist,
    unassign_conversation,
    waiting_for,
)
from servicing.desk.mentions import note_with_mentions
from servicing.desk.satisfaction import resolve_with_survey
from servicing.handoff.summary import handoff_summary
from servicing.outreach.flags import contact_overview
from servicing.outreach.promises import promises_of_borrower
from servicing.queries import current_date, loan_numbers_of_borrower
from servicing.speaking import text_direction
from servicing.specialists import Role
from servicing.staffing.skills import Skill
from servicing.staffing.team import team_overview, transfer_to_skill_queue
from servicing.store.models import Borrower, Conversation, Message

bp = Blueprint("conversations", __name__, url_prefix="/console/conversations")
bp.context_processor(template_helpers)
bp.context_processor(contact_helpers)
bp.context_processor(explanation_helpers)
SKILL_QUEUE = "skill:"  # the transfer picker's value for a skill queue, before the skill
CONFIRM_DISCLOSURE = "confirm_disclosure"  # the reply form's checkbox: send figures to an unverified borrower
# The handoff summary's words for what the bot answered and the figures it quoted (servicing/handoff/summary.py).
SUMMARY_WORDS = {
    "balance": _l("Balance"),
    "next_payment": _l("Next payment"),
    "payoff": _l("Payoff"),
    "escrow": _l("Escrow"),
    "principal_balance": _l("principal balance"),
    "amount_due": _l("amount due"),
    "due_date": _l("due date"),
    "days_past_due": _l("days past due"),
    "monthly_payment": _l("monthly payment"),
    "payoff_total": _l("payoff amount"),
    "good_through": _l("good through"),
    "per_diem": _l("per day after that"),
    "escrow_balance": _l("escrow balance"),
}


@dataclass(frozen=True)
class Verification:
    """The borrower's verification state on this conversation, as the page shows it."""

    verified_until: datetime | None
    locked_until: datetime | None
    failed_attempts: int
    borrower_paused_until: datetime | None = None  # failures against this borrower in any chat paused them


def today(session: Session) -> date:
    """Return the business date (LOANLINE_TODAY, then the clock, on a database where end of day never ran)."""
    return current_date(session, servicer_today())


def loan_url(loan_number: str) -> str:
    """Return the loan page's URL (a plain path until the loans blueprint has its page)."""
    if "loans.show" in current_app.view_functions:
        return url_for("loans.show", loan_number=loan_number)
    return f"/console/loans/{loan_number}"


def verification_of(conversation: Conversation, now: datetime, paused_until: datetime | None = None) -> Verification:
    """Return what the page says about verification: verified until, locked until, failed attempts, paused."""
    return Verification(
        conversation.verified_until if is_verified(conversation, now) else None,
        conversation.locked_until if is_locked(conversation, now) else None,
        conversation.failed_attempts,
        paused_until,
    )


def attachment_links(message: Message) -> list[dict[str, str]]:
    """Return a message's attachments as links through the audited attachment route."""
    return [
        {
            "url": url_for(
                "conversations.attachment", conversation_id=message.conversation_id, message_id=message.id, index=index
            ),
            "content_type": str(item.get("content_type") or ""),
        }
        for index, item in enumerate(message.attachments or [])
    ]


def message_json(message: Message, words: Words) -> dict[str, Any]:
    """Return a message as the polling script reads it (plain data: the script escapes it)."""
    return {
        "id": message.id,
        "direction": message.direction,
        "author": message.author,
        "body": message.body,
        "dir": text_direction(message.body),
        "status": message.status,
        "status_label": words.status(message.status),
        "error_code": message.error_code,
        "internal": message.internal,
        "at": message.created_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
        "attachments": attachment_links(message),
    }


def _held_by_me(conversation: Conversation) -> bool:
    return conversation.state == ConversationState.ASSIGNED.value and conversation.assigned_to == user().username


def _back(conversation_id: int) -> Response:
    return redirect(url_for("conversations.show", conversation_id=conversation_id))


def _refused(error: ConversationError) -> None:
    if isinstance(error, BorrowerOptedOut):
        flash(_("The borrower opted out of this channel: nothing was sent."), "error")
    elif isinstance(error, UnverifiedDisclosure):
        flash(
            _("Not sent: this reply tells loan figures or a full loan number, and the borrower has not verified "
              "on this conversation. Tick the confirmation below the reply box to send it anyway."),
            "error",
        )  # fmt: skip
    else:
        flash(_("Not done: %(reason)s.", reason=str(error)), "error")


# -- pages --------------------------------------------------------------------------------------------


@bp.get("/<int:conversation_id>")
@requires_role(Role.SPECIALIST)
@audits_view("conversation", id_argument="conversation_id")
def show(conversation_id: int) -> str:
    """Show a conversation: the latest messages (older ones page back), the borrower, replies and actions."""
    before = request.args.get("before", type=int)
    now = datetime.now(UTC)
    with sessions()() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            abort(404)
        messages = transcript_page(session, conversation_id, before=before)
        older = bool(messages) and has_messages_before(session, conversation_id, messages[0].id)
        borrower = session.get(Borrower, conversation.borrower_id) if conversation.borrower_id else None
        loans = loan_numbers_of_borrower(session, borrower.id) if borrower else []
        canned = canned_responses(session, conversation, user().display_name, today(session))
        opted_out = is_opted_out(session, conversation.channel, conversation.address)
        paused_until = borrower_paused_until(session, borrower.id, now) if borrower else None
        promises = promises_of_borrower(session, borrower.id, limit=5) if borrower else []
        contact = contact_overview(session, borrower.id) if borrower else None
        explained = asked_in_conversation(session, conversation, today(session))  # the bot's answers, from the ledger
        people = [member for member in team_overview(session) if member.username != user().username]
        summary = handoff_summary(session, conversation, now=now, canned=canned)
        session.expunge_all()
    return render_template(
        "conversations/show.html", conversation=conversation, messages=messages, older=older, paged=before,
        borrower=borrower, loans=[(number, loan_url(number)) for number in loans], canned=canned,
        opted_out=opted_out, held_by_me=_held_by_me(conversation), now=now,
        unconfigured=conversation.channel in settings().unconfigured_channels(),
        verification=verification_of(conversation, now, paused_until), address=mask_address(conversation.channel,
        conversation.address), attachments=attachment_links, sla_state=sla_state, sla_target=sla_target,
        waiting_for=waiting_for, last_id=max((m.id for m in messages), default=0) if before is None else None,
        promises=promises, promise_labels=PromiseLabels.now(),
        contact=contact, explained=explained, transfer_people=people,
        skill_queues=[(SKILL_QUEUE + skill.value, skill.value) for skill in Skill],
        summary=summary, summary_words=SUMMARY_WORDS,
    )  # fmt: skip


@bp.get("/<int:conversation_id>/messages")
@requires_role(Role.SPECIALIST)
def messages(conversation_id: int) -> Response:
    """Return, as JSON, the messages newer than `after`; audited as a view only when it shows something new.

    The page polls this every few seconds: the page view itself is audited by `show`, and a poll that brings
    nothing new shows no borrower data, so it writes nothing (the audit log would otherwise fill with polls).
    """
    after = request.args.get("after", default=0, type=int)
    with sessions().begin() as session:
        conversation = session.get(Conversation, conversation_id)
        if conversation is None:
            abort(404)
        words = Words()
        newer = [message_json(message, words) for message in messages_after(session, conversation_id, after)]
        if newer:
            record_audit(session, user().username, "view", "conversation", str(conversation_id),
                         {"path": request.path, "messages": len(newer)})  # fmt: skip
        state = conversation.state
    return jsonify({"messages": newer, "state": state})


@bp.get("/<int:conversation_id>/attachments/<int:message_id>/<int:index>")
@requires_role(Role.SPECIALIST)
@audits_view("conversation", id_argument="conversation_id")
def attachment(conversation_id: int, message_id: int, index: int) -> Response:
    """Open an attachment a borrower sent (an MMS image) at the provider's URL, after auditing the view."""
    with sessions()() as session:
        message = session.get(Message, message_id)
        if message is None or message.conversation_id != conversation_id:
            abort(404)
        media = message.attachments or []
        if not 0 <= index < len(media):
            abort(404)
        url = str(media[index].get("url") or "")
    if urlsplit(url).scheme not in ("https", "http"):
        abort(404)
    return redirect(url)


# -- actions ------------------------------------------------------------------------------------------


@bp.post("/<int:conversation_id>/reply")
@requires_role(Role.SPECIALIST)
def reply(conversation_id: int) -> Response:
    """Send the specialist's reply (typed, or a canned response rendered by the server from its key).

    Loan figures or a full loan number to a borrower who has not verified go only with `confirm_disclosure`.
    """
    canned = request.form.get("canned", "").strip()
    body = request.form.get("body", "")
    confirmed = request.form.get(CONFIRM_DISCLOSURE) == "yes"
    me, now = user(), datetime.now(UTC)
    try:
        with sessions().begin() as session:
            if canned:
                reply_with_canned(session, conversation_id, me.username, canned, now, specialist_name=me.display_name,
                                  today=today(session), disclosure_confirmed=confirmed)  # fmt: skip
            else:
                reply_to_borrower(session, conversation_id, me.username, body, now, disclosure_confirmed=confirmed)
    except ConversationError as error:
        _refused(error)
    else:
        flash(_("Reply queued for the borrower."), "success")
    return _back(conversation_id)


@bp.post("/<int:conversation_id>/note")
@requires_role(Role.SPECIALIST)
def note(conversation_id: int) -> Response:
    """Keep an internal note on the conversation; the borrower never sees it."""
    try:
        with sessions().begin() as session:
            kept = note_with_mentions(session, conversation_id, user().username, request.form.get("body", ""),
                                      datetime.now(UTC))  # fmt: skip
    except ConversationError as error:
        _refused(error)
    else:
        flash(_("Note saved."), "success")
        if kept.notified:
            flash(_("Notified: %(names)s.", names=", ".join(kept.notified)), "success")
    return _back(conversation_id)


@bp.post("/<int:conversation_id>/resolve")
@requires_role(Role.SPECIALIST)
def resolve(conversation_id: int) -> Response:
    """Resolve the conversation: the bot takes over again and tells the borrower; with `survey`, the borrower is
    asked to rate the help (through the contact policy)."""
    survey = request.form.get("survey") == "yes"
    try:
        with sessions().begin() as session:
            resolve_with_survey(session, conversation_id, user().username, datetime.now(UTC), survey=survey)
    except ConversationError as error:
        _refused(error)
        return _back(conversation_id)
    flash(_("Resolved: the assistant answers this borrower again."), "success")
    offer_waiting_conversations()  # the specialist has room for the next one
    return redirect(url_for("queue.mine"))


@bp.post("/<int:conversation_id>/unassign")
@requires_role(Role.SPECIALIST)
def unassign(conversation_id: int) -> Response:
    """Put the conversation back in the queue, keeping its place."""
    try:
        with sessions().begin() as session:
            unassign_conversation(session, conversation_id, user().username)
    except ConversationError as error:
        _refused(error)
        return _back(conversation_id)
    flash(_("Back in the queue."), "success")
    offer_waiting_conversations()
    return redirect(url_for("queue.index"))


@bp.post("/<int:conversation_id>/transfer")
@requires_role(Role.SPECIALIST)
def transfer(conversation_id: int) -> Response:
    """Hand the conversation to another specialist (a username) or to a skill's queue (`skill:<skill>`).

    A conversation sent to a skill queue waits there for the assignment, which runs at once.
    """
    to = request.form.get("to", "")[:64]
    queue = to.removeprefix(SKILL_QUEUE) if to.startswith(SKILL_QUEUE) else None
    try:
        with sessions().begin() as session:
            if queue is not None:
                transfer_to_skill_queue(session, conversation_id, user().username, queue)
            else:
                transfer_to_specialist(session, conversation_id, user().username, to, datetime.now(UTC))
    except ConversationError as error:
        _refused(error)
        return _back(conversation_id)
    if queue is not None:
        flash(_("Sent to the %(queue)s queue.", queue=skill_label(queue)), "success")
    else:
        flash(_("Transferred to %(username)s.", username=to.strip().lower()), "success")
    offer_waiting_conversations()
    return redirect(url_for("queue.mine"))
