"""Loading accounts from the database and writing back what posting did, in bulk."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from operator import itemgetter
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Row, Table, bindparam, case, func, insert, literal_column, null, select, text, update
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import UpdateBase

from servicing.account import Account, FeeKind, LoanStatus, OpenFee, Product
from servicing.interest import Compounding, InterestMethod
from servicing.ledger import Balances, LedgerLine
from servicing.models import BusinessDay, Fee, LedgerEntry, Loan, utcnow
from servicing.money import ZERO, to_money

CHUNK = 5000
loans = Loan.__table__
fees = Fee.__table__
ledger = LedgerEntry.__table__

_ACCOUNT_COLUMNS = [
    loans.c.id,
    loans.c.loan_number,
    loans.c.currency,
    loans.c.product,
    loans.c.interest_method,
    loans.c.compounding,
    loans.c.annual_rate,
    loans.c.monthly_payment,
    loans.c.term_months,
    loans.c.schedule_anchor,
    loans.c.late_fee_rate,
    loans.c.late_fee_grace_days,
    loans.c.escrow_monthly,
    loans.c.interest_paid_through,
    loans.c.installments_paid,
    loans.c.status,
    loans.c.principal_balance,
    loans.c.interest_balance,
    loans.c.escrow_balance,
    loans.c.fees_balance,
    loans.c.suspense_balance,
    loans.c.deferred_balance,
    loans.c.dsi_credit,
    loans.c.late_fee_through,
    loans.c.fee_seq,
]


def chunked(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    """Yield slices of at most `size` items (keeps SQL parameter counts bounded)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def account_from_row(row: Row[Any]) -> Account:
    """Build an account from a loans row, amounts quantized to the loan's currency."""
    currency = row.currency

    def money(value: Decimal) -> Decimal:
        return to_money(value, currency)

    return Account(
        loan_id=row.id,
        loan_number=row.loan_number,
        currency=currency,
        product=Product(row.product),
        interest_method=InterestMethod(row.interest_method),
        compounding=Compounding(row.compounding),
        annual_rate=row.annual_rate.normalize(),
        monthly_payment=money(row.monthly_payment),
        term_months=row.term_months,
        schedule_anchor=row.schedule_anchor,
        late_fee_rate=row.late_fee_rate.normalize(),
        late_fee_grace_days=row.late_fee_grace_days,
        escrow_monthly=money(row.escrow_monthly),
        interest_paid_through=row.interest_paid_through,
        installments_paid=row.installments_paid,
        status=LoanStatus(row.status),
        balances=Balances(
            principal=money(row.principal_balance),
            interest=money(row.interest_balance),
            escrow=money(row.escrow_balance),
            fees=money(row.fees_balance),
            suspense=money(row.suspense_balance),
            deferred=money(row.deferred_balance),
        ),
        dsi_credit=money(row.dsi_credit),
        late_fee_through=row.late_fee_through,
        fee_seq=row.fee_seq,
    )


def load_accounts(
    session: Session, loan_numbers: Iterable[str], *, for_update: bool = False
) -> dict[str, Account]:
    """Return the accounts with these loan numbers (unknown numbers are simply absent)."""
    wanted = sorted(set(loan_numbers))
    accounts: dict[str, Account] = {}
    for part in chunked(wanted):
        query = select(*_ACCOUNT_COLUMNS).where(loans.c.loan_number.in_(part))
        if for_update:
            query = query.with_for_update()
        for row in session.execute(query):
            accounts[row.loan_number] = account_from_row(row)
    _attach_open_fees(session, accounts.values())
    return accounts


def load_account(session: Session, loan_number: str, *, for_update: bool = False) -> Account | None:
    """Return one account, or None when no loan has that number."""
    return load_accounts(session, [loan_number], for_update=for_update).get(loan_number)


def _attach_open_fees(session: Session, accounts: Iterable[Account]) -> None:
    by_id = {a.loan_id: a for a in accounts}
    ids = sorted(by_id)
    for part in chunked(ids):
        query = (
            select(fees.c.loan_id, fees.c.seq, fees.c.kind, fees.c.assessed_on, fees.c.outstanding)
            .where(fees.c.loan_id.in_(part), fees.c.outstanding > 0)
            .order_by(fees.c.loan_id, fees.c.assessed_on, fees.c.seq)
        )
        for row in session.execute(query):
            account = by_id[row.loan_id]
            account.open_fees.append(
                OpenFee(
                    row.seq, FeeKind(row.kind), row.assessed_on, to_money(row.outstanding, account.currency)
                )
            )


def account_values(account: Account, business_date: date) -> dict[str, Any]:
    """Return the loans-row values an account's state caches."""
    b = account.balances
    return {
        "b_id": account.loan_id,
        "status": account.status.value,
        "principal_balance": b.principal,
        "interest_balance": b.interest,
        "escrow_balance": b.escrow,
        "fees_balance": b.fees,
        "suspense_balance": b.suspense,
        "deferred_balance": b.deferred,
        "interest_paid_through": account.interest_paid_through,
        "installments_paid": account.installments_paid,
        "dsi_credit": account.dsi_credit,
        "late_fee_through": account.late_fee_through,
        "fee_seq": account.fee_seq,
        "next_due_date": account.next_due_date,
        "days_past_due": account.days_past_due(business_date),
        "monthly_payment": account.monthly_payment,
        "annual_rate": account.annual_rate,
        "term_months": account.term_months,
        "schedule_anchor": account.schedule_anchor,
        "escrow_monthly": account.escrow_monthly,
        "b_closed": business_date,
    }


def save_accounts(session: Session, accounts: Sequence[Account], business_date: date) -> None:
    """Write the accounts' cached state back to their loans rows."""
    if not accounts:
        return
    rows = [account_values(a, business_date) for a in accounts]
    columns = tuple(k for k in rows[0] if not k.startswith("b_"))
    # a closed loan keeps the date it closed on; a reopened one (a reversed payoff) has none
    closed_on = case(
        (bindparam("status") == literal_column("'active'"), null()),
        else_=func.coalesce(loans.c.closed_on, bindparam("b_closed")),
    )
    statement = (
        update(loans)
        .where(loans.c.id == bindparam("b_id"))
        .values({**{k: bindparam(k) for k in columns}, "closed_on": closed_on})
    )
    execute_many(session, ("save_accounts", columns), statement, rows)


def save_open_fees(session: Session, accounts: Sequence[Account], touched: dict[int, set[int]]) -> None:
    """Write back the outstanding amount of every fee a posting touched."""
    rows: list[dict[str, Any]] = []
    for account in accounts:
        seqs = touched.get(account.loan_id)
        if not seqs:
            continue
        open_amounts = {f.seq: f.outstanding for f in account.open_fees}
        rows.extend(
            {"b_loan": account.loan_id, "b_seq": seq, "outstanding": open_amounts.get(seq, ZERO)}
            for seq in seqs
        )
    if rows:
        statement = (
            update(fees)
            .where(fees.c.loan_id == bindparam("b_loan"), fees.c.seq == bindparam("b_seq"))
            .values(outstanding=bindparam("outstanding"))
        )
        execute_many(session, ("save_open_fees",), statement, rows)


def ledger_row(
    loan_id: int,
    line: LedgerLine,
    posted_by: str,
    reference: str | None = None,
    payment_id: int | None = None,
) -> dict[str, Any]:
    """Return the insert values of one ledger line."""
    c = line.change
    return {
        "loan_id": loan_id,
        "payment_id": payment_id,
        "kind": line.kind.value,
        "effective_date": line.effective_date,
        "posted_at": utcnow(),
        "principal": c.principal,
        "interest": c.interest,
        "escrow": c.escrow,
        "fees": c.fees,
        "suspense": c.suspense,
        "deferred": c.deferred,
        "reference": reference,
        "memo": line.memo[:200],
        "posted_by": posted_by,
    }


def insert_rows(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> None:
    """Insert many rows in one statement per chunk."""
    if not rows:
        return
    columns = tuple(rows[0])
    execute_many(session, ("insert", table.name, columns), insert(table), rows, columns)


def insert_rows_returning_ids(session: Session, table: Table, rows: Sequence[dict[str, Any]]) -> list[int]:
    """Insert rows and return the ids the database gave them, in the rows' order.

    The ids are the ones the database gives one insert at a time, reserved up front so the rows can
    go in one executemany: PostgreSQL's sequence values, or on SQLite max(id) + 1 onwards, read once
    this transaction holds the write lock (taken by inserting the first row the usual way).
    """
    if not rows:
        return []
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        query = text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) FROM generate_series(1, :count)")
        ids, done = sorted(session.scalars(query, {"table": table.name, "count": len(rows)})), 0
    elif dialect == "sqlite":
        first = session.connection().execute(insert(table).returning(table.c.id), [rows[0]]).scalar_one()
        last = session.scalar(select(func.max(table.c.id)))
        assert last is not None
        ids, done = [first, *range(last + 1, last + len(rows))], 1
    else:
        statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
        connection = session.connection()
        return [row[0] for part in chunked(rows) for row in connection.execute(statement, list(part))]
    later = zip(ids[done:], rows[done:], strict=True)
    insert_rows(session, table, [{"id": new_id, **row} for new_id, row in later])
    return ids


# -- executemany straight to the driver --------------------------------------------------------------


@dataclass(frozen=True)
class _DriverStatement:
    """A statement compiled once for a dialect: its SQL, parameter order and value converters."""

    sql: str
    names: tuple[str, ...]
    converters: tuple[tuple[int, Callable[[Any], Any]], ...]
    positional: bool

    def parameters(self, rows: Sequence[Mapping[str, Any]]) -> list[Any]:
        """Return the driver's parameters for each row: values in order, converted for the database."""
        columns: list[Iterable[Any]] = [map(itemgetter(name), rows) for name in self.names]
        for index, convert in self.converters:
            columns[index] = map(convert, columns[index])
        if self.positional:
            return list(zip(*columns, strict=True))
        return [dict(zip(self.names, values, strict=True)) for values in zip(*columns, strict=True)]


_COMPILED: WeakKeyDictionary[Dialect, dict[tuple[Any, ...], _DriverStatement | None]] = WeakKeyDictionary()


def execute_many(
    session: Session,
    key: tuple[Any, ...],
    statement: UpdateBase,
    rows: Sequence[Mapping[str, Any]],
    column_keys: Sequence[str] | None = None,
) -> None:
    """Run an INSERT or UPDATE for every row, in chunks, as plain executemany calls on the driver.

    The statement is compiled once per dialect (cached under `key`), and each value is converted
    by its column type's own bind processor, so the database receives exactly what a Core
    executemany would send, without Core's per-row overhead. Statements whose columns need
    Python-side defaults go through Core.
    """
    connection = session.connection()
    dialect = connection.dialect
    cache = _COMPILED.setdefault(dialect, {})
    if key not in cache:
        cache[key] = _compile_for_driver(dialect, statement, column_keys)
    compiled = cache[key]
    for part in chunked(rows):
        if compiled is None:
            connection.execute(statement, list(part))
        else:
            connection.exec_driver_sql(compiled.sql, compiled.parameters(part))


def _compile_for_driver(
    dialect: Dialect, statement: UpdateBase, column_keys: Sequence[str] | None
) -> _DriverStatement | None:
    compiled = statement.compile(dialect=dialect, column_keys=list(column_keys) if column_keys else None)
    if compiled.insert_prefetch or compiled.update_prefetch or compiled.escaped_bind_names:
        return None
    names = tuple(compiled.positiontup or ()) if dialect.positional else tuple(compiled.binds)
    converters = []
    for index, name in enumerate(names):
        processor = compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect)
        if processor is not None:
            converters.append((index, processor))
    return _DriverStatement(compiled.string, names, tuple(converters), dialect.positional)


def business_date(session: Session) -> date | None:
    """Return the last date end of day ran through, or None before the first run."""
    return session.scalar(
        select(BusinessDay.business_date).order_by(BusinessDay.business_date.desc()).limit(1)
    )


def ledger_balances(session: Session, loan_ids: Sequence[int] | None = None) -> dict[int, Balances]:
    """Recompute balances from the ledger alone, per loan."""
    query = select(
        ledger.c.loan_id,
        func.sum(ledger.c.principal),
        func.sum(ledger.c.interest),
        func.sum(ledger.c.escrow),
        func.sum(ledger.c.fees),
        func.sum(ledger.c.suspense),
        func.sum(ledger.c.deferred),
    ).group_by(ledger.c.loan_id)
    if loan_ids is not None:
        query = query.where(ledger.c.loan_id.in_(list(loan_ids)))
    return {
        row[0]: Balances(*(value if value is not None else ZERO for value in row[1:]))
        for row in session.execute(query)
    }
