"""The specialists' desk: macros (managed by supervisors, applied on a conversation), and notifications of
@mentions, with the unread count every page's header shows. See docs/console-working-faster.md."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy.orm import Session
from werkzeug.wrappers.response import Response

from console.arguments import servicer_today
from console.queue import offer_waiting_conversations
from console.queue.labels import REASONS, skill_label
from console.security import audits_view, requires_role, sessions, user
from servicing.canned import CANNED
from servicing.conversations import UnverifiedDisclosure
from servicing.desk.macros import (
    SHORTCUTS,
    MacroDraft,
    active_macros,
    apply_macro,
    change_macro,
    define_macro,
    retire_macro,
)
from servicing.desk.mentions import mark_notifications_read, notifications_of, unread_notifications
from servicing.errors import ServicingError
from servicing.queries import current_date
from servicing.specialists import Role
from servicing.staffing.skills import Skill

bp = Blueprint("desk", __name__, url_prefix="/console")
CONFIRM_DISCLOSURE = "confirm_disclosure"
NOT_PAGES = frozenset({None, "static", "conversations.messages", "conversations.attachment"})


def shows_desk() -> bool:
    """Tell whether the request is a console page whose header shows the unread notifications (a signed-in GET)."""
    if request.method != "GET" or request.endpoint in NOT_PAGES or not request.path.startswith("/console"):
        return False
    return bool(current_user.is_authenticated)


def load_desk(session: Session) -> None:
    """Read the unread count every page's header shows and, for a conversation page, the macros in use.

    Called before the view opens its own transaction (`console.navigation.read_page_header`, one transaction
    with the nav's other count): a second transaction inside the view's would wait on SQLite's lock.
    """
    g.unread_notifications = unread_notifications(session, user().username)
    if request.endpoint == "conversations.show":
        g.macros_in_use = active_macros(session)
        session.expunge_all()


@bp.app_context_processor
def desk_helpers() -> dict[str, Any]:
    """Give every page the unread notifications count, and conversation pages the macros in use."""
    return {"unread_notifications": g.get("unread_notifications", 0), "macros_in_use": g.get("macros_in_use", [])}


def draft_from_form() -> MacroDraft:
    """Return the macro form's fields as a draft (the core checks them)."""
    form = request.form
    return MacroDraft(
        name=form.get("name", "")[:200], shortcut=form.get("shortcut") or None,
        canned_key=form.get("canned_key") or None, note=form.get("note") or None, reason=form.get("reason") or None,
        resolve=form.get("resolve") == "yes", survey=form.get("survey") == "yes",
        transfer_to=form.get("transfer_to", "")[:32] or None,
    )  # fmt: skip


# -- macros: the supervisor's page ------------------------------------------------------------------------


@bp.get("/macros/")
@requires_role(Role.SUPERVISOR)
@audits_view("macros")
def macros() -> str:
    """List the macros in use, each editable, and a form to define another."""
    with sessions()() as session:
        in_use = active_macros(session)
        session.expunge_all()
    return render_template("desk/macros.html", macros=in_use, canned=[c.key for c in CANNED], reasons=REASONS,
                           shortcuts=SHORTCUTS, skills=[skill.value for skill in Skill],
                           skill_label=skill_label)  # fmt: skip


@bp.post("/macros/")
@requires_role(Role.SUPERVISOR)
def define() -> Response:
    """Define a macro; a bad form is refused with the reason and changes nothing."""
    try:
        with sessions().begin() as session:
            macro = define_macro(session, draft_from_form(), user().username, datetime.now(UTC))
            name = macro.name
    except ServicingError as error:
        flash(_("Not done: %(reason)s.", reason=str(error)), "error")
    else:
        flash(_("Macro %(name)s saved.", name=name), "success")
    return redirect(url_for("desk.macros"))


@bp.post("/macros/<int:macro_id>")
@requires_role(Role.SUPERVISOR)
def change(macro_id: int) -> Response:
    """Change a macro; a bad form is refused with the reason and changes nothing."""
    try:
        with sessions().begin() as session:
            change_macro(session, macro_id, draft_from_form(), user().username, datetime.now(UTC))
    except ServicingError as error:
        flash(_("Not done: %(reason)s.", reason=str(error)), "error")
    else:
        flash(_("Macro saved."), "success")
    return redirect(url_for("desk.macros"))


@bp.post("/macros/<int:macro_id>/retire")
@requires_role(Role.SUPERVISOR)
def retire(macro_id: int) -> Response:
    """Stop offering a macro (it stays on file for the audit log)."""
    try:
        with sessions().begin() as session:
            retire_macro(session, macro_id, user().username, datetime.now(UTC))
    except ServicingError as error:
        flash(_("Not done: %(reason)s.", reason=str(error)), "error")
    else:
        flash(_("Macro retired."), "success")
    return redirect(url_for("desk.macros"))


# -- macros: applied on a conversation --------------------------------------------------------------------


@bp.post("/conversations/<int:conversation_id>/macro")
@requires_role(Role.SPECIALIST)
def apply(conversation_id: int) -> Response:
    """Apply the macro chosen (its button, or Alt+its digit) to the conversation: every step or none."""
    macro_id = request.form.get("macro", type=int)
    me, now = user(), datetime.now(UTC)
    back = redirect(url_for("conversations.show", conversation_id=conversation_id))
    if macro_id is None:
        flash(_("Not done: choose a macro."), "error")
        return back
    try:
        with sessions().begin() as session:
            applied = apply_macro(session, conversation_id, macro_id, me.username, now,
                                  specialist_name=me.display_name, today=current_date(session, servicer_today()),
                                  disclosure_confirmed=request.form.get(CONFIRM_DISCLOSURE) == "yes")  # fmt: skip
    except UnverifiedDisclosure:
        flash(_("Not done: this macro's reply tells loan figures, and the borrower has not verified on this "
                "conversation. Tick the confirmation beside the macros to apply it anyway."), "error")  # fmt: skip
        return back
    except ServicingError as error:
        flash(_("Not done: %(reason)s.", reason=str(error)), "error")
        return back
    if applied.transferred_to is not None:
        flash(_("Macro %(name)s applied: sent to the %(queue)s queue.", name=applied.macro,
                queue=skill_label(applied.transferred_to)), "success")  # fmt: skip
    else:
        flash(_("Macro %(name)s applied.", name=applied.macro), "success")
    if not applied.handed_on:
        return back
    offer_waiting_conversations()  # the queue it went to, and the room it left with this specialist
    return redirect(url_for("queue.mine"))


# -- notifications -------------------------------------------------------------------------------------------


@bp.get("/notifications/")
@requires_role(Role.SPECIALIST)
@audits_view("notifications")
def notifications() -> str:
    """List the specialist's notifications (notes that mention them), the newest first, unread marked."""
    with sessions()() as session:
        lines = notifications_of(session, user().username)
    return render_template("desk/notifications.html", lines=lines)


@bp.post("/notifications/read")
@requires_role(Role.SPECIALIST)
def mark_read() -> Response:
    """Mark every notification read."""
    with sessions().begin() as session:
        count = mark_notifications_read(session, user().username, datetime.now(UTC))
    flash(ngettext("%(num)d notification marked read.", "%(num)d notifications marked read.", count), "success")
    return redirect(url_for("desk.notifications"))
