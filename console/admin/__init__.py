"""Console accounts, for administrators: list, create, change, deactivate, reactivate, reset a password.

Every change goes through `servicing.staffing.accounts` (audited there); bad input changes nothing and says why.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import ngettext
from werkzeug.wrappers.response import Response

from console.admin.forms import AccountActionForm, NewUserForm, ProfileForm, ResetPasswordForm
from console.queue.labels import language_label, template_helpers
from console.security import audits_view, requires_role, sessions, user
from servicing.errors import ServicingError
from servicing.specialists import Role, SpecialistError, SpecialistExists
from servicing.staffing.accounts import account as account_named
from servicing.staffing.accounts import (
    accounts,
    change_account,
    create_account,
    deactivate_account,
    reactivate_account,
    reset_password,
)
from servicing.staffing.presence import StaffingError
from servicing.staffing.skills import LANGUAGES
from servicing.store.models import Specialist

bp = Blueprint("admin", __name__, url_prefix="/console/admin")
bp.context_processor(template_helpers)


def language_choices() -> list[tuple[str, str]]:
    """Return the borrower languages a specialist may speak, by their own names."""
    return [(code, language_label(code)) for code in LANGUAGES]


def new_user_form() -> NewUserForm:
    """Return the new-account form, with English, general and a capacity of 3 ticked for a new specialist."""
    form = NewUserForm(role="specialist", locale="en", capacity=3, languages=["en"], skills=["general"])
    form.languages.choices = language_choices()
    return form


def profile_form(specialist: Specialist | None = None) -> ProfileForm:
    """Return an account's profile form, filled from the account on a GET."""
    form = ProfileForm(obj=specialist) if specialist is not None else ProfileForm()
    form.languages.choices = language_choices()
    return form


def _refusal(error: ServicingError) -> str:
    if isinstance(error, SpecialistExists):
        return str(_("Not done: that username is taken."))
    return str(_("Not done: %(reason)s.", reason=str(error)))


@bp.get("/users/")
@requires_role(Role.ADMIN)
@audits_view("specialists")
def users() -> str:
    """List every account, with the form to create one."""
    return _list_page(new_user_form())


def _list_page(form: NewUserForm, error: str | None = None) -> str:
    with sessions()() as session:
        everyone = accounts(session)
        session.expunge_all()
    return render_template("admin/users.html", accounts=everyone, form=form, error=error)


@bp.post("/users/")
@requires_role(Role.ADMIN)
def create() -> ResponseReturnValue:
    """Create an account whose owner chooses their password at the first login."""
    form = new_user_form()
    if not form.validate_on_submit():
        return _list_page(form, _("Not created: check the fields marked below.")), 400
    try:
        with sessions().begin() as session:
            created = create_account(session, user().username, form.username.data or "",
                                     form.temporary_password.data or "", form.profile())  # fmt: skip
            username = created.username
    except (StaffingError, SpecialistError) as error:
        return _list_page(form, _refusal(error)), 400
    flash(_("User %(username)s created: they choose their own password at the first login.", username=username),
          "success")  # fmt: skip
    return redirect(url_for("admin.show_user", username=username))


@bp.get("/users/<username>")
@requires_role(Role.ADMIN)
@audits_view("specialist", id_argument="username")
def show_user(username: str) -> str:
    """Show an account: its profile to change, a password reset, deactivation."""
    with sessions()() as session:
        try:
            specialist = account_named(session, username)
        except StaffingError:
            abort(404)
        session.expunge(specialist)
    return _user_page(specialist, profile_form(specialist))


def _user_page(specialist: Specialist, form: ProfileForm, error: str | None = None) -> str:
    return render_template("admin/user.html", account=specialist, form=form, reset_form=ResetPasswordForm(),
                           action_form=AccountActionForm(), error=error)  # fmt: skip


def _account_or_404(username: str) -> Specialist:
    with sessions()() as session:
        try:
            specialist = account_named(session, username)
        except StaffingError:
            abort(404)
        session.expunge(specialist)
        return specialist


@bp.post("/users/<username>")
@requires_role(Role.ADMIN)
def change(username: str) -> ResponseReturnValue:
    """Change an account's name, role, languages, skills and capacity."""
    specialist = _account_or_404(username)
    form = profile_form()
    if not form.validate_on_submit():
        return _user_page(specialist, form, _("Not saved: check the fields marked below.")), 400
    try:
        with sessions().begin() as session:
            change_account(session, user().username, username, form.profile())
    except StaffingError as error:
        return _user_page(specialist, form, _refusal(error)), 400
    flash(_("Saved."), "success")
    return redirect(url_for("admin.show_user", username=specialist.username))


@bp.post("/users/<username>/password")
@requires_role(Role.ADMIN)
def reset(username: str) -> ResponseReturnValue:
    """Give an account a temporary password; its sessions end and it must choose a new one at the next login."""
    specialist = _account_or_404(username)
    form = ResetPasswordForm()
    if not form.validate_on_submit():
        return _user_page(specialist, profile_form(specialist),
                          _("Not reset: a temporary password has at least 8 characters.")), 400  # fmt: skip
    try:
        with sessions().begin() as session:
            reset_password(session, user().username, username, form.temporary_password.data or "")
    except StaffingError as error:
        return _user_page(specialist, profile_form(specialist), _refusal(error)), 400
    flash(_("Password reset: %(username)s chooses a new one at the next login.", username=specialist.username),
          "success")  # fmt: skip
    return redirect(url_for("admin.show_user", username=specialist.username))


@bp.post("/users/<username>/deactivate")
@requires_role(Role.ADMIN)
def deactivate(username: str) -> Response:
    """Deactivate an account: its sessions end and what it held goes back to the queue."""
    return _account_action(username, activate=False)


@bp.post("/users/<username>/reactivate")
@requires_role(Role.ADMIN)
def reactivate(username: str) -> Response:
    """Let a deactivated account log in again."""
    return _account_action(username, activate=True)


def _account_action(username: str, *, activate: bool) -> Response:
    specialist = _account_or_404(username)
    back = redirect(url_for("admin.show_user", username=specialist.username))
    if not AccountActionForm().validate_on_submit():
        flash(_("Not done: the form expired. Try again."), "error")
        return back
    try:
        with sessions().begin() as session:
            if activate:
                reactivate_account(session, user().username, username)
            else:
                handed_back = deactivate_account(session, user().username, username, datetime.now(UTC))
    except StaffingError as error:
        flash(_refusal(error), "error")
        return back
    if activate:
        flash(_("%(username)s can log in again.", username=specialist.username), "success")
    else:
        flash(ngettext("%(username)s is deactivated; %(num)d conversation went back to the queue.",
                       "%(username)s is deactivated; %(num)d conversations went back to the queue.",
                       len(handed_back), username=specialist.username), "success")  # fmt: skip
    return back
