"""Alembic environment: runs on the engine ``kenning.db.migrations`` hands over.

All pending revisions run in one transaction that first takes the database's write lock
(SQLite ``BEGIN IMMEDIATE``; a PostgreSQL advisory lock), and Alembic reads the current
revision inside it: two processes upgrading at once run the revisions exactly once.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, text

MIGRATION_LOCK = 0x6B656E6E  # "kenn": the advisory lock key of schema upgrades

engine: Engine = context.config.attributes["engine"]

with engine.connect().execution_options(kenning_write=True) as connection:
    context.configure(connection=connection)
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        context.run_migrations()
    connection.commit()
