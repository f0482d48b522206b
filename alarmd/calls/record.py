"""The record of a delivery: every fact is written before the next step acts on it.

An attempt row ("requesting") is committed before each request goes out (the cost guard
is asked in the same transaction), each answer is written to it, and the occurrence is
finished with its outcome. `load` reads the occurrence back as the call plan needs it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from alarmd import clock
from alarmd.calls import callplan, costguard
from alarmd.calls.callplan import Done, Plan
from alarmd.calls.lease import OPEN_STATUSES, Lease
from alarmd.calls.live import LiveConfig, UsesLive
from alarmd.errors import BadInput
from alarmd.phonebook import PhoneNumber, stored_label
from alarmd.store.models import Alarm, Attempt, Occurrence

log = logging.getLogger("alarmd.delivery")

# Outcomes that mean a wanted call was not placed and will not be: someone may oversleep.
FAILED_FOR_GOOD = frozenset({"failed", "refused"})


@dataclass
class Snapshot:
    occurrence: Occurrence
    plan: Plan
    attempts: list[Attempt]


class Record(UsesLive):
    def __init__(self, sessions: sessionmaker[Session], live: LiveConfig, lease: Lease):
        self.sessions = sessions
        self.live = live
        # Every write below goes through the lease's fence: after a takeover it writes nothing.
        self.lease = lease
        # Told (one masked sentence) when an occurrence ends FAILED_FOR_GOOD; the heartbeat listens.
        self.failure_listeners: list[Callable[[str], None]] = []

    def on_call_failed(self, listener: Callable[[str], None]) -> None:
        self.failure_listeners.append(listener)

    def load(self, occurrence_id: int) -> Snapshot | Done | None:
        with self.sessions() as session:
            occurrence = session.get(Occurrence, occurrence_id)
            if (occurrence is None or occurrence.status not in OPEN_STATUSES
                    or occurrence.finished_at is not None or occurrence.owner != self.lease.owner
                    or occurrence.lease_epoch != self.lease.epoch(occurrence_id)):
                return None
            alarm = session.get(Alarm, occurrence.alarm_id) if occurrence.alarm_id is not None else None
            try:
                plan = callplan.plan_for(occurrence, alarm, self.settings, self.phonebook)
            except BadInput as exc:
                return Done("failed", self.phonebook.mask_text(str(exc)))
            attempts = list(occurrence.attempts)
            session.expunge_all()
            return Snapshot(occurrence, plan, attempts)

    def begin_attempt(self, occurrence_id: int, entry: PhoneNumber, send_at: datetime) -> int | None:
        """Write the attempt row before its request; its start is when the request goes out.

        The cost guard runs here, before EVERY request (first calls, retries, redials,
        escalations), in the transaction that writes the row, as costguard asks. A manual
        dial's reservation becomes this row: it is counted once, as the attempt.
        Raises LimitExceeded.
        """
        with self.sessions.begin() as session:
            costguard.check(session, clock.now(), self.settings.calls_per_hour, occurrence_id,
                            self.settings.dials_per_hour)
            if not self.lease.hold(session, occurrence_id, status="dialling", reserved_at=None):
                return None
            attempt = Attempt(occurrence_id=occurrence_id, number=entry.number, number_name=entry.name,
                              secret=entry.secret, dialer=self.dialer.mode, started_at=max(clock.now(), send_at),
                              status="requesting")
            session.add(attempt)
            session.flush()
            return attempt.id

    def record(self, occurrence_id: int, attempt_id: int, values: dict[str, Any],
               occurrence_status: str | None) -> bool:
        """Write what an attempt came to; False (and nothing written) once the lease is lost."""
        with self.sessions.begin() as session:
            changes = {} if occurrence_status is None else {"status": occurrence_status}
            if not self.lease.hold(session, occurrence_id, **changes):
                return False
            session.execute(update(Attempt).where(Attempt.id == attempt_id).values(**values))
            return True

    def drop_attempt(self, attempt_id: int) -> None:
        """Delete an attempt whose request was never sent, so history shows no call that was not made.

        A manual dial's first attempt goes back to being reserved: its 202 still holds.
        """
        with self.sessions.begin() as session:
            attempt = session.get(Attempt, attempt_id)
            if attempt is None or not self.lease.hold(session, attempt.occurrence_id):
                return
            occurrence_id, started_at = attempt.occurrence_id, attempt.started_at
            session.execute(delete(Attempt).where(Attempt.id == attempt_id))
            session.execute(
                update(Occurrence)
                .where(Occurrence.id == occurrence_id, Occurrence.reason == "dial",
                       ~Occurrence.attempts.any())
                .values(reserved_at=started_at))

    def finish(self, occurrence_id: int, done: Done) -> None:
        now = clock.now()
        with self.sessions.begin() as session:
            # A dial that ends before its first attempt frees its room in the cost guard.
            if not self.lease.hold(session, occurrence_id, status=done.status, detail=done.detail,
                                   finished_at=now, lease_until=None, reserved_at=None):
                return
            # A keepalive's accepted call is not followed; nothing else is left open.
            session.execute(update(Attempt).where(Attempt.occurrence_id == occurrence_id,
                                                  Attempt.finished_at.is_(None)).values(finished_at=now))
            label = self._label(session.get_one(Occurrence, occurrence_id))
        # A refusal was logged as a warning where it happened.
        level = logging.INFO if done.status in ("answered", "accepted", "dry-run", "refused") else logging.WARNING
        sentence = f"occurrence {occurrence_id} ({label}): {done.status}" + (f": {done.detail}" if done.detail else "")
        log.log(level, "%s", sentence)
        if done.status in FAILED_FOR_GOOD:
            for listener in self.failure_listeners:
                try:
                    listener(sentence)
                except Exception:
                    log.exception("a listener of failed calls failed")

    def _label(self, occurrence: Occurrence) -> str:
        try:
            return self.phonebook.target(occurrence.to_ref, occurrence.to_name, occurrence.to_number).label()
        except BadInput:
            return stored_label(occurrence.to_ref, occurrence.to_name, occurrence.to_number)
