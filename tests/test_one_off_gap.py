"""A one-off set at a wall time inside the spring gap gets the same `gap_moved` note as a
recurring alarm does; one set as an instant (an offset given) is never said to be moved.

2027-03-28 is the spring-forward day in Europe/London (01:00 GMT -> 02:00 BST).
"""

from __future__ import annotations

from datetime import UTC, datetime, time

from alarmd.schedule import firetimes
from alarmd.schedule.rules import Schedule
from alarmd.schedule.timeparse import gap_wall_time
from tests.cli_harness import LiveApp, app  # noqa: F401 (the fixture)
from tests.test_cli import as_json, ok

MOVED = datetime(2027, 3, 28, 1, 30, tzinfo=UTC)  # 01:30 asked, 02:30 BST rung
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_the_cli_and_the_api_say_a_one_off_in_the_gap_was_moved(app: LiveApp) -> None:  # noqa: F811
    ok(app, "add", "--to", "0", "--at", "2027-03-28T01:30", "--tz", "Europe/London", "--name", "moved")
    ok(app, "add", "--to", "0", "--at", "2027-03-28T02:30+01:00", "--name", "instant")
    [moved] = as_json(app, "next", "moved")
    assert (moved["at"], moved["local"], moved["gap_moved"]) == (MOVED.isoformat(), "2027-03-28T02:30:00+01:00", True)
    [instant] = as_json(app, "next", "instant")
    assert (instant["at"], instant["gap_moved"]) == (MOVED.isoformat(), False)
    explained = ok(app, "next", "moved", "--explain")
    assert "moved forward: that wall time does not exist (DST gap)" in explained
    shown = as_json(app, "show", "moved")
    assert (shown["kind"], shown["daily"], shown["at"]) == ("once", None, MOVED.isoformat())
    # An edit that leaves the time alone keeps the note; another zone makes it plain.
    ok(app, "edit", "moved", "--name", "moved-still")
    assert as_json(app, "next", "moved-still")[0]["gap_moved"] is True
    ok(app, "edit", "moved-still", "--tz", "Europe/Paris")
    assert as_json(app, "next", "moved-still")[0]["gap_moved"] is False


def test_gap_wall_time_is_the_wall_time_asked_when_the_gap_moved_it() -> None:
    assert gap_wall_time("2027-03-28T01:30", "Europe/London", NOW) == datetime(2027, 3, 28, 1, 30)
    assert gap_wall_time("2027-03-28T02:30", "Europe/London", NOW) is None  # a real wall time
    assert gap_wall_time("2027-03-28T01:30+00:00", "Europe/London", NOW) is None  # an instant
    assert gap_wall_time("in 20m", "Europe/London", NOW) is None
    night = datetime(2027, 3, 27, 20, tzinfo=UTC)
    assert gap_wall_time("01:30", "Europe/London", night) == datetime(2027, 3, 28, 1, 30)
    assert gap_wall_time("tomorrow 01:30", "Europe/London", night) == datetime(2027, 3, 28, 1, 30)
    assert gap_wall_time("sun 01:30", "Europe/London", night) == datetime(2027, 3, 28, 1, 30)


def test_describe_marks_a_one_off_only_when_its_asked_wall_time_was_in_the_gap() -> None:
    asked = Schedule("once", "Europe/London", at=MOVED, time_of_day=time(1, 30))
    assert firetimes.describe(asked, MOVED).gap_moved is True
    assert firetimes.describe(Schedule("once", "Europe/London", at=MOVED), MOVED).gap_moved is False
    # Santiago's gap is at midnight: 00:30 on 2026-09-06 rings at 01:30, the same local date.
    santiago = datetime(2026, 9, 6, 4, 30, tzinfo=UTC)
    chile = Schedule("once", "America/Santiago", at=santiago, time_of_day=time(0, 30))
    assert firetimes.describe(chile, santiago).gap_moved is True
