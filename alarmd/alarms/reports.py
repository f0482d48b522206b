"""Reading what is and what will be: alarms, their next rings, the numbers, history, status.

Nothing here writes. Views (alarmd.store.views) give every row its one JSON shape, and
every "when will it ring" is firetimes.rings from views.ring_from, so list, show, next and
status agree.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

from alarmd import __version__, clock
from alarmd.alarms import pins
from alarmd.alarms.inputs import find_alarm
from alarmd.calls.live import LiveConfig, UsesLive
from alarmd.digits import is_digits
from alarmd.errors import BadInput, NoSuchAlarm
from alarmd.phonebook import Phonebook
from alarmd.schedule import firetimes, timeparse
from alarmd.store.models import Alarm, Occurrence
from alarmd.store.views import (
    latest_occurrence,
    latest_occurrences,
    next_ring,
    ring_from,
    schedule_of,
    skipping,
)


class Reports(UsesLive):
    def __init__(self, sessions: sessionmaker[Session], live: LiveConfig,
                 keepalive_status: Callable[[datetime], dict[str, Any]]):
        self.sessions = sessions
        self.live = live
        self._keepalive_status = keepalive_status
        self._warnings: tuple[Phonebook, list[str]] | None = None
        self._forgotten = 0
        self._forgotten_lock = threading.Lock()

    def list_alarms(self) -> list[dict[str, Any]]:
        with self.sessions() as session:
            alarms = session.scalars(select(Alarm)).all()
            latest = latest_occurrences(session)
            views = [self.views.alarm(session, alarm, latest) for alarm in alarms]
        # The soonest ring first; those that will not ring (paused for good, done) last,
        # paused ones before done ones, newest first among them.
        return sorted(views, key=lambda v: (v["next_ring_at"] is None, v["state"] == "done",
                                            v["next_ring_at"] or "", -v["id"]))

    def get_alarm(self, ref: int | str) -> dict[str, Any]:
        with self.sessions() as session:
            return self.views.alarm(session, find_alarm(session, ref))

    def alarm_ids(self) -> list[int]:
        with self.sessions() as session:
            return list(session.scalars(select(Alarm.id)).all())

    def due_by(self, after: datetime | None, until: datetime) -> tuple[list[tuple[int, datetime]], datetime | None]:
        """(id, next ring) of each alarm whose next ring is after `after` (None: any) and not
        after `until`, in one query of plain rows; and the soonest next ring after `until`."""
        window = Alarm.next_fire_at <= until
        if after is not None:
            window = window & (Alarm.next_fire_at > after)
        with self.sessions() as session:
            found = session.execute(select(Alarm.id, Alarm.next_fire_at).where(window))
            rows = [(alarm_id, when) for alarm_id, when in found if when is not None]
            later = session.scalar(select(func.min(Alarm.next_fire_at)).where(Alarm.next_fire_at > until))
        return rows, later

    def next_fire_at(self, alarm_id: int) -> datetime | None:
        with self.sessions() as session:
            alarm = session.get(Alarm, alarm_id)
            return alarm.next_fire_at if alarm else None

    def upcoming(self, ref: int | str, count: int) -> dict[str, Any]:
        """The alarm's next `count` rings, with their local times and what DST did to them."""
        with self.sessions() as session:
            alarm = find_alarm(session, ref)
            since = ring_from(alarm, latest_occurrence(session, alarm.id), clock.now())
            return {"alarm": alarm.id, "fire_times": [t.as_json() for t in _rings(alarm, since, count)]}

    def upcoming_all(self, count: int) -> list[dict[str, Any]]:
        """The next `count` rings of all alarms together, soonest first."""
        found: list[tuple[datetime, int, dict[str, Any]]] = []
        with self.sessions() as session:
            for alarm, since in _may_ring(session, clock.now()):
                if len(found) >= count and found[count - 1][0] < since:
                    break
                for t in _rings(alarm, since, count):
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
            upcoming = self._next_to_ring(session)
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

    @staticmethod
    def _next_to_ring(session: Session) -> Alarm | None:
        """The alarm whose next ring comes first: a paused or skipped one may not be it."""
        best: tuple[datetime, int, Alarm] | None = None
        for alarm, since in _may_ring(session, clock.now()):
            if best is not None and best[0] < since:
                break
            ring = next_ring(alarm, since)
            if ring is not None and (best is None or (ring.at, alarm.id) < best[:2]):
                best = (ring.at, alarm.id, alarm)
        return best[2] if best else None

    def warnings(self) -> list[str]:
        """What is wrong now that a person should fix (alarms that would call nobody)."""
        with self.sessions() as session:
            return self._warnings_in(session)

    def forget_warnings(self) -> int:
        """The alarms or the phonebook changed: work the warnings out again when next asked.
        The count of changes so far (remember_warnings)."""
        with self._forgotten_lock:
            self._warnings = None
            self._forgotten += 1
            return self._forgotten

    def remember_warnings(self, phonebook: Phonebook, found: list[str], forgotten: int) -> None:
        """The warnings worked out with `phonebook` since forget_warnings answered `forgotten`:
        kept unless something changed meanwhile (the number check reads them at every start
        and reload, and the first /healthz need not read ten thousand alarms again)."""
        with self._forgotten_lock:
            if self._forgotten == forgotten:
                self._warnings = (phonebook, list(found))

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
            if is_digits(text):
                kept = removed & Occurrence.claim_key.like(f"alarm:{int(text)}:%")
            else:
                kept = removed & (func.lower(Occurrence.alarm_name) == text.lower())
            if session.scalar(select(Occurrence.id).where(kept).limit(1)) is None:
                raise
            return kept

    def _before(self, session: Session, before: str) -> Any:
        """History paging: older than an occurrence (by id) or than an instant."""
        text = before.strip()
        if is_digits(text):
            row = session.get(Occurrence, int(text))
            if row is None:
                raise BadInput(f"before: no call has the id {text}.")
            return or_(Occurrence.scheduled_at < row.scheduled_at,
                       and_(Occurrence.scheduled_at == row.scheduled_at, Occurrence.id < row.id))
        return Occurrence.scheduled_at < timeparse.parse_when(text, self.settings.timezone, clock.now())


def _rings(alarm: Alarm, since: datetime | None, count: int) -> list[firetimes.FireTime]:
    if since is None:
        return []
    return firetimes.rings(schedule_of(alarm), since, count, skipping=skipping(alarm, since),
                           paused=alarm.paused, paused_until=alarm.paused_until)


def _may_ring(session: Session, now: datetime) -> Iterator[tuple[Alarm, datetime]]:
    """Each alarm that may still ring, with the first instant it may ring at (ring_from).

    Those with a claimed ring still to come first (a few, in the seconds before a ring),
    then the others by next_fire_at: none of those rings before its next_fire_at, so a
    caller looking for the soonest rings may stop once it has found rings before that.
    """
    claimed = session.scalars(select(Occurrence).where(
        Occurrence.alarm_id.is_not(None), Occurrence.finished_at.is_(None), Occurrence.scheduled_at > now)).all()
    imminent = {o.alarm_id: o for o in claimed if o.alarm_id is not None}
    for alarm_id in sorted(imminent):
        alarm = session.get(Alarm, alarm_id)
        if alarm is not None:
            yield alarm, imminent[alarm_id].scheduled_at
    query = select(Alarm).where(Alarm.next_fire_at.is_not(None)).order_by(Alarm.next_fire_at, Alarm.id)
    for alarm in session.scalars(query):
        if alarm.id not in imminent and alarm.next_fire_at is not None:
            yield alarm, alarm.next_fire_at
