"""Search by the last 4 digits: an index on the last four characters of each phone and loan number

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 02:10:00

Search found a phone or loan number by its last 4 digits with `LIKE '%1234'`, which no index serves: every phone
and every loan number was read, 2,000 at the benchmark's size and a million on a large portfolio. Each table now
has an index on the expression `substr(x, length(x) - 3)` (the last four characters, written the same in SQLite and
PostgreSQL), and search asks for that expression to equal the four digits: an index search. Named `search_...`,
they are search objects the schema comparison leaves out (servicing/store/search_schema.py), as Alembic does not
compare expression indexes. See docs/console-search.md.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('search_borrower_phones_last4', 'borrower_phones', [sa.text('substr(e164, length(e164) - 3)')])
    op.create_index('search_loans_number_last4', 'loans', [sa.text('substr(loan_number, length(loan_number) - 3)')])


def downgrade() -> None:
    op.drop_index('search_loans_number_last4', table_name='loans')
    op.drop_index('search_borrower_phones_last4', table_name='borrower_phones')
