"""ACH: bank accounts on file (encrypted), autopay enrolments, NACHA files, drafts, returns and notifications of change

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04 19:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A reversal (every ACH return) reads a payment's ledger lines and marks its installments: by payment id.
    op.create_index('ix_ledger_payment', 'ledger_entries', ['payment_id'], unique=False)
    op.create_index('ix_installments_payment', 'installments', ['payment_id'], unique=False)
    op.create_table(
        'bank_accounts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('loan_id', sa.Integer(), nullable=False),
        sa.Column('routing', sa.String(length=9), nullable=False),
        sa.Column('account_encrypted', sa.Text(), nullable=False),
        sa.Column('account_last4', sa.String(length=4), nullable=False),
        sa.Column('account_type', sa.String(length=8), nullable=False),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('added_by', sa.String(length=64), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_by', sa.String(length=64), nullable=True),
        sa.Column('ended_reason', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['loan_id'], ['loans.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('bank_accounts') as batch_op:
        batch_op.create_index(batch_op.f('ix_bank_accounts_loan_id'), ['loan_id'], unique=False)
    op.create_table(
        'autopay_enrolments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('loan_id', sa.Integer(), nullable=False),
        sa.Column('bank_account_id', sa.Integer(), nullable=False),
        sa.Column('amount_kind', sa.String(length=12), nullable=False),
        sa.Column('fixed_amount', sa.BigInteger(), nullable=True),
        sa.Column('extra_principal', sa.BigInteger(), server_default='0', nullable=False),
        sa.Column('days_before', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=8), nullable=False),
        sa.Column('authorization_text', sa.Text(), nullable=False),
        sa.Column('authorization_version', sa.String(length=16), nullable=False),
        sa.Column('authorization_language', sa.String(length=10), nullable=False),
        sa.Column('authorized_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('enrolled_by', sa.String(length=64), nullable=False),
        sa.Column('stopped_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('stopped_by', sa.String(length=64), nullable=True),
        sa.Column('stop_reason', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['bank_account_id'], ['bank_accounts.id']),
        sa.ForeignKeyConstraint(['loan_id'], ['loans.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('autopay_enrolments') as batch_op:
        batch_op.create_index(batch_op.f('ix_autopay_enrolments_loan_id'), ['loan_id'], unique=False)
    op.create_table(
        'ach_files',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('direction', sa.String(length=8), nullable=False),
        sa.Column('effective_date', sa.Date(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('entries', sa.Integer(), nullable=False),
        sa.Column('debit_total', sa.BigInteger(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('content_encrypted', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('direction', 'effective_date', name='uq_ach_files_direction_effective_date'),
        sa.UniqueConstraint('direction', 'sha256', name='uq_ach_files_direction_sha256'),
    )
    op.create_table(
        'ach_drafts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('loan_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('source_reference', sa.String(length=64), nullable=False),
        sa.Column('effective_date', sa.Date(), nullable=False),
        sa.Column('bank_account_id', sa.Integer(), nullable=False),
        sa.Column('amount', sa.BigInteger(), nullable=False),
        sa.Column('transaction_code', sa.String(length=2), nullable=False),
        sa.Column('trace_number', sa.String(length=15), nullable=False),
        sa.Column('reference', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('file_id', sa.Integer(), nullable=False),
        sa.Column('payment_id', sa.Integer(), nullable=True),
        sa.Column('settled_on', sa.Date(), nullable=True),
        sa.Column('return_code', sa.String(length=3), nullable=True),
        sa.Column('returned_on', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['bank_account_id'], ['bank_accounts.id']),
        sa.ForeignKeyConstraint(['file_id'], ['ach_files.id']),
        sa.ForeignKeyConstraint(['loan_id'], ['loans.id']),
        sa.ForeignKeyConstraint(['payment_id'], ['payments.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('loan_id', 'effective_date', 'kind', 'source_reference', name='uq_ach_drafts_once'),
        sa.UniqueConstraint('reference'),
        sa.UniqueConstraint('trace_number'),
    )
    with op.batch_alter_table('ach_drafts') as batch_op:
        batch_op.create_index(batch_op.f('ix_ach_drafts_effective_date'), ['effective_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_ach_drafts_file_id'), ['file_id'], unique=False)
        batch_op.create_index('ix_ach_drafts_loan', ['loan_id', 'effective_date'], unique=False)
    op.create_table(
        'ach_returns',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('file_id', sa.Integer(), nullable=False),
        sa.Column('draft_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('code', sa.String(length=3), nullable=False),
        sa.Column('line', sa.Integer(), nullable=False),
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('outcome', sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(['draft_id'], ['ach_drafts.id']),
        sa.ForeignKeyConstraint(['file_id'], ['ach_files.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('ach_returns') as batch_op:
        batch_op.create_index(batch_op.f('ix_ach_returns_business_date'), ['business_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_ach_returns_draft_id'), ['draft_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ach_returns_file_id'), ['file_id'], unique=False)


def downgrade() -> None:
    op.drop_table('ach_returns')
    op.drop_table('ach_drafts')
    op.drop_table('ach_files')
    op.drop_table('autopay_enrolments')
    op.drop_table('bank_accounts')
    op.drop_index('ix_installments_payment', 'installments')
    op.drop_index('ix_ledger_payment', 'ledger_entries')
