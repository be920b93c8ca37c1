"""console indexes: a subject's audit history, a specialist's own conversations

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 06:45:00
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_audit_subject', 'audit_log', ['subject_type', 'subject_id', 'at'], unique=False)
    op.drop_index('ix_conversations_assigned_to', table_name='conversations')
    op.create_index('ix_conversations_assigned', 'conversations', ['assigned_to', 'state', 'assigned_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_conversations_assigned', table_name='conversations')
    op.create_index('ix_conversations_assigned_to', 'conversations', ['assigned_to'], unique=False)
    op.drop_index('ix_audit_subject', table_name='audit_log')
