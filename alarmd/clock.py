"""The one place alarmd reads the clock, and the one place code that waits takes its sleep from.

Everything else takes `now` as an argument or asks this module, so the rest of the code
stays pure. Where several nodes share a PostgreSQL database, their one clock is the
database's: each node measures how far its own clock is from it (alarmd.store.dbclock)
and `now()` adds that offset, so leases and due instants are judged alike on every node,
and a node whose clock runs fast never rings early. On SQLite the offset stays zero.

The time itself comes from a source: real time (SystemClock) unless a test puts in a
clock of its own with `use()`, one whose waits move its time on at once, so that what a
delivery decides after a redial interval or a Retry-After is tested without waiting it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Source(Protocol):
    """Where the time comes from, and how a wait for it is made."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    def wait(self, event: threading.Event, seconds: float) -> bool: ...


class SystemClock:
    """Real time: the host's wall clock, its monotonic clock, and an event's own wait."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        return event.wait(seconds)


_source: Source = SystemClock()
_offset = timedelta(0)


def use(source: Source) -> Source:
    """Make `source` the clock every caller of this module reads and waits on; return the one it replaces.

    For tests (a fake clock); the daemon keeps the SystemClock it starts with.
    """
    global _source
    previous, _source = _source, source
    return previous


def now() -> datetime:
    """The current instant, aware, in UTC, on the shared clock."""
    return _source.now() + _offset


def host_now() -> datetime:
    """This host's own clock, uncorrected: only to measure its offset from the database."""
    return _source.now()


def set_offset(offset: timedelta) -> None:
    global _offset
    _offset = offset


def offset() -> timedelta:
    return _offset


def monotonic() -> float:
    """Seconds on a clock that never steps (CLOCK_MONOTONIC): to notice when the wall clock does."""
    return _source.monotonic()


def wait(event: threading.Event, seconds: float) -> bool:
    """Wait up to `seconds` for `event`; True when it was set (at once if it already is).

    Every wait of a delivery (a redial interval, a backoff, between polls, a Retry-After)
    goes through here, so the daemon's stop, which sets the event, still ends it at once.
    """
    return _source.wait(event, max(seconds, 0.0))
