"""The demo portfolio and demo conversations, and who a terminal chat speaks as.

Only the CLI (`loanline demo`, `loanline chat`), the borrower simulator, the benchmarks and the
tests import this package; no use case does.
"""
