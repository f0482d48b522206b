"""Whether the database is at the newest schema, read without Alembic.

Importing Alembic (with Mako and Pygments behind it) costs a daemon about 9 MB and a
tenth of a second at every start, nearly always to learn that there is nothing to do.
So the revision stored in `alembic_version` is compared with the head of the scripts
first, read from their `revision = ...` and `down_revision = ...` lines; only a database
that is not at head goes through Alembic (alarmd.store.db.upgrade).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from sqlalchemy import Connection, inspect, text

# Alembic's own module-level assignments, as every script in migrations/versions has them.
ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)
VERSION_TABLE = "alembic_version"


def head_revisions(scripts: Path) -> set[str]:
    """The revisions no other script revises: one, the history being linear."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for path in (scripts / "versions").glob("*.py"):
        found = {match[1]: match[2] for match in ASSIGNMENT.finditer(path.read_text(encoding="utf-8"))}
        if "revision" not in found:
            continue
        revisions.add(str(ast.literal_eval(found["revision"])))
        down = ast.literal_eval(found.get("down_revision", "None"))
        revised.update([down] if isinstance(down, str) else down or ())
    return revisions - revised


def stored_revisions(connection: Connection) -> set[str]:
    """What `alembic_version` says the schema is at; empty for a new database."""
    if not inspect(connection).has_table(VERSION_TABLE):
        return set()
    return {str(value) for value in connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).scalars()}


def at_head(connection: Connection, scripts: Path) -> bool:
    heads = head_revisions(scripts)
    return bool(heads) and stored_revisions(connection) == heads
