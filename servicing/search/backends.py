"""The indexes search reads: borrowers by the folded key of their name and email, messages by their words.

Both backends answer the same two questions with ids, newest messages first; `find` reads the rows. The
indexes themselves are made by migration 0018 (servicing/store/search_schema.py).
"""

from __future__ import annotations

import re
from typing import Protocol

from sqlalchemy import ColumnElement, Integer, and_, bindparam, column, select, text
from sqlalchemy.orm import Session

from servicing.store.models import Borrower

RECENT_WINDOW = 10_000  # PostgreSQL: the newest messages searched by walking them (`PostgresIndex`)
TRIGRAM = 3  # the shortest piece a trigram index can look up; shorter words are checked on the key itself
_LETTERS_AND_DIGITS = re.compile(r"[^\W_]+")


class SearchIndex(Protocol):
    """What search asks a database's indexes."""

    def borrowers_by_key(self, session: Session, key: str, limit: int) -> list[int]:
        """Return the ids of borrowers whose search key holds every word of `key` (already folded)."""
        ...

    def messages_with_words(self, session: Session, words: list[str], limit: int, before: int | None) -> list[int]:
        """Return the ids of messages holding every word (or a word starting so), newest first, below `before`."""
        ...


def message_words(typed: str) -> list[str]:
    """Return the words to look for in messages: letters and digits of any script, lower case, at most 8."""
    return _LETTERS_AND_DIGITS.findall(typed.casefold())[:8]


def _like(piece: str) -> str:
    escaped = piece.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _key_holds_all(pieces: list[str]) -> ColumnElement[bool]:
    return and_(*(Borrower.search_key.like(_like(piece), escape="\\") for piece in pieces))


class Fts5Index:
    """SQLite: FTS5 tables `search_borrowers` (trigram) and `search_messages` (unicode61, accents folded)."""

    def borrowers_by_key(self, session: Session, key: str, limit: int) -> list[int]:
        """Find borrowers through the trigram table; words under 3 characters are checked on the key."""
        pieces = key.split()
        if not pieces:
            return []
        long = [piece for piece in pieces if len(piece) >= TRIGRAM]
        query = select(Borrower.id).where(_key_holds_all(pieces)).order_by(Borrower.id).limit(limit)
        if long:
            match = " AND ".join('"' + piece.replace('"', '""') + '"' for piece in long)
            found = text("SELECT rowid FROM search_borrowers WHERE search_borrowers MATCH :match")
            query = query.where(Borrower.id.in_(found.bindparams(match=match).columns(column("rowid", Integer))))
        return list(session.scalars(query))

    def messages_with_words(self, session: Session, words: list[str], limit: int, before: int | None) -> list[int]:
        """Find messages through `search_messages`, each word also as the start of a longer one, newest first."""
        if not words:
            return []
        match = " AND ".join(f'"{word}"*' for word in words)
        below = "AND rowid < :before " if before is not None else ""
        statement = text(
            "SELECT rowid FROM search_messages WHERE search_messages MATCH :match "
            f"{below}ORDER BY rowid DESC LIMIT :limit"
        )
        parameters: dict[str, object] = {"match": match, "limit": limit}
        if before is not None:
            parameters["before"] = before
        return [int(row[0]) for row in session.execute(statement, parameters)]


class PostgresIndex:
    """PostgreSQL: pg_trgm's GIN index on `borrowers.search_key`, a GIN index on `messages.search_words` (the
    body's words, a stored generated column)."""

    def borrowers_by_key(self, session: Session, key: str, limit: int) -> list[int]:
        """Find borrowers whose key holds every word (LIKE '%word%', answered by the trigram index)."""
        pieces = key.split()
        if not pieces:
            return []
        query = select(Borrower.id).where(_key_holds_all(pieces)).order_by(Borrower.id).limit(limit)
        return list(session.scalars(query))

    def messages_with_words(self, session: Session, words: list[str], limit: int, before: int | None) -> list[int]:
        """Find messages by `search_words @@ to_tsquery('simple', ...)`, each word as a prefix, newest first.

        In two bounded steps, because the planner cannot estimate a prefix query (it guessed 5,000 rows for a word
        in no message, walked all million backwards, 1.3 s): first the newest `RECENT_WINDOW` messages walked
        newest first (a common word fills the page at once); then, only when they hold fewer than `limit`, the
        older ones through the GIN index (the word is rare there too, so few rows are read).
        """
        if not words:
            return []
        query = " & ".join(f"{word}:*" for word in words)
        top = session.scalar(text("SELECT max(id) FROM messages")) or 0
        ceiling = min(before, top + 1) if before is not None else top + 1
        floor = max(ceiling - RECENT_WINDOW, 0)
        found = self._matching(session, query, floor, ceiling, limit, walk_newest_first=True)
        if len(found) < limit and floor > 0:
            found += self._matching(session, query, 0, floor + 1, limit - len(found), walk_newest_first=False)
        return found

    def _matching(
        self, session: Session, query: str, above: int, below: int, limit: int, *, walk_newest_first: bool
    ) -> list[int]:
        """Return ids in (above, below) whose words match, newest first, with the plan chosen for the step."""
        walk, bitmap = ("on", "off") if walk_newest_first else ("off", "on")
        session.execute(text(f"SET LOCAL enable_indexscan = {walk}"))
        session.execute(text(f"SET LOCAL enable_bitmapscan = {bitmap}"))
        session.execute(text("SET LOCAL enable_seqscan = off"))
        try:
            # The words and bounds are written into the statement (quoted by the dialect): with placeholders,
            # psycopg's prepared statement would soon get one generic plan for every search.
            statement = text(
                "SELECT id FROM messages WHERE search_words @@ to_tsquery('simple'::regconfig, :query) "
                "AND id > :above AND id < :below ORDER BY id DESC LIMIT :limit"
            ).bindparams(
                bindparam("query", query, literal_execute=True),
                bindparam("above", above, literal_execute=True),
                bindparam("below", below, literal_execute=True),
                bindparam("limit", limit, literal_execute=True),
            )
            return [int(row[0]) for row in session.execute(statement)]
        finally:
            for setting in ("enable_indexscan", "enable_bitmapscan", "enable_seqscan"):
                session.execute(text(f"SET LOCAL {setting} = on"))


def index_for(session: Session) -> SearchIndex:
    """Return the search index of the session's database."""
    return Fts5Index() if session.get_bind().dialect.name == "sqlite" else PostgresIndex()
