"""Approvals: the money-moving requests waiting for a second person, and approving or rejecting one.

A maker's request (console/loans/four_eyes.py) waits here. A supervisor or admin who is not the maker approves it
(the action runs then, once, if the loan is as the page showed it) or rejects it with a note; until then the maker
may withdraw it. The three share one path (`_decided`): check the form, decide in one transaction, flash what
happened. docs/console-loans.md.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response
from wtforms import HiddenField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, Optional

from console.loans.four_eyes import circumstances, effect_helpers, flash_form_errors, refusal_message
from console.loans.labels import label_helpers, word
from console.security import audits_view, requires_role, sessions, user
from servicing.approvals.effects import Effect
from servicing.approvals.requests import (
    APPROVED,
    CHECKER_ROLE,
    NOTE_LENGTH,
    PENDING,
    REJECTED,
    WITHDRAWN,
    ApprovalRefused,
    Decision,
    StaleRequest,
    approve_request,
    get_request,
    recompute,
    reject_request,
    requests_page,
    withdraw_request,
)
from servicing.errors import ServicingError
from servicing.specialists import Role

bp = Blueprint("approvals", __name__, url_prefix="/console/approvals")
bp.context_processor(label_helpers)
bp.context_processor(effect_helpers)
LIST_ROLE = Role.SPECIALIST  # makers follow their requests; only checkers decide
STATUSES = (PENDING, APPROVED, REJECTED, WITHDRAWN)


class ApproveForm(FlaskForm):
    """Approving a request: the loan's state the checker's page showed."""

    seen_state = HiddenField(validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("Approve"))


class RejectForm(FlaskForm):
    """Rejecting a request, with the note why (the maker reads it)."""

    note = StringField(_l("Why not"), validators=[DataRequired(), Length(max=NOTE_LENGTH)])
    submit = SubmitField(_l("Reject"))


class WithdrawForm(FlaskForm):
    """The maker withdrawing their own request, with an optional note why."""

    note = StringField(_l("Why (optional)"), validators=[Optional(), Length(max=NOTE_LENGTH)])
    submit = SubmitField(_l("Withdraw my request"))


@bp.get("/")
@requires_role(LIST_ROLE)
@audits_view("approvals")
def index() -> str:
    """List the requests waiting for approval (oldest first), or the latest approved or rejected ones."""
    status = request.args.get("status", PENDING)
    if status not in STATUSES:
        status = PENDING
    with sessions()() as session:
        rows = requests_page(session, status)
    return render_template("approvals/index.html", rows=rows, status=status, statuses=STATUSES)


@bp.get("/<int:request_id>")
@requires_role(LIST_ROLE)
@audits_view("approval_request", id_argument="request_id")
def show(request_id: int) -> str:
    """Show a request: what the maker saw, the effect on the loan now, and the checker's buttons."""
    with sessions()() as session:
        try:
            kept, loan_number = get_request(session, request_id)
        except ApprovalRefused:
            abort(404)
        now_effect, refused = None, None
        if kept.status == PENDING:
            try:
                now_effect = recompute(session, kept, circumstances(letters=False))
            except ServicingError as error:
                refused = refusal_message(error)
            session.refresh(kept)  # the preview's savepoint expired it; read it again before the session closes
    may_check = user().role.includes(CHECKER_ROLE) and user().username != kept.requested_by
    return render_template(
        "approvals/show.html", kept=kept, loan_number=loan_number, asked=Effect.from_json(kept.effect),
        now_effect=now_effect, refused=refused, may_check=may_check,
        approve_form=ApproveForm(formdata=None, seen_state=now_effect.loan_state if now_effect else ""),
        reject_form=RejectForm(formdata=None), withdraw_form=WithdrawForm(formdata=None),
    )  # fmt: skip


@bp.post("/<int:request_id>/approve")
@requires_role(CHECKER_ROLE)
def approve(request_id: int) -> Response:
    """Approve a request: its action runs now, once, as the checker, if the loan is as the page showed it."""
    form = ApproveForm()
    return _decided(request_id, form, _("Request #%(id)s approved and done.", id=request_id), lambda session:
                    approve_request(session, request_id, seen_state=form.seen_state.data or "",
                                    who=circumstances(letters=True)))  # fmt: skip


@bp.post("/<int:request_id>/reject")
@requires_role(CHECKER_ROLE)
def reject(request_id: int) -> Response:
    """Reject a request with a note; nothing about the loan changes."""
    form = RejectForm()
    return _decided(request_id, form, _("Request #%(id)s rejected.", id=request_id), lambda session:
                    reject_request(session, request_id, checker=user().username, note=form.note.data or "",
                                   now=datetime.now(UTC)))  # fmt: skip


@bp.post("/<int:request_id>/withdraw")
@requires_role(LIST_ROLE)
def withdraw(request_id: int) -> Response:
    """Withdraw one's own pending request (the maker only); nothing about the loan changes."""
    form = WithdrawForm()
    return _decided(request_id, form, _("Request #%(id)s withdrawn.", id=request_id), lambda session:
                    withdraw_request(session, request_id, maker=user().username, note=form.note.data or "",
                                     now=datetime.now(UTC)))  # fmt: skip


def _decided(request_id: int, form: FlaskForm, done: str, decide: Callable[[Session], Decision]) -> Response:
    """Check the form, decide the request in one transaction, and say what happened: done, found already decided
    (a double click, two tabs) and left as it was, or refused (back to the request, with why)."""
    back = redirect(url_for("approvals.show", request_id=request_id))
    if not form.validate_on_submit():
        flash_form_errors(form)
        return back
    try:
        with sessions().begin() as session:
            decision = decide(session)
    except StaleRequest:
        flash(_("The loan changed while you looked: here is the effect now. Approve again to go ahead."), "error")
        return back
    except ServicingError as refused:
        flash(refusal_message(refused), "error")
        return back
    if decision.decided_now:
        flash(done, "success")
    else:
        flash(_("Request #%(id)s was already %(status)s by %(who)s; nothing changed.", id=request_id,
                status=word("approval_status", decision.status), who=decision.decided_by), "success")  # fmt: skip
    return redirect(url_for("approvals.index"))
