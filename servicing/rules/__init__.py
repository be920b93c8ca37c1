"""The servicing rules, pure: what a loan owes and how money applies, with no database and no I/O.

Money, interest, the amortization schedule, business days, the in-memory account and its ledger
balances, posting (the waterfall, suspense, reversal), payoff, delinquency, the escrow analysis
arithmetic, the workout calculators and knowledge-factor hashing.

A module here imports only the standard library, well-kept pure libraries (Babel, dateutil,
holidays), the core's exceptions (`servicing.errors`) and other modules of `servicing.rules`:
never SQLAlchemy, Flask, aiogram or twilio, `servicing.store`, a use case or the demo
(tests/unit/test_layers.py checks it).
"""
