"""The phrase catalogs under locales/intents/, read as data: one loader for every language."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from bot.nlu.text import normalise

CATALOG_FOLDER = Path(__file__).resolve().parents[2] / "locales" / "intents"
INTENTS = (
    "balance", "next_payment", "make_payment", "payment_history", "payoff", "escrow", "hardship", "dispute",
    "agent", "language", "help", "greeting", "thanks", "documents",
    "promise_to_pay", "explain_payment", "explain_fee", "explain_payment_change", "explain_late",
)  # fmt: skip
OUT_OF_SCOPE = "out_of_scope"
TOPICS = ("bankruptcy", "attorney", "death", "fraud", "complaint", "cease_and_desist")
# What a revocation of consent covers: every message on the channel, or only reminders, or collection messages.
REVOCATION_SCOPES = ("all", "reminder", "collection")
_INTENT_FILE = re.compile(r"^[a-z]{2,3}(_[A-Z]{2})?\.tsv$")
_SENSITIVE_FILE = re.compile(r"^sensitive\.([a-z]{2,3}(?:_[A-Z]{2})?)\.tsv$")
_REVOCATION_FILE = re.compile(r"^revocation\.([a-z]{2,3}(?:_[A-Z]{2})?)\.tsv$")
# Language codes that name another catalog's language: Tagalog is what Filipino is written from.
ALIASES = {"tl": "fil"}


class CatalogError(ValueError):
    """A catalog file that does not parse: its path, line and what is wrong."""


@dataclass(frozen=True, slots=True)
class Phrase:
    """One catalog line: the locale and label it belongs to, and its text as written and normalised."""

    locale: str
    label: str
    text: str
    normalised: str


@dataclass(frozen=True, slots=True)
class Catalogs:
    """Every catalog: intent phrases (with out-of-scope examples), sensitive phrases, language names, and the
    phrases that revoke consent to the servicer's messages."""

    locales: tuple[str, ...]
    phrases: tuple[Phrase, ...]
    sensitive: tuple[Phrase, ...]
    language_names: tuple[Phrase, ...]
    joiners: tuple[str, ...] = ()  # normalised words that join two questions ("and also", "y", "und")
    revocations: tuple[Phrase, ...] = ()  # labelled with a REVOCATION_SCOPES value


def catalog_locale(locale: str | None, locales: tuple[str, ...]) -> str | None:
    """Return the catalog a locale reads from (es_US -> es, pt -> pt_BR), or None when there is none."""
    if not locale:
        return None
    cleaned = locale.strip().replace("-", "_")
    language = cleaned.split("_")[0].lower()
    language = ALIASES.get(language, language)
    exact = {code.lower(): code for code in locales}
    if cleaned.lower() in exact:
        return exact[cleaned.lower()]
    if language in exact:
        return exact[language]
    regional = [code for code in locales if code.split("_")[0] == language]
    return regional[0] if len(regional) == 1 else None


def _rows(path: Path, columns: int) -> Iterator[tuple[int, list[str]]]:
    """Yield the numbered rows of a TSV catalog, skipping blank lines and # comments."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip() or line.startswith("#"):
            continue
        cells = [cell.strip() for cell in line.split("\t")]
        if len(cells) != columns or not all(cells):
            raise CatalogError(f"{path.name}:{number}: expected {columns} tab-separated cells, got {line!r}")
        yield number, cells


def _phrases(path: Path, locale: str, labels: tuple[str, ...]) -> list[Phrase]:
    """Read one label<TAB>phrase file; refuse unknown labels and phrases that normalise to nothing."""
    phrases = []
    for number, (label, text) in _rows(path, 2):
        if label not in labels:
            raise CatalogError(f"{path.name}:{number}: unknown label {label!r}")
        normalised = normalise(text)
        if not normalised:
            raise CatalogError(f"{path.name}:{number}: {text!r} is empty once normalised")
        phrases.append(Phrase(locale, label, text, normalised))
    return phrases


def read_catalogs(folder: Path = CATALOG_FOLDER) -> Catalogs:
    """Read every catalog in the folder: <locale>.tsv, sensitive.<locale>.tsv, revocation.<locale>.tsv,
    languages.tsv and joiners.tsv."""
    locales = tuple(sorted(path.stem for path in folder.glob("*.tsv") if _INTENT_FILE.match(path.name)))
    phrases: list[Phrase] = []
    sensitive: list[Phrase] = []
    for locale in locales:
        phrases += _phrases(folder / f"{locale}.tsv", locale, (*INTENTS, OUT_OF_SCOPE))
    for path in sorted(folder.glob("sensitive.*.tsv")):
        match = _SENSITIVE_FILE.match(path.name)
        if match is None or match.group(1) not in locales:
            raise CatalogError(f"{path.name}: no intent catalog for this locale")
        sensitive += _phrases(path, match.group(1), TOPICS)
    revocations: list[Phrase] = []
    for path in sorted(folder.glob("revocation.*.tsv")):
        match = _REVOCATION_FILE.match(path.name)
        if match is None or match.group(1) not in locales:
            raise CatalogError(f"{path.name}: no intent catalog for this locale")
        revocations += _phrases(path, match.group(1), REVOCATION_SCOPES)
    names = [
        Phrase(code, code, name, normalise(name))
        for _number, (code, name) in _rows(folder / "languages.tsv", 2)
        if code in locales
    ]
    return Catalogs(locales, tuple(phrases), tuple(sensitive), tuple(names), _joiners(folder, locales),
                    tuple(revocations))  # fmt: skip


def _joiners(folder: Path, locales: tuple[str, ...]) -> tuple[str, ...]:
    """Read joiners.tsv (locale<TAB>word), normalised, longest first; none when the file is absent."""
    path = folder / "joiners.tsv"
    if not path.exists():
        return ()
    words = {normalise(word) for _number, (code, word) in _rows(path, 2) if code in locales}
    return tuple(sorted(words, key=len, reverse=True))


@cache
def load_catalogs() -> Catalogs:
    """Return the catalogs shipped under locales/intents/, read once on first use."""
    return read_catalogs()
