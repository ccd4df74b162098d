"""The relational database behind Kenning's service state: SQLite or PostgreSQL.

``SqlDatabase`` gives repositories short transactions over SQLAlchemy (one engine per
process, pooled connections); ``kenning.db.migrations`` versions the schema with Alembic
for both dialects. Repositories write plain, portable SQL.
"""

from kenning.db.engine import SqlDatabase

__all__ = ["SqlDatabase"]
