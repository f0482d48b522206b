"""Noticing a wall-clock step while the daemon runs, so no alarm is slept through or rung early.

A Raspberry Pi has no real-time clock: until NTP sets it the time can be hours off, and
the unit waits for time-sync.target for that. A step later on (NTP, a person with
`date -s`, a laptop waking up) leaves the scheduler asleep on a timer computed from the
old time: after a step forward, alarms that fell due wait for its next wake-up (up to
15 s); after a step back, the interval jobs wait out the hour (the watchdog's pings
among them, so systemd would kill the service). The daemon's main loop asks `check()`
every second; a step of more than STEP_SECONDS is logged and every job is set again
from the database.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from alarmd import clock

log = logging.getLogger("alarmd")

STEP_SECONDS = 60.0


def wall_minus_monotonic() -> float:
    """Constant while the wall clock runs freely; it moves by the size of any step."""
    return clock.now().timestamp() - clock.monotonic()


def step_text(seconds: float) -> str:
    direction = "forward" if seconds > 0 else "back"
    size = abs(round(seconds))
    if size < 3600:
        return f"{direction} by {size // 60} min {size % 60} s"
    return f"{direction} by {size // 3600} h {size % 3600 // 60} min"


class ClockWatch:
    def __init__(self, on_step: Callable[[], None]):
        self.on_step = on_step
        self._offset = wall_minus_monotonic()

    def check(self) -> float | None:
        """The step since the last check (seconds, + forward) when it is over STEP_SECONDS, else None."""
        offset = wall_minus_monotonic()
        step, self._offset = offset - self._offset, offset
        if abs(step) <= STEP_SECONDS:
            return None
        log.warning("the wall clock stepped %s; every alarm's job is set again from the database",
                    step_text(step))
        self.on_step()
        return step
