"""The one place alarmd reads the clock.

Everything else takes `now` as an argument or asks this function, so tests can move
time with time-machine and the rest of the code stays pure.
"""

import time
from datetime import UTC, datetime


def now() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)


def monotonic() -> float:
    """Seconds on a clock that never steps (CLOCK_MONOTONIC): to notice when the wall clock does."""
    return time.monotonic()
