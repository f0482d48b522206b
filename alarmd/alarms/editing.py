"""Editing alarms: add, change, remove, pause, resume (skips: alarmd.alarms.skipping).

Each method checks its input (alarmd.alarms.inputs), writes in one transaction, returns
the alarm's JSON view, and tells the listeners (the scheduler, the delivery) which
alarm changed. Instants in and out are aware UTC.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from alarmd.alarms import inputs
from alarmd.alarms.inputs import AlarmInput, about, find_alarm
from alarmd.calls.lease import OPEN_STATUSES
from alarmd.calls.live import LiveConfig, UsesLive
from alarmd.errors import BadInput, Conflict
from alarmd.schedule import firetimes, rules, timeparse
from alarmd.store.models import Alarm, Occurrence
from alarmd.store.views import iso, latest_occurrence, ring_from, skipping

log = logging.getLogger("alarmd.service")

# More than this many stored alarms is a runaway script, not a household (HTTP 409).
MAX_ALARMS = 10_000
DELIVERY_FIELDS = frozenset({"then", "ring_seconds", "say", "redial_attempts", "redial_interval_seconds",
                             "require_human"})


class AlarmEditor(UsesLive):
    def __init__(self, sessions: sessionmaker[Session], live: LiveConfig, changed: Callable[[int], None]):
        self.sessions = sessions
        self.live = live
        self._changed = changed

    def add(self, given: AlarmInput, now: datetime) -> dict[str, Any]:
        name = inputs.check_name(given.name)
        with about("to"):
            entry = self.phonebook.resolve(given.to)
        tz = given.tz or self.settings.timezone
        schedule, first = inputs.scheduled(given, tz, now)
        grace = inputs.check_grace(self.settings.grace_seconds if given.grace_seconds is None
                                   else given.grace_seconds)
        redial = inputs.check_redial(given, self.phonebook)
        with self.sessions.begin() as session:
            if name is not None and session.scalar(select(Alarm.id).where(Alarm.name == name)):
                raise Conflict(f"an alarm named {name!r} already exists.", field="name")
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

        A new at/daily/days/cron/tz reschedules it: next_fire_at is computed afresh, pending
        skips the new schedule still rings at are kept, and the others are dropped and
        listed in the answer's `dropped_skips`.
        """
        dropped: list[str] = []
        if "to" in changes and changes["to"] is None:
            raise BadInput("to cannot be cleared: an alarm calls someone; give a number's index or name.",
                           field="to")
        with self.sessions.begin() as session:
            alarm = find_alarm(session, ref)
            given = AlarmInput(**inputs.merged_input(alarm, changes))
            if "name" in changes:
                name = inputs.check_name(given.name)
                if name is not None and session.scalar(
                    select(Alarm.id).where(Alarm.name == name, Alarm.id != alarm.id)
                ):
                    raise Conflict(f"an alarm named {name!r} already exists.", field="name")
                alarm.name = name
            if "to" in changes:
                with about("to"):
                    entry = self.phonebook.resolve(given.to)
                for key, value in inputs.target_columns("to", given.to, entry).items():
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
                since = ring_from(alarm, latest_occurrence(session, alarm.id), now)
                # A ring claimed under the old schedule and due in a moment still rings: its skip holds.
                claimed = since.isoformat() if since is not None and since != alarm.next_fire_at else None
                pending = skipping(alarm, since)
                # The same path as add: a one-off just past is stored as now and rings at once.
                schedule, alarm.next_fire_at = inputs.scheduled(given, tz, now)
                inputs.apply_schedule(alarm, schedule)
                kept, dropped = firetimes.split_skips(schedule, (s for s in pending if s != claimed))
                alarm.skip_instants = json.dumps(sorted(kept + [s for s in pending if s == claimed]))
            elif "tz" in changes:
                # A one-off is an instant: another zone only changes how it is shown, and a
                # wall time the old zone's DST gap moved means nothing in the new one.
                with about("tz"):
                    alarm.tz = rules.zone(given.tz or self.settings.timezone).key
                alarm.time_of_day = None
            alarm.updated_at = now
            view = self.views.alarm(session, alarm) | {"dropped_skips": dropped}
            view["notes"] = self._ring_under_way(session, alarm) if "to" in changes else []
        log.info("alarm %s changed (%s): %s, next %s%s", view["id"], ", ".join(sorted(changes)) or "nothing",
                 view["schedule"], view["next_fire_at"],
                 f"; dropped skips the new schedule does not ring at: {', '.join(dropped)}" if dropped else "")
        self._changed(view["id"])
        return view

    def pause(self, ref: int | str, until: str | None, now: datetime) -> dict[str, Any]:
        """Pause an alarm, for good or until a time; its occurrences meanwhile are recorded as skipped."""
        with self.sessions.begin() as session:
            alarm = find_alarm(session, ref)
            until_at = None
            if until is not None and until.strip():
                with about("until"):
                    until_at = timeparse.parse_when(until, alarm.tz, now)
                if until_at <= now:
                    raise BadInput(f"{until!r} is not in the future; pause until a later time.", field="until")
                inputs.check_ahead(until_at, now, "until")
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
