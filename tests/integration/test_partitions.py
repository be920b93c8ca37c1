"""The ledger and the messages partitioned by month on PostgreSQL (`loanline partitions enable`, opt-in): rows in
the partition of their month, balances and postings unchanged, the immutable-ledger trigger kept, an inbound
message stored once across a month boundary, the outbox still sending, next months made ahead."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import Engine as Bot
from bot.engine import InboundMessage
from servicing.config import Settings
from servicing.conversations import (
    add_internal_note,
    find_or_open_conversation,
    record_inbound,
    record_outbound,
    transcript_page,
)
from servicing.desk.mentions import notify_mention
from servicing.eod import run_eod
from servicing.errors import InvalidInput
from servicing.operations.partitions import (
    create_partitions_ahead,
    month_start,
    partition_ledger,
    partition_messages,
)
from servicing.outbox import deliver_outbox
from servicing.payments import PaymentInstruction, post_payments
from servicing.rules.ledger import Balances
from servicing.store.accounts import ledger_balances
from servicing.store.models import LedgerEntry, Loan, Message, Notification, OutboxItem
from tests.integration.helpers import board

pytestmark = pytest.mark.postgres
TODAY = datetime.now(UTC).date()


@pytest.fixture
def postgres(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip("declarative partitioning is PostgreSQL's")
    return database_url


def balances(sessions: sessionmaker[Session]) -> dict[int, Balances]:
    """Every loan's balances summed from its ledger lines (across the partitions, once partitioned)."""
    with sessions() as session:
        return ledger_balances(session)


def lines_by_partition(engine: Engine) -> list[tuple[str, date]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT tableoid::regclass::text, posted_at FROM ledger_entries"))
        return [(str(name), posted.date()) for name, posted in rows]


def test_the_ledger_is_partitioned_by_month_and_keeps_its_rows_balances_and_rules(
    postgres: str, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        numbers = [board(session, loan_number=f"PT-{n}") for n in range(3)]
    run_eod(sessions, date(2026, 3, 20), country="US")
    with engine.begin() as connection:  # lines posted in earlier months, as a ledger years old holds
        connection.execute(text("ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_immutable"))
        connection.execute(text("UPDATE ledger_entries SET posted_at = posted_at - interval '70 days' "
                                "WHERE id % 2 = 0"))  # fmt: skip
        connection.execute(text("ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_immutable"))
    before = balances(sessions)
    assert len(before) == 3
    with sessions() as session:
        count = session.scalar(select(func.count()).select_from(LedgerEntry))
    made = partition_ledger(engine, TODAY)
    assert len(made) >= 4  # from the oldest line's month to two months ahead
    with engine.connect() as connection:
        kind = connection.scalar(text("SELECT relkind FROM pg_class WHERE oid = 'ledger_entries'::regclass"))
    assert kind == "p"
    placed = lines_by_partition(engine)
    assert len(placed) == count
    assert all(name == f"ledger_entries_y{posted.year}m{posted.month:02d}" for name, posted in placed)
    assert len({name for name, _ in placed}) >= 2
    assert balances(sessions) == before
    with sessions.begin() as session:  # a payment lands in this month's partition, through the same code
        loan_id = session.scalar(select(Loan.id).where(Loan.loan_number == numbers[0]))
        assert loan_id is not None
        post_payments(session, [PaymentInstruction(loan_number=numbers[0], amount=Decimal("500.00"),
                                                   received_on=date(2026, 3, 20), reference="PT-PAY-1")],
                      today=date(2026, 3, 20), business_date=date(2026, 3, 20), actor="test")  # fmt: skip
    newest = max(lines_by_partition(engine), key=lambda line: line[1])
    assert newest[0] == f"ledger_entries_y{TODAY.year}m{TODAY.month:02d}"
    with engine.begin() as connection, pytest.raises(DBAPIError, match="immutable"):
        connection.execute(text("UPDATE ledger_entries SET memo = 'changed'"))
    with engine.begin() as connection, pytest.raises(DBAPIError, match="immutable"):
        connection.execute(text("DELETE FROM ledger_entries"))


def test_partitions_are_made_ahead_once_and_enabling_twice_is_refused(postgres: str, engine: Engine) -> None:
    assert create_partitions_ahead(engine, TODAY) == []  # not partitioned yet: nothing to make
    partition_ledger(engine, TODAY)
    later = month_start(TODAY, 5)
    made = create_partitions_ahead(engine, later)
    assert made == [f"ledger_entries_y{m.year}m{m.month:02d}" for m in (later, month_start(later, 1),
                                                                         month_start(later, 2))]  # fmt: skip
    assert create_partitions_ahead(engine, later) == []
    with pytest.raises(InvalidInput, match="already partitioned"):
        partition_ledger(engine, TODAY)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM ledger_entries_default")) == 0


def test_both_tables_get_their_months_ahead_once_and_partitioning_the_messages_twice_is_refused(
    postgres: str, engine: Engine
) -> None:
    partition_ledger(engine, TODAY)
    partition_messages(engine, TODAY)
    later = month_start(TODAY, 5)
    months = (later, month_start(later, 1), month_start(later, 2))
    assert create_partitions_ahead(engine, later) == [
        f"{table}_y{m.year}m{m.month:02d}" for table in ("ledger_entries", "messages") for m in months
    ]
    assert create_partitions_ahead(engine, later) == []
    with pytest.raises(InvalidInput, match="already partitioned"):
        partition_messages(engine, TODAY)
    with engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM messages_default")) == 0


# A provider's message at the end of a month, and its retry a few seconds later, in the next month.
MONTH_END = datetime(2026, 9, 30, 23, 59, 55, tzinfo=UTC)
NEXT_MONTH = datetime(2026, 10, 1, 0, 0, 5, tzinfo=UTC)
ADDRESS = "+15557770001"


class Sender:
    def __init__(self) -> None:
        self.sent: list[str] = []

    def send(self, address: str, body: str) -> str:
        self.sent.append(body)
        return f"SM-OUT-{len(self.sent)}"


def receive(sessions: sessionmaker[Session], provider_id: str, body: str, now: datetime, *, lock: bool) -> bool:
    """Store an inbound SMS as the webhook (`lock`) or the other callers do; return whether it was a duplicate."""
    with sessions.begin() as session:
        return record_inbound(session, "sms", ADDRESS, body, provider_id=provider_id, now=now, lock=lock).duplicate


def messages_by_partition(engine: Engine) -> list[tuple[str, date]]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT tableoid::regclass::text, created_at FROM messages"))
        return [(str(name), created.astimezone(UTC).date()) for name, created in rows]


def transcript(sessions: sessionmaker[Session], conversation_id: int) -> list[tuple[int, str, str, datetime]]:
    with sessions() as session:
        return [(m.id, m.direction, m.body, m.created_at) for m in transcript_page(session, conversation_id)]


def test_partitioned_messages_store_a_retry_across_a_month_boundary_once_and_keep_the_outbox_and_transcripts(
    postgres: str, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    assert not receive(sessions, "SM-A", "What is my balance?", MONTH_END, lock=True)
    assert not receive(sessions, "SM-B", "And my payoff?", MONTH_END - timedelta(days=40), lock=False)
    with sessions.begin() as session:
        conversation = find_or_open_conversation(session, "sms", ADDRESS, MONTH_END)
        conversation_id = conversation.id
        record_outbound(session, conversation, "Queued in September.", author="specialist:ana", now=MONTH_END,
                        deliver_later=True)  # fmt: skip
        note = add_internal_note(session, conversation_id, "ana", "@ben look at this one", MONTH_END)
        session.flush()
        notify_mention(session, "ben", note, "ana", MONTH_END)
    before = transcript(sessions, conversation_id)

    made = partition_messages(engine, TODAY)

    assert "messages_y2026m08" in made and "messages_y2026m10" in made
    placed = messages_by_partition(engine)
    assert len(placed) == len(before) == 4
    assert all(name == f"messages_y{created.year}m{created.month:02d}" for name, created in placed)
    assert transcript(sessions, conversation_id) == before
    with engine.connect() as connection:  # the generated search words came along, with their index
        found = connection.scalar(text("SELECT count(*) FROM messages "
                                       "WHERE search_words @@ to_tsquery('simple', 'balance')"))  # fmt: skip
        assert found == 1 and connection.scalar(text("SELECT to_regclass('search_messages_words') IS NOT NULL"))
    # the provider retries across the month boundary, on the webhook's path and the other one: stored once
    assert receive(sessions, "SM-A", "What is my balance?", NEXT_MONTH, lock=True)
    assert receive(sessions, "SM-B", "And my payoff?", NEXT_MONTH, lock=False)
    assert not receive(sessions, "SM-C", "Thanks", NEXT_MONTH, lock=True)
    with sessions() as session:
        bodies = session.scalars(select(Message.body).where(Message.direction == "in").order_by(Message.id)).all()
    assert bodies == ["What is my balance?", "And my payoff?", "Thanks"]
    assert ("messages_y2026m10", NEXT_MONTH.date()) in messages_by_partition(engine)
    # the outbox sends what was queued before and after, and marks each message in its own month's partition
    with sessions.begin() as session:
        conversation = find_or_open_conversation(session, "sms", ADDRESS, NEXT_MONTH)
        record_outbound(session, conversation, "Queued in October.", author="specialist:ana", now=NEXT_MONTH,
                        deliver_later=True)  # fmt: skip
    sender = Sender()
    report = deliver_outbox(sessions, {"sms": sender}, worker="w1", clock=lambda: datetime.now(UTC))
    assert (report.sent, sorted(sender.sent)) == (2, ["Queued in October.", "Queued in September."])
    with sessions() as session:
        statuses = session.execute(select(Message.body, Message.status, Message.provider_id)
                                   .where(Message.body.like("Queued%")).order_by(Message.id)).all()  # fmt: skip
        assert session.scalar(select(func.count()).select_from(Notification)) == 1
    assert [(body, status) for body, status, _ in statuses] == [("Queued in September.", "sent"),
                                                                 ("Queued in October.", "sent")]  # fmt: skip
    assert all(provider_id for _, _, provider_id in statuses)
    assert [m[:3] for m in transcript(sessions, conversation_id)][: len(before)] == [m[:3] for m in before]


def test_a_reference_to_a_partitioned_message_must_name_its_created_at(
    postgres: str, engine: Engine, sessions: sessionmaker[Session]
) -> None:
    with sessions.begin() as session:
        conversation = find_or_open_conversation(session, "sms", ADDRESS, MONTH_END)
        message = record_outbound(session, conversation, "Hello", author="bot", now=MONTH_END)
        message_id = message.id
    partition_messages(engine, TODAY)
    with engine.connect() as connection:
        keys = connection.execute(text("SELECT conrelid::regclass::text, array_length(conkey, 1) FROM pg_constraint "
                                       "WHERE contype = 'f' AND confrelid = 'messages'::regclass")).all()  # fmt: skip
    assert sorted(keys) == [("notifications", 2), ("outbox", 2), ("satisfaction_surveys", 2),
                            ("satisfaction_surveys", 2)]  # fmt: skip
    with pytest.raises(IntegrityError), sessions.begin() as session:
        session.add(OutboxItem(message_id=message_id, message_created_at=MONTH_END + timedelta(days=1), channel="sms",
                               address=ADDRESS, body="Hello", status="pending", next_attempt_at=MONTH_END,
                               created_at=MONTH_END))  # fmt: skip


def test_the_bot_verifies_and_answers_on_partitioned_messages_and_a_retried_message_is_not_answered_again(
    postgres: str, engine: Engine, sessions: sessionmaker[Session], settings: Settings
) -> None:
    phone = "+15557770042"
    with sessions.begin() as session:
        board(session, phone=phone)
    partition_messages(engine, TODAY)
    bot = Bot(sessions, settings, clock=lambda: datetime.now(UTC))
    bot.handle(InboundMessage("sms", phone, "balance", provider_id="SM-P1"))
    answers = bot.handle(InboundMessage("sms", phone, "05/04/1980", provider_id="SM-P2"))
    assert "verified" in answers[0].text and "principal balance" in answers[1].text
    assert bot.handle(InboundMessage("sms", phone, "05/04/1980", provider_id="SM-P2")) == []
    this_month = f"messages_y{TODAY.year}m{TODAY.month:02d}"
    placed = messages_by_partition(engine)
    assert len(placed) >= 4 and all(name == this_month for name, _ in placed)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message).where(Message.direction == "in")) == 2
