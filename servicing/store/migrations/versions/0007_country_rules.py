"""Country rules: loans.country (the jurisdiction and business-day calendar of a loan) and
loans.late_fee_amount (a fixed late charge: UK and EU arrears charges, Canadian mortgages)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('loans') as batch_op:
        batch_op.add_column(sa.Column('late_fee_amount', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('country', sa.String(length=2), nullable=True))
    # a loan boarded before this revision is in its borrower's country
    op.execute('UPDATE loans SET country = (SELECT borrowers.country FROM borrowers WHERE borrowers.id = loans.borrower_id)')
    with op.batch_alter_table('loans') as batch_op:
        batch_op.alter_column('country', existing_type=sa.String(length=2), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table('loans') as batch_op:
        batch_op.drop_column('country')
        batch_op.drop_column('late_fee_amount')
