"""Loan and payment files: read CSV rows with their line numbers, refuse bad ones with a reason, import the rest."""

from __future__ import annotations

import csv
import functools
import gc
import multiprocessing as mp
import os
import pickle
import re
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

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
from servicing.payments import PaymentInstruction, Refusal, post_payments
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
SPOOL_BATCH = 50_000  # rows read and parsed (loans: in two processes when at least PARALLEL_ROWS) before spooling

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
    lines = _file_lines(path)
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


def _file_lines(path: Path) -> Iterator[str]:
    """Yield the file's lines one at a time (CR, LF and CRLF all end one), refusing it at a byte that is not UTF-8.

    The file is never held whole: a line at a time is read and decoded. A byte order mark is dropped.
    """
    try:
        handle = path.open("rb")
    except OSError as error:
        raise FileRefused(f"{path.name}: {error.strerror}") from error
    with handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
            except UnicodeDecodeError as error:
                bad = error.object[error.start]
                reason = f"line {number}: not UTF-8 (byte 0x{bad:02x}); save the file as UTF-8"
                raise FileRefused(f"{path.name}: {reason}") from error
            pieces = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
            if text.endswith("\n"):
                pieces.pop()  # the empty start of the next line
            yield from pieces


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
    with Spool() as spool:
        _spool_loans(spool, path, result, progress)
        for line, number, first in spool.repeats():
            result.refused.append(Refusal(line, number, f"duplicate loan number (first on line {first})"))

        def board(session: Session, part: Sequence[tuple[int | None, LoanRecord]]) -> Committed:
            report = board_loans(session, part, secret=secret, boarded_on=today, actor=actor, vault=vault)
            return Committed(report.boarded, report.unchanged, report.refused, ("boarded", "unchanged"))

        kept = spool.count()
        sizes = [min(CHUNK_ROWS, kept - start) for start in range(0, kept, CHUNK_ROWS)] or [0]
        parts = spool.parts(sizes, "line", lambda line, _number, data: (line, pickle.loads(data)))
        audit = (actor, "loans.imported", path)
        return _commit_in_parts(sessions, parts, sizes, board, result, audit=audit, step="boarding loans",
                                progress=progress)  # fmt: skip


def _spool_loans(spool: Spool, path: Path, result: ImportResult, progress: Progress | None) -> None:
    """Read and parse the loan file `SPOOL_BATCH` rows at a time, spooling each good record with its line."""
    batch: list[tuple[int, dict[str, str] | str]] = []

    def parse() -> None:
        good: list[tuple[int, str, bytes]] = []
        for (line, row), parsed in zip(batch, _parse_loan_rows([row for _, row in batch]), strict=True):
            if isinstance(row, str):
                result.refused.append(Refusal(line, "", row))
            elif isinstance(parsed, LoanRecord):
                good.append((line, parsed.loan_number, pickle.dumps(parsed, pickle.HIGHEST_PROTOCOL)))
            else:
                result.refused.append(Refusal(line, row.get("loan_number", "").strip(), str(parsed)))
        spool.add(good)
        batch.clear()

    for line, row in read_rows(path, REQUIRED_COLUMNS, OPTIONAL_COLUMNS):
        batch.append((line, row))
        _count_read(result, progress)
        if len(batch) >= SPOOL_BATCH:
            parse()
    parse()


class Spool:
    """A file's checked rows kept on disk until the whole file is read, in a temporary SQLite database.

    A file is refused whole when a line of it is broken, so nothing may be committed before its last line
    is read; keeping the rows in memory until then costs about a kilobyte a row (a million rows: over a
    gigabyte). Here each row costs a few dozen bytes on disk, and what is in memory at any moment is one
    batch being read and one part being committed. The database is deleted when the spool closes.
    Rows are (line, key, data): `key` the loan number or reference whose repeats are refused, `data` the
    row's own columns.
    """

    def __init__(self, columns: Sequence[str] = ()) -> None:
        self._folder = tempfile.TemporaryDirectory(prefix="loanline-import-")
        self._db = sqlite3.connect(Path(self._folder.name) / "spool.db")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._extra = tuple(columns)
        extra = "".join(f", {column}" for column in self._extra)
        self._db.execute(f"CREATE TABLE rows (line INTEGER PRIMARY KEY, key TEXT NOT NULL, data{extra})")

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *_: object) -> None:
        self._db.close()
        self._folder.cleanup()

    def add(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """Keep rows of (line, key, data, and the extra columns)."""
        marks = ", ".join("?" * (3 + len(self._extra)))
        self._db.executemany(f"INSERT INTO rows VALUES ({marks})", rows)

    def repeats(self) -> list[tuple[int, str, int]]:
        """Drop every row whose key an earlier line has; return each as (line, key, first line)."""
        self._db.execute("CREATE INDEX rows_key ON rows (key, line)")
        found = self._db.execute(
            "SELECT r.line, r.key, f.first FROM rows r JOIN (SELECT key, MIN(line) AS first FROM rows GROUP BY key"
            " HAVING COUNT(*) > 1) f ON f.key = r.key WHERE r.line > f.first ORDER BY r.line"
        ).fetchall()
        self._db.executemany("DELETE FROM rows WHERE line = ?", [(line,) for line, _, _ in found])
        return found

    def count(self) -> int:
        """Return how many rows are kept."""
        return int(self._db.execute("SELECT COUNT(*) FROM rows").fetchone()[0])

    def group_sizes(self, group: str) -> list[int]:
        """Return how many rows each value of column `group` has, in that column's order."""
        query = f"SELECT COUNT(*) FROM rows GROUP BY {group} ORDER BY {group}"
        return [count for (count,) in self._db.execute(query)]

    def parts(self, sizes: Sequence[int], order: str, make: Callable[..., T]) -> Iterator[list[T]]:
        """Yield the rows in `order`, made into items by `make(*row)`, in parts of the given sizes."""
        cursor = self._db.execute(f"SELECT * FROM rows ORDER BY {order}")
        for size in sizes:
            yield [make(*row) for row in cursor.fetchmany(size)] if size else []


@dataclass(frozen=True)
class Committed:
    """What one committed part of a file did: keys done, keys unchanged, rows refused, and their audit names."""

    done: list[str]
    unchanged: list[str]
    refused: list[Refusal]
    names: tuple[str, str]


def _commit_in_parts(
    sessions: sessionmaker[Session],
    parts: Iterable[Sequence[T]],
    sizes: Sequence[int],
    apply: Callable[[Session, Sequence[T]], Committed],
    result: ImportResult,
    *,
    audit: tuple[str, str, Path],
    step: str,
    progress: Progress | None,
) -> ImportResult:
    """Apply each part of a checked file (`sizes`: how long each is) in a transaction of its own, audited, letting
    other writers go between; a part is read only when its turn comes."""
    actor, action, path = audit
    total, done = sum(sizes), 0
    for number, part in enumerate(parts, start=1):
        with sessions() as session, session.begin():
            committed = apply(session, part)
            done_name, unchanged_name = committed.names
            _audit_part(session, actor, action, path, (number, len(sizes)),
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
    with Spool(("received", "amount", "method")) as spool:
        batch: list[tuple[int, str, str, int, str, str | None]] = []
        for line, row in read_rows(path, PAYMENT_REQUIRED, PAYMENT_OPTIONAL):
            _count_read(result, progress)
            if isinstance(row, str):
                result.refused.append(Refusal(line, "", row))
                continue
            try:
                i = parse_payment_row(row, line)
            except InvalidInput as error:
                result.refused.append(Refusal(line, row.get("reference", "").strip(), str(error)))
                continue
            batch.append((line, i.reference, i.loan_number, i.received_on.toordinal(), str(i.amount), i.method))
            if len(batch) >= SPOOL_BATCH:
                spool.add(batch)
                batch.clear()
        spool.add(batch)
        result.refused += [
            Refusal(line, reference, f"duplicate reference {reference} (first on line {first})")
            for line, reference, first in spool.repeats()
        ]

        def post(session: Session, part: Sequence[PaymentInstruction]) -> Committed:
            business_date = current_date(session, today)
            report = post_payments(session, part, today=today, business_date=business_date, actor=actor)
            return Committed(report.posted, report.already_posted, report.refused, ("posted", "already_posted"))

        def instruction(
            line: int, reference: str, loan: str, received: int, amount: str, method: str | None
        ) -> PaymentInstruction:
            return PaymentInstruction(loan, Decimal(amount), date.fromordinal(received), reference, method, "import",
                                      line)  # fmt: skip

        sizes = _part_sizes(spool.group_sizes("data"), CHUNK_ROWS)
        parts = spool.parts(sizes, "data, received, line", instruction)
        audit = (actor, "payments.imported", path)
        return _commit_in_parts(sessions, parts, sizes, post, result, audit=audit, step="posting payments",
                                progress=progress)  # fmt: skip


def _part_sizes(loans: Sequence[int], size: int) -> list[int]:
    """Return the sizes of parts of about `size` payments that keep each loan's (`loans`: how many each has, in
    loan order) in one part where they fit; a loan with more than a part's worth spans several."""
    parts = [0]
    for payments in loans:
        if parts[-1] and parts[-1] + payments > size:
            parts.append(0)
        for start in range(0, payments, size):
            if start:
                parts.append(0)
            parts[-1] += min(size, payments - start)
    return parts
