"""Counting, never sleeping: wrong tokens per address, and test calls per number.

A sleep would hold one of the server's threads per guess and let a guesser tie them all
up; a counter answers 429 at once with the seconds to wait. Counts live in memory: a
restart forgets them, which gives a guesser a few more tries against a 256-bit token,
and costs no database write per wrong guess.
"""

from __future__ import annotations

import math
import threading
from collections import OrderedDict
from datetime import datetime, timedelta

# Beyond this many keys the oldest are forgotten: a scan from many addresses must not
# grow the daemon's memory without bound.
MAX_KEYS = 10_000


class Limiter:
    """At most `limit` events per key within any `window`."""

    def __init__(self, limit: int, window: timedelta):
        self.limit = limit
        self.window = window
        self._events: OrderedDict[str, list[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def retry_after(self, key: str, now: datetime) -> int | None:
        """Seconds until `key` may act again, or None when it may now."""
        with self._lock:
            recent = self._recent(key, now)
            if len(recent) < self.limit:
                return None
            return max(1, math.ceil((recent[0] + self.window - now).total_seconds()))

    def record(self, key: str, now: datetime) -> None:
        with self._lock:
            self._events[key] = [*self._recent(key, now), now]
            self._events.move_to_end(key)
            while len(self._events) > MAX_KEYS:
                self._events.popitem(last=False)

    def forget(self, key: str) -> None:
        with self._lock:
            self._events.pop(key, None)

    def _recent(self, key: str, now: datetime) -> list[datetime]:
        return [t for t in self._events.get(key, []) if now - t < self.window]


def sign_in_limiter() -> Limiter:
    """Five wrong tokens (or dead links) from one address, then a quarter of an hour's wait."""
    return Limiter(5, timedelta(minutes=15))


def test_call_limiter() -> Limiter:
    """One test call per number per minute: a button pressed twice rings once."""
    return Limiter(1, timedelta(minutes=1))
