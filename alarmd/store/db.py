"""The engine (SQLite or PostgreSQL), sessions, and schema upgrades through Alembic's API (when behind)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from alarmd.config.database import Database, PostgresDatabase
from alarmd.store import changes, revision, sqlite, trouble

# Held while the schema is upgraded, so nodes starting together on an empty PostgreSQL
# database create it once: the others wait, then find it at head. ("alarmd" in ASCII.)
MIGRATION_LOCK = 0x616C61726D64
# No transaction of alarmd's waits on anything but the database, so one idle this long is stuck.
IDLE_IN_TRANSACTION_MS = 3000


def migrations_dir() -> Path:
    """Alembic's scripts: inside the package when installed from a wheel, else the checkout's."""
    package = Path(__file__).resolve().parent.parent
    for candidate in (package / "_migrations", package.parent / "migrations"):
        if (candidate / "env.py").is_file():
            return candidate
    raise RuntimeError("alarmd's migrations are missing from this installation")


def make_engine(database: Database) -> Engine:
    if isinstance(database, PostgresDatabase):
        return _postgres_engine(database)
    return sqlite.make_engine(database)


def _postgres_engine(database: PostgresDatabase) -> Engine:
    # A node frozen inside a transaction (SIGSTOP, a paused VM) would hold its row locks, and
    # with them every other node's claim of the same occurrence, until it woke; the server
    # ends such a session after a few seconds instead, rolling back what it had not committed.
    connect_args: dict[str, Any] = {"connect_timeout": 5, "application_name": "alarmd",
                                    "options": f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_MS}"}
    if database.password is not None:
        connect_args["password"] = database.password
    # pre_ping: a connection dropped by a server restart is replaced, not handed out.
    # The pool is sized for the scheduler's workers: many alarms due at once each hold one.
    return create_engine(database.sqlalchemy_url, connect_args=connect_args, pool_pre_ping=True,
                         pool_size=5, max_overflow=25, pool_timeout=10)


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision (a no-op when it already is).

    A database already at head is told apart without importing Alembic (store.revision);
    on PostgreSQL a node that finds it behind takes the lock, and Alembic then does
    nothing if another node upgraded meanwhile.
    """
    with engine.connect() as connection:
        if revision.at_head(connection):
            return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    if engine.dialect.name == "postgresql":
        with engine.begin() as connection:
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            cfg.attributes["connection"] = connection
            command.upgrade(cfg, "head")
        return
    with engine.connect() as connection:
        # SQLite changes a table by copying it and dropping the old one; with foreign keys
        # on, that drop would null or delete every row pointing at it. The pragma is a
        # no-op inside a transaction, so it is set before the upgrade's begins.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        try:
            with connection.begin():
                cfg.attributes["connection"] = connection
                command.upgrade(cfg, "head")
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


def write_problem(engine: Engine, timeout: float = 1.0) -> str | None:
    """Why the database cannot take a write now (locked by another process, gone), or None when it can.

    Asked on a connection of its own, not the pool's: it must not queue behind the
    daemon's writers (or hold them up), and it gives up after `timeout`, not after their
    busy timeout. It opens the file only if it exists, and writes nothing.
    """
    if engine.dialect.name == "postgresql":
        # A server's writes are proved every few seconds by the node's heartbeat row.
        return trouble.current()
    path = engine.url.database
    try:
        connection = sqlite3.connect(f"file:{quote(str(path))}?mode=rw", uri=True, timeout=timeout,
                                     isolation_level=None)
        try:
            connection.execute("BEGIN IMMEDIATE")
            connection.execute("ROLLBACK")
        finally:
            connection.close()
    except (sqlite3.Error, OSError) as exc:
        return f"the database is unavailable ({exc})"
    return None


def session_factory(engine: Engine) -> sessionmaker[Session]:
    sessions = sessionmaker(engine, expire_on_commit=False)
    changes.track_changes(sessions)
    return sessions
