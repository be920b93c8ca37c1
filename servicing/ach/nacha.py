"""The NACHA file format: 94-character fixed-width records, written and read by one table of fields.

Pure (no I/O, no database). Each record type is a tuple of `Field`s whose positions are those of the
NACHA Operating Rules' record layouts (1-based, inclusive, as the rules print them):

    1 file header   5 batch header   6 entry detail   7 addenda (05, 98 notification of change, 99 return)
    8 batch control 9 file control   then lines of 94 '9's pad the file to a block of 10 records

`write_file` builds a whole file (entry hash, control totals, counts, blocking) from batches of entries;
`read_file` splits a file back into the same objects, refusing it whole on the first line that does not
fit the layout, with the line number and the reason (`NachaError`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from servicing.errors import InvalidInput

RECORD_LENGTH = 94
BLOCKING_FACTOR = 10
PADDING = "9" * RECORD_LENGTH
ENTRY_HASH_MODULUS = 10**10
DEBIT_CODES = frozenset({"27", "37", "26", "36", "28", "38", "29", "39"})  # debits, their returns/NOCs, prenotes
CREDIT_CODES = frozenset({"22", "32", "21", "31", "23", "33", "24", "34"})
CHECKING_DEBIT, SAVINGS_DEBIT, CHECKING_CREDIT, SAVINGS_CREDIT = "27", "37", "22", "32"


class NachaError(InvalidInput):
    """A file that does not fit the NACHA layout; `line` is where (1-based), the message says why."""

    def __init__(self, line: int, reason: str) -> None:
        super().__init__(f"line {line}: {reason}")
        self.line = line
        self.reason = reason


@dataclass(frozen=True)
class Field:
    """One field of a record: its name, its 1-based inclusive positions, and how it is filled."""

    name: str
    start: int
    end: int
    kind: str = "alpha"  # alpha: left-justified, space-filled; numeric: right-justified, zero-filled
    constant: str | None = None

    @property
    def width(self) -> int:
        """Return how many characters the field holds."""
        return self.end - self.start + 1


def _a(name: str, start: int, end: int, constant: str | None = None) -> Field:
    return Field(name, start, end, "alpha", constant)


def _n(name: str, start: int, end: int, constant: str | None = None) -> Field:
    return Field(name, start, end, "numeric", constant)


FILE_HEADER = (
    _a("record_type", 1, 1, "1"), _n("priority_code", 2, 3, "01"), _a("immediate_destination", 4, 13),
    _a("immediate_origin", 14, 23), _n("file_creation_date", 24, 29), _n("file_creation_time", 30, 33),
    _a("file_id_modifier", 34, 34), _n("record_size", 35, 37, "094"), _n("blocking_factor", 38, 39, "10"),
    _a("format_code", 40, 40, "1"), _a("immediate_destination_name", 41, 63), _a("immediate_origin_name", 64, 86),
    _a("reference_code", 87, 94),
)  # fmt: skip
BATCH_HEADER = (
    _a("record_type", 1, 1, "5"), _n("service_class_code", 2, 4), _a("company_name", 5, 20),
    _a("company_discretionary_data", 21, 40), _a("company_identification", 41, 50),
    _a("standard_entry_class", 51, 53), _a("company_entry_description", 54, 63),
    _a("company_descriptive_date", 64, 69), _a("effective_entry_date", 70, 75), _a("settlement_date", 76, 78),
    _a("originator_status_code", 79, 79), _a("originating_dfi", 80, 87), _n("batch_number", 88, 94),
)  # fmt: skip
ENTRY_DETAIL = (
    _a("record_type", 1, 1, "6"), _n("transaction_code", 2, 3), _n("receiving_dfi", 4, 11),
    _n("check_digit", 12, 12), _a("dfi_account_number", 13, 29), _n("amount", 30, 39),
    _a("individual_identification", 40, 54), _a("individual_name", 55, 76), _a("discretionary_data", 77, 78),
    _n("addenda_record_indicator", 79, 79), _n("trace_number", 80, 94),
)  # fmt: skip
ADDENDA_05 = (
    _a("record_type", 1, 1, "7"), _n("addenda_type", 2, 3, "05"), _a("payment_related_information", 4, 83),
    _n("addenda_sequence_number", 84, 87), _n("entry_detail_sequence_number", 88, 94),
)  # fmt: skip
ADDENDA_99 = (  # a return
    _a("record_type", 1, 1, "7"), _n("addenda_type", 2, 3, "99"), _a("return_reason_code", 4, 6),
    _n("original_entry_trace_number", 7, 21), _a("date_of_death", 22, 27), _a("original_receiving_dfi", 28, 35),
    _a("addenda_information", 36, 79), _n("trace_number", 80, 94),
)  # fmt: skip
ADDENDA_98 = (  # a notification of change (COR)
    _a("record_type", 1, 1, "7"), _n("addenda_type", 2, 3, "98"), _a("change_code", 4, 6),
    _n("original_entry_trace_number", 7, 21), _a("reserved", 22, 27), _a("original_receiving_dfi", 28, 35),
    _a("corrected_data", 36, 64), _a("reserved_2", 65, 79), _n("trace_number", 80, 94),
)  # fmt: skip
BATCH_CONTROL = (
    _a("record_type", 1, 1, "8"), _n("service_class_code", 2, 4), _n("entry_addenda_count", 5, 10),
    _n("entry_hash", 11, 20), _n("total_debit", 21, 32), _n("total_credit", 33, 44),
    _a("company_identification", 45, 54), _a("message_authentication_code", 55, 73), _a("reserved", 74, 79),
    _a("originating_dfi", 80, 87), _n("batch_number", 88, 94),
)  # fmt: skip
FILE_CONTROL = (
    _a("record_type", 1, 1, "9"), _n("batch_count", 2, 7), _n("block_count", 8, 13),
    _n("entry_addenda_count", 14, 21), _n("entry_hash", 22, 31), _n("total_debit", 32, 43),
    _n("total_credit", 44, 55), _a("reserved", 56, 94),
)  # fmt: skip
ADDENDA_LAYOUTS = {"05": ADDENDA_05, "98": ADDENDA_98, "99": ADDENDA_99}


@lru_cache(maxsize=32)
def _plan(layout: tuple[Field, ...]) -> tuple[tuple[str, int, bool, str | None], ...]:
    """Return a layout as (name, width, numeric, constant) tuples: what writing a record needs, looked up once."""
    return tuple((f.name, f.width, f.kind == "numeric", f.constant) for f in layout)


def format_record(layout: tuple[Field, ...], values: dict[str, Any]) -> str:
    """Return one 94-character record: each field from `values` (or its constant), justified and filled."""
    parts = []
    for name, width, numeric, constant in _plan(layout):
        if constant is not None:
            parts.append(constant)
            continue
        value = values.get(name, "")
        text = "" if value is None else str(value)
        if numeric:
            if text and not text.isdigit():
                raise InvalidInput(f"{name}: {text!r} is not a number")
            if len(text) > width:
                raise InvalidInput(f"{name}: {text} does not fit in {width} digits")
            parts.append(text.rjust(width, "0"))
        else:
            if not text.isascii():
                raise InvalidInput(f"{name}: {text!r} is not plain ASCII")
            parts.append(text[:width].ljust(width))
    return "".join(parts)


def parse_record(layout: Sequence[Field], line: str, number: int) -> dict[str, str]:
    """Return a record's fields (alpha ones without trailing spaces); refuse a bad numeric field or constant."""
    values: dict[str, str] = {}
    for f in layout:
        text = line[f.start - 1 : f.end]
        if f.kind == "numeric" and not text.isdigit():
            raise NachaError(number, f"{f.name} (positions {f.start}-{f.end}) must be digits, not {text!r}")
        if f.constant is not None and text != f.constant:
            raise NachaError(number, f"{f.name} (positions {f.start}-{f.end}) must be {f.constant!r}, not {text!r}")
        values[f.name] = text.rstrip() if f.kind == "alpha" else text
    return values


# -- the objects a file is made of ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Addenda:
    """An addenda record: 05 (payment information), 98 (notification of change) or 99 (return)."""

    addenda_type: str
    fields: dict[str, str]

    @property
    def code(self) -> str:
        """Return the return reason (R01...) or change code (C01...), empty for an 05 addenda."""
        return self.fields.get("return_reason_code") or self.fields.get("change_code") or ""

    @property
    def original_trace(self) -> str:
        """Return the trace number of the entry a return or notification of change is about."""
        return self.fields.get("original_entry_trace_number", "")


@dataclass(frozen=True)
class Entry:
    """An entry detail record: money to or from one account, with its addenda."""

    transaction_code: str
    routing: str  # the receiving bank's 9-digit routing number (DFI identification and check digit)
    account_number: str
    amount_cents: int
    individual_id: str
    individual_name: str
    trace_number: str
    discretionary_data: str = ""
    addenda: tuple[Addenda, ...] = ()
    line: int = 0  # where it was read (0 when built in memory)

    @property
    def is_debit(self) -> bool:
        """Tell whether the entry takes money from the receiver's account."""
        return self.transaction_code in DEBIT_CODES

    def record(self) -> str:
        """Return the entry detail record."""
        return format_record(ENTRY_DETAIL, {
            "transaction_code": self.transaction_code, "receiving_dfi": self.routing[:8],
            "check_digit": self.routing[8:9], "dfi_account_number": self.account_number,
            "amount": str(self.amount_cents), "individual_identification": self.individual_id,
            "individual_name": self.individual_name, "discretionary_data": self.discretionary_data,
            "addenda_record_indicator": "1" if self.addenda else "0", "trace_number": self.trace_number,
        })  # fmt: skip


@dataclass(frozen=True)
class Batch:
    """A batch: one company, one SEC code, one effective entry date, its entries."""

    company_name: str
    company_id: str
    sec_code: str
    entry_description: str
    effective_date: date | None  # None: a return or NOC batch may leave it blank or odd
    originating_dfi: str
    number: int
    entries: tuple[Entry, ...] = ()
    service_class_code: str = ""  # computed from the entries when writing; as read otherwise
    discretionary_data: str = ""
    descriptive_date: str = ""
    line: int = 0

    def computed_service_class(self) -> str:
        """Return 200 (mixed), 220 (credits only) or 225 (debits only) from the entries."""
        debits = any(e.is_debit for e in self.entries)
        credits = any(not e.is_debit for e in self.entries)
        return "200" if debits and credits else "225" if debits else "220"


@dataclass(frozen=True)
class FileHeader:
    """The file header: who sends the file to whom, and when it was made."""

    immediate_destination: str  # a routing number, written with a leading space
    immediate_origin: str
    created_at: datetime
    file_id_modifier: str = "A"
    destination_name: str = ""
    origin_name: str = ""
    reference_code: str = ""


@dataclass(frozen=True)
class NachaFile:
    """A whole file: its header and batches, and (when read) the control totals it declared."""

    header: FileHeader
    batches: tuple[Batch, ...] = ()
    declared: dict[str, str] = field(default_factory=dict)

    def entries(self) -> Iterator[Entry]:
        """Yield every entry of every batch, in file order."""
        for batch in self.batches:
            yield from batch.entries


# -- arithmetic the rules define ------------------------------------------------------------------------------


def routing_check_digit(first_eight: str) -> str:
    """Return the ABA check digit of a routing number's first eight digits (weights 3, 7, 1)."""
    if len(first_eight) != 8 or not first_eight.isdigit():
        raise InvalidInput(f"{first_eight!r} is not eight digits")
    total = sum(int(d) * w for d, w in zip(first_eight, (3, 7, 1, 3, 7, 1, 3, 7), strict=True))
    return str((10 - total % 10) % 10)


def is_routing_number(text: str) -> bool:
    """Tell whether `text` is nine digits whose ABA checksum holds."""
    return len(text) == 9 and text.isdigit() and routing_check_digit(text[:8]) == text[8]


def entry_hash(entries: Iterable[Entry]) -> int:
    """Return the entry hash: the sum of the entries' 8-digit receiving DFI identifications, mod 10^10."""
    return sum(int(e.routing[:8]) for e in entries) % ENTRY_HASH_MODULUS


def _yymmdd(day: date | None) -> str:
    return day.strftime("%y%m%d") if day else ""


# -- writing ----------------------------------------------------------------------------------------------------


def batch_records(batch: Batch) -> list[str]:
    """Return a batch's records: header, entries with their addenda, control with its counts and totals."""
    service_class = batch.service_class_code or batch.computed_service_class()
    records = [format_record(BATCH_HEADER, {
        "service_class_code": service_class, "company_name": batch.company_name,
        "company_discretionary_data": batch.discretionary_data, "company_identification": batch.company_id,
        "standard_entry_class": batch.sec_code, "company_entry_description": batch.entry_description,
        "company_descriptive_date": batch.descriptive_date, "effective_entry_date": _yymmdd(batch.effective_date),
        "originator_status_code": "1", "originating_dfi": batch.originating_dfi, "batch_number": str(batch.number),
    })]  # fmt: skip
    count = 0
    for entry in batch.entries:
        records.append(entry.record())
        count += 1
        for addenda in entry.addenda:
            layout = ADDENDA_LAYOUTS[addenda.addenda_type]
            records.append(format_record(layout, addenda.fields))
            count += 1
    records.append(format_record(BATCH_CONTROL, {
        "service_class_code": service_class, "entry_addenda_count": str(count),
        "entry_hash": str(entry_hash(batch.entries)),
        "total_debit": str(sum(e.amount_cents for e in batch.entries if e.is_debit)),
        "total_credit": str(sum(e.amount_cents for e in batch.entries if not e.is_debit)),
        "company_identification": batch.company_id, "originating_dfi": batch.originating_dfi,
        "batch_number": str(batch.number),
    }))  # fmt: skip
    return records


def file_records(nacha: NachaFile) -> list[str]:
    """Return every record of a file: header, batches, file control, then padding to a block of ten."""
    h = nacha.header
    records = [format_record(FILE_HEADER, {
        "immediate_destination": h.immediate_destination.rjust(10), "immediate_origin": h.immediate_origin.rjust(10),
        "file_creation_date": h.created_at.strftime("%y%m%d"), "file_creation_time": h.created_at.strftime("%H%M"),
        "file_id_modifier": h.file_id_modifier, "immediate_destination_name": h.destination_name,
        "immediate_origin_name": h.origin_name, "reference_code": h.reference_code,
    })]  # fmt: skip
    entries: list[Entry] = []
    addenda = 0
    for batch in nacha.batches:
        records.extend(batch_records(batch))
        entries.extend(batch.entries)
        addenda += sum(len(e.addenda) for e in batch.entries)
    blocks = -(-(len(records) + 1) // BLOCKING_FACTOR)
    records.append(format_record(FILE_CONTROL, {
        "batch_count": str(len(nacha.batches)), "block_count": str(blocks),
        "entry_addenda_count": str(len(entries) + addenda), "entry_hash": str(entry_hash(entries)),
        "total_debit": str(sum(e.amount_cents for e in entries if e.is_debit)),
        "total_credit": str(sum(e.amount_cents for e in entries if not e.is_debit)),
    }))  # fmt: skip
    records.extend([PADDING] * (blocks * BLOCKING_FACTOR - len(records)))
    return records


def write_file(nacha: NachaFile) -> bytes:
    """Return a whole file as ASCII bytes, one record a line, each line ending in a newline."""
    return ("\n".join(file_records(nacha)) + "\n").encode("ascii")


# -- reading ----------------------------------------------------------------------------------------------------


def split_records(data: bytes) -> list[str]:
    """Return a file's records: lines (LF or CRLF), or 94-character slices of a file without line breaks."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise NachaError(line, "the file holds a character that is not ASCII") from error
    if "\n" not in text and "\r" not in text and len(text) % RECORD_LENGTH == 0 and text:
        return [text[i : i + RECORD_LENGTH] for i in range(0, len(text), RECORD_LENGTH)]
    lines = text.replace("\r\n", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


@dataclass
class _Reading:
    """A file being read: the header, the batch and entry under way, and what was finished."""

    header: FileHeader | None = None
    batches: list[Batch] = field(default_factory=list)
    batch: dict[str, Any] | None = None
    entries: list[Entry] = field(default_factory=list)
    entry: dict[str, Any] | None = None
    control: dict[str, str] | None = None


def read_file(data: bytes) -> NachaFile:
    """Read a whole NACHA file; refuse it on the first line that breaks the layout or its totals."""
    records = split_records(data)
    if not records:
        raise NachaError(1, "the file is empty")
    state = _Reading()
    for number, line in enumerate(records, start=1):
        if len(line) != RECORD_LENGTH:
            raise NachaError(number, f"a record is {RECORD_LENGTH} characters, this line has {len(line)}")
        if state.control is not None:
            if line != PADDING:
                raise NachaError(number, "only lines of 94 '9's may follow the file control record")
            continue
        _read_record(state, line, number)
    if state.header is None:
        raise NachaError(1, "the file has no file header record")
    if state.control is None:
        raise NachaError(len(records), "the file has no file control record")
    _check_file_totals(state, len(records))
    return NachaFile(state.header, tuple(state.batches), state.control)


def _read_record(state: _Reading, line: str, number: int) -> None:
    kind = line[0]
    if kind == "1":
        if state.header is not None or number != 1:
            raise NachaError(number, "the file header must be the first record, and only once")
        state.header = _header(parse_record(FILE_HEADER, line, number), number)
    elif state.header is None:
        raise NachaError(number, "the file must start with a file header record (type 1)")
    elif kind == "5":
        if state.batch is not None:
            raise NachaError(number, "a batch header before the previous batch's control record")
        state.batch = {**parse_record(BATCH_HEADER, line, number), "line": number}
        state.entries = []
    elif kind == "6":
        _close_entry(state)
        if state.batch is None:
            raise NachaError(number, "an entry detail record outside a batch")
        state.entry = {**parse_record(ENTRY_DETAIL, line, number), "line": number, "addenda": []}
    elif kind == "7":
        _read_addenda(state, line, number)
    elif kind == "8":
        _close_batch(state, parse_record(BATCH_CONTROL, line, number), number)
    elif kind == "9":
        if state.batch is not None:
            raise NachaError(number, "the file control record before the last batch's control record")
        state.control = {**parse_record(FILE_CONTROL, line, number), "line": str(number)}
    else:
        raise NachaError(number, f"unknown record type {kind!r} (expected 1, 5, 6, 7, 8 or 9)")


def _header(values: dict[str, str], number: int) -> FileHeader:
    try:
        created = datetime.strptime(values["file_creation_date"] + values["file_creation_time"], "%y%m%d%H%M")
    except ValueError as error:
        raise NachaError(number, "file creation date and time (positions 24-33) are not a date and time") from error
    return FileHeader(
        immediate_destination=values["immediate_destination"].strip(),
        immediate_origin=values["immediate_origin"].strip(),
        created_at=created, file_id_modifier=values["file_id_modifier"],
        destination_name=values["immediate_destination_name"], origin_name=values["immediate_origin_name"],
        reference_code=values["reference_code"],
    )  # fmt: skip


def _read_addenda(state: _Reading, line: str, number: int) -> None:
    if state.entry is None:
        raise NachaError(number, "an addenda record that follows no entry detail record")
    if state.entry["addenda_record_indicator"] != "1":
        raise NachaError(number, "an addenda record after an entry whose addenda record indicator is 0")
    layout = ADDENDA_LAYOUTS.get(line[1:3])
    if layout is None:
        raise NachaError(number, f"addenda type {line[1:3]!r} is not one read here (05, 98 or 99)")
    values = parse_record(layout, line, number)
    state.entry["addenda"].append(Addenda(line[1:3], values))


def _close_entry(state: _Reading) -> None:
    """Finish the entry under way, if any."""
    e = state.entry
    if e is None:
        return
    if e["addenda_record_indicator"] == "1" and not e["addenda"]:
        raise NachaError(e["line"], "the entry says it has an addenda record and none follows")
    state.entries.append(Entry(
        transaction_code=e["transaction_code"], routing=e["receiving_dfi"] + e["check_digit"],
        account_number=e["dfi_account_number"], amount_cents=int(e["amount"]),
        individual_id=e["individual_identification"], individual_name=e["individual_name"],
        trace_number=e["trace_number"], discretionary_data=e["discretionary_data"], addenda=tuple(e["addenda"]),
        line=e["line"],
    ))  # fmt: skip
    state.entry = None


def _close_batch(state: _Reading, control: dict[str, str], number: int) -> None:
    if state.batch is None:
        raise NachaError(number, "a batch control record without its batch header")
    _close_entry(state)
    b, entries = state.batch, state.entries
    count = len(entries) + sum(len(e.addenda) for e in entries)
    expected = {
        "service_class_code": b["service_class_code"], "entry_addenda_count": count, "entry_hash": entry_hash(entries),
        "total_debit": sum(e.amount_cents for e in entries if e.is_debit),
        "total_credit": sum(e.amount_cents for e in entries if not e.is_debit),
        "batch_number": b["batch_number"],
    }  # fmt: skip
    for name, value in expected.items():
        declared = control[name]
        if (int(declared) if isinstance(value, int) else declared) != value:
            raise NachaError(number, f"batch control {name.replace('_', ' ')} is {declared}, the batch has {value}")
    state.batches.append(Batch(
        company_name=b["company_name"], company_id=b["company_identification"], sec_code=b["standard_entry_class"],
        entry_description=b["company_entry_description"], effective_date=_effective_date(b["effective_entry_date"]),
        originating_dfi=b["originating_dfi"], number=int(b["batch_number"]), entries=tuple(entries),
        service_class_code=b["service_class_code"], discretionary_data=b["company_discretionary_data"],
        descriptive_date=b["company_descriptive_date"], line=b["line"],
    ))  # fmt: skip
    state.batch = None
    state.entries = []


def _effective_date(text: str) -> date | None:
    """Return a batch's effective entry date, or None for a blank or invalid one (returns may carry 000101)."""
    try:
        return datetime.strptime(text, "%y%m%d").date()
    except ValueError:
        return None


def _check_file_totals(state: _Reading, lines: int) -> None:
    control = state.control
    assert control is not None
    number = int(control["line"])
    entries = [e for b in state.batches for e in b.entries]
    expected = {
        "batch_count": len(state.batches), "entry_addenda_count": len(entries) + sum(len(e.addenda) for e in entries),
        "entry_hash": entry_hash(entries), "total_debit": sum(e.amount_cents for e in entries if e.is_debit),
        "total_credit": sum(e.amount_cents for e in entries if not e.is_debit),
    }  # fmt: skip
    for name, value in expected.items():
        if int(control[name]) != value:
            raise NachaError(
                number, f"file control {name.replace('_', ' ')} is {int(control[name])}, the file has {value}"
            )
    blocks = int(control["block_count"])
    if blocks != -(-lines // BLOCKING_FACTOR) and blocks != -(-number // BLOCKING_FACTOR):
        raise NachaError(number, f"file control block count is {blocks}, the file has {-(-lines // BLOCKING_FACTOR)}")


# -- what a receiving bank sends back (tests, the benchmark, demos) ----------------------------------------------


def returns_for(
    origination: bytes, codes: dict[str, str], corrected: dict[str, str] | None = None, *, created: datetime
) -> bytes:
    """Return the file a bank would send back returning (R..) or correcting (C..) entries of `origination`.

    `codes` maps an original trace number to its return reason or change code; `corrected` a change's
    corrected data. Returns carry transaction code 26 and the amount; notifications of change 21 and zero.
    """
    corrected = corrected or {}
    source = read_file(origination)
    entries = []
    for n, entry in enumerate(source.entries(), start=1):
        code = codes.get(entry.trace_number)
        if code is None:
            continue
        trace = f"02100002{n:07d}"  # the returning bank's own trace numbers
        common = {"original_entry_trace_number": entry.trace_number, "original_receiving_dfi": entry.routing[:8],
                  "trace_number": trace}  # fmt: skip
        if code.startswith("R"):
            addenda = Addenda("99", {"return_reason_code": code, **common})
            transaction, amount = "26", entry.amount_cents
        else:
            addenda = Addenda("98", {"change_code": code, "corrected_data": corrected.get(entry.trace_number, ""),
                                     **common})  # fmt: skip
            transaction, amount = "21", 0
        entries.append(Entry(transaction, entry.routing, entry.account_number, amount, entry.individual_id,
                             entry.individual_name, trace, addenda=(addenda,)))  # fmt: skip
    first = source.batches[0] if source.batches else None
    batch = Batch(first.company_name if first else "", first.company_id if first else "", "PPD",
                  first.entry_description if first else "", None, first.originating_dfi if first else "", 1,
                  tuple(entries))  # fmt: skip
    header = FileHeader(source.header.immediate_origin, source.header.immediate_destination, created, "A")
    return write_file(NachaFile(header, (batch,)))
