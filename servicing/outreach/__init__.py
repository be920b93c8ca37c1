"""Proactive servicing (issue 13): the contact policy, reminders and outreach, and promises to pay.

Use cases like those at the core's top level, one transaction each; see docs/contact-policy.md.
"""
