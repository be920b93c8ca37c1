"""The letters word the same reasons and documents the bot names, in the same English (each in its own catalog)."""

from __future__ import annotations

from servicing import decisions
from servicing.documents import case_letters, letters
from servicing.rules.workouts import WorkoutKind


def test_a_letter_words_every_reason_a_decision_can_give() -> None:
    assert case_letters.DENIAL_REASONS == decisions.DENIAL_REASONS
    assert case_letters.NO_ERROR_REASONS == decisions.NO_ERROR_REASONS


def test_a_letter_names_every_document_an_application_can_miss() -> None:
    assert letters.APPLICATION_DOCUMENTS == decisions.MISSING_DOCUMENTS


def test_a_letter_names_every_workout_option() -> None:
    assert set(case_letters.OPTION_NAMES) == {kind.value for kind in WorkoutKind}
