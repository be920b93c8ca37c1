"""The queue's forms: presence, saved views, bulk actions and a supervisor's reassignment (all carry CSRF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from servicing.staffing.queue_views import MAX_NAME

PRESENCE_CHOICES = (
    SelectChoice("available", _l("Available")),
    SelectChoice("away", _l("Away")),
    SelectChoice("offline", _l("Offline")),
)
BULK_ACTIONS = (
    SelectChoice("resolve", _l("Resolve: hand back to the assistant")),
    SelectChoice("assign", _l("Assign to")),
)


class PresenceForm(FlaskForm):
    """Whether the specialist takes conversations now."""

    presence = SelectField(_l("My status"), choices=PRESENCE_CHOICES, validators=[DataRequired()])
    submit = SubmitField(_l("Set status"))


class SaveViewForm(FlaskForm):
    """A name for the queue's current filters."""

    name = StringField(_l("Save these filters as"), validators=[DataRequired(), Length(max=MAX_NAME)])
    channel = HiddenField()
    language = HiddenField()
    reason = HiddenField()
    sla = HiddenField()
    skill = HiddenField()
    submit = SubmitField(_l("Save view"))


class DeleteViewForm(FlaskForm):
    """Deleting a saved view: a POST with the CSRF token."""

    submit = SubmitField(_l("Delete"))


class BulkForm(FlaskForm):
    """What to do with the ticked conversations; the ticks and versions come as `conversation` and `seen-<id>`."""

    action = SelectField(_l("With the ticked conversations"), choices=BULK_ACTIONS, validators=[DataRequired()])
    to = SelectField(_l("Person"), choices=[], validate_choice=False, validators=[Optional(), Length(max=64)])
    submit = SubmitField(_l("Apply"))


class ReassignForm(FlaskForm):
    """A supervisor gives a conversation to someone else."""

    to = SelectField(_l("Reassign to"), choices=[], validate_choice=False, validators=[DataRequired(), Length(max=64)])
    submit = SubmitField(_l("Reassign"))
