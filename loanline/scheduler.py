"""`loanline scheduler`: the daily jobs at their local times, one leader among any number of schedulers.

The jobs (LOANLINE_SCHEDULE, default `eod=22:00,ach-export=17:00,partitions=03:00,receipts=03:30`, local times in
LOANLINE_TIMEZONE on the business days of LOANLINE_COUNTRY):

- `eod`: end of day through today (and any business date missed before it), with the day's letters, print
  batch, statements and outreach: exactly what `loanline eod` runs;
- `ach-export`: the NACHA file of the debits effective on the next business day, into <documents>/ach/;
- `partitions`: on PostgreSQL with partitioned tables, next months' partitions of the ledger and messages
  (docs/operations.md); nothing otherwise;
- `receipts`: the exactly-once keys of inbound messages older than 35 days are forgotten (docs/reliability.md).

How leadership and exactly-once work: servicing/operations/scheduler.py and docs/operations.md.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, date, datetime
from types import FrameType

from loanline.daily import export_ach_file, run_end_of_day
from loanline.runtime import Runtime
from servicing.operations.metrics import record_job
from servicing.operations.scheduler import Job, Schedule, leadership_for, tick
from servicing.store.accounts import business_date

log = logging.getLogger(__name__)
TICK_SECONDS = 15.0


def daily_jobs(rt: Runtime) -> list[Job]:
    """Return the configured jobs, each bound to this runtime."""
    runners = {
        "eod": Job("eod", datetime.min.time(), lambda day: _end_of_day(rt, day), lambda day: _eod_done(rt, day)),
        "ach-export": Job("ach-export", datetime.min.time(), lambda _day: _ach_export(rt)),
        "partitions": Job("partitions", datetime.min.time(), lambda day: _partitions(rt, day)),
        "receipts": Job("receipts", datetime.min.time(), lambda _day: _receipts(rt)),
    }
    return [Job(name, at, runners[name].run, runners[name].already_done) for name, at in rt.settings.schedule]


def _eod_done(rt: Runtime, day: date) -> bool:
    with rt.sessions() as session:
        last = business_date(session)
    return last is not None and last >= day


def _end_of_day(rt: Runtime, day: date) -> str:
    report = run_end_of_day(rt, day)
    if not report.days:
        return "nothing to run"
    return f"ran {len(report.days)} business days, {report.days[0].business_date} to {report.days[-1].business_date}"


def _ach_export(rt: Runtime) -> str:
    export = export_ach_file(rt, None, None, actor="scheduler")
    again = "" if export.new else " (exported before: the same file)"
    return f"{export.path}: {export.entries} debits effective {export.effective.isoformat()}{again}"


def _partitions(rt: Runtime, day: date) -> str:
    from servicing.operations.partitions import create_partitions_ahead

    made = create_partitions_ahead(rt.engine, day)
    return f"partitions made: {', '.join(made) or 'none needed'}"


def _receipts(rt: Runtime) -> str:
    from servicing.conversations import RECEIPT_DAYS, forget_old_receipts

    with rt.sessions.begin() as session:
        forgotten = forget_old_receipts(session, datetime.now(UTC))
    return f"receipts older than {RECEIPT_DAYS} days forgotten: {forgotten}"


def run_scheduler(rt: Runtime, stop: threading.Event, tick_seconds: float = TICK_SECONDS) -> None:
    """Lead or stand by until `stop` is set; while leading, run each job when it falls due."""
    schedule = Schedule(daily_jobs(rt), rt.settings.timezone, rt.settings.country)
    leadership = leadership_for(rt.engine)
    was_leading: bool | None = None
    try:
        while not stop.is_set():
            result = tick(schedule, leadership, datetime.now(UTC), rt.today(), on_job=record_job)
            if result.leading != was_leading:
                log.info("scheduler: %s", "leading" if result.leading else "standing by (another scheduler leads)")
                was_leading = result.leading
            stop.wait(tick_seconds)
    finally:
        leadership.step_down()


def run_until_signalled(rt: Runtime, tick_seconds: float = TICK_SECONDS) -> None:
    """Run the scheduler until SIGTERM or SIGINT; a job in hand finishes first (end of day is one transaction a day)."""
    stop = threading.Event()

    def on_signal(_number: int, _frame: FrameType | None) -> None:
        stop.set()

    for number in (signal.SIGTERM, signal.SIGINT):
        signal.signal(number, on_signal)
    run_scheduler(rt, stop, tick_seconds)
