"""The cost guard: at most alarmd.limits.callsPerHour call attempts in any hour, all numbers together.

It protects against a runaway NMO rule or a leaked token ringing up a bill. The count
comes from the attempts table, so it holds across restarts and counts every attempt,
whatever asked for it (an alarm, a manual dial, a redial, a keepalive).

Call `check` in the same session and transaction that then writes the attempt row:
it takes SQLite's write lock first, so two calls placed at the same moment cannot
both see room for one more.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from alarmd.errors import LimitExceeded
from alarmd.store.models import Attempt, StateEntry

WINDOW = timedelta(hours=1)


class CallLimitReached(LimitExceeded):
    """LimitExceeded, with when the oldest counted attempt leaves the window (HTTP Retry-After)."""

    def __init__(self, message: str, retry_after_seconds: int):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


def calls_in_window(session: Session, now: datetime) -> int:
    """Attempts started in the hour up to `now`."""
    return session.scalar(
        select(func.count(Attempt.id)).where(Attempt.started_at > now - WINDOW)
    ) or 0


def check(session: Session, now: datetime, limit: int) -> None:
    """Raise LimitExceeded when `limit` attempts were already started in the last hour."""
    # A write, even of no row, makes SQLite take its write lock (BEGIN is deferred until
    # the first write); the count below is then not stale by the time the attempt is
    # inserted, and a concurrent check waits (busy timeout) until this transaction ends.
    session.execute(update(StateEntry).where(StateEntry.key == "costguard").values(value=StateEntry.value))
    placed = calls_in_window(session, now)
    if placed >= limit:
        oldest = session.scalar(select(func.min(Attempt.started_at)).where(Attempt.started_at > now - WINDOW))
        wait = (oldest + WINDOW - now).total_seconds() if oldest is not None else WINDOW.total_seconds()
        raise CallLimitReached(
            f"the cost guard allows {limit} calls per hour (alarmd.limits.callsPerHour) and "
            f"{placed} were placed in the last hour; try again later.",
            max(1, math.ceil(wait)),
        )
