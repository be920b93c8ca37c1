"""Search: borrowers' folded search key, messages' meta (a bot answer's figures), and the search indexes

SQLite: FTS5 tables over borrowers' search keys (trigram) and message bodies, kept by triggers.
PostgreSQL: pg_trgm (installed when missing) with a GIN index on search keys, and a GIN full-text index on
message bodies. See servicing/store/search_schema.py and docs/console-search.md.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-04 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from servicing.rules.searching import borrower_search_key
from servicing.store.search_schema import (
    create_postgresql_search,
    create_sqlite_search,
    drop_postgresql_search,
    drop_sqlite_search,
)

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('borrowers', sa.Column('search_key', sa.String(length=400), server_default='', nullable=False))
    op.add_column('messages', sa.Column('meta', sa.JSON(), nullable=True))
    connection = op.get_bind()
    borrowers = sa.table(
        'borrowers', sa.column('id'), sa.column('first_name'), sa.column('last_name'), sa.column('email'),
        sa.column('search_key'),
    )  # fmt: skip
    rows = connection.execute(sa.select(borrowers.c.id, borrowers.c.first_name, borrowers.c.last_name,
                                        borrowers.c.email)).all()  # fmt: skip
    if rows:
        connection.execute(
            sa.update(borrowers).where(borrowers.c.id == sa.bindparam('key_id')).values(search_key=sa.bindparam('key')),
            [{'key_id': row.id, 'key': borrower_search_key(row.first_name, row.last_name, row.email)} for row in rows],
        )
    if connection.dialect.name == 'sqlite':
        create_sqlite_search(connection)
    else:
        create_postgresql_search(connection)


def downgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name == 'sqlite':
        drop_sqlite_search(connection)
    else:
        drop_postgresql_search(connection)
    with op.batch_alter_table('messages') as batch_op:
        batch_op.drop_column('meta')
    with op.batch_alter_table('borrowers') as batch_op:
        batch_op.drop_column('search_key')
