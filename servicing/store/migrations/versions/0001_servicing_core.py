"""servicing core

Revision ID: 0001
Revises: 
Create Date: 2026-11-28 03:18:51.976639
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('subject_type', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('borrowers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=False),
    sa.Column('last_name', sa.String(length=100), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('postal_code', sa.String(length=20), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('factor_salt', sa.String(length=32), nullable=False),
    sa.Column('date_of_birth_hash', sa.String(length=64), nullable=False),
    sa.Column('tax_id_last4_hash', sa.String(length=64), nullable=False),
    sa.Column('postal_code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('business_days',
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('loans_processed', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('business_date')
    )
    op.create_table('borrower_phones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('borrower_id', sa.Integer(), nullable=False),
    sa.Column('e164', sa.String(length=16), nullable=False),
    sa.Column('is_primary', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('e164')
    )
    with op.batch_alter_table('borrower_phones', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_borrower_phones_borrower_id'), ['borrower_id'], unique=False)

    op.create_table('loans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_number', sa.String(length=32), nullable=False),
    sa.Column('borrower_id', sa.Integer(), nullable=False),
    sa.Column('product', sa.String(length=16), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('minor_units', sa.Integer(), nullable=False),
    sa.Column('interest_method', sa.String(length=12), nullable=False),
    sa.Column('compounding', sa.String(length=12), nullable=False),
    sa.Column('original_principal', sa.BigInteger(), nullable=False),
    sa.Column('annual_rate', sa.BigInteger(), nullable=False),
    sa.Column('original_term_months', sa.Integer(), nullable=False),
    sa.Column('term_months', sa.Integer(), nullable=False),
    sa.Column('origination_date', sa.Date(), nullable=False),
    sa.Column('first_payment_date', sa.Date(), nullable=False),
    sa.Column('schedule_anchor', sa.Date(), nullable=False),
    sa.Column('monthly_payment', sa.BigInteger(), nullable=False),
    sa.Column('late_fee_rate', sa.BigInteger(), nullable=False),
    sa.Column('late_fee_grace_days', sa.Integer(), nullable=False),
    sa.Column('escrow_monthly', sa.BigInteger(), nullable=False),
    sa.Column('bank_account_last4', sa.String(length=4), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('boarded_on', sa.Date(), nullable=False),
    sa.Column('servicing_from', sa.Date(), nullable=False),
    sa.Column('source_fingerprint', sa.String(length=32), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('principal_balance', sa.BigInteger(), nullable=False),
    sa.Column('interest_balance', sa.BigInteger(), nullable=False),
    sa.Column('escrow_balance', sa.BigInteger(), nullable=False),
    sa.Column('fees_balance', sa.BigInteger(), nullable=False),
    sa.Column('suspense_balance', sa.BigInteger(), nullable=False),
    sa.Column('deferred_balance', sa.BigInteger(), nullable=False),
    sa.Column('interest_paid_through', sa.Date(), nullable=False),
    sa.Column('installments_paid', sa.Integer(), nullable=False),
    sa.Column('dsi_credit', sa.BigInteger(), nullable=False),
    sa.Column('late_fee_through', sa.Date(), nullable=True),
    sa.Column('fee_seq', sa.Integer(), nullable=False),
    sa.Column('next_due_date', sa.Date(), nullable=False),
    sa.Column('days_past_due', sa.Integer(), nullable=False),
    sa.Column('accrued_interest', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('loan_number')
    )
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loans_borrower_id'), ['borrower_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loans_next_due_date'), ['next_due_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_loans_status'), ['status'], unique=False)

    op.create_table('cases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=24), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=True),
    sa.Column('borrower_id', sa.Integer(), nullable=True),
    sa.Column('opened_on', sa.Date(), nullable=False),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('summary', sa.String(length=300), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=True),
    sa.Column('overdue', sa.Boolean(), nullable=False),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('delinquency_since', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id'], ),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_cases_due_on'), ['due_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_cases_loan_id'), ['loan_id'], unique=False)

    op.create_table('escrow_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('payee', sa.String(length=100), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('next_due_date', sa.Date(), nullable=False),
    sa.Column('frequency_months', sa.Integer(), nullable=False),
    sa.Column('last_paid_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('escrow_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_escrow_items_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_escrow_items_next_due_date'), ['next_due_date'], unique=False)

    op.create_table('fees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('outstanding', sa.BigInteger(), nullable=False),
    sa.Column('assessed_on', sa.Date(), nullable=False),
    sa.Column('installment_due_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('loan_id', 'seq')
    )
    with op.batch_alter_table('fees', schema=None) as batch_op:
        batch_op.create_index('ix_fees_open', ['loan_id', 'outstanding'], unique=False)

    op.create_table('payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('received_on', sa.Date(), nullable=False),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('method', sa.String(length=8), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('application', sa.JSON(), nullable=False),
    sa.Column('reversed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reversal_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_loan_id'), ['loan_id'], unique=False)

    op.create_table('case_deadlines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('rule', sa.String(length=40), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('met_on', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('case_deadlines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_deadlines_case_id'), ['case_id'], unique=False)

    op.create_table('installments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('principal', sa.BigInteger(), nullable=False),
    sa.Column('interest', sa.BigInteger(), nullable=False),
    sa.Column('escrow', sa.BigInteger(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('reversed', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('installments', schema=None) as batch_op:
        batch_op.create_index('ix_installments_loan', ['loan_id', 'due_date'], unique=False)

    op.create_table('ledger_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('effective_date', sa.Date(), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('principal', sa.BigInteger(), nullable=False),
    sa.Column('interest', sa.BigInteger(), nullable=False),
    sa.Column('escrow', sa.BigInteger(), nullable=False),
    sa.Column('fees', sa.BigInteger(), nullable=False),
    sa.Column('suspense', sa.BigInteger(), nullable=False),
    sa.Column('deferred', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=True),
    sa.Column('memo', sa.String(length=200), nullable=False),
    sa.Column('posted_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_loan', ['loan_id', 'id'], unique=False)

    op.create_table('scheduled_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('scheduled_for', sa.Date(), nullable=False),
    sa.Column('bank_account_last4', sa.String(length=4), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_via', sa.String(length=16), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=True),
    sa.Column('failure_reason', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('scheduled_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scheduled_payments_loan_id'), ['loan_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_scheduled_payments_scheduled_for'), ['scheduled_for'], unique=False)

    op.create_table('workouts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('loan_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('terms', sa.JSON(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], ),
    sa.ForeignKeyConstraint(['loan_id'], ['loans.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('workouts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_workouts_loan_id'), ['loan_id'], unique=False)
    if op.get_bind().dialect.name == "postgresql":
        for statement in POSTGRES_FUNCTIONS:
            op.execute(statement)


POSTGRES_FUNCTIONS = (
    # the 30/360 day of a date: day 31 and the last day of February count as 30
    """CREATE OR REPLACE FUNCTION ll_day30(d date) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE WHEN extract(day FROM d) = 31
                      OR (extract(month FROM d) = 2 AND extract(day FROM d + 1) = 1)
                    THEN 30 ELSE extract(day FROM d)::integer END $$""",
    """CREATE OR REPLACE FUNCTION ll_days360(a date, b date) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
        SELECT ((extract(year FROM b) - extract(year FROM a)) * 360
              + (extract(month FROM b) - extract(month FROM a)) * 30)::integer
              + ll_day30(b) - ll_day30(a) $$""",
    # interest after paid_through up to as_of, rounded half-up once, in stored units (1e-4);
    # the same figure as servicing.store.db.accrued_interest_units computes for SQLite
    """CREATE OR REPLACE FUNCTION ll_accrued(principal bigint, rate bigint, method text, compounding text,
                                             paid_through date, as_of date, minor integer)
        RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE WHEN as_of <= paid_through OR principal <= 0 THEN 0::bigint ELSE
          (round((principal::numeric / 10000) * CASE
              WHEN method = 'actual/365' THEN (rate::numeric / 1e10) * (as_of - paid_through) / 365
              WHEN compounding = 'semiannual'
                THEN (power(1 + rate::numeric / 2e10, 1::numeric / 6) - 1) * ll_days360(paid_through, as_of) / 30
              ELSE (rate::numeric / 1e10) * ll_days360(paid_through, as_of) / 360 END, minor) * 10000)::bigint
          END $$""",
)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for name in ("ll_accrued(bigint, bigint, text, text, date, date, integer)", "ll_days360(date, date)", "ll_day30(date)"):
            op.execute(f"DROP FUNCTION IF EXISTS {name}")
    with op.batch_alter_table('workouts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_workouts_loan_id'))

    op.drop_table('workouts')
    with op.batch_alter_table('scheduled_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scheduled_payments_scheduled_for'))
        batch_op.drop_index(batch_op.f('ix_scheduled_payments_loan_id'))

    op.drop_table('scheduled_payments')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_loan')

    op.drop_table('ledger_entries')
    with op.batch_alter_table('installments', schema=None) as batch_op:
        batch_op.drop_index('ix_installments_loan')

    op.drop_table('installments')
    with op.batch_alter_table('case_deadlines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_deadlines_case_id'))

    op.drop_table('case_deadlines')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payments_loan_id'))

    op.drop_table('payments')
    with op.batch_alter_table('fees', schema=None) as batch_op:
        batch_op.drop_index('ix_fees_open')

    op.drop_table('fees')
    with op.batch_alter_table('escrow_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_escrow_items_next_due_date'))
        batch_op.drop_index(batch_op.f('ix_escrow_items_loan_id'))

    op.drop_table('escrow_items')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_cases_loan_id'))
        batch_op.drop_index(batch_op.f('ix_cases_kind'))
        batch_op.drop_index(batch_op.f('ix_cases_due_on'))

    op.drop_table('cases')
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loans_status'))
        batch_op.drop_index(batch_op.f('ix_loans_next_due_date'))
        batch_op.drop_index(batch_op.f('ix_loans_borrower_id'))

    op.drop_table('loans')
    with op.batch_alter_table('borrower_phones', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_borrower_phones_borrower_id'))

    op.drop_table('borrower_phones')
    op.drop_table('business_days')
    op.drop_table('borrowers')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')
