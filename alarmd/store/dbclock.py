"""How far this host's clock is from the database's: the nodes' one clock (alarmd.clock)."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from alarmd import clock


def measure_offset(session: Session) -> timedelta:
    """The database's clock minus this host's, read at the middle of one round trip.

    SQLite lives on this host, so its clock is this host's: zero, and no query.
    """
    if session.get_bind().dialect.name != "postgresql":
        return timedelta(0)
    before = clock.host_now()
    database_now = session.execute(text("SELECT clock_timestamp()")).scalar_one()
    after = clock.host_now()
    assert isinstance(database_now, datetime)
    return database_now - (before + (after - before) / 2)
