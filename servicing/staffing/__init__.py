"""Staffing the queue (issue 15): who is working, what they handle, and who gets which conversation.

- `skills`: the skills, the skill each escalation reason needs, a conversation's language.
- `presence`: available, away, offline; going offline hands waiting conversations back to the queue.
- `assignment`: offers waiting conversations to available specialists (capacity, language, skill, fairness).
- `team`: everyone's presence and load for a supervisor; reassigning; the transfer picker's choices.
- `accounts`: the administrator's user management (create, change, deactivate, reset and change passwords).
- `queue_views`: the queue's filters and each specialist's saved views.
- `bulk`: assigning or resolving many conversations at once, skipping those that changed meanwhile.

See docs/console-assignment.md.
"""
