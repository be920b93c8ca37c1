"""The servicing core: loans, the ledger, cases and conversations, with no web or bot library.

Three parts, each a folder, and the use cases between them:

- `servicing.rules`: the servicing rules, pure: money, interest, schedules, business days, the
  account and its ledger balances, posting (the waterfall), payoff, delinquency, the escrow
  analysis, the workout calculators, knowledge-factor hashing. No database, no I/O.
- `servicing.store`: persistence: engines and sessions, the SQLAlchemy models and column types,
  loading and saving accounts in bulk, Alembic migrations.
- `servicing.demo`: the demo portfolio and conversations, for the CLI and the simulator only.

The modules at this level are the use cases (boarding, payments, end of day, cases,
conversations, the outbox, decisions, reports, ...): each a few functions over one transaction
that combine rules and store. `servicing.errors` is the core's one exception root, and
`servicing.config` its one reader of the environment.
"""
