"""Editing alarms: add, change, remove, pause, resume, skip.

Each method checks its input (alarmd.alarms.inputs), writes in one transaction, returns
the alarm's JSON view, and tells the listeners (the scheduler, the delivery) which
alarm changed. Instants in and out are aware UTC.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from alarmd.alarms import inputs
from alarmd.alarms.inputs import AlarmInput
from alarmd.alarms.lookup import find_alarm
from alarmd.calls.lease import OPEN_STATUSES
from alarmd.config.settings import Settings
from alarmd.errors import BadInput, Conflict
from alarmd.phonebook import Phonebook
from alarmd.schedule import firetimes, rules, timeparse
from alarmd.schedule.rules import Schedule
from alarmd.store.models import Alarm, Occurrence
from alarmd.store.views import Views, iso, schedule_of

log = logging.getLogger("alarmd.service")

# More than this many stored alarms is a runaway script, not a household (HTTP 409).
MAX_ALARMS = 10_000
DELIVERY_FIELDS = frozenset({"then", "ring_seconds", "say", "redial_attempts", "redial_interval_seconds"})


class AlarmEditor:
    def __init__(self, sessions: sessionmaker[Session], settings: Settings, phonebook: Phonebook,
                 views: Views, changed: Callable[[int], None]):
        self.sessions = sessions
        self.settings = settings
        self.phonebook = phonebook
        self.views = views
        self._changed = changed

    def add(self, given: AlarmInput, now: datetime) -> dict[str, Any]:
        name = inputs.check_name(given.name)
        entry = self.phonebook.resolve(given.to)
        tz = given.tz or self.settings.timezone
        schedule = inputs.schedule_from(given, tz, now)
        grace = inputs.check_grace(self.settings.grace_seconds if given.grace_seconds is None
                                   else given.grace_seconds)
        first = inputs.first_fire(schedule, now)
        if schedule.kind == "once":
            # A one-off a few seconds in the past means now: store it as now, so it is
            # its own occurrence instant and no grace window can call it missed.
            schedule = Schedule("once", tz, at=first)
        redial = inputs.check_redial(given, self.phonebook)
        with self.sessions.begin() as session:
            if name is not None and session.scalar(select(Alarm.id).where(Alarm.name == name)):
                raise Conflict(f"an alarm named {name!r} already exists.")
            self._check_room(session)
            alarm = Alarm(
                name=name,
                kind=schedule.kind,
                at=schedule.at,
                time_of_day=f"{schedule.time_of_day:%H:%M}" if schedule.time_of_day else None,
                days=",".join(str(d) for d in sorted(schedule.days)) if schedule.kind == "daily" else None,
                cron=schedule.cron,
                tz=tz,
                **inputs.target_columns("to", given.to, entry),
                grace_seconds=grace,
                paused=False,
                skip_instants="[]",
                **redial,
                next_fire_at=first,
                created_at=now,
                updated_at=now,
            )
            session.add(alarm)
            session.flush()
            view = self.views.alarm(session, alarm)
        log.info("alarm %s added: %s, calling %s, next %s", view["id"], view["schedule"],
                 entry.label(), view["next_fire_at"])
        self._changed(view["id"])
        return view

    def remove(self, ref: int | str) -> dict[str, Any]:
        with self.sessions.begin() as session:
            alarm = find_alarm(session, ref)
            view = self.views.alarm(session, alarm)
            session.delete(alarm)
        log.info("alarm %s removed", view["id"])
        self._changed(view["id"])
        return view

    def edit(self, ref: int | str, changes: dict[str, Any], now: datetime) -> dict[str, Any]:
        """Change some of an alarm's fields (AlarmInput's names); the others stay as they are,
        and None puts one back to its default.

        A new at/daily/days/cron/tz reschedules it: next_fire_at is computed afresh, and
        pending skips (instants of the old schedule) are dropped.
        """
        if "to" in changes and changes["to"] is None:
            raise BadInput("to cannot be cleared: an alarm calls someone; give a number's index or name.")
        with self.sessions.begin() as session:
            alarm = find_alarm(session, ref)
            given = AlarmInput(**inputs.merged_input(alarm, changes))
            if "name" in changes:
                name = inputs.check_name(given.name)
                if name is not None and session.scalar(
                    select(Alarm.id).where(Alarm.name == name, Alarm.id != alarm.id)
                ):
                    raise Conflict(f"an alarm named {name!r} already exists.")
                alarm.name = name
            if "to" in changes:
                for key, value in inputs.target_columns("to", given.to, self.phonebook.resolve(given.to)).items():
                    setattr(alarm, key, value)
            if "grace_seconds" in changes:
                alarm.grace_seconds = inputs.check_grace(
                    given.grace_seconds if given.grace_seconds is not None else self.settings.grace_seconds)
            if DELIVERY_FIELDS & changes.keys():
                # Only the fields given change; null puts one back to its default.
                checked = inputs.check_redial(AlarmInput(to=alarm.to_ref, **{
                    k: v for k, v in changes.items() if k in DELIVERY_FIELDS}), self.phonebook)
                columns = {"then": ("then_ref", "then_name", "then_number")}
                for key in DELIVERY_FIELDS & changes.keys():
                    for column in columns.get(key, (key,)):
                        setattr(alarm, column, checked[column])
            kind_fields = {"at", "daily", "days", "cron"}
            if kind_fields & changes.keys() or ("tz" in changes and alarm.kind != "once"):
                tz = given.tz or self.settings.timezone
                schedule = inputs.schedule_from(given, tz, now)
                alarm.next_fire_at = inputs.first_fire(schedule, now)
                inputs.apply_schedule(alarm, schedule)
                alarm.skip_instants = "[]"
            elif "tz" in changes:
                # A one-off is an instant: another zone only changes how it is shown.
                alarm.tz = rules.zone(given.tz or self.settings.timezone).key
            alarm.updated_at = now
            view = self.views.alarm(session, alarm)
            view["notes"] = self._ring_under_way(session, alarm) if "to" in changes else []
        log.info("alarm %s changed (%s): %s, next %s", view["id"], ", ".join(sorted(changes)) or "nothing",
                 view["schedule"], view["next_fire_at"])
        self._changed(view["id"])
        return view

    def pause(self, ref: int | str, until: str | None, now: datetime) -> dict[str, Any]:
        """Pause an alarm, for good or until a time; its occurrences meanwhile are recorded as skipped."""
        with self.sessions.begin() as session:
            alarm = find_alarm(session, ref)
            until_at = None
            if until is not None and until.strip():
                until_at = timeparse.parse_when(until, alarm.tz, now)
                if until_at <= now:
                    raise BadInput(f"{until!r} is not in the future; pause until a later time.")
            alarm.paused, alarm.paused_until, alarm.updated_at = True, until_at, now
            view = self.views.alarm(session, alarm)
        log.info("alarm %s paused%s", view["id"], f" until {iso(until_at)}" if until_at else "")
        self._changed(view["id"])
        return view

    def resume(self, ref: int | str, now: datetime) -> dict[str, Any]:
        with self.sessions.begin() as session:
            alarm = find_alarm(session, ref)
            alarm.paused, alarm.paused_until, alarm.updated_at = False, None, now
            view = self.views.alarm(session, alarm)
        log.info("alarm %s resumed", view["id"])
        self._changed(view["id"])
        return view

    def skip(self, ref: int | str, on: str | None, now: datetime) -> dict[str, Any]:
        """Skip the next occurrence not already skipped, or every occurrence on a local date."""
        with self.sessions.begin() as session:
            alarm = find_alarm(session, ref)
            if alarm.next_fire_at is None:
                raise BadInput(f"alarm {alarm.id} has no occurrence left to skip.")
            schedule = schedule_of(alarm)
            pending = [s for s in json.loads(alarm.skip_instants or "[]")
                       if datetime.fromisoformat(s) >= alarm.next_fire_at]
            after = alarm.next_fire_at - timedelta(microseconds=1)
            if on is None:
                found = firetimes.next_unskipped(schedule, after, set(pending))
                instants = [found] if found else []
                if not instants:
                    raise BadInput(f"alarm {alarm.id} has no occurrence left to skip.")
            else:
                day = inputs.parse_date(on)
                instants = firetimes.instants_on(schedule, day, after)
                if not instants:
                    raise BadInput(f"alarm {alarm.id} has no occurrence left on {day.isoformat()} to skip.")
            alarm.skip_instants = json.dumps(sorted(set(pending) | {i.isoformat() for i in instants}))
            alarm.updated_at = now
            view = self.views.alarm(session, alarm)
        log.info("alarm %s will skip %s", view["id"], ", ".join(i.isoformat() for i in instants))
        self._changed(view["id"])
        return view

    def _ring_under_way(self, session: Session, alarm: Alarm) -> list[str]:
        """What an edit of `to` does not change: a ring under way keeps its person (its
        redials go where it was claimed for), so the answer says which calls go where."""
        ring = session.scalars(select(Occurrence).where(
            Occurrence.alarm_id == alarm.id, Occurrence.status.in_(OPEN_STATUSES),
            Occurrence.finished_at.is_(None)).order_by(Occurrence.id.desc())).first()
        if ring is None or (ring.to_name, ring.to_number) == (alarm.to_name, alarm.to_number):
            return []
        old, new = self.views.target(ring.to_ref, ring.to_name, ring.to_number), self.views.target(
            alarm.to_ref, alarm.to_name, alarm.to_number)
        none = ", and this alarm has none" if alarm.next_fire_at is None else ""
        return [f"The ring under way keeps calling {label(old)}: its redials go there; {label(new)} is "
                f"called from the next ring on{none}."]

    @staticmethod
    def _check_room(session: Session) -> None:
        if (session.scalar(select(func.count(Alarm.id))) or 0) >= MAX_ALARMS:
            raise Conflict(f"alarmd keeps at most {MAX_ALARMS:,} alarms; remove some before adding more.")


def label(target: dict[str, Any]) -> str:
    """"MOBILE (+44 7700 900123)" from a target's view; secret digits are masked there."""
    name, number = target.get("name"), target.get("number")
    return f"{name} ({number})" if name and number else str(name or number or target.get("ref"))
