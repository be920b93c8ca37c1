"""Proactive servicing (issue 13): the contact policy every message the servicer starts passes, the reminders and
outreach end of day queues, the specialists' contact flags, and promises to pay.

- `policy`: gathers what the rules need (servicing.rules.contact decides), records every decision in
  `contact_decisions` and queues what may go out in the outbox; checks again before the worker sends.
- `reminders`: what end of day sends: payment reminders, past-due reminders, early-intervention outreach,
  payment confirmations and broken-promise follow-ups, in the borrower's language.
- `flags`: cease communication, bankruptcy and deceased, set and cleared by specialists (audited).
"""
