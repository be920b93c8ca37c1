"""End of day: for each business date not yet run, in a fixed order, set-based.

1. post the ACH drafts whose effective date has come (servicing/ach/origination.py), then the scheduled
   borrower payments due that day that were not drafted;
   then mark promises to pay kept or broken from the payments received, a broken one opening a follow-up
   task (servicing/outreach/promises.py)
2. assess late fees (one per installment past grace, none during a forbearance or repayment plan)
3. accrue interest and update days past due (one UPDATE over every active loan)
4. disburse escrow items due (advancing when the account is short)
5. run the annual escrow analysis of the loans whose analysis date has come (Reg X 1024.17)
6. open early-intervention tasks (US loans) and arrears-information tasks (UK loans)
   (given a Correspondence: make the day's late notices, escrow statements, early-intervention notices)
7. mark overdue cases
8. deliver the day's documents: "ready" notices for electronic ones, the print batch of paper ones
   (servicing/documents/delivery.py; only when given where documents are kept)
9. once the day is committed, make the periodic statements due that day, when given where to keep them
   (servicing/documents/statements.py): in transactions of their own, a chunk of loans at a time, so the
   rendering (the slow part) holds no lock; on more than one core when given workers
   (statements made after the day's commit are delivered by the next business day's step 8)
10. reach out: reminders, past-due notices, early-intervention outreach, payment confirmations and
    broken-promise follow-ups, through the contact policy (servicing/outreach, docs/contact-policy.md)

Late fees are assessed before the accrual/delinquency update because neither changes the other;
that lets interest and days past due share one statement. The escrow analysis runs after the
day's bills are paid and days past due are updated, so it sees the balance and status of the day.
Outreach comes last: it reads what the steps before decided (days past due, the tasks opened, promises
marked kept or broken).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, cast

from dateutil.relativedelta import relativedelta
from sqlalchemy import (
    Date,
    Integer,
    String,
    Table,
    and_,
    bindparam,
    exists,
    func,
    literal,
    literal_column,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from servicing.ach.origination import settle_drafts
from servicing.cases import (
    ARREARS_INFORMATION_COUNTRIES,
    REG_X_COUNTRIES,
    CaseKind,
    early_intervention_due,
    open_arrears_information,
    open_early_intervention,
)
from servicing.documents.correspondence import Correspondence
from servicing.documents.delivery import DayDelivery, DeliveryPlace, deliver_day
from servicing.documents.end_of_day import make_end_of_day_letters
from servicing.escrow import analyze_escrow_due
from servicing.outreach.promises import resolve_promises
from servicing.outreach.reminders import Outreach, OutreachResult, queue_outreach
from servicing.payments import PaymentInstruction, post_payments
from servicing.rules.account import FeeKind
from servicing.rules.calendar import business_days_between
from servicing.rules.delinquency import late_fees_due
from servicing.rules.escrow import DEFAULT_POLICY, AnalysisPolicy
from servicing.rules.ledger import Balances, EntryKind, LedgerLine
from servicing.rules.money import to_money
from servicing.rules.schedule import due_dates_between
from servicing.store.accounts import business_date, ledger_row, load_accounts, save_accounts
from servicing.store.bulk import execute_many, insert_rows, planned_for_end_of_day
from servicing.store.models import (
    LATE_FEE_FROM,
    BusinessDay,
    Case,
    CaseDeadline,
    EscrowItem,
    Fee,
    LedgerEntry,
    Loan,
    ScheduledPayment,
    Workout,
    utcnow,
)

if TYPE_CHECKING:
    from servicing.documents.statement_figures import StatementOptions

EARLY_INTERVENTION_AT_DAYS = 30
STATEMENTS_FOR_WORKERS = 200  # fewer statements than this are made in this process: starting workers costs more
SHORTEST_MONTH_DAYS = 28  # consecutive monthly due dates are never closer than this
ACCRUAL_RANGE = 100_000  # loan ids per transaction of the accrual (run_business_day_in_ranges)
# PostgreSQL: accrual ranges run this many at once, each on its own connection (LOANLINE_EOD_CONNECTIONS); the
# accrual is the database's work on every loan, and one connection keeps one of the server's cores busy.
EOD_CONNECTIONS = 2
loans = cast(Table, Loan.__table__)
scheduled = cast(Table, ScheduledPayment.__table__)
escrow_items = cast(Table, EscrowItem.__table__)


@dataclass
class DayResult:
    """What one business day's run did."""

    business_date: date
    scheduled_posted: int = 0
    scheduled_failed: int = 0
    ach_settled: int = 0
    late_fees: int = 0
    loans_accrued: int = 0
    escrow_disbursed: int = 0
    escrow_analyzed: int = 0
    early_intervention: int = 0
    arrears_information: int = 0
    cases_overdue: int = 0
    letters: int = 0
    statements: int = 0
    delivered: DayDelivery | None = None  # the day's documents: notices of electronic ones, the print batch
    promises_kept: int = 0
    promises_broken: int = 0
    outreach_queued: int = 0  # messages queued (now or for the borrower's morning)
    outreach_suppressed: int = 0
    seconds: float = 0.0  # the day's transaction and its statements, on the wall clock
    outreach: OutreachResult | None = None  # what the outreach decided, when it ran
    outreach_seconds: float = 0.0  # of which the outreach


@dataclass
class EodReport:
    """Every day a run went through."""

    days: list[DayResult] = field(default_factory=list)


def dates_to_run(session: Session, through: date, country: str) -> list[date]:
    """Return the business dates after the business date up to `through` (new database: from the first loan's start)."""
    last = business_date(session)
    if last is None:
        start = session.scalar(select(func.min(Loan.servicing_from)))
        if start is None:
            return []
        last = start - timedelta(days=1)
    return business_days_between(last, through, country)


def run_eod(
    sessions: sessionmaker[Session],
    through: date,
    *,
    country: str,
    actor: str = "eod",
    on_day: Callable[[DayResult], None] | None = None,
    escrow_policy: AnalysisPolicy = DEFAULT_POLICY,
    letters: Correspondence | None = None,
    statements: StatementOptions | None = None,
    delivery: DeliveryPlace | None = None,
    statement_workers: int = 1,
    outreach: Outreach | None = None,
    connections: int = EOD_CONNECTIONS,
) -> EodReport:
    """Run end of day for every business date not yet run up to `through`, each in loan id ranges.

    Each date runs through `run_business_day_in_ranges`: its payments and fees in one transaction, the
    accrual a range of loan ids per transaction, the rest of the day in a last one; a date a crash left
    unfinished is resumed (its payments and fees are not run again; the accrual is redone, being absolute).

    `escrow_policy` holds the portfolio's escrow analysis options (the servicer's settings); with `letters`,
    each day also makes its notices (late notices, escrow statements, early intervention); `delivery`, where
    documents are kept (without it, the day's documents are not delivered); `statements`, where and how the
    day's periodic statements are kept (none are made without it), on `statement_workers` processes. A
    statement day whose run stopped before its statements were made is made up by the next run
    (see `statements_due`).
    With `outreach` (the contact rules and the moment end of day runs) the last date's reminders and outreach
    are queued: a run catching up missed dates sends nothing for the dates behind it. On PostgreSQL the accrual
    runs on up to `connections` connections at once (`accrue_ranges`).
    """
    report = EodReport()
    with sessions() as session:
        days = dates_to_run(session, through, country)
    for day in days:
        started = time.perf_counter()
        reach_out = outreach if day == days[-1] else None
        ran = run_business_day_in_ranges(
            sessions,
            day,
            actor,
            escrow_policy,
            letters=letters,
            delivery=delivery,
            outreach=reach_out,
            connections=connections,
        )
        if ran is None:  # another run finished this date meanwhile
            continue
        result = ran
        report.days.append(result)
        if statements is not None:
            result.statements = make_day_statements(sessions, day, statements, statement_workers)
        result.seconds = time.perf_counter() - started
        if on_day is not None:
            on_day(result)
    return report


def run_business_day(
    session: Session,
    day: date,
    actor: str,
    escrow_policy: AnalysisPolicy = DEFAULT_POLICY,
    *,
    letters: Correspondence | None = None,
    delivery: DeliveryPlace | None = None,
    outreach: Outreach | None = None,
) -> DayResult:
    """Run every end-of-day step for one business date, in the caller's transaction (statements: `run_eod`)."""
    marker = BusinessDay(business_date=day, started_at=utcnow())
    session.add(marker)
    session.flush()
    result = DayResult(day)
    pay_and_charge(session, day, actor, result)
    result.loans_accrued = accrue_and_age(session, day)
    after_accrual(session, day, actor, result, escrow_policy, letters=letters, delivery=delivery, outreach=outreach)
    marker.finished_at = utcnow()
    marker.loans_processed = result.loans_accrued
    return result


def run_business_day_in_ranges(
    sessions: sessionmaker[Session],
    day: date,
    actor: str,
    escrow_policy: AnalysisPolicy = DEFAULT_POLICY,
    *,
    letters: Correspondence | None = None,
    delivery: DeliveryPlace | None = None,
    outreach: Outreach | None = None,
    range_size: int = ACCRUAL_RANGE,
    on_range: Callable[[int, int], None] | None = None,
    connections: int = EOD_CONNECTIONS,
) -> DayResult | None:
    """Run one business date in transactions of bounded size; None when that date had already finished.

    1. the day's payments and fees (`pay_and_charge`: drafts settled, scheduled payments, promises, late fees),
       with the date's row in `business_days`, unfinished (`finished_at` empty), in one transaction;
    2. the accrual and days past due, `range_size` loan ids per transaction (`on_range(first id, loans)`
       after each commit, in the order of the ranges), the last range open-ended so that a loan boarded
       meanwhile is accrued too; on PostgreSQL `connections` ranges at once, each on its own connection
       (`accrue_ranges`);
    3. the rest of the day (`after_accrual`) and `finished_at`, in one transaction.

    A crash leaves the date finished, or unfinished after step 1, or with nothing of it. Run again, the
    date resumes: step 1, whose transaction committed, is not run again; the accrual is run again over every
    range, which is harmless (it sets each loan's accrued interest and days past due from the loan's own
    columns, it adds nothing); step 3 runs once, with the date's row locked and its `finished_at` checked.
    The business date (`business_date`) moves only when step 3 commits. Python's cyclic garbage collector is
    held meanwhile (`collector_held`).
    """
    with collector_held():
        result = DayResult(day)
        with sessions() as session, session.begin():
            planned_for_end_of_day(session)
            marker = _day_marker(session, day)
            if marker is not None and marker.finished_at is not None:
                return None
            if marker is None:
                session.add(BusinessDay(business_date=day, started_at=utcnow()))
                session.flush()  # a second runner of the same date fails here, before doing anything
                pay_and_charge(session, day, actor, result)
        with sessions() as session:
            first, last = session.execute(select(func.min(loans.c.id), func.max(loans.c.id))).one()
        starts = list(range(first, last + 1, range_size)) if first is not None else [0]
        ranges = [(start, None if number == len(starts) - 1 else start + range_size)
                  for number, start in enumerate(starts)]  # fmt: skip
        result.loans_accrued += accrue_ranges(sessions, day, ranges, connections, on_range)
        with sessions() as session, session.begin():
            planned_for_end_of_day(session)
            marker = _day_marker(session, day)
            if marker is None or marker.finished_at is not None:
                return None
            after_accrual(session, day, actor, result, escrow_policy, letters=letters, delivery=delivery,
                          outreach=outreach)  # fmt: skip
            marker.finished_at = utcnow()
            marker.loans_processed = result.loans_accrued
        return result


def accrue_ranges(
    sessions: sessionmaker[Session],
    day: date,
    ranges: Sequence[tuple[int, int | None]],
    connections: int = EOD_CONNECTIONS,
    on_range: Callable[[int, int], None] | None = None,
) -> int:
    """Accrue and age each range of loan ids in a transaction of its own; return how many loans were accrued.

    On PostgreSQL up to `connections` ranges run at once, each on a connection of its own (threads that wait for
    the server), so the accrual keeps as many of the server's cores busy; SQLite has one writer, so one at a time.
    `on_range(first id, loans)` is called in this thread, in the order of the ranges, once each has committed.
    When a range fails (or `on_range` raises), no range starts after the failure is known, those under way finish,
    and the error is raised: every range either committed or did nothing, and running the accrual again is harmless.
    """

    def accrue(first: int, stop: int | None) -> int:
        with sessions() as session, session.begin():
            planned_for_end_of_day(session)
            return accrue_and_age(session, day, (first, stop))

    if sessions.kw["bind"].dialect.name != "postgresql" or connections <= 1:
        return _count_accrued(((first, accrue(first, stop)) for first, stop in ranges), on_range)
    with ThreadPoolExecutor(max_workers=connections, thread_name_prefix="accrual") as pool:
        running: list[Future[int]] = [pool.submit(accrue, first, stop) for first, stop in ranges]

        def stop_the_rest(done: Future[int]) -> None:  # as soon as any range fails, in whichever thread
            if not done.cancelled() and done.exception() is not None:
                for future in running:
                    future.cancel()

        for future in running:
            future.add_done_callback(stop_the_rest)
        try:
            committed = ((first, future.result()) for (first, _), future in zip(ranges, running, strict=True))
            return _count_accrued(committed, on_range)
        except BaseException:
            for future in running:  # none starts now; those under way finish as the pool closes
                future.cancel()
            raise


def _count_accrued(committed: Iterator[tuple[int, int]], on_range: Callable[[int, int], None] | None) -> int:
    """Add up the loans of each committed range, telling `on_range` of each in turn."""
    accrued = 0
    for first, loans_accrued in committed:
        accrued += loans_accrued
        if on_range is not None:
            on_range(first, loans_accrued)
    return accrued


@contextmanager
def collector_held() -> Iterator[None]:
    """Hold Python's cyclic garbage collector for the block (as it was before, after it, even on an error).

    End of day makes tens of thousands of short-lived rows, records and decisions, nearly none of them in a
    reference cycle, so they are freed as they go; but their number alone sets off full collections, each
    walking every object alive: 6% of a steady day at 200,000 loans, 7% of the first (docs/performance.md).
    What cycles the day leaves are collected after it.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _day_marker(session: Session, day: date) -> BusinessDay | None:
    """Return the date's row in `business_days`, locked (PostgreSQL; SQLite's writer holds the lock)."""
    return session.scalar(select(BusinessDay).where(BusinessDay.business_date == day).with_for_update())


def pay_and_charge(session: Session, day: date, actor: str, result: DayResult) -> None:
    """Steps before the accrual: settle the drafts, post the scheduled payments, resolve promises, late fees."""
    result.ach_settled = settle_drafts(session, day, actor)
    post_scheduled_payments(session, day, actor, result)
    promises = resolve_promises(session, day)
    result.promises_kept, result.promises_broken = promises.kept, promises.broken
    result.late_fees = assess_late_fees(session, day, actor)


def after_accrual(
    session: Session,
    day: date,
    actor: str,
    result: DayResult,
    escrow_policy: AnalysisPolicy = DEFAULT_POLICY,
    *,
    letters: Correspondence | None = None,
    delivery: DeliveryPlace | None = None,
    outreach: Outreach | None = None,
) -> None:
    """Steps after the accrual: escrow, early intervention and arrears, letters, overdue cases, delivery, outreach.

    Outreach finds past-due reminders and confirmations on connections of its own (PostgreSQL), which do not see
    this transaction's writes: no step before it may change a loan's status, principal balance, due date or days
    past due, post or reverse a payment, or decide a past-due reminder or a confirmation (outreach/reminders.py).
    """
    result.escrow_disbursed = disburse_escrow(session, day, actor)
    result.escrow_analyzed = analyze_escrow_due(session, day, actor, escrow_policy)
    result.early_intervention = open_early_intervention_tasks(session, day)
    result.arrears_information = open_arrears_information_tasks(session, day)
    if letters is not None:  # the day's notices and statements: servicing/documents/end_of_day.py
        result.letters = make_end_of_day_letters(session, letters, day, actor, late_fees=result.late_fees,
                                                 escrow_analyzed=result.escrow_analyzed)  # fmt: skip
    result.cases_overdue = mark_overdue_cases(session, day)
    if delivery is not None:  # after the day's letters are made
        result.delivered = deliver_day(session, day, delivery, actor)
    if outreach is not None:
        started = time.perf_counter()
        reached = queue_outreach(session, day, outreach)
        result.outreach_queued, result.outreach_suppressed = reached.queued, reached.statuses["suppressed"]
        result.outreach = reached
        result.outreach_seconds = time.perf_counter() - started


def make_day_statements(sessions: sessionmaker[Session], day: date, options: StatementOptions, workers: int = 1) -> int:
    """Make the periodic statements due on `day`, a chunk of loans per transaction; return how many were made.

    The renderer loads only in a run that has statements to make; more than 200 of them go to `workers` processes.
    """
    # imported here: WeasyPrint loads only in a process that makes statements, not in every importer of end of day
    from servicing.documents.statement_workers import make_statements_in_workers  # noqa: PLC0415
    from servicing.documents.statements import make_statements_apart, statements_due  # noqa: PLC0415

    with sessions() as session:
        due = statements_due(session, day, options.days_before_due)
    made = 0
    for due_on, loan_ids in due.items():
        if workers > 1 and len(loan_ids) > STATEMENTS_FOR_WORKERS:
            url = sessions.kw["bind"].url.render_as_string(hide_password=False)
            lines = make_statements_in_workers(url, options, loan_ids, day, workers=workers, due_on=due_on)
        else:
            lines = [line for start in range(0, len(loan_ids), 50)
                     for line in make_statements_apart(sessions, options, loan_ids[start : start + 50], day,
                                                       due_on=due_on)]  # fmt: skip
        made += sum(1 for line in lines if line.made)
    return made


def post_scheduled_payments(session: Session, day: date, actor: str, result: DayResult) -> None:
    """Post every scheduled payment due on or before `day`, credited on its scheduled date."""
    due = session.execute(
        select(ScheduledPayment.id, ScheduledPayment.reference, ScheduledPayment.amount,
               ScheduledPayment.scheduled_for, Loan.loan_number, Loan.currency)
        .join(Loan, Loan.id == ScheduledPayment.loan_id)
        .where(ScheduledPayment.status == "scheduled", ScheduledPayment.scheduled_for <= day)
    ).all()  # fmt: skip
    if not due:
        return
    instructions = [
        PaymentInstruction(row.loan_number, to_money(row.amount, row.currency), row.scheduled_for,
                           row.reference, method="ach", source="scheduled")
        for row in due
    ]  # fmt: skip
    report = post_payments(session, instructions, today=day, business_date=day, actor=actor)
    refused = {r.key: r.reason for r in report.refused}
    posted = set(report.posted) | set(report.already_posted)
    done: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for row in due:
        if row.reference in posted:
            done.append({"b_id": row.id, "status": "posted"})
        else:
            reason = refused.get(row.reference, "not posted")[:200]
            failed.append({"b_id": row.id, "status": "failed", "failure_reason": reason})
    _record_outcomes(session, ("status",), done)
    _record_outcomes(session, ("status", "failure_reason"), failed)
    result.scheduled_posted += len(done)
    result.scheduled_failed += len(failed)


def _record_outcomes(session: Session, columns: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    """Write what became of each scheduled payment, one executemany for all of them."""
    values: dict[str, Any] = {column: bindparam(column) for column in columns}
    statement = update(scheduled).where(scheduled.c.id == bindparam("b_id")).values(values)
    execute_many(session, ("scheduled_outcome", columns), statement, rows)


def _kept_workout(day: date) -> Any:
    return exists().where(
        Workout.loan_id == loans.c.id,
        Workout.status == "active",
        Workout.kind.in_(("forbearance", "repayment_plan")),
        Workout.starts_on <= day,
        or_(Workout.ends_on.is_(None), Workout.ends_on >= day),
    )


def assess_late_fees(session: Session, day: date, actor: str) -> int:
    """Charge each installment past its grace period one late fee; return how many were charged."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        days_late = func.julianday(day.isoformat()) - func.julianday(loans.c.next_due_date)
    else:
        days_late = literal(day, Date()) - loans.c.next_due_date
    past_grace = days_late > loans.c.late_fee_grace_days
    # Skip, without loading them, loans whose oldest unpaid installment was already charged and whose
    # next one cannot be past grace yet (it falls due at least SHORTEST_MONTH_DAYS later): for them
    # late_fees_due finds nothing.
    may_owe_a_new_fee = or_(
        loans.c.late_fee_through.is_(None),
        loans.c.next_due_date > loans.c.late_fee_through,
        days_late > loans.c.late_fee_grace_days + SHORTEST_MONTH_DAYS,
    )
    conditions = [
        loans.c.status == "active",
        loans.c.next_due_date < day,  # implied by past_grace (grace >= 0): read from ix_loans_active_due
        or_(loans.c.late_fee_rate > 0, loans.c.late_fee_amount > 0),
        past_grace,
        may_owe_a_new_fee,
        ~_kept_workout(day),
    ]
    if dialect == "postgresql":  # the same loans, found by the first day each may owe a fee (ix_loans_late_fee_from)
        zero, active = literal_column("0", Integer()), literal_column("'active'", String())
        conditions[:3] = [LATE_FEE_FROM < day, loans.c.status == active,  # noqa: SIM300 (an SQL expression)
                          or_(loans.c.late_fee_rate > zero, loans.c.late_fee_amount > zero)]  # fmt: skip
    candidates = session.scalars(select(loans.c.loan_number).where(*conditions)).all()
    if not candidates:
        return 0
    accounts = load_accounts(session, candidates, for_update=True)
    fee_rows: list[dict[str, Any]] = []
    ledger_rows: list[dict[str, Any]] = []
    changed = []
    for account in accounts.values():
        due = late_fees_due(account, day)
        for installment_due, amount in due:
            if amount <= 0:
                continue
            line = account.assess_fee(
                FeeKind.LATE, amount, day, f"late fee, installment due {installment_due.isoformat()}"
            )
            ledger_rows.append(ledger_row(account.loan_id, line, actor))
            fee_rows.append(
                {"loan_id": account.loan_id, "seq": account.fee_seq, "kind": FeeKind.LATE.value, "amount": amount,
                 "outstanding": amount, "assessed_on": day, "installment_due_date": installment_due}
            )  # fmt: skip
        if due:
            account.late_fee_through = due[-1][0]
            changed.append(account)
    insert_rows(session, Fee.__table__, fee_rows)
    insert_rows(session, LedgerEntry.__table__, ledger_rows)
    save_accounts(session, changed, day)
    return len(fee_rows)


ACCRUE_SQL = {
    "sqlite": """
        UPDATE loans SET
          accrued_interest = ll_accrued(principal_balance, annual_rate, interest_method, compounding,
                                        interest_paid_through, :day, minor_units),
          days_past_due = CASE WHEN next_due_date < :day AND principal_balance > 0
                               THEN CAST(julianday(:day) - julianday(next_due_date) AS INTEGER) ELSE 0 END
        WHERE status = 'active'
    """,
    "postgresql": """
        UPDATE loans SET
          accrued_interest = ll_accrued(principal_balance, annual_rate, interest_method, compounding,
                                        interest_paid_through, CAST(:day AS date), minor_units),
          days_past_due = CASE WHEN next_due_date < CAST(:day AS date) AND principal_balance > 0
                               THEN CAST(:day AS date) - next_due_date ELSE 0 END
        WHERE status = 'active'
    """,
}


def accrue_and_age(session: Session, day: date, ids: tuple[int, int | None] | None = None) -> int:
    """Accrue interest to `day` and age every active loan's delinquency, in one statement; return how many.

    With `ids` (first, stop), only the loans with first <= id < stop (stop None: no upper bound). The
    statement sets each value from the loan's own columns, so running it twice for a day changes nothing.
    """
    dialect = session.get_bind().dialect.name
    sql, values = ACCRUE_SQL[dialect], dict[str, Any](day=day.isoformat())
    if ids is not None:
        first, stop = ids
        sql += " AND id >= :first"
        values["first"] = first
        if stop is not None:
            sql += " AND id < :stop"
            values["stop"] = stop
    result = session.execute(text(sql), values)
    return int(getattr(result, "rowcount", 0) or 0)


def escrow_bill_reference(item_id: int, due: date) -> str:
    """Return the ledger reference of an escrow bill paid for its due date (escrow.escrow_summary reads it)."""
    return f"escrow:{item_id}:{due.isoformat()}"


def disburse_escrow(session: Session, day: date, actor: str) -> int:
    """Pay every escrow bill due by `day` from its loan's escrow account (an advance when short); return how many."""
    items = session.execute(
        select(EscrowItem.id, EscrowItem.loan_id, EscrowItem.kind, EscrowItem.payee, EscrowItem.amount,
               EscrowItem.next_due_date, EscrowItem.frequency_months)
        .join(Loan, Loan.id == EscrowItem.loan_id)
        .where(EscrowItem.next_due_date <= day, Loan.status == "active")
    ).all()  # fmt: skip
    ledger_rows: list[dict[str, Any]] = []
    balance_rows: list[dict[str, Any]] = []
    item_rows: list[dict[str, Any]] = []
    for item in items:
        due, paid = item.next_due_date, 0
        while due <= day:  # catch up every occurrence a long gap skipped, each on its own date
            line = LedgerLine(
                EntryKind.ESCROW_DISBURSEMENT, due, Balances(escrow=-item.amount), f"{item.kind} paid to {item.payee}"
            )
            ledger_rows.append(ledger_row(item.loan_id, line, actor, escrow_bill_reference(item.id, due)))
            last_paid, due, paid = due, due + relativedelta(months=item.frequency_months), paid + 1
        balance_rows.append({"b_id": item.loan_id, "paid": item.amount * paid})
        item_rows.append({"b_id": item.id, "next_due_date": due, "last_paid_on": last_paid})
    _write_escrow_payouts(session, balance_rows, item_rows)
    insert_rows(session, LedgerEntry.__table__, ledger_rows)
    return len(ledger_rows)


def _write_escrow_payouts(
    session: Session, balance_rows: list[dict[str, Any]], item_rows: list[dict[str, Any]]
) -> None:
    """Take what was paid out of each escrow account and move each bill to its next due date."""
    paid_out = loans.c.escrow_balance - bindparam("paid")
    balances = update(loans).where(loans.c.id == bindparam("b_id")).values(escrow_balance=paid_out)
    execute_many(session, ("escrow_paid_out",), balances, balance_rows)
    moved: dict[str, Any] = {column: bindparam(column) for column in ("next_due_date", "last_paid_on")}
    bills = update(escrow_items).where(escrow_items.c.id == bindparam("b_id")).values(moved)
    execute_many(session, ("escrow_next_bill",), bills, item_rows)


def open_early_intervention_tasks(session: Session, day: date) -> int:
    """Open the Reg X 1024.39 tasks US loans' delinquencies of 30 days and more still need; return how many.

    Looks only at loans whose delinquency has no task yet or whose latest due date has no live contact set
    (a live-contact deadline after `day` + 4 covers a due date in the last 31 days).
    """
    rows = session.execute(
        select(loans.c.id, loans.c.borrower_id, loans.c.schedule_anchor, loans.c.next_due_date).where(
            loans.c.status == "active",
            loans.c.days_past_due >= EARLY_INTERVENTION_AT_DAYS,
            # implied by the days past due (as of `day` or before): the few loans it leaves are found through
            # ix_loans_active_due instead of reading every loan the accrual has just rewritten
            loans.c.next_due_date <= day - timedelta(days=EARLY_INTERVENTION_AT_DAYS),
            loans.c.country.in_(sorted(REG_X_COUNTRIES)),
            or_(
                ~_task_opened_for_this_delinquency(CaseKind.EARLY_INTERVENTION),
                ~_live_contact_set_after(day + timedelta(days=4)),
            ),
        )
    ).all()
    if not rows:
        return 0
    loan_ids = [row[0] for row in rows]
    asked, known = _contacts_asked(session, loan_ids), _delinquencies_known(session, loan_ids)
    last_notice = _last_written_notices(session, loan_ids)
    tasks = [
        task
        for loan_id, borrower_id, anchor, since in rows
        for task in early_intervention_due(
            loan_id, borrower_id, since, due_dates_between(anchor, since, day),
            contacts_asked=frozenset(asked.get(loan_id, ())), delinquency_known=(loan_id, since) in known,
            last_notice=last_notice.get(loan_id),
        )
    ]  # fmt: skip
    return len(open_early_intervention(session, tasks, day))


def _live_contact_set_after(after: date) -> Any:
    """Return the SQL test that a loan has an early-intervention live-contact deadline after a date."""
    return exists().where(
        Case.loan_id == loans.c.id,
        Case.kind == CaseKind.EARLY_INTERVENTION.value,
        CaseDeadline.case_id == Case.id,
        CaseDeadline.name == "live_contact",
        CaseDeadline.due_on > after,
    )


def _early_intervention_deadlines(loan_ids: list[int], name: str) -> Any:
    return (
        select(Case.loan_id, Case.delinquency_since, CaseDeadline.due_on, CaseDeadline.met_on)
        .join(CaseDeadline, CaseDeadline.case_id == Case.id)
        .where(Case.loan_id.in_(loan_ids), Case.kind == CaseKind.EARLY_INTERVENTION.value, CaseDeadline.name == name)
    )


def _contacts_asked(session: Session, loan_ids: list[int]) -> dict[int, set[date]]:
    """Return, per loan, the due dates of the live contacts its early-intervention tasks already ask for."""
    asked: dict[int, set[date]] = {}
    for loan_id, _, due_on, _ in session.execute(_early_intervention_deadlines(loan_ids, "live_contact")):
        asked.setdefault(loan_id, set()).add(due_on)
    return asked


def _delinquencies_known(session: Session, loan_ids: list[int]) -> set[tuple[int, date]]:
    """Return the (loan, delinquent since) that already have an early-intervention task."""
    query = select(Case.loan_id, Case.delinquency_since).where(
        Case.loan_id.in_(loan_ids), Case.kind == CaseKind.EARLY_INTERVENTION.value
    )
    return {(loan_id, since) for loan_id, since in session.execute(query) if since is not None}


def _last_written_notices(session: Session, loan_ids: list[int]) -> dict[int, date]:
    """Return, per loan, the day its last early-intervention written notice was recorded as sent."""
    last: dict[int, date] = {}
    for loan_id, _, _, met_on in session.execute(_early_intervention_deadlines(loan_ids, "written_notice")):
        if met_on is not None and (loan_id not in last or met_on > last[loan_id]):
            last[loan_id] = met_on
    return last


def open_arrears_information_tasks(session: Session, day: date) -> int:
    """Open an arrears-information task for each UK loan that has fallen two payments behind (MCOB 13.4.1R).

    Two payments are missed once the installment after the oldest unpaid one has fallen due too:
    the oldest unpaid is due more than a month before `day`.
    """
    opened = 0
    for country in sorted(ARREARS_INFORMATION_COUNTRIES):
        rows = session.execute(
            select(loans.c.id, loans.c.borrower_id, loans.c.next_due_date).where(
                loans.c.status == "active",
                loans.c.country == country,
                loans.c.next_due_date < day - relativedelta(months=1),
                ~_task_opened_for_this_delinquency(CaseKind.ARREARS_INFORMATION),
            )
        ).all()
        opened += len(open_arrears_information(session, [(r[0], r[1], r[2]) for r in rows], day, country))
    return opened


def _task_opened_for_this_delinquency(kind: CaseKind) -> Any:
    """Return the SQL test that a loan already has a task of `kind` for the delinquency it is in now."""
    return exists().where(
        Case.loan_id == loans.c.id, Case.kind == kind.value, Case.delinquency_since == loans.c.next_due_date
    )


def mark_overdue_cases(session: Session, day: date) -> int:
    """Flag open cases with a deadline that has passed unmet; return how many became overdue."""
    late = exists().where(CaseDeadline.case_id == Case.id, CaseDeadline.met_on.is_(None), CaseDeadline.due_on < day)
    result = session.execute(
        update(Case).where(and_(Case.closed_on.is_(None), Case.overdue.is_(False), late)).values(overdue=True)
    )
    return int(getattr(result, "rowcount", 0) or 0)
