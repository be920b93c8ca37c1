"""What a conversation needs from the person who takes it: a skill and a language."""

from __future__ import annotations

from enum import StrEnum


class Skill(StrEnum):
    """What a specialist is trained to handle; each skill is also a queue a conversation can be sent to."""

    LOSS_MITIGATION = "loss_mitigation"
    DISPUTES = "disputes"
    PAYOFFS = "payoffs"
    GENERAL = "general"


# The skill each escalation reason needs (docs/console-assignment.md). No reason needs payoffs yet: a
# conversation reaches the payoffs queue when a specialist transfers it there.
SKILL_OF_REASON = {
    "hardship": Skill.LOSS_MITIGATION,
    "dispute": Skill.DISPUTES,
    "asked": Skill.GENERAL,
    "not_understood": Skill.GENERAL,
    "sensitive": Skill.GENERAL,
    "locked_out": Skill.GENERAL,
}
# The borrower languages a specialist may speak: the bot's languages, by language code.
LANGUAGES = ("en", "es", "fr", "pt", "de", "it", "hi", "id", "zh", "vi", "ko", "fil", "ar")


def needed_skill(chosen: str | None, reason: str | None) -> Skill:
    """Return the skill a waiting conversation needs: the queue it was sent to, else its reason's skill."""
    if chosen in {skill.value for skill in Skill}:
        return Skill(chosen)
    return SKILL_OF_REASON.get(reason or "", Skill.GENERAL)


def language_of(locale: str) -> str:
    """Return the language code of a borrower's locale (es_US -> es, pt_BR -> pt)."""
    return locale.replace("-", "_").split("_")[0].lower()
