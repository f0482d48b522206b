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

from sqlalchemy import delete, update
from sqlalchemy.orm import Session, sessionmaker

from alarmd import clock
from alarmd.calls import callplan, costguard
from alarmd.calls.callplan import Done, Plan
from alarmd.calls.lease import LEASE, OPEN_STATUSES
from alarmd.config.settings import Settings
from alarmd.errors import BadInput
from alarmd.phonebook import Phonebook, PhoneNumber, stored_label
from alarmd.store.models import Alarm, Attempt, Occurrence

log = logging.getLogger("alarmd.delivery")


@dataclass
class Snapshot:
    occurrence: Occurrence
    plan: Plan
    attempts: list[Attempt]


class Record:
    def __init__(self, sessions: sessionmaker[Session], dialer_mode: str, settings: Settings,
                 phonebook: Phonebook, owner: str):
        self.sessions = sessions
        self.dialer_mode = dialer_mode
        self.settings = settings
        self.phonebook = phonebook
        self.owner = owner

    def load(self, occurrence_id: int) -> Snapshot | Done | None:
        with self.sessions() as session:
            occurrence = session.get(Occurrence, occurrence_id)
            if (occurrence is None or occurrence.status not in OPEN_STATUSES
                    or occurrence.finished_at is not None or occurrence.owner != self.owner):
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
            held = session.execute(
                update(Occurrence)
                .where(Occurrence.id == occurrence_id, Occurrence.owner == self.owner,
                       Occurrence.status.in_(OPEN_STATUSES), Occurrence.finished_at.is_(None))
                .values(status="dialling", lease_until=clock.now() + LEASE)
            )
            if getattr(held, "rowcount", 0) != 1:
                return None
            attempt = Attempt(occurrence_id=occurrence_id, number=entry.number, number_name=entry.name,
                              secret=entry.secret, dialer=self.dialer_mode, started_at=max(clock.now(), send_at),
                              status="requesting")
            session.add(attempt)
            session.flush()
            return attempt.id

    def record(self, occurrence_id: int, attempt_id: int, values: dict[str, Any],
                occurrence_status: str | None) -> None:
        with self.sessions.begin() as session:
            attempt = session.get_one(Attempt, attempt_id)
            for key, value in values.items():
                setattr(attempt, key, value)
            if occurrence_status is not None:
                occurrence = session.get_one(Occurrence, occurrence_id)
                occurrence.status = occurrence_status

    def drop_attempt(self, attempt_id: int) -> None:
        """Delete an attempt whose request was never sent, so history shows no call that was not made."""
        with self.sessions.begin() as session:
            session.execute(delete(Attempt).where(Attempt.id == attempt_id))

    def finish(self, occurrence_id: int, done: Done) -> None:
        with self.sessions.begin() as session:
            occurrence = session.get(Occurrence, occurrence_id)
            if occurrence is None:
                return
            occurrence.status, occurrence.detail = done.status, done.detail
            occurrence.finished_at = clock.now()
            occurrence.lease_until = None
            for attempt in occurrence.attempts:
                # A keepalive's accepted call is not followed; nothing else is left open.
                attempt.finished_at = attempt.finished_at or occurrence.finished_at
            label = self._label(occurrence)
        # A refusal was logged as a warning where it happened.
        level = logging.INFO if done.status in ("answered", "accepted", "dry-run", "refused") else logging.WARNING
        log.log(level, "occurrence %s (%s): %s%s", occurrence_id, label, done.status,
                f": {done.detail}" if done.detail else "")

    def _label(self, occurrence: Occurrence) -> str:
        try:
            return self.phonebook.target(occurrence.to_ref, occurrence.to_name, occurrence.to_number).label()
        except BadInput:
            return stored_label(occurrence.to_ref, occurrence.to_name, occurrence.to_number)
