"""The one place alarmd reads the clock.

Everything else takes `now` as an argument or asks this function, so tests can move
time with time-machine and the rest of the code stays pure. Where several nodes share a
PostgreSQL database, their one clock is the database's: each node measures how far its
own clock is from it (alarmd.store.dbclock) and `now()` adds that offset, so leases and
due instants are judged alike on every node, and a node whose clock runs fast never
rings early. On SQLite the offset stays zero.
"""

import time
from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    """The current instant, aware, in UTC, on the shared clock."""
    return datetime.now(UTC) + _offset


def host_now() -> datetime:
    """This host's own clock, uncorrected: only to measure its offset from the database."""
    return datetime.now(UTC)


def set_offset(offset: timedelta) -> None:
    global _offset
    _offset = offset


def offset() -> timedelta:
    return _offset


def monotonic() -> float:
    """Seconds on a clock that never steps (CLOCK_MONOTONIC): to notice when the wall clock does."""
    return time.monotonic()
