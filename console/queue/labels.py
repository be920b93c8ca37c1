"""What the queue and conversation pages call things: reasons, SLA states, channels, waits, languages."""

from __future__ import annotations

from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from servicing.conversations import sla_target
from servicing.speaking import LANGUAGE_NAMES, catalog_locale, text_direction

REASONS = {
    "asked": _l("Asked for a person"),
    "not_understood": _l("Not understood twice"),
    "sensitive": _l("Sensitive topic"),
    "hardship": _l("Hardship"),
    "dispute": _l("Dispute"),
    "locked_out": _l("Locked out"),
}
STATES = {
    "bot": _l("with the assistant"),
    "queued": _l("waiting in the queue"),
    "assigned": _l("with a specialist"),
    "closed": _l("closed"),
}
SKILLS = {
    "loss_mitigation": _l("Loss mitigation"),
    "disputes": _l("Disputes"),
    "payoffs": _l("Payoffs"),
    "general": _l("General"),
}
PRESENCES = {"available": _l("Available"), "away": _l("Away"), "offline": _l("Offline")}
SLA_LABELS = {"ok": _l("On time"), "at_risk": _l("At risk"), "breached": _l("Breached")}
CHANNELS = {"sms": "SMS", "telegram": "Telegram", "chat": _l("Terminal chat"), "simulator": _l("Simulator")}
STATUSES = {
    "received": _l("received"),
    "queued": _l("queued"),
    "sending": _l("sending"),
    "sent": _l("sent"),
    "delivered": _l("delivered"),
    "undelivered": _l("undelivered"),
    "failed": _l("failed"),
    "blocked": _l("blocked (opted out)"),
    "note": _l("internal note"),
}


def reason_label(reason: str | None) -> str:
    """Return the escalation reason in the specialist's language."""
    return str(REASONS.get(reason or "", reason or "-"))


def channel_label(channel: str) -> str:
    """Return a channel's name."""
    return str(CHANNELS.get(channel, channel))


def status_label(status: str) -> str:
    """Return a message's delivery status in the specialist's language."""
    return str(STATUSES.get(status, status))


def language_label(locale: str) -> str:
    """Return the borrower's language by its own name, with the locale (es_US: Español (es_US))."""
    return f"{LANGUAGE_NAMES[catalog_locale(locale)]} ({locale})"


def skill_label(skill: str) -> str:
    """Return a skill (and its queue) in the specialist's language."""
    return str(SKILLS.get(skill, skill))


def presence_label(presence: str) -> str:
    """Return a specialist's presence in the specialist's language."""
    return str(PRESENCES.get(presence, presence))


def wait_label(waited: timedelta) -> str:
    """Return a wait as minutes, hours and minutes, or (from two days) days and hours."""
    return Words.duration(waited)


class Words:
    """The page's labels translated once per page, not once per row (the queue lists up to 100 rows)."""

    def __init__(self) -> None:
        self.reasons = {key: str(label) for key, label in REASONS.items()}
        self.sla = {key: str(label) for key, label in SLA_LABELS.items()}
        self.channels = {key: str(label) for key, label in CHANNELS.items()}
        self.statuses = {key: str(label) for key, label in STATUSES.items()}
        self.states = {key: str(label) for key, label in STATES.items()}
        self.formats = self.duration_formats()
        self.targets = {key: self.wait(sla_target(key)) for key in REASONS}
        self.languages: dict[str, str] = {}

    def reason(self, reason: str | None) -> str:
        """Return an escalation reason's label."""
        return self.reasons.get(reason or "", reason or "-")

    def channel(self, channel: str) -> str:
        """Return a channel's name."""
        return self.channels.get(channel, channel)

    def language(self, locale: str) -> str:
        """Return a locale's language by its own name."""
        if locale not in self.languages:
            self.languages[locale] = language_label(locale)
        return self.languages[locale]

    def state(self, state: str) -> str:
        """Return who answers a conversation."""
        return self.states.get(state, state)

    def status(self, status: str) -> str:
        """Return a message's delivery status."""
        return self.statuses.get(status, status)

    @staticmethod
    def duration_formats() -> tuple[str, str, str]:
        """Return the page's formats of a duration in minutes, in hours and minutes, and in days and hours."""
        return str(_("%(minutes)d min")), str(_("%(hours)d h %(minutes)02d min")), str(_("%(days)d d %(hours)d h"))

    @classmethod
    def duration(cls, waited: timedelta, formats: tuple[str, str, str] | None = None) -> str:
        """Return a duration as minutes, hours and minutes, or (from two days) days and hours."""
        in_minutes, in_hours, in_days = formats or cls.duration_formats()
        minutes = max(0, int(waited.total_seconds() // 60))
        if minutes < 60:
            return in_minutes % {"minutes": minutes}
        if minutes < 48 * 60:
            return in_hours % {"hours": minutes // 60, "minutes": minutes % 60}
        return in_days % {"days": minutes // (24 * 60), "hours": minutes % (24 * 60) // 60}

    def wait(self, waited: timedelta) -> str:
        """Return a wait in this page's words."""
        return self.duration(waited, self.formats)

    def target(self, reason: str | None) -> str:
        """Return the SLA target of a reason as a wait."""
        return self.targets.get(reason or "", self.wait(sla_target(reason)))


def template_helpers() -> dict[str, object]:
    """Return the helpers the queue and conversation templates use."""
    return {
        "words": Words(),
        "reason_label": reason_label,
        "channel_label": channel_label,
        "status_label": status_label,
        "language_label": language_label,
        "wait_label": wait_label,
        "sla_labels": SLA_LABELS,
        "skill_label": skill_label,
        "presence_label": presence_label,
        "text_direction": text_direction,
    }
