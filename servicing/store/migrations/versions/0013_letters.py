"""Letters end of day makes: today's late fees and today's escrow analyses, read by day

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 10:00:00

End of day makes a late notice for each fee it charged and an escrow account statement for each analysis it
ran (servicing/documents/end_of_day.py); both read their rows by the day, so the day is indexed.
"""

from __future__ import annotations

from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_fees_assessed_on', 'fees', ['assessed_on', 'kind'])
    op.create_index('ix_escrow_analyses_analyzed_on', 'escrow_analyses', ['analyzed_on'])


def downgrade() -> None:
    op.drop_index('ix_escrow_analyses_analyzed_on', table_name='escrow_analyses')
    op.drop_index('ix_fees_assessed_on', table_name='fees')
