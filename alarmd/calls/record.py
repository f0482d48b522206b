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
from alarmd.calls.lease import LEASE, OPEN_STATUSES
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
    def __init__(self, sessions: sessionmaker[Session], live: LiveConfig, owner: str):
        self.sessions = sessions
        self.live = live
        self.owner = owner
        # Told (one masked sentence) when an occurrence ends FAILED_FOR_GOOD; the heartbeat listens.
        self.failure_listeners: list[Callable[[str], None]] = []

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
        escalations), in the transaction that writes the row, as costguard asks. A manual
        dial's reservation becomes this row: it is counted once, as the attempt.
        Raises LimitExceeded.
        """
        with self.sessions.begin() as session:
            costguard.check(session, clock.now(), self.settings.calls_per_hour, occurrence_id,
                            self.settings.dials_per_hour)
            held = session.execute(
                update(Occurrence)
                .where(Occurrence.id == occurrence_id, Occurrence.owner == self.owner,
                       Occurrence.status.in_(OPEN_STATUSES), Occurrence.finished_at.is_(None))
                .values(status="dialling", lease_until=clock.now() + LEASE, reserved_at=None)
            )
            if getattr(held, "rowcount", 0) != 1:
                return None
            attempt = Attempt(occurrence_id=occurrence_id, number=entry.number, number_name=entry.name,
                              secret=entry.secret, dialer=self.dialer.mode, started_at=max(clock.now(), send_at),
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
        """Delete an attempt whose request was never sent, so history shows no call that was not made.

        A manual dial's first attempt goes back to being reserved: its 202 still holds.
        """
        with self.sessions.begin() as session:
            attempt = session.get(Attempt, attempt_id)
            if attempt is None:
                return
            occurrence_id, started_at = attempt.occurrence_id, attempt.started_at
            session.execute(delete(Attempt).where(Attempt.id == attempt_id))
            session.execute(
                update(Occurrence)
                .where(Occurrence.id == occurrence_id, Occurrence.reason == "dial",
                       ~Occurrence.attempts.any())
                .values(reserved_at=started_at))

    def finish(self, occurrence_id: int, done: Done) -> None:
        with self.sessions.begin() as session:
            occurrence = session.get(Occurrence, occurrence_id)
            if occurrence is None:
                return
            occurrence.status, occurrence.detail = done.status, done.detail
            occurrence.finished_at = clock.now()
            occurrence.lease_until = None
            occurrence.reserved_at = None  # a dial that ends before its first attempt frees its room
            for attempt in occurrence.attempts:
                # A keepalive's accepted call is not followed; nothing else is left open.
                attempt.finished_at = attempt.finished_at or occurrence.finished_at
            label = self._label(occurrence)
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
