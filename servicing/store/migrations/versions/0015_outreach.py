"""outreach: the contact policy's flags and decisions, opt-outs per purpose, whether a borrower's zone was given

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('borrowers', sa.Column('timezone_given', sa.Boolean(), server_default=sa.true(), nullable=False))
    _opt_outs_per_purpose()
    op.create_table(
        'contact_flags',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('borrower_id', sa.Integer(), nullable=False),
        sa.Column('loan_id', sa.Integer(), nullable=True),
        sa.Column('flag', sa.String(length=24), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.Column('set_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('set_by', sa.String(length=64), nullable=False),
        sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('cleared_by', sa.String(length=64), nullable=True),
        sa.Column('clear_note', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id']),
        sa.ForeignKeyConstraint(['loan_id'], ['loans.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('contact_flags') as batch_op:
        batch_op.create_index('ix_contact_flags_borrower', ['borrower_id', 'cleared_at'], unique=False)
    op.create_table(
        'contact_decisions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('loan_id', sa.Integer(), nullable=True),
        sa.Column('borrower_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('purpose', sa.String(length=12), nullable=False),
        sa.Column('channel', sa.String(length=12), nullable=True),
        sa.Column('occasion', sa.Date(), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('reason', sa.String(length=32), nullable=True),
        sa.Column('send_after', sa.DateTime(timezone=True), nullable=True),
        sa.Column('outbox_id', sa.Integer(), nullable=True),
        sa.Column('dedupe_key', sa.String(length=80), nullable=True),
        sa.ForeignKeyConstraint(['borrower_id'], ['borrowers.id']),
        sa.ForeignKeyConstraint(['loan_id'], ['loans.id']),
        sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dedupe_key'),
        sa.UniqueConstraint('outbox_id'),
    )
    with op.batch_alter_table('contact_decisions') as batch_op:
        batch_op.create_index('ix_contact_decisions_borrower', ['borrower_id', 'purpose', 'decided_at'], unique=False)
        batch_op.create_index('ix_contact_decisions_decided', ['decided_at'], unique=False)
        batch_op.create_index('ix_contact_decisions_loan', ['loan_id', 'kind', 'occasion'], unique=False)


def _opt_outs_per_purpose() -> None:
    """Add the purpose to the opt-outs' key; every opt-out on file so far is a STOP, so its purpose is `all`."""
    if op.get_bind().dialect.name == 'postgresql':
        op.add_column('opt_outs', sa.Column('purpose', sa.String(length=12), server_default='all', nullable=False))
        op.drop_constraint('opt_outs_pkey', 'opt_outs', type_='primary')
        op.create_primary_key('opt_outs_pkey', 'opt_outs', ['channel', 'address', 'purpose'])
        return
    op.create_table(
        'opt_outs_new',
        sa.Column('channel', sa.String(length=12), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('purpose', sa.String(length=12), server_default='all', nullable=False),
        sa.Column('opted_out', sa.Boolean(), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('channel', 'address', 'purpose'),
    )
    op.execute(
        "INSERT INTO opt_outs_new (channel, address, purpose, opted_out, changed_at) "
        "SELECT channel, address, 'all', opted_out, changed_at FROM opt_outs"
    )
    op.drop_table('opt_outs')
    op.rename_table('opt_outs_new', 'opt_outs')


def downgrade() -> None:
    op.drop_table('contact_decisions')
    op.drop_table('contact_flags')
    op.execute("DELETE FROM opt_outs WHERE purpose <> 'all'")
    with op.batch_alter_table('opt_outs', recreate='always') as batch_op:
        batch_op.drop_column('purpose')
    with op.batch_alter_table('borrowers') as batch_op:
        batch_op.drop_column('timezone_given')
