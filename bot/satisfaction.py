"""The borrower's answer to the satisfaction survey: a digit from 1 to 5, or words in any of our languages.

The words are data (locales/satisfaction.tsv). An answer counts only while a survey on the conversation is open
(servicing.desk.satisfaction.open_survey: it went out less than its window ago) and the bot is not waiting for
the answer to another question; anything else is answered as usual.
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache

from sqlalchemy import select

from bot.i18n import CATALOGS
from bot.turn import Turn
from servicing.conversations import bot_may_answer
from servicing.desk.satisfaction import SCORES, THANKS, open_survey, record_satisfaction
from servicing.store.models import Message

WORDS_FILE = CATALOGS / "satisfaction.tsv"
# "4", "4/5", "4 / 5", "4 stars" in any script's digits: the first digit is the score.
_DIGIT_ANSWER = re.compile(r"^(\d)(?:\s*/\s*5|\s*[^\W\d]{0,12})$")


def _plain(text: str) -> str:
    folded = unicodedata.normalize("NFC", text.strip().lower())
    return " ".join(folded.strip(" .!?¡¿,;:").split())


@cache
def satisfaction_words() -> dict[str, int]:
    """Return every phrase of the survey's answer list and its score; refuse a phrase given two scores."""
    words: dict[str, int] = {}
    for line in WORDS_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        score, _locale, phrase = line.split("\t")
        key = _plain(phrase)
        if words.setdefault(key, int(score)) != int(score):
            raise ValueError(f"{WORDS_FILE.name}: {phrase!r} has two scores")
    return words


def score_in(text: str) -> int | None:
    """Return the score (1 to 5) a reply gives, or None when it is not an answer to the survey."""
    plain = _plain(text)
    digit = _DIGIT_ANSWER.match(plain)
    if digit is not None:
        value = unicodedata.decimal(digit.group(1), None)
        return value if value in SCORES else None
    return satisfaction_words().get(plain)


def answer_survey(turn: Turn) -> bool:
    """Record the borrower's score and thank them, when the message answers an open survey; else return False."""
    conversation = turn.conversation
    if not bot_may_answer(conversation) or turn.flow.get("await"):
        return False
    score = score_in(turn.text)
    if score is None:
        return False
    survey = open_survey(turn.session, conversation.id, turn.now)
    if survey is None:
        return False
    answer = turn.session.scalar(
        select(Message).where(Message.conversation_id == conversation.id, Message.direction == "in")
        .order_by(Message.id.desc()).limit(1)
    )  # fmt: skip
    record_satisfaction(turn.session, survey, score, answer, turn.now)
    turn.say(THANKS)
    return True
