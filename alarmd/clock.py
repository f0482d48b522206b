"""The one place alarmd reads the clock.

Everything else takes `now` as an argument or asks this function, so tests can move
time with time-machine and the rest of the code stays pure.
"""

from datetime import UTC, datetime


def now() -> datetime:
    """The current instant, aware, in UTC."""
    return datetime.now(UTC)
