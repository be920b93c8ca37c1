"""Macros: a macro may transfer the conversation to a skill queue (general, loss mitigation, disputes, payoffs)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 01:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('macros', sa.Column('transfer_to', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('macros') as batch_op:
        batch_op.drop_column('transfer_to')
