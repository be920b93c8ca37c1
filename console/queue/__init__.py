"""The queue of conversations waiting for a person, the specialist's own, their presence, and the team.

The queue filters by channel, language, reason, SLA state and skill (query arguments), keeps each specialist's
saved views, and assigns or resolves ticked conversations in one POST. Supervisors see the team's presence and
load and reassign conversations. See docs/console-assignment.md.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers.response import Response

from console.queue.forms import BulkForm, DeleteViewForm, PresenceForm, ReassignForm, SaveViewForm
from console.queue.labels import presence_label, template_helpers
from console.security import audits_view, requires_role, sessions, user
from servicing.conversations import (
    AlreadyClaimed,
    ConversationError,
    claim_conversation,
    conversations_of,
    queue_length,
    sla_state,
    waiting_for,
    waiting_queue,
)
from servicing.specialists import Role
from servicing.staffing.assignment import assign_waiting_conversations
from servicing.staffing.bulk import BulkOutcome, assign_many, resolve_many, seen_version
from servicing.staffing.presence import StaffingError, set_presence
from servicing.staffing.queue_views import CHANNELS, QueueFilter, delete_view, save_view, saved_views
from servicing.staffing.skills import LANGUAGES, Skill
from servicing.staffing.team import Member, held_conversations, reassign_conversation, team_overview

bp = Blueprint("queue", __name__, url_prefix="/console/queue")
bp.context_processor(template_helpers)
SHOWN = 100
FILTER_FIELDS = ("channel", "language", "reason", "sla", "skill")


def offer_waiting_conversations() -> int:
    """Run the assignment now (a specialist became available or freed capacity); return how many were offered."""
    with sessions().begin() as session:
        return len(assign_waiting_conversations(session, datetime.now(UTC)))


def refused(error: StaffingError | ConversationError) -> str:
    """Return a refusal in the page's words."""
    return str(_("Not done: %(reason)s.", reason=str(error)))


@bp.get("/")
@requires_role(Role.SPECIALIST)
@audits_view("queue")
def index() -> tuple[str, int]:
    """Show the conversations waiting for a person (filtered), highest priority and longest wait first."""
    now, status, error = datetime.now(UTC), 200, None
    try:
        chosen = QueueFilter.from_arguments(request.args)
    except StaffingError as refusal:
        chosen, status, error = QueueFilter(), 400, refused(refusal)
    with sessions()() as session:
        conditions = chosen.conditions(now)
        entries = waiting_queue(session, SHOWN, conditions)
        total = queue_length(session, conditions) if len(entries) == SHOWN else len(entries)
        views = [(view.id, view.name, view.filters) for view in saved_views(session, user().id)]
        team = team_overview(session)
    page = render_template(
        "queue/index.html", entries=entries, total=total, now=now, mine=False, sla_state=sla_state,
        waiting_for=waiting_for, chosen=chosen, filter_error=error, views=views, **_forms(team),
    )  # fmt: skip
    return page, status


@bp.get("/mine")
@requires_role(Role.SPECIALIST)
@audits_view("queue")
def mine() -> str:
    """Show the conversations the logged-in specialist holds."""
    now = datetime.now(UTC)
    with sessions()() as session:
        entries = conversations_of(session, user().username, SHOWN)
        team = team_overview(session)
    return render_template("queue/index.html", entries=entries, total=len(entries), now=now, mine=True,
                           sla_state=sla_state, waiting_for=waiting_for, chosen=QueueFilter(), filter_error=None,
                           views=[], **_forms(team))  # fmt: skip


def _forms(team: list[Member]) -> dict[str, object]:
    """Return the forms the queue pages carry: save view, bulk (with the people to assign to)."""
    bulk = BulkForm()
    bulk.to.choices = [("", "—")] + [
        (member.username, f"{member.display_name} ({presence_label(member.presence)}, {member.load}/{member.capacity})")
        for member in team
    ]
    return {
        "save_form": SaveViewForm(), "delete_form": DeleteViewForm(), "bulk_form": bulk,
        "seen_version": seen_version, "channels": CHANNELS, "languages": LANGUAGES, "skills": [s.value for s in Skill],
        "may_assign_others": user().role.includes(Role.SUPERVISOR),
    }  # fmt: skip


@bp.post("/<int:conversation_id>/claim")
@requires_role(Role.SPECIALIST)
def claim(conversation_id: int) -> Response:
    """Claim a waiting conversation; when someone else was quicker, say so and go back to the queue."""
    try:
        with sessions().begin() as session:
            claim_conversation(session, conversation_id, user().username, datetime.now(UTC))
    except AlreadyClaimed:
        flash(_("Too late: someone else claimed it first."), "warning")
        return redirect(url_for("queue.index"))
    except ConversationError:
        flash(_("That conversation cannot be claimed."), "error")
        return redirect(url_for("queue.index"))
    return redirect(url_for("conversations.show", conversation_id=conversation_id))


@bp.post("/presence")
@requires_role(Role.SPECIALIST)
def presence() -> Response:
    """Set the specialist's presence; available runs the assignment, offline hands back unanswered conversations."""
    form = PresenceForm()
    back = redirect(_local(request.form.get("next")) or url_for("queue.index"))
    if not form.validate_on_submit():
        flash(_("Not done: choose available, away or offline."), "error")
        return back
    try:
        with sessions().begin() as session:
            handed_back = set_presence(session, user().username, form.presence.data or "", datetime.now(UTC))
    except StaffingError as error:
        flash(refused(error), "error")
        return back
    flash(_("Your status: %(presence)s.", presence=presence_label(form.presence.data or "")), "success")
    if handed_back:
        flash(ngettext("Back in the queue: %(num)d conversation you had not answered.",
                       "Back in the queue: %(num)d conversations you had not answered.",
                       len(handed_back)), "info")  # fmt: skip
    if form.presence.data == "available":
        offer_waiting_conversations()
    return back


def _local(target: str | None) -> str | None:
    """Return a path inside the console to go back to, never another site."""
    if target and target.startswith("/console/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


@bp.post("/views")
@requires_role(Role.SPECIALIST)
def save_queue_view() -> Response:
    """Keep the queue's current filters under a name for the specialist."""
    form = SaveViewForm()
    if not form.validate_on_submit():
        flash(_("Not saved: a view needs a name of at most 60 characters."), "error")
        return redirect(url_for("queue.index"))
    try:
        chosen = QueueFilter.from_arguments({name: str(form[name].data or "") for name in FILTER_FIELDS})
        with sessions().begin() as session:
            save_view(session, user().id, user().username, form.name.data or "", chosen)
    except StaffingError as error:
        flash(refused(error), "error")
        return redirect(url_for("queue.index"))
    flash(_("View saved."), "success")
    return redirect(url_for("queue.index", **chosen.arguments()))  # type: ignore[arg-type]


@bp.post("/views/<int:view_id>/delete")
@requires_role(Role.SPECIALIST)
def delete_queue_view(view_id: int) -> Response:
    """Delete one of the specialist's saved views."""
    if not DeleteViewForm().validate_on_submit():
        flash(_("Not done: the form expired. Try again."), "error")
        return redirect(url_for("queue.index"))
    try:
        with sessions().begin() as session:
            delete_view(session, user().id, user().username, view_id)
    except StaffingError as error:
        flash(refused(error), "error")
    else:
        flash(_("View deleted."), "success")
    return redirect(url_for("queue.index"))


@bp.post("/bulk")
@requires_role(Role.SPECIALIST)
def bulk() -> Response:
    """Resolve or assign the ticked conversations; those changed since the page was shown are skipped and named."""
    form = BulkForm()
    form.to.choices = []
    back = redirect(_local(request.form.get("next")) or url_for("queue.index"))
    seen = _ticked()
    if not form.validate_on_submit() or seen is None:
        flash(_("Not done: tick at least one conversation and choose what to do."), "error")
        return back
    me, now = user(), datetime.now(UTC)
    try:
        with sessions().begin() as session:
            if form.action.data == "assign":
                outcome = assign_many(session, seen, me.username, form.to.data or "", now,
                                      may_assign_others=me.role.includes(Role.SUPERVISOR))  # fmt: skip
            else:
                outcome = resolve_many(session, seen, me.username, now)
    except StaffingError as error:
        flash(refused(error), "error")
        return back
    _report(outcome)
    return back


def _ticked() -> list[tuple[int, str]] | None:
    """Return the ticked conversations with the version the page showed, or None when there are none or bad ones."""
    ticked = request.form.getlist("conversation")
    if not ticked or not all(value.isdigit() and len(value) < 12 for value in ticked):
        return None
    return [(int(value), request.form.get(f"seen-{value}", "")[:200]) for value in ticked]


def _report(outcome: BulkOutcome) -> None:
    if outcome.done:
        flash(ngettext("Done: %(num)d conversation.", "Done: %(num)d conversations.", len(outcome.done)), "success")
    for conversation_id, why in sorted(outcome.skipped.items()):
        flash(_("Skipped conversation %(id)d: %(why)s.", id=conversation_id, why=why), "warning")


@bp.get("/team")
@requires_role(Role.SUPERVISOR)
@audits_view("team")
def team() -> str:
    """Show everyone's presence, load against capacity, languages and skills, and the conversations they hold."""
    with sessions()() as session:
        members = team_overview(session)
        held = held_conversations(session)
    form = ReassignForm()
    form.to.choices = [(m.username, f"{m.display_name} ({presence_label(m.presence)}, {m.load}/{m.capacity})")
                       for m in members]  # fmt: skip
    return render_template("queue/team.html", members=members, held=held, form=form)


@bp.post("/<int:conversation_id>/reassign")
@requires_role(Role.SUPERVISOR)
def reassign(conversation_id: int) -> Response:
    """Give a conversation to another specialist (a supervisor's decision, audited)."""
    form = ReassignForm()
    back = redirect(_local(request.form.get("next")) or url_for("queue.team"))
    if not form.validate_on_submit():
        flash(_("Not done: choose who takes the conversation."), "error")
        return back
    try:
        with sessions().begin() as session:
            reassign_conversation(session, conversation_id, user().username, form.to.data or "", datetime.now(UTC))
    except StaffingError as error:
        flash(refused(error), "error")
        return back
    flash(_("Conversation %(id)d reassigned to %(username)s.", id=conversation_id, username=form.to.data), "success")
    offer_waiting_conversations()  # the previous holder has room again
    return back
