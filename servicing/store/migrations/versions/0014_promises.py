"""promises: a status long enough for "cancelled" (0012 made it 8 characters)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('promises') as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=8), type_=sa.String(length=12),
                              existing_nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('promises') as batch_op:
        batch_op.alter_column('status', existing_type=sa.String(length=12), type_=sa.String(length=8),
                              existing_nullable=False)
