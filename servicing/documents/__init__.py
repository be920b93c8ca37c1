"""Documents: statements, notices and letters, rendered in the borrower's language, kept immutable, delivered.

- `render`: Jinja templates per document kind, worded from the `documents` gettext catalogs, laid out as PDF
  by WeasyPrint (Pango shapes every script: Devanagari, Arabic, CJK).
- `records`: the `documents` table and the files under LOANLINE_DOCUMENTS_DIR: made once, never changed.

See docs/documents.md.
"""
