"""Search, the use case: one query for loans, borrowers, phones, emails, case references, conversations and
the words in messages; a borrower found is listed with their loan numbers. Every search is audited, its query
masked (servicing.rules.searching.masked_query)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.conversations import mask_address
from servicing.rules.searching import Query, masked_query, read_query
from servicing.search.backends import index_for, message_words
from servicing.store.models import Borrower, BorrowerPhone, Case, Conversation, Loan, Message

LIMIT = 20  # results of each kind on a page
SNIPPET = 160  # characters of a message shown


@dataclass(frozen=True)
class BorrowerHit:
    """A borrower found, how, and their loans."""

    id: int
    name: str
    matched_on: tuple[str, ...]  # name_or_email, phone, phone_last4
    loan_numbers: tuple[str, ...]
    phones: tuple[str, ...]  # masked: the last 4 digits


@dataclass(frozen=True)
class LoanHit:
    """A loan found by its number or its last 4 digits."""

    loan_number: str
    status: str
    borrower_id: int
    borrower_name: str


@dataclass(frozen=True)
class CaseHit:
    """A case found by its reference."""

    reference: str
    kind: str
    status: str
    loan_number: str | None


@dataclass(frozen=True)
class ConversationHit:
    """A conversation from a phone number searched for, or of a borrower found."""

    id: int
    channel: str
    address: str  # masked
    state: str
    borrower_name: str | None
    last_message_at: datetime


@dataclass(frozen=True)
class MessageHit:
    """A message holding the words searched for."""

    id: int
    conversation_id: int
    author: str
    internal: bool
    created_at: datetime
    snippet: str


@dataclass
class SearchResults:
    """What a search found, by kind; `older_messages` pages back through message hits."""

    query: str
    loans: list[LoanHit] = field(default_factory=list)
    borrowers: list[BorrowerHit] = field(default_factory=list)
    cases: list[CaseHit] = field(default_factory=list)
    conversations: list[ConversationHit] = field(default_factory=list)
    messages: list[MessageHit] = field(default_factory=list)
    older_messages: int | None = None  # the `before` of the next page of messages

    @property
    def found(self) -> dict[str, int]:
        """Return how many of each kind were found (what the audit entry records)."""
        return {"loans": len(self.loans), "borrowers": len(self.borrowers), "cases": len(self.cases),
                "conversations": len(self.conversations), "messages": len(self.messages)}  # fmt: skip

    @property
    def empty(self) -> bool:
        """Tell whether nothing was found."""
        return not any(self.found.values())


def search_console(
    session: Session, typed: str, *, region: str, actor: str, before_message: int | None = None
) -> SearchResults:
    """Search everything for what a specialist typed, and audit the search with its query masked."""
    query = read_query(typed, region)
    results = SearchResults(query.text)
    if query.text:
        results = find_everything(session, query, before_message)
        record_audit(session, actor, "search", "search", "-", {
            "query": masked_query(query), "found": results.found, "borrowers": [hit.id for hit in results.borrowers],
        })  # fmt: skip
    return results


def find_everything(session: Session, query: Query, before_message: int | None = None) -> SearchResults:
    """Look a read query up in every kind of record (no audit: `search_console` audits)."""
    borrower_ways = borrowers_found(session, query)
    results = SearchResults(
        query.text,
        loans=loans_found(session, query),
        borrowers=borrower_hits(session, borrower_ways),
        cases=cases_found(session, query),
        conversations=conversations_found(session, query, list(borrower_ways)),
    )
    ids = index_for(session).messages_with_words(session, message_words(query.text), LIMIT + 1, before_message)
    results.messages = message_hits(session, ids[:LIMIT])
    results.older_messages = ids[LIMIT - 1] if len(ids) > LIMIT else None
    return results


def borrowers_found(session: Session, query: Query) -> dict[int, list[str]]:
    """Return the borrowers a query names (by phone, a phone's last 4, name or email) and how each was found."""
    ways: dict[int, list[str]] = {}

    def note(ids: Iterable[int], way: str) -> None:
        for borrower_id in ids:
            ways.setdefault(borrower_id, []).append(way)

    if query.phone is not None:
        note(session.scalars(select(BorrowerPhone.borrower_id).where(BorrowerPhone.e164 == query.phone)), "phone")
    if query.last4 is not None:
        on_phone = select(BorrowerPhone.borrower_id).where(last_four(BorrowerPhone.e164) == query.last4).limit(LIMIT)
        note(session.scalars(on_phone), "phone_last4")
    if query.phone is None and query.last4 is None and any(c.isalpha() for c in query.key):
        note(index_for(session).borrowers_by_key(session, query.key, LIMIT), "name_or_email")
    return dict(list(ways.items())[:LIMIT])


def last_four(column: Any) -> ColumnElement[str]:
    """Return the last four characters of a column, as the indexes of migration 0024 are built on them."""
    return func.substr(column, func.length(column) - 3)


def borrower_hits(session: Session, ways: dict[int, list[str]]) -> list[BorrowerHit]:
    """Return the borrowers found with their loan numbers and masked phones, in the order found."""
    if not ways:
        return []
    ids = list(ways)
    people = {b.id: b for b in session.scalars(select(Borrower).where(Borrower.id.in_(ids)))}
    loans: dict[int, list[str]] = {}
    for borrower_id, number in session.execute(
        select(Loan.borrower_id, Loan.loan_number).where(Loan.borrower_id.in_(ids)).order_by(Loan.id)
    ):
        loans.setdefault(borrower_id, []).append(number)
    phones: dict[int, list[str]] = {}
    for borrower_id, e164 in session.execute(
        select(BorrowerPhone.borrower_id, BorrowerPhone.e164).where(BorrowerPhone.borrower_id.in_(ids))
    ):
        phones.setdefault(borrower_id, []).append(f"…{e164[-4:]}")
    return [
        BorrowerHit(i, f"{people[i].first_name} {people[i].last_name}", tuple(ways[i]), tuple(loans.get(i, [])),
                    tuple(phones.get(i, [])))
        for i in ids if i in people
    ]  # fmt: skip


def loans_found(session: Session, query: Query) -> list[LoanHit]:
    """Return the loans a query names: by their number (any case), or by its last 4 digits."""
    conditions = []
    if query.identifier is not None:
        conditions.append(Loan.loan_number == query.identifier)
        if query.identifier != query.text:
            conditions.append(Loan.loan_number == query.text)
    if query.last4 is not None:
        conditions.append(last_four(Loan.loan_number) == query.last4)
    if not conditions:
        return []
    rows = session.execute(
        select(Loan.loan_number, Loan.status, Borrower.id, Borrower.first_name, Borrower.last_name)
        .join(Borrower, Borrower.id == Loan.borrower_id)
        .where(or_(*conditions))
        .order_by(Loan.loan_number)
        .limit(LIMIT)
    )
    return [LoanHit(row[0], row[1], row[2], f"{row[3]} {row[4]}") for row in rows]


def cases_found(session: Session, query: Query) -> list[CaseHit]:
    """Return the case a query names by its reference (any case)."""
    if query.identifier is None:
        return []
    rows = session.execute(
        select(Case.reference, Case.kind, Case.status, Loan.loan_number)
        .outerjoin(Loan, Loan.id == Case.loan_id)
        .where(Case.reference == query.identifier)
    )
    return [CaseHit(*row) for row in rows]


def conversations_found(session: Session, query: Query, borrower_ids: list[int]) -> list[ConversationHit]:
    """Return the conversations from a phone searched for (known borrower or not) and those of borrowers found."""
    conditions = []
    if query.phone is not None:
        conditions.append(Conversation.address == query.phone)
    if borrower_ids:
        conditions.append(Conversation.borrower_id.in_(borrower_ids))
    if not conditions:
        return []
    rows = session.execute(
        select(Conversation, Borrower.first_name, Borrower.last_name)
        .outerjoin(Borrower, Borrower.id == Conversation.borrower_id)
        .where(or_(*conditions))
        .order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
        .limit(LIMIT)
    )
    return [
        ConversationHit(c.id, c.channel, mask_address(c.channel, c.address), c.state,
                        f"{first} {last}" if first else None, c.last_message_at)
        for c, first, last in rows
    ]  # fmt: skip


def message_hits(session: Session, ids: list[int]) -> list[MessageHit]:
    """Return the messages of these ids, newest first, each cut to a snippet."""
    if not ids:
        return []
    rows = session.execute(
        select(Message.id, Message.conversation_id, Message.author, Message.internal, Message.created_at, Message.body)
        .where(Message.id.in_(ids))
        .order_by(Message.id.desc())
    )
    return [MessageHit(r[0], r[1], r[2], bool(r[3]), r[4], _snippet(r[5])) for r in rows]


def _snippet(body: str) -> str:
    return body if len(body) <= SNIPPET else body[: SNIPPET - 1] + "…"
