"""The `loanline` command: operations on the servicing core from a terminal or a script.

Exit codes: 0 success, 1 a business refusal (rows rejected, unknown loan), 2 bad usage.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from sqlalchemy import select

from loanline.runtime import Runtime
from servicing.errors import ServicingError
from servicing.importing import FileRefused, ImportResult, import_loans, import_payments
from servicing.importing import Progress as ImportProgress
from servicing.queries import loan_summary, payoff_for
from servicing.rules.formatting import money_text

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from bot.nlu import Classification
    from bot.nlu.evaluation import Report

F = TypeVar("F", bound=Callable[..., Any])
OPERATOR_LOCALE = "en_US"
err = Console(stderr=True)


class Refused(click.ClickException):
    """A business refusal: printed, exit code 1."""

    exit_code = 1


@contextmanager
def runtime() -> Iterator[Runtime]:
    """Start the runtime for one command and release it afterwards; turn core refusals into exit 1."""
    rt = Runtime.start()
    try:
        if not rt.is_initialised():
            rt.init_database()
        yield rt
    except ServicingError as error:
        raise Refused(str(error)) from error
    finally:
        rt.close()


def iso_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    """Parse a YYYY-MM-DD option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from error


def jsonable(value: Any) -> Any:
    """Return JSON-friendly data: money as strings, dates as ISO."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {k: jsonable(v) for k, v in dataclasses.asdict(value).items()}
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


@click.group()
@click.version_option(package_name="loanline")
def main() -> None:
    """Loanline: loans, payments, end of day, and the borrower bot and specialist console."""


@main.command()
def init() -> None:
    """Create or migrate the database at LOANLINE_DATABASE_URL."""
    rt = Runtime.start()
    try:
        rt.init_database()
        click.echo(f"database ready: {rt.engine.url.render_as_string(hide_password=True)}")
    finally:
        rt.close()


@main.command()
@click.option("--reset", is_flag=True, help="Delete everything first (SQLite file only).")
@click.option("--as-of", callback=iso_date, help="Anchor date of the demo portfolio (default today).")
def demo(reset: bool, as_of: date | None) -> None:
    """Load the deterministic demo portfolio, its conversations and one console login per role."""
    from servicing.demo.ach import load_demo_ach
    from servicing.demo.portfolio import DemoServicer, demo_plan, load_demo

    if reset:
        _reset_database()
    with runtime() as rt:
        settings = rt.settings
        servicer = DemoServicer(settings.servicer_name, settings.servicer_phone, settings.contact_rules())
        summary = load_demo(rt.sessions, secret=settings.secret_key, as_of=as_of or rt.today(),
                            country=settings.country, servicer=servicer)  # fmt: skip
        click.echo(summary)
        enrolled = load_demo_ach(rt.sessions, demo_plan(as_of or rt.today()).loan_numbers, vault=rt.vault(),
                                 country=rt.settings.country, servicer=rt.settings.servicer_name,
                                 phone=rt.settings.servicer_phone)  # fmt: skip
        if enrolled:
            click.echo(f"Autopay loans drafting on the next business day: {enrolled} (loanline ach export --out FILE).")
        add_demo_logins(rt)


def add_demo_logins(rt: Runtime) -> None:
    """Create the demo's console logins (one per role) if missing and print them with their passwords."""
    from servicing.specialists import add_demo_specialists

    with rt.sessions.begin() as session:
        logins = add_demo_specialists(session, rt.settings.secret_key)
    click.echo("Console logins (demo):")
    for username, role, password in logins:
        click.echo(f"  {username:<12} {role.value:<11} password: {password}")


def _reset_database() -> None:
    rt = Runtime.start()
    try:
        from servicing.store.models import Base

        Base.metadata.drop_all(rt.engine)
        with rt.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    finally:
        rt.close()


def _print_import(result: ImportResult, what: str) -> None:
    for refusal in result.refused:
        key = f" {refusal.key}:" if refusal.key else ""
        click.echo(f"line {refusal.line}:{key} {refusal.reason}")
    click.echo(
        f"{result.rows} rows: {len(result.imported)} {what}, {len(result.unchanged)} unchanged, "
        f"{len(result.refused)} refused"
    )
    if result.refused:
        sys.exit(1)


@contextmanager
def progress_bar() -> Iterator[ImportProgress]:
    """Show on stderr how far a long import is: rows read, then rows committed of the rows to commit."""
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err, transient=True, disable=not err.is_terminal) as bar:  # fmt: skip
        task = bar.add_task("reading", total=None)
        yield lambda step, done, total: bar.update(task, description=step, completed=done, total=total)


@contextmanager
def resumable(what: str) -> Iterator[None]:
    """Say, when an import is stopped (Ctrl-C), that what it committed stays and running it again finishes it."""
    try:
        yield
    except KeyboardInterrupt:
        click.echo(f"Interrupted: the {what} committed so far stay; import the same file again to do the rest.",
                   err=True)  # fmt: skip
        sys.exit(130)


@main.command("import-loans")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_loans_command(file: Path) -> None:
    """Board the loans in a CSV file; bad rows are refused with line and reason."""
    with runtime() as rt, progress_bar() as progress, resumable("loans"):
        try:
            result = import_loans(rt.sessions, file, secret=rt.settings.secret_key, today=rt.today(), vault=rt.vault(),
                                  actor="cli", progress=progress)  # fmt: skip
        except FileRefused as error:
            raise Refused(str(error)) from error
    _print_import(result, "boarded")


@main.command("import-payments")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def import_payments_command(file: Path) -> None:
    """Post the payments in a CSV file; bad rows are refused with line and reason."""
    with runtime() as rt, progress_bar() as progress, resumable("payments"):
        try:
            result = import_payments(rt.sessions, file, today=rt.today(), actor="cli", progress=progress)
        except FileRefused as error:
            raise Refused(str(error)) from error
    _print_import(result, "posted")


@main.command()
@click.option("--through", callback=iso_date, help="Last business date to run (default today).")
def eod(through: date | None) -> None:
    """Run end of day for each business date not yet run."""
    from loanline.daily import run_end_of_day
    from servicing.eod import dates_to_run

    with runtime() as rt:
        last = through or rt.today()
        with rt.sessions() as session:
            days = dates_to_run(session, last, rt.settings.country)
        with Progress(TextColumn("end of day {task.fields[day]}"), BarColumn(), MofNCompleteColumn(),
                      console=err, transient=True, disable=not err.is_terminal) as bar:  # fmt: skip
            task = bar.add_task("eod", total=len(days), day="")
            report = run_end_of_day(rt, last, lambda r: bar.update(task, advance=1, day=r.business_date.isoformat()))
    if not report.days:
        click.echo(f"nothing to run: end of day is already through {last.isoformat()}")
        return
    steps = (
        "scheduled_posted",
        "scheduled_failed",
        "ach_settled",
        "late_fees",
        "escrow_disbursed",
        "escrow_analyzed",
        "early_intervention",
        "cases_overdue",
        "letters",
        "statements",
        "promises_kept",
        "promises_broken",
        "outreach_queued",
        "outreach_suppressed",
    )
    totals = {step: sum(getattr(day, step) for day in report.days) for step in steps}
    delivered = [day.delivered for day in report.days if day.delivered is not None]
    totals["documents notified"] = sum(d.notified for d in delivered)
    totals["documents printed"] = sum(len(d.batch.rows) for d in delivered if d.batch and d.batch.made)
    click.echo(
        f"ran {len(report.days)} business days, {report.days[0].business_date} to {report.days[-1].business_date}: "
        + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in totals.items())
    )


@main.command()
@click.option("--as-of", callback=iso_date, help="Date of the statements (default the business date).")
@click.option("--loan", "loan_number", help="Make only this loan's statement.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path),
              help="Also write <loan_number>.pdf per loan and manifest.csv into this folder.")  # fmt: skip
@click.option("--workers", type=click.IntRange(min=0), default=0,
              help="Processes rendering statements (default: one per core for more than 200 loans).")  # fmt: skip
def statements(as_of: date | None, loan_number: str | None, out: Path | None, workers: int) -> None:
    """Make each active loan's periodic statement of its next due date; a cycle already made is reported, not redone."""
    from servicing.documents.statement_figures import StatementOptions
    from servicing.documents.statement_workers import make_statements_in_workers
    from servicing.documents.statements import loans_to_bill, make_statements_apart, write_statement_files
    from servicing.queries import current_date
    from servicing.store.bulk import chunked

    with runtime() as rt:
        options = StatementOptions.from_settings(rt.settings, actor="cli")
        with rt.sessions() as session:
            business = current_date(session, rt.today())
            loan_ids = loans_to_bill(session, loan_number)
        day = as_of or business
        if day < business:
            raise Refused(f"--as-of {day.isoformat()} is before the business date {business.isoformat()}: statements "
                          "are made from today's balances")  # fmt: skip
        processes = workers or ((os.cpu_count() or 1) if len(loan_ids) > 200 else 1)
        lines = []
        with Progress(TextColumn("statements"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=err, transient=True, disable=not err.is_terminal) as bar:  # fmt: skip
            task = bar.add_task("statements", total=len(loan_ids))
            if processes > 1:
                url = rt.engine.url.render_as_string(hide_password=False)
                lines = make_statements_in_workers(
                    url,
                    options,
                    loan_ids,
                    day,
                    workers=processes,
                    on_chunk=lambda done: bar.update(task, advance=len(done.lines)),
                )
                lines.sort(key=lambda line: line.loan_number)
            else:
                for part in chunked(loan_ids, 50):
                    lines.extend(make_statements_apart(rt.sessions, options, part, day))
                    bar.update(task, advance=len(part))
        if out is not None:
            with rt.sessions() as session:
                manifest = write_statement_files(session, options.root, lines, out)
    _print_statements(lines, day, show_each=loan_number is not None or len(lines) <= 20)
    if out is not None:
        click.echo(f"wrote {len(lines)} PDF files and {manifest}")


def _print_statements(lines: list[Any], day: date, *, show_each: bool) -> None:
    """Print what the statements run made and found on file, and the flags that hold some back."""
    if show_each:
        for line in lines:
            what = "made" if line.made else "already on file (nothing new made)"
            flags = f" [{', '.join(line.flags)}]" if line.flags else ""
            click.echo(f"{line.loan_number}: statement due {line.due_date.isoformat()} {what}: {line.pages} pages, "
                       f"{line.language}, {line.delivery}, amount due {line.amount_due} {line.currency}"
                       f"{flags}")  # fmt: skip
    made = sum(1 for line in lines if line.made)
    on_file = len(lines) - made
    click.echo(f"{len(lines)} statements as of {day.isoformat()}: {made} made, {on_file} already on file")
    if on_file and not made:
        click.echo("every statement of these cycles was already made: nothing new was made")
    meanings = {"no_mailing_address": "without a mailing address (held from the print batch)",
                "language_fallback": "in English: the borrower's language is not translated yet"}  # fmt: skip
    for flag, meaning in meanings.items():
        count = sum(1 for line in lines if flag in line.flags)
        if count:
            click.echo(f"  {count} {meaning}")


@main.command()
@click.argument("loan_number")
@click.option("--as-of", callback=iso_date, help="Date of the figures (default the business date).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def loan(loan_number: str, as_of: date | None, as_json: bool) -> None:
    """Show a loan's balances, next due date, days past due, escrow and suspense (JSON: promises, contact flags)."""
    with runtime() as rt, rt.sessions() as session:
        summary = loan_summary(session, loan_number, as_of, today=rt.today())
        if as_json:
            click.echo(json.dumps({**jsonable(summary), **jsonable(outreach_of(session, loan_number))}))
            return
    c = summary.currency

    def m(amount: Decimal) -> str:
        return money_text(amount, c, OPERATOR_LOCALE)

    rows = [
        ("Loan", f"{summary.loan_number} ({summary.status.replace('_', ' ')})"),
        ("Principal balance", m(summary.principal_balance)),
        ("Interest paid through", summary.interest_paid_through.isoformat()),
        ("Next due", summary.next_due_date.isoformat() if summary.next_due_date else "nothing due"),
        ("Amount due", m(summary.amount_due)),
        ("Monthly payment (P&I)", m(summary.monthly_payment)),
        ("Days past due", f"{summary.days_past_due} ({summary.bucket})"),
        ("Unpaid fees", m(summary.unpaid_fees)),
        ("Escrow balance", m(summary.escrow_balance)),
        ("Suspense", m(summary.suspense_balance)),
        ("Deferred balance", m(summary.deferred_balance)),
    ]
    for label, value in rows:
        click.echo(f"{label:<24}{value}")


@main.command()
@click.argument("loan_number")
@click.option("--good-through", callback=iso_date, help="Good-through date (default 10 days after the quote date).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option(
    "--pdf",
    "pdf",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Also write the payoff statement to this PDF file and keep it as the borrower's document.",
)
def payoff(loan_number: str, good_through: date | None, as_json: bool, pdf: Path | None) -> None:
    """Quote the amount that pays a loan off through a date."""
    with runtime() as rt:
        with rt.sessions() as session:
            quote = payoff_for(session, loan_number, good_through, today=rt.today())
        if pdf is not None:
            _payoff_statement_pdf(rt, loan_number, quote.good_through, pdf)
    if as_json:
        click.echo(json.dumps(jsonable(quote)))
        return

    def m(amount: Decimal) -> str:
        return money_text(amount, quote.currency, OPERATOR_LOCALE)

    click.echo(f"Payoff of {quote.loan_number}, quoted {quote.quote_date}, good through {quote.good_through}")
    for label, amount in [("Principal", quote.principal), ("Interest", quote.interest), ("Fees", quote.fees),
                          ("Escrow advance", quote.escrow_advance), ("Deferred balance", quote.deferred),
                          ("Less suspense", -quote.suspense)]:  # fmt: skip
        click.echo(f"  {label:<20}{m(amount):>20}")
    click.echo(f"  {'Total':<20}{m(quote.total):>20}")
    click.echo(f"Per diem after {quote.good_through}: {m(quote.per_diem)}")
    if quote.escrow_refund:
        click.echo(f"Escrow balance refunded separately after payoff: {m(quote.escrow_refund)}")


def _payoff_statement_pdf(rt: Runtime, loan_number: str, good_through: date, pdf: Path) -> None:
    """Make (or find) the loan's payoff statement for this quote, write its PDF to a file and say so on stderr."""
    from servicing.documents.correspondence import Correspondence
    from servicing.documents.letters import make_payoff_statement
    from servicing.documents.records import read_document

    letters = Correspondence.from_settings(rt.settings)
    with rt.sessions.begin() as session:
        made = make_payoff_statement(session, letters, loan_number, good_through, today=rt.today(), actor="cli")
        document_id, data = made.document.id, read_document(letters.root, made.document)
    pdf.write_bytes(data)
    kept = "made" if made.quote is not None else "already on file"
    click.echo(f"payoff statement written to {pdf} (document {document_id}, {kept})", err=True)


@main.command("print-batch")
@click.option("--date", "day", callback=iso_date, help="Business date of the batch (default the business date).")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Also copy the PDF and manifest here.")
def print_batch(day: date | None, out: Path | None) -> None:
    """Make the day's print batch (once: a rerun reports it): combined PDF and mail-house manifest, held documents."""
    import shutil

    from servicing.documents.delivery import make_print_batch
    from servicing.queries import current_date
    from servicing.store.models import utcnow

    with runtime() as rt, rt.sessions.begin() as session:
        batch_day = day or current_date(session, rt.today())
        report = make_print_batch(session, batch_day, root=rt.settings.documents_dir,
                                  home_country=rt.settings.country, actor="cli", now=utcnow())  # fmt: skip
    for held in report.held:
        click.echo(f"held: document {held.document_id} ({held.kind}, loan {held.loan_number}): {held.reason}")
    if report.batch_id is None:
        click.echo(f"nothing to print for {batch_day.isoformat()}")
        return
    how = "made" if report.made else "already made"
    click.echo(f"print batch {report.batch_id} for {batch_day.isoformat()} {how}: {len(report.rows)} documents, "
               f"{report.pages} pages on {report.sheets} sheets (duplex)")  # fmt: skip
    for kept in (report.pdf_path, report.manifest_path):
        assert kept is not None
        if out is not None:
            out.mkdir(parents=True, exist_ok=True)
            kept = Path(shutil.copy2(kept, out / kept.name))  # noqa: PLW2901 (say where the copy is)
        click.echo(f"  {kept}")


@main.command()
@click.argument(
    "name",
    type=click.Choice(
        ["delinquency", "payments", "cases", "audit", "queue", "promises", "outreach", "ach", "satisfaction"]
    ),
)
@click.option("--format", "fmt", type=click.Choice(["csv", "json"]), default="csv")
@click.option("--from", "since", callback=iso_date, help="First day of the period (YYYY-MM-DD).")
@click.option("--to", "until", callback=iso_date, help="Last day of the period (YYYY-MM-DD).")
def report(name: str, fmt: str, since: date | None, until: date | None) -> None:
    """Print a report: delinquency buckets, payments posted, case pipeline, audit log, queue by day, promises, ACH,
    outreach (one row per contact decision: loan, borrower's initials, kind, channel, status, reason, send after),
    satisfaction (per specialist: surveys asked, answered, average score 1 to 5, share satisfied)."""
    from servicing.reports import REPORTS, csv_text

    with runtime() as rt, rt.sessions() as session:
        rows = REPORTS[name](session, rt.today(), since=since, until=until)
    if fmt == "json":
        click.echo(json.dumps(jsonable(rows)))
        return
    click.echo(csv_text(rows), nl=False)


@main.command()
@click.option("--phone", help="Talk as the borrower with this phone on file (E.164).")
@click.option("--loan", "loan_number", help="Talk as the borrower of this loan.")
@click.option("--lang", help="Language to start in (en, es, fr, pt_BR, de, it, hi, id).")
def chat(phone: str | None, loan_number: str | None, lang: str | None) -> None:
    """Talk to the bot in the terminal as a borrower, through the same engine as SMS and Telegram."""
    from bot.engine import Engine, InboundMessage
    from servicing.demo.chat import terminal_address

    with runtime() as rt:
        with rt.sessions.begin() as session:
            address = terminal_address(session, phone=phone, loan_number=loan_number, locale=lang)
        engine = Engine(rt.sessions, rt.settings)
        chat_session = uuid.uuid4().hex  # message ids are unique per session: a second chat is not a replay
        click.echo(f"Talking as {address[:-4]}…{address[-4:]} (Ctrl-D to leave). Try: balance, payoff, help")
        for number, line in enumerate(sys.stdin, start=1):
            text = line.rstrip("\n")
            if not text.strip():
                continue
            inbound = InboundMessage("chat", address, text, provider_id=f"chat-{chat_session}-{number}")
            for reply in engine.handle(inbound):
                click.echo(f"bot> {reply.text}")
                for position, (label, _) in enumerate(reply.options, start=1):
                    click.echo(f"     {position}. {label}")


@main.command()
def worker() -> None:
    """Deliver the outbox alone (run several on PostgreSQL to scale out); Ctrl-C stops after the send in hand."""
    import threading

    from loanline.worker import run_worker
    from servicing.operations.logs import configure_logging

    with runtime() as rt:
        configure_logging(rt.settings.log_format)
        stop = threading.Event()
        click.echo("outbox worker running (Ctrl-C to stop)")
        try:
            run_worker(rt, stop)
        except KeyboardInterrupt:
            stop.set()
            click.echo("outbox worker stopped; unsent messages stay in the outbox")


@main.command()
@click.option("--tick", "tick_seconds", type=click.FloatRange(min=0.1), default=15.0, show_default=True,
              help="Seconds between looks at the clock (and tries to lead).")  # fmt: skip
def scheduler(tick_seconds: float) -> None:
    """Run the daily jobs (end of day, the ACH export, partitions) at their local times, as one leader among many.

    Start it on as many machines as you like: one leads (a PostgreSQL advisory lock; SQLite: a lock file), the
    others stand by and take over when it stops or dies. LOANLINE_SCHEDULE sets the jobs and times.
    """
    from loanline.scheduler import run_until_signalled
    from servicing.operations.logs import configure_logging

    with runtime() as rt:
        configure_logging(rt.settings.log_format)
        jobs = ", ".join(f"{job} at {at.strftime('%H:%M')}" for job, at in rt.settings.schedule)
        click.echo(f"scheduler running ({jobs}, {rt.settings.timezone}, business days of {rt.settings.country})")
        run_until_signalled(rt, tick_seconds)
        click.echo("scheduler stopped")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
def run(host: str, port: int) -> None:
    """Serve the database as it is: console, webhooks, outbox, Telegram when configured, the simulator on a demo.

    Loads no demo and creates no login: `loanline demo` does (`make run` runs it first).
    """
    from loanline.serve import serve

    serve(host, port)


@main.command()
@click.option("--webhook", is_flag=True, help="Serve POST /telegram/webhook instead of long polling.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Webhook mode: address to listen on.")
@click.option("--port", default=8081, show_default=True, type=int, help="Webhook mode: port to listen on.")
def telegram(webhook: bool, host: str, port: int) -> None:
    """Run the Telegram bot alone: long polling, or the webhook (TELEGRAM_WEBHOOK_SECRET required)."""
    import asyncio

    from aiogram.exceptions import TelegramAPIError

    from bot.channels.telegram import run_polling, run_webhook
    from bot.engine import Engine
    from bot.flood import flood_limit
    from servicing.config import Settings

    settings = Settings.from_env()
    if not settings.telegram_bot_token:
        raise Refused("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and export its token.")
    if webhook and not settings.telegram_webhook_secret:
        raise Refused("TELEGRAM_WEBHOOK_SECRET is not set: webhook mode needs it to tell Telegram from strangers.")
    from servicing.operations.logs import configure_logging

    with runtime() as rt:
        configure_logging(rt.settings.log_format)
        engine = Engine(rt.sessions, rt.settings, flood=flood_limit(rt.settings))
        try:
            if webhook:
                run_webhook(rt.settings, engine, host, port, rt.telegram_api())
            else:
                asyncio.run(run_polling(rt.settings, engine, rt.telegram_api()))
        except TelegramAPIError as error:  # a wrong token, Telegram unreachable at start-up
            raise Refused(f"Telegram refused: {error.message}") from error


@main.command()
def assign() -> None:
    """Offer waiting conversations to available specialists once (the worker does it on every pass)."""
    from datetime import UTC, datetime

    from servicing.staffing.assignment import assign_waiting_conversations

    with runtime() as rt, rt.sessions.begin() as session:
        offers = assign_waiting_conversations(session, datetime.now(UTC))
    for offer in offers:
        click.echo(f"conversation {offer.conversation_id} -> {offer.username} ({offer.skill})")
    click.echo(f"{len(offers)} conversations assigned")


@main.group()
def specialist() -> None:
    """Manage the people who log in to the console."""


@specialist.command("add")
@click.argument("username")
@click.option(
    "--role", type=click.Choice(["specialist", "supervisor", "admin"]), default="specialist", show_default=True
)
@click.option("--name", "display_name", help="Name shown in the console (default the username).")
@click.option("--locale", type=click.Choice(["en", "es", "fr"]), default="en", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of standard input.")
@click.option("--languages", default="en", show_default=True, help="Borrower languages spoken, e.g. en,es.")
@click.option("--skills", default="general", show_default=True, help="e.g. general,loss_mitigation,disputes,payoffs.")
@click.option("--capacity", default=3, show_default=True, type=int, help="Conversations held at once (0-20).")
def specialist_add(username: str, role: str, display_name: str | None, locale: str, password_stdin: bool,
                   languages: str, skills: str, capacity: int) -> None:  # fmt: skip
    """Create a console user; asks for the password twice unless --password-stdin. Exit 1 if the user exists."""
    from servicing.specialists import Role, add_specialist
    from servicing.staffing.accounts import Profile, change_account

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    with runtime() as rt:
        rt.init_database()  # idempotent: brings an older database up to the specialists table
        with rt.sessions() as session:
            created = add_specialist(
                session, username, password, Role(role), display_name=display_name, locale=locale, actor="cli"
            )
            profile = Profile(created.display_name, created.role, created.locale, _listed(languages), _listed(skills),
                              capacity)  # fmt: skip
            change_account(session, "cli", created.username, profile)
            session.commit()
    click.echo(f"Specialist {created.username} added ({created.role}).")


def _listed(words: str) -> tuple[str, ...]:
    """Return the items of a comma-separated option."""
    return tuple(word.strip() for word in words.split(",") if word.strip())


@main.command("classify")
@click.argument("text", required=False)
@click.option("--lang", help="The borrower's locale on file (en, es_US, pt_BR...): a hint, not a cage.")
@click.option(
    "--file",
    "labelled",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Evaluate a TSV with header lang<TAB>intent<TAB>text (intent `unknown` = out of scope); "
    "each row's lang is its hint unless --lang is given.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON line per text.")
@click.option(
    "--as-bot",
    is_flag=True,
    help='Read each text as the bot does: without the date it names ("sa friday", "周六") when that reads '
    "better, and its first question when it asks several.",
)
def classify_command(text: str | None, lang: str | None, labelled: Path | None, as_json: bool, as_bot: bool) -> None:
    """Print the intent, score and language of a text, or evaluate a labelled file (last line: accuracy)."""
    from bot.nlu import classify
    from bot.nlu.evaluation import EvaluationFileError, evaluate, read_examples

    if (text is None) == (labelled is None):
        raise click.UsageError("give either a TEXT or --file F")
    if text is not None:
        result = _as_the_bot_reads(text, lang) if as_bot else classify(text, lang)
        if as_json:
            click.echo(json.dumps({"text": text, **dataclasses.asdict(result)}, ensure_ascii=False))
        else:
            click.echo(f"intent {result.intent or '(none)'}  score {result.score:.1f}  locale {result.locale}")
        return
    assert labelled is not None
    try:
        examples = read_examples(labelled)
    except EvaluationFileError as error:
        raise click.BadParameter(str(error), param_hint="--file") from error
    reader = _as_the_bot_reads if as_bot else classify
    report = evaluate(examples, hint=lambda example: lang or example.lang, classifier=reader)
    if as_json:
        for o in report.outcomes:
            click.echo(json.dumps({"text": o.example.text, "intent": o.intent, "score": o.score, "locale": o.locale,
                                   "expected": o.example.intent}, ensure_ascii=False))  # fmt: skip
    _print_evaluation(report)


def _as_the_bot_reads(text: str, locale: str | None) -> Classification:
    """Return what the bot understands of a message today: its first question, read without the date it names
    when that reads better (`bot.flows.read_message`)."""
    from bot.flows import read_message
    from bot.nlu import DEFAULT_LOCALE

    return read_message(text, locale or DEFAULT_LOCALE, date.today()).questions[0]


def outreach_of(session: Session, loan_number: str) -> dict[str, Any]:
    """Return a loan's promises to pay and its contact flags, as `loanline loan --json` lists them."""
    from servicing.outreach.flags import contact_flags_of
    from servicing.outreach.promises import promise_rows
    from servicing.store.models import Loan

    loan = session.scalar(select(Loan).where(Loan.loan_number == loan_number))
    assert loan is not None  # loan_summary refused an unknown number
    return {"promises": promise_rows(session, loan_number), "contact_flags": contact_flags_of(session, loan)}


def _print_evaluation(report: Report) -> None:
    """Print accuracy per language and per intent, the confusions, the held-out rows' figures and the rejection
    rate; accuracy last."""
    from bot.nlu.evaluation import UNKNOWN

    for title, rows in (("per language", report.by_language()), ("per intent", report.by_intent())):
        click.echo(title)
        for name, (accuracy, count) in rows.items():
            click.echo(f"  {name:<16}{accuracy:>7.3f}  ({count})")
    click.echo("confusions (expected -> got, count)")
    for expected, got, count in report.confusions():
        click.echo(f"  {expected} -> {got}  {count}")
    held_out = report.held_out()
    if held_out.outcomes:
        click.echo("held out (rows never seen while the matcher was tuned), per language")
        for name, (accuracy, count) in held_out.by_language().items():
            click.echo(f"  {name:<16}{accuracy:>7.3f}  ({count})")
        for o in held_out.outcomes:
            if not o.correct:
                click.echo(f"  missed [{o.example.lang}] {o.example.text}: {o.example.intent or UNKNOWN} -> "
                           f"{o.intent or UNKNOWN} ({o.score:.1f})")  # fmt: skip
        unknown = sum(1 for o in held_out.outcomes if o.example.intent is None)
        click.echo(f"held-out out-of-scope rejection: {held_out.rejection:.3f}  ({unknown})")
        click.echo(f"held-out accuracy: {held_out.accuracy:.3f}  ({len(held_out.outcomes)})")
    out_of_scope = sum(1 for o in report.outcomes if o.example.intent is None)
    click.echo(f"out-of-scope rejection: {report.rejection:.3f}  ({out_of_scope})")
    click.echo(f"accuracy: {report.accuracy:.3f}")


# -- ACH: data keys, the origination file, returns (docs/ach.md) ----------------------------------------------


@main.command()
@click.argument("destination", type=click.Path(dir_okay=False, path_type=Path))
def backup(destination: Path) -> None:
    """Back up the database while it runs: SQLite with its online backup API, PostgreSQL with pg_dump."""
    from servicing.operations.backup import backup_database

    settings = _settings_only()
    try:
        made = backup_database(settings.database_url, destination)
    except ServicingError as error:
        raise Refused(str(error)) from error
    click.echo(f"backup of the {made.dialect} database written to {made.path} ({made.size} bytes)")


@main.command()
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Overwrite the database's data (stop every Loanline process first).")
def restore(source: Path, replace: bool) -> None:
    """Put a backup back into the database at LOANLINE_DATABASE_URL (empty, or overwritten with --replace)."""
    from servicing.operations.backup import restore_database

    settings = _settings_only()
    try:
        done = restore_database(settings.database_url, source, replace=replace)
    except ServicingError as error:
        raise Refused(str(error)) from error
    click.echo(f"restored {done.path} into the {done.dialect} database; run `loanline init` if the code is newer")


def _settings_only() -> Any:
    from servicing.config import Settings

    return Settings.from_env()


@main.group()
def partitions() -> None:
    """Monthly partitions of the ledger and the messages on PostgreSQL (docs/operations.md, "Past one database
    server")."""


@partitions.command("enable")
@click.option("--yes", is_flag=True, help="Confirm: the table is locked while its rows are copied (minutes at scale).")
@click.option("--table", "table", type=click.Choice(["ledger", "messages"]), default="ledger", show_default=True,
              help="The ledger (by month of posting) or the messages (by month of created_at).")  # fmt: skip
def partitions_enable(yes: bool, table: str) -> None:
    """Partition the ledger or the messages by month, once, in one transaction (stop end of day and imports first
    for the ledger; the web workers, outbox workers and bot for the messages)."""
    from servicing.operations.partitions import partition_ledger, partition_messages

    if not yes:
        raise Refused(f"add --yes: the {table} table is locked while its rows are copied into monthly partitions")
    partition = {"ledger": partition_ledger, "messages": partition_messages}[table]
    with runtime() as rt:
        made = partition(rt.engine, rt.today())
    click.echo(f"the {table} table is partitioned by month: {len(made)} partitions ({made[0]} to {made[-1]}) "
               "and a default")  # fmt: skip


@partitions.command("create")
@click.option("--months", type=click.IntRange(min=0, max=24), default=2, show_default=True,
              help="Months after this one to make ready.")  # fmt: skip
def partitions_create(months: int) -> None:
    """Make this month's partition and the next ones where missing, of each partitioned table (the scheduler does it
    daily)."""
    from servicing.operations.partitions import create_partitions_ahead

    with runtime() as rt:
        made = create_partitions_ahead(rt.engine, rt.today(), months)
    click.echo(f"partitions made: {', '.join(made)}" if made else "no partition needed")


@main.group()
def keys() -> None:
    """The data keys that encrypt bank account numbers (LOANLINE_DATA_KEY, newest first)."""


@keys.command("new")
def keys_new() -> None:
    """Print a new data key to put in front of LOANLINE_DATA_KEY before `loanline keys rotate`."""
    from servicing.ach.vault import new_key

    click.echo(new_key())


@keys.command("rotate")
def keys_rotate() -> None:
    """Re-encrypt every bank account number and kept ACH file with the newest key; then drop the older keys."""
    from servicing.ach.accounts import rotate_bank_account_keys

    with runtime() as rt, rt.sessions.begin() as session:
        rotation = rotate_bank_account_keys(session, rt.vault(), actor="cli")
    click.echo(f"{rotation.rotated} bank account numbers and kept ACH files re-encrypted with the newest key, "
               f"{rotation.already_current} already on it")  # fmt: skip


@main.group()
def ach() -> None:
    """ACH: the origination file of the day's debits, and the bank's returns and notifications of change."""


@ach.command("export")
@click.option("--date", "effective", callback=iso_date, help="Effective entry date (default the next business day).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), required=True, help="Where to write the file.")
def ach_export(effective: date | None, out: Path) -> None:
    """Write the NACHA PPD file of the debits effective on a date; the same date again gives the same file."""
    from loanline.daily import export_ach_file

    with runtime() as rt:
        export = export_ach_file(rt, out, effective, actor="cli")
    for reason in export.skipped:
        click.echo(f"skipped {reason}")
    again = "" if export.new else " (exported before: the same file again, nothing new drafted)"
    click.echo(f"{out}: {export.entries} debits effective {export.effective.isoformat()}, "
               f"{export.content_total}, sha256 {export.sha256}{again}")  # fmt: skip


@ach.command("returns")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def ach_returns(file: Path) -> None:
    """Apply a bank's NACHA returns file: reverse returned payments, stop autopay, correct accounts; all or nothing."""
    from datetime import UTC, datetime

    from servicing.ach.returns import ReturnsContext, apply_returns_file
    from servicing.queries import current_date

    data = file.read_bytes()
    with runtime() as rt, rt.sessions.begin() as session:
        business = current_date(session, rt.today())
        fee = rt.settings.ach.returned_payment_fee
        context = ReturnsContext(business, max(business, rt.today()), datetime.now(UTC), "cli", fee,
                                 rt.settings.servicer_phone, rt.vault())  # fmt: skip
        report = apply_returns_file(session, data, context, name=file.name)
    for loan_number, code, outcome in report.returns + report.changes:
        click.echo(f"{loan_number} {code}: {outcome}")
    click.echo(f"{len(report.returns)} returns, {len(report.changes)} notifications of change: "
               f"{report.reversed_payments} payments reversed, {report.fees_charged} fees charged, "
               f"{report.autopay_stopped} autopay stopped, {report.borrowers_told} borrowers told")  # fmt: skip


if __name__ == "__main__":  # pragma: no cover
    main()
