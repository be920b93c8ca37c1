"""Assignment: waiting conversations go to available specialists with the language, the skill and room, fairly."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from loanline.cli import main
from servicing.conversations import (
    AlreadyClaimed,
    EscalationReason,
    claim_conversation,
    reply_to_borrower,
)
from servicing.staffing.assignment import assign_waiting_conversations
from servicing.staffing.presence import set_presence
from servicing.staffing.team import transfer_to_skill_queue
from servicing.store.models import AuditEntry, Conversation, Specialist
from tests.integration.staffing_helpers import specialist, staff, waiting


def assign(sessions: sessionmaker[Session]) -> dict[int, str]:
    with sessions.begin() as session:
        return {
            offer.conversation_id: offer.username for offer in assign_waiting_conversations(session, datetime.now(UTC))
        }


def owners(sessions: sessionmaker[Session]) -> dict[int, str | None]:
    with sessions() as session:
        return dict(session.execute(select(Conversation.id, Conversation.assigned_to)).tuples().all())


def test_the_most_urgent_conversation_goes_first_to_the_only_free_place(sessions: sessionmaker[Session]) -> None:
    staff(sessions, "ana", capacity=1)
    asked = waiting(sessions, "+15550000001", EscalationReason.ASKED, minutes_ago=30)
    locked = waiting(sessions, "+15550000002", EscalationReason.LOCKED_OUT, minutes_ago=1)
    assert assign(sessions) == {locked: "ana"}
    assert owners(sessions)[asked] is None


def test_the_least_loaded_specialist_gets_the_next_conversation_and_ties_go_to_the_longest_idle(
    sessions: sessionmaker[Session],
) -> None:
    staff(sessions, "ana")
    staff(sessions, "ben")
    with sessions.begin() as session:
        specialist(session, "ana").last_assigned_at = datetime.now(UTC) - timedelta(hours=2)
        specialist(session, "ben").last_assigned_at = datetime.now(UTC) - timedelta(hours=1)
    first = waiting(sessions, "+15550000011", minutes_ago=20)
    second = waiting(sessions, "+15550000012", minutes_ago=10)
    third = waiting(sessions, "+15550000013", minutes_ago=5)
    assert assign(sessions) == {first: "ana", second: "ben", third: "ana"}


def test_nobody_gets_a_conversation_in_a_language_or_skill_they_lack_or_beyond_capacity(
    sessions: sessionmaker[Session],
) -> None:
    staff(sessions, "ana", languages=("en",), skills=("general",), capacity=1)
    staff(sessions, "lucia", languages=("en", "es"), skills=("loss_mitigation",), capacity=1)
    spanish_hardship = waiting(sessions, "+15550000021", EscalationReason.HARDSHIP, locale="es_US", minutes_ago=9)
    french = waiting(sessions, "+15550000022", EscalationReason.ASKED, locale="fr", minutes_ago=8)
    dispute = waiting(sessions, "+15550000023", EscalationReason.DISPUTE, minutes_ago=7)
    english = waiting(sessions, "+15550000024", EscalationReason.ASKED, minutes_ago=6)
    second_english = waiting(sessions, "+15550000025", EscalationReason.ASKED, minutes_ago=5)
    assert assign(sessions) == {spanish_hardship: "lucia", english: "ana"}
    held = owners(sessions)
    assert held[french] is None and held[dispute] is None and held[second_english] is None


def test_away_and_offline_specialists_get_nothing_until_they_are_available(sessions: sessionmaker[Session]) -> None:
    staff(sessions, "ana", presence="away")
    staff(sessions, "ben", presence="offline")
    conversation = waiting(sessions, "+15550000031")
    assert assign(sessions) == {}
    with sessions.begin() as session:
        set_presence(session, "ben", "available", datetime.now(UTC))
    assert assign(sessions) == {conversation: "ben"}


def test_going_offline_hands_back_the_conversations_not_yet_answered(sessions: sessionmaker[Session]) -> None:
    staff(sessions, "ana")
    answered = waiting(sessions, "+15550000041", minutes_ago=20)
    unanswered = waiting(sessions, "+15550000042", minutes_ago=10)
    assert assign(sessions) == {answered: "ana", unanswered: "ana"}
    with sessions.begin() as session:
        reply_to_borrower(session, answered, "ana", "Hello, I am looking at it.", datetime.now(UTC))
    with sessions.begin() as session:
        handed_back = set_presence(session, "ana", "offline", datetime.now(UTC))
    assert handed_back == [unanswered]
    with sessions() as session:
        back = session.get_one(Conversation, unanswered)
        assert (back.state, back.assigned_to) == ("queued", None)
        assert back.queued_at is not None
        assert back.queued_at.replace(tzinfo=UTC) < datetime.now(UTC) - timedelta(minutes=9)  # its place kept
        assert session.get_one(Conversation, answered).assigned_to == "ana"
        actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "ana")))
    assert {"conversation.handed_back", "specialist.presence"} <= actions


def test_a_conversation_sent_to_a_skill_queue_goes_to_someone_with_that_skill(sessions: sessionmaker[Session]) -> None:
    staff(sessions, "ana", skills=("general",))
    conversation = waiting(sessions, "+15550000051")
    assert assign(sessions) == {conversation: "ana"}
    staff(sessions, "paul", skills=("payoffs",))
    with sessions.begin() as session:
        transfer_to_skill_queue(session, conversation, "ana", "payoffs")
    assert assign(sessions) == {conversation: "paul"}


def test_racing_assignments_and_claims_leave_each_conversation_exactly_one_owner_within_capacity(
    sessions: sessionmaker[Session],
) -> None:
    for name in ("ana", "ben", "cy"):
        staff(sessions, name, capacity=4)
    conversations = [waiting(sessions, f"+1555000{n:04d}", minutes_ago=60 - n) for n in range(20)]
    barrier = threading.Barrier(6)
    claimed: list[tuple[str, int]] = []
    errors: list[BaseException] = []

    def assigner() -> None:
        try:
            barrier.wait()
            for _ in range(3):
                assign(sessions)
        except BaseException as error:  # the test reports any failure of a thread
            errors.append(error)

    def claimer(name: str) -> None:
        try:
            barrier.wait()
            for conversation_id in conversations:
                try:
                    with sessions.begin() as session:
                        claim_conversation(session, conversation_id, name, datetime.now(UTC))
                    claimed.append((name, conversation_id))
                except AlreadyClaimed:
                    pass
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=assigner) for _ in range(3)]
    threads += [threading.Thread(target=claimer, args=(name,)) for name in ("dee", "eve", "fay")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    held = owners(sessions)
    assert all(held[c] is not None for c in conversations)
    with sessions() as session:
        taken = (
            session.execute(
                select(AuditEntry.subject_id, func.count())
                .where(AuditEntry.action.in_(("conversation.assigned", "conversation.claimed")))
                .group_by(AuditEntry.subject_id)
            )
            .tuples()
            .all()
        )
        assert {int(subject): count for subject, count in taken} == dict.fromkeys(conversations, 1)
    by_claim = {conversation_id: name for name, conversation_id in claimed}
    assert all(held[c] == by_claim[c] for c in by_claim)
    for name in ("ana", "ben", "cy"):
        assert sum(1 for owner in held.values() if owner == name) <= 4


def test_loanline_assign_offers_the_waiting_conversations_and_says_who_got_them(
    sessions: sessionmaker[Session], cli_env: dict[str, str]
) -> None:
    staff(sessions, "ana")
    conversation = waiting(sessions, "+15550000061")
    result = CliRunner().invoke(main, ["assign"], catch_exceptions=False, prog_name="loanline")
    assert result.exit_code == 0
    assert f"conversation {conversation} -> ana (general)" in result.output
    assert "1 conversations assigned" in result.output
    assert owners(sessions)[conversation] == "ana"


def test_loanline_specialist_add_sets_languages_skills_and_capacity_and_refuses_unknown_ones(
    sessions: sessionmaker[Session], cli_env: dict[str, str]
) -> None:
    def add(*options: str) -> tuple[int, str]:
        result = CliRunner().invoke(main, ["specialist", "add", *options, "--password-stdin"],
                                    input="long enough password\n", prog_name="loanline")  # fmt: skip
        return result.exit_code, result.output

    assert add("lucia", "--languages", "en,es", "--skills", "loss_mitigation,general", "--capacity", "5")[0] == 0
    with sessions() as session:
        lucia = specialist(session, "lucia")
        assert (lucia.languages, lucia.skills, lucia.capacity) == (["en", "es"], ["loss_mitigation", "general"], 5)
    code, output = add("marc", "--languages", "klingon")
    assert code == 1 and "languages: at least one of" in output
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Specialist).where(Specialist.username == "marc")) == 0
