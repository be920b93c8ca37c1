"""The decision forms on a case: every one asks for a note; some ask for a reason or the missing documents."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, RadioField, SelectField, SelectMultipleField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from servicing.decisions import NOTE_LENGTH, REPLY_LENGTH

DENIAL_REASON_LABELS = (
    SelectChoice("income", _l("Income does not support a modified payment")),
    SelectChoice("documents", _l("Documents did not arrive in time")),
    SelectChoice("investor", _l("The loan's owner does not allow this option")),
)
NO_ERROR_REASON_LABELS = (
    SelectChoice("", _l("(only when there was no error)")),
    SelectChoice("terms", _l("The charge follows the loan agreement")),
    SelectChoice("applied", _l("The payment was applied as the agreement requires")),
    SelectChoice("late", _l("The payment arrived after its due date")),
)
EXTENSION_REASON_LABELS = (
    SelectChoice("third_party", _l("Waiting for records from another company")),
    SelectChoice("research", _l("The research is not finished")),
    SelectChoice("documents", _l("Waiting for documents from the borrower")),
)
DOCUMENT_LABELS = (
    SelectChoice("income", _l("Proof of income")),
    SelectChoice("hardship", _l("Hardship letter")),
    SelectChoice("bank", _l("Last two bank statements")),
    SelectChoice("tax", _l("Latest tax return")),
)


class NoteForm(FlaskForm):
    """A decision with the specialist's note (kept in the audit log, never sent to the borrower)."""

    note = TextAreaField(_l("Note"), validators=[DataRequired(), Length(max=NOTE_LENGTH)])


class CompleteForm(NoteForm):
    """An application complete since the day its last document arrived (today when left empty)."""

    received_on = DateField(_l("Complete since (last document received)"), validators=[Optional()])


class IncompleteForm(NoteForm):
    """An incomplete application: which documents are missing."""

    missing = SelectMultipleField(
        _l("Missing documents"),
        choices=DOCUMENT_LABELS,
        validators=[DataRequired()],
        option_widget=CheckboxInput(),
        widget=ListWidget(prefix_label=False),
    )


class DenyForm(NoteForm):
    """A denial and the reason the borrower reads."""

    reason = SelectField(_l("Reason"), choices=DENIAL_REASON_LABELS, validators=[DataRequired()])


class ExtendForm(NoteForm):
    """The one extension, with the reason the borrower is told."""

    reason = SelectField(
        _l("Reason told to the borrower"), choices=EXTENSION_REASON_LABELS, validators=[DataRequired()]
    )


class ResolveErrorForm(NoteForm):
    """A notice of error's resolution: corrected, or no error with the reason."""

    outcome = RadioField(
        _l("Outcome"),
        choices=[SelectChoice("corrected", _l("Error found and corrected")), SelectChoice("no_error", _l("No error"))],
        validators=[DataRequired()],
    )
    reason = SelectField(_l("Reason (no error)"), choices=NO_ERROR_REASON_LABELS, validators=[Optional()])
    reply = TextAreaField(_l("What the borrower reads in the letter (optional)"),
                          validators=[Optional(), Length(max=REPLY_LENGTH)])  # fmt: skip


class AnswerForm(NoteForm):
    """An information request answered: the answer the borrower reads in the response letter."""

    reply = TextAreaField(_l("What the borrower reads in the letter (optional)"),
                          validators=[Optional(), Length(max=REPLY_LENGTH)])  # fmt: skip
