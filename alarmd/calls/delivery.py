"""Delivering a claimed occurrence: dial, follow the call, retry, redial, escalate.

Every step is decided by alarmd.calls.callplan from the attempts recorded so far, and every
fact is written before the next step acts on it:

- An attempt row ("requesting") is committed before each request goes out, and the
  SID is stored as soon as Twilio answers.
- A request whose answer was lost (killed mid-request, a read timeout, a dropped
  connection, a 5xx) is never sent again blindly: the attempt is "uncertain" until
  Twilio's call list is read for a call from our number to that number created since
  the request started, whose SID no attempt knows. If there is one, it is adopted and
  followed; only if there is none is the call placed again. What remains is Twilio
  listing a just-created call late, and two occurrences' lost requests to the same
  number at the same moment; both are far rarer than the crash they guard against.
- Only one daemon works on an occurrence at a time: it holds a lease (owner,
  lease_until) that it renews while it works. Another daemon, or this one after a
  restart, takes over only when the lease has run out, was given back at a clean
  stop, or belongs to a process on this host that no longer exists.
- Every wait (a redial interval, a retry backoff, between polls) returns at once when
  the daemon stops; the occurrence is left resumable.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from alarmd import clock
from alarmd.calls import callplan, costguard
from alarmd.calls.callplan import Dial, Done, Follow, Plan, Settle
from alarmd.calls.dialers.base import CallRequest, Dialer, PlacedCall
from alarmd.calls.rightofway import RightOfWay
from alarmd.config.settings import Settings
from alarmd.errors import BadInput, DialError, LimitExceeded
from alarmd.phonebook import Phonebook, PhoneNumber, mask
from alarmd.store.models import Alarm, Attempt, Occurrence

log = logging.getLogger("alarmd.delivery")

OPEN_STATUSES = ("claimed", "dialling", "accepted")
LEASE = timedelta(seconds=30)
# The attempt row is written this long before a call is due, so that at the due instant
# only the request itself is left to do.
PREPARE_AHEAD = callplan.LEAD
# Waits are cut into pieces this long so the lease is renewed well before it runs out.
RENEW_EVERY_SECONDS = 5.0
# Twilio's clock and ours may differ a little; a call created this long before our
# request started may still be the one it placed.
CLOCK_SKEW = timedelta(seconds=30)


def owner_id() -> str:
    """This daemon process, as written in occurrences.owner: host/pid/random."""
    return f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"


def _owner_gone(owner: str) -> bool:
    """True when `owner` was a process on this host that no longer runs."""
    host, _, rest = owner.partition("/")
    pid_text = rest.partition("/")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


@dataclass
class Snapshot:
    occurrence: Occurrence
    plan: Plan
    attempts: list[Attempt]


class Delivery:
    def __init__(self, sessions: sessionmaker[Session], dialer: Dialer, settings: Settings,
                 phonebook: Phonebook, stopping: threading.Event, owner: str):
        self.sessions = sessions
        self.dialer = dialer
        self.settings = settings
        self.phonebook = phonebook
        self.stopping = stopping
        self.owner = owner
        self._active: set[int] = set()
        self._lock = threading.Lock()
        # How often each alarm was changed through this daemon: a call prepared ahead
        # re-reads its alarm at the last moment only when this moved (see _dial).
        self._alarm_changes: dict[int, int] = {}
        self.right_of_way = RightOfWay()

    def alarm_changed(self, alarm_id: int) -> None:
        with self._lock:
            self._alarm_changes[alarm_id] = self._alarm_changes.get(alarm_id, 0) + 1

    # --- the loop -----------------------------------------------------------------

    def carry_on(self, occurrence_id: int) -> None:
        """Deliver the occurrence from wherever its record says it stands."""
        with self._lock:
            if occurrence_id in self._active:
                return
            self._active.add(occurrence_id)
        try:
            self.right_of_way.give_way()
            taken = self._take(occurrence_id)
            if taken is not None:
                self._run(occurrence_id, resumed=taken)
        finally:
            self._give_back(occurrence_id)
            with self._lock:
                self._active.discard(occurrence_id)

    def _run(self, occurrence_id: int, resumed: bool) -> None:
        redial = self.settings.redial
        while not self.stopping.is_set():
            self.right_of_way.give_way()
            snapshot = self._load(occurrence_id)
            if isinstance(snapshot, Done):
                self._finish(occurrence_id, snapshot)
                return
            if snapshot is None:
                return
            step = callplan.next_step(snapshot.plan, snapshot.attempts, snapshot.occurrence.scheduled_at,
                                      clock.now(), redial.first_retry_seconds, redial.max_retry_seconds,
                                      resumed)
            if isinstance(step, Done):
                self._finish(occurrence_id, step)
                return
            if isinstance(step, Settle):
                self._settle(occurrence_id, snapshot, step.attempt)
            elif isinstance(step, Follow):
                self._follow(occurrence_id, snapshot.plan, step.attempt)
            elif self._wait_until(occurrence_id, step.at - PREPARE_AHEAD):
                self._dial(occurrence_id, snapshot, step)

    # --- steps --------------------------------------------------------------------

    def _dial(self, occurrence_id: int, snapshot: Snapshot, step: Dial) -> None:
        entry = step.entry
        request = callplan.call_request(snapshot.plan, entry)
        alarm_id = snapshot.occurrence.alarm_id
        changes_seen = self._alarm_changes.get(alarm_id, 0) if alarm_id is not None else 0
        if self._call_off_if_unwanted(occurrence_id, None):
            return
        try:
            attempt_id = self._begin_attempt(occurrence_id, entry, step.at)
        except LimitExceeded as exc:
            log.warning("call to %s refused: %s", entry.label(), exc)
            self._finish(occurrence_id, Done("refused", "refused: limit"))
            return
        if attempt_id is None:
            return  # another daemon took over meanwhile; it carries on from the record
        with self.right_of_way.call_due(step.at):
            sent = self._send_at(step.at, occurrence_id, attempt_id, request, alarm_id, changes_seen)
        if sent is None:
            return
        # Other calls due at this instant go out before this one is written down.
        self.right_of_way.give_way()
        values: dict[str, Any]
        if isinstance(sent, DialError):
            message = self.phonebook.mask_text(sent.message)
            values = {"status": "uncertain" if sent.uncertain else "error", "error_code": sent.code,
                      "error_message": message, "permanent": sent.permanent}
            if not sent.uncertain:
                values["finished_at"] = clock.now()
            log.warning("call to %s failed: %s%s", entry.label(), message,
                        "" if sent.permanent else " (will retry)")
        elif sent.sid:
            values = {"sid": sent.sid, "status": sent.status}
            log.info("calling %s: Twilio accepted call %s", entry.label(), sent.sid)
        else:
            values = {"status": "dry-run", "finished_at": clock.now()}
            log.info("dry-run: would call %s now", entry.label())
        self._record(occurrence_id, attempt_id, values, "accepted" if values.get("sid") else None)

    def _send_at(self, at: datetime, occurrence_id: int, attempt_id: int, request: CallRequest,
                 alarm_id: int | None, changes_seen: int) -> PlacedCall | DialError | None:
        """Wait for `at`, then send the request; None when it was not sent after all."""
        if not self._wait_until(occurrence_id, at):
            # Stopped in the moments before the call was due: nothing was sent, so there
            # is no attempt to show; the restart prepares it again.
            with self.sessions.begin() as session:
                session.execute(delete(Attempt).where(Attempt.id == attempt_id))
            return None
        # Read the alarm again only if it was changed while the call waited: at the due
        # instant every millisecond counts, and the read before the wait covers the rest.
        if (alarm_id is not None and self._alarm_changes.get(alarm_id, 0) != changes_seen
                and self._call_off_if_unwanted(occurrence_id, attempt_id)):
            return None
        try:
            return self.dialer.place_call(request)
        except DialError as exc:
            return exc

    def _call_off_if_unwanted(self, occurrence_id: int, attempt_id: int | None) -> bool:
        """Finish the occurrence as skipped if its alarm no longer wants this call.

        The occurrence was claimed a few seconds early (callplan.LEAD), and redials come
        minutes later: a remove, pause or skip meanwhile still stops the ringing.
        """
        with self.sessions() as session:
            occurrence = session.get(Occurrence, occurrence_id)
            if occurrence is None or occurrence.reason != "alarm":
                return False
            alarm = session.get(Alarm, occurrence.alarm_id) if occurrence.alarm_id is not None else None
            reason = "the alarm was removed" if alarm is None else alarm.skip_reason(occurrence.scheduled_at)
        if reason is None:
            return False
        if attempt_id is not None:
            with self.sessions.begin() as session:
                session.execute(delete(Attempt).where(Attempt.id == attempt_id))
        self._finish(occurrence_id, Done("skipped", reason))
        return True

    def _settle(self, occurrence_id: int, snapshot: Snapshot, attempt: Attempt) -> None:
        try:
            recent = self.dialer.recent_calls(attempt.number)
        except DialError as exc:
            due = snapshot.occurrence.scheduled_at
            if clock.now() - max(due, attempt.started_at) > snapshot.plan.grace:
                self._record(occurrence_id, attempt.id, {
                    "status": "error", "permanent": True, "finished_at": clock.now(),
                    "error_message": "could not learn from Twilio whether the call was placed "
                                     f"({self.phonebook.mask_text(exc.message)}); not sent again"}, None)
            else:
                self._pause(occurrence_id, self.settings.redial.first_retry_seconds)
            return
        with self.sessions() as session:
            known = set(session.scalars(select(Attempt.sid).where(Attempt.sid.is_not(None))).all())
        since = attempt.started_at - CLOCK_SKEW
        found = [c for c in recent if c.sid not in known and (c.created_at is None or c.created_at >= since)]
        label = self._label(attempt.number)
        if found:
            call = found[-1]  # newest first: the earliest one after our request
            log.warning("the answer to the request calling %s was lost, but Twilio placed call %s; "
                        "following it", label, call.sid)
            self._record(occurrence_id, attempt.id, {"sid": call.sid, "status": call.status,
                                                     "finished_at": None}, "accepted")
            return
        if attempt.status == "requesting":
            # Left by a crash: the request may never have gone out. Nothing failed, so the
            # call is placed at once, without a retry's backoff.
            log.warning("a request calling %s was cut short and Twilio lists no such call; calling now",
                        label)
            self._record(occurrence_id, attempt.id, {
                "status": "not-sent", "finished_at": clock.now(),
                "error_message": "alarmd stopped before or while sending it; Twilio lists no such call"},
                None)
            return
        log.warning("the answer to the request calling %s was lost and Twilio lists no such call; "
                    "calling again", label)
        self._record(occurrence_id, attempt.id, {
            "status": "error", "finished_at": clock.now(),
            "error_message": (attempt.error_message or "the request's answer was lost")
            + "; Twilio lists no such call"}, None)

    def _follow(self, occurrence_id: int, plan: Plan, attempt: Attempt) -> None:
        """Poll the call until its status is final, or ring time + margin have passed."""
        assert attempt.sid is not None
        redial = self.settings.redial
        deadline = attempt.started_at + timedelta(seconds=plan.ring_seconds + redial.poll_margin_seconds)
        status = attempt.status
        # A call just placed is queued for a while yet; asking at once would only compete
        # with the requests of other alarms due at the same moment.
        if clock.now() - attempt.started_at < timedelta(seconds=redial.poll_seconds) and not self._pause(
                occurrence_id, redial.poll_seconds):
            return
        while True:
            self.right_of_way.give_way()
            try:
                outcome = self.dialer.fetch_call(attempt.sid)
            except DialError as exc:
                log.warning("could not fetch the status of call %s: %s", attempt.sid,
                            self.phonebook.mask_text(exc.message))
            else:
                if outcome.final:
                    self._record(occurrence_id, attempt.id, {
                        "status": outcome.status, "duration_seconds": outcome.duration_seconds,
                        "finished_at": clock.now()}, None)
                    log.info("call %s to %s: %s", attempt.sid, self._label(attempt.number), outcome.status)
                    return
                if outcome.status != status:
                    status = outcome.status
                    self._record(occurrence_id, attempt.id, {"status": status}, None)
            if clock.now() >= deadline:
                # In progress means someone picked up (hold music plays until they hang up).
                message = None if status in callplan.ANSWERED else (
                    f"Twilio reported no final status within {plan.ring_seconds} s of ringing")
                if status not in callplan.ANSWERED and self._cancel(attempt.sid):
                    # Still queued or ringing: stopped, so a redial cannot ring beside it.
                    status = "canceled"
                self._record(occurrence_id, attempt.id, {
                    "status": status, "error_message": message, "finished_at": clock.now()}, None)
                return
            if not self._pause(occurrence_id, redial.poll_seconds):
                return

    def _cancel(self, sid: str) -> bool:
        try:
            self.dialer.cancel_call(sid)
        except DialError as exc:
            log.warning("could not cancel call %s: %s", sid, self.phonebook.mask_text(exc.message))
            return False
        log.warning("call %s had no outcome past its ring time; canceled it", sid)
        return True

    # --- the record ---------------------------------------------------------------

    def _load(self, occurrence_id: int) -> Snapshot | Done | None:
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

    def _take(self, occurrence_id: int) -> bool | None:
        """Become the occurrence's owner unless a live daemon holds it.

        None: not taken. Else whether it is carried on from another run (a restart, a
        daemon that died) rather than claimed by this one (or by nobody yet).
        """
        now = clock.now()
        with self.sessions.begin() as session:
            owner = session.scalar(select(Occurrence.owner).where(Occurrence.id == occurrence_id))
            if owner == self.owner:
                return False  # claimed by this daemon a moment ago, lease and all
            free = or_(Occurrence.owner.is_(None), Occurrence.owner == self.owner,
                       Occurrence.lease_until.is_(None), Occurrence.lease_until < now)
            if owner is not None and owner != self.owner and _owner_gone(owner):
                free = or_(free, Occurrence.owner == owner)
            taken = session.execute(
                update(Occurrence)
                .where(Occurrence.id == occurrence_id, Occurrence.status.in_(OPEN_STATUSES),
                       Occurrence.finished_at.is_(None), free)
                .values(owner=self.owner, lease_until=now + LEASE)
            )
            if getattr(taken, "rowcount", 0) != 1:
                return None
        if owner is None:
            return False
        log.info("occurrence %s: carrying on where another run left it", occurrence_id)
        return True

    def _renew(self, occurrence_id: int) -> bool:
        with self.sessions.begin() as session:
            result = session.execute(
                update(Occurrence)
                .where(Occurrence.id == occurrence_id, Occurrence.owner == self.owner)
                .values(lease_until=clock.now() + LEASE)
            )
            return bool(getattr(result, "rowcount", 0) == 1)

    def _give_back(self, occurrence_id: int) -> None:
        # An unfinished occurrence can then be taken over at once (by the next start).
        with self.sessions.begin() as session:
            session.execute(
                update(Occurrence)
                .where(Occurrence.id == occurrence_id, Occurrence.owner == self.owner)
                .values(lease_until=None)
            )

    def _begin_attempt(self, occurrence_id: int, entry: PhoneNumber, send_at: datetime) -> int | None:
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
                              dialer=self.dialer.mode, started_at=max(clock.now(), send_at),
                              status="requesting")
            session.add(attempt)
            session.flush()
            return attempt.id

    def _record(self, occurrence_id: int, attempt_id: int, values: dict[str, Any],
                occurrence_status: str | None) -> None:
        with self.sessions.begin() as session:
            attempt = session.get_one(Attempt, attempt_id)
            for key, value in values.items():
                setattr(attempt, key, value)
            if occurrence_status is not None:
                occurrence = session.get_one(Occurrence, occurrence_id)
                occurrence.status = occurrence_status

    def _finish(self, occurrence_id: int, done: Done) -> None:
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
            label = self._label_ref(occurrence.to_ref)
        # A refusal was logged as a warning where it happened.
        level = logging.INFO if done.status in ("answered", "accepted", "dry-run", "refused") else logging.WARNING
        log.log(level, "occurrence %s (%s): %s%s", occurrence_id, label, done.status,
                f": {done.detail}" if done.detail else "")

    # --- waiting ------------------------------------------------------------------

    def _wait_until(self, occurrence_id: int, at: datetime) -> bool:
        """Sleep until `at`; False when the daemon stops or the lease was lost."""
        while True:
            left = (at - clock.now()).total_seconds()
            if left <= 0:
                return True
            if self.stopping.wait(min(left, RENEW_EVERY_SECONDS)):
                return False
            # Renewed only on long waits: the request right after a short one renews it.
            if left > RENEW_EVERY_SECONDS and not self._renew(occurrence_id):
                return False

    def _pause(self, occurrence_id: int, seconds: float) -> bool:
        if self.stopping.wait(seconds):
            return False
        return self._renew(occurrence_id)

    # --- labels (secret numbers masked) -------------------------------------------

    def _label(self, number: str) -> str:
        entry = self.phonebook.by_number(number)
        # No longer configured: whether it was secret is unknown, so it is masked.
        return entry.label() if entry is not None else mask(number)

    def _label_ref(self, ref: str) -> str:
        try:
            return self.phonebook.resolve(ref).label()
        except BadInput:
            return ref
