"""The record of a delivery: every fact is written before the next step acts on it.

An attempt row ("requesting") is committed before each request goes out (the cost guard
is asked in the same transaction), each answer is written to it, and the occurrence is
finished with its outcome. `load` reads the occurrence back as the call plan needs it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, sessionmaker

from alarmd import clock
from alarmd.calls import callplan, costguard
from alarmd.calls.callplan import Done, Plan
from alarmd.calls.lease import OPEN_STATUSES, Lease
from alarmd.config.settings import Settings
from alarmd.errors import BadInput
from alarmd.phonebook import Phonebook, PhoneNumber
from alarmd.store.models import Alarm, Attempt, Occurrence

log = logging.getLogger("alarmd.delivery")


@dataclass
class Snapshot:
    occurrence: Occurrence
    plan: Plan
    attempts: list[Attempt]


class Record:
    def __init__(self, sessions: sessionmaker[Session], dialer_mode: str, settings: Settings,
                 phonebook: Phonebook, lease: Lease):
        self.sessions = sessions
        self.dialer_mode = dialer_mode
        self.settings = settings
        self.phonebook = phonebook
        # Every write below goes through the lease's fence: after a takeover it writes nothing.
        self.lease = lease

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
        escalations), in the transaction that writes the row, as costguard asks.
        Raises LimitExceeded.
        """
        with self.sessions.begin() as session:
            costguard.check(session, clock.now(), self.settings.calls_per_hour)
            if not self.lease.hold(session, occurrence_id, status="dialling"):
                return None
            attempt = Attempt(occurrence_id=occurrence_id, number=entry.number, number_name=entry.name,
                              dialer=self.dialer_mode, started_at=max(clock.now(), send_at),
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
        """Delete an attempt whose request was never sent, so history shows no call that was not made."""
        with self.sessions.begin() as session:
            occurrence_id = session.scalar(select(Attempt.occurrence_id).where(Attempt.id == attempt_id))
            if occurrence_id is not None and self.lease.hold(session, occurrence_id):
                session.execute(delete(Attempt).where(Attempt.id == attempt_id))

    def finish(self, occurrence_id: int, done: Done) -> None:
        now = clock.now()
        with self.sessions.begin() as session:
            if not self.lease.hold(session, occurrence_id, status=done.status, detail=done.detail,
                                   finished_at=now):
                return
            # A keepalive's accepted call is not followed; nothing else is left open.
            session.execute(update(Attempt).where(Attempt.occurrence_id == occurrence_id,
                                                  Attempt.finished_at.is_(None)).values(finished_at=now))
            label = self._label_ref(session.get_one(Occurrence, occurrence_id).to_ref)
        # A refusal was logged as a warning where it happened.
        level = logging.INFO if done.status in ("answered", "accepted", "dry-run", "refused") else logging.WARNING
        log.log(level, "occurrence %s (%s): %s%s", occurrence_id, label, done.status,
                f": {done.detail}" if done.detail else "")

    def _label_ref(self, ref: str) -> str:
        try:
            return self.phonebook.resolve(ref).label()
        except BadInput:
            return ref
