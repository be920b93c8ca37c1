"""What the console calls the contact policy's things (flags, kinds of message, statuses, reasons), in the
specialist's language, for the loan page, the conversation page and the outreach report."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

FLAGS = {
    "cease_communication": _l("Cease communication"),
    "bankruptcy": _l("Bankruptcy"),
    "deceased": _l("Deceased"),
    "forbearance": _l("Active forbearance"),
    "repayment_plan": _l("Repayment plan being kept"),
    "specialist_conversation": _l("Talking with a specialist"),
    "promise_open": _l("Open promise to pay"),
}
KINDS = {
    "servicing_notice": _l("Servicing notice"),
    "payment_received": _l("Payment received"),
    "payment_reminder": _l("Payment reminder"),
    "past_due": _l("Past-due reminder"),
    "early_intervention": _l("Early-intervention outreach"),
    "broken_promise": _l("Broken-promise follow-up"),
    "satisfaction_survey": _l("Satisfaction survey"),
}
STATUSES = {
    "queued": _l("queued"),
    "deferred": _l("deferred"),
    "sent": _l("sent"),
    "suppressed": _l("suppressed"),
    "failed": _l("failed"),
}
REASONS = {
    **FLAGS,
    "quiet_hours": _l("Outside the borrower's contact hours"),
    "no_channel": _l("No channel"),
    "opted_out": _l("Consent revoked"),
    "payment_today": _l("Payment received today"),
    "frequency_cap": _l("Frequency cap"),
    "autopay": _l("Covered by a scheduled payment"),
    "no_longer_due": _l("No longer due"),
    "delivery_failed": _l("Delivery failed"),
}
PURPOSES = {
    "all": _l("everything (STOP)"),
    "servicing": _l("servicing notices"),
    "reminder": _l("reminders"),
    "collection": _l("collection messages"),
}


def label(table: dict[str, object], key: str | None) -> str:
    """Return a key's label in the specialist's language (the key itself when it has none)."""
    if not key:
        return "—"
    return str(table.get(key, key))


def contact_helpers() -> dict[str, object]:
    """Return the template helpers of the contact section."""
    return {
        "flag_label": lambda key: label(FLAGS, key),
        "kind_label": lambda key: label(KINDS, key),
        "contact_status_label": lambda key: label(STATUSES, key),
        "contact_reason_label": lambda key: label(REASONS, key),
        "purpose_label": lambda key: label(PURPOSES, key),
    }
