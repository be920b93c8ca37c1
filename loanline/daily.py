"""The daily jobs, as `loanline eod`, `loanline ach export` and the scheduler run them (one definition each)."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from loanline.runtime import Runtime
from servicing.eod import DayResult, EodReport


def run_end_of_day(rt: Runtime, through: date, on_day: Callable[[DayResult], None] | None = None) -> EodReport:
    """Run end of day through `through` with this deployment's options; count each day in the metrics."""
    from servicing.documents.correspondence import Correspondence
    from servicing.documents.delivery import DeliveryPlace
    from servicing.documents.statement_figures import StatementOptions
    from servicing.eod import run_eod
    from servicing.operations.metrics import record_day
    from servicing.outreach.reminders import Outreach

    settings = rt.settings

    def each_day(result: DayResult) -> None:
        record_day(result)
        if on_day is not None:
            on_day(result)

    outreach = Outreach(settings.contact_rules(), datetime.now(UTC), settings.servicer_name, settings.servicer_phone)
    return run_eod(rt.sessions, through, country=settings.country, on_day=each_day,
                   escrow_policy=settings.escrow_policy(), letters=Correspondence.from_settings(settings),
                   statements=StatementOptions.from_settings(settings, actor="eod"),
                   delivery=DeliveryPlace(settings.documents_dir, settings.country),
                   statement_workers=os.cpu_count() or 1, outreach=outreach,
                   connections=settings.eod_connections)  # fmt: skip


@dataclass(frozen=True)
class AchExport:
    """The NACHA file written for one effective date."""

    path: Path
    effective: date
    entries: int
    new: bool
    skipped: tuple[str, ...]
    sha256: str
    content_total: str


def export_ach_file(rt: Runtime, out: Path | None, effective: date | None, actor: str) -> AchExport:
    """Write the NACHA file of the debits effective on a date (default the next business day); idempotent by date.

    Without `out`, the file goes to the documents folder as ach/<effective date>.ach.
    """
    from servicing.ach.origination import default_effective_date, export_drafts
    from servicing.queries import current_date
    from servicing.rules.formatting import money_text

    with rt.sessions.begin() as session:
        business = current_date(session, rt.today())
        day = effective or default_effective_date(business, rt.settings.country)
        export = export_drafts(session, day, settings=rt.settings.ach, vault=rt.vault(), business_date=business,
                               country=rt.settings.country, actor=actor, now=datetime.now(UTC))  # fmt: skip
    path = out or rt.settings.documents_dir / "ach" / f"{day.isoformat()}.ach"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_bytes(export.content)
    return AchExport(path, day, export.entries, export.new, tuple(export.skipped), export.sha256,
                     money_text(export.debit_total, "USD", "en_US"))  # fmt: skip
