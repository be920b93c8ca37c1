"""Escrow analysis in end of day: per-installment deposits, billed shortages, analysis dates, statements

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 10:00:00

Loans already on file with an escrow account get their next annual analysis date: the day after the
twelfth installment of a computation year (years run from the schedule's first due date) after the
business date (today on a database where end of day never ran), as boarding now sets it.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from alembic import op
from dateutil.relativedelta import relativedelta

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

ESCROWED_PRODUCTS = ('mortgage', 'business')


def upgrade() -> None:
    with op.batch_alter_table('loans') as batch_op:
        batch_op.add_column(sa.Column('escrow_previous_monthly', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('escrow_monthly_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('escrow_shortage_due', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('escrow_shortage_due_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('escrow_analysis_on', sa.Date(), nullable=True))
        batch_op.create_index(batch_op.f('ix_loans_escrow_analysis_on'), ['escrow_analysis_on'], unique=False)
    op.create_table(
        'escrow_analyses',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('loan_id', sa.Integer(), nullable=False),
        sa.Column('analyzed_on', sa.Date(), nullable=False),
        sa.Column('computation_year_starts', sa.Date(), nullable=False),
        sa.Column('trigger', sa.String(length=12), nullable=False),
        sa.Column('analyzed_by', sa.String(length=64), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=True),
        sa.Column('statement', sa.JSON(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['loan_id'], ['loans.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('escrow_analyses') as batch_op:
        batch_op.create_index('ix_escrow_analyses_loan', ['loan_id', 'analyzed_on'], unique=False)
    _schedule_first_analyses()


def _schedule_first_analyses() -> None:
    """Give each active escrowed loan on file its next annual analysis date (a few rows per loan, in Python)."""
    bind = op.get_bind()
    last_run = bind.execute(sa.text('SELECT MAX(business_date) FROM business_days')).scalar()
    if isinstance(last_run, str):  # SQLite returns an aggregate of dates as text
        last_run = date.fromisoformat(last_run)
    after = last_run + timedelta(days=1) if last_run else date.today()
    loans = sa.table('loans', sa.column('id'), sa.column('product'), sa.column('status'),
                     sa.column('schedule_anchor', sa.Date()), sa.column('escrow_monthly'),
                     sa.column('escrow_balance'), sa.column('escrow_analysis_on', sa.Date()))  # fmt: skip
    items = sa.table('escrow_items', sa.column('loan_id'))
    has_bills = sa.exists().where(items.c.loan_id == loans.c.id)
    rows = bind.execute(
        sa.select(loans.c.id, loans.c.schedule_anchor).where(
            loans.c.status == 'active',
            loans.c.product.in_(ESCROWED_PRODUCTS),
            sa.or_(loans.c.escrow_monthly != 0, loans.c.escrow_balance != 0, has_bills),
        )
    ).all()
    dates = [{'b_id': loan_id, 'day': _next_analysis(anchor, after)} for loan_id, anchor in rows]
    if dates:
        bind.execute(
            loans.update().where(loans.c.id == sa.bindparam('b_id')).values(escrow_analysis_on=sa.bindparam('day')),
            dates,
        )


def _next_analysis(anchor: date, on_or_after: date) -> date:
    """The day after the first computation year's twelfth due date on or after a day (servicing.rules.escrow)."""
    years = 1
    while (day := anchor + relativedelta(months=12 * years - 1) + timedelta(days=1)) < on_or_after:
        years += 1
    return day


def downgrade() -> None:
    with op.batch_alter_table('escrow_analyses') as batch_op:
        batch_op.drop_index('ix_escrow_analyses_loan')
    op.drop_table('escrow_analyses')
    with op.batch_alter_table('loans') as batch_op:
        batch_op.drop_index(batch_op.f('ix_loans_escrow_analysis_on'))
        batch_op.drop_column('escrow_analysis_on')
        batch_op.drop_column('escrow_shortage_due_on')
        batch_op.drop_column('escrow_shortage_due')
        batch_op.drop_column('escrow_monthly_from')
        batch_op.drop_column('escrow_previous_monthly')
