"""The specialists' desk (issue 15, working faster): macros, @mentions in internal notes and the satisfaction survey.

- `mentions`: a note naming `@username` notifies that specialist (the `notifications` table).
- `satisfaction`: after a specialist resolves a conversation, one question (1 to 5) in the borrower's language,
  through the contact policy and the outbox; the answer is recorded against the specialist who resolved it.
- `macros`: a supervisor's canned reply plus actions (a note, a reason, resolve, the survey) applied in one
  transaction.

See docs/console-working-faster.md.
"""
