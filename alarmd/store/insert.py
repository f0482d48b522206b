"""Insert a row unless its unique key is taken (the claim), or set a `state` fact, on either engine.

`INSERT … ON CONFLICT DO NOTHING RETURNING` exists in SQLite and PostgreSQL alike, but
SQLAlchemy builds it from each dialect's own insert(); this picks the session's. On
PostgreSQL a second concurrent insert of the same key waits for the first transaction,
then returns nothing, so claim transactions stay short. `ON CONFLICT DO UPDATE` sets a
`state` row in one statement the same way, whether or not another node wrote it first.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session

from alarmd.store.models import StateEntry


def _insert(session: Session) -> Any:
    """The session's dialect's insert(), which has ON CONFLICT."""
    if session.get_bind().dialect.name == "postgresql":
        # Imported here: a daemon on SQLite never needs it; on PostgreSQL the engine's
        # dialect loaded it already.
        from sqlalchemy.dialects import postgresql

        return postgresql.insert
    return sqlite.insert


def put_state(session: Session, key: str, value: str) -> None:
    """Set `state`'s `key` to `value`, whether or not it is there yet.

    One statement, not session.merge's read then insert: nodes starting together on one
    PostgreSQL each found the row missing and all but one failed on its primary key.
    """
    statement = _insert(session)(StateEntry).values(key=key, value=value)
    session.execute(statement.on_conflict_do_update(index_elements=["key"], set_={"value": value}))


def insert_new(session: Session, model: type[Any], values: dict[str, Any], key: str,
               returning: InstrumentedAttribute[Any] | Column[Any] | None = None) -> Any | None:
    """Insert `values` into `model`'s table unless a row with the same `key` exists.

    Returns the `returning` column of the new row (None when the key was taken), or
    True/None without `returning`.
    """
    statement = _insert(session)(model).values(**values).on_conflict_do_nothing(index_elements=[key])
    if returning is None:
        result = session.execute(statement)
        return True if getattr(result, "rowcount", 0) == 1 else None
    return session.execute(statement.returning(returning)).scalar_one_or_none()
