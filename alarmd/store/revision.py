"""Whether the database is at the newest schema, asked before Alembic is.

Nearly every start finds nothing to upgrade, so the daemon compares what `alembic_version`
holds with HEAD, the newest revision in migrations/versions, and loads Alembic (and its
script machinery) only for a database that is not there (alarmd.store.db.upgrade).
HEAD is written by hand when a migration is added; tests/test_revision.py compares it
with the head Alembic reads from the scripts.
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text

HEAD = "0005"
VERSION_TABLE = "alembic_version"


def stored_revisions(connection: Connection) -> set[str]:
    """What `alembic_version` says the schema is at; empty for a new database."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return set()
    return {str(value) for value in connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()}


def at_head(connection: Connection) -> bool:
    return stored_revisions(connection) == {HEAD}
