"""Conversations in the core: messages stored once, the queue, claims, verification and lockout, opt-out."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from servicing.conversations import (
    AlreadyClaimed,
    ConversationError,
    EscalationReason,
    bot_may_answer,
    claim_conversation,
    escalate,
    is_locked,
    is_opted_out,
    is_verified,
    keep_verified,
    record_failed_verification,
    record_inbound,
    record_outbound,
    resolve_conversation,
    set_opt_out,
    transfer_conversation,
    unassign_conversation,
)
from servicing.store.models import AuditEntry, Conversation, FraudAlert, Message, OutboxItem
from tests.integration.helpers import board

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


def queued_conversation(sessions: sessionmaker[Session], address: str = "+15550001111") -> int:
    with sessions.begin() as session:
        inbound = record_inbound(session, "sms", address, "talk to a person", provider_id="SM1", now=NOW)
        escalate(session, inbound.conversation, EscalationReason.ASKED, NOW)
        return inbound.conversation.id


def test_an_inbound_message_is_stored_once_however_often_the_provider_delivers_it(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        first = record_inbound(session, "sms", "+15550001111", "balance", provider_id="SM123", now=NOW)
        again = record_inbound(session, "sms", "+15550001111", "balance", provider_id="SM123", now=NOW)
        assert (first.duplicate, again.duplicate) == (False, True)
        assert session.scalar(select(func.count()).select_from(Message)) == 1


def test_a_conversation_from_a_phone_on_file_knows_its_borrower_and_language(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        board(session, phone="+5511987654321", locale="pt_BR", country="BR", currency="BRL")
        inbound = record_inbound(session, "sms", "+5511987654321", "oi", provider_id="SM9", now=NOW)
        assert inbound.conversation.borrower_id is not None
        assert inbound.conversation.locale == "pt_BR"


def test_an_escalated_conversation_waits_for_a_person_with_its_reason_and_priority(
    sessions: sessionmaker[Session],
) -> None:
    conversation_id = queued_conversation(sessions)
    with sessions.begin() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        assert (conversation.state, conversation.escalation_reason, conversation.priority) == ("queued", "asked", 40)
        assert not bot_may_answer(conversation)
        escalate(session, conversation, EscalationReason.SENSITIVE, NOW)  # a later, graver reason raises priority
        assert conversation.priority == 80


def test_the_second_of_two_claims_is_told_someone_else_has_it(sessions: sessionmaker[Session]) -> None:
    conversation_id = queued_conversation(sessions)
    with sessions.begin() as session:
        claim_conversation(session, conversation_id, "ana", NOW)
    with sessions.begin() as session, pytest.raises(AlreadyClaimed, match="already claimed by ana"):
        claim_conversation(session, conversation_id, "ben", NOW)


def test_two_specialists_clicking_claim_at_once_give_one_owner(sessions: sessionmaker[Session]) -> None:
    if sessions.kw["bind"].dialect.name != "postgresql":
        pytest.skip("concurrent writers are a PostgreSQL matter")
    conversation_id = queued_conversation(sessions)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def click(specialist: str) -> None:
        with sessions() as session:
            barrier.wait()
            try:
                claim_conversation(session, conversation_id, specialist, NOW)
                session.commit()
                outcomes.append("won")
            except AlreadyClaimed:
                session.rollback()
                outcomes.append("told")

    threads = [threading.Thread(target=click, args=(name,)) for name in ("ana", "ben")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["told", "won"]
    with sessions() as session:
        claims = session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "conversation.claimed")
        )
        assert claims == 1


def test_a_specialist_can_unassign_transfer_and_resolve_only_what_they_hold(sessions: sessionmaker[Session]) -> None:
    conversation_id = queued_conversation(sessions)
    with sessions.begin() as session:
        claim_conversation(session, conversation_id, "ana", NOW)
        with pytest.raises(ConversationError, match="not assigned to ben"):
            resolve_conversation(session, conversation_id, "ben")
        transfer_conversation(session, conversation_id, "ana", "ben", NOW)
        unassign_conversation(session, conversation_id, "ben")
        claim_conversation(session, conversation_id, "ana", NOW)
        conversation = resolve_conversation(session, conversation_id, "ana")
        assert (conversation.state, conversation.assigned_to, conversation.escalation_reason) == ("bot", None, None)
        assert bot_may_answer(conversation)


def test_verification_lasts_fifteen_minutes_from_the_last_message(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        conversation = record_inbound(session, "sms", "+15550002222", "hi", provider_id="SM2", now=NOW).conversation
        keep_verified(conversation, NOW)
        assert is_verified(conversation, NOW + timedelta(minutes=14))
        keep_verified(conversation, NOW + timedelta(minutes=14))
        assert is_verified(conversation, NOW + timedelta(minutes=28))
        assert not is_verified(conversation, NOW + timedelta(minutes=29, seconds=1))


def test_three_failed_verifications_lock_the_address_for_thirty_minutes_and_raise_a_fraud_alert(
    sessions: sessionmaker[Session],
) -> None:
    with sessions.begin() as session:
        conversation = record_inbound(session, "sms", "+15550003333", "hi", provider_id="SM3", now=NOW).conversation
        assert [record_failed_verification(session, conversation, NOW) for _ in range(3)] == [False, False, True]
        assert is_locked(conversation, NOW + timedelta(minutes=29))
        assert not is_locked(conversation, NOW + timedelta(minutes=31))
        [alert] = session.scalars(select(FraudAlert)).all()
        assert alert.address_masked == "sms:…3333"  # the full number is not repeated in the alert


def test_a_specialist_reply_goes_through_the_outbox(sessions: sessionmaker[Session]) -> None:
    conversation_id = queued_conversation(sessions)
    with sessions.begin() as session:
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        message = record_outbound(session, conversation, "Hi, this is Ana.", author="specialist:ana", now=NOW,
                                  deliver_later=True)  # fmt: skip
        item = session.scalar(select(OutboxItem).where(OutboxItem.message_id == message.id))
        assert item is not None
        assert (item.status, item.address, message.status) == ("pending", "+15550001111", "queued")


def test_stop_opts_a_number_out_until_start(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        set_opt_out(session, "sms", "+15550004444", True, NOW)
        assert is_opted_out(session, "sms", "+15550004444")
        set_opt_out(session, "sms", "+15550004444", False, NOW)
        assert not is_opted_out(session, "sms", "+15550004444")
