"""firetimes, the pure part behind list, show, /v1/alarms/{ref}/next, /v1/next, status and skip:
explicit instants."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from alarmd.schedule import firetimes
from alarmd.schedule.rules import Schedule

LONDON = "Europe/London"


def daily(hhmm: str, tz: str = LONDON, days: frozenset[int] = frozenset(range(7))) -> Schedule:
    return Schedule("daily", tz, time_of_day=time.fromisoformat(hhmm), days=days)


def cron(expr: str, tz: str = LONDON) -> Schedule:
    return Schedule("cron", tz, cron=expr)


@pytest.mark.parametrize("schedule", [daily("01:30"), cron("30 1 * * *")])
def test_the_spring_gap_and_the_autumn_repeat_are_marked(schedule: Schedule) -> None:
    spring = firetimes.rings(schedule, datetime(2026, 3, 28, 12, tzinfo=UTC), 2,
                                skipping=set(), paused=False, paused_until=None)
    assert [t.as_json() for t in spring] == [
        {"at": "2026-03-29T01:30:00+00:00", "local": "2026-03-29T02:30:00+01:00",
         "gap_moved": True, "repeated_hour": False},
        {"at": "2026-03-30T00:30:00+00:00", "local": "2026-03-30T01:30:00+01:00",
         "gap_moved": False, "repeated_hour": False},
    ]
    autumn = firetimes.rings(schedule, datetime(2026, 10, 24, 12, tzinfo=UTC), 2,
                                skipping=set(), paused=False, paused_until=None)
    assert [(t.local.isoformat(), t.gap_moved, t.repeated_hour) for t in autumn] == [
        ("2026-10-25T01:30:00+01:00", False, True),  # the first of the two 01:30s
        ("2026-10-26T01:30:00+00:00", False, False),
    ]


def test_a_moved_cron_time_that_lands_on_a_real_one_is_not_marked_moved() -> None:
    # 01:30 is moved to 02:30, which the schedule also names: one ring, at a real wall time.
    times = firetimes.rings(cron("30 1,2 * * *"), datetime(2026, 3, 29, 0, tzinfo=UTC), 1,
                               skipping=set(), paused=False, paused_until=None)
    assert [(t.local.isoformat(), t.gap_moved) for t in times] == [("2026-03-29T02:30:00+01:00", False)]


def test_a_gap_at_midnight_is_marked_too() -> None:
    # Chile moves from 00:00 to 01:00 on 2026-09-06.
    times = firetimes.rings(daily("00:30", "America/Santiago"), datetime(2026, 9, 5, 12, tzinfo=UTC), 1,
                               skipping=set(), paused=False, paused_until=None)
    assert [(t.local.isoformat(), t.gap_moved) for t in times] == [("2026-09-06T01:30:00-03:00", True)]


def test_a_one_off_is_never_moved_but_may_fall_in_a_repeated_hour() -> None:
    at = datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 01:30 BST, the first 01:30 that night
    [only] = firetimes.rings(Schedule("once", LONDON, at=at), datetime(2026, 10, 1, tzinfo=UTC), 5,
                                skipping=set(), paused=False, paused_until=None)
    assert (only.at, only.gap_moved, only.repeated_hour) == (at, False, True)


def test_skipped_and_paused_rings_are_left_out() -> None:
    schedule = daily("07:00", "UTC")
    start = datetime(2026, 12, 1, tzinfo=UTC)
    skipping = {"2026-12-01T07:00:00+00:00", "2026-12-03T07:00:00+00:00"}
    found = firetimes.rings(schedule, start, 3, skipping=skipping, paused=False, paused_until=None)
    assert [t.at.day for t in found] == [2, 4, 5]
    until = datetime(2026, 12, 10, 7, tzinfo=UTC)  # a ring exactly at the end of the pause rings
    found = firetimes.rings(schedule, start, 2, skipping=skipping, paused=True, paused_until=until)
    assert [t.at.day for t in found] == [10, 11]
    assert firetimes.rings(schedule, start, 2, skipping=set(), paused=True, paused_until=None) == []
    ring = firetimes.next_ring(schedule, start, skipping=skipping, paused=False, paused_until=None)
    assert ring is not None and ring.at == datetime(2026, 12, 2, 7, tzinfo=UTC)
    assert firetimes.next_ring(schedule, start, skipping=(), paused=True, paused_until=None) is None


def test_rings_start_at_since_itself() -> None:
    # `since` is the first instant that may ring (next_fire_at, or a ring claimed ahead).
    at = datetime(2026, 12, 2, 7, tzinfo=UTC)
    [first] = firetimes.rings(daily("07:00", "UTC"), at, 1, skipping=(), paused=False, paused_until=None)
    assert first.at == at


def test_instants_on_local_dates() -> None:
    schedule = cron("0 0,12,23 * * *", "America/New_York")
    eve = date(2026, 12, 24)
    found = firetimes.instants_on_days(schedule, eve, eve, datetime(2026, 12, 1, tzinfo=UTC), 100)
    assert [t.astimezone(schedule.zone).hour for t in found] == [0, 12, 23]
    assert all(t.astimezone(schedule.zone).date() == eve for t in found)
    later = firetimes.instants_on_days(schedule, eve, eve, datetime(2026, 12, 24, 18, tzinfo=UTC), 100)
    assert [t.astimezone(schedule.zone).hour for t in later] == [23]
    assert firetimes.instants_on_days(daily("07:00", days=frozenset({0})), date(2026, 12, 27), date(2026, 12, 27),
                                      datetime(2026, 12, 1, tzinfo=UTC), 100) == []
    holiday = firetimes.instants_on_days(daily("07:00", days=frozenset(range(5))), date(2026, 12, 24),
                                         date(2027, 1, 1), datetime(2026, 12, 1, tzinfo=UTC), 100)
    assert [t.day for t in holiday] == [24, 25, 28, 29, 30, 31, 1]  # the weekend has no rings
    # At most limit + 1, so the caller can tell there were too many.
    assert len(firetimes.instants_on_days(cron("* * * * *", "UTC"), eve, eve, datetime(2026, 12, 1, tzinfo=UTC),
                                          10)) == 11


def test_skips_a_new_schedule_still_rings_at_are_kept() -> None:
    skips = ["2026-12-02T07:00:00+00:00", "2026-12-05T07:00:00+00:00", "2026-12-25T07:00:00+00:00"]
    weekdays = daily("07:00", "UTC", days=frozenset(range(5)))
    assert firetimes.split_skips(weekdays, skips) == (
        ["2026-12-02T07:00:00+00:00", "2026-12-25T07:00:00+00:00"], ["2026-12-05T07:00:00+00:00"])
    assert firetimes.split_skips(daily("06:30", "UTC"), skips) == ([], skips)
    # The same wall time in another zone is another instant.
    assert firetimes.split_skips(daily("07:00", "Europe/Paris"), skips) == ([], skips)
