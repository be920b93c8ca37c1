"""Loading accounts from the database and writing back what posting did, in bulk; balances from the ledger."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar, cast

from sqlalchemy import (
    Row,
    Table,
    bindparam,
    case,
    func,
    literal_column,
    null,
    select,
    update,
)
from sqlalchemy.orm import Session

from servicing.rules.account import Account, FeeKind, LoanStatus, OpenFee, Product
from servicing.rules.interest import Compounding, InterestMethod
from servicing.rules.ledger import BUCKETS, Balances, LedgerLine
from servicing.rules.money import ZERO, to_money
from servicing.store.bulk import among, chunked, execute_many
from servicing.store.models import BusinessDay, Fee, LedgerEntry, Loan, utcnow

loans = cast(Table, Loan.__table__)
fees = cast(Table, Fee.__table__)
ledger = cast(Table, LedgerEntry.__table__)

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
    loans.c.late_fee_amount,
    loans.c.escrow_previous_monthly,
    loans.c.escrow_monthly_from,
    loans.c.escrow_shortage_due,
]


def account_from_row(row: Row[Any]) -> Account:
    """Build an account from a row of the account columns, amounts quantized to the loan's currency."""
    # unpacked rather than read by name: this runs once per loan in bulk posting and end of day
    (loan_id, loan_number, currency, product, method, compounding, annual_rate, monthly_payment, term_months,
     schedule_anchor, late_fee_rate, late_fee_grace_days, escrow_monthly, interest_paid_through,
     installments_paid, status, principal, interest, escrow, fees_balance, suspense, deferred, dsi_credit,
     late_fee_through, fee_seq, late_fee_amount, escrow_previous_monthly, escrow_monthly_from,
     escrow_shortage_due) = row  # fmt: skip
    return Account(
        loan_id=loan_id,
        loan_number=loan_number,
        currency=currency,
        product=_member(Product, product),
        interest_method=_member(InterestMethod, method),
        compounding=_member(Compounding, compounding),
        annual_rate=annual_rate.normalize(),
        monthly_payment=to_money(monthly_payment, currency),
        term_months=term_months,
        schedule_anchor=schedule_anchor,
        late_fee_rate=late_fee_rate.normalize(),
        late_fee_grace_days=late_fee_grace_days,
        escrow_monthly=to_money(escrow_monthly, currency),
        interest_paid_through=interest_paid_through,
        installments_paid=installments_paid,
        status=_member(LoanStatus, status),
        balances=Balances(
            principal=to_money(principal, currency),
            interest=to_money(interest, currency),
            escrow=to_money(escrow, currency),
            fees=to_money(fees_balance, currency),
            suspense=to_money(suspense, currency),
            deferred=to_money(deferred, currency),
        ),
        dsi_credit=to_money(dsi_credit, currency),
        late_fee_through=late_fee_through,
        fee_seq=fee_seq,
        late_fee_amount=to_money(late_fee_amount, currency),
        escrow_previous_monthly=to_money(escrow_previous_monthly, currency),
        escrow_monthly_from=escrow_monthly_from,
        escrow_shortage_due=to_money(escrow_shortage_due, currency),
    )


_E = TypeVar("_E", bound=StrEnum)
_MEMBERS: dict[type[StrEnum], dict[str, StrEnum]] = {
    kind: {member.value: member for member in kind} for kind in (Product, InterestMethod, Compounding, LoanStatus)
}


def _member(kind: type[_E], value: str) -> _E:
    """Return the enum member with this value (a dict lookup: calling the enum is slower)."""
    found = _MEMBERS[kind].get(value)
    return cast(_E, found) if found is not None else kind(value)


_ACCOUNT_BY_NUMBER = select(*_ACCOUNT_COLUMNS).where(loans.c.loan_number == bindparam("loan_number"))
_ACCOUNT_BY_NUMBER_LOCKED = _ACCOUNT_BY_NUMBER.with_for_update()
# One loan's account with its open fees in one query: a row per open fee (the fee's columns NULL when none)
_WITH_OPEN_FEES = (
    select(*_ACCOUNT_COLUMNS, fees.c.seq, fees.c.kind, fees.c.assessed_on, fees.c.outstanding)
    .select_from(loans.outerjoin(fees, (fees.c.loan_id == loans.c.id) & (fees.c.outstanding > 0)))
    .order_by(fees.c.assessed_on, fees.c.seq)
)
_ACCOUNT_BY_ID = _WITH_OPEN_FEES.where(loans.c.id == bindparam("loan_id"))
_ACCOUNT_OF_BORROWER = _ACCOUNT_BY_ID.where(loans.c.borrower_id == bindparam("borrower_id"))
_ACCOUNT_WIDTH = len(_ACCOUNT_COLUMNS)
_OPEN_FEES = select(fees.c.loan_id, fees.c.seq, fees.c.kind, fees.c.assessed_on, fees.c.outstanding)
_OPEN_FEES_OF_LOAN = (
    _OPEN_FEES.where(fees.c.loan_id == bindparam("loan_id"), fees.c.outstanding > 0)
    .order_by(fees.c.assessed_on, fees.c.seq)
)  # fmt: skip


def load_accounts(session: Session, loan_numbers: Iterable[str], *, for_update: bool = False) -> dict[str, Account]:
    """Return the accounts with these loan numbers (unknown numbers are simply absent)."""
    wanted = sorted(set(loan_numbers))
    accounts: dict[str, Account] = {}
    for part in chunked(wanted):
        query = select(*_ACCOUNT_COLUMNS).where(among(session, loans.c.loan_number, part))
        if for_update:
            query = query.with_for_update()
        for row in session.execute(query):
            accounts[row.loan_number] = account_from_row(row)
    _attach_open_fees(session, accounts.values())
    return accounts


def load_account(session: Session, loan_number: str, *, for_update: bool = False) -> Account | None:
    """Return one account, or None when no loan has that number."""
    # an equality, not a one-item IN list, built once: the statement stays in SQLAlchemy's compiled cache
    query = _ACCOUNT_BY_NUMBER_LOCKED if for_update else _ACCOUNT_BY_NUMBER
    row = session.execute(query, {"loan_number": loan_number}).first()
    if row is None:
        return None
    account = account_from_row(row)
    _attach_open_fees(session, [account])
    return account


def load_account_by_id(session: Session, loan_id: int, *, borrower_id: int | None = None) -> Account | None:
    """Return the account of a loan by its id (only if `borrower_id`'s, when given), or None.

    The statements are built once: this runs for every borrower's question about their loan.
    """
    if borrower_id is None:
        rows = session.execute(_ACCOUNT_BY_ID, {"loan_id": loan_id}).all()
    else:
        rows = session.execute(_ACCOUNT_OF_BORROWER, {"loan_id": loan_id, "borrower_id": borrower_id}).all()
    if not rows:
        return None
    account = account_from_row(cast("Row[Any]", rows[0][:_ACCOUNT_WIDTH]))
    for row in rows:
        seq, kind, assessed_on, outstanding = row[_ACCOUNT_WIDTH:]
        if seq is not None:
            account.open_fees.append(OpenFee(seq, FeeKind(kind), assessed_on, to_money(outstanding, account.currency)))
    return account


def _attach_open_fees(session: Session, accounts: Iterable[Account]) -> None:
    by_id = {a.loan_id: a for a in accounts}
    ids = sorted(by_id)
    for part in chunked(ids):
        if len(part) == 1:
            rows = session.execute(_OPEN_FEES_OF_LOAN, {"loan_id": part[0]})
        else:
            query = (
                _OPEN_FEES.where(among(session, fees.c.loan_id, part), fees.c.outstanding > 0)
                .order_by(fees.c.loan_id, fees.c.assessed_on, fees.c.seq)
            )  # fmt: skip
            rows = session.execute(query)
        for row in rows:
            account = by_id[row.loan_id]
            account.open_fees.append(
                OpenFee(row.seq, FeeKind(row.kind), row.assessed_on, to_money(row.outstanding, account.currency))
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
        "escrow_previous_monthly": account.escrow_previous_monthly,
        "escrow_monthly_from": account.escrow_monthly_from,
        "escrow_shortage_due": account.escrow_shortage_due,
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
            {"b_loan": account.loan_id, "b_seq": seq, "outstanding": open_amounts.get(seq, ZERO)} for seq in seqs
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


def business_date(session: Session) -> date | None:
    """Return the last date end of day finished, or None before the first run (a date being run is not one yet)."""
    finished = select(BusinessDay.business_date).where(BusinessDay.finished_at.is_not(None))
    return session.scalar(finished.order_by(BusinessDay.business_date.desc()).limit(1))


def bucket_sums() -> list[Any]:
    """Return the SQL sums of the ledger's bucket columns, in `Balances` order."""
    return [func.sum(ledger.c[bucket]) for bucket in BUCKETS]


def balances_of(sums: Sequence[Any]) -> Balances:
    """Return the balances a row of `bucket_sums()` stands for (no rows sum to None: zero)."""
    return Balances(*(ZERO if value is None else value for value in sums))


def ledger_balances(session: Session, loan_ids: Sequence[int] | None = None) -> dict[int, Balances]:
    """Recompute balances from the ledger alone, per loan."""
    query = select(ledger.c.loan_id, *bucket_sums()).group_by(ledger.c.loan_id)
    if loan_ids is not None:
        query = query.where(ledger.c.loan_id.in_(list(loan_ids)))
    return {row[0]: balances_of(row[1:]) for row in session.execute(query)}
