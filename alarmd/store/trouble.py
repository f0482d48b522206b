"""When the database itself fails: which of the usual causes it is, in one sentence.

A locked SQLite file (another process holding it), a full disk, or a PostgreSQL server
that cannot be reached are passing conditions: the API answers 503 naming the cause, the
scheduler retries within seconds, and nothing stored is lost. Anything else is a bug.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.exc import DBAPIError, OperationalError


def database_trouble(exc: BaseException) -> str | None:
    """The cause, as a sentence fragment, when `exc` is the database being unavailable; else None.

    Wrapped by SQLAlchemy or not: SQLite's commit is issued on the raw connection
    (alarmd.store.sqlite), so its errors arrive as the driver's own.
    """
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return "the database connection was lost"
    if isinstance(exc, OperationalError):
        text = str(exc.orig).lower()
    elif isinstance(exc, sqlite3.OperationalError) or type(exc).__module__.startswith("psycopg"):
        text = str(exc).lower()
    else:
        return None
    if "locked" in text or "busy" in text:
        return "the database is locked by another process"
    if "disk is full" in text or "no space left" in text or "disk full" in text:
        return "the disk holding the database is full"
    if any(word in text for word in ("connection", "connect", "server closed", "timeout", "terminating")):
        return "the database server cannot be reached"
    return "the database is unavailable"


# What the last write found: a cause while the database is unavailable, None once a write
# succeeded again. The heartbeat writes every few seconds, so this is never stale for long;
# /healthz and the status line report it (reads alone may still work on a locked file).
_current: str | None = None


def noticed(cause: str | None) -> None:
    global _current
    _current = cause


def current() -> str | None:
    return _current
