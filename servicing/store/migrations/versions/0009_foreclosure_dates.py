"""loans.foreclosure_referred_on and foreclosure_sale_on: the dates the Reg X clocks and guards read

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('loans') as batch_op:
        batch_op.add_column(sa.Column('foreclosure_referred_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('foreclosure_sale_on', sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('loans') as batch_op:
        batch_op.drop_column('foreclosure_sale_on')
        batch_op.drop_column('foreclosure_referred_on')
