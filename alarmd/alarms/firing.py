"""Claiming and firing occurrences: what the scheduler runs when an alarm is due, and dial-now.

An occurrence row, unique per (alarm, instant), is inserted before anything is dialled,
so a restart, a coalesced misfire, a DST repeat or a second daemon claims nothing twice.
Delivering a claimed occurrence (dial, follow, redial, escalate) is alarmd.calls.delivery's.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alarmd.alarms.inputs import target_columns
from alarmd.calls import costguard, delivery
from alarmd.calls.lease import LEASE, OPEN_STATUSES, owner_id
from alarmd.calls.live import LiveConfig, UsesLive
from alarmd.errors import LimitExceeded
from alarmd.schedule import rules
from alarmd.store.insert import insert_new
from alarmd.store.models import Alarm, Occurrence
from alarmd.store.views import iso, schedule_of

log = logging.getLogger("alarmd.service")

# However long the daemon was down, at most this many missed occurrences are written per
# alarm (a once-a-minute cron down for a week would otherwise write 10,000 rows).
MAX_MISSED_RECORDED = 50


class Firing(UsesLive):
    def __init__(self, sessions: sessionmaker[Session], live: LiveConfig, node_id: str | None = None):
        self.sessions = sessions
        self.live = live
        self._in_flight = 0
        self._idle = threading.Condition()
        # Set by the daemon when it stops: every wait in a delivery returns at once.
        self.stopping = threading.Event()
        self.owner = owner_id(node_id)
        self.delivery = delivery.Delivery(sessions, live, self.stopping, self.owner)
        self._dispatch: Callable[[int], None] | None = None

    def on_dispatch(self, dispatcher: Callable[[int], None]) -> None:
        """Have `dispatcher(occurrence_id)` dial a claimed occurrence off the caller's thread."""
        self._dispatch = dispatcher

    def on_call_failed(self, listener: Callable[[str], None]) -> None:
        """Call `listener(sentence)` (masked) when a call fails for good."""
        self.delivery.on_call_failed(listener)

    def alarm_changed(self, alarm_id: int) -> None:
        """A call prepared for the alarm reads it again before it goes out."""
        self.delivery.alarm_changed(alarm_id)

    def claim_due(self, alarm_id: int, now: datetime) -> list[int]:
        """Claim the alarm's occurrences that are due by `now`; return those to dial.

        The newest due occurrence is dialled if it is within the alarm's grace window;
        every other due one is recorded as missed, never silently dropped. The alarm's
        next_fire_at moves past `now` in the same transaction.
        """
        with self.sessions.begin() as session:
            alarm = session.get(Alarm, alarm_id)
            if alarm is None or alarm.next_fire_at is None or alarm.next_fire_at > now:
                return []
            schedule = schedule_of(alarm)
            due = rules.fire_times_between(
                schedule, alarm.next_fire_at - timedelta(microseconds=1), now, MAX_MISSED_RECORDED
            )
            if not due and schedule.kind == "once":
                # A one-off whose `at` lies behind its next_fire_at (an edit by an earlier
                # version stored it so) is due at next_fire_at: it never ends without a record.
                due = [alarm.next_fire_at]
            to_dial: list[int] = []
            detail: str | None
            grace = timedelta(seconds=alarm.grace_seconds)
            for instant in due:
                latest = instant == due[-1]
                status, detail = "claimed", None
                skipped = alarm.skip_reason(instant)
                if skipped:
                    status, detail = "skipped", skipped
                elif not latest:
                    status, detail = "missed", "a later occurrence was due by the time alarmd ran"
                elif now - instant > grace:
                    late = _duration(now - instant)
                    status, detail = "missed", f"alarmd was not running; {late} late, past its grace"
                occurrence_id = self._claim(session, alarm, instant, status, detail, now)
                if occurrence_id is not None and status == "claimed":
                    to_dial.append(occurrence_id)
                elif occurrence_id is not None:
                    log.warning("alarm %s due %s: %s (%s)", alarm.id, iso(instant), status, detail)
            alarm.next_fire_at = rules.next_fire(schedule, max(now, due[-1] if due else now))
            alarm.updated_at = now
        return to_dial

    def _claim(self, session: Session, alarm: Alarm, instant: datetime, status: str,
               detail: str | None, now: datetime) -> int | None:
        """Insert the occurrence row; None when another run already claimed it."""
        key = f"alarm:{alarm.id}:{instant.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
        return insert_new(session, Occurrence, {
            "claim_key": key, "alarm_id": alarm.id, "alarm_name": alarm.name, "reason": "alarm",
            "to_ref": alarm.to_ref, "to_name": alarm.to_name, "to_number": alarm.to_number,
            "scheduled_at": instant, "status": status, "detail": detail,
            "created_at": now, "finished_at": None if status == "claimed" else now,
            "owner": self.owner if status == "claimed" else None,
            "lease_until": now + LEASE if status == "claimed" else None,
        }, "claim_key", returning=Occurrence.id)

    def fire_occurrence(self, occurrence_id: int) -> None:
        """Deliver a claimed occurrence (alarmd.calls.delivery): dial, follow, redial, escalate.

        Blocks until it is answered, spent, or the daemon stops (then it stays resumable).
        No dialer error escapes: each is stored on its attempt.
        """
        with self._idle:
            self._in_flight += 1
        try:
            self.delivery.carry_on(occurrence_id)
        finally:
            with self._idle:
                self._in_flight -= 1
                self._idle.notify_all()

    def resumable_occurrences(self) -> list[int]:
        """Occurrences left claimed, dialling or accepted (a stop, a crash, another daemon);
        not those this daemon is delivering (each would get a thread of its own for nothing)."""
        busy = self.delivery.delivering()
        with self.sessions() as session:
            return [occurrence_id for occurrence_id in session.scalars(
                select(Occurrence.id).where(Occurrence.status.in_(OPEN_STATUSES),
                                            Occurrence.finished_at.is_(None))
                .order_by(Occurrence.id)
            ).all() if occurrence_id not in busy]

    def request_stop(self) -> None:
        """Make deliveries stop waiting; what they leave is carried on after a restart."""
        self.delivery.stop()

    def wait_idle(self, timeout: float) -> bool:
        """Wait for calls in flight to finish; False if some still run after `timeout`."""
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def dial_now(self, to: int | str, now: datetime) -> dict[str, Any]:
        """Claim a call to a configured number now and hand it to the dispatcher (NMO's /twilio/x).

        The answer means the call will be placed: its first attempt is reserved in the cost
        guard in the transaction that stores the occurrence (or LimitExceeded is raised).
        """
        entry = self.phonebook.resolve(to)
        with self.sessions.begin() as session:
            try:
                costguard.reserve_dial(session, now, self.settings.calls_per_hour, self.settings.dials_per_hour)
            except LimitExceeded as exc:
                log.warning("dial %s refused: %s", entry.label(), exc)
                raise
            occurrence = Occurrence(
                claim_key=new_dial_key(), alarm_id=None, alarm_name=None, reason="dial",
                **target_columns("to", to, entry), scheduled_at=now, status="claimed", detail=None,
                created_at=now, finished_at=None, reserved_at=now, attempts=[],
            )
            session.add(occurrence)
            session.flush()
            view = self.views.occurrence(occurrence)
        log.info("dial %s: occurrence %s claimed", entry.label(), view["id"])
        if self._dispatch is not None:
            self._dispatch(view["id"])
        else:
            threading.Thread(target=self.fire_occurrence, args=(view["id"],), daemon=True).start()
        return view


def new_dial_key() -> str:
    return f"dial:{uuid.uuid4().hex}"


def _duration(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}min"
    return f"{hours // 24} days"
