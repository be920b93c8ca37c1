"""A loan's contact flags (cease communication, bankruptcy, deceased...), read from the one place that keeps them.

The contact policy keeps them in the `contact_flags` table (docs/contact-policy.md). This reader takes that
table's rows about the loan or its borrower as they are, so that `loanline loan --json` lists them whatever
columns the policy gives them; on a database without the table there are none.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import MetaData, Table, inspect, or_, select
from sqlalchemy.orm import Session

from servicing.store.models import Loan

TABLE = "contact_flags"


def contact_flags_of(session: Session, loan: Loan) -> list[dict[str, Any]]:
    """Return the contact flags on a loan or its borrower, oldest first, as plain rows ([] when none are kept)."""
    connection = session.connection()
    if not inspect(connection).has_table(TABLE):
        return []
    flags = Table(TABLE, MetaData(), autoload_with=connection)
    about = [flags.c[name] == value for name, value in (("loan_id", loan.id), ("borrower_id", loan.borrower_id))
             if name in flags.c]  # fmt: skip
    if not about:
        return []
    query = select(flags).where(or_(*about))
    if "id" in flags.c:
        query = query.order_by(flags.c.id)
    return [{key: value for key, value in row._mapping.items() if key != "id"} for row in session.execute(query)]
