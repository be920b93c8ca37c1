"""Choose the score cut-off from the catalogs themselves: 10-fold cross-validation, never the test file.

    .venv/bin/python -m bot.nlu.calibrate

Each tenth of the catalog phrases (out-of-scope examples included) is matched against an index of the
other nine tenths, as if a borrower had typed it. For every cut-off from 30 to 95 this gives the share
of in-scope phrases classified right and the share of out-of-scope phrases rejected; the cut-off that
maximises their mean wins (ties go to the higher cut-off: a wrong guess costs more than a miss).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.nlu import SCORE_CUTOFF
from bot.nlu.catalogs import OUT_OF_SCOPE, Phrase, load_catalogs
from bot.nlu.matching import PhraseIndex, Scoring

FOLDS = 10
CUTOFFS = range(30, 96)
PLATEAU = 0.005


@dataclass(frozen=True, slots=True)
class HeldOut:
    """A catalog phrase matched against the folds that do not contain it."""

    label: str
    score: float
    nearest: str | None


@dataclass(frozen=True, slots=True)
class CutoffFigures:
    """What one cut-off does to the held-out phrases."""

    cutoff: int
    in_scope_accuracy: float
    rejection: float
    wrong_guesses: float

    @property
    def balanced(self) -> float:
        """Return the mean of in-scope accuracy and out-of-scope rejection."""
        return (self.in_scope_accuracy + self.rejection) / 2


def held_out_matches(phrases: Sequence[Phrase], scoring: Scoring | None = None, folds: int = FOLDS) -> list[HeldOut]:
    """Return every phrase matched against an index of the other folds."""
    matches = []
    for fold in range(folds):
        index = PhraseIndex([p for i, p in enumerate(phrases) if i % folds != fold], scoring)
        for phrase in phrases[fold::folds]:
            hits = index.search(phrase.normalised, limit=1)
            nearest = index.phrases[hits[0].position].label if hits else None
            matches.append(HeldOut(phrase.label, hits[0].score if hits else 0.0, nearest))
    return matches


def figures(matches: Sequence[HeldOut], cutoff: int) -> CutoffFigures:
    """Return accuracy, rejection and wrong-guess rate of one cut-off."""

    def guess(match: HeldOut) -> str | None:
        return match.nearest if match.score >= cutoff and match.nearest != OUT_OF_SCOPE else None

    in_scope = [m for m in matches if m.label != OUT_OF_SCOPE]
    out_of_scope = [m for m in matches if m.label == OUT_OF_SCOPE]
    wrong = sum(1 for m in matches if guess(m) is not None and guess(m) != m.label)
    return CutoffFigures(
        cutoff,
        sum(guess(m) == m.label for m in in_scope) / max(1, len(in_scope)),
        sum(guess(m) is None for m in out_of_scope) / max(1, len(out_of_scope)),
        wrong / max(1, len(matches)),
    )


def calibrate(matches: Sequence[HeldOut]) -> tuple[CutoffFigures, list[CutoffFigures]]:
    """Return the best cut-off's figures and those of every cut-off tried."""
    table = [figures(matches, cutoff) for cutoff in CUTOFFS]
    best = max(table, key=lambda row: (round(row.balanced, 4), row.cutoff))
    return best, table


def plateau(table: Sequence[CutoffFigures]) -> range:
    """Return the cut-offs whose balanced accuracy is within PLATEAU of the best."""
    top = max(row.balanced for row in table)
    good = [row.cutoff for row in table if row.balanced >= top - PLATEAU]
    return range(min(good), max(good) + 1)


def main() -> None:
    """Print the cross-validated figures per cut-off and the one to use."""
    best, table = calibrate(held_out_matches(load_catalogs().phrases))
    print("cutoff  in-scope  rejection  wrong  balanced")
    for row in table[::3]:
        print(f"{row.cutoff:>6}  {row.in_scope_accuracy:>8.3f}  {row.rejection:>9.3f}  {row.wrong_guesses:>5.3f}"
              f"  {row.balanced:>8.3f}")  # fmt: skip
    good = plateau(table)
    print(f"best cut-off {best.cutoff} (balanced {best.balanced:.3f}); within {PLATEAU} of it: "
          f"{good.start}-{good.stop - 1}; bot.nlu.SCORE_CUTOFF is {SCORE_CUTOFF:g}")  # fmt: skip


if __name__ == "__main__":
    main()
