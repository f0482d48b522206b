"""How stored alarms, occurrences and attempts read as JSON (the API's and the CLI's shapes).

Secret numbers are masked here, once, for every answer that names a number.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from alarmd import clock
from alarmd.digits import is_digits
from alarmd.errors import BadInput
from alarmd.phonebook import Phonebook, PhoneNumber, mask
from alarmd.schedule import firetimes, rules
from alarmd.schedule.firetimes import FireTime
from alarmd.schedule.rules import Schedule
from alarmd.store.models import Alarm, Attempt, Occurrence


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def schedule_of(alarm: Alarm) -> Schedule:
    if alarm.kind == "once":
        moved = rules.parse_time_of_day(alarm.time_of_day) if alarm.time_of_day else None
        return Schedule("once", alarm.tz, at=alarm.at, time_of_day=moved)
    if alarm.kind == "daily":
        assert alarm.time_of_day is not None
        days = frozenset(int(d) for d in (alarm.days or "").split(",") if d)
        return Schedule("daily", alarm.tz, time_of_day=rules.parse_time_of_day(alarm.time_of_day),
                        days=days or rules.ALL_DAYS)
    return Schedule("cron", alarm.tz, cron=alarm.cron)


def ring_from(alarm: Alarm, latest: Occurrence | None, now: datetime) -> datetime | None:
    """The first instant the alarm may still ring at, or None when it is done.

    Usually next_fire_at. But claims run a few seconds ahead (callplan.LEAD): in those
    seconds next_fire_at has moved on while the claimed ring, its newest occurrence, is
    still to come, and may still be skipped or paused.
    """
    if latest is not None and latest.finished_at is None and latest.scheduled_at > now:
        return latest.scheduled_at
    return alarm.next_fire_at


def alarm_state(alarm: Alarm, since: datetime | None, now: datetime) -> str:
    if since is None:
        return "done"
    if alarm.paused and (alarm.paused_until is None or alarm.paused_until > now):
        return "paused"
    return "active"


def skipping(alarm: Alarm, since: datetime | None) -> list[str]:
    """The skipped instants not yet reached (`since` on; claimed and past ones are history)."""
    if since is None or alarm.skip_instants in ("", "[]"):
        return []
    return sorted(s for s in json.loads(alarm.skip_instants) if datetime.fromisoformat(s) >= since)


def next_ring(alarm: Alarm, since: datetime | None) -> FireTime | None:
    """The next ring that will happen (firetimes.rings), or None when paused for good or done."""
    if since is None:
        return None
    return firetimes.next_ring(schedule_of(alarm), since, skipping=skipping(alarm, since),
                               paused=alarm.paused, paused_until=alarm.paused_until)


def latest_occurrence(session: Session, alarm_id: int) -> Occurrence | None:
    return session.scalars(select(Occurrence).where(Occurrence.alarm_id == alarm_id)
                           .order_by(Occurrence.scheduled_at.desc()).limit(1)).first()


def latest_occurrences(session: Session) -> dict[int, Occurrence]:
    """Each alarm's newest occurrence, in one query (a listing would otherwise ask once per alarm)."""
    newest = (select(Occurrence.alarm_id, func.max(Occurrence.scheduled_at).label("at"))
              .where(Occurrence.alarm_id.is_not(None)).group_by(Occurrence.alarm_id).subquery())
    rows = session.scalars(select(Occurrence).join(newest, and_(
        Occurrence.alarm_id == newest.c.alarm_id, Occurrence.scheduled_at == newest.c.at)))
    return {row.alarm_id: row for row in rows if row.alarm_id is not None}


def removed_alarm_id(occurrence: Occurrence) -> int | None:
    """The id a removed alarm had, from its call's claim key ("alarm:<id>:<instant>"); the
    row's alarm_id was nulled with the alarm. None while the alarm exists (or for a dial)."""
    if occurrence.alarm_id is not None or occurrence.reason != "alarm":
        return None
    part = occurrence.claim_key.split(":")[1] if occurrence.claim_key.count(":") >= 2 else ""
    return int(part) if is_digits(part) else None


class Views:
    def __init__(self, phonebook: Phonebook):
        self.phonebook = phonebook

    def target(self, ref: str, name: str | None, number: str | None) -> dict[str, Any]:
        """Whom a stored target means now: `index` and `number` as configured now. One no
        longer configured keeps its pinned name and masked digits, with no index."""
        try:
            entry = self.phonebook.target(ref, name, number)
        except BadInput:
            return {"ref": ref, "index": None, "name": name, "number": mask(number) if number else None}
        return {"ref": ref, "index": entry.index, "name": entry.name, "number": entry.display}

    def broken(self, alarm: Alarm) -> str | None:
        """Why the alarm can call nobody ("HOME is not configured"), or None."""
        try:
            self.phonebook.target(alarm.to_ref, alarm.to_name, alarm.to_number)
        except BadInput as exc:
            return str(exc).rstrip(".")
        return None

    def alarm(self, session: Session, alarm: Alarm,
                    latest: dict[int, Occurrence] | None = None) -> dict[str, Any]:
        schedule = schedule_of(alarm)
        last = latest.get(alarm.id) if latest is not None else latest_occurrence(session, alarm.id)
        zone = schedule.zone
        now = clock.now()
        since = ring_from(alarm, last, now)
        ring = next_ring(alarm, since)
        return {
            "id": alarm.id,
            "name": alarm.name,
            "kind": alarm.kind,
            "schedule": schedule.describe(),
            "at": iso(alarm.at),
            "daily": alarm.time_of_day if alarm.kind == "daily" else None,
            "days": ",".join(rules.DAY_NAMES[d] for d in sorted(schedule.days))
            if alarm.kind == "daily" else None,
            "cron": alarm.cron,
            "tz": alarm.tz,
            "to": self.target(alarm.to_ref, alarm.to_name, alarm.to_number),
            "grace_seconds": alarm.grace_seconds,
            "then": self.target(alarm.then_ref, alarm.then_name, alarm.then_number)
            if alarm.then_ref is not None else None,
            "ring_seconds": alarm.ring_seconds,
            "say": alarm.say,
            "redial_attempts": alarm.redial_attempts,
            "redial_interval_seconds": alarm.redial_interval_seconds,
            "require_human": alarm.require_human,
            "state": alarm_state(alarm, since, now),
            # The instant the scheduler wakes for, skipped or not; and the ring that will happen.
            "next_fire_at": iso(alarm.next_fire_at),
            "next_fire_local": iso(alarm.next_fire_at.astimezone(zone)) if alarm.next_fire_at else None,
            "next_ring_at": iso(ring.at) if ring else None,
            "next_ring_local": iso(ring.local) if ring else None,
            "last": {"scheduled_at": iso(last.scheduled_at), "status": last.status} if last else None,
            "created_at": iso(alarm.created_at),
            "paused_until": iso(alarm.paused_until) if alarm.paused else None,
            "skipping": skipping(alarm, since),
            "broken": self.broken(alarm),
        }

    def occurrence(self, occurrence: Occurrence) -> dict[str, Any]:
        removed = removed_alarm_id(occurrence)
        return {
            "id": occurrence.id,
            "alarm_id": occurrence.alarm_id if removed is None else removed,
            "alarm_name": occurrence.alarm_name,
            "alarm_removed": removed is not None,
            "reason": occurrence.reason,
            "scheduled_at": iso(occurrence.scheduled_at),
            "status": occurrence.status,
            "detail": occurrence.detail,
            "to": self.target(occurrence.to_ref, occurrence.to_name, occurrence.to_number),
            "finished_at": iso(occurrence.finished_at),
            "attempts": [self.attempt(a) for a in occurrence.attempts],
        }

    def attempt(self, attempt: Attempt) -> dict[str, Any]:
        entry = PhoneNumber(-1, attempt.number_name, attempt.number, secret=self._is_secret(attempt))
        return {
            "id": attempt.id,
            "number": entry.display,
            "number_name": attempt.number_name,
            "dialer": attempt.dialer,
            "sid": attempt.sid,
            "status": attempt.status,
            "error_code": attempt.error_code,
            "error_message": attempt.error_message,
            "permanent": attempt.permanent,
            "duration_seconds": attempt.duration_seconds,
            "answered_by": attempt.answered_by,
            "started_at": iso(attempt.started_at),
            "finished_at": iso(attempt.finished_at),
        }

    def _is_secret(self, attempt: Attempt) -> bool:
        """Masked if its number was secret when the call was made, whatever the config says
        now (or is secret now). Attempts from before alarmd recorded it (null) are masked
        unless the number is configured as not secret."""
        configured = self.phonebook.by_number(attempt.number)
        if attempt.secret is None:
            return configured is None or configured.secret
        return attempt.secret or (configured is not None and configured.secret)
