"""The loan page's mail forms: addresses, E-SIGN consent, delivery preferences, and a document's re-send or reprint."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, SubmitField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from console.loans.forms import ActionForm
from servicing.documents.addresses import LENGTHS
from servicing.documents.delivery import EVERY_KIND, EVIDENCE_LENGTH, KIND_TITLES


def _part(label: Any, part: str) -> StringField:
    return StringField(label, validators=[Optional(), Length(max=LENGTHS[part])])


class AddressForm(ActionForm):
    """A mailing or property address: blank everywhere removes it; the core checks the parts (docs/documents.md)."""

    line1 = _part(_l("Street line"), "line1")
    line2 = _part(_l("Second line (apartment, unit)"), "line2")
    city = _part(_l("City"), "city")
    region = _part(_l("State, province or region"), "region")
    postal_code = _part(_l("Postal code"), "postal_code")
    country = _part(_l("Country (two letters, like US)"), "country")
    submit = SubmitField(_l("Save address"))

    def values(self, prefix: str) -> dict[str, str | None]:
        """Return the parts as `<prefix>_line1` ... the way a loan file names them."""
        return {f"{prefix}_{part}": getattr(self, part).data for part in LENGTHS}


CONSENT_METHOD_CHOICES: list[Any] = [
    SelectChoice("console_phone", _l("By phone, to me")),
    SelectChoice("console_written", _l("In writing (letter, signed form)")),
]


class ConsentForm(FlaskForm):
    """An E-SIGN consent the borrower gave a specialist: how, and what they were told and answered."""

    method = SelectField(_l("How the borrower consented"), choices=CONSENT_METHOD_CHOICES, validators=[InputRequired()])
    evidence = TextAreaField(
        _l("What the borrower was told and answered (the disclosure read, their words, the letter's date)"),
        validators=[DataRequired(), Length(max=EVIDENCE_LENGTH)],
    )
    submit = SubmitField(_l("Record the consent"))


class RevokeConsentForm(ActionForm):
    """The borrower withdrew their E-SIGN consent: paper from the next document."""

    method = SelectField(_l("How the borrower withdrew"), choices=CONSENT_METHOD_CHOICES, validators=[InputRequired()])
    submit = SubmitField(_l("Record the withdrawal"))


def kind_choices() -> list[Any]:
    """Return the document kinds a preference may name: every kind first."""
    return [SelectChoice(EVERY_KIND, _l("Every kind of document")), *(SelectChoice(kind, kind) for kind in KIND_TITLES)]


class PreferenceForm(ActionForm):
    """How the borrower wants one kind of document (or every kind): paper or electronic."""

    kind = SelectField(_l("Documents"), choices=kind_choices(), validators=[InputRequired()])
    channel = SelectField(
        _l("Delivery"),
        choices=[SelectChoice("paper", _l("Paper")), SelectChoice("electronic", _l("Electronic"))],
        validators=[InputRequired()],
    )
    submit = SubmitField(_l("Save preference"))


class DocumentActionForm(ActionForm):
    """Re-send a document or put it back into the print batch: the reason is kept in the audit log."""
