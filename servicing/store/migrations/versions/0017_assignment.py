"""Assignment: specialists' presence, capacity, languages, skills, forced password change; saved queue views

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-04 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("specialists") as batch_op:
        batch_op.add_column(sa.Column("presence", sa.String(length=12), server_default="offline", nullable=False))
        batch_op.add_column(sa.Column("capacity", sa.Integer(), server_default="3", nullable=False))
        batch_op.add_column(sa.Column("languages", sa.JSON(), server_default='["en"]', nullable=False))
        batch_op.add_column(sa.Column("skills", sa.JSON(), server_default='["general"]', nullable=False))
        batch_op.add_column(sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.add_column(sa.Column("skill", sa.String(length=20), nullable=True))
    op.create_table(
        "saved_queue_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("specialist_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=60), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["specialist_id"], ["specialists.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("specialist_id", "name"),
    )


def downgrade() -> None:
    op.drop_table("saved_queue_views")
    with op.batch_alter_table("conversations") as batch_op:
        batch_op.drop_column("skill")
    with op.batch_alter_table("specialists") as batch_op:
        for column in ("must_change_password", "last_assigned_at", "skills", "languages", "capacity", "presence"):
            batch_op.drop_column(column)
