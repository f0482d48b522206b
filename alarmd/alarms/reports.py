"""Reading what is and what will be: alarms, their next rings, the numbers, history, status.

Nothing here writes. Views (alarmd.store.views) give every row its one JSON shape.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from alarmd import __version__, clock
from alarmd.alarms import pins
from alarmd.alarms.lookup import find_alarm
from alarmd.calls.dialers.base import Dialer
from alarmd.config.settings import Settings
from alarmd.errors import BadInput, NoSuchAlarm
from alarmd.phonebook import Phonebook
from alarmd.schedule import firetimes, timeparse
from alarmd.store.models import Alarm, Occurrence
from alarmd.store.views import Views, latest_occurrences, schedule_of


class Reports:
    def __init__(self, sessions: sessionmaker[Session], dialer: Dialer, settings: Settings,
                 phonebook: Phonebook, views: Views, keepalive_status: Callable[[datetime], dict[str, Any]]):
        self.sessions = sessions
        self.dialer = dialer
        self.settings = settings
        self.phonebook = phonebook
        self.views = views
        self._keepalive_status = keepalive_status
        self._warnings: tuple[Phonebook, list[str]] | None = None

    def list_alarms(self) -> list[dict[str, Any]]:
        with self.sessions() as session:
            alarms = session.scalars(select(Alarm)).all()
            latest = latest_occurrences(session)
            views = [self.views.alarm(session, alarm, latest) for alarm in alarms]
        # Soonest first; spent one-offs (no next) last, newest first among them.
        return sorted(views, key=lambda v: (v["next_fire_at"] is None, v["next_fire_at"] or "", -v["id"]))

    def get_alarm(self, ref: int | str) -> dict[str, Any]:
        with self.sessions() as session:
            return self.views.alarm(session, find_alarm(session, ref))

    def alarm_ids(self) -> list[int]:
        with self.sessions() as session:
            return list(session.scalars(select(Alarm.id)).all())

    def next_fire_at(self, alarm_id: int) -> datetime | None:
        with self.sessions() as session:
            alarm = session.get(Alarm, alarm_id)
            return alarm.next_fire_at if alarm else None

    def upcoming(self, ref: int | str, count: int) -> dict[str, Any]:
        """The alarm's next `count` rings, with their local times and what DST did to them."""
        with self.sessions() as session:
            alarm = find_alarm(session, ref)
            return {"alarm": alarm.id, "fire_times": [t.as_json() for t in _upcoming(alarm, count)]}

    def upcoming_all(self, count: int) -> list[dict[str, Any]]:
        """The next `count` rings of all alarms together, soonest first."""
        found: list[tuple[datetime, int, dict[str, Any]]] = []
        with self.sessions() as session:
            query = select(Alarm).where(Alarm.next_fire_at.is_not(None)).order_by(Alarm.next_fire_at, Alarm.id)
            for alarm in session.scalars(query):
                assert alarm.next_fire_at is not None
                # Alarms come soonest first, and none rings before its next_fire_at.
                if len(found) >= count and found[count - 1][0] < alarm.next_fire_at:
                    break
                for t in _upcoming(alarm, count):
                    found.append((t.at, alarm.id, {"alarm_id": alarm.id, "alarm_name": alarm.name}
                                  | t.as_json()))
                found = sorted(found, key=lambda item: (item[0], item[1]))[:count]
        return [item[2] for item in found]

    def numbers(self) -> list[dict[str, Any]]:
        """The configured numbers people may see: hidden ones left out, secret ones masked."""
        return [{"index": e.index, "name": e.name, "number": e.display}
                for e in self.phonebook.entries if not e.hidden]

    def history(self, limit: int = 50, alarm_ref: int | str | None = None,
                before: str | None = None) -> list[dict[str, Any]]:
        with self.sessions() as session:
            query = select(Occurrence).order_by(Occurrence.scheduled_at.desc(), Occurrence.id.desc())
            if alarm_ref is not None:
                query = query.where(self._of_alarm(session, alarm_ref))
            if before is not None:
                query = query.where(self._before(session, before))
            rows = session.scalars(query.limit(limit)).all()
            return [self.views.occurrence(row) for row in rows]

    def status(self) -> dict[str, Any]:
        with self.sessions() as session:
            count = session.scalar(select(func.count(Alarm.id))) or 0
            upcoming = session.scalars(
                select(Alarm).where(Alarm.next_fire_at.is_not(None)).order_by(Alarm.next_fire_at).limit(1)
            ).first()
            # A call still being followed (accepted, or dialling its redials) counts too.
            last = session.scalars(
                select(Occurrence).where(or_(Occurrence.finished_at.is_not(None),
                                             Occurrence.status.in_(("dialling", "accepted"))))
                .order_by(func.coalesce(Occurrence.finished_at, Occurrence.created_at).desc()).limit(1)
            ).first()
            return {
                "version": __version__,
                "mode": self.dialer.mode,
                "dry_run_reason": self.settings.twilio.dry_run_reason,
                "timezone": self.settings.timezone,
                "alarms": count,
                "next_alarm": self.views.alarm(session, upcoming) if upcoming else None,
                "last_call": self.views.occurrence(last) if last else None,
                "keepalive": self._keepalive_status(clock.now()),
                "warnings": self._warnings_in(session),
            }

    def warnings(self) -> list[str]:
        """What is wrong now that a person should fix (alarms that would call nobody)."""
        with self.sessions() as session:
            return self._warnings_in(session)

    def forget_warnings(self) -> None:
        """The alarms or the phonebook changed: work the warnings out again when next asked."""
        self._warnings = None

    def _warnings_in(self, session: Session) -> list[str]:
        # /healthz asks at every probe, and with 10,000 alarms the answer takes a tenth of a
        # second to work out. It changes only when an alarm is changed or claimed, or the
        # config is read, all through AlarmService, which calls forget_warnings.
        kept = self._warnings
        if kept is None or kept[0] is not self.phonebook:
            kept = self._warnings = (self.phonebook, pins.warnings(session, self.phonebook))
        return list(kept[1])

    @staticmethod
    def _of_alarm(session: Session, ref: int | str) -> Any:
        """An alarm's calls, by its id or name. An alarm removed since is found by either from
        what its calls kept: its name, and its id in their claim keys (ids are never reused)."""
        try:
            return Occurrence.alarm_id == find_alarm(session, ref).id
        except NoSuchAlarm:
            text = str(ref).strip()
            removed = Occurrence.alarm_id.is_(None) & (Occurrence.reason == "alarm")
            if text.isdigit():
                kept = removed & Occurrence.claim_key.like(f"alarm:{int(text)}:%")
            else:
                kept = removed & (func.lower(Occurrence.alarm_name) == text.lower())
            if session.scalar(select(Occurrence.id).where(kept).limit(1)) is None:
                raise
            return kept

    def _before(self, session: Session, before: str) -> Any:
        """History paging: older than an occurrence (by id) or than an instant."""
        text = before.strip()
        if text.isdigit():
            row = session.get(Occurrence, int(text))
            if row is None:
                raise BadInput(f"before: no call has the id {text}.")
            return or_(Occurrence.scheduled_at < row.scheduled_at,
                       and_(Occurrence.scheduled_at == row.scheduled_at, Occurrence.id < row.id))
        return Occurrence.scheduled_at < timeparse.parse_when(text, self.settings.timezone, clock.now())


def _upcoming(alarm: Alarm, count: int) -> list[firetimes.FireTime]:
    if alarm.next_fire_at is None:
        return []
    return firetimes.upcoming(
        schedule_of(alarm), alarm.next_fire_at - timedelta(microseconds=1), count,
        skipping=set(json.loads(alarm.skip_instants or "[]")), paused=alarm.paused,
        paused_until=alarm.paused_until,
    )
