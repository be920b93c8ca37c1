"""promises: promises to pay, kept or broken from the ledger by end of day

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 18:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'promises',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('loan_id', sa.Integer(), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('promised_for', sa.Date(), nullable=False),
        sa.Column('made_on', sa.Date(), nullable=False),
        sa.Column('made_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('made_by', sa.String(length=64), nullable=False),
        sa.Column('channel', sa.String(length=12), nullable=False),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('resolved_on', sa.Date(), nullable=True),
        sa.Column('paid', sa.BigInteger(), server_default='0', nullable=False),
        sa.ForeignKeyConstraint(['loan_id'], ['loans.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('promises') as batch_op:
        batch_op.create_index('ix_promises_loan', ['loan_id', 'status'], unique=False)
        batch_op.create_index('ix_promises_open', ['status', 'promised_for'], unique=False)


def downgrade() -> None:
    op.drop_table('promises')
