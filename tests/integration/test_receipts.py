"""The receipts of inbound messages: kept past every provider's retries, then forgotten by the daily job."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from loanline.runtime import Runtime
from loanline.scheduler import daily_jobs
from servicing.config import Settings
from servicing.conversations import RECEIPT_DAYS, first_receipt, forget_old_receipts
from servicing.operations.scheduler import EVERY_DAY_JOBS
from servicing.store.models import InboundReceipt
from tests.conftest import SECRET

NOW = datetime(2026, 12, 5, 3, 30, tzinfo=UTC)


def receipts(sessions: sessionmaker[Session]) -> set[str]:
    with sessions() as session:
        return set(session.scalars(select(InboundReceipt.provider_id)))


def test_receipts_older_than_the_retention_are_forgotten_and_the_others_still_refuse_a_retry(
    sessions: sessionmaker[Session],
) -> None:
    ages = {"SM-old": RECEIPT_DAYS + 1, "SM-edge": RECEIPT_DAYS, "SM-recent": 1}
    with sessions.begin() as session:
        for sid, days in ages.items():
            assert first_receipt(session, "sms", sid, NOW - timedelta(days=days))
    with sessions.begin() as session:
        assert forget_old_receipts(session, NOW) == 1
    assert receipts(sessions) == {"SM-edge", "SM-recent"}
    with sessions.begin() as session:
        assert not first_receipt(session, "sms", "SM-recent", NOW)  # a retry: still refused
        assert not first_receipt(session, "sms", "SM-edge", NOW)
        assert first_receipt(session, "sms", "SM-old", NOW)  # forgotten: a delivery this late counts as new
    with sessions.begin() as session:
        assert forget_old_receipts(session, NOW) == 0


def test_the_scheduler_forgets_old_receipts_every_day(database_url: str, tmp_path: Path) -> None:
    settings = Settings.from_env({"LOANLINE_DATABASE_URL": database_url, "LOANLINE_SECRET_KEY": SECRET,
                                  "LOANLINE_INSTANCE_PATH": str(tmp_path)})  # fmt: skip
    rt = Runtime.start(settings)
    now = datetime.now(UTC)
    with rt.sessions.begin() as session:
        first_receipt(session, "telegram", "update-1", now - timedelta(days=RECEIPT_DAYS + 2))
        first_receipt(session, "telegram", "update-2", now)
    job = {job.name: job for job in daily_jobs(rt)}["receipts"]
    assert "receipts" in EVERY_DAY_JOBS
    assert job.run(now.date()) == f"receipts older than {RECEIPT_DAYS} days forgotten: 1"
    with rt.sessions() as session:
        assert session.scalar(select(func.count()).select_from(InboundReceipt)) == 1
    rt.close()
