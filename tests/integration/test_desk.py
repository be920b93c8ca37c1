"""The specialists' desk in the core and through the bot: macros, @mentions and the satisfaction survey."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import Engine, InboundMessage
from loanline.cli import main
from servicing.canned import BY_KEY
from servicing.config import Settings
from servicing.conversations import (
    BACK_TO_BOT,
    BorrowerOptedOut,
    ConversationError,
    EscalationReason,
    claim_conversation,
    escalate,
    record_inbound,
    set_opt_out,
)
from servicing.desk.macros import MacroDraft, MacroError, apply_macro, define_macro, retire_macro
from servicing.desk.mentions import mentioned_names, note_with_mentions, notifications_of, unread_notifications
from servicing.desk.satisfaction import QUESTION, THANKS, ask_for_satisfaction, record_satisfaction, resolve_with_survey
from servicing.outreach.policy import revoke_consent
from servicing.reports import REPORTS
from servicing.speaking import Speaker
from servicing.specialists import Role, add_specialist
from servicing.store.db import make_engine, make_session_factory
from servicing.store.models import (
    AuditEntry,
    Borrower,
    BorrowerPhone,
    ContactDecision,
    Conversation,
    Loan,
    Macro,
    Message,
    Notification,
    OutboxItem,
    SatisfactionSurvey,
)
from tests.integration.helpers import Clock, board

NOW = datetime(2026, 1, 27, 16, 0, tzinfo=UTC)  # 11:00 in New York: inside every US zone's contact hours
TODAY = date(2026, 1, 27)
# One way each language rates the help in words, and the score it means.
RATINGS_IN_WORDS = {
    "en_US": ("very satisfied", 5), "es_US": ("muy mal", 1), "fr_CA": ("bof", 3), "pt_BR": ("ótimo", 5),
    "de_DE": ("zufrieden", 4), "it_IT": ("così così", 3), "hi_IN": ("बहुत अच्छा", 5), "id_ID": ("kurang puas", 2),
}  # fmt: skip


def held_conversation(sessions: sessionmaker[Session], locale: str = "en_US", holder: str = "sam") -> int:
    """Board a loan whose borrower texts from their phone; escalate it and let `holder` claim it."""
    with sessions.begin() as session:
        loan_number = board(session, locale=locale, timezone="America/New_York")
        inbound = record_inbound(session, "sms", _phone_of(session, loan_number), "I need help", provider_id=None,
                                 now=NOW - timedelta(minutes=10))  # fmt: skip
        conversation = inbound.conversation
        conversation.locale = locale
        escalate(session, conversation, EscalationReason.ASKED, NOW - timedelta(minutes=10))
        claim_conversation(session, conversation.id, holder, NOW - timedelta(minutes=5))
        return conversation.id


def _phone_of(session: Session, loan_number: str) -> str:

    loan = session.scalars(select(Loan).where(Loan.loan_number == loan_number)).one()
    return (
        session.scalars(select(BorrowerPhone.e164).where(BorrowerPhone.borrower_id == loan.borrower_id)).first() or ""
    )


def texts_back(sessions: sessionmaker[Session], settings: Settings, conversation_id: int, text: str,
               at: datetime) -> str:  # fmt: skip
    """Let the conversation's borrower send `text` at `at` through the bot; return what the bot answered."""
    with sessions() as session:
        conversation = session.get_one(Conversation, conversation_id)
        channel, address = conversation.channel, conversation.address
    engine = Engine(sessions, settings, clock=Clock(at))
    replies = engine.handle(InboundMessage(channel, address, text, provider_id=f"{address}-{at.timestamp()}-{text}"))
    return "\n".join(reply.text for reply in replies)


def staff(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        for username, role in (("sam", Role.SPECIALIST), ("ana", Role.SPECIALIST), ("sue", Role.SUPERVISOR)):
            add_specialist(session, username, "password-123", role, actor="test")


# -- the survey ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", sorted(RATINGS_IN_WORDS))
def test_a_resolved_borrower_is_asked_in_their_language_and_their_words_count_for_the_specialist(
    sessions: sessionmaker[Session], settings: Settings, locale: str
) -> None:
    conversation_id = held_conversation(sessions, locale)
    with sessions.begin() as session:
        survey = resolve_with_survey(session, conversation_id, "sam", NOW, survey=True)
        assert survey is not None and survey.status == "asked"
    with sessions() as session:
        question = session.scalars(select(OutboxItem).order_by(OutboxItem.id.desc())).first()
        decision = session.scalars(select(ContactDecision)).one()
    speaker = Speaker(locale)
    assert question is not None and question.proactive
    assert question.body.startswith(speaker.say(QUESTION))
    assert speaker.say(QUESTION) != Speaker("en").say(QUESTION) or locale == "en_US"
    assert (decision.kind, decision.purpose, decision.status, decision.outbox_id) == (
        "satisfaction_survey", "reminder", "queued", question.id)  # fmt: skip

    words, score = RATINGS_IN_WORDS[locale]
    answer = texts_back(sessions, settings, conversation_id, words, NOW + timedelta(hours=1))

    assert answer == speaker.say(THANKS)
    with sessions() as session:
        kept = session.scalars(select(SatisfactionSurvey)).one()
        assert (kept.status, kept.score, kept.specialist) == ("answered", score, "sam")
        assert session.get_one(Message, kept.answer_message_id or 0).body == words
    with sessions() as session:
        rows = REPORTS["satisfaction"](session, TODAY)
    assert rows[0]["specialist"] == "sam" and rows[0]["answered"] == 1 and rows[0]["average_score"] == score
    assert rows[-1]["specialist"] == "all"


def test_a_digit_answers_but_only_within_the_window_and_only_once(
    sessions: sessionmaker[Session], settings: Settings
) -> None:
    conversation_id = held_conversation(sessions)
    with sessions.begin() as session:
        resolve_with_survey(session, conversation_id, "sam", NOW, survey=True)

    late = texts_back(sessions, settings, conversation_id, "4", NOW + timedelta(days=3))
    assert late != Speaker("en").say(THANKS)
    with sessions() as session:
        assert session.scalars(select(SatisfactionSurvey.status)).one() == "asked"

    with sessions.begin() as session:
        session.get_one(SatisfactionSurvey, 1).asked_at = NOW + timedelta(days=3)  # as if it went out later
        session.get_one(Conversation, conversation_id).flow = {}  # the late "4" started a question: leave it
    assert texts_back(sessions, settings, conversation_id, "4/5", NOW + timedelta(days=3, hours=1)) == Speaker(
        "en"
    ).say(THANKS)
    again = texts_back(sessions, settings, conversation_id, "1", NOW + timedelta(days=3, hours=2))
    assert again != Speaker("en").say(THANKS)
    with sessions() as session:
        assert session.scalars(select(SatisfactionSurvey.score)).one() == 4


def test_a_borrower_who_revoked_reminders_is_not_asked_and_one_asked_this_week_is_not_asked_again(
    sessions: sessionmaker[Session],
) -> None:
    revoked = held_conversation(sessions)
    with sessions.begin() as session:
        conversation = session.get_one(Conversation, revoked)
        revoke_consent(session, "sms", conversation.address, ["reminder"], NOW, actor="test")
        survey = resolve_with_survey(session, revoked, "sam", NOW, survey=True)
        assert survey is not None and (survey.status, survey.reason) == ("suppressed", "opted_out")
        assert session.scalar(select(func.count()).select_from(OutboxItem).where(OutboxItem.proactive)) == 0

    asked = held_conversation(sessions)
    with sessions.begin() as session:
        resolve_with_survey(session, asked, "sam", NOW, survey=True)
        claim_again = session.get_one(Conversation, asked)
        escalate(session, claim_again, EscalationReason.ASKED, NOW + timedelta(hours=1))
        claim_conversation(session, asked, "ana", NOW + timedelta(hours=1))
        second = resolve_with_survey(session, asked, "ana", NOW + timedelta(hours=2), survey=True)
        assert second is not None and (second.status, second.reason) == ("suppressed", "asked_recently")


def test_a_survey_in_the_borrowers_night_waits_for_their_morning(sessions: sessionmaker[Session]) -> None:
    conversation_id = held_conversation(sessions)
    night = datetime(2026, 1, 28, 5, 0, tzinfo=UTC)  # midnight in New York
    with sessions.begin() as session:
        survey = ask_for_satisfaction(session, conversation_id, "sam", night)
        assert survey is not None and survey.asked_at is not None and survey.asked_at > night
        item = session.scalars(select(OutboxItem)).one()
        assert item.next_attempt_at == survey.asked_at


# -- mentions ------------------------------------------------------------------------------------------------


def test_mentions_are_usernames_after_an_at_sign_and_not_email_addresses() -> None:
    assert mentioned_names("@ana please look, cc @Sue. mail jo@example.com @ana") == ["ana", "sue"]
    assert mentioned_names("no one here") == []


def test_a_note_notifies_each_active_colleague_it_names_once_and_leaves_other_names_as_text(
    sessions: sessionmaker[Session],
) -> None:
    staff(sessions)
    conversation_id = held_conversation(sessions)
    with sessions.begin() as session:
        kept = note_with_mentions(session, conversation_id, "sam", "@ana @sue see this; @nobody @sam @ana", NOW)
        assert kept.notified == ("ana", "sue")
    with sessions() as session:
        assert unread_notifications(session, "ana") == 1
        assert unread_notifications(session, "sam") == 0  # the writer is not notified of their own note
        [line] = notifications_of(session, "ana")
        assert (line.by, line.conversation_id, line.note) == (
            "sam",
            conversation_id,
            "@ana @sue see this; @nobody @sam @ana",
        )
        audited = session.scalars(select(AuditEntry.detail).where(AuditEntry.action == "specialist.mentioned")).all()
        assert sorted(detail["mentioned"] for detail in audited) == ["ana", "sue"]
        assert session.scalar(select(func.count()).select_from(Notification)) == 2


# -- macros --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "draft",
    [
        MacroDraft(""),
        MacroDraft("Nothing"),
        MacroDraft("Bad key", shortcut="0", resolve=True),
        MacroDraft("Bad canned", canned_key="no_such_reply"),
        MacroDraft("Bad reason", reason="bored"),
        MacroDraft("Survey alone", survey=True),
        MacroDraft("Bad queue", transfer_to="sales"),
        MacroDraft("Both ways", transfer_to="payoffs", resolve=True),
    ],
)
def test_a_macro_that_is_wrong_is_refused_and_nothing_is_saved(
    sessions: sessionmaker[Session], draft: MacroDraft
) -> None:
    with pytest.raises(MacroError), sessions.begin() as session:
        define_macro(session, draft, "sue", NOW)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Macro)) == 0
        assert session.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_a_taken_name_or_shortcut_is_refused_and_a_retired_macro_frees_both(sessions: sessionmaker[Session]) -> None:
    with sessions.begin() as session:
        first = define_macro(session, MacroDraft("Close", shortcut="1", resolve=True), "sue", NOW).id
    for taken in (MacroDraft("Close", resolve=True), MacroDraft("Other", shortcut="1", resolve=True)):
        with pytest.raises(MacroError, match="another macro"), sessions.begin() as session:
            define_macro(session, taken, "sue", NOW)
    with sessions.begin() as session:
        retire_macro(session, first, "sue", NOW)
        define_macro(session, MacroDraft("Close", shortcut="1", resolve=True), "sue", NOW)


def test_a_macro_replies_in_the_borrowers_language_notes_files_resolves_and_asks_in_one_step(
    sessions: sessionmaker[Session],
) -> None:
    staff(sessions)
    conversation_id = held_conversation(sessions, "es_US")
    with sessions.begin() as session:
        macro = define_macro(session, MacroDraft("Hardship papers", shortcut="2", canned_key="looking_into_it",
                                                 note="@ana hardship papers asked", reason="hardship", resolve=True,
                                                 survey=True), "sue", NOW).id  # fmt: skip
    with sessions.begin() as session:
        applied = apply_macro(session, conversation_id, macro, "sam", NOW, specialist_name="Sam", today=TODAY)
    assert applied.steps == ("reply:looking_into_it", "note", "reason:hardship", "resolve", "survey:asked")
    with sessions() as session:
        bodies = [item.body for item in session.scalars(select(OutboxItem).order_by(OutboxItem.id))]
        conversation = session.get_one(Conversation, conversation_id)
        first_name = session.get_one(Borrower, conversation.borrower_id).first_name
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "macro.applied")).one()
        assert unread_notifications(session, "ana") == 1
    spanish = Speaker("es_US")
    assert bodies[0] == spanish.say(BY_KEY["looking_into_it"].message, first_name=first_name)
    assert bodies[0] != Speaker("en").say(BY_KEY["looking_into_it"].message, first_name=first_name)
    assert bodies[1] == spanish.say(BACK_TO_BOT)
    assert bodies[2].startswith(spanish.say(QUESTION))
    assert conversation.state == "bot"
    assert (entry.actor, entry.detail["name"]) == ("sam", "Hardship papers")


def test_a_macro_replies_notes_and_transfers_to_a_skill_queue_in_one_step(sessions: sessionmaker[Session]) -> None:
    staff(sessions)
    conversation_id = held_conversation(sessions, "es_US")
    with sessions.begin() as session:
        draft = MacroDraft("To payoffs", shortcut="3", canned_key="looking_into_it", note="wants a payoff quote",
                           transfer_to="payoffs")  # fmt: skip
        macro = define_macro(session, draft, "sue", NOW).id
    with sessions.begin() as session:
        applied = apply_macro(session, conversation_id, macro, "sam", NOW, specialist_name="Sam", today=TODAY)
    assert applied.steps == ("reply:looking_into_it", "note", "transfer:payoffs")
    assert (applied.transferred_to, applied.resolved, applied.handed_on) == ("payoffs", False, True)
    with sessions() as session:
        conversation = session.get_one(Conversation, conversation_id)
        assert (conversation.state, conversation.assigned_to, conversation.skill) == ("queued", None, "payoffs")
        assert session.scalar(select(func.count()).select_from(OutboxItem)) == 1  # the reply; no "assistant back"
        moved = session.scalars(select(AuditEntry).where(AuditEntry.action == "conversation.transferred")).one()
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "macro.applied")).one()
    assert (moved.actor, moved.detail) == ("sam", {"to_queue": "payoffs"})
    assert entry.detail["steps"] == ["reply:looking_into_it", "note", "transfer:payoffs"]


def test_a_transfer_macro_on_a_conversation_not_held_changes_nothing(sessions: sessionmaker[Session]) -> None:
    staff(sessions)
    conversation_id = held_conversation(sessions, holder="ana")
    with sessions.begin() as session:
        macro = define_macro(session, MacroDraft("To disputes", note="disputed fee", transfer_to="disputes"), "sue",
                             NOW).id  # fmt: skip
    with pytest.raises(ConversationError), sessions.begin() as session:
        apply_macro(session, conversation_id, macro, "sam", NOW, specialist_name="Sam", today=TODAY)
    with sessions() as session:
        conversation = session.get_one(Conversation, conversation_id)
        assert (conversation.state, conversation.assigned_to, conversation.skill) == ("assigned", "ana", None)
        assert session.scalar(select(func.count()).select_from(Message).where(Message.internal)) == 0


def test_a_macro_refused_half_way_leaves_no_note_no_reply_and_the_conversation_held(
    sessions: sessionmaker[Session],
) -> None:
    conversation_id = held_conversation(sessions)
    with sessions.begin() as session:
        draft = MacroDraft("Note and reply", note="tried to call", canned_key="looking_into_it", resolve=True)
        macro = define_macro(session, draft, "sue", NOW).id
        address = session.get_one(Conversation, conversation_id).address
        set_opt_out(session, "sms", address, True, NOW)
    with pytest.raises(BorrowerOptedOut), sessions.begin() as session:
        apply_macro(session, conversation_id, macro, "sam", NOW, specialist_name="Sam", today=TODAY)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Message).where(Message.internal)) == 0
        assert session.scalar(select(func.count()).select_from(OutboxItem)) == 0
        assert session.get_one(Conversation, conversation_id).state == "assigned"
        assert (
            session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "macro.applied"))
            == 0
        )


def test_loanline_report_satisfaction_prints_each_specialist_and_everyone(cli_env: dict[str, str]) -> None:
    engine = make_engine(cli_env["LOANLINE_DATABASE_URL"])
    try:
        sessions = make_session_factory(engine)
        for holder, score in (("sam", 5), ("sam", 3), ("ana", 2)):
            conversation_id = held_conversation(sessions, holder=holder)
            with sessions.begin() as session:
                survey = resolve_with_survey(session, conversation_id, holder, NOW, survey=True)
                assert survey is not None
                record_satisfaction(session, survey, score, None, NOW + timedelta(minutes=5))
    finally:
        engine.dispose()

    result = CliRunner().invoke(main, ["report", "satisfaction", "--from", "2026-01-27", "--to", "2026-01-27"],
                                catch_exceptions=False)  # fmt: skip

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "specialist,asked,not_asked,answered,response_rate_percent,average_score,satisfied_percent"
    assert lines[1:] == ["ana,1,0,1,100.00,2.00,0.00", "sam,2,0,2,100.00,4.00,50.00", "all,3,0,3,100.00,3.33,33.33"]
    empty = CliRunner().invoke(main, ["report", "satisfaction", "--from", "2026-02-01"], catch_exceptions=False)
    assert empty.exit_code == 0 and empty.output == ""
