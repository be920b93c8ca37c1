"""Loan and payment files: read CSV rows with their line numbers, refuse bad ones with a reason, import the rest."""

from __future__ import annotations

import csv
import functools
import gc
import itertools
import multiprocessing as mp
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import ParamSpec, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from servicing.ach.vault import Vault
from servicing.audit import record_audit
from servicing.boarding import (
    MAX_AMOUNT,
    OPTIONAL_COLUMNS,
    REQUIRED_COLUMNS,
    LoanRecord,
    board_loans,
    parse_date,
)
from servicing.boarding import parse_loan_row as _parse_loan_row
from servicing.errors import InvalidInput, ServicingError
from servicing.payments import PaymentInstruction, Refusal, post_payments, repeated_in_file
from servicing.queries import current_date
from servicing.rules.money import parse_amount
from servicing.store.db import yield_to_other_writers

PAYMENT_REQUIRED = ("loan_number", "amount", "received_on", "reference")
PAYMENT_OPTIONAL = ("method",)
METHODS = ("ach", "check", "card", "wire", "cash")
MAX_FIELD = 200
# C0 and C1 controls, DEL, and the Unicode line and paragraph separators: in no field of a loan or payment file
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
PARALLEL_ROWS = 20_000  # files at least this long are parsed in two processes
# Rows committed per transaction: about half a second of SQLite's write lock on a slow machine, which is
# how long a webhook or a console page may wait behind an import.
CHUNK_ROWS = 2_000

Progress = Callable[[str, int, int | None], None]  # (step, rows done, rows in all when known)
P = ParamSpec("P")
R = TypeVar("R")
T = TypeVar("T")


class FileRefused(ServicingError):
    """A file that cannot be read at all (encoding, header, CSV structure); nothing in it was imported."""


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
    """Yield (line number, row) or (line number, reason) for each data line of a CSV file.

    A file whose CSV structure is broken is refused whole (FileRefused naming the line): a quote that
    is not closed on its line, a quote inside an unquoted field or text after a closing quote, more or
    fewer fields than the header. A record is one line: a field may not hold a line break (CR, LF and
    CRLF all end a line). A row holding a control character is refused by itself, with the field.
    """
    text = _file_text(path)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n") if text else []
    reader = csv.reader(_well_quoted(lines, path.name), strict=True)
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration as error:
        raise FileRefused(f"{path.name}: empty file") from error
    _check_header(path.name, header, required, optional)
    for values in reader:
        line = reader.line_num
        if not "".join(values).strip():
            continue
        if len(values) != len(header):
            raise FileRefused(f"{path.name}: line {line}: expected {len(header)} fields, found {len(values)}")
        row = dict(zip(header, values, strict=True))
        yield line, _row_refusal(row) or row


def _file_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = error.object[: error.start].count(b"\n") + 1
        bad = error.object[error.start]
        reason = f"line {line}: not UTF-8 (byte 0x{bad:02x}); save the file as UTF-8"
        raise FileRefused(f"{path.name}: {reason}") from error
    except OSError as error:
        raise FileRefused(f"{path.name}: {error.strerror}") from error


def _check_header(name: str, header: list[str], required: Sequence[str], optional: Sequence[str]) -> None:
    missing = [c for c in required if c not in header]
    if missing:
        raise FileRefused(f"{name}: missing columns: {', '.join(missing)}")
    unknown = [h for h in header if h not in required and h not in optional]
    if unknown:
        raise FileRefused(f"{name}: unknown columns: {', '.join(unknown)}")
    if len(set(header)) != len(header):
        raise FileRefused(f"{name}: a column appears twice in the header")


def _well_quoted(lines: Iterable[str], name: str) -> Iterator[str]:
    """Yield the lines, refusing the file at the first one whose quotes are broken."""
    for number, line in enumerate(lines, start=1):
        if '"' in line:
            problem = quoting_problem(line)
            if problem:
                raise FileRefused(f"{name}: line {number}: {problem}")
        yield line


def quoting_problem(line: str) -> str | None:
    """Return what is wrong with the quotes of one CSV line (RFC 4180), or None when every field is well quoted."""
    position = 0
    while True:
        if line.startswith('"', position):
            closing = _closing_quote(line, position + 1)
            if closing < 0:
                return "a quote opens a field and is not closed on its line"
            position = closing + 1
            if position < len(line) and line[position] != ",":
                return "a quoted field goes on after its closing quote"
        else:
            comma = line.find(",", position)
            end = len(line) if comma < 0 else comma
            if '"' in line[position:end]:
                return "a quote inside a field that does not start with one"
            position = end
        if position >= len(line):
            return None
        position += 1  # past the comma


def _closing_quote(line: str, start: int) -> int:
    """Return where the quoted field starting before `start` closes (a doubled quote is a quote), or -1."""
    while True:
        found = line.find('"', start)
        if found < 0 or not line.startswith('""', found):
            return found
        start = found + 2


def _row_refusal(row: dict[str, str]) -> str | None:
    """Return why a row is refused before its values are read: a control character, an overlong field."""
    for name, value in row.items():
        control = _CONTROL.search(value)
        if control:
            return f"{name}: holds a control character (U+{ord(control.group()):04X})"
        if len(value) > MAX_FIELD:
            return f"{name}: longer than {MAX_FIELD} characters"
    return None


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
    vault: Vault | None = None,
) -> ImportResult:
    """Board every good row of a loan file, a chunk per transaction; refuse the others with line and reason.

    The whole file is read and checked before anything is boarded: a file refused whole boards nothing.
    Each chunk of `CHUNK_ROWS` loans is committed on its own, so other writers go between two; a loan
    number already boarded with the same data is unchanged, so running an interrupted import again
    boards what is left.
    """
    result = ImportResult()
    lines: list[tuple[int, dict[str, str] | str]] = []
    for line, row in read_rows(path, REQUIRED_COLUMNS, OPTIONAL_COLUMNS):
        lines.append((line, row))
        _count_read(result, progress)
    records: list[tuple[int | None, LoanRecord]] = []
    for (line, row), parsed in zip(lines, _parse_loan_rows([row for _, row in lines]), strict=True):
        if isinstance(row, str):
            result.refused.append(Refusal(line, "", row))
        elif isinstance(parsed, LoanRecord):
            records.append((line, parsed))
        else:
            result.refused.append(Refusal(line, row.get("loan_number", "").strip(), str(parsed)))
    records = _first_of_each_loan(records, result)

    def board(session: Session, part: Sequence[tuple[int | None, LoanRecord]]) -> Committed:
        report = board_loans(session, part, secret=secret, boarded_on=today, actor=actor, vault=vault)
        return Committed(report.boarded, report.unchanged, report.refused, ("boarded", "unchanged"))

    parts = _parts(records, CHUNK_ROWS)
    audit = (actor, "loans.imported", path)
    return _commit_in_parts(sessions, parts, board, result, audit=audit, step="boarding loans", progress=progress)


@dataclass(frozen=True)
class Committed:
    """What one committed part of a file did: keys done, keys unchanged, rows refused, and their audit names."""

    done: list[str]
    unchanged: list[str]
    refused: list[Refusal]
    names: tuple[str, str]


def _commit_in_parts(
    sessions: sessionmaker[Session],
    parts: Sequence[Sequence[T]],
    apply: Callable[[Session, Sequence[T]], Committed],
    result: ImportResult,
    *,
    audit: tuple[str, str, Path],
    step: str,
    progress: Progress | None,
) -> ImportResult:
    """Apply each part of a checked file in a transaction of its own, audited, letting other writers go between."""
    actor, action, path = audit
    total, done = sum(len(part) for part in parts), 0
    for number, part in enumerate(parts, start=1):
        with sessions() as session, session.begin():
            committed = apply(session, part)
            done_name, unchanged_name = committed.names
            _audit_part(session, actor, action, path, (number, len(parts)),
                        {done_name: len(committed.done), unchanged_name: len(committed.unchanged),
                         "refused": len(committed.refused) + (len(result.refused) if number == 1 else 0)})  # fmt: skip
        result.imported += committed.done
        result.unchanged += committed.unchanged
        result.refused += committed.refused
        done += len(part)
        if progress:
            progress(step, done, total)
        yield_to_other_writers(sessions)
    result.refused.sort(key=lambda r: r.line or 0)
    return result


def _audit_part(
    session: Session, actor: str, action: str, path: Path, part: tuple[int, int], counts: dict[str, int]
) -> None:
    """Audit one committed chunk of a file, in its transaction: which part of how many, and what it did."""
    number, of = part
    record_audit(session, actor, action, "file", path.name, {"part": number, "of": of, **counts})


def _count_read(result: ImportResult, progress: Progress | None) -> None:
    result.rows += 1
    if progress and result.rows % 5000 == 0:
        progress("reading", result.rows, None)


def _parts(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """Return the items in parts of at most `size`, in order (one empty part when there are none)."""
    return [items[start : start + size] for start in range(0, len(items), size)] or [items]


def _first_of_each_loan(
    records: list[tuple[int | None, LoanRecord]], result: ImportResult
) -> list[tuple[int | None, LoanRecord]]:
    """Return the records without a loan number repeated from an earlier line, refusing the repeats."""
    first: dict[str, int | None] = {}
    kept = []
    for line, record in records:
        if record.loan_number in first:
            where = first[record.loan_number]
            result.refused.append(Refusal(line, record.loan_number, f"duplicate loan number (first on line {where})"))
        else:
            first[record.loan_number] = line
            kept.append((line, record))
    return kept


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
    """Post every good row of a payment file, a chunk per transaction; refuse the others with line and reason.

    The whole file is read and checked before anything is posted: a file refused whole posts nothing.
    Payments are posted about `CHUNK_ROWS` at a time, each chunk committed on its own so that other
    writers go between two, all of one loan's together in date order. A reference already posted with
    the same loan, amount and date is unchanged, so running an interrupted import again posts what is left.
    """
    result = ImportResult()
    instructions: list[PaymentInstruction] = []
    for line, row in read_rows(path, PAYMENT_REQUIRED, PAYMENT_OPTIONAL):
        _count_read(result, progress)
        if isinstance(row, str):
            result.refused.append(Refusal(line, "", row))
            continue
        try:
            instructions.append(parse_payment_row(row, line))
        except InvalidInput as error:
            result.refused.append(Refusal(line, row.get("reference", "").strip(), str(error)))
    repeated = repeated_in_file(instructions)
    result.refused += [Refusal(i.line, i.reference, reason) for i, reason in repeated.items()]
    instructions = [i for i in instructions if i not in repeated]

    def post(session: Session, part: Sequence[PaymentInstruction]) -> Committed:
        report = post_payments(session, part, today=today, business_date=current_date(session, today), actor=actor)
        return Committed(report.posted, report.already_posted, report.refused, ("posted", "already_posted"))

    parts = _parts_by_loan(instructions, CHUNK_ROWS)
    audit = (actor, "payments.imported", path)
    return _commit_in_parts(sessions, parts, post, result, audit=audit, step="posting payments", progress=progress)


def _parts_by_loan(instructions: list[PaymentInstruction], size: int) -> list[list[PaymentInstruction]]:
    """Return the payments in parts of about `size`, one loan's all in one part in date order where they fit."""
    ordered = sorted(instructions, key=lambda i: (i.loan_number, i.received_on, i.line or 0))
    parts: list[list[PaymentInstruction]] = [[]]
    for _, group in itertools.groupby(ordered, key=lambda i: i.loan_number):
        payments = list(group)
        if parts[-1] and len(parts[-1]) + len(payments) > size:
            parts.append([])
        for start in range(0, len(payments), size):  # a loan with more than a part's worth spans several
            if start:
                parts.append([])
            parts[-1].extend(payments[start : start + size])
    return parts
