"""parse_when at fixed instants, in two zones and across both DST changes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from alarmd.errors import BadInput
from alarmd.schedule.timeparse import parse_when


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# Thursday 26 November 2026, 15:00 in London (GMT, UTC+0).
THU = utc(2026, 11, 26, 15, 0)


@pytest.mark.parametrize(("text", "expected"), [
    ("07:00", utc(2026, 11, 27, 7, 0)),            # already past today: tomorrow
    ("16:00", utc(2026, 11, 26, 16, 0)),           # still ahead today
    ("7:05", utc(2026, 11, 27, 7, 5)),
    ("at 07:00", utc(2026, 11, 27, 7, 0)),
    ("15:00", utc(2026, 11, 27, 15, 0)),           # exactly now is not "next"
    ("tomorrow 06:45", utc(2026, 11, 27, 6, 45)),
    ("Tomorrow at 06:45", utc(2026, 11, 27, 6, 45)),
    ("today 18:30", utc(2026, 11, 26, 18, 30)),
    ("today 06:00", utc(2026, 11, 26, 6, 0)),      # in the past: the service refuses it, not the parser
    ("in 20m", utc(2026, 11, 26, 15, 20)),
    ("in 2h", utc(2026, 11, 26, 17, 0)),
    ("in 1h30m", utc(2026, 11, 26, 16, 30)),
    ("in 1h 30min", utc(2026, 11, 26, 16, 30)),
    ("in 90 seconds", utc(2026, 11, 26, 15, 1, 30)),
    ("in 2 days", utc(2026, 11, 28, 15, 0)),
    ("fri 07:10", utc(2026, 11, 27, 7, 10)),
    ("Friday 07:10", utc(2026, 11, 27, 7, 10)),
    ("thu 07:10", utc(2026, 12, 3, 7, 10)),        # today's has passed: next week
    ("thu 16:00", utc(2026, 11, 26, 16, 0)),       # today's is still ahead
    ("mon 06:00", utc(2026, 11, 30, 6, 0)),
    ("now", THU),
    ("2026-11-27T07:00", utc(2026, 11, 27, 7, 0)),
    ("2026-11-27 07:00", utc(2026, 11, 27, 7, 0)),
    ("2026-11-27T07:00:00+01:00", utc(2026, 11, 27, 6, 0)),
    ("2026-11-27T07:00:00Z", utc(2026, 11, 27, 7, 0)),
])
def test_it_reads_each_form_in_london(text: str, expected: datetime) -> None:
    assert parse_when(text, "Europe/London", THU) == expected


def test_wall_times_are_read_in_the_given_zone() -> None:
    # 15:00 UTC is 10:00 in New York (EST, UTC-5).
    assert parse_when("07:00", "America/New_York", THU) == utc(2026, 11, 27, 12, 0)
    assert parse_when("11:00", "America/New_York", THU) == utc(2026, 11, 26, 16, 0)
    assert parse_when("2026-11-27T07:00", "America/New_York", THU) == utc(2026, 11, 27, 12, 0)
    # An explicit offset wins over the zone.
    assert parse_when("2026-11-27T07:00+00:00", "America/New_York", THU) == utc(2026, 11, 27, 7, 0)
    # "tomorrow" is the zone's tomorrow: 23:30 UTC Thursday is already Friday 08:30 in
    # Tokyo, so tomorrow 07:00 there is Saturday 07:00 JST, Friday 22:00 UTC.
    assert parse_when("tomorrow 07:00", "Asia/Tokyo", utc(2026, 11, 26, 23, 30)) == utc(2026, 11, 27, 22, 0)


# London springs forward on Sunday 29 March 2026: 01:00 GMT becomes 02:00 BST.
SAT_BEFORE_SPRING = utc(2026, 3, 28, 22, 0)


@pytest.mark.parametrize(("text", "now", "expected"), [
    ("07:00", SAT_BEFORE_SPRING, utc(2026, 3, 29, 6, 0)),          # 07:00 BST
    ("tomorrow 07:00", SAT_BEFORE_SPRING, utc(2026, 3, 29, 6, 0)),
    ("sun 07:00", SAT_BEFORE_SPRING, utc(2026, 3, 29, 6, 0)),
    ("fri 07:00", SAT_BEFORE_SPRING, utc(2026, 4, 3, 6, 0)),
    # 01:30 does not exist that night: moved forward by the gap, rings at 02:30 BST.
    ("01:30", SAT_BEFORE_SPRING, utc(2026, 3, 29, 1, 30)),
    ("2026-03-29T01:30", SAT_BEFORE_SPRING, utc(2026, 3, 29, 1, 30)),
    # A duration is elapsed time, whatever the wall clock does: 00:50 GMT + 20m = 02:10 BST.
    ("in 20m", utc(2026, 3, 29, 0, 50), utc(2026, 3, 29, 1, 10)),
    ("in 3h", utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 3, 30)),
])
def test_it_follows_the_dst_policy_across_the_spring_gap(text: str, now: datetime,
                                                         expected: datetime) -> None:
    assert parse_when(text, "Europe/London", now) == expected


# London falls back on Sunday 25 October 2026: 01:00-02:00 happens twice.
SAT_BEFORE_AUTUMN = utc(2026, 10, 24, 22, 0)


@pytest.mark.parametrize(("text", "now", "expected"), [
    ("07:00", SAT_BEFORE_AUTUMN, utc(2026, 10, 25, 7, 0)),          # 07:00 GMT
    ("tomorrow 07:00", SAT_BEFORE_AUTUMN, utc(2026, 10, 25, 7, 0)),
    # A repeated time means its first occurrence (01:30 BST = 00:30 UTC).
    ("01:30", SAT_BEFORE_AUTUMN, utc(2026, 10, 25, 0, 30)),
    ("2026-10-25T01:30", SAT_BEFORE_AUTUMN, utc(2026, 10, 25, 0, 30)),
    # During the second 01:xx hour the first 01:30 has passed: the next one is Monday's.
    ("01:30", utc(2026, 10, 25, 1, 10), utc(2026, 10, 26, 1, 30)),
    ("in 1h", utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30)),
])
def test_it_follows_the_dst_policy_across_the_autumn_repeat(text: str, now: datetime,
                                                            expected: datetime) -> None:
    assert parse_when(text, "Europe/London", now) == expected


@pytest.mark.parametrize(("text", "words"), [
    ("25:00", "is not a date and time alarmd understands"),
    ("7", "is not a date and time alarmd understands"),
    ("someday 07:00", "is not a date and time alarmd understands"),
    ("t 07:00", "is not a date and time alarmd understands"),
    ("next week", "is not a date and time alarmd understands"),
    ("2026-13-01T07:00", "is not a date and time alarmd understands"),
    ("in", "is not a date and time alarmd understands"),
    ("in soon", "a duration reads like"),
    ("in 5 parsecs", "is not a unit"),
    ("in 500d", "too far ahead"),
    ("in 99999999999999999999d", "too far ahead"),
    ("9999-12-31T23:59-05:00", "too far ahead"),
    ("   ", "empty text is not a date and time"),
])
def test_it_refuses_what_it_cannot_read_with_one_sentence(text: str, words: str) -> None:
    with pytest.raises(BadInput) as caught:
        parse_when(text, "Europe/London", THU)
    message = str(caught.value)
    assert words in message
    assert message.endswith(".") and "\n" not in message


def test_an_unknown_zone_is_bad_input() -> None:
    with pytest.raises(BadInput, match="not a known time zone"):
        parse_when("07:00", "Mars/Olympus", THU)

