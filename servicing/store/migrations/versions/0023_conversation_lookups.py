"""Conversation lookups: by loan (the loan page's conversations tab) and by address alone (search by phone)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 01:10:00

The loan page lists the conversations `WHERE loan_id = ? OR borrower_id = ?` and search the ones
`WHERE address = ? OR borrower_id IN (...)`: with `borrower_id` alone indexed, both read every conversation
(SQLite `SCAN conversations`, 0.7 to 0.9 ms at 10,000 conversations, growing with them). With `loan_id` and
`address` indexed too, each side of the OR is an index search (SQLite's multi-index OR, PostgreSQL's BitmapOr).
The unique (channel, address) index does not serve `address` alone: it leads with the channel.
See docs/console-performance.md.
"""

from __future__ import annotations

from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_conversations_loan_id', 'conversations', ['loan_id'], unique=False)
    op.create_index('ix_conversations_address', 'conversations', ['address'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_conversations_address', table_name='conversations')
    op.drop_index('ix_conversations_loan_id', table_name='conversations')
