"""The administrator's forms: an account's profile, a new account, a temporary password."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, PasswordField, SelectField, SelectMultipleField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from servicing.specialists import MIN_PASSWORD_LENGTH
from servicing.staffing.accounts import MAX_CAPACITY, MAX_PASSWORD_LENGTH, Profile

ROLE_CHOICES = (
    SelectChoice("specialist", _l("Specialist")),
    SelectChoice("supervisor", _l("Supervisor")),
    SelectChoice("admin", _l("Administrator")),
)
CONSOLE_LANGUAGE_CHOICES = (
    SelectChoice("en", "English"),
    SelectChoice("es", "Español"),
    SelectChoice("fr", "Français"),
)
SKILL_CHOICES = (
    SelectChoice("general", _l("General")),
    SelectChoice("loss_mitigation", _l("Loss mitigation")),
    SelectChoice("disputes", _l("Disputes")),
    SelectChoice("payoffs", _l("Payoffs")),
)


def checkboxes(label: object, choices: tuple[SelectChoice, ...] | list[tuple[str, str]]) -> SelectMultipleField:
    """Return a list of checkboxes of which at least one must be ticked."""
    return SelectMultipleField(
        label, choices=choices, validators=[DataRequired()], option_widget=CheckboxInput(), widget=ListWidget()
    )


def temporary_password_field() -> PasswordField:
    """Return the temporary password an administrator gives; its owner replaces it at the next login."""
    return PasswordField(
        _l("Temporary password"),
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)],
    )


class ProfileForm(FlaskForm):
    """An account's name, role, console language, borrower languages, skills and capacity."""

    display_name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)])
    role = SelectField(_l("Role"), choices=ROLE_CHOICES, validators=[DataRequired()])
    locale = SelectField(_l("Console language"), choices=CONSOLE_LANGUAGE_CHOICES, validators=[DataRequired()])
    languages = checkboxes(_l("Borrower languages"), [])
    skills = checkboxes(_l("Skills"), SKILL_CHOICES)
    capacity = IntegerField(
        _l("Capacity (conversations at once)"), validators=[InputRequired(), NumberRange(min=0, max=MAX_CAPACITY)]
    )
    submit = SubmitField(_l("Save"))

    def profile(self) -> Profile:
        """Return the validated form as the core's profile."""
        return Profile(
            self.display_name.data or "", self.role.data or "", self.locale.data or "",
            tuple(self.languages.data or ()), tuple(self.skills.data or ()), self.capacity.data or 0,
        )  # fmt: skip


class NewUserForm(ProfileForm):
    """A new account: a username and a temporary password besides the profile."""

    username = StringField(
        _l("Username"),
        validators=[
            DataRequired(),
            Length(max=64),
            Regexp(r"^[A-Za-z0-9._-]+$", message=_l("Letters, digits, dots, dashes and underscores only.")),
        ],
    )
    temporary_password = temporary_password_field()
    submit = SubmitField(_l("Create user"))


class ResetPasswordForm(FlaskForm):
    """A temporary password for an account whose owner forgot theirs."""

    temporary_password = temporary_password_field()
    submit = SubmitField(_l("Reset password"))


class AccountActionForm(FlaskForm):
    """Deactivating or reactivating an account: a POST with the CSRF token."""

    submit = SubmitField(_l("Confirm"))
