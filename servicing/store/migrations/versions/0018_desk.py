"""The specialists' desk: macros, notifications (@mentions in notes) and satisfaction surveys

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-04 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'macros',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=80), nullable=False),
        sa.Column('shortcut', sa.String(length=1), nullable=True),
        sa.Column('canned_key', sa.String(length=32), nullable=True),
        sa.Column('note', sa.Text(), nullable=True),
        sa.Column('reason', sa.String(length=16), nullable=True),
        sa.Column('resolve', sa.Boolean(), nullable=False),
        sa.Column('survey', sa.Boolean(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('name'),
        sa.UniqueConstraint('shortcut'),
    )
    op.create_table(
        'notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('specialist', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('message_id', sa.Integer(), nullable=False),
        sa.Column('by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('message_id', 'specialist', name='uq_notifications_once'),
    )
    with op.batch_alter_table('notifications') as batch_op:
        batch_op.create_index('ix_notifications_unread', ['specialist', 'read_at', 'id'], unique=False)
    op.create_table(
        'satisfaction_surveys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('conversation_id', sa.Integer(), nullable=False),
        sa.Column('specialist', sa.String(length=64), nullable=False),
        sa.Column('borrower_id', sa.Integer(), nullable=False),
        sa.Column('channel', sa.String(length=12), nullable=False),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=True),
        sa.Column('decision_id', sa.Integer(), nullable=True),
        sa.Column('message_id', sa.Integer(), nullable=True),
        sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('asked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('score', sa.Integer(), nullable=True),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('answer_message_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['answer_message_id'], ['messages.id']),
        sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id']),
        sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id']),
        sa.ForeignKeyConstraint(['decision_id'], ['contact_decisions.id']),
        sa.ForeignKeyConstraint(['message_id'], ['messages.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('satisfaction_surveys') as batch_op:
        batch_op.create_index('ix_satisfaction_conversation', ['conversation_id', 'status'], unique=False)
        batch_op.create_index('ix_satisfaction_specialist', ['specialist', 'resolved_at'], unique=False)


def downgrade() -> None:
    op.drop_table('satisfaction_surveys')
    op.drop_table('notifications')
    op.drop_table('macros')
