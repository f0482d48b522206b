"""Fire-time math and the DST policy, with explicit aware datetimes (no clock to freeze)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from itertools import islice
from zoneinfo import ZoneInfo

import pytest

from alarmd.errors import BadInput
from alarmd.schedule.rules import (
    Schedule,
    describe_days,
    fire_times_between,
    is_in_gap,
    is_repeated,
    iter_fire_times,
    next_fire,
    parse_cron,
    parse_days,
    parse_instant,
)

LONDON = ZoneInfo("Europe/London")
SPRING = date(2026, 3, 29)  # 01:00 GMT -> 02:00 BST
AUTUMN = date(2026, 10, 25)  # 02:00 BST -> 01:00 GMT


def local_times(schedule: Schedule, start: datetime, count: int) -> list[datetime]:
    return [t.astimezone(LONDON) for t in islice(iter_fire_times(schedule, start), count)]


@pytest.mark.parametrize("transition", [SPRING, AUTUMN])
def test_a_daily_0700_alarm_rings_at_0700_local_across_both_2026_transitions(transition: date) -> None:
    schedule = Schedule("daily", "Europe/London", time_of_day=time(7, 0))
    start = datetime.combine(transition - timedelta(days=3), time(12), tzinfo=UTC)
    rings = local_times(schedule, start, 6)
    assert [r.date() for r in rings] == [transition + timedelta(days=d) for d in range(-2, 4)]
    assert {(r.hour, r.minute) for r in rings} == {(7, 0)}
    # The UTC instant moves by an hour across the change, the wall time does not.
    offsets = {r.date(): r.utcoffset() for r in rings}
    assert offsets[transition - timedelta(days=1)] != offsets[transition + timedelta(days=1)]


def test_a_daily_0130_alarm_rings_once_on_the_spring_day_within_the_hour_after_the_gap() -> None:
    schedule = Schedule("daily", "Europe/London", time_of_day=time(1, 30))
    start = datetime(2026, 3, 27, 12, tzinfo=UTC)
    rings = local_times(schedule, start, 5)
    per_day = Counter(r.date() for r in rings)
    assert per_day[SPRING] == 1
    spring = next(r for r in rings if r.date() == SPRING)
    # 01:30 does not exist that night; it rings at 02:30 BST, inside the hour after the gap.
    assert spring == datetime(2026, 3, 29, 2, 30, tzinfo=LONDON)
    assert spring.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert timedelta(0) < spring.astimezone(UTC) - datetime(2026, 3, 29, 1, 0, tzinfo=UTC) <= timedelta(hours=1)


def test_a_daily_0130_alarm_rings_once_on_the_autumn_day_at_its_first_occurrence() -> None:
    schedule = Schedule("daily", "Europe/London", time_of_day=time(1, 30))
    rings = list(islice(iter_fire_times(schedule, datetime(2026, 10, 23, 12, tzinfo=UTC)), 5))
    on_the_day = [r for r in rings if r.astimezone(LONDON).date() == AUTUMN]
    assert on_the_day == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC)]  # 01:30 BST, fold 0
    # Ringing is keyed by instant, so one more search from just after it finds the next day.
    assert next_fire(schedule, on_the_day[0]) == datetime(2026, 10, 26, 1, 30, tzinfo=UTC)


def test_weekdays_are_honoured_in_the_alarms_zone() -> None:
    schedule = Schedule("daily", "America/New_York", time_of_day=time(6, 45), days=parse_days("mon-fri"))
    start = datetime(2026, 11, 27, 12, tzinfo=UTC)  # a Friday
    rings = [t.astimezone(ZoneInfo("America/New_York")) for t in islice(iter_fire_times(schedule, start), 3)]
    assert [r.strftime("%a %H:%M") for r in rings] == ["Mon 06:45", "Tue 06:45", "Wed 06:45"]


def test_cron_in_the_spring_gap_moves_forward_and_never_rings_twice() -> None:
    schedule = Schedule("cron", "Europe/London", cron="*/30 1-2 * * *")
    start = datetime(2026, 3, 29, 0, 0, tzinfo=UTC)
    end = datetime(2026, 3, 29, 3, 0, tzinfo=UTC)
    rings = fire_times_between(schedule, start, end, 100)
    assert len(rings) == len(set(rings))
    assert [r.astimezone(LONDON).strftime("%H:%M") for r in rings] == ["02:00", "02:30"]


def test_cron_follows_vixie_day_rules() -> None:
    spec = parse_cron("30 6 1 * mon")
    assert spec.matches_day(date(2026, 12, 1))  # the 1st (a Tuesday)
    assert spec.matches_day(date(2026, 12, 7))  # a Monday
    assert not spec.matches_day(date(2026, 12, 8))
    only_mondays = parse_cron("30 6 * * 1-5")
    assert only_mondays.matches_day(date(2026, 11, 27)) and not only_mondays.matches_day(date(2026, 11, 28))


# cronie (and Vixie cron) flag a day field whose text starts with "*" as unrestricted, before
# any step or list is read: then the two day fields are ANDed, otherwise ORed.
@pytest.mark.parametrize(("expr", "day", "rings"), [
    ("0 7 */2 * 1-5", date(2026, 12, 5), False),  # Saturday the 5th: odd, but not a weekday
    ("0 7 */2 * 1-5", date(2026, 12, 3), True),  # Thursday the 3rd: odd and a weekday
    ("0 7 */2 * 1-5", date(2026, 12, 2), False),  # Wednesday the 2nd: a weekday, but even
    ("0 7 1-31/2 * 1-5", date(2026, 12, 5), True),  # the same days spelled without "*": ORed
    ("0 7 1-31/2 * 1-5", date(2026, 12, 2), True),
    ("0 7 1 * */2", date(2026, 12, 1), True),  # the 1st, a Tuesday (2): both match
    ("0 7 1 * */2", date(2027, 1, 1), False),  # the 1st, a Friday (5)
    ("0 7 1 * */2", date(2026, 12, 6), False),  # a Sunday (0), not the 1st
    ("0 7 2 * */2", date(2026, 12, 2), False),  # the 2nd, a Wednesday (3): odd weekday
    ("0 7 2 * */2", date(2027, 3, 2), True),  # the 2nd, a Tuesday (2)
    ("0 7 *,10 * 2", date(2026, 12, 8), True),  # starts with "*": ANDed, and the 8th is a Tuesday
    ("0 7 *,10 * 2", date(2026, 12, 10), False),  # a Thursday: the day of week must match too
    ("0 7 10,* * 2", date(2026, 12, 10), True),  # does not start with "*": ORed
    ("0 7 10,* * 2", date(2026, 12, 9), True),  # "*" in the list matches every day of the month
    ("0 7 * * 1-5", date(2026, 12, 5), False),
    ("0 7 13 * 5", date(2026, 12, 13), True),  # both restricted: the 13th (a Sunday) will do
    ("0 7 13 * 5", date(2026, 12, 4), True),  # and so will any Friday
    ("0 7 13 * 5", date(2026, 12, 5), False),
])
def test_cron_day_fields_follow_cronie(expr: str, day: date, rings: bool) -> None:
    assert parse_cron(expr).matches_day(day) is rings
    schedule = Schedule("cron", "UTC", cron=expr)
    found = fire_times_between(schedule, datetime.combine(day, time(0), tzinfo=UTC),
                               datetime.combine(day, time(23, 59), tzinfo=UTC), 10)
    assert found == ([datetime.combine(day, time(7), tzinfo=UTC)] if rings else [])


def test_a_leap_day_cron_is_found_years_ahead() -> None:
    schedule = Schedule("cron", "UTC", cron="0 9 29 feb *")
    assert next_fire(schedule, datetime(2026, 11, 26, tzinfo=UTC)) == datetime(2028, 2, 29, 9, tzinfo=UTC)


def test_a_one_off_fires_once() -> None:
    at = datetime(2026, 11, 27, 7, tzinfo=UTC)
    schedule = Schedule("once", "Europe/London", at=at)
    assert next_fire(schedule, at - timedelta(seconds=1)) == at
    assert next_fire(schedule, at) is None


@pytest.mark.parametrize(("expr", "fragment"), [
    ("* * * *", "five fields"),
    ("60 * * * *", "not a valid minute"),
    ("* 24 * * *", "not a valid hour"),
    ("5-1 * * * *", "runs backwards"),
    ("*/0 * * * *", "not a valid step"),
])
def test_bad_cron_expressions_get_one_sentence(expr: str, fragment: str) -> None:
    with pytest.raises(BadInput, match=fragment):
        parse_cron(expr)


def test_days_and_instants_parse_as_people_write_them() -> None:
    assert parse_days("weekdays") == parse_days("mon-fri") == frozenset(range(5))
    assert parse_days("sat,sun") == parse_days("weekends")
    assert parse_days("fri-mon") == frozenset({4, 5, 6, 0})
    assert describe_days(parse_days("mon-fri")) == "Mon–Fri"
    assert parse_instant("2026-11-27T07:00", "Europe/London") == datetime(2026, 11, 27, 7, tzinfo=UTC)
    assert parse_instant("2026-07-01T07:00", "Europe/London") == datetime(2026, 7, 1, 6, tzinfo=UTC)
    assert parse_instant("2026-11-27T07:00:00+01:00", "UTC") == datetime(2026, 11, 27, 6, tzinfo=UTC)
    with pytest.raises(BadInput):
        parse_days("someday")
    with pytest.raises(BadInput):
        parse_instant("tomorrowish", "UTC")


def test_gap_and_repeat_detection() -> None:
    assert is_in_gap(datetime(2026, 3, 29, 1, 30), LONDON)
    assert not is_in_gap(datetime(2026, 3, 29, 2, 30), LONDON)
    assert is_repeated(datetime(2026, 10, 25, 1, 30), LONDON)
    assert not is_repeated(datetime(2026, 10, 25, 2, 30), LONDON)
