"""Loan and payment files: read CSV rows with their line numbers, refuse bad ones with a reason, import the rest."""

from __future__ import annotations

import csv
import functools
import gc
import io
import multiprocessing as mp
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import ParamSpec, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from servicing.audit import record_audit
from servicing.boarding import (
    MAX_AMOUNT,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    BoardingReport,
    LoanRecord,
    board_loans,
    parse_date,
)
from servicing.boarding import parse_loan_row as _parse_loan_row
from servicing.errors import InvalidInput, ServicingError
from servicing.payments import PaymentInstruction, PostingReport, Refusal, post_payments
from servicing.queries import current_date
from servicing.rules.money import parse_amount

PAYMENT_REQUIRED = ("loan_number", "amount", "received_on", "reference")
PAYMENT_OPTIONAL = ("method",)
METHODS = ("ach", "check", "card", "wire", "cash")
MAX_FIELD = 200
PARALLEL_ROWS = 20_000  # files at least this long are parsed in two processes

Progress = Callable[[int], None]
P = ParamSpec("P")
R = TypeVar("R")


class FileRefused(ServicingError):
    """A file that cannot be read at all (encoding, header); nothing in it was imported."""


@dataclass
class ImportResult:
    """What an import did, row by row."""

    rows: int = 0
    imported: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    refused: list[Refusal] = field(default_factory=list)


def read_rows(
    path: Path, required: Sequence[str], optional: Sequence[str]
) -> Iterator[tuple[int, dict[str, str] | str]]:
    """Yield (line number, row) or (line number, reason) for each data line of a CSV file."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = error.object[: error.start].count(b"\n") + 1
        bad = error.object[error.start]
        reason = f"line {line}: not UTF-8 (byte 0x{bad:02x}); save the file as UTF-8"
        raise FileRefused(f"{path.name}: {reason}") from error
    except OSError as error:
        raise FileRefused(f"{path.name}: {error.strerror}") from error
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration as error:
        raise FileRefused(f"{path.name}: empty file") from error
    missing = [c for c in required if c not in header]
    if missing:
        raise FileRefused(f"{path.name}: missing columns: {', '.join(missing)}")
    unknown = [h for h in header if h not in required and h not in optional]
    if unknown:
        raise FileRefused(f"{path.name}: unknown columns: {', '.join(unknown)}")
    if len(set(header)) != len(header):
        raise FileRefused(f"{path.name}: a column appears twice in the header")
    line = reader.line_num
    try:
        for values in reader:
            start, line = line + 1, reader.line_num
            if not values or not "".join(values).strip():
                continue
            if len(values) != len(header):
                yield start, f"expected {len(header)} fields, found {len(values)}"
            elif max(map(len, values)) > MAX_FIELD:
                yield start, f"a field is longer than {MAX_FIELD} characters"
            else:
                yield start, dict(zip(header, values, strict=True))
    except csv.Error as error:
        raise FileRefused(f"{path.name}: line {reader.line_num}: {error}") from error


def parse_payment_row(row: dict[str, str], line: int | None = None) -> PaymentInstruction:
    """Validate one payment-file row (from `line`); raise InvalidInput with the reason it is refused."""
    loan_number = row["loan_number"].strip()
    reference = row["reference"].strip()
    if not loan_number:
        raise InvalidInput("loan_number: missing")
    if not reference or len(reference) > 64:
        raise InvalidInput("reference: missing or longer than 64 characters")
    try:
        amount = parse_amount(row["amount"])
    except InvalidInput as error:
        raise InvalidInput(f"amount: {row['amount']!r} is not an amount") from error
    if amount <= 0:
        raise InvalidInput(f"amount: {row['amount'].strip()!r} must be positive")
    if amount >= MAX_AMOUNT:
        raise InvalidInput(f"amount: {row['amount'].strip()!r} is too large (must be under {MAX_AMOUNT:f})")
    method = (row.get("method") or "").strip().lower() or None
    if method is not None and method not in METHODS:
        raise InvalidInput(f"method: {method!r} is not one of {'|'.join(METHODS)}")
    received = parse_date(row["received_on"], "received_on")
    return PaymentInstruction(loan_number, amount, received, reference, method, "import", line)


def _collector_paused(function: Callable[P, R]) -> Callable[P, R]:
    """Run a bulk import with Python's cyclic garbage collector paused.

    An import keeps a few hundred thousand objects alive; every full collection walks all of them
    and finds almost nothing (rows and accounts are freed by reference counting), which cost a
    sixth of the time of boarding 100,000 loans and a fifth of posting 100,000 payments.
    """

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return function(*args, **kwargs)
        finally:
            if was_enabled:
                gc.enable()

    return run


@_collector_paused
def import_loans(
    sessions: sessionmaker[Session],
    path: Path,
    *,
    secret: str,
    today: date,
    actor: str,
    progress: Progress | None = None,
) -> ImportResult:
    """Board every good row of a loan file in one transaction; refuse the others with line and reason."""
    result = ImportResult()
    records: list[tuple[int | None, LoanRecord]] = []
    lines: list[tuple[int, dict[str, str] | str]] = []
    for line, row in read_rows(path, REQUIRED_COLUMNS, OPTIONAL_COLUMNS):
        result.rows += 1
        if progress and result.rows % 5000 == 0:
            progress(result.rows)
        lines.append((line, row))
    for (line, row), parsed in zip(lines, _parse_loan_rows([row for _, row in lines]), strict=True):
        if isinstance(row, str):
            result.refused.append(Refusal(line, "", row))
        elif isinstance(parsed, LoanRecord):
            records.append((line, parsed))
        else:
            result.refused.append(Refusal(line, row.get("loan_number", "").strip(), str(parsed)))
    with sessions() as session, session.begin():
        report: BoardingReport = board_loans(session, records, secret=secret, boarded_on=today, actor=actor)
        record_audit(
            session, actor, "loans.imported", "file", path.name,
            {"boarded": len(report.boarded), "unchanged": len(report.unchanged),
             "refused": len(report.refused) + len(result.refused)},
        )  # fmt: skip
    result.imported = report.boarded
    result.unchanged = report.unchanged
    result.refused = sorted(result.refused + report.refused, key=lambda r: r.line or 0)
    return result


def _parse_loan_rows(rows: Sequence[dict[str, str] | str]) -> list[LoanRecord | str | None]:
    """Return each row's LoanRecord, or the reason it is refused (None for a line refused while reading).

    A large file is parsed in two parts at once, the second in a forked process: parsing is
    about a third of boarding, and the results are the same row for row.
    """
    if len(rows) < PARALLEL_ROWS or (os.cpu_count() or 1) < 2 or "fork" not in mp.get_all_start_methods():
        return _parse_some_loan_rows(rows)
    # the second process also pickles its records, and this one unpickles them: giving the second
    # process a little less than half makes both finish at about the same time
    middle = len(rows) - len(rows) * 45 // 100
    # a forked process inherits the rows: only the records it parsed travel back through a pipe
    pool = ProcessPoolExecutor(1, mp.get_context("fork"), initializer=_share_rows, initargs=(rows,))
    with pool:
        second = pool.submit(_parse_shared_rows, middle, len(rows))
        first = _parse_some_loan_rows(rows[:middle])
        return first + second.result()


_shared: dict[str, Sequence[dict[str, str] | str]] = {}  # in the second process: the rows of the file


def _share_rows(rows: Sequence[dict[str, str] | str]) -> None:
    _shared["rows"] = rows


def _parse_shared_rows(start: int, stop: int) -> list[LoanRecord | str | None]:
    return _parse_some_loan_rows(_shared["rows"][start:stop])


def _parse_some_loan_rows(rows: Sequence[dict[str, str] | str]) -> list[LoanRecord | str | None]:
    parsed: list[LoanRecord | str | None] = []
    for row in rows:
        if isinstance(row, str):
            parsed.append(None)
            continue
        try:
            parsed.append(_parse_loan_row(row))
        except InvalidInput as error:
            parsed.append(str(error))
    return parsed


@_collector_paused
def import_payments(
    sessions: sessionmaker[Session],
    path: Path,
    *,
    today: date,
    actor: str,
    progress: Progress | None = None,
) -> ImportResult:
    """Post every good row of a payment file in one transaction; refuse the others with line and reason."""
    result = ImportResult()
    instructions: list[PaymentInstruction] = []
    for line, row in read_rows(path, PAYMENT_REQUIRED, PAYMENT_OPTIONAL):
        result.rows += 1
        if progress and result.rows % 5000 == 0:
            progress(result.rows)
        if isinstance(row, str):
            result.refused.append(Refusal(line, "", row))
            continue
        try:
            instructions.append(parse_payment_row(row, line))
        except InvalidInput as error:
            result.refused.append(Refusal(line, row.get("reference", "").strip(), str(error)))
    with sessions() as session, session.begin():
        report: PostingReport = post_payments(
            session, instructions, today=today, business_date=current_date(session, today), actor=actor
        )
        record_audit(
            session, actor, "payments.imported", "file", path.name,
            {"posted": len(report.posted), "already_posted": len(report.already_posted),
             "refused": len(report.refused) + len(result.refused)},
        )  # fmt: skip
    result.imported = report.posted
    result.unchanged = report.already_posted
    result.refused = sorted(result.refused + report.refused, key=lambda r: r.line or 0)
    return result
