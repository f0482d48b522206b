"""A clock for tests whose waits take no time: alarmd.clock's source, put in with clock.use().

A wait moves the fake time on by what it asked (or returns at once when its event is
already set), so a redial interval, a backoff or a Retry-After is waited in an instant
and the delivery's decisions come out as they would in real time. Time moves only when
something waits, so a test that drives one delivery on its own thread stays
deterministic. What must happen while the delivery waits (an edit, a stop) is set with
`at()`: it runs in the waiting thread when the fake time reaches it, before the wait ends.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from alarmd import clock


class FakeClock:
    def __init__(self, start: datetime | None = None):
        self._lock = threading.Lock()
        self._now = start or datetime.now(UTC)
        self._start = self._now
        self._actions: list[tuple[datetime, int, Callable[[], None]]] = []
        self._order = itertools.count()
        # Every wait as it was asked: (fake instant it began, seconds asked, whether its event was set).
        self.waits: list[tuple[datetime, float, bool]] = []

    # --- alarmd.clock.Source --------------------------------------------------------

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def monotonic(self) -> float:
        with self._lock:
            return (self._now - self._start).total_seconds()

    def wait(self, event: threading.Event, seconds: float) -> bool:
        with self._lock:
            self.waits.append((self._now, seconds, event.is_set()))
            until = self._now + timedelta(seconds=seconds)
        if event.is_set():
            return True
        while True:
            with self._lock:
                if not self._actions or self._actions[0][0] > until:
                    self._now = max(self._now, until)
                    return event.is_set()
                when, _, action = heapq.heappop(self._actions)
                self._now = max(self._now, when)
            action()
            if event.is_set():
                return True

    # --- for tests ------------------------------------------------------------------

    def time(self) -> float:
        """The fake instant as seconds since the epoch, as time.time() gives it (the stand-in's clock)."""
        return self.now().timestamp()

    def elapsed(self) -> float:
        """Fake seconds since the clock was made."""
        return self.monotonic()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += timedelta(seconds=seconds)

    def at(self, seconds: float, action: Callable[[], None]) -> None:
        """Run `action` in whichever wait first reaches `seconds` after the clock was made."""
        with self._lock:
            heapq.heappush(self._actions, (self._start + timedelta(seconds=seconds), next(self._order), action))


@contextmanager
def fake_clock(start: datetime | None = None) -> Iterator[FakeClock]:
    fake = FakeClock(start)
    previous = clock.use(fake)
    try:
        yield fake
    finally:
        clock.use(previous)
