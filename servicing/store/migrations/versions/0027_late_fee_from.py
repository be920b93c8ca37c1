"""End of day's late fees: the loans whose first day to owe one has come

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 10:00:00

End of day looked for late fees among every delinquent loan (`ix_loans_active_due`): at a million loans, a
hundred thousand rows read to charge a few thousand fees. PostgreSQL: an index on the first day each loan may owe a
late fee (`servicing.store.models.LATE_FEE_FROM`: the oldest unpaid installment's due date plus grace, and 28 days
more once that installment was charged), for active loans that charge late fees. Accrual does not change its
columns, so its updates stay heap-only. SQLite: none (its date arithmetic is not an index expression here).
"""

from __future__ import annotations

from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE INDEX ix_loans_late_fee_from ON loans ((next_due_date + late_fee_grace_days + CASE WHEN "
            "(late_fee_through IS NULL OR next_due_date > late_fee_through) THEN 0 ELSE 28 END)) "
            "WHERE status = 'active' AND (late_fee_rate > 0 OR late_fee_amount > 0)"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_loans_late_fee_from")
