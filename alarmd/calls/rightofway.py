"""A call about to go out has right of way over the daemon's bookkeeping.

A delivery prepares its call a few seconds ahead (callplan.LEAD) and then waits for the
due instant, so that only the request is left to do. Whatever else the daemon does at
that instant (claiming and preparing a later alarm, recording or following an earlier
call) competes with it for the interpreter lock and holds the request back by several
milliseconds. So bookkeeping first calls `give_way()`: while a prepared call is due
within CLEARANCE, or due and not yet sent, it waits for that call to go out.

The wait is bounded by MAX_WAIT: bookkeeping is only ever delayed, never starved.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from alarmd import clock

# Longer than one bookkeeping step (a claim, an attempt row) usually takes, so a step
# started just before the instant is over by then.
CLEARANCE = timedelta(milliseconds=25)
MAX_WAIT_SECONDS = 0.25


class RightOfWay:
    def __init__(self) -> None:
        self._due: dict[int, datetime] = {}
        self._keys = itertools.count()
        self._changed = threading.Condition()

    @contextmanager
    def call_due(self, at: datetime) -> Iterator[None]:
        """Around a prepared call's last wait and its request; `at` is when it goes out."""
        with self._changed:
            key = next(self._keys)
            self._due[key] = at
        try:
            yield
        finally:
            with self._changed:
                del self._due[key]
                self._changed.notify_all()

    def give_way(self) -> None:
        """Return once no prepared call is due within CLEARANCE, or after MAX_WAIT_SECONDS."""
        # Elapsed real time bounds the wait: the wall clock may be moved (or frozen in tests).
        deadline = time.monotonic() + MAX_WAIT_SECONDS
        with self._changed:
            while True:
                soon = clock.now() + CLEARANCE
                left = deadline - time.monotonic()
                if left <= 0 or not any(at <= soon for at in self._due.values()):
                    return
                self._changed.wait(left)
