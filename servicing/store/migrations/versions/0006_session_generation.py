"""specialists.session_generation: a logout ends the specialist's sessions on the server, not only in the browser

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 07:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('specialists') as batch_op:
        batch_op.add_column(sa.Column('session_generation', sa.Integer(), server_default='0', nullable=False))


def downgrade() -> None:
    with op.batch_alter_table('specialists') as batch_op:
        batch_op.drop_column('session_generation')
