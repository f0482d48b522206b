"""Delivering a claimed occurrence: dial, follow the call, retry, redial, escalate.

Every step is decided by alarmd.calls.callplan from the attempts recorded so far, and every
fact is written before the next step acts on it:

- An attempt row ("requesting") is committed before each request goes out, and the
  SID is stored as soon as Twilio answers (alarmd.calls.record).
- A request whose answer was lost (killed mid-request, a read timeout, a dropped
  connection, a 5xx) is never sent again blindly: the attempt is "uncertain" until
  Twilio's call list is read for a call from our number to that number created since
  the request started, whose SID no attempt knows. If there is one, it is adopted and
  followed; only if there is none is the call placed again. What remains is Twilio
  listing a just-created call late, and two occurrences' lost requests to the same
  number at the same moment; both are far rarer than the crash they guard against.
- Only one daemon works on an occurrence at a time: it holds its lease
  (alarmd.calls.lease), renewed while it works.
- Every wait (a redial interval, a retry backoff, between polls) returns at once when
  the daemon stops; the occurrence is left resumable.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from alarmd import clock
from alarmd.calls import callplan, pacing
from alarmd.calls.callplan import Dial, Done, Follow, Settle
from alarmd.calls.dialers.base import CallRequest, PlacedCall
from alarmd.calls.follow import MAX_POLL_WAIT_SECONDS, Follower
from alarmd.calls.lease import Lease
from alarmd.calls.live import LiveConfig, UsesLive
from alarmd.calls.prepared import Prepared
from alarmd.calls.record import Record, Snapshot
from alarmd.errors import BadInput, DialError, LimitExceeded
from alarmd.phonebook import mask
from alarmd.store.models import Alarm, Attempt, Occurrence

log = logging.getLogger("alarmd.delivery")

# The attempt row is written this long before a call is due, so that at the due instant
# only the request itself is left to do.
PREPARE_AHEAD = callplan.LEAD
# Twilio's clock and ours may differ a little; a call created this long before our
# request started may still be the one it placed.
CLOCK_SKEW = timedelta(seconds=30)


class Delivery(UsesLive):
    def __init__(self, sessions: sessionmaker[Session], live: LiveConfig, stopping: threading.Event,
                 owner: str):
        self.sessions = sessions
        self.live = live
        self.stopping = stopping
        self.owner = owner
        self._active: set[int] = set()
        self._lock = threading.Lock()
        # A call prepared ahead re-reads its alarm only when it changed meanwhile (see _await).
        self.prepared = Prepared(stopping)
        self.lease = Lease(sessions, owner, stopping)
        self.record = Record(sessions, live, self.lease)
        self.follower = Follower(live, self.record, self.lease)
        self.asked_waits = pacing.AskedWaits()

    def alarm_changed(self, alarm_id: int) -> None:
        self.prepared.alarm_changed(alarm_id)

    def on_call_failed(self, listener: Callable[[str], None]) -> None:
        """Call `listener(sentence)` (masked) when an occurrence ends failed or refused."""
        self.record.on_call_failed(listener)

    def stop(self) -> None:
        """Every wait returns at once (calls waiting for their instant too); what is left is resumable."""
        self.prepared.stop()

    # --- the loop -----------------------------------------------------------------

    def carry_on(self, occurrence_id: int) -> None:
        """Deliver the occurrence from wherever its record says it stands."""
        with self._lock:
            if occurrence_id in self._active:
                return
            self._active.add(occurrence_id)
        try:
            taken = self.lease.take(occurrence_id)
            if taken is not None:
                try:
                    # The whole delivery (redials, fallback) keeps the configuration it started
                    # with, however often it is reloaded meanwhile (alarmd.calls.live).
                    with self.live.pinned():
                        self._run(occurrence_id, resumed=taken)
                finally:
                    self.lease.give_back(occurrence_id)
        finally:
            self.asked_waits.forget(occurrence_id)
            with self._lock:
                self._active.discard(occurrence_id)

    def delivering(self) -> set[int]:
        """The occurrences this daemon is working on now."""
        with self._lock:
            return set(self._active)

    def _run(self, occurrence_id: int, resumed: bool) -> None:
        redial = self.settings.redial
        while not self.stopping.is_set():
            snapshot = self.record.load(occurrence_id)
            if isinstance(snapshot, Done):
                self.record.finish(occurrence_id, snapshot)
                return
            if snapshot is None:
                return
            step = callplan.next_step(snapshot.plan, snapshot.attempts, snapshot.occurrence.scheduled_at,
                                      clock.now(), redial.first_retry_seconds, redial.max_retry_seconds,
                                      resumed, self.asked_waits.of(occurrence_id))
            if isinstance(step, Done):
                self.record.finish(occurrence_id, step)
                return
            if isinstance(step, Settle):
                self._settle(occurrence_id, snapshot, step.attempt)
            elif isinstance(step, Follow):
                self.follower.follow(occurrence_id, snapshot.plan, step.attempt)
            elif self.lease.wait_until(occurrence_id, step.at - PREPARE_AHEAD):
                self._dial(occurrence_id, snapshot, step)

    # --- steps --------------------------------------------------------------------

    def _dial(self, occurrence_id: int, snapshot: Snapshot, step: Dial) -> None:
        entry = step.entry
        request = callplan.call_request(snapshot.plan, entry)
        alarm_id = snapshot.occurrence.alarm_id
        changes_seen = self.prepared.changes(alarm_id)
        if self._call_off_if_unwanted(occurrence_id, None):
            return
        try:
            attempt_id = self.record.begin_attempt(occurrence_id, entry, step.at)
        except LimitExceeded as exc:
            log.warning("call to %s refused: %s", entry.label(), exc)
            self.record.finish(occurrence_id, Done("refused", "refused: limit"))
            return
        if attempt_id is None:
            return  # another daemon took over meanwhile; it carries on from the record
        sent = self._send_at(step.at, occurrence_id, attempt_id, request, alarm_id, changes_seen)
        if sent is None:
            return
        values: dict[str, Any]
        if isinstance(sent, DialError):
            message = self.phonebook.mask_text(sent.message)
            # Only a request that may have reached Twilio may have cost a call (the cost guard).
            values = {"status": "uncertain" if sent.uncertain else "error", "error_code": sent.code,
                      "error_message": message, "permanent": sent.permanent,
                      "may_have_placed": sent.uncertain}
            if not sent.uncertain:
                values["finished_at"] = clock.now()
            self.asked_waits.note(occurrence_id, attempt_id, sent.retry_after)
            log.warning("call to %s failed: %s%s", entry.label(), message,
                        "" if sent.permanent else " (will retry)")
        elif sent.sid:
            values = {"sid": sent.sid, "status": sent.status}
            log.info("calling %s: Twilio accepted call %s", entry.label(), sent.sid)
        else:
            values = {"status": "dry-run", "finished_at": clock.now()}
            log.info("dry-run: would call %s now", entry.label())
        self.record.record(occurrence_id, attempt_id, values, "accepted" if values.get("sid") else None)

    def _send_at(self, at: datetime, occurrence_id: int, attempt_id: int, request: CallRequest,
                 alarm_id: int | None, changes_seen: int) -> PlacedCall | DialError | None:
        """Wait for `at`, then send the request; None when it was not sent after all."""
        if not self._await(at, occurrence_id, attempt_id, alarm_id, changes_seen):
            return None
        # Frozen past the lease meanwhile (SIGSTOP, a paused VM)? Send only on a lease proved anew.
        if not self.lease.trusted(occurrence_id, self.settings.redial.request_timeout_seconds) \
                and not self.lease.renew(occurrence_id):
            return None
        try:
            return self.dialer.place_call(request)
        except DialError as exc:
            return exc

    def _await(self, at: datetime, occurrence_id: int, attempt_id: int, alarm_id: int | None, seen: int) -> bool:
        """Wait for `at`; False when the call is not to be sent after all (called off or dropped).

        Whether the alarm still wants the call is decided at the instant, but read when a change
        is heard: every claim changes its alarm, which the change log brings back a moment later,
        and read at the instant that cost a database read per call. Read at the instant still:
        a call found unwanted (an unskip may follow), or whose alarm changed at the last moment.
        """
        wanted = True  # as the alarm was last read
        with self.prepared.waiting(alarm_id) as wake:
            while True:
                wake.clear()
                changes = self.prepared.changes(alarm_id)
                if clock.now() >= at:
                    return (wanted and changes == seen) or not self._call_off_if_unwanted(occurrence_id, attempt_id)
                if changes != seen:
                    seen = changes
                    wanted = not self._call_off_if_unwanted(occurrence_id, attempt_id, finish=False)
                if self.stopping.is_set() or not self.lease.wait_until(occurrence_id, at, wake):
                    # Stopped in the moments before the call was due: nothing was sent, so there
                    # is no attempt to show; the restart prepares it again.
                    self.record.drop_attempt(attempt_id)
                    return False

    def _call_off_if_unwanted(self, occurrence_id: int, attempt_id: int | None, finish: bool = True) -> bool:
        """Finish the occurrence as skipped if its alarm no longer wants this call (finish=False: only tell).

        The occurrence was claimed a few seconds early (callplan.LEAD), and redials come
        minutes later: a remove, pause or skip meanwhile still stops the ringing.
        """
        with self.sessions() as session:
            occurrence = session.get(Occurrence, occurrence_id)
            if occurrence is None or occurrence.reason != "alarm":
                return False
            alarm = session.get(Alarm, occurrence.alarm_id) if occurrence.alarm_id is not None else None
            reason = "the alarm was removed" if alarm is None else alarm.skip_reason(occurrence.scheduled_at)
            if reason is None or not finish:
                return reason is not None
            attempts = [a for a in occurrence.attempts if a.id != attempt_id]
            try:
                plan: callplan.Plan | None = callplan.plan_for(occurrence, alarm, self.settings, self.phonebook)
            except BadInput:
                plan = None  # its number left the config: the outcome is told in Twilio's words
        if attempt_id is not None:
            self.record.drop_attempt(attempt_id)
        self.record.finish(occurrence_id, callplan.called_off(plan, attempts, reason))
        return True

    def _settle(self, occurrence_id: int, snapshot: Snapshot, attempt: Attempt) -> None:
        try:
            recent = self.dialer.recent_calls(attempt.number)
        except DialError as exc:
            due = snapshot.occurrence.scheduled_at
            if clock.now() - max(due, attempt.started_at) > snapshot.plan.grace:
                self.record.record(occurrence_id, attempt.id, {
                    "status": "error", "permanent": True, "finished_at": clock.now(),
                    "error_message": "could not learn from Twilio whether the call was placed "
                                     f"({self.phonebook.mask_text(exc.message)}); not sent again"}, None)
            else:
                self.lease.pause(occurrence_id, self._settle_wait(attempt, exc))
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
            self.record.record(occurrence_id, attempt.id, {"sid": call.sid, "status": call.status,
                                                     "finished_at": None}, "accepted")
            return
        if attempt.status == "requesting":
            # Left by a crash: the request may never have gone out. Nothing failed, so the
            # call is placed at once, without a retry's backoff.
            log.warning("a request calling %s was cut short and Twilio lists no such call; calling now",
                        label)
            self.record.record(occurrence_id, attempt.id, {
                "status": "not-sent", "finished_at": clock.now(),
                "error_message": "alarmd stopped before or while sending it; Twilio lists no such call"},
                None)
            return
        log.warning("the answer to the request calling %s was lost and Twilio lists no such call; "
                    "calling again", label)
        self.record.record(occurrence_id, attempt.id, {
            "status": "error", "finished_at": clock.now(),
            "error_message": (attempt.error_message or "the request's answer was lost")
            + "; Twilio lists no such call"}, None)

    # --- labels (secret numbers masked) -------------------------------------------

    def _settle_wait(self, attempt: Attempt, exc: DialError) -> float:
        """Before the call list is read again: the first retry's wait, or what a 20429 asked, and a share more."""
        wait = self.settings.redial.first_retry_seconds
        if exc.code in pacing.RATE_LIMITED and exc.retry_after:
            return pacing.paced_seconds(wait, min(exc.retry_after, MAX_POLL_WAIT_SECONDS), attempt.id)
        return wait

    def _label(self, number: str) -> str:
        entry = self.phonebook.by_number(number)
        # No longer configured: whether it was secret is unknown, so it is masked.
        return entry.label() if entry is not None else mask(number)

