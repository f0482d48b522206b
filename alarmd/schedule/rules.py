"""Pure time math: schedules, their next fire instants, and the DST policy.

Nothing here reads the clock; every function takes the instant it reasons from.

DST policy (DESIGN decision 4), for a wall-clock time in an alarm's zone:
- a time that does not exist (spring gap) is moved forward by the gap's length
  (01:30 on a 01:00->02:00 day rings at 02:30), so it rings once, within the hour
  after the gap, and is never skipped;
- a time that happens twice (autumn) rings once, at its first occurrence.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from alarmd.digits import is_digits
from alarmd.errors import BadInput

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
ALL_DAYS = frozenset(range(7))
# The search for the next cron match gives up after this many days (covers Feb 29).
CRON_HORIZON_DAYS = 366 * 9
# Nothing rings after this: the last day of year 9999 does not survive a change of zone.
LAST_INSTANT = datetime(9999, 12, 30, tzinfo=UTC)


@dataclass(frozen=True)
class Schedule:
    """When an alarm rings. `kind` is "once", "daily" or "cron"."""

    kind: str
    tz: str
    at: datetime | None = None  # once: an aware instant
    time_of_day: time | None = None  # daily; once: the wall time asked, when the DST gap moved it
    days: frozenset[int] = ALL_DAYS  # daily: 0 = Monday
    cron: str | None = None

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def describe(self) -> str:
        if self.kind == "once" and self.at is not None:
            return self.at.astimezone(self.zone).strftime("once %Y-%m-%d %H:%M ") + self.tz
        if self.kind == "daily" and self.time_of_day is not None:
            return f"{self.time_of_day:%H:%M} {describe_days(self.days)} {self.tz}"
        return f"cron {self.cron} {self.tz}"


# --- parsing ------------------------------------------------------------------------


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput(f"{name!r} is not a known time zone (e.g. \"Europe/London\").") from None


def parse_time_of_day(text: str) -> time:
    match = re.fullmatch(r"\s*([01]?\d|2[0-3]):([0-5]\d)\s*", text)
    if not match:
        raise BadInput(f"{text!r} is not a time of day like \"07:00\".")
    return time(int(match.group(1)), int(match.group(2)))


def parse_days(text: str | None) -> frozenset[int]:
    """"mon-fri", "sat,sun", "weekdays", "weekends", "daily" -> day numbers (0 = Monday)."""
    if text is None or text.strip().lower() in ("", "daily", "every day", "all", "*"):
        return ALL_DAYS
    spec = text.strip().lower()
    if spec == "weekdays":
        return frozenset(range(5))
    if spec == "weekends":
        return frozenset({5, 6})
    days: set[int] = set()
    for part in spec.replace(" ", "").split(","):
        first, sep, last = part.partition("-")
        a, b = _day(first, text), _day(last, text) if sep else _day(first, text)
        span = range(a, b + 1) if a <= b else [*range(a, 7), *range(b + 1)]
        days.update(span)
    return frozenset(days)


def _day(name: str, text: str) -> int:
    key = name[:3]
    if len(name) < 2 or key not in DAY_NAMES or not DAY_NAMES[DAY_NAMES.index(key)].startswith(key):
        raise BadInput(f"{text!r} is not a set of days like \"mon-fri\" or \"sat,sun\".")
    return DAY_NAMES.index(key)


def describe_days(days: frozenset[int]) -> str:
    if days == ALL_DAYS:
        return "daily"
    ordered = sorted(days)
    # A run of three or more consecutive days reads better as a range: "Mon–Fri".
    if len(ordered) >= 3 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{DAY_NAMES[ordered[0]].title()}–{DAY_NAMES[ordered[-1]].title()}"
    return ",".join(DAY_NAMES[d].title() for d in ordered)


def parse_instant(text: str, tz: str) -> datetime:
    """ISO 8601 with or without offset; without one it is wall time in `tz`."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise BadInput(f"{text!r} is not a date and time like \"2026-11-27T07:00\".") from None
    if value.tzinfo is None:
        value = resolve_local(value, zone(tz))
    return value.astimezone(UTC)


# --- cron ---------------------------------------------------------------------------

_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    ("day of week", 0, 7, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)


@dataclass(frozen=True)
class CronSpec:
    minutes: frozenset[int]
    hours: frozenset[int]
    days_of_month: frozenset[int]
    months: frozenset[int]
    days_of_week: frozenset[int]  # 0 = Sunday, as cron counts
    dom_star: bool  # the day-of-month field's text starts with "*" ("*", "*/2", "*,10")
    dow_star: bool  # likewise the day-of-week field

    def matches_day(self, day: date) -> bool:
        """cronie's rule (and Vixie cron's): if either day field starts with "*", both must
        match; otherwise either one will do. cronie tests the field's first character before
        reading steps or lists, so "*/2" counts as a star and "10,*" does not."""
        if day.month not in self.months:
            return False
        dom = day.day in self.days_of_month
        dow = (day.isoweekday() % 7) in self.days_of_week
        if self.dom_star or self.dow_star:
            return dom and dow
        return dom or dow


def parse_cron(expr: str) -> CronSpec:
    fields = expr.split()
    if len(fields) != 5:
        raise BadInput(f"{expr!r} is not a cron expression (five fields: minute hour day month weekday).")
    values = [
        _cron_field(text, name, low, high, names, expr)
        for text, (name, low, high, names) in zip(fields, _CRON_FIELDS, strict=True)
    ]
    dow = frozenset(d % 7 for d in values[4])
    return CronSpec(values[0], values[1], values[2], values[3], dow,
                    dom_star=fields[2].startswith("*"), dow_star=fields[4].startswith("*"))


def _cron_field(text: str, name: str, low: int, high: int, names: tuple[str, ...],
                expr: str) -> frozenset[int]:
    def number(token: str) -> int:
        token = token.lower()
        if token in names:
            return names.index(token) + (1 if name == "month" else 0)
        if not is_digits(token) or not low <= int(token) <= high:
            raise BadInput(f"{expr!r}: {token!r} is not a valid {name} ({low}-{high}).")
        return int(token)

    result: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not is_digits(step_text) or int(step_text) == 0:
                raise BadInput(f"{expr!r}: {step_text!r} is not a valid step for {name}.")
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = number(a), number(b)
            if first > last:
                raise BadInput(f"{expr!r}: the {name} range {base!r} runs backwards.")
        else:
            first = number(base)
            last = high if step_text else first
        result.update(range(first, last + 1, step))
    return frozenset(result)


def validate(schedule: Schedule) -> None:
    zone(schedule.tz)
    if schedule.kind == "cron":
        parse_cron(schedule.cron or "")


# --- fire times ---------------------------------------------------------------------


def resolve_local(naive: datetime, tz: ZoneInfo) -> datetime:
    """Wall time in `tz` -> the aware instant the DST policy above gives it.

    fold=0 gives the first of a repeated time, and for a time in a gap zoneinfo uses
    the offset from before the gap, which moves it forward by the gap's length.
    """
    return naive.replace(tzinfo=tz, fold=0).astimezone(UTC)


def is_in_gap(naive: datetime, tz: ZoneInfo) -> bool:
    """True when the wall time does not exist in `tz` (the spring-forward gap)."""
    instant = naive.replace(tzinfo=tz, fold=0)
    return instant.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive


def is_repeated(naive: datetime, tz: ZoneInfo) -> bool:
    """True when the wall time happens twice in `tz` (the autumn overlap)."""
    first = naive.replace(tzinfo=tz, fold=0).utcoffset()
    second = naive.replace(tzinfo=tz, fold=1).utcoffset()
    return first != second and not is_in_gap(naive, tz)


def _day_instants(schedule: Schedule, day: date, tz: ZoneInfo,
                  cron: CronSpec | None) -> list[datetime]:
    if schedule.kind == "daily":
        assert schedule.time_of_day is not None
        if day.weekday() not in schedule.days:
            return []
        return [resolve_local(datetime.combine(day, schedule.time_of_day), tz)]
    assert cron is not None
    if not cron.matches_day(day):
        return []
    # Gap times move forward and may land on a real time of the same day: sort, dedupe.
    return sorted({
        resolve_local(datetime.combine(day, time(h, m)), tz)
        for h in sorted(cron.hours) for m in sorted(cron.minutes)
    })


def iter_fire_times(schedule: Schedule, after: datetime) -> Iterator[datetime]:
    """Fire instants (UTC) strictly after `after`, in order."""
    if after >= LAST_INSTANT:
        return  # a pause stored before instants were bounded; another zone would overflow
    if schedule.kind == "once":
        if schedule.at is not None and schedule.at > after:
            yield schedule.at.astimezone(UTC)
        return
    tz = schedule.zone
    cron = parse_cron(schedule.cron or "") if schedule.kind == "cron" else None
    # Start a day early: a wall time late on the previous local day can still be after `after`.
    day = after.astimezone(tz).date() - timedelta(days=1)
    empty_days = 0
    while empty_days < CRON_HORIZON_DAYS and day.year < 9999:
        instants = [t for t in _day_instants(schedule, day, tz, cron) if t > after]
        empty_days = 0 if instants else empty_days + 1
        yield from instants
        day += timedelta(days=1)


def next_fire(schedule: Schedule, after: datetime) -> datetime | None:
    """The first fire instant strictly after `after`, or None when there is none."""
    return next(iter_fire_times(schedule, after), None)


def fire_times_between(schedule: Schedule, start: datetime, end: datetime,
                       limit: int) -> list[datetime]:
    """Fire instants in (start, end], at most the last `limit` of them."""
    found: list[datetime] = []
    for instant in iter_fire_times(schedule, start):
        if instant > end:
            break
        found.append(instant)
        if len(found) > limit:
            found.pop(0)
    return found
