"""Search for the console (docs/console-search.md): one query, every kind of record a specialist looks for.

- `backends`: the two indexes behind one interface: SQLite FTS5 (`Fts5Index`) and PostgreSQL full text with
  pg_trgm (`PostgresIndex`); `index_for(session)` picks the database's.
- `find`: the use case: read the query, look everything up, audit the search (query masked), return the results.
"""
