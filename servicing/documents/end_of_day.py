"""The letters end of day makes, after its steps (servicing/eod.py): one call, each kind read set-based.

- a late notice for each loan charged a late fee that day (step 2);
- the escrow account statement of each escrow analysis run that day (step 5);
- the written early-intervention notice of each task whose notice falls due within the lead days (step 6).

A day without late fees or analyses reads nothing for them; the early-intervention notices cost one indexed
query on the open tasks.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from servicing.documents.correspondence import Correspondence
from servicing.documents.escrow_statement import make_escrow_statements
from servicing.documents.letters import make_early_intervention_notices, make_late_notices


def make_end_of_day_letters(
    session: Session, letters: Correspondence, day: date, actor: str, *, late_fees: int, escrow_analyzed: int
) -> int:
    """Make the day's late notices, escrow account statements and early-intervention notices; return how many."""
    made = make_late_notices(session, letters, day, actor) if late_fees else 0
    made += make_escrow_statements(session, letters, day, actor) if escrow_analyzed else 0
    return made + make_early_intervention_notices(session, letters, day, actor)
