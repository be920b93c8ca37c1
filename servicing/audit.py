"""The audit log: who saw or changed what."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from servicing.store.models import AuditEntry, table_of, utcnow


def record_audit(
    session: Session,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one audit entry in the caller's transaction."""
    session.execute(
        insert(table_of(AuditEntry)),
        [
            {
                "at": utcnow(),
                "actor": actor,
                "action": action,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "detail": detail or {},
            }
        ],
    )
