"""Documents: mailing and property addresses, delivery preferences, E-SIGN consents, documents, print batches, links

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

ADDRESS = (('line1', 100), ('line2', 100), ('city', 64), ('region', 64), ('postal_code', 20), ('country', 2))


def upgrade() -> None:
    for table, prefix in (('borrowers', 'mailing'), ('loans', 'property')):
        with op.batch_alter_table(table) as batch_op:
            for column, length in ADDRESS:
                batch_op.add_column(sa.Column(f'{prefix}_{column}', sa.String(length=length), nullable=True))
    op.create_table(
        'delivery_preferences',
        sa.Column('borrower_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('channel', sa.String(length=12), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('changed_by', sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id']),
        sa.PrimaryKeyConstraint('borrower_id', 'kind'),
    )
    op.create_table(
        'esign_consents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('borrower_id', sa.Integer(), nullable=False),
        sa.Column('given_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_by', sa.String(length=64), nullable=False),
        sa.Column('method', sa.String(length=32), nullable=False),
        sa.Column('evidence', sa.String(length=300), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_by', sa.String(length=64), nullable=True),
        sa.Column('revoke_method', sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('esign_consents') as batch_op:
        batch_op.create_index(batch_op.f('ix_esign_consents_borrower_id'), ['borrower_id'], unique=False)
    op.create_table(
        'print_batches',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('documents', sa.Integer(), nullable=False),
        sa.Column('sheets', sa.Integer(), nullable=False),
        sa.Column('pdf_path', sa.String(length=300), nullable=False),
        sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
        sa.Column('manifest_path', sa.String(length=300), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('business_date'),
    )
    op.create_table(
        'documents',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('loan_id', sa.Integer(), nullable=False),
        sa.Column('borrower_id', sa.Integer(), nullable=False),
        sa.Column('period', sa.String(length=40), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('replaces_id', sa.Integer(), nullable=True),
        sa.Column('language', sa.String(length=10), nullable=False),
        sa.Column('locale', sa.String(length=10), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('business_date', sa.Date(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('pages', sa.Integer(), nullable=False),
        sa.Column('storage_path', sa.String(length=300), nullable=False),
        sa.Column('delivery', sa.String(length=12), nullable=False),
        sa.Column('delivery_status', sa.String(length=12), nullable=False),
        sa.Column('print_batch_id', sa.Integer(), nullable=True),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('flags', sa.JSON(), nullable=False),
        sa.Column('summary', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id']),
        sa.ForeignKeyConstraint(['loan_id'], ['loans.id']),
        sa.ForeignKeyConstraint(['print_batch_id'], ['print_batches.id']),
        sa.ForeignKeyConstraint(['replaces_id'], ['documents.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('kind', 'loan_id', 'period', 'version', name='uq_documents_kind_loan_period_version'),
    )
    with op.batch_alter_table('documents') as batch_op:
        batch_op.create_index(batch_op.f('ix_documents_borrower_id'), ['borrower_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_documents_business_date'), ['business_date'], unique=False)
        batch_op.create_index('ix_documents_loan', ['loan_id', 'created_at'], unique=False)
        batch_op.create_index('ix_documents_delivery', ['delivery', 'delivery_status'], unique=False)
    op.create_table(
        'document_links',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['document_id'], ['documents.id']),
        sa.PrimaryKeyConstraint('token_hash'),
    )
    with op.batch_alter_table('document_links') as batch_op:
        batch_op.create_index(batch_op.f('ix_document_links_document_id'), ['document_id'], unique=False)


def downgrade() -> None:
    op.drop_table('document_links')
    op.drop_table('documents')
    op.drop_table('print_batches')
    op.drop_table('esign_consents')
    op.drop_table('delivery_preferences')
    for table, prefix in (('loans', 'property'), ('borrowers', 'mailing')):
        with op.batch_alter_table(table) as batch_op:
            for column, _length in reversed(ADDRESS):
                batch_op.drop_column(f'{prefix}_{column}')
