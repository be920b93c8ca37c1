"""Inbound receipts take the exactly-once key of inbound messages; what refers to a message names its created_at

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 03:40:00

Before messages can be partitioned by month on PostgreSQL (docs/operations.md, "Past one database server", item
3), two things must stop depending on a key a partitioned table cannot hold:

- the exactly-once storage of an inbound message, which was the unique (channel, direction, provider_id) of
  messages: a partitioned table's unique keys must include the partition key (created_at), so a provider's retry
  in another month would get in. `inbound_receipts (channel, provider_id)`, small and never partitioned, takes it:
  inserted first in the message's transaction (servicing/conversations.py). Filled here from the inbound messages
  stored so far.
- the foreign keys to messages.id (the outbox, notifications, and satisfaction surveys' asked and answer
  messages): a partitioned messages table's primary key is (id, created_at). Each reference gets the message's
  created_at beside its id, filled here, so that `loanline partitions enable --table messages` can make the
  foreign keys composite.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

# (table, the message id column, the column added for that message's created_at)
REFERENCES = (
    ('outbox', 'message_id', 'message_created_at'),
    ('notifications', 'message_id', 'message_created_at'),
    ('satisfaction_surveys', 'message_id', 'message_created_at'),
    ('satisfaction_surveys', 'answer_message_id', 'answer_message_created_at'),
)


def upgrade() -> None:
    op.create_table(
        'inbound_receipts',
        sa.Column('channel', sa.String(length=12), nullable=False),
        sa.Column('provider_id', sa.String(length=64), nullable=False),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('channel', 'provider_id'),
    )
    op.execute(
        "INSERT INTO inbound_receipts (channel, provider_id, received_at) "
        "SELECT channel, provider_id, min(created_at) FROM messages "
        "WHERE direction = 'in' AND provider_id IS NOT NULL GROUP BY channel, provider_id"
    )
    for table, id_column, created_column in REFERENCES:
        op.add_column(table, sa.Column(created_column, sa.DateTime(timezone=True), nullable=True))
        op.execute(
            f"UPDATE {table} SET {created_column} = "
            f"(SELECT m.created_at FROM messages m WHERE m.id = {table}.{id_column}) WHERE {id_column} IS NOT NULL"
        )
    for table in ('outbox', 'notifications'):
        with op.batch_alter_table(table) as batch_op:
            batch_op.alter_column('message_created_at', existing_type=sa.DateTime(timezone=True), nullable=False)


def downgrade() -> None:
    for table, _id_column, created_column in reversed(REFERENCES):
        with op.batch_alter_table(table) as batch_op:
            batch_op.drop_column(created_column)
    op.drop_table('inbound_receipts')
