"""Marking the sentences a document's Python code says, for the `documents` catalogs (`make documents-catalogs-update`).

Kept apart from `render` so that the use cases marking their sentences import no layout engine.
"""

from __future__ import annotations


def wording(message: str) -> str:
    """Mark a sentence of a document's Python code for the `documents` catalogs without translating it."""
    return message
