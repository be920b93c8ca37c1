"""Persistence: engines and sessions, the models and column types, accounts loaded and saved in bulk, migrations.

A module here may import SQLAlchemy, Alembic, `servicing.rules` and `servicing.errors`; never a use
case, the demo, or a web or bot library.
"""
