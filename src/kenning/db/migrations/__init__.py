"""Schema versions, with Alembic, for SQLite and PostgreSQL.

Revisions live in ``versions/`` and are written by hand (a revision holds the SQL of each
dialect; there is no ORM model to autogenerate from). Revision ``0001`` is the baseline:
on SQLite it replays the migrations Kenning shipped before Alembic (tracked in
``PRAGMA user_version``), so a data directory from an earlier version upgrades in place.

Who upgrades: the embedded default (SQLite, one process) upgrades itself when it opens
the database; a server (PostgreSQL, several replicas) never does. There the schema is
upgraded once, by ``kenning db upgrade`` (a Helm hook or a deploy step), and every process
refuses to start until the database is at the revision its code expects.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from kenning.errors import StoreError

_SCRIPTS = Path(__file__).parent


def _config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    config.attributes["engine"] = engine
    return config


def head_revision() -> str:
    head = ScriptDirectory(str(_SCRIPTS)).get_current_head()
    assert head is not None, "no migration scripts"
    return head


def known_revisions() -> set[str]:
    """Every revision this code can upgrade from (a backup's or a database's)."""
    return {s.revision for s in ScriptDirectory(str(_SCRIPTS)).walk_revisions()}


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Apply pending revisions (each in its own transaction); returns the new revision."""
    command.upgrade(_config(engine), revision)
    current = current_revision(engine)
    assert current is not None
    return current


def ensure_schema(engine: Engine, *, auto_upgrade: bool) -> None:
    """Upgrade, or check that the database is exactly at the code's revision.

    A revision this code does not know (a newer Kenning migrated the database) is always
    refused: running old code on a newer schema is how data gets corrupted.
    """
    current, head = current_revision(engine), head_revision()
    if current == head:
        return
    known = {s.revision for s in ScriptDirectory(str(_SCRIPTS)).walk_revisions()}
    if current is not None and current not in known:
        raise StoreError(
            f"the database schema is at revision {current}, newer than this Kenning "
            f"(which knows up to {head}); upgrade Kenning"
        )
    if auto_upgrade:
        upgrade(engine)
        return
    raise StoreError(
        f"the database schema is at revision {current or 'none (empty database)'}, "
        f"this Kenning needs {head}: run `kenning db upgrade` first"
    )
