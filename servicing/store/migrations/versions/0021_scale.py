"""Scale: the indexes docs/performance.md listed as missing, and the loans table laid out for a heap-only accrual

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-04 22:20:00

Partial indexes on both dialects (SQLite and PostgreSQL both have them). On PostgreSQL only: the loans table
keeps half of each page free (fillfactor 50) so that end of day's accrual UPDATE, which rewrites every active
loan's accrued interest and days past due (no indexed column), writes each new row version on its own page:
a heap-only (HOT) update that adds no index entry; yesterday's versions are pruned from the page when it is
next written. Autovacuum visits loans after 2% of its rows changed instead of 20%. The new fill factor applies
to pages written from now on: `VACUUM FULL loans` (or pg_repack) in a maintenance window lays out the existing
rows again (docs/operations.md, "Upgrades").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

LOANS_FILLFACTOR = 50

# name, table, columns, condition (a partial index when given)
INDEXES = (
    ('ix_payments_loan_posted', 'payments', ['loan_id', 'received_on'], "status = 'posted'"),
    ('ix_scheduled_payments_due', 'scheduled_payments', ['scheduled_for'], "status = 'scheduled'"),
    ('ix_cases_loan_kind_delinquency', 'cases', ['loan_id', 'kind', 'delinquency_since'], None),
    ('ix_case_deadlines_open', 'case_deadlines', ['case_id', 'due_on'], 'met_on IS NULL'),
    ('ix_workouts_active', 'workouts', ['loan_id'], "status = 'active'"),
    ('ix_fees_outstanding', 'fees', ['loan_id', 'assessed_on', 'seq'], 'outstanding > 0'),
    ('ix_loans_active_due', 'loans', ['next_due_date'], "status = 'active'"),
)


def upgrade() -> None:
    for name, table, columns, condition in INDEXES:
        where = sa.text(condition) if condition else None
        op.create_index(name, table, columns, unique=False, sqlite_where=where, postgresql_where=where)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'ALTER TABLE loans SET (fillfactor = {LOANS_FILLFACTOR}, autovacuum_vacuum_scale_factor = 0.02, '
                   'autovacuum_analyze_scale_factor = 0.02)')


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE loans RESET (fillfactor, autovacuum_vacuum_scale_factor, '
                   'autovacuum_analyze_scale_factor)')
    for name, table, _columns, _condition in reversed(INDEXES):
        op.drop_index(name, table_name=table)
