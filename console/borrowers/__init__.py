"""A borrower's profile (`/console/borrowers/<id>`): name, email, phones, Telegram chats, the mailing address and
each loan's property address, language, time zone, consent and contact flags, each change with a reason and
audited; and the caller verification form (docs/console-borrowers.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session
from werkzeug.wrappers.response import Response

from console.arguments import servicer_today, settings
from console.contact import contact_helpers
from console.queue.labels import template_helpers
from console.security import audits_view, requires_role, sessions, user
from servicing.borrowers.caller import (
    BorrowerNotFound,
    CallerCheck,
    read_caller_answers,
    verify_caller,
)
from servicing.borrowers.profile import (
    CONSENT_PURPOSES,
    add_phone,
    borrower_profile,
    change_consent,
    change_email,
    change_language,
    change_mailing_address,
    change_name,
    change_property_address,
    change_time_zone,
    remove_phone,
    unlink_telegram_chat,
)
from servicing.documents.addresses import MAILING, PARTS, PROPERTY, AddressChange
from servicing.errors import ServicingError
from servicing.outreach.flags import clear_contact_flag, set_contact_flag
from servicing.queries import loan_numbers_of_borrower
from servicing.rules.contact import SPECIALIST_FLAGS
from servicing.specialists import Role

bp = Blueprint("borrowers", __name__, url_prefix="/console/borrowers")
bp.context_processor(template_helpers)
bp.context_processor(contact_helpers)


@bp.get("/<int:borrower_id>")
@requires_role(Role.SPECIALIST)
@audits_view("borrower", id_argument="borrower_id")
def show(borrower_id: int) -> str:
    """Show the borrower's profile, its forms, and the caller verification form."""
    with sessions()() as session:
        try:
            profile = borrower_profile(session, borrower_id, datetime.now(UTC))
        except BorrowerNotFound:
            abort(404)
        session.expunge_all()
    return render_template("borrowers/show.html", profile=profile, borrower=profile.borrower,
                           purposes=CONSENT_PURPOSES, specialist_flags=[f.value for f in SPECIALIST_FLAGS])  # fmt: skip


def _change(borrower_id: int, done: str | Callable[[Any], str], change: Callable[[Session, str, str], Any]) -> Response:
    """Run one change in one transaction with the form's reason; flash what happened (`done`, or what `done` says
    of the change's result) or why nothing did."""
    reason = request.form.get("reason", "")
    try:
        with sessions().begin() as session:
            result = change(session, reason, user().username)
    except BorrowerNotFound:
        abort(404)
    except ServicingError as error:
        flash(_("Not changed: %(reason)s.", reason=str(error)), "error")
    else:
        flash(done if isinstance(done, str) else done(result), "success")
    return redirect(url_for("borrowers.show", borrower_id=borrower_id))


def _field(name: str, length: int = 200) -> str:
    return request.form.get(name, "")[:length]


@bp.post("/<int:borrower_id>/name")
@requires_role(Role.SPECIALIST)
def name(borrower_id: int) -> Response:
    """Correct the borrower's first and last name."""
    first, last = _field("first_name", 300), _field("last_name", 300)
    return _change(borrower_id, _("Name changed."), lambda session, reason, actor: change_name(
        session, borrower_id, first, last, reason=reason, actor=actor))  # fmt: skip


@bp.post("/<int:borrower_id>/email")
@requires_role(Role.SPECIALIST)
def email(borrower_id: int) -> Response:
    """Set, change or (blank) remove the borrower's email."""
    typed = _field("email", 400)
    return _change(borrower_id, lambda kept: str(_("Email changed.") if kept else _("Email removed.")),
                   lambda session, reason, actor: change_email(session, borrower_id, typed, reason=reason,
                                                               actor=actor))  # fmt: skip


@bp.post("/<int:borrower_id>/language")
@requires_role(Role.SPECIALIST)
def language(borrower_id: int) -> Response:
    """Change the language the borrower is written to in."""
    locale = _field("locale", 16)
    return _change(borrower_id, _("Language changed."), lambda session, reason, actor: change_language(
        session, borrower_id, locale, reason=reason, actor=actor))  # fmt: skip


@bp.post("/<int:borrower_id>/time-zone")
@requires_role(Role.SPECIALIST)
def time_zone(borrower_id: int) -> Response:
    """Change the borrower's time zone."""
    zone = _field("timezone", 64)
    return _change(borrower_id, _("Time zone changed."), lambda session, reason, actor: change_time_zone(
        session, borrower_id, zone, reason=reason, actor=actor))  # fmt: skip


@bp.post("/<int:borrower_id>/phones")
@requires_role(Role.SPECIALIST)
def phone_added(borrower_id: int) -> Response:
    """Add a phone in any format."""
    typed = _field("phone", 32)
    return _change(borrower_id, _("Phone added."), lambda session, reason, actor: add_phone(
        session, borrower_id, typed, region=settings().country, reason=reason, actor=actor))  # fmt: skip


@bp.post("/<int:borrower_id>/phones/<int:phone_id>/remove")
@requires_role(Role.SPECIALIST)
def phone_removed(borrower_id: int, phone_id: int) -> Response:
    """Remove a phone (not the only one)."""
    return _change(borrower_id, _("Phone removed."), lambda session, reason, actor: remove_phone(
        session, borrower_id, phone_id, reason=reason, actor=actor))  # fmt: skip


@bp.post("/<int:borrower_id>/telegram/<int:conversation_id>/unlink")
@requires_role(Role.SPECIALIST)
def telegram_unlinked(borrower_id: int, conversation_id: int) -> Response:
    """Unlink a Telegram chat from the borrower."""
    return _change(borrower_id, _("Telegram chat unlinked: it must link again before it is told anything."),
                   lambda session, reason, actor: unlink_telegram_chat(
                       session, borrower_id, conversation_id, reason=reason, actor=actor))  # fmt: skip


@bp.post("/<int:borrower_id>/consent")
@requires_role(Role.SPECIALIST)
def consent(borrower_id: int) -> Response:
    """Record a revocation, or a consent given back, for one purpose on one phone."""
    phone_id = request.form.get("phone", type=int) or 0
    purpose, revoked = _field("purpose", 16), _field("revoked", 3) == "yes"
    return _change(borrower_id, _("Consent recorded."), lambda session, reason, actor: change_consent(
        session, borrower_id, phone_id, purpose, revoked=revoked, reason=reason, actor=actor,
        now=datetime.now(UTC)))  # fmt: skip


def _first_loan(session: Session, borrower_id: int) -> str:
    numbers = loan_numbers_of_borrower(session, borrower_id)
    if not numbers:
        raise BorrowerNotFound(f"no loan for borrower {borrower_id}")
    return numbers[0]


def _address_fields(kind: str) -> dict[str, str | None]:
    """Return the form's `<kind>_line1` ... fields, cut well above their columns (the core refuses overlong)."""
    return {f"{kind}_{part}": _field(f"{kind}_{part}", 300) or None for part in PARTS}


def _address_done(change: AddressChange) -> str:
    if not change.changed:
        return str(_("The address is as it was; nothing changed."))
    if change.address is None:
        return str(_("Address removed."))
    return str(_("Address saved."))


@bp.post("/<int:borrower_id>/address")
@requires_role(Role.SPECIALIST)
def address(borrower_id: int) -> Response:
    """Change the mailing address (all the borrower's loans); all fields blank removes it."""
    values = _address_fields(MAILING)
    return _change(borrower_id, _address_done, lambda session, reason, actor: change_mailing_address(
        session, borrower_id, values, reason=reason, actor=actor))  # fmt: skip


@bp.post("/<int:borrower_id>/property-address/<loan_number>")
@requires_role(Role.SPECIALIST)
def property_address(borrower_id: int, loan_number: str) -> Response:
    """Change the address of the property securing one of the borrower's loans; all fields blank removes it."""
    values = _address_fields(PROPERTY)
    return _change(borrower_id, _address_done, lambda session, reason, actor: change_property_address(
        session, borrower_id, loan_number[:32], values, reason=reason, actor=actor))  # fmt: skip


@bp.post("/<int:borrower_id>/flags")
@requires_role(Role.SPECIALIST)
def flag_set(borrower_id: int) -> Response:
    """Set a contact flag on every loan of the borrower; the reason is the flag's note."""
    flag = _field("flag", 24)
    return _change(borrower_id, _("Contact flag set."), lambda session, reason, actor: set_contact_flag(
        session, _first_loan(session, borrower_id), flag, note=reason, every_loan=True, actor=actor,
        now=datetime.now(UTC)))  # fmt: skip


@bp.post("/<int:borrower_id>/flags/<int:flag_id>/clear")
@requires_role(Role.SPECIALIST)
def flag_cleared(borrower_id: int, flag_id: int) -> Response:
    """Clear a contact flag; the reason is the clearing note."""
    return _change(borrower_id, _("Contact flag cleared."), lambda session, reason, actor: clear_contact_flag(
        session, _first_loan(session, borrower_id), flag_id, note=reason, actor=actor,
        now=datetime.now(UTC)))  # fmt: skip


CALLER_OUTCOMES = {
    CallerCheck.MATCH: ("success", _l("Match: the caller's date of birth and tax ID digits are those on file.")),
    CallerCheck.NO_MATCH: ("error", _l("No match. The failure counts with the borrower's failed attempts in chats.")),
    CallerCheck.LOCKED: ("error", _l("No match, and that was the third failure: the borrower's self-service is "
                                  "paused for 30 minutes.")),
    CallerCheck.PAUSED: ("error", _l("Not checked: the borrower's verification is paused after failed attempts. Try "
                                  "again after the pause, or verify by another means.")),
}  # fmt: skip


@bp.post("/<int:borrower_id>/verify-caller")
@requires_role(Role.SPECIALIST)
def caller(borrower_id: int) -> Response:
    """Check what a caller says against the factors on file: match or no match (never which answer failed)."""
    try:
        answers = read_caller_answers(_field("date_of_birth", 10), _field("tax_id_last4", 8), servicer_today())
        with sessions().begin() as session:
            checked = verify_caller(session, borrower_id, answers, secret=settings().secret_key,
                                    actor=user().username, now=datetime.now(UTC))  # fmt: skip
    except BorrowerNotFound:
        abort(404)
    except ServicingError as error:
        flash(_("Not checked: %(reason)s.", reason=str(error)), "error")
    else:
        category, message = CALLER_OUTCOMES[checked.outcome]
        flash(str(message), category)
    return redirect(url_for("borrowers.show", borrower_id=borrower_id))
