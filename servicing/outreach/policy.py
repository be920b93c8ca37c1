"""The contact policy: the one place every message the servicer starts passes, when it is queued and again
before the outbox worker sends it.

A message the servicer wants to send (`Wanted`: a kind, a loan, its occasion) is decided by the rules of
`servicing.rules.contact` from facts gathered here in a few set-based queries, whatever the number of messages:
the borrower's channel and candidate time zones, what the address revoked, the flags of the borrower and the
loan, the collection messages of the last days and the payments of the day. Every decision is recorded in
`contact_decisions`; what may go out is queued in the outbox (deferred ones from their `send_after`).
A decision's `dedupe_key` is unique, and end of day looks for undecided occasions in its outreach turn (one run
at a time): the same occasion decided twice (end of day run again, two runs at once) is found decided the
second time and queues nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, or_, select, text, update
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from servicing.audit import record_audit
from servicing.conversations import ConversationState, mask_address, revoked_purposes, set_opt_out
from servicing.rules.contact import (
    ALL_PURPOSES,
    DEFAULT_RULES,
    PURPOSE_OF,
    CapCounter,
    ContactRules,
    Facts,
    Flag,
    Kind,
    Purpose,
    Reason,
    Status,
    Verdict,
    candidate_zones,
    decide,
    next_allowed_moment,
    servicer_day,
    start_of_servicer_day,
)
from servicing.store.bulk import among, chunked, execute_many, insert_rows_returning_ids
from servicing.store.db import IN_THIS_SCHEMA
from servicing.store.models import (
    Borrower,
    BorrowerPhone,
    ContactDecision,
    ContactFlag,
    Conversation,
    Loan,
    Message,
    OptOut,
    OutboxItem,
    Payment,
    Promise,
    Workout,
    table_of,
)

AUTHOR = "servicer"  # who the transcript shows as writing the servicer's own messages
COUNTED = (Status.QUEUED.value, Status.DEFERRED.value, Status.SENT.value)  # what the frequency cap counts
WORKOUT_FLAGS = {"forbearance": Flag.FORBEARANCE, "repayment_plan": Flag.REPAYMENT_PLAN}
PERSON_STATES = (ConversationState.QUEUED.value, ConversationState.ASSIGNED.value)
decisions_table = table_of(ContactDecision)
# Every column of a conversation the servicer opens (as `find_or_open_conversation` would), so that the rows go
# straight to the driver with none of the model's Python defaults left to fill in.
NEW_CONVERSATION: dict[str, Any] = {
    "state": ConversationState.BOT.value, "escalation_reason": None, "priority": 0, "queued_at": None,
    "assigned_to": None, "assigned_at": None, "verified_until": None, "failed_attempts": 0, "locked_until": None,
    "misses": 0, "waiting_acknowledged": False, "flow": {},
}  # fmt: skip
OUTREACH_LOCK = 1_300_013  # the key of outreach's PostgreSQL advisory lock (any number no other lock uses)


@dataclass(frozen=True)
class Wanted:
    """A message the servicer wants to send: what, about which loan and occasion, and what fills its text."""

    kind: Kind
    loan_id: int
    borrower_id: int
    occasion: date | None = None
    dedupe_key: str | None = None  # unique per occasion; None for a one-off notice
    values: Mapping[str, Any] = field(default_factory=dict)
    known_reason: str | None = None  # suppressed before the policy looks (a scheduled payment covers a reminder)


@dataclass(frozen=True)
class Recipient:
    """Where a borrower's messages go: the conversation they last wrote on, else SMS to their phone."""

    borrower_id: int
    channel: str | None
    address: str | None
    conversation_id: int | None  # None: an SMS conversation to the phone is opened when a message goes out
    locale: str
    zones: tuple[str, ...]
    specialist_open: bool = False  # a conversation of theirs is queued for or held by a specialist
    names_a_loan: bool = False  # the conversation already knows which loan the borrower means


@dataclass(frozen=True)
class Decided:
    """A wanted message, where it goes, and the policy's verdict."""

    wanted: Wanted
    recipient: Recipient | None
    verdict: Verdict


@dataclass(frozen=True)
class Recorded:
    """A decision that is on file now (its id), with what it decided."""

    decision_id: int
    decided: Decided


# -- where messages go ---------------------------------------------------------------------------------------


def recipients(session: Session, borrower_ids: Iterable[int]) -> dict[int, Recipient]:
    """Return, per borrower, where their messages go and the time zones they may be in (three queries in all)."""
    ids = sorted(set(borrower_ids))
    people: dict[int, Any] = {}
    latest: dict[int, Any] = {}
    with_a_person: set[int] = set()
    phones: dict[int, str] = {}
    for part in chunked(ids):
        people.update({row.id: row for row in session.execute(
            select(Borrower.id, Borrower.locale, Borrower.timezone, Borrower.timezone_given, Borrower.country)
            .where(among(session, Borrower.id, part)))})  # fmt: skip
        conversations = session.execute(
            select(Conversation.borrower_id, Conversation.id, Conversation.channel, Conversation.address,
                   Conversation.locale, Conversation.state, Conversation.loan_id)
            .where(among(session, Conversation.borrower_id, part))
            .order_by(Conversation.borrower_id, Conversation.last_message_at.desc(), Conversation.id.desc())
        )  # fmt: skip
        for row in conversations:
            latest.setdefault(row.borrower_id, row)
            if row.state in PERSON_STATES:
                with_a_person.add(row.borrower_id)
        on_file = session.execute(
            select(BorrowerPhone.borrower_id, BorrowerPhone.e164)
            .where(among(session, BorrowerPhone.borrower_id, part))
            .order_by(BorrowerPhone.borrower_id, BorrowerPhone.is_primary.desc(), BorrowerPhone.id)
        )
        for borrower_id, e164 in on_file:
            phones.setdefault(borrower_id, e164)
    found = {}
    for borrower_id, person in people.items():
        phone, conversation = phones.get(borrower_id), latest.get(borrower_id)
        numbers: list[str | None] = [phone]
        if conversation is not None and conversation.channel == "sms" and conversation.address != phone:
            numbers.append(conversation.address)  # the number we text tells a zone too
        zones = candidate_zones(person.timezone, person.timezone_given, numbers, person.country)
        if conversation is not None:
            found[borrower_id] = Recipient(borrower_id, conversation.channel, conversation.address, conversation.id,
                                           conversation.locale or person.locale, zones, borrower_id in with_a_person,
                                           conversation.loan_id is not None)  # fmt: skip
        else:
            found[borrower_id] = Recipient(borrower_id, "sms" if phone else None, phone, None, person.locale, zones)
    return found


# -- what the rules need to know -----------------------------------------------------------------------------


@dataclass
class Situation:
    """The facts of a set of messages' borrowers and loans on one day, gathered in bulk."""

    revoked: dict[tuple[str, str], frozenset[str]]
    borrower_flags: dict[int, set[Flag]]
    loan_flags: dict[int, set[Flag]]
    paid_today: set[int]  # borrowers with a payment received on the day
    cap: CapCounter

    def facts(self, wanted: Wanted, recipient: Recipient) -> Facts:
        """Return what the rules need to decide one message."""
        flags = set(self.borrower_flags.get(wanted.borrower_id, ())) | self.loan_flags.get(wanted.loan_id, set())
        if recipient.specialist_open:
            flags.add(Flag.SPECIALIST_CONVERSATION)
        revoked = self.revoked.get((recipient.channel or "", recipient.address or ""), frozenset())
        return Facts(recipient.zones, revoked, frozenset(flags), self.cap.recent(wanted.borrower_id),
                     self.cap.of_today(wanted.borrower_id), wanted.borrower_id in self.paid_today)  # fmt: skip


def situation(
    session: Session, wanted: Sequence[Wanted], found: Mapping[int, Recipient], day: date, now: datetime,
    rules: ContactRules,
) -> Situation:  # fmt: skip
    """Gather the facts of these messages: revocations, flags, workouts, promises, payments, recent messages."""
    borrower_ids = sorted({w.borrower_id for w in wanted})
    loan_ids = sorted({w.loan_id for w in wanted})
    borrower_flags: dict[int, set[Flag]] = defaultdict(set)
    loan_flags: dict[int, set[Flag]] = defaultdict(set)
    paid_today: set[int] = set()
    counts: dict[int, int] = {}
    today: dict[int, int] = {}
    since, day_began = now - timedelta(days=rules.cap_days), start_of_servicer_day(now, rules)
    for part in chunked(borrower_ids):
        flags = select(ContactFlag.borrower_id, ContactFlag.loan_id, ContactFlag.flag).where(
            among(session, ContactFlag.borrower_id, part), ContactFlag.cleared_at.is_(None)
        )
        for borrower_id, loan_id, flag in session.execute(flags):
            (loan_flags[loan_id] if loan_id is not None else borrower_flags[borrower_id]).add(Flag(flag))
        paid = (
            select(Loan.borrower_id)
            .join(Payment, Payment.loan_id == Loan.id)
            .where(among(session, Loan.borrower_id, part), Payment.received_on == day, Payment.status == "posted")
        )
        paid_today.update(session.scalars(paid))
        recent = (
            select(ContactDecision.borrower_id, ContactDecision.decided_at)
            .where(among(session, ContactDecision.borrower_id, part),
                   ContactDecision.purpose == Purpose.COLLECTION.value,
                   ContactDecision.decided_at >= min(since, day_began), ContactDecision.status.in_(COUNTED))
        )  # fmt: skip
        for borrower_id, decided_at in session.execute(recent):
            if decided_at >= since:
                counts[borrower_id] = counts.get(borrower_id, 0) + 1
            if decided_at >= day_began:
                today[borrower_id] = today.get(borrower_id, 0) + 1
    for part in chunked(loan_ids):
        workouts = select(Workout.loan_id, Workout.kind).where(
            among(session, Workout.loan_id, part), Workout.status == "active", Workout.kind.in_(sorted(WORKOUT_FLAGS)),
            Workout.starts_on <= day, or_(Workout.ends_on.is_(None), Workout.ends_on >= day),
        )  # fmt: skip
        for loan_id, kind in session.execute(workouts):
            loan_flags[loan_id].add(WORKOUT_FLAGS[kind])
        promised = select(Promise.loan_id).where(among(session, Promise.loan_id, part), Promise.status == "open")
        for loan_id in session.scalars(promised):
            loan_flags[loan_id].add(Flag.PROMISE_OPEN)
    cap = CapCounter(counts, today)
    return Situation(_revocations(session, found.values()), borrower_flags, loan_flags, paid_today, cap)


def _revocations(session: Session, found: Iterable[Recipient]) -> dict[tuple[str, str], frozenset[str]]:
    """Return what each recipient's address revoked, for the addresses that revoked anything."""
    wanted = {(r.channel, r.address) for r in found if r.channel and r.address}
    revoked: dict[tuple[str, str], set[str]] = defaultdict(set)
    for part in chunked(sorted({address for _, address in wanted})):
        rows = select(OptOut.channel, OptOut.address, OptOut.purpose).where(
            among(session, OptOut.address, part), OptOut.opted_out.is_(True)
        )
        for channel, address, purpose in session.execute(rows):
            if (channel, address) in wanted:
                revoked[(channel, address)].add(purpose)
    return {key: frozenset(purposes) for key, purposes in revoked.items()}


def decide_all(
    wanted: Sequence[Wanted], found: Mapping[int, Recipient], facts: Situation, now: datetime, rules: ContactRules
) -> list[Decided]:
    """Decide each wanted message in order; each collection message that goes out counts against the cap."""
    decided = []
    for message in wanted:
        recipient = found.get(message.borrower_id)
        if message.known_reason is not None:
            decided.append(Decided(message, recipient, Verdict(Status.SUPPRESSED, message.known_reason)))
            continue
        if recipient is None or recipient.channel is None:
            decided.append(Decided(message, recipient, Verdict(Status.SUPPRESSED, Reason.NO_CHANNEL.value)))
            continue
        verdict = decide(message.kind, facts.facts(message, recipient), now, rules)
        if verdict.goes_out and PURPOSE_OF[message.kind] is Purpose.COLLECTION:
            facts.cap.add(message.borrower_id)
        decided.append(Decided(message, recipient, verdict))
    return decided


# -- recording and queueing ------------------------------------------------------------------------------------


def take_outreach_turn(session: Session) -> None:
    """Wait for any other outreach run to commit, then hold the turn until this transaction ends.

    Runs at once (end of day twice, a catch-up beside a scheduled one) then look for undecided occasions one
    after the other, so the second finds what the first decided and queues nothing twice. PostgreSQL: a
    transaction-scoped advisory lock; SQLite: every transaction already holds the one write lock from BEGIN.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock({IN_THIS_SCHEMA})"), {"key": OUTREACH_LOCK})


def record_decisions(
    session: Session, decided: Sequence[Decided], now: datetime, outbox_ids: Sequence[int | None] | None = None
) -> list[Recorded]:
    """Record the decisions, with the outbox rows they queued if any, in one bulk insert; return them with ids.

    Callers decide only occasions with no decision on file, during their outreach turn; the unique dedupe key
    is the last guard: a second decision for an occasion fails the transaction rather than queue it twice.
    """
    if not decided:
        return []
    links = outbox_ids if outbox_ids is not None else [None] * len(decided)
    rows = [_decision_row(d, now, outbox_id) for d, outbox_id in zip(decided, links, strict=True)]
    ids = insert_rows_returning_ids(session, decisions_table, rows)
    return [Recorded(decision_id, d) for decision_id, d in zip(ids, decided, strict=True)]


def _decision_row(d: Decided, now: datetime, outbox_id: int | None) -> dict[str, Any]:
    return {
        "loan_id": d.wanted.loan_id, "borrower_id": d.wanted.borrower_id, "kind": d.wanted.kind.value,
        "purpose": PURPOSE_OF[d.wanted.kind].value, "channel": d.recipient.channel if d.recipient else None,
        "occasion": d.wanted.occasion, "decided_at": now, "status": d.verdict.status.value,
        "reason": d.verdict.reason, "send_after": d.verdict.send_after, "outbox_id": outbox_id,
        "dedupe_key": d.wanted.dedupe_key,
    }  # fmt: skip


Render = Callable[[Wanted, Recipient], str]


def queue_messages(session: Session, decided: Sequence[Decided], render: Render, now: datetime) -> list[int | None]:
    """Queue in the outbox, in bulk, each decided message that may go out; return each one's outbox id (None for
    those that do not go out).

    A borrower with no conversation gets one (SMS to their phone), as `notices.borrower_channel` opens it.
    """
    going = [d for d in decided if d.verdict.goes_out and d.recipient is not None]
    if not going:
        return [None] * len(decided)
    conversations = _conversations_for(session, going, now)
    message_rows, outbox_rows = [], []
    for d in going:
        recipient = d.recipient
        assert recipient is not None and recipient.channel is not None and recipient.address is not None
        body = render(d.wanted, recipient)
        message_rows.append({
            "conversation_id": conversations[(recipient.channel, recipient.address)], "channel": recipient.channel,
            "direction": "out", "author": AUTHOR, "body": body, "provider_id": None, "status": "queued",
            "error_code": None, "attachments": [], "internal": False, "created_at": now, "sent_at": None,
            "delivered_at": None,
        })  # fmt: skip
        outbox_rows.append({
            "channel": recipient.channel, "address": recipient.address, "body": body, "proactive": True,
            "status": "pending", "attempts": 0, "next_attempt_at": d.verdict.send_after or now,
            "claimed_by": None, "last_error": None, "provider_id": None, "created_at": now, "sent_at": None,
        })  # fmt: skip
    message_ids = insert_rows_returning_ids(session, table_of(Message), message_rows)
    for row, message_id in zip(outbox_rows, message_ids, strict=True):
        row["message_id"], row["message_created_at"] = message_id, now
    queued = dict(zip(map(id, going), insert_rows_returning_ids(session, table_of(OutboxItem), outbox_rows),
                      strict=True))  # fmt: skip
    return [queued.get(id(d)) for d in decided]


def _conversations_for(session: Session, going: Sequence[Decided], now: datetime) -> dict[tuple[str, str], int]:
    """Return the conversation id of each recipient's channel address, opening the SMS ones that are new (naming
    the loan of their first message), and name the loan on known conversations that named none."""
    ids: dict[tuple[str, str], int] = {}
    new: dict[tuple[str, str], tuple[Recipient, int]] = {}
    unnamed: dict[int, int] = {}
    for d in going:
        recipient, loan_id = d.recipient, d.wanted.loan_id
        assert recipient is not None and recipient.channel is not None and recipient.address is not None
        key = (recipient.channel, recipient.address)
        if recipient.conversation_id is None:
            new.setdefault(key, (recipient, loan_id))
            continue
        ids[key] = recipient.conversation_id
        if not recipient.names_a_loan:
            unnamed.setdefault(recipient.conversation_id, loan_id)
    if new:
        ids.update(_open_conversations(session, new, now))
    if unnamed:
        table = table_of(Conversation)
        statement = (
            update(table)
            .where(table.c.id == bindparam("b_id"), table.c.loan_id.is_(None))
            .values(loan_id=bindparam("loan_id"))
        )
        named = [{"b_id": conversation, "loan_id": loan} for conversation, loan in unnamed.items()]
        execute_many(session, ("conversation_loan",), statement, named)
    return ids


def _open_conversations(
    session: Session, new: Mapping[tuple[str, str], tuple[Recipient, int]], now: datetime
) -> dict[tuple[str, str], int]:
    """Open SMS conversations to borrowers who never wrote, as `find_or_open_conversation` would; one that an
    inbound message opened meanwhile is kept (ON CONFLICT DO NOTHING) and found by its address."""
    if session.get_bind().dialect.name == "postgresql":
        return _open_conversations_at_once(session, new, now)
    table = table_of(Conversation)
    insert = sqlite.insert(table)
    rows = [
        {"channel": channel, "address": address, "borrower_id": r.borrower_id, "loan_id": loan_id, "locale": r.locale,
         **NEW_CONVERSATION, "created_at": now, "last_message_at": now}
        for (channel, address), (r, loan_id) in sorted(new.items())
    ]  # fmt: skip
    statement = insert.on_conflict_do_nothing(index_elements=["channel", "address"])
    execute_many(session, ("outreach_conversation", tuple(rows[0])), statement, rows, tuple(rows[0]))
    return _conversations_found(session, new, sorted(address for _, address in new))


# PostgreSQL: every new conversation of a chunk in one statement (arrays unnested), those an inbound message
# opened meanwhile skipped by the unique (channel, address) and found after; the constant columns as
# NEW_CONVERSATION gives them.
OPEN_CONVERSATIONS_SQL = """
    INSERT INTO conversations (channel, address, borrower_id, loan_id, locale, state, escalation_reason, priority,
                               queued_at, assigned_to, assigned_at, verified_until, failed_attempts, locked_until,
                               misses, waiting_acknowledged, flow, created_at, last_message_at)
    SELECT opened.channel, opened.address, opened.borrower_id, opened.loan_id, opened.locale, :state, NULL,
           :priority, NULL, NULL, NULL, NULL, :failed_attempts, NULL, :misses, :waiting_acknowledged,
           CAST(:flow AS json), :now, :now
    FROM unnest(CAST(:channels AS varchar[]), CAST(:addresses AS varchar[]), CAST(:borrower_ids AS integer[]),
                CAST(:loan_ids AS integer[]), CAST(:locales AS varchar[]))
         AS opened(channel, address, borrower_id, loan_id, locale)
    ON CONFLICT (channel, address) DO NOTHING
    RETURNING channel, address, id
"""


def _open_conversations_at_once(
    session: Session, new: Mapping[tuple[str, str], tuple[Recipient, int]], now: datetime
) -> dict[tuple[str, str], int]:
    """Open the new SMS conversations one statement per chunk (PostgreSQL); find those opened meanwhile."""
    constants = {name: NEW_CONVERSATION[name] for name in ("state", "priority", "failed_attempts", "misses",
                                                            "waiting_acknowledged")}  # fmt: skip
    assert NEW_CONVERSATION["flow"] == {} and all(
        NEW_CONVERSATION[name] is None for name in ("escalation_reason", "queued_at", "assigned_to", "assigned_at",
                                                    "verified_until", "locked_until")
    )  # fmt: skip
    statement = text(OPEN_CONVERSATIONS_SQL).bindparams(bindparam("now", type_=Conversation.created_at.type))
    ids: dict[tuple[str, str], int] = {}
    for part in chunked(sorted(new.items())):
        opened = session.execute(statement, {
            **constants, "flow": "{}", "now": now, "channels": [channel for (channel, _), _ in part],
            "addresses": [address for (_, address), _ in part],
            "borrower_ids": [r.borrower_id for _, (r, _) in part], "loan_ids": [loan for _, (_, loan) in part],
            "locales": [r.locale for _, (r, _) in part],
        })  # fmt: skip
        ids.update({(channel, address): conversation_id for channel, address, conversation_id in opened})
    missing = sorted(address for key in new if key not in ids for address in key[1:])
    return ids | _conversations_found(session, new, missing)


def _conversations_found(
    session: Session, wanted: Mapping[tuple[str, str], object], addresses: Sequence[str]
) -> dict[tuple[str, str], int]:
    """Return the ids of the wanted (channel, address) conversations among those at these addresses."""
    ids = {}
    for part in chunked(addresses):
        found = select(Conversation.channel, Conversation.address, Conversation.id).where(
            among(session, Conversation.address, part)
        )
        for channel, address, conversation_id in session.execute(found):
            if (channel, address) in wanted:
                ids[(channel, address)] = conversation_id
    return ids


def decide_and_queue(
    session: Session, wanted: Sequence[Wanted], render: Render, *, day: date, now: datetime, rules: ContactRules
) -> list[Recorded]:
    """Decide, record and queue these messages (end of day's bulk path, in its outreach turn); return the
    decisions recorded."""
    found = recipients(session, [w.borrower_id for w in wanted])
    decided = decide_all(wanted, found, situation(session, wanted, found, day, now, rules), now, rules)
    return record_decisions(session, decided, now, queue_messages(session, decided, render, now))


# -- one notice at a time ----------------------------------------------------------------------------------------


def decide_notice(
    session: Session, loan: Loan, conversation: Conversation | None, now: datetime, rules: ContactRules = DEFAULT_RULES
) -> tuple[int, Verdict]:
    """Decide and record a servicing notice to the loan's borrower on a conversation; return the decision's id.

    The caller queues the notice (from `send_after` when deferred) and links it with `link_outbox`.
    """
    wanted = Wanted(Kind.SERVICING_NOTICE, loan.id, loan.borrower_id)
    if conversation is None:
        decided = Decided(wanted, None, Verdict(Status.SUPPRESSED, Reason.NO_CHANNEL.value))
    else:
        found = recipients(session, [loan.borrower_id])
        recipient = found[loan.borrower_id]
        if (recipient.channel, recipient.address) != (conversation.channel, conversation.address):
            recipient = Recipient(loan.borrower_id, conversation.channel, conversation.address, conversation.id,
                                  conversation.locale, recipient.zones, recipient.specialist_open)  # fmt: skip
        decided = decide_all([wanted], {loan.borrower_id: recipient},
                             situation(session, [wanted], {loan.borrower_id: recipient}, servicer_day(now, rules),
                                       now, rules), now, rules)[0]  # fmt: skip
    [recorded] = record_decisions(session, [decided], now)
    return recorded.decision_id, decided.verdict


def link_outbox(session: Session, decision_id: int, message_id: int) -> None:
    """Name the outbox row a decision queued."""
    outbox_id = session.scalar(select(OutboxItem.id).where(OutboxItem.message_id == message_id))
    session.execute(update(ContactDecision).where(ContactDecision.id == decision_id).values(outbox_id=outbox_id))


# -- before the worker sends -------------------------------------------------------------------------------------


def check_before_sending(
    session: Session, outbox_id: int, message_id: int, channel: str, address: str, now: datetime, rules: ContactRules
) -> Verdict:
    """Decide again, at the moment of sending, a message the servicer started; record what changed.

    Consent, flags, a payment received today and the hours may have changed since it was queued; a reminder
    whose installment has been paid since is no longer due. The frequency cap counted it when it was queued.
    A proactive message queued without a decision (before the policy existed) is held to the hours only.
    """
    decision = session.scalar(select(ContactDecision).where(ContactDecision.outbox_id == outbox_id))
    if decision is None:
        return _hours_only(session, message_id, channel, address, now, rules)
    wanted = Wanted(Kind(decision.kind), decision.loan_id or 0, decision.borrower_id, decision.occasion)
    found = recipients(session, [decision.borrower_id])
    known = found.get(decision.borrower_id)
    zones = known.zones if known else ("UTC",)
    recipient = Recipient(decision.borrower_id, channel, address, None, "en", zones,
                          known.specialist_open if known else False)  # fmt: skip
    if not still_due(session, wanted):
        verdict = Verdict(Status.SUPPRESSED, Reason.NO_LONGER_DUE.value)
    else:
        facts = situation(session, [wanted], {decision.borrower_id: recipient}, servicer_day(now, rules), now, rules)
        verdict = decide(wanted.kind, facts.facts(wanted, recipient), now, rules, count_cap=False)
    if verdict.status is Status.DEFERRED:
        decision.status, decision.reason = Status.DEFERRED.value, verdict.reason
        decision.send_after = verdict.send_after
    elif verdict.status is Status.SUPPRESSED:
        decision.status, decision.reason = Status.SUPPRESSED.value, verdict.reason
    return verdict


def _hours_only(
    session: Session, message_id: int, channel: str, address: str, now: datetime, rules: ContactRules
) -> Verdict:
    borrower = session.execute(
        select(Borrower.id, Borrower.timezone, Borrower.timezone_given, Borrower.country)
        .join(Conversation, Conversation.borrower_id == Borrower.id)
        .join(Message, Message.conversation_id == Conversation.id)
        .where(Message.id == message_id)
    ).one_or_none()
    if ALL_PURPOSES in revoked_purposes(session, channel, address):
        return Verdict(Status.SUPPRESSED, Reason.OPTED_OUT.value)
    if borrower is None:
        zones: tuple[str, ...] = ("UTC",)
    else:
        phone = session.scalar(select(BorrowerPhone.e164).where(BorrowerPhone.borrower_id == borrower.id)
                               .order_by(BorrowerPhone.is_primary.desc(), BorrowerPhone.id).limit(1))  # fmt: skip
        numbers = [phone, address] if channel == "sms" else [phone]
        zones = candidate_zones(borrower.timezone, borrower.timezone_given, numbers, borrower.country)
    allowed = next_allowed_moment(zones, now, rules.contact_from, rules.contact_until)
    return Verdict(Status.DEFERRED, Reason.QUIET_HOURS.value, allowed) if allowed > now else Verdict(Status.QUEUED)


def still_due(session: Session, wanted: Wanted) -> bool:
    """Tell whether a reminder's installment is still unpaid (its occasion is the due date it reminds of)."""
    if wanted.kind not in (Kind.PAYMENT_REMINDER, Kind.PAST_DUE) or wanted.occasion is None:
        return True
    loan = session.execute(select(Loan.status, Loan.next_due_date).where(Loan.id == wanted.loan_id)).one_or_none()
    return loan is not None and loan.status == "active" and loan.next_due_date <= wanted.occasion


def mark_decision(session: Session, outbox_id: int, status: Status, reason: str | None = None) -> None:
    """Record what became of a queued message (sent, or failed when the provider gave up) on its decision."""
    values: dict[str, Any] = {"status": status.value}
    if reason is not None:
        values["reason"] = reason
    session.execute(update(ContactDecision).where(ContactDecision.outbox_id == outbox_id).values(values))


def record_stopped(session: Session, outbox_id: int, reason: str) -> None:
    """Record on its decision that a queued message was stopped before it was sent, and why."""
    mark_decision(session, outbox_id, Status.SUPPRESSED, reason)


# -- consent per channel and purpose ---------------------------------------------------------------------------


def revoke_consent(
    session: Session, channel: str, address: str, purposes: Sequence[str], now: datetime, *, actor: str
) -> bool:
    """Record that an address revoked consent for these purposes (`all`: nothing at all), at once.

    Returns whether anything was new (the confirmation is sent once: not for a revocation already on file).
    Messages already queued for those purposes are stopped by the worker's check before sending.
    """
    before = revoked_purposes(session, channel, address)
    new = [p for p in purposes if p not in before and ALL_PURPOSES not in before]
    for purpose in new:
        set_opt_out(session, channel, address, True, now, purpose)
    if new:
        record_audit(session, actor, "consent.revoked", "address", mask_address(channel, address),
                     {"channel": channel, "purposes": sorted(new)})  # fmt: skip
    return bool(new)


def restore_consent(session: Session, channel: str, address: str, now: datetime, *, actor: str) -> bool:
    """Give back every purpose an address revoked (START); return whether it had revoked anything."""
    if not revoked_purposes(session, channel, address):
        return False
    set_opt_out(session, channel, address, False, now, ALL_PURPOSES)
    record_audit(session, actor, "consent.restored", "address", mask_address(channel, address), {"channel": channel})
    return True
