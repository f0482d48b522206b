"""The SQLite engine: WAL, a busy timeout, foreign keys, and this process's writers queued on a lock."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event

from alarmd.errors import ConfigError

BUSY_TIMEOUT_MS = 5000
# Each connection's page cache, in KiB (SQLite's default is 2 MiB). Start-up reads every
# alarm, and each pooled connection would keep up to 2 MiB of those pages all day; a
# page it no longer holds is read again from the system's file cache.
# A claim touches a few index pages, which this holds.
PAGE_CACHE_KIB = 256


def make_engine(path: Path) -> Engine:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"alarmd.database: cannot create {path.parent} ({exc.strerror}).") from None
    engine = create_engine(f"sqlite:///{path}", connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        # WAL lets readers (the API) run beside the writer (a firing alarm); the busy
        # timeout makes a second writer wait instead of failing at once.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
        cursor.close()

    _serialise_writes(engine)
    return engine


def _serialise_writes(engine: Engine) -> None:
    """Let this process's writers queue on a lock instead of on SQLite's busy handler.

    SQLite admits one writer; a second one sleeps in the busy handler, in ever longer
    naps, which turns many alarms due at once into calls seconds late.
    A transaction takes the lock at its first write and gives it back after its commit
    or rollback. Reads never take it (WAL lets them run beside the writer); another
    process on the same file still meets the busy timeout.
    """
    lock = threading.RLock()

    @event.listens_for(engine, "before_cursor_execute")
    def _before_write(conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not conn.info.get("write_lock") and statement.lstrip()[:7].upper().startswith(_WRITES):
            lock.acquire()
            conn.info["write_lock"] = True

    def _ending(finish: str) -> Any:
        def end(conn: Any) -> None:
            if conn.info.pop("write_lock", False):
                try:
                    # Finish first, then let the next writer in: released before the commit,
                    # the next writer would meet SQLite's lock and sleep. SQLAlchemy's own
                    # commit/rollback that follows has nothing left to do.
                    getattr(conn.connection.dbapi_connection, finish)()
                finally:
                    lock.release()
        return end

    event.listen(engine, "commit", _ending("commit"))
    event.listen(engine, "rollback", _ending("rollback"))


_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
