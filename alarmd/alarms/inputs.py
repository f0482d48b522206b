"""An alarm as a person or NMO gives it, checked and turned into a schedule and columns;
and the alarm a person names (find_alarm).

Every rule about what an alarm may be (names, grace, delivery options, one kind of
schedule, a one-off neither past nor too far ahead) is here, so adding and editing
apply the same ones; each refusal names the field it is about (BadInput.field). `now`
comes in as an argument.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from alarmd.calls import callplan
from alarmd.digits import is_digits
from alarmd.errors import BadInput, NoSuchAlarm
from alarmd.phonebook import Phonebook, PhoneNumber
from alarmd.schedule import rules, timeparse
from alarmd.schedule.rules import Schedule
from alarmd.store.models import Alarm
from alarmd.store.views import iso, schedule_of

# A one-off "at" this close to the past means "now" (NMO's clock and ours differ a little).
PAST_TOLERANCE = timedelta(seconds=60)
MAX_AHEAD = timedelta(days=366)
MAX_NAME_LENGTH = 100
PATH_UNSAFE = frozenset("/\\?#%")


@dataclass(frozen=True)
class AlarmInput:
    """A new alarm as a person or NMO describes it, not yet checked."""

    to: int | str
    at: str | None = None
    daily: str | None = None
    days: str | None = None
    cron: str | None = None
    tz: str | None = None
    name: str | None = None
    grace_seconds: int | None = None
    then: int | str | None = None  # fallback number, rung when the first goes unanswered
    ring_seconds: int | None = None
    say: str | None = None
    redial_attempts: int | None = None
    redial_interval_seconds: int | None = None
    require_human: bool | None = None  # None: alarmd.redial.requireHuman decides


@dataclass(frozen=True)
class SkipDays:
    """Which rings a skip or an unskip is about: a local date, a range of them, or (none
    given) the next one. Text as given, YYYY-MM-DD."""

    on: str | None = None
    first: str | None = None  # "from" in the API and the CLI
    last: str | None = None  # "to"


@contextlib.contextmanager
def about(field: str) -> Iterator[None]:
    """Names `field` on a BadInput raised inside that names none: the parsers of times,
    zones, numbers and messages serve several fields and cannot know which one they read."""
    try:
        yield
    except BadInput as exc:
        if exc.field is None:
            exc.field = field
        raise


def check_name(name: str | None) -> str | None:
    if name is None or not name.strip():
        return None
    name = name.strip()
    if len(name) > MAX_NAME_LENGTH:
        raise BadInput(f"an alarm name can be at most {MAX_NAME_LENGTH} characters.", field="name")
    if is_digits(name):  # what find_alarm would read as an id
        raise BadInput(f"the name {name!r} would be read as an id; use a word.", field="name")
    # A name is a path segment (/v1/alarms/NAME): one that cannot round-trip in one is
    # routed elsewhere ("wake/next" is alarm wake's `next`), or normalised away ("..").
    if name in (".", "..") or any(ch in PATH_UNSAFE or unicodedata.category(ch) == "Cc" for ch in name):
        raise BadInput(f"the name {name!r} cannot be used: an alarm name may not contain /, \\, ?, # or %, "
                       "nor control characters, nor be . or .., as it must fit in a URL path.", field="name")
    return name


def check_grace(grace: int) -> int:
    if not 0 <= grace <= 86_400:
        raise BadInput(f"grace_seconds must be from 0 to 86400, not {grace}.", field="grace_seconds")
    return grace


def check_redial(given: AlarmInput, phonebook: Phonebook) -> dict[str, Any]:
    """The alarm's delivery columns, checked (fallback, ring time, message, redials)."""
    columns: dict[str, Any] = {"then_ref": None, "then_name": None, "then_number": None,
                               "ring_seconds": given.ring_seconds,
                               "say": None, "redial_attempts": given.redial_attempts,
                               "redial_interval_seconds": given.redial_interval_seconds,
                               "require_human": given.require_human}
    if given.require_human is not None and not isinstance(given.require_human, bool):
        raise BadInput("require_human must be true or false.", field="require_human")
    if given.then is not None:
        with about("then"):
            columns.update(target_columns("then", given.then, phonebook.resolve(given.then)))
    if given.say is not None:
        with about("say"):
            columns["say"] = callplan.check_say(given.say)
    for key, low, high in (("ring_seconds", 5, 600), ("redial_attempts", 1, 10),
                           ("redial_interval_seconds", 1, 3600)):
        value = columns[key]
        if value is not None and not low <= value <= high:
            raise BadInput(f"{key} must be from {low} to {high}, not {value}.", field=key)
    return columns


def schedule_from(given: AlarmInput, tz: str, now: datetime) -> Schedule:
    kinds = [k for k in ("at", "daily", "cron") if getattr(given, k)]
    if len(kinds) != 1:
        raise BadInput("give exactly one of at, daily or cron.")
    with about("tz"):
        rules.zone(tz)
    if given.days and not given.daily:
        raise BadInput("days goes with daily.", field="days")
    if given.at:
        # A wall time in the spring gap is kept as the one-off's time_of_day, so its ring
        # can say it was moved forward (gap_moved), as a recurring alarm's does.
        with about("at"):
            moved = timeparse.gap_wall_time(given.at, tz, now)
            at = timeparse.parse_wake_time(given.at, tz, now)
        return Schedule("once", tz, at=at, time_of_day=moved.time() if moved else None)
    if given.daily:
        with about("daily"):
            time_of_day = rules.parse_time_of_day(given.daily)
        with about("days"):
            days = rules.parse_days(given.days)
        return Schedule("daily", tz, time_of_day=time_of_day, days=days)
    assert given.cron is not None
    with about("cron"):
        rules.parse_cron(given.cron)
    return Schedule("cron", tz, cron=" ".join(given.cron.split()))


def scheduled(given: AlarmInput, tz: str, now: datetime) -> tuple[Schedule, datetime]:
    """The schedule and its first instant, for add and edit alike.

    A one-off a few seconds in the past means now: it is stored as now, so it is its own
    occurrence instant (claim_due finds it due) and no grace window can call it missed.
    """
    schedule = schedule_from(given, tz, now)
    first = first_fire(schedule, now)
    if schedule.kind == "once":
        moved = schedule.time_of_day if first == schedule.at else None
        schedule = Schedule("once", schedule.tz, at=first, time_of_day=moved)
    return schedule, first


def first_fire(schedule: Schedule, now: datetime) -> datetime:
    if schedule.kind == "once":
        assert schedule.at is not None
        if schedule.at < now - PAST_TOLERANCE:
            raise BadInput(f"{iso(schedule.at)} is in the past.", field="at")
        check_ahead(schedule.at, now, "at")
        return max(schedule.at, now)
    first = rules.next_fire(schedule, now)
    if first is None:
        # A cron expression can name no real day (30 February); a daily alarm, no day at all.
        raise BadInput(f"the schedule {schedule.describe()!r} never fires.",
                       field="cron" if schedule.kind == "cron" else "days")
    return first


def check_ahead(instant: datetime, now: datetime, field: str) -> None:
    """Every instant a person or NMO gives is at most 366 days ahead: further is a typo,
    and near year 9999 it would not even survive a conversion to another zone."""
    if instant > now + MAX_AHEAD:
        raise BadInput(f"{iso(instant)} is more than 366 days ahead.", field=field)


def ref_text(ref: int | str, entry: PhoneNumber) -> str:
    """The reference as given, tidied: the entry's name when given by name, else its index."""
    by_name = isinstance(ref, str) and not is_digits(ref.strip()) and entry.name
    return entry.name if by_name and entry.name else str(entry.index)


def target_columns(role: str, ref: int | str, entry: PhoneNumber) -> dict[str, Any]:
    """`<role>_ref/_name/_number`: the reference as given, and whom it means, pinned (the
    entry's name and number now), so that no later reorder of phoneNumbers retargets it."""
    return {f"{role}_ref": ref_text(ref, entry), f"{role}_name": entry.name, f"{role}_number": entry.number}


def stored_input(alarm: Alarm) -> dict[str, Any]:
    """The alarm as AlarmInput fields, the shape an edit is merged into."""
    schedule = schedule_of(alarm)
    return {
        "to": alarm.to_ref, "at": iso(alarm.at), "daily": alarm.time_of_day if alarm.kind == "daily" else None,
        "days": ",".join(rules.DAY_NAMES[d] for d in sorted(schedule.days)) if alarm.kind == "daily" else None,
        "cron": alarm.cron, "tz": alarm.tz, "name": alarm.name, "grace_seconds": alarm.grace_seconds,
    }


def merged_input(alarm: Alarm, changes: dict[str, Any]) -> dict[str, Any]:
    merged = stored_input(alarm)
    if {"at", "daily", "cron"} & changes.keys():
        # A new kind of schedule replaces the old one; a new daily time keeps the days.
        keep_days = alarm.kind == "daily" and "daily" in changes
        merged.update(at=None, daily=None, cron=None, days=merged["days"] if keep_days else None)
    merged.update(changes)
    return merged


def apply_schedule(alarm: Alarm, schedule: Schedule) -> None:
    alarm.kind, alarm.tz, alarm.at, alarm.cron = schedule.kind, schedule.tz, schedule.at, schedule.cron
    alarm.time_of_day = f"{schedule.time_of_day:%H:%M}" if schedule.time_of_day else None
    alarm.days = ",".join(str(d) for d in sorted(schedule.days)) if schedule.kind == "daily" else None


def parse_date(text: str, field: str) -> date:
    # Only YYYY-MM-DD: fromisoformat alone would also take "20261224".
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text.strip(), re.ASCII):
        with contextlib.suppress(ValueError):
            return date.fromisoformat(text.strip())
    raise BadInput(f"{text!r} is not a date like \"2026-12-24\".", field=field)


def day_span(days: SkipDays, tz: str, now: datetime) -> tuple[date, date] | None:
    """The first and last local date `days` names (the same for `on`), or None for the next ring."""
    if days.on is not None and (days.first is not None or days.last is not None):
        raise BadInput("give either on, or from and to, not both.")
    if days.on is not None:
        day = parse_day(days.on, tz, now, "on")
        return day, day
    if days.first is None and days.last is None:
        return None
    if days.first is None or days.last is None:
        raise BadInput("from and to go together: give both dates of the range.",
                       field="from" if days.first is None else "to")
    first, last = parse_day(days.first, tz, now, "from"), parse_day(days.last, tz, now, "to")
    if first > last:
        raise BadInput(f"the range runs backwards: {first.isoformat()} is after {last.isoformat()}.", field="to")
    return first, last


def parse_day(text: str, tz: str, now: datetime, field: str) -> date:
    """A local date in the alarm's zone, from today to 366 days ahead, like every instant given."""
    day = parse_date(text, field)
    zone = rules.zone(tz)
    if day < now.astimezone(zone).date():
        raise BadInput(f"{day.isoformat()} is in the past.", field=field)
    if day > (now + MAX_AHEAD).astimezone(zone).date():
        raise BadInput(f"{day.isoformat()} is more than 366 days ahead.", field=field)
    return day


def find_alarm(session: Session, ref: int | str) -> Alarm:
    """The alarm a person names: its id, its exact name, or its name in any case."""
    text = str(ref).strip()
    alarm = None
    if is_digits(text):
        alarm = session.get(Alarm, int(text))
    else:
        alarm = session.scalars(select(Alarm).where(Alarm.name == text)).first()
        if alarm is None:
            alarm = _find_ignoring_case(session, text)
    if alarm is None:
        raise NoSuchAlarm(f"no alarm has the id or name {text!r}.")
    return alarm


def _find_ignoring_case(session: Session, text: str) -> Alarm | None:
    """People type "Work" for "work"; when that fits several alarms, say so, never guess."""
    found = session.scalars(select(Alarm).where(func.lower(Alarm.name) == text.lower())
                            .order_by(Alarm.id)).all()
    if len(found) > 1:
        names = ", ".join(f"{a.name!r} (#{a.id})" for a in found)
        raise BadInput(f"the name {text!r} is ambiguous: it fits {names}; use the id or the exact name.")
    return found[0] if found else None
