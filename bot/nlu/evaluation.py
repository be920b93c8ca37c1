"""Scoring classify() on a labelled file: accuracy per language and per intent, confusions, rejection.

A row may carry a fourth cell, `held_out`, naming the batch of rows written after the matcher and the catalogs
were frozen and never looked at while tuning them (for instance `2026-12-05`). Their figures are reported apart:
they are the ones to quote for messages the matcher has never seen. Once a batch's misses have been studied to
change the catalogs or the code, its cells are emptied: the rows stay, as ordinary (seen) rows.
"""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.nlu import Classification, classify

UNKNOWN = "unknown"
COLUMNS = ("lang", "intent", "text")
HELD_OUT = "held_out"


class EvaluationFileError(ValueError):
    """A labelled file that is not `lang<TAB>intent<TAB>text` with a header."""


@dataclass(frozen=True, slots=True)
class Example:
    """One labelled utterance; intent None means out of scope (`unknown` in the file); `held_out` names the
    batch of rows never seen while the matcher was tuned ("" for the others)."""

    lang: str
    intent: str | None
    text: str
    held_out: str = ""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What classify() said about one example."""

    example: Example
    intent: str | None
    score: float
    locale: str

    @property
    def correct(self) -> bool:
        """Return whether the predicted intent is the labelled one (None for out of scope)."""
        return self.intent == self.example.intent


@dataclass
class Report:
    """Accuracy figures over a set of outcomes."""

    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        """Return the share of examples classified as labelled."""
        return _share(o.correct for o in self.outcomes)

    def by(self, key: Callable[[Outcome], str]) -> dict[str, tuple[float, int]]:
        """Return accuracy and count per group, groups sorted by name."""
        groups: dict[str, list[Outcome]] = {}
        for outcome in self.outcomes:
            groups.setdefault(key(outcome), []).append(outcome)
        return {name: (_share(o.correct for o in group), len(group)) for name, group in sorted(groups.items())}

    def by_language(self) -> dict[str, tuple[float, int]]:
        """Return accuracy and count per labelled language."""
        return self.by(lambda o: o.example.lang)

    def by_intent(self) -> dict[str, tuple[float, int]]:
        """Return accuracy and count per labelled intent (`unknown` for out of scope)."""
        return self.by(lambda o: o.example.intent or UNKNOWN)

    def confusions(self) -> list[tuple[str, str, int]]:
        """Return (expected, got, count) for every mistake, most frequent first."""
        counts = Counter((o.example.intent or UNKNOWN, o.intent or UNKNOWN) for o in self.outcomes if not o.correct)
        return [(expected, got, n) for (expected, got), n in counts.most_common()]

    def held_out(self) -> Report:
        """Return the report restricted to the held-out rows (those never seen while tuning)."""
        return Report([o for o in self.outcomes if o.example.held_out])

    @property
    def rejection(self) -> float:
        """Return the share of out-of-scope examples that came back with no intent."""
        return _share(o.intent is None for o in self.outcomes if o.example.intent is None)


def _share(flags: Iterable[bool]) -> float:
    """Return the share of true flags (1.0 for none)."""
    values = list(flags)
    return sum(values) / len(values) if values else 1.0


def read_examples(path: Path) -> list[Example]:
    """Read a `lang<TAB>intent<TAB>text[<TAB>held_out]` file with a header; intent `unknown` means out of scope,
    a non-empty `held_out` cell marks a row never seen while the matcher was tuned."""
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        header = next(reader, None)
        columns = tuple(cell.strip() for cell in header or ())
        if columns not in (COLUMNS, (*COLUMNS, HELD_OUT)):
            raise EvaluationFileError(f"{path}: the first line must be lang<TAB>intent<TAB>text[<TAB>held_out]")
        examples = []
        for number, row in enumerate(reader, start=2):
            if not row or not "".join(row).strip():
                continue
            if not len(COLUMNS) <= len(row) <= len(columns):
                raise EvaluationFileError(f"{path}:{number}: expected {len(columns)} tab-separated cells or 3")
            lang, intent, text, held_out = ([cell.strip() for cell in row] + [""])[:4]
            examples.append(Example(lang, None if intent == UNKNOWN else intent, text, held_out))
    return examples


def row_language(example: Example) -> str | None:
    """Return the example's own language as its locale hint, as if it were the borrower's locale on file."""
    return example.lang


def evaluate(
    examples: Iterable[Example],
    hint: Callable[[Example], str | None] = row_language,
    classifier: Callable[[str, str | None], Classification] = classify,
) -> Report:
    """Classify each example with the locale hint `hint` gives it (by default its own language)."""
    report = Report()
    for example in examples:
        result = classifier(example.text, hint(example))
        report.outcomes.append(Outcome(example, result.intent, result.score, result.locale))
    return report
