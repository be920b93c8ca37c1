"""Running Loanline in production (docs/operations.md): metrics, logs, readiness, the scheduler, backups, partitions.

Nothing here is a servicing rule: these modules watch, schedule and keep the system the use cases run in.
"""
