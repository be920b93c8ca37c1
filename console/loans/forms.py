"""The loan page's forms: every servicing action carries a reason and the CSRF token."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, Field, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from servicing.errors import InvalidInput
from servicing.rules.money import parse_amount, parse_rate
from servicing.rules.workouts import FORBEARANCE_MONTHS, WorkoutKind

REASON_LENGTH = 200


def reason_field() -> TextAreaField:
    """Return the reason every action must give (kept in the audit log)."""
    return TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=REASON_LENGTH)])


def disclosure_field() -> BooleanField:
    """Return the confirmation a notice with figures needs when the borrower's channel has not verified."""
    return BooleanField(_l("The borrower has not verified on the channel the notice goes to. I confirm: send the "
                           "notice with the new payment figures anyway."))  # fmt: skip


def plain_amount(form: FlaskForm, field: Field) -> None:
    """Accept only a plain decimal amount ("1234.50"): no commas, symbols or exponents."""
    try:
        parse_amount(field.data or "")
    except InvalidInput as refused:
        raise ValidationError(_l("Write the amount as digits with a decimal point, like 1234.50.")) from refused


def plain_rate(form: FlaskForm, field: Field) -> None:
    """Accept only a rate written as a fraction ("0.045" is 4.5%)."""
    try:
        parse_rate(field.data or "")
    except InvalidInput as refused:
        raise ValidationError(_l("Write the rate as a fraction, like 0.045 for 4.5%.")) from refused


class ActionForm(FlaskForm):
    """A servicing action: a reason, and the amounts it needs as Decimals."""

    reason = reason_field()

    def amount_of(self, field: StringField) -> Decimal:
        """Return a validated amount field's value."""
        return parse_amount(field.data or "")


class PaymentForm(ActionForm):
    """A payment received for the loan, posted by hand; the reference makes a second submit harmless."""

    amount = StringField(_l("Amount"), validators=[DataRequired(), Length(max=24), plain_amount])
    received_on = DateField(_l("Received on"), validators=[InputRequired()])
    reference = StringField(_l("Reference"), validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("Post payment"))


class ReversalForm(ActionForm):
    """A payment to reverse, by its reference."""

    reference = StringField(_l("Payment reference"), validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("Reverse payment"))


class WrittenRequestForm(ActionForm):
    """A notice of error or information request the borrower sent by mail or phone; its clock runs from receipt."""

    kind = SelectField(
        _l("Kind"),
        choices=[
            SelectChoice("notice_of_error", _l("Notice of error")),
            SelectChoice("request_for_information", _l("Request for information")),
        ],
        validators=[DataRequired()],
    )
    topic = SelectField(
        _l("About"),
        choices=[
            SelectChoice("general", _l("Anything else")),
            SelectChoice("payoff_statement", _l("An error in a payoff statement (7 business days)")),
            SelectChoice("foreclosure_sale", _l("An error leading to a foreclosure sale (before the sale)")),
            SelectChoice("owner", _l("Who owns the loan (10 business days)")),
        ],
        validators=[DataRequired()],
    )
    received_on = DateField(_l("Received on"), validators=[InputRequired()])
    submit = SubmitField(_l("Open the case"))


class ForeclosureReferralForm(ActionForm):
    """The referral to foreclosure (first notice or filing), allowed only as Reg X 1024.41(f) allows."""

    on = DateField(_l("Referred on"), validators=[InputRequired()])
    submit = SubmitField(_l("Record the referral"))


class ForeclosureSaleForm(ActionForm):
    """A foreclosure sale date, allowed only with no complete application pending (1024.41(g))."""

    sale_on = DateField(_l("Sale on"), validators=[InputRequired()])
    submit = SubmitField(_l("Schedule the sale"))


class FeeWaiverForm(ActionForm):
    """A fee to waive, by its id."""

    fee_id = IntegerField(_l("Fee"), validators=[InputRequired(), NumberRange(min=1)])
    submit = SubmitField(_l("Waive fee"))


class ForbearanceForm(ActionForm):
    """A forbearance to place: its length, the reduced payment and when it starts."""

    months = IntegerField(
        _l("Months"),
        validators=[InputRequired(), NumberRange(min=FORBEARANCE_MONTHS.start, max=FORBEARANCE_MONTHS.stop - 1)],
    )
    reduced_payment = StringField(
        _l("Reduced payment"), validators=[DataRequired(), Length(max=24), plain_amount], default="0"
    )
    starts_on = DateField(_l("Starts on"), validators=[InputRequired()])
    case_reference = StringField(_l("Case reference"), validators=[Optional(), Length(max=24)])
    confirm_disclosure = disclosure_field()
    submit = SubmitField(_l("Place forbearance"))


class EndForbearanceForm(ActionForm):
    """Ending the active forbearance."""

    submit = SubmitField(_l("End forbearance"))


class EscrowAnalysisForm(ActionForm):
    """An escrow analysis run now (a tax or insurance bill changed): it starts a new computation year."""

    submit = SubmitField(_l("Analyze escrow"))


WORKOUT_CHOICES: list[Any] = [
    SelectChoice(WorkoutKind.REPAYMENT_PLAN.value, _l("Repayment plan")),
    SelectChoice(WorkoutKind.PAYMENT_DEFERRAL.value, _l("Payment deferral")),
    SelectChoice(WorkoutKind.MODIFICATION.value, _l("Modification")),
]
DECISION_CHOICES: list[Any] = [SelectChoice("approve", _l("Approve")), SelectChoice("deny", _l("Deny"))]


class WorkoutDecisionForm(ActionForm):
    """A decision on a repayment plan, deferral or modification: approve with terms, or deny with a reason."""

    kind = SelectField(_l("Option"), choices=WORKOUT_CHOICES, validators=[InputRequired()])
    decision = SelectField(_l("Decision"), choices=DECISION_CHOICES, validators=[InputRequired()])
    months = IntegerField(_l("Months (plan or deferral)"), validators=[Optional(), NumberRange(min=1, max=12)])
    modification_rate = StringField(
        _l("Modification rate (0.045 for 4.5%)"), validators=[Optional(), Length(max=16), plain_rate]
    )
    case_reference = StringField(_l("Case reference"), validators=[Optional(), Length(max=24)])
    confirm_disclosure = disclosure_field()
    submit = SubmitField(_l("Record decision"))


class ModificationForm(FlaskForm):
    """The modification calculator's input: a read-only what-if, so no CSRF token (a GET form)."""

    class Meta:
        csrf = False

    rate = StringField(_l("Modification rate (0.045 for 4.5%)"), validators=[DataRequired(), plain_rate])
    submit = SubmitField(_l("Work it out"))


PROMISE_CHANNEL_CHOICES: list[Any] = [
    SelectChoice("phone", _l("Phone call")),
    SelectChoice("mail", _l("Letter")),
    SelectChoice("email", _l("Email")),
    SelectChoice("in_person", _l("In person")),
    SelectChoice("sms", _l("SMS")),
    SelectChoice("telegram", _l("Telegram")),
]


class PromiseForm(FlaskForm):
    """A promise to pay the borrower made to a specialist: how much, by when, and how they said it."""

    amount = StringField(_l("Amount promised"), validators=[DataRequired(), Length(max=24), plain_amount])
    promised_for = DateField(_l("Promised for"), validators=[InputRequired()])
    channel = SelectField(_l("Channel"), choices=PROMISE_CHANNEL_CHOICES, validators=[InputRequired()])
    submit = SubmitField(_l("Record the promise"))

    def amount_promised(self) -> Decimal:
        """Return the validated amount."""
        return parse_amount(self.amount.data or "")


class PromiseCancelForm(ActionForm):
    """An open promise to cancel, by its id, with the reason."""

    promise_id = IntegerField(_l("Promise"), validators=[InputRequired(), NumberRange(min=1)])
    submit = SubmitField(_l("Cancel the promise"))


FLAG_CHOICES: list[Any] = [
    SelectChoice("cease_communication", _l("Cease communication (the borrower asked us to stop)")),
    SelectChoice("bankruptcy", _l("Bankruptcy")),
    SelectChoice("deceased", _l("Deceased")),
]


class ContactFlagForm(ActionForm):
    """A flag that stops reminders and collection messages, with the note why (kept with the flag)."""

    flag = SelectField(_l("Flag"), choices=FLAG_CHOICES, validators=[InputRequired()])
    every_loan = BooleanField(_l("On every loan of this borrower"), default=True)
    submit = SubmitField(_l("Set flag"))


class ClearContactFlagForm(ActionForm):
    """Clearing a flag in force, with the note why."""

    flag_id = IntegerField(_l("Flag"), validators=[InputRequired(), NumberRange(min=1)])
    submit = SubmitField(_l("Clear flag"))
