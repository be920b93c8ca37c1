"""The ACH page's forms: a bank account, an autopay enrolment and its stop; each carries the CSRF token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, Regexp

from console.loans.forms import disclosure_field, plain_amount, reason_field
from servicing.ach.autopay import MAX_DAYS_BEFORE


class BankAccountForm(FlaskForm):
    """A bank account the borrower gave: routing, number, checking or savings."""

    routing = StringField(_l("Routing number"), validators=[DataRequired(), Regexp(r"^\d{9}$",
                          message=_l("A routing number is 9 digits."))])  # fmt: skip
    account_number = StringField(_l("Account number"), validators=[DataRequired(), Length(min=4, max=17)])
    account_type = SelectField(_l("Account type"), choices=[SelectChoice("checking", _l("Checking")),
                                                            SelectChoice("savings", _l("Savings"))])  # fmt: skip
    reason = reason_field()
    submit = SubmitField(_l("Put the account on file"))


class RemoveAccountForm(FlaskForm):
    """Taking the account off file, with a reason."""

    reason = reason_field()
    submit = SubmitField(_l("Remove the account"))


class AutopayForm(FlaskForm):
    """An autopay enrolment: its terms, how the borrower agreed, and their agreement."""

    amount_kind = SelectField(_l("Amount"), choices=[
        SelectChoice("due", _l("The amount due")), SelectChoice("fixed", _l("A fixed amount")),
        SelectChoice("due_plus", _l("The amount due plus extra principal")),
    ])  # fmt: skip
    fixed_amount = StringField(_l("Fixed amount"), validators=[Optional(), Length(max=24), plain_amount])
    extra_principal = StringField(_l("Extra principal"), validators=[Optional(), Length(max=24), plain_amount])
    days_before = IntegerField(_l("Days before the due date"), default=0,
                               validators=[InputRequired(), NumberRange(0, MAX_DAYS_BEFORE)])  # fmt: skip
    channel = SelectField(_l("How the borrower agreed"), choices=[
        SelectChoice("console_phone", _l("On the phone (recorded call)")),
        SelectChoice("console_written", _l("In writing (signed form)")),
    ])  # fmt: skip
    agreed = BooleanField(_l("The borrower heard or read this authorization and agreed to it."),
                          validators=[DataRequired(_l("The borrower's agreement is required."))])  # fmt: skip
    confirm_disclosure = disclosure_field()
    submit = SubmitField(_l("Record the authorization"))


class StopAutopayForm(FlaskForm):
    """The borrower's request to stop autopay."""

    reason = reason_field()
    submit = SubmitField(_l("Stop autopay"))
