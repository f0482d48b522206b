"""Times as people write them: "07:00", "tomorrow 06:45", "in 20m", "fri 07:10", ISO 8601;
and durations as people type them on the command line: "45s", "3m", "1m30s", "2h", "90".

Pure: parse_when takes the instant it reasons from and never reads the clock. Wall
times go through schedules.resolve_local, so a time in the spring gap moves forward by
the gap's length and a repeated autumn time means its first occurrence, exactly as the
alarms themselves ring (DESIGN decision 4). A small hand-written grammar on purpose:
a natural-language date library would accept far more than we can test.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from alarmd.errors import BadInput
from alarmd.schedule.rules import is_in_gap, resolve_local, zone

EXAMPLES = '"07:00", "tomorrow 06:45", "in 20m", "fri 07:10" or "2026-11-27T07:00"'

_TIME = r"(?P<hour>[01]?\d|2[0-3])[:.h](?P<minute>[0-5]\d)"
_CLOCK = re.compile(rf"(?:at\s+)?{_TIME}")
_DAY_THEN_TIME = re.compile(rf"(?P<day>[a-z]+)\s+(?:at\s+)?{_TIME}")
_DURATION_PART = re.compile(r"(\d+)\s*([a-z]+)")
_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
}
_FULL_DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
# "in 400d" is surely a typo; the service refuses anything over 366 days anyway.
MAX_RELATIVE = timedelta(days=400)


def parse_when(text: str, tz: str, now: datetime) -> datetime:
    """The aware UTC instant `text` names, read in zone `tz` as of `now` (aware).

    Forms: "HH:MM" (the next such wall time after `now`), "today HH:MM",
    "tomorrow HH:MM", "<weekday> HH:MM" (the next such day, today if still ahead),
    "in 20m" / "in 2h" / "in 1h30m" / "in 90 seconds", "now", and ISO 8601 with or
    without offset (without one it is wall time in `tz`). Raises BadInput.
    """
    tzinfo = zone(tz)
    named = _named(text, tzinfo, now)
    try:
        return named.astimezone(UTC) if named.tzinfo is not None else resolve_local(named, tzinfo)
    except OverflowError:  # the last hours of year 9999 in a zone behind UTC
        raise BadInput(f"{text.strip()!r} is too far ahead.") from None


def gap_wall_time(text: str, tz: str, now: datetime) -> datetime | None:
    """The wall time `text` names (naive) when it does not exist in `tz` that day, so the
    spring gap moved it forward to where parse_when puts it; else None. An instant ("now",
    "in 20m", ISO with an offset) is never moved."""
    tzinfo = zone(tz)
    named = _named(text, tzinfo, now)
    return named if named.tzinfo is None and is_in_gap(named, tzinfo) else None


def parse_wake_time(text: str, tz: str, now: datetime) -> datetime:
    """parse_when for the time an alarm rings: a date without a time is refused, since a
    wake-up at midnight is never what was meant (a pause may well end at midnight)."""
    with contextlib.suppress(ValueError):
        day = date.fromisoformat(text.strip())  # "2027-03-28", "20270328", "2027-W13-7"
        raise BadInput(f"{text.strip()!r} has a date but no time; say when, like \"{day.isoformat()}T07:00\".")
    return parse_when(text, tz, now)


def _named(text: str, tz: ZoneInfo, now: datetime) -> datetime:
    """What `text` names: a wall time in `tz` (naive) or an instant (aware)."""
    spec = " ".join(text.strip().lower().split())
    if not spec:
        raise BadInput(f"an empty text is not a date and time; try {EXAMPLES}.")
    if spec == "now":
        return now.astimezone(UTC)
    if spec.startswith("in "):
        return (now + _duration(spec[3:], text)).astimezone(UTC)
    if match := _CLOCK.fullmatch(spec):
        return _next_wall_time(_time_of(match), tz, now, lambda _day: True)
    if match := _DAY_THEN_TIME.fullmatch(spec):
        return _day_then_time(match, tz, now, text)
    try:
        return datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"{text.strip()!r} is not a date and time alarmd understands; try {EXAMPLES}.") from None


def _time_of(match: re.Match[str]) -> time:
    return time(int(match["hour"]), int(match["minute"]))


def _next_wall_time(at: time, tz: ZoneInfo, now: datetime, day_ok: Callable[[date], bool]) -> datetime:
    """The first wall time `at` (naive) on a day `day_ok` accepts whose instant is after `now`."""
    day = now.astimezone(tz).date()
    for _ in range(8):
        if day_ok(day):
            wall = datetime.combine(day, at)
            if resolve_local(wall, tz) > now:
                return wall
        day += timedelta(days=1)
    raise AssertionError("unreachable: every weekday occurs within 8 days")


def _day_then_time(match: re.Match[str], tz: ZoneInfo, now: datetime, text: str) -> datetime:
    word, at = match["day"], _time_of(match)
    today = now.astimezone(tz).date()
    if word == "today":
        return datetime.combine(today, at)
    if word in ("tomorrow", "tmrw"):
        return datetime.combine(today + timedelta(days=1), at)
    weekday = _weekday(word)
    if weekday is None:
        raise BadInput(f"{text.strip()!r} is not a date and time alarmd understands; try {EXAMPLES}.")
    return _next_wall_time(at, tz, now, lambda day: day.weekday() == weekday)


def _weekday(word: str) -> int | None:
    """"fri", "frid", "friday" -> 4; at least three letters, so "t" and "s" stay unambiguous."""
    if len(word) >= 3:
        for index, full in enumerate(_FULL_DAY_NAMES):
            if full.startswith(word):
                return index
    return None


def _duration(spec: str, text: str) -> timedelta:
    compact = spec.replace(" and ", " ").replace(",", " ")
    parts = _DURATION_PART.findall(compact)
    rebuilt = "".join(f"{n}{unit}" for n, unit in parts)
    if not parts or rebuilt != compact.replace(" ", ""):
        raise BadInput(f"{text.strip()!r} is not a date and time alarmd understands; a duration reads "
                       "like \"in 20m\", \"in 2h\" or \"in 1h30m\".")
    seconds = 0
    for number, unit in parts:
        if unit not in _UNITS:
            raise BadInput(f"{text.strip()!r} is not a date and time alarmd understands: {unit!r} is not "
                           "a unit (use s, m, h or d).")
        seconds += int(number) * _UNITS[unit]
    # Compared as a number first: a timedelta of "in 99999999999d" would overflow.
    if seconds > MAX_RELATIVE.total_seconds():
        raise BadInput(f"{text.strip()!r} is too far ahead.")
    return timedelta(seconds=seconds)


_DURATION_OPTION_PART = re.compile(r"(\d+)\s*(min|sec|h|m|s)?", re.IGNORECASE)
_DURATION_OPTION_UNITS = {"h": 3600, "m": 60, "min": 60, "s": 1, "sec": 1, None: 1}


def parse_duration(text: str) -> int:
    """Whole seconds (an option such as --ring 45s). A bare number is seconds. Raises
    ValueError with a sentence, which the command line shows as its own usage error."""
    cleaned = text.strip().lower()
    total, position = 0, 0
    for match in _DURATION_OPTION_PART.finditer(cleaned):
        if match.start() != position and cleaned[position:match.start()].strip():
            break
        total += int(match.group(1)) * _DURATION_OPTION_UNITS[match.group(2)]
        position = match.end()
    if not cleaned or cleaned[position:].strip():
        raise ValueError(f"{text!r} is not a duration like 45s, 3m or 1m30s.")
    return total
