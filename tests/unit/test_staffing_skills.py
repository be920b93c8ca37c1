"""The skill each escalation needs and a borrower's language, as the assignment reads them."""

from __future__ import annotations

import pytest

from servicing.conversations import EscalationReason
from servicing.speaking import LOCALES
from servicing.staffing.skills import LANGUAGES, SKILL_OF_REASON, Skill, language_of, needed_skill


def test_every_escalation_reason_needs_a_skill() -> None:
    assert set(SKILL_OF_REASON) == {reason.value for reason in EscalationReason}


@pytest.mark.parametrize(
    ("chosen", "reason", "skill"),
    [
        (None, "hardship", Skill.LOSS_MITIGATION),
        (None, "dispute", Skill.DISPUTES),
        (None, "locked_out", Skill.GENERAL),
        (None, None, Skill.GENERAL),
        ("payoffs", "hardship", Skill.PAYOFFS),  # a skill queue chosen by a transfer wins over the reason
        ("juggling", "dispute", Skill.DISPUTES),  # an unknown stored value falls back to the reason
    ],
)
def test_a_conversation_needs_its_queue_skill_else_its_reasons(
    chosen: str | None, reason: str | None, skill: Skill
) -> None:
    assert needed_skill(chosen, reason) is skill


@pytest.mark.parametrize(("locale", "language"), [("es_US", "es"), ("pt_BR", "pt"), ("fr", "fr"), ("en-CA", "en")])
def test_a_locale_speaks_its_language(locale: str, language: str) -> None:
    assert language_of(locale) == language


def test_a_specialist_may_speak_every_language_the_bot_speaks() -> None:
    assert {language_of(locale) for locale in LOCALES} == set(LANGUAGES)
