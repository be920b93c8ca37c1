"""Money on the loan page: every money-moving action shows its effect first, then is done or sent for approval.

The first POST of an action form validates it and shows the preview page: the effect the core works out
without committing (`servicing.approvals.effects.preview`). The preview page posts the same fields back with
the loan's state as previewed and a request key. That second POST either does the action (a manual payment,
a fee waiver at or below the threshold, an escrow analysis) or sends it for a second person's approval
(reversals, larger fee waivers, workouts): docs/console-loans.md, "Four eyes on money".
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal

from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_date
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from console.arguments import servicer_today, settings
from console.i18n import money
from console.loans.labels import word
from console.security import sessions, user
from servicing.approvals.actions import ActionKind, Circumstances, MoneyAction, Outcome, needs_approval, perform
from servicing.approvals.effects import BUCKETS, FIGURES, Effect, already_done, loan_state, preview
from servicing.approvals.requests import StaleRequest, request_approval
from servicing.conversations import UnverifiedDisclosure
from servicing.documents.correspondence import Correspondence
from servicing.errors import ServicingError

NOT_CARRIED = frozenset({"csrf_token", "loan_state", "request_key", "submit"})
NOT_TERMS = frozenset({"csrf_token", "submit", "reason", "kind", "decision", "loan_state", "request_key"})


def circumstances(*, letters: bool) -> Circumstances:
    """Return who acts and when; letters are made only when the action is really done, never in a preview."""
    return Circumstances(
        actor=user().username, today=servicer_today(), now=datetime.now(UTC),
        letters=Correspondence.from_settings(settings()) if letters else None,
        escrow_policy=settings().escrow_policy(),
    )  # fmt: skip


def terms_of(form: FlaskForm) -> dict[str, str]:
    """Return an action form's terms as the browser sent them (text; the core parses them)."""
    return {name: request.form.get(name, "") for name in form._fields if name not in NOT_TERMS}


def flash_form_errors(form: FlaskForm) -> None:
    """Flash each field's errors with its label."""
    for name, errors in form.errors.items():
        label = getattr(form, name).label.text if hasattr(form, name) else name
        flash(_("%(field)s: %(error)s", field=label, error="; ".join(map(str, errors))), "error")


def money_action(loan_number: str, form: FlaskForm, kind: ActionKind, tab: str) -> Response | str:
    """Preview a money-moving action (first POST), then do it or send it for approval (the confirmed POST)."""
    back = redirect(url_for("loans.show", loan_number=loan_number, tab=tab))
    if not form.validate_on_submit():
        flash_form_errors(form)
        return back
    action = MoneyAction(kind, loan_number, terms_of(form), request.form.get("reason", ""))
    seen = request.form.get("loan_state", "")
    try:
        if seen:
            with sessions().begin() as session:
                message = carry_out(session, action, seen, request.form.get("request_key", ""))
            flash(message, "success")
            return back
    except StaleRequest:
        flash(_("The loan changed since the preview: here is the effect now. Confirm again to go ahead."), "error")
    except ServicingError as refused:
        flash(refusal_message(refused), "error")
        return back
    try:
        return preview_page(action, tab)
    except ServicingError as refused:
        flash(refusal_message(refused), "error")
        return back


def refusal_message(refused: ServicingError) -> str:
    """Return what the page says about a refused action."""
    if isinstance(refused, UnverifiedDisclosure):
        return str(_("Not done: the notice tells the borrower loan figures, and they have not verified on the "
                     "channel it goes to. Tick the confirmation in the form to do it anyway."))  # fmt: skip
    return str(_("Refused: %(reason)s", reason=str(refused)))


def preview_page(action: MoneyAction, tab: str) -> str:
    """Show what the action would do, worked out by the core in a transaction that is rolled back."""
    with sessions()() as session:
        effect = preview(session, action, circumstances(letters=False))
        approval = needs_approval(session, action, settings().fee_waiver_approval_above)
        session.rollback()
    carried = {name: value for name, value in request.form.items() if name not in NOT_CARRIED}
    return render_template(
        "loans/preview.html", action=action, effect=effect, approval=approval, carried=carried, tab=tab,
        request_key=request.form.get("request_key") or uuid.uuid4().hex, post_to=request.path,
    )  # fmt: skip


def carry_out(session: Session, action: MoneyAction, seen: str, request_key: str) -> str:
    """Do the confirmed action, or keep it for approval, if the loan is as the preview showed it."""
    if needs_approval(session, action, settings().fee_waiver_approval_above):
        effect = preview(session, action, circumstances(letters=False))
        if effect.loan_state != seen:
            raise StaleRequest("the loan changed since the preview")
        kept, made = request_approval(session, action, effect, maker=user().username, request_key=request_key,
                                      now=datetime.now(UTC))  # fmt: skip
        if not made:
            return str(_("Request #%(id)s was already sent for approval; nothing changed.", id=kept.id))
        return str(
            _("Sent for approval as request #%(id)s: nothing changes until a supervisor approves it.", id=kept.id)
        )
    if not already_done(session, action) and loan_state(session, action.loan_number) != seen:
        raise StaleRequest("the loan changed since the preview")
    return DONE[action.kind](action, perform(session, action, circumstances(letters=True)))


def _payment_done(action: MoneyAction, outcome: Outcome) -> str:
    reference = action.terms.get("reference", "").strip()
    if outcome.word == "already_posted":
        return str(_("Payment %(reference)s was already posted; nothing changed.", reference=reference))
    return str(_("Payment %(reference)s posted.", reference=reference))


def _waiver_done(action: MoneyAction, outcome: Outcome) -> str:
    return str(_("Fee %(id)s waived.", id=action.terms.get("fee_id", "")))


def _escrow_done(action: MoneyAction, outcome: Outcome) -> str:
    statement = outcome.result
    deposit = money(statement.new_deposit, statement.currency)  # type: ignore[attr-defined]
    day = format_date(statement.computation_year_starts)  # type: ignore[attr-defined]
    return str(_("Escrow analyzed: the deposit is %(deposit)s from %(day)s.", deposit=deposit, day=day))


def _done(action: MoneyAction, outcome: Outcome) -> str:
    return str(_("Done."))


DONE: dict[ActionKind, Callable[[MoneyAction, Outcome], str]] = {
    ActionKind.PAYMENT: _payment_done,
    ActionKind.FEE_WAIVER: _waiver_done,
    ActionKind.ESCROW_ANALYSIS: _escrow_done,
}
for _kind in ActionKind:
    DONE.setdefault(_kind, _done)


AMOUNT_FIGURES = frozenset({"amount_due", "principal_balance", "monthly_payment", "escrow_balance",
                            "suspense_balance", "deferred_balance", "unpaid_fees"})  # fmt: skip
AMOUNT_TERMS = frozenset({"reduced_payment", "regular_payment", "arrears", "deferred", "payment_before",
                          "target_payment"})  # fmt: skip


def effect_rows(effect: Effect) -> list[tuple[str, str, str]]:
    """Return the figures of an effect as (name, before, after), in the order a specialist reads them."""
    return [(name, effect.before.get(name, ""), effect.after.get(name, "")) for name in FIGURES]


def figure(name: str, value: str, currency: str) -> str:
    """Return one figure of an effect as the page shows it: money, a date, a count or a status in words."""
    if not value:
        return "—"
    if name in AMOUNT_FIGURES:
        return money(Decimal(value), currency)
    if name == "next_due_date":
        return str(format_date(date.fromisoformat(value)))
    if name == "status":
        return word("loan_status", value)
    return value


def workout_figure(name: str, value: str, currency: str) -> str:
    """Return one of a previewed workout's terms: money, a date or a number."""
    if name in AMOUNT_TERMS:
        return money(Decimal(value), currency)
    if name == "first_due_date":
        return str(format_date(date.fromisoformat(value)))
    return value


def effect_helpers() -> dict[str, object]:
    """Return the template helpers that draw an effect."""
    return {"effect_rows": effect_rows, "figure": figure, "workout_figure": workout_figure, "buckets": BUCKETS}
