"""Calls prepared ahead wait here for their instant, and hear at once of their alarm's changes.

A call is prepared a few seconds before it is due (delivery.PREPARE_AHEAD) and then
waits. A remove, pause or skip meanwhile must still stop it, so the alarm is read again
if it changed; doing that when the change is heard, not at the instant, leaves only the
request to do at the instant. The daemon's stop wakes every waiting call too.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Prepared:
    def __init__(self, stopping: threading.Event):
        self.stopping = stopping
        self._lock = threading.Lock()
        # How often each alarm was changed, as this daemon heard (its own edits, the change log).
        self._changes: dict[int, int] = {}
        # The wake-up of each waiting call, by its alarm (None: a dial or the keepalive).
        self._waiting: dict[int | None, set[threading.Event]] = {}

    def changes(self, alarm_id: int | None) -> int:
        return self._changes.get(alarm_id, 0) if alarm_id is not None else 0

    def alarm_changed(self, alarm_id: int) -> None:
        with self._lock:
            self._changes[alarm_id] = self._changes.get(alarm_id, 0) + 1
            for wake in self._waiting.get(alarm_id, ()):
                wake.set()

    def stop(self) -> None:
        self.stopping.set()
        with self._lock:
            for wakes in self._waiting.values():
                for wake in wakes:
                    wake.set()

    @contextmanager
    def waiting(self, alarm_id: int | None) -> Iterator[threading.Event]:
        """An event set whenever the alarm changes or the daemon stops, while the call waits."""
        wake = threading.Event()
        with self._lock:
            self._waiting.setdefault(alarm_id, set()).add(wake)
        try:
            yield wake
        finally:
            with self._lock:
                wakes = self._waiting[alarm_id]
                wakes.discard(wake)
                if not wakes:
                    del self._waiting[alarm_id]
