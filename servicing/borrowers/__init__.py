"""A borrower as a person (docs/console-borrowers.md): their profile, its changes, and verifying a caller.

- `profile`: what the console's borrower page shows, and the changes a specialist makes there (name, email,
  language, time zone, phones, a Telegram chat unlinked, consent per purpose, the mailing address and each loan's
  property address), each with a reason, audited with values masked.
- `caller`: a specialist checks what a caller says against the knowledge factors on file; failures count with
  the bot's against the same borrower, and lock them out alike.
"""
