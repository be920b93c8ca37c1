"""Outreach's confirmations: posted payments by the day received

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 03:40:00

End of day confirms each payment received in the last 3 days (servicing/outreach/reminders.py,
`payment_confirmations`), and the contact policy asks which borrowers paid on the day. No index had the day
received first (`ix_payments_loan_posted` leads with the loan): the window's query read every posted payment, a
million on a large portfolio, to keep the few thousand of three days. A partial index on posted payments by
`received_on`, on both dialects (docs/performance.md, "A steady end of day for a million loans").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    where = sa.text("status = 'posted'")
    op.create_index('ix_payments_posted_received', 'payments', ['received_on'], unique=False, sqlite_where=where,
                    postgresql_where=where)


def downgrade() -> None:
    op.drop_index('ix_payments_posted_received', table_name='payments')
