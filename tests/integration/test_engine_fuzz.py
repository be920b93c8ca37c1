"""Any text at all gets an answer or a polite refusal, never an exception, and never account data unverified."""

from __future__ import annotations

import itertools
import logging
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from bot.engine import Engine, InboundMessage
from servicing.config import Settings
from tests.integration.helpers import board

PHONE = "+15557770002"
NOW = datetime(2026, 3, 20, 15, 0, tzinfo=UTC)
hostile = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(categories=["So", "Sk", "Cc", "Cf", "Zs"]), max_size=200),  # emoji, controls
    st.text(alphabet="אבגדהוזחטיכלמנסעפצקרשת ابتثجحخدذرزسشصضطظعغفقكلمنهوي ", max_size=200),  # right to left
    st.sampled_from(["'; DROP TABLE loans; --", "<script>alert(1)</script>", "%s%s%n", "{amount}", "{0}", "\x00"]),
    st.just("balance " * 1300),  # 10 kB
)
addresses = itertools.count(1)


@pytest.fixture
def bot(sessions: sessionmaker[Session], settings: Settings) -> Engine:
    with sessions.begin() as session:
        board(session, loan_number="4400099999", phone=PHONE)
    return Engine(sessions, settings, clock=lambda: NOW)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow], max_examples=80)
@given(text=hostile, from_file=st.booleans())
def test_any_text_gets_a_polite_answer_and_no_account_data_before_verification(
    bot: Engine, caplog: pytest.LogCaptureFixture, text: str, from_file: bool
) -> None:
    address = PHONE if from_file else f"+1444{next(addresses):07d}"
    caplog.clear()
    with caplog.at_level(logging.ERROR):
        replies = bot.handle(InboundMessage("sms", address, text, provider_id=f"fuzz-{next(addresses)}"))
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
    spoken = "\n".join(reply.text for reply in replies)
    for secret in ("150,000", "150000", "4400099999", "9999", "1980", "851.68"):
        assert secret not in spoken
    assert "<script>" not in spoken  # nothing the borrower typed is echoed back as markup
