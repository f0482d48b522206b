"""Which rings will happen, as people read them: the instant, its local time, and what DST did to it.

`rings` is the one answer to "when will this alarm ring": list, show, next, status, the
systemd status line and skip itself all ask it, so every view agrees. Pure: nothing here
reads the clock or the database; callers pass the first instant that may still ring and
what the alarm row says about pauses and skips.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from alarmd.schedule import rules
from alarmd.schedule.rules import CronSpec, Schedule

# Skipped instants are passed over; this bounds the walk past them (they are a short list
# in practice, but an every-minute cron with many skips must not loop for long).
MAX_PASSED_OVER = 10_000
# The local date of an instant can be the day after its wall time's (a gap at midnight).
_DAY = timedelta(days=1)
_TICK = timedelta(microseconds=1)


@dataclass(frozen=True)
class FireTime:
    at: datetime  # UTC
    local: datetime  # the same instant in the alarm's zone
    gap_moved: bool  # its wall time does not exist that day (spring gap): moved forward
    repeated_hour: bool  # its wall time happens twice that day (autumn): this is the first

    def as_json(self) -> dict[str, Any]:
        return {"at": self.at.isoformat(), "local": self.local.isoformat(),
                "gap_moved": self.gap_moved, "repeated_hour": self.repeated_hour}


def describe(schedule: Schedule, instant: datetime) -> FireTime:
    """Say where `instant`, one of the schedule's fire times, came from."""
    tz = schedule.zone
    local = instant.astimezone(tz)
    naive = local.replace(tzinfo=None)
    cron = rules.parse_cron(schedule.cron or "") if schedule.kind == "cron" else None
    # A one-off set as an instant has no wall time of its own to have been moved from.
    if (schedule.kind == "once" and schedule.time_of_day is None) or _is_wall(schedule, cron, naive):
        return FireTime(instant.astimezone(UTC), local, False, rules.is_repeated(naive, tz))
    # Not a wall time of the schedule itself: a wall time in the gap, moved forward to here.
    for day in (naive.date(), naive.date() - _DAY):
        for wall in _walls(schedule, cron, day):
            if rules.is_in_gap(wall, tz) and rules.resolve_local(wall, tz) == instant:
                return FireTime(instant.astimezone(UTC), local, True, False)
    return FireTime(instant.astimezone(UTC), local, False, False)


def rings(schedule: Schedule, since: datetime, count: int, *, skipping: Collection[str],
          paused: bool, paused_until: datetime | None) -> list[FireTime]:
    """The next `count` rings that will happen, from `since` on (inclusive: the first instant
    that may still ring). Skipped instants and those inside a pause are left out, as
    claim_due records them as skipped; paused for good, nothing rings."""
    if paused and paused_until is None:
        return []
    if paused and paused_until is not None:
        since = max(since, paused_until)
    found: list[FireTime] = []
    for instant in _unskipped(schedule, since - _TICK, set(skipping)):
        found.append(describe(schedule, instant))
        if len(found) >= count:
            break
    return found


def next_ring(schedule: Schedule, since: datetime, *, skipping: Collection[str], paused: bool,
              paused_until: datetime | None) -> FireTime | None:
    """The first ring that will happen from `since` on, or None (paused for good, or done)."""
    found = rings(schedule, since, 1, skipping=skipping, paused=paused, paused_until=paused_until)
    return found[0] if found else None


def instants_on_days(schedule: Schedule, first: date, last: date, since: datetime,
                     limit: int) -> list[datetime]:
    """The fire times from `since` on whose local date, in the alarm's zone, is from `first`
    to `last`; at most `limit` + 1 of them, so a caller can tell there were too many."""
    tz = schedule.zone
    # From a little before local midnight: the first instant of a day may follow a gap.
    start = max(since - _TICK, rules.resolve_local(datetime.combine(first, time(0)), tz) - timedelta(hours=3))
    found: list[datetime] = []
    for instant in rules.iter_fire_times(schedule, start):
        local_day = instant.astimezone(tz).date()
        if local_day > last or len(found) > limit:
            break
        if local_day >= first:
            found.append(instant)
    return found


def is_fire_time(schedule: Schedule, instant: datetime) -> bool:
    """True when the schedule rings at exactly `instant`."""
    return rules.next_fire(schedule, instant - _TICK) == instant


def split_skips(schedule: Schedule, skips: Iterable[str]) -> tuple[list[str], list[str]]:
    """Skipped instants (ISO) a new schedule still rings at, and those it does not."""
    kept: list[str] = []
    dropped: list[str] = []
    for skip in skips:
        (kept if is_fire_time(schedule, datetime.fromisoformat(skip)) else dropped).append(skip)
    return kept, dropped


def _unskipped(schedule: Schedule, after: datetime, skipping: set[str]) -> Iterator[datetime]:
    passed = 0
    for instant in rules.iter_fire_times(schedule, after):
        if instant.isoformat() in skipping:
            passed += 1
            if passed > MAX_PASSED_OVER:
                return
            continue
        yield instant


def _is_wall(schedule: Schedule, cron: CronSpec | None, naive: datetime) -> bool:
    if naive.second or naive.microsecond:
        return False
    if schedule.kind in ("daily", "once"):
        return naive.weekday() in schedule.days and naive.time() == schedule.time_of_day
    assert cron is not None
    return cron.matches_day(naive.date()) and naive.hour in cron.hours and naive.minute in cron.minutes


def _walls(schedule: Schedule, cron: CronSpec | None, day: date) -> list[datetime]:
    if schedule.kind == "once":
        assert schedule.time_of_day is not None
        return [datetime.combine(day, schedule.time_of_day)]
    if schedule.kind == "daily":
        assert schedule.time_of_day is not None
        return [datetime.combine(day, schedule.time_of_day)] if day.weekday() in schedule.days else []
    assert cron is not None
    if not cron.matches_day(day):
        return []
    return [datetime.combine(day, time(h, m)) for h in sorted(cron.hours) for m in sorted(cron.minutes)]
