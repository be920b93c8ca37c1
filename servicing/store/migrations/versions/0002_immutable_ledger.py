"""The ledger refuses UPDATE and DELETE: corrections are new entries.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SQLITE = (
    """CREATE TRIGGER ledger_entries_immutable_update BEFORE UPDATE ON ledger_entries
       BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable: post a correcting entry'); END""",
    """CREATE TRIGGER ledger_entries_immutable_delete BEFORE DELETE ON ledger_entries
       BEGIN SELECT RAISE(ABORT, 'ledger entries are immutable: post a correcting entry'); END""",
)
POSTGRES = (
    """CREATE OR REPLACE FUNCTION ll_ledger_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'ledger entries are immutable: post a correcting entry'; END $$""",
    """CREATE TRIGGER ledger_entries_immutable BEFORE UPDATE OR DELETE ON ledger_entries
       FOR EACH ROW EXECUTE FUNCTION ll_ledger_immutable()""",
)


def upgrade() -> None:
    for statement in POSTGRES if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_immutable ON ledger_entries")
        op.execute("DROP FUNCTION IF EXISTS ll_ledger_immutable()")
    else:
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_immutable_update")
        op.execute("DROP TRIGGER IF EXISTS ledger_entries_immutable_delete")
